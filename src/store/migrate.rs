//! Schema migrations: SQL files compiled into the binary, applied in order at open.
//! A database whose schema is newer than this binary knows is refused, so an old
//! binary never writes to a schema it does not understand.
//!
//! Version numbers may have gaps (work on separate branches takes separate ranges, so
//! merging them never renumbers a migration). The runners apply every version this
//! binary has that the database has not recorded, in ascending order, so a version
//! merged in below one already applied is still applied.

use super::db::Dialect;
use super::{StoreError, StoreResult};

/// One schema version, in each backend's SQL (`migrations/sqlite/` and
/// `migrations/postgres/`, the same file name in both): a version number means the
/// same schema on both backends, and one entry makes both, so a version cannot exist
/// on one backend only.
pub struct Migration {
    pub version: i64,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    pub fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// Every migration, in ascending order. Adding one: write both files, add an entry.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../../migrations/sqlite/0002_token_lifecycle.sql"),
        postgres: include_str!("../../migrations/postgres/0002_token_lifecycle.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../../migrations/sqlite/0003_key_rotation.sql"),
        postgres: include_str!("../../migrations/postgres/0003_key_rotation.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../../migrations/sqlite/0004_consent.sql"),
        postgres: include_str!("../../migrations/postgres/0004_consent.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../../migrations/sqlite/0010_management_api.sql"),
        postgres: include_str!("../../migrations/postgres/0010_management_api.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../../migrations/sqlite/0011_assignments_required.sql"),
        postgres: include_str!("../../migrations/postgres/0011_assignments_required.sql"),
    },
    Migration {
        version: 12,
        sqlite: include_str!("../../migrations/sqlite/0012_client_jwt_dpop.sql"),
        postgres: include_str!("../../migrations/postgres/0012_client_jwt_dpop.sql"),
    },
    Migration {
        version: 13,
        sqlite: include_str!("../../migrations/sqlite/0013_par_throttle.sql"),
        postgres: include_str!("../../migrations/postgres/0013_par_throttle.sql"),
    },
    Migration {
        version: 15,
        sqlite: include_str!("../../migrations/sqlite/0015_settings_version.sql"),
        postgres: include_str!("../../migrations/postgres/0015_settings_version.sql"),
    },
    Migration {
        version: 17,
        sqlite: include_str!("../../migrations/sqlite/0017_client_version.sql"),
        postgres: include_str!("../../migrations/postgres/0017_client_version.sql"),
    },
    Migration {
        version: 18,
        sqlite: include_str!("../../migrations/sqlite/0018_branding.sql"),
        postgres: include_str!("../../migrations/postgres/0018_branding.sql"),
    },
    Migration {
        version: 19,
        sqlite: include_str!("../../migrations/sqlite/0019_session_tokens.sql"),
        postgres: include_str!("../../migrations/postgres/0019_session_tokens.sql"),
    },
    Migration {
        version: 20,
        sqlite: include_str!("../../migrations/sqlite/0020_pkce_per_app.sql"),
        postgres: include_str!("../../migrations/postgres/0020_pkce_per_app.sql"),
    },
    Migration {
        version: 21,
        sqlite: include_str!("../../migrations/sqlite/0021_introspection_restriction.sql"),
        postgres: include_str!("../../migrations/postgres/0021_introspection_restriction.sql"),
    },
    Migration {
        version: 22,
        sqlite: include_str!("../../migrations/sqlite/0022_everyone.sql"),
        postgres: include_str!("../../migrations/postgres/0022_everyone.sql"),
    },
    Migration {
        version: 23,
        sqlite: include_str!("../../migrations/sqlite/0023_log_millis.sql"),
        postgres: include_str!("../../migrations/postgres/0023_log_millis.sql"),
    },
    Migration {
        version: 24,
        sqlite: include_str!("../../migrations/sqlite/0024_app_changes_bump_settings_version.sql"),
        postgres: include_str!(
            "../../migrations/postgres/0024_app_changes_bump_settings_version.sql"
        ),
    },
    Migration {
        version: 25,
        sqlite: include_str!("../../migrations/sqlite/0025_janitor_indexes.sql"),
        postgres: include_str!("../../migrations/postgres/0025_janitor_indexes.sql"),
    },
    Migration {
        version: 26,
        sqlite: include_str!("../../migrations/sqlite/0026_refresh_families_user.sql"),
        postgres: include_str!("../../migrations/postgres/0026_refresh_families_user.sql"),
    },
    Migration {
        version: 27,
        sqlite: include_str!("../../migrations/sqlite/0027_device_codes.sql"),
        postgres: include_str!("../../migrations/postgres/0027_device_codes.sql"),
    },
    Migration {
        version: 28,
        sqlite: include_str!("../../migrations/sqlite/0028_trusted_servers.sql"),
        postgres: include_str!("../../migrations/postgres/0028_trusted_servers.sql"),
    },
    Migration {
        version: 29,
        sqlite: include_str!("../../migrations/sqlite/0029_request_objects.sql"),
        postgres: include_str!("../../migrations/postgres/0029_request_objects.sql"),
    },
    Migration {
        version: 30,
        sqlite: include_str!("../../migrations/sqlite/0030_admin_roles.sql"),
        postgres: include_str!("../../migrations/postgres/0030_admin_roles.sql"),
    },
    Migration {
        version: 31,
        sqlite: include_str!("../../migrations/sqlite/0031_console_search.sql"),
        postgres: include_str!("../../migrations/postgres/0031_console_search.sql"),
    },
    Migration {
        version: 32,
        sqlite: include_str!("../../migrations/sqlite/0032_log_since_bound.sql"),
        postgres: include_str!("../../migrations/postgres/0032_log_since_bound.sql"),
    },
    Migration {
        version: 33,
        sqlite: include_str!("../../migrations/sqlite/0033_factors.sql"),
        postgres: include_str!("../../migrations/postgres/0033_factors.sql"),
    },
    Migration {
        version: 34,
        sqlite: include_str!("../../migrations/sqlite/0034_passkeys.sql"),
        postgres: include_str!("../../migrations/postgres/0034_passkeys.sql"),
    },
    Migration {
        version: 35,
        sqlite: include_str!("../../migrations/sqlite/0035_sign_on_policies.sql"),
        postgres: include_str!("../../migrations/postgres/0035_sign_on_policies.sql"),
    },
    Migration {
        version: 36,
        sqlite: include_str!("../../migrations/sqlite/0036_jobs_email.sql"),
        postgres: include_str!("../../migrations/postgres/0036_jobs_email.sql"),
    },
    Migration {
        version: 37,
        sqlite: include_str!("../../migrations/sqlite/0037_client_registration.sql"),
        postgres: include_str!("../../migrations/postgres/0037_client_registration.sql"),
    },
    Migration {
        version: 38,
        sqlite: include_str!("../../migrations/sqlite/0038_logout_channels.sql"),
        postgres: include_str!("../../migrations/postgres/0038_logout_channels.sql"),
    },
    Migration {
        version: 39,
        sqlite: include_str!("../../migrations/sqlite/0039_lockout.sql"),
        postgres: include_str!("../../migrations/postgres/0039_lockout.sql"),
    },
    Migration {
        version: 40,
        sqlite: include_str!("../../migrations/sqlite/0040_refresh_amr.sql"),
        postgres: include_str!("../../migrations/postgres/0040_refresh_amr.sql"),
    },
    Migration {
        version: 41,
        sqlite: include_str!("../../migrations/sqlite/0041_email_factor.sql"),
        postgres: include_str!("../../migrations/postgres/0041_email_factor.sql"),
    },
    Migration {
        version: 42,
        sqlite: include_str!("../../migrations/sqlite/0042_identity_providers.sql"),
        postgres: include_str!("../../migrations/postgres/0042_identity_providers.sql"),
    },
    Migration {
        version: 43,
        sqlite: include_str!("../../migrations/sqlite/0043_session_idp.sql"),
        postgres: include_str!("../../migrations/postgres/0043_session_idp.sql"),
    },
    Migration {
        version: 44,
        sqlite: include_str!("../../migrations/sqlite/0044_session_device.sql"),
        postgres: include_str!("../../migrations/postgres/0044_session_device.sql"),
    },
    Migration {
        version: 45,
        sqlite: include_str!("../../migrations/sqlite/0045_log_target_ids.sql"),
        postgres: include_str!("../../migrations/postgres/0045_log_target_ids.sql"),
    },
];

/// The version the binary expects after migrating (the same on both backends).
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations a database that recorded `applied` still needs, in order.
pub fn pending(applied: &[i64]) -> impl Iterator<Item = &'static Migration> {
    let applied = applied.to_vec();
    MIGRATIONS
        .iter()
        .filter(move |m| !applied.contains(&m.version))
}

pub fn check_not_newer(found: i64) -> StoreResult<()> {
    let known = latest_version();
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
    fn versions_ascend_and_each_names_the_same_file_on_both_backends() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        for m in MIGRATIONS {
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
    }

    #[test]
    fn a_version_below_the_highest_applied_is_still_applied() {
        let versions = |applied: &[i64]| pending(applied).map(|m| m.version).collect::<Vec<_>>();
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        let but = |left: &[i64]| -> Vec<i64> {
            all.iter().copied().filter(|v| !left.contains(v)).collect()
        };
        assert_eq!(versions(&[]), all);
        assert_eq!(versions(&[1, 2]), but(&[1, 2]));
        // 3 and 4 were never applied although later versions were: they still are.
        assert_eq!(versions(&but(&[3, 4])), [3, 4]);
        assert!(versions(&all).is_empty());
    }
}
