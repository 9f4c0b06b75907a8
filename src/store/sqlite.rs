//! The SQLite adapter: one file in WAL mode, so the CLI can add users and apps while the
//! server runs and the server sees them at once.
//!
//! What is here is only what SQLite does its own way: opening the file (with a busy
//! handler), migrating under `BEGIN IMMEDIATE`, running one statement or a transaction,
//! reading its rows, and `VACUUM INTO` backups. The statements and their row mapping are
//! written once for both backends, in the file of each store trait.
//!
//! # Statements run on the calling thread
//!
//! SQLite is a library, not a server: a statement is a function call of a few
//! microseconds. The adapter holds a small pool of synchronous connections (rusqlite,
//! SQLite bundled) and runs each statement on the thread that asks for it, the request's
//! own tokio worker, with no thread hand-off. (sqlx's driver ran each connection on a
//! thread of its own, so every statement was two hand-offs, which cost the server more
//! CPU than the statements themselves: see bench/RESULTS.md.)
//!
//! A worker must never wait long, though, or every request queued behind it waits too.
//! Reads in WAL mode never wait for writers. A write waits only while another connection
//! holds SQLite's write lock, which our own statements hold for microseconds and another
//! process (the command line, a backup) may hold longer. So every statement is first
//! tried *impatiently*: the busy handler gives up at once. Only if SQLite answers
//! "busy" is it tried again patiently, napping 50 µs per try for up to `BUSY_TIMEOUT`,
//! inside `tokio::task::block_in_place`, which hands the worker's other tasks to another
//! thread meanwhile. A statement that failed with "busy" changed nothing (SQLite takes
//! the lock before it changes a row), so trying it again is safe.
//!
//! A transaction (`begin`) takes the write lock at once (`BEGIN IMMEDIATE`), the same
//! way, and holds its connection until `commit` or drop (which rolls back). The store's
//! transactions run their statements back to back and await nothing else between them,
//! so the lock is held only while a thread is running them.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ffi};

use super::db::{self, Arg, Backend, Dialect};
use super::migrate;
use super::{PoolStats, StoreError, StoreResult};

/// How long a statement waits for another connection's write lock, then fails (503).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement waits for a free connection when all are in use.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool. A connection is in use only while a thread runs a statement
/// on it (or a transaction holds it), so this bounds the threads that may run
/// statements at once: the tokio workers, and those waiting for the write lock.
const MAX_CONNECTIONS: u32 = 8;
/// Prepared statements kept per connection (the store has about 150 distinct ones).
const STATEMENT_CACHE: usize = 256;

thread_local! {
    /// Whether the statement this thread is running may wait for the write lock.
    static PATIENT: Cell<bool> = const { Cell::new(false) };
}

/// SQLite's busy handler: called while another connection (of this process or another)
/// holds the write lock. An impatient statement gives up at once (and is tried again
/// patiently off the worker, see the module comment). A patient one naps 50 µs per try,
/// up to `BUSY_TIMEOUT` in all: SQLite's default (`busy_timeout`) sleeps 1, 2, 5, 10 ...
/// 100 ms between tries, while our write transactions hold the lock for tens of
/// microseconds (the profile behind this: half the server's syscall time was in
/// `clock_nanosleep`); yielding instead burnt the CPU the lock holder needed.
fn busy(tries: i32) -> bool {
    const NAP: Duration = Duration::from_micros(50);
    if !PATIENT.get() {
        return false;
    }
    let napped = NAP.saturating_mul(u32::try_from(tries).unwrap_or(u32::MAX));
    if napped >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(NAP);
    true
}

/// Runs `f` with this thread's statements patient, restoring the flag after.
fn patiently<T>(f: impl FnOnce() -> T) -> T {
    let before = PATIENT.replace(true);
    let out = f();
    PATIENT.set(before);
    out
}

/// Runs `f`, which may block for a while, without holding up the tokio worker's other
/// tasks: inside `block_in_place` on a multi-threaded runtime, as it is elsewhere (a
/// current-thread runtime, as in some tests, or a plain thread).
fn off_the_worker<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Runs `f` impatiently, and again patiently off the worker if SQLite said "busy".
fn run<T>(f: impl Fn() -> rusqlite::Result<T>) -> StoreResult<T> {
    match f() {
        Err(e) if is_busy(&e) => off_the_worker(|| patiently(&f)).map_err(unavailable),
        other => other.map_err(unavailable),
    }
}

