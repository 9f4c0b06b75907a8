//! The durable job queue on each backend: racing workers run every job once, a lease
//! that runs out hands the job to the next worker (and the late one changes nothing),
//! failures back off and end DEAD in the System Log, payloads are sealed at rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gatehouse::config::JobsConfig;
use gatehouse::crypto::MasterKey;
use gatehouse::jobs::{Failure, Handler, Handlers, Outcome, Queue, Worker, backoff};
use gatehouse::store::{DynStore, Page};

use crate::store::{on_postgres, on_sqlite};

/// Records each payload it runs; fails a payload `fail:N` its first N runs, and
/// `never` always (`broken`: permanently).
#[derive(Default)]
struct Recorder {
    runs: Mutex<Vec<String>>,
}

#[async_trait]
impl Handler for Recorder {
    async fn run(&self, payload: &[u8]) -> Result<(), Failure> {
        let text = String::from_utf8(payload.to_vec()).unwrap();
        let mut runs = self.runs.lock().unwrap();
        runs.push(text.clone());
        let seen = runs.iter().filter(|r| **r == text).count();
        match text.split_once(':') {
            Some(("fail", n)) if seen <= n.parse().unwrap() => {
                Err(Failure::transient(format!("refused run {seen}")))
            }
            _ if text == "never" => Err(Failure::transient("connection refused")),
            _ if text == "broken" => Err(Failure::permanent("no such mailbox")),
            _ => Ok(()),
        }
    }
}

fn config() -> JobsConfig {
    JobsConfig {
        max_attempts: 3,
        backoff_seconds: 10,
        max_backoff_seconds: 15,
        lease_seconds: 60,
        poll_interval_ms: 50,
        dead_retention_days: 1,
    }
}

