//! The OpenAPI 3.1 document of the management API at `/api/v1/openapi.json`, built
//! from the same list of operations as the router, so a route cannot go undocumented.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use super::{apps, authorization_servers as servers, brands, error, groups, operations, users};

/// The shapes of the answers, for the document and the reference only (the handlers
/// answer with `admin`'s JSON, in Okta's shapes, which these describe): the fields a
/// client reads; Okta's fixed fields are left out. Times are RFC 3339 strings.
pub mod answers {
    use serde::Serialize;
    use serde_json::Value;
    use utoipa::ToSchema;

    /// A user.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct User {
        /// `00u…`
        pub id: String,
        /// STAGED, PROVISIONED, ACTIVE, SUSPENDED or DEPROVISIONED.
        pub status: String,
        pub created: String,
        pub activated: Option<String>,
        pub status_changed: Option<String>,
        /// The last sign-in on the sign-in page.
        pub last_login: Option<String>,
        pub last_updated: String,
        pub password_changed: Option<String>,
        /// `login`, `email`, `firstName`, `lastName` and any other attributes.
        pub profile: UserProfile,
        /// `password: {}` when the user has one (never its value), and the provider.
        pub credentials: Value,
    }

    /// A user's profile; other attributes may sit beside these.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct UserProfile {
        pub login: String,
        pub email: Option<String>,
        pub first_name: Option<String>,
        pub last_name: Option<String>,
    }

    /// A group of users.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Group {
        /// `00g…`
        pub id: String,
        /// OKTA_GROUP.
        #[serde(rename = "type")]
        pub kind: String,
        pub created: String,
        pub last_updated: String,
        /// `name` and `description`.
        pub profile: Value,
    }

    /// An OpenID Connect app (OAuth client).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Application {
        /// `0oa…`, also its client_id.
        pub id: String,
        /// oidc_client.
        pub name: String,
        /// The name people see.
        pub label: String,
        /// ACTIVE or INACTIVE.
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// OPENID_CONNECT.
        pub sign_on_mode: String,
        /// `oauthClient`: `client_id`, `token_endpoint_auth_method`, and `client_secret`
        /// only in the answer that creates it.
        pub credentials: Value,
        /// `oauthClient`: `redirect_uris`, `post_logout_redirect_uris`, `grant_types`,
        /// `response_types`, `application_type`, `refresh_token`, `jwks`, `jwks_uri`,
        /// `dpop_bound_access_tokens`, `require_pushed_authorization_requests`.
        pub settings: Value,
    }

    /// One of an app's client secrets.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ClientSecret {
        /// `ocs…`
        pub id: String,
        /// ACTIVE or INACTIVE.
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// Only in the answer that creates it.
        pub client_secret: Option<String>,
    }

    /// A user assigned to an app.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AppUser {
        /// The user's id.
        pub id: String,
        pub scope: String,
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// The user's login as the app sees it.
        pub credentials: Value,
    }

    /// A group assigned to an app.
    #[derive(Serialize, ToSchema)]
    pub struct ApplicationGroupAssignment {
        /// The group's id.
        pub id: String,
        pub priority: i64,
    }

    /// A custom authorization server.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuthorizationServer {
        /// `aus…`, or `default`.
        pub id: String,
        pub name: String,
        pub description: String,
        /// The `aud` of its access tokens.
        pub audiences: Vec<String>,
        pub issuer: String,
        /// ACTIVE or INACTIVE.
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// `signing.alg` (RS256 or ES256) and `signing.rotationMode`.
        pub credentials: Value,
    }

    /// A scope of an authorization server.
    #[derive(Serialize, ToSchema)]
    pub struct OAuth2Scope {
        pub id: String,
        pub name: String,
        pub description: String,
        /// One of OpenID Connect's own (`openid`, `profile`, ...).
        pub system: bool,
        /// REQUIRED or IMPLICIT.
        pub consent: String,
        /// Granted when a client_credentials request names no scope.
        pub default: bool,
    }

    /// A custom claim of an authorization server.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OAuth2Claim {
        pub id: String,
        pub name: String,
        pub status: String,
        /// IDENTITY (ID token) or RESOURCE (access token).
        pub claim_type: String,
        /// EXPRESSION or GROUPS.
        pub value_type: String,
        pub value: String,
        /// `scopes`: include the claim only when one of these is granted.
        pub conditions: Value,
    }

    /// An access policy of an authorization server, with its rules.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuthorizationServerPolicy {
        pub id: String,
        pub name: String,
        pub description: String,
        /// 1 is evaluated first.
        pub priority: i64,
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// `clients.include`: the client ids it applies to (ALL_CLIENTS for every one).
        pub conditions: Value,
    }

    /// A rule of an access policy.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuthorizationServerPolicyRule {
        pub id: String,
        pub name: String,
        pub priority: i64,
        pub status: String,
        pub created: String,
        pub last_updated: String,
        /// `people` (users, groups), `grantTypes`, `scopes`.
        pub conditions: Value,
        /// `token`: lifetimes in minutes, and `deny`.
        pub actions: Value,
    }

    /// A public signing key of an authorization server (never a private part).
    #[derive(Serialize, ToSchema)]
    pub struct JsonWebKey {
        pub kid: String,
        pub kty: String,
        pub alg: String,
        #[serde(rename = "use")]
        pub usage: String,
        /// ACTIVE, NEXT or RETIRED.
        pub status: String,
    }

    /// An event of the System Log.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct LogEvent {
        pub uuid: String,
        pub published: String,
        /// e.g. `user.session.start`, `app.oauth2.token.grant`.
        pub event_type: String,
        pub display_message: String,
        /// `result` (SUCCESS, FAILURE) and `reason`.
        pub outcome: Value,
        /// Who did it: a user, a client, an API token or `cli`.
        pub actor: Value,
        /// What it was done to, with `changeDetails` before and after for changes.
        pub target: Vec<Value>,
        /// `ipAddress`.
        pub client: Value,
    }

    /// A management API token (never its value, which is shown once at creation).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ApiToken {
        /// `00T…`
        pub id: String,
        pub name: String,
        /// ACTIVE or REVOKED.
        pub status: String,
        pub created: String,
        pub last_updated: String,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse management API",
        description = "Okta's management API shapes: users, groups, apps, authorization servers, the System Log and API tokens. \
                       Authenticate with `Authorization: SSWS {token}` (`gatehouse api-tokens create`)."
    ),
    tags(
        (name = "users", description = "People who sign in: create, change, move through the lifecycle (STAGED, PROVISIONED, ACTIVE, SUSPENDED, DEPROVISIONED), delete."),
        (name = "groups", description = "Groups of users; an app assigned to a group is open to its members."),
        (name = "apps", description = "OpenID Connect apps (OAuth clients): settings, client secrets, and the users and groups assigned to them."),
        (name = "authorizationServers", description = "Custom authorization servers with their scopes, claims, access policies and rules, and signing keys."),
        (name = "logs", description = "The System Log: sign-ins, token requests and every change, newest last."),
        (name = "apiTokens", description = "The API tokens of this management API (created with `gatehouse api-tokens create`)."),
        (name = "brands", description = "The brand of the hosted pages: name, logo and colours (Okta's Brands API)."),
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorCause,
        users::UserBody,
        users::UserCredentials,
        users::PasswordValue,
        users::ChangePasswordBody,
        groups::GroupBody,
        groups::GroupProfile,
        apps::AppBody,
        apps::AppCredentials,
        apps::OAuthClientCredentials,
        apps::AppSettings,
        apps::OAuthClientSettings,
        apps::RefreshTokenSettings,
        apps::AppUserBody,
        apps::AppGroupBody,
        servers::ServerBody,
        servers::ScopeBody,
        servers::ClaimBody,
        servers::ClaimConditions,
        servers::PolicyBody,
        servers::PolicyConditions,
        servers::Include,
        servers::RuleBody,
        servers::RuleConditions,
        servers::People,
        servers::RuleActions,
        servers::TokenActions,
        brands::BrandBody,
        brands::ThemeBody,
        answers::User,
        answers::UserProfile,
        answers::Group,
        answers::Application,
        answers::ClientSecret,
        answers::AppUser,
        answers::ApplicationGroupAssignment,
        answers::AuthorizationServer,
        answers::OAuth2Scope,
        answers::OAuth2Claim,
        answers::AuthorizationServerPolicy,
        answers::AuthorizationServerPolicyRule,
        answers::JsonWebKey,
        answers::LogEvent,
        answers::ApiToken,
    ))
)]
struct ApiDoc;

