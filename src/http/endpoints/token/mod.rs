//! `/oauth2/{server}/v1/token` (RFC 6749 §3.2): authenticate the client, then one
//! module per grant; `mint` holds what they share (policy, claims, signing).

mod client_credentials;
mod code;
pub mod mint;
mod refresh;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{authenticate_client, find_server};
use crate::app::{AppState, SharedState};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
use crate::store::AuthServer;

/// The grants this server implements.
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match body.map_err(|OAuthRejection(e)| e).and_then(|Body(b)| form_params(&headers, &b)) {
        Ok(params) => params,
        Err(e) => return error::json(&e),
    };
    let server = match find_server(&state, &server_id).await {
        Ok(server) => server,
        Err(e) => return e.json(&server_id),
    };
    match handle(&state, &server, &headers, &params).await {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => error::json(&e),
    }
}

/// RFC 6749 §5.1: token responses are never cached.
pub fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn handle(state: &AppState, server: &AuthServer, headers: &HeaderMap, params: &Params) -> Result<TokenResponse, OAuthError> {
    let grant_type = params.required("grant_type")?;
    let client = authenticate_client(state, headers, params).await?;
    let known = GRANT_TYPES.contains(&grant_type);
    if known && !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided grant type.",
        ));
    }
    match grant_type {
        "authorization_code" => code::grant(state, server, &client, params).await,
        "refresh_token" => refresh::grant(state, server, &client, params).await,
        "client_credentials" => client_credentials::grant(state, server, &client, params).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server.",
        )),
    }
}
