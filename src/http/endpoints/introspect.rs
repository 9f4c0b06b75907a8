//! `/oauth2/{server}/v1/introspect` (RFC 7662): `flows::introspect` answers; this
//! extracts and renders.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{credentials, form_and_server};
use crate::flows::introspect::{self, IntrospectRequest};
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
    let request = IntrospectRequest {
        server: &server,
        params: &params,
        credentials: credentials(&headers, ip.as_deref()),
    };
    match introspect::introspect(&state, &request, now).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => error::json(&e),
    }
}
