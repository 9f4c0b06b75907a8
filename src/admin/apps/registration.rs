//! Dynamic client registration (RFC 7591) and client management (RFC 7592) at Okta's
//! `/oauth2/v1/clients`: the client metadata read as an app's settings (`NewApp`) and
//! checked by the same `validate::check` as the management API's apps, stored as an
//! app like any other; a registration access token per registered client, its SHA-256
//! stored, replaced at every update in the transaction that writes the client.
//!
//! Validation errors keep RFC 7591 §3.2.2's codes: `invalid_redirect_uri` for a
//! redirect or post-logout redirect URI, `invalid_client_metadata` for anything else,
//! each naming the metadata field. A software statement is `unapproved_software_statement`:
//! this server approves none.

use super::json::OIDC_APP_NAME;
use super::rows::{find, modify};
use super::secrets::new_secret;
use super::validate::{Checked, check};
use super::{NewApp, build, to_json, updated};
use crate::admin::AdminError;
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{MasterKey, constant_time_eq, hex, random_token, sha256};
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::registration::{ClientInformation, ClientMetadata};
use crate::store::{Client, DynStore, LogoutChannels, RegisteredWrite, StoreError};

/// Why a request at `/oauth2/v1/clients` is refused.
#[derive(Debug)]
pub enum Refused {
    /// No such client (to an admin caller; a registration access token that names no
    /// client is `invalid_token`).
    NotFound,
    OAuth(OAuthError),
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Self {
        Refused::OAuth(e)
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::OAuth(e.into())
    }
}

/// The app's field names as RFC 7591 names them, for the error descriptions.
fn metadata_name(field: &str) -> &str {
    match field {
        "label" => "client_name",
        "name" | "signOnMode" => "client_metadata",
        "credentials.oauthClient.pkce_required" | "credentials.oauthClient.pkce_allow_plain" => {
            "token_endpoint_auth_method"
        }
        _ => field.rsplit('.').next().unwrap_or(field),
    }
}

/// An `AdminError` as RFC 7591 §3.2.2 answers it.
fn refusal(e: AdminError) -> Refused {
    match e {
        AdminError::Invalid { field, message } | AdminError::InvalidSearch { field, message } => {
            let name = metadata_name(field);
            let code = if name.ends_with("redirect_uris") {
                ErrorCode::InvalidRedirectUri
            } else {
                ErrorCode::InvalidClientMetadata
            };
            Refused::OAuth(OAuthError::new(code, format!("{name}: {message}")))
        }
        AdminError::NotFound(_) => Refused::NotFound,
        AdminError::NotAllowed { message, .. } => {
            Refused::OAuth(OAuthError::new(ErrorCode::InvalidClientMetadata, message))
        }
        AdminError::Conflict(_) => Refused::OAuth(OAuthError::temporarily_unavailable()),
        AdminError::Store(e) => e.into(),
    }
}

fn invalid_metadata(message: &'static str) -> Refused {
    Refused::OAuth(OAuthError::new(ErrorCode::InvalidClientMetadata, message))
}

/// RFC 7591 §2 metadata as an app's settings. Absent lists take RFC 7591's defaults
/// (`authorization_code`, `code`, `client_secret_basic`), as `check` does.
fn new_app(meta: ClientMetadata) -> Result<NewApp, Refused> {
    if meta.software_statement.is_some() {
        return Err(Refused::OAuth(OAuthError::new(
            ErrorCode::UnapprovedSoftwareStatement,
            "This server approves no software statements; register without one.",
        )));
    }
    let Some(name) = meta.client_name else {
        return Err(invalid_metadata("client_name: is required"));
    };
    Ok(NewApp {
        name,
        redirect_uris: meta.redirect_uris.unwrap_or_default(),
        post_logout_redirect_uris: meta.post_logout_redirect_uris.unwrap_or_default(),
        auth_method: meta.token_endpoint_auth_method,
        grant_types: meta.grant_types.unwrap_or_default(),
        refresh_token_leeway: None,
        application_type: meta.application_type,
        response_types: meta.response_types,
        okta_name: Some(OIDC_APP_NAME.into()),
        sign_on_mode: None,
        activate: Some(true),
        jwks: meta.jwks,
        jwks_uri: meta.jwks_uri,
        dpop_bound_access_tokens: meta.dpop_bound_access_tokens,
        require_pushed_authorization_requests: meta
            .require_pushed_authorization_requests
            .unwrap_or(false),
        pkce_required: None,
        pkce_allow_plain: None,
        request_object_signing_alg: meta.request_object_signing_alg,
        require_signed_request_object: meta.require_signed_request_object.unwrap_or(false),
        logout: LogoutChannels {
            frontchannel_logout_uri: meta.frontchannel_logout_uri,
            frontchannel_logout_session_required: meta
                .frontchannel_logout_session_required
                .unwrap_or(false),
            backchannel_logout_uri: meta.backchannel_logout_uri,
            backchannel_logout_session_required: meta
                .backchannel_logout_session_required
                .unwrap_or(false),
        },
        // As the management API: a jwks_uri on this server's own network is refused.
        allow_private_jwks_uri: false,
    })
}

