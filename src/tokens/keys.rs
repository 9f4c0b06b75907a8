//! Signing keys. Generated at first use per authorization server, stored in the
//! database with the private part sealed under the master key, published in JWKS with
//! a `kid` that is the key's RFC 7638 thumbprint.
//!
//! Rotation. Each server has an ACTIVE key (it signs), a NEXT key (published, never
//! signing yet) and RETIRED keys. A rotation (`rotate`, one store transaction) retires
//! the ACTIVE key, promotes NEXT and makes a new NEXT, so the key that starts signing is
//! one every instance has been publishing since the previous rotation. JWKS publishes
//! NEXT, ACTIVE, and RETIRED keys for `KEY_RETENTION` (2 days) after their retirement:
//! a token lives at most 1 day (the longest access token a policy allows; ID tokens 1
//! hour), an instance with a stale cache may sign with a just-retired key for up to
//! `KEY_CACHE_TTL` more, and instances' clocks differ a little; 2 days is twice the
//! longest token, so every token a key signed expires while the key is still published.
//! The janitor rotates when the ACTIVE key is older than `key_rotation_days` and the
//! NEXT key has been published at least `NEXT_KEY_MIN_AGE` (1 hour: well past JWKS's
//! `max-age` of 5 minutes and every instance's cache).
//!
//! The cache. Each process keeps the parsed keys of a server for `KEY_CACHE_TTL` (60)
//! seconds, and never past the moment a retired key in it leaves the retention window.
//! So another instance's rotation reaches this one's signing within 60 seconds; until
//! then this one signs with the retired key, which every instance still publishes.
//! A token naming a `kid` the cached ring lacks (another instance's newly promoted key)
//! makes the ring reload from the store at once, at most once a second per server
//! (`UNKNOWN_KID_RELOAD_INTERVAL`), so a stream of made-up `kid`s cannot flood the
//! database. The ring holds only keys the database published and still publishes, so
//! a stale entry never makes a token valid that the database would reject. JWKS is
//! not served from the ring but read from the store (`current_jwks`, then kept at most
//! 1 s by `http::published`), and a rotation promotes only a NEXT key that has been in
//! the store `NEXT_KEY_MIN_PUBLISHED` (2 s) or more, waiting if needed, so every
//! instance publishes a key as soon as any instance may sign with it, even after two
//! rotations within `KEY_CACHE_TTL`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::json;
use tokio::sync::{Mutex, RwLock};

use crate::clock::UnixTime;
use crate::crypto::{MasterKey, b64url};
use crate::store::{DynStore, KeyRotation, KeyStatus, StoreError, StoredKey};
use crate::tokens::claims::AccessTokenClaims;
use crate::tokens::jose::{self, Rules};

/// What a header of one of our tokens may say: an algorithm we sign with, no embedded
/// key. `jwt::verify` reads our tokens by these rules, and `header_kid` too.
pub const OWN: Rules<'static> = Rules {
    algs: &[Alg::Rs256.as_str(), Alg::Es256.as_str()],
    embedded_key: false,
};

/// The `kid` a token's header names, read by the same rules as `jwt::verify` but
/// without verifying anything: which keys to look in. `None` for anything unreadable
/// (verification then refuses it).
pub fn header_kid(token: &str) -> Option<String> {
    jose::read_header_only(token, &OWN).ok()?.kid
}

/// Seconds a process uses a server's keys before reading them again.
pub const KEY_CACHE_TTL: i64 = 60;
/// Seconds a RETIRED key stays in JWKS and verifies tokens (see the module comment).
pub const KEY_RETENTION: i64 = 2 * 86_400;
/// Seconds a NEXT key must have been published before automatic rotation promotes it.
pub const NEXT_KEY_MIN_AGE: i64 = 3600;
/// Seconds a NEXT key must have been in the store before a rotation promotes it, even
/// a manual one: each instance serves a JWKS document up to 1 s old
/// (`http::published`), and `created_at` is in whole seconds. So a key signs only once
/// every instance's JWKS has it, even after two rotations in a row.
pub const NEXT_KEY_MIN_PUBLISHED: i64 = 2;
/// At most one reload per server in this interval for tokens with an unknown `kid`.
pub const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The JWS algorithms a server may sign its tokens with (RFC 7518 §3.1). RS256 is the
/// default and what Okta offers; ES256 is Gatehouse's extension, a server setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (RFC 7518 §3.3).
    Rs256,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::Es256];

    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

