//! The PostgreSQL adapter: the same tables, statements and semantics as SQLite, for
//! several Gatehouse processes sharing one database.
//!
//! What is here is only what PostgreSQL does its own way: the connection pool and its
//! statement timeout, migrations under a transaction-scoped advisory lock instead of
//! `BEGIN IMMEDIATE`, running one statement or a transaction through sqlx, reading its
//! rows, and no `backup_into` (pg_dump does it). Its types: BIGINT times, so every
//! integer is read and bound as `i64`; BOOLEAN and BYTEA where SQLite has 0/1 and BLOB.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgRow};

use super::db::{self, Arg, Backend, Dialect, bind, unavailable};
use super::migrate;
use super::pg_pool::{PgConn, PgPool};
use super::{PoolStats, StoreError, StoreResult};
use crate::config::{DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECONDS, DEFAULT_DATABASE_MAX_CONNECTIONS};

/// The advisory lock key that serialises migrations between processes: any fixed
/// number, the same in every Gatehouse ("gatehous" in ASCII). Advisory locks are per
/// database, so two databases on one server do not wait for each other.
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573;

/// Migrations run with this statement timeout instead of the pool's: a schema change on
/// a large table, or waiting for another process's migration, may take a while.
const SET_MIGRATION_TIMEOUT: &str = "SET LOCAL statement_timeout = '600s'";

/// The PostgreSQL store: every store trait, through `Backend`.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    log_queue: std::sync::OnceLock<super::db::LogQueue>,
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

/// The URL's options plus the statement timeout, unless the URL sets one itself.
fn connect_options(url: &str, settings: &PoolSettings) -> StoreResult<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Schema(format!("bad PostgreSQL URL: {e}")))?;
    if options
        .get_options()
        .is_some_and(|o| o.contains("statement_timeout"))
    {
        return Ok(options);
    }
    let millis = settings.statement_timeout.as_millis().max(1);
    Ok(options.options([("statement_timeout", millis)]))
}

impl PostgresStore {
    /// Connects (`postgres://user:password@host:port/database?...`) and migrates.
    pub async fn open(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = connect_options(url, settings)?;
        // Our own pool, not sqlx's: it pings a connection only when it may have gone
        // bad, where sqlx's costs every statement two more round trips (pg_pool.rs).
        let pool = PgPool::new(options, settings.max_connections, settings.acquire_timeout);
        let store = PostgresStore {
            pool,
            log_queue: std::sync::OnceLock::new(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this binary has and the database lacks, in one
    /// transaction holding an advisory lock, so that processes starting together apply
    /// them once: the others wait, then find them applied. A failed migration rolls
    /// back whole (PostgreSQL's DDL is transactional).
    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        conn.begin().await?;
        // Dropped on an error before the commit, the connection is closed, which rolls
        // the transaction back.
        let tx = conn.use_conn();
        // A plain `&str` runs as a simple query (several statements allowed, like
        // `raw_sql`), and unlike `raw_sql(..).execute` keeps `open`'s future `Send`.
        tx.execute(SET_MIGRATION_TIMEOUT)
            .await
            .map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(unavailable)?;
        let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable)?;
        migrate::check_not_newer(done.iter().copied().max().unwrap_or(0))?;
        for m in migrate::pending(&done) {
            tx.execute(m.sql(Dialect::Postgres))
                .await
                .map_err(unavailable)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at)
                 VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
            )
            .bind(m.version)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        conn.finish(Ok(()))?;
        conn.commit().await
    }
}

impl Backend for PostgresStore {
    const DIALECT: Dialect = Dialect::Postgres;
    type Row = PgRow;
    type Tx = PgTx;

    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await?;
        let done = bind(sqlx::query(sql), args).execute(conn.use_conn()).await;
        Ok(conn.finish(done)?.rows_affected())
    }

    async fn fetch_optional(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<PgRow>> {
        let mut conn = self.pool.acquire().await?;
        let row = bind(sqlx::query(sql), args)
            .fetch_optional(conn.use_conn())
            .await;
        conn.finish(row)
    }

    async fn fetch_all(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<PgRow>> {
        let mut conn = self.pool.acquire().await?;
        let rows = bind(sqlx::query(sql), args)
            .fetch_all(conn.use_conn())
            .await;
        conn.finish(rows)
    }

    async fn begin(&self) -> StoreResult<Self::Tx> {
        let mut conn = self.pool.acquire().await?;
        conn.begin().await?;
        Ok(PgTx { conn })
    }

    fn pool_state(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Not done from here.
    async fn copy_into(&self, _to: &Path) -> StoreResult<()> {
        Err(StoreError::Schema(
            "a PostgreSQL database is backed up with pg_dump (and restored with pg_restore)".into(),
        ))
    }

    async fn close_pool(&self) {
        self.pool.close().await;
    }

    fn log_queue(&self) -> &std::sync::OnceLock<super::db::LogQueue> {
        &self.log_queue
    }

    fn pool_handle(&self) -> Self {
        PostgresStore {
            pool: self.pool.clone(),
            log_queue: std::sync::OnceLock::new(),
        }
    }
}

/// A transaction on one pooled connection (`BEGIN` ... `COMMIT`). Dropped without a
/// commit, its connection is closed, which rolls it back.
#[derive(Debug)]
pub struct PgTx {
    conn: PgConn,
}

impl db::Tx for PgTx {
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let done = bind(sqlx::query(sql), args)
            .execute(self.conn.use_conn())
            .await;
        Ok(self.conn.finish(done)?.rows_affected())
    }

    async fn commit(mut self) -> StoreResult<()> {
        self.conn.commit().await
    }
}

impl db::Row for PgRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn bool(&self, column: &str) -> StoreResult<bool> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::Row::try_get(self, column).map_err(unavailable)
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
        let err =
            connect_options("postgres://host:notaport/db", &PoolSettings::default()).unwrap_err();
        assert!(matches!(err, StoreError::Schema(_)), "{err}");
    }
}
