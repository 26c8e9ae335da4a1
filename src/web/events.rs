//! `GET /events`: server-sent events for a user's open pages (`crate::live`).
//!
//! Each event is `event: mailbox` with JSON data `{"mailbox", "exists", "unseen",
//! "uidnext"}` and an id for `Last-Event-ID`. A connecting page first gets every folder's
//! current state (or, reconnecting, what changed since its last id), then changes as the
//! server reports them. The stream ends after a few minutes so that the browser reconnects
//! and the session is checked again: a page whose session expired gets no more events.
//! Pages work without it (reload); `static/app.js` uses it to update counts and lists.

use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    app::AppState,
    live::{Subscription, Update},
    web::extract::CurrentUser,
};

/// How long one response streams before the browser is made to reconnect.
const STREAM_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// A comment this often keeps proxies and NAT boxes from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(25);
/// What the browser waits before reconnecting (sent as `retry:`).
const RETRY: Duration = Duration::from_secs(2);

/// `GET /events`: the user's folder updates as server-sent events. 204 (which makes
/// `EventSource` stop trying) when live updates are off or at their cap.
pub async fn events(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    headers: HeaderMap,
) -> Response {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64);
    let Some(sub) = state.live.subscribe(&account, last) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let stream = updates(sub).take_until(tokio::time::sleep(STREAM_LIFETIME));
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx would otherwise buffer the stream (see the README's proxy section).
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// The snapshot, then each change; after falling behind, the whole state again.
fn updates(mut sub: Subscription) -> impl Stream<Item = Result<Event, Infallible>> {
    let first: VecDeque<Update> = std::mem::take(&mut sub.snapshot).into();
    let retry = Event::default().retry(RETRY);
    futures::stream::once(async move { Ok(retry) }).chain(futures::stream::unfold(
        (first, sub),
        |(mut queue, mut sub)| async move {
            loop {
                if let Some(u) = queue.pop_front() {
                    return Some((Ok(event(&u)), (queue, sub)));
                }
                match sub.changes.recv().await {
                    Ok(u) => return Some((Ok(event(&u)), (queue, sub))),
                    Err(RecvError::Lagged(_)) => queue.extend(sub.hub.snapshot(None)),
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    ))
}

/// One update as an SSE event.
fn event(u: &Update) -> Event {
    let data = serde_json::to_string(&u.status).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .event("mailbox")
        .id(u.id.clone())
        .data(data)
}
