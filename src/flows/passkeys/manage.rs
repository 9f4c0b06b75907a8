//! A signed-in person's own passkeys (`/account/passkeys`): the list, adding one (a
//! registration ceremony bound to the session that started it), renaming and removing.
//! Every change needs a live session whose sign-in is recent (`RECENT_SIGN_IN`), so a
//! browser left signed in for hours cannot be used to plant a passkey.

use serde_json::{Value as Json, json};

use super::{Failure, REGISTER};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{b64url, b64url_decode, okta_id};
use crate::flows::Services;
use crate::flows::sessions;
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::store::{Passkey, Session, User};
use crate::webauthn::{self, Refused, cose};

/// How recent a sign-in must be to add, rename or remove a passkey (15 minutes).
pub const RECENT_SIGN_IN: i64 = 900;

/// The longest name a passkey may have.
pub const MAX_NAME: usize = 100;

/// The signed-in person, from the browser's session cookie.
pub struct Account {
    pub session: Session,
    pub user: User,
}

impl Account {
    /// Whether the sign-in is recent enough to change passkeys.
    pub fn recent(&self, now: UnixTime) -> bool {
        now - self.session.auth_time <= RECENT_SIGN_IN
    }
}

/// The live session behind `cookie`, and its active user.
pub async fn account(
    services: &Services,
    cookie: Option<&str>,
    now: UnixTime,
) -> Result<Option<Account>, OAuthError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    Ok(sessions::live(services, &session::id_hash(cookie), now)
        .await?
        .map(|(session, user)| Account { session, user }))
}

pub async fn list(services: &Services, user_id: &str) -> Result<Vec<Passkey>, OAuthError> {
    Ok(services.store.user_passkeys(user_id).await?)
}

/// The binding of a registration's challenge: the session that asked.
fn binding(account: &Account) -> Vec<u8> {
    let mut text = b"gatehouse passkey registration\0".to_vec();
    text.extend_from_slice(&account.session.id_hash);
    text
}

