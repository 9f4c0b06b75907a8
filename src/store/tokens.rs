//! The access-token deny list and refresh-token families with rotation.
//!
//! Dialect differences: `rotate_refresh` is one statement on PostgreSQL (`PG_ROTATE`,
//! one round trip) and a transaction on SQLite (where a statement is a function call).
//! `is_access_token_revoked` fetches `SELECT 1` without reading it (an i32 in
//! PostgreSQL, an i64 in SQLite).

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, Row, Tx, json_list, to_json};
use super::{RefreshFamily, RefreshToken, Rotation, StoreResult};
use crate::clock::UnixTime;

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()>;
    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Starts a refresh-token family with its first token, in one transaction.
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()>;
    /// A refresh token by the SHA-256 of its value, with its family.
    async fn find_refresh(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily)>>;
    /// Rotates a token once: marks it rotated (one `UPDATE ... WHERE rotated_at IS NULL`)
    /// and inserts its successor in the same transaction, unless the family is revoked.
    /// The family row is written first, so a concurrent `revoke_family` either sees the
    /// successor or is seen by this call.
    async fn rotate_refresh(
        &self,
        family_id: &str,
        token_hash: &[u8],
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation>;
    /// Revokes a family (true when this call did) and puts every unexpired access token
    /// minted from it on the deny list, in one transaction.
    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Revokes every refresh-token family of a user (deactivated, suspended, a new
    /// password) and deny-lists the access tokens minted from them, in one
    /// transaction; returns how many families this call revoked.
    async fn revoke_user_families(&self, user_id: &str, now: UnixTime) -> StoreResult<u64>;
}

fn token_from_row(row: &impl Row) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: row.bytes("token_hash")?,
        family_id: row.text("family_id")?,
        scope: row.text("scope")?,
        issued_at: row.int("issued_at")?,
        idle_expires_at: row.opt_int("idle_expires_at")?,
        rotated_at: row.opt_int("rotated_at")?,
        successor_hash: row.opt_bytes("successor_hash")?,
        access_jti: row.opt_text("access_jti")?,
        access_expires_at: row.opt_int("access_expires_at")?,
    })
}

/// The family's columns of `find_refresh`'s join, each prefixed `f_`: both tables have
/// a `scope` (the token's may be narrower), and a row read by name gives a repeated
/// name's last column to every read of it.
fn family_from_row(row: &impl Row) -> StoreResult<RefreshFamily> {
    Ok(RefreshFamily {
        id: row.text("f_id")?,
        server_id: row.text("f_server_id")?,
        client_id: row.text("f_client_id")?,
        user_id: row.text("f_user_id")?,
        scope: row.text("f_scope")?,
        auth_time: row.int("f_auth_time")?,
        created_at: row.int("f_created_at")?,
        expires_at: row.opt_int("f_expires_at")?,
        last_used_at: row.int("f_last_used_at")?,
        revoked_at: row.opt_int("f_revoked_at")?,
        dpop_jkt: row.opt_text("f_dpop_jkt")?,
        sid: row.opt_text("f_sid")?,
        amr: row
            .opt_text("f_amr")?
            .as_deref()
            .map(json_list)
            .transpose()?,
        acr: row.opt_text("f_acr")?,
    })
}

/// A refresh-token family's row (alone, or with the code redemption that starts it).
pub(super) const INSERT_FAMILY: &str = "INSERT INTO refresh_families (id, server_id, client_id,
        user_id, scope, auth_time, created_at, expires_at, last_used_at, revoked_at, dpop_jkt,
        sid, amr, acr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

pub(super) fn family_args(f: &RefreshFamily) -> [Arg<'_>; 14] {
    [
        (&f.id).into(),
        (&f.server_id).into(),
        (&f.client_id).into(),
        (&f.user_id).into(),
        (&f.scope).into(),
        f.auth_time.into(),
        f.created_at.into(),
        f.expires_at.into(),
        f.last_used_at.into(),
        f.revoked_at.into(),
        (&f.dpop_jkt).into(),
        (&f.sid).into(),
        match &f.amr {
            Some(amr) => to_json(amr),
            None => Arg::Text(None),
        },
        (&f.acr).into(),
    ]
}

