//! An app's client secrets (RFC 6749 §2.3.1; Okta's `/apps/{id}/credentials/secrets`):
//! made, sealed for `client_secret_jwt`, activated, deactivated and deleted; two at most,
//! so one can replace the other.

use super::rows::modify;
use super::validate::AUTH_METHOD_FIELD;
use crate::admin::AdminError;
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{MasterKey, hex, hex_decode, okta_id, random_token};
use crate::store::{AuthMethod, Client, ClientSecret, DynStore, Status};

/// Okta allows two secrets per app: one in use and its replacement.
pub const MAX_SECRETS: usize = 2;

/// A new ACTIVE secret and its value. For `client_secret_jwt` a copy is also sealed
/// under the master key (AES-256-GCM, the client and secret ids authenticated): an
/// HMAC-signed assertion can only be checked with the secret itself. For every other
/// method only the keyed hash is kept.
///
/// A `client_secret_jwt` secret is 512 random bits (86 base64url characters): RFC 7518
/// §3.2 wants an HMAC key at least as long as the hash, so HS512 needs 64 bytes.
pub(super) fn new_secret(
    master: &MasterKey,
    client_id: &str,
    auth_method: AuthMethod,
    now: UnixTime,
) -> (ClientSecret, String) {
    let value = if auth_method == AuthMethod::ClientSecretJwt {
        crate::crypto::b64url(&crate::crypto::random_bytes::<64>())
    } else {
        random_token()
    };
    let id = okta_id("ocs");
    let sealed = (auth_method == AuthMethod::ClientSecretJwt)
        .then(|| hex(&master.encrypt(value.as_bytes(), &sealing_context(client_id, &id))));
    let secret = ClientSecret {
        hash: hex(&master.hash_client_secret(&value)),
        sealed,
        id,
        status: Status::Active,
        created: now,
        updated: now,
    };
    (secret, value)
}

fn sealing_context(client_id: &str, secret_id: &str) -> Vec<u8> {
    format!("client-secret\0{client_id}\0{secret_id}").into_bytes()
}

/// The values of a `client_secret_jwt` client's ACTIVE secrets, unsealed: the HMAC keys
/// its assertions may be signed with.
pub fn jwt_secrets(client: &Client, master: &MasterKey) -> Vec<Vec<u8>> {
    client
        .secrets
        .iter()
        .filter(|s| s.is_active())
        .filter_map(|s| {
            let sealed = hex_decode(s.sealed.as_deref()?)?;
            master
                .decrypt(&sealed, &sealing_context(&client.client_id, &s.id))
                .ok()
        })
        .collect()
}

const SECRETS_FIELD: &str = "credentials.oauthClient.client_secret";

/// Okta's `POST /apps/{id}/credentials/secrets`: a new ACTIVE secret beside the one in
/// use (at most `MAX_SECRETS`), so clients can move to it before the old one is
/// deactivated. For `client_secret_jwt` apps the new secret is also sealed (see
/// `new_secret`).
pub async fn create_secret(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> Result<(Client, ClientSecret, String), AdminError> {
    let (_, written) = modify(store, client_id, |before| {
        // A private_key_jwt app may hold a secret too: it is unused until the app switches
        // to a secret method (which needs one). A public client never has one.
        if before.is_public() {
            return Err(AdminError::invalid(
                AUTH_METHOD_FIELD,
                "a public client (none) has no secret",
            ));
        }
        if before.secrets.len() >= MAX_SECRETS {
            return Err(AdminError::invalid(
                SECRETS_FIELD,
                format!(
                    "an app has at most {MAX_SECRETS} secrets; deactivate and delete one first"
                ),
            ));
        }
        let (stored, value) = new_secret(master, &before.client_id, before.auth_method, now);
        let mut client = before.clone();
        client.secrets.push(stored.clone());
        client.updated_at = now;
        Ok(Some((client, (stored, value))))
    })
    .await?;
    let (client, (stored, value)) = written.expect("create_secret always writes");
    let event = Event::success(
        "application.lifecycle.update",
        "Create a client secret for the application",
        vec![Target::app(&client)],
    );
    syslog::record(store, actor, event, now).await;
    Ok((client, stored, value))
}

/// Okta's `lifecycle/activate|deactivate` of one secret. The last ACTIVE secret of an
/// app cannot be deactivated (the app would be locked out).
pub async fn set_secret_active(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    secret_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<ClientSecret, AdminError> {
    let status = Status::active_if(active);
    let (before, written) = modify(store, client_id, |before| {
        let index = before
            .secrets
            .iter()
            .position(|s| s.id == secret_id)
            .ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")))?;
        if before.secrets[index].status == status {
            return Ok(None);
        }
        if !active && before.secrets.iter().filter(|s| s.is_active()).count() == 1 {
            return Err(AdminError::not_allowed(
                "E0000001",
                "Api validation failed: cannot deactivate the only active client secret.",
            ));
        }
        let mut client = before.clone();
        client.secrets[index].status = status;
        client.secrets[index].updated = now;
        client.updated_at = now;
        Ok(Some((client, index)))
    })
    .await?;
    let Some((client, index)) = written else {
        return before
            .secrets
            .iter()
            .find(|s| s.id == secret_id)
            .cloned()
            .ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")));
    };
    let message = if active {
        "Activate a client secret of the application"
    } else {
        "Deactivate a client secret of the application"
    };
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            message,
            vec![Target::app(&client)],
        ),
        now,
    )
    .await;
    Ok(client.secrets[index].clone())
}

/// Okta's `DELETE /apps/{id}/credentials/secrets/{secretId}`: only an INACTIVE secret.
pub async fn delete_secret(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    secret_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let (_, written) = modify(store, client_id, |before| {
        let index = before.secrets.iter().position(|s| s.id == secret_id).ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")))?;
        if before.secrets[index].is_active() {
            return Err(AdminError::not_allowed("E0000001", "Api validation failed: cannot delete an active client secret; deactivate it first."));
        }
        let mut client = before.clone();
        client.secrets.remove(index);
        client.updated_at = now;
        Ok(Some((client, ())))
    })
    .await?;
    let (client, ()) = written.expect("delete_secret always writes");
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            "Delete a client secret of the application",
            vec![Target::app(&client)],
        ),
        now,
    )
    .await;
    Ok(())
}
