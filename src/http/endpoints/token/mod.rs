//! `/oauth2/{server}/v1/token` (RFC 6749 §3.2): authenticate the client, check a DPoP
//! proof if one is sent (RFC 9449 §5: the tokens are then bound to its key), then one
//! module per grant; `mint` holds what they share (policy, claims, signing).

mod client_credentials;
mod code;
pub mod mint;
mod refresh;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{authenticate_client, dpop, form_and_server};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::app::{AppState, SharedState};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId};
use crate::oauth::client_auth;
use crate::oauth::grants::GrantType;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
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
    let outcome = handle(&state, &server, &headers, &params, ip.as_deref()).await;
    record(&state, &server, &headers, &params, ip, &outcome).await;
    let mut response = match &outcome {
        Ok(Granted { tokens, .. }) => {
            if let Ok(Some(grant)) = params.one("grant_type") {
                state.metrics.token_issued(grant);
            }
            no_store(Json(tokens).into_response())
        }
        Err(e) => error::json(e),
    };
    dpop::add_nonce(&state, outcome.as_ref().err(), &mut response);
    response
}

/// Writes `app.oauth2.token.grant` to the System Log: the client (as presented, when
/// it did not authenticate), the grant type, the user, and why a request was refused.
/// Never a code, token or secret.
async fn record(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
    outcome: &Result<Granted, OAuthError>,
) {
    if matches!(outcome, Err(e) if e.status() == 503) {
        return;
    }
    let grant_type: String = params
        .one("grant_type")
        .ok()
        .flatten()
        .unwrap_or("")
        .chars()
        .take(64)
        .collect();
    let mut targets = vec![Target::new(&server.id, "AuthorizationServer", &server.name)];
    // A success already knows its client and user: no lookups, so a database that
    // slows down after the grant delays the answer by one write at most.
    let (actor, event) = match outcome {
        Ok(granted) => {
            if let Some(user) = &granted.user {
                targets.insert(0, Target::user(user));
            }
            let actor = Actor::client(&granted.client.client_id, &granted.client.name, ip);
            (
                actor,
                Event::success("app.oauth2.token.grant", "OAuth2 tokens granted", targets),
            )
        }
        Err(e) => {
            let authorization = headers
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or(""));
            let client_id = client_auth::presented(authorization, params)
                .map(|p| p.client_id().chars().take(100).collect::<String>());
            let client_id = client_id.unwrap_or_else(|_| "unknown".into());
            let client = state.store.get_client(&client_id).await.ok().flatten();
            let name = client
                .as_ref()
                .map_or(client_id.clone(), |c| c.name.clone());
            let event = Event::failure(
                "app.oauth2.token.grant",
                "OAuth2 token request refused",
                format!("{}: {}", e.code(), e.description),
                targets,
            );
            (Actor::client(&client_id, &name, ip), event)
        }
    };
    let event = event.with_debug("grantType", grant_type);
    syslog::record(&state.store, &actor, event, state.clock.now()).await;
}

/// RFC 6749 §5.1: token responses are never cached.
pub fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A token response, with the client and user it was granted to.
struct Granted {
    tokens: TokenResponse,
    client: Client,
    user: Option<User>,
}

async fn handle(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<&str>,
) -> Result<Granted, OAuthError> {
    let grant_type = params.required("grant_type")?;
    let client = authenticate_client(state, server, headers, params, ip, "token").await?;
    let proof = dpop::proof(
        state,
        headers,
        "POST",
        &format!("{}/token", state.endpoint_base(server)),
        None,
    )
    .await?;
    // Okta's `dpop_bound_access_tokens`: this client's tokens are always bound.
    if proof.is_none() && client.dpop_bound_access_tokens {
        return Err(crate::oauth::dpop::invalid(
            "A DPoP proof is required for this client.",
        ));
    }
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let known = GrantType::parse(grant_type);
    if known.is_some() && !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided grant type.",
        ));
    }
    let (tokens, user) = match known {
        Some(GrantType::AuthorizationCode) => {
            code::grant(state, server, &client, params, jkt).await
        }
        Some(GrantType::RefreshToken) => refresh::grant(state, server, &client, params, jkt).await,
        Some(GrantType::ClientCredentials) => {
            client_credentials::grant(state, server, &client, params, jkt).await
        }
        None => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server.",
        )),
    }?;
    Ok(Granted {
        tokens,
        client,
        user,
    })
}