fn checked(meta: ClientMetadata) -> Result<Checked, Refused> {
    check(new_app(meta)?).map_err(refusal)
}

/// The client as RFC 7591 §3.2.1 answers it; `endpoint` is the registration endpoint
/// (`{base}/oauth2/v1/clients`).
pub fn information(
    client: &Client,
    endpoint: &str,
    secret: Option<String>,
    registration_access_token: Option<String>,
) -> ClientInformation {
    ClientInformation {
        client_id: client.client_id.clone(),
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: client.created_at,
        registration_access_token,
        registration_client_uri: format!("{endpoint}/{}", client.client_id),
        client_name: client.name.clone(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        token_endpoint_auth_method: client.auth_method.to_string(),
        grant_types: client.grant_types.clone(),
        response_types: client.response_types.clone(),
        application_type: client.application_type.clone(),
        jwks: client
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: client.jwks_uri.clone(),
        request_object_signing_alg: client.request_object_signing_alg.clone(),
        require_signed_request_object: client.require_signed_request_object,
        require_pushed_authorization_requests: client.require_pushed_authorization_requests,
        dpop_bound_access_tokens: client.dpop_bound_access_tokens,
        frontchannel_logout_uri: client.logout.frontchannel_logout_uri.clone(),
        frontchannel_logout_session_required: client.logout.frontchannel_logout_session_required,
        backchannel_logout_uri: client.logout.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: client.logout.backchannel_logout_session_required,
    }
}

/// A client as registered or changed, with the secrets shown this once.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
    pub registration_access_token: Option<String>,
}

/// RFC 7591 §3: registers a client, ACTIVE, with a fresh registration access token.
/// `initial` is the hash of the initial access token the caller presented (none for an
/// admin): one of its uses is counted in the transaction that stores the client, so a
/// token with one use left registers one client however many requests race; a token
/// spent meanwhile is `invalid_token`.
pub async fn register(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    initial: Option<&[u8]>,
    meta: ClientMetadata,
    now: UnixTime,
) -> Result<Registered, Refused> {
    let created = build(master, checked(meta)?, true, now);
    let token = random_token();
    if !store
        .register_client(initial, &created.client, &sha256(token.as_bytes()), now)
        .await?
    {
        return Err(OAuthError::invalid_token(
            "The initial access token is unknown, revoked, expired or used up.",
        )
        .into());
    }
    let client = created.client;
    let target = Target::app(&client).changed(None, Some(to_json(&client, None)));
    let event = Event::success(
        "application.lifecycle.create",
        "Add application (dynamic client registration)",
        vec![target],
    );
    syslog::record(store, actor, event, now).await;
    Ok(Registered {
        client,
        secret: created.secret,
        registration_access_token: Some(token),
    })
}

/// RFC 7592 §2: the hash of `presented` when it is the registration access token of
/// `client_id`; else `invalid_token` (401), the same answer whether the token is
/// unknown, another client's, or the client is gone (RFC 7592 §2.1).
pub async fn authenticate(
    store: &DynStore,
    client_id: &str,
    presented: &str,
) -> Result<Vec<u8>, Refused> {
    let hash = sha256(presented.as_bytes());
    let found = if presented.is_empty() || presented.len() > 200 {
        None
    } else {
        store.registered_client_id(&hash).await?
    };
    match found {
        Some(id) if constant_time_eq(id.as_bytes(), client_id.as_bytes()) => Ok(hash),
        _ => Err(OAuthError::invalid_token(
            "The registration access token is not valid for this client.",
        )
        .into()),
    }
}

/// RFC 7592 §2.1: the client as it is.
pub async fn read(store: &DynStore, client_id: &str) -> Result<Client, Refused> {
    find(store, client_id).await.map_err(refusal)
}

/// RFC 7592 §2.2: a `client_id` in the body must be the client's; a `client_secret`
/// one of its ACTIVE secrets.
fn check_identity(
    meta: &ClientMetadata,
    client: &Client,
    master: &MasterKey,
) -> Result<(), Refused> {
    if meta.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(invalid_metadata(
            "client_id: is required and must be the client's own",
        ));
    }
    if let Some(secret) = &meta.client_secret {
        let hash = hex(&master.hash_client_secret(secret));
        let known = client
            .secrets
            .iter()
            .any(|s| s.is_active() && constant_time_eq(s.hash.as_bytes(), hash.as_bytes()));
        if !known {
            return Err(invalid_metadata(
                "client_secret: does not match the client's secret",
            ));
        }
    }
    Ok(())
}

