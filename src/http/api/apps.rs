//! `/api/v1/apps`: Okta's Applications API for OpenID Connect apps, their client
//! secrets, and their user and group assignments.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, PageParams, link_headers, paged, query_pairs};
use super::links;
use crate::admin::apps::{self, NewApp};
use crate::clock::rfc3339;
use crate::http::SharedState;
use crate::store::{Group, LogoutChannels, Status, User};

#[derive(Debug, Deserialize, ToSchema)]
pub struct OAuthClientCredentials {
    pub token_endpoint_auth_method: Option<String>,
    #[serde(rename = "autoKeyRotation")]
    pub auto_key_rotation: Option<bool>,
    /// /authorize requires a code_challenge; always true for public clients (false is
    /// refused), default false for confidential ones.
    pub pkce_required: Option<bool>,
    /// Gatehouse's: accept the `plain` PKCE method from this confidential app (default
    /// false: S256 only); each use is a System Log warning.
    pub pkce_allow_plain: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppCredentials {
    #[serde(rename = "oauthClient")]
    pub oauth_client: Option<OAuthClientCredentials>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshTokenSettings {
    pub rotation_type: Option<String>,
    /// Seconds (0-60) a rotated refresh token may be retried.
    pub leeway: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OAuthClientSettings {
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub application_type: Option<String>,
    pub refresh_token: Option<RefreshTokenSettings>,
    /// `private_key_jwt`: the client's public keys, `{"keys": [...]}`.
    #[schema(value_type = Object)]
    pub jwks: Option<Value>,
    /// `private_key_jwt`: where the client publishes its JWKS (https).
    pub jwks_uri: Option<String>,
    /// Every token request must carry a DPoP proof (RFC 9449).
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126 §6: authorization requests only through `/v1/par` (default false).
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9101 §10.5: the one JWS algorithm of the app's request objects.
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5: authorization requests only as a signed request object.
    pub require_signed_request_object: Option<bool>,
    /// Front-Channel Logout 1.0: loaded in an iframe of the signed-out page; the
    /// scheme, host and port of one of the redirect URIs.
    pub frontchannel_logout_uri: Option<String>,
    /// The iframe's URI carries `iss` and `sid` (default false).
    pub frontchannel_logout_session_required: Option<bool>,
    /// Back-Channel Logout 1.0: where a logout token is POSTed (https, a public host).
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens carry `sid` (they always do; default false).
    pub backchannel_logout_session_required: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppSettings {
    #[serde(rename = "oauthClient")]
    pub oauth_client: Option<OAuthClientSettings>,
}

/// An OpenID Connect app as Okta's API takes it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AppBody {
    /// `oidc_client`.
    pub name: Option<String>,
    pub label: Option<String>,
    /// `OPENID_CONNECT`.
    #[serde(rename = "signOnMode")]
    pub sign_on_mode: Option<String>,
    pub credentials: Option<AppCredentials>,
    pub settings: Option<AppSettings>,
}

impl AppBody {
    fn into_new_app(self, activate: Option<bool>) -> NewApp {
        let auth = self.credentials.and_then(|c| c.oauth_client);
        let s = self.settings.and_then(|s| s.oauth_client);
        let require_par = s
            .as_ref()
            .and_then(|s| s.require_pushed_authorization_requests)
            .unwrap_or(false);
        let logout = s
            .as_ref()
            .map_or_else(LogoutChannels::default, |s| LogoutChannels {
                frontchannel_logout_uri: s.frontchannel_logout_uri.clone(),
                frontchannel_logout_session_required: s
                    .frontchannel_logout_session_required
                    .unwrap_or(false),
                backchannel_logout_uri: s.backchannel_logout_uri.clone(),
                backchannel_logout_session_required: s
                    .backchannel_logout_session_required
                    .unwrap_or(false),
            });
        let (request_object_signing_alg, require_signed_request_object) =
            s.as_ref().map_or((None, false), |s| {
                (
                    s.request_object_signing_alg.clone(),
                    s.require_signed_request_object.unwrap_or(false),
                )
            });
        let (
            redirect_uris,
            post_logout,
            response_types,
            grant_types,
            application_type,
            refresh,
            jwks,
            jwks_uri,
            dpop,
        ) = match s {
            Some(s) => (
                s.redirect_uris,
                s.post_logout_redirect_uris,
                s.response_types,
                s.grant_types,
                s.application_type,
                s.refresh_token,
                s.jwks,
                s.jwks_uri,
                s.dpop_bound_access_tokens,
            ),
            None => (None, None, None, None, None, None, None, None, None),
        };
        let (pkce_required, pkce_allow_plain) = auth
            .as_ref()
            .map_or((None, None), |a| (a.pkce_required, a.pkce_allow_plain));
        NewApp {
            pkce_required,
            pkce_allow_plain,
            name: self.label.unwrap_or_default(),
            redirect_uris: redirect_uris.unwrap_or_default(),
            post_logout_redirect_uris: post_logout.unwrap_or_default(),
            auth_method: auth.and_then(|a| a.token_endpoint_auth_method),
            grant_types: grant_types.unwrap_or_default(),
            refresh_token_leeway: refresh.and_then(|r| r.leeway),
            application_type,
            response_types,
            okta_name: self.name,
            sign_on_mode: self.sign_on_mode,
            activate,
            jwks,
            jwks_uri,
            dpop_bound_access_tokens: dpop,
            require_pushed_authorization_requests: require_par,
            request_object_signing_alg,
            require_signed_request_object,
            logout,
            allow_private_jwks_uri: false,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// Activate the app (default true).
    pub activate: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A prefix of the app's label.
    pub q: Option<String>,
    /// E.g. `status eq "ACTIVE"`.
    pub filter: Option<String>,
    pub after: Option<String>,
    /// 1 to 200 (default 20).
    pub limit: Option<i64>,
}

/// List apps, a page at a time.
#[utoipa::path(get, path = "/api/v1/apps", operation_id = "listApplications", tag = "apps", params(ListParams),
    responses((status = 200, description = "A page of apps", body = [super::answers::Application]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let (page, next) = apps::list(
        &state.store,
        p.q.as_deref(),
        p.filter.as_deref(),
        p.after,
        p.limit,
    )
    .await?;
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
                .map(|c| links::app_json(&state.config.base_url(), c, None))
                .collect::<Vec<Value>>(),
        ),
    )
        .into_response())
}

/// Register an OpenID Connect app; the answer has its `client_secret`, shown this once.
#[utoipa::path(post, path = "/api/v1/apps", operation_id = "createApplication", tag = "apps", params(CreateParams), request_body = AppBody,
    responses((status = 200, description = "The app, with its secret", body = super::answers::Application), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<CreateParams>,
    ApiJson(body): ApiJson<AppBody>,
) -> Result<Response, ApiError> {
    let created = apps::create(
        &state.store,
        &state.master,
        &actor,
        NewApp {
            allow_private_jwks_uri: state.config.client_auth.allow_private_jwks_uri,
            ..body.into_new_app(p.activate)
        },
        state.clock.now(),
    )
    .await?;
    Ok(Json(links::app_json(
        &state.config.base_url(),
        &created.client,
        created.secret.as_deref(),
    ))
    .into_response())
}

/// An app by id (its client id).
#[utoipa::path(get, path = "/api/v1/apps/{id}", operation_id = "getApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 200, description = "The app", body = super::answers::Application), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    Ok(Json(links::app_json(&state.config.base_url(), &client, None)).into_response())
}

/// Replace an app's settings (its secrets and status stay; switching to
/// `client_secret_jwt` generates a sealed secret, shown this once, when none is).
#[utoipa::path(put, path = "/api/v1/apps/{id}", operation_id = "replaceApplication", tag = "apps", params(("id" = String, Path)), request_body = AppBody,
    responses((status = 200, description = "The app", body = super::answers::Application), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn update(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AppBody>,
) -> Result<Response, ApiError> {
    let (client, secret) = apps::update(
        &state.store,
        &state.master,
        &actor,
        &id,
        NewApp {
            allow_private_jwks_uri: state.config.client_auth.allow_private_jwks_uri,
            ..body.into_new_app(None)
        },
        state.clock.now(),
    )
    .await?;
    Ok(Json(links::app_json(
        &state.config.base_url(),
        &client,
        secret.as_deref(),
    ))
    .into_response())
}

/// Delete an INACTIVE app.
#[utoipa::path(delete, path = "/api/v1/apps/{id}", operation_id = "deleteApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, description = "The app is active", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    apps::delete(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Activate an app.
#[utoipa::path(post, path = "/api/v1/apps/{id}/lifecycle/activate", operation_id = "activateApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 200, description = "Active", body = super::answers::Application), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    apps::set_active(&state.store, &actor, &id, true, state.clock.now()).await?;
    Ok(Json(json!({})).into_response())
}

/// Deactivate an app: `/token` answers `invalid_client`, `/authorize` an error page.
#[utoipa::path(post, path = "/api/v1/apps/{id}/lifecycle/deactivate", operation_id = "deactivateApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 200, description = "Inactive", body = super::answers::Application), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    apps::set_active(&state.store, &actor, &id, false, state.clock.now()).await?;
    Ok(Json(json!({})).into_response())
}

/// The app's client secrets (never their values).
#[utoipa::path(get, path = "/api/v1/apps/{id}/credentials/secrets", operation_id = "listOAuth2ClientSecretsForApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 200, description = "Secrets", body = [super::answers::ClientSecret]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn secrets(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    Ok(Json(
        client
            .secrets
            .iter()
            .map(|s| links::secret_json(&state.config.base_url(), &client.client_id, s, None))
            .collect::<Vec<Value>>(),
    )
    .into_response())
}

