//! `/oauth2/{server}/v1/revoke` (RFC 7009): a client revokes one of its tokens. A
//! refresh token ends its whole family and the access tokens minted from it (§2.1); an
//! access token's `jti` goes on the deny list until it expires. An unknown, invalid or
//! expired token is answered 200 like a revoked one (§2.2), so the endpoint tells
//! nothing about tokens; a token of another client is refused.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{AccessTokenProblem, authenticate_client, form_and_server, verify_access_token};
use crate::app::{AppState, SharedState};
use crate::crypto::sha256;
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{AuthServer, Client};

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
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => error::json(&e),
    }
}

/// RFC 7009 §2.1: "the request is refused and the client is informed of the error".
fn not_yours() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "The token was not issued to this client.",
    )
}

async fn handle(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<&str>,
) -> Result<(), OAuthError> {
    let client = authenticate_client(state, server, headers, params, ip, "revoke").await?;
    let token = params.required("token")?;
    // §2.1: the hint only orders the search; an unknown hint is ignored.
    let refresh_first = params.one("token_type_hint")? == Some("refresh_token");
    if refresh_first {
        if revoke_refresh(state, server, &client, token).await? {
            return Ok(());
        }
        revoke_access(state, server, &client, token).await?;
    } else if !revoke_access(state, server, &client, token).await? {
        revoke_refresh(state, server, &client, token).await?;
    }
    Ok(())
}

/// True when the token was one of this server's access tokens.
async fn revoke_access(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    if !token.contains('.') {
        return Ok(false);
    }
    let now = state.clock.now();
    let at = match verify_access_token(state, server, token, now).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Failed(e)) => return Err(e),
        Err(AccessTokenProblem::Invalid) => return Ok(false),
        // Expired or revoked already: nothing left to do.
        Err(AccessTokenProblem::Expired | AccessTokenProblem::Revoked) => return Ok(true),
    };
    if at.cid != client.client_id {
        return Err(not_yours());
    }
    state.store.revoke_access_token(&at.jti, at.exp).await?;
    tracing::info!(event = "app.oauth2.as.token.revoke", client = %client.client_id, "access token revoked");
    Ok(true)
}

/// True when the token was one of this server's refresh tokens.
async fn revoke_refresh(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    let found = state.store.find_refresh(&sha256(token.as_bytes())).await?;
    let Some((_, family)) = found.filter(|(_, f)| f.server_id == server.id) else {
        return Ok(false);
    };
    if family.client_id != client.client_id {
        return Err(not_yours());
    }
    state
        .store
        .revoke_family(&family.id, state.clock.now())
        .await?;
    tracing::info!(event = "app.oauth2.as.token.revoke", client = %client.client_id, family = %family.id, "refresh token family revoked");
    Ok(true)
}
