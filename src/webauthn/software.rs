//! A software authenticator: an ES256 key in memory that answers registration and
//! assertion challenges as a browser and a platform authenticator would, with every
//! part (origin, RP ID, counter, flags) settable. The tests drive the relying party's
//! checks with it, the integration tests over HTTP as well; it never signs anything the
//! server trusts on its own.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};

use super::cbor::{self, Value};
use crate::crypto::{b64url, random_bytes, sha256};

pub struct SoftAuthenticator {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// The origin the "browser" reports.
    pub origin: String,
    /// The RP ID whose hash the authenticator data carries.
    pub rp_id: String,
    /// The counter the next response carries (0: an authenticator without one).
    pub counter: u32,
    /// The UV flag of the next response.
    pub verified: bool,
}

impl SoftAuthenticator {
    pub fn new(origin: &str, rp_id: &str) -> SoftAuthenticator {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("a P-256 key");
        let key =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .expect("its own key");
        SoftAuthenticator {
            key,
            credential_id: random_bytes::<16>().to_vec(),
            origin: origin.to_string(),
            rp_id: rp_id.to_string(),
            counter: 0,
            verified: true,
        }
    }

    /// `clientDataJSON` for a ceremony `kind` and a challenge (base64url, as the
    /// options carry it).
    pub fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut data = sha256(self.rp_id.as_bytes());
        let flags = 0x01 | if self.verified { 0x04 } else { 0 } | if attested { 0x40 } else { 0 };
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            data.extend_from_slice(&[0u8; 16]);
            data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            data.extend_from_slice(&self.credential_id);
            data.extend_from_slice(&super::cose::es256_key(self.key.public_key().as_ref()));
        }
        data
    }

    fn sign(&self, auth: &[u8], client_data: &[u8]) -> Vec<u8> {
        let mut message = auth.to_vec();
        message.extend_from_slice(&sha256(client_data));
        self.key
            .sign(&SystemRandom::new(), &message)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    /// A registration response: `clientDataJSON` and the attestation object, in format
    /// `none` or (with `packed`) `packed` self attestation.
    pub fn register(&self, challenge: &str, packed: bool) -> (Vec<u8>, Vec<u8>) {
        let client_data = self.client_data("webauthn.create", challenge);
        let auth = self.auth_data(true);
        let (format, statement) = if packed {
            let sig = self.sign(&auth, &client_data);
            (
                "packed",
                Value::Map(vec![
                    (Value::Text("alg".into()), Value::Int(-7)),
                    (Value::Text("sig".into()), Value::Bytes(sig)),
                ]),
            )
        } else {
            ("none", Value::Map(vec![]))
        };
        let object = Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text(format.into())),
            (Value::Text("attStmt".into()), statement),
            (Value::Text("authData".into()), Value::Bytes(auth)),
        ]);
        (client_data, cbor::encode(&object))
    }

    /// An assertion: `clientDataJSON`, authenticator data and signature.
    pub fn assert(&self, challenge: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let client_data = self.client_data("webauthn.get", challenge);
        let auth = self.auth_data(false);
        let sig = self.sign(&auth, &client_data);
        (client_data, auth, sig)
    }

    /// The credential id as the browser's JSON carries it.
    pub fn id(&self) -> String {
        b64url(&self.credential_id)
    }
}
