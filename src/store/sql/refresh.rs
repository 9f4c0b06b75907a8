//! Access-token deny list and refresh-token families, for both backends.
//!
//! Dialect differences: none in the statements. The one spot is
//! `is_access_token_revoked`: `SELECT 1` is an i32 in PostgreSQL and an i64 in SQLite,
//! so the row is fetched and not decoded.
//!
//! Invoked as `refresh_store!(StoreType, RowType, DatabaseType)` in a module that has
//! the backend's `unavailable` (sqlx error to `StoreError`) in scope.

macro_rules! refresh_store {
    ($store:ty, $row:ty, $db:ty) => {
        fn token_from_row(row: &$row) -> Result<RefreshToken, sqlx::Error> {
            Ok(RefreshToken {
                token_hash: row.try_get("token_hash")?,
                family_id: row.try_get("family_id")?,
                scope: row.try_get("scope")?,
                issued_at: row.try_get("issued_at")?,
                idle_expires_at: row.try_get("idle_expires_at")?,
                rotated_at: row.try_get("rotated_at")?,
                successor_hash: row.try_get("successor_hash")?,
                access_jti: row.try_get("access_jti")?,
                access_expires_at: row.try_get("access_expires_at")?,
            })
        }

        fn family_from_row(row: &$row) -> Result<RefreshFamily, sqlx::Error> {
            Ok(RefreshFamily {
                id: row.try_get("f_id")?,
                server_id: row.try_get("server_id")?,
                client_id: row.try_get("client_id")?,
                user_id: row.try_get("user_id")?,
                scope: row.try_get("scope")?,
                auth_time: row.try_get("auth_time")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                last_used_at: row.try_get("last_used_at")?,
                revoked_at: row.try_get("revoked_at")?,
                dpop_jkt: row.try_get("dpop_jkt")?,
            })
        }

        const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at, idle_expires_at,
                access_jti, access_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

        fn bind_token<'q>(
            query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            t: &'q RefreshToken,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            query
                .bind(&t.token_hash)
                .bind(&t.family_id)
                .bind(&t.scope)
                .bind(t.issued_at)
                .bind(t.idle_expires_at)
                .bind(&t.access_jti)
                .bind(t.access_expires_at)
        }

        #[async_trait]
        impl TokenStore for $store {
            async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
                // The row is not decoded: `1` is an i32 in PostgreSQL and an i64 in SQLite.
                let found = sqlx::query("SELECT 1 FROM revoked_access_tokens WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(found.is_some())
            }

            async fn insert_refresh_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                sqlx::query(
                    "INSERT INTO refresh_families (id, server_id, client_id, user_id, scope, auth_time,
                        created_at, expires_at, last_used_at, revoked_at, dpop_jkt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&f.id)
                .bind(&f.server_id)
                .bind(&f.client_id)
                .bind(&f.user_id)
                .bind(&f.scope)
                .bind(f.auth_time)
                .bind(f.created_at)
                .bind(f.expires_at)
                .bind(f.last_used_at)
                .bind(f.revoked_at)
                .bind(&f.dpop_jkt)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                bind_token(sqlx::query(INSERT_TOKEN), first).execute(&mut *tx).await.map_err(unavailable)?;
                tx.commit().await.map_err(unavailable)
            }

            async fn find_refresh(&self, token_hash: &[u8]) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
                let row = sqlx::query(
                    "SELECT t.*, f.id AS f_id, f.server_id, f.client_id, f.user_id, f.scope, f.auth_time,
                        f.created_at, f.expires_at, f.last_used_at, f.revoked_at, f.dpop_jkt
                     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
                     WHERE t.token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.map(|r| Ok((token_from_row(&r)?, family_from_row(&r)?)))
                    .transpose()
                    .map_err(unavailable)
            }

            async fn rotate_refresh(
                &self,
                family_id: &str,
                token_hash: &[u8],
                successor: &RefreshToken,
                now: UnixTime,
            ) -> StoreResult<Rotation> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                // The family row first: it takes the write lock and orders this rotation with
                // any revocation of the family.
                let live = sqlx::query("UPDATE refresh_families SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(family_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                if live.rows_affected() == 0 {
                    return Ok(Rotation::Revoked);
                }
                let rotated = sqlx::query(
                    "UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2
                     WHERE token_hash = $3 AND family_id = $4 AND rotated_at IS NULL",
                )
                .bind(now)
                .bind(&successor.token_hash)
                .bind(token_hash)
                .bind(family_id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                if rotated.rows_affected() == 0 {
                    return Ok(Rotation::AlreadyRotated);
                }
                bind_token(sqlx::query(INSERT_TOKEN), successor).execute(&mut *tx).await.map_err(unavailable)?;
                tx.commit().await.map_err(unavailable)?;
                Ok(Rotation::Rotated)
            }

            async fn revoke_family(&self, family_id: &str, now: UnixTime) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                let done = sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(family_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                sqlx::query(
                    "INSERT INTO revoked_access_tokens (jti, expires_at)
                     SELECT access_jti, access_expires_at FROM refresh_tokens
                     WHERE family_id = $1 AND access_jti IS NOT NULL AND access_expires_at > $2
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                tx.commit().await.map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_user_families(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                // The family rows first, as `revoke_family` does: a rotation in flight either
                // finished (its successor is deny-listed below) or finds its family revoked.
                let done = sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                sqlx::query(
                    "INSERT INTO revoked_access_tokens (jti, expires_at)
                     SELECT t.access_jti, t.access_expires_at FROM refresh_tokens t
                     JOIN refresh_families f ON f.id = t.family_id
                     WHERE f.user_id = $1 AND t.access_jti IS NOT NULL AND t.access_expires_at > $2
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                tx.commit().await.map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use refresh_store;
