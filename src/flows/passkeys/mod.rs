//! Passkeys (WebAuthn credentials): the ceremonies as Gatehouse runs them. A ceremony
//! starts with options for the browser holding a fresh random challenge, stored only
//! as its SHA-256 with what it is for (`register` or `authenticate`), whose user, and a
//! binding (the sign-in's transaction or the session adding a passkey), for five
//! minutes. The browser's answer names its challenge in `clientDataJSON`; the challenge
//! is taken from the store in one statement (a replay finds nothing), its purpose,
//! user and binding compared, then `webauthn` checks the rest without I/O.
//!
//! - `sign_in`: "Sign in with a passkey" on the sign-in page, without a username (a
//!   discoverable credential names its user);
//! - `second_factor`: a passkey after the password, from the user's own credentials;
//! - `manage`: a signed-in person's own passkeys: add, rename, remove.

pub mod manage;
pub mod second_factor;
pub mod sign_in;

use serde_json::{Value as Json, json};

use crate::clock::UnixTime;
use crate::crypto::{b64url, b64url_decode, constant_time_eq, random_bytes, sha256};
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::store::{Passkey, WebauthnChallenge};
use crate::webauthn::{self, ClientData, Refused, RelyingParty};

/// How long a ceremony may take (WebAuthn §15.1 recommends 5 minutes for UV).
pub const CHALLENGE_TTL: i64 = 300;

pub const REGISTER: &str = "register";
pub const AUTHENTICATE: &str = "authenticate";

/// The relying party this server is: its public URL's host and origin.
pub fn relying_party(services: &Services) -> RelyingParty {
    RelyingParty::for_url(&services.config.public_url)
}

/// Stores a new challenge for `purpose` and returns it, base64url, for the options.
/// Each one writes a row, so each is counted against the address `ip` and the person
/// it names (`throttle::passkey_challenge`): past the threshold the answer is 429 with
/// `Retry-After` and nothing is written.
pub async fn new_challenge(
    services: &Services,
    purpose: &str,
    user_id: Option<&str>,
    binding: &[u8],
    ip: Option<&str>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    if let Some(wait) = crate::identity::throttle::passkey_challenge(
        &services.store,
        &services.config.throttle,
        user_id,
        ip,
        now,
    )
    .await?
    {
        return Err(OAuthError::throttled(
            wait,
            "Too many passkey requests; try again later.",
        ));
    }
    let challenge = b64url(&random_bytes::<32>());
    services
        .store
        .insert_webauthn_challenge(&WebauthnChallenge {
            challenge_hash: sha256(challenge.as_bytes()),
            purpose: purpose.to_string(),
            user_id: user_id.map(str::to_string),
            binding: sha256(binding),
            expires_at: now + CHALLENGE_TTL,
        })
        .await?;
    Ok(challenge)
}

/// Why a ceremony failed, beyond what `webauthn` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The ceremony's checks refused the response.
    Refused(Refused),
    /// The challenge is unknown, expired, used already, or for another ceremony.
    Challenge,
    /// No such credential, or it belongs to someone other than the ceremony's user.
    UnknownCredential,
    /// The user behind the credential is not active.
    Inactive,
}

impl Failure {
    /// For the System Log.
    pub fn describe(&self) -> String {
        match self {
            Failure::Refused(refused) => refused.describe(),
            Failure::Challenge => "the challenge is unknown, expired or used".into(),
            Failure::UnknownCredential => "the credential is not registered to this user".into(),
            Failure::Inactive => "the user is not active".into(),
        }
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Failure::Refused(r)
    }
}

/// Takes the challenge `data` names: it must exist for `purpose`, be bound to
/// `binding`, and be for `user_id` (`None`: a challenge for whichever user answers).
async fn take_challenge(
    services: &Services,
    data: &ClientData,
    purpose: &str,
    binding: &[u8],
    now: UnixTime,
) -> Result<Result<WebauthnChallenge, Failure>, OAuthError> {
    // The stored hash is of the base64url text the options carried.
    let hash = sha256(b64url(&data.challenge).as_bytes());
    let Some(challenge) = services
        .store
        .take_webauthn_challenge(&hash, purpose, now)
        .await?
    else {
        return Ok(Err(Failure::Challenge));
    };
    if !constant_time_eq(&challenge.binding, &sha256(binding)) {
        return Ok(Err(Failure::Challenge));
    }
    Ok(Ok(challenge))
}

/// A browser's answer to `navigator.credentials.get`, as the page posts it (base64url).
#[derive(Debug, Clone, Default)]
pub struct AssertionResponse {
    pub credential_id: String,
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    /// The user handle a discoverable credential returns (empty when none).
    pub user_handle: String,
}

impl AssertionResponse {
    /// The assertion fields of a posted form (absent ones empty).
    pub fn from_params(params: &crate::oauth::params::Params) -> Result<Self, OAuthError> {
        let field = |name| params.one(name).map(|v| v.unwrap_or("").to_string());
        Ok(AssertionResponse {
            credential_id: field("credential_id")?,
            client_data_json: field("client_data_json")?,
            authenticator_data: field("authenticator_data")?,
            signature: field("signature")?,
            user_handle: field("user_handle")?,
        })
    }
}

/// What a verified assertion proved.
#[derive(Debug, Clone)]
pub struct Verified {
    pub passkey: Passkey,
    pub user: crate::store::User,
    pub user_verified: bool,
}

