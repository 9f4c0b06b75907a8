//! The PostgreSQL store: the same tables, statements and semantics as `sqlite.rs`, for
//! several Gatehouse processes sharing one database. Kept parallel to `sqlite.rs`
//! (same row-mapping functions, same order) so a method added to one is added to the
//! other by analogy.
//!
//! Differences a reader of `sqlite.rs` should expect: `$n` placeholders; BIGINT times,
//! so every integer is read and bound as `i64`; BOOLEAN and BYTEA where SQLite has
//! 0/1 and BLOB; `GREATEST` for SQLite's two-argument `MAX`; migrations under a
//! transaction-scoped advisory lock instead of `BEGIN IMMEDIATE`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Executor, PgPool, Row};

use super::migrate::{self, POSTGRES};
use super::*;

mod refresh;
mod settings;
use crate::clock::UnixTime;
use crate::config::{DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECONDS, DEFAULT_DATABASE_MAX_CONNECTIONS};

/// The advisory lock key that serialises migrations between processes: any fixed
/// number, the same in every Gatehouse ("gatehous" in ASCII). Advisory locks are per
/// database, so two databases on one server do not wait for each other.
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573;

/// Migrations run with this statement timeout instead of the pool's: a schema change on
/// a large table, or waiting for another process's migration, may take a while.
const SET_MIGRATION_TIMEOUT: &str = "SET LOCAL statement_timeout = '600s'";

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// How the pool behaves; `Default` is what `store::open` uses without settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// The most connections this process opens.
    pub max_connections: u32,
    /// How long a query waits for a free connection before the store is unavailable.
    pub acquire_timeout: Duration,
    /// The server cancels any statement that runs longer (PostgreSQL's
    /// `statement_timeout`), so no request waits forever on a stuck query. A
    /// `statement_timeout` in the URL's `options` wins over this.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_secs(DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECONDS),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

fn unavailable(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

fn json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Schema(format!("corrupt list column: {e}")))
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}

/// The URL's options plus the statement timeout, unless the URL sets one itself.
fn connect_options(url: &str, settings: &PoolSettings) -> StoreResult<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Schema(format!("bad PostgreSQL URL: {e}")))?;
    if options.get_options().is_some_and(|o| o.contains("statement_timeout")) {
        return Ok(options);
    }
    let millis = settings.statement_timeout.as_millis().max(1);
    Ok(options.options([("statement_timeout", millis)]))
}

impl PostgresStore {
    /// Connects (`postgres://user:password@host:port/database?...`) and migrates.
    pub async fn open(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = connect_options(url, settings)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this binary has and the database lacks, in one
    /// transaction holding an advisory lock, so that processes starting together apply
    /// them once: the others wait, then find them applied. A failed migration rolls
    /// back whole (PostgreSQL's DDL is transactional).
    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // A plain `&str` runs as a simple query (several statements allowed, like
        // `raw_sql`), and unlike `raw_sql(..).execute` keeps `open`'s future `Send`.
        (&mut *tx).execute(SET_MIGRATION_TIMEOUT).await.map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        (&mut *tx)
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await
            .map_err(unavailable)?;
        let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        // On an error the transaction is dropped, which rolls it back.
        migrate::check_not_newer(current, POSTGRES)?;
        for m in POSTGRES.iter().filter(|m| m.version > current) {
            (&mut *tx).execute(m.sql).await.map_err(unavailable)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at)
                 VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
            )
            .bind(m.version)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }
}

