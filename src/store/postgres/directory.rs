//! Users and apps, their assignments, and their filtered pages (PostgreSQL): the shared body
//! in `store::sql::directory`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::settings::group_from_row;
use super::{PostgresStore, bind_values, json_list, placeholder, to_json, unavailable};
use crate::clock::UnixTime;
use crate::store::query::Where;
use crate::store::sql::directory::directory_store;
use crate::store::*;

directory_store!(PostgresStore, PgRow, sqlx::Postgres);
