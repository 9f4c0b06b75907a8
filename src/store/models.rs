//! Storage types: rows as the database holds them.

use super::StoreError;
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
    pub status: Status,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// Increased by database triggers, in the same transaction, whenever the server's
    /// scopes, claims, policies or rules change (migration 15), and whenever any app
    /// changes (migration 24): what `SettingsCache` and `ClientCache` check. Never
    /// written by the application.
    pub settings_version: i64,
    /// RFC 7662 §4: only the token's own client and `resource_servers` learn that an
    /// access token is active at introspection (off: any confidential client).
    pub introspection_restricted: bool,
    /// The client ids of the resource servers of this server's audience: the clients
    /// that may introspect every access token when `introspection_restricted` is on.
    pub resource_servers: Vec<String>,
}

impl AuthServer {
    pub fn is_org(&self) -> bool {
        self.id == ORG_SERVER_ID
    }
}

/// An enum with one spelling per variant, Okta's: `as_str` for JSON and SQL, `FromStr`
/// for a column (an unknown value is `StoreError::Schema`: the data is corrupt or newer
/// than this binary), `Display`, and serde as the spelling (client secrets are a JSON
/// column, and Okta's JSON shows the same strings).
macro_rules! spelled {
    ($(#[$meta:meta])* $what:literal, $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = StoreError;

            fn from_str(text: &str) -> Result<Self, StoreError> {
                $name::parse(text)
                    .ok_or_else(|| StoreError::Schema(format!(concat!("unknown ", $what, " {:?}"), text)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(concat!("unknown ", $what, " {:?}"), text))
                })
            }
        }

        impl From<&$name> for super::db::Arg<'_> {
            fn from(value: &$name) -> Self {
                value.as_str().into()
            }
        }
    };
}

spelled! {
    /// A signing key's place in rotation.
    "key status", KeyStatus {
        Next => "NEXT",
        Active => "ACTIVE",
        Retired => "RETIRED",
    }
}

spelled! {
    /// Okta's `ACTIVE`/`INACTIVE`, shared by apps, client secrets, authorization
    /// servers, custom claims, policies and rules.
    "status", Status {
        Active => "ACTIVE",
        Inactive => "INACTIVE",
    }
}

impl Status {
    /// `ACTIVE` when true, `INACTIVE` otherwise (what the activate/deactivate
    /// operations write).
    pub fn active_if(active: bool) -> Status {
        if active {
            Status::Active
        } else {
            Status::Inactive
        }
    }
}

/// What `Default` gives a client built in code: not active, so nothing half-filled
/// serves requests (the same as the empty string it replaces).
impl Default for Status {
    fn default() -> Self {
        Status::Inactive
    }
}

spelled! {
    /// How a client authenticates at the token endpoint (RFC 8414 §2, OpenID Connect
    /// Core §9), by the names discovery and Okta's API use.
    "client authentication method", AuthMethod {
        ClientSecretBasic => "client_secret_basic",
        ClientSecretPost => "client_secret_post",
        ClientSecretJwt => "client_secret_jwt",
        PrivateKeyJwt => "private_key_jwt",
        /// A public client.
        None => "none",
    }
}

impl AuthMethod {
    /// Does this method authenticate with a client secret?
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }
}

/// Okta's default for a new app; what `Default` gives a client built in code.
impl Default for AuthMethod {
    fn default() -> Self {
        AuthMethod::ClientSecretBasic
    }
}