/// `family_args` when there is no family: NULLs of the columns' types, for a statement
/// that binds a family it may not insert (PostgreSQL types every parameter).
pub(super) const NO_FAMILY: [Arg<'static>; 14] = [
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Int(None),
    Arg::Int(None),
    Arg::Int(None),
    Arg::Int(None),
    Arg::Int(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
];

/// A refresh token's row: a family's first token and every successor.
pub(super) const INSERT_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at,
        idle_expires_at, access_jti, access_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(super) fn token_args(t: &RefreshToken) -> [Arg<'_>; 7] {
    [
        (&t.token_hash).into(),
        (&t.family_id).into(),
        (&t.scope).into(),
        t.issued_at.into(),
        t.idle_expires_at.into(),
        (&t.access_jti).into(),
        t.access_expires_at.into(),
    ]
}

/// `token_args` when there is no token, as `NO_FAMILY`.
pub(super) const NO_TOKEN: [Arg<'static>; 7] = [
    Arg::Bytes(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Int(None),
    Arg::Int(None),
    Arg::Text(None),
    Arg::Int(None),
];

/// `rotate_refresh` on PostgreSQL: the transaction of the SQLite path as one statement,
/// one round trip instead of five (BEGIN, three statements, COMMIT). The same order and
/// locks: `family` locks the family row first (`FOR NO KEY UPDATE`, the lock the
/// `UPDATE` of the other path takes), so a concurrent `revoke_family` either waits for
/// this statement or is waited for, and then this one finds it revoked (READ COMMITTED
/// re-checks `revoked_at IS NULL` on the committed row) and rotates nothing. `rotated`
/// is the single-use `UPDATE ... WHERE rotated_at IS NULL`, gated on the family being
/// live; `used` and `successor` write only if it rotated, so a call that does not rotate
/// writes nothing, as the other path's rollback does. A failure (say, a conflict)
/// fails the whole statement. $1 now, $2 family, $3 successor's hash, $4 the token's,
/// $5–$11 the successor's row (`token_args`).
const PG_ROTATE: &str = "WITH family AS MATERIALIZED (
        SELECT id FROM refresh_families WHERE id = $2 AND revoked_at IS NULL
        FOR NO KEY UPDATE),
    rotated AS (
        UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $3
        WHERE token_hash = $4 AND family_id = $2 AND rotated_at IS NULL
            AND EXISTS (SELECT 1 FROM family)
        RETURNING 1),
    used AS (
        UPDATE refresh_families SET last_used_at = $1
        WHERE id = $2 AND EXISTS (SELECT 1 FROM rotated)),
    successor AS (
        INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at,
            idle_expires_at, access_jti, access_expires_at)
        SELECT $5, $6, $7, $8, $9, $10, $11 FROM rotated)
    SELECT (SELECT count(*) FROM family) AS live, (SELECT count(*) FROM rotated) AS rotated";

#[async_trait]
impl<B: Backend> TokenStore for B {
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
             ON CONFLICT (jti) DO NOTHING",
            &[jti.into(), expires_at.into()],
        )
        .await?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        let found = self
            .fetch_optional(
                "SELECT 1 FROM revoked_access_tokens WHERE jti = $1",
                &[jti.into()],
            )
            .await?;
        Ok(found.is_some())
    }

    async fn insert_refresh_family(
        &self,
        f: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(INSERT_FAMILY, &family_args(f)).await?;
        tx.execute(INSERT_TOKEN, &token_args(first)).await?;
        tx.commit().await
    }

    async fn find_refresh(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        let row = self
            .fetch_optional(
                "SELECT t.*, f.id AS f_id, f.server_id AS f_server_id, f.client_id AS f_client_id,
                    f.user_id AS f_user_id, f.scope AS f_scope, f.auth_time AS f_auth_time,
                    f.created_at AS f_created_at, f.expires_at AS f_expires_at,
                    f.last_used_at AS f_last_used_at, f.revoked_at AS f_revoked_at,
                    f.dpop_jkt AS f_dpop_jkt, f.sid AS f_sid, f.amr AS f_amr, f.acr AS f_acr
                 FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
                 WHERE t.token_hash = $1",
                &[token_hash.into()],
            )
            .await?;
        row.map(|r| Ok((token_from_row(&r)?, family_from_row(&r)?)))
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        family_id: &str,
        token_hash: &[u8],
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        if B::DIALECT == Dialect::Postgres {
            let mut args = vec![
                now.into(),
                family_id.into(),
                (&successor.token_hash).into(),
                token_hash.into(),
            ];
            args.extend(token_args(successor));
            let row = self.fetch_optional(PG_ROTATE, &args).await?;
            let (live, rotated) = match row {
                Some(r) => (r.int("live")?, r.int("rotated")?),
                None => (0, 0),
            };
            return Ok(if live == 0 {
                Rotation::Revoked
            } else if rotated == 0 {
                Rotation::AlreadyRotated
            } else {
                Rotation::Rotated
            });
        }
        let mut tx = self.begin().await?;
        // The family row first: it takes the write lock and orders this rotation with
        // any revocation of the family.
        let live = tx
            .execute(
                "UPDATE refresh_families SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[now.into(), family_id.into()],
            )
            .await?;
        if live == 0 {
            return Ok(Rotation::Revoked);
        }
        let rotated = tx
            .execute(
                "UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2
                 WHERE token_hash = $3 AND family_id = $4 AND rotated_at IS NULL",
                &[
                    now.into(),
                    (&successor.token_hash).into(),
                    token_hash.into(),
                    family_id.into(),
                ],
            )
            .await?;
        if rotated == 0 {
            return Ok(Rotation::AlreadyRotated);
        }
        tx.execute(INSERT_TOKEN, &token_args(successor)).await?;
        tx.commit().await?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = tx
            .execute(
                "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[now.into(), family_id.into()],
            )
            .await?;
        tx.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at)
             SELECT access_jti, access_expires_at FROM refresh_tokens
             WHERE family_id = $1 AND access_jti IS NOT NULL AND access_expires_at > $2
             ON CONFLICT (jti) DO NOTHING",
            &[family_id.into(), now.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn revoke_user_families(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        // The family rows first, as `revoke_family` does: a rotation in flight either
        // finished (its successor is deny-listed below) or finds its family revoked.
        let done = tx
            .execute(
                "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                &[now.into(), user_id.into()],
            )
            .await?;
        tx.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at)
             SELECT t.access_jti, t.access_expires_at FROM refresh_tokens t
             JOIN refresh_families f ON f.id = t.family_id
             WHERE f.user_id = $1 AND t.access_jti IS NOT NULL AND t.access_expires_at > $2
             ON CONFLICT (jti) DO NOTHING",
            &[user_id.into(), now.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }
}
