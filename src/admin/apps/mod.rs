//! OpenID Connect apps (OAuth clients): register, change, activate and deactivate,
//! delete, rotate the secret, and assign users and groups, in Okta's app shape.
//!
//! `validate` checks the settings given and `uris` the URIs among them; `secrets` the
//! client secrets; `assignments` who may sign in; `json` Okta's shapes; `rows` the
//! optimistic read-modify-write they all write through. This file: the app's own
//! lifecycle and the list.

mod assignments;
mod json;
pub mod registration;
mod rows;
mod secrets;
mod uris;
mod validate;

use serde_json::json;

use super::filter::{self, Attr, Kind};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, users};
use crate::clock::UnixTime;
use crate::crypto::{MasterKey, okta_id};
use crate::store::{AuthMethod, Client, ClientSecret, DynStore, Expr, Page, SqlValue, Status};

pub use assignments::{assign_group, assign_user, unassign_group, unassign_user};
pub use json::{OIDC_APP_NAME, secret_json, to_json};
pub use rows::find;
use rows::modify;
pub use secrets::{MAX_SECRETS, create_secret, delete_secret, jwt_secrets, set_secret_active};
pub use uris::{
    check_jwks_uri, check_outbound_uri, check_redirect_uri, check_uri_host, mixes_scripts,
};
pub use validate::{
    APPLICATION_TYPES, AUTH_METHODS, MAX_JWKS_KEYS, MAX_REFRESH_LEEWAY, NewApp, check_jwks,
    check_pkce_settings,
};

use secrets::new_secret;
use validate::{AUTH_METHOD_FIELD, Checked, check};

pub struct CreatedApp {
    pub client: Client,
    /// The secret in clear: shown once, stored only as a keyed hash.
    pub secret: Option<String>,
}

/// Validates and stores a new app (ACTIVE unless `activate` is false); a
/// confidential one gets a fresh secret.
pub async fn create(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    new: NewApp,
    now: UnixTime,
) -> Result<CreatedApp, AdminError> {
    let active = new.activate.unwrap_or(true);
    let created = build(master, check(new)?, active, now);
    store.insert_client(&created.client).await?;
    let target = Target::app(&created.client).changed(None, Some(to_json(&created.client, None)));
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.create",
            "Add application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(created)
}

