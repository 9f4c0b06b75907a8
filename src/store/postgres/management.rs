//! API tokens and the System Log (PostgreSQL): the shared body in `store::sql::management`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, bind_values, placeholder, unavailable};
use crate::clock::UnixTime;
use crate::store::query::Where;
use crate::store::sql::management::management_store;
use crate::store::*;

management_store!(PostgresStore, PgRow, sqlx::Postgres);
