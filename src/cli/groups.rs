//! `gatehouse groups ...`

use clap::Subcommand;
use serde_json::Value;

use super::print_json;
use crate::admin::Actor;
use crate::admin::groups;
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Create a group and print it as JSON.
    Create {
        /// The group's name (unique).
        #[arg(long)]
        name: String,
        /// A description for the people who manage it.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List groups as JSON.
    List,
    /// Add a user (id or login) to a group (id or name).
    AddUser {
        /// The group's id or name.
        #[arg(long)]
        group: String,
        /// The user's id or login.
        #[arg(long)]
        user: String,
    },
    /// Remove a user from a group.
    RemoveUser {
        /// The group's id or name.
        #[arg(long)]
        group: String,
        /// The user's id or login.
        #[arg(long)]
        user: String,
    },
}

pub async fn run(command: GroupsCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: crate::admin::AdminError| e.to_string();
    match command {
        GroupsCommand::Create { name, description } => {
            let group =
                groups::create(store, &Actor::cli(), &name, &description, SystemClock.now())
                    .await
                    .map_err(err)?;
            print_json(&groups::to_json(&group));
        }
        GroupsCommand::List => {
            let list = store.list_groups().await.map_err(|e| e.to_string())?;
            print_json(&Value::Array(list.iter().map(groups::to_json).collect()));
        }
        GroupsCommand::AddUser { group, user } => {
            let (group, _) =
                groups::add_member(store, &Actor::cli(), &group, &user, SystemClock.now())
                    .await
                    .map_err(err)?;
            print_json(&groups::to_json(&group));
        }
        GroupsCommand::RemoveUser { group, user } => {
            groups::remove_member(store, &Actor::cli(), &group, &user, SystemClock.now())
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}