/// A rusqlite error as a `StoreError`: a unique or primary-key violation is a conflict,
/// anything else (busy, locked, I/O, a missing column) makes the store unavailable.
fn unavailable(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e
        && matches!(
            failure.extended_code,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(message.clone().unwrap_or_else(|| e.to_string()));
    }
    StoreError::Unavailable(e.to_string())
}

/// Where and how to open a connection.
#[derive(Debug)]
struct Target {
    /// A plain path, or a `file:` URI when the URL had parameters (`mode=ro`, ...).
    name: String,
    flags: OpenFlags,
}

impl Target {
    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(&self.name, self.flags).map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_handler(Some(busy)).map_err(unavailable)?;
        // The pragmas may wait for a lock another process holds (it is migrating).
        patiently(|| {
            conn.execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
        })
        .map_err(unavailable)?;
        Ok(conn)
    }
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<Connection>,
    /// Connections open, idle or in use.
    open: u32,
    closed: bool,
}

#[derive(Debug)]
struct Pool {
    target: Target,
    state: Mutex<PoolState>,
    /// Signalled when a connection comes back or a slot frees.
    returned: Condvar,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection, a new one while fewer than `MAX_CONNECTIONS` are open, or
    /// (all in use) the first one returned within `ACQUIRE_TIMEOUT`.
    fn acquire(self: &Arc<Self>) -> StoreResult<Pooled> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return Err(StoreError::Unavailable("the SQLite pool is closed".into()));
            }
            if let Some(conn) = state.idle.pop() {
                return Ok(self.pooled(conn));
            }
            if state.open < MAX_CONNECTIONS {
                state.open += 1;
                drop(state);
                return match off_the_worker(|| self.target.open()) {
                    Ok(conn) => Ok(self.pooled(conn)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            // Every connection is on some thread running a statement: wait for one.
            let deadline = Instant::now() + ACQUIRE_TIMEOUT;
            state = off_the_worker(|| {
                let mut state = state;
                while state.idle.is_empty() && state.open >= MAX_CONNECTIONS && !state.closed {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = self
                        .returned
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                state
            });
            if state.idle.is_empty() && state.open >= MAX_CONNECTIONS && !state.closed {
                return Err(StoreError::Unavailable(
                    "no SQLite connection free within the acquire timeout".into(),
                ));
            }
        }
    }

    fn pooled(self: &Arc<Self>, conn: Connection) -> Pooled {
        Pooled {
            conn: Some(conn),
            pool: self.clone(),
        }
    }
}

/// A connection taken from the pool; dropping it gives it back.
struct Pooled {
    conn: Option<Connection>,
    pool: Arc<Pool>,
}

impl std::ops::Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if state.closed || !conn.is_autocommit() {
            // Closed, or left inside a transaction it could not roll back: not reused.
            state.open -= 1;
            drop(state);
            drop(conn);
        } else {
            state.idle.push(conn);
            drop(state);
        }
        self.pool.returned.notify_one();
    }
}

/// Binds `args` to `stmt`. `$n` names the n-th argument wherever it appears (SQLite
/// numbers named parameters by first appearance, so `$2 ... $1` must be looked up by
/// name); a plain `?` takes the argument at its position.
fn bind(stmt: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> rusqlite::Result<()> {
    for index in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix(['$', '?']))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(index);
        let arg = args
            .get(n.wrapping_sub(1))
            .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
        let value = match arg {
            Arg::Text(Some(text)) => ValueRef::Text(text.as_bytes()),
            Arg::OwnedText(text) => ValueRef::Text(text.as_bytes()),
            Arg::Int(Some(n)) => ValueRef::Integer(*n),
            Arg::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Arg::Bytes(Some(bytes)) => ValueRef::Blob(bytes),
            Arg::Text(None) | Arg::Int(None) | Arg::Bytes(None) => ValueRef::Null,
        };
        stmt.raw_bind_parameter(index, ToSqlOutput::Borrowed(value))?;
    }
    Ok(())
}

/// At `debug`, every statement, without its values (docs/operations.md).
fn log_statement(sql: &str) {
    tracing::debug!(target: "gatehouse::store::sqlite", statement = sql);
}