spelled! {
    /// Okta's user lifecycle (the states this server has; Okta's RECOVERY and
    /// LOCKED_OUT are not reachable here). PASSWORD_EXPIRED (an admin expired the
    /// password) cannot sign in until a new password is set.
    "user status", UserStatus {
        Staged => "STAGED",
        Provisioned => "PROVISIONED",
        Active => "ACTIVE",
        PasswordExpired => "PASSWORD_EXPIRED",
        LockedOut => "LOCKED_OUT",
        Suspended => "SUSPENDED",
        Deprovisioned => "DEPROVISIONED",
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
    pub status: UserStatus,
    /// Profile attributes beyond the four above (strings, numbers, booleans, null).
    pub profile_extra: serde_json::Map<String, serde_json::Value>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub status_changed_at: Option<UnixTime>,
    pub password_changed_at: Option<UnixTime>,
    pub last_login_at: Option<UnixTime>,
    /// The address the user proved they receive mail at (migration 36). Written only
    /// by following an e-mail link (`UserTokenStore`), never by `update_user`.
    pub verified_email: Option<String>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// What the user was granted before stays usable: ACTIVE, or LOCKED_OUT (Okta's
    /// lockout stops new sign-ins, by password or passkey, but neither ends the
    /// sessions nor revokes the tokens the person already has; a lock that someone
    /// else's wrong guesses caused must not sign the owner out everywhere). A new
    /// sign-in asks `is_active`.
    pub fn keeps_sign_in(&self) -> bool {
        matches!(self.status, UserStatus::Active | UserStatus::LockedOut)
    }

    /// OpenID Connect's `email_verified`: the current address is the one proven.
    pub fn email_verified(&self) -> bool {
        match (&self.email, &self.verified_email) {
            (Some(email), Some(verified)) => email.eq_ignore_ascii_case(verified),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// The client's secrets (at most two, so one can replace the other without an
    /// outage); empty for a public client and for `private_key_jwt`.
    pub secrets: Vec<ClientSecret>,
    pub auth_method: AuthMethod,
    /// `private_key_jwt`: the registered JWKS document (public keys only), or
    pub jwks: Option<String>,
    /// where to fetch it.
    pub jwks_uri: Option<String>,
    /// Okta's `dpop_bound_access_tokens`: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// `web`, `browser` or `native`, as Okta names them.
    pub application_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Seconds a rotated refresh token still gets the same answer (0..=60).
    pub refresh_token_leeway: i64,
    /// RFC 9126 §6: /authorize takes this app's requests only through a `request_uri`
    /// it pushed (Okta's `require_pushed_authorization_requests`).
    pub require_pushed_authorization_requests: bool,
    /// RFC 9101 §10.5 (OpenID Connect Registration's `request_object_signing_alg`): the
    /// one JWS algorithm this app's request objects must use; `None`: any algorithm of
    /// its authentication method (asymmetric for `private_key_jwt`, HMAC for
    /// `client_secret_jwt`).
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5 `require_signed_request_object`: /authorize and PAR take this
    /// app's requests only as a signed request object.
    pub require_signed_request_object: bool,
    /// Okta's `pkce_required`: /authorize refuses a request without a `code_challenge`.
    /// Always true for a public client.
    pub pkce_required: bool,
    /// The `plain` PKCE method is accepted from this (confidential) app; otherwise
    /// only `S256` (RFC 9700 §2.1.1). Each use is a warning in the System Log.
    pub pkce_allow_plain: bool,
    /// Where the app hears of a sign-out (Front- and Back-Channel Logout).
    pub logout: LogoutChannels,
    pub status: Status,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// Row version for optimistic concurrency: 0 when inserted, one more after every
    /// `update_client`, which writes only over the version it was read at.
    pub version: i64,
}

/// How an app hears that a session it was signed in through has ended, in OpenID Connect
/// Registration's names (and Okta's `settings.oauthClient`): Front-Channel Logout 1.0
/// §2 (an iframe of the signed-out page loads `frontchannel_logout_uri`) and
/// Back-Channel Logout 1.0 §2.2 (the server POSTs a logout token to
/// `backchannel_logout_uri`). `*_session_required`: the app needs `iss` and `sid` (the
/// iframe's query, the logout token's `sid` claim) to know which session ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutChannels {
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: bool,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

/// A back-channel logout still owed to an app (Back-Channel Logout 1.0 §2.5): which
/// session ended, for whom, at which app and authorization server (the logout token's
/// `aud` and `iss`), and how the delivery has gone so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutJob {
    pub id: i64,
    /// The ended session's stored hash (its public id is the token's `sid`).
    pub session_hash: Vec<u8>,
    pub client_id: String,
    pub server_id: String,
    pub user_id: String,
    /// Attempts started, this one included once taken.
    pub attempts: i64,
    pub next_attempt_at: UnixTime,
    pub created_at: UnixTime,
    pub last_error: Option<String>,
}

/// One client secret, Okta's shape: an id, a status, and only its keyed hash (and, for
/// `client_secret_jwt`, a copy sealed under the master key, because HMAC needs the
/// secret itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientSecret {
    pub id: String,
    /// The keyed hash (`MasterKey::hash_client_secret`), hex.
    pub hash: String,
    /// AES-256-GCM under the master key with the secret id as context, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    pub status: Status,
    pub created: UnixTime,
    pub updated: UnixTime,
}

impl ClientSecret {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }
}

