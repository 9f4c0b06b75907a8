//! `POST /api/v1/authorizationServers/{id}/tokens/preview`: Okta's Token Preview, the
//! claims a custom server would issue now (`flows::token::preview`), decoded and
//! unsigned; nothing is signed, stored or logged as issued.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::authorization_servers::custom;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::flows::token::preview::{self, PreviewError, PreviewRequest};
use crate::http::SharedState;

/// What to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewBody {
    /// The app (`client_id`).
    pub client_id: Option<String>,
    /// The user's id or login: required for `authorization_code`, none for
    /// `client_credentials`.
    pub user_id: Option<String>,
    /// `authorization_code` or `client_credentials`.
    pub grant_type: Option<String>,
    /// The scopes requested (for `client_credentials`, none: the server's defaults).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The claims of the tokens the server would issue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewAnswer {
    /// The access token's claims.
    #[schema(value_type = Object)]
    pub access_token: Value,
    /// The ID token's claims, when `openid` is granted to a user (without `at_hash`,
    /// which needs a signed access token); else null.
    #[schema(value_type = Option<Object>)]
    pub id_token: Option<Value>,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

const MAX_SCOPES: usize = 100;

/// Preview the tokens' claims. A request the server would refuse (its access policy
/// denies, the user may not use the app, a scope it does not offer) is 400 `E0000001`
/// with the reason.
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/tokens/preview", operation_id = "previewTokens", tag = "authorizationServers",
    params(("id" = String, Path)), request_body = PreviewBody,
    responses((status = 200, description = "The claims", body = PreviewAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn preview(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let client_id = body
        .client_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid("clientId", "is required"))?;
    let grant_type = body
        .grant_type
        .as_deref()
        .ok_or_else(|| ApiError::invalid("grantType", "is required"))?;
    if body.scopes.len() > MAX_SCOPES {
        return Err(ApiError::invalid(
            "scopes",
            &format!("must be at most {MAX_SCOPES}"),
        ));
    }
    if body
        .scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(ApiError::invalid(
            "scopes",
            "each must be one scope name, without spaces",
        ));
    }
    let request = PreviewRequest {
        server: &server,
        client_id,
        user_id: body.user_id.as_deref(),
        grant_type,
        scopes: &body.scopes,
    };
    match preview::preview(&state, &request, state.clock.now()).await {
        Ok(p) => Ok(Json(PreviewAnswer {
            access_token: p.access_token,
            id_token: p.id_token,
            scopes: p.scopes,
        })
        .into_response()),
        Err(PreviewError::Refused { field, reason }) => Err(ApiError::invalid(field, &reason)),
        Err(PreviewError::Unavailable(e)) => Err(e.into()),
    }
}