async fn the_queue_runs_each_job_once_retries_and_gives_up(store: DynStore) {
    let queue = Queue::new(store.clone(), MasterKey::from_bytes(&[7; 32]), config());
    let recorder = Arc::new(Recorder::default());
    let mut handlers: Handlers = HashMap::new();
    handlers.insert("test.record", recorder.clone());
    let worker = Worker::new(queue.clone(), handlers);
    let now = 1_000_000;

    // Sealed at rest: the payload is not in the row in clear.
    let id = queue
        .enqueue("test.record", b"secret-link", now)
        .await
        .unwrap();
    let row = store.find_job(&id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("QUEUED", 0));
    assert!(!row.payload.windows(11).any(|w| w == b"secret-link"));
    assert_eq!(worker.run_one(now).await.unwrap(), Some(Outcome::Done));
    assert_eq!(store.find_job(&id).await.unwrap(), None, "done: deleted");
    assert_eq!(worker.run_one(now).await.unwrap(), None);

    // Four workers racing over 24 jobs: each runs exactly once.
    recorder.runs.lock().unwrap().clear();
    for i in 0..24 {
        queue
            .enqueue("test.record", format!("job {i}").as_bytes(), now)
            .await
            .unwrap();
    }
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let worker = worker.clone();
            tokio::spawn(async move {
                let mut done = 0;
                while let Some(outcome) = worker.run_one(now).await.unwrap() {
                    assert_eq!(outcome, Outcome::Done);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for racer in racers {
        total += racer.await.unwrap();
    }
    let mut runs = recorder.runs.lock().unwrap().clone();
    runs.sort();
    runs.dedup();
    assert_eq!((total, runs.len()), (24, 24), "every job once, none twice");
    assert!(store.list_jobs(None, 100).await.unwrap().is_empty());

    // Ten claimers of one job at once: one wins.
    let id = queue.enqueue("test.record", b"one", now).await.unwrap();
    let claims: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_job(&format!("claim{i}"), now, now + 60)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = Vec::new();
    for claim in claims {
        won.extend(claim.await.unwrap());
    }
    assert_eq!(won.len(), 1, "exactly one claimer holds it");
    let holder = won[0].claim.clone().unwrap();
    assert_eq!((won[0].id.as_str(), won[0].attempts), (id.as_str(), 1));

    // Its holder died: nobody gets it during the lease, the next worker after it.
    assert_eq!(worker.run_one(now + 59).await.unwrap(), None);
    assert_eq!(worker.run_one(now + 60).await.unwrap(), Some(Outcome::Done));
    // The late holder can no longer finish, retry or bury it.
    assert!(!store.finish_job(&id, &holder).await.unwrap());
    assert!(!store.retry_job(&id, &holder, now, "late").await.unwrap());

    // A transient failure backs off, doubling, and succeeds on a later attempt.
    let id = queue.enqueue("test.record", b"fail:1", now).await.unwrap();
    let retry_at = now + backoff(1, 10, 15);
    assert_eq!(
        worker.run_one(now).await.unwrap(),
        Some(Outcome::Retry { at: retry_at })
    );
    let row = store.find_job(&id).await.unwrap().unwrap();
    assert_eq!(row.last_error.as_deref(), Some("refused run 1"));
    assert_eq!(worker.run_one(retry_at - 1).await.unwrap(), None, "not due");
    assert_eq!(worker.run_one(retry_at).await.unwrap(), Some(Outcome::Done));

    // Failing every attempt: 10 s, then 15 s (the most), then given up.
    let id = queue.enqueue("test.record", b"never", now).await.unwrap();
    let mut at = now;
    for wait in [10, 15] {
        assert_eq!(
            worker.run_one(at).await.unwrap(),
            Some(Outcome::Retry { at: at + wait })
        );
        at += wait;
    }
    assert_eq!(worker.run_one(at).await.unwrap(), Some(Outcome::Dead));
    let dead = store.find_job(&id).await.unwrap().unwrap();
    assert_eq!((dead.status.as_str(), dead.attempts), ("DEAD", 3));
    assert_eq!(dead.last_error.as_deref(), Some("connection refused"));
    assert_eq!(
        worker.run_one(at + 86_400).await.unwrap(),
        None,
        "a dead job stays dead"
    );

    // A permanent failure and a kind without a handler are given up at once.
    let broken = queue.enqueue("test.record", b"broken", at).await.unwrap();
    assert_eq!(worker.run_one(at).await.unwrap(), Some(Outcome::Dead));
    let unknown = queue.enqueue("test.unknown", b"x", at).await.unwrap();
    assert_eq!(worker.run_one(at).await.unwrap(), Some(Outcome::Dead));
    let unknown = store.find_job(&unknown).await.unwrap().unwrap();
    assert_eq!(
        unknown.last_error.as_deref(),
        Some("no handler for jobs of kind test.unknown")
    );

    // Each give-up is in the System Log, without the payload.
    let events = store
        .query_events(&Page {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let dead: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "system.job.dead")
        .collect();
    assert_eq!(dead.len(), 3);
    assert!(dead.iter().any(|e| e.target_ids == [id.clone()]));
    assert!(dead.iter().any(|e| e.target_ids == [broken.clone()]));
    assert!(dead.iter().all(|e| e.outcome_result == "FAILURE"
        && !e.event.contains("never")
        && !e.event.contains("broken\"")));

    // Dead jobs are kept a day here, then purged.
    assert_eq!(store.purge_dead_jobs(at + 86_399).await.unwrap(), 0);
    assert_eq!(store.purge_dead_jobs(at + 86_400).await.unwrap(), 3);
    assert!(store.list_jobs(None, 100).await.unwrap().is_empty());
}

/// A job whose lease ran out on its last attempt is given up when claimed again,
/// without running a fourth time.
async fn a_job_whose_last_lease_ran_out_is_given_up(store: DynStore) {
    let queue = Queue::new(store.clone(), MasterKey::from_bytes(&[7; 32]), config());
    let recorder = Arc::new(Recorder::default());
    let mut handlers: Handlers = HashMap::new();
    handlers.insert("test.record", recorder.clone());
    let worker = Worker::new(queue.clone(), handlers);
    let id = queue.enqueue("test.record", b"hangs", 0).await.unwrap();
    for attempt in 0..3 {
        let job = store
            .claim_job("dying worker", attempt * 60, attempt * 60 + 60)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.attempts, attempt + 1);
    }
    assert_eq!(worker.run_one(180).await.unwrap(), Some(Outcome::Dead));
    assert!(recorder.runs.lock().unwrap().is_empty());
    assert_eq!(store.find_job(&id).await.unwrap().unwrap().status, "DEAD");
}

async fn both(store: DynStore) {
    the_queue_runs_each_job_once_retries_and_gives_up(store.clone()).await;
    a_job_whose_last_lease_ran_out_is_given_up(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    on_sqlite(both).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    on_postgres(both).await;
}
