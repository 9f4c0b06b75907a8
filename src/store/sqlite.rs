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
//!
//! # One writer at a time, queued in the process
//!
//! SQLite lets one connection write at a time; the others' writes fail "busy" and nap
//! until it is done. Between this process's own connections that nap is waste (the
//! profile: 8 % of the SSO flow's CPU in naps and their wake-ups), so a write first
//! takes the pool's write gate: a statement that writes (`Kind`: by its first word,
//! else `readonly()` once prepared) for its one step, a transaction from `BEGIN
//! IMMEDIATE` to its end. A writer that finds the gate held waits on it, woken once
//! when it frees: in place for up to `GATE_IN_PLACE` (a write holds it for tens of
//! microseconds), then off the worker. SQLite's lock is then contended only by other
//! processes and the checkpointer, as above.
//!
//! The gate also holds the one connection every write runs on. SQLite empties a
//! connection's page cache when it begins a transaction after *another* connection's
//! commit; with the writes spread over the pool, each began cold and read again, from
//! the WAL or the file, the pages of every B-tree it appended to (a token's redemption
//! touches about twenty). The writer's connection sees no commit but its own (the
//! readers commit nothing), so its cache stays warm from one write to the next (a
//! commit by another process empties it, as any connection's). The readers still
//! begin cold after each commit; they read fewer pages than writes do.
//!
//! # A request's reads in one snapshot per poll
//!
//! A read outside a transaction is a read transaction of its own: SQLite takes a lock
//! in the WAL's shared memory, compares the WAL's header with the one it last saw and,
//! if anything committed since (under load, always), empties the connection's page
//! cache and reads the database header again before the statement's own pages. A
//! request reads several rows (an SSO round trip twelve), each from a cold start. So
//! within one poll of a request's future (`one_snapshot_per_poll`, around every HTTP
//! request) the first read opens a read transaction on a pool connection (`BEGIN`, then
//! the read) and the poll's later reads run in it, without the lock or the emptied
//! cache again (the pages of their own tables they still read). It ends (`COMMIT`, and
//! the connection goes back to the pool) when the poll returns, when the request writes
//! (before it waits for the write gate) or begins a transaction, and when the write
//! gate it held frees (so a read after the request's own commit sees it). A poll is
//! the synchronous stretch between two awaits that wait: the snapshot never lasts
//! across a wait for anything (another task's commit, a hash, the network), only as
//! long as a few statements and a signature, and a request holds at most one
//! connection for it. Reads by background tasks, outside any request, run one by one
//! as before.
//!
//! # Checkpoints off the request path
//!
//! In WAL mode a commit appends the pages it changed to the `-wal` file; a *checkpoint*
//! copies them back into the database file and syncs it. SQLite's default runs one
//! inside whichever commit takes the WAL past 1,000 pages: under load, every few dozen
//! milliseconds, in some request's statement, each time rewriting the same hot pages
//! (the newest leaf of every table and index a request appends to) and syncing the file
//! (bench/RESULTS.md: 16 % of the SSO flow's CPU). Worse, under sustained load the WAL
//! never started over: SQLite restarts it from its beginning only when a writer finds
//! it wholly copied *and* no reader on it, and with statements running back to back on
//! every worker some reader always was. So it grew (230 MB in 20 s of the benchmark's
//! flows), and every commit past the threshold ran a checkpoint over all of it.
//!
//! Here a thread of the pool's own checkpoints every `CHECKPOINT_EVERY` instead, and no
//! request waits for it: first `PASSIVE`, twice (it copies what it can and waits for
//! nobody), then `RESTART`, which copies the few pages committed meanwhile and waits, at most
//! `RESTART_PATIENCE`, for the readers to leave the WAL, so that the next commit writes
//! it from its start again. `RESTART` holds back writers while it waits, hence the
//! short patience: when a long reader (a backup, another process) is on the WAL, the
//! restart is simply the next interval's. A hot page is copied and the file synced once
//! per interval whatever the load, and the WAL stays the size of an interval's commits.
//! The connections keep an automatic checkpoint at `CHECKPOINT_BACKSTOP` pages, for a
//! WAL the thread cannot keep up with.

