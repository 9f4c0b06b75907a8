//! Single-use JWT ids: client assertions (RFC 7523 §3 item 7) and DPoP proofs
//! (RFC 9449 §11.1), across every instance sharing the database.

use async_trait::async_trait;

use super::StoreResult;
use super::db::Backend;
use crate::clock::UnixTime;

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `key_hash` (SHA-256 of the JWT's kind, issuer and `jti`) as used until
    /// `expires_at`, in one statement: true when this call recorded it, false when it
    /// is already recorded and not yet expired at `now` (a replay). An expired record
    /// the janitor has not purged yet is taken over.
    async fn use_jti_once(
        &self,
        key_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

#[async_trait]
impl<B: Backend> ReplayStore for B {
    /// One statement on both backends (SQLite ≥ 3.24 has the upsert): a new id inserts;
    /// an id recorded and still live matches the conflict and fails the `WHERE`, so
    /// nothing changes (0 rows); an id whose record expired is taken over. Concurrent
    /// inserts of one id: the primary key lets one win; PostgreSQL makes the other wait
    /// for the winner's commit and then see a live row; SQLite serialises writers.
    async fn use_jti_once(
        &self,
        key_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO used_jtis (key_hash, expires_at) VALUES ($1, $2)
                 ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE used_jtis.expires_at <= $3",
                &[key_hash.into(), expires_at.into(), now.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
