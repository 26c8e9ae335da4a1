//! Per-user preferences kept by Mailroom itself (`user_settings`: one row per user and
//! name). The mail server knows nothing of them: the time zone, label colours, the theme,
//! the undo-send window… Each feature owns its names and validates its values; this file
//! only stores strings, bounded in size so a user cannot fill the database.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
};

use tokio::sync::OnceCell;

use super::{Db, now, with_pool};

/// Longest value kept; settings are short (a time zone, a colour, a small JSON map).
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

tokio::task_local! {
    /// The settings of the user a request is about, read once for the whole request (see
    /// [`per_request`]).
    static SNAPSHOT: Arc<Snapshot>;
}

/// One user's settings, all of them, as the request first asked for any.
#[derive(Default)]
struct Snapshot(OnceCell<(String, Mutex<BTreeMap<String, String>>)>);

/// Runs `request` with its own snapshot of settings: a page reads several (the theme,
/// the time zone, label colours…), and each read was a database round trip of its own;
/// inside `request` the first read loads every setting of that user in one query and the
/// others are answered from it. Writes go to the database and to the snapshot, so a
/// request sees its own changes. Nothing outlives the request: another request, or
/// another instance, reads the database afresh. Work spawned onto other tasks reads the
/// database directly.
pub async fn per_request<F: Future>(request: F) -> F::Output {
    SNAPSHOT.scope(Arc::default(), request).await
}

/// This request's settings of `username`, loading them if this is the first read; `None`
/// outside [`per_request`] or when the request first read another user's.
async fn snapshot(db: &Db, username: &str) -> Result<Option<Arc<Snapshot>>, sqlx::Error> {
    let Ok(snap) = SNAPSHOT.try_with(Arc::clone) else {
        return Ok(None);
    };
    let (user, _) = snap
        .0
        .get_or_try_init(|| async {
            let rows = all_of(db, username).await?;
            Ok::<_, sqlx::Error>((username.to_owned(), Mutex::new(rows.into_iter().collect())))
        })
        .await?;
    Ok((user == username).then_some(snap))
}

impl Snapshot {
    /// The loaded map (only called once [`snapshot`] loaded it).
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, String>) -> T) -> Option<T> {
        let (_, map) = self.0.get()?;
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut map))
    }
}

/// Every saved setting of `username`.
async fn all_of(db: &Db, username: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query_as::<_, (String, String)>(
            "SELECT name, value FROM user_settings WHERE username = $1",
        )
        .bind(username)
        .fetch_all(pool)
        .await
    })
}

/// The value of `name` for `username`, if the user ever saved one.
pub async fn get(db: &Db, username: &str, name: &str) -> Result<Option<String>, sqlx::Error> {
    if let Some(snap) = snapshot(db, username).await? {
        return Ok(snap.with(|m| m.get(name).cloned()).flatten());
    }
    with_pool!(db, pool => {
        sqlx::query_scalar::<_, String>(
            "SELECT value FROM user_settings WHERE username = $1 AND name = $2",
        )
        .bind(username)
        .bind(name)
        .fetch_optional(pool)
        .await
    })
}

/// Every saved setting of `username` whose name starts with `prefix`, as (name, value),
/// sorted by name (e.g. all `label.colour.*` at once).
pub async fn get_prefixed(
    db: &Db,
    username: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // `LIKE` would need escaping of `_` and `%`; comparing the leading bytes needs none.
    // `i32`: PostgreSQL's substr takes `integer`, and a `bigint` argument would not match.
    if let Some(snap) = snapshot(db, username).await? {
        let found = snap.with(|m| {
            m.range(prefix.to_owned()..)
                .take_while(|(name, _)| name.starts_with(prefix))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        });
        return Ok(found.unwrap_or_default());
    }
    let len = i32::try_from(prefix.len()).unwrap_or(i32::MAX);
    with_pool!(db, pool => {
        sqlx::query_as::<_, (String, String)>(
            "SELECT name, value FROM user_settings \
             WHERE username = $1 AND substr(name, 1, $2) = $3 ORDER BY name",
        )
        .bind(username)
        .bind(len)
        .bind(prefix)
        .fetch_all(pool)
        .await
    })
}