impl Client {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
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
    /// What the sign-in proved: RFC 8176 `amr` values (`pwd`, `otp`, `mfa`, ...).
    pub amr: Vec<String>,
    /// When a second factor was last verified in this session (`None`: never).
    pub mfa_at: Option<UnixTime>,
    /// The browser's `User-Agent` at sign-in, at most 256 characters (`None`: none
    /// sent, or a session from before they were kept).
    pub user_agent: Option<String>,
    /// The client's address at sign-in, as `http::client_ip` decided it.
    pub ip: Option<String>,
    /// When the session was last used at /authorize (moved at most once a minute).
    pub last_seen_at: Option<UnixTime>,
}

/// How a session was signed in through an identity provider (issue 19): the provider,
/// and its ID token for that sign-in sealed with the master key (bound to the session's
/// hash), kept only to end the provider's session at logout (`id_token_hint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFederation {
    pub idp_id: String,
    pub sealed_id_token: Option<Vec<u8>>,
}

/// An Okta `sessionToken` (`/api/v1/authn`): the SHA-256 of the one-time value the
/// caller got, for whom, and when the password was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    /// When the user entered the password (the session's OIDC `auth_time`).
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A pushed authorization request (RFC 9126 §2): the parameters an authenticated app
/// posted, waiting (at most 60 seconds) for the browser to bring its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 of the random part of the `request_uri`.
    pub id_hash: Vec<u8>,
    pub server_id: String,
    pub client_id: String,
    /// The pushed parameters, form-encoded as received.
    pub params: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// How a brute-force counter grows: from the `threshold`-th failure on, each attempt
/// waits twice as long as the one before (2, 4, 8, ... seconds), at most `max_delay`;
/// a counter with no failure for `window` seconds starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub threshold: i64,
    pub window: i64,
    pub max_delay: i64,
}

impl ThrottleRule {
    /// The wait after the `failures`-th failure in a row: none below the threshold,
    /// then 2^(failures - threshold + 1) seconds, capped. The store computes the same
    /// in SQL (`store::throttle`), so that the check and the count are one
    /// statement.
    pub fn delay(&self, failures: i64) -> i64 {
        if failures < self.threshold {
            return 0;
        }
        let exponent = failures - self.threshold + 1;
        if exponent >= 30 {
            self.max_delay
        } else {
            (1i64 << exponent).min(self.max_delay)
        }
    }
}

/// What counting an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt may go on; it is counted as the `failures`-th in a row until the
    /// caller says it succeeded.
    Allowed { failures: i64 },
    /// Too many failures: nothing may be tried before `until` (the counter is unchanged).
    Blocked { until: UnixTime },
}

/// A counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i64,
    pub last_at: UnixTime,
    pub blocked_until: UnixTime,
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
    /// RFC 9449 §10: the thumbprint of the DPoP key the code must be redeemed with.
    pub dpop_jkt: Option<String>,
    /// RFC 8176 `amr` values of the session the code was issued from (`None`: a code
    /// issued before factors existed, or without a session: the password alone).
    pub amr: Option<Vec<String>>,
    /// The public id of the session the code was issued in: the ID token's `sid`.
    pub sid: Option<String>,
    /// The `acr` the code's ID token reports (the `acr_values` value the sign-in met);
    /// `None`: the level of `amr` (`factors::acr_of`).
    pub acr: Option<String>,
}

/// Everything a code's redemption grants, written in the one transaction that marks
/// the code redeemed (`AuthorizationStore::redeem_code`; the event on SQLite right after
/// it): either all of it is stored
/// and the code is spent, or none of it is and the code can still be redeemed. The
/// access token and the family are recorded on the code so that a later replay can
/// revoke them. A redemption refused by a check grants nothing (`CodeGrant::default`)
/// and only spends the code.
#[derive(Debug, Clone, Default)]
pub struct CodeGrant {
    /// The access token minted, and how long its deny-list entry must last.
    pub access_jti: Option<String>,
    pub access_expires_at: Option<UnixTime>,
    /// A refresh-token family and its first token, when one was issued.
    pub refresh: Option<(RefreshFamily, RefreshToken)>,
    /// The System Log event of the grant: in the redemption's statement on PostgreSQL;
    /// on SQLite group-committed right after it (`redeem_code`).
    pub event: Option<LogEvent>,
}

