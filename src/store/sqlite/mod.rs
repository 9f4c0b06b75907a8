//! The SQLite store: one file in WAL mode, so the CLI can add users and apps while the
//! server runs and the server sees them at once.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::migrate::{self, SQLITE};
use super::*;

mod directory;
mod management;
mod refresh;
mod settings;
use crate::clock::UnixTime;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

pub(super) fn unavailable(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// SQLite's numbered bind marker, for built queries (`store::query`).
fn placeholder(n: usize) -> String {
    format!("?{n}")
}

/// Binds built values in order.
fn bind_values<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    values: &'q [SqlValue],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.as_str()),
            SqlValue::Int(n) => query.bind(*n),
        };
    }
    query
}

fn json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Schema(format!("corrupt list column: {e}")))
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}

impl SqliteStore {
    pub async fn open_file(path: &Path) -> StoreResult<Self> {
        Self::open_with(SqliteConnectOptions::new().filename(path)).await
    }

    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Schema(format!("bad SQLite URL: {e}")))?;
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this binary has and the database lacks, under SQLite's
    /// write lock so that two processes starting together do not both apply them.
    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(unavailable)?;
        let result = async {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
                .fetch_all(&mut *conn)
                .await?;
            Ok::<Vec<i64>, sqlx::Error>(applied)
        }
        .await;
        let outcome = match result {
            Err(e) => Err(unavailable(e)),
            Ok(done) => match migrate::check_not_newer(done.iter().copied().max().unwrap_or(0), SQLITE) {
                Err(e) => Err(e),
                Ok(()) => {
                    let mut applied = Ok(());
                    for m in migrate::pending(SQLITE, &done) {
                        if let Err(e) = sqlx::raw_sql(m.sql).execute(&mut *conn).await {
                            applied = Err(unavailable(e));
                            break;
                        }
                        if let Err(e) = sqlx::query(
                            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))",
                        )
                        .bind(m.version)
                        .execute(&mut *conn)
                        .await
                        {
                            applied = Err(unavailable(e));
                            break;
                        }
                    }
                    applied
                }
            },
        };
        let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::raw_sql(end).execute(&mut *conn).await.map_err(unavailable)?;
        outcome
    }
}