enum Private {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
}

/// A key this server signs with.
pub struct SigningKey {
    pub kid: String,
    pub alg: &'static str,
    pair: Private,
}

impl SigningKey {
    /// The JWS signature of `message`: RS256 (RFC 7518 §3.3), or ES256 as the 64-byte
    /// concatenation of R and S (§3.4), which is aws-lc-rs's "fixed" format.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.pair {
            Private::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .expect("RSA signing with a valid key does not fail");
                signature
            }
            Private::Ec(pair) => pair
                .sign(&rng, message)
                .expect("ECDSA signing with a valid key does not fail")
                .as_ref()
                .to_vec(),
        }
    }
}

/// A key tokens are verified with: the public half only, read by the one JWK parser
/// (`jose::PublicJwk`), and the one algorithm it verifies.
pub struct VerifyingKey {
    pub kid: String,
    pub alg: &'static str,
    pub jwk: jose::PublicJwk,
}

impl VerifyingKey {
    /// Verifies with the key's own algorithm only (RFC 8725 §3.1).
    pub fn verify(&self, message: &[u8], signature_bytes: &[u8]) -> bool {
        self.jwk.verify(self.alg, message, signature_bytes)
    }
}

/// One authorization server's keys.
pub struct Keyring {
    /// The ACTIVE key.
    pub signing: SigningKey,
    /// The published keys: ACTIVE, NEXT, and RETIRED keys still within `KEY_RETENTION`.
    pub verifying: Vec<VerifyingKey>,
    /// The JWKS document of the published keys, rendered once.
    pub jwks: String,
    /// When the first retired key in it leaves the retention window: the ring must not
    /// be used from then on.
    stale_at: Option<UnixTime>,
    /// Access tokens whose signature one of these keys verified (`verified_access`).
    verified: std::sync::Mutex<HashMap<[u8; 32], AccessTokenClaims>>,
}

/// The most access tokens a ring remembers verifying; when full it starts over.
const VERIFIED_MAX: usize = 4096;

impl Keyring {
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }

    /// The claims of an access token whose signature this ring verified before, by the
    /// SHA-256 of the whole token (its every byte: another header or payload beside the
    /// same signature is another token). An API introspects the bearer of every call it
    /// receives, so one token is checked many times; the RS256 verification was half of
    /// an introspection's instructions (bench/RESULTS.md). What is kept is a fact about
    /// these bytes and these keys only: a change of keys makes a new ring, which starts
    /// empty, and everything that can change (expiry, issuer, audience, revocation, the
    /// user) is still checked at every use by the caller.
    pub fn verified_access(&self, digest: &[u8; 32]) -> Option<AccessTokenClaims> {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.get(digest).cloned()
    }

    /// Remembers an access token whose signature one of this ring's keys verified.
    pub fn remember_access(&self, digest: [u8; 32], claims: &AccessTokenClaims) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_MAX {
            verified.clear();
        }
        verified.insert(digest, claims.clone());
    }

    /// Does it still hold exactly the keys that are published at `now`?
    fn current_at(&self, now: UnixTime) -> bool {
        self.stale_at.is_none_or(|at| now < at)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {0} cannot be opened: {1}")]
    Corrupt(String, String),
}

/// A new RS256 key for `server_id`, sealed for storage.
pub fn generate(
    server_id: &str,
    status: KeyStatus,
    now: UnixTime,
    master: &MasterKey,
) -> StoredKey {
    generate_alg(Alg::Rs256, server_id, status, now, master)
}

