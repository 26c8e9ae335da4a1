//! The resume cookie: proof that this browser had a real login here, which outlives the
//! session so that a compose form posted just after the session expired can be parked
//! (see `web::compose`) instead of lost, and nobody else can park anything.
//!
//! It is set at login, removed at logout, and sealed with the cookie key (AES-GCM, the
//! cookie's name bound in), so it cannot be made or changed outside the server. It
//! carries the user, a random id for the browser (kept across logins, so a form parked
//! in this browser comes back only in this browser) and the time it stops counting: the
//! session's absolute lifetime plus [`GRACE`]. It grants nothing else: no page, no mail.

use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::{Cookie, CookieJar as SealJar};

use crate::{app::AppState, store, web::session::random_token};

/// How long after the longest possible session a form may still be parked.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the resume cookie says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resume {
    /// The user who logged in.
    pub user: String,
    /// Random per browser.
    pub browser: String,
    /// Unix seconds after which the cookie no longer lets a form be parked.
    pub until: i64,
}

impl Resume {
    /// Whether a form posted at `now` may still be parked.
    pub fn valid_at(&self, now: i64) -> bool {
        now <= self.until && !self.user.is_empty() && !self.browser.is_empty()
    }
}

/// The cookie's name (`__Host-` over https, like the others).
fn name(state: &AppState) -> String {
    let prefix = if state.cookies.secure { "__Host-" } else { "" };
    format!("{prefix}mailroom_resume")
}

/// Opens the resume cookie of a request; `None` when absent, forged or tampered with.
/// Does not look at its time: see [`Resume::valid_at`].
pub fn read(state: &AppState, headers: &HeaderMap) -> Option<Resume> {
    read_jar(state, &CookieJar::from_headers(headers))
}

/// [`read`] from an extracted cookie jar.
pub fn read_jar(state: &AppState, jar: &CookieJar) -> Option<Resume> {
    let name = name(state);
    let value = jar.get(&name).map(|c| c.value().to_owned())?;
    let mut jar = SealJar::new();
    jar.add_original(Cookie::new(name.clone(), value));
    let opened = jar.private(&state.cookie_key).get(&name)?;
    serde_json::from_str(opened.value()).ok()
}

/// The cookie to set at a login of `user`; keeps the browser id of an earlier one.
pub fn issue(state: &AppState, jar: &CookieJar, user: &str) -> Cookie<'static> {
    let browser = read_jar(state, jar)
        .map(|r| r.browser)
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| random_token(16));
    let lifetime = state.config.session_absolute_lifetime + GRACE;
    let marker = Resume {
        user: user.to_owned(),
        browser,
        until: store::now().saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
    };
    let name = name(state);
    let json = serde_json::to_string(&marker).unwrap_or_default();
    let mut jar = SealJar::new();
    jar.private_mut(&state.cookie_key)
        .add(Cookie::new(name.clone(), json));
    let sealed = jar
        .get(&name)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut cookie = state.cookies.build(name, sealed);
    cookie.set_max_age(time::Duration::try_from(lifetime).ok());
    cookie
}

/// The cookie that deletes the resume cookie (logout: a deliberate end parks nothing).
pub fn removal(state: &AppState) -> Cookie<'static> {
    state.cookies.removal(name(state))
}