/// Saves `value` as `name` for `username`, replacing an earlier value. Values longer than
/// [`MAX_VALUE_BYTES`] are refused with `sqlx::Error::Protocol` (a caller bug: features
/// validate what users type before saving it).
pub async fn set(db: &Db, username: &str, name: &str, value: &str) -> Result<(), sqlx::Error> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(sqlx::Error::Protocol(format!(
            "setting {name} is {} bytes, more than {MAX_VALUE_BYTES}",
            value.len()
        )));
    }
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO user_settings (username, name, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username, name) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
        )
        .bind(username)
        .bind(name)
        .bind(value)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    written(username, |m| {
        m.insert(name.to_owned(), value.to_owned());
    });
    Ok(())
}

/// Applies a write to this request's snapshot, if it holds `username`'s settings.
fn written(username: &str, change: impl FnOnce(&mut BTreeMap<String, String>)) {
    let _ = SNAPSHOT.try_with(|snap| {
        if snap.0.get().is_some_and(|(user, _)| user == username) {
            snap.with(change);
        }
    });
}

/// Forgets `name` for `username` (back to the default).
pub async fn remove(db: &Db, username: &str, name: &str) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM user_settings WHERE username = $1 AND name = $2")
            .bind(username)
            .bind(name)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    written(username, |m| {
        m.remove(name);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db;

    #[tokio::test]
    async fn settings_are_per_user_replaced_listed_by_prefix_and_removed() {
        let (_d, db) = test_db().await;
        assert_eq!(get(&db, "ann", "timezone").await.unwrap(), None);
        set(&db, "ann", "timezone", "Asia/Shanghai").await.unwrap();
        set(&db, "ann", "timezone", "Europe/Paris").await.unwrap();
        set(&db, "bob", "timezone", "UTC").await.unwrap();
        set(&db, "ann", "label.colour.work", "#0a0").await.unwrap();
        set(&db, "ann", "label.colour.home", "#00a").await.unwrap();
        set(&db, "ann", "label_colour_x", "#fff").await.unwrap();
        assert_eq!(
            get(&db, "ann", "timezone").await.unwrap().as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(
            get_prefixed(&db, "ann", "label.colour.").await.unwrap(),
            vec![
                ("label.colour.home".to_owned(), "#00a".to_owned()),
                ("label.colour.work".to_owned(), "#0a0".to_owned())
            ]
        );
        remove(&db, "ann", "timezone").await.unwrap();
        assert_eq!(get(&db, "ann", "timezone").await.unwrap(), None);
        assert_eq!(
            get(&db, "bob", "timezone").await.unwrap().as_deref(),
            Some("UTC")
        );
        assert!(
            set(&db, "ann", "x", &"a".repeat(MAX_VALUE_BYTES + 1))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_request_reads_its_users_settings_once_and_sees_its_own_writes() {
        let (_d, db) = test_db().await;
        set(&db, "ann", "theme", "dark").await.unwrap();
        set(&db, "ann", "label.colour.work", "#0a0").await.unwrap();
        set(&db, "bob", "theme", "light").await.unwrap();
        per_request(async {
            assert_eq!(
                get(&db, "ann", "theme").await.unwrap().as_deref(),
                Some("dark")
            );
            // Another client of the database changes it: this request keeps what it read.
            with_pool!(&db, pool => {
                sqlx::query("UPDATE user_settings SET value = 'x' WHERE username = 'ann'")
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .unwrap()
            });
            assert_eq!(
                get(&db, "ann", "theme").await.unwrap().as_deref(),
                Some("dark")
            );
            // Its own writes it sees, and they reach the database.
            set(&db, "ann", "label.colour.home", "#00a").await.unwrap();
            remove(&db, "ann", "theme").await.unwrap();
            assert_eq!(get(&db, "ann", "theme").await.unwrap(), None);
            assert_eq!(
                get_prefixed(&db, "ann", "label.colour.").await.unwrap(),
                vec![
                    ("label.colour.home".to_owned(), "#00a".to_owned()),
                    ("label.colour.work".to_owned(), "#0a0".to_owned())
                ]
            );
            // Another user's settings come from the database.
            assert_eq!(
                get(&db, "bob", "theme").await.unwrap().as_deref(),
                Some("light")
            );
        })
        .await;
        // A new request reads afresh.
        per_request(async {
            assert_eq!(get(&db, "ann", "theme").await.unwrap(), None);
            assert_eq!(
                get(&db, "ann", "label.colour.work")
                    .await
                    .unwrap()
                    .as_deref(),
                Some("x")
            );
        })
        .await;
    }
}
