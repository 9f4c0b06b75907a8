//! Health, schema version, the janitor's purge, pool statistics, backups, closing.
//!
//! Dialect difference: a redeemed code is purged by the later of two times:
//! PostgreSQL's `GREATEST`, SQLite's two-argument scalar `MAX` (both return the larger;
//! neither argument is NULL here).

use async_trait::async_trait;

use super::db::{Backend, Dialect, Row};
use super::{PoolStats, RETIRED_KEY_KEPT_SECONDS, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Can the database answer a query?
    async fn ping(&self) -> StoreResult<()>;
    /// The schema version the database is at: the last migration applied.
    async fn schema_version(&self) -> StoreResult<i64>;
    /// Deletes rows that can no longer matter at `now` (the janitor); returns how many.
    /// In batches of at most `PURGE_BATCH` rows a statement, pausing between them.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
    /// `purge_expired` with another batch size (tests use small ones to see batches
    /// follow one another).
    async fn purge_expired_in_batches(&self, now: UnixTime, batch: i64) -> StoreResult<u64>;
    /// The connection pool's state, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;
    /// Writes a consistent copy of the whole database to a new file at `to` while it
    /// stays in use (SQLite's `VACUUM INTO`). PostgreSQL has `pg_dump` for that: there
    /// it is an error.
    async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()>;
    /// Closes every connection (waiting for those in use); later calls fail.
    async fn close(&self);
}

/// The most rows one janitor statement deletes: each batch is a short statement (on
/// SQLite, a short hold of the write lock), found through an index (migration 25), so
/// requests waiting to write get in between batches.
pub const PURGE_BATCH: i64 = 1000;

/// The pause between two full batches, so the janitor yields the database to requests.
const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// The janitor's deletes. Each deletes at most `$2` rows found through an index
/// (migration 25) with the bound `$1` (`now`), by primary key, so the same SQL runs on
/// both backends (PostgreSQL has no `DELETE ... LIMIT`).
///
/// A redeemed code is kept until the token minted from it expires, so that a replay
/// can still revoke it; an unredeemed one until its own expiry.
const PURGE_CODES_SQLITE: &str = "DELETE FROM authorization_codes WHERE code_hash IN
    (SELECT code_hash FROM authorization_codes
     WHERE MAX(expires_at, COALESCE(access_expires_at, 0)) <= $1 LIMIT $2)";
const PURGE_CODES_POSTGRES: &str = "DELETE FROM authorization_codes WHERE code_hash IN
    (SELECT code_hash FROM authorization_codes
     WHERE GREATEST(expires_at, COALESCE(access_expires_at, 0)) <= $1 LIMIT $2)";

