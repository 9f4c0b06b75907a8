//! `/oauth2/v1/clients` (RFC 7591 §3, RFC 7592 §2, Okta's Dynamic Client Registration
//! API): extracts the credential and the JSON metadata, calls `flows::registration`,
//! renders the client information or the RFC error as JSON (`no-store`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use crate::admin::apps::registration::{Refused, Registered, information};
use crate::flows::registration::{self, Credential};
use crate::http::SharedState;
use crate::http::api::extract::{bearer_token, ssws_token};
use crate::http::error;
use crate::http::extract::PeerAddr;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::registration::ClientMetadata;

/// The registration endpoint: the org server's, listed in every server's discovery.
pub fn endpoint(state: &SharedState) -> String {
    format!("{}/oauth2/v1/clients", state.config.base_url())
}

fn credential(headers: &HeaderMap) -> Option<(String, bool)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    ssws_token(value)
        .map(|t| (t, true))
        .or_else(|| bearer_token(value).map(|t| (t, false)))
}

fn as_credential(found: &Option<(String, bool)>) -> Option<Credential<'_>> {
    found.as_ref().map(|(token, ssws)| match ssws {
        true => Credential::Ssws(token),
        false => Credential::Bearer(token),
    })
}

/// RFC 7591 §3.2.2 JSON; RFC 6750 §3's `WWW-Authenticate` on 401 and 403.
fn refused(e: Refused) -> Response {
    let e = match e {
        Refused::OAuth(e) => e,
        Refused::NotFound => {
            let body = OAuthError::invalid_request("No client with this id.");
            let mut response = error::json(&body);
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
    };
    let mut response = error::json(&e);
    let challenge = match e.code {
        ErrorCode::InvalidToken => Some(r#"Bearer realm="gatehouse", error="invalid_token""#),
        ErrorCode::InsufficientScope => {
            Some(r#"Bearer realm="gatehouse", error="insufficient_scope""#)
        }
        _ => None,
    };
    if let Some(challenge) = challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// The metadata in the body. Not a JSON object of the expected shape:
/// `invalid_redirect_uri` when the redirect URIs are what is wrong, else
/// `invalid_client_metadata`.
fn metadata(body: &[u8]) -> Result<ClientMetadata, Refused> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let code = if path.contains("redirect_uris") {
            ErrorCode::InvalidRedirectUri
        } else {
            ErrorCode::InvalidClientMetadata
        };
        let description = if path == "." {
            "The body must be a JSON object of client metadata.".to_string()
        } else {
            format!("{path}: not of the expected type")
        };
        Refused::OAuth(OAuthError::new(code, description))
    })
}

fn answer(state: &SharedState, status: StatusCode, registered: Registered) -> Response {
    let info = information(
        &registered.client,
        &endpoint(state),
        registered.secret,
        registered.registration_access_token,
    );
    no_store((status, Json(info)).into_response())
}

/// RFC 7591 §3.1: register a client.
pub async fn post(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.clock.now();
    let found = credential(&headers);
    let meta = metadata(&body);
    match registration::register(&state, as_credential(&found), ip, meta, now).await {
        Ok(registered) => answer(&state, StatusCode::CREATED, registered),
        Err(e) => refused(e),
    }
}

/// RFC 7592 §2.1: read a client.
pub async fn get(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let found = credential(&headers);
    match registration::read(&state, as_credential(&found), &client_id, ip, now).await {
        Ok(client) => {
            let registered = Registered {
                client,
                secret: None,
                registration_access_token: None,
            };
            answer(&state, StatusCode::OK, registered)
        }
        Err(e) => refused(e),
    }
}

/// RFC 7592 §2.2: replace a client's metadata.
pub async fn put(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.clock.now();
    let found = credential(&headers);
    let meta = metadata(&body);
    match registration::update(&state, as_credential(&found), &client_id, ip, meta, now).await {
        Ok(registered) => answer(&state, StatusCode::OK, registered),
        Err(e) => refused(e),
    }
}

/// RFC 7592 §2.3: delete a client.
pub async fn delete(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let found = credential(&headers);
    match registration::delete(&state, as_credential(&found), &client_id, ip, now).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => refused(e),
    }
}

/// Okta's `POST /oauth2/v1/clients/{clientId}/lifecycle/newSecret`: the client with
/// its new secret.
pub async fn new_secret(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let found = credential(&headers);
    match registration::new_secret(&state, as_credential(&found), &client_id, ip, now).await {
        Ok((client, secret)) => {
            let registered = Registered {
                client,
                secret: Some(secret),
                registration_access_token: None,
            };
            answer(&state, StatusCode::OK, registered)
        }
        Err(e) => refused(e),
    }
}
