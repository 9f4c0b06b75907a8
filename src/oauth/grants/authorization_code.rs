//! The authorization code grant (RFC 6749 §4.1): issuing a code at /authorize and the
//! checks at /token before tokens are minted.

use super::super::OAuthError;
use super::super::authorize::AuthorizationRequest;
use super::super::pkce::{CodeChallenge, Method};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::store::{AuthCode, Client};

/// RFC 6749 §4.1.2 recommends at most 10 minutes; Okta's codes live 300 seconds.
pub const CODE_TTL: i64 = 300;

/// A fresh code for a request the user has authorised: the value to send and the row
/// to store (which holds only its SHA-256).
pub fn issue(
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    amr: &[String],
    now: UnixTime,
) -> (String, AuthCode) {
    let code = random_token();
    let row = AuthCode {
        code_hash: sha256(code.as_bytes()),
        server_id: request.server_id.clone(),
        client_id: request.client_id.clone(),
        user_id: user_id.to_string(),
        redirect_uri: request.reply.redirect_uri.clone(),
        scope: request.scope.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.as_ref().map(|c| c.challenge.clone()),
        code_challenge_method: request
            .code_challenge
            .as_ref()
            .map(|c| c.method.as_str().to_string()),
        auth_time,
        created_at: now,
        expires_at: now + CODE_TTL,
        access_jti: None,
        access_expires_at: None,
        family_id: None,
        dpop_jkt: request.dpop_jkt.clone(),
        amr: (!amr.is_empty()).then(|| amr.to_vec()),
        sid: None,
        acr: crate::oauth::sign_on::acr_met(&request.acr_values, amr).map(str::to_string),
    };
    (code, row)
}

/// What the token request presented with the code.
pub struct Presented<'a> {
    pub server_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6, on a code this request has just redeemed.
/// Every failure is `invalid_grant`, with one description for the code's own state so
/// the answer does not reveal whether a code exists.
pub fn check(
    code: &AuthCode,
    client: &Client,
    presented: &Presented<'_>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let invalid = || OAuthError::invalid_grant("The authorization code is invalid or has expired.");
    // §4.1.3: the code was issued to this client, by this authorization server.
    if code.client_id != client.client_id || code.server_id != presented.server_id {
        return Err(invalid());
    }
    if now >= code.expires_at {
        return Err(invalid());
    }
    // §4.1.3: redirect_uri is required when the authorization request had one (all of
    // ours do, OpenID Connect requires it) and must be identical.
    match presented.redirect_uri {
        None => {
            return Err(OAuthError::invalid_request(
                "The redirect_uri parameter is required for the authorization code grant.",
            ));
        }
        Some(uri) if uri != code.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "The redirect_uri does not match the one in the authorization request.",
            ));
        }
        Some(_) => {}
    }
    // RFC 7636 §4.6; RFC 9700 §4.8.2: a verifier without a challenge is a downgrade.
    match (&code.code_challenge, presented.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = code
                .code_challenge_method
                .as_deref()
                .and_then(Method::parse)
                .unwrap_or(Method::Plain);
            CodeChallenge {
                challenge: challenge.clone(),
                method,
            }
            .verify(verifier)
        }
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "PKCE verification failed: the code_verifier is required.",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "PKCE verification failed: no code_challenge was sent with the authorization request.",
        )),
        (None, None) if client.is_public() => Err(OAuthError::invalid_grant(
            "PKCE verification failed: the code_verifier is required.",
        )),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::Prompt;
    use crate::oauth::reply::{ReplyTarget, ResponseMode};
    use crate::oauth::scope::Scope;
    use crate::store::{AuthMethod, Status};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(pkce: bool) -> AuthorizationRequest {
        AuthorizationRequest {
            server_id: "default".into(),
            client_id: "c1".into(),
            reply: ReplyTarget {
                redirect_uri: "https://app/cb".into(),
                mode: ResponseMode::Query,
                state: None,
                issuer: "https://id/oauth2/default".into(),
            },
            scope: Scope::parse("openid").unwrap(),
            nonce: None,
            code_challenge: pkce.then(|| CodeChallenge {
                challenge: CHALLENGE.into(),
                method: Method::S256,
            }),
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            dpop_jkt: None,
            hint_sub: None,
            acr_values: Vec::new(),
        }
    }

    fn client(id: &str, public: bool) -> Client {
        Client {
            client_id: id.into(),
            name: "n".into(),
            secrets: vec![],
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            application_type: "web".into(),
            redirect_uris: vec!["https://app/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            logout: Default::default(),
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }
    }

    fn presented<'a>(uri: Option<&'a str>, verifier: Option<&'a str>) -> Presented<'a> {
        Presented {
            server_id: "default",
            redirect_uri: uri,
            code_verifier: verifier,
        }
    }

    #[test]
    fn issue_stores_only_a_hash_and_expires_in_300_seconds() {
        let (code, row) = issue(&request(true), "00u1", 90, &[], 100);
        assert_eq!(row.code_hash, sha256(code.as_bytes()));
        assert!(!row.code_hash.is_empty() && code.len() >= 43);
        assert_eq!(row.expires_at, 400);
        assert_eq!(row.code_challenge_method.as_deref(), Some("S256"));
    }

    #[test]
    fn checks_client_expiry_redirect_uri_and_pkce() {
        let (_, row) = issue(&request(true), "00u1", 90, &[], 100);
        let c = client("c1", true);
        assert!(
            check(
                &row,
                &c,
                &presented(Some("https://app/cb"), Some(VERIFIER)),
                399
            )
            .is_ok()
        );
        let code_of = |r: Result<(), OAuthError>| r.unwrap_err().code();
        assert_eq!(
            code_of(check(
                &row,
                &c,
                &presented(Some("https://app/cb"), Some(VERIFIER)),
                400
            )),
            "invalid_grant"
        );
        assert_eq!(
            code_of(check(
                &row,
                &client("c2", true),
                &presented(Some("https://app/cb"), Some(VERIFIER)),
                100
            )),
            "invalid_grant"
        );
        assert_eq!(
            code_of(check(
                &row,
                &c,
                &presented(Some("https://app/cb2"), Some(VERIFIER)),
                100
            )),
            "invalid_grant"
        );
        assert_eq!(
            code_of(check(&row, &c, &presented(None, Some(VERIFIER)), 100)),
            "invalid_request"
        );
        assert_eq!(
            code_of(check(
                &row,
                &c,
                &presented(Some("https://app/cb"), None),
                100
            )),
            "invalid_grant"
        );
        let other_server = Presented {
            server_id: "org",
            ..presented(Some("https://app/cb"), Some(VERIFIER))
        };
        assert_eq!(
            code_of(check(&row, &c, &other_server, 100)),
            "invalid_grant"
        );
    }

    #[test]
    fn a_verifier_without_a_challenge_is_a_downgrade() {
        let (_, row) = issue(&request(false), "00u1", 90, &[], 100);
        let c = client("c1", false);
        assert!(check(&row, &c, &presented(Some("https://app/cb"), None), 100).is_ok());
        assert_eq!(
            check(
                &row,
                &c,
                &presented(Some("https://app/cb"), Some(VERIFIER)),
                100
            )
            .unwrap_err()
            .code(),
            "invalid_grant"
        );
    }
}
