//! Okta's IdP discovery ("routing rules"), evaluated without I/O: which identity
//! provider a typed username goes to, or Gatehouse's own password sign-in.
//!
//! The org has one IDP_DISCOVERY policy. If it is active, its first active rule (system
//! rule last, then by priority) whose conditions all match decides:
//! - `userIdentifier.patterns` (type `IDENTIFIER`): none listed, any username (or none
//!   typed); otherwise one pattern must match the typed username, compared without
//!   regard to case. `SUFFIX` matches the domain: `corp.example` matches
//!   `ann@corp.example` and `ann@eu.corp.example`, never `ann@evilcorp.example`;
//!   `EQUALS` the whole username; `STARTS_WITH` and `CONTAINS` as named;
//! - network zones (`network.include`/`exclude`, as the sign-on rules);
//! - apps (`app.include`/`exclude`: client ids; none included, any app).
//!
//! The rule's providers are those of `actions.idp.providers` that can be used now:
//! `OKTA` (password), or an identity provider that exists and is active. A rule whose
//! providers are all unusable (a provider deactivated or deleted) is passed over, so a
//! routing mistake never strands anyone: the catch-all rule sends them to a password.

use std::net::IpAddr;

use super::sign_on::network_match;
use crate::store::{
    IdentityProvider, IdpDiscoveryPolicy, IdpDiscoveryRule, NetworkZone, PatternMatchType,
    ROUTE_OKTA, Status,
};

/// The org's routing settings: the policy, its rules in evaluation order, every
/// provider and the network zones rules name.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub policies: Vec<IdpDiscoveryPolicy>,
    /// In evaluation order (system last, then priority), as the store lists them.
    pub rules: Vec<IdpDiscoveryRule>,
    pub providers: Vec<IdentityProvider>,
    pub zones: Vec<NetworkZone>,
}

/// Who is signing in: what they typed (none yet: `None`), from where, into which app.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub identifier: Option<&'a str>,
    pub ip: Option<IpAddr>,
    pub client_id: Option<&'a str>,
}

/// Where a sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Gatehouse's own sign-in (password, passkey).
    Password,
    /// An active upstream provider.
    Provider(Box<IdentityProvider>),
}

/// The decision and the rule that made it (`None`: no rule matched, or the policy is
/// inactive: a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub rule_id: Option<String>,
    /// In the rule's order; never empty.
    pub destinations: Vec<Destination>,
}

impl Route {
    /// The provider to send the person to at once: the rule names exactly one, and it
    /// is an upstream provider.
    pub fn provider(&self) -> Option<&IdentityProvider> {
        match self.destinations.as_slice() {
            [Destination::Provider(idp)] => Some(idp),
            _ => None,
        }
    }
}

impl Routing {
    /// The active providers, for the sign-in page's buttons.
    pub fn active_providers(&self) -> impl Iterator<Item = &IdentityProvider> {
        self.providers.iter().filter(|p| p.is_active())
    }

    /// The provider with this id if it exists and is active (`idp=` on /authorize).
    pub fn active_provider(&self, id: &str) -> Option<&IdentityProvider> {
        self.active_providers().find(|p| p.id == id)
    }

    /// Whether any active rule of an active policy can send someone to an upstream
    /// provider (an active one of the rule's type): IdP discovery is then on, and the
    /// sign-in page asks for the username first. Only the catch-all to the password,
    /// or rules naming no usable provider: off.
    pub fn routes_away(&self) -> bool {
        self.policies
            .iter()
            .filter(|p| p.status == Status::Active)
            .any(|policy| {
                self.rules
                    .iter()
                    .filter(|r| r.policy_id == policy.id && r.status == Status::Active)
                    .any(|rule| {
                        self.destinations(rule)
                            .iter()
                            .any(|d| matches!(d, Destination::Provider(_)))
                    })
            })
    }

    pub fn route(&self, lookup: &Lookup<'_>) -> Route {
        let password = || Route {
            rule_id: None,
            destinations: vec![Destination::Password],
        };
        for policy in self.policies.iter().filter(|p| p.status == Status::Active) {
            let rules = self
                .rules
                .iter()
                .filter(|r| r.policy_id == policy.id && r.status == Status::Active);
            for rule in rules {
                if !self.matches(rule, lookup) {
                    continue;
                }
                let destinations = self.destinations(rule);
                if !destinations.is_empty() {
                    return Route {
                        rule_id: Some(rule.id.clone()),
                        destinations,
                    };
                }
            }
        }
        password()
    }

