//! Initial access tokens (RFC 7591 §3): what an admin hands to whoever may register
//! clients at `/oauth2/v1/clients` without an admin credential. Each is 256 random
//! bits shown once, stored as its SHA-256, valid until it expires and for a number of
//! registrations; revocable.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::{b64url, constant_time_eq, okta_id, random_bytes, sha256};
use crate::store::{DynStore, InitialAccessToken};

/// The longest an initial access token may live: 30 days.
pub const MAX_LIFETIME_SECONDS: i64 = 30 * 24 * 3600;
/// The most registrations one token may make.
pub const MAX_USES: i64 = 1000;

fn target(token: &InitialAccessToken) -> Target {
    Target::new(&token.id, "InitialAccessToken", &token.name)
}

/// Creates a token valid for `lifetime` seconds and `max_uses` registrations, made by
/// `actor`; returns it with its value, which is never shown again.
pub async fn create(
    store: &DynStore,
    actor: &Actor,
    name: &str,
    lifetime: i64,
    max_uses: i64,
    now: UnixTime,
) -> Result<(InitialAccessToken, String), AdminError> {
    check_text("name", name, 100)?;
    if !(1..=MAX_LIFETIME_SECONDS).contains(&lifetime) {
        return Err(AdminError::invalid(
            "expiresIn",
            format!("must be 1 to {MAX_LIFETIME_SECONDS} seconds"),
        ));
    }
    if !(1..=MAX_USES).contains(&max_uses) {
        return Err(AdminError::invalid(
            "maxUses",
            format!("must be 1 to {MAX_USES}"),
        ));
    }
    let value = b64url(&random_bytes::<32>());
    let token = InitialAccessToken {
        id: okta_id("iat"),
        name: name.trim().to_string(),
        token_hash: sha256(value.as_bytes()),
        created_by: actor.id.clone(),
        created_at: now,
        expires_at: now + lifetime,
        max_uses,
        uses: 0,
        revoked_at: None,
    };
    store.insert_initial_token(&token).await?;
    let event = Event::success(
        "system.initial_access_token.create",
        "Create initial access token",
        vec![target(&token).changed(None, Some(to_json(&token, now)))],
    );
    syslog::record(store, actor, event, now).await;
    Ok((token, value))
}

/// The token with this value while it may register (unrevoked, unexpired, a use
/// left), with its hash. The lookup is by SHA-256; the hash found is compared again in
/// constant time. Whether a use is left is decided again when the client is stored
/// (`RegistrationStore::register_client`), in the statement that counts it.
pub async fn authenticate(
    store: &DynStore,
    presented: &str,
    now: UnixTime,
) -> Result<Option<(InitialAccessToken, Vec<u8>)>, AdminError> {
    if presented.is_empty() || presented.len() > 200 {
        return Ok(None);
    }
    let hash = sha256(presented.as_bytes());
    Ok(store
        .find_initial_token(&hash)
        .await?
        .filter(|t| constant_time_eq(&t.token_hash, &hash) && status(t, now) == "ACTIVE")
        .map(|t| (t, hash.to_vec())))
}

pub async fn list(store: &DynStore) -> Result<Vec<InitialAccessToken>, AdminError> {
    Ok(store.list_initial_tokens().await?)
}

pub async fn find(store: &DynStore, id: &str) -> Result<InitialAccessToken, AdminError> {
    store
        .list_initial_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("initial access token {id}")))
}

/// Revokes a token: registrations with it are refused from then on.
pub async fn revoke(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let token = find(store, id).await?;
    if !store.revoke_initial_token(&token.id, now).await? {
        return Err(AdminError::NotFound(format!("initial access token {id}")));
    }
    let event = Event::success(
        "system.initial_access_token.revoke",
        "Revoke initial access token",
        vec![target(&token).changed(Some(to_json(&token, now)), None)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// `ACTIVE`, `REVOKED`, `EXPIRED` or `USED_UP`.
pub fn status(token: &InitialAccessToken, now: UnixTime) -> &'static str {
    if token.revoked_at.is_some() {
        "REVOKED"
    } else if token.expires_at <= now {
        "EXPIRED"
    } else if token.uses >= token.max_uses {
        "USED_UP"
    } else {
        "ACTIVE"
    }
}

/// The token's JSON (never its value or hash).
pub fn to_json(token: &InitialAccessToken, now: UnixTime) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "createdBy": token.created_by,
        "created": rfc3339(token.created_at),
        "expiresAt": rfc3339(token.expires_at),
        "maxUses": token.max_uses,
        "uses": token.uses,
        "status": status(token, now),
    })
}
