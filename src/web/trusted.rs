//! The remote-content settings page, `GET/POST /settings/remote`: the senders and domains
//! whose remote images the user always wants to see (stored by
//! [`crate::store::trusted`]). One POST endpoint takes both forms, told apart by `action`:
//! `add` (kind + value) and `remove` (id). The message page posts `add` here too, from its
//! "always show" buttons, with `next` pointing back at the message.
//!
//! It also decides, for the message page, whether a trusted sender's images load by
//! themselves ([`remote_policy`]): only when our mail server's `Authentication-Results`
//! vouch for the `From` domain ([`crate::mime::authres`]), since `From` alone is forgeable.
//! Without `MAILROOM_AUTHSERV_ID` there is nothing to read, so trust is never honoured
//! automatically and the message page says why.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    imap::Account,
    mime::{
        self,
        authres::{self, SenderAuth},
    },
    store::trusted::{self, Kind, TrustError},
    web::{
        auth::safe_next,
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        settings::sidebar_folders,
    },
};

/// Whether a message's remote content is shown, and why.
pub struct RemotePolicy {
    /// Show it (asked once, or a trusted and authenticated sender).
    pub allow: bool,
    /// Shown without asking because the sender is trusted and authenticated.
    pub trusted: bool,
    /// The sender is on the trusted list but the message does not prove it comes from
    /// them: the catalog key of the reason shown beside the images prompt.
    pub unverified: Option<&'static str>,
}

/// Decides [`RemotePolicy`] for the message `raw` read by `username`. Asking once
/// (`?remote=1`) shows the content whatever the sender.
pub async fn remote_policy(
    state: &AppState,
    username: &str,
    parsed: &mime::ParsedMessage,
    raw: &[u8],
    asked_once: bool,
) -> Result<RemotePolicy, AppError> {
    let sender = parsed.sender_addresses().into_iter().next();
    let listed = match &sender {
        Some(a) => trusted::is_trusted(&state.db, username, &a.email).await?,
        None => false,
    };
    let unverified = match (&sender, state.config.authserv_id.as_deref()) {
        _ if !listed => None,
        (_, None) => Some("msg.trust_unverified.off"),
        (Some(a), Some(id)) => {
            let domain = a.email.rsplit_once('@').map_or("", |(_, d)| d);
            match authres::sender_auth(raw, id, domain) {
                SenderAuth::Verified => None,
                SenderAuth::NoResult => Some("msg.trust_unverified.none"),
                SenderAuth::Failed => Some("msg.trust_unverified.failed"),
            }
        }
        (None, Some(_)) => Some("msg.trust_unverified.failed"),
    };
    let trusted = listed && unverified.is_none();
    Ok(RemotePolicy {
        allow: asked_once || trusted,
        trusted,
        unverified,
    })
}

/// One listed entry.
pub struct TrustedRow {
    id: String,
    kind_label: &'static str,
    value: String,
}

/// The page: the list with remove buttons, and the add form.
#[derive(Template, WebTemplate)]
#[template(path = "pages/trusted.html")]
pub struct TrustedPage {
    l: Layout,
    notice: Option<&'static str>,
    rows: Vec<TrustedRow>,
    /// The add form, with the user's input after a refused submission.
    kind: &'static str,
    value: String,
    /// Shown beside the value field.
    error: Option<&'static str>,
}

/// The add form's state to show.
struct AddForm {
    kind: Kind,
    value: String,
    error: Option<&'static str>,
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    notice: Option<&'static str>,
    form: AddForm,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (folders, entries) = tokio::join!(
        sidebar_folders(state, ctx, account),
        trusted::list(&state.db, &account.username)
    );
    let (folders, entries) = (folders?, entries?);
    let failed = form.error.is_some();
    let page = TrustedPage {
        l: Layout::with_folders(
            ctx,
            tr.t("trusted.title"),
            &account.username,
            &folders,
            None,
        )
        .await,
        notice,
        rows: entries
            .into_iter()
            .map(|e| TrustedRow {
                id: e.id,
                kind_label: tr.t(kind_key(e.kind)),
                value: e.value,
            })
            .collect(),
        kind: kind_value(form.kind),
        value: form.value,
        error: form.error.map(|k| tr.t(k)),
    };
    let mut res = page.into_response();
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

fn kind_key(kind: Kind) -> &'static str {
    match kind {
        Kind::Address => "trusted.kind.address",
        Kind::Domain => "trusted.kind.domain",
    }
}

fn kind_value(kind: Kind) -> &'static str {
    match kind {
        Kind::Address => "address",
        Kind::Domain => "domain",
    }
}

/// `?saved=added|removed` after a successful POST, for the notice.
#[derive(Deserialize)]
pub struct TrustedQuery {
    saved: Option<String>,
}

/// `GET /settings/remote`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<TrustedQuery>,
) -> Result<Response, AppError> {
    let notice = match q.saved.as_deref() {
        Some("removed") => Some("trusted.removed"),
        Some(_) => Some("trusted.added"),
        None => None,
    }
    .map(|k| ctx.tr.t(k));
    let form = AddForm {
        kind: Kind::Address,
        value: String::new(),
        error: None,
    };
    render(&state, &ctx, &account, notice, form).await
}

/// Both forms' fields; `action` tells which one was sent (without it: `remove` when an
/// `id` is given, else `add`). `kind` defaults to an address, as the form preselects.
#[derive(Deserialize)]
pub struct TrustedForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    id: String,
    /// Where to go after adding (the message page's buttons); local paths only.
    next: Option<String>,
}

/// `POST /settings/remote`: adds (`action=add`) or removes (`action=remove`) an entry.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<TrustedForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let user = &account.username;
    let action = match form.action.as_str() {
        "" if form.id.is_empty() => "add",
        "" => "remove",
        other => other,
    };
    match action {
        "add" => {
            let kind = match form.kind.as_str() {
                "domain" => Kind::Domain,
                "address" | "" => Kind::Address,
                _ => return Err(AppError::BadRequest("trusted.error.kind")),
            };
            let error = match trusted::add(&state.db, user, kind, &form.value).await {
                Ok(()) => {
                    let target = form
                        .next
                        .as_deref()
                        .and_then(safe_next)
                        .unwrap_or_else(|| "/settings/remote?saved=added".to_owned());
                    return Ok(Redirect::to(&target).into_response());
                }
                Err(TrustError::InvalidAddress) => "trusted.error.address",
                Err(TrustError::InvalidDomain) => "trusted.error.domain",
                Err(TrustError::TooMany) => "trusted.error.too_many",
                Err(TrustError::Db(e)) => return Err(e.into()),
            };
            let form = AddForm {
                kind,
                value: form.value,
                error: Some(error),
            };
            render(&state, &ctx, &account, None, form).await
        }
        "remove" => {
            trusted::remove(&state.db, user, &form.id).await?;
            Ok(Redirect::to("/settings/remote?saved=removed").into_response())
        }
        _ => Err(AppError::BadRequest("trusted.error.action")),
    }
}