/// A new key of `alg` for `server_id`, sealed for storage: the PKCS#8 private key
/// encrypted under the master key, the public JWK (RFC 7517 §4, RFC 7518 §6) beside it.
pub fn generate_alg(
    alg: Alg,
    server_id: &str,
    status: KeyStatus,
    now: UnixTime,
    master: &MasterKey,
) -> StoredKey {
    let (kid, jwk, pkcs8) = match alg {
        Alg::Rs256 => {
            let pair =
                KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation does not fail");
            let public = pair.public_key();
            let n = b64url(public.modulus().big_endian_without_leading_zero());
            let e = b64url(public.exponent().big_endian_without_leading_zero());
            let kid = jose::rsa_thumbprint(&e, &n);
            let jwk =
                json!({"kty": "RSA", "alg": "RS256", "kid": kid, "use": "sig", "e": e, "n": n});
            (
                kid,
                jwk,
                pair.as_der()
                    .expect("PKCS#8 encoding does not fail")
                    .as_ref()
                    .to_vec(),
            )
        }
        Alg::Es256 => {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let doc =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .expect("P-256 key generation does not fail");
            let pair =
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                    .expect("a generated P-256 key parses");
            // RFC 7518 §6.2.1: x and y, each 32 bytes, from the uncompressed point.
            let point = pair.public_key().as_ref();
            let (x, y) = (b64url(&point[1..33]), b64url(&point[33..65]));
            let kid = jose::ec_thumbprint("P-256", &x, &y);
            let jwk = json!({"kty": "EC", "alg": "ES256", "kid": kid, "use": "sig", "crv": "P-256", "x": x, "y": y});
            (kid, jwk, doc.as_ref().to_vec())
        }
    };
    StoredKey {
        private_key_sealed: master.encrypt(&pkcs8, kid.as_bytes()),
        kid,
        server_id: server_id.to_string(),
        alg: alg.as_str().into(),
        public_jwk: jwk.to_string(),
        status,
        created_at: now,
        activated_at: (status == KeyStatus::Active).then_some(now),
        retired_at: None,
    }
}

/// `generate_alg` off the async workers: RSA key generation is CPU work.
async fn generate_blocking(
    alg: Alg,
    server_id: &str,
    status: KeyStatus,
    now: UnixTime,
    master: &MasterKey,
) -> StoredKey {
    let master = master.clone();
    let id = server_id.to_string();
    tokio::task::spawn_blocking(move || generate_alg(alg, &id, status, now, &master))
        .await
        .expect("key generation does not panic")
}

/// The algorithm `server_id`'s new keys are made for: its `signing_alg` setting.
async fn server_alg(store: &DynStore, server_id: &str) -> Result<Alg, KeyError> {
    let server = store.get_server(server_id).await?;
    let name = server.map_or_else(|| "RS256".to_string(), |s| s.signing_alg);
    Alg::parse(&name).ok_or_else(|| {
        KeyError::Corrupt(server_id.to_string(), format!("unknown signing_alg {name}"))
    })
}

/// Is this stored key published (in JWKS, and good for verifying) at `now`?
pub fn is_published(key: &StoredKey, now: UnixTime) -> bool {
    match key.status {
        KeyStatus::Active | KeyStatus::Next => true,
        KeyStatus::Retired => key.retired_at.is_some_and(|at| now < at + KEY_RETENTION),
    }
}

/// A stored key's public JWK as a key to verify its `alg` with. The JWK is read by the
/// same parser as any client's key (public members only, RSA of 2048 bits or more, a
/// P-256 point on the curve), and must fit the key's algorithm.
fn verifying_key(stored: &StoredKey) -> Result<VerifyingKey, KeyError> {
    let corrupt = |why: String| KeyError::Corrupt(stored.kid.clone(), why);
    let alg =
        Alg::parse(&stored.alg).ok_or_else(|| corrupt(format!("unknown alg {}", stored.alg)))?;
    let value: serde_json::Value = serde_json::from_str(&stored.public_jwk)
        .map_err(|_| corrupt("the public JWK is not JSON".into()))?;
    let jwk =
        jose::PublicJwk::parse(&value).map_err(|e| corrupt(format!("bad public JWK: {e}")))?;
    if !jwk.allows(alg.as_str()) {
        return Err(corrupt(format!(
            "the public JWK is no {} key",
            alg.as_str()
        )));
    }
    Ok(VerifyingKey {
        kid: stored.kid.clone(),
        alg: alg.as_str(),
        jwk,
    })
}

