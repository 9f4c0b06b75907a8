//! `/oauth2/{server}/v1/par` (RFC 9126 §2): the client authenticates as at /token,
//! pushes its authorization parameters, and gets a single-use `request_uri` for
//! /authorize. The parameters are checked by the same pipeline as at /authorize;
//! every error is JSON (§2.3), never a redirect.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::no_store;
use super::{credentials, dpop, form_and_server};
use crate::clock::UnixTime;
use crate::flows::{self, client_auth, client_auth::Credentials};
use crate::http::error;
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId};
use crate::http::{AppState, SharedState};
use crate::oauth::OAuthError;
use crate::oauth::authorize::{self, Rejection};
use crate::oauth::par::{self, PAR_TTL};
use crate::oauth::params::Params;
use crate::protocol::PushedAuthorizationResponse;
use crate::store::{AuthServer, PushedRequest};

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
    let now = state.clock.now();
    let credentials = credentials(&headers, ip.as_deref());
    let outcome = push(&state, &server, &headers, &params, &credentials, now).await;
    let mut response = match &outcome {
        // §2.2: 201 Created.
        Ok(answer) => no_store((StatusCode::CREATED, Json(answer)).into_response()),
        Err(e) => error::json(e),
    };
    // RFC 9449 §8: the DPoP nonce, as at the token endpoint.
    dpop::add_nonce(&state, outcome.as_ref().err(), &mut response, now);
    response
}

async fn push(
    state: &AppState,
    server: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
    credentials: &Credentials<'_>,
    now: UnixTime,
) -> Result<PushedAuthorizationResponse, OAuthError> {
    // §2: the client authenticates as at the token endpoint (which also refuses a
    // repeated parameter).
    let client = client_auth::authenticate(state, server, credentials, params, "par", now).await?;
    let pushed = par::pushed_params(params, &client)?;
    // RFC 9449 §10.1: a DPoP proof for this endpoint binds the code to its key.
    let htu = format!("{}/par", state.endpoint_base(server));
    let proof = flows::dpop::proof(state, &dpop::header(headers), "POST", &htu, None, now).await?;
    let pushed = par::bind_dpop(pushed, proof.as_ref().map(|p| p.jkt.as_str()))?;
    let offered = state.store.list_scopes(&server.id).await?;
    let offered: Vec<&str> = offered.iter().map(|s| s.name.as_str()).collect();
    // §2.1: validated as /authorize would; §2.3: any error is answered here, as JSON.
    authorize::validate(
        &pushed,
        &server.id,
        &state.issuer(server),
        Some(&client),
        &offered,
    )
    .map_err(|r| match r {
        Rejection::Render(e) | Rejection::Redirect(_, e) => e,
    })?;
    // Stored form-encoded, which may be longer than what was sent (a raw `/` becomes
    // `%2F`) and may hold one parameter more (the client_id of a Basic push): what
    // /authorize could not read back (`Params::parse`: MAX_PARAMS_BYTES, MAX_PARAMS) is
    // refused now, while the client can still be told (§2.3), not later with a spent
    // request_uri and a 500.
    let form = pushed.to_form();
    if Params::parse(form.as_bytes()).is_err() {
        return Err(OAuthError::invalid_request(
            "The pushed request is too large once encoded.",
        ));
    }
    let (request_uri, id_hash) = par::new_request_uri();
    let row = PushedRequest {
        id_hash,
        server_id: server.id.clone(),
        client_id: client.client_id.clone(),
        params: form,
        created_at: now,
        expires_at: now + PAR_TTL,
    };
    state.store.insert_pushed(&row).await?;
    Ok(PushedAuthorizationResponse {
        request_uri,
        expires_in: PAR_TTL,
    })
}
