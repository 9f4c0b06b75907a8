//! WebAuthn Level 3 (W3C) relying-party checks for passkeys and security keys, without
//! I/O: the caller takes the challenge from the store (single use) and loads the
//! credential, then hands the browser's response here with `now`-free data.
//!
//! What is accepted:
//! - public keys ES256, EdDSA (Ed25519) and RS256 (`cose`);
//! - attestation formats `none` (what browsers send when the relying party asks for no
//!   attestation, as Gatehouse does) and `packed` self attestation (signed by the
//!   credential's own key, checked). Attestation with a certificate chain (`packed` with
//!   `x5c`, `tpm`, `android-key`, `apple`, `fido-u2f`, ...) is refused: Gatehouse keeps no
//!   list of trusted authenticator makers, so a certificate would prove nothing it uses;
//! - the origin must be exactly the public URL's origin, not inside a cross-origin frame,
//!   and the authenticator data's RP ID hash that of the public URL's host;
//! - user presence always; user verification where the caller asks for it;
//! - a sign counter that moves forward, unless the authenticator keeps none (both 0).

pub mod cbor;
pub mod cose;
pub mod software;

use serde_json::Value as Json;

use crate::crypto::{b64url_decode, constant_time_eq, sha256};
use cbor::Value;

/// The relying party: the one origin the browser must report and the RP ID (a host
/// name) whose SHA-256 the authenticator data must carry.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
    /// The name an authenticator may show.
    pub name: String,
}

impl RelyingParty {
    /// The relying party of a server reached at `public_url`: its host is the RP ID,
    /// its origin the only origin accepted.
    pub fn for_url(public_url: &url::Url) -> RelyingParty {
        RelyingParty {
            id: public_url.host_str().unwrap_or("localhost").to_string(),
            origin: public_url.origin().ascii_serialization(),
            name: "Gatehouse".to_string(),
        }
    }
}

