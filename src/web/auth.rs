//! Login and logout. Logging in is an IMAP LOGIN with the user's own credentials; the
//! password is then sealed in the session (see [`crate::web::session`]).
//!
//! Every login attempt goes through the throttle first ([`crate::store::throttle`]): after
//! too many failures from one client address or for one username, the form answers
//! "Too many attempts, try again in N minutes" (status 429) without asking the mail server,
//! the same way whether or not the account exists.
//!
//! A user with two-factor login on gets no session from the password alone: the login
//! waits for its code in `web::twofactor`, which then finishes it here ([`finish`]).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::AppState,
    config::Secret,
    directory::Route,
    error::AppError,
    i18n::Lang,
    imap::{Account, ImapError},
    store::{self, throttle},
    web::{
        layout::{CsrfForm, Layout, PageCtx},
        resume,
        session::AuthSession,
        throttle::{ClientIp, refused_message},
        tokens::DEVICE_LIFETIME_SECS,
        twofactor,
    },
};

/// Longest username and password accepted; longer input is refused before any IMAP traffic.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

#[derive(Template, WebTemplate)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    l: Layout,
    username: String,
    next: String,
    error: Option<String>,
    langs: Vec<(&'static str, &'static str, bool)>,
}

impl LoginPage {
    fn new(ctx: &PageCtx, username: String, next: String, error: Option<&'static str>) -> Self {
        Self::with_message(ctx, username, next, error.map(|k| ctx.tr.t(k).to_owned()))
    }

    /// The form with an already translated message (one with a number in it).
    fn with_message(ctx: &PageCtx, username: String, next: String, error: Option<String>) -> Self {
        LoginPage {
            l: Layout::bare(ctx, ctx.tr.t("login.title")),
            username,
            next,
            error,
            langs: Lang::ALL
                .iter()
                .map(|l| (l.tag(), l.native_name(), *l == ctx.tr.lang()))
                .collect(),
        }
    }
}

/// The login form again with a message, e.g. when a pending two-factor login expired.
pub fn login_again(ctx: &PageCtx, username: String, next: String, error: &'static str) -> Response {
    LoginPage::new(ctx, username, next, Some(error)).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

/// `GET /login`: the form. `?lang=` switches the language (kept in a cookie) and comes back.
pub async fn login_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = q.next.as_deref().and_then(safe_next).unwrap_or_default();
    if let Some(lang) = q.lang.as_deref().and_then(Lang::from_tag) {
        let jar = jar.add(
            state
                .cookies
                .build(state.cookies.lang.clone(), lang.tag().to_owned()),
        );
        let back = if next.is_empty() {
            "/login".to_owned()
        } else {
            format!("/login?next={}", crate::web::encode_segment(&next))
        };
        return (jar, Redirect::to(&back)).into_response();
    }
    LoginPage::new(&ctx, String::new(), next, None).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
    /// The browser's IANA time zone, filled in by the login page's script (`crate::zone`).
    #[serde(default)]
    timezone: String,
}

