//! The OpenAPI 3.1 document of the management API at `/api/v1/openapi.json`, built
//! from the same list of operations as the router, so a route cannot go undocumented.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, OAuth2, Scopes,
    SecurityRequirement, SecurityScheme,
};

use super::{
    answers, api_tokens, apps, authn, authorization_servers as servers, brands, dashboard, error,
    factors, groups, idps, initial_tokens, operations, roles, sessions, sign_on_policies as sp,
    token_preview, trusted_servers, user_sessions, users, zones,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse management API",
        description = "Okta's management API shapes: users, groups, apps, authorization servers, the System Log and API tokens. \
                       Authenticate with `Authorization: SSWS {token}` (`gatehouse api-tokens create`) \
                       or `Authorization: Bearer {access token}` of the org authorization server with the operation's Okta scope (`okta.users.read`, ...); \
                       the caller's admin role must allow the operation. \
                       Okta's classic Authentication API (`/api/v1/authn`) and the caller's own session (`/api/v1/sessions/me`) need no token."
    ),
    tags(
        (name = "users", description = "People who sign in: create, change, move through the lifecycle (STAGED, PROVISIONED, ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED), unlock, delete; their sessions and app links."),
        (name = "groups", description = "Groups of users; an app assigned to a group is open to its members."),
        (name = "apps", description = "OpenID Connect apps (OAuth clients): settings, client secrets, and the users and groups assigned to them."),
        (name = "authorizationServers", description = "Custom authorization servers with their scopes, claims, access policies and rules, and signing keys."),
        (name = "logs", description = "The System Log: sign-ins, token requests and every change, newest last."),
        (name = "roles", description = "Admin roles (SUPER_ADMIN, ORG_ADMIN, APP_ADMIN, READ_ONLY_ADMIN) granted to users and groups."),
        (name = "apiTokens", description = "The API tokens of this management API (created here or with `gatehouse api-tokens create`; the value is shown once)."),
        (name = "initialAccessTokens", description = "Initial access tokens of dynamic client registration (RFC 7591 §3) at `/oauth2/v1/clients`: each valid until it expires, for a number of registrations (also `gatehouse clients initial-token`; the value is shown once)."),
        (name = "dashboard", description = "The admin console's figures: sign-ins, failures and tokens issued by hour, live sessions, throttled requests."),
        (name = "brands", description = "The brand of the hosted pages: name, logo and colours (Okta's Brands API)."),
        (name = "authn", description = "Okta's classic Authentication API: a username and password for a one-time sessionToken. No API token needed."),
        (name = "policies", description = "Sign-on policies: the global session policy (OKTA_SIGN_ON) and app authentication policies (ACCESS_POLICY) with rules by people and network zone: a second factor, a phishing-resistant one, how often to ask again."),
        (name = "zones", description = "IP network zones (CIDR blocks and address ranges) that sign-on policy rules include or exclude."),
        (name = "idps", description = "Upstream identity providers (OpenID Connect and OAuth 2.0) people may sign in with, and the users linked to them. The client secret is write-only."),
        (name = "sessions", description = "Sign-in sessions: the caller's own (`/sessions/me`, by the session cookie) and any session by id (API token)."),
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
        trusted_servers::AssociatedServersBody,
        sp::SignOnPolicyBody,
        sp::SignOnPolicyConditions,
        sp::SignOnPeople,
        sp::IncludeExclude,
        sp::SignOnRuleBody,
        sp::PolicyRuleBody,
        sp::IdpDiscoveryRuleBody,
        sp::IdpDiscoveryConditions,
        sp::UserIdentifierCondition,
        sp::IdentifierPatternBody,
        sp::NetworkCondition,
        sp::AppCondition,
        sp::AppRef,
        sp::IdpDiscoveryActions,
        sp::IdpDiscoveryIdpAction,
        sp::IdpProviderRef,
        sp::SignOnRuleConditions,
        sp::SignOnNetwork,
        sp::SignOnRuleActions,
        sp::SignOnAction,
        sp::AppSignOnAction,
        sp::VerificationMethod,
        sp::VerificationConstraint,
        sp::PossessionConstraint,
        zones::ZoneBody,
        zones::ZoneGateway,
        idps::IdpBody,
        idps::IdpProtocol,
        idps::IdpEndpoints,
        idps::UrlBinding,
        idps::IdpCredentials,
        idps::IdpClient,
        idps::IdpSigning,
        idps::IdpIssuer,
        idps::IdpPolicy,
        idps::IdpProvisioning,
        idps::IdpGroups,
        idps::IdpAccountLink,
        idps::IdpLinkFilter,
        idps::IdpGroupFilter,
        idps::IdpSubject,
        idps::IdpTemplate,
        idps::IdpExtension,
        idps::IdpMapping,
        idps::IdpButton,
        answers::IdentityProvider,
        answers::IdentityProviderUser,
        answers::SignOnPolicy,
        answers::SignOnRule,
        answers::NetworkZone,
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
        authn::AuthnBody,
        authn::AuthnTransaction,
        sessions::SessionAnswer,
        api_tokens::NewApiTokenBody,
        api_tokens::CreatedApiToken,
        initial_tokens::NewInitialTokenBody,
        initial_tokens::InitialAccessToken,
        user_sessions::UserSession,
        user_sessions::SessionClient,
        user_sessions::SessionUserAgent,
        factors::EnrollBody,
        factors::EnrollProfile,
        factors::PassCodeBody,
        answers::AppLink,
        dashboard::Dashboard,
        dashboard::DashboardHour,
        token_preview::PreviewBody,
        token_preview::PreviewAnswer,
        roles::RoleBody,
        roles::RoleAnswer,
        roles::GrantBody,
        roles::GrantAnswer,
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
        // What the route enforces, from the same list: an API token, or an access
        // token with the operation's Okta scope.
        if let super::extract::Access::Needs(need) = op.access {
            operation.security = Some(vec![
                SecurityRequirement::new("ssws", Vec::<String>::new()),
                SecurityRequirement::new("oauth2", [need.scope()]),
            ]);
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
    // Okta's scopes of the org authorization server (`Authorization: Bearer ...`).
    let scopes = || Scopes::from_iter(crate::admin::permissions::okta_scopes());
    components.add_security_scheme(
        "oauth2",
        SecurityScheme::OAuth2(OAuth2::with_description(
            [
                Flow::AuthorizationCode(AuthorizationCode::new(
                    "/oauth2/v1/authorize",
                    "/oauth2/v1/token",
                    scopes(),
                )),
                Flow::ClientCredentials(ClientCredentials::new("/oauth2/v1/token", scopes())),
            ],
            "An access token of the org authorization server (`Authorization: Bearer ...`) with the operation's Okta scope; a user's token also needs an admin role that allows the operation.",
        )),
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
        "initialAccessTokens" => "initialAccessTokens",
        "brands" => "brands",
        "authn" => "authn",
        "sessions" => "sessions",
        "dashboard" => "dashboard",
        "policies" => "policies",
        "zones" => "zones",
        "idps" => "idps",
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
                // A path parameter must be in the path (OpenAPI 3.1 §4.8.12.1): an
                // `IntoParams` struct without `parameter_in = Query` documents its
                // fields as path parameters.
                for p in op.parameters.iter().flatten() {
                    if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path) {
                        assert!(
                            path.contains(&format!("{{{}}}", p.name)),
                            "{path} {id}: path parameter {} is not in the path",
                            p.name
                        );
                    }
                }
            }
        }
        assert_eq!(ids.len(), super::super::operations().len());
    }
}
