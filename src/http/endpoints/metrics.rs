//! `/metrics`: Prometheus' text exposition format (version 0.0.4), no authentication
//! (expose it only where the scraper can reach it; it holds no secrets).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::SharedState;

pub async fn get(State(state): State<SharedState>) -> Response {
    let mut response = state
        .metrics
        .render(state.store.pool_stats())
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
