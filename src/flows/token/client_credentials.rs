//! `grant_type=client_credentials` (RFC 6749 §4.4): a token for the client itself.

use super::mint::{Mint, mint};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::Settings;
use crate::oauth::grants::client_credentials;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
use crate::store::{AuthMethod, AuthServer, Client, ScopeDef, User};
use crate::tokens::claims::new_access_jti;

/// The parameters of a client credentials grant.
pub struct Request<'a> {
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn from_params(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Request {
            scope: params.one("scope")?,
        })
    }
}

pub async fn grant(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    request: Request<'_>,
    dpop_jkt: Option<&str>,
    now: UnixTime,
) -> Result<(TokenResponse, Option<User>), OAuthError> {
    // §4.4: only confidential clients.
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client_credentials grant requires a confidential client.",
        ));
    }
    let settings = Settings::load(services, server).await?;
    // Okta's management scopes: only those granted to the app (`flows::okta_scopes`).
    let names = crate::flows::okta_scopes::offered(
        services,
        server,
        Some(&client.client_id),
        &settings.scopes,
    )
    .await?;
    let offered: Vec<ScopeDef> = settings
        .scopes
        .iter()
        .filter(|s| names.contains(&s.name.as_str()))
        .cloned()
        .collect();
    let scope = client_credentials::scope(request.scope, &offered)?;
    // Okta: a service app calls the management API with a private_key_jwt client only.
    if server.is_org()
        && client.auth_method != AuthMethod::PrivateKeyJwt
        && scope.iter().any(crate::admin::permissions::is_okta_scope)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
        ));
    }
    let lifetimes = settings.decide(&client.client_id, "client_credentials", &scope, None)?;
    let response = mint(
        services,
        &settings,
        Mint {
            server,
            client_id: &client.client_id,
            subject: None,
            scope: &scope,
            auth_time: None,
            nonce: None,
            now,
            access_ttl: lifetimes.access_token,
            access_jti: new_access_jti(),
            id_jti: String::new(),
            dpop_jkt,
            delegation: None,
            amr: None,
            acr: None,
            sid: None,
        },
    )
    .await?;
    tracing::info!(event = "app.oauth2.token.grant", grant = "client_credentials", client = %client.client_id, "token issued");
    Ok((response, None))
}
