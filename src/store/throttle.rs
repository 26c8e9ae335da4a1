//! Login throttling, kept in the database so every instance sees the same counts.
//!
//! Failed logins are counted per client IP (IPv6 by /64, the block one customer gets)
//! and per username. After [`THRESHOLD`] failures a subject is locked for the configured
//! base delay, and every further failure doubles the lock, up to [`MAX_LOCK`]. While a
//! subject is locked, logins are refused without asking the mail server, so an attacker
//! learns nothing, not even from timing, and the server's own auth delay is not paid.
//!
//! An attempt is counted *before* the mail server is asked ([`begin`]) and taken back when
//! it succeeds or the server could not be reached ([`succeeded`], [`abandoned`]). The check
//! and the count are one transaction, so a burst of parallel guesses cannot all pass the
//! check before the lock is written. Usernames are stored as SHA-256 hashes: the table must not
//! collect what people type into the address field (sometimes their password), and an
//! unknown user is counted exactly like a real one.
//!
//! This file owns the `login_throttle` table and the backoff rule; where the client IP
//! comes from is the web layer's business (`web::throttle`).

use std::{
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use sha2::{Digest, Sha256};

use super::{Db, with_pool};

/// Failures allowed before the first lock.
pub const THRESHOLD: i64 = 5;
/// The longest lock, however many failures there were.
pub const MAX_LOCK: Duration = Duration::from_secs(3600);
/// A subject with no attempt for this long starts again from zero (and its row is deleted).
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What is being throttled: where the attempt comes from, or which account it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Ip(String),
    User(String),
    /// A browser with a known-device entry for the account (hashed like usernames).
    Device(String),
}

impl Subject {
    /// The client address; IPv4-mapped IPv6 counts as IPv4, other IPv6 by its /64.
    fn ip(ip: IpAddr) -> Subject {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        };
        Subject::Ip(ip.to_string())
    }

    /// The account, case-folded (IMAP servers treat `Alice@` and `alice@` alike) and hashed.
    fn user(username: &str) -> Subject {
        let folded = username.trim().to_lowercase();
        Subject::User(hex::encode(Sha256::digest(folded.as_bytes())))
    }

    /// A known-device entry (`web::tokens`), hashed: the table never holds a usable one.
    fn device(entry: &str) -> Subject {
        Subject::Device(hex::encode(Sha256::digest(entry.as_bytes())))
    }

    fn scope(&self) -> &'static str {
        match self {
            Subject::Ip(_) => "ip",
            Subject::User(_) => "user",
            Subject::Device(_) => "device",
        }
    }

    fn key(&self) -> &str {
        match self {
            Subject::Ip(s) | Subject::User(s) | Subject::Device(s) => s,
        }
    }
}

/// The lock after `failures` failures: none below [`THRESHOLD`], then the base delay,
/// doubled for each further failure, capped at [`MAX_LOCK`].
pub fn lock_for(failures: i64, base: Duration) -> Duration {
    if failures < THRESHOLD {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures - THRESHOLD)
        .unwrap_or(u32::MAX)
        .min(20);
    base.saturating_mul(1 << doublings).min(MAX_LOCK)
}

/// One counted attempt, to be settled with [`succeeded`], [`failed`] or [`abandoned`].
#[derive(Debug)]
pub struct Ticket {
    /// Per subject: the lock before this attempt, and the lock this attempt set (so taking
    /// the attempt back restores the old lock unless a later failure changed it since).
    entries: Vec<(Subject, i64, i64)>,
    now: i64,
}

/// The answer to "may this login be tried?".
#[derive(Debug)]
pub enum Attempt {
    /// Go ahead and ask the mail server; settle the ticket afterwards.
    Allowed(Ticket),
    /// Refuse without asking anyone; the lock ends after this long.
    Refused { retry_after: Duration },
}

