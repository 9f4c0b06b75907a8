//! What can go wrong toward an upstream provider, typed, with whose fault it is. Every
//! message is safe to show on an error page and to log: no secret, no token, no URL
//! with a code in it, and no text the upstream chose (its `error` code only, reduced
//! to the characters RFC 6749 allows).

use std::fmt;

use crate::outbound::FetchError;

/// Which of the upstream's endpoints an exchange was with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Discovery,
    Token,
    Jwks,
    Userinfo,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Discovery => "discovery document",
            Endpoint::Token => "token endpoint",
            Endpoint::Jwks => "key set (jwks_uri)",
            Endpoint::Userinfo => "userinfo endpoint",
        })
    }
}

/// Why an upstream ID token was refused (OpenID Connect Core §3.1.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenProblem {
    /// The token response has no `id_token`.
    Missing,
    /// Not a compact JWS, or claims that are not a JSON object.
    Malformed,
    /// `alg` is `none`, HMAC, or not the one allowed; or another header rule.
    Alg,
    /// No key in the provider's JWKS matches the `kid` (or, without one, exactly one key).
    UnknownKey,
    Signature,
    Issuer,
    /// `aud` does not contain the client id.
    Audience,
    /// `azp` is not the client id, or is missing while there are several audiences.
    AuthorizedParty,
    /// `exp` is missing or past (beyond the clock skew).
    Expired,
    /// `iat` is missing or in the future (beyond the clock skew).
    IssuedAt,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `nonce` is missing or not the transaction's.
    Nonce,
    /// `sub` is missing, empty or longer than 255 characters.
    Subject,
    /// `at_hash` does not match the access token.
    AccessTokenHash,
}

impl fmt::Display for IdTokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdTokenProblem::Missing => "no ID token was returned",
            IdTokenProblem::Malformed => "the ID token is malformed",
            IdTokenProblem::Alg => "the ID token's algorithm or header is not accepted",
            IdTokenProblem::UnknownKey => {
                "the ID token was signed with a key the provider does not publish"
            }
            IdTokenProblem::Signature => "the ID token's signature is invalid",
            IdTokenProblem::Issuer => "the ID token was issued by someone else",
            IdTokenProblem::Audience => "the ID token is not meant for this client",
            IdTokenProblem::AuthorizedParty => "the ID token's authorized party is not this client",
            IdTokenProblem::Expired => "the ID token has expired",
            IdTokenProblem::IssuedAt => "the ID token's issue time is missing or in the future",
            IdTokenProblem::NotYetValid => "the ID token is not valid yet",
            IdTokenProblem::Nonce => "the ID token's nonce does not match this sign-in",
            IdTokenProblem::Subject => "the ID token names no usable subject",
            IdTokenProblem::AccessTokenHash => {
                "the ID token's at_hash does not match the access token"
            }
        })
    }
}

