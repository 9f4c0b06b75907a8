//! One protocol error type: the RFC's `error` code, a description
//! for people, and the HTTP status that goes with the code.

use std::borrow::Cow;

/// The `error` codes of RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6 and
/// RFC 6750 §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    InsufficientScope,
    RequestNotSupported,
    RequestUriNotSupported,
    /// OpenID Connect Core §3.1.2.6 and RFC 9126 §4: the `request_uri` is not one this
    /// server can use (unknown, expired, used, or another client's).
    InvalidRequestUri,
    UnsupportedTokenType,
    /// RFC 9449 §7.1.
    InvalidDpopProof,
    /// RFC 8693 §2.2.2 (and RFC 8707 §2): the requested `audience` or `resource` is
    /// not one this server issues tokens for.
    InvalidTarget,
    /// RFC 9101 §6.2 (OpenID Connect Core §3.1.2.6): the request object is invalid.
    InvalidRequestObject,
    /// RFC 9449 §8.
    UseDpopNonce,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the client polls too fast.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 8628 §3.5's `access_denied` at the token endpoint: the user said no. A 400 as
    /// every token error (RFC 6749 §5.2), where `AccessDenied` (a policy's refusal) is
    /// a 403.
    DeviceAccessDenied,
    /// RFC 7591 §3.2.2: a redirect URI in the registration is refused.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: another field of the client metadata is refused.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2: this server approves no software statement.
    UnapprovedSoftwareStatement,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::DeviceAccessDenied => "access_denied",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::UnapprovedSoftwareStatement => "unapproved_software_statement",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Text for people. Never the raw input: it is rendered into pages and JSON.
    pub description: Cow<'static, str>,
    /// RFC 6749 §5.2: the client tried HTTP Basic, so a 401 carries
    /// `WWW-Authenticate: Basic`.
    pub basic_challenge: bool,
    /// Seconds until a throttled client may try again: the answer is then 429.
    pub retry_after: Option<u32>,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// A store failure is never the client's fault and never its business: the cause is
/// logged here, in full, and the client hears only 503 `temporarily_unavailable`.
/// Every `?` on a store call converts through this, so no caller writes its own.
impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        match &e {
            crate::store::StoreError::Unavailable(detail) => {
                tracing::error!(error = %detail, "store unavailable")
            }
            other => tracing::error!(error = %other, "store error"),
        }
        OAuthError::temporarily_unavailable()
    }
}

/// A failure to read or open the signing keys: 503 when the store is unavailable (the
/// keys are fine, the database is not), else `server_error`; the cause goes to the log.
impl From<crate::tokens::keys::KeyError> for OAuthError {
    fn from(e: crate::tokens::keys::KeyError) -> Self {
        match e {
            crate::tokens::keys::KeyError::Store(e) => e.into(),
            other => OAuthError::internal(&other),
        }
    }
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// RFC 6749 §5.2: client authentication failed. One description for every cause, so
    /// the answer does not tell an unknown client from a wrong secret.
    pub fn invalid_client(basic_challenge: bool) -> Self {
        OAuthError {
            code: ErrorCode::InvalidClient,
            description: "Client authentication failed.".into(),
            basic_challenge,
            retry_after: None,
        }
    }

    /// Too many failed client authentications from this address: `invalid_client`, as
    /// RFC 6749 §5.2 names every client authentication failure, but with HTTP's 429 Too
    /// Many Requests and `Retry-After` (RFC 6585 §4). RFC 6749 defines no status for
    /// rate limiting and does not forbid one; a 401 would invite the client to retry
    /// at once with the same credentials, while 429 tells any HTTP client to wait.
    /// The credentials were not checked.
    pub fn client_throttled(retry_after: i64) -> Self {
        let seconds = u32::try_from(retry_after.clamp(1, 86_400)).unwrap_or(1);
        OAuthError {
            code: ErrorCode::InvalidClient,
            description: "Too many failed client authentications; try again later.".into(),
            basic_challenge: false,
            retry_after: Some(seconds),
        }
    }

    /// Too many requests of a kind that has no failure to count (a passkey challenge):
    /// `temporarily_unavailable` with HTTP's 429 Too Many Requests and `Retry-After`
    /// (RFC 6585 §4).
    pub fn throttled(retry_after: i64, description: &'static str) -> Self {
        let seconds = u32::try_from(retry_after.clamp(1, 86_400)).unwrap_or(1);
        OAuthError {
            code: ErrorCode::TemporarilyUnavailable,
            description: description.into(),
            basic_challenge: false,
            retry_after: Some(seconds),
        }
    }

    /// Okta's answer when no access-policy rule allows the request, or one denies it.
    pub fn policy_denied() -> Self {
        Self::new(
            ErrorCode::AccessDenied,
            "Policy evaluation failed for this request, please check the policy configurations.",
        )
    }

    /// Okta's answer for a user an app with assignments is not assigned to (neither
    /// directly nor through a group), at /authorize and at /token.
    pub fn not_assigned() -> Self {
        Self::new(
            ErrorCode::AccessDenied,
            "User is not assigned to the client application.",
        )
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// Any other internal failure: logged, answered as `server_error` with no detail.
    pub fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::server_error()
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request.",
        )
    }

    pub fn temporarily_unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "The server is temporarily unavailable; try again shortly.",
        )
    }

    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// The HTTP status for a direct (non-redirect) answer.
    pub fn status(&self) -> u16 {
        if self.retry_after.is_some() {
            return 429;
        }
        match self.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope | ErrorCode::AccessDenied => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(OAuthError::invalid_client(true).status(), 401);
        assert_eq!(OAuthError::invalid_grant("x").status(), 400);
        assert_eq!(OAuthError::invalid_token("x").status(), 401);
        assert_eq!(
            OAuthError::new(ErrorCode::InsufficientScope, "x").status(),
            403
        );
        assert_eq!(OAuthError::temporarily_unavailable().status(), 503);
        let throttled = OAuthError::client_throttled(0);
        assert_eq!(
            (throttled.code(), throttled.status(), throttled.retry_after),
            ("invalid_client", 429, Some(1))
        );
    }
}
