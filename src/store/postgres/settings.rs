//! Groups, consent grants, and each authorization server's scopes, claims, policies
//! and rules (PostgreSQL): the shared body in `store::sql::settings`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::directory::user_from_row;
use super::{PostgresStore, bind_values, json_list, placeholder, to_json, unavailable};
use crate::clock::UnixTime;
use crate::store::query::Where;
use crate::store::sql::settings::settings_store;
use crate::store::*;

settings_store!(
    PostgresStore,
    PgRow,
    sqlx::Postgres,
    collate_c = " COLLATE \"C\""
);
