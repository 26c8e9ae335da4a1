//! The `outbox` table: messages waiting for their send time (send later, and the undo
//! window after Send). `crate::send::outbox` decides what happens to them; this file
//! only stores rows and hands out due ones, each to exactly one taker.

use sqlx::Row;

use super::{Db, new_id, now, with_pool};

/// Messages one user may have waiting: a queue, not a mail store.
pub const MAX_PER_USER: i64 = 100;

/// A row as the worker and the outbox page need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: String,
    pub username: String,
    pub compose_id: String,
    /// The letter, JSON.
    pub letter: String,
    /// Sealed credentials.
    pub credentials: String,
    pub subject: String,
    pub recipients: String,
    pub send_at: i64,
    /// `waiting` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: String,
}

/// What [`enqueue`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued under this id.
    New(String),
    /// This form was queued before (a double click, a reload): its row's id.
    Again(String),
    /// The user has [`MAX_PER_USER`] messages waiting.
    Full,
}

/// What a new row holds.
pub struct NewRow<'a> {
    pub username: &'a str,
    pub compose_id: &'a str,
    pub letter: &'a str,
    pub credentials: &'a str,
    pub subject: &'a str,
    pub recipients: &'a str,
    pub send_at: i64,
}

const COLUMNS: &str = "id, username, compose_id, letter, credentials, subject, recipients, \
                       send_at, state, attempts, last_error";

fn queued(r: &impl RowLike) -> Queued {
    r.queued()
}

/// Reads a [`Queued`] from either backend's row type.
trait RowLike {
    fn queued(&self) -> Queued;
}

macro_rules! row_like {
    ($t:ty) => {
        impl RowLike for $t {
            fn queued(&self) -> Queued {
                Queued {
                    id: self.get("id"),
                    username: self.get("username"),
                    compose_id: self.get("compose_id"),
                    letter: self.get("letter"),
                    credentials: self.get("credentials"),
                    subject: self.get("subject"),
                    recipients: self.get("recipients"),
                    send_at: self.get("send_at"),
                    state: self.get("state"),
                    attempts: self.get::<i32, _>("attempts").into(),
                    last_error: self.get("last_error"),
                }
            }
        }
    };
}
row_like!(sqlx::sqlite::SqliteRow);
row_like!(sqlx::postgres::PgRow);

/// Queues a message, once per compose form.
pub async fn enqueue(db: &Db, row: NewRow<'_>) -> Result<Enqueued, sqlx::Error> {
    let id = new_id();
    with_pool!(db, pool => {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE username = $1")
            .bind(row.username)
            .fetch_one(pool)
            .await?;
        let inserted = if count >= MAX_PER_USER {
            None
        } else {
            sqlx::query(
                "INSERT INTO outbox (id, username, compose_id, letter, credentials, subject, \
                 recipients, send_at, state, next_try, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $8, $9) \
                 ON CONFLICT (username, compose_id) DO NOTHING",
            )
            .bind(&id)
            .bind(row.username)
            .bind(row.compose_id)
            .bind(row.letter)
            .bind(row.credentials)
            .bind(row.subject)
            .bind(row.recipients)
            .bind(row.send_at)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| Some(r.rows_affected()))?
        };
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE username = $1 AND compose_id = $2",
        )
        .bind(row.username)
        .bind(row.compose_id)
        .fetch_optional(pool)
        .await?;
        Ok(match (inserted, existing) {
            (Some(1), _) => Enqueued::New(id),
            (_, Some(other)) => Enqueued::Again(other),
            _ => Enqueued::Full,
        })
    })
}

/// The user's queued messages, soonest first.
pub async fn list(db: &Db, username: &str) -> Result<Vec<Queued>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE username = $1 ORDER BY send_at, id");
    with_pool!(db, pool => {
        let rows = sqlx::query(&sql).bind(username).fetch_all(pool).await?;
        Ok(rows.iter().map(queued).collect())
    })
}

/// Takes one due message for sending: it is leased to the caller for `lease` seconds, so
/// no other instance takes it meanwhile. `None` when nothing is due.
pub async fn take_due(db: &Db, lease: i64) -> Result<Option<Queued>, sqlx::Error> {
    let t = now();
    // The inner SELECT may pick the same row in two instances; the outer WHERE repeats
    // the lease test, so only the first UPDATE matches it.
    let sql = format!(
        "UPDATE outbox SET lease_until = $1 WHERE id = (SELECT id FROM outbox \
         WHERE state = 'waiting' AND next_try <= $2 AND lease_until < $2 \
         ORDER BY next_try LIMIT 1) AND lease_until < $2 RETURNING {COLUMNS}"
    );
    with_pool!(db, pool => {
        let row = sqlx::query(&sql)
            .bind(t + lease)
            .bind(t)
            .fetch_optional(pool)
            .await?;
        Ok(row.as_ref().map(queued))
    })
}

