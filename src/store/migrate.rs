//! Schema migrations: SQL files compiled into the binary, applied in order at open.
//! A database whose schema is newer than this binary knows is refused, so an old
//! binary never writes to a schema it does not understand.
//!
//! Version numbers may have gaps (work on separate branches takes separate ranges, so
//! merging them never renumbers a migration). The runners apply every version this
//! binary has that the database has not recorded, in ascending order, so a version
//! merged in below one already applied is still applied.

use super::{StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Every migration, once: its version and its file name, the same in
/// `migrations/sqlite/` and `migrations/postgres/`. One list makes both, so a version
/// cannot exist on one backend only, and adding a migration is one line here.
macro_rules! migrations {
    ($($version:literal => $file:literal),+ $(,)?) => {
        pub const SQLITE: &[Migration] = &[
            $(Migration { version: $version, sql: include_str!(concat!("../../migrations/sqlite/", $file)) }),+
        ];

        /// The same versions as `SQLITE`, in PostgreSQL's types: a version number means
        /// the same schema on both backends.
        pub const POSTGRES: &[Migration] = &[
            $(Migration { version: $version, sql: include_str!(concat!("../../migrations/postgres/", $file)) }),+
        ];
    };
}

migrations! {
    1 => "0001_init.sql",
    2 => "0002_token_lifecycle.sql",
    3 => "0003_key_rotation.sql",
    4 => "0004_consent.sql",
    10 => "0010_management_api.sql",
    11 => "0011_assignments_required.sql",
    12 => "0012_client_jwt_dpop.sql",
    13 => "0013_par_throttle.sql",
    15 => "0015_settings_version.sql",
    17 => "0017_client_version.sql",
}

/// The version the binary expects after migrating (the same on both backends).
pub fn latest_version() -> i64 {
    latest(SQLITE)
}

/// The version the binary expects after migrating.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// The migrations a database that recorded `applied` still needs, in order.
pub fn pending<'a>(
    migrations: &'a [Migration],
    applied: &[i64],
) -> impl Iterator<Item = &'a Migration> {
    let applied = applied.to_vec();
    migrations
        .iter()
        .filter(move |m| !applied.contains(&m.version))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_know_the_same_versions_in_order() {
        let versions = |list: &[Migration]| list.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        assert!(versions(SQLITE).windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_version_below_the_highest_applied_is_still_applied() {
        let versions = |applied: &[i64]| {
            pending(SQLITE, applied)
                .map(|m| m.version)
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(&[]), [1, 2, 3, 4, 10, 11, 12, 13, 15, 17]);
        assert_eq!(versions(&[1, 2]), [3, 4, 10, 11, 12, 13, 15, 17]);
        assert_eq!(versions(&[1, 2, 10, 11, 12, 13, 15, 17]), [3, 4]);
        assert!(versions(&[1, 2, 3, 4, 10, 11, 12, 13, 15, 17]).is_empty());
    }
}