/// A new app of checked settings, not stored yet: a fresh client id, and for a
/// confidential app a fresh secret.
fn build(master: &MasterKey, c: Checked, active: bool, now: UnixTime) -> CreatedApp {
    let client_id = okta_id("0oa");
    let (secrets, secret) = match c.auth_method.uses_secret() {
        true => {
            let (stored, value) = new_secret(master, &client_id, c.auth_method, now);
            (vec![stored], Some(value))
        }
        false => (vec![], None),
    };
    let client = Client {
        client_id,
        name: c.name,
        secrets,
        auth_method: c.auth_method,
        jwks: c.jwks,
        jwks_uri: c.jwks_uri,
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        application_type: c.application_type,
        response_types: c.response_types,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        refresh_token_leeway: c.refresh_token_leeway,
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        pkce_required: c.pkce_required,
        pkce_allow_plain: c.pkce_allow_plain,
        request_object_signing_alg: c.request_object_signing_alg,
        require_signed_request_object: c.require_signed_request_object,
        logout: c.logout,
        status: Status::active_if(active),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    CreatedApp { client, secret }
}

/// Okta's PUT: new settings for an app. A public client stays public and a
/// confidential one confidential (its secrets are kept); the status does not change.
///
/// The authentication method may change between the confidential ones (RFC 6749
/// §2.3.1, RFC 7523 §2.2), and with it the JWKS (`private_key_jwt`) and the DPoP and PAR
/// switches. A secret method needs a secret the app can use: `client_secret_basic` and
/// `_post` any ACTIVE one; `client_secret_jwt` one this server can key HMAC with, which
/// secrets made for the other methods are not (only their keyed hash is stored). As
/// Okta generates a secret when an app moves to such a method, so does this: when no
/// ACTIVE secret fits (say a `private_key_jwt` app made without one), the switch
/// generates a new ACTIVE secret, answered once (as at creation) — refused when the app
/// already has `MAX_SECRETS`. Switching away from `client_secret_jwt` drops the sealed
/// copies.
pub async fn update(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    new: NewApp,
    now: UnixTime,
) -> Result<(Client, Option<String>), AdminError> {
    super::console::not_built_in(client_id)?;
    let c = check(new)?;
    let (before, written) = modify(store, client_id, |before| {
        Ok(Some(updated(&c, before, master, now)?))
    })
    .await?;
    let (client, value) = written.expect("update always writes");
    let target =
        Target::app(&client).changed(Some(to_json(&before, None)), Some(to_json(&client, None)));
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            "Update application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok((client, value))
}

/// The app `before` with the checked settings `c` (Okta's PUT, see `update`): the new
/// row, and a new secret's value when the change made one.
fn updated(
    c: &Checked,
    before: &Client,
    master: &MasterKey,
    now: UnixTime,
) -> Result<(Client, Option<String>), AdminError> {
    let client_id = before.client_id.as_str();
    if (c.auth_method == AuthMethod::None) != before.is_public() {
        return Err(AdminError::invalid(
            AUTH_METHOD_FIELD,
            "cannot change between none (a public client) and a client secret; create a new app",
        ));
    }
    let mut secrets = before.secrets.clone();
    let mut value = None;
    let jwt = c.auth_method == AuthMethod::ClientSecretJwt;
    let usable = |s: &ClientSecret| s.is_active() && (!jwt || s.sealed.is_some());
    if c.auth_method.uses_secret() && !secrets.iter().any(usable) {
        if secrets.len() >= MAX_SECRETS {
            let why = if jwt {
                "client_secret_jwt needs a new client secret (the existing ones are kept only as hashes)"
            } else {
                "a client secret method needs an active client secret, and a new one is made for it"
            };
            return Err(AdminError::invalid(
                AUTH_METHOD_FIELD,
                format!("{why}, and the app already has {MAX_SECRETS}; delete one first"),
            ));
        }
        let (stored, shown) = new_secret(master, client_id, c.auth_method, now);
        secrets.push(stored);
        value = Some(shown);
    }
    if c.auth_method != AuthMethod::ClientSecretJwt {
        for s in &mut secrets {
            s.sealed = None;
        }
    }
    let client = Client {
        name: c.name.clone(),
        secrets,
        auth_method: c.auth_method,
        jwks: c.jwks.clone(),
        jwks_uri: c.jwks_uri.clone(),
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        application_type: c.application_type.clone(),
        response_types: c.response_types.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grant_types: c.grant_types.clone(),
        refresh_token_leeway: c.refresh_token_leeway,
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        pkce_required: c.pkce_required,
        pkce_allow_plain: c.pkce_allow_plain,
        request_object_signing_alg: c.request_object_signing_alg.clone(),
        require_signed_request_object: c.require_signed_request_object,
        logout: c.logout.clone(),
        updated_at: now,
        ..before.clone()
    };
    Ok((client, value))
}

/// Activates (`true`) or deactivates an app. An inactive app is refused at /token
/// (`invalid_client`) and /authorize (an error page); its tokens stop introspecting.
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<Client, AdminError> {
    if !active {
        super::console::not_built_in(client_id)?;
    }
    let status = Status::active_if(active);
    let (before, written) = modify(store, client_id, |before| {
        Ok((before.status != status).then(|| {
            (
                Client {
                    status,
                    updated_at: now,
                    ..before.clone()
                },
                (),
            )
        }))
    })
    .await?;
    let Some((client, ())) = written else {
        return Ok(before);
    };
    let (event_type, message) = if active {
        ("application.lifecycle.activate", "Activate application")
    } else {
        ("application.lifecycle.deactivate", "Deactivate application")
    };
    let target = Target::app(&client).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(event_type, message, vec![target]),
        now,
    )
    .await;
    Ok(client)
}

/// Deletes an app; as in Okta, only an INACTIVE one.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    super::console::not_built_in(client_id)?;
    let client = find(store, client_id).await?;
    if client.status != Status::Inactive {
        return Err(AdminError::not_allowed(
            "E0000056",
            "Delete application forbidden: the application must be deactivated first.",
        ));
    }
    if !store.delete_client(client_id).await? {
        return Err(AdminError::NotFound(format!("app {client_id}")));
    }
    let target = Target::app(&client).changed(Some(to_json(&client, None)), None);
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.delete",
            "Delete application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(())
}

/// What `filter` may name on apps.
pub const APP_ATTRS: &[Attr] = &[
    Attr {
        name: "id",
        column: "client_id",
        kind: Kind::Text,
    },
    Attr {
        name: "status",
        column: "status",
        kind: Kind::Text,
    },
    Attr {
        name: "label",
        column: "name",
        kind: Kind::Text,
    },
    Attr {
        name: "created",
        column: "created_at",
        kind: Kind::Time,
    },
    Attr {
        name: "lastUpdated",
        column: "updated_at",
        kind: Kind::Time,
    },
];

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 200;

/// One page of apps (ordered by id; `q` a prefix of the label) and the next cursor.
pub async fn list(
    store: &DynStore,
    q: Option<&str>,
    filter_text: Option<&str>,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<(Vec<Client>, Option<String>), AdminError> {
    let limit = filter::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut conditions = Vec::new();
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        conditions.push(users::prefix_of_names(q, &["name"])?);
    }
    if let Some(text) = filter_text.filter(|t| !t.trim().is_empty()) {
        conditions.push(filter::parse("filter", text, APP_ATTRS)?);
    }
    let page = Page {
        filter: (!conditions.is_empty()).then_some(Expr::And(conditions)),
        after: after.map(SqlValue::Text),
        limit: limit + 1,
    };
    let clients = store.query_clients(&page).await?;
    Ok(users::next_page(clients, limit, |c| c.client_id.clone()))
}