spelled! {
    /// Where a device authorization request (RFC 8628) stands: waiting for the user,
    /// answered by them at `/activate`, or redeemed for tokens (once).
    "device code status", DeviceStatus {
        Pending => "PENDING",
        Approved => "APPROVED",
        Denied => "DENIED",
        Redeemed => "REDEEMED",
    }
}

/// A device authorization request (RFC 8628 §3.2): only the hashes of its device
/// code and of its normalised user code are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub device_code_hash: Vec<u8>,
    pub user_code_hash: Vec<u8>,
    pub server_id: String,
    pub client_id: String,
    pub scope: String,
    pub status: DeviceStatus,
    /// The seconds the client must wait between polls (§3.5: raised by `slow_down`).
    pub poll_interval: i64,
    pub last_polled_at: Option<UnixTime>,
    /// The last poll came sooner than the interval allowed: it is answered `slow_down`.
    pub slowed: bool,
    /// Who answered at `/activate`, and when they had signed in.
    pub user_id: Option<String>,
    pub auth_time: Option<UnixTime>,
    pub decided_at: Option<UnixTime>,
    pub redeemed_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A code as the token endpoint finds it, before redeeming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeState {
    /// Not redeemed yet (as of this read: a concurrent redemption may be committing).
    Unredeemed(AuthCode),
    /// Redeemed before.
    Redeemed(AuthCode),
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
    pub status: Status,
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
    pub status: Status,
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
    pub status: Status,
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
    /// RFC 9449 §5: a public client's family is bound to this DPoP key thumbprint.
    pub dpop_jkt: Option<String>,
    /// The session the grant was made in (the `sid` of every ID token it mints).
    pub sid: Option<String>,
    /// What the sign-in behind the grant proved (RFC 8176 `amr`) and the `acr` its
    /// first ID token reported: every refreshed ID token says the same (OpenID Connect
    /// Core §12.2). `None`: the password alone, and the level `amr` gives.
    pub amr: Option<Vec<String>>,
    pub acr: Option<String>,
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

/// An initial access token (RFC 7591 §3): lets its holder register clients at
/// `/oauth2/v1/clients` until `expires_at`, at most `max_uses` times. Stored as the
/// SHA-256 of its random value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub id: String,
    pub name: String,
    pub token_hash: Vec<u8>,
    /// Who made it: `cli`, an admin's id, or the API token's id.
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub max_uses: i64,
    pub uses: i64,
    pub revoked_at: Option<UnixTime>,
}

/// Why a write under a registration access token did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredWrite {
    /// Written; the token was replaced.
    Done,
    /// The token presented is no longer the client's (rotated by a concurrent update,
    /// or the client is gone): nothing written.
    TokenGone,
    /// The client changed since it was read: nothing written; read again and decide.
    Stale,
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
    /// Milliseconds since the epoch (migration 23; seconds before it).
    pub published: crate::clock::UnixMillis,
    pub event_type: String,
    pub outcome_result: String,
    pub actor_id: String,
    pub target_ids: Vec<String>,
    /// The event as the API returns it (JSON text).
    pub event: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_reads_back_its_spelling() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in UserStatus::ALL {
            assert_eq!(s.as_str().parse::<UserStatus>().unwrap(), *s);
            assert_eq!(s.to_string(), s.as_str());
        }
        for s in KeyStatus::ALL {
            assert_eq!(s.as_str().parse::<KeyStatus>().unwrap(), *s);
        }
        // Discovery and the admin API's error list name the methods from this list.
        let names: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, crate::oauth::client_auth::METHODS);
        for m in AuthMethod::ALL {
            assert_eq!(m.as_str().parse::<AuthMethod>().unwrap(), *m);
        }
    }

    #[test]
    fn an_unknown_column_value_is_a_schema_error_not_a_panic() {
        for bad in ["", "active", "DELETED", "ACTIVE "] {
            assert!(matches!(bad.parse::<Status>(), Err(StoreError::Schema(_))));
            assert!(matches!(
                bad.parse::<UserStatus>(),
                Err(StoreError::Schema(_))
            ));
            assert!(matches!(
                bad.parse::<KeyStatus>(),
                Err(StoreError::Schema(_))
            ));
        }
        // A client secret's status sits in a JSON column: the same refusal, through serde.
        let json = r#"{"id":"s","hash":"h","status":"LOST","created":0,"updated":0}"#;
        assert!(serde_json::from_str::<ClientSecret>(json).is_err());
    }
}

