//! Schema migrations: SQL files compiled into the binary, applied in order at open.
//! A database whose schema is newer than this binary knows is refused, so an old
//! binary never writes to a schema it does not understand.

use super::{StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../migrations/sqlite/0002_token_lifecycle.sql"),
    },
];

/// The version the binary expects after migrating.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

pub fn check_not_newer(found: i64, migrations: &[Migration]) -> StoreResult<()> {
    let known = latest(migrations);
    if found > known {
        return Err(StoreError::Schema(format!(
            "the database schema is version {found}, newer than this binary knows ({known}); \
             run a newer Gatehouse"
        )));
    }
    Ok(())
}
