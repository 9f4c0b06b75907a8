//! Admin role assignments (Okta's roles, granted to a user or a group) and the okta.*
//! scopes granted to apps (Okta's app grants).
//!
//! No dialect differences: `UNION ALL`, `ON CONFLICT DO NOTHING` and the `CHECK` of
//! migration 27 read the same on both backends.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Backend, Row};
use crate::clock::UnixTime;

/// Who a role is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolePrincipal {
    User(String),
    Group(String),
}

impl RolePrincipal {
    pub fn id(&self) -> &str {
        match self {
            RolePrincipal::User(id) | RolePrincipal::Group(id) => id,
        }
    }
}

/// One role granted to one user or group. `role` is Okta's role type
/// (`SUPER_ADMIN`, ...); the database refuses any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub id: String,
    pub principal: RolePrincipal,
    pub role: String,
    pub created_at: UnixTime,
}

/// An okta.* scope of the org server granted to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppGrant {
    pub id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait AdminRoleStore: Send + Sync {
    /// Grants a role; false when the principal already had it.
    async fn insert_role(&self, role: &RoleAssignment) -> StoreResult<bool>;
    /// The roles granted to this user or group itself, oldest first.
    async fn roles_of(&self, principal: &RolePrincipal) -> StoreResult<Vec<RoleAssignment>>;
    /// Every role granted, oldest first.
    async fn list_roles(&self) -> StoreResult<Vec<RoleAssignment>>;
    /// A user's effective roles in one query: those granted to the user and those
    /// granted to any group the user is in (with that group as principal).
    async fn effective_roles(&self, user_id: &str) -> StoreResult<Vec<RoleAssignment>>;
    /// Revokes the role with this id granted to this principal; false when absent.
    async fn delete_role(&self, principal: &RolePrincipal, id: &str) -> StoreResult<bool>;
    /// Grants a scope to an app; false when it already had it.
    async fn insert_app_grant(&self, grant: &AppGrant) -> StoreResult<bool>;
    /// The scopes granted to an app, oldest first.
    async fn app_grants(&self, client_id: &str) -> StoreResult<Vec<AppGrant>>;
    /// Revokes a grant of this app; false when absent.
    async fn delete_app_grant(&self, client_id: &str, id: &str) -> StoreResult<bool>;
}

fn role_from_row(row: &impl Row) -> StoreResult<RoleAssignment> {
    let principal = match (row.opt_text("user_id")?, row.opt_text("group_id")?) {
        (Some(user), _) => RolePrincipal::User(user),
        (None, Some(group)) => RolePrincipal::Group(group),
        (None, None) => {
            return Err(super::StoreError::Schema(
                "an admin role without a user or a group".into(),
            ));
        }
    };
    Ok(RoleAssignment {
        id: row.text("id")?,
        principal,
        role: row.text("role")?,
        created_at: row.int("created_at")?,
    })
}

fn grant_from_row(row: &impl Row) -> StoreResult<AppGrant> {
    Ok(AppGrant {
        id: row.text("id")?,
        client_id: row.text("client_id")?,
        scope: row.text("scope")?,
        created_at: row.int("created_at")?,
    })
}

/// The column a principal is stored in.
fn column(principal: &RolePrincipal) -> &'static str {
    match principal {
        RolePrincipal::User(_) => "user_id",
        RolePrincipal::Group(_) => "group_id",
    }
}

#[async_trait]
impl<B: Backend> AdminRoleStore for B {
    async fn insert_role(&self, r: &RoleAssignment) -> StoreResult<bool> {
        let (user, group) = match &r.principal {
            RolePrincipal::User(id) => (Some(id.clone()), None),
            RolePrincipal::Group(id) => (None, Some(id.clone())),
        };
        let done = self
            .execute(
                "INSERT INTO admin_roles (id, user_id, group_id, role, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    (&r.id).into(),
                    (&user).into(),
                    (&group).into(),
                    (&r.role).into(),
                    r.created_at.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn roles_of(&self, principal: &RolePrincipal) -> StoreResult<Vec<RoleAssignment>> {
        let rows = self
            .fetch_all(
                &format!(
                    "SELECT * FROM admin_roles WHERE {} = $1 ORDER BY created_at, id",
                    column(principal)
                ),
                &[principal.id().into()],
            )
            .await?;
        rows.iter().map(role_from_row).collect()
    }

    async fn list_roles(&self) -> StoreResult<Vec<RoleAssignment>> {
        let rows = self
            .fetch_all("SELECT * FROM admin_roles ORDER BY created_at, id", &[])
            .await?;
        rows.iter().map(role_from_row).collect()
    }

    async fn effective_roles(&self, user_id: &str) -> StoreResult<Vec<RoleAssignment>> {
        let rows = self
            .fetch_all(
                "SELECT r.id, r.user_id, r.group_id, r.role, r.created_at
                   FROM admin_roles r WHERE r.user_id = $1
                 UNION ALL
                 SELECT r.id, r.user_id, r.group_id, r.role, r.created_at
                   FROM admin_roles r JOIN group_members m ON m.group_id = r.group_id
                  WHERE m.user_id = $2
                 ORDER BY created_at, id",
                &[user_id.into(), user_id.into()],
            )
            .await?;
        rows.iter().map(role_from_row).collect()
    }

    async fn delete_role(&self, principal: &RolePrincipal, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                &format!(
                    "DELETE FROM admin_roles WHERE id = $1 AND {} = $2",
                    column(principal)
                ),
                &[id.into(), principal.id().into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn insert_app_grant(&self, g: &AppGrant) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO app_grants (id, client_id, scope, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    (&g.id).into(),
                    (&g.client_id).into(),
                    (&g.scope).into(),
                    g.created_at.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn app_grants(&self, client_id: &str) -> StoreResult<Vec<AppGrant>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM app_grants WHERE client_id = $1 ORDER BY created_at, id",
                &[client_id.into()],
            )
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    async fn delete_app_grant(&self, client_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM app_grants WHERE client_id = $1 AND id = $2",
                &[client_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
