//! `gatehouse authz-servers ...`, `scopes ...`, `claims ...`, `policies ...`: a custom
//! authorization server's settings, through the same service layer as everything else.

use clap::Subcommand;
use serde_json::Value;

use super::print_json;
use crate::admin::Actor;
use crate::admin::policies::{self, NewPolicy, NewRule};
use crate::admin::servers::{self, NewClaim, NewScope, NewServer};
use crate::admin::trusted_servers;
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::store::AuthServer;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[derive(Debug, Subcommand)]
pub enum ServersCommand {
    /// Add a custom authorization server (it has the OpenID Connect scopes and, as in
    /// Okta, no access policy until you add one).
    Create {
        /// The server's name.
        #[arg(long)]
        name: String,
        /// The `aud` of its access tokens, e.g. api://orders.
        #[arg(long)]
        audience: String,
        /// A description for the people who manage it.
        #[arg(long, default_value = "")]
        description: String,
        /// JWS algorithm of its ID and access tokens: RS256 (default, as Okta) or ES256.
        #[arg(long, value_parser = ["RS256", "ES256"])]
        signing_alg: Option<String>,
    },
    /// Who may introspect a custom server's access tokens (RFC 7662 §4). Restricted:
    /// only the token's own client and the listed resource servers; otherwise (the
    /// default) any confidential client of the server. What is not given stays.
    Introspection {
        /// The server's id (`default`, or `aus…`).
        id: String,
        /// true: restrict; false: any confidential client may introspect.
        #[arg(long, value_name = "true|false")]
        restricted: Option<bool>,
        /// The client id of an app that is a resource server of the server's audience;
        /// repeat for more. Replaces the list.
        #[arg(long = "resource-server", conflicts_with = "clear_resource_servers")]
        resource_servers: Vec<String>,
        /// Empties the list of resource servers.
        #[arg(long)]
        clear_resource_servers: bool,
    },
    /// Trust other custom servers for token exchange (RFC 8693, Okta's trusted
    /// servers): their access tokens become acceptable subject tokens at this server.
    Trust {
        /// The server's id (`default`, or `aus…`).
        id: String,
        /// The id of a custom server to trust; repeat for more.
        #[arg(long = "server", required = true)]
        trusted: Vec<String>,
    },
    /// Stop trusting a server for token exchange.
    Untrust {
        /// The server's id (`default`, or `aus…`).
        id: String,
        /// The id of the trusted server.
        #[arg(long = "server")]
        trusted: String,
    },
    /// List, as JSON, the servers a server trusts for token exchange.
    Trusted {
        /// The server's id (`default`, or `aus…`).
        id: String,
    },
    /// List authorization servers as JSON.
    List,
    /// Show one authorization server as JSON.
    Show {
        /// The server's id (`default`, or `aus…`).
        id: String,
    },
}

/// The issuer and audience as the running server computes them, from the public URL.
fn server_json(base_url: &str, server: &AuthServer) -> Value {
    let issuer = if server.is_org() {
        base_url.to_string()
    } else {
        format!("{base_url}/oauth2/{}", server.id)
    };
    let audience = server.audience.clone().unwrap_or_else(|| issuer.clone());
    servers::to_json(server, &issuer, &audience)
}

