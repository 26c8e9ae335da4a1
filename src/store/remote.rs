//! Other mailboxes (issue 14): the accounts elsewhere a user fetches mail from
//! (`remote_accounts`) and, per account, the messages already fetched (`remote_seen`).
//!
//! This file only stores: what a fetch does is in [`crate::fetch`]. Every query that
//! names an account also names its owner, so one user can never read, fetch or delete
//! another's account (they get "not found"). The remote password arrives here already
//! sealed (see `fetch::Vault`).

use super::{Db, new_id, now, with_pool};

/// Most accounts one user may keep.
pub const MAX_PER_USER: i64 = 10;
/// Longest host name, login, folder name or sealed password kept (bytes).
pub const MAX_FIELD_BYTES: usize = 1024;
/// Longest error text kept.
const MAX_ERROR_BYTES: usize = 500;

/// Which protocol the remote server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Pop3,
    Imap,
}

impl Protocol {
    /// As stored and as the form sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Pop3 => "pop3",
            Protocol::Imap => "imap",
        }
    }

    /// From the stored or submitted value.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "pop3" => Some(Protocol::Pop3),
            "imap" => Some(Protocol::Imap),
            _ => None,
        }
    }
}

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS (POP3S 995, IMAPS 993).
    Tls,
    /// STLS / STARTTLS on the plain port (110, 143).
    Starttls,
    /// Plaintext: only ever allowed to loopback (the tests).
    None,
}

impl Security {
    /// As stored and as the form sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::None => "none",
        }
    }

    /// From the stored or submitted value.
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "tls" => Some(Security::Tls),
            "starttls" => Some(Security::Starttls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// One account elsewhere, as stored.
#[derive(Clone, Debug)]
pub struct RemoteAccount {
    pub id: String,
    /// The Mailroom user who owns it.
    pub username: String,
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub login: String,
    /// The password, sealed (see `fetch::Vault`).
    pub sealed_password: String,
    /// The user's folder that fetched mail goes to.
    pub folder: String,
    /// Leave fetched messages on the remote server (else they are deleted there).
    pub keep_on_server: bool,
    /// Unix seconds of the last finished fetch.
    pub last_fetch_at: Option<i64>,
    /// Why the last fetch failed (or what it skipped), for the page.
    pub last_error: Option<String>,
    /// Messages the last fetch brought in.
    pub last_count: i64,
}

/// What a new account needs (the password already sealed).
#[derive(Clone, Debug)]
pub struct NewAccount<'a> {
    pub protocol: Protocol,
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub login: &'a str,
    pub sealed_password: &'a str,
    pub folder: &'a str,
    pub keep_on_server: bool,
}

/// Why an account could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The user already has [`MAX_PER_USER`] accounts.
    #[error("too many accounts")]
    TooMany,
    /// A field longer than [`MAX_FIELD_BYTES`] (the form checks first; a caller bug).
    #[error("a field is too long")]
    TooLong,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

type Row = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    bool,
    Option<i64>,
    Option<String>,
    i64,
);

const COLUMNS: &str = "id, username, protocol, host, port, security, login, sealed_password, \
     folder, keep_on_server, last_fetch_at, last_error, last_count";

fn from_row(r: Row) -> Option<RemoteAccount> {
    Some(RemoteAccount {
        id: r.0,
        username: r.1,
        protocol: Protocol::parse(&r.2)?,
        host: r.3,
        port: u16::try_from(r.4).ok()?,
        security: Security::parse(&r.5)?,
        login: r.6,
        sealed_password: r.7,
        folder: r.8,
        keep_on_server: r.9,
        last_fetch_at: r.10,
        last_error: r.11,
        last_count: r.12,
    })
}

/// The user's accounts, oldest first.
pub async fn list(db: &Db, username: &str) -> Result<Vec<RemoteAccount>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM remote_accounts WHERE username = $1 ORDER BY created_at, id"
    );
    let rows: Vec<Row> = with_pool!(db, pool => {
        sqlx::query_as(&sql).bind(username).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// One of the user's accounts; `None` if it does not exist or belongs to someone else.
pub async fn get(db: &Db, username: &str, id: &str) -> Result<Option<RemoteAccount>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM remote_accounts WHERE username = $1 AND id = $2");
    let row: Option<Row> = with_pool!(db, pool => {
        sqlx::query_as(&sql).bind(username).bind(id).fetch_optional(pool).await
    })?;
    Ok(row.and_then(from_row))
}

/// Adds an account; returns its id.
pub async fn add(db: &Db, username: &str, a: &NewAccount<'_>) -> Result<String, AddError> {
    let fields = [a.host, a.login, a.sealed_password, a.folder];
    if fields.iter().any(|f| f.len() > MAX_FIELD_BYTES) {
        return Err(AddError::TooLong);
    }
    // Counted then inserted: two simultaneous adds may pass the cap by one, which is harmless.
    let count: i64 = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM remote_accounts WHERE username = $1")
            .bind(username)
            .fetch_one(pool)
            .await
    })?;
    if count >= MAX_PER_USER {
        return Err(AddError::TooMany);
    }
    let id = new_id();
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO remote_accounts (id, username, protocol, host, port, security, login, \
             sealed_password, folder, keep_on_server, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(username)
        .bind(a.protocol.as_str())
        .bind(a.host)
        .bind(i64::from(a.port))
        .bind(a.security.as_str())
        .bind(a.login)
        .bind(a.sealed_password)
        .bind(a.folder)
        .bind(a.keep_on_server)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(id)
}

