//! The JWKS (RFC 7517 §5): public keys only, served from memory for at most
//! `PUBLISHED_TTL` after it was read from the store (see `http::published`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::find_server;
use crate::clock::UnixTime;
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
    match build(&state, &id, now).await {
        Ok(jwks) => {
            state.published.put(Document::Jwks, &id, now, jwks.clone());
            respond(jwks)
        }
        Err(refused) => state
            .published
            .or_stale(Document::Jwks, &id, refused, respond),
    }
}

async fn build(state: &SharedState, id: &str, now: UnixTime) -> Result<Bytes, Response> {
    let server = find_server(state, id).await.map_err(|e| e.json(id))?;
    match state.keys.current_jwks(&server.id, now).await {
        Ok(jwks) => Ok(Bytes::from(jwks)),
        Err(e) => Err(error::json(&OAuthError::from(e))),
    }
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
