//! Password hashing with Argon2id (RFC 9106) at OWASP's recommended cost
//! (m = 19 MiB, t = 2, p = 1), run on a bounded pool of blocking threads so that a
//! flood of sign-ins waits its turn instead of starving the async workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::crypto::random_bytes;

/// Longest password accepted (bytes); Argon2 would take more, but nobody needs it.
pub const MAX_PASSWORD: usize = 1024;
pub const MIN_PASSWORD: usize = 8;

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters"),
    )
}

/// An Argon2id PHC string for `password`.
pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16-byte salt encodes");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters does not fail")
        .to_string()
}

/// Checks `password` against a PHC string. A malformed string never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, checked when the user is unknown or has no password so
/// that the answer takes as long as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random_token()))
}

/// The bounded pool: every Argon2 computation of the server (sign-in checks, and
/// passwords set or changed through the management API) waits for one of its permits.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    /// Argon2 computations started (verifications and hashes), for `/metrics` and for
    /// tests that a throttled sign-in does none.
    computed: Arc<AtomicU64>,
}

impl PasswordPool {
    pub fn new(workers: usize) -> Self {
        PasswordPool {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            computed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many Argon2 computations the pool has started.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Hashes a new password on the pool.
    pub async fn hash(&self, password: String) -> String {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        self.computed.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || hash(&password)).await.expect("hashing does not panic")
    }

    /// Verifies `password` against `phc`, or against a dummy hash when `phc` is `None`
    /// (and then answers false), on the pool.
    pub async fn verify(&self, phc: Option<String>, password: String) -> bool {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        self.computed.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => verify(&phc, &password),
            None => {
                let _ = verify(dummy_hash(), &password);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Computes the dummy hash now, so that the first unknown-user sign-in does not
    /// take twice as long as later ones.
    pub fn warm_up(&self) {
        tokio::task::spawn_blocking(|| {
            dummy_hash();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&phc, "correct horse"));
        assert!(!verify(&phc, "correct horsE"));
        assert!(!verify("not a hash", "x"));
        assert_ne!(hash("correct horse"), phc, "salted");
    }
}