/// Runs one statement to its end; how many rows it changed (0 for a read).
fn execute_on(conn: &Connection, sql: &str, args: &[Arg<'_>]) -> rusqlite::Result<u64> {
    log_statement(sql);
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let readonly = stmt.readonly();
    // Stepped through rather than `execute`d: a statement may return rows (`SELECT 1`,
    // `RETURNING`) that the caller does not need.
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    drop(rows);
    Ok(if readonly { 0 } else { conn.changes() })
}

/// Runs one statement and reads up to `limit` rows.
fn fetch_on(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    limit: usize,
) -> rusqlite::Result<Vec<SqliteRow>> {
    log_statement(sql);
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let width = columns.len();
    // A write (`... RETURNING`) is stepped to its end, whatever it returns, so that it
    // completes here; a read stops at `limit`.
    let to_the_end = !stmt.readonly();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < limit || to_the_end {
        let Some(row) = rows.next()? else { break };
        if out.len() >= limit {
            continue;
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Value::from(row.get_ref(i)?));
        }
        out.push(SqliteRow {
            columns: columns.clone(),
            values,
        });
    }
    Ok(out)
}

/// The SQLite store: every store trait, through `Backend`.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
    log_queue: std::sync::OnceLock<super::db::LogQueue>,
}

impl SqliteStore {
    pub async fn open_file(path: &Path) -> StoreResult<Self> {
        let name = path
            .to_str()
            .ok_or_else(|| StoreError::Schema(format!("{} is not a UTF-8 path", path.display())))?;
        Self::open_target(Target {
            name: name.to_string(),
            flags: OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        })
    }

    /// `sqlite:PATH` or `sqlite://PATH`, optionally with SQLite's URI parameters
    /// (`?mode=ro`, `?mode=rwc`, `?cache=shared`, ...).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Schema(format!("bad SQLite URL: {url}")))?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(StoreError::Schema(format!(
                "bad SQLite URL: {url}: no file named"
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let target = match query {
            None => Target {
                name: path.to_string(),
                flags,
            },
            Some(query) => {
                // A URI filename: the path with the characters a URI gives a meaning
                // escaped, and SQLite's own parameters as they are.
                let mut name = String::from("file:");
                for c in path.chars() {
                    match c {
                        '%' => name.push_str("%25"),
                        '#' => name.push_str("%23"),
                        '?' => name.push_str("%3f"),
                        c => name.push(c),
                    }
                }
                name.push('?');
                name.push_str(query);
                Target {
                    name,
                    flags: flags | OpenFlags::SQLITE_OPEN_URI,
                }
            }
        };
        Self::open_target(target)
    }

    fn open_target(target: Target) -> StoreResult<Self> {
        let pool = Arc::new(Pool {
            target,
            state: Mutex::new(PoolState::default()),
            returned: Condvar::new(),
        });
        let store = SqliteStore {
            pool,
            log_queue: std::sync::OnceLock::new(),
        };
        off_the_worker(|| store.migrate())?;
        Ok(store)
    }

    /// Applies the migrations this binary has and the database lacks, under SQLite's
    /// write lock so that two processes starting together do not both apply them.
    fn migrate(&self) -> StoreResult<()> {
        let conn = self.pool.acquire()?;
        patiently(|| conn.execute_batch("BEGIN IMMEDIATE")).map_err(unavailable)?;
        let outcome = (|| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .map_err(unavailable)?;
            let done: Vec<i64> = conn
                .prepare("SELECT version FROM schema_migrations")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(unavailable)?;
            migrate::check_not_newer(done.iter().copied().max().unwrap_or(0))?;
            for m in migrate::pending(&done) {
                conn.execute_batch(m.sql(Dialect::Sqlite))
                    .map_err(unavailable)?;
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
                    [m.version],
                )
                .map_err(unavailable)?;
            }
            Ok(())
        })();
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        patiently(|| conn.execute_batch(end)).map_err(unavailable)?;
        outcome
    }

    fn fetch(&self, sql: &str, args: &[Arg<'_>], limit: usize) -> StoreResult<Vec<SqliteRow>> {
        let conn = self.pool.acquire()?;
        run(|| fetch_on(&conn, sql, args, limit))
    }
}