use std::cell::{Cell, RefCell};
use std::future::Future;
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
/// Reading connections in the pool (beside them, the writer's and the checkpointer's).
/// A connection is in use only while a thread runs a statement on it, so this bounds
/// the threads that may read at once.
const MAX_CONNECTIONS: u32 = 8;
/// Prepared statements kept per connection (the store has about 150 distinct ones).
const STATEMENT_CACHE: usize = 256;
/// How often the checkpointer copies the WAL into the database file (module comment).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The WAL's size, in pages, at which a commit checkpoints by itself (SQLite's default
/// is 1,000): only if the checkpointer stopped or fell this far behind (the benchmark's
/// flows commit about 40,000 pages a second, so an interval's is about 10,000).
const CHECKPOINT_BACKSTOP: u32 = 200_000;
/// How long a writer waits for the write gate on its tokio worker before it waits off
/// it (module comment).
const GATE_IN_PLACE: Duration = Duration::from_millis(2);
/// How long the checkpointer's `RESTART` waits for readers to leave the WAL, holding
/// back writers meanwhile (module comment).
const RESTART_PATIENCE: Duration = Duration::from_millis(20);

thread_local! {
    /// Whether the statement this thread is running may wait for the write lock.
    static PATIENT: Cell<bool> = const { Cell::new(false) };
}

tokio::task_local! {
    /// The read transaction of the current poll of a request, once it has read
    /// (module comment).
    static SNAPSHOT: RefCell<Option<Snapshot>>;
}

/// Runs `request` with its reads, within each poll, in one read transaction (module
/// comment). Outside it every read is a transaction of its own, as on PostgreSQL,
/// where this changes nothing.
pub async fn one_snapshot_per_poll<F: Future>(request: F) -> F::Output {
    let mut request = std::pin::pin!(request);
    std::future::poll_fn(move |cx| {
        // The scope's snapshot, if the poll opened one, ends with it (`Snapshot::drop`).
        SNAPSHOT.sync_scope(RefCell::new(None), || request.as_mut().poll(cx))
    })
    .await
}

/// Ends this poll's snapshot, if it has one: its next read sees every commit before it.
fn end_snapshot() {
    let ended = SNAPSHOT
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten();
    drop(ended);
}

/// A pool connection inside a deferred `BEGIN`, which its first read made a read
/// transaction: the reads of one poll of a request.
struct Snapshot {
    conn: Pooled,
}

impl Snapshot {
    fn begin(pool: &Arc<Pool>) -> StoreResult<Snapshot> {
        let conn = pool.acquire()?;
        conn.prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .map_err(unavailable)?;
        Ok(Snapshot { conn })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // Out of the transaction, the connection goes back to the pool; one still in
        // it (the `COMMIT` failed) is closed instead (`Pooled::drop`).
        if !self.conn.is_autocommit() {
            let _ = self
                .conn
                .prepare_cached("COMMIT")
                .and_then(|mut commit| commit.execute([]));
        }
    }
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
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_BACKSTOP)
            .map_err(unavailable)?;
        Ok(conn)
    }
}

/// The write gate's state.
#[derive(Debug, Default)]
struct Writer {
    held: bool,
    /// Writers waiting for the gate (woken only when there are some).
    waiting: u32,
    /// The connection every write of the pool runs on, kept here between writes;
    /// opened by the first writer, and again after one was closed.
    conn: Option<Connection>,
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<Connection>,
    /// Connections open, idle or in use.
    open: u32,
    /// Threads waiting for a connection (woken only when there are some: a wake-up is
    /// a system call even with nobody to wake).
    waiting: u32,
    closed: bool,
}

