//! Password hashing with Argon2id (RFC 9106) at OWASP's recommended cost
//! (m = 19 MiB, t = 2, p = 1), run on a bounded pool of blocking threads so that a
//! flood of sign-ins waits its turn instead of starving the async workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::crypto::{constant_time_eq, random_bytes};

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
    verify_with(phc, password, &mut Vec::new())
}

/// `verify` with Argon2's memory (19 MiB at our cost) taken from `memory`, grown when a
/// stored hash asks for more: a pool thread reuses one buffer for every sign-in instead
/// of allocating and freeing 19 MiB each time (which the allocator keeps per thread
/// arena: hundreds of MB of RSS under a flood of sign-ins). The parameters, salt and
/// length come from the PHC string, as the `argon2` crate's own verifier takes them,
/// and the result is compared in constant time.
fn verify_with(phc: &str, password: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && constant_time_eq(&out, expected.as_bytes())
}

/// A hash of a random password, checked when the user is unknown or has no password so
/// that the answer takes as long as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random_token()))
}

/// One Argon2 computation, sent to the pool: a sign-in's check, or a new password's
/// hash (set or changed through the management API or the CLI).
enum Job {
    Verify {
        phc: Option<String>,
        password: String,
        reply: oneshot::Sender<bool>,
    },
    Hash {
        password: String,
        reply: oneshot::Sender<String>,
    },
}

/// The bounded pool: `workers` threads of their own, each with one reusable Argon2
/// buffer, at a lower CPU priority (nice 10 on Linux) than the threads that answer
/// requests. A flood of sign-ins then uses the CPU the token endpoints leave idle and
/// queues for the rest, instead of delaying every other request by a hash's 30 ms.
#[derive(Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
    /// Argon2 computations sent to the pool (verifications and hashes), for `/metrics`
    /// and for tests that a throttled sign-in does none.
    computed: Arc<AtomicU64>,
}

impl PasswordPool {
    pub fn new(workers: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-pw-{i}"))
                .spawn(move || work(&queue))
                .expect("a password thread starts");
        }
        PasswordPool {
            jobs,
            computed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many Argon2 computations the pool has been given.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Hashes a new password on the pool.
    pub async fn hash(&self, password: String) -> String {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        if self
            .jobs
            .send(Job::Hash {
                password: password.clone(),
                reply,
            })
            .is_err()
        {
            // The pool's threads are gone (only at shutdown): hash here rather than lose
            // an admin's change.
            return tokio::task::spawn_blocking(move || hash(&password))
                .await
                .expect("hashing does not panic");
        }
        answer
            .await
            .expect("a pool thread answers every job it takes")
    }

    /// Verifies `password` against `phc`, or against a dummy hash when `phc` is `None`
    /// (and then answers false), on the pool.
    pub async fn verify(&self, phc: Option<String>, password: String) -> bool {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        if self
            .jobs
            .send(Job::Verify {
                phc,
                password,
                reply,
            })
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Computes the dummy hash now, so that the first unknown-user sign-in does not
    /// take twice as long as later ones.
    pub fn warm_up(&self) {
        tokio::task::spawn_blocking(|| {
            dummy_hash();
        });
    }
}

/// A pool thread: jobs until the pool is dropped (every sender gone).
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        match job {
            Job::Verify {
                phc,
                password,
                reply,
            } => {
                let ok = match &phc {
                    Some(phc) => verify_with(phc, &password, &mut memory),
                    None => {
                        let _ = verify_with(dummy_hash(), &password, &mut memory);
                        false
                    }
                };
                let _ = reply.send(ok);
            }
            Job::Hash { password, reply } => {
                let _ = reply.send(hash(&password));
            }
        }
    }
}

/// nice 10 for the calling thread (Linux schedules threads one by one).
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid and setpriority only read their integer arguments.
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if done != 0 {
        tracing::debug!("the password threads keep the normal priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

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

    #[test]
    fn verification_reuses_its_memory_and_follows_the_stored_cost() {
        let mut memory = Vec::new();
        let phc = hash("correct horse");
        assert!(verify_with(&phc, "correct horse", &mut memory));
        assert_eq!(memory.len(), 19 * 1024, "one block per KiB of m");
        assert!(!verify_with(&phc, "correct horsE", &mut memory));
        // A hash made at another cost (an older or stronger setting) still verifies.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&[3u8; 16]).unwrap();
        let other = cheap.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify_with(&other, "pw", &mut memory) && !verify_with(&other, "pW", &mut memory));
        // What the argon2 crate's verifier says, we say.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&other).unwrap();
        assert!(cheap.verify_password(b"pw", &parsed).is_ok());
        assert!(
            !verify_with(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
                "x",
                &mut memory
            ),
            "no hash"
        );
    }

    #[tokio::test]
    async fn the_pool_answers_and_an_unknown_user_is_refused() {
        let pool = PasswordPool::new(2);
        let phc = hash("correct horse");
        assert!(pool.verify(Some(phc.clone()), "correct horse".into()).await);
        assert!(!pool.verify(Some(phc), "wrong".into()).await);
        assert!(!pool.verify(None, "correct horse".into()).await);
    }
}