/// How many times an update under a registration access token re-reads a client that
/// changed between its read and its write.
const WRITE_ATTEMPTS: usize = 5;

/// RFC 7592 §2.2: replaces the client's metadata (fields left out take their
/// defaults, as in a registration). Under a registration access token (`token`, its
/// hash) the token is replaced by a new one in the same transaction: of two updates
/// presenting the same token, one wins and the other is `invalid_token`. An admin's
/// update (`token` none) goes through `apps::update` and keeps the token.
pub async fn update(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    token: Option<&[u8]>,
    meta: ClientMetadata,
    now: UnixTime,
) -> Result<Registered, Refused> {
    let before = find(store, client_id).await.map_err(refusal)?;
    check_identity(&meta, &before, master)?;
    let c = checked(meta)?;
    let Some(old_hash) = token else {
        crate::admin::console::not_built_in(client_id).map_err(refusal)?;
        let (before, written) = modify(store, client_id, |before| {
            Ok(Some(updated(&c, before, master, now)?))
        })
        .await
        .map_err(refusal)?;
        let (client, secret) = written.expect("an update always writes");
        record_update(store, actor, &before, &client, now).await;
        return Ok(Registered {
            client,
            secret,
            registration_access_token: None,
        });
    };
    let new_token = random_token();
    let new_hash = sha256(new_token.as_bytes());
    for _ in 0..WRITE_ATTEMPTS {
        let before = find(store, client_id).await.map_err(refusal)?;
        let (mut after, secret) = updated(&c, &before, master, now).map_err(refusal)?;
        after.version = before.version;
        match store
            .update_registered(&after, old_hash, &new_hash, now)
            .await?
        {
            RegisteredWrite::Done => {
                after.version += 1;
                record_update(store, actor, &before, &after, now).await;
                return Ok(Registered {
                    client: after,
                    secret,
                    registration_access_token: Some(new_token),
                });
            }
            RegisteredWrite::TokenGone => {
                return Err(OAuthError::invalid_token(
                    "The registration access token is not valid for this client.",
                )
                .into());
            }
            RegisteredWrite::Stale => continue,
        }
    }
    Err(OAuthError::temporarily_unavailable().into())
}

async fn record_update(
    store: &DynStore,
    actor: &Actor,
    before: &Client,
    after: &Client,
    now: UnixTime,
) {
    let target =
        Target::app(after).changed(Some(to_json(before, None)), Some(to_json(after, None)));
    let event = Event::success(
        "application.lifecycle.update",
        "Update application (dynamic client registration)",
        vec![target],
    );
    syslog::record(store, actor, event, now).await;
}

/// RFC 7592 §2.3: deletes the client, whatever its status (its tokens stop working at
/// once: the client they name is gone). Under a registration access token, only while
/// that token is still the client's, in the one `DELETE`.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    token: Option<&[u8]>,
    now: UnixTime,
) -> Result<(), Refused> {
    crate::admin::console::not_built_in(client_id).map_err(refusal)?;
    let client = find(store, client_id).await.map_err(refusal)?;
    let deleted = match token {
        Some(hash) => store.delete_registered(client_id, hash).await?,
        None => store.delete_client(client_id).await?,
    };
    if !deleted {
        return Err(match token {
            Some(_) => OAuthError::invalid_token(
                "The registration access token is not valid for this client.",
            )
            .into(),
            None => Refused::NotFound,
        });
    }
    let target = Target::app(&client).changed(Some(to_json(&client, None)), None);
    let event = Event::success(
        "application.lifecycle.delete",
        "Delete application (dynamic client registration)",
        vec![target],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// Okta's `POST /oauth2/v1/clients/{clientId}/lifecycle/newSecret`: a new secret
/// replaces every secret of the client at once (the old ones stop working). A public
/// client has none (`invalid_client_metadata`). The management API's
/// `/apps/{id}/credentials/secrets` rotates without a gap instead.
pub async fn rotate_secret(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> Result<(Client, String), Refused> {
    crate::admin::console::not_built_in(client_id).map_err(refusal)?;
    let (_, written) = modify(store, client_id, |before| {
        if before.is_public() {
            return Err(AdminError::invalid(
                "token_endpoint_auth_method",
                "a public client (none) has no secret",
            ));
        }
        let (stored, value) = new_secret(master, &before.client_id, before.auth_method, now);
        let client = Client {
            secrets: vec![stored],
            updated_at: now,
            ..before.clone()
        };
        Ok(Some((client, value)))
    })
    .await
    .map_err(refusal)?;
    let (client, value) = written.expect("rotate_secret always writes");
    let event = Event::success(
        "application.lifecycle.update",
        "Replace the client secret of the application",
        vec![Target::app(&client)],
    );
    syslog::record(store, actor, event, now).await;
    Ok((client, value))
}
