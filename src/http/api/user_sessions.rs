//! `/api/v1/users/{id}/sessions`: a user's sign-in sessions, listed and ended by an
//! admin (Okta's "clear user sessions", and one session at a time for the console).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Caller};
use crate::admin::user_sessions;
use crate::http::SharedState;

/// A live session of the user: what the session row holds, with the device and
/// address it was started from.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSession {
    /// `102…`, as the Sessions API names it.
    pub id: String,
    pub user_id: String,
    pub created_at: String,
    pub expires_at: String,
    /// When the user last entered the password.
    pub last_password_verification: String,
    /// When the session was last used at /authorize (kept to the minute); `null` on
    /// sessions from before it was kept.
    pub last_seen_at: Option<String>,
    /// ACTIVE (ended and expired sessions are not listed).
    pub status: String,
    /// Where the session was started from, as Okta's System Log names it.
    pub client: SessionClient,
}

/// The client a session was started from (Okta's System Log `client` object).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionClient {
    pub user_agent: SessionUserAgent,
    /// The client's address (`X-Forwarded-For` only from a trusted proxy).
    pub ip_address: Option<String>,
}

/// The browser a session was started from.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionUserAgent {
    /// The `User-Agent` header, at most 256 characters.
    pub raw_user_agent: Option<String>,
    /// A short description: browser, major version and system ("Chrome 126 on Windows").
    pub summary: Option<String>,
}

/// The user's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", operation_id = "listUserSessions", tag = "users", params(("id" = String, Path, description = "User id or login")),
    responses((status = 200, description = "Sessions", body = [UserSession]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sessions = user_sessions::list(&state.store, &id, state.clock.now()).await?;
    Ok(Json(
        sessions
            .iter()
            .map(user_sessions::to_json)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClearParams {
    /// Also revoke the user's refresh tokens (Okta's `oauthTokens`, default false).
    #[serde(rename = "oauthTokens")]
    pub oauth_tokens: Option<bool>,
}

/// End every session of the user (Okta's clear user sessions): 204 even when there
/// were none.
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", operation_id = "revokeUserSessions", tag = "users", params(("id" = String, Path, description = "User id or login"), ClearParams),
    responses((status = 204, description = "Ended"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn clear(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ClearParams>,
) -> Result<StatusCode, ApiError> {
    let oauth_tokens = p.oauth_tokens.unwrap_or(false);
    user_sessions::clear(&state.store, &actor, &id, oauth_tokens, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End one session of the user: its cookie stops working at once.
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions/{sessionId}", operation_id = "revokeUserSession", tag = "users",
    params(("id" = String, Path, description = "User id or login"), ("sessionId" = String, Path, description = "`102…`")),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody), (status = 404, description = "E0000007: no such user, or no live session of theirs with this id", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn end(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    user_sessions::end(&state.store, &actor, &id, &session_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