#[derive(Debug)]
struct Pool {
    target: Target,
    state: Mutex<PoolState>,
    /// Signalled when a connection comes back or a slot frees.
    returned: Condvar,
    /// Signalled when the pool closes, for the checkpointer.
    closing: Condvar,
    /// The write gate: whether a writer of this pool (or the checkpointer) holds it,
    /// and the writer's connection while nobody does (module comment).
    writing: Mutex<Writer>,
    /// Signalled when the write gate frees.
    gate_freed: Condvar,
    /// The checkpointer thread, joined when the pool closes.
    checkpointer: Mutex<Option<std::thread::JoinHandle<()>>>,
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
            state.waiting += 1;
            state = off_the_worker(|| {
                let left = deadline.saturating_duration_since(Instant::now());
                self.returned
                    .wait_timeout_while(state, left, |s| {
                        s.idle.is_empty() && s.open >= MAX_CONNECTIONS && !s.closed
                    })
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            });
            state.waiting -= 1;
            if state.idle.is_empty() && state.open >= MAX_CONNECTIONS && !state.closed {
                return Err(StoreError::Unavailable(
                    "no SQLite connection free within the acquire timeout".into(),
                ));
            }
        }
    }

    /// The write gate (module comment), waited for up to `BUSY_TIMEOUT`.
    fn write_gate(self: &Arc<Self>) -> StoreResult<WriteGate> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        let mut writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if writing.held {
            // In place first: the holder is running its statements on another thread.
            let until = Instant::now() + GATE_IN_PLACE;
            writing = self.wait_gate(writing, until);
            if writing.held {
                writing = off_the_worker(|| self.wait_gate(writing, deadline));
            }
            if writing.held {
                return Err(StoreError::Unavailable(
                    "the SQLite write gate stayed held beyond the busy timeout".into(),
                ));
            }
        }
        Ok(self.take_gate(writing))
    }

    fn take_gate(self: &Arc<Self>, mut writing: MutexGuard<'_, Writer>) -> WriteGate {
        writing.held = true;
        WriteGate {
            pool: self.clone(),
            conn: writing.conn.take(),
        }
    }

    fn wait_gate<'a>(
        &self,
        mut writing: MutexGuard<'a, Writer>,
        until: Instant,
    ) -> MutexGuard<'a, Writer> {
        let left = until.saturating_duration_since(Instant::now());
        writing.waiting += 1;
        let mut writing = self
            .gate_freed
            .wait_timeout_while(writing, left, |writing| writing.held)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        writing.waiting -= 1;
        writing
    }

    /// Starts the checkpointer: a thread with a connection of its own (not one of the
    /// pool's `MAX_CONNECTIONS`) that checkpoints every `CHECKPOINT_EVERY` until the pool
    /// closes, then once more. It holds the pool weakly: a pool dropped without being
    /// closed ends it too.
    fn start_checkpointer(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let started = std::thread::Builder::new()
            .name("gatehouse-checkpoint".into())
            .spawn(move || {
                let Some(conn) = weak.upgrade().and_then(|p| p.target.open().ok()) else {
                    return;
                };
                if conn.busy_handler(Some(restart_busy)).is_err() {
                    return;
                }
                while let Some(pool) = weak.upgrade() {
                    let state = pool.lock();
                    if state.closed {
                        break;
                    }
                    let (state, _) = pool
                        .closing
                        .wait_timeout(state, CHECKPOINT_EVERY)
                        .unwrap_or_else(|e| e.into_inner());
                    if state.closed {
                        break;
                    }
                    drop(state);
                    checkpoint(&conn, Some(&pool));
                }
                checkpoint(&conn, None);
            });
        match started {
            Ok(handle) => {
                *self.checkpointer.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle)
            }
            // No thread: the connections' own automatic checkpoint still bounds the WAL.
            Err(e) => tracing::warn!(error = %e, "cannot start the SQLite checkpointer"),
        }
    }

    fn pooled(self: &Arc<Self>, conn: Connection) -> Pooled {
        Pooled {
            conn: Some(conn),
            pool: self.clone(),
        }
    }
}

/// The write gate, held, with the writer's connection once `connection` has opened it;
/// dropping it frees the gate and keeps the connection for the next writer.
struct WriteGate {
    pool: Arc<Pool>,
    conn: Option<Connection>,
}

impl WriteGate {
    /// The writer's connection, opened if there is none yet (a connection of its own,
    /// beside the pool's `MAX_CONNECTIONS`).
    fn connection(&mut self) -> StoreResult<&Connection> {
        if self.conn.is_none() {
            if self.pool.lock().closed {
                return Err(StoreError::Unavailable("the SQLite pool is closed".into()));
            }
            self.conn = Some(off_the_worker(|| self.pool.target.open())?);
        }
        Ok(self.opened())
    }