/// Deletes one of the user's accounts and its seen-set; returns whether it existed.
pub async fn remove(db: &Db, username: &str, id: &str) -> Result<bool, sqlx::Error> {
    let removed = with_pool!(db, pool => {
        sqlx::query("DELETE FROM remote_accounts WHERE username = $1 AND id = $2")
            .bind(username)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
    })?;
    if removed {
        with_pool!(db, pool => {
            sqlx::query("DELETE FROM remote_seen WHERE account_id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
    }
    Ok(removed)
}

/// The ids of the user's accounts due for a fetch: never fetched, or last fetched at least
/// `interval_secs` ago, and not being fetched right now.
pub async fn due(db: &Db, username: &str, interval_secs: i64) -> Result<Vec<String>, sqlx::Error> {
    let t = now();
    with_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM remote_accounts WHERE username = $1 AND fetching_until < $2 \
             AND (last_fetch_at IS NULL OR last_fetch_at <= $3) ORDER BY id",
        )
        .bind(username)
        .bind(t)
        .bind(t - interval_secs)
        .fetch_all(pool)
        .await
    })
}

/// Claims the account for one fetch lasting at most `lease_secs`: false when another fetch
/// (in this or another instance) holds it. A crashed fetch's lease simply runs out.
pub async fn claim(
    db: &Db,
    username: &str,
    id: &str,
    lease_secs: i64,
) -> Result<bool, sqlx::Error> {
    let t = now();
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE remote_accounts SET fetching_until = $1 \
             WHERE username = $2 AND id = $3 AND fetching_until < $4",
        )
        .bind(t + lease_secs)
        .bind(username)
        .bind(id)
        .bind(t)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Records the end of a fetch and gives the lease back.
pub async fn finish(db: &Db, id: &str, count: i64, error: Option<&str>) -> Result<(), sqlx::Error> {
    let error = error.map(|e| crate::fetch::truncate(e, MAX_ERROR_BYTES));
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE remote_accounts SET fetching_until = 0, last_fetch_at = $1, \
             last_error = $2, last_count = $3 WHERE id = $4",
        )
        .bind(now())
        .bind(error)
        .bind(count)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Every message key already fetched from the account.
pub async fn seen(db: &Db, id: &str) -> Result<Vec<String>, sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query_scalar("SELECT message_key FROM remote_seen WHERE account_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await
    })
}

/// Records a message as fetched (again is fine).
pub async fn mark_seen(db: &Db, id: &str, key: &str) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO remote_seen (account_id, message_key, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, message_key) DO NOTHING",
        )
        .bind(id)
        .bind(key)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Forgets keys no longer on the server (deleted there, or an IMAP UIDVALIDITY change),
/// so the seen-set does not grow for ever.
pub async fn forget_seen(db: &Db, id: &str, keys: &[String]) -> Result<(), sqlx::Error> {
    for key in keys {
        with_pool!(db, pool => {
            sqlx::query("DELETE FROM remote_seen WHERE account_id = $1 AND message_key = $2")
                .bind(id)
                .bind(key)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db;

    fn new<'a>(host: &'a str) -> NewAccount<'a> {
        NewAccount {
            protocol: Protocol::Pop3,
            host,
            port: 995,
            security: Security::Tls,
            login: "bob",
            sealed_password: "sealed",
            folder: "INBOX",
            keep_on_server: true,
        }
    }

    #[tokio::test]
    async fn accounts_are_per_user_capped_claimed_once_and_remember_what_they_fetched() {
        let (_d, db) = test_db().await;
        let id = add(&db, "ann", &new("pop.example")).await.unwrap();
        assert!(get(&db, "bob", &id).await.unwrap().is_none(), "not bob's");
        assert!(!remove(&db, "bob", &id).await.unwrap());
        assert!(!claim(&db, "bob", &id, 60).await.unwrap());
        let a = get(&db, "ann", &id).await.unwrap().unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.keep_on_server),
            ("pop.example", 995, true)
        );
        assert_eq!(due(&db, "ann", 600).await.unwrap(), vec![id.clone()]);

        assert!(claim(&db, "ann", &id, 60).await.unwrap());
        assert!(!claim(&db, "ann", &id, 60).await.unwrap(), "held");
        assert!(
            due(&db, "ann", 600).await.unwrap().is_empty(),
            "being fetched"
        );
        mark_seen(&db, &id, "k1").await.unwrap();
        mark_seen(&db, &id, "k1").await.unwrap();
        mark_seen(&db, &id, "k2").await.unwrap();
        finish(&db, &id, 2, Some("boom")).await.unwrap();
        let a = get(&db, "ann", &id).await.unwrap().unwrap();
        assert_eq!((a.last_count, a.last_error.as_deref()), (2, Some("boom")));
        assert!(a.last_fetch_at.is_some());
        assert!(
            due(&db, "ann", 600).await.unwrap().is_empty(),
            "just fetched"
        );
        assert_eq!(due(&db, "ann", -1).await.unwrap(), vec![id.clone()]);
        let mut keys = seen(&db, &id).await.unwrap();
        keys.sort();
        assert_eq!(keys, ["k1", "k2"]);
        forget_seen(&db, &id, &["k1".to_owned()]).await.unwrap();
        assert_eq!(seen(&db, &id).await.unwrap(), ["k2"]);

        for i in 1..MAX_PER_USER {
            add(&db, "ann", &new(&format!("h{i}.example")))
                .await
                .unwrap();
        }
        assert!(matches!(
            add(&db, "ann", &new("one-more.example")).await,
            Err(AddError::TooMany)
        ));
        assert!(remove(&db, "ann", &id).await.unwrap());
        assert!(seen(&db, &id).await.unwrap().is_empty());
    }
}
