//! `gatehouse sign-on-policies ...`, `gatehouse zones ...` and `gatehouse
//! password-policy ...`: the global session policy, app authentication policies,
//! network zones and the password policy's lockout (`admin::sign_on`, `admin::zones`,
//! `admin::password_policy`), as the management API has them.

use clap::Subcommand;
use serde_json::{Value, json};

use super::print_json;
use crate::admin::password_policy::{self, PasswordPolicyChange};
use crate::admin::sign_on::{self, NewSignOnPolicy, NewSignOnRule};
use crate::admin::zones::{self, NewZone};
use crate::admin::{Actor, AdminError};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::store::{FactorMode, PolicyType, Possession, RuleAccess};

#[derive(Debug, Subcommand)]
pub enum PasswordPolicyCommand {
    /// Print the password policy (Okta's PASSWORD policy) as JSON.
    Show,
    /// Change the lockout settings and print the policy as JSON; what is not given is
    /// kept.
    Set {
        /// Wrong passwords in a row that lock the account (LOCKED_OUT); 0: no lockout.
        #[arg(long, value_name = "N")]
        max_attempts: Option<i64>,
        /// Minutes after which a locked account unlocks at its next sign-in; 0: only an
        /// admin (or a password reset) unlocks.
        #[arg(long, value_name = "MINUTES")]
        auto_unlock_minutes: Option<i64>,
        /// Whether the sign-in page and /api/v1/authn say an account is locked.
        #[arg(long, value_name = "BOOL")]
        show_lockout_failures: Option<bool>,
        /// Whether the person is told by e-mail when their account locks.
        #[arg(long, value_name = "BOOL")]
        notify_email: Option<bool>,
    },
}

