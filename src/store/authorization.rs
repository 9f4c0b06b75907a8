//! Pending authorization requests (between /authorize and the sign-in page) and
//! authorization codes. Both are single-use, each in one atomic statement; a code's
//! statement is the first of the transaction that stores what it grants (on
//! PostgreSQL, of the one statement that does: `PG_REDEEM`). The System Log events of
//! a code's issue and redemption are written before the caller answers: in that one
//! statement on PostgreSQL, group-committed after the transaction on SQLite.

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, Row, Tx, json_list, to_json};
use super::log::{LogStore, NO_EVENT, event_args};
use super::tokens::{INSERT_FAMILY, INSERT_TOKEN, NO_FAMILY, NO_TOKEN, family_args, token_args};
use super::{AuthCode, CodeGrant, CodeState, LogEvent, PendingAuthorization, StoreResult};
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
    /// Stores a code alone (`issue_code` without a session or an event).
    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.issue_code(code, None, None).await
    }
    /// Stores a code issued at /authorize with the session it was issued in
    /// (`session_hash`), which records the app (`session_apps`, told when the session
    /// ends), all or nothing, and writes the System Log `event` of the sign-in to the app
    /// before it returns. PostgreSQL: one statement, the event in it. SQLite: the code
    /// and the record in one transaction, then the event through the System Log's group
    /// commit (`log.rs`), where it shares a commit with other requests' events; an event
    /// that cannot be written there is logged, not returned, since the code is issued
    /// (bench/RESULTS.md, 2026-12-07 09:10: the event in the transaction wrote a page of
    /// each of the log's B-trees per code).
    async fn issue_code(
        &self,
        code: &AuthCode,
        session_hash: Option<&[u8]>,
        event: Option<&LogEvent>,
    ) -> StoreResult<()>;
    /// The code by the SHA-256 of its value, and whether it was redeemed.
    async fn find_code(&self, code_hash: &[u8]) -> StoreResult<CodeState>;
    /// Redeems the code and stores what it grants, in one transaction whose first
    /// statement is the single-use `UPDATE ... WHERE redeemed_at IS NULL`: true when
    /// this call redeemed it (everything in `grant` is then committed with it), false
    /// when the code was redeemed already or is gone (nothing is written). A failure is
    /// an error with nothing committed: the code can still be redeemed. The grant's
    /// System Log event is written before this returns true: in the same statement on
    /// PostgreSQL, through the group commit right after the redemption's commit on
    /// SQLite (as `issue_code`'s).
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        grant: &CodeGrant,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

/// SQLite: an event of what was just committed goes through the System Log's group
/// commit (`log.rs`); the caller answers after it is written. Its failure is logged,
/// not returned: what it records is committed.
async fn log_after_commit<B: Backend>(store: &B, event: &LogEvent) {
    if let Err(e) = LogStore::insert_event(store, event).await {
        tracing::warn!(error = %e, event = %event.event_type, "could not write a System Log event");
    }
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
        amr: row.opt_text("amr")?.as_deref().map(json_list).transpose()?,
        sid: row.opt_text("sid")?,
        acr: row.opt_text("acr")?,
    })
}

/// `redeem_code` on PostgreSQL: the transaction of the SQLite path as one statement, one
/// round trip instead of six (BEGIN, four statements, COMMIT). `redeemed` is the same
/// single-use `UPDATE ... WHERE redeemed_at IS NULL`; every insert selects from it, so
/// when it matches nothing (redeemed already: under READ COMMITTED a concurrent
/// redemption waits for the row lock, then re-checks the committed row) nothing is
/// written, and a failure of any part fails the whole statement. Data-modifying `WITH`
/// parts all run to completion; the token's foreign key to its family is checked at the
/// end of the statement, where the family's row exists. $1–$5 the redemption, $6–$17
/// the family (`family_args`), $20–$26 its first token (`token_args`), $27 whether there
/// is a refresh token, $28–$34 the event (`log::event_args`), $35 whether there is one.
const PG_REDEEM: &str = "WITH redeemed AS (
        UPDATE authorization_codes SET redeemed_at = $1, access_jti = $2,
            access_expires_at = $3, family_id = $4
        WHERE code_hash = $5 AND redeemed_at IS NULL
        RETURNING 1),
    family AS (
        INSERT INTO refresh_families (id, server_id, client_id, user_id, scope, auth_time,
            created_at, expires_at, last_used_at, revoked_at, dpop_jkt, sid, amr, acr)
        SELECT $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
        FROM redeemed WHERE $27),
    token AS (
        INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at,
            idle_expires_at, access_jti, access_expires_at)
        SELECT $20, $21, $22, $23, $24, $25, $26 FROM redeemed WHERE $27),
    event AS (
        INSERT INTO system_log (uuid, published, event_type, outcome_result, actor_id,
            target_ids, event)
        SELECT $28, $29, $30, $31, $32, $33, $34 FROM redeemed WHERE $35)
    SELECT count(*) AS redeemed FROM redeemed";

const INSERT_CODE: &str = "INSERT INTO authorization_codes (code_hash, server_id, client_id,
        user_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time,
        created_at, expires_at, dpop_jkt, amr, sid, acr)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// The session's record of an app it signed in to (`LogoutStore::record_session_app`).
