//! `/api/v1/authorizationServers`: Okta's Authorization Servers API for the custom
//! servers (the org server is not among them, as in Okta): the servers, their scopes,
//! claims, access policies and rules, and their public keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, PageParams, paged};
use super::links;
use crate::admin::AdminError;
use crate::admin::policies::{self, NewPolicy, NewRule};
use crate::admin::servers::{self, NewClaim, NewScope, NewServer};
use crate::http::{AppState, SharedState};
use crate::store::{AuthServer, StoreError};
use crate::tokens::jose;
use crate::tokens::keys::KeyError;

/// Okta's server with its `_links`.
fn server_json(state: &AppState, server: &AuthServer) -> Value {
    let issuer = state.issuer(server);
    let root = links::root(&state.config.base_url());
    links::with(
        servers::to_json(server, &issuer, &state.audience(server)),
        links::server(&root, server, &issuer),
    )
}

/// A custom server (the org server is not served here, as in Okta).
pub(super) async fn custom(state: &AppState, id: &str) -> Result<AuthServer, ApiError> {
    match servers::find(&state.store, id).await? {
        server if server.is_org() => {
            Err(ApiError::not_found(&format!("{id} (AuthorizationServer)")))
        }
        server => Ok(server),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServerBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Exactly one audience (the `aud` of access tokens).
    pub audiences: Option<Vec<String>>,
    /// `credentials.signing.alg`: Gatehouse's extension, `RS256` (default) or `ES256`.
    pub credentials: Option<ServerCredentials>,
    /// Gatehouse's extension (RFC 7662 §4): who may introspect the server's tokens.
    pub introspection: Option<IntrospectionBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IntrospectionBody {
    /// On: only the token's own client and `resourceServers` get `active: true` for an
    /// access token. Off (default): any confidential client of the server.
    pub restricted: Option<bool>,
    /// Client ids of the apps that are resource servers of the server's audience.
    #[serde(rename = "resourceServers")]
    pub resource_servers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServerCredentials {
    pub signing: Option<ServerSigning>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServerSigning {
    /// The JWS algorithm of the server's tokens: `RS256` or `ES256`.
    pub alg: Option<String>,
}

impl ServerBody {
    fn into_new(self) -> Result<NewServer, AdminError> {
        Ok(NewServer {
            audience: servers::one_audience(self.audiences)?,
            name: self.name.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            signing_alg: self.credentials.and_then(|c| c.signing).and_then(|s| s.alg),
            introspection_restricted: self.introspection.as_ref().and_then(|i| i.restricted),
            resource_servers: self.introspection.and_then(|i| i.resource_servers),
        })
    }
}

/// The custom authorization servers, oldest first, a page at a time (`limit` 1 to 200,
/// default 200; `Link` headers).
#[utoipa::path(get, path = "/api/v1/authorizationServers", operation_id = "listAuthorizationServers", tag = "authorizationServers", params(PageParams),
    responses((status = 200, description = "A page of servers", body = [super::answers::AuthorizationServer]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let mut list = state.store.list_servers().await.map_err(AdminError::from)?;
    list.retain(|s| !s.is_org());
    paged(
        &state.config.base_url(),
        &uri,
        list,
        |s| &s.id,
        &p,
        (200, 200),
        |s| server_json(&state, s),
    )
}

/// Create a custom server (no access policy until one is added, as in Okta).
#[utoipa::path(post, path = "/api/v1/authorizationServers", operation_id = "createAuthorizationServer", tag = "authorizationServers", request_body = ServerBody,
    responses((status = 201, description = "The server, created", body = super::answers::AuthorizationServer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<ServerBody>,
) -> Result<Response, ApiError> {
    let server = servers::create(&state.store, &actor, body.into_new()?, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(server_json(&state, &server))).into_response())
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}", operation_id = "getAuthorizationServer", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 200, description = "The server", body = super::answers::AuthorizationServer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(server_json(&state, &custom(&state, &id).await?)).into_response())
}

/// Replace a server's name, description and audience.
#[utoipa::path(put, path = "/api/v1/authorizationServers/{id}", operation_id = "replaceAuthorizationServer", tag = "authorizationServers", params(("id" = String, Path)), request_body = ServerBody,
    responses((status = 200, description = "The server", body = super::answers::AuthorizationServer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn update(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ServerBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let server = servers::update(
        &state.store,
        &actor,
        &id,
        body.into_new()?,
        state.clock.now(),
    )
    .await?;
    Ok(Json(server_json(&state, &server)).into_response())
}

/// Delete a server with its keys, scopes, claims and policies.
#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}", operation_id = "deleteAuthorizationServer", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    servers::delete(&state.store, &actor, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/lifecycle/activate", operation_id = "activateAuthorizationServer", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 204, description = "Active"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    servers::set_active(&state.store, &actor, &id, true, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivate a server: its endpoints answer 404 until it is activated again.
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/lifecycle/deactivate", operation_id = "deactivateAuthorizationServer", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 204, description = "Inactive"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    servers::set_active(&state.store, &actor, &id, false, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScopeBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `IMPLICIT` (default) or `REQUIRED`.
    pub consent: Option<String>,
    /// Granted when a client_credentials request names no scope.
    pub default: Option<bool>,
}

impl ScopeBody {
    fn into_new(self) -> Result<NewScope, AdminError> {
        Ok(NewScope {
            name: self.name.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            consent_required: servers::consent_required(self.consent.as_deref())?,
            is_default: self.default.unwrap_or(false),
        })
    }
}

/// The scopes, system scopes first; all of them unless `limit` (1 to 200) asks for pages
/// (`Link` headers), as Okta.
#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/scopes", operation_id = "listOAuth2Scopes", tag = "authorizationServers", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "Scopes", body = [super::answers::OAuth2Scope]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn scopes(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let list = state
        .store
        .list_scopes(&server.id)
        .await
        .map_err(AdminError::from)?;
    paged(
        &state.config.base_url(),
        &uri,
        list,
        |s| &s.id,
        &p,
        (i64::MAX, 200),
        servers::scope_json,
    )
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/scopes", operation_id = "createOAuth2Scope", tag = "authorizationServers", params(("id" = String, Path)), request_body = ScopeBody,
    responses((status = 201, description = "The scope, created", body = super::answers::OAuth2Scope), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create_scope(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScopeBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let scope = servers::create_scope(
        &state.store,
        &actor,
        &id,
        body.into_new()?,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(servers::scope_json(&scope))).into_response())
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/scopes/{scopeId}", operation_id = "getOAuth2Scope", tag = "authorizationServers", params(("id" = String, Path), ("scopeId" = String, Path)),
    responses((status = 200, description = "The scope", body = super::answers::OAuth2Scope), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get_scope(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, scope_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let list = state
        .store
        .list_scopes(&server.id)
        .await
        .map_err(AdminError::from)?;
    let scope = list
        .iter()
        .find(|s| s.id == scope_id)
        .ok_or_else(|| ApiError::not_found(&format!("{scope_id} (OAuth2Scope)")))?;
    Ok(Json(servers::scope_json(scope)).into_response())
}

/// Replace a scope's name, description, consent and default flag. A system scope, or
/// one that claims or policy rules name, keeps its name.
#[utoipa::path(put, path = "/api/v1/authorizationServers/{id}/scopes/{scopeId}", operation_id = "replaceOAuth2Scope", tag = "authorizationServers", params(("id" = String, Path), ("scopeId" = String, Path)), request_body = ScopeBody,
    responses((status = 200, description = "The scope", body = super::answers::OAuth2Scope), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn update_scope(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, scope_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ScopeBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let scope = servers::update_scope(
        &state.store,
        &actor,
        &id,
        &scope_id,
        body.into_new()?,
        state.clock.now(),
    )
    .await?;
    Ok(Json(servers::scope_json(&scope)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}/scopes/{scopeId}", operation_id = "deleteOAuth2Scope", tag = "authorizationServers", params(("id" = String, Path), ("scopeId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete_scope(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, scope_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    servers::delete_scope(&state.store, &actor, &id, &scope_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClaimConditions {
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClaimBody {
    pub name: Option<String>,
    /// `IDENTITY` (ID token) or `RESOURCE` (access token).
    #[serde(rename = "claimType")]
    pub claim_type: Option<String>,
    /// `EXPRESSION` or `GROUPS`.
    #[serde(rename = "valueType")]
    pub value_type: Option<String>,
    /// `user.email`, a `"quoted"` literal, or a group filter's value.
    pub value: Option<String>,
    /// With `GROUPS`: `STARTS_WITH`, `EQUALS`, `CONTAINS` or `REGEX`.
    pub group_filter_type: Option<String>,
    pub conditions: Option<ClaimConditions>,
}

impl ClaimBody {
    fn into_new(self) -> Result<NewClaim, ApiError> {
        if self.value_type.as_deref() == Some("GROUPS") && self.group_filter_type.is_none() {
            return Err(ApiError::invalid(
                "group_filter_type",
                "is required with valueType GROUPS",
            ));
        }
        Ok(NewClaim {
            name: self.name.unwrap_or_default(),
            claim_type: self.claim_type.unwrap_or_default(),
            value: self.value.unwrap_or_default(),
            group_filter_type: self.group_filter_type,
            scopes: self.conditions.and_then(|c| c.scopes).unwrap_or_default(),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/claims", operation_id = "listOAuth2Claims", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 200, description = "Claims", body = [super::answers::OAuth2Claim]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn claims(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let list = state
        .store
        .list_claims(&server.id)
        .await
        .map_err(AdminError::from)?;
    Ok(Json(list.iter().map(servers::claim_json).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/claims", operation_id = "createOAuth2Claim", tag = "authorizationServers", params(("id" = String, Path)), request_body = ClaimBody,
    responses((status = 201, description = "The claim, created", body = super::answers::OAuth2Claim), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create_claim(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let claim = servers::create_claim(
        &state.store,
        &actor,
        &id,
        body.into_new()?,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(servers::claim_json(&claim))).into_response())
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/claims/{claimId}", operation_id = "getOAuth2Claim", tag = "authorizationServers", params(("id" = String, Path), ("claimId" = String, Path)),
    responses((status = 200, description = "The claim", body = super::answers::OAuth2Claim), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get_claim(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, claim_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let list = state
        .store
        .list_claims(&server.id)
        .await
        .map_err(AdminError::from)?;
    let claim = list
        .iter()
        .find(|c| c.id == claim_id)
        .ok_or_else(|| ApiError::not_found(&format!("{claim_id} (OAuth2Claim)")))?;
    Ok(Json(servers::claim_json(claim)).into_response())
}

/// Replace a claim, with the checks of its creation.
#[utoipa::path(put, path = "/api/v1/authorizationServers/{id}/claims/{claimId}", operation_id = "replaceOAuth2Claim", tag = "authorizationServers", params(("id" = String, Path), ("claimId" = String, Path)), request_body = ClaimBody,
    responses((status = 200, description = "The claim", body = super::answers::OAuth2Claim), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn update_claim(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, claim_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let claim = servers::update_claim(
        &state.store,
        &actor,
        &id,
        &claim_id,
        body.into_new()?,
        state.clock.now(),
    )
    .await?;
    Ok(Json(servers::claim_json(&claim)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}/claims/{claimId}", operation_id = "deleteOAuth2Claim", tag = "authorizationServers", params(("id" = String, Path), ("claimId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete_claim(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, claim_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    servers::delete_claim(&state.store, &actor, &id, &claim_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Include {
    pub include: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyConditions {
    pub clients: Option<Include>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub priority: Option<i64>,
    /// `conditions.clients.include`: client ids, or `ALL_CLIENTS`.
    pub conditions: Option<PolicyConditions>,
}

impl PolicyBody {
    fn into_new(self) -> NewPolicy {
        let clients = self
            .conditions
            .and_then(|c| c.clients)
            .and_then(|c| c.include)
            .unwrap_or_default();
        NewPolicy {
            name: self.name.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            clients: clients
                .into_iter()
                .filter(|c| c != crate::oauth::policy::ALL_CLIENTS)
                .collect(),
            priority: self.priority,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/policies", operation_id = "listAuthorizationServerPolicies", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 200, description = "Policies", body = [super::answers::AuthorizationServerPolicy]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn policies(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    let list = state
        .store
        .list_policies(&server.id)
        .await
        .map_err(AdminError::from)?;
    Ok(Json(
        list.iter()
            .map(|p| policies::to_json(p, &[]))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies", operation_id = "createAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path)), request_body = PolicyBody,
    responses((status = 201, description = "The policy, created", body = super::answers::AuthorizationServerPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create_policy(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let policy = policies::create_policy(
        &state.store,
        &actor,
        &id,
        body.into_new(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(policies::to_json(&policy, &[]))).into_response())
}

async fn find_policy(
    state: &AppState,
    id: &str,
    policy_id: &str,
) -> Result<(crate::store::Policy, Vec<crate::store::PolicyRule>), ApiError> {
    let server = custom(state, id).await?;
    let list = state
        .store
        .list_policies(&server.id)
        .await
        .map_err(AdminError::from)?;
    let policy = list
        .into_iter()
        .find(|p| p.id == policy_id)
        .ok_or_else(|| ApiError::not_found(&format!("{policy_id} (Policy)")))?;
    let rules = state
        .store
        .list_rules(&server.id)
        .await
        .map_err(AdminError::from)?;
    Ok((
        policy,
        rules
            .into_iter()
            .filter(|r| r.policy_id == policy_id)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/policies/{policyId}", operation_id = "getAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 200, description = "The policy with its rules", body = super::answers::AuthorizationServerPolicy), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get_policy(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (policy, rules) = find_policy(&state, &id, &policy_id).await?;
    Ok(Json(policies::to_json(&policy, &rules)).into_response())
}

/// Replace a policy's name, description, clients and priority (kept when absent).
#[utoipa::path(put, path = "/api/v1/authorizationServers/{id}/policies/{policyId}", operation_id = "replaceAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)), request_body = PolicyBody,
    responses((status = 200, description = "The policy with its rules", body = super::answers::AuthorizationServerPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn update_policy(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    policies::update_policy(
        &state.store,
        &actor,
        &id,
        &policy_id,
        body.into_new(),
        state.clock.now(),
    )
    .await?;
    get_policy(State(state), Caller(actor), Path((id, policy_id))).await
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/lifecycle/activate", operation_id = "activateAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 204, description = "Active"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate_policy(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::set_policy_active(
        &state.store,
        &actor,
        &id,
        &policy_id,
        true,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivate a policy: it is skipped when tokens are decided.
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/lifecycle/deactivate", operation_id = "deactivateAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 204, description = "Inactive"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate_policy(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::set_policy_active(
        &state.store,
        &actor,
        &id,
        &policy_id,
        false,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}/policies/{policyId}", operation_id = "deleteAuthorizationServerPolicy", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 204, description = "Deleted with its rules"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete_policy(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::delete_policy(&state.store, &actor, &id, &policy_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct People {
    pub users: Option<Include>,
    pub groups: Option<Include>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleConditions {
    pub people: Option<People>,
    #[serde(rename = "grantTypes")]
    pub grant_types: Option<Include>,
    pub scopes: Option<Include>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenActions {
    #[serde(rename = "accessTokenLifetimeMinutes")]
    pub access_token_lifetime_minutes: Option<i64>,
    /// 0: unlimited.
    #[serde(rename = "refreshTokenLifetimeMinutes")]
    pub refresh_token_lifetime_minutes: Option<i64>,
    /// 0: no idle limit.
    #[serde(rename = "refreshTokenWindowMinutes")]
    pub refresh_token_window_minutes: Option<i64>,
    /// A rule that refuses (Gatehouse's addition).
    pub deny: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleActions {
    pub token: Option<TokenActions>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleBody {
    pub name: Option<String>,
    pub priority: Option<i64>,
    pub conditions: Option<RuleConditions>,
    pub actions: Option<RuleActions>,
}

fn minutes(m: Option<i64>) -> Option<i64> {
    m.map(|m| m.saturating_mul(60))
}

impl RuleBody {
    fn into_new(self) -> NewRule {
        let include = |i: Option<Include>| i.and_then(|i| i.include).unwrap_or_default();
        let (people, grant_types, scopes) = match self.conditions {
            Some(c) => (c.people, include(c.grant_types), include(c.scopes)),
            None => (None, vec![], vec![]),
        };
        let (users, groups) = match people {
            Some(p) => (include(p.users), include(p.groups)),
            None => (vec![], vec![]),
        };
        let token = self.actions.and_then(|a| a.token);
        NewRule {
            name: self.name.unwrap_or_default(),
            priority: self.priority,
            grant_types,
            scopes,
            users,
            groups,
            access_token_ttl: minutes(token.as_ref().and_then(|t| t.access_token_lifetime_minutes)),
            refresh_token_ttl: minutes(
                token
                    .as_ref()
                    .and_then(|t| t.refresh_token_lifetime_minutes),
            ),
            refresh_token_idle: minutes(
                token.as_ref().and_then(|t| t.refresh_token_window_minutes),
            ),
            deny: token.and_then(|t| t.deny).unwrap_or(false),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules", operation_id = "listAuthorizationServerPolicyRules", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 200, description = "Rules", body = [super::answers::AuthorizationServerPolicyRule]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn rules(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, rules) = find_policy(&state, &id, &policy_id).await?;
    Ok(Json(rules.iter().map(policies::rule_json).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules", operation_id = "createAuthorizationServerPolicyRule", tag = "authorizationServers", params(("id" = String, Path), ("policyId" = String, Path)), request_body = RuleBody,
    responses((status = 201, description = "The rule, created", body = super::answers::AuthorizationServerPolicyRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Response, ApiError> {
    find_policy(&state, &id, &policy_id).await?;
    let rule = policies::create_rule(
        &state.store,
        &actor,
        &id,
        &policy_id,
        body.into_new(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(policies::rule_json(&rule))).into_response())
}

#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules/{ruleId}", operation_id = "getAuthorizationServerPolicyRule", tag = "authorizationServers",
    params(("id" = String, Path), ("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 200, description = "The rule", body = super::answers::AuthorizationServerPolicyRule), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get_rule(
    State(state): State<SharedState>,
    _: Caller,
    Path((id, policy_id, rule_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (_, rules) = find_policy(&state, &id, &policy_id).await?;
    let rule = rules
        .iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(|| ApiError::not_found(&format!("{rule_id} (PolicyRule)")))?;
    Ok(Json(policies::rule_json(rule)).into_response())
}

/// Replace a rule, with the checks of its creation (priority kept when absent).
#[utoipa::path(put, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules/{ruleId}", operation_id = "replaceAuthorizationServerPolicyRule", tag = "authorizationServers",
    params(("id" = String, Path), ("policyId" = String, Path), ("ruleId" = String, Path)), request_body = RuleBody,
    responses((status = 200, description = "The rule", body = super::answers::AuthorizationServerPolicyRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn update_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id, rule_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Response, ApiError> {
    custom(&state, &id).await?;
    let rule = policies::update_rule(
        &state.store,
        &actor,
        &id,
        &policy_id,
        &rule_id,
        body.into_new(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(policies::rule_json(&rule)).into_response())
}

#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules/{ruleId}/lifecycle/activate", operation_id = "activateAuthorizationServerPolicyRule", tag = "authorizationServers",
    params(("id" = String, Path), ("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Active"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id, rule_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::set_rule_active(
        &state.store,
        &actor,
        &id,
        &policy_id,
        &rule_id,
        true,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivate a rule: it is skipped when tokens are decided.
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules/{ruleId}/lifecycle/deactivate", operation_id = "deactivateAuthorizationServerPolicyRule", tag = "authorizationServers",
    params(("id" = String, Path), ("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Inactive"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id, rule_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::set_rule_active(
        &state.store,
        &actor,
        &id,
        &policy_id,
        &rule_id,
        false,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/authorizationServers/{id}/policies/{policyId}/rules/{ruleId}", operation_id = "deleteAuthorizationServerPolicyRule", tag = "authorizationServers",
    params(("id" = String, Path), ("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id, rule_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    custom(&state, &id).await?;
    policies::delete_rule(
        &state.store,
        &actor,
        &id,
        &policy_id,
        &rule_id,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The server's signing keys: public parts only, with their status.
#[utoipa::path(get, path = "/api/v1/authorizationServers/{id}/credentials/keys", operation_id = "listAuthorizationServerKeys", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 200, description = "Public JWKs", body = [super::answers::JsonWebKey]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn keys(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    // Keys are made at a server's first use; listing them is one.
    state
        .keys
        .get(&server.id, state.clock.now())
        .await
        .map_err(|e| match e {
            KeyError::Store(e) => AdminError::Store(e),
            corrupt => AdminError::Store(StoreError::Schema(corrupt.to_string())),
        })?;
    let keys = state
        .store
        .signing_keys(&server.id)
        .await
        .map_err(AdminError::from)?;
    let list: Vec<Value> = keys
        .iter()
        .filter_map(|k| {
            let mut jwk: Value = serde_json::from_str(&k.public_jwk).ok()?;
            // Only public members: never `d`, `p`, `q` or the like, whatever is stored.
            jwk.as_object_mut()?
                .retain(|name, _| jose::PUBLIC_MEMBERS.contains(&name.as_str()));
            jwk["status"] = json!(k.status.as_str());
            Some(jwk)
        })
        .collect();
    Ok(Json(list).into_response())
}

/// Okta's keyRotate: rotates now and answers the keys as `credentials/keys` does. This
/// process signs with the new ACTIVE key at once; others within the key cache's TTL,
/// and every instance already publishes it (it was the NEXT key).
#[utoipa::path(post, path = "/api/v1/authorizationServers/{id}/credentials/lifecycle/keyRotate", operation_id = "rotateAuthorizationServerKeys", tag = "authorizationServers", params(("id" = String, Path)),
    responses((status = 200, description = "Public JWKs after the rotation", body = [super::answers::JsonWebKey]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn key_rotate(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let server = custom(&state, &id).await?;
    servers::rotate_keys(
        &state.store,
        &state.master,
        &caller.0,
        &server,
        state.clock.now(),
    )
    .await?;
    state.keys.forget(&server.id).await;
    state.published.forget(&server.id);
    keys(State(state), caller, Path(id)).await
}
