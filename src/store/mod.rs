//! Mailroom's own database: sessions, settings (and later identities, contacts, throttling).
//! SQLite by default; the SQL is kept portable so PostgreSQL can follow. Migrations in
//! `migrations/` run at start-up.

use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// The connection pool shared by the app and the session store.
pub type Db = SqlitePool;

/// Opens (creating if needed) the database and runs pending migrations.
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
