//! The durable job queue: work that follows a request but must not hold it up (an
//! e-mail to send, a notice to deliver), kept in the database so that a crash or a
//! restart loses nothing, and run by a worker (`Worker`) that `app` starts beside the
//! janitor.
//!
//! - **Enqueue** with `Queue::enqueue`, or, where the job must exist exactly when some
//!   other write does, build the row with `Queue::job` and insert it in that write's
//!   transaction (a store method taking a `NewJob`), then `Queue::wake` the worker.
//! - **Claim** is one statement (`JobStore::claim_job`): of several workers, on one
//!   instance or many sharing PostgreSQL, exactly one gets a due job. The claim is a
//!   lease: a worker that dies holding a job gives it back when the lease runs out.
//! - **Retry** with a doubling delay (`backoff`), and **give up** after
//!   `max_attempts`: the job is kept DEAD for a while and the System Log records it
//!   (`system.job.dead`, in the same transaction).
//!
//! A payload is sealed with the master key (AES-256-GCM, bound to the job's id), since
//! an e-mail may carry a single-use link; the row is deleted once the job is done.

mod worker;

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::config::JobsConfig;
use crate::crypto::{MasterKey, okta_id};
use crate::store::{DynStore, NewJob, StoreResult};

pub use worker::{Handler, Handlers, Outcome, Worker};

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For the log and the job's `last_error`; never a secret.
    pub reason: String,
    /// Retrying cannot help (a malformed payload, an address the server refuses): the
    /// job is given up at once.
    pub permanent: bool,
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            permanent: false,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            permanent: true,
        }
    }
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones (1 or more):
/// `base`, then doubling, at most `max`.
pub fn backoff(attempts: i64, base: i64, max: i64) -> i64 {
    let doublings = (attempts.max(1) - 1).min(40) as u32;
    base.saturating_mul(1_i64 << doublings).min(max).max(0)
}

/// The context a payload is sealed under: its job's id, so a sealed payload cannot be
/// moved to another row.
fn seal_context(id: &str) -> Vec<u8> {
    format!("gatehouse job {id}").into_bytes()
}

/// Puts jobs in the queue and wakes this process's worker. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    store: DynStore,
    master: MasterKey,
    config: JobsConfig,
    wake: Arc<tokio::sync::Notify>,
}

impl Queue {
    pub fn new(store: DynStore, master: MasterKey, config: JobsConfig) -> Queue {
        Queue {
            store,
            master,
            config,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// A job's row, its payload sealed, due at `now`: for a store method that inserts
    /// it in the transaction of another write. Call `wake` after that commits.
    pub fn job(&self, kind: &str, payload: &[u8], now: UnixTime) -> NewJob {
        let id = okta_id("job");
        NewJob {
            payload: self.master.encrypt(payload, &seal_context(&id)),
            id,
            kind: kind.into(),
            max_attempts: self.config.max_attempts,
            run_at: now,
            created_at: now,
        }
    }

    /// Inserts a job due at `now` and wakes the worker; returns its id.
    pub async fn enqueue(&self, kind: &str, payload: &[u8], now: UnixTime) -> StoreResult<String> {
        let job = self.job(kind, payload, now);
        self.store.enqueue_job(&job).await?;
        self.wake();
        Ok(job.id)
    }

    /// Tells this process's worker a job is due, so it need not wait for its next poll
    /// (other instances find it at theirs).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A job's payload in clear.
    fn open(&self, id: &str, sealed: &[u8]) -> Result<Vec<u8>, Failure> {
        self.master
            .decrypt(sealed, &seal_context(id))
            .map_err(|_| Failure::permanent("the payload cannot be opened with this master key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_base_up_to_max() {
        let delays: Vec<i64> = (1..=8).map(|n| backoff(n, 30, 3600)).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600]);
        assert_eq!(backoff(0, 30, 3600), 30);
        assert_eq!(backoff(1_000, 30, 3600), 3600);
        assert_eq!(backoff(i64::MAX, i64::MAX, i64::MAX), i64::MAX);
    }
}
