//! Single sign-on sessions, by the SHA-256 of their cookie, and the one-time
//! `sessionToken`s of the Authentication API that start them.

use async_trait::async_trait;

use super::db::{Backend, Row, Tx, json_list, to_json};
use super::logout::{ENQUEUE_SESSION, ENQUEUE_USER};
use super::{Session, SessionFederation, SessionToken, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A session that has neither ended nor expired at `now`.
    async fn live_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<Session>>;
    /// Ends the session and stores the back-channel logouts it owes its apps, in one
    /// transaction.
    async fn end_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()>;
    /// A user's sessions that have neither ended nor expired at `now`, newest first.
    async fn user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>>;
    /// How many sessions, of every user, have neither ended nor expired at `now`.
    async fn count_live_sessions(&self, now: UnixTime) -> StoreResult<i64>;
    /// Ends every live session of a user, with the back-channel logouts they owe, in
    /// one transaction; returns how many.
    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<u64>;
    /// Moves a live session's expiry to `expires_at`; the session as it now is, or
    /// `None` when it had ended or expired at `now` (then nothing changed).
    async fn refresh_session(
        &self,
        id_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Option<Session>>;
    /// Inserts a session signed in through an identity provider, in one statement: the
    /// session, the provider's id and its ID token sealed (`None`: not kept).
    async fn insert_federated_session(
        &self,
        session: &Session,
        federation: &SessionFederation,
    ) -> StoreResult<()>;
    /// Which identity provider signed a live session in (`None`: none did, or the
    /// session has ended or expired at `now`).
    async fn session_federation(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<SessionFederation>>;
    /// Records that a live session was used at `now`, when it was last seen more than
    /// a minute before (one guarded UPDATE, which mostly changes nothing).
    async fn touch_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()>;
    async fn insert_session_token(&self, token: &SessionToken) -> StoreResult<()>;
    /// Takes a session token that has not expired at `now`, in one statement that
    /// deletes it: of any number of concurrent redemptions, one gets it. `None` for an
    /// unknown, expired or already redeemed token.
    async fn redeem_session_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<SessionToken>>;
}

fn session_from_row(row: &impl Row) -> StoreResult<Session> {
    Ok(Session {
        id_hash: row.bytes("id_hash")?,
        user_id: row.text("user_id")?,
        auth_time: row.int("auth_time")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        amr: json_list(&row.text("amr")?)?,
        mfa_at: row.opt_int("mfa_at")?,
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
        last_seen_at: row.opt_int("last_seen_at")?,
    })
}

fn session_token_from_row(row: &impl Row) -> StoreResult<SessionToken> {
    Ok(SessionToken {
        token_hash: row.bytes("token_hash")?,
        user_id: row.text("user_id")?,
        auth_time: row.int("auth_time")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

#[async_trait]
impl<B: Backend> SessionStore for B {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at, amr,
                mfa_at, user_agent, ip, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                (&s.id_hash).into(),
                (&s.user_id).into(),
                s.auth_time.into(),
                s.created_at.into(),
                s.expires_at.into(),
                to_json(&s.amr),
                s.mfa_at.into(),
                (&s.user_agent).into(),
                (&s.ip).into(),
                s.last_seen_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn live_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<Session>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM sessions WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2",
                &[id_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// The back-channel logouts the session owes its apps are stored in the same
    /// transaction (`logout::ENQUEUE_SESSION`), before the session's row changes.
    async fn end_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(ENQUEUE_SESSION, &[now.into(), id_hash.into()])
            .await?;
        tx.execute(
            "UPDATE sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
            &[now.into(), id_hash.into()],
        )
        .await?;
        tx.commit().await
    }

    async fn user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2
                 ORDER BY created_at DESC, id_hash",
                &[user_id.into(), now.into()],
            )
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn count_live_sessions(&self, now: UnixTime) -> StoreResult<i64> {
        // Through the partial index `sessions_live` (migration 31): the live sessions'
        // expiry alone, so the count never reads the table.
        let row = self
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM sessions WHERE ended_at IS NULL AND expires_at > $1",
                &[now.into()],
            )
            .await?;
        row.map_or(Ok(0), |row| row.int("n"))
    }

    /// As `end_session`, for every session of the user.
    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        tx.execute(ENQUEUE_USER, &[now.into(), user_id.into()])
            .await?;
        let ended = tx
            .execute(
                "UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
                &[now.into(), user_id.into()],
            )
            .await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn refresh_session(
        &self,
        id_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Option<Session>> {
        let row = self
            .fetch_optional(
                "UPDATE sessions SET expires_at = $1
                 WHERE id_hash = $2 AND ended_at IS NULL AND expires_at > $3
                 RETURNING *",
                &[expires_at.into(), id_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn insert_federated_session(
        &self,
        s: &Session,
        federation: &SessionFederation,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at, amr,
                mfa_at, idp_id, idp_id_token, user_agent, ip, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                (&s.id_hash).into(),
                (&s.user_id).into(),
                s.auth_time.into(),
                s.created_at.into(),
                s.expires_at.into(),
                to_json(&s.amr),
                s.mfa_at.into(),
                (&federation.idp_id).into(),
                (&federation.sealed_id_token).into(),
                (&s.user_agent).into(),
                (&s.ip).into(),
                s.last_seen_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn session_federation(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<SessionFederation>> {
        let row = self
            .fetch_optional(
                "SELECT idp_id, idp_id_token FROM sessions
                 WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2
                   AND idp_id IS NOT NULL",
                &[id_hash.into(), now.into()],
            )
            .await?;
        row.map(|row| {
            Ok(SessionFederation {
                idp_id: row.text("idp_id")?,
                sealed_id_token: row.opt_bytes("idp_id_token")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()> {
        self.execute(
            "UPDATE sessions SET last_seen_at = $1
             WHERE id_hash = $2 AND ended_at IS NULL
               AND (last_seen_at IS NULL OR last_seen_at < $3)",
            &[now.into(), id_hash.into(), (now - 60).into()],
        )
        .await?;
        Ok(())
    }

    async fn insert_session_token(&self, t: &SessionToken) -> StoreResult<()> {
        self.execute(
            "INSERT INTO session_tokens (token_hash, user_id, auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                (&t.token_hash).into(),
                (&t.user_id).into(),
                t.auth_time.into(),
                t.created_at.into(),
                t.expires_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn redeem_session_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<SessionToken>> {
        let row = self
            .fetch_optional(
                "DELETE FROM session_tokens WHERE token_hash = $1 AND expires_at > $2 RETURNING *",
                &[token_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(session_token_from_row).transpose()
    }
}
