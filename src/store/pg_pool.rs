//! The PostgreSQL connection pool: sqlx connections without sqlx's pool.
//!
//! sqlx's pool costs a statement two extra round trips: a ping before it hands a
//! connection out (optional) and another when the connection goes back (always; it
//! cannot be turned off). A statement that is one round trip of its own cost three
//! (bench/RESULTS.md, issue 14). This pool pings only a connection that may have gone
//! bad since its last use:
//!
//! - one that sat idle for [`PING_AFTER_IDLE`] or longer (a database restart while
//!   nothing used it), and
//! - every idle connection, however recent, once any connection has failed since it was
//!   put back: a failure is how a restart or an outage shows itself, and the others
//!   were most likely dropped with it. So the requests that meet an outage answer 503,
//!   and the first ones after it find live connections, not the dead ones the outage
//!   left in the pool.
//!
//! What it gives up: a restart that begins and ends within a second in which no
//! request used the database fails the first statement that meets a connection it
//! dropped (503 with `Retry-After`, as during the outage itself); the connection is
//! then discarded and every other one pinged before use. A ping before every use only
//! narrows that window, it cannot close it (the database may go away between the ping
//! and the statement).
//!
//! A connection goes back to the pool only when its last statement ran to its end
//! without a connection error and no transaction is open on it. One whose statement was
//! abandoned half way (the request was cancelled) or whose transaction was neither
//! committed nor rolled back is closed instead, which ends that transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{PoolStats, StoreError, StoreResult};

/// A connection idle this long is pinged before use: under load connections are reused
/// within milliseconds and never pinged; after a quiet second, always.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A connection idle this long is closed when another goes back to the pool, so a
/// burst's connections do not stay open on the database forever (sqlx's default).
pub const CLOSE_AFTER_IDLE: Duration = Duration::from_secs(600);

/// A pool of at most `max` PostgreSQL connections, opened on demand.
#[derive(Debug, Clone)]
pub struct PgPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: PgConnectOptions,
    max: u32,
    acquire_timeout: Duration,
    /// One permit per connection that may be open; closed when the pool closes.
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    /// How many connections have failed so far; an idle connection put back before the
    /// latest failure is pinged before use.
    failures: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Most recently returned last: connections are taken from the end, so the ones in
    /// use stay warm and the oldest idle ones are at the front.
    idle: Vec<Idle>,
    open: u32,
    closed: bool,
}

#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    since: Instant,
    /// `Inner::failures` when it went back.
    failures: u64,
}

impl PgPool {
    /// A pool that opens nothing until asked.
    pub fn new(options: PgConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        let max = max.max(1);
        PgPool {
            inner: Arc::new(Inner {
                options,
                max,
                acquire_timeout,
                permits: Arc::new(Semaphore::new(max as usize)),
                state: Mutex::new(State::default()),
                failures: AtomicU64::new(0),
            }),
        }
    }

