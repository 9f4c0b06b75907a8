//! `/api/v1/api-tokens`: create, list and revoke API tokens (also made with
//! `gatehouse api-tokens create`; Okta creates them in its admin console, which is
//! what `POST` serves here). A token acts with its maker's roles (`flows::api_caller`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Authorized};
use crate::admin::api_tokens;
use crate::admin::permissions::Reach;
use crate::flows::api_caller::Principal;
use crate::http::SharedState;
use crate::store::ApiToken;

/// What `POST /api/v1/api-tokens` takes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApiTokenBody {
    /// What the token is for (1 to 100 characters), to recognise it by.
    pub name: Option<String>,
}

/// A token just made: its value, shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiToken {
    /// `00T…`
    pub id: String,
    pub name: String,
    /// Whom it acts for: the admin's user id (made with their access token or an API
    /// token of theirs), else the API token (or `cli`) that made it. The new token
    /// acts with that admin's roles.
    pub user_id: String,
    pub created: String,
    /// `Authorization: SSWS {tokenValue}`. Only its SHA-256 is kept.
    pub token_value: String,
}

/// Create a token; the answer holds its value, which is never shown again.
#[utoipa::path(post, path = "/api/v1/api-tokens", operation_id = "createApiToken", tag = "apiTokens", request_body = NewApiTokenBody,
    responses((status = 201, description = "The token with its value", body = CreatedApiToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Authorized(principal): Authorized,
    ApiJson(body): ApiJson<NewApiTokenBody>,
) -> Result<Response, ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::invalid("name", "is required"))?;
    // Made by an admin through an API token of theirs: the new token is the admin's
    // (so the "own tokens" reach of an org admin sees it), not the presenting token's.
    let maker = principal.admin_id.as_deref().unwrap_or(&principal.actor.id);
    let (token, value) = api_tokens::create_for(
        &state.store,
        &principal.actor,
        maker,
        &name,
        state.clock.now(),
    )
    .await?;
    let answer = CreatedApiToken {
        id: token.id,
        name: token.name,
        user_id: token.created_by,
        created: crate::clock::rfc3339(token.created_at),
        token_value: value,
    };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// May the caller see this token? An org admin sees only the tokens they made.
fn visible(principal: &Principal, token: &ApiToken) -> bool {
    match principal.reach {
        Reach::All => true,
        Reach::Own => principal.admin_id.as_deref() == Some(token.created_by.as_str()),
    }
}

/// The API tokens that are not revoked (never their values); an org admin's own only.
#[utoipa::path(get, path = "/api/v1/api-tokens", operation_id = "listApiTokens", tag = "apiTokens",
    responses((status = 200, description = "Tokens", body = [super::answers::ApiToken]), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    Authorized(principal): Authorized,
) -> Result<Response, ApiError> {
    let list = api_tokens::list(&state.store).await?;
    Ok(Json(
        list.iter()
            .filter(|t| t.revoked_at.is_none() && visible(&principal, t))
            .map(api_tokens::to_json)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/api-tokens/{id}", operation_id = "getApiToken", tag = "apiTokens", params(("id" = String, Path)),
    responses((status = 200, description = "The token", body = super::answers::ApiToken), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    Authorized(principal): Authorized,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let token = api_tokens::find(&state.store, &id).await?;
    if !visible(&principal, &token) {
        return Err(ApiError::not_found(&format!("API token {id}")));
    }
    Ok(Json(api_tokens::to_json(&token)).into_response())
}

/// Revoke a token (the caller's own included): requests with it get 401 from then on.
#[utoipa::path(delete, path = "/api/v1/api-tokens/{id}", operation_id = "revokeApiToken", tag = "apiTokens", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn revoke(
    State(state): State<SharedState>,
    Authorized(principal): Authorized,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = api_tokens::find(&state.store, &id).await?;
    if !visible(&principal, &token) {
        return Err(ApiError::not_found(&format!("API token {id}")));
    }
    api_tokens::revoke(&state.store, &principal.actor, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
