//! OAuth 2.0 Token Exchange (RFC 8693) as Okta's on-behalf-of exchange: a service
//! (a confidential client) presents the access token it received for a user and gets
//! one for a downstream API at this server, for the same user, with `act` naming the
//! service. The rules without I/O: which parameters are accepted, which scopes may be
//! asked for, the `act` claim.
//!
//! What is accepted (as Okta): `subject_token_type` the access-token type only, no
//! `actor_token` (Okta's on-behalf-of has none; RFC 8693 §2.1 leaves it optional),
//! `requested_token_type` absent or the access-token type, `audience` and `resource`
//! absent or this server's audience. Every refusal is RFC 8693 §2.2.2's
//! `invalid_request`, or `invalid_target` for an audience the server does not serve.

use serde_json::{Value, json};

use super::super::OAuthError;
use super::super::scope::Scope;
use crate::oauth::ErrorCode;
use crate::store::ScopeDef;

/// RFC 8693 §3: the access-token type, the only `subject_token_type` and
/// `requested_token_type` accepted and the `issued_token_type` of every answer.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The parameters of a token exchange (RFC 8693 §2.1), as sent.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pub subject_token: Option<&'a str>,
    pub subject_token_type: Option<&'a str>,
    pub actor_token: Option<&'a str>,
    pub actor_token_type: Option<&'a str>,
    pub requested_token_type: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// Checks everything about the request that needs no lookup and answers the subject
/// token. `audience` is this server's: the only audience its tokens can carry.
pub fn check<'a>(p: &Params<'a>, audience: &str) -> Result<&'a str, OAuthError> {
    let subject_token = p
        .subject_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("The subject_token parameter is required."))?;
    match p.subject_token_type {
        None | Some("") => {
            return Err(OAuthError::invalid_request(
                "The subject_token_type parameter is required.",
            ));
        }
        Some(ACCESS_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "The subject_token_type is not supported: only urn:ietf:params:oauth:token-type:access_token is accepted.",
            ));
        }
    }
    // §2.1: `actor_token_type` is required with `actor_token` and must not be sent
    // without it; neither is accepted here.
    if p.actor_token.is_some() || p.actor_token_type.is_some() {
        return Err(OAuthError::invalid_request(
            "The actor_token and actor_token_type parameters are not supported; the authenticated client is the actor.",
        ));
    }
    if p.requested_token_type
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(OAuthError::invalid_request(
            "The requested_token_type is not supported: only urn:ietf:params:oauth:token-type:access_token can be issued.",
        ));
    }
    for target in [p.audience, p.resource].into_iter().flatten() {
        if target != audience {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "The requested audience is not one this authorization server issues tokens for.",
            ));
        }
    }
    Ok(subject_token)
}

/// The scope to grant: the requested one, or the server's default scopes when the
/// request names none (as for client credentials). Only the server's custom scopes:
/// the exchange issues an access token for an API, never an ID or refresh token, so
/// OpenID Connect scopes (`openid`, `offline_access`, ...) are refused.
pub fn scope(requested: Option<&str>, offered: &[ScopeDef]) -> Result<Scope, OAuthError> {
    super::client_credentials::custom_scope(
        requested,
        offered,
        "A token exchange issues an access token for an API: OpenID Connect scopes cannot be requested.",
    )
}

/// RFC 8693 §4.1: the `act` claim of the new token, naming `client_id` as the actor;
/// when the subject token was itself delegated, its `act` is nested inside as the
/// prior actor (§4.1: the outermost is the current one).
pub fn act(client_id: &str, prior: Option<&Value>) -> Value {
    match prior {
        Some(prior) => json!({ "sub": client_id, "act": prior }),
        None => json!({ "sub": client_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, system: bool, is_default: bool) -> ScopeDef {
        ScopeDef {
            id: name.into(),
            server_id: "default".into(),
            name: name.into(),
            description: String::new(),
            consent: "IMPLICIT".into(),
            is_default,
            system,
            created_at: 0,
        }
    }

    fn ok_params() -> Params<'static> {
        Params {
            subject_token: Some("eyJ..."),
            subject_token_type: Some(ACCESS_TOKEN_TYPE),
            ..Params::default()
        }
    }

    #[test]
    fn only_an_access_token_without_an_actor_token_for_this_audience() {
        assert_eq!(check(&ok_params(), "api://b").unwrap(), "eyJ...");
        let code = |p: Params<'_>| check(&p, "api://b").unwrap_err().code();
        assert_eq!(
            code(Params {
                subject_token: None,
                ..ok_params()
            }),
            "invalid_request"
        );
        for t in [
            None,
            Some("urn:ietf:params:oauth:token-type:id_token"),
            Some("urn:ietf:params:oauth:token-type:refresh_token"),
        ] {
            assert_eq!(
                code(Params {
                    subject_token_type: t,
                    ..ok_params()
                }),
                "invalid_request"
            );
        }
        assert_eq!(
            code(Params {
                actor_token: Some("x"),
                actor_token_type: Some(ACCESS_TOKEN_TYPE),
                ..ok_params()
            }),
            "invalid_request"
        );
        assert_eq!(
            code(Params {
                actor_token_type: Some(ACCESS_TOKEN_TYPE),
                ..ok_params()
            }),
            "invalid_request"
        );
        assert_eq!(
            code(Params {
                requested_token_type: Some("urn:ietf:params:oauth:token-type:id_token"),
                ..ok_params()
            }),
            "invalid_request"
        );
        assert_eq!(
            code(Params {
                audience: Some("api://other"),
                ..ok_params()
            }),
            "invalid_target"
        );
        assert_eq!(
            code(Params {
                resource: Some("https://elsewhere"),
                ..ok_params()
            }),
            "invalid_target"
        );
        assert!(
            check(
                &Params {
                    audience: Some("api://b"),
                    requested_token_type: Some(ACCESS_TOKEN_TYPE),
                    ..ok_params()
                },
                "api://b"
            )
            .is_ok()
        );
    }

    #[test]
    fn custom_scopes_only() {
        let offered = [def("openid", true, false), def("orders:read", false, true)];
        assert_eq!(
            scope(Some("orders:read"), &offered).unwrap().to_string(),
            "orders:read"
        );
        assert_eq!(scope(None, &offered).unwrap().to_string(), "orders:read");
        assert_eq!(
            scope(Some("openid orders:read"), &offered)
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
        assert_eq!(
            scope(Some("orders:write"), &offered).unwrap_err().code(),
            "invalid_scope"
        );
    }

    #[test]
    fn act_nests_the_prior_actor() {
        assert_eq!(act("0oaB", None), json!({"sub": "0oaB"}));
        let prior = json!({"sub": "0oaA"});
        assert_eq!(
            act("0oaB", Some(&prior)),
            json!({"sub": "0oaB", "act": {"sub": "0oaA"}})
        );
    }
}
