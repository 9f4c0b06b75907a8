//! Storage: one trait per concern, each in its own file with the SQL that implements
//! it for both backends (see docs/store.md). The only module that knows SQL. Rows here
//! are storage types; nothing in this module is serialised straight to a client.
//!
//! One-time transitions are single statements (`UPDATE ... WHERE redeemed_at IS NULL
//! RETURNING`, `DELETE ... RETURNING`), never a read followed by a write in Rust.

mod admin_roles;
mod api_tokens;
mod authorization;
mod brands;
mod clients;
mod consent;
mod db;
mod device;
mod factors;
mod federation;
mod groups;
mod idps;
mod introspection;
mod jobs;
mod lockout;
mod log;
mod logout;
mod maintenance;
mod migrate;
mod models;
mod par;
mod passkeys;
mod pg_pool;
mod policies;
pub mod postgres;
pub mod query;
mod registration;
mod replay;
mod servers;
mod sessions;
mod sign_on;
pub mod sqlite;
mod throttle;
mod tokens;
mod user_tokens;
mod users;

use std::sync::Arc;

pub use admin_roles::{AdminRoleStore, AppGrant, RoleAssignment, RolePrincipal};
pub use api_tokens::ApiTokenStore;
pub use authorization::AuthorizationStore;
pub use brands::{Brand, BrandImage, BrandStore, ImageKind};
pub use clients::{CLIENT_COLUMNS, ClientStore};
pub use consent::ConsentStore;
pub use device::DeviceStore;
pub use factors::{FactorCode, FactorStore};
pub use federation::FederationStore;
pub use groups::{GROUP_COLUMNS, GroupStore};
pub use idps::{
    IDP_TRANSACTION_SECONDS, IdentifierPattern, IdentityProvider, IdpDiscoveryPolicy,
    IdpDiscoveryRule, IdpQuery, IdpStore, IdpTransaction, IdpUser, ProfileMapping, ROUTE_OKTA,
    RouteProvider,
};
pub use introspection::{IntrospectionFacts, IntrospectionStore};
pub use jobs::{Job, JobStore, NewJob};
pub use lockout::{LockoutStore, PASSWORD_POLICY_ID, PasswordPolicy};
pub use log::{HourCount, LOG_COLUMNS, LOG_HEAD_ROWS, LogStore};
pub use logout::LogoutStore;
pub use maintenance::{Maintenance, PURGE_BATCH};
pub use models::*;
pub use par::PushedRequestStore;
pub use passkeys::{Passkey, PasskeyStore, WebauthnChallenge};
pub use policies::PolicyStore;
pub use query::{Expr, Op, Page, SqlValue};
pub use registration::RegistrationStore;
pub use replay::ReplayStore;
pub use servers::ServerStore;
pub use sessions::SessionStore;
pub use sign_on::{NetworkZone, SignOnPolicy, SignOnRule, SignOnStore};
pub use throttle::ThrottleStore;
pub use tokens::TokenStore;
pub use user_tokens::{LinkPurpose, PasswordByLink, UserToken, UserTokenStore};
pub use users::{USER_COLUMNS, UserStore};

use crate::config::StoreConfig;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the row (e.g. a login that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached or failed; callers answer 503, never a
    /// protocol error that would make a client discard a good credential.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The schema is newer than this binary, or corrupt data was found.
    #[error("{0}")]
    Schema(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every store concern together: what the application holds.
pub trait Store:
    ServerStore
    + UserStore
    + ClientStore
    + SessionStore
    + FactorStore
    + AuthorizationStore
    + DeviceStore
    + TokenStore
    + IntrospectionStore
    + GroupStore
    + PolicyStore
    + SignOnStore
    + IdpStore
    + ConsentStore
    + ApiTokenStore
    + AdminRoleStore
    + LogStore
    + LogoutStore
    + PushedRequestStore
    + ThrottleStore
    + ReplayStore
    + RegistrationStore
    + BrandStore
    + PasskeyStore
    + JobStore
    + UserTokenStore
    + LockoutStore
    + FederationStore
    + Maintenance
{
}

impl<T> Store for T where
    T: ServerStore
        + UserStore
        + ClientStore
        + SessionStore
        + FactorStore
        + AuthorizationStore
        + DeviceStore
        + TokenStore
        + IntrospectionStore
        + GroupStore
        + PolicyStore
        + SignOnStore
        + IdpStore
        + ConsentStore
        + ApiTokenStore
        + AdminRoleStore
        + LogStore
        + LogoutStore
        + PushedRequestStore
        + ThrottleStore
        + ReplayStore
        + RegistrationStore
        + BrandStore
        + PasskeyStore
        + JobStore
        + UserTokenStore
        + LockoutStore
        + FederationStore
        + Maintenance
{
}

pub type DynStore = Arc<dyn Store>;

/// The schema version this binary migrates to, the same on both backends: `/readyz`
/// compares the database's with it.
pub fn latest_schema_version() -> i64 {
    migrate::latest_version()
}

/// A connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

/// Opens the configured database and brings its schema up to date.
pub async fn open(config: &StoreConfig) -> StoreResult<DynStore> {
    match config.database_url.as_deref() {
        None => {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create data directory {}: {e}",
                    config.data_dir.display()
                ))
            })?;
            let path = config.data_dir.join("gatehouse.db");
            Ok(Arc::new(sqlite::SqliteStore::open_file(&path).await?))
        }
        Some(url) if url.starts_with("sqlite:") => {
            Ok(Arc::new(sqlite::SqliteStore::open_url(url).await?))
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let settings = postgres::PoolSettings {
                max_connections: config.max_connections,
                acquire_timeout: config.acquire_timeout,
                ..Default::default()
            };
            Ok(Arc::new(
                postgres::PostgresStore::open(url, &settings).await?,
            ))
        }
        Some(_) => Err(StoreError::Schema(
            "GATEHOUSE_DATABASE_URL must start with sqlite:, postgres:// or postgresql://".into(),
        )),
    }
}