    fn matches(&self, rule: &IdpDiscoveryRule, lookup: &Lookup<'_>) -> bool {
        let identifier_ok = rule.patterns.is_empty()
            || lookup.identifier.is_some_and(|typed| {
                rule.patterns
                    .iter()
                    .any(|p| pattern_matches(p.match_type, &p.value, typed))
            });
        let app_ok = match lookup.client_id {
            Some(app) => {
                (rule.apps_include.is_empty() || rule.apps_include.iter().any(|a| a == app))
                    && !rule.apps_exclude.iter().any(|a| a == app)
            }
            None => rule.apps_include.is_empty(),
        };
        identifier_ok
            && app_ok
            && network_match(
                &self.zones,
                &rule.zones_include,
                &rule.zones_exclude,
                lookup.ip,
            )
    }

    fn destinations(&self, rule: &IdpDiscoveryRule) -> Vec<Destination> {
        rule.providers
            .iter()
            .filter_map(|p| {
                if p.provider_type == ROUTE_OKTA {
                    return Some(Destination::Password);
                }
                let idp = self.active_provider(p.id.as_deref()?)?;
                (idp.idp_type.as_str() == p.provider_type)
                    .then(|| Destination::Provider(Box::new(idp.clone())))
            })
            .collect()
    }
}