/// Why a registration or an assertion was refused: for the System Log and the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The response does not parse, or a part of it has the wrong shape.
    Malformed(&'static str),
    /// `clientDataJSON.type` is not the ceremony's.
    WrongType,
    /// The origin is not the server's, or the ceremony ran in a cross-origin frame.
    WrongOrigin,
    /// The authenticator data is for another RP ID.
    WrongRpId,
    /// The user-present (or, where required, the user-verified) flag is not set.
    NoUserPresence,
    NoUserVerification,
    /// An attestation format or key Gatehouse does not accept.
    Unsupported(&'static str),
    /// The signature does not verify with the credential's key.
    BadSignature,
    /// The sign counter did not move forward: perhaps a cloned authenticator.
    CounterRegression {
        stored: u32,
        presented: u32,
    },
}

impl Refused {
    pub fn describe(&self) -> String {
        match self {
            Refused::Malformed(what) => format!("malformed response: {what}"),
            Refused::WrongType => "the client data is for another ceremony".into(),
            Refused::WrongOrigin => "the origin is not this server's".into(),
            Refused::WrongRpId => "the authenticator data is for another RP ID".into(),
            Refused::NoUserPresence => "the user was not present".into(),
            Refused::NoUserVerification => "the user was not verified".into(),
            Refused::Unsupported(what) => format!("not accepted: {what}"),
            Refused::BadSignature => "the signature does not verify".into(),
            Refused::CounterRegression { stored, presented } => format!(
                "the sign counter went from {stored} to {presented}: the authenticator may be cloned"
            ),
        }
    }
}

/// `CollectedClientData` (WebAuthn §5.8.1), parsed.
#[derive(Debug, Clone)]
pub struct ClientData {
    pub kind: String,
    /// The challenge the browser signed, decoded.
    pub challenge: Vec<u8>,
    pub origin: String,
    pub cross_origin: bool,
    /// The raw JSON, whose SHA-256 the authenticator signed.
    pub raw: Vec<u8>,
}

/// Parses `clientDataJSON`. The challenge in it names the stored challenge the caller
/// takes; the rest is checked by `register` and `assert`.
pub fn client_data(raw: &[u8]) -> Result<ClientData, Refused> {
    let json: Json =
        serde_json::from_slice(raw).map_err(|_| Refused::Malformed("clientDataJSON"))?;
    let text = |name| json.get(name).and_then(Json::as_str);
    let (Some(kind), Some(challenge), Some(origin)) =
        (text("type"), text("challenge"), text("origin"))
    else {
        return Err(Refused::Malformed(
            "clientDataJSON lacks type, challenge or origin",
        ));
    };
    let challenge =
        b64url_decode(challenge).ok_or(Refused::Malformed("the challenge is not base64url"))?;
    Ok(ClientData {
        kind: kind.to_string(),
        challenge,
        origin: origin.to_string(),
        cross_origin: json.get("crossOrigin").and_then(Json::as_bool) == Some(true),
        raw: raw.to_vec(),
    })
}

/// WebAuthn §7.1 steps 7–9 and §7.2 steps 11–13: the ceremony's type, this server's
/// origin, not in a cross-origin frame.
fn check_client_data(rp: &RelyingParty, data: &ClientData, kind: &str) -> Result<(), Refused> {
    if data.kind != kind {
        return Err(Refused::WrongType);
    }
    if data.origin != rp.origin || data.cross_origin {
        return Err(Refused::WrongOrigin);
    }
    Ok(())
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

/// Authenticator data (WebAuthn §6.1).
#[derive(Debug, Clone)]
pub struct AuthenticatorData {
    pub rp_id_hash: Vec<u8>,
    pub flags: u8,
    pub sign_count: u32,
    /// With the AT flag: the AAGUID, the credential id and its COSE public key (the bytes).
    pub attested: Option<Attested>,
}

#[derive(Debug, Clone)]
pub struct Attested {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    pub public_key: Vec<u8>,
}

impl AuthenticatorData {
    pub fn user_present(&self) -> bool {
        self.flags & UP != 0
    }
    pub fn user_verified(&self) -> bool {
        self.flags & UV != 0
    }
    pub fn backup_eligible(&self) -> bool {
        self.flags & BE != 0
    }
    pub fn backed_up(&self) -> bool {
        self.flags & BS != 0
    }
}

/// The longest credential id WebAuthn allows (§5.1 `rawId`... §6.1: L ≤ 1023).
pub const MAX_CREDENTIAL_ID: usize = 1023;

pub fn authenticator_data(bytes: &[u8]) -> Result<AuthenticatorData, Refused> {
    if bytes.len() < 37 {
        return Err(Refused::Malformed(
            "authenticator data shorter than 37 bytes",
        ));
    }
    let flags = bytes[32];
    let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
    let mut rest = &bytes[37..];
    let attested = if flags & AT != 0 {
        if rest.len() < 18 {
            return Err(Refused::Malformed("attested credential data cut short"));
        }
        let mut aaguid = [0u8; 16];
        aaguid.copy_from_slice(&rest[..16]);
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        rest = &rest[18..];
        if len == 0 || len > MAX_CREDENTIAL_ID || rest.len() < len {
            return Err(Refused::Malformed("credential id length"));
        }
        let credential_id = rest[..len].to_vec();
        rest = &rest[len..];
        let (_, used) = cbor::decode_prefix(rest).map_err(|e| Refused::Malformed(e.0))?;
        let public_key = rest[..used].to_vec();
        rest = &rest[used..];
        Some(Attested {
            aaguid,
            credential_id,
            public_key,
        })
    } else {
        None
    };
    if flags & ED != 0 {
        let (extensions, used) = cbor::decode_prefix(rest).map_err(|e| Refused::Malformed(e.0))?;
        if extensions.entries().is_none() {
            return Err(Refused::Malformed("extensions are not a map"));
        }
        rest = &rest[used..];
    }
    if !rest.is_empty() {
        return Err(Refused::Malformed("bytes after the authenticator data"));
    }
    // §6.1: a credential that is not backup eligible cannot be backed up.
    if flags & BS != 0 && flags & BE == 0 {
        return Err(Refused::Malformed("backed up but not backup eligible"));
    }
    Ok(AuthenticatorData {
        rp_id_hash: bytes[..32].to_vec(),
        flags,
        sign_count,
        attested,
    })
}

/// §7.1 steps 13–17 and §7.2 steps 15–17: the RP ID hash, user presence, and user
/// verification when `require_uv`.
fn check_authenticator(
    rp: &RelyingParty,
    data: &AuthenticatorData,
    require_uv: bool,
) -> Result<(), Refused> {
    if !constant_time_eq(&data.rp_id_hash, &sha256(rp.id.as_bytes())) {
        return Err(Refused::WrongRpId);
    }
    if !data.user_present() {
        return Err(Refused::NoUserPresence);
    }
    if require_uv && !data.user_verified() {
        return Err(Refused::NoUserVerification);
    }
    Ok(())
}

/// A credential a registration created, to be stored.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    /// The COSE_Key as the authenticator wrote it.
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The attestation format it came with (`none` or `packed`).
    pub format: String,
}

/// WebAuthn §7.1 (registering a new credential), from step 7 on: the caller has taken
/// the challenge `data.challenge` names from the store (single use, for this user).
pub fn register(
    rp: &RelyingParty,
    data: &ClientData,
    attestation_object: &[u8],
    require_uv: bool,
) -> Result<NewCredential, Refused> {
    check_client_data(rp, data, "webauthn.create")?;
    let object = cbor::decode(attestation_object).map_err(|e| Refused::Malformed(e.0))?;
    let (Some(format), Some(statement), Some(auth_bytes)) = (
        object.get_text("fmt").and_then(Value::as_text),
        object.get_text("attStmt").filter(|s| s.entries().is_some()),
        object.get_text("authData").and_then(Value::as_bytes),
    ) else {
        return Err(Refused::Malformed(
            "the attestation object lacks fmt, attStmt or authData",
        ));
    };
    let auth = authenticator_data(auth_bytes)?;
    check_authenticator(rp, &auth, require_uv)?;
    let Some(attested) = auth.attested.clone() else {
        return Err(Refused::Malformed("no attested credential data"));
    };
    let key = cose::parse(&attested.public_key).map_err(Refused::Unsupported)?;
    // §8.2 and §8.7: the attestation statement.
    match format {
        "none" if statement.entries().is_some_and(<[_]>::is_empty) => {}
        "none" => return Err(Refused::Malformed("a `none` attestation with a statement")),
        "packed" => {
            if statement.get_text("x5c").is_some() {
                return Err(Refused::Unsupported("attestation certificates"));
            }
            let alg = statement.get_text("alg").and_then(Value::as_int);
            let sig = statement.get_text("sig").and_then(Value::as_bytes);
            let (Some(alg), Some(sig)) = (alg, sig) else {
                return Err(Refused::Malformed("a packed statement lacks alg or sig"));
            };
            // §8.2 self attestation: the credential's own key, its own algorithm.
            if alg != i128::from(key.alg()) {
                return Err(Refused::Malformed("the statement's alg is not the key's"));
            }
            if !key.verify(&signed_bytes(auth_bytes, &data.raw), sig) {
                return Err(Refused::BadSignature);
            }
        }
        _ => return Err(Refused::Unsupported("this attestation format")),
    }
    Ok(NewCredential {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        sign_count: auth.sign_count,
        aaguid: attested.aaguid,
        user_verified: auth.user_verified(),
        backup_eligible: auth.backup_eligible(),
        backed_up: auth.backed_up(),
        format: format.to_string(),
    })
}

/// `authenticatorData || SHA-256(clientDataJSON)`: what an assertion and a packed
/// attestation sign (§6.3.3, §8.2).
fn signed_bytes(auth: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut message = auth.to_vec();
    message.extend_from_slice(&sha256(client_data));
    message
}

/// What an assertion proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asserted {
    /// The counter to store.
    pub sign_count: u32,
    pub user_verified: bool,
    pub backed_up: bool,
}

