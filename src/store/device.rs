//! Device authorization requests (RFC 8628). Each transition is one statement whose
//! `WHERE` is its condition: the user's answer at `/activate` (`PENDING` → `APPROVED`
//! or `DENIED`), a poll (its time, and `slow_down` decided against the row as it was),
//! and the redemption (`APPROVED` → `REDEEMED`), the first statement of the
//! transaction that stores what the tokens grant.
//!
//! Dialect differences: none. `slowed` is BOOLEAN on PostgreSQL and 0/1 on SQLite; both
//! read the literals `TRUE`/`FALSE`, and both evaluate every `SET` expression against
//! the row as it was before the update.

use async_trait::async_trait;

use super::db::{Backend, Row, Tx};
use super::log::{INSERT_EVENT, event_args};
use super::tokens::{INSERT_FAMILY, INSERT_TOKEN, family_args, token_args};
use super::{CodeGrant, DeviceCode, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new request. False (nothing written) when its device or user code is
    /// already taken: the caller draws new codes.
    async fn insert_device_code(&self, device: &DeviceCode) -> StoreResult<bool>;
    /// The request whose normalised user code hashes to `user_code_hash`, in any state.
    async fn find_user_code(&self, user_code_hash: &[u8]) -> StoreResult<Option<DeviceCode>>;
    /// The user's answer, once: `PENDING` becomes `APPROVED` (for `user_id`, signed in
    /// at `auth_time`) or `DENIED` in one `UPDATE ... WHERE status = 'PENDING' AND
    /// expires_at > now`. False when it was answered already or has expired.
    async fn decide_device_code(
        &self,
        user_code_hash: &[u8],
        approve: bool,
        user_id: &str,
        auth_time: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// A poll by `client_id` at `server_id`: records its time and, when the request is
    /// still pending and the last poll was less than its interval ago, raises the
    /// interval by 5 seconds and sets `slowed` (RFC 8628 §3.5), all in one statement;
    /// returns the row as it is after that. `None`: no such request for this client and
    /// server.
    async fn poll_device_code(
        &self,
        device_code_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceCode>>;
    /// Redeems an approved request and stores what it grants, in one transaction whose
    /// first statement is the single-use `UPDATE ... WHERE status = 'APPROVED'`: true
    /// when this call redeemed it (everything in `grant` is committed with it), false
    /// when it was redeemed already, is not approved or has expired (nothing written).
    async fn redeem_device_code(
        &self,
        device_code_hash: &[u8],
        grant: &CodeGrant,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

fn device_from_row(row: &impl Row) -> StoreResult<DeviceCode> {
    Ok(DeviceCode {
        device_code_hash: row.bytes("device_code_hash")?,
        user_code_hash: row.bytes("user_code_hash")?,
        server_id: row.text("server_id")?,
        client_id: row.text("client_id")?,
        scope: row.text("scope")?,
        status: row.text("status")?.parse()?,
        poll_interval: row.int("poll_interval")?,
        last_polled_at: row.opt_int("last_polled_at")?,
        slowed: row.bool("slowed")?,
        user_id: row.opt_text("user_id")?,
        auth_time: row.opt_int("auth_time")?,
        decided_at: row.opt_int("decided_at")?,
        redeemed_at: row.opt_int("redeemed_at")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

#[async_trait]
impl<B: Backend> DeviceStore for B {
    async fn insert_device_code(&self, d: &DeviceCode) -> StoreResult<bool> {
        let inserted = self
            .execute(
                "INSERT INTO device_codes (device_code_hash, user_code_hash, server_id,
                    client_id, scope, status, poll_interval, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT DO NOTHING",
                &[
                    (&d.device_code_hash).into(),
                    (&d.user_code_hash).into(),
                    (&d.server_id).into(),
                    (&d.client_id).into(),
                    (&d.scope).into(),
                    (&d.status).into(),
                    d.poll_interval.into(),
                    d.created_at.into(),
                    d.expires_at.into(),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn find_user_code(&self, user_code_hash: &[u8]) -> StoreResult<Option<DeviceCode>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM device_codes WHERE user_code_hash = $1",
                &[user_code_hash.into()],
            )
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// One answer. PostgreSQL: under READ COMMITTED a concurrent `UPDATE` waits for the
    /// first to commit, then re-checks `status = 'PENDING'` and matches nothing.
    /// SQLite: writes are serialised.
    async fn decide_device_code(
        &self,
        user_code_hash: &[u8],
        approve: bool,
        user_id: &str,
        auth_time: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let status = if approve { "APPROVED" } else { "DENIED" };
        let done = self
            .execute(
                "UPDATE device_codes SET status = $1, user_id = $2, auth_time = $3,
                    decided_at = $4
                 WHERE user_code_hash = $5 AND status = 'PENDING' AND expires_at > $4",
                &[
                    status.into(),
                    user_id.into(),
                    auth_time.into(),
                    now.into(),
                    user_code_hash.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceCode>> {
        // Every SET expression reads the row as it was: `slowed` and the new interval
        // are decided by the previous poll's time.
        let row = self
            .fetch_optional(
                "UPDATE device_codes SET
                    last_polled_at = $1,
                    slowed = CASE WHEN status = 'PENDING' AND last_polled_at IS NOT NULL
                        AND $1 - last_polled_at < poll_interval THEN TRUE ELSE FALSE END,
                    poll_interval = CASE WHEN status = 'PENDING' AND last_polled_at IS NOT NULL
                        AND $1 - last_polled_at < poll_interval THEN poll_interval + 5
                        ELSE poll_interval END
                 WHERE device_code_hash = $2 AND client_id = $3 AND server_id = $4
                 RETURNING *",
                &[
                    now.into(),
                    device_code_hash.into(),
                    client_id.into(),
                    server_id.into(),
                ],
            )
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// One winner, however many processes race: the same reasoning as `redeem_code`
    /// (a concurrent `UPDATE` waits for the winner's transaction, then finds the row
    /// `REDEEMED` and matches nothing).
    async fn redeem_device_code(
        &self,
        device_code_hash: &[u8],
        grant: &CodeGrant,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let redeemed = tx
            .execute(
                "UPDATE device_codes SET status = 'REDEEMED', redeemed_at = $1
                 WHERE device_code_hash = $2 AND status = 'APPROVED' AND expires_at > $1",
                &[now.into(), device_code_hash.into()],
            )
            .await?;
        if redeemed == 0 {
            return Ok(false);
        }
        if let Some((family, first)) = &grant.refresh {
            tx.execute(INSERT_FAMILY, &family_args(family)).await?;
            tx.execute(INSERT_TOKEN, &token_args(first)).await?;
        }
        if let Some(event) = &grant.event {
            tx.execute(INSERT_EVENT, &event_args(event)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
