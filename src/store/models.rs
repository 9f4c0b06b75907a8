//! Storage types: rows as the database holds them.

use crate::clock::UnixTime;

/// The org authorization server's id. Custom servers have their own (`default`, `aus...`).
pub const ORG_SERVER_ID: &str = "org";
pub const DEFAULT_SERVER_ID: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthServer {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `None`: the audience is the issuer (the org server).
    pub audience: Option<String>,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub access_token_typ_at_jwt: bool,
    pub signing_alg: String,
    pub status: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// Increased by database triggers, in the same transaction, whenever the server's
    /// scopes, claims, policies or rules change (migration 15): what `SettingsCache`
    /// checks. Never written by the application.
    pub settings_version: i64,
}

impl AuthServer {
    pub fn is_org(&self) -> bool {
        self.id == ORG_SERVER_ID
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Next,
    Active,
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Next => "NEXT",
            KeyStatus::Active => "ACTIVE",
            KeyStatus::Retired => "RETIRED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "NEXT" => Some(KeyStatus::Next),
            "ACTIVE" => Some(KeyStatus::Active),
            "RETIRED" => Some(KeyStatus::Retired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub server_id: String,
    pub alg: String,
    /// The public JWK as JSON text.
    pub public_jwk: String,
    /// The PKCS#8 private key sealed with the master key (never leaves the server).
    pub private_key_sealed: Vec<u8>,
    pub status: KeyStatus,
    pub created_at: UnixTime,
    /// When it became ACTIVE (`None` while NEXT).
    pub activated_at: Option<UnixTime>,
    /// When it was RETIRED (`None` until then).
    pub retired_at: Option<UnixTime>,
}

/// How long the store keeps a RETIRED key (private part included) after its
/// retirement: far past the time JWKS publishes it, so `keys list` still shows recent
/// history; then the janitor deletes it.
pub const RETIRED_KEY_KEPT_SECONDS: UnixTime = 30 * 86_400;

/// What a rotation did (`ServerStore::rotate_signing_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRotation {
    /// The expected ACTIVE key is RETIRED, the NEXT key ACTIVE, the new key NEXT.
    Rotated,
    /// The expected key is not ACTIVE (any more): another process rotated first.
    /// Nothing changed.
    NotActive,
    /// The server has no NEXT key to promote. Nothing changed.
    NoNextKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Argon2id PHC string; `None` for a user without a password.
    pub password_hash: Option<String>,
    /// Okta's lifecycle: `STAGED`, `PROVISIONED`, `ACTIVE`, `SUSPENDED`, `DEPROVISIONED`.
    pub status: String,
    /// Profile attributes beyond the four above (strings, numbers, booleans, null).
    pub profile_extra: serde_json::Map<String, serde_json::Value>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub status_changed_at: Option<UnixTime>,
    pub password_changed_at: Option<UnixTime>,
    pub last_login_at: Option<UnixTime>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// Keyed hash of the secret; `None` for a public client.
    pub secret_hash: Option<Vec<u8>>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: String,
    /// `web`, `browser` or `native`, as Okta names them.
    pub application_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Seconds a rotated refresh token still gets the same answer (0..=60).
    pub refresh_token_leeway: i64,
    pub status: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Client {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == "none"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: Vec<u8>,
    pub user_id: String,
    /// When the user last entered their password (OIDC `auth_time`).
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub id_hash: Vec<u8>,
    /// The validated authorization request, as JSON.
    pub request: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: Vec<u8>,
    pub server_id: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set on redemption: the access token minted from this code.
    pub access_jti: Option<String>,
    pub access_expires_at: Option<UnixTime>,
    /// Set on redemption: the refresh-token family the redemption may start.
    pub family_id: Option<String>,
}

/// What a redemption is about to mint, recorded with the code so that a replay can
/// revoke it: the access token and the refresh-token family (which exists only if a
/// refresh token was issued).
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    pub jti: String,
    pub expires_at: UnixTime,
    pub family_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// This call redeemed the code; it is the only one that will.
    Redeemed(AuthCode),
    /// The code was redeemed before: a replay.
    AlreadyRedeemed(AuthCode),
    NotFound,
}

/// A group of users (Okta's `00g...`); the `groups` claim and policy rules use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A scope an authorization server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDef {
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub description: String,
    /// `IMPLICIT` or `REQUIRED`, as Okta names them.
    pub consent: String,
    /// Granted when a client_credentials request names no scope.
    pub is_default: bool,
    /// One of OpenID Connect's scopes, which every server has.
    pub system: bool,
    pub created_at: UnixTime,
}

