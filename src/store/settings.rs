//! Per-user preferences kept by Mailroom itself (`user_settings`: one row per user and
//! name). The mail server knows nothing of them: the time zone, label colours, the theme,
//! the undo-send window… Each feature owns its names and validates its values; this file
//! only stores strings, bounded in size so a user cannot fill the database.

use super::{Db, now, with_pool};

/// Longest value kept; settings are short (a time zone, a colour, a small JSON map).
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// The value of `name` for `username`, if the user ever saved one.
pub async fn get(db: &Db, username: &str, name: &str) -> Result<Option<String>, sqlx::Error> {
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
    })
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
    })
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
}
