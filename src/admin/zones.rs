//! Okta's IP network zones (`/api/v1/zones`): named lists of CIDR blocks and address
//! ranges that sign-on rules include or exclude (`oauth::sign_on`).

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::oauth::sign_on::Gateway;
use crate::store::{DynStore, NetworkZone, Status, StoreError};

/// At most this many gateways in one zone.
pub const MAX_GATEWAYS: usize = 150;

#[derive(Debug, Clone, Default)]
pub struct NewZone {
    pub name: String,
    /// CIDR blocks (`192.0.2.0/24`) and ranges (`192.0.2.1-192.0.2.9`).
    pub gateways: Vec<String>,
}

pub async fn find(store: &DynStore, id: &str) -> Result<NetworkZone, AdminError> {
    store
        .list_zones()
        .await?
        .into_iter()
        .find(|z| z.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("{id} (Zone)")))
}

fn apply(new: NewZone, base: NetworkZone) -> Result<NetworkZone, AdminError> {
    check_text("name", &new.name, 128)?;
    let gateways: Vec<String> = dedup(new.gateways.iter().map(|g| g.trim().to_string()).collect());
    if gateways.is_empty() || gateways.len() > MAX_GATEWAYS {
        return Err(AdminError::invalid(
            "gateways",
            format!("between 1 and {MAX_GATEWAYS} gateways"),
        ));
    }
    if let Some(bad) = gateways.iter().find(|g| Gateway::parse(g).is_none()) {
        return Err(AdminError::invalid(
            "gateways",
            format!("{bad:?} is not a CIDR block or an address range"),
        ));
    }
    Ok(NetworkZone {
        name: new.name,
        gateways,
        ..base
    })
}

fn name_taken(e: StoreError) -> AdminError {
    match e {
        StoreError::Conflict(_) => AdminError::invalid("name", "a zone has this name"),
        e => e.into(),
    }
}

pub async fn create(
    store: &DynStore,
    actor: &Actor,
    new: NewZone,
    now: UnixTime,
) -> Result<NetworkZone, AdminError> {
    let zone = apply(
        new,
        NetworkZone {
            id: okta_id("nzo"),
            name: String::new(),
            status: Status::Active,
            gateways: vec![],
            created_at: now,
            updated_at: now,
        },
    )?;
    store.insert_zone(&zone).await.map_err(name_taken)?;
    let target = Target::new(&zone.id, "Zone", &zone.name).changed(None, Some(zone_json(&zone)));
    syslog::record(
        store,
        actor,
        Event::success("zone.create", "Create network zone", vec![target]),
        now,
    )
    .await;
    Ok(zone)
}

pub async fn update(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    new: NewZone,
    now: UnixTime,
) -> Result<NetworkZone, AdminError> {
    let before = find(store, id).await?;
    let zone = apply(
        new,
        NetworkZone {
            updated_at: now,
            ..before.clone()
        },
    )?;
    if !store.update_zone(&zone).await.map_err(name_taken)? {
        return Err(AdminError::NotFound(format!("{id} (Zone)")));
    }
    let target = Target::new(&zone.id, "Zone", &zone.name)
        .changed(Some(zone_json(&before)), Some(zone_json(&zone)));
    syslog::record(
        store,
        actor,
        Event::success("zone.update", "Update network zone", vec![target]),
        now,
    )
    .await;
    Ok(zone)
}

/// An inactive zone matches no address: rules that include it stop matching, rules
/// that exclude it exclude nothing.
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    active: bool,
    now: UnixTime,
) -> Result<NetworkZone, AdminError> {
    let before = find(store, id).await?;
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let zone = NetworkZone {
        status,
        updated_at: now,
        ..before
    };
    if !store.update_zone(&zone).await? {
        return Err(AdminError::NotFound(format!("{id} (Zone)")));
    }
    let (kind, message) = if active {
        ("zone.activate", "Activate network zone")
    } else {
        ("zone.deactivate", "Deactivate network zone")
    };
    let target = Target::new(&zone.id, "Zone", &zone.name);
    syslog::record(
        store,
        actor,
        Event::success(kind, message, vec![target]),
        now,
    )
    .await;
    Ok(zone)
}

/// A zone a rule names cannot be deleted (Okta's answer too): the rule would change
/// meaning silently.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let zone = find(store, id).await?;
    let rules = store.list_sign_on_rules().await?;
    if let Some(rule) = rules
        .iter()
        .find(|r| r.zones_include.contains(&zone.id) || r.zones_exclude.contains(&zone.id))
    {
        return Err(AdminError::not_allowed(
            "E0000148",
            format!(
                "The zone is used by the policy rule {:?} and cannot be deleted.",
                rule.name
            ),
        ));
    }
    if !store.delete_zone(id).await? {
        return Err(AdminError::NotFound(format!("{id} (Zone)")));
    }
    let target = Target::new(&zone.id, "Zone", &zone.name).changed(Some(zone_json(&zone)), None);
    syslog::record(
        store,
        actor,
        Event::success("zone.delete", "Delete network zone", vec![target]),
        now,
    )
    .await;
    Ok(())
}

/// Okta's IP zone shape.
pub fn zone_json(zone: &NetworkZone) -> Value {
    let gateways: Vec<Value> = zone
        .gateways
        .iter()
        .map(|g| {
            let kind = Gateway::parse(g).map_or("CIDR", |g| g.kind());
            json!({ "type": kind, "value": g })
        })
        .collect();
    json!({
        "id": zone.id,
        "type": "IP",
        "name": zone.name,
        "status": zone.status,
        "usage": "POLICY",
        "system": false,
        "gateways": gateways,
        "proxies": null,
        "created": rfc3339(zone.created_at),
        "lastUpdated": rfc3339(zone.updated_at),
    })
}
