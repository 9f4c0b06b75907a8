//! Userinfo (OpenID Connect Core §5.3) with a Bearer access token (RFC 6750), or a
//! DPoP-bound one with its proof (RFC 9449 §7): the user's claims for the token's
//! scopes.

use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::flows::access_token::{self, AccessTokenProblem};
use crate::flows::dpop::{self, DpopHeader};
use crate::flows::{Services, Subject};
use crate::oauth::scope::Scope;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::AuthServer;
use crate::tokens::claims::user_claims;
use crate::tokens::custom_claims;

/// An access token as presented: with the `Bearer` or the `DPoP` scheme.
pub struct Presented {
    pub token: String,
    pub dpop: bool,
}

/// A userinfo request to `server`: the access token as presented, the request's method
/// and its `DPoP` header.
pub struct UserinfoRequest<'a> {
    pub server: &'a AuthServer,
    pub method: &'a str,
    pub token: &'a Presented,
    pub dpop: DpopHeader<'a>,
}

/// The user's claims for the token's scopes (OpenID Connect Core §5.3.2).
pub async fn claims(
    services: &Services,
    request: &UserinfoRequest<'_>,
    now: UnixTime,
) -> Result<Value, OAuthError> {
    let UserinfoRequest {
        server,
        token: presented,
        ..
    } = *request;
    let token = presented.token.as_str();
    let at = match access_token::verify(services, server, token, now).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Expired) => {
            return Err(OAuthError::invalid_token("The access token has expired."));
        }
        Err(AccessTokenProblem::Failed(e)) => return Err(e),
        Err(_) => return Err(OAuthError::invalid_token("The access token is invalid.")),
    };
    let invalid = || OAuthError::invalid_token("The access token is invalid.");
    check_binding(
        services,
        request,
        at.cnf.as_ref().map(|c| c.jkt.as_str()),
        now,
    )
    .await?;
    let scope = Scope::parse(&at.scope).map_err(|_| invalid())?;
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "The access token must provide access to at least one of these scopes: openid.",
        ));
    }
    // A client_credentials token has no user (`uid`), so no userinfo.
    let user_id = at.uid.as_deref().ok_or_else(invalid)?;
    let subject = Subject::load(services, user_id)
        .await?
        .ok_or_else(invalid)?;
    let custom = services.store.list_claims(&server.id).await?;
    let mut body = serde_json::Map::new();
    body.insert("sub".into(), json!(subject.user.id));
    body.extend(user_claims(&subject.user, scope.as_slice()));
    for (name, value) in custom_claims::evaluate(
        &custom,
        "IDENTITY",
        scope.as_slice(),
        Some(&subject.user),
        &subject.group_names(),
    ) {
        body.entry(name).or_insert(value);
    }
    Ok(Value::Object(body))
}

/// RFC 9449 §7: a DPoP-bound token (`cnf.jkt`) only with the `DPoP` scheme and a proof
/// of its key for this request (`htm`, `htu`, `ath`); a token sent with the `DPoP`
/// scheme must be bound. A bound token sent as Bearer is refused (§7.2): otherwise
/// binding would protect nothing.
async fn check_binding(
    services: &Services,
    request: &UserinfoRequest<'_>,
    bound: Option<&str>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let UserinfoRequest {
        server,
        method,
        token: presented,
        ..
    } = *request;
    let htu = format!("{}/userinfo", services.endpoint_base(server));
    match (presented.dpop, bound) {
        (false, None) => Ok(()),
        (false, Some(_)) => Err(OAuthError::invalid_token(
            "The access token is DPoP-bound; send it with the DPoP scheme and a proof.",
        )),
        (true, None) => Err(OAuthError::invalid_token(
            "The access token is not DPoP-bound.",
        )),
        (true, Some(jkt)) => {
            let token = Some(presented.token.as_str());
            let proof = dpop::proof(services, &request.dpop, method, &htu, token, now)
                .await?
                .ok_or_else(|| {
                    crate::oauth::dpop::invalid("A DPoP proof is required with the DPoP scheme.")
                })?;
            if crate::crypto::constant_time_eq(proof.jkt.as_bytes(), jkt.as_bytes()) {
                Ok(())
            } else {
                Err(crate::oauth::dpop::invalid(
                    "The DPoP proof is not signed by the key the access token is bound to.",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Presented, UserinfoRequest, claims};
    use crate::flows::client_auth::Credentials;
    use crate::flows::testing::{REDIRECT_URI, fixture};
    use crate::flows::token::{TokenRequest, exchange};
    use crate::oauth::params::Params;

    #[tokio::test]
    async fn a_users_token_gets_claims_a_dpop_scheme_or_a_late_token_does_not() {
        let f = fixture().await;
        let (client, secret) = f.app(&["authorization_code"]).await;
        let user = f.user("barbara@example.com").await;
        let code = f.code(&client, &user, "openid email").await;
        let params = Params::from_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client.client_id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
        let request = TokenRequest {
            server: &f.server,
            params: &params,
            credentials: Credentials::default(),
            dpop: Default::default(),
        };
        let granted = exchange(&f.services, &request, f.now).await.unwrap();
        let ask = |dpop: bool| Presented {
            token: granted.tokens.access_token.clone(),
            dpop,
        };
        let bearer = ask(false);
        let request = UserinfoRequest {
            server: &f.server,
            method: "GET",
            token: &bearer,
            dpop: Default::default(),
        };
        let body = claims(&f.services, &request, f.now).await.unwrap();
        assert_eq!(body["sub"], user.id.as_str());
        assert_eq!(body["email"], "barbara@example.com");

        // Expired at its `exp`: the flow judges at the `now` it is given.
        let later = f.now + granted.tokens.expires_in;
        let e = claims(&f.services, &request, later).await.unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_token", 401));

        // A token that is not DPoP-bound, sent with the DPoP scheme, is refused.
        let dpop = ask(true);
        let request = UserinfoRequest {
            token: &dpop,
            ..request
        };
        let e = claims(&f.services, &request, f.now).await.unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_token", 401));
    }
}