/// The ACTIVE key's private half, opened.
fn signing_key(active: &StoredKey, master: &MasterKey) -> Result<SigningKey, KeyError> {
    let corrupt = |e: String| KeyError::Corrupt(active.kid.clone(), e);
    let pkcs8 = master
        .decrypt(&active.private_key_sealed, active.kid.as_bytes())
        .map_err(|e| corrupt(e.to_string()))?;
    let (alg, pair) = match Alg::parse(&active.alg) {
        Some(Alg::Rs256) => (
            Alg::Rs256,
            Private::Rsa(KeyPair::from_pkcs8(&pkcs8).map_err(|e| corrupt(e.to_string()))?),
        ),
        Some(Alg::Es256) => (
            Alg::Es256,
            Private::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(|e| corrupt(e.to_string()))?,
            ),
        ),
        None => return Err(corrupt(format!("unknown alg {}", active.alg))),
    };
    Ok(SigningKey {
        kid: active.kid.clone(),
        alg: alg.as_str(),
        pair,
    })
}

/// The ring of keys published at `now` among `stored`, with the ACTIVE one opened for
/// signing; `None` without an ACTIVE key.
pub fn keyring(
    stored: &[StoredKey],
    master: &MasterKey,
    now: UnixTime,
) -> Result<Option<Keyring>, KeyError> {
    let Some(active) = stored.iter().find(|k| k.status == KeyStatus::Active) else {
        return Ok(None);
    };
    let signing = signing_key(active, master)?;
    // ACTIVE first, then NEXT, then retired keys: the store's order.
    let published: Vec<&StoredKey> = stored.iter().filter(|k| is_published(k, now)).collect();
    let verifying = published
        .iter()
        .map(|k| verifying_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let stale_at = published
        .iter()
        .filter_map(|k| k.retired_at)
        .map(|at| at + KEY_RETENTION)
        .min();
    Ok(Some(Keyring {
        signing,
        verifying,
        jwks: jwks(stored, now),
        stale_at,
        verified: std::sync::Mutex::default(),
    }))
}

/// The JWKS document: the public JWKs of the keys published at `now`, ACTIVE first,
/// then NEXT, then retired ones (the store's order).
pub fn jwks(stored: &[StoredKey], now: UnixTime) -> String {
    let keys: Vec<serde_json::Value> = stored
        .iter()
        .filter(|k| is_published(k, now))
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    json!({ "keys": keys }).to_string()
}

/// The server's keys, after making its ACTIVE and NEXT keys if it lacks them (at its
/// first use, and once after an upgrade from a version without NEXT keys). The missing
/// keys are generated at once (one blocking thread each), then the NEXT key is inserted
/// before the ACTIVE one, so a JWKS read from the store that has an ACTIVE key has a
/// NEXT key too. Processes doing this at once each insert; the database's unique
/// indexes keep one of each.
pub async fn ensure_keys(
    store: &DynStore,
    master: &MasterKey,
    server_id: &str,
    now: UnixTime,
) -> Result<Vec<StoredKey>, KeyError> {
    let stored = store.signing_keys(server_id).await?;
    let missing: Vec<KeyStatus> = [KeyStatus::Next, KeyStatus::Active]
        .into_iter()
        .filter(|s| !stored.iter().any(|k| k.status == *s))
        .collect();
    if missing.is_empty() {
        return Ok(stored);
    }
    let alg = server_alg(store, server_id).await?;
    let making: Vec<_> = missing
        .into_iter()
        .map(|status| {
            let (master, id) = (master.clone(), server_id.to_string());
            tokio::task::spawn_blocking(move || generate_alg(alg, &id, status, now, &master))
        })
        .collect();
    for made in making {
        let key = made.await.expect("key generation does not panic");
        store.insert_signing_key(&key).await?;
    }
    Ok(store.signing_keys(server_id).await?)
}

/// A rotation that happened: the kids of the keys it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub retired: String,
    pub active: String,
    pub next: String,
    /// Seconds the new ACTIVE key had been published as NEXT.
    pub promoted_after: i64,
}

/// Rotates `server_id`'s keys now (see the module comment). `None` when another
/// process rotated the same ACTIVE key first: then there is nothing left to do.
pub async fn rotate(
    store: &DynStore,
    master: &MasterKey,
    server_id: &str,
    now: UnixTime,
) -> Result<Option<Rotated>, KeyError> {
    let stored = ensure_keys(store, master, server_id, now).await?;
    rotate_from(store, master, &stored, server_id, now).await
}

