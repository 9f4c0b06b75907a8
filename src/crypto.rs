//! Small cryptographic helpers on aws-lc-rs, the one crypto provider:
//! random identifiers, SHA-256 for stored token hashes, a keyed hash for client secrets,
//! constant-time comparison, and AES-256-GCM for private keys at rest.

use aws_lc_rs::{aead, constant_time, digest, hmac, rand as lc_rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    lc_rand::fill(&mut out).expect("the system random number generator failed");
    out
}

/// A 256-bit random value, base64url: codes, refresh tokens, session ids, secrets.
pub fn random_token() -> String {
    b64url(&random_bytes::<32>())
}

/// An Okta-style object id: a three-character type prefix (`00u` user, `0oa` app)
/// and 17 random base62 characters (about 101 bits).
pub fn okta_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    while id.len() < 20 {
        // Rejection sampling keeps every character uniform.
        for b in random_bytes::<24>() {
            if b < 248 && id.len() < 20 {
                id.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    id
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    sha256_array(data).to_vec()
}

/// `sha256` as an array, for a key of a map (no allocation).
pub fn sha256_array(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Seconds one DPoP nonce window lasts; a nonce is accepted in its window and the next.
pub const DPOP_NONCE_WINDOW: i64 = 300;

/// The server's master key: 32 bytes from which the key that encrypts signing keys at
/// rest and the key that hashes client secrets are derived.
#[derive(Clone)]
pub struct MasterKey {
    encryption: [u8; 32],
    secret_hashing: hmac::Key,
    rotation: hmac::Key,
    dpop_nonce: hmac::Key,
    recovery_codes: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the data could not be decrypted with this master key")]
pub struct DecryptError;

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let derive = |label: &[u8]| -> [u8; 32] {
            let tag = hmac::sign(&root, label);
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref());
            out
        };
        MasterKey {
            encryption: derive(b"gatehouse signing-key encryption v1"),
            secret_hashing: hmac::Key::new(
                hmac::HMAC_SHA256,
                &derive(b"gatehouse client-secret hashing v1"),
            ),
            rotation: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"gatehouse refresh rotation v1")),
            dpop_nonce: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"gatehouse dpop nonce v1")),
            recovery_codes: hmac::Key::new(
                hmac::HMAC_SHA256,
                &derive(b"gatehouse recovery-code hashing v1"),
            ),
        }
    }

    /// A value derived from a refresh token and a label (`next`: its successor; `at`,
    /// `id`: the ids of the tokens minted with it): HMAC-SHA-256 under a key derived
    /// from the master key, base64url. Only the holder of the token and the server can
    /// compute it, and the server computes it again when a rotated token is retried
    /// within the grace period, so that the retry gets the same answer without the
    /// successor ever being stored in clear. The same derivation under its own label
    /// gives a user's WebAuthn user handle (`webauthn user handle`).
    pub fn derive_from_token(&self, token: &str, label: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.rotation);
        ctx.update(label.as_bytes());
        ctx.update(&[0]);
        ctx.update(token.as_bytes());
        b64url(ctx.sign().as_ref())
    }

    /// RFC 9449 §8: the DPoP nonce for the time window `window` (`now / DPOP_NONCE_WINDOW`):
    /// an HMAC of the window under a key derived from the master key. Every instance
    /// with the same master key computes the same nonce, so it needs no storage.
    pub fn dpop_nonce(&self, window: i64) -> String {
        let mut ctx = hmac::Context::with_key(&self.dpop_nonce);
        ctx.update(b"dpop-nonce\0");
        ctx.update(&window.to_be_bytes());
        b64url(ctx.sign().as_ref())
    }

    /// Is `nonce` the nonce of the current window or the one before (so a nonce handed
    /// out just before a window ends still works), compared in constant time?
    pub fn dpop_nonce_is_current(&self, nonce: &str, now: i64) -> bool {
        let window = now.div_euclid(DPOP_NONCE_WINDOW);
        let a = constant_time_eq(self.dpop_nonce(window).as_bytes(), nonce.as_bytes());
        let b = constant_time_eq(self.dpop_nonce(window - 1).as_bytes(), nonce.as_bytes());
        a | b
    }

    /// The nonce to hand out at `now`.
    pub fn current_dpop_nonce(&self, now: i64) -> String {
        self.dpop_nonce(now.div_euclid(DPOP_NONCE_WINDOW))
    }

    /// A client secret's stored form: HMAC-SHA-256 under a key derived from the master
    /// key. The secrets are 256-bit random, so a slow hash would buy nothing.
    pub fn hash_client_secret(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.secret_hashing, secret.as_bytes())
            .as_ref()
            .to_vec()
    }

    pub fn verify_client_secret(&self, secret: &str, stored: &[u8]) -> bool {
        hmac::verify(&self.secret_hashing, secret.as_bytes(), stored).is_ok()
    }

    /// A recovery code's stored form: HMAC-SHA-256 under a key derived from the master
    /// key, with the user's id, so a code is bound to its user and a copy of the
    /// database alone cannot be searched for the codes (they hold ~50 bits each: a
    /// plain hash could be brute-forced offline).
    pub fn hash_recovery_code(&self, user_id: &str, code: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.recovery_codes);
        ctx.update(user_id.as_bytes());
        ctx.update(&[0]);
        ctx.update(code.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// AES-256-GCM; the output is nonce ‖ ciphertext ‖ tag. `context` (the key id) is
    /// authenticated, so a ciphertext cannot be moved to another row.
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let key = aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::AES_256_GCM, &self.encryption).expect("32-byte key"),
        );
        let nonce_bytes = random_bytes::<12>();
        let mut buffer = plaintext.to_vec();
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce_bytes),
            aead::Aad::from(context),
            &mut buffer,
        )
        .expect("AES-GCM sealing does not fail for small inputs");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        out
    }

    pub fn decrypt(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let key = aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::AES_256_GCM, &self.encryption).expect("32-byte key"),
        );
        let (nonce, ciphertext) = sealed.split_at(12);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| DecryptError)?;
        let mut buffer = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, aead::Aad::from(context), &mut buffer)
            .map_err(|_| DecryptError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte_and_decodes_back() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_decode(&hex(&bytes)), Some(bytes));
    }

    #[test]
    fn okta_ids_have_prefix_and_length() {
        let id = okta_id("00u");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(okta_id("00u"), id);
    }

    #[test]
    fn encryption_round_trips_and_binds_context() {
        let key = MasterKey::from_bytes(&[7u8; 32]);
        let sealed = key.encrypt(b"private", b"kid-1");
        assert_eq!(key.decrypt(&sealed, b"kid-1").unwrap(), b"private");
        assert!(key.decrypt(&sealed, b"kid-2").is_err());
        let other = MasterKey::from_bytes(&[8u8; 32]);
        assert!(other.decrypt(&sealed, b"kid-1").is_err());
    }

    #[test]
    fn dpop_nonces_agree_across_instances_and_expire_after_the_next_window() {
        // Two instances: the same master key, no shared state.
        let (a, b) = (
            MasterKey::from_bytes(&[4u8; 32]),
            MasterKey::from_bytes(&[4u8; 32]),
        );
        let now = 10 * DPOP_NONCE_WINDOW + 7;
        let nonce = a.current_dpop_nonce(now);
        assert!(b.dpop_nonce_is_current(&nonce, now));
        assert!(b.dpop_nonce_is_current(&nonce, now + DPOP_NONCE_WINDOW));
        assert!(!b.dpop_nonce_is_current(&nonce, now + 2 * DPOP_NONCE_WINDOW));
        assert!(!MasterKey::from_bytes(&[5u8; 32]).dpop_nonce_is_current(&nonce, now));
    }

    #[test]
    fn client_secret_hash_verifies_only_the_secret() {
        let key = MasterKey::from_bytes(&[1u8; 32]);
        let stored = key.hash_client_secret("s3cret");
        assert!(key.verify_client_secret("s3cret", &stored));
        assert!(!key.verify_client_secret("s3cret!", &stored));
    }
}
