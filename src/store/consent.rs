//! The scopes each user has consented to grant each app, per authorization server.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Backend, Row, Tx};
use crate::clock::UnixTime;

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

#[async_trait]
impl<B: Backend> ConsentStore for B {
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        server_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for scope in scopes {
            tx.execute(
                "INSERT INTO consent_grants (user_id, client_id, server_id, scope, granted_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    user_id.into(),
                    client_id.into(),
                    server_id.into(),
                    scope.into(),
                    now.into(),
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn granted_scopes(
        &self,
        user_id: &str,
        client_id: &str,
        server_id: &str,
    ) -> StoreResult<Vec<String>> {
        let rows = self
            .fetch_all(
                "SELECT scope FROM consent_grants
                 WHERE user_id = $1 AND client_id = $2 AND server_id = $3 ORDER BY scope",
                &[user_id.into(), client_id.into(), server_id.into()],
            )
            .await?;
        rows.iter().map(|row| row.text("scope")).collect()
    }

    async fn revoke_consents(&self, user_id: &str, client_id: &str) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM consent_grants WHERE user_id = $1 AND client_id = $2",
            &[user_id.into(), client_id.into()],
        )
        .await
    }
}
