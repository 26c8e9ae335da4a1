//! The client the web layer holds: [`Imap`], its per-login connection pool, the retry
//! loop every operation runs in ([`Imap::run`]) and the raw-message cache.
//!
//! What an operation says to the server lives in the other files of `imap`, each as
//! methods on [`Imap`] that run inside [`Imap::run`]; this file only decides which
//! connection they get and what happens when it fails.

use std::{
    sync::{Arc, OnceLock, Weak, atomic::AtomicBool},
    time::Duration,
};

use async_imap::types::Fetch;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::{
    Account, Folder, ImapError, PoolStats,
    command::SeqSet,
    conn::{Conn, Failure},
    names::mailbox_wire,
    order,
    pool::Pool,
    sidebar::{self, QUOTA_RECHECK},
    transport,
};
use crate::config::Endpoint;

/// How long one operation (all its commands) may take before we give up on the server.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A pooled connection idle for longer than this is checked with NOOP before use: a
/// firewall or NAT may have forgotten it without either end noticing, and then the first
/// command would hang until [`OPERATION_TIMEOUT`] instead of failing fast.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(60);
/// How long that NOOP may take before we open a new connection instead.
const NOOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Total size of the raw-message cache.
const RAW_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Key of the raw-message cache: user, folder (wire name), UID. A UID is only meaningful
/// with its folder's UIDVALIDITY, which is kept beside the bytes ([`RawEntry`]) so that
/// the message page can tell whether it needs the bytes before it opens the folder.
pub(super) type RawKey = (String, String, u32);
/// UIDVALIDITY and the whole message.
pub(super) type RawEntry = (u32, Arc<Vec<u8>>);

/// The IMAP client of the whole application. Cheap to clone; owns the TLS
/// configuration, the per-login connection pool and the raw-message cache.
#[derive(Clone)]
pub struct Imap {
    /// Shared by all clones.
    pub(super) inner: Arc<Inner>,
}

/// What an [`Imap`] and its clones share.
pub(super) struct Inner {
    /// Where the server is and how to secure the connection.
    pub(super) endpoint: Endpoint,
    /// Built once: loading roots and the CA file is not free.
    pub(super) tls: TlsConnector,
    /// Connections per login.
    pub(super) pool: Arc<Pool>,
    /// Whole messages, because the message page, its body iframe and every inline part
    /// are separate requests that all need the same bytes.
    pub(super) raw_cache: moka::future::Cache<RawKey, RawEntry>,
    /// Set once the idle reaper task runs.
    pub(super) reaper: OnceLock<()>,
    /// Set when the server refused `RETURN (PARTIAL …)`, so we stop trying.
    pub(super) no_partial: AtomicBool,
    /// Per user and folder, which messages name which message-ids (`links`).
    pub(super) links: super::links::LinkCache,
    /// The UIDs of recently shown pages, per folder state (`order`).
    pub(super) order: order::OrderCache,
    /// Whole list pages, served again while the folder is unchanged (`page_cache`).
    pub(super) pages: super::page_cache::PageCache,
    /// Per login, the quota and the content stamp it was read at (see `sidebar`).
    pub(super) quota_memo: moka::future::Cache<String, sidebar::QuotaMemo>,
    /// Capabilities to act as if the server had not announced (see `ignore_capabilities`).
    pub(super) ignored_caps: std::sync::RwLock<Vec<String>>,
    /// Whether the server answers text searches from a full-text index, once seen
    /// (see `search::TextIndex`).
    pub(super) text_index: super::search::TextIndexMemo,
    /// What the watchers vouch for (`fresh`); shared with the pool's reaper.
    pub(super) fresh: Arc<super::fresh::Freshness>,
    /// Sidebars vouched for by a watcher.
    pub(super) sidebars: sidebar::SidebarCache,
    /// Turns of the pages and sidebars asked for at once after a change (`turns`).
    pub(super) page_turns: super::turns::Turns<super::page_cache::Key>,
    pub(super) sidebar_turns: super::turns::Turns<sidebar::SidebarKey>,
    /// Folder lists vouched for by a watcher (the message page's).
    pub(super) listings: sidebar::ListingCache,
    /// Folders' UIDVALIDITY and UIDNEXT (user, wire name), vouched for by a watcher: the
    /// link indexes' check (`threads`).
    pub(super) folder_states: super::fresh::Vouched<(String, String), (u32, u32)>,
    /// Search result pages vouched for by a watcher.
    pub(super) searches: super::search::SearchCache,
    /// Messages seen to exist (user, folder wire name, UID), with the folder's
    /// UIDVALIDITY and the generation they were seen at (`fresh`).
    pub(super) existing: super::fresh::Vouched<(String, String, u32), u32>,
    /// Read messages' places (flags and neighbours), vouched for by a watcher: a message
    /// opened again comes from memory (`open`).
    pub(super) places: super::open::PlaceCache,
    /// Read messages' conversations, vouched for by a watcher (`threads`).
    pub(super) conversations: super::threads::ConversationCache,
    /// One permit per connection open, all logins and watchers together
    /// ([`Imap::with_connection_cap`]).
    pub(super) total: Arc<Semaphore>,
    /// The cap `total` started with.
    pub(super) total_max: usize,
}

