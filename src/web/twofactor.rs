//! Two-factor login (issue 14): the code step of the login, and the settings page that
//! turns it on and off. The TOTP maths is in [`crate::totp`], the rows in
//! [`crate::store::totp`], sealing and hashing in [`crate::web::tokens`].
//!
//! **Login.** When the password is right and the user has two-factor login on,
//! `auth::login` keeps a *pending* login in the session (the password sealed as usual,
//! for [`Config::login_code_lifetime`](crate::config::Config), five minutes) and sends
//! the browser to `GET /login/code`. Only a right code, or an unused recovery code (which
//! is then spent), turns it into a session; wrong codes are counted by the login throttle
//! exactly like wrong passwords, and a code is taken once (the last used step is kept).
//! Ticking "remember this browser" stores the hash of a random token whose cookie lets
//! this browser skip the code for 30 days; turning two-factor login off or on again
//! forgets every remembered browser.
//!
//! **Settings.** `GET /settings/2fa` shows the state; `POST …/start` makes a secret and
//! the page shows its QR code and text; `POST …/enable` confirms it with a code and the
//! page then shows the ten recovery codes once; `POST …/disable` needs a code or a
//! recovery code (cancelling an unfinished setup needs none). Wrong codes there count in
//! the throttle too, so a stolen session cannot guess its way to turning it off.

use std::net::IpAddr;

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
    directory::Route,
    error::AppError,
    imap::Account,
    store::{self, throttle},
    totp,
    web::{
        auth,
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        session::{AuthSession, random_token},
        settings::sidebar_folders,
        throttle::{ClientIp, refused_message},
    },
};

/// How long a ticked "remember this browser" lasts.
pub const REMEMBER_SECS: i64 = 30 * 24 * 3600;
/// Remember tokens one browser's cookie keeps (people sharing a computer each get one).
const MAX_REMEMBERED: usize = 4;
/// Longest code or recovery code looked at; anything longer is simply wrong.
const MAX_CODE_LEN: usize = 64;

/// The remember tokens in this browser's cookie that look like ours.
fn remember_tokens<'j>(state: &AppState, jar: &'j CookieJar) -> Vec<&'j str> {
    jar.get(&state.cookies.remember)
        .map(|c| c.value())
        .unwrap_or("")
        .split('.')
        .filter(|t| {
            t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .take(MAX_REMEMBERED)
        .collect()
}

/// Whether a login of `username` with a right password still needs a code: two-factor
/// login is on and this browser is not remembered for them.
pub async fn needed(state: &AppState, jar: &CookieJar, username: &str) -> Result<bool, AppError> {
    match store::totp::get(&state.db, username).await? {
        Some(t) if t.enabled() => {}
        _ => return Ok(false),
    }
    let now = store::now();
    for token in remember_tokens(state, jar) {
        let hash = state.keys.totp_hash("remember", username, token);
        if store::totp::is_remembered(&state.db, username, &hash, now).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// After a right password: keeps the login pending and sends the browser to the code page.
pub async fn ask_for_code(
    state: &AppState,
    auth: &AuthSession,
    jar: CookieJar,
    account: &Account,
    route: &Route,
    next: &str,
) -> Result<Response, AppError> {
    let lifetime = state.config.login_code_lifetime;
    let key = auth.start_pending(account, route, next, lifetime).await?;
    let c = &state.cookies;
    let mut cookie = c.build(c.key.clone(), key);
    // The key that opens the sealed password goes when the pending login does.
    cookie.set_max_age(time::Duration::try_from(lifetime).ok());
    tracing::info!(username = %account.username, "login waits for its code");
    Ok((jar.add(cookie), Redirect::to("/login/code")).into_response())
}

/// Checks a typed code for `username`: a TOTP code of a step not used before (which is
/// then used), or an unused recovery code (which is then spent).
async fn code_is_right(state: &AppState, username: &str, typed: &str) -> Result<bool, AppError> {
    let typed = typed.trim();
    if typed.is_empty() || typed.len() > MAX_CODE_LEN {
        return Ok(false);
    }
    let Some(row) = store::totp::get(&state.db, username).await? else {
        return Ok(false);
    };
    if !row.enabled() {
        return Ok(false);
    }
    if totp::looks_like_code(typed) {
        let Some(secret) = state.keys.open_totp(username, &row.secret) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a stored TOTP secret does not open (secret key changed?)"
            )));
        };
        return Ok(match totp::matching_step(&secret, typed, store::now()) {
            Some(step) => store::totp::use_step(&state.db, username, step).await?,
            None => false,
        });
    }
    let code = totp::normalize_recovery(typed);
    let hash = state.keys.totp_hash("recovery", username, &code);
    Ok(store::totp::use_recovery(&state.db, username, &hash).await?)
}

/// What the throttle says about one more code from this browser for `username`.
enum Guard {
    Go(throttle::Ticket),
    /// Locked: the message to show, and the seconds for `Retry-After`.
    Locked(String, u64),
}

