//! Store code shared by the SQLite and PostgreSQL backends.
//!
//! Each module here holds one `macro_rules!` body per concern; `store::sqlite` and
//! `store::postgres` each invoke it with their store type (and, where the body needs
//! them, their row type, sqlx database type and dialect pieces), so both backends run
//! the same statements and the same row mapping. The
//! statements use `$N` placeholders, which sqlx's SQLite driver accepts as well as
//! PostgreSQL. Where the dialects really differ, the module's doc comment says so and
//! the macro takes the per-backend piece as an argument. The helpers below (error
//! mapping, built-query binding, JSON list columns) are the same for both.
//!
//! A macro rather than generic functions over `sqlx::Executor`/`sqlx::Row`: the
//! expansion is ordinary concrete code for each backend, without the `Decode`/`Encode`/
//! `ColumnIndex` bounds a generic version would need on every function.

pub(super) mod auth;
pub(super) mod directory;
pub(super) mod hardening;
pub(super) mod maintenance;
pub(super) mod management;
pub(super) mod refresh;
pub(super) mod replay;
pub(super) mod settings;

use super::{SqlValue, StoreError, StoreResult};

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

/// The numbered bind marker for built queries (`store::query`): `$n`, which both
/// PostgreSQL and sqlx's SQLite driver read.
pub(super) fn placeholder(n: usize) -> String {
    format!("${n}")
}

/// Binds built values in order.
pub(super) fn bind_values<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    values: &'q [SqlValue],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for value in values {
        query = match value {
            SqlValue::Text(text) => query.bind(text.as_str()),
            SqlValue::Int(n) => query.bind(*n),
        };
    }
    query
}

/// A JSON list column (`["a","b"]`) read back.
pub(super) fn json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Schema(format!("corrupt list column: {e}")))
}

/// A list as its JSON list column.
pub(super) fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}
