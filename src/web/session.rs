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

use crate::{
    config::Secret,
    directory::{Directory, Route},
    error::AppError,
    imap::Account,
};

const LOGIN: &str = "login";
const PENDING: &str = "login_pending";
const NEW_RECOVERY_CODES: &str = "totp_new_recovery_codes";
/// When the session was last written, in Unix milliseconds (see [`keep_alive`]).
const WRITTEN_AT: &str = "written_at";

/// Pushes a session's idle expiry back without writing it on every request: a session in
/// use is written again once a tenth of the idle timeout (at most a minute) has passed
/// since its last write, so it still ends within that tenth of the configured idle time
/// after the last request, and a busy page costs no database write. Sessions without
/// data (anonymous visitors) are left alone: touching one would create it.
pub async fn keep_alive(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(session) = req.extensions().get::<Session>().cloned() {
        let step = (state.config.session_idle_timeout / 10).min(std::time::Duration::from_secs(60));
        let now = time::OffsetDateTime::now_utc();
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        let written = session.get::<i64>(WRITTEN_AT).await.ok().flatten();
        let due = written.is_none_or(|w| now_ms.saturating_sub(w) >= step.as_millis() as i64);
        if due && !session.is_empty().await {
            // Marks the session modified, so the session layer writes it with a new expiry.
            let _ = session.insert(WRITTEN_AT, now_ms).await;
        }
    }
    next.run(req).await
}

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
    /// Which servers this login uses, chosen once at login (`crate::directory`).
    #[serde(default)]
    route: Route,
    /// Unix seconds when this browser last proved itself beyond the password (turning
    /// two-factor login on): logins older than that switch end, this one goes on.
    #[serde(default)]
    confirmed_at: i64,
}

/// A login whose password was right but whose second factor (`web::twofactor`) is still
/// to come. It opens nothing: [`AuthSession::account`] reads only [`LoginRecord`]. The
/// password is sealed as in a full login, the session row expires with it, and the key
/// cookie that opens it is set to expire at the same time.
#[derive(Clone, Serialize, Deserialize)]
struct PendingRecord {
    login_id: String,
    username: String,
    sealed_password: String,
    /// Unix seconds when the password was checked.
    created_at: i64,
    /// Where to go once logged in (already checked local by `auth::safe_next`).
    next: String,
    /// The servers chosen at the password step (`crate::directory`).
    #[serde(default)]
    route: Route,
}

/// What a page may know about a pending login without unsealing it.
pub struct Pending {
    pub username: String,
    pub next: String,
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
    pub async fn start(&self, account: &Account, route: Route) -> Result<String, AppError> {
        self.0.cycle_id().await?;
        let (key, sealed_password) = seal(account.password.expose())?;
        let record = LoginRecord {
            login_id: account.login_id.clone(),
            username: account.username.clone(),
            sealed_password,
            created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            csrf_nonce: random_token(32),
            route,
            confirmed_at: 0,
        };
        self.0.insert(LOGIN, record).await?;
        Ok(key)
    }

    /// Unix seconds since when this login counts as confirmed: its start, or the moment it
    /// turned two-factor login on ([`AuthSession::reconfirm`]).
    pub async fn since(&self) -> Result<Option<i64>, AppError> {
        Ok(self
            .0
            .get::<LoginRecord>(LOGIN)
            .await?
            .map(|r| r.created_at.max(r.confirmed_at)))
    }

    /// Marks this login as confirmed now (with a fresh session id): it outlives the
    /// switch that ends every other login of the user.
    pub async fn reconfirm(&self, now: i64) -> Result<(), AppError> {
        let Some(mut rec) = self.0.get::<LoginRecord>(LOGIN).await? else {
            return Ok(());
        };
        rec.confirmed_at = now;
        self.0.cycle_id().await?;
        self.0.insert(LOGIN, rec).await?;
        Ok(())
    }