impl Backend for SqliteStore {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Row = SqliteRow;
    type Tx = SqliteTx;

    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let conn = self.pool.acquire()?;
        run(|| execute_on(&conn, sql, args))
    }

    async fn fetch_optional(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<SqliteRow>> {
        Ok(self.fetch(sql, args, 1)?.pop())
    }

    async fn fetch_all(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<SqliteRow>> {
        self.fetch(sql, args, usize::MAX)
    }

    async fn begin(&self) -> StoreResult<SqliteTx> {
        let conn = self.pool.acquire()?;
        run(|| conn.execute_batch("BEGIN IMMEDIATE"))?;
        Ok(SqliteTx { conn })
    }

    fn pool_state(&self) -> PoolStats {
        let state = self.pool.lock();
        let idle = u32::try_from(state.idle.len()).unwrap_or(u32::MAX);
        PoolStats {
            idle,
            in_use: state.open.saturating_sub(idle),
            max: MAX_CONNECTIONS,
        }
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
        // It reads the whole file, so it runs off the worker from the start.
        let copied = self.pool.acquire().and_then(|conn| {
            off_the_worker(|| patiently(|| conn.execute("VACUUM INTO ?1", [path])))
                .map_err(unavailable)
        });
        if let Err(e) = copied {
            let _ = std::fs::remove_file(to);
            return Err(e);
        }
        Ok(())
    }

    async fn close_pool(&self) {
        let idle = {
            let mut state = self.pool.lock();
            state.closed = true;
            let idle = std::mem::take(&mut state.idle);
            state.open -= u32::try_from(idle.len()).unwrap_or(u32::MAX);
            idle
        };
        // Closing the last connection checkpoints the WAL into the file.
        off_the_worker(|| drop(idle));
        self.pool.returned.notify_all();
    }

    fn log_queue(&self) -> &std::sync::OnceLock<super::db::LogQueue> {
        &self.log_queue
    }

    fn pool_handle(&self) -> Self {
        SqliteStore {
            pool: Arc::clone(&self.pool),
            log_queue: std::sync::OnceLock::new(),
        }
    }
}

/// A transaction in progress: its connection, inside `BEGIN IMMEDIATE`.
pub struct SqliteTx {
    conn: Pooled,
}

impl db::Tx for SqliteTx {
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        run(|| execute_on(&self.conn, sql, args))
    }

    async fn commit(self) -> StoreResult<()> {
        run(|| self.conn.execute_batch("COMMIT"))
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        // Not committed (or the commit failed): roll back before the connection goes
        // back to the pool. A connection still inside a transaction is closed instead.
        if !self.conn.is_autocommit() {
            let _ = patiently(|| self.conn.execute_batch("ROLLBACK"));
        }
    }
}

/// A row read from SQLite: its values, and the statement's column names (shared by
/// the rows of one result).
#[derive(Debug, Clone)]
pub struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl SqliteRow {
    /// The value of `column`; a name the result repeats reads its last column.
    fn value(&self, column: &str) -> StoreResult<&Value> {
        self.columns
            .iter()
            .rposition(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| StoreError::Unavailable(format!("no column found for name: {column}")))
    }

    fn mismatch(column: &str, wanted: &str, found: &Value) -> StoreError {
        StoreError::Unavailable(format!(
            "column {column}: expected {wanted}, found {:?}",
            found.data_type()
        ))
    }

    fn opt<T>(
        &self,
        column: &str,
        wanted: &str,
        read: impl FnOnce(&Value) -> Option<T>,
    ) -> StoreResult<Option<T>> {
        match self.value(column)? {
            Value::Null => Ok(None),
            v => read(v)
                .map(Some)
                .ok_or_else(|| Self::mismatch(column, wanted, v)),
        }
    }

    fn required<T>(&self, column: &str, value: Option<T>, wanted: &str) -> StoreResult<T> {
        value.ok_or_else(|| {
            StoreError::Unavailable(format!("column {column}: expected {wanted}, found NULL"))
        })
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Text(text) => Some(text.clone()),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

fn as_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Blob(bytes) => Some(bytes.clone()),
        Value::Text(text) => Some(text.as_bytes().to_vec()),
        _ => None,
    }
}

impl db::Row for SqliteRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        let v = self.opt(column, "TEXT", as_text)?;
        self.required(column, v, "TEXT")
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.opt(column, "TEXT", as_text)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        let v = self.opt(column, "INTEGER", as_int)?;
        self.required(column, v, "INTEGER")
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.opt(column, "INTEGER", as_int)
    }
    fn bool(&self, column: &str) -> StoreResult<bool> {
        let v = self.opt(column, "INTEGER 0/1", as_int)?;
        Ok(self.required(column, v, "INTEGER 0/1")? != 0)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        let v = self.opt(column, "BLOB", as_bytes)?;
        self.required(column, v, "BLOB")
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        self.opt(column, "BLOB", as_bytes)
    }
}
