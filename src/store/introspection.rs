//! What introspecting an access token reads beyond the server row, in one statement:
//! the presenting client's throttle counter, whether the token is on the deny list,
//! and its user. On PostgreSQL one round trip instead of three.
//!
//! Dialect differences: none in the statement. `EXISTS` is a boolean in PostgreSQL and
//! an integer 0/1 in SQLite; `Row::bool` reads both. A `NULL` argument matches no row.

use async_trait::async_trait;

use super::db::{Arg, Backend, Row};
use super::users::user_from_row;
use super::{StoreResult, ThrottleState, User};

/// The rows an introspection decides by, read together.
#[derive(Debug, Clone, Default)]
pub struct IntrospectionFacts {
    /// The counter under the throttle key asked for, if there is one.
    pub throttle: Option<ThrottleState>,
    /// The access token id asked for is on the deny list.
    pub revoked: bool,
    /// The user asked for, whatever their status.
    pub user: Option<User>,
}

#[async_trait]
pub trait IntrospectionStore: Send + Sync {
    /// In one statement: the throttle counter under `throttle_key`, whether `jti` is a
    /// revoked access token, and the user `user_id`; each `None` argument reads nothing
    /// (`revoked` is then false). The same rows as `throttle_state`,
    /// `is_access_token_revoked` and `get_user` read, at one instant.
    async fn introspection_facts(
        &self,
        throttle_key: Option<&str>,
        jti: Option<&str>,
        user_id: Option<&str>,
    ) -> StoreResult<IntrospectionFacts>;
}

const FACTS: &str = "
    SELECT t.failures AS throttle_failures, t.last_at AS throttle_last_at,
           t.blocked_until AS throttle_blocked_until,
           EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $2) AS token_revoked,
           u.*
    FROM (SELECT 1 AS one) AS one
    LEFT JOIN auth_throttle t ON t.key = $1
    LEFT JOIN users u ON u.id = $3";

#[async_trait]
impl<B: Backend> IntrospectionStore for B {
    async fn introspection_facts(
        &self,
        throttle_key: Option<&str>,
        jti: Option<&str>,
        user_id: Option<&str>,
    ) -> StoreResult<IntrospectionFacts> {
        let row = self
            .fetch_optional(
                FACTS,
                &[Arg::Text(throttle_key), Arg::Text(jti), Arg::Text(user_id)],
            )
            .await?;
        // The `FROM (SELECT 1)` makes one row whatever matched.
        let Some(row) = row else {
            return Ok(IntrospectionFacts::default());
        };
        let throttle = match row.opt_int("throttle_failures")? {
            Some(failures) => Some(ThrottleState {
                failures,
                last_at: row.int("throttle_last_at")?,
                blocked_until: row.int("throttle_blocked_until")?,
            }),
            None => None,
        };
        let user = match row.opt_text("id")? {
            Some(_) => Some(user_from_row(&row)?),
            None => None,
        };
        Ok(IntrospectionFacts {
            throttle,
            revoked: row.bool("token_revoked")?,
            user,
        })
    }
}