fn server_from_row(row: &SqliteRow) -> Result<AuthServer, sqlx::Error> {
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
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<StoredKey> {
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



fn session_from_row(row: &SqliteRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id_hash: row.try_get("id_hash")?,
        user_id: row.try_get("user_id")?,
        auth_time: row.try_get("auth_time")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn pending_from_row(row: &SqliteRow) -> Result<PendingAuthorization, sqlx::Error> {
    Ok(PendingAuthorization {
        id_hash: row.try_get("id_hash")?,
        request: row.try_get("request")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn code_from_row(row: &SqliteRow) -> Result<AuthCode, sqlx::Error> {
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
    })
}

#[async_trait]
impl ServerStore for SqliteStore {
    async fn insert_server_if_absent(&self, s: &AuthServer) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO authorization_servers (id, name, description, audience, access_token_ttl,
                id_token_ttl, access_token_typ_at_jwt, signing_alg, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
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
        let row = sqlx::query("SELECT * FROM authorization_servers WHERE id = ?")
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
            "UPDATE authorization_servers SET name = ?, description = ?, audience = ?, status = ?,
                updated_at = ? WHERE id = ?",
        )
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.audience)
        .bind(&s.status)
        .bind(s.updated_at)
        .bind(&s.id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_server(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM authorization_servers WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self, server_id: &str) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT * FROM signing_keys WHERE server_id = ?
             ORDER BY CASE status WHEN 'ACTIVE' THEN 0 WHEN 'NEXT' THEN 1 ELSE 2 END,
                retired_at DESC, created_at DESC, kid",
        )
        .bind(server_id)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, server_id, alg, public_jwk, private_key, status, created_at,
                activated_at, retired_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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

    /// SQLite's write lock serialises rotations: the transaction's first statement is a
    /// write, so a second rotation waits (busy timeout), then matches nothing.
    async fn rotate_signing_key(&self, expected_active: &str, new_next: &StoredKey, now: UnixTime) -> StoreResult<KeyRotation> {
        let server_id = &new_next.server_id;
        // Dropping the transaction without commit rolls it back.
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let retired = sqlx::query(
            "UPDATE signing_keys SET status = 'RETIRED', retired_at = ?
             WHERE kid = ? AND server_id = ? AND status = 'ACTIVE'",
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
            "UPDATE signing_keys SET status = 'ACTIVE', activated_at = ?
             WHERE server_id = ? AND status = 'NEXT'",
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
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
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
            "SELECT * FROM sessions WHERE id_hash = ? AND ended_at IS NULL AND expires_at > ?",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(session_from_row).transpose().map_err(unavailable)
    }

    async fn end_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl AuthorizationStore for SqliteStore {
    async fn insert_pending(&self, p: &PendingAuthorization) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pending_authorizations (id_hash, request, created_at, expires_at)
             VALUES (?, ?, ?, ?)",
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
        let row = sqlx::query("SELECT * FROM pending_authorizations WHERE id_hash = ? AND expires_at > ?")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(pending_from_row).transpose().map_err(unavailable)
    }

    async fn take_pending(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<PendingAuthorization>> {
        let row = sqlx::query(
            "DELETE FROM pending_authorizations WHERE id_hash = ? AND expires_at > ? RETURNING *",
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
                scope, nonce, code_challenge, code_challenge_method, auth_time, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn redeem_code(&self, code_hash: &[u8], access: &IssuedAccess, now: UnixTime) -> StoreResult<Redemption> {
        let row = sqlx::query(
            "UPDATE authorization_codes SET redeemed_at = ?, access_jti = ?, access_expires_at = ?,
                family_id = ?
             WHERE code_hash = ? AND redeemed_at IS NULL RETURNING *",
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
        let row = sqlx::query("SELECT * FROM authorization_codes WHERE code_hash = ?")
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

#[async_trait]
impl Maintenance for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(unavailable)?;
        Ok(())
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM pending_authorizations WHERE expires_at <= ?",
            "DELETE FROM sessions WHERE expires_at <= ? OR ended_at IS NOT NULL",
            "DELETE FROM revoked_access_tokens WHERE expires_at <= ?",
            // A redeemed code is kept until the token minted from it expires, so that a
            // replay can still revoke it; an unredeemed one until its own expiry.
            "DELETE FROM authorization_codes WHERE MAX(expires_at, COALESCE(access_expires_at, 0)) <= ?",
            // A family is over when revoked, past its absolute lifetime, or when none of
            // its tokens can be used any more (idle).
            "DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR expires_at <= ?1
                OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id
                    AND t.rotated_at IS NULL AND (t.idle_expires_at IS NULL OR t.idle_expires_at > ?1))",
            // Rotated tokens are kept 30 days for reuse detection, then forgotten.
            "DELETE FROM refresh_tokens WHERE rotated_at <= ?1 - 2592000
                AND COALESCE(access_expires_at, 0) <= ?1",
        ] {
            let done = sqlx::query(sql).bind(now).execute(&self.pool).await.map_err(unavailable)?;
            removed += done.rows_affected();
        }
        // Retired keys are unpublished long before; their private parts go too.
        let done = sqlx::query("DELETE FROM signing_keys WHERE status = 'RETIRED' AND retired_at <= ?")
            .bind(now - RETIRED_KEY_KEPT_SECONDS)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        removed += done.rows_affected();
        Ok(removed)
    }

    fn pool_stats(&self) -> PoolStats {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        PoolStats { idle, in_use: size - idle, max: self.pool.options().get_max_connections() }
    }

    async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()> {
        // Created here, empty, readable by the owner only (it holds password hashes and
        // sealed keys), and never over an existing file: `create_new` is atomic.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(to) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Conflict(format!("{} exists; a backup never overwrites a file", to.display())));
            }
            Err(e) => return Err(StoreError::Unavailable(format!("cannot create {}: {e}", to.display()))),
        }
        let path = to
            .to_str()
            .ok_or_else(|| StoreError::Schema(format!("{} is not a UTF-8 path", to.display())))?;
        // One read transaction: a consistent snapshot, and in WAL mode writers go on.
        if let Err(e) = sqlx::query("VACUUM INTO ?").bind(path).execute(&self.pool).await {
            let _ = std::fs::remove_file(to);
            return Err(unavailable(e));
        }
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
