//! Okta's trusted servers ("associated servers", Okta's Authorization Servers API
//! `/api/v1/authorizationServers/{authServerId}/associatedServers`): the other custom
//! servers whose access tokens a custom server accepts as the `subject_token` of an
//! on-behalf-of token exchange (RFC 8693, `flows::token::exchange`). A server always
//! accepts its own tokens; trust is one way. Every change is recorded in the System Log
//! as `oauth2.as.updated` with the list before and after.

use serde_json::json;

use super::servers::{find, find_custom};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, dedup};
use crate::clock::UnixTime;
use crate::store::{AuthServer, DynStore};

/// The servers `id` trusts, oldest trust first.
pub async fn trusted(store: &DynStore, id: &str) -> Result<Vec<AuthServer>, AdminError> {
    let server = find(store, id).await?;
    let mut servers = Vec::new();
    for trusted_id in store.trusted_servers(&server.id).await? {
        if let Some(s) = store.get_server(&trusted_id).await? {
            servers.push(s);
        }
    }
    Ok(servers)
}

/// The custom servers that trust `id` (Okta's `?trusted=false`).
pub async fn trusting(store: &DynStore, id: &str) -> Result<Vec<AuthServer>, AdminError> {
    let server = find(store, id).await?;
    let mut servers = Vec::new();
    for other in store.list_servers().await? {
        if other.id != server.id && store.trusted_servers(&other.id).await?.contains(&server.id) {
            servers.push(other);
        }
    }
    Ok(servers)
}

/// `id` trusts each of `trusted` as well (already trusted ones are kept as they are):
/// each must be another existing custom server. Nothing is written unless every one
/// is valid. Answers the servers now trusted that were named.
pub async fn add(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    trusted: &[String],
    now: UnixTime,
) -> Result<Vec<AuthServer>, AdminError> {
    let server = find_custom(store, id).await?;
    let names = dedup(trusted.to_vec());
    if names.is_empty() {
        return Err(AdminError::invalid(
            "trusted",
            "must name at least one authorization server",
        ));
    }
    let mut servers = Vec::with_capacity(names.len());
    for name in &names {
        let other = match store.get_server(name).await? {
            Some(other) if !other.is_org() && other.id != server.id => other,
            Some(_) => {
                return Err(AdminError::invalid(
                    "trusted",
                    format!(
                        "{name} is this server or the org server; only another custom authorization server can be trusted"
                    ),
                ));
            }
            None => {
                return Err(AdminError::invalid(
                    "trusted",
                    format!("no authorization server {name}"),
                ));
            }
        };
        servers.push(other);
    }
    let before = store.trusted_servers(&server.id).await?;
    for other in &servers {
        store.trust_server(&server.id, &other.id, now).await?;
    }
    record(store, actor, &server, before, now).await?;
    Ok(servers)
}

/// `id` no longer trusts `trusted_id`; `NotFound` when it did not.
pub async fn remove(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    trusted_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, id).await?;
    let before = store.trusted_servers(&server.id).await?;
    if !store.untrust_server(&server.id, trusted_id).await? {
        return Err(AdminError::NotFound(format!(
            "trusted server {trusted_id} of authorization server {id}"
        )));
    }
    record(store, actor, &server, before, now).await
}

async fn record(
    store: &DynStore,
    actor: &Actor,
    server: &AuthServer,
    before: Vec<String>,
    now: UnixTime,
) -> Result<(), AdminError> {
    let after = store.trusted_servers(&server.id).await?;
    if after == before {
        return Ok(());
    }
    let target = Target::new(&server.id, "AuthorizationServer", &server.name).changed(
        Some(json!({ "trustedServers": before })),
        Some(json!({ "trustedServers": after })),
    );
    let event = Event::success(
        "oauth2.as.updated",
        "Update authorization server trusted servers",
        vec![target],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}
