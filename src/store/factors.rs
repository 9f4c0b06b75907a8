//! Second factors (`user_factors`) and one-time recovery codes (`recovery_codes`).
//! Every acceptance of a code is one statement whose `WHERE` is the condition: a TOTP
//! step only later than the last one accepted, a recovery code only while unused.

use async_trait::async_trait;

use super::db::{Backend, Row, Tx};
use super::jobs::{INSERT_JOB, job_args};
use super::{FactorStatus, NewJob, StoreResult, UserFactor};
use crate::clock::UnixTime;

#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Stores a new factor, replacing one of the same type and provider that was never
    /// activated. `StoreError::Conflict` when the user has that factor ACTIVE already.
    async fn enroll_factor(&self, factor: &UserFactor) -> StoreResult<()>;
    /// A user's factors, oldest first.
    async fn user_factors(&self, user_id: &str) -> StoreResult<Vec<UserFactor>>;
    /// One factor of `user_id` (`None` for another user's factor id too).
    async fn get_factor(&self, user_id: &str, factor_id: &str) -> StoreResult<Option<UserFactor>>;
    /// PENDING_ACTIVATION → ACTIVE, recording `step` as used, in one statement; false
    /// when the factor is not pending (activated already, removed, another user's).
    async fn activate_factor(
        &self,
        user_id: &str,
        factor_id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Accepts a TOTP code of time step `step` for an ACTIVE factor, in one statement
    /// that succeeds only when `step` is later than every step accepted before: of
    /// concurrent uses of one code, one wins; false for a replay (RFC 6238 §5.2).
    async fn use_totp_step(
        &self,
        user_id: &str,
        factor_id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Removes one factor; false when the user has no such factor.
    async fn delete_factor(&self, user_id: &str, factor_id: &str) -> StoreResult<bool>;
    /// Removes every factor and recovery code of a user (Okta's `reset_factors`);
    /// returns how many factors there were.
    async fn reset_factors(&self, user_id: &str) -> StoreResult<u64>;
    /// Replaces the user's recovery codes with `hashes`, in one transaction.
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[Vec<u8>],
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Uses an unused recovery code, in one statement: true once per code.
    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, user_id: &str) -> StoreResult<i64>;
    /// Stores a new one-time code of an e-mail factor for one purpose (`code.binding`),
    /// replacing the earlier one only when that was made at `resend_after` or before,
    /// and queues `email` (the message carrying the code) in the same transaction.
    /// False, with nothing written, when the earlier code is too recent (resend
    /// throttle) or the factor is gone.
    async fn issue_factor_code(
        &self,
        code: &FactorCode,
        resend_after: UnixTime,
        email: &NewJob,
    ) -> StoreResult<bool>;
    /// When the outstanding code of `factor_id` for `binding` was made (`None`: none).
    async fn factor_code_sent_at(
        &self,
        factor_id: &str,
        binding: &[u8],
    ) -> StoreResult<Option<UnixTime>>;
    /// Uses the outstanding code of `factor_id` for `binding` if its hash is
    /// `code_hash`, it is unused and unexpired, in one statement: true once per code.
    async fn use_factor_code(
        &self,
        factor_id: &str,
        binding: &[u8],
        code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool>;
}

/// A one-time code of an e-mail factor, as stored: only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorCode {
    pub factor_id: String,
    pub user_id: String,
    /// SHA-256 of what the code is for (the sign-in step's transaction, activation, the
    /// Factors API's verify).
    pub binding: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

fn factor_from_row(row: &impl Row) -> StoreResult<UserFactor> {
    Ok(UserFactor {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        factor_type: row.text("factor_type")?,
        provider: row.text("provider")?,
        status: row.text("status")?.parse::<FactorStatus>()?,
        secret_sealed: row.opt_bytes("secret_sealed")?,
        last_step: row.opt_int("last_step")?,
        email: row.opt_text("email")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

#[async_trait]
impl<B: Backend> FactorStore for B {
    async fn enroll_factor(&self, f: &UserFactor) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM user_factors WHERE user_id = $1 AND factor_type = $2 AND provider = $3
               AND status = 'PENDING_ACTIVATION'",
            &[
                (&f.user_id).into(),
                (&f.factor_type).into(),
                (&f.provider).into(),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO user_factors (id, user_id, factor_type, provider, status,
                secret_sealed, last_step, email, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                (&f.id).into(),
                (&f.user_id).into(),
                (&f.factor_type).into(),
                (&f.provider).into(),
                f.status.as_str().into(),
                (&f.secret_sealed).into(),
                f.last_step.into(),
                (&f.email).into(),
                f.created_at.into(),
                f.updated_at.into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn user_factors(&self, user_id: &str) -> StoreResult<Vec<UserFactor>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM user_factors WHERE user_id = $1 ORDER BY created_at, id",
                &[user_id.into()],
            )
            .await?;
        rows.iter().map(factor_from_row).collect()
    }

    async fn get_factor(&self, user_id: &str, factor_id: &str) -> StoreResult<Option<UserFactor>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM user_factors WHERE id = $1 AND user_id = $2",
                &[factor_id.into(), user_id.into()],
            )
            .await?;
        row.as_ref().map(factor_from_row).transpose()
    }

    async fn activate_factor(
        &self,
        user_id: &str,
        factor_id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE user_factors SET status = 'ACTIVE', last_step = $1, updated_at = $2
                 WHERE id = $3 AND user_id = $4 AND status = 'PENDING_ACTIVATION'",
                &[step.into(), now.into(), factor_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn use_totp_step(
        &self,
        user_id: &str,
        factor_id: &str,
        step: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE user_factors SET last_step = $1, updated_at = $2
                 WHERE id = $3 AND user_id = $4 AND status = 'ACTIVE'
                   AND (last_step IS NULL OR last_step < $1)",
                &[step.into(), now.into(), factor_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_factor(&self, user_id: &str, factor_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM user_factors WHERE id = $1 AND user_id = $2",
                &[factor_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn reset_factors(&self, user_id: &str) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let removed = tx
            .execute(
                "DELETE FROM user_factors WHERE user_id = $1",
                &[user_id.into()],
            )
            .await?;
        tx.execute(
            "DELETE FROM recovery_codes WHERE user_id = $1",
            &[user_id.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[Vec<u8>],
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM recovery_codes WHERE user_id = $1",
            &[user_id.into()],
        )
        .await?;
        for hash in hashes {
            tx.execute(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
                &[user_id.into(), hash.into(), now.into()],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE recovery_codes SET used_at = $1
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                &[now.into(), user_id.into(), code_hash.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn recovery_codes_left(&self, user_id: &str) -> StoreResult<i64> {
        let row = self
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                &[user_id.into()],
            )
            .await?;
        row.map_or(Ok(0), |row| row.int("n"))
    }

    async fn issue_factor_code(
        &self,
        code: &FactorCode,
        resend_after: UnixTime,
        email: &NewJob,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // One statement decides: a new row, or the old one replaced when it is old
        // enough; of two racing sends, one writes.
        let written = tx
            .execute(
                "INSERT INTO factor_codes (factor_id, binding, user_id, code_hash, created_at,
                    expires_at, used_at)
                 SELECT $1, $2, $3, $4, $5, $6, NULL
                 WHERE EXISTS (SELECT 1 FROM user_factors WHERE id = $1 AND user_id = $3)
                 ON CONFLICT (factor_id, binding) DO UPDATE SET code_hash = excluded.code_hash,
                    created_at = excluded.created_at, expires_at = excluded.expires_at,
                    used_at = NULL
                 WHERE factor_codes.created_at <= $7",
                &[
                    (&code.factor_id).into(),
                    (&code.binding).into(),
                    (&code.user_id).into(),
                    (&code.code_hash).into(),
                    code.created_at.into(),
                    code.expires_at.into(),
                    resend_after.into(),
                ],
            )
            .await?;
        if written != 1 {
            drop(tx);
            return Ok(false);
        }
        tx.execute(INSERT_JOB, &job_args(email)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn factor_code_sent_at(
        &self,
        factor_id: &str,
        binding: &[u8],
    ) -> StoreResult<Option<UnixTime>> {
        let row = self
            .fetch_optional(
                "SELECT created_at FROM factor_codes WHERE factor_id = $1 AND binding = $2",
                &[factor_id.into(), binding.into()],
            )
            .await?;
        row.map(|r| r.int("created_at")).transpose()
    }

    async fn use_factor_code(
        &self,
        factor_id: &str,
        binding: &[u8],
        code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE factor_codes SET used_at = $1
                 WHERE factor_id = $2 AND binding = $3 AND code_hash = $4
                   AND used_at IS NULL AND expires_at > $1",
                &[
                    now.into(),
                    factor_id.into(),
                    binding.into(),
                    code_hash.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }
}
