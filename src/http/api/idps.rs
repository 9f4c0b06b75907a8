//! `/api/v1/idps`: Okta's Identity Providers API (OpenID Connect and OAuth 2.0
//! providers), their linked users, and `/api/v1/users/{id}/idps`. The rules are in
//! `admin::idps`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, link_headers, query_pairs};
use crate::admin::idps::{self, NewIdp};
use crate::http::SharedState;
use crate::store::{
    AuthMethod, GroupsAction, IdpPolicyAction, IdpType, ProfileMapping, SubjectMatchType,
};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UrlBinding {
    pub url: Option<String>,
    /// `HTTP-REDIRECT` or `HTTP-POST` (informative: Gatehouse redirects to the
    /// authorization endpoint and posts to the others).
    pub binding: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpEndpoints {
    pub authorization: Option<UrlBinding>,
    pub token: Option<UrlBinding>,
    #[serde(rename = "userInfo")]
    pub user_info: Option<UrlBinding>,
    pub jwks: Option<UrlBinding>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpClient {
    pub client_id: Option<String>,
    /// Write-only: sealed under the master key, never returned. Omitted on a PUT: the
    /// stored one is kept.
    pub client_secret: Option<String>,
    /// `client_secret_post` (default), `client_secret_basic` or `private_key_jwt`.
    pub token_endpoint_auth_method: Option<String>,
    /// Default true.
    pub pkce_required: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpSigning {
    /// `private_key_jwt`: the algorithm of the org server's key that signs (default RS256).
    pub algorithm: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpCredentials {
    pub client: Option<IdpClient>,
    pub signing: Option<IdpSigning>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpIssuer {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpProtocol {
    /// `OIDC` or `OAUTH2`, as the provider's `type`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub endpoints: Option<IdpEndpoints>,
    pub scopes: Option<Vec<String>>,
    pub credentials: Option<IdpCredentials>,
    pub issuer: Option<IdpIssuer>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpGroups {
    /// `NONE` (default), `APPEND`, `SYNC` or `ASSIGN`.
    pub action: Option<String>,
    #[serde(rename = "sourceAttributeName")]
    pub source_attribute_name: Option<String>,
    pub filter: Option<Vec<String>>,
    pub assignments: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpProvisioning {
    /// `AUTO` (default) or `DISABLED`.
    pub action: Option<String>,
    #[serde(rename = "profileMaster")]
    pub profile_master: Option<bool>,
    pub groups: Option<IdpGroups>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpGroupFilter {
    pub include: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpLinkFilter {
    pub groups: Option<IdpGroupFilter>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpAccountLink {
    /// `AUTO` or `DISABLED` (default).
    pub action: Option<String>,
    pub filter: Option<IdpLinkFilter>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpTemplate {
    pub template: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpSubject {
    #[serde(rename = "userNameTemplate")]
    pub user_name_template: Option<IdpTemplate>,
    /// `USERNAME` (default), `EMAIL`, `USERNAME_OR_EMAIL` or `CUSTOM_ATTRIBUTE`.
    #[serde(rename = "matchType")]
    pub match_type: Option<String>,
    #[serde(rename = "matchAttribute")]
    pub match_attribute: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpPolicy {
    pub provisioning: Option<IdpProvisioning>,
    #[serde(rename = "accountLink")]
    pub account_link: Option<IdpAccountLink>,
    pub subject: Option<IdpSubject>,
    /// Milliseconds (0 to 600000).
    #[serde(rename = "maxClockSkew")]
    pub max_clock_skew: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpButton {
    /// Default "Sign in with {name}".
    pub label: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpMapping {
    /// An Okta profile field (`firstName`, `email`, ...).
    pub field: String,
    /// An expression over `idpuser.*`, e.g. `idpuser.given_name`.
    pub expression: String,
}

/// Gatehouse's settings beyond Okta's object.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpExtension {
    /// The provider's `end_session_endpoint`.
    #[serde(rename = "endSessionEndpoint")]
    pub end_session_endpoint: Option<String>,
    /// Signing out of Gatehouse also ends the session at the provider.
    #[serde(rename = "endUpstreamSession")]
    pub end_upstream_session: Option<bool>,
    #[serde(rename = "profileMapping")]
    pub profile_mapping: Option<Vec<IdpMapping>>,
    pub button: Option<IdpButton>,
}

/// An identity provider as Okta's API takes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpBody {
    /// `OIDC` or `OAUTH2`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    /// `ORG_URL` (the only mode Gatehouse has; accepted and ignored).
    #[serde(rename = "issuerMode")]
    pub issuer_mode: Option<String>,
    pub protocol: Option<IdpProtocol>,
    pub policy: Option<IdpPolicy>,
    pub gatehouse: Option<IdpExtension>,
}

fn spelled<T>(
    field: &str,
    value: Option<String>,
    default: T,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => parse(&v).ok_or_else(|| ApiError::invalid(field, &format!("must be {allowed}"))),
    }
}

impl IdpBody {
    fn into_new(self) -> Result<NewIdp, ApiError> {
        let kind = spelled(
            "type",
            self.kind,
            IdpType::Oidc,
            IdpType::parse,
            "OIDC or OAUTH2",
        )?;
        if self.issuer_mode.as_deref().is_some_and(|m| m != "ORG_URL") {
            return Err(ApiError::invalid("issuerMode", "must be ORG_URL"));
        }
        let protocol = self.protocol.unwrap_or_default();
        if let Some(t) = &protocol.kind
            && t != kind.as_str()
        {
            return Err(ApiError::invalid(
                "protocol.type",
                "must be the provider's type",
            ));
        }
        let endpoints = protocol.endpoints.unwrap_or_default();
        let url = |b: Option<UrlBinding>| b.and_then(|b| b.url);
        let credentials = protocol.credentials.unwrap_or_default();
        let client = credentials.client.unwrap_or_default();
        let method = spelled(
            "protocol.credentials.client.token_endpoint_auth_method",
            client.token_endpoint_auth_method,
            AuthMethod::ClientSecretPost,
            AuthMethod::parse,
            "client_secret_post, client_secret_basic or private_key_jwt",
        )?;
        let policy = self.policy.unwrap_or_default();
        let provisioning = policy.provisioning.unwrap_or_default();
        let groups = provisioning.groups.unwrap_or_default();
        let link = policy.account_link.unwrap_or_default();
        let subject = policy.subject.unwrap_or_default();
        let ext = self.gatehouse.unwrap_or_default();
        let button = ext.button.unwrap_or_default();
        let mut new = NewIdp::oidc(
            &self.name.unwrap_or_default(),
            &client.client_id.unwrap_or_default(),
        );
        new.idp_type = kind;
        if kind == IdpType::OAuth2 {
            new.scopes = vec![];
        }
        new.issuer = protocol.issuer.and_then(|i| i.url);
        new.authorization_endpoint = url(endpoints.authorization);
        new.token_endpoint = url(endpoints.token);
        new.userinfo_endpoint = url(endpoints.user_info);
        new.jwks_uri = url(endpoints.jwks);
        new.end_session_endpoint = ext.end_session_endpoint;
        if let Some(scopes) = protocol.scopes {
            new.scopes = scopes;
        }
        new.client_secret = client.client_secret;
        new.token_auth_method = method;
        new.signing_alg = credentials.signing.and_then(|s| s.algorithm);
        new.pkce = client.pkce_required.unwrap_or(true);
        new.max_clock_skew_ms = policy.max_clock_skew.unwrap_or(0);
        new.provisioning_action = spelled(
            "policy.provisioning.action",
            provisioning.action,
            IdpPolicyAction::Auto,
            IdpPolicyAction::parse,
            "AUTO or DISABLED",
        )?;
        new.profile_master = provisioning.profile_master.unwrap_or(false);
        new.groups_action = spelled(
            "policy.provisioning.groups.action",
            groups.action,
            GroupsAction::None,
            GroupsAction::parse,
            "NONE, APPEND, SYNC or ASSIGN",
        )?;
        new.groups_source_attribute = groups.source_attribute_name;
        new.groups_filter = groups.filter.unwrap_or_default();
        new.groups_assignments = groups.assignments.unwrap_or_default();
        new.account_link_action = spelled(
            "policy.accountLink.action",
            link.action,
            IdpPolicyAction::Disabled,
            IdpPolicyAction::parse,
            "AUTO or DISABLED",
        )?;
        new.account_link_groups = link
            .filter
            .and_then(|f| f.groups)
            .and_then(|g| g.include)
            .unwrap_or_default();
        if let Some(template) = subject.user_name_template.and_then(|t| t.template) {
            new.username_template = template;
        }
        new.match_type = spelled(
            "policy.subject.matchType",
            subject.match_type,
            SubjectMatchType::Username,
            SubjectMatchType::parse,
            "USERNAME, EMAIL, USERNAME_OR_EMAIL or CUSTOM_ATTRIBUTE",
        )?;
        new.match_attribute = subject.match_attribute;
        new.profile_mapping = ext
            .profile_mapping
            .unwrap_or_default()
            .into_iter()
            .map(|m| ProfileMapping {
                field: m.field,
                expression: m.expression,
            })
            .collect();
        new.end_upstream_session = ext.end_upstream_session.unwrap_or(false);
        new.button_label = button.label;
        new.button_color = button.color;
        Ok(new)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A prefix of the provider's name (without regard to case).
    pub q: Option<String>,
    /// `OIDC` or `OAUTH2`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub after: Option<String>,
    /// 1 to 200 (default 20).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub after: Option<String>,
    /// 1 to 200 (default 20).
    pub limit: Option<i64>,
}

fn allow_private(state: &SharedState) -> bool {
    state.config.client_auth.allow_private_jwks_uri
}

/// List identity providers, a page at a time.
#[utoipa::path(get, path = "/api/v1/idps", operation_id = "listIdentityProviders", tag = "idps", params(ListParams),
    responses((status = 200, description = "A page of identity providers", body = [super::answers::IdentityProvider]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let (page, next) = idps::list(
        &state.store,
        p.q.as_deref(),
        p.kind.as_deref(),
        p.after,
        p.limit,
    )
    .await?;
    let base = state.config.base_url();
    let headers = link_headers(
        &base,
        uri.path(),
        &query_pairs(uri.query()),
        next.as_deref(),
    );
    let body: Vec<Value> = page.iter().map(|idp| idps::to_json(&base, idp)).collect();
    Ok((headers, Json(body)).into_response())
}

/// Create an identity provider (ACTIVE).
#[utoipa::path(post, path = "/api/v1/idps", operation_id = "createIdentityProvider", tag = "idps", request_body = IdpBody,
    responses((status = 200, description = "The identity provider", body = super::answers::IdentityProvider), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<IdpBody>,
) -> Result<Response, ApiError> {
    let new = body.into_new()?;
    let idp = idps::create(
        &state.store,
        &state.master,
        &actor,
        new,
        allow_private(&state),
        state.clock.now(),
    )
    .await?;
    Ok(Json(idps::to_json(&state.config.base_url(), &idp)).into_response())
}

/// An identity provider by id.
#[utoipa::path(get, path = "/api/v1/idps/{idpId}", operation_id = "getIdentityProvider", tag = "idps", params(("idpId" = String, Path)),
    responses((status = 200, description = "The identity provider", body = super::answers::IdentityProvider), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(idp_id): Path<String>,
) -> Result<Response, ApiError> {
    let idp = idps::find(&state.store, &idp_id).await?;
    Ok(Json(idps::to_json(&state.config.base_url(), &idp)).into_response())
}

/// Replace an identity provider's settings (the client secret is kept when omitted).
#[utoipa::path(put, path = "/api/v1/idps/{idpId}", operation_id = "replaceIdentityProvider", tag = "idps", params(("idpId" = String, Path)), request_body = IdpBody,
    responses((status = 200, description = "The identity provider", body = super::answers::IdentityProvider), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn replace(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(idp_id): Path<String>,
    ApiJson(body): ApiJson<IdpBody>,
) -> Result<Response, ApiError> {
    let new = body.into_new()?;
    let idp = idps::update(
        &state.store,
        &state.master,
        &actor,
        &idp_id,
        new,
        allow_private(&state),
        state.clock.now(),
    )
    .await?;
    Ok(Json(idps::to_json(&state.config.base_url(), &idp)).into_response())
}

/// Delete an identity provider no routing rule names (403 otherwise); its linked users
/// are unlinked, not deleted.
#[utoipa::path(delete, path = "/api/v1/idps/{idpId}", operation_id = "deleteIdentityProvider", tag = "idps", params(("idpId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(idp_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    idps::delete(&state.store, &actor, &idp_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Activate an identity provider.
#[utoipa::path(post, path = "/api/v1/idps/{idpId}/lifecycle/activate", operation_id = "activateIdentityProvider", tag = "idps", params(("idpId" = String, Path)),
    responses((status = 200, description = "The identity provider", body = super::answers::IdentityProvider), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(idp_id): Path<String>,
) -> Result<Response, ApiError> {
    let idp = idps::set_active(&state.store, &actor, &idp_id, true, state.clock.now()).await?;
    Ok(Json(idps::to_json(&state.config.base_url(), &idp)).into_response())
}

/// Deactivate an identity provider: it signs no one in, and routing passes over it.
#[utoipa::path(post, path = "/api/v1/idps/{idpId}/lifecycle/deactivate", operation_id = "deactivateIdentityProvider", tag = "idps", params(("idpId" = String, Path)),
    responses((status = 200, description = "The identity provider", body = super::answers::IdentityProvider), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(idp_id): Path<String>,
) -> Result<Response, ApiError> {
    let idp = idps::set_active(&state.store, &actor, &idp_id, false, state.clock.now()).await?;
    Ok(Json(idps::to_json(&state.config.base_url(), &idp)).into_response())
}

/// The users linked to an identity provider, a page at a time.
#[utoipa::path(get, path = "/api/v1/idps/{idpId}/users", operation_id = "listIdentityProviderApplicationUsers", tag = "idps", params(("idpId" = String, Path), PageParams),
    responses((status = 200, description = "A page of linked users", body = [super::answers::IdentityProviderUser]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn users(
    State(state): State<SharedState>,
    _: Caller,
    uri: Uri,
    Path(idp_id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let (page, next) = idps::users(&state.store, &idp_id, p.after, p.limit).await?;
    let base = state.config.base_url();
    let headers = link_headers(
        &base,
        uri.path(),
        &query_pairs(uri.query()),
        next.as_deref(),
    );
    let body: Vec<Value> = page.iter().map(|l| idps::user_json(&base, l)).collect();
    Ok((headers, Json(body)).into_response())
}

/// A user's identity at the provider.
#[utoipa::path(get, path = "/api/v1/idps/{idpId}/users/{userId}", operation_id = "getIdentityProviderApplicationUser", tag = "idps", params(("idpId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "The linked user", body = super::answers::IdentityProviderUser), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get_user(
    State(state): State<SharedState>,
    _: Caller,
    Path((idp_id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let link = idps::user(&state.store, &idp_id, &user_id).await?;
    Ok(Json(idps::user_json(&state.config.base_url(), &link)).into_response())
}

/// Unlink a user from the provider (the user stays).
#[utoipa::path(delete, path = "/api/v1/idps/{idpId}/users/{userId}", operation_id = "unlinkUserFromIdentityProvider", tag = "idps", params(("idpId" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Unlinked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn unlink(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((idp_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    idps::unlink(&state.store, &actor, &idp_id, &user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The identity providers a user is linked to.
#[utoipa::path(get, path = "/api/v1/users/{userId}/idps", operation_id = "listIdentityProvidersForUser", tag = "idps", params(("userId" = String, Path)),
    responses((status = 200, description = "The user's identity providers", body = [super::answers::IdentityProvider]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn of_user(
    State(state): State<SharedState>,
    _: Caller,
    Path(user_id): Path<String>,
) -> Result<Response, ApiError> {
    let base = state.config.base_url();
    let body: Vec<Value> = idps::of_user(&state.store, &user_id)
        .await?
        .iter()
        .map(|(idp, _)| idps::to_json(&base, idp))
        .collect();
    Ok(Json(body).into_response())
}
