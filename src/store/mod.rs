//! Storage: narrow traits per concern and their implementations.
//! The only module that knows SQL. Rows here are storage types; nothing in this module
//! is serialised straight to a client.
//!
//! One-time transitions are single statements (`UPDATE ... WHERE redeemed_at IS NULL
//! RETURNING`, `DELETE ... RETURNING`), never a read followed by a write in Rust.

mod migrate;
mod models;
pub mod postgres;
pub mod query;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use models::*;
pub use query::{Expr, Op, Page, SqlValue};

use crate::clock::UnixTime;
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

#[async_trait]
pub trait ServerStore: Send + Sync {
    /// Inserts the server unless one with its id exists; true when inserted.
    async fn insert_server_if_absent(&self, server: &AuthServer) -> StoreResult<bool>;
    async fn get_server(&self, id: &str) -> StoreResult<Option<AuthServer>>;
    async fn list_servers(&self) -> StoreResult<Vec<AuthServer>>;
    /// Writes name, description, audience, status and `updated_at`; false when absent.
    async fn update_server(&self, server: &AuthServer) -> StoreResult<bool>;
    /// Deletes a server with its keys, scopes, claims and policies.
    async fn delete_server(&self, id: &str) -> StoreResult<bool>;
    /// Every key of the server the store still keeps: the ACTIVE one first, then NEXT,
    /// then RETIRED keys, the most recently retired first. The caller decides which
    /// retired keys are still published.
    async fn signing_keys(&self, server_id: &str) -> StoreResult<Vec<StoredKey>>;
    /// Inserts a key; an `ACTIVE` (or `NEXT`) key when the server already has one is
    /// refused by the database (false), so concurrent first starts agree on one of each.
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Rotates the keys of `new_next.server_id` in one transaction: the ACTIVE key
    /// `expected_active` becomes RETIRED (`retired_at = now`), the NEXT key ACTIVE
    /// (`activated_at = now`), and `new_next` is inserted as NEXT. The first statement
    /// is `UPDATE ... WHERE kid = expected AND status = 'ACTIVE'`: of processes rotating
    /// at once, one rotates and the others find the key retired (`NotActive`).
    async fn rotate_signing_key(
        &self,
        expected_active: &str,
        new_next: &StoredKey,
        now: UnixTime,
    ) -> StoreResult<KeyRotation>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// By login, without regard to case.
    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Writes every field of the user with this id but `last_login_at` (only
    /// `record_login` writes it, so an update made from an older read never undoes a
    /// sign-in); false when absent. A login that another user has is a `Conflict`.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Sets the user's `last_login_at` (a successful sign-in); false when absent.
    async fn record_login(&self, user_id: &str, at: UnixTime) -> StoreResult<bool>;
    /// Deletes the user with their sessions, memberships and assignments.
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;
    /// A page of users ordered by id; filterable columns: `USER_COLUMNS`.
    async fn query_users(&self, page: &Page) -> StoreResult<Vec<User>>;
}

/// What a users page may filter on.
pub const USER_COLUMNS: &[&str] = &[
    "id",
    "status",
    "login",
    "login_key",
    "email",
    "first_name",
    "last_name",
    "created_at",
    "updated_at",
];

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Writes every field of the client with this id, only if its stored `version` is
    /// still `client.version` (the one it was read at), and bumps the version; false when
    /// absent or changed since (a stale write is refused: re-read and decide again).
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    /// Deletes the client with its assignments.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// A page of clients ordered by client id; filterable columns: `CLIENT_COLUMNS`.
    async fn query_clients(&self, page: &Page) -> StoreResult<Vec<Client>>;
    /// Assigns a user to an app; false when they already were.
    async fn assign_user(&self, client_id: &str, user_id: &str, now: UnixTime)
    -> StoreResult<bool>;
    async fn unassign_user(&self, client_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The users assigned to an app, by id.
    async fn assigned_users(&self, client_id: &str) -> StoreResult<Vec<User>>;
    /// Assigns a group to an app (or changes its priority); false when it already was.
    async fn assign_group(
        &self,
        client_id: &str,
        group_id: &str,
        priority: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    async fn unassign_group(&self, client_id: &str, group_id: &str) -> StoreResult<bool>;
    /// The groups assigned to an app with their priorities, by id.
    async fn assigned_groups(&self, client_id: &str) -> StoreResult<Vec<(Group, i64)>>;
    /// May this user get codes and tokens for this app? True when the app has no
    /// assignment at all (open to every user), or the user is assigned to it directly
    /// or through one of their groups. One query.
    async fn user_may_use_app(&self, client_id: &str, user_id: &str) -> StoreResult<bool>;
}

/// What an apps page may filter on.
pub const CLIENT_COLUMNS: &[&str] = &["client_id", "name", "status", "created_at", "updated_at"];

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A session that has neither ended nor expired at `now`.
    async fn live_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<Option<Session>>;
    async fn end_session(&self, id_hash: &[u8], now: UnixTime) -> StoreResult<()>;
    /// Ends every live session of a user; returns how many.
    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait AuthorizationStore: Send + Sync {
    async fn insert_pending(&self, pending: &PendingAuthorization) -> StoreResult<()>;
    /// Reads a pending request without taking it (to render the sign-in page).
    async fn get_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>>;
    /// Takes a pending request once: one atomic `DELETE ... RETURNING`.
    async fn take_pending(
        &self,
        id_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<PendingAuthorization>>;
    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Marks the code redeemed in one statement and records the access token minted
    /// from it; a second call finds it redeemed.
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        access: &IssuedAccess,
        now: UnixTime,
    ) -> StoreResult<Redemption>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn revoke_access_token(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()>;
    async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Starts a refresh-token family with its first token, in one transaction.
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()>;
    /// A refresh token by the SHA-256 of its value, with its family.
    async fn find_refresh(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily)>>;
    /// Rotates a token once: marks it rotated (one `UPDATE ... WHERE rotated_at IS NULL`)
    /// and inserts its successor in the same transaction, unless the family is revoked.
    /// The family row is written first, so a concurrent `revoke_family` either sees the
    /// successor or is seen by this call.
    async fn rotate_refresh(
        &self,
        family_id: &str,
        token_hash: &[u8],
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation>;
    /// Revokes a family (true when this call did) and puts every unexpired access token
    /// minted from it on the deny list, in one transaction.
    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Revokes every refresh-token family of a user (deactivated, suspended, a new
    /// password) and deny-lists the access tokens minted from them, in one
    /// transaction; returns how many families this call revoked.
    async fn revoke_user_families(&self, user_id: &str, now: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn insert_group(&self, group: &Group) -> StoreResult<()>;
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    /// By id, or by name without regard to case.
    async fn find_group(&self, id_or_name: &str) -> StoreResult<Option<Group>>;
    /// Adds a member; false when the user already was one.
    async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    async fn remove_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The groups a user is in, by name.
    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>>;
    /// Writes name, description and `updated_at`; false when absent. A name another
    /// group has is a `Conflict`.
    async fn update_group(&self, group: &Group) -> StoreResult<bool>;
    async fn delete_group(&self, id: &str) -> StoreResult<bool>;
    /// A page of groups ordered by id; filterable columns: `GROUP_COLUMNS`.
    async fn query_groups(&self, page: &Page) -> StoreResult<Vec<Group>>;
    /// The members of a group, by id.
    async fn group_members(&self, group_id: &str) -> StoreResult<Vec<User>>;
}

/// The scopes each user has consented to grant each app, per authorization server.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Records consent to `scopes` (already granted ones are kept).
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        server_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn granted_scopes(
        &self,
        user_id: &str,
        client_id: &str,
        server_id: &str,
    ) -> StoreResult<Vec<String>>;
    /// Forgets a user's consents to an app on every server; how many were removed.
    async fn revoke_consents(&self, user_id: &str, client_id: &str) -> StoreResult<u64>;
}

/// What a groups page may filter on.
pub const GROUP_COLUMNS: &[&str] = &["id", "name", "created_at", "updated_at"];

/// Pushed authorization requests (RFC 9126).
#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    async fn insert_pushed(&self, pushed: &PushedRequest) -> StoreResult<()>;
    /// Takes a pushed request once, one atomic `DELETE ... RETURNING`: only while
    /// unexpired, and only for the app and server it was pushed by and to (another
    /// app's attempt leaves it in place).
    async fn take_pushed(
        &self,
        id_hash: &[u8],
        client_id: &str,
        server_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>>;
}

/// Brute-force counters, shared by every instance on the database.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts an attempt under `key`, in one statement (an upsert with a condition):
    /// when the key is blocked at `now` nothing changes and the answer is `Blocked`;
    /// otherwise the failure count grows by one (from zero when the last failure and
    /// the end of the last block are both `rule.window` or more ago) and the next
    /// block is set by `rule.delay`.
    async fn throttle_attempt(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: UnixTime,
    ) -> StoreResult<Attempt>;
    /// The counter under `key`, if there is one.
    async fn throttle_state(&self, key: &str) -> StoreResult<Option<ThrottleState>>;
    /// Forgets the counter (a success resets it).
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;
}

/// Management API tokens.
#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// The token that is not revoked with this SHA-256.
    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<ApiToken>>;
    /// Every token, revoked ones too, oldest first.
    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token once; true when this call did.
    async fn revoke_api_token(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
}

/// The System Log.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends an event; its `seq` is assigned by the database.
    async fn insert_event(&self, event: &LogEvent) -> StoreResult<()>;
    /// A page of events in the order written (by `seq`); filterable: `LOG_COLUMNS`.
    async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>>;
    /// Deletes events published before `before`; returns how many.
    async fn purge_events(&self, before: UnixTime) -> StoreResult<u64>;
}

/// What a System Log page may filter on.
pub const LOG_COLUMNS: &[&str] = &[
    "published",
    "event_type",
    "outcome_result",
    "actor_id",
    "target_ids",
    "event",
];

/// An authorization server's scopes, claims, access policies and rules.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Writes the built-in scopes, claims and policies of a server once, in one
    /// transaction; false when the server was seeded before.
    async fn seed_server(&self, server_id: &str, seed: &ServerSeed) -> StoreResult<bool>;
    async fn insert_scope(&self, scope: &ScopeDef) -> StoreResult<()>;
    async fn list_scopes(&self, server_id: &str) -> StoreResult<Vec<ScopeDef>>;
    async fn delete_scope(&self, server_id: &str, name: &str) -> StoreResult<bool>;
    /// Writes the name, description, consent and default flag of the scope with this
    /// id on its server; false when absent. A name the server has is a `Conflict`.
    async fn update_scope(&self, scope: &ScopeDef) -> StoreResult<bool>;
    async fn insert_claim(&self, claim: &ClaimDef) -> StoreResult<()>;
    async fn list_claims(&self, server_id: &str) -> StoreResult<Vec<ClaimDef>>;
    async fn delete_claim(&self, server_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes everything but the id, server and creation time of the claim with this id
    /// on its server; false when absent. A name the server has for the same token is a
    /// `Conflict`.
    async fn update_claim(&self, claim: &ClaimDef) -> StoreResult<bool>;
    async fn insert_policy(&self, policy: &Policy) -> StoreResult<()>;
    /// In priority order (1 first).
    async fn list_policies(&self, server_id: &str) -> StoreResult<Vec<Policy>>;
    async fn delete_policy(&self, server_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes name, description, priority, status, clients and `updated_at` of the
    /// policy with this id on its server; false when absent.
    async fn update_policy(&self, policy: &Policy) -> StoreResult<bool>;
    async fn insert_rule(&self, rule: &PolicyRule) -> StoreResult<()>;
    /// The rules of all the server's policies, in rule priority order.
    async fn list_rules(&self, server_id: &str) -> StoreResult<Vec<PolicyRule>>;
    async fn delete_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool>;
    /// Writes everything but the id, policy and creation time of the rule with this id
    /// in its policy; false when absent.
    async fn update_rule(&self, rule: &PolicyRule) -> StoreResult<bool>;
}

/// Single-use JWT ids: client assertions (RFC 7523 §3 item 7) and DPoP proofs
/// (RFC 9449 §11.1), across every instance sharing the database.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `key_hash` (SHA-256 of the JWT's kind, issuer and `jti`) as used until
    /// `expires_at`, in one statement: true when this call recorded it, false when it
    /// is already recorded and not yet expired at `now` (a replay). An expired record
    /// the janitor has not purged yet is taken over.
    async fn use_jti_once(
        &self,
        key_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Can the database answer a query?
    async fn ping(&self) -> StoreResult<()>;
    /// The schema version the database is at: the last migration applied.
    async fn schema_version(&self) -> StoreResult<i64>;
    /// Deletes rows that can no longer matter at `now` (the janitor); returns how many.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
    /// The connection pool's state, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;
    /// Writes a consistent copy of the whole database to a new file at `to` while it
    /// stays in use (SQLite's `VACUUM INTO`). PostgreSQL has `pg_dump` for that: there
    /// it is an error.
    async fn backup_into(&self, to: &std::path::Path) -> StoreResult<()>;
    /// Closes every connection (waiting for those in use); later calls fail.
    async fn close(&self);
}

/// Every store concern together: what the application holds.
pub trait Store:
    ServerStore
    + UserStore
    + ClientStore
    + SessionStore
    + AuthorizationStore
    + TokenStore
    + GroupStore
    + PolicyStore
    + ConsentStore
    + ApiTokenStore
    + LogStore
    + PushedRequestStore
    + ThrottleStore
    + ReplayStore
    + Maintenance
{
}

impl<T> Store for T where
    T: ServerStore
        + UserStore
        + ClientStore
        + SessionStore
        + AuthorizationStore
        + TokenStore
        + GroupStore
        + PolicyStore
        + ConsentStore
        + ApiTokenStore
        + LogStore
        + PushedRequestStore
        + ThrottleStore
        + ReplayStore
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