    /// The connection `connection` opened.
    fn opened(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a writer's statements run after `connection`")
    }
}

impl Drop for WriteGate {
    fn drop(&mut self) {
        // A connection left inside a transaction it could not roll back, or one of a
        // closed pool, is closed rather than kept.
        let keep = self
            .conn
            .take()
            .filter(|conn| conn.is_autocommit() && !self.pool.lock().closed);
        let mut writing = self.pool.writing.lock().unwrap_or_else(|e| e.into_inner());
        writing.held = false;
        writing.conn = keep;
        let waiting = writing.waiting > 0;
        drop(writing);
        if waiting {
            self.pool.gate_freed.notify_one();
        }
        // What this task wrote is committed (or rolled back): its next read must see it.
        end_snapshot();
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
        let waiting = state.waiting > 0;
        if state.closed || !conn.is_autocommit() {
            // Closed, or left inside a transaction it could not roll back: not reused.
            state.open -= 1;
            drop(state);
            drop(conn);
        } else {
            state.idle.push(conn);
            drop(state);
        }
        if waiting {
            self.pool.returned.notify_one();
        }
    }
}

/// The checkpointer's busy handler: naps 50 µs per try, up to `RESTART_PATIENCE`.
fn restart_busy(tries: i32) -> bool {
    const NAP: Duration = Duration::from_micros(50);
    let napped = NAP.saturating_mul(u32::try_from(tries).unwrap_or(u32::MAX));
    if napped >= RESTART_PATIENCE {
        return false;
    }
    std::thread::sleep(NAP);
    true
}