/// The document: every operation of `operations()`, and the `ssws` security scheme.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for op in operations() {
        let mut operation = op.operation;
        // utoipa puts a `tag` only into documents its `paths(...)` builds; this one is
        // built from the router's list, so each operation gets its resource's tag here.
        if operation.tags.as_ref().is_none_or(Vec::is_empty) {
            operation.tags = Some(vec![tag_of(&op.path).to_string()]);
        }
        doc.paths
            .add_path_operation(&op.path, op.methods, operation);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "ssws",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`SSWS {token}`, a token from `gatehouse api-tokens create`",
        ))),
    );
    doc
}

/// The tag of an operation: its resource, the first segment after `/api/v1/`.
fn tag_of(path: &str) -> &'static str {
    let resource = path
        .strip_prefix(super::PREFIX)
        .unwrap_or(path)
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    match resource {
        "users" => "users",
        "groups" => "groups",
        "apps" => "apps",
        "authorizationServers" => "authorizationServers",
        "logs" => "logs",
        "api-tokens" => "apiTokens",
        "brands" => "brands",
        _ => "other",
    }
}

/// The document as pretty-printed JSON: what `gatehouse openapi` prints.
pub fn to_pretty_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json()
}

pub async fn get() -> Response {
    match document().to_json() {
        Ok(text) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => error::ApiError::internal(&e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    /// Code generators name a method after its `operationId`: two alike would collide.
    #[test]
    fn every_operation_has_a_unique_id_a_tag_and_responses() {
        let doc = super::document();
        let mut ids = HashSet::new();
        let tags: HashSet<String> = doc.tags.iter().flatten().map(|t| t.name.clone()).collect();
        for (path, item) in &doc.paths.paths {
            let ops = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for op in ops.into_iter().flatten() {
                let id = op
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| panic!("{path}: no operationId"));
                assert!(ids.insert(id.clone()), "{path}: operationId {id} twice");
                let op_tags = op.tags.clone().unwrap_or_default();
                assert!(
                    !op_tags.is_empty() && op_tags.iter().all(|t| tags.contains(t)),
                    "{path} {id}: tags {op_tags:?} not declared"
                );
                assert!(
                    !op.responses.responses.is_empty(),
                    "{path} {id}: no responses"
                );
            }
        }
        assert_eq!(ids.len(), super::super::operations().len());
    }
}