/// A custom claim: which token it goes in, with which scopes, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDef {
    pub id: String,
    pub server_id: String,
    pub name: String,
    /// `IDENTITY` (ID token and userinfo) or `RESOURCE` (access token).
    pub claim_type: String,
    /// `EXPRESSION` (`user.email`, a quoted literal) or `GROUPS`.
    pub value_type: String,
    pub value: String,
    /// For `GROUPS`: `STARTS_WITH`, `EQUALS`, `CONTAINS` or `REGEX`.
    pub group_filter_type: Option<String>,
    /// The claim is included when one of these scopes is granted; empty: always.
    pub scopes: Vec<String>,
    pub status: String,
    pub created_at: UnixTime,
}

/// An access policy: which clients it applies to, in priority order (1 first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub description: String,
    pub priority: i64,
    pub status: String,
    /// Client ids, or `ALL_CLIENTS`.
    pub clients: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A rule of a policy: what it matches and the token lifetimes it sets (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub id: String,
    pub policy_id: String,
    pub name: String,
    pub priority: i64,
    pub status: String,
    pub grant_types: Vec<String>,
    /// Scope names, or `*` for any.
    pub scopes: Vec<String>,
    pub users: Vec<String>,
    /// Group ids, or `EVERYONE`.
    pub groups: Vec<String>,
    pub access_token_ttl: i64,
    /// `None`: unlimited.
    pub refresh_token_ttl: Option<i64>,
    /// `None`: no idle limit.
    pub refresh_token_idle: Option<i64>,
    /// `ALLOW` or `DENY`.
    pub action: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What the first start writes for a built-in authorization server.
#[derive(Debug, Clone, Default)]
pub struct ServerSeed {
    pub scopes: Vec<ScopeDef>,
    pub claims: Vec<ClaimDef>,
    pub policies: Vec<(Policy, Vec<PolicyRule>)>,
}

/// One grant of offline access, shared by every refresh token rotated from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: String,
    pub server_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The scope the user granted; a refresh may narrow it, never widen it.
    pub scope: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    /// Absolute lifetime; `None`: unlimited.
    pub expires_at: Option<UnixTime>,
    pub last_used_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// One refresh token (its SHA-256) of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: Vec<u8>,
    pub family_id: String,
    /// The scope of the access token minted with it (a refresh may narrow the grant's).
    pub scope: String,
    pub issued_at: UnixTime,
    /// `None`: no idle limit.
    pub idle_expires_at: Option<UnixTime>,
    pub rotated_at: Option<UnixTime>,
    pub successor_hash: Option<Vec<u8>>,
    pub access_jti: Option<String>,
    pub access_expires_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This call rotated the token; it is the only one that will.
    Rotated,
    /// The token was rotated before (a retry or a reuse).
    AlreadyRotated,
    /// The family was revoked (or the token is gone).
    Revoked,
}

/// A management API token (`Authorization: SSWS ...`), stored as the SHA-256 of its
/// random value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub token_hash: Vec<u8>,
    /// Who created it: `cli`, or the id of the API token that did.
    pub created_by: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// One System Log event: the columns filters use, and the event's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The order events were written in (the pagination cursor); 0 before insertion.
    pub seq: i64,
    pub uuid: String,
    pub published: UnixTime,
    pub event_type: String,
    pub outcome_result: String,
    pub actor_id: String,
    pub target_ids: Vec<String>,
    /// The event as the API returns it (JSON text).
    pub event: String,
}
