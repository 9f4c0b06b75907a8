//! Access-token deny list and refresh-token families (PostgreSQL): the shared body in
//! `store::sql::refresh`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, unavailable};
use crate::clock::UnixTime;
use crate::store::sql::refresh::refresh_store;
use crate::store::*;

refresh_store!(PostgresStore, PgRow, sqlx::Postgres);
