//! What a sign-in through an identity provider writes that spans two stores: a user
//! provisioned just in time and the link of its upstream identity, in one transaction
//! (a user never exists without the link that explains it, nor a link without its
//! user).

use async_trait::async_trait;

use super::db::{Arg, Backend, Tx};
use super::users::{INSERT_USER, insert_args};
use super::{IdpUser, StoreResult, User};

#[async_trait]
pub trait FederationStore: Send + Sync {
    /// Inserts the user and links the upstream identity to it, or nothing: a login in
    /// use, or an identity linked already, is a `Conflict`.
    async fn insert_linked_user(&self, user: &User, link: &IdpUser) -> StoreResult<()>;
}

#[async_trait]
impl<B: Backend> FederationStore for B {
    async fn insert_linked_user(&self, user: &User, link: &IdpUser) -> StoreResult<()> {
        let profile = serde_json::Value::Object(link.profile.clone()).to_string();
        let mut tx = self.begin().await?;
        tx.execute(INSERT_USER, &insert_args(user)).await?;
        tx.execute(
            "INSERT INTO idp_users (idp_id, external_id, user_id, profile, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&link.idp_id).into(),
                (&link.external_id).into(),
                (&user.id).into(),
                Arg::OwnedText(profile),
                link.created_at.into(),
                link.updated_at.into(),
            ],
        )
        .await?;
        tx.commit().await
    }
}
