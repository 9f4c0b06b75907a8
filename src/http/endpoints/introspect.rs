//! `/oauth2/{server}/v1/introspect` (RFC 7662): an authenticated client asks whether a
//! token of this server is active. Access tokens are checked like userinfo checks them
//! (signature, issuer, audience, expiry, deny list) and their user must still be
//! active. A confidential client (a resource server) may ask about any access token of
//! the server; a public client, which proves nothing but its `client_id`, only about
//! its own (RFC 7662 §4: no token scanning through a public client id). Refresh tokens
//! are found by hash and answered only to the client they were issued to. Anything else is `{"active": false}`; a store outage is a 503, never
//! `active: false` for a good token.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{AccessTokenProblem, authenticate_client, form_and_server, verify_access_token};
use crate::app::{AppState, SharedState};
use crate::crypto::{b64url, sha256};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId};
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::protocol::Introspection;
use crate::store::{AuthServer, Client, User};

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let (params, server) = match form_and_server(&state, &server_id, &headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match handle(&state, &server, &headers, &params, ip.as_deref()).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => error::json(&e),
    }
}

fn inactive() -> Introspection {
    Introspection::default()
}

async fn handle(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<&str>,
) -> Result<Introspection, OAuthError> {
    let client = authenticate_client(state, server, headers, params, ip, "introspect").await?;
    let token = params.required("token")?;
    // RFC 7662 §2.1: the hint orders the search; the other type is tried after.
    let answer = if params.one("token_type_hint")? == Some("refresh_token") {
        match refresh(state, server, &client, token).await? {
            Some(answer) => answer,
            None => access(state, server, &client, token)
                .await?
                .unwrap_or_else(inactive),
        }
    } else {
        match access(state, server, &client, token).await? {
            Some(answer) => answer,
            None => refresh(state, server, &client, token)
                .await?
                .unwrap_or_else(inactive),
        }
    };
    Ok(answer)
}

/// The user behind a token, if still active.
async fn active_user(state: &AppState, user_id: &str) -> Result<Option<User>, OAuthError> {
    match state.store.get_user(user_id).await? {
        Some(user) if user.is_active() => Ok(Some(user)),
        _ => Ok(None),
    }
}

/// `Some` when the token is one of this server's access tokens (active or not).
async fn access(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    if !token.contains('.') {
        return Ok(None);
    }
    let at = match verify_access_token(state, server, token, state.clock.now()).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Failed(e)) => return Err(e),
        Err(AccessTokenProblem::Invalid) => return Ok(None),
        Err(AccessTokenProblem::Expired | AccessTokenProblem::Revoked) => {
            return Ok(Some(inactive()));
        }
    };
    if client.is_public() && at.cid != client.client_id {
        return Ok(Some(inactive()));
    }
    let username = match &at.uid {
        Some(uid) => match active_user(state, uid).await? {
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
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    let hash = sha256(token.as_bytes());
    let found = state.store.find_refresh(&hash).await?;
    let Some((row, family)) =
        found.filter(|(_, f)| f.server_id == server.id && f.client_id == client.client_id)
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    let exp = [family.expires_at, row.idle_expires_at]
        .into_iter()
        .flatten()
        .min();
    let live =
        family.revoked_at.is_none() && row.rotated_at.is_none() && exp.is_none_or(|t| now < t);
    let Some(user) = (if live {
        active_user(state, &family.user_id).await?
    } else {
        None
    }) else {
        return Ok(Some(inactive()));
    };
    Ok(Some(Introspection {
        active: true,
        scope: Some(family.scope),
        client_id: Some(family.client_id),
        username: Some(user.login),
        // Not "Bearer": a refresh token must never pass for an access token.
        token_type: Some("refresh_token"),
        exp,
        iat: Some(row.issued_at),
        nbf: Some(row.issued_at),
        sub: Some(user.id.clone()),
        aud: Some(state.audience(server)),
        iss: Some(state.issuer(server)),
        jti: Some(format!("RT.{}", b64url(&hash[..16]))),
        uid: Some(user.id),
        cnf: family
            .dpop_jkt
            .map(|jkt| crate::tokens::claims::Confirmation { jkt }),
    }))
}