/// A new ACTIVE client secret, shown this once, beside the existing one (at most two):
/// move clients to it, then deactivate and delete the old one.
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials/secrets", operation_id = "createOAuth2ClientSecretForApplication", tag = "apps", params(("id" = String, Path)),
    responses((status = 201, description = "The new secret", body = super::answers::ClientSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn new_secret(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (client, secret, value) =
        apps::create_secret(&state.store, &state.master, &actor, &id, state.clock.now()).await?;
    let base = state.config.base_url();
    Ok((
        StatusCode::CREATED,
        Json(links::secret_json(
            &base,
            &client.client_id,
            &secret,
            Some(&value),
        )),
    )
        .into_response())
}

/// One client secret (never its value).
#[utoipa::path(get, path = "/api/v1/apps/{id}/credentials/secrets/{secretId}", operation_id = "getOAuth2ClientSecretForApplication", tag = "apps", params(("id" = String, Path), ("secretId" = String, Path)),
    responses((status = 200, description = "The secret", body = super::answers::ClientSecret), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get_secret(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    let secret = client
        .secrets
        .iter()
        .find(|s| s.id == secret_id)
        .ok_or_else(|| ApiError::not_found(&format!("{secret_id} (ClientSecret)")))?;
    Ok(Json(links::secret_json(
        &state.config.base_url(),
        &client.client_id,
        secret,
        None,
    ))
    .into_response())
}

/// Activate a client secret.
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials/secrets/{secretId}/lifecycle/activate", operation_id = "activateOAuth2ClientSecretForApplication", tag = "apps", params(("id" = String, Path), ("secretId" = String, Path)),
    responses((status = 200, description = "The secret", body = super::answers::ClientSecret), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn activate_secret(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let secret = apps::set_secret_active(
        &state.store,
        &actor,
        &id,
        &secret_id,
        true,
        state.clock.now(),
    )
    .await?;
    Ok(Json(links::secret_json(
        &state.config.base_url(),
        &id,
        &secret,
        None,
    ))
    .into_response())
}

/// Deactivate a client secret: it stops authenticating at once. The last active one
/// cannot be deactivated.
#[utoipa::path(post, path = "/api/v1/apps/{id}/credentials/secrets/{secretId}/lifecycle/deactivate", operation_id = "deactivateOAuth2ClientSecretForApplication", tag = "apps", params(("id" = String, Path), ("secretId" = String, Path)),
    responses((status = 200, description = "The secret", body = super::answers::ClientSecret), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn deactivate_secret(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let secret = apps::set_secret_active(
        &state.store,
        &actor,
        &id,
        &secret_id,
        false,
        state.clock.now(),
    )
    .await?;
    Ok(Json(links::secret_json(
        &state.config.base_url(),
        &id,
        &secret,
        None,
    ))
    .into_response())
}

/// Delete an INACTIVE client secret.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/credentials/secrets/{secretId}", operation_id = "deleteOAuth2ClientSecretFromApplication", tag = "apps", params(("id" = String, Path), ("secretId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete_secret(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    apps::delete_secret(&state.store, &actor, &id, &secret_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Okta's app user.
fn app_user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "scope": "USER",
        "status": Status::active_if(user.is_active()),
        "created": rfc3339(user.created_at),
        "lastUpdated": rfc3339(user.updated_at),
        "statusChanged": user.status_changed_at.map(rfc3339),
        "syncState": "DISABLED",
        "credentials": { "userName": user.login },
        "profile": {},
    })
}

fn app_group_json(group: &Group, priority: i64) -> Value {
    json!({ "id": group.id, "priority": priority, "lastUpdated": rfc3339(group.updated_at), "profile": {} })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppUserBody {
    /// The user's id (or login).
    pub id: Option<String>,
}

/// The users assigned to an app.
/// A page at a time, by user id (`limit` 1 to 500, default 50; `Link` headers).
#[utoipa::path(get, path = "/api/v1/apps/{id}/users", operation_id = "listApplicationUsers", tag = "apps", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "A page of app users", body = [super::answers::AppUser]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn users(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    let list = state
        .store
        .assigned_users(&client.client_id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    paged(
        &state.config.base_url(),
        &uri,
        list,
        |u| &u.id,
        &p,
        (50, 500),
        app_user_json,
    )
}

/// Assign a user to an app.
#[utoipa::path(post, path = "/api/v1/apps/{id}/users", operation_id = "assignUserToApplication", tag = "apps", params(("id" = String, Path)), request_body = AppUserBody,
    responses((status = 200, description = "The app user", body = super::answers::AppUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn assign_user(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AppUserBody>,
) -> Result<Response, ApiError> {
    let user_id = body
        .id
        .ok_or_else(|| ApiError::invalid("id", "is required"))?;
    let (_, user) =
        apps::assign_user(&state.store, &actor, &id, &user_id, state.clock.now()).await?;
    Ok(Json(app_user_json(&user)).into_response())
}

/// One assigned user.
#[utoipa::path(get, path = "/api/v1/apps/{id}/users/{userId}", operation_id = "getApplicationUser", tag = "apps", params(("id" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "The app user", body = super::answers::AppUser), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get_user(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    let list = state
        .store
        .assigned_users(&client.client_id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    let user = list
        .iter()
        .find(|u| u.id == user_id)
        .ok_or_else(|| ApiError::not_found(&format!("{user_id} (AppUser)")))?;
    Ok(Json(app_user_json(user)).into_response())
}

/// Unassign a user from an app.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/users/{userId}", operation_id = "unassignUserFromApplication", tag = "apps", params(("id" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Unassigned"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn unassign_user(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    apps::unassign_user(&state.store, &actor, &id, &user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppGroupBody {
    /// 0 to 100 (default 0).
    pub priority: Option<i64>,
}

/// The groups assigned to an app.
/// A page at a time, by group id (`limit` 1 to 200, default 20; `Link` headers).
#[utoipa::path(get, path = "/api/v1/apps/{id}/groups", operation_id = "listApplicationGroupAssignments", tag = "apps", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "A page of group assignments", body = [super::answers::ApplicationGroupAssignment]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn groups(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let client = apps::find(&state.store, &id).await?;
    let list = state
        .store
        .assigned_groups(&client.client_id)
        .await
        .map_err(crate::admin::AdminError::from)?;
    paged(
        &state.config.base_url(),
        &uri,
        list,
        |(g, _)| &g.id,
        &p,
        (20, 200),
        |(g, p)| app_group_json(g, *p),
    )
}

/// Assign a group to an app (or change its priority). The body may be empty.
#[utoipa::path(put, path = "/api/v1/apps/{id}/groups/{groupId}", operation_id = "assignGroupToApplication", tag = "apps", params(("id" = String, Path), ("groupId" = String, Path)), request_body = AppGroupBody,
    responses((status = 200, description = "The assignment", body = super::answers::ApplicationGroupAssignment), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn assign_group(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, group_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let priority = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        super::extract::parse_json::<AppGroupBody>(&body)?.priority
    };
    let (_, group, priority) = apps::assign_group(
        &state.store,
        &actor,
        &id,
        &group_id,
        priority,
        state.clock.now(),
    )
    .await?;
    Ok(Json(app_group_json(&group, priority)).into_response())
}

/// Unassign a group from an app.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/groups/{groupId}", operation_id = "unassignApplicationFromGroup", tag = "apps", params(("id" = String, Path), ("groupId" = String, Path)),
    responses((status = 204, description = "Unassigned"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn unassign_group(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, group_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    apps::unassign_group(&state.store, &actor, &id, &group_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
