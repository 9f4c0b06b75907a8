//! `/oauth2/{server}/v1/par` (RFC 9126 §2): `flows::par` checks and stores the pushed
//! request; this extracts and renders (every error is JSON, §2.3).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{credentials, dpop, form_and_server};
use crate::flows::par::{self, ParRequest};
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
    let request = ParRequest {
        server: &server,
        params: &params,
        credentials: credentials(&headers, ip.as_deref()),
        dpop: dpop::header(&headers),
    };
    let outcome = par::push(&state, &request, now).await;
    let mut response = match &outcome {
        // §2.2: 201 Created.
        Ok(answer) => no_store((StatusCode::CREATED, Json(answer)).into_response()),
        Err(e) => error::json(e),
    };
    // RFC 9449 §8: the DPoP nonce, as at the token endpoint.
    dpop::add_nonce(&state, outcome.as_ref().err(), &mut response, now);
    response
}
