//! `/healthz` (the process answers) and `/readyz` (the database answers, at the schema
//! version this binary migrates to).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::SharedState;
use crate::store;

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers and its schema is the one this binary knows; else
/// 503 with a short reason. A newer schema (another instance upgraded the database
/// first) makes this older instance not ready, so a rolling upgrade drains it.
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let expected = store::latest_schema_version();
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reason": reason})),
        )
            .into_response()
    };
    let found = match state.store.schema_version().await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unavailable");
            return not_ready("database unavailable".into());
        }
    };
    if found != expected {
        tracing::warn!(found, expected, "not ready: schema version differs");
        return not_ready(format!(
            "database schema version {found}, this binary needs {expected}"
        ));
    }
    Json(json!({"status": "ready", "schema_version": found})).into_response()
}

/// What a process that has not reached its database yet serves (`app::run`): it is
/// alive (`/healthz` 200) and not ready (`/readyz` 503); every other request gets 503
/// `temporarily_unavailable` with `Retry-After`, as during an outage.
pub fn starting_routes() -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(starting))
        .fallback(|| async {
            crate::http::error::json(&crate::oauth::OAuthError::temporarily_unavailable())
        })
}

async fn starting() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "reason": "database unavailable"})),
    )
        .into_response()
}

pub async fn not_found() -> Response {
    super::not_found_json("the requested path")
}
