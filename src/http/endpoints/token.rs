//! `/oauth2/{server}/v1/token` (RFC 6749 §3.2): authenticate the client, then the grant.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::find_server;
use crate::app::{AppState, SharedState};
use crate::crypto::sha256;
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, ServerId, form_params};
use crate::oauth::client_auth;
use crate::oauth::grants::authorization_code;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, IssuedAccess, Redemption};
use crate::tokens::claims::{Grant, new_access_jti};
use crate::tokens::jwt;

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = match body.map_err(|OAuthRejection(e)| e).and_then(|Body(b)| form_params(&headers, &b)) {
        Ok(params) => params,
        Err(e) => return error::json(&e),
    };
    let server = match find_server(&state, &server_id).await {
        Ok(server) => server,
        Err(e) => return e.json(&server_id),
    };
    match handle(&state, &server, &headers, &params).await {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => error::json(&e),
    }
}

async fn handle(state: &AppState, server: &AuthServer, headers: &HeaderMap, params: &Params) -> Result<TokenResponse, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    let grant_type = params.required("grant_type")?;
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let presented = client_auth::presented(authorization, params)?;
    let client = state
        .store
        .get_client(presented.client_id())
        .await
        .map_err(|e| error::unavailable(&e))?;
    let client = client_auth::authenticate(&presented, client.as_ref(), &state.master)?;
    if !client.grant_types.iter().any(|g| g == grant_type) && is_known(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided grant type.",
        ));
    }
    match grant_type {
        "authorization_code" => code_grant(state, server, client, params).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server.",
        )),
    }
}

fn is_known(grant_type: &str) -> bool {
    grant_type == "authorization_code"
}

/// RFC 6749 §4.1.3: redeem the code (one atomic statement), check it, mint the tokens.
/// A code presented again revokes the access token minted from it (§4.1.2).
async fn code_grant(state: &AppState, server: &AuthServer, client: &Client, params: &Params) -> Result<TokenResponse, OAuthError> {
    let code = params.required("code")?;
    let now = state.clock.now();
    let access = IssuedAccess {
        jti: new_access_jti(),
        expires_at: now + server.access_token_ttl,
    };
    let invalid = || OAuthError::invalid_grant("The authorization code is invalid or has expired.");
    let row = match state
        .store
        .redeem_code(&sha256(code.as_bytes()), &access, now)
        .await
        .map_err(|e| error::unavailable(&e))?
    {
        Redemption::Redeemed(row) => row,
        Redemption::NotFound => return Err(invalid()),
        Redemption::AlreadyRedeemed(row) => {
            if let (Some(jti), Some(expires_at)) = (&row.access_jti, row.access_expires_at) {
                state
                    .store
                    .revoke_access_token(jti, expires_at)
                    .await
                    .map_err(|e| error::unavailable(&e))?;
            }
            tracing::warn!(client = %client.client_id, "authorization code replayed; tokens from it revoked");
            return Err(invalid());
        }
    };
    let presented = authorization_code::Presented {
        server_id: &server.id,
        redirect_uri: params.one("redirect_uri")?,
        code_verifier: params.one("code_verifier")?,
    };
    authorization_code::check(&row, client, &presented, now)?;

    let user = match state.store.get_user(&row.user_id).await.map_err(|e| error::unavailable(&e))? {
        Some(user) if user.is_active() => user,
        _ => return Err(invalid()),
    };
    let scope = Scope::parse(&row.scope)?;
    let ring = state.keys.get(&server.id, now).await.map_err(|e| error::internal(&e))?;
    let issuer = state.issuer(server);
    let audience = state.audience(server);
    let grant = Grant {
        issuer: &issuer,
        audience: &audience,
        client_id: &client.client_id,
        user: &user,
        scope: &scope,
        auth_time: row.auth_time,
        nonce: row.nonce.as_deref(),
        now,
    };
    let typ = server.access_token_typ_at_jwt.then_some("at+jwt");
    let access_token = jwt::sign(&ring.signing, typ, &grant.access_token(access.jti, server.access_token_ttl));
    let id_token = scope
        .contains("openid")
        .then(|| jwt::sign(&ring.signing, Some("JWT"), &grant.id_token(server.id_token_ttl, &access_token)));
    tracing::info!(event = "app.oauth2.token.grant", client = %client.client_id, user = %user.id, "tokens issued");
    Ok(TokenResponse {
        token_type: "Bearer",
        expires_in: server.access_token_ttl,
        access_token,
        scope: scope.to_string(),
        id_token,
    })
}
