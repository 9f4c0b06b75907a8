//! The JWKS (RFC 7517 §5): public keys only, served from memory for at most
//! `PUBLISHED_TTL` after it was read from the store (see `http::published`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::find_server;
use crate::http::SharedState;
use crate::http::error;
use crate::http::extract::ServerId;
use crate::http::published::Document;
use crate::oauth::OAuthError;

pub async fn get(State(state): State<SharedState>, ServerId(id): ServerId) -> Response {
    let now = state.clock.now();
    if let Some(body) = state.published.get(Document::Jwks, &id, now) {
        return respond(body);
    }
    let server = match find_server(&state, &id).await {
        Ok(server) => server,
        Err(e) => return e.json(&id),
    };
    let jwks = match state.keys.current_jwks(&server.id, now).await {
        Ok(jwks) => Bytes::from(jwks),
        Err(e) => return error::json(&OAuthError::from(e)),
    };
    state.published.put(Document::Jwks, &id, now, jwks.clone());
    respond(jwks)
}

fn respond(body: Bytes) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Shorter than the time a new key is published before it signs.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