/// Who a new connection is for, under the total cap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// A page's commands: may push out another login's idle connection, and waits a
    /// little for one to come free.
    Commands,
    /// A live-updates watcher: takes a place only while a quarter of the cap is still
    /// free, so watchers never crowd out pages (pages then work without live updates).
    Watch,
}

/// How long a page waits for a connection under the total cap before it says so.
const BUSY_WAIT: Duration = Duration::from_secs(5);

impl std::fmt::Debug for Imap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl Imap {
    /// Builds the client. TLS trusts the web PKI roots plus `endpoint.ca_file` (PEM) if
    /// set; an unreadable or empty CA file is reported as `Unreachable` because no
    /// secure connection could be made with it. Idle connections are logged out after
    /// `idle_timeout`.
    pub fn new(endpoint: Endpoint, idle_timeout: Duration) -> Result<Imap, ImapError> {
        let tls = transport::tls_connector(endpoint.ca_file.as_deref())
            .map_err(ImapError::Unreachable)?;
        let raw_cache = moka::future::Cache::builder()
            .max_capacity(RAW_CACHE_BYTES)
            .weigher(|_k: &RawKey, v: &RawEntry| u32::try_from(v.1.len()).unwrap_or(u32::MAX))
            // Bounded in time too, so a user's mail does not sit in memory for long.
            .time_to_idle(Duration::from_secs(600))
            .build();
        let imap = Imap {
            inner: Arc::new(Inner {
                endpoint,
                tls,
                pool: Arc::new(Pool::new(idle_timeout)),
                raw_cache,
                reaper: OnceLock::new(),
                no_partial: AtomicBool::new(false),
                order: order::OrderCache::default(),
                pages: super::page_cache::PageCache::default(),
                links: super::links::cache(),
                quota_memo: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(QUOTA_RECHECK)
                    .build(),
                ignored_caps: std::sync::RwLock::new(Vec::new()),
                text_index: super::search::TextIndexMemo::default(),
                fresh: Arc::default(),
                sidebars: sidebar::short_lived(),
                page_turns: Default::default(),
                sidebar_turns: Default::default(),
                listings: sidebar::short_lived(),
                searches: super::search::search_cache(),
                folder_states: super::fresh::Vouched::entries(10_000),
                existing: super::fresh::Vouched::entries(100_000),
                places: super::fresh::Vouched::entries(10_000),
                conversations: super::threads::conversation_cache(),
                total: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
                total_max: Semaphore::MAX_PERMITS,
            }),
        };
        imap.ensure_reaper();
        Ok(imap)
    }

    /// Caps the IMAP connections open at once, all users together
    /// (`MAILROOM_MAX_IMAP_CONNECTIONS`): the mail server pays for each. Call right after
    /// [`Imap::new`], before the client is shared.
    pub fn with_connection_cap(mut self, max: usize) -> Imap {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        let inner = Arc::get_mut(&mut self.inner);
        // Nothing may hold the client yet (not even weakly), or the cap would be lost.
        debug_assert!(inner.is_some(), "with_connection_cap on a shared client");
        if let Some(inner) = inner {
            inner.total = Arc::new(Semaphore::new(max));
            inner.total_max = max;
        }
        self
    }