    /// The logged-in account, if the session has one, the cookie key opens it, the
    /// absolute lifetime has not passed and its servers are still in `directory`.
    pub async fn account(
        &self,
        key: Option<&str>,
        max_age: std::time::Duration,
        directory: &Directory,
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
        let Some(server) = directory.server(&rec.route) else {
            return Ok(None);
        };
        Ok(Some(Account {
            login_id: rec.login_id,
            username: rec.username,
            password,
            server,
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

    /// Records a login that still needs its second factor, valid for `lifetime`. Rotates
    /// the session id and returns the key for the key cookie, as [`AuthSession::start`].
    pub async fn start_pending(
        &self,
        account: &Account,
        route: &Route,
        next: &str,
        lifetime: std::time::Duration,
    ) -> Result<String, AppError> {
        self.0.cycle_id().await?;
        let (key, sealed_password) = seal(account.password.expose())?;
        let now = time::OffsetDateTime::now_utc();
        let record = PendingRecord {
            login_id: account.login_id.clone(),
            username: account.username.clone(),
            sealed_password,
            created_at: now.unix_timestamp(),
            next: next.to_owned(),
            route: route.clone(),
        };
        self.0.remove_value(LOGIN).await?;
        self.0.insert(PENDING, record).await?;
        // The whole session (and the sealed password in it) ends with the pending login.
        let until = now + time::Duration::try_from(lifetime).unwrap_or(time::Duration::MINUTE);
        self.0
            .set_expiry(Some(tower_sessions::Expiry::AtDateTime(until)));
        Ok(key)
    }

    async fn pending_record(
        &self,
        lifetime: std::time::Duration,
    ) -> Result<Option<PendingRecord>, AppError> {
        let Some(rec) = self.0.get::<PendingRecord>(PENDING).await? else {
            return Ok(None);
        };
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - rec.created_at;
        if age < 0 || age as u64 >= lifetime.as_secs() {
            self.0.remove_value(PENDING).await?;
            return Ok(None);
        }
        Ok(Some(rec))
    }

    /// The pending login, if there is one younger than `lifetime` (an older one is dropped).
    pub async fn pending(
        &self,
        lifetime: std::time::Duration,
    ) -> Result<Option<Pending>, AppError> {
        Ok(self.pending_record(lifetime).await?.map(|r| Pending {
            username: r.username,
            next: r.next,
        }))
    }

    /// The pending login's account, servers' route and `next`, when the cookie key opens
    /// it and the route still exists in `directory`.
    pub async fn pending_account(
        &self,
        key: Option<&str>,
        lifetime: std::time::Duration,
        directory: &Directory,
    ) -> Result<Option<(Account, Route, String)>, AppError> {
        let Some(rec) = self.pending_record(lifetime).await? else {
            return Ok(None);
        };
        let Some(password) = key.and_then(|k| unseal(k, &rec.sealed_password)) else {
            return Ok(None);
        };
        let Some(server) = directory.server(&rec.route) else {
            return Ok(None);
        };
        let account = Account {
            login_id: rec.login_id,
            username: rec.username,
            password,
            server,
        };
        Ok(Some((account, rec.route, rec.next)))
    }

    /// Keeps freshly issued recovery codes until the settings page has shown them once.
    pub async fn put_recovery_codes(&self, codes: &[String]) -> Result<(), AppError> {
        self.0.insert(NEW_RECOVERY_CODES, codes).await?;
        Ok(())
    }

    /// The recovery codes to show, removed as they are read (they are shown only once).
    pub async fn take_recovery_codes(&self) -> Result<Vec<String>, AppError> {
        Ok(self
            .0
            .remove::<Vec<String>>(NEW_RECOVERY_CODES)
            .await?
            .unwrap_or_default())
    }

    /// Forgets the pending login; a session that becomes a full login gets the usual idle
    /// expiry back (`idle`).
    pub async fn end_pending(&self, idle: Option<std::time::Duration>) -> Result<(), AppError> {
        self.0.remove_value(PENDING).await?;
        if let Some(idle) = idle {
            let idle = time::Duration::try_from(idle).unwrap_or(time::Duration::hours(8));
            self.0
                .set_expiry(Some(tower_sessions::Expiry::OnInactivity(idle)));
        }
        Ok(())
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
