//! What composing keeps in Mailroom's own database: send claims (idempotency), staged
//! attachments, and compose forms parked while their author logs in again.
//!
//! Mail itself never lives here: drafts and sent copies go to the IMAP server. These rows
//! are short-lived helpers for the web form and are swept by [`sweep`].

use sqlx::Row;

use super::{Db, new_id, now};

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
    let inserted = sqlx::query(
        "INSERT INTO compose_sends (username, compose_id, state, redirect, created_at) \
         VALUES ($1, $2, 'sending', '', $3) ON CONFLICT (username, compose_id) DO NOTHING",
    )
    .bind(username)
    .bind(compose_id)
    .bind(now())
    .execute(db)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Won);
    }
    let redirect: String =
        sqlx::query("SELECT redirect FROM compose_sends WHERE username = $1 AND compose_id = $2")
            .bind(username)
            .bind(compose_id)
            .fetch_optional(db)
            .await?
            .map(|r| r.get("redirect"))
            .unwrap_or_default();
    Ok(Claim::AlreadySent(redirect))
}

/// Records that the claimed send went out, and where the browser was sent afterwards.
pub async fn mark_sent(
    db: &Db,
    username: &str,
    compose_id: &str,
    redirect: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE compose_sends SET state = 'sent', redirect = $1 \
         WHERE username = $2 AND compose_id = $3",
    )
    .bind(redirect)
    .bind(username)
    .bind(compose_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a claim back after a failed send, so the user can try again.
pub async fn release_claim(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM compose_sends WHERE username = $1 AND compose_id = $2 AND state = 'sending'",
    )
    .bind(username)
    .bind(compose_id)
    .execute(db)
    .await?;
    Ok(())
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
    .execute(db)
    .await?;
    Ok(id)
}

/// The files staged for a compose form, oldest first, without their bytes.
pub async fn staged_list(
    db: &Db,
    username: &str,
    compose_id: &str,
) -> sqlx::Result<Vec<StagedInfo>> {
    let rows = sqlx::query(
        "SELECT id, filename, content_type, size FROM compose_uploads \
         WHERE username = $1 AND compose_id = $2 ORDER BY created_at, filename",
    )
    .bind(username)
    .bind(compose_id)
    .fetch_all(db)
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
}

/// The files staged for a compose form, with their bytes.
pub async fn staged_load(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<Vec<Staged>> {
    let rows = sqlx::query(
        "SELECT id, filename, content_type, size, data FROM compose_uploads \
         WHERE username = $1 AND compose_id = $2 ORDER BY created_at, filename",
    )
    .bind(username)
    .bind(compose_id)
    .fetch_all(db)
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
}

/// Deletes one staged file (the user unticked it).
pub async fn unstage(db: &Db, username: &str, compose_id: &str, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM compose_uploads WHERE id = $1 AND username = $2 AND compose_id = $3")
        .bind(id)
        .bind(username)
        .bind(compose_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes every file staged for a compose form (after the send, or once a draft holds them).
pub async fn unstage_all(db: &Db, username: &str, compose_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM compose_uploads WHERE username = $1 AND compose_id = $2")
        .bind(username)
        .bind(compose_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Parks a compose form (JSON) whose session had expired; returns the token that brings
/// it back. Its files are staged under the same token with an empty username.
pub async fn park(db: &Db, token: &str, form_json: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO compose_parked (token, form, created_at) VALUES ($1, $2, $3)")
        .bind(token)
        .bind(form_json)
        .bind(now())
        .execute(db)
        .await?;
    Ok(())
}

/// Takes a parked form back (once): returns its JSON and hands its staged files to
/// `username` under `compose_id`.
pub async fn unpark(
    db: &Db,
    token: &str,
    username: &str,
    compose_id: &str,
) -> sqlx::Result<Option<String>> {
    let mut tx = db.begin().await?;
    let form: Option<String> = sqlx::query("SELECT form FROM compose_parked WHERE token = $1")
        .bind(token)
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
}

/// Deletes staged files and parked forms older than a day, and old send claims.
pub async fn sweep(db: &Db) -> sqlx::Result<()> {
    let t = now();
    sqlx::query("DELETE FROM compose_uploads WHERE created_at < $1")
        .bind(t - STAGED_TTL_SECS)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM compose_parked WHERE created_at < $1")
        .bind(t - STAGED_TTL_SECS)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM compose_sends WHERE created_at < $1")
        .bind(t - CLAIM_TTL_SECS)
        .execute(db)
        .await?;
    Ok(())
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

        park(&db, "tok", "{\"subject\":\"s\"}").await.unwrap();
        stage(&db, "", "tok", "p.txt", "text/plain", b"parked")
            .await
            .unwrap();
        let form = unpark(&db, "tok", "u", "c9").await.unwrap();
        assert_eq!(form.as_deref(), Some("{\"subject\":\"s\"}"));
        assert_eq!(
            staged_load(&db, "u", "c9").await.unwrap()[0].data,
            b"parked"
        );
        assert!(
            unpark(&db, "tok", "u", "c9").await.unwrap().is_none(),
            "only once"
        );
        unstage_all(&db, "u", "c").await.unwrap();
        assert!(staged_list(&db, "u", "c").await.unwrap().is_empty());
        sweep(&db).await.unwrap();
    }
}
