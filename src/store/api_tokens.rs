//! Management API tokens (`Authorization: SSWS ...`), by the SHA-256 of their value.

use async_trait::async_trait;

use super::db::{Backend, Row};
use super::{ApiToken, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// The token that is not revoked with this SHA-256.
    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<ApiToken>>;
    /// Every token, revoked ones too, oldest first.
    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token once; true when this call did.
    async fn revoke_api_token(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
}

fn api_token_from_row(row: &impl Row) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.text("id")?,
        name: row.text("name")?,
        token_hash: row.bytes("token_hash")?,
        created_by: row.text("created_by")?,
        created_at: row.int("created_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

#[async_trait]
impl<B: Backend> ApiTokenStore for B {
    async fn insert_api_token(&self, t: &ApiToken) -> StoreResult<()> {
        self.execute(
            "INSERT INTO api_tokens (id, name, token_hash, created_by, created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&t.id).into(),
                (&t.name).into(),
                (&t.token_hash).into(),
                (&t.created_by).into(),
                t.created_at.into(),
                t.revoked_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<ApiToken>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                &[token_hash.into()],
            )
            .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows = self
            .fetch_all("SELECT * FROM api_tokens ORDER BY created_at, id", &[])
            .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[now.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