    /// A connection that was usable when handed out: an idle one (pinged if it may
    /// have gone bad) or a new one. Waits up to the acquire timeout for a free one.
    pub async fn acquire(&self) -> StoreResult<PgConn> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.acquire_timeout;
        let permit =
            tokio::time::timeout_at(deadline.into(), inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| {
                    StoreError::Unavailable(
                        "no PostgreSQL connection free within the acquire timeout".into(),
                    )
                })?
                .map_err(|_| StoreError::Unavailable("the PostgreSQL pool is closed".into()))?;
        loop {
            let taken = inner.lock().idle.pop();
            let Some(idle) = taken else { break };
            let mut conn = PgConn::new(idle.conn, inner.clone());
            let suspect = idle.since.elapsed() >= PING_AFTER_IDLE
                || idle.failures != inner.failures.load(Ordering::Acquire);
            if !suspect {
                return Ok(conn.with_permit(permit));
            }
            let pinged = tokio::time::timeout_at(deadline.into(), conn.use_conn().ping()).await;
            match pinged {
                Ok(result) => {
                    if conn.finish(result).is_ok() {
                        return Ok(conn.with_permit(permit));
                    }
                    // Whatever the ping's error, the connection is not handed out again.
                    conn.clean = false;
                }
                // The ping itself outlived the acquire timeout: `conn` is dropped dirty.
                Err(_) => {
                    return Err(StoreError::Unavailable(
                        "no PostgreSQL connection usable within the acquire timeout".into(),
                    ));
                }
            }
        }
        let opened =
            tokio::time::timeout_at(deadline.into(), PgConnection::connect_with(&inner.options))
                .await
                .map_err(|_| {
                    StoreError::Unavailable(
                        "no PostgreSQL connection opened within the acquire timeout".into(),
                    )
                })?
                .map_err(|e| {
                    inner.failures.fetch_add(1, Ordering::AcqRel);
                    super::db::unavailable(e)
                })?;
        let mut state = inner.lock();
        if state.closed {
            return Err(StoreError::Unavailable(
                "the PostgreSQL pool is closed".into(),
            ));
        }
        state.open += 1;
        drop(state);
        Ok(PgConn::new(opened, inner.clone()).with_permit(permit))
    }

    /// Open, idle and in use now.
    pub fn stats(&self) -> PoolStats {
        let state = self.inner.lock();
        let idle = u32::try_from(state.idle.len()).unwrap_or(u32::MAX);
        PoolStats {
            idle,
            in_use: state.open.saturating_sub(idle),
            max: self.inner.max,
        }
    }

    /// Refuses new acquires and closes the idle connections politely; the ones in use
    /// are closed when they come back.
    pub async fn close(&self) {
        self.inner.permits.close();
        let idle = {
            let mut state = self.inner.lock();
            state.closed = true;
            state.open -= u32::try_from(state.idle.len()).unwrap_or(u32::MAX);
            std::mem::take(&mut state.idle)
        };
        for idle in idle {
            let _ = idle.conn.close().await;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection taken from the pool; dropping it gives it back if it is in a known
/// state (no statement half run, no transaction open), else closes it.
#[derive(Debug)]
pub struct PgConn {
    conn: Option<PgConnection>,
    pool: Arc<Inner>,
    permit: Option<OwnedSemaphorePermit>,
    /// False from the moment a statement is sent until its answer is read.
    clean: bool,
    in_transaction: bool,
}

impl PgConn {
    fn new(conn: PgConnection, pool: Arc<Inner>) -> Self {
        PgConn {
            conn: Some(conn),
            pool,
            permit: None,
            clean: true,
            in_transaction: false,
        }
    }

    fn with_permit(mut self, permit: OwnedSemaphorePermit) -> Self {
        self.permit = Some(permit);
        self
    }

    /// The connection, to run one statement on; call [`PgConn::finish`] with its result.
    /// Until then the connection counts as dirty, so a statement abandoned half way
    /// (its future dropped) keeps it out of the pool.
    pub fn use_conn(&mut self) -> &mut PgConnection {
        self.clean = false;
        self.conn.as_mut().expect("present until dropped")
    }

    /// The statement's result as a store result. A connection error marks the
    /// connection for closing and every idle connection for a ping.
    pub fn finish<T>(&mut self, result: Result<T, sqlx::Error>) -> StoreResult<T> {
        match result {
            Ok(value) => {
                self.clean = true;
                Ok(value)
            }
            Err(e) => {
                if breaks_the_connection(&e) {
                    self.pool.failures.fetch_add(1, Ordering::AcqRel);
                } else {
                    self.clean = true;
                }
                Err(super::db::unavailable(e))
            }
        }
    }

    /// Starts a transaction: until [`PgConn::commit`] succeeds the connection is not
    /// given back to the pool (dropped, it is closed, which rolls back).
    pub async fn begin(&mut self) -> StoreResult<()> {
        let result = self.use_conn().execute("BEGIN").await;
        self.finish(result)?;
        self.in_transaction = true;
        Ok(())
    }

    /// Commits the transaction `begin` started.
    pub async fn commit(&mut self) -> StoreResult<()> {
        let result = self.use_conn().execute("COMMIT").await;
        self.finish(result)?;
        self.in_transaction = false;
        Ok(())
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if state.closed || !self.clean || self.in_transaction {
            state.open = state.open.saturating_sub(1);
            drop(state);
            // Closing the socket ends the session and rolls back an open transaction.
            drop(conn);
        } else {
            let now = Instant::now();
            let stale = state
                .idle
                .iter()
                .take_while(|idle| now.duration_since(idle.since) >= CLOSE_AFTER_IDLE)
                .count();
            state.open -= u32::try_from(stale).unwrap_or(0);
            let closing: Vec<Idle> = state.idle.drain(..stale).collect();
            state.idle.push(Idle {
                conn,
                since: now,
                failures: self.pool.failures.load(Ordering::Acquire),
            });
            drop(state);
            drop(closing);
        }
        // The permit goes back after the connection, so a waiter finds it idle.
        drop(self.permit.take());
    }
}

/// Whether an error means the connection itself may be gone: anything but an error the
/// database reported about the statement (a constraint, a bad value) or a row that did
/// not decode. SQLSTATE classes 08 (connection), 57 (operator intervention: shutdown,
/// terminated), 53 (resources), 58 (system) and XX (internal) count as gone.
fn breaks_the_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_none_or(|code| {
            ["08", "57", "53", "58", "XX"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_) => false,
        _ => true,
    }
}
