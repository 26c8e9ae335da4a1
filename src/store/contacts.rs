//! The address book: contacts the user entered and addresses collected from sent mail.

use super::{Db, new_id, now, with_pool};
use crate::model::Address;

/// One contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Added automatically from a sent message.
    pub collected: bool,
}

/// Records the recipients of a sent message: new addresses are added, known ones counted
/// (and given a name if they had none).
pub async fn collect(db: &Db, username: &str, recipients: &[Address]) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        for a in recipients {
            let email = a.email.trim().to_lowercase();
            if email.is_empty() {
                continue;
            }
            let name = a.name.clone().unwrap_or_default();
            sqlx::query(
                "INSERT INTO contacts (id, username, email, name, collected, uses, updated_at) \
                 VALUES ($1, $2, $3, $4, TRUE, 1, $5) \
                 ON CONFLICT (username, email) DO UPDATE SET uses = contacts.uses + 1, \
                 name = CASE WHEN contacts.name = '' THEN excluded.name ELSE contacts.name END, \
                 updated_at = excluded.updated_at",
            )
            .bind(new_id())
            .bind(username)
            .bind(&email)
            .bind(&name)
            .bind(now())
            .execute(pool)
            .await?;
        }
        Ok(())
    })
}

/// Contacts whose name or address contains `q` (case-insensitive): those where it starts
/// the address, the name or a word of the name first, then by use.
pub async fn suggest(db: &Db, username: &str, q: &str, limit: i64) -> sqlx::Result<Vec<Contact>> {
    with_pool!(db, pool => {
        let escaped = escape_like(&q.to_lowercase());
        let rows = sqlx::query_as::<_, Contact>(
            "SELECT id, name, email, collected FROM contacts WHERE username = $1 \
             AND (LOWER(email) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
             ORDER BY CASE WHEN LOWER(email) LIKE $3 ESCAPE '\\' OR LOWER(name) LIKE $3 ESCAPE '\\' \
             OR LOWER(name) LIKE $4 ESCAPE '\\' THEN 0 ELSE 1 END, uses DESC, email ASC LIMIT $5",
        )
        .bind(username)
        .bind(format!("%{escaped}%"))
        .bind(format!("{escaped}%"))
        .bind(format!("% {escaped}%"))
        .bind(limit)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// The contacts a form offers before the user types anything: most used first.
pub async fn top(db: &Db, username: &str, limit: i64) -> sqlx::Result<Vec<Contact>> {
    with_pool!(db, pool => {
        let rows = sqlx::query_as::<_, Contact>(
            "SELECT id, name, email, collected FROM contacts WHERE username = $1 \
             ORDER BY uses DESC, LOWER(CASE WHEN name = '' THEN email ELSE name END), email LIMIT $2",
        )
        .bind(username)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// One contact of the user's, by id.
pub async fn get(db: &Db, username: &str, id: &str) -> sqlx::Result<Option<Contact>> {
    with_pool!(db, pool => {
        let row = sqlx::query_as::<_, Contact>(
            "SELECT id, name, email, collected FROM contacts WHERE id = $1 AND username = $2",
        )
        .bind(id)
        .bind(username)
        .fetch_optional(pool)
        .await?;
        Ok(row)
    })
}

/// The user's contact with this address (compared in lower case, as stored), if any.
pub async fn find_by_email(db: &Db, username: &str, email: &str) -> sqlx::Result<Option<Contact>> {
    with_pool!(db, pool => {
        let row = sqlx::query_as::<_, Contact>(
            "SELECT id, name, email, collected FROM contacts WHERE username = $1 AND email = $2",
        )
        .bind(username)
        .bind(email.trim().to_lowercase())
        .fetch_optional(pool)
        .await?;
        Ok(row)
    })
}

/// How many contacts the user has (the address book is capped).
pub async fn count(db: &Db, username: &str) -> sqlx::Result<i64> {
    with_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE username = $1")
            .bind(username)
            .fetch_one(pool)
            .await
    })
}

/// Adds imported (name, address) pairs in one transaction, up to `max_total` contacts in
/// all. A known address keeps its name unless the import brings one. Returns how many
/// pairs were added or updated; the rest did not fit.
pub async fn import(
    db: &Db,
    username: &str,
    entries: &[(String, String)],
    max_total: i64,
) -> sqlx::Result<usize> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE username = $1")
            .bind(username)
            .fetch_one(&mut *tx)
            .await?;
        let mut done = 0;
        for (name, email) in entries {
            let email = email.trim().to_lowercase();
            let exists: Option<String> =
                sqlx::query_scalar("SELECT id FROM contacts WHERE username = $1 AND email = $2")
                    .bind(username)
                    .bind(&email)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_none() {
                if total >= max_total {
                    continue;
                }
                total += 1;
            }
            sqlx::query(
                "INSERT INTO contacts (id, username, email, name, collected, uses, updated_at) \
                 VALUES ($1, $2, $3, $4, FALSE, 0, $5) \
                 ON CONFLICT (username, email) DO UPDATE SET \
                 name = CASE WHEN excluded.name = '' THEN contacts.name ELSE excluded.name END, \
                 collected = FALSE, updated_at = excluded.updated_at",
            )
            .bind(new_id())
            .bind(username)
            .bind(&email)
            .bind(name.trim())
            .bind(now())
            .execute(&mut *tx)
            .await?;
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    })
}

/// All of the user's contacts, by name then address.
pub async fn list(db: &Db, username: &str) -> sqlx::Result<Vec<Contact>> {
    with_pool!(db, pool => {
        let rows = sqlx::query_as::<_, Contact>(
            "SELECT id, name, email, collected FROM contacts WHERE username = $1 \
             ORDER BY LOWER(CASE WHEN name = '' THEN email ELSE name END), email",
        )
        .bind(username)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// Adds a contact by hand, or updates the name of an existing address.
pub async fn upsert(db: &Db, username: &str, name: &str, email: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO contacts (id, username, email, name, collected, uses, updated_at) \
             VALUES ($1, $2, $3, $4, FALSE, 0, $5) \
             ON CONFLICT (username, email) DO UPDATE SET name = excluded.name, collected = FALSE, \
             updated_at = excluded.updated_at",
        )
        .bind(new_id())
        .bind(username)
        .bind(email.trim().to_lowercase())
        .bind(name.trim())
        .bind(now())
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// Changes a contact's name and address.
pub async fn update(
    db: &Db,
    username: &str,
    id: &str,
    name: &str,
    email: &str,
) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query("UPDATE contacts SET name = $1, email = $2, collected = FALSE, updated_at = $3 WHERE id = $4 AND username = $5")
            .bind(name.trim())
            .bind(email.trim().to_lowercase())
            .bind(now())
            .bind(id)
            .bind(username)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// Deletes a contact.
pub async fn delete(db: &Db, username: &str, id: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM contacts WHERE id = $1 AND username = $2")
            .bind(id)
            .bind(username)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// `%` and `_` typed by the user are literal characters, not wildcards.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db as db;

    fn pair(name: &str, email: &str) -> (String, String) {
        (name.to_owned(), email.to_owned())
    }

    #[tokio::test]
    async fn import_keeps_names_merges_and_stops_at_the_cap() {
        let (_d, db) = db().await;
        upsert(&db, "u", "Known Name", "known@example.test")
            .await
            .unwrap();
        let entries = [
            pair("", "Known@Example.test"),
            pair("New One", "new1@example.test"),
            pair("New Two", "new2@example.test"),
            pair("New Three", "new3@example.test"),
        ];
        // Room for two more: the known address updates, two new ones fit, one does not.
        let done = import(&db, "u", &entries, 3).await.unwrap();
        assert_eq!(done, 3);
        let all = list(&db, "u").await.unwrap();
        assert_eq!(
            all.iter()
                .map(|c| (c.name.as_str(), c.email.as_str()))
                .collect::<Vec<_>>(),
            [
                ("Known Name", "known@example.test"),
                ("New One", "new1@example.test"),
                ("New Two", "new2@example.test"),
            ]
        );
        assert_eq!(count(&db, "u").await.unwrap(), 3);
        assert_eq!(count(&db, "other").await.unwrap(), 0);
        let found = find_by_email(&db, "u", " NEW1@example.test ")
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.name).as_deref(), Some("New One"));
        assert!(get(&db, "other", &all[0].id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn suggestions_rank_prefixes_first_and_top_ranks_by_use() {
        let (_d, db) = db().await;
        for (name, email) in [
            ("Zed", "zed@dan.example"),
            ("Dana", "dana@example.test"),
            ("Lee Daniels", "lee@example.test"),
        ] {
            upsert(&db, "u", name, email).await.unwrap();
        }
        collect(
            &db,
            "u",
            &[crate::model::Address {
                name: None,
                email: "zed@dan.example".into(),
            }],
        )
        .await
        .unwrap();
        let s = suggest(&db, "u", "DAN", 10).await.unwrap();
        assert_eq!(
            s.iter().map(|c| c.email.as_str()).collect::<Vec<_>>(),
            ["dana@example.test", "lee@example.test", "zed@dan.example"]
        );
        let t = top(&db, "u", 2).await.unwrap();
        assert_eq!(
            t.iter().map(|c| c.email.as_str()).collect::<Vec<_>>(),
            ["zed@dan.example", "dana@example.test"]
        );
    }
}