/// One interval's checkpoint (module comment): `PASSIVE` twice, then `RESTART` holding the
/// pool's write gate (`pool`; none when the pool has closed), so that the pool's writers
/// queue on the gate meanwhile rather than nap on SQLite's lock. One that cannot run or
/// finish now (a reader stayed on the WAL, another process is checkpointing, the file
/// is read-only) is simply the next interval's.
fn checkpoint(conn: &Connection, pool: Option<&Arc<Pool>>) {
    let run = |sql: &str| {
        conn.query_row(sql, [], |_| Ok(())).map_err(|e| {
            tracing::debug!(target: "gatehouse::store::sqlite", error = %e, "checkpoint not run");
        })
    };
    // The second pass copies what was committed during the first (whose copy and sync
    // of an interval's pages take tens of milliseconds under load), so that `RESTART`,
    // which holds writers back, has only the last few milliseconds' pages left to copy.
    for _ in 0..2 {
        if run("PRAGMA wal_checkpoint(PASSIVE)").is_err() {
            return;
        }
    }
    let _gate = match pool.map(|p| p.write_gate()).transpose() {
        Ok(gate) => gate,
        Err(_) => return,
    };
    let _ = run("PRAGMA wal_checkpoint(RESTART)");
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
            closing: Condvar::new(),
            writing: Mutex::new(Writer::default()),
            gate_freed: Condvar::new(),
            checkpointer: Mutex::new(None),
        });
        let store = SqliteStore {
            pool,
            log_queue: std::sync::OnceLock::new(),
        };
        off_the_worker(|| store.migrate())?;
        store.pool.start_checkpointer();
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
        self.outside_transaction(sql, |conn| fetch_on(conn, sql, args, limit))
    }

    /// Runs `sql` with `f`, outside a transaction, on the connection it belongs on: this
    /// poll's snapshot for a read in a request (`in_snapshot`), else `connection_for`'s.
    fn outside_transaction<T>(
        &self,
        sql: &str,
        f: impl Fn(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let kind = Kind::of(sql);
        if let Some(outcome) = self.in_snapshot(kind, &f) {
            return outcome;
        }
        let conn = self.connection_for(sql, kind)?;
        run(|| f(&conn))
    }

    /// Runs `read` in this poll's snapshot, opening it if need be (module comment), when
    /// its statement surely reads (`kind`) and the caller is a request's poll. None
    /// otherwise, and when the snapshot could not serve it: the caller then runs the
    /// statement on its own. A statement that may write ends the snapshot first.
    fn in_snapshot<T>(
        &self,
        kind: Kind,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<StoreResult<T>> {
        if kind != Kind::Read {
            end_snapshot();
            return None;
        }
        SNAPSHOT
            .try_with(|slot| {
                let mut slot = slot.try_borrow_mut().ok()?;
                if slot
                    .as_ref()
                    .is_some_and(|s| !Arc::ptr_eq(&s.conn.pool, &self.pool))
                {
                    // Another store's (tests open several in one process).
                    *slot = None;
                }
                if slot.is_none() {
                    *slot = Some(Snapshot::begin(&self.pool).ok()?);
                }
                let outcome = read(&slot.as_ref()?.conn);
                match outcome {
                    Ok(value) => Some(Ok(value)),
                    // Busy (a WAL recovery): the statement on its own waits patiently.
                    Err(e) if is_busy(&e) => {
                        *slot = None;
                        None
                    }
                    Err(e) => {
                        *slot = None;
                        Some(Err(unavailable(e)))
                    }
                }
            })
            .ok()
            .flatten()
    }

    /// The connection to run `sql`, of `kind`, on (a statement outside a transaction):
    /// one of the pool's for a read, the writer's, under the write gate, for a write. A writer
    /// gives the pool's connection back before it waits for the gate: one waiting with
    /// a connection in hand could leave none for the readers.
    fn connection_for(&self, sql: &str, kind: Kind) -> StoreResult<Statement> {
        let writes = match kind {
            Kind::Read => false,
            Kind::Write => true,
            Kind::Unknown => {
                let conn = self.pool.acquire()?;
                if conn.prepare_cached(sql).map_err(unavailable)?.readonly() {
                    return Ok(Statement::Read(conn));
                }
                true
            }
        };
        if !writes {
            return Ok(Statement::Read(self.pool.acquire()?));
        }
        let mut gate = self.pool.write_gate()?;
        gate.connection()?;
        Ok(Statement::Write(gate))
    }
}

/// Whether a statement writes, told from its first word where that says it: SQLite's
/// `SELECT` never writes (no function of ours does), and `INSERT`, `UPDATE`, `DELETE`
/// and `REPLACE` always do. Anything else (`WITH`, a `PRAGMA`) is prepared on a pool
/// connection and asked (`readonly()`). Told wrong, a statement would still be right,
/// only slower: a write on a pool connection takes SQLite's own lock (module comment),
/// a read under the gate waits its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Unknown,
}

impl Kind {
    fn of(sql: &str) -> Kind {
        let word = sql
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        if word.eq_ignore_ascii_case("SELECT") {
            Kind::Read
        } else if ["INSERT", "UPDATE", "DELETE", "REPLACE"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
        {
            Kind::Write
        } else {
            Kind::Unknown
        }
    }
}

/// Where one statement runs: a pool connection (a read) or the writer's (a write).
enum Statement {
    Read(Pooled),
    Write(WriteGate),
}

impl std::ops::Deref for Statement {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Statement::Read(conn) => conn,
            Statement::Write(gate) => gate.opened(),
        }
    }
}

