//! OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 metadata for one authorization server.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1.
    pub end_session_endpoint: String,
    /// RFC 7009 / RFC 8414 §2.
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 7662 / RFC 8414 §2.
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 8414 §2: the algorithms of `client_secret_jwt` and `private_key_jwt` assertions.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9449 §5.1.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    /// RFC 9126 §5.
    pub pushed_authorization_request_endpoint: String,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    /// RFC 9126 §5: false at the server level; an app may require PAR
    /// (`require_pushed_authorization_requests` in its settings).
    pub require_pushed_authorization_requests: bool,
    /// OpenID Connect Discovery §3: request objects (`request`, RFC 9101) are taken at
    /// /authorize and PAR.
    pub request_parameter_supported: bool,
    /// OpenID Connect Discovery §3: every algorithm some app may sign request objects
    /// with (each app is bound to its method's, or to the one it registered).
    pub request_object_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9101 §10.5: false at the server level; an app may require request objects
    /// (`require_signed_request_object` in its settings).
    pub require_signed_request_object: bool,
    /// OpenID Connect Discovery §3: whether the server fetches a `request_uri` the
    /// client hosts. It never does (`request_uri_not_supported`); the `request_uri`
    /// values it issued itself at the PAR endpoint are accepted regardless (RFC 9126 §4).
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    pub authorization_response_iss_parameter_supported: bool,
}

/// The claims every server's tokens and userinfo can carry.
pub const STANDARD_CLAIMS: &[&str] = &[
    "iss",
    "ver",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
    "auth_time",
    "amr",
    "acr",
    "nonce",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

const AUTH_METHODS: &[&str] = crate::oauth::client_auth::METHODS;

/// The assertion algorithms: HMAC for `client_secret_jwt`, the asymmetric ones for
/// `private_key_jwt` (never `none`).
fn assertion_algs() -> Vec<&'static str> {
    crate::tokens::jose::HMAC_ALGS
        .iter()
        .chain(crate::tokens::jose::ASYMMETRIC_ALGS)
        .copied()
        .collect()
}

impl Metadata {
    /// `endpoints` is the issuer's endpoint base: `{base}/oauth2/v1` for the org server,
    /// `{base}/oauth2/{id}/v1` for a custom one. `scopes` are the server's; `claims`
    /// the names of its custom claims.
    pub fn new(issuer: &str, endpoints: &str, scopes: Vec<String>, claims: Vec<String>) -> Self {
        let mut claims_supported: Vec<String> =
            STANDARD_CLAIMS.iter().map(|c| c.to_string()).collect();
        for claim in claims {
            if !claims_supported.contains(&claim) {
                claims_supported.push(claim);
            }
        }
        Metadata {
            issuer: issuer.to_string(),
            authorization_endpoint: format!("{endpoints}/authorize"),
            token_endpoint: format!("{endpoints}/token"),
            userinfo_endpoint: format!("{endpoints}/userinfo"),
            jwks_uri: format!("{endpoints}/keys"),
            end_session_endpoint: format!("{endpoints}/logout"),
            revocation_endpoint: format!("{endpoints}/revoke"),
            revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            introspection_endpoint: format!("{endpoints}/introspect"),
            introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query", "fragment", "form_post"],
            grant_types_supported: crate::oauth::grants::GrantType::NAMES.to_vec(),
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: vec!["RS256"],
            scopes_supported: scopes,
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            dpop_signing_alg_values_supported: crate::tokens::jose::ASYMMETRIC_ALGS.to_vec(),
            claims_supported,
            code_challenge_methods_supported: vec!["S256"],
            prompt_values_supported: vec!["none", "login", "consent", "select_account"],
            pushed_authorization_request_endpoint: format!("{endpoints}/par"),
            device_authorization_endpoint: format!("{endpoints}/device/authorize"),
            require_pushed_authorization_requests: false,
            request_parameter_supported: true,
            request_object_signing_alg_values_supported: crate::oauth::request_object::all_algs(),
            require_signed_request_object: false,
            request_uri_parameter_supported: false,
            claims_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
        }
    }
}
