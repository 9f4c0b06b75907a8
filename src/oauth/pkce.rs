//! Proof Key for Code Exchange (RFC 7636).

use super::OAuthError;
use crate::crypto::{b64url, constant_time_eq, sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    S256,
    #[serde(rename = "plain")]
    Plain,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::S256 => "S256",
            Method::Plain => "plain",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "S256" => Some(Method::S256),
            "plain" => Some(Method::Plain),
            _ => None,
        }
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
/// The same grammar serves the challenge (§4.2 gives 43 characters for S256).
fn well_formed(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeChallenge {
    pub challenge: String,
    pub method: Method,
}

impl CodeChallenge {
    /// RFC 7636 §4.3, checked at /authorize. `plain` — also a challenge without a
    /// method, which means `plain` — is refused unless `allow_plain` (an app set to
    /// allow it, never a public one): RFC 9700 §2.1.1, only S256 keeps the verifier
    /// secret from whoever sees the authorization request.
    pub fn parse(
        challenge: &str,
        method: Option<&str>,
        allow_plain: bool,
    ) -> Result<Self, OAuthError> {
        let method = match method {
            None => Method::Plain, // RFC 7636 §4.3: the default is "plain".
            Some(m) => Method::parse(m).ok_or_else(|| {
                OAuthError::invalid_request("The code_challenge_method is not supported; use S256.")
            })?,
        };
        if method == Method::Plain && !allow_plain {
            return Err(OAuthError::invalid_request(
                "The code_challenge_method must be S256 (without one, plain is meant, which this client may not use).",
            ));
        }
        if !well_formed(challenge) || (method == Method::S256 && challenge.len() != 43) {
            return Err(OAuthError::invalid_request(
                "The code_challenge is malformed.",
            ));
        }
        Ok(CodeChallenge {
            challenge: challenge.to_string(),
            method,
        })
    }

    /// RFC 7636 §4.6: the verifier must transform to the stored challenge.
    pub fn verify(&self, verifier: &str) -> Result<(), OAuthError> {
        if !well_formed(verifier) {
            return Err(OAuthError::invalid_grant("The code_verifier is malformed."));
        }
        let computed = match self.method {
            Method::S256 => b64url(&sha256(verifier.as_bytes())),
            Method::Plain => verifier.to_string(),
        };
        if constant_time_eq(computed.as_bytes(), self.challenge.as_bytes()) {
            Ok(())
        } else {
            Err(OAuthError::invalid_grant(
                "PKCE verification failed: the code_verifier does not match the code_challenge.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        let c = CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap();
        assert!(c.verify(VERIFIER).is_ok());
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        assert_eq!(c.verify(wrong).unwrap_err().code(), "invalid_grant");
        assert_eq!(c.verify("short").unwrap_err().code(), "invalid_grant");
    }

    #[test]
    fn plain_is_refused_unless_allowed() {
        assert!(CodeChallenge::parse(VERIFIER, Some("plain"), false).is_err());
        assert!(CodeChallenge::parse(VERIFIER, None, false).is_err());
        let c = CodeChallenge::parse(VERIFIER, Some("plain"), true).unwrap();
        assert!(c.verify(VERIFIER).is_ok());
        let c = CodeChallenge::parse(VERIFIER, None, true).unwrap();
        assert_eq!(c.method, Method::Plain);
    }

    #[test]
    fn malformed_challenges_and_methods() {
        assert!(CodeChallenge::parse("abc", Some("S256"), false).is_err());
        assert!(CodeChallenge::parse(CHALLENGE, Some("S512"), false).is_err());
        assert!(CodeChallenge::parse(&format!("{CHALLENGE}x"), Some("S256"), false).is_err());
    }
}
