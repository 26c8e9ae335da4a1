//! Extractors: the current user, built from the typed session and the key cookie.

use axum::{extract::FromRequestParts, http::request::Parts};
use axum_extra::extract::CookieJar;
use tower_sessions::Session;

use crate::{app::AppState, error::AppError, imap::Account, web::session::AuthSession};

/// The logged-in user. Rejects with [`AppError::LoginRequired`] (a redirect to the login
/// page that comes back here) when there is no valid login.
pub struct CurrentUser(pub Account);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(HandedOn(account)) = parts.extensions.get::<HandedOn>() {
            return Ok(CurrentUser(account.clone()));
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, m)| AppError::Internal(anyhow::anyhow!("session layer: {m}")))?;
        let jar = CookieJar::from_headers(&parts.headers);
        let key = jar.get(&state.cookies.key).map(|c| c.value().to_owned());
        let auth = AuthSession(session);
        let account = auth
            .account(
                key.as_deref(),
                state.config.session_absolute_lifetime,
                &state.directory,
            )
            .await?
            .ok_or(AppError::LoginRequired)?;
        // Turning two-factor login on ends the user's other logins (every instance sees
        // the switch in the database): a stolen session does not survive it.
        let since = auth.since().await?.unwrap_or(0);
        if crate::store::totp::enabled_since(&state.db, &account.username)
            .await?
            .is_some_and(|at| since < at)
        {
            return Err(AppError::LoginRequired);
        }
        Ok(CurrentUser(account))
    }
}

/// A login a middleware already read from the session (see [`hand_on`]).
#[derive(Clone)]
struct HandedOn(Account);

/// Lets the handler's [`CurrentUser`] reuse the login a middleware just read, instead of
/// reading and unsealing the session a second time.
pub fn hand_on(parts: &mut Parts, account: Account) {
    parts.extensions.insert(HandedOn(account));
}
