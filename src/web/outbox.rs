//! The outbox pages: `GET /outbox` (what waits to be sent, and what could not be),
//! `POST /outbox/{id}/cancel` (Undo, Cancel, Edit: back to Drafts and into the editor) and
//! `POST /outbox/{id}/send` (now). The queueing itself is `crate::send::outbox`; the
//! compose handler calls [`queue_time`] and [`queue`] here.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    imap::Account,
    send::{
        Letter,
        outbox::{Cancelled, parse_send_at},
    },
    store::{self, outbox::Enqueued},
    web::{
        encode_segment,
        extract::CurrentUser,
        layout::{CsrfForm, Layout, PageCtx},
        settings::sidebar_folders,
    },
};

/// The settings-store name of the user's undo window (seconds).
pub const UNDO_SETTING: &str = "undo_send";

/// The undo windows offered on `/settings` (seconds).
pub const UNDO_CHOICES: &[u64] = &[0, 5, 10, 20, 30, 60];

/// The undo setting's form.
#[derive(Deserialize)]
pub struct UndoForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    undo_send: String,
}

/// `POST /settings/undo`: the user's undo window.
pub async fn set_undo(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<UndoForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let seconds = form
        .undo_send
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| UNDO_CHOICES.contains(s))
        .ok_or(AppError::BadRequest("settings.undo_send.invalid"))?;
    store::settings::set(
        &state.db,
        &account.username,
        UNDO_SETTING,
        &seconds.to_string(),
    )
    .await?;
    Ok(Redirect::to("/settings?saved=undo").into_response())
}

/// The user's undo window in seconds: their choice, else the site's.
pub async fn undo_window(state: &AppState, username: &str) -> u64 {
    match store::settings::get(&state.db, username, UNDO_SETTING).await {
        Ok(Some(v)) => v.parse::<u64>().map_or(state.config.undo_send, |s| {
            s.min(crate::config::MAX_UNDO_SEND)
        }),
        _ => state.config.undo_send,
    }
}

/// The user's time zone for "send later" and the outbox page (`crate::zone`).
async fn zone(state: &AppState, username: &str) -> chrono_tz::Tz {
    crate::zone::user_zone(&state.db, username, &state.config).await
}

/// When a message sent now should go out: `None` at once; a time for the outbox (the
/// chosen one, or the end of the undo window); `Err` a catalog key for a bad time.
pub async fn queue_time(
    state: &AppState,
    account: &Account,
    send_at: &str,
) -> Result<Option<i64>, &'static str> {
    let now = store::now();
    if !send_at.trim().is_empty() {
        let zone = zone(state, &account.username).await;
        return parse_send_at(send_at, zone, now)
            .map(Some)
            .map_err(|e| e.key());
    }
    let undo = undo_window(state, &account.username).await;
    Ok((undo > 0).then(|| undo_deadline(std::time::SystemTime::now(), undo)))
}

/// When a message sent at `now` with an undo window of `secs` may go out, in the store's
/// whole seconds, rounded up: `now` rounded down plus the window would cut up to a second
/// off it (a 1 s window could close at once).
fn undo_deadline(now: std::time::SystemTime, secs: u64) -> i64 {
    let at = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(std::time::Duration::from_secs(secs));
    let whole = at.as_secs() + u64::from(at.subsec_nanos() > 0);
    i64::try_from(whole).unwrap_or(i64::MAX)
}

