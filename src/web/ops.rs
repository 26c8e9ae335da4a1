//! Operations routes: readiness for load balancers and orchestrators, metrics for
//! Prometheus, and the middleware that counts requests.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{app::AppState, config::MetricsAccess, web::throttle::ClientIp};

/// `GET /metrics`: Prometheus text format, for the callers `MAILROOM_METRICS` lets in;
/// everyone else gets the same 404 as for a route that does not exist.
pub async fn metrics(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Response {
    let allowed = match &state.config.metrics {
        MetricsAccess::Off => false,
        MetricsAccess::Everyone => true,
        MetricsAccess::From(nets) => nets.iter().any(|n| n.contains(&ip)),
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::metrics::render(&state.db),
    )
        .into_response()
}

/// Inside the router: hands the matched route pattern to [`count_requests`] on the
/// response (the outer layers run before routing and cannot see it).
pub async fn tag_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Some(m) = matched {
        res.extensions_mut().insert(m);
    }
    res
}

/// Outermost: counts every request by route pattern, method and status, and times it.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Only the methods we know become labels: a visitor must not grow the label set.
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        _ => "other",
    };
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    crate::metrics::http_request(
        route,
        method,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /readyz`: 200 when the database and the mail servers answer, else 503 naming
/// the part that does not (one line per part).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let report = state
        .readiness
        .report(&state.config, &state.db, &state.imap)
        .await;
    let status = if report.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], report.text()).into_response()
}
