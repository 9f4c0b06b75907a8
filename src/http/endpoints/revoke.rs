//! `/oauth2/{server}/v1/revoke` (RFC 7009): `flows::revoke` answers; this
//! extracts and renders.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{credentials, form_and_server};
use crate::flows::revoke::{self, RevokeRequest};
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
    let request = RevokeRequest {
        server: &server,
        params: &params,
        credentials: credentials(&headers, ip.as_deref()),
    };
    match revoke::revoke(&state, &request, now).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => error::json(&e),
    }
}
