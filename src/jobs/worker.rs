//! The worker: claims due jobs one at a time and runs each kind's `Handler`, outside
//! any request. Started by `app` with the server; every instance runs one, and the
//! claim statement keeps them from running a job twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Failure, Queue, backoff};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::{Clock, UnixTime};
use crate::crypto::random_token;
use crate::store::Job;

/// What runs one kind of job. `payload` is what was enqueued, in clear.
#[async_trait]
pub trait Handler: Send + Sync {
    async fn run(&self, payload: &[u8]) -> Result<(), Failure>;
}

/// The handler of each job kind.
pub type Handlers = HashMap<&'static str, Arc<dyn Handler>>;

/// What became of a claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done and deleted.
    Done,
    /// Failed; claimed again from `at`.
    Retry { at: UnixTime },
    /// Given up: DEAD, and in the System Log.
    Dead,
    /// The lease ran out before the handler finished, and another worker may have the
    /// job now: nothing was written.
    LeaseLost,
}

/// Runs due jobs with the handlers for their kinds.
#[derive(Clone)]
pub struct Worker {
    queue: Queue,
    handlers: Arc<Handlers>,
}

/// Who gives a job up, in the System Log.
fn worker_actor() -> Actor {
    Actor {
        id: "jobs".into(),
        kind: "SystemPrincipal",
        alternate_id: "jobs".into(),
        display_name: "Gatehouse job worker".into(),
        ip: None,
    }
}

impl Worker {
    pub fn new(queue: Queue, handlers: Handlers) -> Worker {
        Worker {
            queue,
            handlers: Arc::new(handlers),
        }
    }

    /// Claims the job due longest at `now` and runs it; None when nothing is due. The
    /// handler may take at most the lease (less a second): past that it is abandoned
    /// and the job is retried, here or elsewhere.
    pub async fn run_one(&self, now: UnixTime) -> crate::store::StoreResult<Option<Outcome>> {
        let config = self.queue.config().clone();
        let claim = random_token();
        let lease_until = now + config.lease_seconds;
        let Some(job) = self.queue.store.claim_job(&claim, now, lease_until).await? else {
            return Ok(None);
        };
        let result = if job.attempts > job.max_attempts {
            // Claimed again after a lease ran out on its last attempt (its worker died
            // or hung): it has had all its attempts.
            Err(Failure::permanent(format!(
                "gave up after {} attempts; the last one did not report back",
                job.max_attempts
            )))
        } else {
            self.run_handler(&job, config.lease_seconds).await
        };
        let store = &self.queue.store;
        let outcome = match result {
            Ok(()) => match store.finish_job(&job.id, &claim).await? {
                true => Outcome::Done,
                false => Outcome::LeaseLost,
            },
            Err(failure) if failure.permanent || job.attempts >= job.max_attempts => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, reason = %failure.reason, "job given up");
                let event = dead_event(&job, &failure.reason);
                let row = syslog::row(&worker_actor(), &event, now);
                let keep_until = now + config.dead_retention_days * 86_400;
                match store
                    .bury_job(&job.id, &claim, &failure.reason, keep_until, &row)
                    .await?
                {
                    true => Outcome::Dead,
                    false => Outcome::LeaseLost,
                }
            }
            Err(failure) => {
                let at = now
                    + backoff(
                        job.attempts,
                        config.backoff_seconds,
                        config.max_backoff_seconds,
                    );
                tracing::info!(job = %job.id, kind = %job.kind, attempts = job.attempts, retry_at = at, reason = %failure.reason, "job failed; will retry");
                match store
                    .retry_job(&job.id, &claim, at, &failure.reason)
                    .await?
                {
                    true => Outcome::Retry { at },
                    false => Outcome::LeaseLost,
                }
            }
        };
        Ok(Some(outcome))
    }

    async fn run_handler(&self, job: &Job, lease_seconds: i64) -> Result<(), Failure> {
        let Some(handler) = self.handlers.get(job.kind.as_str()) else {
            return Err(Failure::permanent(format!(
                "no handler for jobs of kind {}",
                job.kind
            )));
        };
        let payload = self.queue.open(&job.id, &job.payload)?;
        let limit = Duration::from_secs((lease_seconds - 1).max(1) as u64);
        match tokio::time::timeout(limit, handler.run(&payload)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::transient("took longer than its lease")),
        }
    }

    /// Runs jobs until none is due, then waits for a `Queue::wake` or the poll
    /// interval, forever (the task is aborted when the server stops). A database error
    /// is logged and waited out; a request is never held up by it.
    pub fn spawn(self, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let poll = Duration::from_millis(self.queue.config().poll_interval_ms.max(10));
            let mut last_purge = 0;
            loop {
                loop {
                    let now = clock.now();
                    if now - last_purge >= 300 {
                        last_purge = now;
                        if let Err(e) = self.queue.store.purge_dead_jobs(now).await {
                            tracing::warn!(error = %e, "cannot purge old dead jobs");
                        }
                    }
                    match self.run_one(now).await {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "job worker: the database failed");
                            break;
                        }
                    }
                }
                tokio::select! {
                    () = self.queue.wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        })
    }
}

/// The System Log's record of a job given up.
fn dead_event(job: &Job, reason: &str) -> Event {
    Event::failure(
        "system.job.dead",
        format!("Gave up a {} job after {} attempts", job.kind, job.attempts),
        reason,
        vec![Target::new(&job.id, "Job", &job.kind)],
    )
    .with_debug("kind", job.kind.clone())
    .with_debug("attempts", job.attempts)
}
