//! API tokens and the System Log (SQLite): the shared body in `store::sql::management`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, bind_values, placeholder, unavailable};
use crate::clock::UnixTime;
use crate::store::query::Where;
use crate::store::sql::management::management_store;
use crate::store::*;

management_store!(SqliteStore, SqliteRow, sqlx::Sqlite);
