//! The shapes of the answers, for the document and the reference only (the handlers
//! answer with `admin`'s JSON, in Okta's shapes, which these describe): the fields a
//! client reads; Okta's fixed fields are left out. Times are RFC 3339 strings.

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
    /// `self`, and the lifecycle actions the user's status allows (`activate`,
    /// `deactivate`, `suspend`, `unsuspend`, `changePassword`).
    #[serde(rename = "_links")]
    pub links: Value,
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
    /// OKTA_GROUP, or BUILT_IN for `Everyone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created: String,
    pub last_updated: String,
    /// `name` and `description`.
    pub profile: Value,
    /// `self` and `users`.
    #[serde(rename = "_links")]
    pub links: Value,
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
    /// `self`, `users`, `groups`, and `activate` or `deactivate`.
    #[serde(rename = "_links")]
    pub links: Value,
}

/// One of an app's client secrets.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecret {
    /// `ocs…`
    pub id: String,
    /// ACTIVE or INACTIVE.
    pub status: String,
    /// Base64url of SHA-256 over the stored keyed hash: tells secrets apart.
    #[serde(rename = "secret_hash")]
    pub secret_hash: String,
    pub created: String,
    pub last_updated: String,
    /// Only in the answer that creates it: it cannot be read back.
    #[serde(rename = "client_secret")]
    pub client_secret: Option<String>,
    /// `activate` or `deactivate`, and `delete` once INACTIVE.
    #[serde(rename = "_links")]
    pub links: Value,
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
    /// `self`, `scopes`, `claims`, `policies`, `metadata`, `rotateKey`, and `activate`
    /// or `deactivate`.
    #[serde(rename = "_links")]
    pub links: Value,
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

/// An app a user can sign in to (Okta's app link).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLink {
    /// The app's id (`0oa…`).
    pub id: String,
    pub label: String,
    /// The origin of the app's first redirect URI; null for a native app.
    pub link_url: Option<String>,
    /// `oidc_client`.
    pub app_name: String,
    pub app_instance_id: String,
    pub hidden: bool,
    pub sort_order: i64,
}

/// A sign-on policy (`OKTA_SIGN_ON` or `ACCESS_POLICY`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignOnPolicy {
    /// `00p…`
    pub id: String,
    /// `OKTA_SIGN_ON` or `ACCESS_POLICY`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub description: String,
    /// 1 is evaluated first; the system (default) policy always last.
    pub priority: i64,
    pub status: String,
    /// The default policy of its type.
    pub system: bool,
    pub created: String,
    pub last_updated: String,
    /// OKTA_SIGN_ON: `people.groups.include`; null for ACCESS_POLICY.
    pub conditions: Value,
}

/// A sign-on policy rule.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignOnRule {
    /// `0pr…`
    pub id: String,
    /// `SIGN_ON` or `ACCESS_POLICY`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub priority: i64,
    pub status: String,
    /// The catch-all rule.
    pub system: bool,
    pub created: String,
    pub last_updated: String,
    /// `people.users`/`people.groups` include and exclude; `network.connection`
    /// (`ANYWHERE` or `ZONE`) with zone ids to include and exclude.
    pub conditions: Value,
    /// `signon` (`access`, `requireFactor`, `factorPromptMode`, `factorLifetime`) or
    /// `appSignOn` (`access`, `verificationMethod` with `factorMode`,
    /// `reauthenticateIn`, `constraints`).
    pub actions: Value,
}

/// An IP network zone.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkZone {
    /// `nzo…`
    pub id: String,
    /// `IP`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub status: String,
    /// `{type: CIDR|RANGE, value}`.
    pub gateways: Value,
    pub created: String,
    pub last_updated: String,
}

/// An upstream identity provider (Okta's IdentityProvider). `protocol.credentials.client`
/// never carries `client_secret` in an answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProvider {
    /// `0oa…`
    pub id: String,
    /// `OIDC` or `OAUTH2`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ORG_URL`.
    pub issuer_mode: String,
    pub name: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub created: String,
    pub last_updated: String,
    /// `type`, `endpoints` (`authorization`, `token`, `userInfo`, `jwks`: `{url, binding}`),
    /// `scopes`, `credentials` (`client`: `client_id`, `token_endpoint_auth_method`,
    /// `pkce_required`; `signing`: `algorithm`), `issuer` (`{url}`).
    pub protocol: Value,
    /// `provisioning`, `accountLink`, `subject`, `maxClockSkew` (milliseconds).
    pub policy: Value,
    /// Gatehouse's settings: `endSessionEndpoint`, `endUpstreamSession`,
    /// `profileMapping` (`[{field, expression}]`), `button` (`label`, `color`).
    pub gatehouse: Value,
    #[serde(rename = "_links")]
    pub links: Value,
}

/// A user linked to an identity provider (Okta's IdentityProviderApplicationUser).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderUser {
    /// The user's id (`00u…`).
    pub id: String,
    /// The upstream `sub`.
    pub external_id: String,
    pub created: String,
    pub last_updated: String,
    /// The upstream profile last seen.
    pub profile: Value,
    #[serde(rename = "_links")]
    pub links: Value,
}