/// Queues `letter` and sends the browser on: back where it came from with a notice and an
/// Undo button (the undo window), or to the outbox (a chosen time).
pub async fn queue(
    state: &AppState,
    account: &Account,
    letter: &Letter,
    back: &str,
    at: i64,
    send_at: &str,
) -> Result<Response, AppError> {
    let id = match state.outbox.enqueue(account, letter, at).await {
        Ok(Enqueued::New(id) | Enqueued::Again(id)) => id,
        Ok(Enqueued::Full) => return Ok(Redirect::to("/outbox?notice=full").into_response()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let target = if send_at.trim().is_empty() {
        let sep = if back.contains('?') { '&' } else { '?' };
        format!("{back}{sep}notice=queued&outbox={id}")
    } else {
        "/outbox?notice=scheduled".to_owned()
    };
    Ok(Redirect::to(&target).into_response())
}

/// An outbox id as the pages carry it (the store's random ids).
pub fn valid_id(id: &str) -> bool {
    // Base64url, with `-` and `_`: checking for alphanumerics only refused about one id
    // in six, so its Undo and cancel buttons went missing now and then.
    crate::ids::is_row_id(id)
}

/// One row of the outbox page.
struct OutboxRow {
    id: String,
    subject: String,
    recipients: String,
    /// In the user's zone.
    when: String,
    failed: bool,
    /// Why it failed, for a failed row.
    error: String,
    /// A failed row still holding its message (not in Drafts): it can be sent again.
    can_send: bool,
}

/// `GET /outbox`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/outbox.html")]
pub struct OutboxPage {
    l: Layout,
    notice: Option<&'static str>,
    rows: Vec<OutboxRow>,
    zone: String,
}

/// `?notice=` of the outbox page.
#[derive(Deserialize)]
pub struct OutboxQuery {
    notice: Option<String>,
}

/// `GET /outbox`: the user's waiting and failed messages.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (folders, queued) = tokio::join!(
        sidebar_folders(&state, &ctx, &account),
        state.outbox.list(&account.username)
    );
    let folders = folders?;
    let queued = queued.map_err(|e| AppError::Internal(e.into()))?;
    let zone = zone(&state, &account.username).await;
    let rows = queued
        .into_iter()
        .map(|r| OutboxRow {
            when: chrono::DateTime::from_timestamp(r.send_at, 0)
                .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            failed: r.state == "failed",
            can_send: !r.letter.is_empty(),
            id: r.id,
            subject: r.subject,
            recipients: r.recipients,
            error: r.last_error,
        })
        .collect();
    let notice = match q.notice.as_deref() {
        Some("scheduled") => Some("outbox.notice.scheduled"),
        Some("sending") => Some("outbox.notice.sending"),
        Some("gone") => Some("outbox.notice.gone"),
        Some("full") => Some("outbox.notice.full"),
        Some("dismissed") => Some("outbox.notice.dismissed"),
        _ => None,
    };
    let page = OutboxPage {
        l: Layout::with_folders(
            &ctx,
            tr.t("outbox.title"),
            &account.username,
            &folders,
            None,
        )
        .await,
        notice: notice.map(|k| tr.t(k)),
        rows,
        zone: zone.name().to_owned(),
    };
    Ok(page.into_response())
}

/// `POST /outbox/{id}/cancel`: Undo / Cancel / Edit. The message goes back to Drafts and
/// opens in the editor; too late (sent, or being sent) says so on the outbox page.
pub async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if !valid_id(&id) {
        return Err(AppError::NotFound);
    }
    match state.outbox.cancel(&account, &id).await {
        Ok(Cancelled::ToDrafts(appended)) => {
            let target = match appended.uid {
                Some(uid) => format!(
                    "/compose?draft={}",
                    encode_segment(&format!("{}/{uid}", appended.mailbox))
                ),
                None => crate::web::mailbox_href(&appended.mailbox),
            };
            Ok(Redirect::to(&target).into_response())
        }
        Ok(Cancelled::Dismissed) => Ok(Redirect::to("/outbox?notice=dismissed").into_response()),
        Ok(Cancelled::Gone) => Ok(Redirect::to("/outbox?notice=gone").into_response()),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// `POST /outbox/{id}/send`: now rather than at its time.
pub async fn send_now(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if !valid_id(&id) {
        return Err(AppError::NotFound);
    }
    let notice = match state.outbox.send_now(&account.username, &id).await {
        Ok(true) => "sending",
        Ok(false) => "gone",
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    Ok(Redirect::to(&format!("/outbox?notice={notice}")).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_undo_window_is_never_cut_short() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        // 10.999 s + 1 s: not before 12 (11 would leave 1 ms).
        assert_eq!(super::undo_deadline(at(10_999), 1), 12);
        assert_eq!(super::undo_deadline(at(10_001), 10), 21);
        assert_eq!(super::undo_deadline(at(10_000), 10), 20);
    }
}
