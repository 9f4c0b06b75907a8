//! The durable job queue's rows (`src/jobs/` runs them): enqueue, claim under a lease,
//! finish, retry later, give up.
//!
//! Every transition is one statement whose `WHERE` is its condition. A claim picks the
//! oldest due job and leases it in the same `UPDATE`: on SQLite the write lock orders
//! claimers; on PostgreSQL the subquery's `FOR UPDATE SKIP LOCKED` lets racing claimers
//! each take a different row, and the outer `WHERE` is re-checked on the row as the
//! winner left it, so a job is never handed out twice while its lease runs. Finishing,
//! retrying and burying name the claim token, so a worker whose lease ran out (and
//! whose job another worker took) changes nothing.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Arg, Backend, Dialect, Row, Tx};
use super::log::{INSERT_EVENT, event_args};
use super::models::LogEvent;
use crate::clock::UnixTime;

/// A job to insert: its payload already sealed by `jobs::Queue`.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub kind: String,
    pub payload: Vec<u8>,
    pub max_attempts: i64,
    /// The earliest time a worker may claim it.
    pub run_at: UnixTime,
    pub created_at: UnixTime,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: Vec<u8>,
    /// `QUEUED` or `DEAD`.
    pub status: String,
    /// Claims so far, this one included when the job was just claimed.
    pub attempts: i64,
    pub max_attempts: i64,
    /// QUEUED: when it may be claimed (while leased: the end of the lease). DEAD: when
    /// the janitor deletes it.
    pub run_at: UnixTime,
    pub claim: Option<String>,
    pub last_error: Option<String>,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Inserts a QUEUED job.
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()>;
    /// Claims the job due longest (QUEUED, `run_at <= now`), in one statement: counts
    /// the attempt, sets `claim` and moves `run_at` to `lease_until`, so it is claimed
    /// again only if this claimer neither finishes nor retries it before then. None:
    /// nothing is due (or every due job is being claimed by someone else right now).
    async fn claim_job(
        &self,
        claim: &str,
        now: UnixTime,
        lease_until: UnixTime,
    ) -> StoreResult<Option<Job>>;
    /// Deletes a job done, if `claim` still holds it; false: the lease was lost.
    async fn finish_job(&self, id: &str, claim: &str) -> StoreResult<bool>;
    /// Puts a failed job back to be claimed at `run_at`, if `claim` still holds it.
    async fn retry_job(
        &self,
        id: &str,
        claim: &str,
        run_at: UnixTime,
        error: &str,
    ) -> StoreResult<bool>;
    /// Gives a job up (DEAD, kept until `keep_until`) and writes `event` to the System
    /// Log, in one transaction, if `claim` still holds it; else writes nothing.
    async fn bury_job(
        &self,
        id: &str,
        claim: &str,
        error: &str,
        keep_until: UnixTime,
        event: &LogEvent,
    ) -> StoreResult<bool>;
    /// One job, in whatever state.
    async fn find_job(&self, id: &str) -> StoreResult<Option<Job>>;
    /// Jobs of `kind` (every kind: None), oldest first, at most `limit`.
    async fn list_jobs(&self, kind: Option<&str>, limit: i64) -> StoreResult<Vec<Job>>;
    /// Deletes DEAD jobs kept until `now` or before; returns how many.
    async fn purge_dead_jobs(&self, now: UnixTime) -> StoreResult<u64>;
}

/// A job's row, alone or in the transaction of the write that asks for it (so the job
/// exists if and only if that write does).
pub(super) const INSERT_JOB: &str = "INSERT INTO jobs (id, kind, payload, status, attempts,
        max_attempts, run_at, created_at) VALUES ($1, $2, $3, 'QUEUED', 0, $4, $5, $6)";

pub(super) fn job_args(job: &NewJob) -> [Arg<'_>; 6] {
    [
        (&job.id).into(),
        (&job.kind).into(),
        (&job.payload).into(),
        job.max_attempts.into(),
        job.run_at.into(),
        job.created_at.into(),
    ]
}