/// Checks the client IP and the username and, unless one of them is locked, counts this
/// attempt against both. `now` is Unix seconds (injectable for tests).
///
/// `known_device` is the browser's known-device entry for this username, when it has a
/// valid one (`web::tokens`): such a browser is counted on its own subject instead of the
/// account's, so a username locked by strangers' failures stays open to the browsers its
/// owner already uses. The address lock applies to everyone.
///
/// The decision and the count are one transaction that holds the write lock (SQLite:
/// `BEGIN IMMEDIATE`; PostgreSQL: the upsert locks each row until commit, always in the
/// order address, then account), so concurrent attempts, on any number of instances, are
/// decided one after the other: the sixth parallel guess sees the lock the fifth set.
pub async fn begin(
    db: &Db,
    ip: IpAddr,
    username: &str,
    known_device: Option<&str>,
    base: Duration,
    now: i64,
) -> Result<Attempt, sqlx::Error> {
    let second = match known_device {
        Some(entry) => Subject::device(entry),
        None => Subject::user(username),
    };
    let subjects = [Subject::ip(ip), second];
    with_pool!(db, pool => {
        let forget_before = now - FORGET_AFTER.as_secs() as i64;
        // SQLite: take the database's write lock before reading. PostgreSQL: a plain
        // transaction; the upsert below locks each row until commit.
        let begin = match db {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
            Db::Postgres(_) => "BEGIN",
        };
        let mut tx = pool.begin_with(begin).await?;
        let mut before = Vec::with_capacity(subjects.len());
        for subject in &subjects {
            // Creates the row or locks it, and reads it; a subject quiet for a day reads as new.
            let row: (i64, i64) = sqlx::query_as(
                "INSERT INTO login_throttle (scope, subject, failures, locked_until, updated_at) \
                 VALUES ($1, $2, 0, 0, $3) \
                 ON CONFLICT (scope, subject) DO UPDATE SET \
                     failures = CASE WHEN login_throttle.updated_at < $4 THEN 0 \
                                     ELSE login_throttle.failures END, \
                     locked_until = CASE WHEN login_throttle.updated_at < $4 THEN 0 \
                                         ELSE login_throttle.locked_until END \
                 RETURNING failures, locked_until",
            )
            .bind(subject.scope())
            .bind(subject.key())
            .bind(now)
            .bind(forget_before)
            .fetch_one(&mut *tx)
            .await?;
            before.push(row);
        }
        let locked_until = before.iter().map(|&(_, until)| until).max().unwrap_or(0);
        if locked_until > now {
            // Nothing is counted for a refused attempt (and a row created above goes too).
            tx.rollback().await?;
            return Ok(Attempt::Refused {
                retry_after: Duration::from_secs((locked_until - now) as u64),
            });
        }
        let mut entries = Vec::with_capacity(subjects.len());
        for (subject, (failures, lock_before)) in subjects.into_iter().zip(before) {
            let failures = failures + 1;
            let lock = lock_for(failures, base);
            let lock_set = if lock.is_zero() {
                lock_before
            } else {
                (now + lock.as_secs() as i64).max(lock_before)
            };
            sqlx::query(
                "UPDATE login_throttle SET failures = $1, locked_until = $2, updated_at = $3 \
                 WHERE scope = $4 AND subject = $5",
            )
            .bind(failures)
            .bind(lock_set)
            .bind(now)
            .bind(subject.scope())
            .bind(subject.key())
            .execute(&mut *tx)
            .await?;
            entries.push((subject, lock_before, lock_set));
        }
        tx.commit().await?;
        Ok(Attempt::Allowed(Ticket { entries, now }))
    })
}

/// The password was right: the account (or the known browser) starts from zero, and the
/// attempt is taken back from the IP's count (other people may share that address). A login
/// from a known browser leaves the account's own count alone: strangers' failures keep
/// locking other browsers out until their lock ends.
pub async fn succeeded(db: &Db, ticket: Ticket) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        for (subject, lock_before, lock_set) in &ticket.entries {
            match subject {
                Subject::User(_) | Subject::Device(_) => {
                    sqlx::query("DELETE FROM login_throttle WHERE scope = $1 AND subject = $2")
                        .bind(subject.scope())
                        .bind(subject.key())
                        .execute(pool)
                        .await?;
                }
                Subject::Ip(_) => take_back(db, subject, *lock_before, *lock_set).await?,
            }
        }
        Ok(())
    })
}

