//! Brute-force counters, shared by every instance on the database.
//!
//! Dialect differences: none in the statements. Both read `CAST(1 AS BIGINT) << n` as a
//! 64-bit shift (PostgreSQL's `int8 << int4`, hence the `CAST(... AS INTEGER)` of the
//! shift amount), and both evaluate every `SET` expression of an upsert against the
//! row as it was before the update. An `ON CONFLICT ... DO UPDATE ... WHERE` whose
//! condition is false changes nothing and returns no row on both.

use async_trait::async_trait;

use super::db::{Backend, Row};
use super::{Attempt, StoreResult, ThrottleRule, ThrottleState};
use crate::clock::UnixTime;

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

/// The throttle upsert. `$1` key, `$2` now, `$3` window, `$4` threshold, `$5` most
/// delay, `$6` the delay after a first failure (`ThrottleRule::delay(1)`). The new
/// count `n` is 1 when the window has passed since the last failure *and* since the
/// end of the last block, else the old count plus one (the window runs from the end
/// of a block: with a window no longer than the longest delay, the attempt that ends
/// a long block would otherwise start from one again); `blocked_until` is
/// `now + delay(n)` as `ThrottleRule::delay` computes it. The `WHERE` makes the check
/// and the count one atomic step: of many attempts at once, each sees the count the
/// one before left, so a burst of parallel guesses is throttled like a sequence of them.
const THROTTLE_ATTEMPT: &str = "
    INSERT INTO auth_throttle (key, failures, last_at, blocked_until, expires_at)
    VALUES ($1, 1, $2, $2 + $6, $2 + $3 + $5)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN auth_throttle.last_at <= $2 - $3 AND auth_throttle.blocked_until <= $2 - $3 THEN 1 ELSE auth_throttle.failures + 1 END,
        last_at = $2,
        blocked_until = CASE
            WHEN auth_throttle.last_at <= $2 - $3 AND auth_throttle.blocked_until <= $2 - $3 THEN $2 + $6
            WHEN auth_throttle.failures + 1 < $4 THEN 0
            WHEN auth_throttle.failures + 2 - $4 >= 30 THEN $2 + $5
            WHEN (CAST(1 AS BIGINT) << CAST(auth_throttle.failures + 2 - $4 AS INTEGER)) >= $5 THEN $2 + $5
            ELSE $2 + (CAST(1 AS BIGINT) << CAST(auth_throttle.failures + 2 - $4 AS INTEGER))
        END,
        expires_at = $2 + $3 + $5
    WHERE auth_throttle.blocked_until <= $2
    RETURNING failures, blocked_until";

#[async_trait]
impl<B: Backend> ThrottleStore for B {
    async fn throttle_attempt(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: UnixTime,
    ) -> StoreResult<Attempt> {
        let counted = self
            .fetch_optional(
                THROTTLE_ATTEMPT,
                &[
                    key.into(),
                    now.into(),
                    rule.window.into(),
                    rule.threshold.into(),
                    rule.max_delay.into(),
                    rule.delay(1).into(),
                ],
            )
            .await?;
        if let Some(row) = counted {
            return Ok(Attempt::Allowed {
                failures: row.int("failures")?,
            });
        }
        // Blocked: the row exists (the upsert found it) and was left as it was.
        let until = self
            .throttle_state(key)
            .await?
            .map_or(now, |s| s.blocked_until);
        Ok(Attempt::Blocked { until })
    }

    async fn throttle_state(&self, key: &str) -> StoreResult<Option<ThrottleState>> {
        let row = self
            .fetch_optional(
                "SELECT failures, last_at, blocked_until FROM auth_throttle WHERE key = $1",
                &[key.into()],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(ThrottleState {
                failures: row.int("failures")?,
                last_at: row.int("last_at")?,
                blocked_until: row.int("blocked_until")?,
            })),
        }
    }

    async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        self.execute("DELETE FROM auth_throttle WHERE key = $1", &[key.into()])
            .await?;
        Ok(())
    }
}
