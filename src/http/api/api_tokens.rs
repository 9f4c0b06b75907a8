//! `/api/v1/api-tokens`: list and revoke API tokens (created with
//! `gatehouse api-tokens create`, as Okta's are created in its admin console).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorBody};
use super::extract::Authorized;
use crate::admin::api_tokens;
use crate::admin::permissions::Reach;
use crate::flows::api_caller::Principal;
use crate::http::SharedState;
use crate::store::ApiToken;

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
