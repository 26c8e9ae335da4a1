//! The database the test apps use. SQLite files by default; with
//! `MAILROOM_TEST_DATABASE=postgres` a private PostgreSQL cluster (`scripts/pgstack`, one
//! per test process, stopped by its watchdog when the process exits), or with
//! `MAILROOM_TEST_DATABASE=postgres://…` a server already running (`scripts/test` starts one
//! for its whole second pass). Either way every app gets a database of its own.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use mailroom::store::Db;
use sqlx::{Connection, Executor};

use super::mailstack::{pick_free_ports, run};

/// The PostgreSQL server to create test databases on, if the tests run on PostgreSQL:
/// the superuser's URL of its `postgres` database.
pub fn postgres_admin_url() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(
        || match std::env::var("MAILROOM_TEST_DATABASE").ok()?.as_str() {
            "" | "sqlite" => None,
            "postgres" => Some(start_shared()),
            url if url.starts_with("postgres") => Some(url.to_owned()),
            other => panic!(
                "MAILROOM_TEST_DATABASE must be sqlite, postgres or a postgres:// URL, not {other}"
            ),
        },
    )
    .as_deref()
}

/// A new, empty database's URL: a SQLite file `name.db` in `dir`, or a new PostgreSQL
/// database with a name unique to this process.
pub async fn fresh_database_url(dir: &Path, name: &str) -> String {
    let Some(admin) = postgres_admin_url() else {
        return format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.db")).display()
        );
    };
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let db_name = format!(
        "it_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // Its own connection: every test has its own runtime, so nothing async is shared.
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to the test PostgreSQL server");
    conn.execute(format!("CREATE DATABASE {db_name}").as_str())
        .await
        .expect("CREATE DATABASE");
    let _ = conn.close().await;
    let mut url = reqwest::Url::parse(admin).expect("a postgres:// URL");
    url.set_path(&db_name);
    url.to_string()
}

/// Rows in `table` of the database at `url` (opened, and migrated if new).
pub async fn count_rows(url: &str, table: &str) -> i64 {
    let db = mailroom::store::connect(url)
        .await
        .expect("open the app's database");
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let n: i64 = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await,
    }
    .expect("COUNT");
    match db {
        Db::Sqlite(pool) => pool.close().await,
        Db::Postgres(pool) => pool.close().await,
    }
    n
}

/// Starts this process's cluster in a temp dir and returns its URL.
fn start_shared() -> String {
    let base = std::env::var_os("MAILSTACK_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let dir = tempfile::Builder::new()
        .prefix("pgstack-")
        .tempdir_in(&base)
        .expect("temp dir")
        // The watchdog deletes it once this process is gone.
        .keep();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pgstack");
    let mut last_error = String::new();
    for _attempt in 0..5 {
        let port = pick_free_ports(1)[0];
        let mut cmd = Command::new(&script);
        cmd.arg("up")
            .arg(&dir)
            .env("PGSTACK_PORT", port.to_string())
            .env("PGSTACK_OWNER_PID", std::process::id().to_string())
            .env("PGSTACK_REMOVE_DIR_ON_EXIT", "1");
        match run(cmd) {
            Ok(out) => {
                eprintln!("pgstack: shared cluster in {}", dir.display());
                return out
                    .lines()
                    .find_map(|l| l.strip_prefix("url="))
                    .expect("scripts/pgstack up prints url=")
                    .to_owned();
            }
            Err(e) => last_error = e,
        }
    }
    panic!("scripts/pgstack up failed:\n{last_error}");
}
