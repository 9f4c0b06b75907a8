//! Dynamic client registration (RFC 7591, RFC 7592): the initial access tokens that let
//! their holder register clients, and each registered client's registration access
//! token. Both are stored as the SHA-256 of their value.
//!
//! The one-time steps are single statements inside the transaction that writes what
//! they allow: a registration counts its use of the initial access token (`uses = uses
//! + 1 WHERE uses < max_uses AND ...`) before inserting the client; an update replaces
//! the registration access token (`WHERE token_hash = <the one presented>`) before
//! writing the client. Two processes presenting the same token: PostgreSQL makes the
//! second `UPDATE` of the row wait for the first to commit and then re-checks its
//! `WHERE`, which no longer matches; SQLite serialises the writers. One winner.
//!
//! Dialect differences: none.

use async_trait::async_trait;

use super::clients::{INSERT_CLIENT, UPDATE_CLIENT, client_columns, update_client_args};
use super::db::{Backend, Row, Tx};
use super::{Client, InitialAccessToken, RegisteredWrite, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn insert_initial_token(&self, token: &InitialAccessToken) -> StoreResult<()>;
    /// Every initial access token, revoked and spent ones too, oldest first.
    async fn list_initial_tokens(&self) -> StoreResult<Vec<InitialAccessToken>>;
    /// The initial access token with this SHA-256, whatever its state.
    async fn find_initial_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<InitialAccessToken>>;
    /// Revokes a token once; true when this call did.
    async fn revoke_initial_token(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Registers `client` with the registration access token hashing to `token_hash`, in
    /// one transaction. With `initial` (an initial access token's hash) its first
    /// statement counts one use of that token, only while it is unrevoked, unexpired and
    /// has a use left; false (nothing written) when it had none.
    async fn register_client(
        &self,
        initial: Option<&[u8]>,
        client: &Client,
        token_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// The client whose registration access token hashes to `token_hash`.
    async fn registered_client_id(&self, token_hash: &[u8]) -> StoreResult<Option<String>>;
    /// Writes `client` (if its version is still `client.version`) and replaces its
    /// registration access token `old_hash` by `new_hash`, in one transaction whose
    /// first statement is the replacement.
    async fn update_registered(
        &self,
        client: &Client,
        old_hash: &[u8],
        new_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<RegisteredWrite>;
    /// Deletes the client if `token_hash` is still its registration access token, in
    /// one statement; true when this call deleted it.
    async fn delete_registered(&self, client_id: &str, token_hash: &[u8]) -> StoreResult<bool>;
}

fn initial_from_row(row: &impl Row) -> StoreResult<InitialAccessToken> {
    Ok(InitialAccessToken {
        id: row.text("id")?,
        name: row.text("name")?,
        token_hash: row.bytes("token_hash")?,
        created_by: row.text("created_by")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        max_uses: row.int("max_uses")?,
        uses: row.int("uses")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

#[async_trait]
impl<B: Backend> RegistrationStore for B {
    async fn insert_initial_token(&self, t: &InitialAccessToken) -> StoreResult<()> {
        self.execute(
            "INSERT INTO initial_access_tokens (id, name, token_hash, created_by, created_at,
                expires_at, max_uses, uses, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                (&t.id).into(),
                (&t.name).into(),
                (&t.token_hash).into(),
                (&t.created_by).into(),
                t.created_at.into(),
                t.expires_at.into(),
                t.max_uses.into(),
                t.uses.into(),
                t.revoked_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_initial_tokens(&self) -> StoreResult<Vec<InitialAccessToken>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM initial_access_tokens ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(initial_from_row).collect()
    }

    async fn find_initial_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<InitialAccessToken>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM initial_access_tokens WHERE token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        row.as_ref().map(initial_from_row).transpose()
    }

    async fn revoke_initial_token(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE initial_access_tokens SET revoked_at = $1
                 WHERE id = $2 AND revoked_at IS NULL",
                &[now.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn register_client(
        &self,
        initial: Option<&[u8]>,
        client: &Client,
        token_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if let Some(initial) = initial {
            let used = tx
                .execute(
                    "UPDATE initial_access_tokens SET uses = uses + 1
                     WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2
                       AND uses < max_uses",
                    &[initial.into(), now.into()],
                )
                .await?;
            if used == 0 {
                return Ok(false);
            }
        }
        tx.execute(INSERT_CLIENT, &client_columns(client)).await?;
        tx.execute(
            "INSERT INTO registration_tokens (client_id, token_hash, issued_at)
             VALUES ($1, $2, $3)",
            &[(&client.client_id).into(), token_hash.into(), now.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn registered_client_id(&self, token_hash: &[u8]) -> StoreResult<Option<String>> {
        let row = self
            .fetch_optional(
                "SELECT client_id FROM registration_tokens WHERE token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        row.map(|row| row.text("client_id")).transpose()
    }

    async fn update_registered(
        &self,
        client: &Client,
        old_hash: &[u8],
        new_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<RegisteredWrite> {
        let mut tx = self.begin().await?;
        let replaced = tx
            .execute(
                "UPDATE registration_tokens SET token_hash = $1, issued_at = $2
                 WHERE client_id = $3 AND token_hash = $4",
                &[
                    new_hash.into(),
                    now.into(),
                    (&client.client_id).into(),
                    old_hash.into(),
                ],
            )
            .await?;
        if replaced == 0 {
            return Ok(RegisteredWrite::TokenGone);
        }
        if tx
            .execute(UPDATE_CLIENT, &update_client_args(client))
            .await?
            == 0
        {
            return Ok(RegisteredWrite::Stale);
        }
        tx.commit().await?;
        Ok(RegisteredWrite::Done)
    }

    async fn delete_registered(&self, client_id: &str, token_hash: &[u8]) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM clients WHERE client_id = $1 AND EXISTS (
                    SELECT 1 FROM registration_tokens r
                    WHERE r.client_id = $1 AND r.token_hash = $2)",
                &[client_id.into(), token_hash.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