    /// A place under the total cap for a new connection, or [`ImapError::Busy`].
    async fn place(&self, purpose: Purpose) -> Result<OwnedSemaphorePermit, ImapError> {
        let total = &self.inner.total;
        if purpose == Purpose::Watch {
            let reserve = self.inner.total_max.div_ceil(4);
            if total.available_permits() <= reserve {
                return Err(ImapError::Busy);
            }
        }
        if let Ok(p) = total.clone().try_acquire_owned() {
            return Ok(p);
        }
        if purpose == Purpose::Watch {
            return Err(ImapError::Busy);
        }
        // Full: the connection idle longest, whoever's it is, makes room (closed at
        // once, without a LOGOUT round trip, so its place is free now).
        drop(self.inner.pool.take_oldest_idle());
        match timeout(BUSY_WAIT, total.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => {
                tracing::warn!(cap = self.inner.total_max, "all IMAP connections in use");
                Err(ImapError::Busy)
            }
        }
    }

    /// Logs in; on success the connection stays in the pool for `account.login_id`.
    /// A wrong password and an unknown user both give [`ImapError::AuthFailed`].
    pub async fn login(&self, account: &Account) -> Result<(), ImapError> {
        self.ensure_reaper();
        let conn = self.open(account).await?;
        // A new login starts afresh, as it did when logins had pools of their own: the
        // user's other browsers' idle connections (whose server sessions may cache rights
        // that changed since) are closed, and nothing remembered is vouched for any more.
        close_later(self.inner.pool.take_idle(&account.login_id));
        self.inner.fresh.changed(&account.username);
        let pool = &self.inner.pool;
        if let Some(extra) = pool.add_idle(&account.login_id, &account.username, conn) {
            close_later(vec![extra]);
        }
        Ok(())
    }

    /// Logs out and closes every pooled connection of this login; connections busy
    /// right now are closed when their operation ends.
    pub async fn logout(&self, login_id: &str) {
        let conns = self.inner.pool.remove(login_id);
        futures::future::join_all(conns.into_iter().map(Conn::close)).await;
    }

    /// Whether the server answers with a greeting over the configured security (no login).
    pub async fn probe(&self) -> Result<(), ImapError> {
        super::conn::greet(&self.inner.endpoint, &self.inner.tls).await
    }

    /// The server's capabilities after login (upper-cased), e.g. to show what it supports.
    pub async fn capabilities(&self, a: &Account) -> Result<Vec<String>, ImapError> {
        let this = self.clone();
        self.run(a, async move |c: &mut Conn| {
            let caps = c.capabilities().iter();
            Ok(caps.filter(|cap| this.has(c, cap)).cloned().collect())
        })
        .await
    }

    /// All folders with unread and total counts, in display order: INBOX, then Drafts,
    /// Sent, Archive, Junk, Trash, then the rest with children right after their parent,
    /// siblings sorted by name. One round trip when the server has LIST-STATUS.
    pub async fn list_folders(&self, a: &Account) -> Result<Vec<Folder>, ImapError> {
        let this = self.clone();
        self.run(a, async move |c: &mut Conn| {
            Ok(this.list_on(c).await?.folders)
        })
        .await
    }

