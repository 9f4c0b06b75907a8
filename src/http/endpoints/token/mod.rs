//! `/oauth2/{server}/v1/token` (RFC 6749 §3.2): extract the form, the credentials and
//! the `DPoP` header, let `flows::token` answer, render it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{credentials, dpop, form_and_server};
use crate::flows::token::{self, TokenRequest};
use crate::http::SharedState;
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId};

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let now = state.clock.now();
    let (params, server) = match form_and_server(&state, &server_id, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let request = TokenRequest {
        server: &server,
        params: &params,
        credentials: credentials(&headers, ip.as_deref()),
        dpop: dpop::header(&headers),
    };
    let outcome = token::exchange(&state, &request, now).await;
    let mut response = match &outcome {
        Ok(granted) => no_store(Json(&granted.tokens).into_response()),
        Err(e) => error::json(e),
    };
    dpop::add_nonce(&state, outcome.as_ref().err(), &mut response, now);
    response
}

/// RFC 6749 §5.1: token responses are never cached.
pub fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
