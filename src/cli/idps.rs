//! `gatehouse idps ...`: upstream identity providers, their linked users and the
//! routing rules (Okta's IdP discovery policy) that send a typed username to one
//! (`admin::idps`), as the management API has them. Providers are created and
//! replaced through the API (`POST /api/v1/idps`), whose body carries their many
//! settings.

use clap::Subcommand;
use serde_json::{Value, json};

use super::print_json;
use crate::admin::idps::{self, NewRoute};
use crate::admin::{Actor, AdminError};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::oauth::idp_discovery::Destination;
use crate::store::{IdentifierPattern, PatternMatchType, ROUTE_OKTA, RouteProvider};

#[derive(Debug, Subcommand)]
pub enum IdpsCommand {
    /// List the identity providers as JSON (never their client secrets).
    List,
    /// Print one identity provider as JSON.
    Show {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
    },
    /// Let people sign in with the provider again.
    Activate {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
    },
    /// Stop sign-ins with the provider (routing rules pass over it).
    Deactivate {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
    },
    /// Delete a provider no routing rule names; its users stay, unlinked.
    Delete {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
    },
    /// List the users linked to a provider as JSON.
    Users {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
    },
    /// Unlink a user from a provider (the user stays).
    Unlink {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
        /// The user's id (`00u…`).
        #[arg(long)]
        user: String,
    },
    /// The routing rules: which provider a typed username goes to.
    #[command(subcommand)]
    Route(RouteCommand),
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// List the routing rules in the order they are tried, as JSON.
    List,
    /// Add a rule (tried after the existing ones, before the catch-all) and print it.
    Add {
        /// The rule's name (default: the patterns).
        #[arg(long)]
        name: Option<String>,
        /// A domain: `corp.example` matches `ann@corp.example` and its subdomains;
        /// repeatable.
        #[arg(long = "suffix")]
        suffixes: Vec<String>,
        /// A whole username; repeatable.
        #[arg(long = "equals")]
        equals: Vec<String>,
        /// Send matching usernames to this provider (id).
        #[arg(
            long,
            conflicts_with = "password",
            required_unless_present = "password"
        )]
        idp: Option<String>,
        /// Send matching usernames to Gatehouse's own password sign-in.
        #[arg(long)]
        password: bool,
        /// Only for this app (client id); repeatable.
        #[arg(long = "app")]
        apps: Vec<String>,
        /// Only inside this network zone (id); repeatable.
        #[arg(long = "zone")]
        zones: Vec<String>,
    },
    /// Delete a rule (not the catch-all).
    Remove {
        /// The rule's id.
        #[arg(long)]
        rule: String,
    },
    /// Print where a username would be sent.
    Test {
        /// The username as a person would type it on the sign-in page.
        #[arg(long)]
        username: String,
        /// The app signing in (client id).
        #[arg(long)]
        app: Option<String>,
    },
}

pub async fn run(command: IdpsCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let (actor, now) = (Actor::cli(), SystemClock.now());
    match command {
        IdpsCommand::List => {
            let list = store.all_idps().await.map_err(|e| e.to_string())?;
            print_json(&Value::Array(
                list.iter().map(|idp| idps::to_json("", idp)).collect(),
            ));
        }
        IdpsCommand::Show { idp } => {
            let idp = idps::find(store, &idp).await.map_err(err)?;
            print_json(&idps::to_json("", &idp));
        }
        IdpsCommand::Activate { idp } => {
            let idp = idps::set_active(store, &actor, &idp, true, now)
                .await
                .map_err(err)?;
            print_json(&idps::to_json("", &idp));
        }
        IdpsCommand::Deactivate { idp } => {
            let idp = idps::set_active(store, &actor, &idp, false, now)
                .await
                .map_err(err)?;
            print_json(&idps::to_json("", &idp));
        }
        IdpsCommand::Delete { idp } => {
            idps::delete(store, &actor, &idp, now).await.map_err(err)?;
        }
        IdpsCommand::Users { idp } => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let (page, next) = idps::users(store, &idp, after, Some(200))
                    .await
                    .map_err(err)?;
                all.extend(page.iter().map(|l| idps::user_json("", l)));
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            print_json(&Value::Array(all));
        }
        IdpsCommand::Unlink { idp, user } => {
            idps::unlink(store, &actor, &idp, &user, now)
                .await
                .map_err(err)?;
        }
        IdpsCommand::Route(command) => run_route(command, backend).await?,
    }
    Ok(())
}

async fn run_route(command: RouteCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let (actor, now) = (Actor::cli(), SystemClock.now());
    match command {
        RouteCommand::List => {
            let (policy, rules) = idps::routes(store).await.map_err(err)?;
            let mut value = idps::discovery_policy_json(&policy);
            value["_embedded"] = json!({
                "rules": rules.iter().map(idps::route_json).collect::<Vec<_>>()
            });
            print_json(&value);
        }
        RouteCommand::Add {
            name,
            suffixes,
            equals,
            idp,
            password,
            apps,
            zones,
        } => {
            let patterns: Vec<IdentifierPattern> = suffixes
                .iter()
                .map(|v| (PatternMatchType::Suffix, v))
                .chain(equals.iter().map(|v| (PatternMatchType::Equals, v)))
                .map(|(match_type, value)| IdentifierPattern {
                    match_type,
                    value: value.clone(),
                })
                .collect();
            let provider = match (idp, password) {
                (_, true) => RouteProvider {
                    provider_type: ROUTE_OKTA.into(),
                    id: None,
                },
                (Some(id), false) => {
                    let found = idps::find(store, &id).await.map_err(err)?;
                    RouteProvider {
                        provider_type: found.idp_type.as_str().into(),
                        id: Some(id),
                    }
                }
                (None, false) => return Err("--idp or --password is required".into()),
            };
            let name = name.unwrap_or_else(|| {
                let values: Vec<&str> = patterns.iter().map(|p| p.value.as_str()).collect();
                if values.is_empty() {
                    "Everyone".into()
                } else {
                    values.join(", ")
                }
            });
            let rule = idps::create_route(
                store,
                &actor,
                NewRoute {
                    name,
                    patterns,
                    zones_include: zones,
                    apps_include: apps,
                    providers: vec![provider],
                    ..NewRoute::default()
                },
                now,
            )
            .await
            .map_err(err)?;
            print_json(&idps::route_json(&rule));
        }
        RouteCommand::Remove { rule } => {
            idps::delete_route(store, &actor, &rule, now)
                .await
                .map_err(err)?;
        }
        RouteCommand::Test { username, app } => {
            let route = idps::route(store, Some(&username), app.as_deref(), None)
                .await
                .map_err(err)?;
            let to: Vec<Value> = route
                .destinations
                .iter()
                .map(|d| match d {
                    Destination::Password => json!({ "type": ROUTE_OKTA }),
                    Destination::Provider(idp) => {
                        json!({ "type": idp.idp_type, "id": idp.id, "name": idp.name })
                    }
                })
                .collect();
            print_json(&json!({ "rule": route.rule_id, "providers": to }));
        }
    }
    Ok(())
}