pub async fn run_servers(
    command: ServersCommand,
    backend: &Backend,
    base_url: &str,
) -> Result<(), String> {
    let store = &backend.store;
    match command {
        ServersCommand::Create {
            name,
            audience,
            description,
            signing_alg,
        } => {
            let new = NewServer {
                name,
                description,
                audience,
                signing_alg,
                ..NewServer::default()
            };
            let server = servers::create(store, &Actor::cli(), new, SystemClock.now())
                .await
                .map_err(err)?;
            print_json(&server_json(base_url, &server));
        }
        ServersCommand::Introspection {
            id,
            restricted,
            resource_servers,
            clear_resource_servers,
        } => {
            let before = servers::find(store, &id).await.map_err(err)?;
            let new = NewServer {
                name: before.name.clone(),
                description: before.description.clone(),
                audience: before.audience.clone().unwrap_or_default(),
                signing_alg: None,
                introspection_restricted: restricted,
                resource_servers: (clear_resource_servers || !resource_servers.is_empty())
                    .then_some(resource_servers),
            };
            let server = servers::update(store, &Actor::cli(), &id, new, SystemClock.now())
                .await
                .map_err(err)?;
            print_json(&server_json(base_url, &server));
        }
        ServersCommand::Trust { id, trusted } => {
            let list = trusted_servers::add(store, &Actor::cli(), &id, &trusted, SystemClock.now())
                .await
                .map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(|s| server_json(base_url, s)).collect(),
            ));
        }
        ServersCommand::Untrust { id, trusted } => {
            trusted_servers::remove(store, &Actor::cli(), &id, &trusted, SystemClock.now())
                .await
                .map_err(err)?;
        }
        ServersCommand::Trusted { id } => {
            let list = trusted_servers::trusted(store, &id).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(|s| server_json(base_url, s)).collect(),
            ));
        }
        ServersCommand::List => {
            let list = store.list_servers().await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(|s| server_json(base_url, s)).collect(),
            ));
        }
        ServersCommand::Show { id } => {
            let server = servers::find(store, &id).await.map_err(err)?;
            print_json(&server_json(base_url, &server));
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ScopesCommand {
    /// Add a custom scope to a server.
    Create {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The scope's name, as clients request it.
        #[arg(long)]
        name: String,
        /// What the consent page says the scope allows.
        #[arg(long, default_value = "")]
        description: String,
        /// The user must consent to it (Okta's consent REQUIRED).
        #[arg(long)]
        consent_required: bool,
        /// Granted when a client_credentials request names no scope.
        #[arg(long)]
        default: bool,
    },
    /// Change a scope, named by its name; what is not given stays. A system scope, or
    /// one that claims or policy rules name, keeps its name.
    Update {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The scope to change, by its current name.
        #[arg(long)]
        name: String,
        /// The scope's new name.
        #[arg(long)]
        new_name: Option<String>,
        /// What the consent page says the scope allows.
        #[arg(long)]
        description: Option<String>,
        /// true: the user must consent to it; false: no consent asked.
        #[arg(long)]
        consent_required: Option<bool>,
        /// true: granted when a client_credentials request names no scope.
        #[arg(long)]
        default: Option<bool>,
    },
    /// List a server's scopes as JSON.
    List {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
    },
    /// Delete a custom scope.
    Delete {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The scope to delete, by its name.
        #[arg(long)]
        name: String,
    },
}

pub async fn run_scopes(command: ScopesCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    match command {
        ScopesCommand::Create {
            server,
            name,
            description,
            consent_required,
            default,
        } => {
            let new = NewScope {
                name,
                description,
                consent_required,
                is_default: default,
            };
            let scope =
                servers::create_scope(store, &Actor::cli(), &server, new, SystemClock.now())
                    .await
                    .map_err(err)?;
            print_json(&servers::scope_json(&scope));
        }
        ScopesCommand::Update {
            server,
            name,
            new_name,
            description,
            consent_required,
            default,
        } => {
            let found = servers::find(store, &server).await.map_err(err)?;
            let scopes = store.list_scopes(&found.id).await.map_err(err)?;
            let scope = scopes
                .into_iter()
                .find(|s| s.name == name)
                .ok_or_else(|| format!("not found: scope {name}"))?;
            let new = NewScope {
                name: new_name.unwrap_or(scope.name),
                description: description.unwrap_or(scope.description),
                consent_required: consent_required.unwrap_or(scope.consent == "REQUIRED"),
                is_default: default.unwrap_or(scope.is_default),
            };
            let scope = servers::update_scope(
                store,
                &Actor::cli(),
                &server,
                &scope.id,
                new,
                SystemClock.now(),
            )
            .await
            .map_err(err)?;
            print_json(&servers::scope_json(&scope));
        }
        ScopesCommand::List { server } => {
            let server = servers::find(store, &server).await.map_err(err)?;
            let list = store.list_scopes(&server.id).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(servers::scope_json).collect(),
            ));
        }
        ScopesCommand::Delete { server, name } => {
            servers::delete_scope(store, &Actor::cli(), &server, &name, SystemClock.now())
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Add a custom claim: `--value user.email` (or a "quoted" literal), or the user's
    /// groups with `--group-filter regex|starts-with|equals|contains --value PATTERN`.
    Create {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The claim's name in the token.
        #[arg(long)]
        name: String,
        /// `id` (ID token and userinfo) or `access` (access token).
        #[arg(long, value_parser = ["id", "access"])]
        token: String,
        /// What the claim holds: an expression such as user.email, a "quoted" literal, or, with --group-filter, the pattern group names are matched against.
        #[arg(long)]
        value: String,
        /// Make it a groups claim: the user's groups whose name matches --value this way.
        #[arg(long, value_parser = ["regex", "starts-with", "equals", "contains"])]
        group_filter: Option<String>,
        /// Include the claim only when one of these scopes is granted; repeat for more.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List a server's claims as JSON.
    List {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
    },
    /// Delete a claim by id.
    Delete {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The claim's id (as `claims list` prints it).
        #[arg(long)]
        id: String,
    },
}

pub async fn run_claims(command: ClaimsCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    match command {
        ClaimsCommand::Create {
            server,
            name,
            token,
            value,
            group_filter,
            scopes,
        } => {
            let new = NewClaim {
                name,
                claim_type: if token == "id" {
                    "IDENTITY"
                } else {
                    "RESOURCE"
                }
                .into(),
                value,
                group_filter_type: group_filter.map(|f| f.replace('-', "_").to_uppercase()),
                scopes,
            };
            let claim =
                servers::create_claim(store, &Actor::cli(), &server, new, SystemClock.now())
                    .await
                    .map_err(err)?;
            print_json(&servers::claim_json(&claim));
        }
        ClaimsCommand::List { server } => {
            let server = servers::find(store, &server).await.map_err(err)?;
            let list = store.list_claims(&server.id).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(servers::claim_json).collect(),
            ));
        }
        ClaimsCommand::Delete { server, id } => {
            servers::delete_claim(store, &Actor::cli(), &server, &id, SystemClock.now())
                .await
                .map_err(err)?
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Add an access policy (evaluated by priority, 1 first).
    Create {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's name.
        #[arg(long)]
        name: String,
        /// A description for the people who manage it.
        #[arg(long, default_value = "")]
        description: String,
        /// Apply only to these client ids; repeat for more (default: every client).
        #[arg(long = "client")]
        clients: Vec<String>,
        /// Evaluation order: 1 first (default: after the existing ones).
        #[arg(long)]
        priority: Option<i64>,
    },
    /// List a server's policies, each with its rules, as JSON.
    List {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
    },
    /// Delete a policy and its rules.
    Delete {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
    /// Activate a policy.
    Activate {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
    /// Deactivate a policy: it is skipped when tokens are decided.
    Deactivate {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
    /// Add a rule to a policy. Lifetimes in minutes; 0 refresh minutes is unlimited.
    AddRule {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's name.
        #[arg(long)]
        name: String,
        /// Evaluation order within the policy: 1 first (default: after the existing rules).
        #[arg(long)]
        priority: Option<i64>,
        /// authorization_code (default), client_credentials or
        /// urn:ietf:params:oauth:grant-type:device_code; repeat for more.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Scopes the rule allows (default: any); repeat for more.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// User id or login; repeat for more.
        #[arg(long = "user")]
        users: Vec<String>,
        /// Group id or name, or EVERYONE (default when no user or group is given).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// 5 to 1440 (default 60).
        #[arg(long)]
        access_token_minutes: Option<i64>,
        /// 0: unlimited (default).
        #[arg(long)]
        refresh_token_minutes: Option<i64>,
        /// A refresh token unused this long expires; 0: never (default 10080, 7 days).
        #[arg(long)]
        refresh_idle_minutes: Option<i64>,
        /// The rule refuses the request instead.
        #[arg(long)]
        deny: bool,
    },
    /// Delete a rule.
    DeleteRule {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
    /// Activate a rule.
    ActivateRule {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
    /// Deactivate a rule: it is skipped when tokens are decided.
    DeactivateRule {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's id (as `policies list` prints it).
        #[arg(long)]
        id: String,
    },
}

pub async fn run_policies(command: PoliciesCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let now = SystemClock.now();
    match command {
        PoliciesCommand::Create {
            server,
            name,
            description,
            clients,
            priority,
        } => {
            let policy = policies::create_policy(
                store,
                &Actor::cli(),
                &server,
                NewPolicy {
                    name,
                    description,
                    clients,
                    priority,
                },
                now,
            )
            .await
            .map_err(err)?;
            print_json(&policies::to_json(&policy, &[]));
        }
        PoliciesCommand::List { server } => {
            let server = servers::find(store, &server).await.map_err(err)?;
            let list = store.list_policies(&server.id).await.map_err(err)?;
            let rules = store.list_rules(&server.id).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(|p| policies::to_json(p, &rules)).collect(),
            ));
        }
        PoliciesCommand::Delete { server, id } => {
            policies::delete_policy(store, &Actor::cli(), &server, &id, SystemClock.now())
                .await
                .map_err(err)?
        }
        PoliciesCommand::Activate { server, id } => {
            let policy = policies::set_policy_active(store, &Actor::cli(), &server, &id, true, now)
                .await
                .map_err(err)?;
            print_json(&policies::to_json(&policy, &[]));
        }
        PoliciesCommand::Deactivate { server, id } => {
            let policy =
                policies::set_policy_active(store, &Actor::cli(), &server, &id, false, now)
                    .await
                    .map_err(err)?;
            print_json(&policies::to_json(&policy, &[]));
        }
        PoliciesCommand::AddRule {
            server,
            policy,
            name,
            priority,
            grant_types,
            scopes,
            users,
            groups,
            access_token_minutes,
            refresh_token_minutes,
            refresh_idle_minutes,
            deny,
        } => {
            let new = NewRule {
                name,
                priority,
                grant_types,
                scopes,
                users,
                groups,
                access_token_ttl: access_token_minutes.map(|m| m * 60),
                refresh_token_ttl: refresh_token_minutes.map(|m| m * 60),
                refresh_token_idle: refresh_idle_minutes.map(|m| m * 60),
                deny,
            };
            let rule = policies::create_rule(store, &Actor::cli(), &server, &policy, new, now)
                .await
                .map_err(err)?;
            print_json(&policies::rule_json(&rule));
        }
        PoliciesCommand::DeleteRule { server, policy, id } => policies::delete_rule(
            store,
            &Actor::cli(),
            &server,
            &policy,
            &id,
            SystemClock.now(),
        )
        .await
        .map_err(err)?,
        PoliciesCommand::ActivateRule { server, policy, id } => {
            let rule =
                policies::set_rule_active(store, &Actor::cli(), &server, &policy, &id, true, now)
                    .await
                    .map_err(err)?;
            print_json(&policies::rule_json(&rule));
        }
        PoliciesCommand::DeactivateRule { server, policy, id } => {
            let rule =
                policies::set_rule_active(store, &Actor::cli(), &server, &policy, &id, false, now)
                    .await
                    .map_err(err)?;
            print_json(&policies::rule_json(&rule));
        }
    }
    Ok(())
}
