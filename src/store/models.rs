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
    pub status: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
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
}

/// The access token a redemption is about to mint, recorded with it.
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    pub jti: String,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// This call redeemed the code; it is the only one that will.
    Redeemed(AuthCode),
    /// The code was redeemed before: a replay.
    AlreadyRedeemed(AuthCode),
    NotFound,
}
