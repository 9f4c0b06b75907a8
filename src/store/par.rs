//! Pushed authorization requests (RFC 9126).

use async_trait::async_trait;

use super::db::{Backend, Row};
use super::{PushedRequest, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    async fn insert_pushed(&self, pushed: &PushedRequest) -> StoreResult<()>;
    /// Takes a pushed request once, one atomic `DELETE ... RETURNING`: only while
    /// unexpired, and only for the app and server it was pushed by and to (another
    /// app's attempt leaves it in place).
    async fn take_pushed(
        &self,
        id_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>>;
}

fn pushed_from_row(row: &impl Row) -> StoreResult<PushedRequest> {
    Ok(PushedRequest {
        id_hash: row.bytes("id_hash")?,
        server_id: row.text("server_id")?,
        client_id: row.text("client_id")?,
        params: row.text("params")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

#[async_trait]
impl<B: Backend> PushedRequestStore for B {
    async fn insert_pushed(&self, p: &PushedRequest) -> StoreResult<()> {
        self.execute(
            "INSERT INTO pushed_authorization_requests (id_hash, server_id, client_id, params,
                created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&p.id_hash).into(),
                (&p.server_id).into(),
                (&p.client_id).into(),
                (&p.params).into(),
                p.created_at.into(),
                p.expires_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_pushed(
        &self,
        id_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>> {
        let row = self
            .fetch_optional(
                "DELETE FROM pushed_authorization_requests
                 WHERE id_hash = $1 AND client_id = $2 AND server_id = $3 AND expires_at > $4
                 RETURNING *",
                &[
                    id_hash.into(),
                    client_id.into(),
                    server_id.into(),
                    now.into(),
                ],
            )
            .await?;
        row.as_ref().map(pushed_from_row).transpose()
    }
}
