//! E-mail links: password reset, activation and address confirmation tokens, kept as
//! the SHA-256 of their random value, each issued together with the e-mail that
//! carries it and used by one statement.

use async_trait::async_trait;

use super::NewJob;
use super::StoreResult;
use super::db::{Backend, Row, Tx};
use super::jobs::{INSERT_JOB, job_args};
use super::log::{INSERT_EVENT, event_args};
use super::models::LogEvent;
use crate::clock::UnixTime;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// "Forgot password?": choose a new password.
    ResetPassword,
    /// An activation e-mail: a PROVISIONED user chooses their first password.
    Activate,
    /// Confirms the address the e-mail went to.
    VerifyEmail,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::ResetPassword => "reset_password",
            LinkPurpose::Activate => "activate",
            LinkPurpose::VerifyEmail => "verify_email",
        }
    }
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserToken {
    pub token_hash: Vec<u8>,
    pub purpose: LinkPurpose,
    pub user_id: String,
    /// The address the link was sent to.
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Setting a password through a link (`redeem_password_link`).
#[derive(Debug, Clone)]
pub struct PasswordByLink<'a> {
    pub token_hash: &'a [u8],
    pub purpose: LinkPurpose,
    pub user_id: &'a str,
    /// The address the link went to: it is now known to be the user's, if it still is
    /// their address.
    pub email: Option<&'a str>,
    pub password_hash: &'a str,
    /// The statuses the user may be in; they become ACTIVE.
    pub from_statuses: &'a [&'a str],
    pub now: UnixTime,
}

