//! The token endpoint (RFC 6749 §3.2): authenticate the client, check a DPoP proof if
//! one is sent (RFC 9449 §5: the tokens are then bound to its key), then one module per
//! grant; `mint` signs what they grant. Every answer, granted or refused, goes to the
//! System Log as `app.oauth2.token.grant`.

pub mod client_credentials;
pub mod code;
pub mod mint;
pub mod preview;
pub mod refresh;

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::client_auth::{self, Credentials};
use crate::flows::dpop::{self, DpopHeader};
use crate::oauth::grants::GrantType;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, User};

/// A token request to `server`: its form, the client's credentials outside it, and its
/// `DPoP` header.
pub struct TokenRequest<'a> {
    pub server: &'a AuthServer,
    pub params: &'a Params,
    pub credentials: Credentials<'a>,
    pub dpop: DpopHeader<'a>,
}

/// A token response, with the grant, client and user it was granted to.
#[derive(Debug)]
pub struct Granted {
    pub grant: GrantType,
    pub tokens: TokenResponse,
    pub client: Client,
    pub user: Option<User>,
}

/// Answers a token request at `now`, records the answer in the System Log, and counts
/// what it issued.
pub async fn exchange(
    services: &Services,
    request: &TokenRequest<'_>,
    now: UnixTime,
) -> Result<Granted, OAuthError> {
    let outcome = grant(services, request, now).await;
    record(services, request, &outcome, now).await;
    if let Ok(granted) = &outcome {
        services.metrics.token_issued(granted.grant.as_str());
    }
    outcome
}

async fn grant(
    services: &Services,
    request: &TokenRequest<'_>,
    now: UnixTime,
) -> Result<Granted, OAuthError> {
    let TokenRequest { server, params, .. } = *request;
    let ip = request.credentials.ip;
    let grant_type = params.required("grant_type")?;
    let client =
        client_auth::authenticate(services, server, &request.credentials, params, "token", now)
            .await?;
    let htu = format!("{}/token", services.endpoint_base(server));
    let proof = dpop::proof(services, &request.dpop, "POST", &htu, None, now).await?;
    // Okta's `dpop_bound_access_tokens`: this client's tokens are always bound.
    if proof.is_none() && client.dpop_bound_access_tokens {
        return Err(crate::oauth::dpop::invalid(
            "A DPoP proof is required for this client.",
        ));
    }
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let Some(grant) = GrantType::parse(grant_type) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server.",
        ));
    };
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided grant type.",
        ));
    }
    let (tokens, user) = match grant {
        GrantType::AuthorizationCode => {
            let request = code::Request::from_params(params)?;
            code::grant(services, server, &client, request, jkt, ip, now).await
        }
        GrantType::RefreshToken => {
            let request = refresh::Request::from_params(params)?;
            refresh::grant(services, server, &client, request, jkt, now).await
        }
        GrantType::ClientCredentials => {
            let request = client_credentials::Request::from_params(params)?;
            client_credentials::grant(services, server, &client, request, jkt, now).await
        }
    }?;
    Ok(Granted {
        grant,
        tokens,
        client,
        user,
    })
}

/// Writes `app.oauth2.token.grant` to the System Log: the client (as presented, when
/// it did not authenticate), the grant type, the user, and why a request was refused.
/// Never a code, token or secret.
async fn record(
    services: &Services,
    request: &TokenRequest<'_>,
    outcome: &Result<Granted, OAuthError>,
    now: UnixTime,
) {
    if matches!(outcome, Err(e) if e.status() == 503) {
        return;
    }
    let server = request.server;
    let ip = request.credentials.ip;
    let grant_type: String = request
        .params
        .one("grant_type")
        .ok()
        .flatten()
        .unwrap_or("")
        .chars()
        .take(64)
        .collect();
    // A success already knows its client and user: no lookups, so a database that
    // slows down after the grant delays the answer by one write at most.
    let (actor, event) = match outcome {
        // Written in the transaction that redeemed the code (`code::grant`).
        Ok(granted) if granted.grant == GrantType::AuthorizationCode => return,
        Ok(granted) => granted_event(
            server,
            &granted.client,
            granted.user.as_ref(),
            ip,
            &grant_type,
        ),
        Err(e) => {
            let client_id = client_auth::presented(&request.credentials, request.params)
                .map(|p| p.client_id().chars().take(100).collect::<String>());
            let client_id = client_id.unwrap_or_else(|_| "unknown".into());
            let client = services.store.get_client(&client_id).await.ok().flatten();
            let name = client
                .as_ref()
                .map_or(client_id.clone(), |c| c.name.clone());
            let targets = vec![Target::new(&server.id, "AuthorizationServer", &server.name)];
            let event = Event::failure(
                "app.oauth2.token.grant",
                "OAuth2 token request refused",
                format!("{}: {}", e.code(), e.description),
                targets,
            )
            .with_debug("grantType", grant_type);
            (
                Actor::client(&client_id, &name, ip.map(str::to_string)),
                event,
            )
        }
    };
    syslog::record(&services.store, &actor, event, now).await;
}

/// `app.oauth2.token.grant` for tokens granted to `client` (and `user`) at `server`.
fn granted_event(
    server: &AuthServer,
    client: &Client,
    user: Option<&User>,
    ip: Option<&str>,
    grant_type: &str,
) -> (Actor, Event) {
    let mut targets = vec![Target::new(&server.id, "AuthorizationServer", &server.name)];
    if let Some(user) = user {
        targets.insert(0, Target::user(user));
    }
    let actor = Actor::client(&client.client_id, &client.name, ip.map(str::to_string));
    let event = Event::success("app.oauth2.token.grant", "OAuth2 tokens granted", targets)
        .with_debug("grantType", grant_type);
    (actor, event)
}

#[cfg(test)]
mod tests;
