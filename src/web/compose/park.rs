//! A compose form posted after its session expired: parked under a random token for the
//! browser whose real login just ended (see `web::resume`), then restored after the login.

use axum::{
    extract::Multipart,
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};

use super::multipart::read_multipart;
use crate::{
    app::AppState,
    error::AppError,
    store,
    web::{layout::PageCtx, resume, session::random_token},
};

/// Slack for the multipart framing when a body's declared length is compared with what
/// may still be parked.
const FRAMING_SLACK: u64 = 64 * 1024;

/// The session expired while composing: keep the form and its files under a random
/// token, bound to the user and browser of the expired login, and send the user through
/// the login and back to the restored form.
///
/// Only a browser with a resume cookie of ours (a real login here, recent enough; see
/// `web::resume`) may park, so anonymous clients cannot write to the database. Anything
/// else, and a body declared larger than the caps allow, is answered before a byte of
/// the body is read.
pub(super) async fn park(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let Some(marker) = resume::read(state, headers).filter(|m| m.valid_at(store::now())) else {
        return Err(AppError::LoginRequired);
    };
    let caps = store::compose::ParkCaps {
        per_user: state.config.parked_bytes_per_user,
        total: state.config.parked_bytes_total,
    };
    let allowance = store::compose::park_allowance(&state.db, &marker.user, caps).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > allowance.saturating_add(FRAMING_SLACK)) {
        tracing::warn!(user = %marker.user, "compose: parking refused, over the cap");
        return Err(AppError::BadRequest("compose.error.park_full"));
    }
    let posted = read_multipart(multipart, state.config.max_message_size).await;
    ctx.check_csrf(&posted.form.csrf_token)?;
    let json = serde_json::to_string(&posted.form)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let size = posted.uploads.iter().fold(json.len() as u64, |n, u| {
        n.saturating_add(u.data.len() as u64)
    });
    let token = random_token(24);
    let parked = store::compose::Parked {
        token: &token,
        username: &marker.user,
        browser: &marker.browser,
        form_json: &json,
        size,
    };
    if !store::compose::park(&state.db, &parked, caps).await? {
        tracing::warn!(user = %marker.user, size, "compose: parking refused, over the cap");
        return Err(AppError::BadRequest("compose.error.park_full"));
    }
    for u in &posted.uploads {
        store::compose::stage(&state.db, "", &token, &u.filename, &u.content_type, &u.data).await?;
    }
    tracing::info!(user = %marker.user, "compose: session expired; form parked until the login");
    let next = format!("/compose?restore={token}");
    let target = format!(
        "/login?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(Redirect::to(&target).into_response())
}
