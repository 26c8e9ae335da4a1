//! Mailroom's own database: sessions, settings, identities, contacts, compose staging and
//! idempotency, login throttling, trusted senders, other mailboxes (`remote`), two-factor
//! login. SQLite (the default, for one box) or PostgreSQL (for a team, and for several
//! instances sharing one database), chosen by the URL's scheme. Each backend has its migrations
//! (`migrations/sqlite`, `migrations/postgres`), run at start-up.
//!
//! The queries are written once, in SQL both databases accept (`$1` placeholders, `ON
//! CONFLICT`, `RETURNING`); [`with_pool!`] compiles each function body once per backend, so
//! sqlx still checks types against the real driver. Where the two must differ (how the
//! throttle takes its write lock), the code matches on [`Db`] itself.

pub mod compose;
pub mod contacts;
pub mod identities;
pub mod outbox;
pub mod remote;
pub mod sessions;
pub mod settings;
pub mod throttle;
pub mod totp;
pub mod trusted;

use std::str::FromStr;

use anyhow::Context;
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

/// The connection pool shared by the app and the session store. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool inside a [`Db`]. The body is
/// compiled once per backend: `sqlx::query(..)` infers its database from the pool it runs
/// on, so one piece of SQL serves both.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The pool's connections: (open, idle), for the metrics.
pub fn pool_state(db: &Db) -> (u32, u32) {
    with_pool!(db, pool => (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX)))
}

/// Whether the database answers a trivial query (readiness checks).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`/`postgresql:`), creating a
/// SQLite file if needed, and runs pending migrations.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    let scheme = url.split(':').next().unwrap_or("");
    let db = match scheme {
        "sqlite" => Db::Sqlite(connect_sqlite(url).await?),
        "postgres" | "postgresql" => Db::Postgres(connect_postgres(url).await?),
        _ => anyhow::bail!(
            "MAILROOM_DATABASE_URL must start with sqlite: or postgres: (got {scheme}:)"
        ),
    };
    match &db {
        Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
        Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
    }
    .context("database migration failed")?;
    Ok(db)
}

async fn connect_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .context("invalid MAILROOM_DATABASE_URL")?
        .create_if_missing(true)
        // WAL lets page loads read while a login writes its session.
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL stays consistent after a crash and skips an fsync per write;
        // every page view touches the session (idle expiry), so this is on the hot path.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .context("cannot open the database")
}

async fn connect_postgres(url: &str) -> anyhow::Result<PgPool> {
    let opts = PgConnectOptions::from_str(url).context("invalid MAILROOM_DATABASE_URL")?;
    PgPoolOptions::new()
        .max_connections(16)
        // A database that does not answer should fail a request, not hang it.
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(opts)
        .await
        .context("cannot connect to the PostgreSQL database")
}

/// A new random row id (text, so the schema is the same on SQLite and PostgreSQL).
pub fn new_id() -> String {
    crate::ids::random_token(12)
}

/// Unix seconds, the time format of every timestamp column.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A fresh database with the migrations run, for unit tests: a SQLite file in a temporary
/// directory (kept alive by the returned guard), or, when `MAILROOM_TEST_DATABASE` holds a
/// PostgreSQL URL (`scripts/test` sets it for its second pass), a new database on that server.
#[cfg(test)]
pub(crate) async fn test_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match std::env::var("MAILROOM_TEST_DATABASE") {
        Ok(admin) if admin.starts_with("postgres") => test_pg_database(&admin).await,
        _ => format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
    };
    let db = connect(&url).await.expect("test database");
    (dir, db)
}

/// Creates a database with a unique name on the server at `admin` and returns its URL.
#[cfg(test)]
async fn test_pg_database(admin: &str) -> String {
    use sqlx::{Connection, Executor};
    let name = format!(
        "unit_{}_{}",
        std::process::id(),
        crate::ids::random_token(6)
    )
    .to_lowercase()
    .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to MAILROOM_TEST_DATABASE");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("CREATE DATABASE");
    let mut url = reqwest::Url::parse(admin).expect("MAILROOM_TEST_DATABASE is a URL");
    url.set_path(&name);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;
    use test_db as db;

    #[tokio::test]
    async fn contacts_are_collected_ranked_and_suggested() {
        let (_d, db) = db().await;
        let a = |n: &str, e: &str| Address {
            name: (!n.is_empty()).then(|| n.to_owned()),
            email: e.to_owned(),
        };
        contacts::collect(
            &db,
            "u",
            &[a("", "Bob@Example.test"), a("Carol", "carol@example.test")],
        )
        .await
        .unwrap();
        contacts::collect(&db, "u", &[a("Bob B", "bob@example.test")])
            .await
            .unwrap();
        contacts::collect(&db, "other", &[a("", "bob@other.test")])
            .await
            .unwrap();
        let s = contacts::suggest(&db, "u", "O", 10).await.unwrap();
        assert_eq!(
            s.iter().map(|c| c.email.as_str()).collect::<Vec<_>>(),
            ["bob@example.test", "carol@example.test"]
        );
        assert_eq!(s[0].name, "Bob B", "a collected name fills an empty one");
        assert!(
            contacts::suggest(&db, "u", "%", 10)
                .await
                .unwrap()
                .is_empty(),
            "% is literal"
        );
    }

    #[tokio::test]
    async fn only_sqlite_and_postgres_urls_are_accepted() {
        for url in ["mysql://db/mailroom", "mailroom.db", ""] {
            let err = connect(url).await.expect_err(url).to_string();
            assert!(err.contains("sqlite: or postgres:"), "{url}: {err}");
        }
    }

    #[tokio::test]
    async fn identities_default_and_derived() {
        let (_d, db) = db().await;
        assert_eq!(
            identities::default_for(&db, "a@x.test", "a@x.test")
                .await
                .unwrap()
                .email,
            "a@x.test"
        );
        let mut id = identities::Identity::derived("a@x.test");
        id.display_name = "Alice".into();
        let first = identities::save(&db, "a@x.test", &id).await.unwrap();
        let mut second = identities::Identity::derived("a@x.test");
        second.email = "team@x.test".into();
        identities::save(&db, "a@x.test", &second).await.unwrap();
        let all = identities::list(&db, "a@x.test", "a@x.test").await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].email, "team@x.test", "the newest default wins");
        assert!(!all[1].is_default && all[1].id == first);
    }
}
