//! The SQLite adapter: one file in WAL mode, so the CLI can add users and apps while the
//! server runs and the server sees them at once.
//!
//! What is here is only what SQLite does its own way: opening the file (with a busy
//! handler), migrating under `BEGIN IMMEDIATE`, running one statement or a transaction
//! through sqlx, reading its rows, and `VACUUM INTO` backups. The statements and their
//! row mapping are written once for both backends, in the file of each store trait.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};

use super::db::{self, Arg, Backend, Dialect, bind, pool_stats, unavailable};
use super::migrate;
use super::{PoolStats, StoreError, StoreResult};

/// How long a statement waits for another connection's write lock, then fails (503).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite's busy handler: called while another connection (of this process or another)
/// holds the write lock. SQLite's default (`busy_timeout`) sleeps 1, 2, 5, 10 ... 100 ms
/// between tries; our write transactions hold the lock for tens of microseconds, so
/// under concurrent token requests much of a flow's time went to those sleeps (the
/// profile: half the server's syscall time in `clock_nanosleep`). This one naps 50 µs
/// per try (yielding instead burnt the CPU the lock holder needed), up to
/// `BUSY_TIMEOUT` in all.
extern "C" fn busy(_: *mut std::ffi::c_void, tries: std::ffi::c_int) -> std::ffi::c_int {
    const NAP: Duration = Duration::from_micros(50);
    let napped = NAP.saturating_mul(u32::try_from(tries).unwrap_or(u32::MAX));
    if napped >= BUSY_TIMEOUT {
        return 0;
    }
    std::thread::sleep(NAP);
    1
}

/// The SQLite store: every store trait, through `Backend`.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    // SAFETY: the handle is locked for this call and stays open; the
                    // handler is a plain function that touches no memory of SQLite's.
                    unsafe {
                        libsqlite3_sys::sqlite3_busy_handler(
                            handle.as_raw_handle().as_ptr(),
                            Some(busy),
                            std::ptr::null_mut(),
                        )
                    };
                    Ok(())
                })
            })
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
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
        let outcome = async {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
            let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
                .fetch_all(&mut *conn)
                .await
                .map_err(unavailable)?;
            migrate::check_not_newer(done.iter().copied().max().unwrap_or(0))?;
            for m in migrate::pending(&done) {
                sqlx::raw_sql(m.sql(Dialect::Sqlite))
                    .execute(&mut *conn)
                    .await
                    .map_err(unavailable)?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))",
                )
                .bind(m.version)
                .execute(&mut *conn)
                .await
                .map_err(unavailable)?;
            }
            Ok(())
        }
        .await;
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        sqlx::raw_sql(end)
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
        outcome
    }
}

impl Backend for SqliteStore {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Row = SqliteRow;
    type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let done = bind(sqlx::query(sql), args)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected())
    }

    async fn fetch_optional(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<SqliteRow>> {
        bind(sqlx::query(sql), args)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn fetch_all(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<SqliteRow>> {
        bind(sqlx::query(sql), args)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn begin(&self) -> StoreResult<Self::Tx> {
        self.pool.begin().await.map_err(unavailable)
    }

    fn pool_state(&self) -> PoolStats {
        pool_stats(&self.pool)
    }

    /// A `VACUUM INTO` copy of the database file.
    async fn copy_into(&self, to: &Path) -> StoreResult<()> {
        // Created here, empty, readable by the owner only (it holds password hashes and
        // sealed keys), and never over an existing file: `create_new` is atomic.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(to) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Conflict(format!(
                    "{} exists; a backup never overwrites a file",
                    to.display()
                )));
            }
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot create {}: {e}",
                    to.display()
                )));
            }
        }
        let path = to
            .to_str()
            .ok_or_else(|| StoreError::Schema(format!("{} is not a UTF-8 path", to.display())))?;
        // One read transaction: a consistent snapshot, and in WAL mode writers go on.
        if let Err(e) = sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await
        {
            let _ = std::fs::remove_file(to);
            return Err(unavailable(e));
        }
        Ok(())
    }

    async fn close_pool(&self) {
        self.pool.close().await;
    }
}

impl db::Tx for sqlx::Transaction<'static, sqlx::Sqlite> {
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let done = bind(sqlx::query(sql), args)
            .execute(&mut **self)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected())
    }

    async fn commit(self) -> StoreResult<()> {
        sqlx::Transaction::commit(self).await.map_err(unavailable)
    }
}

impl db::Row for SqliteRow {
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
