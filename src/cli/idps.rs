//! `gatehouse idps ...`: upstream identity providers, their linked users and the
//! routing rules (Okta's IdP discovery policy) that send a typed username to one
//! (`admin::idps`), as the management API has them. `create` and `update` take the
//! settings an admin sets as flags (the endpoints from the issuer's discovery document
//! with `--discover`); the client secret only from a file or standard input, never a
//! flag (it would stay in the shell's history and show in `ps`).

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::print_json;
use crate::admin::idps::{self, NewIdp, NewRoute};
use crate::admin::{Actor, AdminError};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::oauth::idp_discovery::Destination;
use crate::outbound::Limits;
use crate::store::{
    AuthMethod, GroupsAction, IdentifierPattern, IdpPolicyAction, IdpType, PatternMatchType,
    ROUTE_OKTA, RouteProvider, SubjectMatchType,
};
use crate::upstream::{self, config::DEFAULT_TIMEOUT, config::MAX_BODY};

/// What `idps create` and `idps update` set; on an update, what is left out stays.
#[derive(Debug, Args)]
pub struct IdpFlags {
    /// The provider's name, unique (the sign-in button says "Sign in with NAME").
    #[arg(long)]
    name: Option<String>,
    /// `oidc` (OpenID Connect, the default) or `oauth2` (plain OAuth 2.0 with a
    /// userinfo endpoint).
    #[arg(long = "type", value_name = "oidc|oauth2")]
    kind: Option<String>,
    /// The issuer exactly as the provider names itself (required for OpenID Connect).
    #[arg(long)]
    issuer: Option<String>,
    /// Fill the authorization, token, userinfo, jwks and end-session endpoints from
    /// the issuer's discovery document (endpoints given as flags win).
    #[arg(long)]
    discover: bool,
    /// The provider's authorization endpoint (https).
    #[arg(long)]
    authorization_endpoint: Option<String>,
    /// The provider's token endpoint (https).
    #[arg(long)]
    token_endpoint: Option<String>,
    /// The provider's userinfo endpoint (required for oauth2).
    #[arg(long)]
    userinfo_endpoint: Option<String>,
    /// Where the provider publishes its ID token keys (required for oidc).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// The provider's RP-initiated logout endpoint (for --end-upstream-session).
    #[arg(long)]
    end_session_endpoint: Option<String>,
    /// The client id Gatehouse has at the provider.
    #[arg(long)]
    client_id: Option<String>,
    /// Read the client secret from this file (its first line).
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret_stdin")]
    client_secret_file: Option<PathBuf>,
    /// Read the client secret from standard input (its first line).
    #[arg(long)]
    client_secret_stdin: bool,
    /// `client_secret_post` (the default), `client_secret_basic` or `private_key_jwt`.
    #[arg(long)]
    auth_method: Option<String>,
    /// The scopes asked for, space- or comma-separated (default `openid profile email`).
    #[arg(long)]
    scopes: Option<String>,
    /// `auto` (create unknown people at their first sign-in) or `disabled`.
    #[arg(long, value_name = "auto|disabled")]
    provisioning: Option<String>,
    /// `auto` (link to an existing user matched by `--match-type`, on a verified
    /// e-mail) or `disabled`.
    #[arg(long, value_name = "auto|disabled")]
    account_link: Option<String>,
    /// The username made from the upstream profile (default `idpuser.email`).
    #[arg(long)]
    username_template: Option<String>,
    /// How an existing user is matched: `username`, `email` or `username_or_email`.
    #[arg(long)]
    match_type: Option<String>,
    /// Sync the user's groups from this claim of the upstream profile (`none`: stop).
    #[arg(long)]
    groups_claim: Option<String>,
    /// Signing out here also ends the session at the provider: `true` or `false`.
    #[arg(long, value_name = "true|false")]
    end_upstream_session: Option<bool>,
    /// The sign-in button's text.
    #[arg(long)]
    button_label: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IdpsCommand {
    /// List the identity providers as JSON (never their client secrets).
    List,
    /// Register a provider (ACTIVE) and print it as JSON, without its secret.
    Create(Box<IdpFlags>),
    /// Change some of a provider's settings and print it; the others stay.
    Update {
        /// The provider's id (`0oa…`).
        #[arg(long)]
        idp: String,
        #[command(flatten)]
        flags: Box<IdpFlags>,
    },
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

/// The client secret from `--client-secret-file` or `--client-secret-stdin`: the
/// first line, without its line end; refused when empty.
fn read_secret(flags: &IdpFlags) -> Result<Option<String>, String> {
    let text = if let Some(path) = &flags.client_secret_file {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    } else if flags.client_secret_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the client secret from standard input: {e}"))?;
        text
    } else {
        return Ok(None);
    };
    let secret = text.lines().next().unwrap_or_default().trim().to_string();
    if secret.is_empty() {
        return Err("the client secret is empty".into());
    }
    Ok(Some(secret))
}

fn policy_action(flag: &str, text: &str) -> Result<IdpPolicyAction, String> {
    IdpPolicyAction::parse(&text.to_ascii_uppercase())
        .filter(|a| matches!(a, IdpPolicyAction::Auto | IdpPolicyAction::Disabled))
        .ok_or_else(|| format!("--{flag} must be auto or disabled"))
}

/// `flags` applied over `new` (a new provider's defaults or the stored settings),
/// the endpoints filled from discovery when asked.
async fn apply_flags(
    mut new: NewIdp,
    flags: IdpFlags,
    allow_private: bool,
) -> Result<NewIdp, String> {
    if let Some(kind) = &flags.kind {
        new.idp_type = match kind.to_ascii_lowercase().as_str() {
            "oidc" => IdpType::Oidc,
            "oauth2" => IdpType::OAuth2,
            _ => return Err("--type must be oidc or oauth2".into()),
        };
    }
    new.client_secret = read_secret(&flags)?;
    let IdpFlags {
        name,
        issuer,
        discover,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
        end_session_endpoint,
        client_id,
        auth_method,
        scopes,
        provisioning,
        account_link,
        username_template,
        match_type,
        groups_claim,
        end_upstream_session,
        button_label,
        ..
    } = flags;
    if let Some(name) = name {
        new.name = name;
    }
    if let Some(issuer) = issuer {
        new.issuer = Some(issuer);
    }
    if discover {
        let issuer = new
            .issuer
            .clone()
            .filter(|i| !i.trim().is_empty())
            .ok_or("--discover needs --issuer")?;
        let limits = Limits {
            timeout: DEFAULT_TIMEOUT,
            max_body: MAX_BODY,
        };
        let found = upstream::discover(issuer.trim(), allow_private, limits)
            .await
            .map_err(|e| format!("discovery at {issuer} failed: {e}"))?;
        new.authorization_endpoint = Some(found.authorization_endpoint);
        new.token_endpoint = found.token_endpoint;
        new.userinfo_endpoint = found.userinfo_endpoint;
        new.jwks_uri = found.jwks_uri;
        new.end_session_endpoint = found.end_session_endpoint;
    }
    let set = |slot: &mut Option<String>, flag: Option<String>| {
        if let Some(value) = flag {
            *slot = Some(value);
        }
    };
    set(&mut new.authorization_endpoint, authorization_endpoint);
    set(&mut new.token_endpoint, token_endpoint);
    set(&mut new.userinfo_endpoint, userinfo_endpoint);
    set(&mut new.jwks_uri, jwks_uri);
    set(&mut new.end_session_endpoint, end_session_endpoint);
    set(&mut new.button_label, button_label);
    if let Some(client_id) = client_id {
        new.client_id = client_id;
    }
    if let Some(method) = auth_method {
        new.token_auth_method = AuthMethod::parse(&method)
            .filter(|m| {
                matches!(
                    m,
                    AuthMethod::ClientSecretPost
                        | AuthMethod::ClientSecretBasic
                        | AuthMethod::PrivateKeyJwt
                )
            })
            .ok_or(
                "--auth-method must be client_secret_post, client_secret_basic or private_key_jwt",
            )?;
    }
    if let Some(scopes) = scopes {
        new.scopes = scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Some(text) = provisioning {
        new.provisioning_action = policy_action("provisioning", &text)?;
    }
    if let Some(text) = account_link {
        new.account_link_action = policy_action("account-link", &text)?;
    }
    if let Some(template) = username_template {
        new.username_template = template;
    }
    if let Some(text) = match_type {
        new.match_type = SubjectMatchType::parse(&text.to_ascii_uppercase())
            .filter(|m| *m != SubjectMatchType::CustomAttribute)
            .ok_or("--match-type must be username, email or username_or_email")?;
    }
    if let Some(claim) = groups_claim {
        if claim == "none" {
            new.groups_action = GroupsAction::None;
            new.groups_source_attribute = None;
        } else {
            new.groups_action = GroupsAction::Sync;
            new.groups_source_attribute = Some(claim);
        }
    }
    if let Some(end) = end_upstream_session {
        new.end_upstream_session = end;
    }
    Ok(new)
}

/// `allow_private`: the server's `allow_private_jwks_uri` (from `--config` and the
/// environment), which also lets a provider's endpoints and discovery reach loopback.
pub async fn run(
    command: IdpsCommand,
    backend: &Backend,
    allow_private: bool,
) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let (actor, now) = (Actor::cli(), SystemClock.now());
    match command {
        IdpsCommand::Create(flags) => {
            let name = flags.name.clone().ok_or("--name is required")?;
            let client_id = flags.client_id.clone().ok_or("--client-id is required")?;
            let new = apply_flags(NewIdp::oidc(&name, &client_id), *flags, allow_private).await?;
            let master = &backend.master;
            let idp = idps::create(store, master, &actor, new, allow_private, now)
                .await
                .map_err(err)?;
            print_json(&idps::to_json("", &idp));
        }
        IdpsCommand::Update { idp, flags } => {
            let before = idps::find(store, &idp).await.map_err(err)?;
            let new = apply_flags(NewIdp::from(&before), *flags, allow_private).await?;
            let master = &backend.master;
            let idp = idps::update(store, master, &actor, &idp, new, allow_private, now)
                .await
                .map_err(err)?;
            print_json(&idps::to_json("", &idp));
        }
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
