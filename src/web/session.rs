//! The typed session: the only file that knows the session's string keys.
//!
//! The IMAP password must survive between requests (we log in to IMAP on the user's
//! behalf) but a copy of the database must not reveal it. So it is sealed with
//! ChaCha20-Poly1305 under a random per-login key that lives only in the browser, in an
//! HttpOnly cookie; the database holds only the ciphertext.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{config::Secret, error::AppError, imap::Account};

const LOGIN: &str = "login";

/// What the session remembers about a login.
#[derive(Clone, Serialize, Deserialize)]
struct LoginRecord {
    /// Random per login; keys the IMAP connection pool (the session id rotates, this does not).
    login_id: String,
    username: String,
    /// nonce(12) || ciphertext, base64.
    sealed_password: String,
    /// Unix seconds, for the absolute session lifetime.
    created_at: i64,
    /// The CSRF nonce of this login (`web::tokens`): forms are checked against it, not
    /// against whatever the CSRF cookie says. Empty in sessions from before it existed.
    #[serde(default)]
    csrf_nonce: String,
}

pub use crate::ids::random_token;

/// Seals `password` under a fresh key; returns (key for the cookie, sealed value for the session).
fn seal(password: &str) -> Result<(String, String), AppError> {
    let key = ChaCha20Poly1305::generate_key(&mut OsRng);
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = ChaCha20Poly1305::new(&key)
        .encrypt(&nonce, password.as_bytes())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("sealing failed")))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ct);
    Ok((B64.encode(key), B64.encode(sealed)))
}

/// Opens a sealed password; `None` when the cookie key is missing, wrong or tampered with.
fn unseal(key_b64: &str, sealed_b64: &str) -> Option<Secret> {
    let key = B64.decode(key_b64).ok()?;
    let sealed = B64.decode(sealed_b64).ok()?;
    if key.len() != 32 || sealed.len() < 12 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(12);
    let cipher = ChaCha20Poly1305::new_from_slice(&key).ok()?;
    let plain = cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
    String::from_utf8(plain).ok().map(Secret::new)
}

/// Typed access to the login stored in a tower-sessions [`Session`].
pub struct AuthSession(pub Session);

impl AuthSession {
    /// Records a successful login. Rotates the session id first (no fixation). Returns the
    /// key the caller must put in the key cookie.
    pub async fn start(&self, account: &Account) -> Result<String, AppError> {
        self.0.cycle_id().await?;
        let (key, sealed_password) = seal(account.password.expose())?;
        let record = LoginRecord {
            login_id: account.login_id.clone(),
            username: account.username.clone(),
            sealed_password,
            created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            csrf_nonce: random_token(32),
        };
        self.0.insert(LOGIN, record).await?;
        Ok(key)
    }

    /// The logged-in account, if the session has one, the cookie key opens it and the
    /// absolute lifetime has not passed.
    pub async fn account(
        &self,
        key: Option<&str>,
        max_age: std::time::Duration,
    ) -> Result<Option<Account>, AppError> {
        let Some(rec) = self.0.get::<LoginRecord>(LOGIN).await? else {
            return Ok(None);
        };
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - rec.created_at;
        if age < 0 || age as u64 > max_age.as_secs() {
            return Ok(None);
        }
        let Some(password) = key.and_then(|k| unseal(k, &rec.sealed_password)) else {
            return Ok(None);
        };
        Ok(Some(Account {
            login_id: rec.login_id,
            username: rec.username,
            password,
        }))
    }

    /// The CSRF nonce of the login, if the session holds one (read on every request by
    /// `web::layout::page_context`, without unsealing anything).
    pub async fn csrf_nonce(&self) -> Result<Option<String>, AppError> {
        Ok(self
            .0
            .get::<LoginRecord>(LOGIN)
            .await?
            .map(|r| r.csrf_nonce)
            .filter(|n| !n.is_empty()))
    }

    /// The logged-in user's name without unsealing anything (for per-user page settings
    /// such as the theme, read by `web::layout::page_context`; never for authorization).
    pub async fn username(&self) -> Result<Option<String>, AppError> {
        Ok(self.0.get::<LoginRecord>(LOGIN).await?.map(|r| r.username))
    }

    /// The login id without unsealing anything (for logout).
    pub async fn login_id(&self) -> Result<Option<String>, AppError> {
        Ok(self.0.get::<LoginRecord>(LOGIN).await?.map(|r| r.login_id))
    }

    /// Deletes the session from the store and the browser.
    pub async fn end(&self) -> Result<(), AppError> {
        self.0.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_roundtrip_and_tamper() {
        let (key, sealed) = seal("correct horse ☃").unwrap();
        assert_eq!(unseal(&key, &sealed).unwrap().expose(), "correct horse ☃");
        assert!(!sealed.contains("horse"));
        let (other_key, _) = seal("x").unwrap();
        assert!(unseal(&other_key, &sealed).is_none());
        let mut bad = B64.decode(&sealed).unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(unseal(&key, &B64.encode(bad)).is_none());
        assert!(unseal("not base64!", &sealed).is_none());
    }
}
