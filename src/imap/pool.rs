//! Per-login connection pool: open connections once, reuse them, close idle ones.
//!
//! Each pool key (`login_id`: a keyed hash of the servers, login name and password, so a
//! user's browsers share it and nobody else can) gets a [`Slot`] holding up to
//! [`MAX_IDLE`] logged-in connections at rest ([`VOUCHED_IDLE`] while the user's watcher
//! vouches for the caches; up to [`MAX_OPEN`] for a few seconds after a burst). An
//! operation checks one out, runs, and gives it back. A page usually fires a few requests
//! at once (the page, the message iframe, its images), hence more than one; a per-key
//! semaphore caps how many connections a key may hold at all, so a burst cannot exceed the
//! server's per-user connection limit.
//!
//! A reaper task logs out connections idle for longer than the idle timeout and forgets
//! logins with nothing left, which is how connections of expired web sessions close.
//! Retrying after a lost connection is the caller's business (`Imap::run`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::conn::Conn;

/// Idle connections kept per login at rest.
pub const MAX_IDLE: usize = 3;
/// Idle connections kept at rest for a user whose watcher vouches for the caches: most
/// pages then need no connection at all, and every one held costs the server a process.
pub const VOUCHED_IDLE: usize = 1;
/// How long connections beyond the at-rest count ([`MAX_IDLE`], or [`VOUCHED_IDLE`])
/// stay idle before they are closed. A burst
/// that used all [`MAX_OPEN`] is often followed by another a moment later (the pages of
/// several browsers arriving unevenly); closing the surplus at once made the next burst
/// log in again, which costs the server a new process and a LOGIN every time.
pub const SURPLUS_GRACE: Duration = Duration::from_secs(5);
/// Connections one login may have open at once (idle plus in use). Dovecot's default
/// `mail_max_userip_connections` is 10, and several logins may share a user.
pub const MAX_OPEN: usize = 4;

/// An idle, logged-in connection and when it was last given back.
struct Idle {
    /// The connection, logged in, nothing running.
    conn: Conn,
    /// When it was given back.
    since: Instant,
}

/// Everything pooled for one login.
struct Slot {
    /// Whose login it is (the mail account's user name).
    user: String,
    /// Tells a connection checked out before a logout from one of a later login.
    epoch: u64,
    /// Most recently used last, so the freshest is reused first.
    idle: Vec<Idle>,
    /// Leases out right now; a slot is never forgotten while this is not 0.
    in_use: usize,
    /// Last checkout or return, for forgetting unused logins.
    last_used: Instant,
    /// At most [`MAX_OPEN`] connections per login.
    limit: Arc<Semaphore>,
}

/// The pools of all logins. Locked only briefly, never across an await.
pub struct Pool {
    /// One slot per `login_id`.
    slots: Mutex<HashMap<String, Slot>>,
    /// Idle connections older than this are logged out.
    idle_timeout: Duration,
    /// Source of [`Slot::epoch`] values.
    next_epoch: AtomicU64,
    /// Connections opened so far, for [`Pool::stats`].
    opened: AtomicU64,
}

/// A connection checked out of the pool. Dropping it without [`Pool::give_back`] (an
/// error, or the request was cancelled mid-command) closes the connection.
pub struct Lease {
    /// The pooled connection, if there was one; the caller fills it otherwise.
    pub conn: Option<Conn>,
    /// How long `conn` (if any) had been sitting idle in the pool.
    pub idle_for: Duration,
    /// Whose lease this is.
    login_id: String,
    /// The slot's epoch at checkout.
    epoch: u64,
    /// Weak, so an outstanding lease does not keep a dropped pool alive.
    pool: Weak<Pool>,
    /// The login's turn; released when the lease ends.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.finished(&self.login_id, self.epoch);
        }
        // A connection still here was not given back: its state is unknown. Dropping
        // closes the socket; the server notices and cleans up.
    }
}