#[async_trait]
pub trait UserTokenStore: Send + Sync {
    /// Stores a link and queues the e-mail carrying it (if any: an activation link may
    /// be handed to the admin instead), in one transaction, and deletes the user's
    /// earlier links of the same purpose (only the newest works).
    async fn issue_user_token(&self, token: &UserToken, email: Option<&NewJob>) -> StoreResult<()>;
    /// The link with this hash and purpose if it is unexpired at `now` (the page that
    /// asks for the new password shows it; nothing changes).
    async fn find_user_token(
        &self,
        token_hash: &[u8],
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<UserToken>>;
    /// Uses a password link, in one transaction, or changes nothing: deletes the link
    /// (unexpired, this user's: the single use, first), sets the password, makes the
    /// user ACTIVE (only from `from_statuses`), marks the address verified when it is
    /// still theirs, deletes their other reset and activation links, queues `notice`
    /// and writes `event`. False: the link was used, expired or the user's status
    /// no longer allows it.
    async fn redeem_password_link(
        &self,
        redeem: &PasswordByLink<'_>,
        notice: Option<&NewJob>,
        event: &LogEvent,
    ) -> StoreResult<bool>;
    /// Uses an address confirmation link: deletes it (unexpired) and records `email`
    /// as the user's verified address, if it is still their address, and writes
    /// `event`; or changes nothing (false).
    async fn redeem_verify_link(
        &self,
        token_hash: &[u8],
        user_id: &str,
        email: &str,
        now: UnixTime,
        event: &LogEvent,
    ) -> StoreResult<bool>;
}

fn purpose_of(text: &str) -> StoreResult<LinkPurpose> {
    match text {
        "reset_password" => Ok(LinkPurpose::ResetPassword),
        "activate" => Ok(LinkPurpose::Activate),
        "verify_email" => Ok(LinkPurpose::VerifyEmail),
        other => Err(super::StoreError::Schema(format!(
            "unknown link purpose {other:?}"
        ))),
    }
}

fn token_from_row(row: &impl Row) -> StoreResult<UserToken> {
    Ok(UserToken {
        token_hash: row.bytes("token_hash")?,
        purpose: purpose_of(&row.text("purpose")?)?,
        user_id: row.text("user_id")?,
        email: row.opt_text("email")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

/// The single use: the link goes, or nothing happens.
const TAKE_LINK: &str = "DELETE FROM user_tokens
    WHERE token_hash = $1 AND purpose = $2 AND user_id = $3 AND expires_at > $4";

/// The address the link went to becomes the verified one if it is still the user's.
const VERIFY_ADDRESS: &str = "UPDATE users SET verified_email = email
    WHERE id = $1 AND email IS NOT NULL AND lower(email) = lower($2)";

#[async_trait]
impl<B: Backend> UserTokenStore for B {
    async fn issue_user_token(&self, token: &UserToken, email: Option<&NewJob>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2",
            &[(&token.user_id).into(), token.purpose.as_str().into()],
        )
        .await?;
        tx.execute(
            "INSERT INTO user_tokens (token_hash, purpose, user_id, email, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&token.token_hash).into(),
                token.purpose.as_str().into(),
                (&token.user_id).into(),
                (&token.email).into(),
                token.created_at.into(),
                token.expires_at.into(),
            ],
        )
        .await?;
        if let Some(job) = email {
            tx.execute(INSERT_JOB, &job_args(job)).await?;
        }
        tx.commit().await
    }

    async fn find_user_token(
        &self,
        token_hash: &[u8],
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<UserToken>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM user_tokens WHERE token_hash = $1 AND purpose = $2
                 AND expires_at > $3",
                &[token_hash.into(), purpose.as_str().into(), now.into()],
            )
            .await?;
        row.map(|r| token_from_row(&r)).transpose()
    }

    async fn redeem_password_link(
        &self,
        r: &PasswordByLink<'_>,
        notice: Option<&NewJob>,
        event: &LogEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let taken = tx
            .execute(
                TAKE_LINK,
                &[
                    r.token_hash.into(),
                    r.purpose.as_str().into(),
                    r.user_id.into(),
                    r.now.into(),
                ],
            )
            .await?;
        if taken != 1 {
            return Ok(false);
        }
        // The statuses are bound one by one (at most three), so the SQL stays a
        // literal: `status IN ($5, $6, $7)` with the missing ones NULL.
        let status = |i: usize| r.from_statuses.get(i).copied();
        let set = tx
            .execute(
                "UPDATE users SET password_hash = $1, password_changed_at = $2,
                    updated_at = $2, activated_at = COALESCE(activated_at, $2),
                    status_changed_at = CASE WHEN status = 'ACTIVE' THEN status_changed_at ELSE $2 END,
                    status = 'ACTIVE', failed_logins = 0
                 WHERE id = $3 AND status IN ($4, $5, $6)",
                &[
                    r.password_hash.into(),
                    r.now.into(),
                    r.user_id.into(),
                    super::db::Arg::Text(status(0)),
                    super::db::Arg::Text(status(1)),
                    super::db::Arg::Text(status(2)),
                ],
            )
            .await?;
        if set != 1 {
            return Ok(false);
        }
        if let Some(email) = r.email {
            tx.execute(VERIFY_ADDRESS, &[r.user_id.into(), email.into()])
                .await?;
        }
        tx.execute(
            "DELETE FROM user_tokens WHERE user_id = $1
             AND purpose IN ('reset_password', 'activate')",
            &[r.user_id.into()],
        )
        .await?;
        if let Some(job) = notice {
            tx.execute(INSERT_JOB, &job_args(job)).await?;
        }
        tx.execute(INSERT_EVENT, &event_args(event)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn redeem_verify_link(
        &self,
        token_hash: &[u8],
        user_id: &str,
        email: &str,
        now: UnixTime,
        event: &LogEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let taken = tx
            .execute(
                TAKE_LINK,
                &[
                    token_hash.into(),
                    LinkPurpose::VerifyEmail.as_str().into(),
                    user_id.into(),
                    now.into(),
                ],
            )
            .await?;
        if taken != 1 {
            return Ok(false);
        }
        if tx
            .execute(VERIFY_ADDRESS, &[user_id.into(), email.into()])
            .await?
            != 1
        {
            return Ok(false);
        }
        tx.execute(INSERT_EVENT, &event_args(event)).await?;
        tx.commit().await?;
        Ok(true)
    }
}
