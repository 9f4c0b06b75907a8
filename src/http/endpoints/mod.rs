//! One module per endpoint.

pub mod account;
pub mod account_factors;
pub mod account_passkeys;
pub mod activate;
pub mod admin;
pub mod assets;
pub mod authorize;
pub mod brand;
pub mod consent;
pub mod demo;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod email_links;
pub mod federation;
pub mod health;
pub mod home;
pub mod introspect;
pub mod keys;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod par;
pub mod passkey_login;
pub mod registration;
pub mod revoke;
pub mod session_cookie;
pub mod signin;
pub mod token;
pub mod userinfo;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use axum::http::{HeaderMap, header};

use super::error;
use super::extract::{Body, OAuthRejection, form_params};
use crate::flows::client_auth::Credentials;
use crate::http::AppState;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::store::{AuthServer, Status};

/// Why a server could not be used for this request.
pub enum ServerLookup {
    NotFound,
    Failed(OAuthError),
}

/// The active authorization server with this id.
pub async fn find_server(state: &AppState, id: &str) -> Result<AuthServer, ServerLookup> {
    match state.store.get_server(id).await {
        Ok(Some(server)) if server.status == Status::Active => Ok(server),
        Ok(_) => Err(ServerLookup::NotFound),
        Err(e) => Err(ServerLookup::Failed(OAuthError::from(e))),
    }
}

/// The client credentials a request carries outside its form, for
/// `flows::client_auth`: the `Authorization` header (`Some("")` when it is not text)
/// and the caller's address.
pub fn credentials<'a>(headers: &'a HeaderMap, ip: Option<&'a str>) -> Credentials<'a> {
    Credentials {
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("")),
        ip,
    }
}

/// What the token, revocation and introspection endpoints start with: the form body
/// (RFC 6749 §3.2: `application/x-www-form-urlencoded`) and the active server, or the
/// JSON error to answer.
pub async fn form_and_server(
    state: &AppState,
    server_id: &str,
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<(Params, AuthServer), Response> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))
        .map_err(|e| error::json(&e))?;
    let server = find_server(state, server_id)
        .await
        .map_err(|e| e.json(server_id))?;
    Ok((params, server))
}

/// Okta's 404 body for an unknown resource.
pub fn not_found_json(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "errorCode": "E0000007",
            "errorSummary": format!("Not found: Resource not found: {what}"),
            "errorLink": "E0000007",
            "errorId": format!("gh{}", crate::crypto::okta_id("")),
            "errorCauses": [],
        })),
    )
        .into_response()
}

impl ServerLookup {
    /// As JSON, for API-style endpoints.
    pub fn json(self, id: &str) -> Response {
        match self {
            ServerLookup::NotFound => not_found_json(&format!("{id} (AuthorizationServer)")),
            ServerLookup::Failed(e) => error::json(&e),
        }
    }

    /// As a page, for the browser.
    pub fn page(self) -> Response {
        match self {
            ServerLookup::NotFound => super::pages::error(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no authorization server at this address.",
                None,
            ),
            ServerLookup::Failed(e) => error::page(&e),
        }
    }
}
