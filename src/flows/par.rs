//! Pushed authorization requests (RFC 9126 §2): the client authenticates as at /token,
//! pushes its authorization parameters, and gets a single-use `request_uri` for
//! /authorize. The parameters are checked by the same pipeline as at /authorize;
//! every error is answered to the client directly (§2.3), never by a redirect.

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::client_auth::{self, Credentials};
use crate::flows::dpop::{self, DpopHeader};
use crate::oauth::OAuthError;
use crate::oauth::authorize::{self, Rejection};
use crate::oauth::par::{self, PAR_TTL};
use crate::oauth::params::Params;
use crate::protocol::PushedAuthorizationResponse;
use crate::store::{AuthServer, PushedRequest};

/// A pushed authorization request to `server`: its form, the client's credentials
/// outside it, and its `DPoP` header.
pub struct ParRequest<'a> {
    pub server: &'a AuthServer,
    pub params: &'a Params,
    pub credentials: Credentials<'a>,
    pub dpop: DpopHeader<'a>,
}

/// Checks and stores the pushed parameters; answers with their `request_uri`.
pub async fn push(
    services: &Services,
    request: &ParRequest<'_>,
    now: UnixTime,
) -> Result<PushedAuthorizationResponse, OAuthError> {
    let ParRequest { server, params, .. } = *request;
    // §2: the client authenticates as at the token endpoint (which also refuses a
    // repeated parameter).
    let client =
        client_auth::authenticate(services, server, &request.credentials, params, "par", now)
            .await?;
    let pushed = par::pushed_params(params, &client)?;
    // RFC 9449 §10.1: a DPoP proof for this endpoint binds the code to its key.
    let htu = format!("{}/par", services.endpoint_base(server));
    let proof = dpop::proof(services, &request.dpop, "POST", &htu, None, now).await?;
    let pushed = par::bind_dpop(pushed, proof.as_ref().map(|p| p.jkt.as_str()))?;
    let scopes = services.store.list_scopes(&server.id).await?;
    let offered =
        super::okta_scopes::offered(services, server, Some(&client.client_id), &scopes).await?;
    // §2.1: validated as /authorize would; §2.3: any error is answered here, as JSON.
    authorize::validate(
        &pushed,
        &server.id,
        &services.issuer(server),
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
    services.store.insert_pushed(&row).await?;
    Ok(PushedAuthorizationResponse {
        request_uri,
        expires_in: PAR_TTL,
    })
}