/// A stored credential as an assertion needs it.
pub struct Stored<'a> {
    pub public_key: &'a [u8],
    pub sign_count: u32,
}

/// WebAuthn §7.2 (verifying an authentication assertion), from step 11 on: the caller
/// has taken the challenge from the store and found the credential by its id, for the
/// user the ceremony is about (and, for a passkey that names its user, checked the
/// user handle).
pub fn assert(
    rp: &RelyingParty,
    data: &ClientData,
    authenticator_data_bytes: &[u8],
    signature: &[u8],
    stored: &Stored<'_>,
    require_uv: bool,
) -> Result<Asserted, Refused> {
    check_client_data(rp, data, "webauthn.get")?;
    let auth = authenticator_data(authenticator_data_bytes)?;
    if auth.attested.is_some() {
        return Err(Refused::Malformed(
            "an assertion with attested credential data",
        ));
    }
    check_authenticator(rp, &auth, require_uv)?;
    let key = cose::parse(stored.public_key).map_err(Refused::Unsupported)?;
    if !key.verify(
        &signed_bytes(authenticator_data_bytes, &data.raw),
        signature,
    ) {
        return Err(Refused::BadSignature);
    }
    check_counter(stored.sign_count, auth.sign_count)?;
    Ok(Asserted {
        sign_count: auth.sign_count,
        user_verified: auth.user_verified(),
        backed_up: auth.backed_up(),
    })
}

/// §7.2 step 22: a counter must grow; an authenticator without one sends 0 each time.
pub fn check_counter(stored: u32, presented: u32) -> Result<(), Refused> {
    if (stored == 0 && presented == 0) || presented > stored {
        Ok(())
    } else {
        Err(Refused::CounterRegression { stored, presented })
    }
}

#[cfg(test)]
mod tests;
