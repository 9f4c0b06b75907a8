//! RFC 7591 §2 client metadata, as a client sends it to register (RFC 7591 §3.1) or
//! update (RFC 7592 §2.2), and the client information response (RFC 7591 §3.2.1,
//! RFC 7592 §3).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The metadata Gatehouse reads. Every other member (`logo_uri`, `client_uri`,
/// `policy_uri`, `tos_uri`, `contacts`, `scope`, `software_id`, `software_version`,
/// ...) is ignored, as RFC 7591 §2 allows, and left out of the response, so the client
/// sees what was registered.
#[derive(Debug, Default, Deserialize)]
pub struct ClientMetadata {
    /// RFC 7592 §2.2: an update names the client it updates.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: if an update sends it, it must be a current secret.
    pub client_secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    /// OpenID Connect Dynamic Client Registration §2 (`web`, `native`), and Okta's
    /// `browser` and `service`.
    pub application_type: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    /// OpenID Connect RP-Initiated Logout §3.1.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// OpenID Connect Dynamic Client Registration §2, RFC 9101 §10.5.
    pub request_object_signing_alg: Option<String>,
    /// RFC 9101 §10.5.
    pub require_signed_request_object: Option<bool>,
    /// RFC 9126 §6.
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2.
    pub dpop_bound_access_tokens: Option<bool>,
    /// OpenID Connect Front-Channel Logout 1.0 §2.
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: Option<bool>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    /// RFC 7591 §2.3: refused (`unapproved_software_statement`).
    pub software_statement: Option<Value>,
    /// Everything else: ignored.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// RFC 7591 §3.2.1 and RFC 7592 §3: the client as registered.
#[derive(Debug, Serialize)]
pub struct ClientInformation {
    pub client_id: String,
    /// Only when just made (registration, `lifecycle/newSecret`, an update that made
    /// one): only a keyed hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// RFC 7591 §3.2.1: required with a secret; 0, the secret does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// RFC 7592 §3: only when just issued (registration, and each update, which
    /// replaces it); only its SHA-256 is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub application_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    pub require_signed_request_object: bool,
    pub require_pushed_authorization_requests: bool,
    pub dpop_bound_access_tokens: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}