async fn rotate_from(
    store: &DynStore,
    master: &MasterKey,
    stored: &[StoredKey],
    server_id: &str,
    now: UnixTime,
) -> Result<Option<Rotated>, KeyError> {
    let missing = |what: &str| KeyError::Corrupt(server_id.to_string(), format!("no {what} key"));
    let active = stored
        .iter()
        .find(|k| k.status == KeyStatus::Active)
        .ok_or_else(|| missing("ACTIVE"))?;
    let next = stored
        .iter()
        .find(|k| k.status == KeyStatus::Next)
        .ok_or_else(|| missing("NEXT"))?;
    // A NEXT key made moments ago (by the previous rotation) waits until every
    // instance's JWKS has it; never more than `NEXT_KEY_MIN_PUBLISHED`.
    let wait = (next.created_at + NEXT_KEY_MIN_PUBLISHED - now).clamp(0, NEXT_KEY_MIN_PUBLISHED);
    if wait > 0 {
        tokio::time::sleep(Duration::from_secs(wait.unsigned_abs())).await;
    }
    let now = now + wait;
    let fresh = generate_blocking(
        server_alg(store, server_id).await?,
        server_id,
        KeyStatus::Next,
        now,
        master,
    )
    .await;
    match store.rotate_signing_key(&active.kid, &fresh, now).await? {
        KeyRotation::Rotated => Ok(Some(Rotated {
            retired: active.kid.clone(),
            active: next.kid.clone(),
            next: fresh.kid,
            promoted_after: now - next.created_at,
        })),
        KeyRotation::NotActive => Ok(None),
        KeyRotation::NoNextKey => Err(missing("NEXT")),
    }
}

/// Is automatic rotation due? The ACTIVE key has signed for `max_age` seconds or more
/// and the NEXT key has been published for `NEXT_KEY_MIN_AGE`. A server without both
/// keys (never used yet) has nothing to rotate.
pub fn rotation_due(stored: &[StoredKey], now: UnixTime, max_age: i64) -> bool {
    let active = stored.iter().find(|k| k.status == KeyStatus::Active);
    let next = stored.iter().find(|k| k.status == KeyStatus::Next);
    match (active, next) {
        (Some(active), Some(next)) => {
            now - active.activated_at.unwrap_or(active.created_at) >= max_age
                && now - next.created_at >= NEXT_KEY_MIN_AGE
        }
        _ => false,
    }
}

struct Entry {
    loaded: UnixTime,
    ring: Arc<Keyring>,
}

/// Per-process cache of each server's parsed keys (see the module comment).
pub struct KeyCache {
    store: DynStore,
    master: MasterKey,
    entries: RwLock<HashMap<String, Entry>>,
    /// When each server's ring was last reloaded for an unknown `kid`; held while such
    /// a reload runs, so concurrent requests wait for it rather than start their own.
    forced: Mutex<HashMap<String, Instant>>,
}

impl KeyCache {
    pub fn new(store: DynStore, master: MasterKey) -> Self {
        KeyCache {
            store,
            master,
            entries: RwLock::new(HashMap::new()),
            forced: Mutex::new(HashMap::new()),
        }
    }

    /// The server's keys, generating its first keys if it has none.
    pub async fn get(&self, server_id: &str, now: UnixTime) -> Result<Arc<Keyring>, KeyError> {
        match self.cached(server_id, now).await {
            Some(ring) => Ok(ring),
            None => self.reload(server_id, now).await,
        }
    }

    /// The keys to verify `token` with: as `get`, but when the token's header names a
    /// `kid` the ring lacks, the ring is read again from the store first (rate-limited).
    pub async fn for_token(
        &self,
        server_id: &str,
        token: &str,
        now: UnixTime,
    ) -> Result<Arc<Keyring>, KeyError> {
        let ring = self.get(server_id, now).await?;
        let Some(kid) = header_kid(token) else {
            return Ok(ring);
        };
        if ring.find(&kid).is_some() {
            return Ok(ring);
        }
        let mut forced = self.forced.lock().await;
        // Someone may have reloaded while this request waited for the lock.
        let ring = self.cached(server_id, now).await.unwrap_or(ring);
        if ring.find(&kid).is_some() {
            return Ok(ring);
        }
        if forced
            .get(server_id)
            .is_some_and(|at| at.elapsed() < UNKNOWN_KID_RELOAD_INTERVAL)
        {
            return Ok(ring);
        }
        forced.insert(server_id.to_string(), Instant::now());
        self.reload(server_id, now).await
    }