fn server_from_row(row: &PgRow) -> Result<AuthServer, sqlx::Error> {
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

fn key_from_row(row: &PgRow) -> StoreResult<StoredKey> {
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

fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        password_hash: row.try_get("password_hash")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn client_from_row(row: &PgRow) -> StoreResult<Client> {
    let get = |name: &str| -> StoreResult<String> { row.try_get(name).map_err(unavailable) };
    Ok(Client {
        client_id: get("client_id")?,
        name: get("name")?,
        secret_hash: row.try_get("secret_hash").map_err(unavailable)?,
        auth_method: get("auth_method")?,
        application_type: get("application_type")?,
        redirect_uris: json_list(&get("redirect_uris")?)?,
        post_logout_redirect_uris: json_list(&get("post_logout_redirect_uris")?)?,
        grant_types: json_list(&get("grant_types")?)?,
        response_types: json_list(&get("response_types")?)?,
        refresh_token_leeway: row.try_get("refresh_token_leeway").map_err(unavailable)?,
        status: get("status")?,
        created_at: row.try_get("created_at").map_err(unavailable)?,
        updated_at: row.try_get("updated_at").map_err(unavailable)?,
    })
}

fn session_from_row(row: &PgRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id_hash: row.try_get("id_hash")?,
        user_id: row.try_get("user_id")?,
        auth_time: row.try_get("auth_time")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn pending_from_row(row: &PgRow) -> Result<PendingAuthorization, sqlx::Error> {
    Ok(PendingAuthorization {
        id_hash: row.try_get("id_hash")?,
        request: row.try_get("request")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn code_from_row(row: &PgRow) -> Result<AuthCode, sqlx::Error> {
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
impl ServerStore for PostgresStore {
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
    /// `signing_keys_one_active` as well as the primary key, as in SQLite.
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

    /// Under READ COMMITTED a second rotation's first `UPDATE` waits for the first
    /// rotation's row lock, then re-checks `status = 'ACTIVE'` on the committed row and
    /// matches nothing: one winner.
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
impl UserStore for PostgresStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, login, login_key, email, first_name, last_name, password_hash,
                status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&u.id)
        .bind(&u.login)
        .bind(u.login.to_lowercase())
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.password_hash)
        .bind(&u.status)
        .bind(u.created_at)
        .bind(u.updated_at)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(user_from_row).transpose().map_err(unavailable)
    }

    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE login_key = $1")
            .bind(login.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(user_from_row).transpose().map_err(unavailable)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(user_from_row).collect::<Result<_, _>>().map_err(unavailable)
    }
}

#[async_trait]
impl ClientStore for PostgresStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, name, secret_hash, auth_method, application_type,
                redirect_uris, post_logout_redirect_uris, grant_types, response_types,
                refresh_token_leeway, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(&c.auth_method)
        .bind(&c.application_type)
        .bind(to_json(&c.redirect_uris))
        .bind(to_json(&c.post_logout_redirect_uris))
        .bind(to_json(&c.grant_types))
        .bind(to_json(&c.response_types))
        .bind(c.refresh_token_leeway)
        .bind(&c.status)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, client_id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(client_from_row).collect()
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
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
}

#[async_trait]
impl AuthorizationStore for PostgresStore {
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

    /// Under READ COMMITTED a concurrent `DELETE` waits for the first to commit, then
    /// finds the row gone: one taker.
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
                scope, nonce, code_challenge, code_challenge_method, auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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

    /// Under READ COMMITTED a concurrent `UPDATE` waits for the row lock, then
    /// re-checks `redeemed_at IS NULL` on the committed row and matches nothing: one
    /// winner, however many processes race.
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

#[async_trait]
impl Maintenance for PostgresStore {
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
            "DELETE FROM pending_authorizations WHERE expires_at <= $1",
            "DELETE FROM sessions WHERE expires_at <= $1 OR ended_at IS NOT NULL",
            "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
            // A redeemed code is kept until the token minted from it expires, so that a
            // replay can still revoke it; an unredeemed one until its own expiry.
            "DELETE FROM authorization_codes WHERE GREATEST(expires_at, COALESCE(access_expires_at, 0)) <= $1",
            // A family is over when revoked, past its absolute lifetime, or when none of
            // its tokens can be used any more (idle).
            "DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR expires_at <= $1
                OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id
                    AND t.rotated_at IS NULL AND (t.idle_expires_at IS NULL OR t.idle_expires_at > $1))",
            // Rotated tokens are kept 30 days for reuse detection, then forgotten.
            "DELETE FROM refresh_tokens WHERE rotated_at <= $1 - 2592000
                AND COALESCE(access_expires_at, 0) <= $1",
        ] {
            let done = sqlx::query(sql).bind(now).execute(&self.pool).await.map_err(unavailable)?;
            removed += done.rows_affected();
        }
        // Retired keys are unpublished long before; their private parts go too.
        let done = sqlx::query("DELETE FROM signing_keys WHERE status = 'RETIRED' AND retired_at <= $1")
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

    async fn backup_into(&self, _to: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Schema(
            "a PostgreSQL database is backed up with pg_dump (and restored with pg_restore)".into(),
        ))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_timeout_is_set_unless_the_url_sets_one() {
        let settings = PoolSettings::default();
        let options = connect_options("postgres://gh@db.example/gatehouse", &settings).unwrap();
        assert_eq!(options.get_options(), Some("-c statement_timeout=10000"));
        let own = connect_options(
            "postgres://gh@db.example/gatehouse?options=-c%20statement_timeout%3D2s",
            &settings,
        )
        .unwrap();
        assert_eq!(own.get_options(), Some("-c statement_timeout=2s"));
    }

    #[test]
    fn a_bad_url_is_a_schema_error_not_unavailable() {
        let err = connect_options("postgres://host:notaport/db", &PoolSettings::default()).unwrap_err();
        assert!(matches!(err, StoreError::Schema(_)), "{err}");
    }
}
