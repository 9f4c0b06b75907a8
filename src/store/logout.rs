//! Logout to the apps: which apps were issued codes in which session (`session_apps`),
//! and the back-channel logout deliveries still owed (`backchannel_logout_jobs`). The
//! jobs are written by `SessionStore::end_session` and `end_user_sessions`, in the
//! transaction that ends the sessions (`ENQUEUE_*` here), so a session never ends
//! without its deliveries being stored.

use async_trait::async_trait;

use super::clients::client_from_row;
use super::db::{Backend, Row};
use super::{Client, LogoutJob, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait LogoutStore: Send + Sync {
    /// Records that `client_id` was issued a code by `server_id` in the session
    /// `session_hash` (once per triple; a repeat changes nothing).
    async fn record_session_app(
        &self,
        session_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// The apps with a front-channel logout URI that were issued codes in the session,
    /// each with the authorization server that issued them, by client id.
    async fn frontchannel_apps(&self, session_hash: &[u8]) -> StoreResult<Vec<(Client, String)>>;
    /// Takes up to `limit` deliveries due at `now`: each one's attempt count goes up
    /// and its next attempt moves to `retry_at`, in one statement, so another instance
    /// (or this one, on its next round) takes it only if this attempt never finishes
    /// (a crash): then it is taken again at `retry_at`.
    async fn take_logout_jobs(
        &self,
        now: UnixTime,
        retry_at: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<LogoutJob>>;
    /// A delivery done (or given up): its row goes.
    async fn finish_logout_job(&self, id: i64) -> StoreResult<()>;
    /// A delivery that failed: tried again at `next_attempt_at`.
    async fn retry_logout_job(
        &self,
        id: i64,
        next_attempt_at: UnixTime,
        error: &str,
    ) -> StoreResult<()>;
    /// The deliveries still owed, oldest first (for an admin, and tests).
    async fn pending_logout_jobs(&self) -> StoreResult<Vec<LogoutJob>>;
}

/// The deliveries owed when the session `$2` ends at `$1`: one per app issued a code in
/// it that has a back-channel logout URI. Only a live session counts (one that ended
/// or expired before was told, or has nothing to tell).
pub(super) const ENQUEUE_SESSION: &str =
    "INSERT INTO backchannel_logout_jobs (session_hash, client_id, server_id, user_id,
        attempts, next_attempt_at, created_at)
     SELECT a.session_hash, a.client_id, a.server_id, s.user_id, 0, $1, $1
     FROM session_apps a
     JOIN sessions s ON s.id_hash = a.session_hash
     JOIN clients c ON c.client_id = a.client_id
     WHERE a.session_hash = $2 AND s.ended_at IS NULL AND s.expires_at > $1
        AND c.backchannel_logout_uri IS NOT NULL";

/// `ENQUEUE_SESSION` for every live session of the user `$2`.
pub(super) const ENQUEUE_USER: &str =
    "INSERT INTO backchannel_logout_jobs (session_hash, client_id, server_id, user_id,
        attempts, next_attempt_at, created_at)
     SELECT a.session_hash, a.client_id, a.server_id, s.user_id, 0, $1, $1
     FROM session_apps a
     JOIN sessions s ON s.id_hash = a.session_hash
     JOIN clients c ON c.client_id = a.client_id
     WHERE s.user_id = $2 AND s.ended_at IS NULL AND s.expires_at > $1
        AND c.backchannel_logout_uri IS NOT NULL";

fn job_from_row(row: &impl Row) -> StoreResult<LogoutJob> {
    Ok(LogoutJob {
        id: row.int("id")?,
        session_hash: row.bytes("session_hash")?,
        client_id: row.text("client_id")?,
        server_id: row.text("server_id")?,
        user_id: row.text("user_id")?,
        attempts: row.int("attempts")?,
        next_attempt_at: row.int("next_attempt_at")?,
        created_at: row.int("created_at")?,
        last_error: row.opt_text("last_error")?,
    })
}

#[async_trait]
impl<B: Backend> LogoutStore for B {
    async fn record_session_app(
        &self,
        session_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.execute(
            super::authorization::INSERT_SESSION_APP,
            &[
                session_hash.into(),
                client_id.into(),
                server_id.into(),
                now.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn frontchannel_apps(&self, session_hash: &[u8]) -> StoreResult<Vec<(Client, String)>> {
        let rows = self
            .fetch_all(
                "SELECT c.*, a.server_id AS issued_by FROM session_apps a
                 JOIN clients c ON c.client_id = a.client_id
                 WHERE a.session_hash = $1 AND c.frontchannel_logout_uri IS NOT NULL
                 ORDER BY c.client_id, a.server_id",
                &[session_hash.into()],
            )
            .await?;
        rows.iter()
            .map(|row| Ok((client_from_row(row)?, row.text("issued_by")?)))
            .collect()
    }

    /// The outer `next_attempt_at <= $1` is checked again on the row as it is when
    /// locked (PostgreSQL, READ COMMITTED): of two instances taking the same job at
    /// once, the second finds it moved and takes nothing. SQLite serialises writes.
    async fn take_logout_jobs(
        &self,
        now: UnixTime,
        retry_at: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<LogoutJob>> {
        let rows = self
            .fetch_all(
                "UPDATE backchannel_logout_jobs
                 SET attempts = attempts + 1, next_attempt_at = $2
                 WHERE next_attempt_at <= $1 AND id IN (
                    SELECT id FROM backchannel_logout_jobs WHERE next_attempt_at <= $1
                    ORDER BY next_attempt_at, id LIMIT $3)
                 RETURNING *",
                &[now.into(), retry_at.into(), limit.into()],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn finish_logout_job(&self, id: i64) -> StoreResult<()> {
        self.execute(
            "DELETE FROM backchannel_logout_jobs WHERE id = $1",
            &[id.into()],
        )
        .await?;
        Ok(())
    }

    async fn retry_logout_job(
        &self,
        id: i64,
        next_attempt_at: UnixTime,
        error: &str,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE backchannel_logout_jobs SET next_attempt_at = $2, last_error = $3
             WHERE id = $1",
            &[id.into(), next_attempt_at.into(), error.into()],
        )
        .await?;
        Ok(())
    }

    async fn pending_logout_jobs(&self) -> StoreResult<Vec<LogoutJob>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM backchannel_logout_jobs ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }
}