/// Whose fault a failure is: what an error page says and what the System Log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The person declined or cancelled at the provider (`access_denied`,
    /// `login_required` …): nothing is wrong; they may try again.
    User,
    /// The browser's request does not belong to the sign-in it claims (a wrong or
    /// missing `state`, a replayed or forged callback, a missing `code`).
    Request,
    /// The provider misbehaved or is unreachable: a bad signature or claim, a hang, a
    /// body too large, a status other than 200, a malformed answer.
    Upstream,
    /// The provider is registered wrongly here (or refuses our client): a missing
    /// endpoint, a refused client authentication, an unknown scope.
    Configuration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The provider sent the person back with an error (RFC 6749 §4.1.2.1); `error` is
    /// its code, reduced to RFC 6749's characters and 64 of them.
    #[error("the identity provider answered {error}")]
    Denied { error: String },
    /// The callback's `state` is missing or not the transaction's.
    #[error("the sign-in response does not belong to this sign-in (state)")]
    State,
    /// The callback has neither `code` nor `error`, or a parameter given twice.
    #[error("the sign-in response is malformed: {0}")]
    Callback(&'static str),
    /// RFC 9207: `iss` in the authorization response is not the issuer, or missing
    /// where the provider says it sends one.
    #[error("the sign-in response names another issuer (iss)")]
    Issuer,
    /// An exchange with the provider failed (unreachable, a hang, too large, a status
    /// other than 200 — a redirect too —, a non-public address).
    #[error("the identity provider's {endpoint} failed: {error}")]
    Fetch {
        endpoint: Endpoint,
        error: FetchError,
    },
    /// The token endpoint refused the code with an OAuth error (RFC 6749 §5.2).
    #[error("the identity provider's token endpoint refused the code: {error}")]
    Token { error: String },
    /// An answer that is not what the protocol says it must be.
    #[error("the identity provider's {endpoint} answered something unusable: {problem}")]
    Response {
        endpoint: Endpoint,
        problem: &'static str,
    },
    #[error("{0}")]
    IdToken(IdTokenProblem),
    /// The discovery document's `issuer` is not the configured one (OpenID Connect
    /// Discovery §4.3), or it lacks a required member.
    #[error("the identity provider's discovery document is not acceptable: {0}")]
    Discovery(&'static str),
    /// The configuration cannot work (a missing endpoint or secret, a bad URL).
    #[error("the identity provider is not configured correctly: {0}")]
    Config(&'static str),
}

/// The authorization-response error codes that mean the person, not the setup,
/// stopped the sign-in (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
const USER_ERRORS: &[&str] = &[
    "access_denied",
    "login_required",
    "consent_required",
    "interaction_required",
    "account_selection_required",
];

impl UpstreamError {
    pub fn fault(&self) -> Fault {
        match self {
            UpstreamError::Denied { error } if USER_ERRORS.contains(&error.as_str()) => Fault::User,
            UpstreamError::Denied { error }
                if error == "server_error" || error == "temporarily_unavailable" =>
            {
                Fault::Upstream
            }
            UpstreamError::Denied { .. } => Fault::Configuration,
            UpstreamError::State | UpstreamError::Callback(_) => Fault::Request,
            UpstreamError::Token { error } if error == "invalid_grant" => Fault::Request,
            UpstreamError::Token { .. } | UpstreamError::Config(_) => Fault::Configuration,
            UpstreamError::Issuer
            | UpstreamError::Fetch { .. }
            | UpstreamError::Response { .. }
            | UpstreamError::IdToken(_)
            | UpstreamError::Discovery(_) => Fault::Upstream,
        }
    }

    /// The OAuth `error` code this failure amounts to when passed on to the
    /// downstream app (RFC 6749 §4.1.2.1): `access_denied` when the person stopped it,
    /// `temporarily_unavailable` when the provider is unreachable or slow,
    /// `server_error` otherwise.
    pub fn oauth_error(&self) -> &'static str {
        match (self.fault(), self) {
            (Fault::User, _) => "access_denied",
            (_, UpstreamError::Fetch { .. }) => "temporarily_unavailable",
            _ => "server_error",
        }
    }
}

/// An error code as the upstream sent it, kept only if it is RFC 6749's `error`
/// syntax without its space (%x21 / %x23-5B / %x5D-7E) and at most 64 characters; otherwise
/// `invalid_response`.
pub fn error_code(raw: &str) -> String {
    let allowed = |c: char| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if !raw.is_empty() && raw.len() <= 64 && raw.chars().all(allowed) {
        raw.to_string()
    } else {
        "invalid_response".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_kept_only_when_plain() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(
            error_code("<script>"),
            "<script>",
            "escaped where shown, not here"
        );
        assert_eq!(error_code("a b"), "invalid_response");
        assert_eq!(error_code("\"q\""), "invalid_response");
        assert_eq!(error_code(&"x".repeat(65)), "invalid_response");
        assert_eq!(error_code(""), "invalid_response");
    }

    #[test]
    fn whose_fault() {
        let denied = |e: &str| UpstreamError::Denied { error: e.into() };
        assert_eq!(denied("access_denied").fault(), Fault::User);
        assert_eq!(denied("access_denied").oauth_error(), "access_denied");
        assert_eq!(denied("server_error").fault(), Fault::Upstream);
        assert_eq!(denied("invalid_scope").fault(), Fault::Configuration);
        assert_eq!(UpstreamError::State.fault(), Fault::Request);
        let hang = UpstreamError::Fetch {
            endpoint: Endpoint::Token,
            error: FetchError::Timeout,
        };
        assert_eq!(hang.fault(), Fault::Upstream);
        assert_eq!(hang.oauth_error(), "temporarily_unavailable");
        assert_eq!(
            UpstreamError::IdToken(IdTokenProblem::Nonce).oauth_error(),
            "server_error"
        );
    }
}