pub(super) const INSERT_SESSION_APP: &str = "INSERT INTO session_apps (session_hash,
        client_id, server_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// `issue_code` on PostgreSQL, one statement: $1–$16 the code (`code_args`), $17 the
/// session's hash (NULL: none), $18–$24 the event (`log::event_args`), $25 whether
/// there is one.
const PG_ISSUE_CODE: &str = "WITH app AS (
        INSERT INTO session_apps (session_hash, client_id, server_id, created_at)
        SELECT $17, $3, $2, $11 WHERE $17::bytea IS NOT NULL
        ON CONFLICT DO NOTHING),
    event AS (
        INSERT INTO system_log (uuid, published, event_type, outcome_result, actor_id,
            target_ids, event)
        SELECT $18, $19, $20, $21, $22, $23, $24 WHERE $25)
    INSERT INTO authorization_codes (code_hash, server_id, client_id, user_id, redirect_uri,
        scope, nonce, code_challenge, code_challenge_method, auth_time, created_at,
        expires_at, dpop_jkt, amr, sid, acr)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

fn code_args(c: &AuthCode) -> [Arg<'_>; 16] {
    [
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
        match &c.amr {
            Some(amr) => to_json(amr),
            None => Arg::Text(None),
        },
        (&c.sid).into(),
        (&c.acr).into(),
    ]
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

    async fn issue_code(
        &self,
        c: &AuthCode,
        session_hash: Option<&[u8]>,
        event: Option<&LogEvent>,
    ) -> StoreResult<()> {
        let mut args = code_args(c).to_vec();
        if B::DIALECT == Dialect::Postgres {
            args.push(Arg::Bytes(session_hash));
            match event {
                Some(event) => args.extend(event_args(event)),
                None => args.extend(NO_EVENT),
            }
            args.push(event.is_some().into());
            self.execute(PG_ISSUE_CODE, &args).await?;
            return Ok(());
        }
        if let Some(hash) = session_hash {
            let mut tx = self.begin().await?;
            tx.execute(INSERT_CODE, &args).await?;
            tx.execute(
                INSERT_SESSION_APP,
                &[
                    hash.into(),
                    (&c.client_id).into(),
                    (&c.server_id).into(),
                    c.created_at.into(),
                ],
            )
            .await?;
            tx.commit().await?;
        } else {
            self.execute(INSERT_CODE, &args).await?;
        }
        if let Some(event) = event {
            log_after_commit(self, event).await;
        }
        Ok(())
    }

    async fn find_code(&self, code_hash: &[u8]) -> StoreResult<CodeState> {
        let row = self
            .fetch_optional(
                "SELECT * FROM authorization_codes WHERE code_hash = $1",
                &[code_hash.into()],
            )
            .await?;
        let Some(row) = row else {
            return Ok(CodeState::NotFound);
        };
        let code = code_from_row(&row)?;
        Ok(if row.opt_int("redeemed_at")?.is_some() {
            CodeState::Redeemed(code)
        } else {
            CodeState::Unredeemed(code)
        })
    }

    /// One winner, however many processes race. PostgreSQL: under READ COMMITTED a
    /// concurrent `UPDATE` waits for the row lock, held until the winner's transaction
    /// ends, then re-checks `redeemed_at IS NULL` on the committed row and matches
    /// nothing (or, if the winner rolled back, matches and wins). SQLite: writes are
    /// serialised. Everything the redemption grants is written after the code's row in
    /// the same transaction, so whoever finds the code redeemed finds its tokens too.
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        grant: &CodeGrant,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let family_id = grant.refresh.as_ref().map(|(f, _)| f.id.as_str());
        if B::DIALECT == Dialect::Postgres {
            let mut args = vec![
                now.into(),
                (&grant.access_jti).into(),
                grant.access_expires_at.into(),
                Arg::Text(family_id),
                code_hash.into(),
            ];
            match &grant.refresh {
                Some((family, first)) => {
                    args.extend(family_args(family));
                    args.extend(token_args(first));
                }
                None => {
                    args.extend(NO_FAMILY);
                    args.extend(NO_TOKEN);
                }
            }
            args.push(grant.refresh.is_some().into());
            match &grant.event {
                Some(event) => args.extend(event_args(event)),
                None => args.extend(NO_EVENT),
            }
            args.push(grant.event.is_some().into());
            let row = self.fetch_optional(PG_REDEEM, &args).await?;
            return Ok(row.map(|r| r.int("redeemed")).transpose()? == Some(1));
        }
        let mut tx = self.begin().await?;
        let redeemed = tx
            .execute(
                "UPDATE authorization_codes SET redeemed_at = $1, access_jti = $2,
                    access_expires_at = $3, family_id = $4
                 WHERE code_hash = $5 AND redeemed_at IS NULL",
                &[
                    now.into(),
                    (&grant.access_jti).into(),
                    grant.access_expires_at.into(),
                    Arg::Text(family_id),
                    code_hash.into(),
                ],
            )
            .await?;
        if redeemed == 0 {
            return Ok(false);
        }
        if let Some((family, first)) = &grant.refresh {
            tx.execute(INSERT_FAMILY, &family_args(family)).await?;
            tx.execute(INSERT_TOKEN, &token_args(first)).await?;
        }
        tx.commit().await?;
        if let Some(event) = &grant.event {
            log_after_commit(self, event).await;
        }
        Ok(true)
    }
}
