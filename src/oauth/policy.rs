//! Access policies and rules, Okta's model reduced to what a user needs: the first
//! policy (by priority) that applies to the client decides; inside it, the first rule
//! (by priority) that matches the grant type, every requested scope and the user or one
//! of their groups sets the token lifetimes, or denies. No applicable policy, or no
//! matching rule in it, denies (`access_denied`, as Okta answers).

use super::scope::Scope;
use crate::store::{Policy, PolicyRule, Status};

/// Every client: the value of a policy's client list that applies it to all.
pub const ALL_CLIENTS: &str = "ALL_CLIENTS";
/// Every user: the value of a rule's group list that matches anyone.
pub const EVERYONE: &str = "EVERYONE";
/// Any scope: the value of a rule's scope list that matches any request.
pub const ANY_SCOPE: &str = "*";

/// Token lifetimes, in seconds, a rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: i64,
    /// Absolute lifetime of a refresh-token family; `None`: unlimited.
    pub refresh_token: Option<i64>,
    /// A refresh token not used for this long expires; `None`: no limit.
    pub refresh_idle: Option<i64>,
}

/// Okta's `default` server: access tokens 1 hour, refresh tokens unlimited but expiring
/// when unused for 7 days.
pub const DEFAULT_LIFETIMES: Lifetimes = Lifetimes {
    access_token: 3600,
    refresh_token: None,
    refresh_idle: Some(7 * 24 * 3600),
};

/// Who asks, for what.
pub struct PolicyRequest<'a> {
    pub client_id: &'a str,
    /// The grant the tokens come from; a refresh is evaluated as the grant that
    /// started its family.
    pub grant_type: &'a str,
    pub scope: &'a Scope,
    /// The user and the ids of their groups; `None` for client_credentials, which only
    /// rules for everyone match.
    pub user: Option<(&'a str, &'a [String])>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow {
        rule_id: String,
        lifetimes: Lifetimes,
    },
    /// A matching rule denies.
    Deny { rule_id: String },
    /// No policy applies, or no rule of the policy that applies matches.
    NoMatch,
}

impl Decision {
    pub fn lifetimes(&self) -> Option<Lifetimes> {
        match self {
            Decision::Allow { lifetimes, .. } => Some(*lifetimes),
            _ => None,
        }
    }
}

/// `policies` in priority order; `rules` of all those policies in priority order.
pub fn evaluate(
    policies: &[Policy],
    rules: &[PolicyRule],
    request: &PolicyRequest<'_>,
) -> Decision {
    let Some(policy) = policies
        .iter()
        .filter(|p| p.status == Status::Active)
        .find(|p| {
            p.clients
                .iter()
                .any(|c| c == ALL_CLIENTS || c == request.client_id)
        })
    else {
        return Decision::NoMatch;
    };
    let rule = rules
        .iter()
        .filter(|r| r.policy_id == policy.id && r.status == Status::Active)
        .find(|r| rule_matches(r, request));
    match rule {
        None => Decision::NoMatch,
        Some(r) if r.action == "DENY" => Decision::Deny {
            rule_id: r.id.clone(),
        },
        Some(r) => Decision::Allow {
            rule_id: r.id.clone(),
            lifetimes: Lifetimes {
                access_token: r.access_token_ttl,
                refresh_token: r.refresh_token_ttl,
                refresh_idle: r.refresh_token_idle,
            },
        },
    }
}

