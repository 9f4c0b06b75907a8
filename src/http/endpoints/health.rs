//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::SharedState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<SharedState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ok".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub async fn not_found() -> Response {
    super::not_found_json("the requested path")
}
