//! Two-factor login state (`totp`, `totp_recovery`, `totp_remembered`): each user's sealed
//! TOTP secret and the last step used, the hashes of unused recovery codes, and the
//! browsers remembered for 30 days. Sealing and hashing are the caller's (`web::tokens`);
//! this file stores strings and makes each "use" a single conditional write, so two
//! requests racing with the same code or recovery code cannot both win.

use super::{Db, with_pool};

/// The key of every row: the username as the throttle folds it (see the migration).
pub fn user_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// A user's TOTP row.
#[derive(Clone, Debug)]
pub struct Totp {
    /// The sealed secret.
    pub secret: String,
    /// Unix seconds it was confirmed; 0 while being set up.
    pub enabled_at: i64,
}

impl Totp {
    /// Whether logins need a code.
    pub fn enabled(&self) -> bool {
        self.enabled_at > 0
    }
}

/// The user's row, if they ever started setting up two-factor login.
pub async fn get(db: &Db, username: &str) -> Result<Option<Totp>, sqlx::Error> {
    let user = user_key(username);
    let row: Option<(String, i64)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT secret, enabled_at FROM totp WHERE username = $1")
            .bind(&user)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(secret, enabled_at)| Totp { secret, enabled_at }))
}

/// When two-factor login was turned on for the user (Unix seconds), if it is on: read on
/// every logged-in request, so only the one indexed column.
pub async fn enabled_since(db: &Db, username: &str) -> Result<Option<i64>, sqlx::Error> {
    let user = user_key(username);
    let at: Option<(i64,)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT enabled_at FROM totp WHERE username = $1 AND enabled_at > 0")
            .bind(&user)
            .fetch_optional(pool)
            .await
    })?;
    Ok(at.map(|(at,)| at))
}

/// Stores a new secret being set up. Refused (false) while two-factor login is on: a
/// running secret is only replaced by turning it off first.
pub async fn start(db: &Db, username: &str, sealed: &str, now: i64) -> Result<bool, sqlx::Error> {
    let user = user_key(username);
    let done = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO totp (username, secret, enabled_at, last_step, created_at) \
             VALUES ($1, $2, 0, 0, $3) \
             ON CONFLICT (username) DO UPDATE SET secret = excluded.secret, \
                 last_step = 0, created_at = excluded.created_at \
             WHERE totp.enabled_at = 0",
        )
        .bind(&user)
        .bind(sealed)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

/// Turns two-factor login on after a right code for `step`: stores the recovery code
/// hashes (replacing any old ones) and forgets remembered browsers. False when it was not
/// being set up (already on, or never started).
pub async fn enable(
    db: &Db,
    username: &str,
    step: i64,
    recovery_hashes: &[String],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let user = user_key(username);
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(
            "UPDATE totp SET enabled_at = $1, last_step = $2 \
             WHERE username = $3 AND enabled_at = 0 AND last_step < $2",
        )
        .bind(now)
        .bind(step)
        .bind(&user)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for table in ["totp_recovery", "totp_remembered"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE username = $1"))
                .bind(&user)
                .execute(&mut *tx)
                .await?;
        }
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO totp_recovery (username, code_hash) VALUES ($1, $2)")
                .bind(&user)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Records that the code of `step` was used; false when that step or a later one already
/// was (the code is being replayed) or two-factor login is off.
pub async fn use_step(db: &Db, username: &str, step: i64) -> Result<bool, sqlx::Error> {
    let user = user_key(username);
    let done = with_pool!(db, pool => {
        sqlx::query(
            "UPDATE totp SET last_step = $1 \
             WHERE username = $2 AND enabled_at > 0 AND last_step < $1",
        )
        .bind(step)
        .bind(&user)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

/// Spends the recovery code with this hash; false when there is no such unused code.
pub async fn use_recovery(db: &Db, username: &str, hash: &str) -> Result<bool, sqlx::Error> {
    let user = user_key(username);
    let done = with_pool!(db, pool => {
        sqlx::query("DELETE FROM totp_recovery WHERE username = $1 AND code_hash = $2")
            .bind(&user)
            .bind(hash)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

/// Unused recovery codes left.
pub async fn recovery_left(db: &Db, username: &str) -> Result<i64, sqlx::Error> {
    let user = user_key(username);
    with_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM totp_recovery WHERE username = $1")
            .bind(&user)
            .fetch_one(pool)
            .await
    })
}

/// Turns two-factor login off (or abandons a setup): the secret, the recovery codes and
/// the remembered browsers all go.
pub async fn disable(db: &Db, username: &str) -> Result<(), sqlx::Error> {
    let user = user_key(username);
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for table in ["totp", "totp_recovery", "totp_remembered"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE username = $1"))
                .bind(&user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// Remembers a browser (by its token's hash) until `expires_at`; expired entries of
/// everyone are dropped on the way.
pub async fn remember(
    db: &Db,
    username: &str,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let user = user_key(username);
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM totp_remembered WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?;
        sqlx::query(
            "INSERT INTO totp_remembered (token_hash, username, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(token_hash)
        .bind(&user)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Whether the browser with this token hash is remembered for `username` at `now`.
pub async fn is_remembered(
    db: &Db,
    username: &str,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let user = user_key(username);
    let n: i64 = with_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM totp_remembered \
             WHERE token_hash = $1 AND username = $2 AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(&user)
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db;

    #[tokio::test]
    async fn setup_use_replay_recovery_remember_and_disable() {
        let (_d, db) = test_db().await;
        assert!(get(&db, "ann@x.test").await.unwrap().is_none());
        assert!(start(&db, " Ann@x.test", "sealed-1", 10).await.unwrap());
        let row = get(&db, "ann@x.test").await.unwrap().unwrap();
        assert!(!row.enabled() && row.secret == "sealed-1");
        assert!(!use_step(&db, "ann@x.test", 5).await.unwrap(), "not on yet");
        let hashes = vec!["h1".to_owned(), "h2".to_owned()];
        assert!(enable(&db, "ann@x.test", 5, &hashes, 20).await.unwrap());
        assert!(!enable(&db, "ann@x.test", 6, &hashes, 20).await.unwrap());
        assert!(!start(&db, "ann@x.test", "sealed-2", 30).await.unwrap());
        assert!(get(&db, "ANN@x.test").await.unwrap().unwrap().enabled());
        // The step used to confirm is spent; later steps once each.
        assert!(!use_step(&db, "ann@x.test", 5).await.unwrap());
        assert!(use_step(&db, "ann@x.test", 6).await.unwrap());
        assert!(!use_step(&db, "ann@x.test", 6).await.unwrap());
        assert!(use_recovery(&db, "ann@x.test", "h1").await.unwrap());
        assert!(!use_recovery(&db, "ann@x.test", "h1").await.unwrap());
        assert!(!use_recovery(&db, "bob@x.test", "h2").await.unwrap());
        assert_eq!(recovery_left(&db, "ann@x.test").await.unwrap(), 1);
        remember(&db, "ann@x.test", "t1", 100, 50).await.unwrap();
        assert!(is_remembered(&db, "ann@x.test", "t1", 99).await.unwrap());
        assert!(!is_remembered(&db, "ann@x.test", "t1", 100).await.unwrap());
        assert!(!is_remembered(&db, "bob@x.test", "t1", 99).await.unwrap());
        disable(&db, "ann@x.test").await.unwrap();
        assert!(get(&db, "ann@x.test").await.unwrap().is_none());
        assert!(!is_remembered(&db, "ann@x.test", "t1", 99).await.unwrap());
        assert_eq!(recovery_left(&db, "ann@x.test").await.unwrap(), 0);
    }
}