impl Verified {
    /// The RFC 8176 value for the key itself: `swk` for a synced passkey, else `hwk`.
    pub fn key_amr(&self) -> &'static str {
        if self.passkey.backed_up { "swk" } else { "hwk" }
    }

    /// RFC 8176 authentication method references for this passkey: `hwk` for a key
    /// kept in its authenticator, `swk` for a synced passkey (backed up, so the key
    /// exists outside one device), `user` for the user-presence test every assertion
    /// has, and `mfa` when the authenticator also verified the user (a PIN or a
    /// biometric on top of possession: two factors in one gesture).
    pub fn amr(&self) -> Vec<String> {
        let mut amr = vec![self.key_amr().to_string(), "user".to_string()];
        if self.user_verified {
            amr.push("mfa".to_string());
        }
        amr
    }
}

/// Verifies an assertion for a ceremony bound to `binding`: the challenge taken once,
/// the credential registered (to `expected_user` when the ceremony is for one user, and
/// for a challenge issued to nobody in particular to the user its handle names), the
/// user active, the signature, flags and counter right, and the counter stored by one
/// compare-and-set so a replayed response loses.
pub async fn verify_assertion(
    services: &Services,
    response: &AssertionResponse,
    binding: &[u8],
    require_uv: bool,
    now: UnixTime,
) -> Result<Result<Verified, Failure>, OAuthError> {
    let decode = |text: &str, what| b64url_decode(text).ok_or(Refused::Malformed(what));
    let parts = (|| {
        Ok::<_, Refused>((
            decode(&response.credential_id, "credential id")?,
            decode(&response.client_data_json, "clientDataJSON")?,
            decode(&response.authenticator_data, "authenticator data")?,
            decode(&response.signature, "signature")?,
            decode(&response.user_handle, "user handle")?,
        ))
    })();
    let (credential_id, client_data, authenticator_data, signature, user_handle) = match parts {
        Ok(parts) => parts,
        Err(refused) => return Ok(Err(refused.into())),
    };
    let data = match webauthn::client_data(&client_data) {
        Ok(data) => data,
        Err(refused) => return Ok(Err(refused.into())),
    };
    let challenge = match take_challenge(services, &data, AUTHENTICATE, binding, now).await? {
        Ok(challenge) => challenge,
        Err(failure) => return Ok(Err(failure)),
    };
    if credential_id.is_empty() || credential_id.len() > webauthn::MAX_CREDENTIAL_ID {
        return Ok(Err(Failure::UnknownCredential));
    }
    let Some(passkey) = services.store.find_passkey(&credential_id).await? else {
        return Ok(Err(Failure::UnknownCredential));
    };
    // WebAuthn §7.2 step 6: the credential must be the identified user's; a user handle
    // the authenticator returned must be the credential's.
    let owner_ok = match &challenge.user_id {
        Some(user_id) => *user_id == passkey.user_id,
        None => !user_handle.is_empty(),
    };
    let handle_ok = user_handle.is_empty() || constant_time_eq(&user_handle, &passkey.user_handle);
    if !owner_ok || !handle_ok {
        return Ok(Err(Failure::UnknownCredential));
    }
    let user = match services.store.get_user(&passkey.user_id).await? {
        Some(user) if user.is_active() => user,
        _ => return Ok(Err(Failure::Inactive)),
    };
    let stored = webauthn::Stored {
        public_key: &passkey.public_key,
        sign_count: u32::try_from(passkey.sign_count).unwrap_or(u32::MAX),
    };
    let rp = relying_party(services);
    let asserted = match webauthn::assert(
        &rp,
        &data,
        &authenticator_data,
        &signature,
        &stored,
        require_uv,
    ) {
        Ok(asserted) => asserted,
        Err(refused) => return Ok(Err(refused.into())),
    };
    let recorded = services
        .store
        .record_passkey_use(
            &passkey.id,
            i64::from(asserted.sign_count),
            asserted.backed_up,
            now,
        )
        .await?;
    if !recorded {
        // Another use of this credential stored a counter at least as high meanwhile.
        return Ok(Err(Refused::CounterRegression {
            stored: stored.sign_count,
            presented: asserted.sign_count,
        }
        .into()));
    }
    let passkey = Passkey {
        sign_count: i64::from(asserted.sign_count),
        backed_up: asserted.backed_up,
        last_used_at: Some(now),
        ..passkey
    };
    Ok(Ok(Verified {
        passkey,
        user,
        user_verified: asserted.user_verified,
    }))
}

/// `PublicKeyCredentialRequestOptions` (WebAuthn §5.5) as JSON for the page's script:
/// binary values base64url. `allow` empty: the browser offers the discoverable
/// credentials it has for this RP ID.
pub fn request_options(
    rp: &RelyingParty,
    challenge: &str,
    allow: &[Passkey],
    user_verification: &str,
) -> Json {
    json!({
        "challenge": challenge,
        "rpId": rp.id,
        "timeout": CHALLENGE_TTL * 1000,
        "userVerification": user_verification,
        "allowCredentials": descriptors(allow),
    })
}

fn descriptors(passkeys: &[Passkey]) -> Json {
    passkeys
        .iter()
        .map(|p| {
            json!({
                "type": "public-key",
                "id": b64url(&p.credential_id),
                "transports": p.transports,
            })
        })
        .collect()
}
