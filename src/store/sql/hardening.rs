//! Pushed authorization requests and brute-force counters, for both backends.
//!
//! Dialect differences: none in the statements. Both read `CAST(1 AS BIGINT) << n` as a
//! 64-bit shift (PostgreSQL's `int8 << int4`, hence the `CAST(... AS INTEGER)` of the
//! shift amount), and both evaluate every `SET` expression of an upsert against the
//! row as it was before the update. An `ON CONFLICT ... DO UPDATE ... WHERE` whose
//! condition is false changes nothing and returns no row on both.
//!
//! Invoked as `hardening_store!(StoreType, RowType)` in a module that has the
//! backend's `unavailable` in scope.

/// The throttle upsert. `$1` key, `$2` now, `$3` window, `$4` threshold, `$5` most
/// delay, `$6` the delay after a first failure (`ThrottleRule::delay(1)`). The new
/// count `n` is 1 when the window has passed since the last failure *and* since the
/// end of the last block, else the old count plus one (the window runs from the end
/// of a block: with a window no longer than the longest delay, the attempt that ends
/// a long block would otherwise start from one again); `blocked_until` is `now + delay(n)` as `ThrottleRule::delay` computes it.
/// The `WHERE` makes the check and the count one atomic step: of many attempts at
/// once, each sees the count the one before left, so a burst of parallel guesses is
/// throttled like a sequence of them.
pub(crate) const THROTTLE_ATTEMPT: &str = "
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

macro_rules! hardening_store {
    ($store:ty, $row:ty) => {
        fn pushed_from_row(row: &$row) -> Result<PushedRequest, sqlx::Error> {
            Ok(PushedRequest {
                id_hash: row.try_get("id_hash")?,
                server_id: row.try_get("server_id")?,
                client_id: row.try_get("client_id")?,
                params: row.try_get("params")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        }

        #[async_trait]
        impl PushedRequestStore for $store {
            async fn insert_pushed(&self, p: &PushedRequest) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO pushed_authorization_requests (id_hash, server_id, client_id, params, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&p.id_hash)
                .bind(&p.server_id)
                .bind(&p.client_id)
                .bind(&p.params)
                .bind(p.created_at)
                .bind(p.expires_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn take_pushed(&self, id_hash: &[u8], client_id: &str, server_id: &str, now: UnixTime) -> StoreResult<Option<PushedRequest>> {
                let row = sqlx::query(
                    "DELETE FROM pushed_authorization_requests
                     WHERE id_hash = $1 AND client_id = $2 AND server_id = $3 AND expires_at > $4 RETURNING *",
                )
                .bind(id_hash)
                .bind(client_id)
                .bind(server_id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(pushed_from_row).transpose().map_err(unavailable)
            }
        }

        #[async_trait]
        impl ThrottleStore for $store {
            async fn throttle_attempt(&self, key: &str, rule: &ThrottleRule, now: UnixTime) -> StoreResult<Attempt> {
                let counted = sqlx::query(crate::store::sql::hardening::THROTTLE_ATTEMPT)
                    .bind(key)
                    .bind(now)
                    .bind(rule.window)
                    .bind(rule.threshold)
                    .bind(rule.max_delay)
                    .bind(rule.delay(1))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                if let Some(row) = counted {
                    return Ok(Attempt::Allowed { failures: row.try_get("failures").map_err(unavailable)? });
                }
                // Blocked: the row exists (the upsert found it) and was left as it was.
                let until = self.throttle_state(key).await?.map_or(now, |s| s.blocked_until);
                Ok(Attempt::Blocked { until })
            }

            async fn throttle_state(&self, key: &str) -> StoreResult<Option<ThrottleState>> {
                let row = sqlx::query("SELECT failures, last_at, blocked_until FROM auth_throttle WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                match row {
                    None => Ok(None),
                    Some(row) => Ok(Some(ThrottleState {
                        failures: row.try_get("failures").map_err(unavailable)?,
                        last_at: row.try_get("last_at").map_err(unavailable)?,
                        blocked_until: row.try_get("blocked_until").map_err(unavailable)?,
                    })),
                }
            }

            async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM auth_throttle WHERE key = $1")
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }
        }
    };
}

pub(crate) use hardening_store;
