//! Users and apps, their assignments, and their filtered pages (SQLite): the shared body
//! in `store::sql::directory`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::settings::group_from_row;
use super::{SqliteStore, bind_values, json_list, placeholder, to_json, unavailable};
use crate::clock::UnixTime;
use crate::store::query::Where;
use crate::store::sql::directory::directory_store;
use crate::store::*;

directory_store!(SqliteStore, SqliteRow, sqlx::Sqlite);