/// The password was wrong: the attempt stays counted. Also forgets subjects that have
/// been quiet for [`FORGET_AFTER`], so the table does not grow for ever.
pub async fn failed(db: &Db, ticket: Ticket) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        let forget_before = ticket.now - FORGET_AFTER.as_secs() as i64;
        sqlx::query("DELETE FROM login_throttle WHERE updated_at < $1 AND locked_until < $2")
            .bind(forget_before)
            .bind(ticket.now)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// Nobody knows whether the password was right (the mail server was unreachable): the
/// attempt is taken back from both counts.
pub async fn abandoned(db: &Db, ticket: Ticket) -> Result<(), sqlx::Error> {
    for (subject, lock_before, lock_set) in &ticket.entries {
        take_back(db, subject, *lock_before, *lock_set).await?;
    }
    Ok(())
}

/// Undoes one counted attempt: one failure less, and the lock this attempt set (if it is
/// still the current one) back to what it was.
async fn take_back(
    db: &Db,
    subject: &Subject,
    lock_before: i64,
    lock_set: i64,
) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE login_throttle SET \
                 failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
                 locked_until = CASE WHEN locked_until = $1 THEN $2 ELSE locked_until END \
             WHERE scope = $3 AND subject = $4",
        )
        .bind(lock_set)
        .bind(lock_before)
        .bind(subject.scope())
        .bind(subject.key())
        .execute(pool)
        .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db as db;

    const BASE: Duration = Duration::from_secs(60);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    async fn fail(db: &Db, from: &str, user: &str, now: i64) -> bool {
        match begin(db, ip(from), user, None, BASE, now).await.unwrap() {
            Attempt::Allowed(t) => {
                failed(db, t).await.unwrap();
                true
            }
            Attempt::Refused { .. } => false,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(lock_for(0, BASE), Duration::ZERO);
        assert_eq!(lock_for(4, BASE), Duration::ZERO);
        assert_eq!(lock_for(5, BASE), BASE);
        assert_eq!(lock_for(6, BASE), BASE * 2);
        assert_eq!(lock_for(7, BASE), BASE * 4);
        assert_eq!(lock_for(11, BASE), MAX_LOCK);
        assert_eq!(lock_for(i64::MAX, BASE), MAX_LOCK);
    }

    #[test]
    fn subjects_are_normalized() {
        assert_eq!(
            Subject::ip(ip("2001:db8:1:2:3:4:5:6")),
            Subject::ip(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            Subject::ip(ip("2001:db8:1:2::")),
            Subject::ip(ip("2001:db8:1:3::"))
        );
        assert_eq!(
            Subject::ip(ip("::ffff:192.0.2.1")),
            Subject::Ip("192.0.2.1".into())
        );
        assert_eq!(
            Subject::user(" Alice@Example.test"),
            Subject::user("alice@example.test")
        );
        assert!(!Subject::user("alice@example.test").key().contains("alice"));
    }

    #[tokio::test]
    async fn sixth_attempt_is_refused_until_the_lock_passes() {
        let (_d, db) = db().await;
        let t0 = 1_000_000;
        for i in 0..5 {
            assert!(
                fail(&db, "192.0.2.1", "alice@x.test", t0 + i).await,
                "attempt {i}"
            );
        }
        match begin(&db, ip("192.0.2.1"), "alice@x.test", None, BASE, t0 + 10)
            .await
            .unwrap()
        {
            Attempt::Refused { retry_after } => assert_eq!(retry_after, Duration::from_secs(54)),
            Attempt::Allowed(_) => panic!("the sixth attempt was allowed"),
        }
        // Another address is blocked too: the account itself is locked.
        assert!(!fail(&db, "198.51.100.7", "alice@x.test", t0 + 10).await);
        // And another account from the first address: the address is locked.
        assert!(!fail(&db, "192.0.2.1", "bob@x.test", t0 + 10).await);
        // After the lock, one more failure locks twice as long.
        assert!(fail(&db, "192.0.2.1", "alice@x.test", t0 + 64).await);
        match begin(&db, ip("192.0.2.1"), "alice@x.test", None, BASE, t0 + 65)
            .await
            .unwrap()
        {
            Attempt::Refused { retry_after } => assert_eq!(retry_after, Duration::from_secs(119)),
            Attempt::Allowed(_) => panic!("allowed during the doubled lock"),
        }
        // A day later everything is forgotten.
        assert!(fail(&db, "192.0.2.1", "alice@x.test", t0 + 90_000).await);
    }

    #[tokio::test]
    async fn success_resets_the_account_and_takes_the_attempt_back_from_the_address() {
        let (_d, db) = db().await;
        let t0 = 2_000_000;
        for i in 0..4 {
            assert!(fail(&db, "192.0.2.9", &format!("u{i}@x.test"), t0).await);
        }
        // Attempt 5 from the address would lock it; it succeeds, so it must not.
        let Attempt::Allowed(t) = begin(&db, ip("192.0.2.9"), "me@x.test", None, BASE, t0)
            .await
            .unwrap()
        else {
            panic!("refused")
        };
        succeeded(&db, t).await.unwrap();
        assert!(
            fail(&db, "192.0.2.9", "other@x.test", t0 + 1).await,
            "not locked by a success"
        );
        let rows: i64 = crate::store::with_pool!(&db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM login_throttle WHERE scope = 'user'"
            )
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(
            rows, 5,
            "the successful account's row is gone, the others stay"
        );
    }

    #[tokio::test]
    async fn unreachable_server_counts_nothing() {
        let (_d, db) = db().await;
        for _ in 0..10 {
            let Attempt::Allowed(t) = begin(&db, ip("192.0.2.3"), "a@x.test", None, BASE, 5)
                .await
                .unwrap()
            else {
                panic!("refused")
            };
            abandoned(&db, t).await.unwrap();
        }
        assert!(fail(&db, "192.0.2.3", "a@x.test", 6).await);
    }

    #[tokio::test]
    async fn parallel_attempts_cannot_slip_past_the_threshold() {
        let (_d, db) = db().await;
        // Twenty guesses started at once, none settled yet: only the first five may go on.
        let mut allowed = 0;
        for _ in 0..20 {
            if let Attempt::Allowed(_) = begin(&db, ip("192.0.2.4"), "v@x.test", None, BASE, 7)
                .await
                .unwrap()
            {
                allowed += 1;
            }
        }
        assert_eq!(allowed, THRESHOLD);
    }

    #[tokio::test]
    async fn forty_concurrent_attempts_let_exactly_five_through() {
        let (_d, db) = db().await;
        let attempts = (0..40).map(|i| {
            let db = db.clone();
            // Every fourth guess from another address: the account lock must hold too.
            let from = if i % 4 == 0 {
                "192.0.2.50"
            } else {
                "192.0.2.51"
            };
            tokio::spawn(async move {
                begin(&db, ip(from), "w@x.test", None, BASE, 9)
                    .await
                    .unwrap()
            })
        });
        let mut allowed = 0;
        for a in futures::future::join_all(attempts).await {
            if let Attempt::Allowed(_) = a.unwrap() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, THRESHOLD);
    }

    #[tokio::test]
    async fn a_known_browser_passes_the_account_lock_but_not_the_address_lock() {
        let (_d, db) = db().await;
        let t0 = 3_000_000;
        for i in 0..5 {
            assert!(fail(&db, &format!("198.51.100.{i}"), "owner@x.test", t0).await);
        }
        assert!(!fail(&db, "198.51.100.200", "owner@x.test", t0 + 1).await);
        let device = Some("1-ab-cd");
        let Attempt::Allowed(t) = begin(
            &db,
            ip("198.51.100.200"),
            "owner@x.test",
            device,
            BASE,
            t0 + 1,
        )
        .await
        .unwrap() else {
            panic!("the known browser was refused")
        };
        succeeded(&db, t).await.unwrap();
        // Still locked for everyone else.
        assert!(!fail(&db, "198.51.100.201", "owner@x.test", t0 + 2).await);
        // The address lock applies to known browsers too.
        for _ in 0..5 {
            assert!(fail(&db, "192.0.2.77", "someone@x.test", t0).await);
        }
        assert!(matches!(
            begin(&db, ip("192.0.2.77"), "owner@x.test", device, BASE, t0 + 1)
                .await
                .unwrap(),
            Attempt::Refused { .. }
        ));
    }
}
