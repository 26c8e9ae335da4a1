//! Operations routes: readiness for load balancers and orchestrators.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::app::AppState;

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
