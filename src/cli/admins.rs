//! `gatehouse admins ...`: admin roles, so the first admin exists before any console
//! (`gatehouse admins grant --user you@example.com --role super`).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::print_json;
use crate::admin::roles::{self, Holder};
use crate::admin::{Actor, AdminError};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::store::RolePrincipal;

#[derive(Debug, Subcommand)]
pub enum AdminsCommand {
    /// Grant an admin role to a user or a group and print the assignment as JSON.
    Grant {
        #[command(flatten)]
        who: Who,
        /// super, org, app or read-only (or Okta's SUPER_ADMIN, ORG_ADMIN, APP_ADMIN,
        /// READ_ONLY_ADMIN).
        #[arg(long)]
        role: String,
    },
    /// List every role granted, to whom, as JSON.
    List,
    /// Revoke a role (by its type or its assignment id) from a user or a group.
    Revoke {
        #[command(flatten)]
        who: Who,
        /// super, org, app, read-only, Okta's type, or the assignment's id.
        #[arg(long)]
        role: String,
    },
}

/// A user (`--user`) or a group (`--group`), exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// The user's id or login.
    #[arg(long)]
    user: Option<String>,
    /// The group's id or name.
    #[arg(long)]
    group: Option<String>,
}

async fn holder(backend: &Backend, who: &Who) -> Result<Holder, AdminError> {
    match (&who.user, &who.group) {
        (Some(user), _) => roles::user(&backend.store, user).await,
        (None, Some(group)) => roles::group(&backend.store, group).await,
        (None, None) => Err(AdminError::invalid("user", "--user or --group is required")),
    }
}

pub async fn run(command: AdminsCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    match command {
        AdminsCommand::Grant { who, role } => {
            let holder = holder(backend, &who).await.map_err(err)?;
            let role = roles::parse_role(&role).map_err(err)?;
            let assignment = roles::grant(store, &Actor::cli(), &holder, role, SystemClock.now())
                .await
                .map_err(err)?;
            print_json(&with_principal(&assignment));
        }
        AdminsCommand::List => {
            let list = roles::list_all(store).await.map_err(err)?;
            print_json(&Value::Array(list.iter().map(with_principal).collect()));
        }
        AdminsCommand::Revoke { who, role } => {
            let holder = holder(backend, &who).await.map_err(err)?;
            roles::revoke(store, &Actor::cli(), &holder, &role, SystemClock.now())
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Okta's role object with whom it is granted to.
fn with_principal(assignment: &crate::store::RoleAssignment) -> Value {
    let mut value = roles::to_json(assignment);
    let (key, id) = match &assignment.principal {
        RolePrincipal::User(id) => ("userId", id),
        RolePrincipal::Group(id) => ("groupId", id),
    };
    value[key] = json!(id);
    value
}
