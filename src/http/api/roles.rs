//! Okta's role assignment API (`/api/v1/users/{userId}/roles`,
//! `/api/v1/groups/{groupId}/roles`) and app grants (`/api/v1/apps/{appId}/grants`),
//! over `admin::roles`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::admin::roles::{self, Holder};
use crate::http::SharedState;

/// A role to grant: Okta's `{"type": "SUPER_ADMIN"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    /// SUPER_ADMIN, ORG_ADMIN, APP_ADMIN or READ_ONLY_ADMIN.
    #[serde(rename = "type")]
    pub role_type: Option<String>,
}

/// Okta's role object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleAnswer {
    /// `ra1…`
    pub id: String,
    pub label: String,
    #[serde(rename = "type")]
    pub role_type: String,
    /// ACTIVE.
    pub status: String,
    pub created: String,
    pub last_updated: String,
    /// USER (granted to the user) or GROUP (to a group).
    pub assignment_type: String,
}

/// An okta.* scope to grant to an app: Okta's `{"issuer", "scopeId"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantBody {
    /// The org authorization server's issuer (the public URL).
    pub issuer: Option<String>,
    /// `okta.users.read`, ...
    pub scope_id: Option<String>,
}

/// Okta's OAuth 2.0 scope consent grant object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantAnswer {
    /// `oag…`
    pub id: String,
    pub status: String,
    pub created: String,
    pub last_updated: String,
    pub issuer: String,
    pub client_id: String,
    pub scope_id: String,
    /// ADMIN.
    pub source: String,
}

fn role_type(body: RoleBody) -> Result<crate::admin::permissions::Role, ApiError> {
    let text = body
        .role_type
        .ok_or_else(|| ApiError::invalid("type", "is required"))?;
    Ok(roles::parse_role(&text)?)
}

async fn list(state: &SharedState, holder: Holder) -> Result<Response, ApiError> {
    let list = roles::list(&state.store, &holder).await?;
    Ok(Json(list.iter().map(roles::to_json).collect::<Vec<_>>()).into_response())
}

async fn grant(
    state: &SharedState,
    actor: &crate::admin::Actor,
    holder: Holder,
    body: RoleBody,
) -> Result<Response, ApiError> {
    let role = role_type(body)?;
    let assignment = roles::grant(&state.store, actor, &holder, role, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(roles::to_json(&assignment))).into_response())
}

/// The admin roles granted to a user itself (not those through groups).
#[utoipa::path(get, path = "/api/v1/users/{userId}/roles", operation_id = "listRolesAssignedToUser", tag = "roles",
    params(("userId" = String, Path, description = "Id or login")),
    responses((status = 200, description = "Roles", body = [RoleAnswer]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.read"])))]
pub async fn list_user(
    State(state): State<SharedState>,
    _: Caller,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let holder = roles::user(&state.store, &user).await?;
    list(&state, holder).await
}

/// Grant a role to a user.
#[utoipa::path(post, path = "/api/v1/users/{userId}/roles", operation_id = "assignRoleToUser", tag = "roles",
    params(("userId" = String, Path, description = "Id or login")), request_body = RoleBody,
    responses((status = 201, description = "Granted (or already granted)", body = RoleAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn grant_user(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    let holder = roles::user(&state.store, &user).await?;
    grant(&state, &actor, holder, body).await
}

/// Revoke a role from a user: the user's tokens lose it at their next request.
#[utoipa::path(delete, path = "/api/v1/users/{userId}/roles/{roleId}", operation_id = "unassignRoleFromUser", tag = "roles",
    params(("userId" = String, Path, description = "Id or login"), ("roleId" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn revoke_user(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((user, role)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let holder = roles::user(&state.store, &user).await?;
    roles::revoke(&state.store, &actor, &holder, &role, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The admin roles granted to a group: every member has them.
#[utoipa::path(get, path = "/api/v1/groups/{groupId}/roles", operation_id = "listGroupAssignedRoles", tag = "roles",
    params(("groupId" = String, Path)),
    responses((status = 200, description = "Roles", body = [RoleAnswer]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.read"])))]
pub async fn list_group(
    State(state): State<SharedState>,
    _: Caller,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    let holder = roles::group(&state.store, &group).await?;
    list(&state, holder).await
}

/// Grant a role to a group.
#[utoipa::path(post, path = "/api/v1/groups/{groupId}/roles", operation_id = "assignRoleToGroup", tag = "roles",
    params(("groupId" = String, Path)), request_body = RoleBody,
    responses((status = 201, description = "Granted (or already granted)", body = RoleAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn grant_group(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(group): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    let holder = roles::group(&state.store, &group).await?;
    grant(&state, &actor, holder, body).await
}

/// Revoke a role from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{groupId}/roles/{roleId}", operation_id = "unassignRoleFromGroup", tag = "roles",
    params(("groupId" = String, Path), ("roleId" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn revoke_group(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((group, role)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let holder = roles::group(&state.store, &group).await?;
    roles::revoke(&state.store, &actor, &holder, &role, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The okta.* scopes granted to an app.
#[utoipa::path(get, path = "/api/v1/apps/{appId}/grants", operation_id = "listScopeConsentGrants", tag = "apps",
    params(("appId" = String, Path)),
    responses((status = 200, description = "Grants", body = [GrantAnswer]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.apps.read"])))]
pub async fn list_grants(
    State(state): State<SharedState>,
    _: Caller,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let issuer = state.config.base_url();
    let list = roles::scope_grants(&state.store, &app).await?;
    Ok(Json(
        list.iter()
            .map(|g| roles::grant_json(g, &issuer))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// Grant an okta.* scope to an app, so it may ask the org server for it. A privilege
/// as strong as the scope itself: it needs `okta.roles.manage` (a super admin).
#[utoipa::path(post, path = "/api/v1/apps/{appId}/grants", operation_id = "grantConsentToScope", tag = "apps",
    params(("appId" = String, Path)), request_body = GrantBody,
    responses((status = 201, description = "Granted (or already granted)", body = GrantAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn grant_scope(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<GrantBody>,
) -> Result<Response, ApiError> {
    let issuer = state.config.base_url();
    let given = body
        .issuer
        .ok_or_else(|| ApiError::invalid("issuer", "is required"))?;
    let scope = body
        .scope_id
        .ok_or_else(|| ApiError::invalid("scopeId", "is required"))?;
    let grant = roles::grant_scope(
        &state.store,
        &actor,
        &app,
        &given,
        &issuer,
        &scope,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(roles::grant_json(&grant, &issuer)),
    )
        .into_response())
}

/// Revoke an app grant: the app's tokens lose the scope at their next request.
#[utoipa::path(delete, path = "/api/v1/apps/{appId}/grants/{grantId}", operation_id = "revokeScopeConsentGrant", tag = "apps",
    params(("appId" = String, Path), ("grantId" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = []), ("oauth2" = ["okta.roles.manage"])))]
pub async fn revoke_scope(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((app, grant)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    roles::revoke_scope(&state.store, &actor, &app, &grant, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
