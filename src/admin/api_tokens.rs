//! Management API tokens (`Authorization: SSWS {token}`, as Okta's): 256 random bits
//! shown once at creation, stored as their SHA-256, found by that hash.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::{b64url, constant_time_eq, okta_id, random_bytes, sha256};
use crate::store::{ApiToken, DynStore};

/// Okta's API tokens begin `00`; the rest is base64url of 32 random bytes.
const PREFIX: &str = "00";

fn target(token: &ApiToken) -> Target {
    Target::new(&token.id, "Token", &token.name)
}

/// Creates a token made by `actor`; returns it with its value, which is never shown
/// again.
pub async fn create(
    store: &DynStore,
    actor: &Actor,
    name: &str,
    now: UnixTime,
) -> Result<(ApiToken, String), AdminError> {
    create_for(store, actor, &actor.id, name, now).await
}

/// Creates a token that acts for `maker` (the admin whose roles it carries, or the
/// API token or command line it was made with), recorded as made by `actor`.
pub async fn create_for(
    store: &DynStore,
    actor: &Actor,
    maker: &str,
    name: &str,
    now: UnixTime,
) -> Result<(ApiToken, String), AdminError> {
    check_text("name", name, 100)?;
    let value = format!("{PREFIX}{}", b64url(&random_bytes::<32>()));
    let token = ApiToken {
        id: okta_id("00T"),
        name: name.trim().to_string(),
        token_hash: sha256(value.as_bytes()),
        created_by: maker.to_string(),
        created_at: now,
        revoked_at: None,
    };
    store.insert_api_token(&token).await?;
    let event = Event::success(
        "system.api_token.create",
        "Create API token",
        vec![target(&token).changed(None, Some(to_json(&token)))],
    );
    syslog::record(store, actor, event, now).await;
    Ok((token, value))
}

/// The live token with this value, if any. The lookup is by SHA-256, so the value
/// itself is never compared; the hash found is compared again in constant time.
pub async fn authenticate(
    store: &DynStore,
    presented: &str,
) -> Result<Option<ApiToken>, AdminError> {
    if presented.is_empty() || presented.len() > 200 {
        return Ok(None);
    }
    let hash = sha256(presented.as_bytes());
    Ok(store
        .find_api_token(&hash)
        .await?
        .filter(|t| constant_time_eq(&t.token_hash, &hash) && t.revoked_at.is_none()))
}

pub async fn list(store: &DynStore) -> Result<Vec<ApiToken>, AdminError> {
    Ok(store.list_api_tokens().await?)
}

pub async fn find(store: &DynStore, id: &str) -> Result<ApiToken, AdminError> {
    store
        .list_api_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id && t.revoked_at.is_none())
        .ok_or_else(|| AdminError::NotFound(format!("API token {id}")))
}

/// Revokes a token: requests with it are refused from then on.
pub async fn revoke(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let token = find(store, id).await?;
    if !store.revoke_api_token(&token.id, now).await? {
        return Err(AdminError::NotFound(format!("API token {id}")));
    }
    let event = Event::success(
        "system.api_token.revoke",
        "Revoke API token",
        vec![target(&token).changed(Some(to_json(&token)), None)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// Okta's API token shape (never the value or its hash).
pub fn to_json(token: &ApiToken) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "userId": token.created_by,
        "clientName": "Gatehouse",
        "created": rfc3339(token.created_at),
        "lastUpdated": rfc3339(token.revoked_at.unwrap_or(token.created_at)),
        "expiresAt": null,
        "tokenWindow": null,
        "status": if token.revoked_at.is_some() { "REVOKED" } else { "ACTIVE" },
    })
}