impl Pool {
    /// An empty pool; connections idle longer than `idle_timeout` are logged out.
    pub fn new(idle_timeout: Duration) -> Pool {
        Pool {
            slots: Mutex::new(HashMap::new()),
            idle_timeout,
            next_epoch: AtomicU64::new(1),
            opened: AtomicU64::new(0),
        }
    }

    /// The slot map. Never held across an await.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock leaves the map consistent (every update is a
        // single insert/remove/push), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slot of a login, created on first use.
    fn slot<'a>(
        &self,
        slots: &'a mut HashMap<String, Slot>,
        login_id: &str,
        user: &str,
    ) -> &'a mut Slot {
        slots.entry(login_id.to_owned()).or_insert_with(|| Slot {
            user: user.to_owned(),
            epoch: self.next_epoch.fetch_add(1, Ordering::Relaxed),
            idle: Vec::new(),
            in_use: 0,
            last_used: Instant::now(),
            limit: Arc::new(Semaphore::new(MAX_OPEN)),
        })
    }

    /// Waits for this login's turn, then takes its most recently used idle connection
    /// (or none: the caller then opens one and puts it in the lease). Expired idle
    /// connections met on the way are returned for closing.
    pub async fn checkout(
        self: &Arc<Self>,
        login_id: &str,
        user: &str,
        prefer: Option<&str>,
    ) -> (Lease, Vec<Conn>) {
        let limit = {
            let mut slots = self.lock();
            self.slot(&mut slots, login_id, user).limit.clone()
        };
        // Fails only if the semaphore is closed, which we never do.
        let permit = limit.acquire_owned().await.ok();
        let mut stale = Vec::new();
        let mut slots = self.lock();
        let slot = self.slot(&mut slots, login_id, user);
        let mut conn = None;
        let mut idle_for = Duration::ZERO;
        // The freshest connection that has `prefer` open, if any: opening a big folder
        // again costs the server a re-sync, and a page's later requests (its body
        // document) are about the folder the page opened.
        let fresh_enough = |i: &Idle| i.since.elapsed() < self.idle_timeout;
        if let Some(wire) = prefer
            && let Some(at) = slot
                .idle
                .iter()
                .rposition(|i| fresh_enough(i) && i.conn.open_as(wire, false).is_some())
        {
            let idle = slot.idle.remove(at);
            idle_for = idle.since.elapsed();
            conn = Some(idle.conn);
        }
        while let Some(idle) = conn.is_none().then(|| slot.idle.pop()).flatten() {
            if idle.since.elapsed() < self.idle_timeout {
                idle_for = idle.since.elapsed();
                conn = Some(idle.conn);
                break;
            }
            stale.push(idle.conn);
        }
        slot.in_use += 1;
        slot.last_used = Instant::now();
        let lease = Lease {
            conn,
            idle_for,
            login_id: login_id.to_owned(),
            epoch: slot.epoch,
            pool: Arc::downgrade(self),
            _permit: permit,
        };
        (lease, stale)
    }

    /// Counts a connection opened for a lease (for [`Pool::stats`]).
    pub fn note_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Puts a good connection back. Returns it instead if the pool does not want it
    /// (the login is gone or logged in again): the caller closes it. Idle connections
    /// beyond the at-rest count are closed by [`Pool::reap`] after [`SURPLUS_GRACE`].
    pub fn give_back(&self, mut lease: Lease) -> Option<Conn> {
        let conn = lease.conn.take()?;
        let mut slots = self.lock();
        let rejected = match slots.get_mut(&lease.login_id) {
            Some(slot) if slot.epoch == lease.epoch && slot.idle.len() < MAX_OPEN => {
                slot.idle.push(Idle {
                    conn,
                    since: Instant::now(),
                });
                None
            }
            _ => Some(conn),
        };
        // Release the lock before the lease's Drop takes it again.
        drop(slots);
        drop(lease);
        rejected
    }

    /// Bookkeeping when a lease ends, however it ends.
    fn finished(&self, login_id: &str, epoch: u64) {
        let mut slots = self.lock();
        if let Some(slot) = slots.get_mut(login_id)
            && slot.epoch == epoch
        {
            slot.in_use = slot.in_use.saturating_sub(1);
            slot.last_used = Instant::now();
        }
    }

    /// Takes every idle connection of a login (after a lost connection they are all
    /// suspect, for example when the server restarted).
    pub fn take_idle(&self, login_id: &str) -> Vec<Conn> {
        let mut slots = self.lock();
        match slots.get_mut(login_id) {
            Some(slot) => slot.idle.drain(..).map(|i| i.conn).collect(),
            None => Vec::new(),
        }
    }

    /// Forgets a login. Its idle connections are returned for closing; connections in
    /// use are closed when given back.
    pub fn remove(&self, login_id: &str) -> Vec<Conn> {
        match self.lock().remove(login_id) {
            Some(slot) => slot.idle.into_iter().map(|i| i.conn).collect(),
            None => Vec::new(),
        }
    }

    /// Adds a freshly logged-in connection as idle (after [`super::Imap::login`]).
    pub fn add_idle(&self, login_id: &str, user: &str, conn: Conn) -> Option<Conn> {
        let mut slots = self.lock();
        let slot = self.slot(&mut slots, login_id, user);
        if slot.idle.len() >= MAX_IDLE {
            return Some(conn);
        }
        slot.idle.push(Idle {
            conn,
            since: Instant::now(),
        });
        slot.last_used = Instant::now();
        None
    }

    /// Takes the connection that has been idle longest, whichever login it belongs to:
    /// what makes room when every connection under the total cap is open.
    pub fn take_oldest_idle(&self) -> Option<Conn> {
        let mut slots = self.lock();
        let (login, i) = slots
            .iter()
            .flat_map(|(login, slot)| {
                slot.idle
                    .iter()
                    .enumerate()
                    .map(move |(i, idle)| (login, i, idle.since))
            })
            .min_by_key(|(_, _, since)| *since)
            .map(|(login, i, _)| (login.clone(), i))?;
        slots.get_mut(&login).map(|slot| slot.idle.remove(i).conn)
    }

    /// Removes what has been idle too long, and the surplus idle for [`SURPLUS_GRACE`]:
    /// beyond `at_rest(user)` connections of a login; returns the connections to close.
    pub fn reap(&self, at_rest: impl Fn(&str) -> usize) -> Vec<Conn> {
        let mut out = Vec::new();
        let surplus_after = SURPLUS_GRACE.min(self.idle_timeout);
        let mut slots = self.lock();
        slots.retain(|_, slot| {
            let keep = at_rest(&slot.user);
            // Oldest first: `idle` is in the order connections were given back.
            let mut i = 0;
            while i < slot.idle.len() {
                let idle_for = slot.idle[i].since.elapsed();
                let surplus = slot.idle.len() > keep && idle_for >= surplus_after;
                if idle_for >= self.idle_timeout || surplus {
                    out.push(slot.idle.remove(i).conn);
                } else {
                    i += 1;
                }
            }
            let forgotten = slot.idle.is_empty()
                && slot.in_use == 0
                && slot.last_used.elapsed() >= self.idle_timeout;
            !forgotten
        });
        out
    }

    /// How often the reaper looks: often enough that a connection outlives the idle
    /// timeout by at most a quarter of it, and a surplus one its grace by at most half
    /// (but not more often than every 50 ms).
    pub fn reap_interval(&self) -> Duration {
        (self.idle_timeout / 4)
            .min(SURPLUS_GRACE / 2)
            .max(Duration::from_millis(50))
    }

    /// Numbers for tests and diagnostics.
    pub fn stats(&self, login_id: &str) -> (usize, u64) {
        let idle = self.lock().get(login_id).map_or(0, |s| s.idle.len());
        (idle, self.opened.load(Ordering::Relaxed))
    }
}
