//! Mailroom's own database: sessions, settings (and later identities, contacts, throttling).
//! SQLite by default; the SQL is kept portable so PostgreSQL can follow. Migrations in
//! `migrations/` run at start-up.

pub mod compose;
pub mod contacts;
pub mod identities;
pub mod throttle;
pub mod trusted;

use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The connection pool shared by the app and the session store.
pub type Db = SqlitePool;

/// Opens (creating if needed) the database and runs pending migrations.
/// Whether the database answers a trivial query (readiness checks).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

pub async fn connect(url: &str) -> anyhow::Result<Db> {
    if !url.starts_with("sqlite:") {
        anyhow::bail!(
            "only sqlite: database URLs are supported so far (got {})",
            url.split(':').next().unwrap_or("")
        );
    }
    let opts = SqliteConnectOptions::from_str(url)
        .context("invalid MAILROOM_DATABASE_URL")?
        .create_if_missing(true)
        // WAL lets page loads read while a login writes its session.
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL stays consistent after a crash and skips an fsync per write;
        // every page view touches the session (idle expiry), so this is on the hot path.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .context("cannot open the database")?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("database migration failed")?;
    Ok(pool)
}

/// A new random row id (text, so the schema is the same on SQLite and PostgreSQL).
pub fn new_id() -> String {
    crate::ids::random_token(12)
}

/// Unix seconds, the time format of every timestamp column.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A fresh database in a temporary directory (kept alive by the returned guard), with
/// the migrations run: for unit tests.
#[cfg(test)]
pub(crate) async fn test_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = connect(&url).await.expect("test database");
    (dir, db)
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
    async fn identities_default_and_derived() {
        let (_d, db) = db().await;
        assert_eq!(
            identities::default_for(&db, "a@x.test")
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
        let all = identities::list(&db, "a@x.test").await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].email, "team@x.test", "the newest default wins");
        assert!(!all[1].is_default && all[1].id == first);
    }
}