    /// Drops this process's cached ring for a server: the next use reads the store.
    pub async fn forget(&self, server_id: &str) {
        self.entries.write().await.remove(server_id);
    }

    /// Rotates the server's keys if `rotation_due`, and uses the new ones at once.
    pub async fn rotate_if_due(
        &self,
        server_id: &str,
        now: UnixTime,
        max_age: i64,
    ) -> Result<Option<Rotated>, KeyError> {
        let stored = self.store.signing_keys(server_id).await?;
        if !rotation_due(&stored, now, max_age) {
            return Ok(None);
        }
        let rotated = rotate_from(&self.store, &self.master, &stored, server_id, now).await?;
        self.entries.write().await.remove(server_id);
        Ok(rotated)
    }

    /// The JWKS as the database publishes it now, not as this process's ring last saw
    /// it: after two rotations within `KEY_CACHE_TTL`, an instance that read its keys
    /// since signs with a key made after this ring was loaded, and a relying party that
    /// meets its `kid` fetches the JWKS again from whichever instance the balancer
    /// picks.
    pub async fn current_jwks(&self, server_id: &str, now: UnixTime) -> Result<String, KeyError> {
        match self.store.signing_keys(server_id).await {
            Ok(stored) if stored.iter().any(|k| k.status == KeyStatus::Active) => {
                Ok(jwks(&stored, now))
            }
            // No keys yet (they are made at first use), or the store is down: the ring's.
            _ => Ok(self.get(server_id, now).await?.jwks.clone()),
        }
    }

    async fn cached(&self, server_id: &str, now: UnixTime) -> Option<Arc<Keyring>> {
        let entries = self.entries.read().await;
        let entry = entries.get(server_id)?;
        let fresh =
            (0..KEY_CACHE_TTL).contains(&(now - entry.loaded)) && entry.ring.current_at(now);
        fresh.then(|| entry.ring.clone())
    }

    async fn reload(&self, server_id: &str, now: UnixTime) -> Result<Arc<Keyring>, KeyError> {
        let stored = ensure_keys(&self.store, &self.master, server_id, now).await?;
        let ring = keyring(&stored, &self.master, now)?.ok_or_else(|| {
            KeyError::Corrupt(server_id.to_string(), "no active key after insert".into())
        })?;
        let ring = Arc::new(ring);
        self.entries.write().await.insert(
            server_id.to_string(),
            Entry {
                loaded: now,
                ring: ring.clone(),
            },
        );
        Ok(ring)
    }
}