/// Does the typed username match one pattern? Without regard to case; `EXPRESSION`
/// (Okta's expression language) is not evaluated and matches nothing (the API refuses
/// to store it).
pub fn pattern_matches(kind: PatternMatchType, value: &str, typed: &str) -> bool {
    let typed = typed.trim().to_lowercase();
    let value = value.trim().to_lowercase();
    if value.is_empty() {
        return false;
    }
    match kind {
        PatternMatchType::Equals => typed == value,
        PatternMatchType::StartsWith => typed.starts_with(&value),
        PatternMatchType::Contains => typed.contains(&value),
        PatternMatchType::Suffix => {
            let domain = value.trim_start_matches('@').trim_start_matches('.');
            let Some((_, typed_domain)) = typed.rsplit_once('@') else {
                return false;
            };
            typed_domain == domain
                || typed_domain
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.ends_with('.'))
        }
        PatternMatchType::Expression => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{IdentifierPattern, IdentifierType, RouteProvider};

    fn idp(id: &str, status: Status) -> IdentityProvider {
        IdentityProvider::example(id, status)
    }

    fn rule(
        id: &str,
        priority: i64,
        patterns: &[(PatternMatchType, &str)],
        to: &[(&str, Option<&str>)],
    ) -> IdpDiscoveryRule {
        IdpDiscoveryRule {
            id: id.into(),
            policy_id: "00p".into(),
            name: id.into(),
            priority,
            status: Status::Active,
            system: false,
            identifier_type: IdentifierType::Identifier,
            identifier_attribute: None,
            patterns: patterns
                .iter()
                .map(|(k, v)| IdentifierPattern {
                    match_type: *k,
                    value: (*v).into(),
                })
                .collect(),
            zones_include: vec![],
            zones_exclude: vec![],
            apps_include: vec![],
            apps_exclude: vec![],
            providers: to
                .iter()
                .map(|(t, id)| RouteProvider {
                    provider_type: (*t).into(),
                    id: id.map(Into::into),
                })
                .collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn routing() -> Routing {
        let mut catch_all = rule("0prDefault", 1, &[], &[("OKTA", None)]);
        catch_all.system = true;
        let mut office = rule(
            "0prOffice",
            3,
            &[(PatternMatchType::Suffix, "partner.example")],
            &[("OIDC", Some("0oaPartner"))],
        );
        office.zones_include = vec!["nzoOffice".into()];
        let mut app_only = rule(
            "0prApp",
            4,
            &[(PatternMatchType::StartsWith, "svc-")],
            &[("OIDC", Some("0oaCorp"))],
        );
        app_only.apps_include = vec!["0oaApp".into()];
        Routing {
            policies: vec![IdpDiscoveryPolicy {
                id: "00p".into(),
                name: "p".into(),
                description: String::new(),
                priority: 1,
                status: Status::Active,
                system: true,
                created_at: 0,
                updated_at: 0,
            }],
            rules: vec![
                rule(
                    "0prCorp",
                    1,
                    &[
                        (PatternMatchType::Suffix, "corp.example"),
                        (PatternMatchType::Equals, "CEO@Elsewhere.example"),
                    ],
                    &[("OIDC", Some("0oaCorp"))],
                ),
                rule(
                    "0prGone",
                    2,
                    &[(PatternMatchType::Contains, "gone")],
                    &[("OIDC", Some("0oaGone")), ("OIDC", Some("0oaOff"))],
                ),
                office,
                app_only,
                catch_all,
            ],
            providers: vec![
                idp("0oaCorp", Status::Active),
                idp("0oaOff", Status::Inactive),
                idp("0oaPartner", Status::Active),
            ],
            zones: vec![NetworkZone {
                id: "nzoOffice".into(),
                name: "Office".into(),
                status: Status::Active,
                gateways: vec!["192.0.2.0/24".into()],
                created_at: 0,
                updated_at: 0,
            }],
        }
    }

    fn to(
        typed: Option<&str>,
        ip: Option<&str>,
        app: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let route = routing().route(&Lookup {
            identifier: typed,
            ip: ip.map(|ip| ip.parse().unwrap()),
            client_id: app,
        });
        let provider = route.provider().map(|p| p.id.clone());
        (route.rule_id, provider)
    }

    #[test]
    fn the_routing_matrix() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            to(Some("ann@corp.example"), None, None),
            (some("0prCorp"), some("0oaCorp"))
        );
        assert_eq!(
            to(Some("Ann@EU.Corp.Example"), None, None),
            (some("0prCorp"), some("0oaCorp"))
        );
        assert_eq!(
            to(Some("ceo@elsewhere.example"), None, None),
            (some("0prCorp"), some("0oaCorp"))
        );
        // A look-alike domain is not a subdomain; a domain without `@` is not a username.
        assert_eq!(
            to(Some("ann@evilcorp.example"), None, None),
            (some("0prDefault"), None)
        );
        assert_eq!(
            to(Some("corp.example"), None, None),
            (some("0prDefault"), None)
        );
        // Every provider of the rule unusable: the rule is passed over.
        assert_eq!(
            to(Some("gone@x.example"), None, None),
            (some("0prDefault"), None)
        );
        // The zone condition.
        assert_eq!(
            to(Some("bo@partner.example"), Some("192.0.2.7"), None),
            (some("0prOffice"), some("0oaPartner"))
        );
        assert_eq!(
            to(Some("bo@partner.example"), Some("198.51.100.1"), None),
            (some("0prDefault"), None)
        );
        assert_eq!(
            to(Some("bo@partner.example"), None, None),
            (some("0prDefault"), None)
        );
        // The app condition.
        assert_eq!(
            to(Some("svc-build"), None, Some("0oaApp")),
            (some("0prApp"), some("0oaCorp"))
        );
        assert_eq!(
            to(Some("svc-build"), None, Some("0oaOther")),
            (some("0prDefault"), None)
        );
        assert_eq!(
            to(Some("svc-build"), None, None),
            (some("0prDefault"), None)
        );
        // Nothing typed yet: only rules without patterns.
        assert_eq!(to(None, None, None), (some("0prDefault"), None));
    }

    #[test]
    fn discovery_is_on_only_while_a_rule_can_route_to_an_active_provider() {
        let mut r = routing();
        assert!(r.routes_away());
        // Only the catch-all to the password left: the sign-in page asks for both.
        let catch_all: Vec<_> = r.rules.iter().filter(|x| x.system).cloned().collect();
        r.rules = catch_all;
        assert!(!r.routes_away());
        // Rules naming only deactivated providers route nowhere new either.
        let mut r = routing();
        for p in &mut r.providers {
            p.status = Status::Inactive;
        }
        assert!(!r.routes_away());
        let mut r = routing();
        r.policies[0].status = Status::Inactive;
        assert!(!r.routes_away());
    }

    #[test]
    fn an_inactive_policy_or_rule_routes_to_a_password() {
        let mut r = routing();
        r.rules[0].status = Status::Inactive;
        let lookup = Lookup {
            identifier: Some("ann@corp.example"),
            ip: None,
            client_id: None,
        };
        assert_eq!(r.route(&lookup).rule_id.as_deref(), Some("0prDefault"));
        r.policies[0].status = Status::Inactive;
        let route = r.route(&lookup);
        assert_eq!(route.rule_id, None);
        assert_eq!(route.destinations, vec![Destination::Password]);
    }

    #[test]
    fn patterns() {
        use PatternMatchType::*;
        assert!(pattern_matches(Suffix, "@corp.example", "a@corp.example"));
        assert!(pattern_matches(Suffix, ".corp.example", "a@x.corp.example"));
        assert!(!pattern_matches(
            Suffix,
            "corp.example",
            "a@corp.example.evil"
        ));
        assert!(pattern_matches(Equals, " A@B.c ", "a@b.C"));
        assert!(!pattern_matches(Equals, "a@b.c", "a@b.cc"));
        assert!(pattern_matches(StartsWith, "adm", "Admin"));
        assert!(pattern_matches(Contains, "MIN", "admin"));
        assert!(!pattern_matches(Contains, "", "admin"));
        assert!(!pattern_matches(Expression, "true", "admin"));
    }
}
