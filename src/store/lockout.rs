//! The org's password policy (its lockout settings) and each user's count of wrong
//! passwords (`UserStore::record_login`, a successful sign-in, sets it back to 0).
//!
//! Every transition is one statement whose `WHERE` is the condition: counting a failure
//! and locking (the count reaching `max_attempts` sets LOCKED_OUT in the same `UPDATE`,
//! the policy read by a subquery of it), unlocking by time, by an admin. A concurrent
//! failure waits for the row (PostgreSQL's row lock, SQLite's write lock) and re-checks
//! `status = 'ACTIVE'` against the committed row, so racing wrong passwords lock once
//! and the count stops at `max_attempts`.
//!
//! Dialect differences: none. Both evaluate every `SET` expression against the row as
//! it was, and `RETURNING` gives the row as it became.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Backend, Row};
use crate::clock::UnixTime;

/// The id of the one password policy (seeded by migration 39).
pub const PASSWORD_POLICY_ID: &str = "00pPasswordDefault00";

/// Okta's password policy, its `settings.password.lockout` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Wrong passwords in a row that lock the account; 0: never.
    pub max_attempts: i64,
    /// Minutes after which a locked account unlocks at the next attempt; 0: only an
    /// admin or a completed password reset unlocks.
    pub auto_unlock_minutes: i64,
    /// The sign-in page and `/api/v1/authn` say the account is locked (otherwise a
    /// locked account gets the wrong-password answer, so a lock reveals nothing).
    pub show_lockout_failures: bool,
    /// The person is sent an e-mail when their account locks.
    pub notify_email: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A counted failure: the count after it, and whether this failure locked the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSignIn {
    pub failures: i64,
    pub locked: bool,
}

#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// The password policy.
    async fn password_policy(&self) -> StoreResult<PasswordPolicy>;
    /// Writes the lockout settings and `updated_at`; false when the row is missing.
    async fn update_password_policy(&self, policy: &PasswordPolicy) -> StoreResult<bool>;
    /// Counts a wrong password of an ACTIVE user, in one statement: the count grows by
    /// one and, when it reaches the policy's `max_attempts` (not 0), the user becomes
    /// LOCKED_OUT at `now`. `None`: the user is absent or not ACTIVE (nothing counted).
    async fn count_failed_sign_in(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<FailedSignIn>>;
    /// Unlocks a LOCKED_OUT user whose lock is at least the policy's
    /// `auto_unlock_minutes` old (not 0) at `now`; true when this call did.
    async fn auto_unlock(&self, user_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Unlocks a LOCKED_OUT user (ACTIVE, count 0); false when they are not locked.
    async fn unlock_user(&self, user_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// The user's wrong passwords since the last success (0 for an unknown user).
    async fn failed_sign_ins(&self, user_id: &str) -> StoreResult<i64>;
}

fn policy_from_row(row: &impl Row) -> StoreResult<PasswordPolicy> {
    Ok(PasswordPolicy {
        id: row.text("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        max_attempts: row.int("max_attempts")?,
        auto_unlock_minutes: row.int("auto_unlock_minutes")?,
        show_lockout_failures: row.bool("show_lockout_failures")?,
        notify_email: row.bool("notify_email")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// `$1` user id, `$2` now. The `CASE`s read the count as it was, so `failed_logins + 1`
/// is the new count in each.
const COUNT_FAILURE: &str = "UPDATE users SET
        failed_logins = failed_logins + 1,
        status = CASE WHEN policy.max_attempts > 0 AND failed_logins + 1 >= policy.max_attempts
                      THEN 'LOCKED_OUT' ELSE status END,
        status_changed_at = CASE WHEN policy.max_attempts > 0 AND failed_logins + 1 >= policy.max_attempts
                      THEN $2 ELSE status_changed_at END,
        updated_at = CASE WHEN policy.max_attempts > 0 AND failed_logins + 1 >= policy.max_attempts
                      THEN $2 ELSE updated_at END
    FROM (SELECT max_attempts FROM password_policies WHERE id = '00pPasswordDefault00') AS policy
    WHERE users.id = $1 AND users.status = 'ACTIVE'
    RETURNING failed_logins AS failures, status";

/// `$1` user id, `$2` now.
const AUTO_UNLOCK: &str = "UPDATE users SET status = 'ACTIVE', failed_logins = 0,
        status_changed_at = $2, updated_at = $2
    WHERE id = $1 AND status = 'LOCKED_OUT' AND EXISTS (
        SELECT 1 FROM password_policies p WHERE p.id = '00pPasswordDefault00'
        AND p.auto_unlock_minutes > 0
        AND COALESCE(users.status_changed_at, 0) + p.auto_unlock_minutes * 60 <= $2)";

#[async_trait]
impl<B: Backend> LockoutStore for B {
    async fn password_policy(&self) -> StoreResult<PasswordPolicy> {
        let row = self
            .fetch_optional(
                "SELECT * FROM password_policies WHERE id = $1",
                &[PASSWORD_POLICY_ID.into()],
            )
            .await?
            .ok_or_else(|| super::StoreError::Schema("the password policy is missing".into()))?;
        policy_from_row(&row)
    }

    async fn update_password_policy(&self, p: &PasswordPolicy) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE password_policies SET name = $2, description = $3, max_attempts = $4,
                    auto_unlock_minutes = $5, show_lockout_failures = $6, notify_email = $7,
                    updated_at = $8
                 WHERE id = $1",
                &[
                    p.id.as_str().into(),
                    p.name.as_str().into(),
                    p.description.as_str().into(),
                    p.max_attempts.into(),
                    p.auto_unlock_minutes.into(),
                    p.show_lockout_failures.into(),
                    p.notify_email.into(),
                    p.updated_at.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn count_failed_sign_in(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<FailedSignIn>> {
        let row = self
            .fetch_optional(COUNT_FAILURE, &[user_id.into(), now.into()])
            .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(FailedSignIn {
                failures: row.int("failures")?,
                locked: row.text("status")? == "LOCKED_OUT",
            })),
        }
    }

    async fn auto_unlock(&self, user_id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(AUTO_UNLOCK, &[user_id.into(), now.into()])
            .await?;
        Ok(done == 1)
    }

    async fn unlock_user(&self, user_id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE users SET status = 'ACTIVE', failed_logins = 0,
                    status_changed_at = $2, updated_at = $2
                 WHERE id = $1 AND status = 'LOCKED_OUT'",
                &[user_id.into(), now.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn failed_sign_ins(&self, user_id: &str) -> StoreResult<i64> {
        let row = self
            .fetch_optional(
                "SELECT failed_logins FROM users WHERE id = $1",
                &[user_id.into()],
            )
            .await?;
        match row {
            Some(row) => row.int("failed_logins"),
            None => Ok(0),
        }
    }
}