/// `gatehouse password-policy ...`.
pub async fn run_password_policy(
    command: PasswordPolicyCommand,
    backend: &Backend,
) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let policy = match command {
        PasswordPolicyCommand::Show => password_policy::get(store).await.map_err(err)?,
        PasswordPolicyCommand::Set {
            max_attempts,
            auto_unlock_minutes,
            show_lockout_failures,
            notify_email,
        } => {
            let change = PasswordPolicyChange {
                max_attempts,
                auto_unlock_minutes,
                show_lockout_failures,
                notify_email,
                ..PasswordPolicyChange::default()
            };
            password_policy::update(store, &Actor::cli(), change, SystemClock.now())
                .await
                .map_err(err)?
        }
    };
    print_json(&password_policy::policy_json(&policy));
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum SignOnCommand {
    /// List the policies of one type with their rules, as JSON.
    List {
        /// OKTA_SIGN_ON (the global session policy) or ACCESS_POLICY (app authentication).
        #[arg(long = "type", value_name = "TYPE")]
        kind: String,
    },
    /// Create a policy and print it as JSON (before the default).
    Create {
        /// OKTA_SIGN_ON or ACCESS_POLICY.
        #[arg(long = "type", value_name = "TYPE")]
        kind: String,
        /// The policy's name.
        #[arg(long)]
        name: String,
        /// OKTA_SIGN_ON: a group (id or name) it applies to; repeat for more (none: everyone).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Delete a policy (not a default one) with its rules.
    Delete {
        /// The policy's id.
        #[arg(long)]
        policy: String,
    },
    /// Add a rule to a policy (before its catch-all) and print it as JSON.
    AddRule {
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's name.
        #[arg(long)]
        name: String,
        /// A group (id or name) the rule matches; repeat for more (none: everyone).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// A group whose members the rule never matches; repeatable.
        #[arg(long = "exclude-group")]
        exclude_groups: Vec<String>,
        /// Match only inside this network zone (id); repeatable.
        #[arg(long = "zone")]
        zones: Vec<String>,
        /// Match only outside this network zone (id); repeatable.
        #[arg(long = "outside-zone")]
        outside_zones: Vec<String>,
        /// Ask for two factor types.
        #[arg(long)]
        two_factors: bool,
        /// ACCESS_POLICY: one factor must be phishing-resistant (a passkey).
        #[arg(long)]
        phishing_resistant: bool,
        /// Ask the factors again after this many minutes (0: at every sign-in).
        #[arg(long, value_name = "MINUTES")]
        reauthenticate_minutes: Option<i64>,
        /// Refuse sign-in instead.
        #[arg(long)]
        deny: bool,
    },
    /// Delete a rule (not the catch-all).
    DeleteRule {
        /// The policy's id.
        #[arg(long)]
        policy: String,
        /// The rule's id.
        #[arg(long)]
        rule: String,
    },
    /// Make an app follow an app authentication policy.
    AssignApp {
        /// The app's client id.
        #[arg(long)]
        app: String,
        /// The ACCESS_POLICY's id.
        #[arg(long)]
        policy: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ZonesCommand {
    /// List the network zones as JSON.
    List,
    /// Create an IP zone and print it as JSON.
    Create {
        /// The zone's name (unique).
        #[arg(long)]
        name: String,
        /// A CIDR block (192.0.2.0/24) or range (192.0.2.1-192.0.2.9); repeatable.
        #[arg(long = "gateway", required = true)]
        gateways: Vec<String>,
    },
    /// Delete a zone no rule names.
    Delete {
        /// The zone's id.
        #[arg(long)]
        zone: String,
    },
}

fn policy_type(text: &str) -> Result<PolicyType, String> {
    PolicyType::parse(text).ok_or_else(|| "--type must be OKTA_SIGN_ON or ACCESS_POLICY".into())
}

pub async fn run(command: SignOnCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let (actor, now) = (Actor::cli(), SystemClock.now());
    match command {
        SignOnCommand::List { kind } => {
            let mut out = Vec::new();
            for policy in sign_on::list(store, policy_type(&kind)?)
                .await
                .map_err(err)?
            {
                let rules = sign_on::rules_of(store, &policy.id).await.map_err(err)?;
                let mut value = sign_on::policy_json(&policy);
                value["_embedded"] = json!({
                    "rules": rules.iter().map(|r| sign_on::rule_json(&policy, r)).collect::<Vec<_>>()
                });
                out.push(value);
            }
            print_json(&Value::Array(out));
        }
        SignOnCommand::Create { kind, name, groups } => {
            let new = NewSignOnPolicy {
                policy_type: policy_type(&kind)?,
                name,
                description: String::new(),
                priority: None,
                groups,
            };
            let policy = sign_on::create(store, &actor, new, now)
                .await
                .map_err(err)?;
            print_json(&sign_on::policy_json(&policy));
        }
        SignOnCommand::Delete { policy } => {
            sign_on::delete(store, &actor, &policy, now)
                .await
                .map_err(err)?;
        }
        SignOnCommand::AddRule {
            policy,
            name,
            groups,
            exclude_groups,
            zones,
            outside_zones,
            two_factors,
            phishing_resistant,
            reauthenticate_minutes,
            deny,
        } => {
            let found = sign_on::find(store, &policy).await.map_err(err)?;
            let new = NewSignOnRule {
                name,
                priority: None,
                users_include: vec![],
                users_exclude: vec![],
                groups_include: groups,
                groups_exclude: exclude_groups,
                zones_include: zones,
                zones_exclude: outside_zones,
                access: if deny {
                    RuleAccess::Deny
                } else {
                    RuleAccess::Allow
                },
                factor_mode: if two_factors {
                    FactorMode::Two
                } else {
                    FactorMode::One
                },
                possession: if phishing_resistant {
                    Possession::PhishingResistant
                } else {
                    Possession::Any
                },
                reauthenticate_in: reauthenticate_minutes.map(|m| m.saturating_mul(60)),
            };
            let rule = sign_on::create_rule(store, &actor, &policy, new, now)
                .await
                .map_err(err)?;
            print_json(&sign_on::rule_json(&found, &rule));
        }
        SignOnCommand::DeleteRule { policy, rule } => {
            sign_on::delete_rule(store, &actor, &policy, &rule, now)
                .await
                .map_err(err)?;
        }
        SignOnCommand::AssignApp { app, policy } => {
            sign_on::assign_app(store, &actor, &app, &policy, now)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

pub async fn run_zones(command: ZonesCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: AdminError| e.to_string();
    let (actor, now) = (Actor::cli(), SystemClock.now());
    match command {
        ZonesCommand::List => {
            let list = store.list_zones().await.map_err(|e| e.to_string())?;
            print_json(&Value::Array(list.iter().map(zones::zone_json).collect()));
        }
        ZonesCommand::Create { name, gateways } => {
            let zone = zones::create(store, &actor, NewZone { name, gateways }, now)
                .await
                .map_err(err)?;
            print_json(&zones::zone_json(&zone));
        }
        ZonesCommand::Delete { zone } => {
            zones::delete(store, &actor, &zone, now)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}
