//! Access-token deny list and refresh-token families (SQLite): the shared body in
//! `store::sql::refresh`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, unavailable};
use crate::clock::UnixTime;
use crate::store::sql::refresh::refresh_store;
use crate::store::*;

refresh_store!(SqliteStore, SqliteRow, sqlx::Sqlite);
