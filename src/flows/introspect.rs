//! `/oauth2/{server}/v1/introspect` (RFC 7662): an authenticated client asks whether a
//! token of this server is active. Access tokens are checked like userinfo checks them
//! (signature, issuer, audience, expiry, deny list) and their user must still be
//! active. A confidential client (a resource server) may ask about any access token of
//! the server; a public client, which proves nothing but its `client_id`, only about
//! its own (RFC 7662 §4: no token scanning through a public client id). A server may
//! restrict it further (`introspection_restricted`): then only the token's own client
//! and the server's listed resource servers learn that an access token is active. Refresh tokens
//! are found by hash and answered only to the client they were issued to. Anything else is `{"active": false}`; a store outage is a 503, never
//! `active: false` for a good token.

use crate::clock::UnixTime;
use crate::crypto::{b64url, sha256};
use crate::flows::Services;
use crate::flows::access_token::{self, AccessTokenProblem};
use crate::flows::client_auth::{self, Credentials, Failures};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::protocol::Introspection;
use crate::store::{AuthServer, Client, User};
use crate::tokens::claims::AccessTokenClaims;

fn inactive() -> Introspection {
    Introspection::default()
}

/// An introspection request to `server`: its form and the client's credentials
/// outside it.
pub struct IntrospectRequest<'a> {
    pub server: &'a AuthServer,
    pub params: &'a Params,
    pub credentials: Credentials<'a>,
}

/// What the token in `request` is, at `now`, as far as this client may know.
///
/// An access token's signature, issuer, audience and expiry need no store (the keys are
/// cached), so they are checked first; then one statement reads the client's throttle
/// counter, the deny list and the token's user (`store::IntrospectionStore`); then the
/// client is authenticated as everywhere else. Nothing about the token is answered, and
/// no refusal about it is given, before the client is authenticated.
pub async fn introspect(
    services: &Services,
    request: &IntrospectRequest<'_>,
    now: UnixTime,
) -> Result<Introspection, OAuthError> {
    let IntrospectRequest { server, params, .. } = *request;
    let credentials = &request.credentials;
    let presented = client_auth::presented_at(credentials, params, "introspect")?;
    let signed = match params.one("token").ok().flatten() {
        Some(token) if token.contains('.') => {
            Some(access_token::verify_signed(services, server, token, now).await)
        }
        _ => None,
    };
    let (jti, uid) = match &signed {
        Some(Ok(at)) => (Some(at.jti.as_str()), at.uid.as_deref()),
        _ => (None, None),
    };
    let throttle_key = client_auth::throttle_key(&presented, credentials);
    let facts = services
        .store
        .introspection_facts(Some(&throttle_key), jti, uid)
        .await?;
    let client = client_auth::authenticate_presented(
        services,
        server,
        credentials,
        &presented,
        "introspect",
        Failures::Read(facts.throttle),
        now,
    )
    .await?;
    let token = params.required("token")?;
    // RFC 7662 §2.1: the hint orders the search; the other type is tried after.
    let answer = if params.one("token_type_hint")? == Some("refresh_token") {
        match refresh(services, server, &client, token, now).await? {
            Some(answer) => answer,
            None => {
                access(server, &client, signed, facts.revoked, facts.user)?.unwrap_or_else(inactive)
            }
        }
    } else {
        match access(server, &client, signed, facts.revoked, facts.user)? {
            Some(answer) => answer,
            None => refresh(services, server, &client, token, now)
                .await?
                .unwrap_or_else(inactive),
        }
    };
    Ok(answer)
}

/// The user behind a token, if still active.
async fn active_user(services: &Services, user_id: &str) -> Result<Option<User>, OAuthError> {
    match services.store.get_user(user_id).await? {
        Some(user) if user.keeps_sign_in() => Ok(Some(user)),
        _ => Ok(None),
    }
}

/// `Some` when the token is one of this server's access tokens (active or not):
/// `signed` is `access_token::verify_signed`'s verdict (`None` when the token is no
/// JWT), `revoked` and `user` what the store said of its `jti` and `uid`.
fn access(
    server: &AuthServer,
    client: &Client,
    signed: Option<Result<AccessTokenClaims, AccessTokenProblem>>,
    revoked: bool,
    user: Option<User>,
) -> Result<Option<Introspection>, OAuthError> {
    let at = match signed {
        None | Some(Err(AccessTokenProblem::Invalid)) => return Ok(None),
        Some(Err(AccessTokenProblem::Failed(e))) => return Err(e),
        Some(Err(AccessTokenProblem::Expired | AccessTokenProblem::Revoked)) => {
            return Ok(Some(inactive()));
        }
        Some(Ok(_)) if revoked => return Ok(Some(inactive())),
        Some(Ok(at)) => at,
    };
    if client.is_public() && at.cid != client.client_id {
        return Ok(Some(inactive()));
    }
    // RFC 7662 §4, when the server restricts it: the token's own client and the
    // resource servers of its audience only.
    if server.introspection_restricted
        && at.cid != client.client_id
        && !server.resource_servers.contains(&client.client_id)
    {
        return Ok(Some(inactive()));
    }
    let username = match &at.uid {
        Some(_) => match user.filter(User::is_active) {
            Some(user) => user.login,
            None => return Ok(Some(inactive())),
        },
        // client_credentials: the client is the subject.
        None => at.client_id.clone(),
    };
    Ok(Some(Introspection {
        active: true,
        scope: Some(at.scope),
        client_id: Some(at.client_id),
        username: Some(username),
        // RFC 9449 §6.2: a bound token's type and key.
        token_type: Some(if at.cnf.is_some() { "DPoP" } else { "Bearer" }),
        exp: Some(at.exp),
        iat: Some(at.iat),
        nbf: Some(at.iat),
        sub: Some(at.sub),
        aud: Some(at.aud),
        iss: Some(at.iss),
        jti: Some(at.jti),
        uid: at.uid,
        cnf: at.cnf,
    }))
}

/// `Some` when the token is one of this server's refresh tokens issued to `client`.
async fn refresh(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    token: &str,
    now: UnixTime,
) -> Result<Option<Introspection>, OAuthError> {
    let hash = sha256(token.as_bytes());
    let found = services.store.find_refresh(&hash).await?;
    let Some((row, family)) =
        found.filter(|(_, f)| f.server_id == server.id && f.client_id == client.client_id)
    else {
        return Ok(None);
    };
    let exp = [family.expires_at, row.idle_expires_at]
        .into_iter()
        .flatten()
        .min();
    let live =
        family.revoked_at.is_none() && row.rotated_at.is_none() && exp.is_none_or(|t| now < t);
    let Some(user) = (if live {
        active_user(services, &family.user_id).await?
    } else {
        None
    }) else {
        return Ok(Some(inactive()));
    };
    Ok(Some(Introspection {
        active: true,
        scope: Some(family.scope),
        client_id: Some(family.client_id),
        username: Some(user.login.clone()),
        // Not "Bearer": a refresh token must never pass for an access token.
        token_type: Some("refresh_token"),
        exp,
        iat: Some(row.issued_at),
        nbf: Some(row.issued_at),
        // As an access token's default `sub` (Okta's): the login; the id is `uid`.
        sub: Some(user.login),
        aud: Some(services.audience(server)),
        iss: Some(services.issuer(server)),
        jti: Some(format!("RT.{}", b64url(&hash[..16]))),
        uid: Some(user.id),
        cnf: family
            .dpop_jkt
            .map(|jkt| crate::tokens::claims::Confirmation { jkt }),
    }))
}
