//! API tokens and the System Log, for both backends.
//!
//! Dialect differences: none. Built filters (`store::query::Where`) take the backend's
//! `placeholder` and `bind_values`, which are in scope where the macro is invoked.
//!
//! Invoked as `management_store!(StoreType, RowType, DatabaseType)` in a module that
//! has the backend's `unavailable`, `placeholder` and `bind_values` in scope.

macro_rules! management_store {
    ($store:ty, $row:ty, $db:ty) => {
        fn token_from_row(row: &$row) -> Result<ApiToken, sqlx::Error> {
            Ok(ApiToken {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                token_hash: row.try_get("token_hash")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        fn event_from_row(row: &$row) -> Result<LogEvent, sqlx::Error> {
            let target_ids: String = row.try_get("target_ids")?;
            Ok(LogEvent {
                seq: row.try_get("seq")?,
                uuid: row.try_get("uuid")?,
                published: row.try_get("published")?,
                event_type: row.try_get("event_type")?,
                outcome_result: row.try_get("outcome_result")?,
                actor_id: row.try_get("actor_id")?,
                target_ids: target_ids.split_whitespace().map(str::to_string).collect(),
                event: row.try_get("event")?,
            })
        }

        /// The ids with a space either side of each, so `% id %` matches one exactly.
        fn target_words(ids: &[String]) -> String {
            format!(" {} ", ids.join(" "))
        }

        #[async_trait]
        impl ApiTokenStore for $store {
            async fn insert_api_token(&self, t: &ApiToken) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, name, token_hash, created_by, created_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(&t.created_by)
                .bind(t.created_at)
                .bind(t.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<ApiToken>> {
                let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.as_ref().map(token_from_row).transpose().map_err(unavailable)
            }

            async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
                let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(token_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn revoke_api_token(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl LogStore for $store {
            async fn insert_event(&self, e: &LogEvent) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO system_log (uuid, published, event_type, outcome_result, actor_id, target_ids, event)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&e.uuid)
                .bind(e.published)
                .bind(&e.event_type)
                .bind(&e.outcome_result)
                .bind(&e.actor_id)
                .bind(target_words(&e.target_ids))
                .bind(&e.event)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(())
            }

            async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>> {
                let (clause, values) = Where { columns: LOG_COLUMNS, placeholder, binds: vec![] }.page(page, "seq")?;
                let sql = format!("SELECT * FROM system_log {clause}");
                let rows = bind_values(sqlx::query(&sql), &values)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(event_from_row).collect::<Result<_, _>>().map_err(unavailable)
            }

            async fn purge_events(&self, before: UnixTime) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM system_log WHERE published < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use management_store;
