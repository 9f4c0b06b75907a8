//! The SQLite store: one file in WAL mode, so the CLI can add users and apps while the
//! server runs and the server sees them at once.
//!
//! The statements and row mapping it shares with PostgreSQL are written once in
//! `store::sql`; what stays here is what differs: opening the file, migrating under
//! `BEGIN IMMEDIATE`, and `VACUUM INTO` backups.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::migrate::{self, SQLITE};
use super::sql::{bind_values, json_list, placeholder, to_json, unavailable};
use super::*;

mod directory;
mod management;
mod refresh;
mod settings;
use crate::clock::UnixTime;

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
            Ok(done) => {
                match migrate::check_not_newer(done.iter().copied().max().unwrap_or(0), SQLITE) {
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
                }
            }
        };
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

// Servers, keys, sessions, pending authorizations and codes: the shared body in
// `store::sql::auth`.
crate::store::sql::auth::auth_store!(SqliteStore, SqliteRow);

// Pushed authorization requests and brute-force counters: the shared body in
// `store::sql::hardening`.
crate::store::sql::hardening::hardening_store!(SqliteStore, SqliteRow);

impl SqliteStore {
    /// `Maintenance::backup_into`: a `VACUUM INTO` copy of the database file.
    async fn backup(&self, to: &std::path::Path) -> StoreResult<()> {
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
}

// Ping, schema version, purging, pool statistics: the shared body in
// `store::sql::maintenance`.
crate::store::sql::maintenance::maintenance_store!(SqliteStore, greatest = "MAX");

// Single-use JWT ids: the shared body in `store::sql::replay`.
crate::store::sql::replay::replay_store!(SqliteStore);
