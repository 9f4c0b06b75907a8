//! `/api/v1/sessions`: Okta's Sessions API. `…/me` is the caller's own session, found
//! by the browser's session cookie (no `SSWS`; CORS with credentials for the trusted
//! origins, `http::cors`); `…/{sessionId}` is any session, for an API token. A
//! session's public id is derived from the SHA-256 the store keeps
//! (`identity::session::public_id`): it names the session but is not its cookie.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, PeerAddr};
use crate::clock::rfc3339_millis;
use crate::flows::sessions;
use crate::http::{AppState, SharedState, cookies};
use crate::identity::session;
use crate::store::{Session, User};

/// A session, in Okta's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer {
    /// `102…`
    pub id: String,
    pub user_id: String,
    pub login: String,
    pub created_at: String,
    pub expires_at: String,
    /// ACTIVE (an ended or expired session is not found).
    pub status: &'static str,
    /// When the user last entered the password.
    pub last_password_verification: String,
    /// Always null: Gatehouse has no factors.
    pub last_factor_verification: Option<String>,
    /// `["pwd"]`.
    pub amr: Vec<&'static str>,
    /// `{ "id": null, "type": "OKTA" }`: the user was authenticated by this server.
    #[schema(value_type = Object)]
    pub idp: Value,
    pub mfa_active: bool,
    /// `self`, `refresh` and `user`.
    #[serde(rename = "_links")]
    #[schema(value_type = Object)]
    pub links: Value,
}

fn answer(state: &AppState, session: &Session, user: &User, me: bool) -> Response {
    let base = format!("{}/api/v1", state.config.base_url());
    let id = session::public_id(&session.id_hash);
    let path = if me {
        format!("{base}/sessions/me")
    } else {
        format!("{base}/sessions/{id}")
    };
    let body = SessionAnswer {
        id,
        user_id: user.id.clone(),
        login: user.login.clone(),
        created_at: rfc3339_millis(session.created_at),
        expires_at: rfc3339_millis(session.expires_at),
        status: "ACTIVE",
        last_password_verification: rfc3339_millis(session.auth_time),
        last_factor_verification: None,
        amr: vec!["pwd"],
        idp: json!({ "id": null, "type": "OKTA" }),
        mfa_active: false,
        links: json!({
            "self": { "href": path, "hints": { "allow": ["GET", "DELETE"] } },
            "refresh": { "href": format!("{path}/lifecycle/refresh"), "hints": { "allow": ["POST"] } },
            "user": { "name": user.login, "href": format!("{base}/users/{}", user.id), "hints": { "allow": ["GET"] } },
        }),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn not_found() -> ApiError {
    ApiError::not_found("session")
}

/// The stored hash behind the browser's session cookie.
fn cookie_hash(headers: &HeaderMap) -> Result<Vec<u8>, ApiError> {
    cookies::get(headers, cookies::SESSION)
        .map(|c| session::id_hash(&c))
        .ok_or_else(not_found)
}

fn id_hash(id: &str) -> Result<Vec<u8>, ApiError> {
    session::hash_of_public_id(id).ok_or_else(not_found)
}

/// The caller's own session, by the session cookie.
#[utoipa::path(get, path = "/api/v1/sessions/me", operation_id = "getCurrentSession", tag = "sessions",
    responses((status = 200, description = "The session", body = SessionAnswer), (status = 404, description = "E0000007: no live session cookie", body = ErrorBody)))]
pub async fn get_me(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let hash = cookie_hash(&headers)?;
    let (session, user) = sessions::live(&state, &hash, now)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&state, &session, &user, true))
}

/// Extend the caller's own session by a full session lifetime from now.
#[utoipa::path(post, path = "/api/v1/sessions/me/lifecycle/refresh", operation_id = "refreshCurrentSession", tag = "sessions",
    responses((status = 200, description = "The session", body = SessionAnswer), (status = 404, description = "E0000007: no live session cookie", body = ErrorBody)))]
pub async fn refresh_me(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let hash = cookie_hash(&headers)?;
    let (session, user) = sessions::refresh(&state, &hash, now)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&state, &session, &user, true))
}

/// End the caller's own session (sign out of Gatehouse); the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/sessions/me", operation_id = "closeCurrentSession", tag = "sessions",
    responses((status = 204, description = "Ended"), (status = 404, description = "E0000007: no live session cookie", body = ErrorBody)))]
pub async fn close_me(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let hash = cookie_hash(&headers)?;
    if !sessions::close(&state, &hash, None, ip, now).await? {
        return Err(not_found());
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    cookies::end_session(&mut response, state.config.secure_cookies());
    Ok(response)
}

/// A session by its id.
#[utoipa::path(get, path = "/api/v1/sessions/{sessionId}", operation_id = "getSession", tag = "sessions",
    params(("sessionId" = String, Path, description = "`102…`")),
    responses((status = 200, description = "The session", body = SessionAnswer), (status = 401, body = ErrorBody), (status = 404, description = "E0000007: no live session with this id", body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let (session, user) = sessions::live(&state, &id_hash(&id)?, now)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&state, &session, &user, false))
}

/// Extend a session by a full session lifetime from now.
#[utoipa::path(post, path = "/api/v1/sessions/{sessionId}/lifecycle/refresh", operation_id = "refreshSession", tag = "sessions",
    params(("sessionId" = String, Path, description = "`102…`")),
    responses((status = 200, description = "The session", body = SessionAnswer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn refresh(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let (session, user) = sessions::refresh(&state, &id_hash(&id)?, now)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&state, &session, &user, false))
}

/// End a session: its cookie stops working at once.
#[utoipa::path(delete, path = "/api/v1/sessions/{sessionId}", operation_id = "revokeSession", tag = "sessions",
    params(("sessionId" = String, Path, description = "`102…`")),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn close(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    if !sessions::close(&state, &id_hash(&id)?, Some(&actor), None, now).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
