//! `/api/v1/users`: Okta's Users API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, link_headers, query_pairs};
use super::links;
use crate::admin::users::{self, Deletion, Lifecycle, NewUser, ProfileChange, UserQuery};
use crate::admin::{AdminError, app_links, groups};
use crate::flows::email_links;
use crate::http::SharedState;
use crate::store::UserStatus;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordValue {
    pub value: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserCredentials {
    pub password: Option<PasswordValue>,
}

/// A user to create or change: `profile` (`login`, `email`, `firstName`, `lastName`
/// and other attributes) and `credentials.password.value`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserBody {
    #[schema(value_type = Option<Object>)]
    pub profile: Option<Map<String, Value>>,
    pub credentials: Option<UserCredentials>,
    /// Groups to add the new user to.
    #[serde(rename = "groupIds")]
    pub group_ids: Option<Vec<String>>,
}

impl UserBody {
    fn password(&self) -> Option<String> {
        self.credentials.as_ref()?.password.as_ref()?.value.clone()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// Activate the user (default true): ACTIVE with a password, PROVISIONED without.
    pub activate: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A prefix of the login, email, first name or last name.
    pub q: Option<String>,
    /// E.g. `status eq "ACTIVE" and lastUpdated gt "2026-01-01T00:00:00.000Z"`.
    pub filter: Option<String>,
    /// E.g. `profile.lastName sw "Li" or profile.email eq "a@example.com"`.
    pub search: Option<String>,
    /// The cursor from the `next` link.
    pub after: Option<String>,
    /// 1 to 200 (default 200).
    pub limit: Option<i64>,
}

fn user_response(state: &SharedState, status: StatusCode, user: &crate::store::User) -> Response {
    (
        status,
        Json(links::user_json(&state.config.base_url(), user)),
    )
        .into_response()
}

/// List users, a page at a time (`Link` headers with `rel="next"`).
#[utoipa::path(get, path = "/api/v1/users", operation_id = "listUsers", tag = "users", params(ListParams),
    responses((status = 200, description = "A page of users", body = [super::answers::User]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let query = UserQuery {
        q: p.q,
        filter: p.filter,
        search: p.search,
        after: p.after,
        limit: p.limit,
    };
    let (page, next) = users::list(&state.store, &query).await?;
    let headers = link_headers(
        &state.config.base_url(),
        uri.path(),
        &query_pairs(uri.query()),
        next.as_deref(),
    );
    let base = state.config.base_url();
    let body: Vec<Value> = page.iter().map(|u| links::user_json(&base, u)).collect();
    Ok((headers, Json(body)).into_response())
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", operation_id = "createUser", tag = "users", params(CreateParams), request_body = UserBody,
    responses((status = 200, description = "The user", body = super::answers::User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<CreateParams>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<Response, ApiError> {
    let profile = body.profile.clone().unwrap_or_default();
    let profile = users::Profile::from_json(&profile)?;
    let new = NewUser {
        login: profile.login,
        password: body.password(),
        email: profile.email,
        first_name: profile.first_name,
        last_name: profile.last_name,
        extra: profile.extra,
        activate: p.activate,
    };
    let now = state.clock.now();
    let mut group_ids = Vec::new();
    for id in body.group_ids.unwrap_or_default() {
        group_ids.push(groups::find(&state.store, &id).await?.id);
    }
    let user = users::create(&state.store, &state.passwords, &actor, new, now).await?;
    for id in group_ids {
        groups::add_member(&state.store, &actor, &id, &user.id, now).await?;
    }
    Ok(user_response(&state, StatusCode::OK, &user))
}

/// A user by id or login.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users", params(("id" = String, Path, description = "User id or login")),
    responses((status = 200, description = "The user", body = super::answers::User), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(user_response(
        &state,
        StatusCode::OK,
        &users::find(&state.store, &id).await?,
    ))
}

/// Change some profile attributes (and the password).
#[utoipa::path(post, path = "/api/v1/users/{id}", operation_id = "updateUser", tag = "users", params(("id" = String, Path)), request_body = UserBody,
    responses((status = 200, description = "The user", body = super::answers::User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn update(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<Response, ApiError> {
    let password = body.password();
    let new_password = password.is_some();
    let change = body.profile.map(ProfileChange::Merge);
    let now = state.clock.now();
    let user = users::update(
        &state.store,
        &state.passwords,
        &actor,
        &id,
        change,
        password,
        now,
    )
    .await?;
    if new_password {
        state.mail.password_changed(&user, now).await;
    }
    Ok(user_response(&state, StatusCode::OK, &user))
}

/// Replace the profile (attributes left out are cleared).
#[utoipa::path(put, path = "/api/v1/users/{id}", operation_id = "replaceUser", tag = "users", params(("id" = String, Path)), request_body = UserBody,
    responses((status = 200, description = "The user", body = super::answers::User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn replace(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<Response, ApiError> {
    let password = body.password();
    let profile = body
        .profile
        .ok_or_else(|| ApiError::invalid("profile", "is required"))?;
    let new_password = password.is_some();
    let now = state.clock.now();
    let user = users::update(
        &state.store,
        &state.passwords,
        &actor,
        &id,
        Some(ProfileChange::Replace(profile)),
        password,
        now,
    )
    .await?;
    if new_password {
        state.mail.password_changed(&user, now).await;
    }
    Ok(user_response(&state, StatusCode::OK, &user))
}

/// Deactivate the user, or, when already DEPROVISIONED, delete them.
#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "deleteUser", tag = "users", params(("id" = String, Path)),
    responses((status = 204, description = "Deactivated or deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match users::delete(&state.store, &actor, &id, state.clock.now()).await? {
        Deletion::Deactivated(_) | Deletion::Deleted => Ok(StatusCode::NO_CONTENT),
    }
}

async fn lifecycle(
    state: &SharedState,
    actor: &crate::admin::Actor,
    id: &str,
    op: Lifecycle,
) -> Result<Response, ApiError> {
    users::lifecycle(&state.store, actor, id, op, state.clock.now()).await?;
    Ok(Json(json!({})).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivateParams {
    /// For a user without a password (who becomes PROVISIONED): e-mail them the
    /// activation link (default true, when the server has `[smtp]`); false: the answer
    /// carries `activationUrl` and `activationToken` instead.
    #[serde(rename = "sendEmail")]
    #[param(rename = "sendEmail")]
    pub send_email: Option<bool>,
}

/// STAGED, PROVISIONED or DEPROVISIONED → ACTIVE (PROVISIONED without a password,
/// who then gets an activation link: by e-mail, or in the answer with
/// `sendEmail=false`).
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/activate", operation_id = "activateUser", tag = "users", params(("id" = String, Path), ActivateParams),
    responses((status = 200, description = "Activated: `{}`, or `activationUrl` and `activationToken` with `sendEmail=false`"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ActivateParams>,
) -> Result<Response, ApiError> {
    if p.send_email == Some(true) && !state.mail.enabled() {
        return Err(ApiError::invalid(
            "sendEmail",
            "this server sends no e-mail (no [smtp] in its configuration)",
        ));
    }
    let now = state.clock.now();
    let user = users::lifecycle(&state.store, &actor, &id, Lifecycle::Activate, now).await?;
    if user.status != UserStatus::Provisioned {
        return Ok(Json(json!({})).into_response());
    }
    let send = p.send_email.unwrap_or(true);
    if send && !state.mail.enabled() {
        return Ok(Json(json!({})).into_response());
    }
    let link = email_links::activation(&state, &user, send, now)
        .await
        .map_err(AdminError::from)?;
    Ok(match (send, link) {
        (false, Some(link)) => Json(json!({
            "activationUrl": link.url,
            "activationToken": link.token,
        }))
        .into_response(),
        _ => Json(json!({})).into_response(),
    })
}

/// Gatehouse's own (Okta has no such operation): e-mails the user a link that
/// confirms their current address; following it makes `email_verified` true.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/verify_email", operation_id = "sendVerificationEmail", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "The e-mail is queued: `{}`"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn verify_email(
    State(state): State<SharedState>,
    Caller(_): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !state.mail.enabled() {
        return Err(ApiError::invalid(
            "email",
            "this server sends no e-mail (no [smtp] in its configuration)",
        ));
    }
    let user = users::find(&state.store, &id).await?;
    match email_links::send_verification(&state, &user, state.clock.now())
        .await
        .map_err(AdminError::from)?
    {
        Some(_) => Ok(Json(json!({})).into_response()),
        None => Err(ApiError::invalid("email", "the user has no e-mail address")),
    }
}

/// → DEPROVISIONED: the user's sessions end and they cannot sign in.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/deactivate", operation_id = "deactivateUser", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Deactivated", body = super::answers::User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(&state, &actor, &id, Lifecycle::Deactivate).await
}

/// ACTIVE → SUSPENDED: the user's sessions end and they cannot sign in.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/suspend", operation_id = "suspendUser", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Suspended", body = super::answers::User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn suspend(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(&state, &actor, &id, Lifecycle::Suspend).await
}

/// SUSPENDED → ACTIVE.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/unsuspend", operation_id = "unsuspendUser", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Unsuspended", body = super::answers::User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn unsuspend(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(&state, &actor, &id, Lifecycle::Unsuspend).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    #[serde(rename = "oldPassword")]
    pub old_password: Option<PasswordValue>,
    #[serde(rename = "newPassword")]
    pub new_password: Option<PasswordValue>,
}

/// Change the password, given the current one.
#[utoipa::path(post, path = "/api/v1/users/{id}/credentials/change_password", operation_id = "changePassword", tag = "users", params(("id" = String, Path)), request_body = ChangePasswordBody,
    responses((status = 200, description = "The user's credentials", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn change_password(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    let old = body
        .old_password
        .and_then(|p| p.value)
        .ok_or_else(|| ApiError::invalid("oldPassword", "is required"))?;
    let new = body
        .new_password
        .and_then(|p| p.value)
        .ok_or_else(|| ApiError::invalid("newPassword", "is required"))?;
    let now = state.clock.now();
    let user =
        users::change_password(&state.store, &state.passwords, &actor, &id, old, new, now).await?;
    state.mail.password_changed(&user, now).await;
    Ok(Json(users::to_json(&user)["credentials"].clone()).into_response())
}

/// The groups a user is in.
#[utoipa::path(get, path = "/api/v1/users/{id}/groups", operation_id = "listUserGroups", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Groups", body = [super::answers::Group]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn groups_of(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = users::find(&state.store, &id).await?;
    let list = state
        .store
        .user_groups(&user.id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    let base = state.config.base_url();
    Ok(Json(
        list.iter()
            .map(|g| links::group_json(&base, g))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// Okta's expire password: the user (ACTIVE, with a password) moves to
/// PASSWORD_EXPIRED and cannot sign in until a new password is set.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/expire_password", operation_id = "expirePassword", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "The user, PASSWORD_EXPIRED", body = super::answers::User), (status = 401, body = ErrorBody), (status = 403, description = "E0000038: not ACTIVE, or no password", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn expire_password(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = users::expire_password(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(user_response(&state, StatusCode::OK, &user))
}

/// Okta's unlock: a LOCKED_OUT user (the password policy's lockout) becomes ACTIVE and
/// can sign in again; `{}` as Okta answers.
#[utoipa::path(post, path = "/api/v1/users/{id}/lifecycle/unlock", operation_id = "unlockUser", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Unlocked: `{}`"), (status = 401, body = ErrorBody), (status = 403, description = "E0000038: the user is not LOCKED_OUT", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn unlock(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    users::unlock(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

/// The apps the user can sign in to, as Okta's app links.
#[utoipa::path(get, path = "/api/v1/users/{id}/appLinks", operation_id = "listAppLinks", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "App links", body = [super::answers::AppLink]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn app_links(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(app_links::list(&state.store, &id).await?).into_response())
}
