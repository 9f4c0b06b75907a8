//! `/oauth2/{server}/v1/device/authorize` (RFC 8628 §3.1, Okta's path): `flows::device`
//! authenticates the client and stores the request; this extracts and renders (a 200
//! with the codes, §3.2; every error is JSON, §3.2 and RFC 6749 §5.2).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{credentials, form_and_server};
use crate::flows::device::{self, DeviceAuthorizationRequest};
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
    let request = DeviceAuthorizationRequest {
        server: &server,
        params: &params,
        credentials: credentials(&headers, ip.as_deref()),
    };
    match device::authorize(&state, &request, now).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => error::json(&e),
    }
}
