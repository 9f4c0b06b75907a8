//! Who may register and manage clients at `/oauth2/v1/clients` (RFC 7591, RFC 7592),
//! and the operations themselves (`admin::apps::registration`) for the credential
//! presented:
//!
//! - `SSWS {API token}`, or `Bearer {org access token}` with Okta's
//!   `okta.clients.register` (registering), `okta.clients.read` (reading) or
//!   `okta.clients.manage` (all), as the management API checks them
//!   (`flows::api_caller`): an admin, who may act on any client;
//! - `Bearer {initial access token}` (RFC 7591 §3), only to register;
//! - `Bearer {registration access token}` (RFC 7592 §1.2), only on its own client.
//!
//! An access token is a JWT (three dot-separated parts); the other two are opaque, so
//! the form of the bearer token says which it is.

use crate::admin::apps::registration::{self, Refused, Registered};
use crate::admin::permissions::{Need, Resource};
use crate::admin::{Actor, initial_tokens};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::api_caller::{self, CallerError, Presented};
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::registration::ClientMetadata;
use crate::store::Client;

/// The credential of a request, as the `Authorization` header carried it.
pub enum Credential<'a> {
    Ssws(&'a str),
    Bearer(&'a str),
}

/// What an operation on clients is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Register,
    Read,
    Change,
}

fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// An admin credential, checked as the management API checks it.
async fn admin(
    services: &Services,
    presented: Presented<'_>,
    ip: Option<String>,
    need: Need,
    now: UnixTime,
) -> Result<Actor, Refused> {
    match api_caller::authorize(services, presented, ip, need, now).await {
        Ok(principal) => Ok(principal.actor),
        Err(CallerError::Unauthenticated) => Err(OAuthError::invalid_token(
            "The access token is unknown, expired or revoked.",
        )
        .into()),
        Err(CallerError::InsufficientScope(scope)) => Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            format!("The access token lacks the scope {scope}."),
        )
        .into()),
        Err(CallerError::Forbidden) => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "The admin's roles do not allow this.",
        )
        .into()),
        Err(CallerError::Failed(e)) => Err(Refused::OAuth(e)),
    }
}

/// The caller: an admin (`Ok(actor)`), or the opaque bearer token it presented
/// (`Err(token)`: an initial or a registration access token, for the caller to look
/// up). No credential at all is `invalid_token`.
async fn admin_or_token<'a>(
    services: &Services,
    credential: Option<Credential<'a>>,
    operation: Operation,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Result<Actor, &'a str>, Refused> {
    let need = match operation {
        Operation::Register => Need::register(Resource::Clients),
        Operation::Read => Need::read(Resource::Clients),
        Operation::Change => Need::manage(Resource::Clients),
    };
    match credential {
        None => Err(OAuthError::invalid_token(
            "An initial access token, a registration access token or an admin credential is required.",
        )
        .into()),
        Some(Credential::Ssws(value)) => {
            Ok(Ok(admin(services, Presented::Ssws(value), ip, need, now).await?))
        }
        Some(Credential::Bearer(jwt)) if is_jwt(jwt) => {
            Ok(Ok(admin(services, Presented::Bearer(jwt), ip, need, now).await?))
        }
        Some(Credential::Bearer(token)) => Ok(Err(token)),
    }
}

/// RFC 7591 §3.1: registers a client. The metadata is looked at only once the caller
/// is known: an unauthenticated request hears `invalid_token`, whatever its body.
pub async fn register(
    services: &Services,
    credential: Option<Credential<'_>>,
    ip: Option<String>,
    meta: Result<ClientMetadata, Refused>,
    now: UnixTime,
) -> Result<Registered, Refused> {
    let (actor, initial) =
        match admin_or_token(services, credential, Operation::Register, ip.clone(), now).await? {
            Ok(actor) => (actor, None),
            Err(token) => {
                let found = initial_tokens::authenticate(&services.store, token, now)
                    .await
                    .map_err(|e| Refused::OAuth(OAuthError::internal(&e)))?;
                let Some((token, hash)) = found else {
                    return Err(OAuthError::invalid_token(
                        "The initial access token is unknown, revoked, expired or used up.",
                    )
                    .into());
                };
                (Actor::initial_token(&token, ip), Some(hash))
            }
        };
    registration::register(
        &services.store,
        &services.master,
        &actor,
        initial.as_deref(),
        meta?,
        now,
    )
    .await
}

/// The actor and, under a registration access token, its hash. An initial access
/// token is no registration access token: `invalid_token` here.
async fn on_client(
    services: &Services,
    credential: Option<Credential<'_>>,
    operation: Operation,
    client_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<(Actor, Option<Vec<u8>>), Refused> {
    match admin_or_token(services, credential, operation, ip.clone(), now).await? {
        Ok(actor) => Ok((actor, None)),
        Err(token) => {
            let hash = registration::authenticate(&services.store, client_id, token).await?;
            Ok((Actor::client(client_id, client_id, ip), Some(hash)))
        }
    }
}

/// RFC 7592 §2.1.
pub async fn read(
    services: &Services,
    credential: Option<Credential<'_>>,
    client_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Client, Refused> {
    on_client(services, credential, Operation::Read, client_id, ip, now).await?;
    registration::read(&services.store, client_id).await
}

/// RFC 7592 §2.2.
pub async fn update(
    services: &Services,
    credential: Option<Credential<'_>>,
    client_id: &str,
    ip: Option<String>,
    meta: Result<ClientMetadata, Refused>,
    now: UnixTime,
) -> Result<Registered, Refused> {
    let (actor, token) =
        on_client(services, credential, Operation::Change, client_id, ip, now).await?;
    registration::update(
        &services.store,
        &services.master,
        &actor,
        client_id,
        token.as_deref(),
        meta?,
        now,
    )
    .await
}

/// RFC 7592 §2.3.
pub async fn delete(
    services: &Services,
    credential: Option<Credential<'_>>,
    client_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<(), Refused> {
    let (actor, token) =
        on_client(services, credential, Operation::Change, client_id, ip, now).await?;
    registration::delete(&services.store, &actor, client_id, token.as_deref(), now).await
}

/// Okta's `lifecycle/newSecret`.
pub async fn new_secret(
    services: &Services,
    credential: Option<Credential<'_>>,
    client_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<(Client, String), Refused> {
    let (actor, _) = on_client(services, credential, Operation::Change, client_id, ip, now).await?;
    registration::rotate_secret(&services.store, &services.master, &actor, client_id, now).await
}