fn rule_matches(rule: &PolicyRule, request: &PolicyRequest<'_>) -> bool {
    let grant = rule.grant_types.iter().any(|g| g == request.grant_type);
    let scopes = rule.scopes.iter().any(|s| s == ANY_SCOPE)
        || request
            .scope
            .iter()
            .all(|s| rule.scopes.iter().any(|r| r == s));
    let people = match request.user {
        // client_credentials has no user: only a rule for everyone applies to it, so a
        // rule narrowed to some people never admits every service client.
        None => rule.groups.iter().any(|g| g == EVERYONE),
        Some((user_id, groups)) => {
            rule.users.iter().any(|u| u == user_id)
                || rule
                    .groups
                    .iter()
                    .any(|g| g == EVERYONE || groups.contains(g))
        }
    };
    grant && scopes && people
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, priority: i64, clients: &[&str]) -> Policy {
        Policy {
            id: id.into(),
            server_id: "default".into(),
            name: id.into(),
            description: String::new(),
            priority,
            status: Status::Active,
            clients: clients.iter().map(|c| c.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn rule(
        id: &str,
        policy_id: &str,
        scopes: &[&str],
        groups: &[&str],
        action: &str,
        ttl: i64,
    ) -> PolicyRule {
        PolicyRule {
            id: id.into(),
            policy_id: policy_id.into(),
            name: id.into(),
            priority: 1,
            status: Status::Active,
            grant_types: vec!["authorization_code".into(), "client_credentials".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            users: vec![],
            groups: groups.iter().map(|g| g.to_string()).collect(),
            access_token_ttl: ttl,
            refresh_token_ttl: None,
            refresh_token_idle: Some(604800),
            action: action.into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn ask<'a>(
        client: &'a str,
        grant: &'a str,
        scope: &'a Scope,
        user: Option<(&'a str, &'a [String])>,
    ) -> PolicyRequest<'a> {
        PolicyRequest {
            client_id: client,
            grant_type: grant,
            scope,
            user,
        }
    }

    #[test]
    fn first_applicable_policy_and_first_matching_rule_decide() {
        let policies = [policy("p1", 1, &["0oaA"]), policy("p2", 2, &[ALL_CLIENTS])];
        let rules = [
            rule(
                "r1",
                "p1",
                &["openid", "api:read"],
                &[EVERYONE],
                "ALLOW",
                300,
            ),
            rule("r2", "p2", &[ANY_SCOPE], &[EVERYONE], "ALLOW", 3600),
        ];
        let scope = Scope::parse("openid api:read").unwrap();
        let groups: Vec<String> = vec![];
        let d = evaluate(
            &policies,
            &rules,
            &ask(
                "0oaA",
                "authorization_code",
                &scope,
                Some(("00u1", &groups)),
            ),
        );
        assert_eq!(d.lifetimes().unwrap().access_token, 300);
        let d = evaluate(
            &policies,
            &rules,
            &ask(
                "0oaB",
                "authorization_code",
                &scope,
                Some(("00u1", &groups)),
            ),
        );
        assert_eq!(d.lifetimes().unwrap().access_token, 3600);
        // p1 applies to 0oaA, but no rule of it allows api:write: the next policy is not tried.
        let wider = Scope::parse("openid api:write").unwrap();
        assert_eq!(
            evaluate(
                &policies,
                &rules,
                &ask(
                    "0oaA",
                    "authorization_code",
                    &wider,
                    Some(("00u1", &groups))
                )
            ),
            Decision::NoMatch
        );
    }

    #[test]
    fn grant_type_people_and_deny() {
        let policies = [policy("p", 1, &[ALL_CLIENTS])];
        let mut admins = rule("deny", "p", &[ANY_SCOPE], &["00gBlocked"], "DENY", 3600);
        admins.priority = 0;
        let rules = [
            admins,
            rule("allow", "p", &[ANY_SCOPE], &["00gStaff"], "ALLOW", 600),
        ];
        let scope = Scope::parse("openid").unwrap();
        let staff = vec!["00gStaff".to_string()];
        let blocked = vec!["00gBlocked".to_string(), "00gStaff".to_string()];
        let nobody: Vec<String> = vec![];
        assert!(matches!(
            evaluate(
                &policies,
                &rules,
                &ask("c", "authorization_code", &scope, Some(("u", &staff)))
            ),
            Decision::Allow { .. }
        ));
        assert!(matches!(
            evaluate(
                &policies,
                &rules,
                &ask("c", "authorization_code", &scope, Some(("u", &blocked)))
            ),
            Decision::Deny { .. }
        ));
        assert_eq!(
            evaluate(
                &policies,
                &rules,
                &ask("c", "authorization_code", &scope, Some(("u", &nobody)))
            ),
            Decision::NoMatch
        );
        assert_eq!(
            evaluate(
                &policies,
                &rules,
                &ask("c", "password", &scope, Some(("u", &staff)))
            ),
            Decision::NoMatch
        );
        // client_credentials has no user: rules narrowed to some people do not apply.
        assert_eq!(
            evaluate(
                &policies,
                &rules,
                &ask("c", "client_credentials", &scope, None)
            ),
            Decision::NoMatch
        );
        let everyone = [rule("all", "p", &[ANY_SCOPE], &[EVERYONE], "ALLOW", 600)];
        assert!(matches!(
            evaluate(
                &policies,
                &everyone,
                &ask("c", "client_credentials", &scope, None)
            ),
            Decision::Allow { .. }
        ));
        assert_eq!(
            evaluate(&[], &[], &ask("c", "client_credentials", &scope, None)),
            Decision::NoMatch
        );
    }

    #[test]
    fn inactive_policies_and_rules_are_skipped() {
        let mut p = policy("p", 1, &[ALL_CLIENTS]);
        p.status = Status::Inactive;
        let rules = [rule("r", "p", &[ANY_SCOPE], &[EVERYONE], "ALLOW", 300)];
        let scope = Scope::parse("openid").unwrap();
        assert_eq!(
            evaluate(&[p], &rules, &ask("c", "client_credentials", &scope, None)),
            Decision::NoMatch
        );
    }
}
