//! What composing keeps in Mailroom's own database: send claims (idempotency), staged
//! attachments, and compose forms parked while their author logs in again.
//!
//! Mail itself never lives here: drafts and sent copies go to the IMAP server. These rows
//! are short-lived helpers for the web form and are swept by [`sweep`].

use sqlx::Row;

use super::{Db, new_id, now, with_pool};

/// Staged uploads and parked forms older than this are deleted.
pub const STAGED_TTL_SECS: i64 = 24 * 3600;
/// Send claims are kept this long: long enough for any reload or back button.
pub const CLAIM_TTL_SECS: i64 = 30 * 24 * 3600;

/// What claiming a send found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the send now.
    Won,
    /// Another request sent it (or is sending it); the value is where it redirected.
    AlreadySent(String),
}

/// Claims the right to send compose form `compose_id`. Exactly one concurrent caller
/// (across instances sharing the database) gets [`Claim::Won`].
pub async fn claim_send(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<Claim> {
    with_pool!(db, pool => {
        let inserted = sqlx::query(
            "INSERT INTO compose_sends (username, compose_id, state, redirect, created_at) \
             VALUES ($1, $2, 'sending', '', $3) ON CONFLICT (username, compose_id) DO NOTHING",
        )
        .bind(username)
        .bind(compose_id)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Won);
        }
        let redirect: String =
            sqlx::query("SELECT redirect FROM compose_sends WHERE username = $1 AND compose_id = $2")
                .bind(username)
                .bind(compose_id)
                .fetch_optional(pool)
                .await?
                .map(|r| r.get("redirect"))
                .unwrap_or_default();
        Ok(Claim::AlreadySent(redirect))
    })
}

/// Records that the claimed send went out, and where the browser was sent afterwards.
pub async fn mark_sent(
    db: &Db,
    username: &str,
    compose_id: &str,
    redirect: &str,
) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE compose_sends SET state = 'sent', redirect = $1 \
             WHERE username = $2 AND compose_id = $3",
        )
        .bind(redirect)
        .bind(username)
        .bind(compose_id)
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// Gives a claim back after a failed send, so the user can try again.
pub async fn release_claim(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query(
            "DELETE FROM compose_sends WHERE username = $1 AND compose_id = $2 AND state = 'sending'",
        )
        .bind(username)
        .bind(compose_id)
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// One staged attachment, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedInfo {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// One staged attachment with its bytes, for building the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    pub info: StagedInfo,
    pub data: Vec<u8>,
}

/// Keeps an uploaded file for compose form `compose_id`; returns its id.
pub async fn stage(
    db: &Db,
    username: &str,
    compose_id: &str,
    filename: &str,
    content_type: &str,
    data: &[u8],
) -> sqlx::Result<String> {
    with_pool!(db, pool => {
        let id = new_id();
        sqlx::query(
            "INSERT INTO compose_uploads (id, username, compose_id, filename, content_type, size, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(username)
        .bind(compose_id)
        .bind(filename)
        .bind(content_type)
        .bind(data.len() as i64)
        .bind(data)
        .bind(now())
        .execute(pool)
        .await?;
        Ok(id)
    })
}

/// The files staged for a compose form, oldest first, without their bytes.
pub async fn staged_list(
    db: &Db,
    username: &str,
    compose_id: &str,
) -> sqlx::Result<Vec<StagedInfo>> {
    with_pool!(db, pool => {
        let rows = sqlx::query(
            "SELECT id, filename, content_type, size FROM compose_uploads \
             WHERE username = $1 AND compose_id = $2 ORDER BY created_at, filename",
        )
        .bind(username)
        .bind(compose_id)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StagedInfo {
                id: r.get("id"),
                filename: r.get("filename"),
                content_type: r.get("content_type"),
                size: r.get("size"),
            })
            .collect())
    })
}