    /// The whole raw message, fetched with BODY.PEEK[] so reading it does not mark it
    /// seen. [`ImapError::NoSuchMessage`] if the UID is gone. Cached (64 MB in total),
    /// keyed by user, folder, UIDVALIDITY and UID, since one message view makes several
    /// requests for the same message.
    pub async fn fetch_raw(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<Arc<Vec<u8>>, ImapError> {
        let (this, wire, user) = (self.clone(), mailbox_wire(mailbox)?, a.username.clone());
        self.run(a, async move |c: &mut Conn| {
            this.fetch_raw_on(c, &user, &wire, uid).await
        })
        .await
    }

    /// The UIDVALIDITY of `mailbox` if message `uid` is still in it, else
    /// [`ImapError::NoSuchMessage`]: what a copy of the message kept elsewhere (the body
    /// document the message page rendered) needs before it is served. Costs a NOOP and a
    /// `UID FETCH (UID)` when the connection has the folder open already.
    pub async fn check_message(
        &self,
        a: &Account,
        mailbox: &str,
        uid: u32,
    ) -> Result<u32, ImapError> {
        let wire = mailbox_wire(mailbox)?;
        let key = (a.username.clone(), wire.clone(), uid);
        // Seen to exist since, as the user's watcher vouches (`fresh`): nothing to ask.
        if let Some(uidvalidity) = self
            .inner
            .existing
            .get(&self.inner.fresh, &a.username, &key)
        {
            return Ok(uidvalidity);
        }
        let generation = self.inner.fresh.generation(&a.username, &wire);
        let uidvalidity = self
            .run_in(a, Some(&key.1), async move |c: &mut Conn| {
                let uidvalidity = c.open_for_reading(&wire).await?;
                match uid_exists(c, uid).await? {
                    true => Ok(uidvalidity),
                    false => Err(Failure::Fail(ImapError::NoSuchMessage)),
                }
            })
            .await?;
        self.inner.existing.put(key, generation, uidvalidity);
        Ok(uidvalidity)
    }

    /// Acts as if the server had not announced these capabilities (e.g. `"ESORT"`,
    /// `"LIST-STATUS"`): a way around a server whose extension is broken, and how the
    /// tests exercise the fallback paths against a server that has everything.
    pub fn ignore_capabilities(&self, caps: &[&str]) {
        let mut ignored = self
            .inner
            .ignored_caps
            .write()
            .unwrap_or_else(|p| p.into_inner());
        ignored.extend(caps.iter().map(|c| c.to_ascii_uppercase()));
    }

    /// Whether `c`'s server announced `cap` and we have not been told to ignore it.
    pub(super) fn has(&self, c: &Conn, cap: &str) -> bool {
        let ignored = self
            .inner
            .ignored_caps
            .read()
            .unwrap_or_else(|p| p.into_inner());
        c.has(cap) && !ignored.iter().any(|i| i.eq_ignore_ascii_case(cap))
    }

    /// List pages served from memory so far, because the server said their folder had
    /// not changed (`page_cache`).
    pub fn page_cache_hits(&self) -> u64 {
        self.inner.pages.hits()
    }

    /// Pool numbers for one login (idle connections, connections opened so far).
    pub fn pool_stats(&self, login_id: &str) -> PoolStats {
        let (idle, opened_total) = self.inner.pool.stats(login_id);
        PoolStats { idle, opened_total }
    }

    /// Runs `op` on a pooled connection of this login. If the connection turns out to be
    /// dead (server restart, timeout, BYE), the login's idle connections are dropped and
    /// `op` runs once more on a fresh connection, so the user never notices.
    pub(super) async fn run<T>(
        &self,
        account: &Account,
        op: impl AsyncFnMut(&mut Conn) -> Result<T, Failure>,
    ) -> Result<T, ImapError> {
        self.run_in(account, None, op).await
    }

    /// [`Imap::run`] for an operation on folder `wire`: a pooled connection that has it
    /// open already is taken first.
    pub(super) async fn run_in<T>(
        &self,
        account: &Account,
        wire: Option<&str>,
        mut op: impl AsyncFnMut(&mut Conn) -> Result<T, Failure>,
    ) -> Result<T, ImapError> {
        self.ensure_reaper();
        let pool = &self.inner.pool;
        let mut retried = false;
        loop {
            let (mut lease, stale) = pool
                .checkout(&account.login_id, &account.username, wire)
                .await;
            close_later(stale);
            let pooled = lease.conn.take();
            let pooled = if retried {
                // The retry always gets a fresh connection: a sibling given back meanwhile
                // may be just as dead as the one that failed.
                drop(pooled);
                None
            } else {
                pooled
            };
            let mut conn = match pooled {
                Some(mut conn) if lease.idle_for >= CHECK_AFTER_IDLE => {
                    match timeout(NOOP_TIMEOUT, conn.noop()).await {
                        Ok(Ok(())) => conn,
                        _ => {
                            // Dead: so are probably its siblings. Start afresh.
                            drop(conn);
                            drop(pool.take_idle(&account.login_id));
                            self.open(account).await?
                        }
                    }
                }
                Some(conn) => conn,
                None => self.open(account).await?,
            };
            conn.drain_unsolicited();
            let outcome = timeout(OPERATION_TIMEOUT, op(&mut conn)).await;
            if conn.take_wrote() {
                // Whatever the outcome: a command that failed or timed out may still have
                // changed something.
                self.inner.fresh.changed(&account.username);
            }
            conn.drain_unsolicited();
            let failure = match outcome {
                Ok(Ok(value)) => {
                    lease.conn = Some(conn);
                    if let Some(extra) = pool.give_back(lease) {
                        close_later(vec![extra]);
                    }
                    return Ok(value);
                }
                Ok(Err(f)) => f,
                Err(_) => {
                    return Err(ImapError::Unreachable(
                        "the mail server did not answer in time".into(),
                    ));
                }
            };
            if failure.connection_ok() {
                lease.conn = Some(conn);
                if let Some(extra) = pool.give_back(lease) {
                    close_later(vec![extra]);
                }
                return Err(failure.into_error());
            }
            // The connection is unusable: drop it (no LOGOUT on a dead socket).
            drop(conn);
            drop(lease);
            match failure {
                Failure::Lost(why) if !retried => {
                    tracing::info!(user = %account.username, %why, "IMAP connection lost; reconnecting");
                    // Its siblings are probably dead too (a server restart kills them all).
                    drop(pool.take_idle(&account.login_id));
                    retried = true;
                }
                other => return Err(other.into_error()),
            }
        }
    }

    /// Opens and logs in a new connection for `account`'s commands.
    pub(super) async fn open(&self, account: &Account) -> Result<Conn, ImapError> {
        self.open_for(account, Purpose::Commands).await
    }

    /// Opens and logs in a new connection, counted under the total cap.
    pub(super) async fn open_for(
        &self,
        account: &Account,
        purpose: Purpose,
    ) -> Result<Conn, ImapError> {
        let permit = self.place(purpose).await?;
        let mut conn = self.connect(account).await?;
        conn.hold(permit);
        Ok(conn)
    }

    /// Connects and logs in.
    async fn connect(&self, account: &Account) -> Result<Conn, ImapError> {
        let (endpoint, tls) = match &account.server {
            Some(server) => (
                &server.imap,
                &transport::tls_connector_for(server.imap.ca_file.as_deref())
                    .map_err(ImapError::Unreachable)?,
            ),
            None => (&self.inner.endpoint, &self.inner.tls),
        };
        let conn = Conn::open(endpoint, tls, account.login_name(), &account.password).await?;
        self.inner.pool.note_opened();
        Ok(conn)
    }

    /// Starts the task that logs out idle connections, once, as soon as we are inside a
    /// Tokio runtime (`new` may be called before there is one).
    pub(super) fn ensure_reaper(&self) {
        if self.inner.reaper.get().is_some() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if self.inner.reaper.set(()).is_ok() {
            let fresh = Arc::downgrade(&self.inner.fresh);
            tokio::spawn(reap(Arc::downgrade(&self.inner.pool), fresh));
        }
    }

    /// [`Imap::fetch_raw`] on one connection.
    pub(super) async fn fetch_raw_on(
        &self,
        c: &mut Conn,
        user: &str,
        wire: &str,
        uid: u32,
    ) -> Result<Arc<Vec<u8>>, Failure> {
        let uidvalidity = c.open_for_reading(wire).await?;
        let key: RawKey = (user.to_owned(), wire.to_owned(), uid);
        match self.inner.raw_cache.get(&key).await {
            Some((v, hit)) if v == uidvalidity => {
                // Still there? A UID never comes back once expunged, so one cheap check
                // keeps the cache from serving deleted mail.
                return if uid_exists(c, uid).await? {
                    Ok(hit)
                } else {
                    Err(Failure::Fail(ImapError::NoSuchMessage))
                };
            }
            // The folder was renumbered: that UID is another message now.
            Some(_) => self.inner.raw_cache.invalidate(&key).await,
            None => {}
        }
        self.cached_body(c, key, uidvalidity).await
    }

    /// The message's bytes from the cache, or fetched and cached. Concurrent requests
    /// for the same message wait for one FETCH.
    pub(super) async fn cached_body(
        &self,
        c: &mut Conn,
        key: RawKey,
        uidvalidity: u32,
    ) -> Result<Arc<Vec<u8>>, Failure> {
        let uid = key.2;
        self.inner
            .raw_cache
            .try_get_with(key, async {
                fetch_body(c, uid).await.map(|b| (uidvalidity, Arc::new(b)))
            })
            .await
            .map(|(_, bytes)| bytes)
            .map_err(|e| (*e).clone())
    }
}

/// The reaper: every so often, log out connections idle for too long. Ends when the
/// [`Imap`] is dropped.
async fn reap(pool: Weak<Pool>, fresh: Weak<super::fresh::Freshness>) {
    loop {
        let interval = match pool.upgrade() {
            Some(p) => p.reap_interval(),
            None => return,
        };
        tokio::time::sleep(interval).await;
        let (Some(p), Some(fresh)) = (pool.upgrade(), fresh.upgrade()) else {
            return;
        };
        // A user whose watcher vouches needs few connections: pages come from memory.
        let expired = p.reap(|user| match fresh.current(user) {
            Some(_) => super::pool::VOUCHED_IDLE,
            None => super::pool::MAX_IDLE,
        });
        drop((p, fresh));
        if !expired.is_empty() {
            tracing::debug!(count = expired.len(), "IMAP: closing idle connections");
            futures::future::join_all(expired.into_iter().map(Conn::close)).await;
        }
    }
}

/// Logs connections out in the background.
pub(super) fn close_later(conns: Vec<Conn>) {
    if conns.is_empty() {
        return;
    }
    tokio::spawn(futures::future::join_all(
        conns.into_iter().map(Conn::close),
    ));
}

/// Whether `uid` is in the examined/selected folder.
pub(super) async fn uid_exists(c: &mut Conn, uid: u32) -> Result<bool, Failure> {
    let fetched: Vec<Fetch> = c.uid_fetch(&SeqSet::one(uid), "(UID)").await?;
    Ok(fetched.iter().any(|f| f.uid == Some(uid)))
}

/// The whole message, without setting `\Seen`.
pub(super) async fn fetch_body(c: &mut Conn, uid: u32) -> Result<Vec<u8>, Failure> {
    let fetched: Vec<Fetch> = c.uid_fetch(&SeqSet::one(uid), "BODY.PEEK[]").await?;
    fetched
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body())
        .map(<[u8]>::to_vec)
        .ok_or(Failure::Fail(ImapError::NoSuchMessage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::{Secret, Security},
        imap::PageRequest,
    };

    #[tokio::test]
    async fn at_the_cap_a_watcher_is_refused_at_once_and_a_page_after_a_short_wait() {
        let imap = imap().with_connection_cap(4);
        // Three of four taken: a watcher must leave a quarter free, a page may have it.
        let held: Vec<_> = (0..3)
            .map(|_| imap.inner.total.clone().try_acquire_owned().expect("free"))
            .collect();
        assert!(matches!(
            imap.place(Purpose::Watch).await,
            Err(ImapError::Busy)
        ));
        let last = imap.place(Purpose::Commands).await.expect("the last place");
        // Full, nothing idle to push out: refused, but only after waiting.
        let started = std::time::Instant::now();
        assert!(matches!(
            imap.place(Purpose::Commands).await,
            Err(ImapError::Busy)
        ));
        assert!(started.elapsed() >= BUSY_WAIT);
        // A place that comes free while a page waits goes to it.
        let waiting = tokio::spawn({
            let imap = imap.clone();
            async move { imap.place(Purpose::Commands).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(last);
        assert!(waiting.await.expect("task"));
        drop(held);
    }

    fn imap() -> Imap {
        Imap::new(
            Endpoint {
                host: "127.0.0.1".into(),
                // Nothing listens on port 1.
                port: 1,
                security: Security::None,
                ca_file: None,
            },
            Duration::from_secs(60),
        )
        .unwrap()
    }

    fn account() -> Account {
        Account {
            login_id: "l1".into(),
            username: "alice".into(),
            password: Secret::new("hunter2"),
            server: None,
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn futures_are_send_for_axum() {
        let (i, a) = (imap(), account());
        let req = PageRequest::default();
        assert_send(&i.fetch_page(&a, "INBOX", &req));
        assert_send(&i.fetch_raw(&a, "INBOX", 1));
        assert_send(&i.list_folders(&a));
        assert_send(&i.open_message(&a, "INBOX", 1));
        assert_send(&i.login(&a));
        assert_send(&i.logout("l1"));
    }

    #[tokio::test]
    async fn unreachable_server_and_bad_names() {
        let (i, a) = (imap(), account());
        let err = i.login(&a).await.unwrap_err();
        assert!(matches!(err, ImapError::Unreachable(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"));
        let err = i
            .fetch_page(&a, "a\r\nA1 LOGOUT", &PageRequest::default())
            .await;
        assert_eq!(err.unwrap_err(), ImapError::InvalidName);
    }

    #[test]
    fn missing_ca_file_is_reported() {
        let err = Imap::new(
            Endpoint {
                host: "localhost".into(),
                port: 993,
                security: Security::Tls,
                ca_file: Some("/nonexistent/ca.pem".into()),
            },
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }
}
