//! One module per endpoint.

pub mod assets;
pub mod authorize;
pub mod discovery;
pub mod health;
pub mod keys;
pub mod login;
pub mod logout;
pub mod token;
pub mod userinfo;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error;
use crate::app::AppState;
use crate::oauth::OAuthError;
use crate::store::AuthServer;

/// Why a server could not be used for this request.
pub enum ServerLookup {
    NotFound,
    Failed(OAuthError),
}

/// The active authorization server with this id.
pub async fn find_server(state: &AppState, id: &str) -> Result<AuthServer, ServerLookup> {
    match state.store.get_server(id).await {
        Ok(Some(server)) if server.status == "ACTIVE" => Ok(server),
        Ok(_) => Err(ServerLookup::NotFound),
        Err(e) => Err(ServerLookup::Failed(error::unavailable(&e))),
    }
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