/// The files staged for a compose form, with their bytes.
pub async fn staged_load(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<Vec<Staged>> {
    with_pool!(db, pool => {
        let rows = sqlx::query(
            "SELECT id, filename, content_type, size, data FROM compose_uploads \
             WHERE username = $1 AND compose_id = $2 ORDER BY created_at, filename",
        )
        .bind(username)
        .bind(compose_id)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Staged {
                info: StagedInfo {
                    id: r.get("id"),
                    filename: r.get("filename"),
                    content_type: r.get("content_type"),
                    size: r.get("size"),
                },
                data: r.get("data"),
            })
            .collect())
    })
}

/// Deletes one staged file (the user unticked it).
pub async fn unstage(db: &Db, username: &str, compose_id: &str, id: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM compose_uploads WHERE id = $1 AND username = $2 AND compose_id = $3")
            .bind(id)
            .bind(username)
            .bind(compose_id)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// Deletes every file staged for a compose form (after the send, or once a draft holds them).
pub async fn unstage_all(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM compose_uploads WHERE username = $1 AND compose_id = $2")
            .bind(username)
            .bind(compose_id)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// A compose form to park: posted after its author's session had expired.
pub struct Parked<'a> {
    /// Random; the `restore` link carries it.
    pub token: &'a str,
    /// The user whose session expired (from the resume cookie).
    pub username: &'a str,
    /// The browser's id (from the resume cookie): only that browser gets the form back.
    pub browser: &'a str,
    pub form_json: &'a str,
    /// Bytes of the form and its files together.
    pub size: u64,
}

/// How many parked bytes are allowed: per user and in all.
#[derive(Clone, Copy, Debug)]
pub struct ParkCaps {
    pub per_user: u64,
    pub total: u64,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How many more bytes `username` may park now (the smaller of what is left of their
/// share and of the total).
pub async fn park_allowance(db: &Db, username: &str, caps: ParkCaps) -> sqlx::Result<u64> {
    with_pool!(db, pool => {
        let row = sqlx::query(
            // The casts: PostgreSQL sums BIGINTs into NUMERIC.
            "SELECT CAST(COALESCE(SUM(CASE WHEN username = $1 THEN size ELSE 0 END), 0) AS BIGINT) AS mine, \
             CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM compose_parked",
        )
        .bind(username)
        .fetch_one(pool)
        .await?;
        let used = |col: &str| u64::try_from(row.get::<i64, _>(col)).unwrap_or(0);
        Ok(caps
            .per_user
            .saturating_sub(used("mine"))
            .min(caps.total.saturating_sub(used("total"))))
    })
}

/// Parks a compose form (JSON) unless that would pass a cap; returns whether it was
/// kept. Its files are then staged under the token with an empty username (see
/// [`unpark`]). Concurrent parks, on any instance, cannot pass the caps together: the check
/// and the insert are one statement, which SQLite runs alone; PostgreSQL would let two such
/// statements read the same sums, so there the table is locked against other parks (not
/// against readers) until commit.
pub async fn park(db: &Db, p: &Parked<'_>, caps: ParkCaps) -> sqlx::Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        if let Db::Postgres(_) = db {
            sqlx::query("LOCK TABLE compose_parked IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO compose_parked (token, form, created_at, username, browser, size) \
             SELECT $1, $2, $3, $4, $5, $6 \
             WHERE (SELECT COALESCE(SUM(size), 0) FROM compose_parked WHERE username = $4) + $6 <= $7 \
             AND (SELECT COALESCE(SUM(size), 0) FROM compose_parked) + $6 <= $8",
        )
        .bind(p.token)
        .bind(p.form_json)
        .bind(now())
        .bind(p.username)
        .bind(p.browser)
        .bind(to_i64(p.size))
        .bind(to_i64(caps.per_user))
        .bind(to_i64(caps.total))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    })
}

/// Takes a parked form back (once), but only for the user and browser that parked it:
/// returns its JSON and hands its staged files to `username` under `compose_id`. Anyone
/// else gets `None` and the form stays for its owner.
pub async fn unpark(
    db: &Db,
    token: &str,
    username: &str,
    browser: &str,
    compose_id: &str,
) -> sqlx::Result<Option<String>> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let form: Option<String> = sqlx::query(
            "SELECT form FROM compose_parked WHERE token = $1 AND username = $2 AND browser = $3",
        )
        .bind(token)
        .bind(username)
        .bind(browser)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.get("form"));
        if form.is_some() {
            sqlx::query("DELETE FROM compose_parked WHERE token = $1")
                .bind(token)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE compose_uploads SET username = $1, compose_id = $2 \
                 WHERE username = '' AND compose_id = $3",
            )
            .bind(username)
            .bind(compose_id)
            .bind(token)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(form)
    })
}

