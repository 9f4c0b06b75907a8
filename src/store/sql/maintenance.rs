//! Maintenance (ping, schema version, purging, pool statistics, backup), for both
//! backends.
//!
//! Dialect differences:
//! - A redeemed code is purged by the later of two times: PostgreSQL's `GREATEST`,
//!   SQLite's two-argument scalar `MAX` (both return the larger; neither argument is
//!   NULL here). The macro takes the function name as `greatest`.
//! - `backup_into` calls the store's own `backup`: SQLite writes a `VACUUM INTO` copy,
//!   PostgreSQL refuses (pg_dump does it).
//!
//! Invoked as `maintenance_store!(StoreType, greatest = "...")` in a module that has
//! the backend's `unavailable` in scope and where the store has an inherent
//! `async fn backup(&self, to: &Path) -> StoreResult<()>`.

macro_rules! maintenance_store {
    ($store:ty, greatest = $greatest:literal) => {
        #[async_trait]
        impl Maintenance for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(unavailable)?;
                Ok(())
            }

            async fn schema_version(&self) -> StoreResult<i64> {
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)
            }

            async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
                let mut removed = 0;
                for sql in [
                    "DELETE FROM pending_authorizations WHERE expires_at <= $1",
                    "DELETE FROM pushed_authorization_requests WHERE expires_at <= $1",
                    // A counter is kept for its window plus the longest wait after it.
                    "DELETE FROM auth_throttle WHERE expires_at <= $1",
                    "DELETE FROM sessions WHERE expires_at <= $1 OR ended_at IS NOT NULL",
                    "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
                    // A JWT id is remembered while a JWT carrying it could still be accepted.
                    "DELETE FROM used_jtis WHERE expires_at <= $1",
                    // A redeemed code is kept until the token minted from it expires, so that a
                    // replay can still revoke it; an unredeemed one until its own expiry.
                    concat!(
                        "DELETE FROM authorization_codes WHERE ",
                        $greatest,
                        "(expires_at, COALESCE(access_expires_at, 0)) <= $1"
                    ),
                    // A family is over when revoked, past its absolute lifetime, or when none of
                    // its tokens can be used any more (idle).
                    "DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR expires_at <= $1
                        OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id
                            AND t.rotated_at IS NULL AND (t.idle_expires_at IS NULL OR t.idle_expires_at > $1))",
                    // Rotated tokens are kept 30 days for reuse detection, then forgotten.
                    "DELETE FROM refresh_tokens WHERE rotated_at <= $1 - 2592000
                        AND COALESCE(access_expires_at, 0) <= $1",
                ] {
                    let done = sqlx::query(sql).bind(now).execute(&self.pool).await.map_err(unavailable)?;
                    removed += done.rows_affected();
                }
                // Retired keys are unpublished long before; their private parts go too.
                let done = sqlx::query("DELETE FROM signing_keys WHERE status = 'RETIRED' AND retired_at <= $1")
                    .bind(now - RETIRED_KEY_KEPT_SECONDS)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                removed += done.rows_affected();
                Ok(removed)
            }

            fn pool_stats(&self) -> PoolStats {
                let size = self.pool.size();
                let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
                PoolStats { idle, in_use: size - idle, max: self.pool.options().get_max_connections() }
            }

            async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()> {
                self.backup(to).await
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}

pub(crate) use maintenance_store;
