//! `/api/v1/groups`: Okta's Groups API and group membership.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, PageParams, link_headers, paged, query_pairs};
use super::links;
use crate::admin::groups;
use crate::http::SharedState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupProfile {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupBody {
    pub profile: Option<GroupProfile>,
}

impl GroupBody {
    fn parts(self) -> (String, String) {
        let p = self.profile.unwrap_or(GroupProfile {
            name: None,
            description: None,
        });
        (
            p.name.unwrap_or_default(),
            p.description.unwrap_or_default(),
        )
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A prefix of the group's name.
    pub q: Option<String>,
    pub after: Option<String>,
    /// 1 to 10000 (default 10000).
    pub limit: Option<i64>,
}

/// List groups, a page at a time.
#[utoipa::path(get, path = "/api/v1/groups", operation_id = "listGroups", tag = "groups", params(ListParams),
    responses((status = 200, description = "A page of groups", body = [super::answers::Group]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let (page, next) = groups::list(&state.store, p.q.as_deref(), p.after, p.limit).await?;
    let headers = link_headers(
        &state.config.base_url(),
        uri.path(),
        &query_pairs(uri.query()),
        next.as_deref(),
    );
    Ok((
        headers,
        Json(
            page.iter()
                .map(|g| links::group_json(&state.config.base_url(), g))
                .collect::<Vec<Value>>(),
        ),
    )
        .into_response())
}

/// Create a group.
#[utoipa::path(post, path = "/api/v1/groups", operation_id = "addGroup", tag = "groups", request_body = GroupBody,
    responses((status = 200, description = "The group", body = super::answers::Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Response, ApiError> {
    let (name, description) = body.parts();
    let group =
        groups::create(&state.store, &actor, &name, &description, state.clock.now()).await?;
    Ok(Json(links::group_json(&state.config.base_url(), &group)).into_response())
}

/// A group by id.
#[utoipa::path(get, path = "/api/v1/groups/{id}", operation_id = "getGroup", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, description = "The group", body = super::answers::Group), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let group = groups::find(&state.store, &id).await?;
    Ok(Json(links::group_json(&state.config.base_url(), &group)).into_response())
}

/// Replace a group's name and description.
#[utoipa::path(put, path = "/api/v1/groups/{id}", operation_id = "replaceGroup", tag = "groups", params(("id" = String, Path)), request_body = GroupBody,
    responses((status = 200, description = "The group", body = super::answers::Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn update(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Response, ApiError> {
    let (name, description) = body.parts();
    let group = groups::update(
        &state.store,
        &actor,
        &id,
        &name,
        &description,
        state.clock.now(),
    )
    .await?;
    Ok(Json(links::group_json(&state.config.base_url(), &group)).into_response())
}

/// Delete a group (its members stay).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", operation_id = "deleteGroup", tag = "groups", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    groups::delete(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The members of a group, by id, a page at a time (`limit` 1 to 1000, default 1000;
/// `Link` headers).
#[utoipa::path(get, path = "/api/v1/groups/{id}/users", operation_id = "listGroupUsers", tag = "groups", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "A page of users", body = [super::answers::User]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn members(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let group = groups::find(&state.store, &id).await?;
    let list = state
        .store
        .group_members(&group.id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    paged(
        &state.config.base_url(),
        &uri,
        list,
        |u| &u.id,
        &p,
        (1000, 1000),
        |u| links::user_json(&state.config.base_url(), u),
    )
}

/// Add a user to a group.
#[utoipa::path(put, path = "/api/v1/groups/{id}/users/{userId}", operation_id = "assignUserToGroup", tag = "groups", params(("id" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "A member"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn add_member(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    groups::add_member(&state.store, &actor, &id, &user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/users/{userId}", operation_id = "unassignUserFromGroup", tag = "groups", params(("id" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Not a member any more"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn remove_member(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    groups::remove_member(&state.store, &actor, &id, &user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