/// How often [`spawn_sweeper`] runs [`sweep`].
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs [`sweep`] now and then every [`SWEEP_EVERY`], for as long as the process lives,
/// so expired rows go away even when nobody composes.
pub fn spawn_sweeper(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&db).await {
                tracing::warn!(error = %e, "compose: sweeping expired rows failed");
            }
        }
    });
}

/// Deletes staged files and parked forms older than a day, and old send claims.
pub async fn sweep(db: &Db) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        let t = now();
        sqlx::query("DELETE FROM compose_uploads WHERE created_at < $1")
            .bind(t - STAGED_TTL_SECS)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM compose_parked WHERE created_at < $1")
            .bind(t - STAGED_TTL_SECS)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM compose_sends WHERE created_at < $1")
            .bind(t - CLAIM_TTL_SECS)
            .execute(pool)
            .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db as db;

    #[tokio::test]
    async fn a_send_is_claimed_once() {
        let (_d, db) = db().await;
        assert_eq!(claim_send(&db, "u", "c1").await.unwrap(), Claim::Won);
        assert_eq!(
            claim_send(&db, "u", "c1").await.unwrap(),
            Claim::AlreadySent(String::new())
        );
        // Another user's form with the same id is unrelated.
        assert_eq!(claim_send(&db, "v", "c1").await.unwrap(), Claim::Won);
        mark_sent(&db, "u", "c1", "/mail/INBOX").await.unwrap();
        assert_eq!(
            claim_send(&db, "u", "c1").await.unwrap(),
            Claim::AlreadySent("/mail/INBOX".into())
        );
        // A failed send gives its claim back; a sent one cannot be released.
        assert_eq!(claim_send(&db, "u", "c2").await.unwrap(), Claim::Won);
        release_claim(&db, "u", "c2").await.unwrap();
        assert_eq!(claim_send(&db, "u", "c2").await.unwrap(), Claim::Won);
        release_claim(&db, "u", "c1").await.unwrap();
        assert!(matches!(
            claim_send(&db, "u", "c1").await.unwrap(),
            Claim::AlreadySent(_)
        ));
    }

    #[tokio::test]
    async fn staged_files_belong_to_their_form_and_survive_parking() {
        let (_d, db) = db().await;
        let a = stage(
            &db,
            "u",
            "c",
            "a.bin",
            "application/octet-stream",
            b"\x00\x01",
        )
        .await
        .unwrap();
        stage(&db, "u", "c", "b.txt", "text/plain", b"bee")
            .await
            .unwrap();
        stage(&db, "other", "c", "x", "text/plain", b"x")
            .await
            .unwrap();
        let list = staged_list(&db, "u", "c").await.unwrap();
        assert_eq!(
            list.iter().map(|s| s.filename.as_str()).collect::<Vec<_>>(),
            ["a.bin", "b.txt"]
        );
        unstage(&db, "u", "c", &a).await.unwrap();
        let loaded = staged_load(&db, "u", "c").await.unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].data, b"bee");

        let caps = ParkCaps {
            per_user: 1000,
            total: 1000,
        };
        let parked = Parked {
            token: "tok",
            username: "u",
            browser: "b1",
            form_json: "{\"subject\":\"s\"}",
            size: 20,
        };
        assert!(park(&db, &parked, caps).await.unwrap());
        stage(&db, "", "tok", "p.txt", "text/plain", b"parked")
            .await
            .unwrap();
        assert!(
            unpark(&db, "tok", "other", "b1", "c9")
                .await
                .unwrap()
                .is_none(),
            "another user gets nothing"
        );
        assert!(
            unpark(&db, "tok", "u", "b2", "c9").await.unwrap().is_none(),
            "another browser gets nothing"
        );
        assert!(staged_list(&db, "other", "c9").await.unwrap().is_empty());
        let form = unpark(&db, "tok", "u", "b1", "c9").await.unwrap();
        assert_eq!(form.as_deref(), Some("{\"subject\":\"s\"}"));
        assert_eq!(
            staged_load(&db, "u", "c9").await.unwrap()[0].data,
            b"parked"
        );
        assert!(
            unpark(&db, "tok", "u", "b1", "c9").await.unwrap().is_none(),
            "only once"
        );
        unstage_all(&db, "u", "c").await.unwrap();
        assert!(staged_list(&db, "u", "c").await.unwrap().is_empty());
        sweep(&db).await.unwrap();
    }

    #[tokio::test]
    async fn parking_stops_at_the_caps() {
        let (_d, db) = db().await;
        let caps = ParkCaps {
            per_user: 100,
            total: 150,
        };
        let p = |token: &'static str, username: &'static str, size| Parked {
            token,
            username,
            browser: "b",
            form_json: "{}",
            size,
        };
        assert_eq!(park_allowance(&db, "u", caps).await.unwrap(), 100);
        assert!(park(&db, &p("t1", "u", 60), caps).await.unwrap());
        assert_eq!(park_allowance(&db, "u", caps).await.unwrap(), 40);
        assert!(
            !park(&db, &p("t2", "u", 50), caps).await.unwrap(),
            "per user"
        );
        assert!(park(&db, &p("t3", "v", 80), caps).await.unwrap());
        assert_eq!(park_allowance(&db, "w", caps).await.unwrap(), 10);
        assert!(
            !park(&db, &p("t4", "w", 20), caps).await.unwrap(),
            "in total"
        );
        let n: i64 = crate::store::with_pool!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM compose_parked")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(n, 2);
    }

    #[tokio::test]
    async fn concurrent_parks_stop_at_the_cap_together() {
        let (_d, db) = db().await;
        let caps = ParkCaps {
            per_user: 50,
            total: 1000,
        };
        let parks = (0..20).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let token = format!("t{i}");
                let p = Parked {
                    token: &token,
                    username: "u",
                    browser: "b",
                    form_json: "{}",
                    size: 10,
                };
                park(&db, &p, caps).await.unwrap()
            })
        });
        let kept = futures::future::join_all(parks)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(kept, 5);
    }

    #[tokio::test]
    async fn the_sweep_removes_expired_parked_forms_and_their_files() {
        let (_d, db) = db().await;
        let caps = ParkCaps {
            per_user: 1000,
            total: 1000,
        };
        for token in ["old", "new"] {
            let p = Parked {
                token,
                username: "u",
                browser: "b",
                form_json: "{}",
                size: 10,
            };
            assert!(park(&db, &p, caps).await.unwrap());
            stage(&db, "", token, "f", "text/plain", b"x")
                .await
                .unwrap();
        }
        let long_ago = now() - STAGED_TTL_SECS - 1;
        for table in ["compose_parked", "compose_uploads"] {
            let col = if table == "compose_parked" {
                "token"
            } else {
                "compose_id"
            };
            let sql = format!("UPDATE {table} SET created_at = $1 WHERE {col} = 'old'");
            crate::store::with_pool!(&db, pool => {
                sqlx::query(&sql).bind(long_ago).execute(pool).await.unwrap();
            });
        }
        sweep(&db).await.unwrap();
        let left: Vec<String> = crate::store::with_pool!(&db, pool => {
            sqlx::query_scalar("SELECT token FROM compose_parked")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(left, ["new"]);
        let files: Vec<String> = crate::store::with_pool!(&db, pool => {
            sqlx::query_scalar("SELECT compose_id FROM compose_uploads")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(files, ["new"]);
    }
}