/// Removes `id` of `username` unless a worker holds it right now; returns the row
/// removed (cancel, and the end of a sent message's row).
pub async fn take_back(db: &Db, username: &str, id: &str) -> Result<Option<Queued>, sqlx::Error> {
    let sql = format!(
        "DELETE FROM outbox WHERE username = $1 AND id = $2 AND lease_until < $3 \
         RETURNING {COLUMNS}"
    );
    with_pool!(db, pool => {
        let row = sqlx::query(&sql)
            .bind(username)
            .bind(id)
            .bind(now())
            .fetch_optional(pool)
            .await?;
        Ok(row.as_ref().map(queued))
    })
}

/// Removes a row the caller holds the lease of (the worker, once it is sent).
pub async fn remove(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())
    })
}

/// Sends `id` of `username` at once: a waiting message, or a given-up one that still
/// holds its message (tries start again).
pub async fn send_now(db: &Db, username: &str, id: &str) -> Result<bool, sqlx::Error> {
    let t = now();
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE outbox SET send_at = $1, next_try = $1, state = 'waiting', attempts = 0 \
             WHERE username = $2 AND id = $3 AND letter <> ''",
        )
        .bind(t)
        .bind(username)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// A failed attempt: try again at `next_try` (and release the lease).
pub async fn retry(db: &Db, id: &str, next_try: i64, error: &str) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_try = $1, lease_until = 0, \
             last_error = $2 WHERE id = $3",
        )
        .bind(next_try)
        .bind(error)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Given up: the row stays so the outbox page can say why, until the user dismisses it.
/// When the message went to Drafts it is dropped here, with the credentials; when it could
/// not (`keep`), both stay, so "Send now" can try again.
pub async fn give_up(db: &Db, id: &str, error: &str, keep: bool) -> Result<(), sqlx::Error> {
    let sql = if keep {
        "UPDATE outbox SET state = 'failed', lease_until = 0, last_error = $1 WHERE id = $2"
    } else {
        "UPDATE outbox SET state = 'failed', letter = '', credentials = '', \
         lease_until = 0, last_error = $1 WHERE id = $2"
    };
    with_pool!(db, pool => {
        sqlx::query(sql)
        .bind(error)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db;

    fn row<'a>(user: &'a str, form: &'a str, at: i64) -> NewRow<'a> {
        NewRow {
            username: user,
            compose_id: form,
            letter: "{}",
            credentials: "sealed",
            subject: "Hi",
            recipients: "b@x.test",
            send_at: at,
        }
    }

    #[tokio::test]
    async fn a_form_queues_once_a_due_row_goes_to_one_taker_and_cancel_is_per_user() {
        let (_d, db) = test_db().await;
        let past = now() - 5;
        let Enqueued::New(id) = enqueue(&db, row("ann", "f1", past)).await.unwrap() else {
            panic!("not queued");
        };
        assert_eq!(
            enqueue(&db, row("ann", "f1", past)).await.unwrap(),
            Enqueued::Again(id.clone())
        );
        let later = enqueue(&db, row("ann", "f2", now() + 3600)).await.unwrap();
        // Exactly one of two takers gets the due row; the later one is not due.
        let (a, b) = tokio::join!(take_due(&db, 60), take_due(&db, 60));
        let taken: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, id);
        assert_eq!(take_due(&db, 60).await.unwrap(), None);
        // A leased row cannot be cancelled under the worker's feet.
        assert_eq!(take_back(&db, "ann", &id).await.unwrap(), None);
        retry(&db, &id, now() + 600, "SMTP down").await.unwrap();
        // Another user cannot touch it; its owner can.
        assert_eq!(take_back(&db, "bob", &id).await.unwrap(), None);
        assert!(!send_now(&db, "bob", &id).await.unwrap());
        let back = take_back(&db, "ann", &id).await.unwrap().unwrap();
        assert_eq!((back.attempts, back.last_error.as_str()), (1, "SMTP down"));
        let Enqueued::New(later) = later else {
            panic!("not queued")
        };
        assert!(send_now(&db, "ann", &later).await.unwrap());
        assert_eq!(
            take_due(&db, 60).await.unwrap().map(|q| q.id),
            Some(later.clone())
        );
        give_up(&db, &later, "gone", false).await.unwrap();
        let listed = list(&db, "ann").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].state.as_str(), listed[0].letter.as_str()),
            ("failed", "")
        );
        assert_eq!(take_due(&db, 60).await.unwrap(), None);
    }
}
