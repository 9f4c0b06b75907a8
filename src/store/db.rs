//! The seam between the store's SQL and a database driver.
//!
//! Every store method is written once, in the file of its trait, as SQL text and a few
//! calls on [`Backend`]: run a statement with bound [`Arg`]s, fetch rows and read them
//! through [`Row`], or do the same inside a [`Tx`]. A backend adapter (`sqlite.rs`,
//! `postgres.rs`) only opens its pool, migrates, runs one statement, runs a
//! transaction and maps its errors and rows; the traits are implemented for every
//! `Backend` at once (`impl<B: Backend> UserStore for B`), so `SqliteStore` and
//! `PostgresStore` are the adapters themselves.
//!
//! The statements use `$n` placeholders, which PostgreSQL and the SQLite adapter both
//! read. Where the dialects differ, the method picks a constant by `match B::DIALECT`;
//! SQL text is never edited at run time, except the filters `store::query` builds from
//! allowlisted columns.

use std::future::Future;
use std::path::Path;

use super::{LogEvent, PoolStats, SqlValue, StoreError, StoreResult};

/// The System Log's group-commit queue (`log.rs`): an event and where to say whether
/// the statement that wrote it committed.
pub type LogQueue =
    tokio::sync::mpsc::UnboundedSender<(LogEvent, tokio::sync::oneshot::Sender<StoreResult<()>>)>;

/// Which SQL a backend speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to a statement's `$n`. NULLs carry their type: PostgreSQL types every
/// parameter, and a text NULL is refused where a BIGINT is expected.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(Option<&'a str>),
    /// Text made for this statement (a JSON list, a lower-cased key).
    OwnedText(String),
    Int(Option<i64>),
    Bool(bool),
    Bytes(Option<&'a [u8]>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Some(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Arg::Text(Some(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::OwnedText(text)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(text: &'a Option<String>) -> Self {
        Arg::Text(text.as_deref())
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(Some(n))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        Arg::Int(n)
    }
}

impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Arg::Bytes(Some(bytes))
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Arg::Bytes(Some(bytes))
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Arg<'a> {
    fn from(bytes: &'a Option<Vec<u8>>) -> Self {
        Arg::Bytes(bytes.as_deref())
    }
}

impl<'a> From<&'a SqlValue> for Arg<'a> {
    fn from(value: &'a SqlValue) -> Self {
        match value {
            SqlValue::Text(text) => Arg::Text(Some(text)),
            SqlValue::Int(n) => Arg::Int(Some(*n)),
        }
    }
}

/// A result row, read by column name. A column that is missing or of another type is
/// `StoreError::Unavailable`, as any other failure of the database.
pub trait Row: Send {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    /// A BOOLEAN in PostgreSQL, an INTEGER 0/1 in SQLite.
    fn bool(&self, column: &str) -> StoreResult<bool>;
    /// A BYTEA in PostgreSQL, a BLOB in SQLite.
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;
}

/// What a database driver gives the store. Each method is one statement (or, for
/// `begin`, a transaction to run statements in).
pub trait Backend: Send + Sync + 'static {
    const DIALECT: Dialect;
    type Row: Row;
    type Tx: Tx;

    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, args: &[Arg<'_>])
    -> impl Future<Output = StoreResult<u64>> + Send;
    fn fetch_optional(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;
    fn fetch_all(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;
    /// Starts a transaction. Dropping it without `commit` rolls it back.
    fn begin(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    /// The connection pool's state (`Maintenance::pool_stats`).
    fn pool_state(&self) -> PoolStats;
    /// `Maintenance::backup_into`: SQLite writes a `VACUUM INTO` copy; PostgreSQL
    /// refuses (pg_dump does it).
    fn copy_into(&self, to: &Path) -> impl Future<Output = StoreResult<()>> + Send;
    /// `Maintenance::close`.
    fn close_pool(&self) -> impl Future<Output = ()> + Send;
    /// This store's System Log queue, started by its first event (`log.rs`).
    fn log_queue(&self) -> &std::sync::OnceLock<LogQueue>;
    /// Another handle on the same pool (with a queue of its own, never started), for
    /// the task that writes the System Log queue.
    fn pool_handle(&self) -> Self
    where
        Self: Sized;
}

/// A transaction in progress.
pub trait Tx: Send {
    /// Runs a statement inside the transaction; how many rows it changed.
    fn execute(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A JSON list column (`["a","b"]`) read back.
pub fn json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Schema(format!("corrupt list column: {e}")))
}

/// A list as its JSON list column.
pub fn to_json(list: &[String]) -> Arg<'static> {
    Arg::OwnedText(serde_json::to_string(list).expect("a list of strings serialises"))
}

/// The numbered bind marker for built queries (`store::query`): `$n`, which both
/// backends read.
pub fn placeholder(n: usize) -> String {
    format!("${n}")
}

// What the two sqlx adapters share: binding and error mapping.

/// A sqlx error as a `StoreError`: a unique violation is a conflict, anything else
/// makes the store unavailable.
pub(super) fn unavailable(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Binds `args` in order to a sqlx query.
pub(super) fn bind<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    args: &'q [Arg<'_>],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q [u8]>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(*text),
            Arg::OwnedText(text) => query.bind(Some(text.as_str())),
            Arg::Int(n) => query.bind(*n),
            Arg::Bool(b) => query.bind(*b),
            Arg::Bytes(bytes) => query.bind(*bytes),
        };
    }
    query
}