/// `PublicKeyCredentialCreationOptions` (WebAuthn §5.4) for a new passkey, as JSON for
/// the page's script: a discoverable credential (so it can sign in without a
/// username), no attestation, the user's existing credentials excluded so one
/// authenticator is not registered twice.
pub async fn creation_options(
    services: &Services,
    account: &Account,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Json, OAuthError> {
    creation_options_for(services, &account.user, &binding(account), ip, now).await
}

/// `creation_options` for `user` in a ceremony bound to `binding` (the session adding
/// a passkey, or the sign-in step setting one up: `flows::mfa`).
pub async fn creation_options_for(
    services: &Services,
    user: &User,
    binding: &[u8],
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Json, OAuthError> {
    let existing = list(services, &user.id).await?;
    let handle = user_handle(services, &user.id, &existing);
    let challenge =
        super::new_challenge(services, REGISTER, Some(&user.id), binding, ip, now).await?;
    let rp = super::relying_party(services);
    let display = crate::admin::syslog::display_name(user);
    Ok(json!({
        "rp": { "id": rp.id, "name": rp.name },
        "user": { "id": b64url(&handle), "name": user.login, "displayName": display },
        "challenge": challenge,
        "pubKeyCredParams": [
            { "type": "public-key", "alg": cose::ES256 },
            { "type": "public-key", "alg": cose::EDDSA },
            { "type": "public-key", "alg": cose::RS256 },
        ],
        "timeout": super::CHALLENGE_TTL * 1000,
        "attestation": "none",
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "preferred",
        },
        "excludeCredentials": super::descriptors(&existing),
        "extensions": { "credProps": true },
    }))
}

/// The user handle of a user's credentials: the one they have, else one derived from
/// the user id under a key from the master key (HMAC-SHA-256), so that the options and
/// the registration that follows agree without storing it in between. Not the user id
/// itself, so an authenticator holds nothing that names the person (WebAuthn §14.6.1).
fn user_handle(services: &Services, user_id: &str, existing: &[Passkey]) -> Vec<u8> {
    existing
        .first()
        .map(|p| p.user_handle.clone())
        .or_else(|| {
            let derived = services
                .master
                .derive_from_token(user_id, "webauthn user handle");
            b64url_decode(&derived)
        })
        .unwrap_or_default()
}

/// A browser's answer to `navigator.credentials.create`, as the page posts it.
#[derive(Debug, Clone, Default)]
pub struct RegistrationResponse {
    pub client_data_json: String,
    pub attestation_object: String,
    /// `getTransports()`, comma-separated.
    pub transports: String,
    /// The `credProps` extension's `rk`: "true", "false" or empty (not reported).
    pub resident_key: String,
    pub name: String,
}

/// What adding a passkey came to.
pub enum Added {
    Added(Box<Passkey>),
    /// The ceremony was refused (the System Log says why).
    Refused(Failure),
    /// The credential is registered already.
    Duplicate,
}

/// Finishes a registration: the challenge must be this session's, for this user.
pub async fn register(
    services: &Services,
    account: &Account,
    response: &RegistrationResponse,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Added, OAuthError> {
    register_for(
        services,
        &account.user,
        &binding(account),
        response,
        ip,
        now,
    )
    .await
}

/// `register` for `user` in a ceremony bound to `binding`.
pub async fn register_for(
    services: &Services,
    user: &User,
    binding: &[u8],
    response: &RegistrationResponse,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Added, OAuthError> {
    let (Some(client_data), Some(object)) = (
        b64url_decode(&response.client_data_json),
        b64url_decode(&response.attestation_object),
    ) else {
        return Ok(Added::Refused(Refused::Malformed("not base64url").into()));
    };
    let data = match webauthn::client_data(&client_data) {
        Ok(data) => data,
        Err(refused) => return Ok(Added::Refused(refused.into())),
    };
    let challenge = match super::take_challenge(services, &data, REGISTER, binding, now).await? {
        Ok(challenge) if challenge.user_id.as_deref() == Some(&user.id) => challenge,
        Ok(_) | Err(_) => return Ok(Added::Refused(Failure::Challenge)),
    };
    drop(challenge);
    let rp = super::relying_party(services);
    let credential = match webauthn::register(&rp, &data, &object, false) {
        Ok(credential) => credential,
        Err(refused) => {
            let failure = Failure::Refused(refused);
            record(services, user, &failure, ip, now).await;
            return Ok(Added::Refused(failure));
        }
    };
    let existing = list(services, &user.id).await?;
    let passkey = Passkey {
        id: okta_id("fwf"),
        user_id: user.id.clone(),
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: i64::from(credential.sign_count),
        user_handle: user_handle(services, &user.id, &existing),
        // We asked for a discoverable credential; an authenticator that reports it made
        // a server-side one instead cannot sign in without a username.
        discoverable: response.resident_key != "false",
        transports: transports(&response.transports),
        name: name(&response.name, existing.len()),
        aaguid: credential.aaguid.to_vec(),
        backup_eligible: credential.backup_eligible,
        backed_up: credential.backed_up,
        user_verified: credential.user_verified,
        created_at: now,
        last_used_at: None,
    };
    if !services.store.insert_passkey(&passkey).await? {
        return Ok(Added::Duplicate);
    }
    let event = Event::success(
        "user.mfa.factor.activate",
        "Activate factor: passkey added",
        vec![Target::user(user), super::sign_in::passkey_target(&passkey)],
    )
    .with_debug("factorType", "webauthn")
    .with_debug("attestation", credential.format);
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    services.mail.factor_enrolled(user, "a passkey", now).await;
    Ok(Added::Added(Box::new(passkey)))
}

async fn record(
    services: &Services,
    user: &User,
    failure: &Failure,
    ip: Option<String>,
    now: UnixTime,
) {
    let event = Event::failure(
        "user.mfa.factor.activate",
        "Activate factor: passkey refused",
        failure.describe(),
        vec![Target::user(user)],
    )
    .with_debug("factorType", "webauthn");
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
}

/// The transports the browser reported that WebAuthn defines (§5.8.4), no others.
fn transports(list: &str) -> Vec<String> {
    const KNOWN: [&str; 6] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];
    let mut out: Vec<String> = Vec::new();
    for t in list.split(',').map(str::trim) {
        if KNOWN.contains(&t) && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// A passkey's name: what the person typed (trimmed, without control characters, at
/// most `MAX_NAME` characters), else "Passkey N".
pub fn name(typed: &str, existing: usize) -> String {
    let clean: String = typed
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    if clean.is_empty() {
        format!("Passkey {}", existing + 1)
    } else {
        clean
    }
}

/// Renames one of the person's passkeys; false when they have no such passkey.
pub async fn rename(
    services: &Services,
    account: &Account,
    id: &str,
    typed: &str,
) -> Result<bool, OAuthError> {
    let name = name(typed, 0);
    Ok(services
        .store
        .rename_passkey(&account.user.id, id, &name)
        .await?)
}

/// Removes one of the person's passkeys; false when they have no such passkey.
pub async fn remove(
    services: &Services,
    account: &Account,
    id: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    let user = &account.user;
    let Some(passkey) = list(services, &user.id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
    else {
        return Ok(false);
    };
    if !services.store.delete_passkey(&user.id, id).await? {
        return Ok(false);
    }
    let event = Event::success(
        "user.mfa.factor.deactivate",
        "Reset factor: passkey removed",
        vec![Target::user(user), super::sign_in::passkey_target(&passkey)],
    )
    .with_debug("factorType", "webauthn");
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_transports_are_cleaned() {
        assert_eq!(name("  Laptop\u{7}  ", 0), "Laptop");
        assert_eq!(name("", 2), "Passkey 3");
        assert_eq!(name(&"x".repeat(500), 0).len(), MAX_NAME);
        assert_eq!(
            transports("internal, hybrid,usb,usb,<b>"),
            ["internal", "hybrid", "usb"]
        );
    }
}
