//! Signing keys. Generated at first use per authorization server, stored in the
//! database with the private part sealed under the master key, published in JWKS with
//! a `kid` that is the key's RFC 7638 thumbprint.
//!
//! The cache: each process keeps the parsed keys of a server for `KEY_CACHE_TTL`
//! seconds. It holds only keys the database published; a stale entry can at worst sign
//! with a key that is still in every instance's JWKS (rotation keeps the old key
//! published), so it cannot grant anything the database denies.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use serde_json::json;
use tokio::sync::RwLock;

use crate::clock::UnixTime;
use crate::crypto::{MasterKey, b64url, b64url_decode, sha256};
use crate::store::{DynStore, KeyStatus, StoreError, StoredKey};

pub const KEY_CACHE_TTL: i64 = 60;

/// A key this server signs with.
pub struct SigningKey {
    pub kid: String,
    pub alg: &'static str,
    pair: KeyPair,
}

impl SigningKey {
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut signature)
            .expect("RSA signing with a valid key does not fail");
        signature
    }
}

/// A key tokens are verified with: the public half only.
pub struct VerifyingKey {
    pub kid: String,
    pub alg: String,
    public: signature::RsaPublicKeyComponents<Vec<u8>>,
}

impl VerifyingKey {
    pub fn verify(&self, message: &[u8], signature_bytes: &[u8]) -> bool {
        self.alg == "RS256"
            && self
                .public
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature_bytes)
                .is_ok()
    }
}

/// One authorization server's keys.
pub struct Keyring {
    pub signing: SigningKey,
    pub verifying: Vec<VerifyingKey>,
    /// The JWKS document, rendered once.
    pub jwks: String,
}

impl Keyring {
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {0} cannot be opened: {1}")]
    Corrupt(String, String),
}

/// RFC 7638 thumbprint of an RSA public key.
fn rsa_thumbprint(e: &str, n: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    b64url(&sha256(canonical.as_bytes()))
}

/// A new RS256 key for `server_id`, sealed for storage.
pub fn generate(server_id: &str, status: KeyStatus, now: UnixTime, master: &MasterKey) -> StoredKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation does not fail");
    let public = pair.public_key();
    let n = b64url(public.modulus().big_endian_without_leading_zero());
    let e = b64url(public.exponent().big_endian_without_leading_zero());
    let kid = rsa_thumbprint(&e, &n);
    let jwk = json!({"kty": "RSA", "alg": "RS256", "kid": kid, "use": "sig", "e": e, "n": n});
    let pkcs8 = pair.as_der().expect("PKCS#8 encoding does not fail");
    StoredKey {
        private_key_sealed: master.encrypt(pkcs8.as_ref(), kid.as_bytes()),
        kid,
        server_id: server_id.to_string(),
        alg: "RS256".into(),
        public_jwk: jwk.to_string(),
        status,
        created_at: now,
    }
}

fn verifying_key(stored: &StoredKey) -> Result<VerifyingKey, KeyError> {
    let corrupt = || KeyError::Corrupt(stored.kid.clone(), "bad public JWK".into());
    let jwk: serde_json::Value = serde_json::from_str(&stored.public_jwk).map_err(|_| corrupt())?;
    let field = |name: &str| jwk[name].as_str().and_then(b64url_decode).ok_or_else(corrupt);
    Ok(VerifyingKey {
        kid: stored.kid.clone(),
        alg: stored.alg.clone(),
        public: signature::RsaPublicKeyComponents { n: field("n")?, e: field("e")? },
    })
}

fn keyring(stored: &[StoredKey], master: &MasterKey) -> Result<Option<Keyring>, KeyError> {
    let Some(active) = stored.iter().find(|k| k.status == KeyStatus::Active) else {
        return Ok(None);
    };
    let pkcs8 = master
        .decrypt(&active.private_key_sealed, active.kid.as_bytes())
        .map_err(|e| KeyError::Corrupt(active.kid.clone(), e.to_string()))?;
    let pair = KeyPair::from_pkcs8(&pkcs8).map_err(|e| KeyError::Corrupt(active.kid.clone(), e.to_string()))?;
    let verifying = stored.iter().map(verifying_key).collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<serde_json::Value> = stored
        .iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    Ok(Some(Keyring {
        signing: SigningKey {
            kid: active.kid.clone(),
            alg: "RS256",
            pair,
        },
        verifying,
        jwks: json!({ "keys": keys }).to_string(),
    }))
}

/// Per-process cache of each server's parsed keys (see the module comment).
pub struct KeyCache {
    store: DynStore,
    master: MasterKey,
    entries: RwLock<HashMap<String, (UnixTime, Arc<Keyring>)>>,
}

impl KeyCache {
    pub fn new(store: DynStore, master: MasterKey) -> Self {
        KeyCache {
            store,
            master,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The server's keys, generating its first key if it has none.
    pub async fn get(&self, server_id: &str, now: UnixTime) -> Result<Arc<Keyring>, KeyError> {
        if let Some((loaded, ring)) = self.entries.read().await.get(server_id) {
            if now - loaded < KEY_CACHE_TTL {
                return Ok(ring.clone());
            }
        }
        let ring = Arc::new(self.load_or_create(server_id, now).await?);
        self.entries
            .write()
            .await
            .insert(server_id.to_string(), (now, ring.clone()));
        Ok(ring)
    }

    async fn load_or_create(&self, server_id: &str, now: UnixTime) -> Result<Keyring, KeyError> {
        if let Some(ring) = keyring(&self.store.signing_keys(server_id).await?, &self.master)? {
            return Ok(ring);
        }
        // RSA generation is CPU work: keep it off the async workers.
        let master = self.master.clone();
        let id = server_id.to_string();
        let fresh = tokio::task::spawn_blocking(move || generate(&id, KeyStatus::Active, now, &master))
            .await
            .expect("key generation does not panic");
        // Concurrent starters race here; the database's unique index keeps one.
        self.store.insert_signing_key(&fresh).await?;
        keyring(&self.store.signing_keys(server_id).await?, &self.master)?
            .ok_or_else(|| KeyError::Corrupt(server_id.to_string(), "no active key after insert".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_and_verify() {
        let master = MasterKey::from_bytes(&[9; 32]);
        let stored = generate("default", KeyStatus::Active, 0, &master);
        assert!(!stored.public_jwk.contains("\"d\""), "no private parts in the JWK");
        let ring = keyring(&[stored.clone()], &master).unwrap().unwrap();
        assert_eq!(ring.signing.kid, stored.kid);
        let sig = ring.signing.sign(b"hello");
        let key = ring.find(&stored.kid).unwrap();
        assert!(key.verify(b"hello", &sig));
        assert!(!key.verify(b"hellO", &sig));
        assert!(ring.jwks.contains(&stored.kid));
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(rsa_thumbprint("AQAB", n), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}

/// A keyring from stored keys, for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn test_keyring(stored: &[StoredKey], master: &MasterKey) -> Keyring {
    keyring(stored, master).unwrap().unwrap()
}
