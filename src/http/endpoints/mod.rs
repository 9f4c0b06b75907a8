//! One module per endpoint.

pub mod assets;
pub mod authorize;
pub mod client_jwt;
pub mod consent;
pub mod demo;
pub mod discovery;
pub mod dpop;
pub mod health;
pub mod home;
pub mod introspect;
pub mod keys;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod par;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use axum::http::{HeaderMap, header};

use super::error;
use super::extract::{Body, OAuthRejection, form_params};
use crate::admin::syslog::{self, Actor, Event};
use crate::app::AppState;
use crate::identity::throttle;
use crate::oauth::OAuthError;
use crate::oauth::client_auth;
use crate::oauth::params::Params;
use crate::store::{AuthServer, Client};

/// Why a server could not be used for this request.
pub enum ServerLookup {
    NotFound,
    Failed(OAuthError),
}

/// The active authorization server with this id.
pub async fn find_server(state: &AppState, id: &str) -> Result<AuthServer, ServerLookup> {
    match state.store.get_server(id).await {
        Ok(Some(server)) if server.status == "ACTIVE" => Ok(server),
        Ok(_) => Err(ServerLookup::NotFound),
        Err(e) => Err(ServerLookup::Failed(error::unavailable(&e))),
    }
}

/// RFC 6749 §2.3 and §3.2.1: the client of a token, revocation, introspection or
/// pushed authorization request to `server`, authenticated by the method it registered
/// (a JWT assertion per RFC 7523 §2.2, its `aud` the URL of `endpoint`: `token`,
/// `revoke`, `introspect` or `par`). A repeated parameter is refused first (§3.2).
/// A client_id that failed too often from this address (`ip`) is refused before its
/// credentials are checked (`OAuthError::client_throttled`, 429), and each failure,
/// a bad assertion included, is counted (`identity::throttle`); a registered public
/// client presenting no credentials (`none`) is never throttled.
pub async fn authenticate_client(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<&str>,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let presented = client_auth::presented(authorization, params)?;
    let client_id = presented.client_id();
    let now = state.clock.now();
    let store = &state.store;
    let client = store
        .get_client(client_id)
        .await
        .map_err(|e| error::unavailable(&e))?;
    // A public client authenticating as one (`none`) has no secret to guess: it is
    // neither throttled nor counted, else anyone sharing an address with its users
    // (one NAT) could block them all by sending wrong secrets under its public id.
    // Any other method, and any unknown client_id, is throttled per address.
    let public = matches!(presented, client_auth::Presented::None { .. })
        && client.as_ref().is_some_and(|c| c.auth_method == "none");
    let failures = if public {
        None
    } else {
        store
            .throttle_state(&throttle::client_key(client_id, ip))
            .await
            .map_err(|e| error::unavailable(&e))?
    };
    if let Some(blocked) = failures.filter(|f| f.blocked_until > now) {
        // Counted, not logged: the System Log heard when the block started.
        state
            .metrics
            .throttled(crate::metrics::Throttled::ClientAuth);
        return Err(OAuthError::client_throttled(blocked.blocked_until - now));
    }
    let verified = match client_auth::authenticate(&presented, client.as_ref(), &state.master) {
        Ok(client_auth::Authenticated::Done(client)) => Ok(client.clone()),
        Ok(client_auth::Authenticated::AssertionToVerify(client, assertion)) => {
            client_jwt::verify(state, server, endpoint, client, assertion, now)
                .await
                .map(|()| client.clone())
        }
        Err(e) => Err(e),
    };
    match verified {
        Ok(client) => {
            if failures.is_some() {
                throttle::client_succeeded(store, client_id, ip)
                    .await
                    .map_err(|e| error::unavailable(&e))?;
            }
            Ok(client)
        }
        Err(e) => {
            let started =
                throttle::client_failed(store, &state.config.throttle, client_id, ip, now)
                    .await
                    .map_err(|e| error::unavailable(&e))?;
            if let Some(wait) = started {
                // This failure started a block: logged once per block, not per refusal.
                let name: String = client_id
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect();
                let event = Event::failure(
                    "security.request.blocked",
                    "Client authentication throttled after repeated failures",
                    "TOO_MANY_FAILURES: this client_id from this address",
                    vec![],
                )
                .with_debug("retryAfterSeconds", wait);
                syslog::record(
                    store,
                    &Actor::client(&name, &name, ip.map(str::to_string)),
                    event,
                    now,
                )
                .await;
            }
            Err(e)
        }
    }
}

/// What the token, revocation and introspection endpoints start with: the form body
/// (RFC 6749 §3.2: `application/x-www-form-urlencoded`) and the active server, or the
/// JSON error to answer.
pub async fn form_and_server(
    state: &AppState,
    server_id: &str,
    headers: &HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Result<(Params, AuthServer), Response> {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(headers, &b))
        .map_err(|e| error::json(&e))?;
    let server = find_server(state, server_id)
        .await
        .map_err(|e| e.json(server_id))?;
    Ok((params, server))
}

/// Why an access token was not accepted.
pub enum AccessTokenProblem {
    /// Not ours: malformed, forged, another server's or issuer's, or not an access token.
    Invalid,
    Expired,
    Revoked,
    /// The store or the keys could not be read: never an answer about the token.
    Failed(OAuthError),
}

/// Verifies an access token of `server`: the signature by one of the server's keys,
/// `iss` and `aud` the server's, an access token (`AT.` id), not expired at `now`,
/// and not on the deny list. Nothing else is looked up.
pub async fn verify_access_token(
    state: &AppState,
    server: &AuthServer,
    token: &str,
    now: crate::clock::UnixTime,
) -> Result<crate::tokens::claims::AccessTokenClaims, AccessTokenProblem> {
    let ring = state
        .keys
        .for_token(&server.id, token, now)
        .await
        .map_err(|e| AccessTokenProblem::Failed(error::keys(&e)))?;
    let (_, at): (_, crate::tokens::claims::AccessTokenClaims) =
        crate::tokens::jwt::verify(token, &ring).map_err(|_| AccessTokenProblem::Invalid)?;
    if at.iss != state.issuer(server)
        || at.aud != state.audience(server)
        || !at.jti.starts_with("AT.")
    {
        return Err(AccessTokenProblem::Invalid);
    }
    if now >= at.exp {
        return Err(AccessTokenProblem::Expired);
    }
    match state.store.is_access_token_revoked(&at.jti).await {
        Ok(true) => Err(AccessTokenProblem::Revoked),
        Ok(false) => Ok(at),
        Err(e) => Err(AccessTokenProblem::Failed(error::unavailable(&e))),
    }
}

/// Okta's 404 body for an unknown resource.
pub fn not_found_json(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "errorCode": "E0000007",
            "errorSummary": format!("Not found: Resource not found: {what}"),
            "errorLink": "E0000007",
            "errorId": format!("gh{}", crate::crypto::okta_id("")),
            "errorCauses": [],
        })),
    )
        .into_response()
}

impl ServerLookup {
    /// As JSON, for API-style endpoints.
    pub fn json(self, id: &str) -> Response {
        match self {
            ServerLookup::NotFound => not_found_json(&format!("{id} (AuthorizationServer)")),
            ServerLookup::Failed(e) => error::json(&e),
        }
    }

    /// As a page, for the browser.
    pub fn page(self) -> Response {
        match self {
            ServerLookup::NotFound => super::pages::error(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no authorization server at this address.",
                None,
            ),
            ServerLookup::Failed(e) => error::page(&e),
        }
    }
}