/// `POST /login`: IMAP LOGIN; on success a fresh session and a redirect to `next` or the inbox.
pub async fn login(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(client): ClientIp,
    session: Session,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let next = form.next.as_deref().and_then(safe_next).unwrap_or_default();
    let username = form.username.trim().to_owned();
    let again =
        |error| LoginPage::new(&ctx, username.clone(), next.clone(), Some(error)).into_response();

    if username.is_empty() || form.password.is_empty() {
        return Ok(again("login.missing"));
    }
    // Counted before the mail server is asked; refused outright while locked. A browser
    // this user logged in from before is not held by the account's lock.
    let now = store::now();
    let c = &state.cookies;
    let device_cookie = jar.get(&c.device).map(|d| d.value().to_owned());
    let known_device = device_cookie
        .as_deref()
        .and_then(|d| state.keys.known_device(d, &username, now));
    let ticket = match throttle::begin(
        &state.db,
        client,
        &username,
        known_device,
        state.config.login_backoff_base,
        now,
    )
    .await?
    {
        throttle::Attempt::Allowed(ticket) => ticket,
        throttle::Attempt::Refused { retry_after } => {
            tracing::info!(client = %client, "login throttled");
            crate::metrics::login("throttled");
            let message = refused_message(ctx.tr, retry_after);
            let page = LoginPage::with_message(&ctx, username.clone(), next.clone(), Some(message));
            let mut res = page.into_response();
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
    };
    if username.len() > MAX_USERNAME || form.password.len() > MAX_PASSWORD {
        // Same answer as a wrong password (and counted as one): length says nothing about
        // an account.
        throttle::failed(&state.db, ticket).await?;
        crate::metrics::login("failed");
        return Ok(again("login.failed"));
    }
    let route = state.directory.route(&username).await;
    let Some(server) = state.directory.server(&route) else {
        throttle::abandoned(&state.db, ticket).await?;
        return Ok(again("error.unreachable.title"));
    };
    let servers = server
        .as_deref()
        .and_then(|s| serde_json::to_string(s).ok())
        .unwrap_or_default();
    let account = Account {
        login_id: state.keys.pool_key(&servers, &username, &form.password),
        username: username.clone(),
        password: Secret::new(form.password),
        server,
    };
    let auth = AuthSession(session);
    match state.imap.login(&account).await {
        Ok(()) if twofactor::needed(&state, &jar, &username).await? => {
            // The password alone finishes nothing: the attempt is neither a failure nor a
            // success (which would clear the count the code guesses add to).
            throttle::abandoned(&state.db, ticket).await?;
            crate::metrics::login("code");
            state.imap.logout(&account.login_id).await;
            return twofactor::ask_for_code(&state, &auth, jar, &account, &route, &next).await;
        }
        Ok(()) => {
            throttle::succeeded(&state.db, ticket).await?;
            crate::metrics::login("ok");
            // Only now that the password is known right: the zone the browser reported.
            crate::zone::remember_browser_zone(&state.db, &username, &form.timezone).await;
        }
        Err(ImapError::AuthFailed) => {
            tracing::info!(username = %username, client = %client, "login failed");
            crate::metrics::login("failed");
            throttle::failed(&state.db, ticket).await?;
            return Ok(again("login.failed"));
        }
        Err(ImapError::Unreachable(e)) => {
            tracing::warn!(error = %e, "login: mail server unreachable");
            throttle::abandoned(&state.db, ticket).await?;
            return Ok(again("error.unreachable.title"));
        }
        Err(ImapError::Busy) => {
            throttle::abandoned(&state.db, ticket).await?;
            return Ok(again("error.busy.text"));
        }
        Err(e) => {
            throttle::abandoned(&state.db, ticket).await?;
            return Err(e.into());
        }
    }
    finish(&state, &auth, jar, &account, route, next).await
}

/// Makes a checked login a session: seals the password, sets the key, CSRF, resume and
/// known-device cookies, and redirects to `next` or the inbox. Called by [`login`] and,
/// after the second factor, by `twofactor::submit_code`.
pub async fn finish(
    state: &AppState,
    auth: &AuthSession,
    jar: CookieJar,
    account: &Account,
    route: Route,
    next: String,
) -> Result<Response, AppError> {
    let username = &account.username;
    let now = store::now();
    let c = &state.cookies;
    let device_cookie = jar.get(&c.device).map(|d| d.value().to_owned());
    let key = auth.start(account, route).await?;
    tracing::info!(username = %username, "login");
    let marker = resume::issue(state, &jar, username);
    // A new login gets a new CSRF nonce, kept in the session (the cookie only mirrors it).
    let nonce = auth.csrf_nonce().await?.unwrap_or_default();
    let mut device = c.build(
        c.device.clone(),
        state
            .keys
            .remember_device(device_cookie.as_deref(), username, now),
    );
    device.set_max_age(time::Duration::seconds(DEVICE_LIFETIME_SECS));
    let jar = jar
        .add(marker)
        .add(c.build(c.key.clone(), key))
        .add(c.build(c.csrf.clone(), nonce))
        .add(device);
    let target = if next.is_empty() {
        "/mail/INBOX".to_owned()
    } else {
        next
    };
    Ok((jar, Redirect::to(&target)).into_response())
}

/// `POST /logout`: closes the IMAP connections and deletes the session everywhere.
pub async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    session: Session,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let auth = AuthSession(session);
    if let Some(id) = auth.login_id().await? {
        state.imap.logout(&id).await;
    }
    auth.end().await?;
    let jar = jar
        .add(state.cookies.removal(state.cookies.key.clone()))
        .add(resume::removal(&state));
    Ok((jar, Redirect::to("/login")).into_response())
}

/// Accepts only a local absolute path, so `next` cannot send the user to another site:
/// no scheme, no `//host`, no backslash (browsers treat `/\host` as `//host`), no controls.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/login");
    ok.then(|| next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next("/mail/INBOX/3").as_deref(), Some("/mail/INBOX/3"));
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "https://evil.test",
            "evil",
            "/x\r\nSet-Cookie: a",
            "",
            "/login",
        ] {
            assert!(safe_next(bad).is_none(), "{bad:?} accepted");
        }
    }
}
