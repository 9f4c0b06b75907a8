//! What the caller knows of one upstream provider: `ProviderConfig`, filled from the
//! stored identity provider (its secret already unsealed), optionally completed from
//! the provider's discovery document (`discovery::Metadata`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tokens::Keyring;

/// Seconds of clock difference tolerated on `exp`, `iat` and `nbf` unless set.
pub const DEFAULT_CLOCK_SKEW: i64 = 120;
/// The cap on each exchange with the upstream unless set (the whole exchange).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest body read from the upstream's discovery, token and userinfo endpoints.
/// An ID token is at most 16 KiB (`jose::MAX_JWS_LEN`); 128 KiB leaves room for the
/// largest discovery documents seen in the wild.
pub const MAX_BODY: usize = 128 * 1024;

/// The two protocols an upstream may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenID Connect: the identity is the verified ID token (and userinfo, if any).
    Oidc,
    /// Plain OAuth 2.0 (GitHub style): no ID token; the identity is what the userinfo
    /// endpoint answers for the access token, its subject in `subject_claim`.
    OAuth2,
}

/// How Gatehouse authenticates to the upstream's token endpoint (RFC 6749 §2.3,
/// OpenID Connect Core §9).
#[derive(Clone)]
pub enum TokenAuth {
    /// HTTP Basic with the form-urlencoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost,
    /// A client assertion (RFC 7523 §2.2) signed with this key ring's ACTIVE key:
    /// the upstream must know the ring's public keys (the server's `/v1/keys`
    /// document as the client's `jwks_uri`).
    PrivateKeyJwt(Arc<Keyring>),
}

impl TokenAuth {
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenAuth::ClientSecretBasic => "client_secret_basic",
            TokenAuth::ClientSecretPost => "client_secret_post",
            TokenAuth::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

impl fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One upstream provider as the caller has it. The client secret is plain here (the
/// caller unsealed it); `Debug` never shows it.
#[derive(Clone)]
pub struct ProviderConfig {
    pub kind: Kind,
    /// The issuer, exactly as the provider names itself (its ID tokens' `iss`, its
    /// discovery document's `issuer`, RFC 9207's `iss`). May be empty for an OAuth 2.0
    /// provider that has none (GitHub).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// Required for `Kind::OAuth2`; for OpenID Connect, called when set and its `sub`
    /// must be the ID token's.
    pub userinfo_endpoint: Option<String>,
    /// Required for `Kind::Oidc`: where the ID token's keys are.
    pub jwks_uri: Option<String>,
    /// RP-Initiated Logout 1.0 (`end_session_url`).
    pub end_session_endpoint: Option<String>,
    pub client_id: String,
    /// For `client_secret_basic` and `client_secret_post`.
    pub client_secret: Option<String>,
    pub token_auth: TokenAuth,
    /// Requested scopes; for OpenID Connect `openid` is added when missing.
    pub scopes: Vec<String>,
    /// PKCE with S256 (RFC 7636). On unless the provider cannot take it.
    pub pkce: bool,
    /// Seconds of clock difference tolerated on `exp`, `iat` and `nbf`.
    pub max_clock_skew: i64,
    /// The claim that names the person upstream: `sub` for OpenID Connect (always),
    /// for OAuth 2.0 the userinfo member (GitHub's `id`; a number is taken as text).
    pub subject_claim: String,
    /// The ID token's `alg` when the provider is registered with one (Okta's
    /// `protocol.algorithms.response.signature.algorithm`); otherwise any asymmetric
    /// algorithm its key allows (`jose::ASYMMETRIC_ALGS`). Never `none`, never HMAC.
    pub id_token_alg: Option<String>,
    /// The provider's `authorization_response_iss_parameter_supported` (RFC 9207 §3):
    /// when true, an authorization response without `iss` is refused.
    pub iss_parameter_supported: bool,
    /// Plain http and loopback or private addresses for every endpoint: tests and
    /// development only.
    pub allow_private: bool,
    /// The cap on each exchange with the upstream.
    pub timeout: Duration,
}

impl ProviderConfig {
    /// A configuration with Gatehouse's defaults for everything but the provider's
    /// names: `client_secret_basic`, `openid profile email` (OpenID Connect) or no
    /// scope (OAuth 2.0), PKCE on, `DEFAULT_CLOCK_SKEW`, `DEFAULT_TIMEOUT`, subject
    /// claim `sub` (OpenID Connect) or `id` (OAuth 2.0), public addresses only. The
    /// endpoints are empty: set them, or `apply` a discovery document.
    pub fn new(kind: Kind, issuer: &str, client_id: &str, client_secret: Option<String>) -> Self {
        ProviderConfig {
            kind,
            issuer: issuer.to_string(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            userinfo_endpoint: None,
            jwks_uri: None,
            end_session_endpoint: None,
            client_id: client_id.to_string(),
            client_secret,
            token_auth: TokenAuth::ClientSecretBasic,
            scopes: match kind {
                Kind::Oidc => vec!["openid".into(), "profile".into(), "email".into()],
                Kind::OAuth2 => Vec::new(),
            },
            pkce: true,
            max_clock_skew: DEFAULT_CLOCK_SKEW,
            subject_claim: match kind {
                Kind::Oidc => "sub".into(),
                Kind::OAuth2 => "id".into(),
            },
            id_token_alg: None,
            iss_parameter_supported: false,
            allow_private: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The scope parameter sent: the configured scopes, `openid` first for OpenID
    /// Connect when they lack it, each once.
    pub fn scope(&self) -> String {
        let mut scopes: Vec<&str> = Vec::new();
        if self.kind == Kind::Oidc && !self.scopes.iter().any(|s| s == "openid") {
            scopes.push("openid");
        }
        for s in &self.scopes {
            if !s.is_empty() && !scopes.contains(&s.as_str()) {
                scopes.push(s);
            }
        }
        scopes.join(" ")
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("authorization_endpoint", &self.authorization_endpoint)
            .field("token_endpoint", &self.token_endpoint)
            .field("userinfo_endpoint", &self.userinfo_endpoint)
            .field("jwks_uri", &self.jwks_uri)
            .field("end_session_endpoint", &self.end_session_endpoint)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("token_auth", &self.token_auth)
            .field("scopes", &self.scopes)
            .field("pkce", &self.pkce)
            .field("max_clock_skew", &self.max_clock_skew)
            .field("subject_claim", &self.subject_claim)
            .field("id_token_alg", &self.id_token_alg)
            .field("iss_parameter_supported", &self.iss_parameter_supported)
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = ProviderConfig::new(
            Kind::Oidc,
            "https://idp",
            "cid",
            Some("s3cr3t-value".into()),
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn openid_is_always_asked_of_an_openid_provider() {
        let mut c = ProviderConfig::new(Kind::Oidc, "https://idp", "cid", None);
        c.scopes = vec!["email".into(), "profile".into(), "email".into()];
        assert_eq!(c.scope(), "openid email profile");
        c.scopes = vec!["profile".into(), "openid".into()];
        assert_eq!(c.scope(), "profile openid");
        let mut g = ProviderConfig::new(Kind::OAuth2, "", "cid", None);
        g.scopes = vec!["read:user".into(), "user:email".into()];
        assert_eq!(g.scope(), "read:user user:email");
    }
}