impl Backend for SqliteStore {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Row = SqliteRow;
    type Tx = SqliteTx;

    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        self.outside_transaction(sql, |conn| execute_on(conn, sql, args))
    }

    async fn fetch_optional(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<SqliteRow>> {
        Ok(self.fetch(sql, args, 1)?.pop())
    }

    async fn fetch_all(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<SqliteRow>> {
        self.fetch(sql, args, usize::MAX)
    }

    async fn begin(&self) -> StoreResult<SqliteTx> {
        end_snapshot();
        let mut gate = self.pool.write_gate()?;
        gate.connection()?;
        let tx = SqliteTx { gate };
        run(|| tx.gate.opened().execute_batch("BEGIN IMMEDIATE"))?;
        Ok(tx)
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
        // The writer's connection, unless a writer holds it (then closed when it ends).
        let writer = self
            .pool
            .writing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .conn
            .take();
        // The checkpointer's last checkpoint, then closing the last connection
        // checkpoints what is left of the WAL into the file.
        self.pool.closing.notify_all();
        let checkpointer = self
            .pool
            .checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        off_the_worker(|| {
            if let Some(thread) = checkpointer {
                let _ = thread.join();
            }
            drop(writer);
            drop(idle)
        });
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

/// A transaction in progress: the write gate and its writer's connection, inside
/// `BEGIN IMMEDIATE`, until it ends.
pub struct SqliteTx {
    gate: WriteGate,
}

impl db::Tx for SqliteTx {
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        run(|| execute_on(self.gate.opened(), sql, args))
    }

    async fn commit(self) -> StoreResult<()> {
        run(|| self.gate.opened().execute_batch("COMMIT"))
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        // Not committed (or the commit failed): roll back before the gate frees. A
        // connection still inside a transaction is closed instead of kept.
        let conn = self.gate.opened();
        if !conn.is_autocommit() {
            let _ = patiently(|| conn.execute_batch("ROLLBACK"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Tx;
    use std::sync::atomic::{AtomicBool, Ordering};

    async fn counter_store(dir: &tempfile::TempDir) -> SqliteStore {
        let store = SqliteStore::open_file(&dir.path().join("test.db"))
            .await
            .unwrap();
        store
            .execute("CREATE TABLE counter (n INTEGER NOT NULL)", &[])
            .await
            .unwrap();
        store
            .execute("INSERT INTO counter (n) VALUES (0)", &[])
            .await
            .unwrap();
        store
    }

    async fn count(store: &SqliteStore) -> i64 {
        let row = store
            .fetch_optional("SELECT n FROM counter", &[])
            .await
            .unwrap()
            .unwrap();
        db::Row::int(&row, "n").unwrap()
    }

    /// Under a steady stream of commits, with readers always on the database, the WAL
    /// starts over every interval instead of growing with every commit. (A bound, not
    /// the mechanism: with one writer SQLite's own checkpoints manage it too; under the
    /// benchmark's flows they did not, and the WAL grew to 230 MB in 20 s. The next
    /// test shows that the checkpointer does it.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_while_readers_come_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = counter_store(&dir).await;
        let stop = Arc::new(AtomicBool::new(false));
        // Readers whose statements overlap, as the workers' do under load.
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (stop, path) = (stop.clone(), dir.path().join("test.db"));
                std::thread::spawn(move || {
                    let conn = Connection::open(path).unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        let _ = conn.query_row("SELECT n FROM counter", [], |r| r.get::<_, i64>(0));
                    }
                })
            })
            .collect();
        let mut commits = 0i64;
        let until = Instant::now() + CHECKPOINT_EVERY * 5;
        while Instant::now() < until {
            store
                .execute("UPDATE counter SET n = n + 1", &[])
                .await
                .unwrap();
            commits += 1;
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
        assert_eq!(count(&store).await, commits);
        // Each commit changed one page: one frame. The frames in the WAL now are those
        // since it last started over.
        let conn = Connection::open(dir.path().join("test.db")).unwrap();
        let in_wal: i64 = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(commits >= 200, "too few commits to tell: {commits}");
        assert!(
            in_wal * 2 < commits,
            "{in_wal} frames in the WAL after {commits} commits: it never started over"
        );
        store.close_pool().await;
    }

    /// The checkpointer, not a request's commit, copies the WAL back and starts it
    /// over: 500 commits (below SQLite's own threshold of 1,000 pages, so no commit
    /// checkpoints) are in the database file an interval later, and the next commit
    /// writes the WAL from its start.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_the_wal_back_between_requests() {
        let dir = tempfile::tempdir().unwrap();
        let store = counter_store(&dir).await;
        for _ in 0..500 {
            store
                .execute("UPDATE counter SET n = n + 1", &[])
                .await
                .unwrap();
        }
        let conn = Connection::open(dir.path().join("test.db")).unwrap();
        let frames = |conn: &Connection| -> i64 {
            // (busy, frames in the WAL, frames copied back), copying nothing new when
            // run right after a checkpoint of the thread's.
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .unwrap()
        };
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        store
            .execute("UPDATE counter SET n = n + 1", &[])
            .await
            .unwrap();
        assert!(
            frames(&conn) <= 2,
            "the WAL started over: {}",
            frames(&conn)
        );
        assert_eq!(count(&store).await, 501);
        store.close_pool().await;
    }

    /// Writers of every kind at once (transactions, statements, one rolled back) are
    /// let through the write gate one at a time: none fails busy, none is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_pass_the_gate_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = counter_store(&dir).await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    if i % 2 == 0 {
                        let mut tx = store.begin().await.unwrap();
                        tx.execute("UPDATE counter SET n = n + 1", &[])
                            .await
                            .unwrap();
                        tx.commit().await.unwrap();
                    } else {
                        store
                            .execute("UPDATE counter SET n = n + 1", &[])
                            .await
                            .unwrap();
                    }
                    // A transaction dropped unfinished rolls back and frees the gate.
                    let mut abandoned = store.begin().await.unwrap();
                    abandoned
                        .execute("UPDATE counter SET n = n + 1000", &[])
                        .await
                        .unwrap();
                    drop(abandoned);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(count(&store).await, 16 * 50);
        assert!(!store.pool.writing.lock().unwrap().held, "the gate is free");
        store.close_pool().await;
    }

    /// A statement's first word tells whether it writes exactly as SQLite's
    /// `readonly()` does, or is left to `readonly()`.
    #[test]
    fn a_statements_first_word_says_whether_it_writes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER)").unwrap();
        for (sql, kind) in [
            ("SELECT a FROM t", Kind::Read),
            ("\n   select count(*) FROM t WHERE a = ?1", Kind::Read),
            ("SELECT(1)", Kind::Read),
            ("INSERT INTO t (a) VALUES (1) RETURNING a", Kind::Write),
            ("  update t SET a = 2", Kind::Write),
            ("DELETE FROM t", Kind::Write),
            ("REPLACE INTO t (a) VALUES (3)", Kind::Write),
            ("WITH x AS (SELECT 1) SELECT * FROM x", Kind::Unknown),
            (
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                Kind::Unknown,
            ),
            ("-- a comment\nSELECT 1", Kind::Unknown),
            ("PRAGMA user_version", Kind::Unknown),
            ("VALUES (1)", Kind::Unknown),
        ] {
            assert_eq!(Kind::of(sql), kind, "{sql}");
            let readonly = conn.prepare(sql).unwrap().readonly();
            match kind {
                Kind::Read => assert!(readonly, "{sql}"),
                Kind::Write => assert!(!readonly, "{sql}"),
                Kind::Unknown => {}
            }
        }
    }

    /// Pages the writer's connection has read from the WAL or the file since it opened
    /// (SQLite's cache misses); the writer's connection must be open and idle.
    fn writer_cache_misses(store: &SqliteStore) -> i32 {
        let writing = store.pool.writing.lock().unwrap();
        let conn = writing
            .conn
            .as_ref()
            .expect("the writer's connection is kept between writes");
        let (mut current, mut highest) = (0, 0);
        // SAFETY: the handle is that of a connection open for the whole call, which no
        // other thread uses (the gate's mutex is held), and the out-pointers are live.
        let rc = unsafe {
            ffi::sqlite3_db_status(
                conn.handle(),
                ffi::SQLITE_DBSTATUS_CACHE_MISS,
                &mut current,
                &mut highest,
                0,
            )
        };
        assert_eq!(rc, ffi::SQLITE_OK);
        current
    }

    /// Every write runs on the writer's connection, whatever task asks, and its page
    /// cache stays warm from one write to the next: 200 commits from four tasks, with
    /// reads on the pool's connections between them, read the table's pages again only
    /// when the checkpointer starts the WAL over, not at every commit (as when each
    /// write took whichever pool connection was free and found another's commit).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_share_one_connection_whose_cache_stays_warm() {
        let dir = tempfile::tempdir().unwrap();
        let store = counter_store(&dir).await;
        let before = writer_cache_misses(&store);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..50 {
                        store
                            .execute("UPDATE counter SET n = n + 1", &[])
                            .await
                            .unwrap();
                        assert!(count(&store).await > 0);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(count(&store).await, 200);
        let misses = writer_cache_misses(&store) - before;
        assert!(
            misses < 40,
            "the writer read {misses} pages again in 200 commits"
        );
        store.close_pool().await;
    }

    /// Within one poll of a request (`one_snapshot_per_poll`) the reads share one read
    /// transaction on one pool connection, so another process's commit between two of
    /// them is not seen; the request's own write, its own transaction's commit and,
    /// after an await that waited, anybody's commit are. After each poll the connection
    /// is back in the pool. Outside a request every read sees every commit before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_requests_reads_share_one_snapshot_per_poll() {
        let dir = tempfile::tempdir().unwrap();
        let store = counter_store(&dir).await;
        let path = dir.path().join("test.db");
        // Another process's connection, committing at once.
        let other = move |n: i64| {
            let conn = Connection::open(&path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            conn.execute("UPDATE counter SET n = ?1", [n]).unwrap();
        };
        other(5);
        assert_eq!(count(&store).await, 5);
        other(0);
        assert_eq!(count(&store).await, 0);

        let request = store.clone();
        one_snapshot_per_poll(async move {
            let store = request;
            assert_eq!(count(&store).await, 0);
            assert_eq!(store.pool_state().in_use, 1);
            other(1);
            assert_eq!(count(&store).await, 0, "the poll's snapshot");
            assert_eq!(store.pool_state().in_use, 1, "one connection for the poll");

            store
                .execute("UPDATE counter SET n = n + 10", &[])
                .await
                .unwrap();
            assert_eq!(count(&store).await, 11, "its own write ended the snapshot");
            other(20);
            assert_eq!(count(&store).await, 11);

            let mut tx = store.begin().await.unwrap();
            tx.execute("UPDATE counter SET n = n + 100", &[])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                count(&store).await,
                120,
                "its own commit ended the snapshot"
            );
            other(30);
            assert_eq!(count(&store).await, 120);

            tokio::task::yield_now().await;
            assert_eq!(count(&store).await, 30, "a new poll, a new snapshot");
        })
        .await;
        let pool = store.pool_state();
        assert_eq!(pool.in_use, 0);
        assert!(
            pool.idle >= 1,
            "the snapshot's connection went back to the pool"
        );
        store.close_pool().await;
    }

    /// The System Log's table of target ids (migration 45) holds one pair per target of
    /// each event — an id named twice once, quotes, backslashes and control characters
    /// kept (the trigger reads the ids as JSON strings) — and loses an event's pairs
    /// when the event is purged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_target_ids_table_follows_the_system_log() {
        use crate::store::{LogEvent, LogStore};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_file(&dir.path().join("test.db"))
            .await
            .unwrap();
        let event = |n: i64, targets: &[&str]| LogEvent {
            seq: 0,
            uuid: format!("uuid-{n}"),
            published: n,
            event_type: "user.session.start".into(),
            outcome_result: "SUCCESS".into(),
            actor_id: "00u1".into(),
            target_ids: targets.iter().map(|t| t.to_string()).collect(),
            event: "{}".into(),
        };
        store
            .insert_event(&event(1, &["00u1", "0oa1", "00u1"]))
            .await
            .unwrap();
        store
            .insert_event(&event(2, &["x\"y\\z", "bad\u{1}id"]))
            .await
            .unwrap();
        store.insert_event(&event(3, &[])).await.unwrap();
        async fn pairs(store: &SqliteStore) -> Vec<String> {
            let rows = store
                .fetch_all(
                    "SELECT target_id FROM system_log_target_ids ORDER BY seq, target_id",
                    &[],
                )
                .await
                .unwrap();
            rows.iter()
                .map(|r| db::Row::text(r, "target_id").unwrap())
                .collect()
        }
        assert_eq!(
            pairs(&store).await,
            ["00u1", "0oa1", "bad\u{1}id", "x\"y\\z"]
        );
        assert_eq!(store.purge_events(2).await.unwrap(), 1);
        assert_eq!(pairs(&store).await, ["bad\u{1}id", "x\"y\\z"]);
        store.close_pool().await;
    }
}
