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

/// A caller authenticated for one operation.
enum Caller {
    Admin(Actor),
    Initial(Actor, Vec<u8>),
    /// The hash of the client's registration access token, and the client as actor.
    Registration(Actor, Vec<u8>),
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
) -> Result<Caller, Refused> {
    match api_caller::authorize(services, presented, ip, need, now).await {
        Ok(principal) => Ok(Caller::Admin(principal.actor)),
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

async fn caller(
    services: &Services,
    credential: Option<Credential<'_>>,
    operation: Operation,
    client_id: Option<&str>,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Caller, Refused> {
    let need = match operation {
        Operation::Register => Need::register(Resource::Clients),
        Operation::Read => Need::read(Resource::Clients),
        Operation::Change => Need::manage(Resource::Clients),
    };
    let token = match credential {
        None => {
            return Err(OAuthError::invalid_token(
                "An initial access token, a registration access token or an admin credential is required.",
            )
            .into());
        }
        Some(Credential::Ssws(value)) => {
            return admin(services, Presented::Ssws(value), ip, need, now).await;
        }
        Some(Credential::Bearer(jwt)) if is_jwt(jwt) => {
            return admin(services, Presented::Bearer(jwt), ip, need, now).await;
        }
        Some(Credential::Bearer(token)) => token,
    };
    match client_id {
        None => {
            let found = initial_tokens::authenticate(&services.store, token, now)
                .await
                .map_err(|e| Refused::OAuth(OAuthError::internal(&e)))?;
            match found {
                Some((token, hash)) => Ok(Caller::Initial(Actor::initial_token(&token, ip), hash)),
                None => Err(OAuthError::invalid_token(
                    "The initial access token is unknown, revoked, expired or used up.",
                )
                .into()),
            }
        }
        Some(client_id) => {
            let hash = registration::authenticate(&services.store, client_id, token).await?;
            Ok(Caller::Registration(
                Actor::client(client_id, client_id, ip),
                hash,
            ))
        }
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
        match caller(services, credential, Operation::Register, None, ip, now).await? {
            Caller::Admin(actor) => (actor, None),
            Caller::Initial(actor, hash) => (actor, Some(hash)),
            Caller::Registration(..) => unreachable!("no client id, no registration token"),
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

/// The actor and, under a registration access token, its hash; an initial access token
/// is refused here (it registers and does nothing else).
async fn on_client(
    services: &Services,
    credential: Option<Credential<'_>>,
    operation: Operation,
    client_id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<(Actor, Option<Vec<u8>>), Refused> {
    match caller(services, credential, operation, Some(client_id), ip, now).await? {
        Caller::Admin(actor) => Ok((actor, None)),
        Caller::Registration(actor, hash) => Ok((actor, Some(hash))),
        Caller::Initial(..) => unreachable!("a client id, no initial token"),
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