/// A keyring from stored keys, for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn test_keyring(stored: &[StoredKey], master: &MasterKey) -> Keyring {
    keyring(stored, master, 0).unwrap().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha256;

    #[test]
    fn generated_keys_round_trip_and_verify() {
        let master = MasterKey::from_bytes(&[9; 32]);
        let stored = generate("default", KeyStatus::Active, 0, &master);
        assert!(
            !stored.public_jwk.contains("\"d\""),
            "no private parts in the JWK"
        );
        let ring = keyring(std::slice::from_ref(&stored), &master, 0)
            .unwrap()
            .unwrap();
        assert_eq!(ring.signing.kid, stored.kid);
        let sig = ring.signing.sign(b"hello");
        let key = ring.find(&stored.kid).unwrap();
        assert!(key.verify(b"hello", &sig));
        assert!(!key.verify(b"hellO", &sig));
        assert!(ring.jwks.contains(&stored.kid));
    }

    #[test]
    fn es256_keys_round_trip_verify_and_publish_ec_members_only() {
        let master = MasterKey::from_bytes(&[9; 32]);
        let stored = generate_alg(Alg::Es256, "aus1", KeyStatus::Active, 0, &master);
        assert_eq!(stored.alg, "ES256");
        let jwk: serde_json::Value = serde_json::from_str(&stored.public_jwk).unwrap();
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["crv"].as_str(),
                jwk["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(jwk.get("d").is_none(), "no private parts in the JWK");
        assert_eq!(
            stored.kid,
            jose::ec_thumbprint(
                "P-256",
                jwk["x"].as_str().unwrap(),
                jwk["y"].as_str().unwrap()
            )
        );
        let ring = keyring(std::slice::from_ref(&stored), &master, 0)
            .unwrap()
            .unwrap();
        assert_eq!(ring.signing.alg, "ES256");
        let sig = ring.signing.sign(b"hello");
        assert_eq!(sig.len(), 64, "R || S (RFC 7518 §3.4), not DER");
        let key = ring.find(&stored.kid).unwrap();
        assert!(key.verify(b"hello", &sig));
        assert!(!key.verify(b"hellO", &sig));
        // An RSA key's signature never verifies with an EC key, nor the other way.
        let rsa = generate("aus1", KeyStatus::Next, 0, &master);
        let both = keyring(&[stored.clone(), rsa.clone()], &master, 0)
            .unwrap()
            .unwrap();
        let rsa_key = both.find(&rsa.kid).unwrap();
        assert!(!rsa_key.verify(b"hello", &sig));
    }

    #[test]
    fn ec_thumbprint_matches_rfc7638_members_in_order() {
        // RFC 7638 §3.2: {"crv","kty","x","y"}, no whitespace; the RFC 7517 §A.1 EC key.
        let x = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
        let y = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        assert_eq!(
            jose::ec_thumbprint("P-256", x, y),
            b64url(&sha256(canonical.as_bytes()))
        );
        assert_eq!(Alg::parse("ES256"), Some(Alg::Es256));
        assert_eq!(Alg::parse("es256"), None);
        assert_eq!(Alg::parse("none"), None);
    }

    fn key(
        status: KeyStatus,
        created_at: i64,
        activated_at: Option<i64>,
        retired_at: Option<i64>,
    ) -> StoredKey {
        let master = MasterKey::from_bytes(&[9; 32]);
        StoredKey {
            activated_at,
            retired_at,
            ..generate("default", status, created_at, &master)
        }
    }

    #[test]
    fn retired_keys_are_published_for_the_retention_window_only() {
        let master = MasterKey::from_bytes(&[9; 32]);
        let active = key(KeyStatus::Active, 0, Some(100), None);
        let next = key(KeyStatus::Next, 100, None, None);
        let retired = key(KeyStatus::Retired, 0, Some(0), Some(100));
        let stored = [active.clone(), next.clone(), retired.clone()];
        let ring = keyring(&stored, &master, 100 + KEY_RETENTION - 1)
            .unwrap()
            .unwrap();
        assert_eq!(ring.signing.kid, active.kid);
        assert!(ring.find(&next.kid).is_some() && ring.find(&retired.kid).is_some());
        assert!(ring.current_at(100 + KEY_RETENTION - 1));
        assert!(
            !ring.current_at(100 + KEY_RETENTION),
            "stale once the retired key leaves JWKS"
        );
        let later = keyring(&stored, &master, 100 + KEY_RETENTION)
            .unwrap()
            .unwrap();
        assert!(later.find(&retired.kid).is_none());
        assert!(!later.jwks.contains(&retired.kid) && later.jwks.contains(&next.kid));
        assert!(later.current_at(i64::MAX));
    }

    // The longest access token a policy allows, plus a stale cache signing late; a NEXT
    // key is promoted past every cache and JWKS's max-age. Checked at compile time.
    const _: () = assert!(KEY_RETENTION >= 2 * crate::admin::policies::ACCESS_TTL_MAX);
    const _: () = assert!(KEY_RETENTION > crate::admin::policies::ACCESS_TTL_MAX + KEY_CACHE_TTL);
    const _: () = assert!(NEXT_KEY_MIN_AGE > KEY_CACHE_TTL + 300);

    #[test]
    fn rotation_is_due_for_an_old_active_key_and_a_published_next_key() {
        let day = 86_400;
        let active = key(KeyStatus::Active, 0, Some(0), None);
        let next = key(KeyStatus::Next, 0, None, None);
        assert!(!rotation_due(
            &[active.clone(), next.clone()],
            90 * day - 1,
            90 * day
        ));
        assert!(rotation_due(
            &[active.clone(), next.clone()],
            90 * day,
            90 * day
        ));
        // A NEXT key made just now (after an upgrade) is not promoted yet.
        let young = key(KeyStatus::Next, 90 * day - 10, None, None);
        assert!(!rotation_due(&[active.clone(), young], 90 * day, 90 * day));
        assert!(!rotation_due(&[active], 90 * day, 90 * day), "no NEXT key");
        assert!(!rotation_due(&[next], 90 * day, 90 * day), "no ACTIVE key");
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            jose::rsa_thumbprint("AQAB", n),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