spelled! {
    /// Okta's policy types for signing in: the global session policy and the app
    /// authentication policies.
    "policy type", PolicyType {
        SignOn => "OKTA_SIGN_ON",
        Access => "ACCESS_POLICY",
    }
}

spelled! {
    /// What a sign-on rule that matches does.
    "access", RuleAccess {
        Allow => "ALLOW",
        Deny => "DENY",
    }
}

spelled! {
    /// How many factor types a sign-on rule asks for: Okta's `factorMode`.
    "factor mode", FactorMode {
        One => "1FA",
        Two => "2FA",
    }
}

spelled! {
    /// Okta's possession constraint on the factors a rule asks for.
    "possession constraint", Possession {
        Any => "ANY",
        PhishingResistant => "PHISHING_RESISTANT",
        HardwareProtected => "HARDWARE_PROTECTED",
    }
}

/// A second factor enrolled by a user (Okta's Factor object, stored form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFactor {
    /// Okta-style id (`uft…` for TOTP, `emf…` for e-mail).
    pub id: String,
    pub user_id: String,
    /// Okta's `factorType`, e.g. `token:software:totp`.
    pub factor_type: String,
    /// Okta's `provider`, e.g. `GOOGLE` (any RFC 6238 authenticator app).
    pub provider: String,
    pub status: FactorStatus,
    /// The shared secret sealed under the master key (context: the factor id).
    pub secret_sealed: Option<Vec<u8>>,
    /// The RFC 6238 time step of the last code accepted (replay guard).
    pub last_step: Option<i64>,
    /// The address an e-mail factor's codes go to (Okta's `profile.email`); `None`
    /// for other factors.
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

spelled! {
    "factor status", FactorStatus {
        PendingActivation => "PENDING_ACTIVATION",
        Active => "ACTIVE",
    }
}

spelled! {
    /// An upstream identity provider's protocol (Okta's IdP `type`). `OAUTH2` has no
    /// ID token: the person is who its userinfo endpoint says.
    "identity provider type", IdpType {
        Oidc => "OIDC",
        OAuth2 => "OAUTH2",
    }
}

spelled! {
    /// Okta's `AUTO`/`DISABLED`: whether unknown people are provisioned
    /// (`policy.provisioning.action`) or matching users linked (`policy.accountLink.action`).
    "identity provider policy action", IdpPolicyAction {
        Auto => "AUTO",
        Disabled => "DISABLED",
    }
}

spelled! {
    /// What a sign-in through a provider does to the user's groups
    /// (`policy.provisioning.groups.action`): nothing, add the groups the claim names,
    /// make the claim's groups (within the filter) the user's, or add fixed ones.
    "groups action", GroupsAction {
        None => "NONE",
        Append => "APPEND",
        Sync => "SYNC",
        Assign => "ASSIGN",
    }
}

spelled! {
    /// How an upstream person is matched to an existing user (`policy.subject.matchType`).
    "subject match type", SubjectMatchType {
        Username => "USERNAME",
        Email => "EMAIL",
        UsernameOrEmail => "USERNAME_OR_EMAIL",
        CustomAttribute => "CUSTOM_ATTRIBUTE",
    }
}

spelled! {
    /// How an IdP discovery rule's `userIdentifier.patterns` compare the typed username.
    "pattern match type", PatternMatchType {
        Suffix => "SUFFIX",
        Equals => "EQUALS",
        StartsWith => "STARTS_WITH",
        Contains => "CONTAINS",
        Expression => "EXPRESSION",
    }
}

spelled! {
    /// What an IdP discovery rule matches against: the typed username (`IDENTIFIER`) or
    /// an attribute of the user it names (`ATTRIBUTE`).
    "user identifier type", IdentifierType {
        Identifier => "IDENTIFIER",
        Attribute => "ATTRIBUTE",
    }
}
