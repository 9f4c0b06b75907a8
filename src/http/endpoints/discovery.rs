//! OpenID Connect Discovery 1.0 and RFC 8414 metadata, served from memory for at most
//! `PUBLISHED_TTL` after it was built (see `http::published`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::find_server;
use crate::http::SharedState;
use crate::http::error;
use crate::http::extract::ServerId;
use crate::http::published::Document;
use crate::oauth::OAuthError;
use crate::protocol::discovery::Metadata;
use crate::store::{KeyStatus, Status};
use crate::tokens::keys::Alg;

pub async fn get(State(state): State<SharedState>, ServerId(id): ServerId) -> Response {
    let now = state.clock.now();
    if let Some(body) = state.published.get(Document::Discovery, &id, now) {
        return respond(body);
    }
    match build(&state, &id).await {
        Ok(body) => {
            state
                .published
                .put(Document::Discovery, &id, now, body.clone());
            respond(body)
        }
        Err(refused) => state
            .published
            .or_stale(Document::Discovery, &id, refused, respond),
    }
}

async fn build(state: &SharedState, id: &str) -> Result<Bytes, Response> {
    let server = find_server(state, id).await.map_err(|e| e.json(id))?;
    let (scopes, claims) = match tokio::try_join!(
        state.store.list_scopes(&server.id),
        state.store.list_claims(&server.id)
    ) {
        Ok(found) => found,
        Err(e) => return Err(error::json(&OAuthError::from(e))),
    };
    let mut metadata = Metadata::new(
        &state.issuer(&server),
        &state.endpoint_base(&server),
        super::registration::endpoint(state),
        scopes.into_iter().map(|s| s.name).collect(),
        claims
            .into_iter()
            .filter(|c| c.status == Status::Active)
            .map(|c| c.name)
            .collect(),
    );
    // OpenID Connect Discovery §3: the algorithm of the key that signs now and the
    // server's setting (they differ after a change of algorithm, until a rotation).
    // Read from the store, never making keys: the first start answers discovery while
    // its first keys are still being made.
    let stored = match state.store.signing_keys(&server.id).await {
        Ok(stored) => stored,
        Err(e) => return Err(error::json(&OAuthError::from(e))),
    };
    let active = stored
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .filter_map(|k| Alg::parse(&k.alg));
    let mut algs: Vec<&'static str> = active.map(Alg::as_str).collect();
    if let Some(setting) = Alg::parse(&server.signing_alg).map(Alg::as_str)
        && !algs.contains(&setting)
    {
        algs.push(setting);
    }
    metadata.id_token_signing_alg_values_supported = algs;
    let body = match serde_json::to_vec(&metadata) {
        Ok(body) => Bytes::from(body),
        Err(e) => return Err(error::json(&OAuthError::internal(&e))),
    };
    Ok(body)
}

fn respond(body: Bytes) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
