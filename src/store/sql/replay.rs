//! Single-use JWT ids, for both backends.
//!
//! Dialect differences: none. `INSERT ... ON CONFLICT DO UPDATE ... WHERE` is one
//! statement on both (SQLite ≥ 3.24): a new id inserts; an id recorded and still
//! live matches the conflict and fails the `WHERE`, so nothing changes (0 rows); an
//! id whose record expired is taken over. Concurrent inserts of the same id: the
//! primary key lets one win; PostgreSQL makes the other wait for the winner's commit
//! and then see a live row; SQLite serialises writers.
//!
//! Invoked as `replay_store!(StoreType)` in a module that has the backend's
//! `unavailable` in scope.

macro_rules! replay_store {
    ($store:ty) => {
        #[async_trait]
        impl ReplayStore for $store {
            async fn use_jti_once(
                &self,
                key_hash: &[u8],
                expires_at: UnixTime,
                now: UnixTime,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO used_jtis (key_hash, expires_at) VALUES ($1, $2)
                     ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE used_jtis.expires_at <= $3",
                )
                .bind(key_hash)
                .bind(expires_at)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use replay_store;
