//! `/api/v1/initialAccessTokens`: create, list and revoke the initial access tokens of
//! dynamic client registration (RFC 7591 §3; also `gatehouse clients initial-token`).
//! Whoever holds one may register clients at `/oauth2/v1/clients` until it expires or
//! its uses are spent.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::admin::initial_tokens;
use crate::http::SharedState;
use crate::store::InitialAccessToken as Stored;

/// What `POST /api/v1/initialAccessTokens` takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewInitialTokenBody {
    /// What the token is for (1 to 100 characters), to recognise it by.
    pub name: Option<String>,
    /// Seconds it stays valid: 1 to 2592000 (30 days); default 86400.
    pub expires_in: Option<i64>,
    /// How many clients it may register: 1 to 1000; default 1.
    pub max_uses: Option<i64>,
}

/// An initial access token (never its value, except in the answer that made it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitialAccessToken {
    /// `iat…`
    pub id: String,
    pub name: String,
    /// The admin, API token or `cli` that made it.
    pub created_by: String,
    pub created: String,
    pub expires_at: String,
    pub max_uses: i64,
    pub uses: i64,
    /// ACTIVE, USED_UP, EXPIRED or REVOKED.
    pub status: String,
    /// `Authorization: Bearer {token}` at `/oauth2/v1/clients`; only in the answer that
    /// made it (only its SHA-256 is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn answer(token: &Stored, value: Option<String>, now: i64) -> InitialAccessToken {
    InitialAccessToken {
        id: token.id.clone(),
        name: token.name.clone(),
        created_by: token.created_by.clone(),
        created: crate::clock::rfc3339(token.created_at),
        expires_at: crate::clock::rfc3339(token.expires_at),
        max_uses: token.max_uses,
        uses: token.uses,
        status: initial_tokens::status(token, now).to_string(),
        token: value,
    }
}

/// Create a token; the answer holds its value, which is never shown again.
#[utoipa::path(post, path = "/api/v1/initialAccessTokens", operation_id = "createInitialAccessToken", tag = "initialAccessTokens", request_body = NewInitialTokenBody,
    responses((status = 201, description = "The token with its value", body = InitialAccessToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<NewInitialTokenBody>,
) -> Result<Response, ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::invalid("name", "is required"))?;
    let now = state.clock.now();
    let (token, value) = initial_tokens::create(
        &state.store,
        &actor,
        &name,
        body.expires_in.unwrap_or(86_400),
        body.max_uses.unwrap_or(1),
        now,
    )
    .await?;
    let mut response =
        (StatusCode::CREATED, Json(answer(&token, Some(value), now))).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Every initial access token, revoked and spent ones too (never their values).
#[utoipa::path(get, path = "/api/v1/initialAccessTokens", operation_id = "listInitialAccessTokens", tag = "initialAccessTokens",
    responses((status = 200, description = "Tokens", body = [InitialAccessToken]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    Caller(_): Caller,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let list = initial_tokens::list(&state.store).await?;
    Ok(Json(
        list.iter()
            .map(|t| answer(t, None, now))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// Revoke a token: registrations with it are refused from then on.
#[utoipa::path(delete, path = "/api/v1/initialAccessTokens/{id}", operation_id = "revokeInitialAccessToken", tag = "initialAccessTokens", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn revoke(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    initial_tokens::revoke(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
