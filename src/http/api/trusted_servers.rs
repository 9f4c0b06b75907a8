//! `/api/v1/authorizationServers/{id}/associatedServers`: Okta's trusted servers, the
//! other custom servers whose access tokens a server accepts for an on-behalf-of token
//! exchange (RFC 8693). The rules are in `admin::trusted_servers`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::authorization_servers::{custom, server_json};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller};
use crate::admin::trusted_servers;
use crate::http::SharedState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssociatedServersBody {
    /// The ids of the custom servers to trust (added to those already trusted).
    pub trusted: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssociatedQuery {
    /// `true` (default): the servers this one trusts; `false`: those that trust it.
    pub trusted: Option<bool>,
}

/// The servers this server trusts (`trusted=true`, the default) or that trust it.
#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/associatedServers", operation_id = "listAssociatedServersByTrustedType", tag = "authorizationServers", params(("id" = String, Path), AssociatedQuery),
    responses((status = 200, description = "The associated servers", body = [super::answers::AuthorizationServer]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AssociatedQuery>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let servers = if q.trusted.unwrap_or(true) {
        trusted_servers::trusted(&state.store, &id).await?
    } else {
        trusted_servers::trusting(&state.store, &id).await?
    };
    let body: Vec<Value> = servers.iter().map(|s| server_json(&state, s)).collect();
    Ok(Json(body).into_response())
}

/// Trust more servers: their access tokens become acceptable subject tokens here.
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/associatedServers", operation_id = "createAssociatedServers", tag = "authorizationServers", params(("id" = String, Path)), request_body = AssociatedServersBody,
    responses((status = 201, description = "The servers named, now trusted", body = [super::answers::AuthorizationServer]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssociatedServersBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let names = body.trusted.unwrap_or_default();
    let servers =
        trusted_servers::add(&state.store, &actor, &id, &names, state.clock.now()).await?;
    let body: Vec<Value> = servers.iter().map(|s| server_json(&state, s)).collect();
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Stop trusting a server.
#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}/associatedServers/{associatedServerId}", operation_id = "deleteAssociatedServer", tag = "authorizationServers", params(("id" = String, Path), ("associatedServerId" = String, Path)),
    responses((status = 204, description = "No longer trusted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, associated)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    trusted_servers::remove(&state.store, &actor, &id, &associated, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