async fn guard(
    state: &AppState,
    ctx: &PageCtx,
    jar: &CookieJar,
    client: IpAddr,
    username: &str,
) -> Result<Guard, AppError> {
    let now = store::now();
    let device_cookie = jar.get(&state.cookies.device).map(|d| d.value().to_owned());
    let known_device = device_cookie
        .as_deref()
        .and_then(|d| state.keys.known_device(d, username, now));
    Ok(
        match throttle::begin(
            &state.db,
            client,
            username,
            known_device,
            state.config.login_backoff_base,
            now,
        )
        .await?
        {
            throttle::Attempt::Allowed(ticket) => Guard::Go(ticket),
            throttle::Attempt::Refused { retry_after } => {
                tracing::info!(client = %client, "code throttled");
                crate::metrics::login("throttled");
                Guard::Locked(
                    refused_message(ctx.tr, retry_after),
                    retry_after.as_secs().max(1),
                )
            }
        },
    )
}

/// A response with status 429 and `Retry-After`.
fn too_many(mut res: Response, secs: u64) -> Response {
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The code step of the login.
#[derive(Template, WebTemplate)]
#[template(path = "pages/login_code.html")]
pub struct CodePage {
    l: Layout,
    username: String,
    error: Option<String>,
    remember: bool,
}

impl CodePage {
    fn new(ctx: &PageCtx, username: String, error: Option<String>, remember: bool) -> Self {
        CodePage {
            l: Layout::bare(ctx, ctx.tr.t("twofactor.code.title")),
            username,
            error,
            remember,
        }
    }
}

/// `GET /login/code`: the code form, while a pending login is there.
pub async fn code_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    session: Session,
) -> Result<Response, AppError> {
    let auth = AuthSession(session);
    Ok(
        match auth.pending(state.config.login_code_lifetime).await? {
            Some(p) => CodePage::new(&ctx, p.username, None, false).into_response(),
            None => auth::login_again(&ctx, String::new(), String::new(), "twofactor.expired"),
        },
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
    remember: Option<String>,
}

/// `POST /login/code`: a right code finishes the pending login; a wrong one is counted.
pub async fn submit_code(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(client): ClientIp,
    session: Session,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let auth = AuthSession(session);
    let c = &state.cookies;
    let key = jar.get(&c.key).map(|k| k.value().to_owned());
    let lifetime = state.config.login_code_lifetime;
    let Some((account, route, next)) = auth
        .pending_account(key.as_deref(), lifetime, &state.directory)
        .await?
    else {
        return Ok(auth::login_again(
            &ctx,
            String::new(),
            String::new(),
            "twofactor.expired",
        ));
    };
    let username = account.username.clone();
    let remember = form.remember.is_some();
    let ticket = match guard(&state, &ctx, &jar, client, &username).await? {
        Guard::Go(ticket) => ticket,
        Guard::Locked(message, secs) => {
            let page = CodePage::new(&ctx, username, Some(message), remember);
            return Ok(too_many(page.into_response(), secs));
        }
    };
    if !code_is_right(&state, &username, &form.code).await? {
        tracing::info!(username = %username, client = %client, "wrong login code");
        crate::metrics::login("failed");
        throttle::failed(&state.db, ticket).await?;
        let message = ctx.tr.t("twofactor.wrong").to_owned();
        return Ok(CodePage::new(&ctx, username, Some(message), remember).into_response());
    }
    throttle::succeeded(&state.db, ticket).await?;
    crate::metrics::login("ok");
    auth.end_pending(Some(state.config.session_idle_timeout))
        .await?;
    let mut jar = jar;
    if remember {
        let now = store::now();
        let token = random_token(32);
        let hash = state.keys.totp_hash("remember", &username, &token);
        store::totp::remember(&state.db, &username, &hash, now + REMEMBER_SECS, now).await?;
        let mut tokens = vec![token.as_str()];
        tokens.extend(
            remember_tokens(&state, &jar)
                .into_iter()
                .take(MAX_REMEMBERED - 1),
        );
        let mut cookie = c.build(c.remember.clone(), tokens.join("."));
        cookie.set_max_age(time::Duration::seconds(REMEMBER_SECS));
        jar = jar.add(cookie);
    }
    auth::finish(&state, &auth, jar, &account, route, next).await
}

/// Where the settings page is in the setup.
enum Stage {
    Off,
    /// A secret waits for its first code: its QR code (a `data:` URL) and its text.
    SettingUp {
        qr: String,
        secret: String,
    },
    /// "N recovery codes left", translated.
    On {
        recovery_left: String,
    },
}

/// `GET /settings/2fa`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/twofactor.html")]
pub struct SettingsPage {
    l: Layout,
    notice: Option<&'static str>,
    stage: Stage,
    /// Recovery codes just issued, shown this once.
    new_codes: Vec<String>,
    error: Option<String>,
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<&'static str>,
    new_codes: Vec<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let username = &account.username;
    let (folders, row) = tokio::join!(
        sidebar_folders(state, ctx, account),
        store::totp::get(&state.db, username)
    );
    let (folders, row) = (folders?, row?);
    let stage = match row {
        None => Stage::Off,
        Some(r) if r.enabled() => {
            let left = store::totp::recovery_left(&state.db, username).await?;
            Stage::On {
                recovery_left: ctx
                    .tr
                    .tf("twofactor.recovery.left", &[("count", left.into())]),
            }
        }
        Some(r) => {
            let secret = state.keys.open_totp(username, &r.secret).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("a stored TOTP secret does not open"))
            })?;
            let uri = totp::otpauth_uri(&secret, username);
            Stage::SettingUp {
                qr: totp::qr_data_url(&uri).unwrap_or_default(),
                secret: totp::grouped(&totp::base32(&secret)),
            }
        }
    };
    let failed = error.is_some();
    let page = SettingsPage {
        l: Layout::with_folders(ctx, ctx.tr.t("twofactor.title"), username, &folders, None).await,
        notice,
        stage,
        new_codes,
        error,
    };
    let mut res = page.into_response();
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    // The page may show a secret or recovery codes: never keep it in a cache.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    done: Option<String>,
}

