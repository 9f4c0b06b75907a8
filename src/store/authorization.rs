//! Pending authorization requests (between /authorize and the sign-in page) and
//! authorization codes. Both are single-use, each in one atomic statement.

use async_trait::async_trait;

use super::db::{Backend, Row};
use super::{AuthCode, IssuedAccess, PendingAuthorization, Redemption, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait AuthorizationStore: Send + Sync {
    async fn insert_pending(&self, pending: &PendingAuthorization) -> StoreResult<()>;
    /// Reads a pending request without taking it (to render the sign-in page).
    async fn get_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>>;
    /// Takes a pending request once: one atomic `DELETE ... RETURNING`.
    async fn take_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>>;
    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Marks the code redeemed in one statement and records the access token minted
    /// from it; a second call finds it redeemed.
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        access: &IssuedAccess,
        now: UnixTime,
    ) -> StoreResult<Redemption>;
}

fn pending_from_row(row: &impl Row) -> StoreResult<PendingAuthorization> {
    Ok(PendingAuthorization {
        id_hash: row.bytes("id_hash")?,
        request: row.text("request")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

fn code_from_row(row: &impl Row) -> StoreResult<AuthCode> {
    Ok(AuthCode {
        code_hash: row.bytes("code_hash")?,
        server_id: row.text("server_id")?,
        client_id: row.text("client_id")?,
        user_id: row.text("user_id")?,
        redirect_uri: row.text("redirect_uri")?,
        scope: row.text("scope")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        code_challenge_method: row.opt_text("code_challenge_method")?,
        auth_time: row.int("auth_time")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        access_jti: row.opt_text("access_jti")?,
        access_expires_at: row.opt_int("access_expires_at")?,
        family_id: row.opt_text("family_id")?,
        dpop_jkt: row.opt_text("dpop_jkt")?,
    })
}

#[async_trait]
impl<B: Backend> AuthorizationStore for B {
    async fn insert_pending(&self, p: &PendingAuthorization) -> StoreResult<()> {
        self.execute(
            "INSERT INTO pending_authorizations (id_hash, request, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[
                (&p.id_hash).into(),
                (&p.request).into(),
                p.created_at.into(),
                p.expires_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn get_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM pending_authorizations WHERE id_hash = $1 AND expires_at > $2",
                &[id_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(pending_from_row).transpose()
    }

    /// One taker. PostgreSQL: under READ COMMITTED a concurrent `DELETE` waits for the
    /// first to commit, then finds the row gone. SQLite: writes are serialised.
    async fn take_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let row = self
            .fetch_optional(
                "DELETE FROM pending_authorizations WHERE id_hash = $1 AND expires_at > $2
                 RETURNING *",
                &[id_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(pending_from_row).transpose()
    }

    async fn insert_code(&self, c: &AuthCode) -> StoreResult<()> {
        self.execute(
            "INSERT INTO authorization_codes (code_hash, server_id, client_id, user_id,
                redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time,
                created_at, expires_at, dpop_jkt)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                (&c.code_hash).into(),
                (&c.server_id).into(),
                (&c.client_id).into(),
                (&c.user_id).into(),
                (&c.redirect_uri).into(),
                (&c.scope).into(),
                (&c.nonce).into(),
                (&c.code_challenge).into(),
                (&c.code_challenge_method).into(),
                c.auth_time.into(),
                c.created_at.into(),
                c.expires_at.into(),
                (&c.dpop_jkt).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// One winner, however many processes race. PostgreSQL: under READ COMMITTED a
    /// concurrent `UPDATE` waits for the row lock, then re-checks `redeemed_at IS NULL`
    /// on the committed row and matches nothing. SQLite: writes are serialised.
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        access: &IssuedAccess,
        now: UnixTime,
    ) -> StoreResult<Redemption> {
        let row = self
            .fetch_optional(
                "UPDATE authorization_codes SET redeemed_at = $1, access_jti = $2,
                    access_expires_at = $3, family_id = $4
                 WHERE code_hash = $5 AND redeemed_at IS NULL RETURNING *",
                &[
                    now.into(),
                    (&access.jti).into(),
                    access.expires_at.into(),
                    (&access.family_id).into(),
                    code_hash.into(),
                ],
            )
            .await?;
        if let Some(row) = row {
            return Ok(Redemption::Redeemed(code_from_row(&row)?));
        }
        let row = self
            .fetch_optional(
                "SELECT * FROM authorization_codes WHERE code_hash = $1",
                &[code_hash.into()],
            )
            .await?;
        Ok(match row {
            Some(row) => Redemption::AlreadyRedeemed(code_from_row(&row)?),
            None => Redemption::NotFound,
        })
    }
}
