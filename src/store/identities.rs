//! Identities: the From addresses a user may send as, each with a display name and a
//! signature. A user with no saved identity gets one derived from the login name.

use sqlx::Row;

use super::{Db, new_id, now, with_pool};

/// One From identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Empty for the derived identity that is not stored yet.
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub signature: String,
    pub is_default: bool,
}

impl Identity {
    /// The identity a user has before saving any: the login name as address.
    pub fn derived(username: &str) -> Identity {
        Identity {
            id: String::new(),
            email: username.to_owned(),
            display_name: String::new(),
            signature: String::new(),
            is_default: true,
        }
    }
}

/// The user's identities, default first; never empty: with none stored, the one derived
/// from `address`, the user's own address (`Directory::address_of`).
pub async fn list(db: &Db, username: &str, address: &str) -> sqlx::Result<Vec<Identity>> {
    with_pool!(db, pool => {
        let rows = sqlx::query(
            "SELECT id, email, display_name, signature, is_default FROM identities \
             WHERE username = $1 ORDER BY is_default DESC, created_at ASC",
        )
        .bind(username)
        .fetch_all(pool)
        .await?;
        let mut out: Vec<Identity> = rows
            .into_iter()
            .map(|r| Identity {
                id: r.get("id"),
                email: r.get("email"),
                display_name: r.get("display_name"),
                signature: r.get("signature"),
                is_default: r.get("is_default"),
            })
            .collect();
        if out.is_empty() {
            out.push(Identity::derived(address));
        }
        Ok(out)
    })
}

/// The identity used when the user does not choose one.
pub async fn default_for(db: &Db, username: &str, address: &str) -> sqlx::Result<Identity> {
    let mut all = list(db, username, address).await?;
    Ok(all.swap_remove(0))
}

/// Creates (empty `id`) or updates an identity. Making one the default clears the others.
pub async fn save(db: &Db, username: &str, identity: &Identity) -> sqlx::Result<String> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        if identity.is_default {
            sqlx::query("UPDATE identities SET is_default = FALSE WHERE username = $1")
                .bind(username)
                .execute(&mut *tx)
                .await?;
        }
        let id = if identity.id.is_empty() {
            let id = new_id();
            sqlx::query(
                "INSERT INTO identities (id, username, email, display_name, signature, is_default, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(username)
            .bind(&identity.email)
            .bind(&identity.display_name)
            .bind(&identity.signature)
            .bind(identity.is_default)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            id
        } else {
            sqlx::query(
                "UPDATE identities SET email = $1, display_name = $2, signature = $3, is_default = $4 \
                 WHERE id = $5 AND username = $6",
            )
            .bind(&identity.email)
            .bind(&identity.display_name)
            .bind(&identity.signature)
            .bind(identity.is_default)
            .bind(&identity.id)
            .bind(username)
            .execute(&mut *tx)
            .await?;
            identity.id.clone()
        };
        tx.commit().await?;
        Ok(id)
    })
}

/// Deletes one of the user's identities.
pub async fn delete(db: &Db, username: &str, id: &str) -> sqlx::Result<()> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM identities WHERE id = $1 AND username = $2")
            .bind(id)
            .bind(username)
            .execute(pool)
            .await?;
        Ok(())
    })
}