/// `GET /settings/2fa`: the state, with the QR code during setup and the new recovery
/// codes right after it.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    session: Session,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, AppError> {
    let notice = match q.done.as_deref() {
        Some("enabled") => Some("twofactor.enabled"),
        Some("disabled") => Some("twofactor.disabled"),
        Some("cancelled") => Some("twofactor.cancelled"),
        _ => None,
    }
    .map(|k| ctx.tr.t(k));
    let codes = AuthSession(session).take_recovery_codes().await?;
    render(&state, &ctx, &account, notice, codes, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
}

/// `POST /settings/2fa/start`: a new secret to set up (not while it is on).
pub async fn start(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let sealed = state.keys.seal_totp(&account.username, &totp::new_secret());
    store::totp::start(&state.db, &account.username, &sealed, store::now()).await?;
    Ok(Redirect::to("/settings/2fa").into_response())
}

/// `POST /settings/2fa/enable`: the first code confirms the app has the secret; the
/// recovery codes are made now and shown once.
pub async fn enable(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    session: Session,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let username = &account.username;
    let Some(row) = store::totp::get(&state.db, username).await? else {
        return Ok(Redirect::to("/settings/2fa").into_response());
    };
    if row.enabled() {
        return Ok(Redirect::to("/settings/2fa").into_response());
    }
    let secret = state
        .keys
        .open_totp(username, &row.secret)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored TOTP secret does not open")))?;
    let now = store::now();
    let step = totp::matching_step(&secret, &form.code, now);
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| {
            state
                .keys
                .totp_hash("recovery", username, &totp::normalize_recovery(c))
        })
        .collect();
    let enabled = match step {
        Some(step) => store::totp::enable(&state.db, username, step, &hashes, now).await?,
        None => false,
    };
    if !enabled {
        let error = ctx.tr.t("twofactor.wrong").to_owned();
        return render(&state, &ctx, &account, None, Vec::new(), Some(error)).await;
    }
    tracing::info!(username = %username, "two-factor login turned on");
    // Every other login of the user ends here; this one goes on.
    let auth = AuthSession(session);
    auth.reconfirm(now).await?;
    auth.put_recovery_codes(&codes).await?;
    Ok(Redirect::to("/settings/2fa?done=enabled").into_response())
}

/// `POST /settings/2fa/disable`: turns it off with a code or recovery code (counted by
/// the throttle like a login code), or cancels an unfinished setup.
pub async fn disable(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(client): ClientIp,
    CurrentUser(account): CurrentUser,
    jar: CookieJar,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let username = &account.username;
    match store::totp::get(&state.db, username).await? {
        None => return Ok(Redirect::to("/settings/2fa").into_response()),
        Some(row) if !row.enabled() => {
            store::totp::disable(&state.db, username).await?;
            return Ok(Redirect::to("/settings/2fa?done=cancelled").into_response());
        }
        Some(_) => {}
    }
    let ticket = match guard(&state, &ctx, &jar, client, username).await? {
        Guard::Go(ticket) => ticket,
        Guard::Locked(message, secs) => {
            let res = render(&state, &ctx, &account, None, Vec::new(), Some(message)).await?;
            return Ok(too_many(res, secs));
        }
    };
    if !code_is_right(&state, username, &form.code).await? {
        throttle::failed(&state.db, ticket).await?;
        let error = ctx.tr.t("twofactor.wrong").to_owned();
        return render(&state, &ctx, &account, None, Vec::new(), Some(error)).await;
    }
    throttle::succeeded(&state.db, ticket).await?;
    store::totp::disable(&state.db, username).await?;
    tracing::info!(username = %username, "two-factor login turned off");
    Ok(Redirect::to("/settings/2fa?done=disabled").into_response())
}