/// `$1` claim, `$2` now, `$3` lease end. SQLite has one writer at a time, so the
/// subquery and the update see the same rows.
const CLAIM_SQLITE: &str = "UPDATE jobs SET claim = $1, attempts = attempts + 1, run_at = $3
    WHERE id = (SELECT id FROM jobs WHERE status = 'QUEUED' AND run_at <= $2
                ORDER BY run_at, id LIMIT 1)
      AND status = 'QUEUED' AND run_at <= $2
    RETURNING *";
/// PostgreSQL: the subquery locks the row it picks and skips rows another claimer has
/// locked; the outer `WHERE` is checked again after any wait, on the committed row.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET claim = $1, attempts = attempts + 1, run_at = $3
    WHERE id = (SELECT id FROM jobs WHERE status = 'QUEUED' AND run_at <= $2
                ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND status = 'QUEUED' AND run_at <= $2
    RETURNING *";

fn job_from_row(row: &impl Row) -> StoreResult<Job> {
    Ok(Job {
        id: row.text("id")?,
        kind: row.text("kind")?,
        payload: row.bytes("payload")?,
        status: row.text("status")?,
        attempts: row.int("attempts")?,
        max_attempts: row.int("max_attempts")?,
        run_at: row.int("run_at")?,
        claim: row.opt_text("claim")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.int("created_at")?,
    })
}

#[async_trait]
impl<B: Backend> JobStore for B {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        self.execute(INSERT_JOB, &job_args(job)).await?;
        Ok(())
    }

    async fn claim_job(
        &self,
        claim: &str,
        now: UnixTime,
        lease_until: UnixTime,
    ) -> StoreResult<Option<Job>> {
        let sql = match B::DIALECT {
            Dialect::Sqlite => CLAIM_SQLITE,
            Dialect::Postgres => CLAIM_POSTGRES,
        };
        let row = self
            .fetch_optional(sql, &[claim.into(), now.into(), lease_until.into()])
            .await?;
        row.map(|r| job_from_row(&r)).transpose()
    }

    async fn finish_job(&self, id: &str, claim: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM jobs WHERE id = $1 AND claim = $2 AND status = 'QUEUED'",
                &[id.into(), claim.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn retry_job(
        &self,
        id: &str,
        claim: &str,
        run_at: UnixTime,
        error: &str,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE jobs SET claim = NULL, run_at = $3, last_error = $4
                 WHERE id = $1 AND claim = $2 AND status = 'QUEUED'",
                &[id.into(), claim.into(), run_at.into(), error.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn bury_job(
        &self,
        id: &str,
        claim: &str,
        error: &str,
        keep_until: UnixTime,
        event: &LogEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let buried = tx
            .execute(
                "UPDATE jobs SET status = 'DEAD', claim = NULL, run_at = $3, last_error = $4
                 WHERE id = $1 AND claim = $2 AND status = 'QUEUED'",
                &[id.into(), claim.into(), keep_until.into(), error.into()],
            )
            .await?;
        if buried != 1 {
            return Ok(false);
        }
        tx.execute(INSERT_EVENT, &event_args(event)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_job(&self, id: &str) -> StoreResult<Option<Job>> {
        let row = self
            .fetch_optional("SELECT * FROM jobs WHERE id = $1", &[id.into()])
            .await?;
        row.map(|r| job_from_row(&r)).transpose()
    }

    async fn list_jobs(&self, kind: Option<&str>, limit: i64) -> StoreResult<Vec<Job>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM jobs WHERE ($1 IS NULL OR kind = $1)
                 ORDER BY created_at, id LIMIT $2",
                &[Arg::Text(kind), limit.into()],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn purge_dead_jobs(&self, now: UnixTime) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM jobs WHERE status = 'DEAD' AND run_at <= $1",
            &[now.into()],
        )
        .await
    }
}
