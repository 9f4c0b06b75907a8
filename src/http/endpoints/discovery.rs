//! OpenID Connect Discovery 1.0 and RFC 8414 metadata.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::find_server;
use crate::app::SharedState;
use crate::http::error;
use crate::http::extract::ServerId;
use crate::protocol::discovery::Metadata;

pub async fn get(State(state): State<SharedState>, ServerId(id): ServerId) -> Response {
    let server = match find_server(&state, &id).await {
        Ok(server) => server,
        Err(e) => return e.json(&id),
    };
    let (scopes, claims) = match tokio::try_join!(state.store.list_scopes(&server.id), state.store.list_claims(&server.id)) {
        Ok(found) => found,
        Err(e) => return error::json(&error::unavailable(&e)),
    };
    let metadata = Metadata::new(
        &state.issuer(&server),
        &state.endpoint_base(&server),
        scopes.into_iter().map(|s| s.name).collect(),
        claims.into_iter().filter(|c| c.status == "ACTIVE").map(|c| c.name).collect(),
    );
    let mut response = Json(metadata).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
