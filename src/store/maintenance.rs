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
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
    /// The connection pool's state, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;
    /// Writes a consistent copy of the whole database to a new file at `to` while it
    /// stays in use (SQLite's `VACUUM INTO`). PostgreSQL has `pg_dump` for that: there
    /// it is an error.
    async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()>;
    /// Closes every connection (waiting for those in use); later calls fail.
    async fn close(&self);
}

/// A redeemed code is kept until the token minted from it expires, so that a replay
/// can still revoke it; an unredeemed one until its own expiry.
const PURGE_CODES_SQLITE: &str =
    "DELETE FROM authorization_codes WHERE MAX(expires_at, COALESCE(access_expires_at, 0)) <= $1";
const PURGE_CODES_POSTGRES: &str = "DELETE FROM authorization_codes
    WHERE GREATEST(expires_at, COALESCE(access_expires_at, 0)) <= $1";

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
        let purge_codes = match B::DIALECT {
            Dialect::Sqlite => PURGE_CODES_SQLITE,
            Dialect::Postgres => PURGE_CODES_POSTGRES,
        };
        let mut removed = 0;
        for sql in [
            "DELETE FROM pending_authorizations WHERE expires_at <= $1",
            "DELETE FROM session_tokens WHERE expires_at <= $1",
            "DELETE FROM pushed_authorization_requests WHERE expires_at <= $1",
            // A counter is kept for its window plus the longest wait after it.
            "DELETE FROM auth_throttle WHERE expires_at <= $1",
            "DELETE FROM sessions WHERE expires_at <= $1 OR ended_at IS NOT NULL",
            "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
            // A JWT id is remembered while a JWT carrying it could still be accepted.
            "DELETE FROM used_jtis WHERE expires_at <= $1",
            purge_codes,
            // A family is over when revoked, past its absolute lifetime, or when none of
            // its tokens can be used any more (idle).
            "DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR expires_at <= $1
                OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id
                    AND t.rotated_at IS NULL AND (t.idle_expires_at IS NULL OR t.idle_expires_at > $1))",
            // Rotated tokens are kept 30 days for reuse detection, then forgotten.
            "DELETE FROM refresh_tokens WHERE rotated_at <= $1 - 2592000
                AND COALESCE(access_expires_at, 0) <= $1",
        ] {
            removed += self.execute(sql, &[now.into()]).await?;
        }
        // Retired keys are unpublished long before; their private parts go too.
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