const PURGES: &[&str] = &[
    "DELETE FROM user_tokens WHERE token_hash IN
        (SELECT token_hash FROM user_tokens WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM pending_authorizations WHERE id_hash IN
        (SELECT id_hash FROM pending_authorizations WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM session_tokens WHERE token_hash IN
        (SELECT token_hash FROM session_tokens WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM pushed_authorization_requests WHERE id_hash IN
        (SELECT id_hash FROM pushed_authorization_requests WHERE expires_at <= $1 LIMIT $2)",
    // A device authorization request is kept an hour past its expiry, so that a device
    // still polling hears `expired_token` (RFC 8628 §3.5), not an unknown code.
    "DELETE FROM device_codes WHERE device_code_hash IN
        (SELECT device_code_hash FROM device_codes WHERE expires_at <= $1 - 3600 LIMIT $2)",
    // A counter is kept for its window plus the longest wait after it.
    "DELETE FROM auth_throttle WHERE key IN
        (SELECT key FROM auth_throttle WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM sessions WHERE id_hash IN
        (SELECT id_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM sessions WHERE id_hash IN
        (SELECT id_hash FROM sessions WHERE ended_at IS NOT NULL AND ended_at <= $1 LIMIT $2)",
    "DELETE FROM revoked_access_tokens WHERE jti IN
        (SELECT jti FROM revoked_access_tokens WHERE expires_at <= $1 LIMIT $2)",
    // A JWT id is remembered while a JWT carrying it could still be accepted.
    "DELETE FROM used_jtis WHERE key_hash IN
        (SELECT key_hash FROM used_jtis WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM webauthn_challenges WHERE challenge_hash IN
        (SELECT challenge_hash FROM webauthn_challenges WHERE expires_at <= $1 LIMIT $2)",
    // A sign-in at an upstream provider that never came back (migration 39).
    "DELETE FROM idp_transactions WHERE state_hash IN
        (SELECT state_hash FROM idp_transactions WHERE expires_at <= $1 LIMIT $2)",
    // A family is over when revoked, past its absolute lifetime, or when its current
    // token (the one unrotated token every live family has: rotation marks one and
    // inserts its successor in one transaction) is past its idle expiry. Its tokens go
    // with it (ON DELETE CASCADE).
    "DELETE FROM refresh_families WHERE id IN
        (SELECT id FROM refresh_families WHERE revoked_at IS NOT NULL AND revoked_at <= $1 LIMIT $2)",
    "DELETE FROM refresh_families WHERE id IN
        (SELECT id FROM refresh_families WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM refresh_families WHERE id IN
        (SELECT t.family_id FROM refresh_tokens t
         WHERE t.rotated_at IS NULL AND t.idle_expires_at <= $1
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens l WHERE l.family_id = t.family_id
               AND l.rotated_at IS NULL AND (l.idle_expires_at IS NULL OR l.idle_expires_at > $1))
         LIMIT $2)",
    // Rotated tokens are kept 30 days for reuse detection, then forgotten.
    "DELETE FROM refresh_tokens WHERE token_hash IN
        (SELECT token_hash FROM refresh_tokens
         WHERE rotated_at <= $1 - 2592000 AND COALESCE(access_expires_at, 0) <= $1 LIMIT $2)",
];

/// Runs one of the janitor's deletes (`$1` the bound, `$2` the batch size) until a
/// batch comes back short, pausing between batches; returns how many rows went.
pub(super) async fn delete_in_batches<B: Backend>(
    db: &B,
    sql: &str,
    bound: UnixTime,
    batch: i64,
) -> StoreResult<u64> {
    let batch = batch.max(1);
    let mut removed = 0;
    loop {
        let n = db.execute(sql, &[bound.into(), batch.into()]).await?;
        removed += n;
        if n < batch as u64 {
            return Ok(removed);
        }
        tokio::time::sleep(PURGE_PAUSE).await;
    }
}

#[async_trait]
impl<B: Backend> Maintenance for B {
    async fn ping(&self) -> StoreResult<()> {
        self.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let row = self
            .fetch_optional(
                "SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations",
                &[],
            )
            .await?;
        row.map_or(Ok(0), |row| row.int("version"))
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        self.purge_expired_in_batches(now, PURGE_BATCH).await
    }

    async fn purge_expired_in_batches(&self, now: UnixTime, batch: i64) -> StoreResult<u64> {
        let purge_codes = match B::DIALECT {
            Dialect::Sqlite => PURGE_CODES_SQLITE,
            Dialect::Postgres => PURGE_CODES_POSTGRES,
        };
        let mut removed = 0;
        for sql in PURGES.iter().copied().chain([purge_codes]) {
            removed += delete_in_batches(self, sql, now, batch).await?;
        }
        // Retired keys are unpublished long before; their private parts go too (a few
        // rows per server: one statement).
        removed += self
            .execute(
                "DELETE FROM signing_keys WHERE status = 'RETIRED' AND retired_at <= $1",
                &[(now - RETIRED_KEY_KEPT_SECONDS).into()],
            )
            .await?;
        Ok(removed)
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool_state()
    }

    async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()> {
        self.copy_into(to).await
    }

    async fn close(&self) {
        self.close_pool().await;
    }
}
