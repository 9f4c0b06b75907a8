//! Authorization servers, signing keys, sessions, pending authorizations and codes,
//! for both backends. (Opening, migrating and `Maintenance` stay in each backend's
//! `mod.rs`: they differ in locking, `GREATEST`/`MAX` and backups.)
//!
//! Dialect differences: none in the statements. `private_key` is a BLOB in SQLite and
//! a BYTEA in PostgreSQL, both read as `Vec<u8>`. The concurrency notes on
//! `rotate_signing_key`, `take_pending` and `redeem_code` say how each backend gets
//! its single winner.
//!
//! Invoked as `auth_store!(StoreType, RowType)` in a module that has the backend's
//! `unavailable` in scope.

macro_rules! auth_store {
    ($store:ty, $row:ty) => {
        fn server_from_row(row: &$row) -> Result<AuthServer, sqlx::Error> {
            Ok(AuthServer {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                audience: row.try_get("audience")?,
                access_token_ttl: row.try_get("access_token_ttl")?,
                id_token_ttl: row.try_get("id_token_ttl")?,
                access_token_typ_at_jwt: row.try_get("access_token_typ_at_jwt")?,
                signing_alg: row.try_get("signing_alg")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                settings_version: row.try_get("settings_version")?,
            })
        }

        fn key_from_row(row: &$row) -> StoreResult<StoredKey> {
            let status: String = row.try_get("status").map_err(unavailable)?;
            Ok(StoredKey {
                kid: row.try_get("kid").map_err(unavailable)?,
                server_id: row.try_get("server_id").map_err(unavailable)?,
                alg: row.try_get("alg").map_err(unavailable)?,
                public_jwk: row.try_get("public_jwk").map_err(unavailable)?,
                private_key_sealed: row.try_get("private_key").map_err(unavailable)?,
                status: KeyStatus::parse(&status)
                    .ok_or_else(|| StoreError::Schema(format!("unknown key status {status}")))?,
                created_at: row.try_get("created_at").map_err(unavailable)?,
                activated_at: row.try_get("activated_at").map_err(unavailable)?,
                retired_at: row.try_get("retired_at").map_err(unavailable)?,
            })
        }

        fn session_from_row(row: &$row) -> Result<Session, sqlx::Error> {
            Ok(Session {
                id_hash: row.try_get("id_hash")?,
                user_id: row.try_get("user_id")?,
                auth_time: row.try_get("auth_time")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        }

        fn pending_from_row(row: &$row) -> Result<PendingAuthorization, sqlx::Error> {
            Ok(PendingAuthorization {
                id_hash: row.try_get("id_hash")?,
                request: row.try_get("request")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        }

        fn code_from_row(row: &$row) -> Result<AuthCode, sqlx::Error> {
            Ok(AuthCode {
                code_hash: row.try_get("code_hash")?,
                server_id: row.try_get("server_id")?,
                client_id: row.try_get("client_id")?,
                user_id: row.try_get("user_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                scope: row.try_get("scope")?,
                nonce: row.try_get("nonce")?,
                code_challenge: row.try_get("code_challenge")?,
                code_challenge_method: row.try_get("code_challenge_method")?,
                auth_time: row.try_get("auth_time")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                access_jti: row.try_get("access_jti")?,
                access_expires_at: row.try_get("access_expires_at")?,
                family_id: row.try_get("family_id")?,
                dpop_jkt: row.try_get("dpop_jkt")?,
            })
        }

        #[async_trait]
        impl ServerStore for $store {
            async fn insert_server_if_absent(&self, s: &AuthServer) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO authorization_servers (id, name, description, audience, access_token_ttl,
                        id_token_ttl, access_token_typ_at_jwt, signing_alg, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&s.id)
                .bind(&s.name)
                .bind(&s.description)
                .bind(&s.audience)
                .bind(s.access_token_ttl)
                .bind(s.id_token_ttl)
                .bind(s.access_token_typ_at_jwt)
                .bind(&s.signing_alg)
                .bind(&s.status)
                .bind(s.created_at)
                .bind(s.updated_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn get_server(&self, id: &str) -> StoreResult<Option<AuthServer>> {
                let row = sqlx::query("SELECT * FROM authorization_servers WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(server_from_row).transpose().map_err(unavailable)
            }

            async fn list_servers(&self) -> StoreResult<Vec<AuthServer>> {
                let rows = sqlx::query("SELECT * FROM authorization_servers ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(server_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn update_server(&self, s: &AuthServer) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE authorization_servers SET name = $1, description = $2, audience = $3, status = $4,
                        updated_at = $5, signing_alg = $6 WHERE id = $7",
                )
                .bind(&s.name)
                .bind(&s.description)
                .bind(&s.audience)
                .bind(&s.status)
                .bind(s.updated_at)
                .bind(&s.signing_alg)
                .bind(&s.id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_server(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM authorization_servers WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            async fn signing_keys(&self, server_id: &str) -> StoreResult<Vec<StoredKey>> {
                let rows = sqlx::query(
                    "SELECT * FROM signing_keys WHERE server_id = $1
                     ORDER BY CASE status WHEN 'ACTIVE' THEN 0 WHEN 'NEXT' THEN 1 ELSE 2 END,
                        retired_at DESC, created_at DESC, kid",
                )
                .bind(server_id)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(key_from_row).collect()
            }

            /// `ON CONFLICT DO NOTHING` without a target covers the partial unique index
            /// `signing_keys_one_active` as well as the primary key, on both backends.
            async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO signing_keys (kid, server_id, alg, public_jwk, private_key, status, created_at,
                        activated_at, retired_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                )
                .bind(&k.kid)
                .bind(&k.server_id)
                .bind(&k.alg)
                .bind(&k.public_jwk)
                .bind(&k.private_key_sealed)
                .bind(k.status.as_str())
                .bind(k.created_at)
                .bind(k.activated_at)
                .bind(k.retired_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            /// One winner. SQLite: its write lock serialises rotations: the transaction's first
            /// statement is a write, so a second rotation waits (busy timeout), then matches
            /// nothing. PostgreSQL: under READ COMMITTED a second rotation's first `UPDATE`
            /// waits for the first rotation's row lock, then re-checks `status = 'ACTIVE'` on
            /// the committed row and matches nothing.
            async fn rotate_signing_key(&self, expected_active: &str, new_next: &StoredKey, now: UnixTime) -> StoreResult<KeyRotation> {
                let server_id = &new_next.server_id;
                // Dropping the transaction without commit rolls it back.
                let mut tx = self.pool.begin().await.map_err(unavailable)?;
                let retired = sqlx::query(
                    "UPDATE signing_keys SET status = 'RETIRED', retired_at = $1
                     WHERE kid = $2 AND server_id = $3 AND status = 'ACTIVE'",
                )
                .bind(now)
                .bind(expected_active)
                .bind(server_id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                if retired.rows_affected() == 0 {
                    return Ok(KeyRotation::NotActive);
                }
                let promoted = sqlx::query(
                    "UPDATE signing_keys SET status = 'ACTIVE', activated_at = $1
                     WHERE server_id = $2 AND status = 'NEXT'",
                )
                .bind(now)
                .bind(server_id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                if promoted.rows_affected() != 1 {
                    return Ok(KeyRotation::NoNextKey);
                }
                sqlx::query(
                    "INSERT INTO signing_keys (kid, server_id, alg, public_jwk, private_key, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&new_next.kid)
                .bind(server_id)
                .bind(&new_next.alg)
                .bind(&new_next.public_jwk)
                .bind(&new_next.private_key_sealed)
                .bind(KeyStatus::Next.as_str())
                .bind(new_next.created_at)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                tx.commit().await.map_err(unavailable)?;
                Ok(KeyRotation::Rotated)
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn insert_session(&self, s: &Session) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.id_hash)
                .bind(&s.user_id)
                .bind(s.auth_time)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn live_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<Session>> {
                let row = sqlx::query(
                    "SELECT * FROM sessions WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(session_from_row).transpose().map_err(unavailable)
            }

            async fn end_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()> {
                sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL")
                    .bind(now)
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }

            async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
                let done = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
                    .bind(now)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl AuthorizationStore for $store {
            async fn insert_pending(&self, p: &PendingAuthorization) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO pending_authorizations (id_hash, request, created_at, expires_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&p.id_hash)
                .bind(&p.request)
                .bind(p.created_at)
                .bind(p.expires_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn get_pending(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<PendingAuthorization>> {
                let row = sqlx::query("SELECT * FROM pending_authorizations WHERE id_hash = $1 AND expires_at > $2")
                    .bind(id_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(pending_from_row).transpose().map_err(unavailable)
            }

            /// One taker. PostgreSQL: under READ COMMITTED a concurrent `DELETE` waits for the
            /// first to commit, then finds the row gone. SQLite: writes are serialised.
            async fn take_pending(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<PendingAuthorization>> {
                let row = sqlx::query(
                    "DELETE FROM pending_authorizations WHERE id_hash = $1 AND expires_at > $2 RETURNING *",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(pending_from_row).transpose().map_err(unavailable)
            }

            async fn insert_code(&self, c: &AuthCode) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO authorization_codes (code_hash, server_id, client_id, user_id, redirect_uri,
                        scope, nonce, code_challenge, code_challenge_method, auth_time, created_at, expires_at,
                        dpop_jkt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&c.code_hash)
                .bind(&c.server_id)
                .bind(&c.client_id)
                .bind(&c.user_id)
                .bind(&c.redirect_uri)
                .bind(&c.scope)
                .bind(&c.nonce)
                .bind(&c.code_challenge)
                .bind(&c.code_challenge_method)
                .bind(c.auth_time)
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(&c.dpop_jkt)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            /// One winner, however many processes race. PostgreSQL: under READ COMMITTED a
            /// concurrent `UPDATE` waits for the row lock, then re-checks `redeemed_at IS NULL`
            /// on the committed row and matches nothing. SQLite: writes are serialised.
            async fn redeem_code(&self, code_hash: &[u8], access: &IssuedAccess, now: UnixTime) -> StoreResult<Redemption> {
                let row = sqlx::query(
                    "UPDATE authorization_codes SET redeemed_at = $1, access_jti = $2, access_expires_at = $3,
                        family_id = $4
                     WHERE code_hash = $5 AND redeemed_at IS NULL RETURNING *",
                )
                .bind(now)
                .bind(&access.jti)
                .bind(access.expires_at)
                .bind(&access.family_id)
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                if let Some(row) = row {
                    return Ok(Redemption::Redeemed(code_from_row(&row).map_err(unavailable)?));
                }
                let row = sqlx::query("SELECT * FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(match row {
                    Some(row) => Redemption::AlreadyRedeemed(code_from_row(&row).map_err(unavailable)?),
                    None => Redemption::NotFound,
                })
            }
        }
    };
}

pub(crate) use auth_store;
