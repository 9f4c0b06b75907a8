//! Okta's policies for signing in, evaluated without I/O: the global session policy
//! (`OKTA_SIGN_ON`) and the app's authentication policy (`ACCESS_POLICY`) each choose
//! a rule; together with the client's `acr_values` they say what the person must have
//! proven — how many factor types, of what possession, how recently — or that they may
//! not sign in at all.
//!
//! A policy applies when it is active and (OKTA_SIGN_ON) lists one of the person's
//! groups or none. Inside it, the first active rule (system rules last, then by
//! priority) whose people and network conditions match decides; a policy with no
//! matching rule passes to the next. An app follows the ACCESS_POLICY assigned to it,
//! else the system default. Where both policies ask something, the stronger ask wins.

use std::net::IpAddr;

use crate::store::{
    FactorMode, NetworkZone, PolicyType, Possession, RuleAccess, SignOnPolicy, SignOnRule, Status,
};

/// Okta's `acr_values` (Okta "Step-up authentication using ACR values") and the two of
/// OpenID's phishing-resistant profile that Okta accepts.
pub const ACR_1FA_ANY: &str = "urn:okta:loa:1fa:any";
pub const ACR_1FA_PWD: &str = "urn:okta:loa:1fa:pwd";
pub const ACR_2FA_ANY: &str = "urn:okta:loa:2fa:any";
pub const ACR_2FA_IFPOSSIBLE: &str = "urn:okta:loa:2fa:any:ifpossible";
pub const ACR_PHR: &str = "phr";
pub const ACR_PHRH: &str = "phrh";

/// Every `acr_values` value Gatehouse honours (discovery's `acr_values_supported`).
pub const ACR_VALUES: [&str; 6] = [
    ACR_1FA_ANY,
    ACR_1FA_PWD,
    ACR_2FA_ANY,
    ACR_2FA_IFPOSSIBLE,
    ACR_PHR,
    ACR_PHRH,
];

/// What the person must have proven in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needed {
    /// 1 or 2 factor types.
    pub factors: u8,
    /// One factor must be at least this strong.
    pub possession: Possession,
    /// A password must be among the factors (`urn:okta:loa:1fa:pwd`).
    pub password: bool,
    /// Seconds within which the factors must have been proven; `None`: any time in
    /// the session's life.
    pub max_age: Option<i64>,
}

impl Needed {
    /// A password, once per session: what the system defaults ask.
    pub const PASSWORD: Needed = Needed {
        factors: 1,
        possession: Possession::Any,
        password: false,
        max_age: None,
    };

    /// Both asks together: the more factors, the stronger possession, the shorter age.
    pub fn and(self, other: Needed) -> Needed {
        Needed {
            factors: self.factors.max(other.factors),
            possession: strongest(self.possession, other.possession),
            password: self.password || other.password,
            max_age: match (self.max_age, other.max_age) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    fn of_rule(rule: &SignOnRule) -> Needed {
        Needed {
            factors: match rule.factor_mode {
                FactorMode::One => 1,
                FactorMode::Two => 2,
            },
            possession: rule.possession,
            password: false,
            max_age: rule.reauthenticate_in,
        }
    }
}

fn rank(p: Possession) -> u8 {
    match p {
        Possession::Any => 0,
        Possession::PhishingResistant => 1,
        Possession::HardwareProtected => 2,
    }
}

fn strongest(a: Possession, b: Possession) -> Possession {
    if rank(a) >= rank(b) { a } else { b }
}

/// The decision of both policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow(Needed),
    /// A matching rule denies, or no rule of any applicable policy matches.
    Deny {
        rule_id: Option<String>,
    },
}

/// The org's sign-on settings: every policy, rule and zone, and the apps that follow
/// a policy other than the default (client_id, policy_id).
#[derive(Debug, Clone, Default)]
pub struct SignOnSettings {
    pub policies: Vec<SignOnPolicy>,
    /// In evaluation order (system last, then priority).
    pub rules: Vec<SignOnRule>,
    pub zones: Vec<NetworkZone>,
    pub apps: Vec<(String, String)>,
}

/// Who signs in, from where, into which app.
pub struct Attempt<'a> {
    pub user_id: &'a str,
    pub group_ids: &'a [String],
    /// The browser's address; `None` matches no zone.
    pub ip: Option<IpAddr>,
    pub client_id: &'a str,
}

impl SignOnSettings {
    /// The global session policy's rule and the app policy's rule, combined.
    pub fn evaluate(&self, attempt: &Attempt<'_>) -> Verdict {
        let session = self
            .policies
            .iter()
            .filter(|p| p.policy_type == PolicyType::SignOn && p.status == Status::Active)
            .filter(|p| {
                p.groups.is_empty() || p.groups.iter().any(|g| attempt.group_ids.contains(g))
            })
            .find_map(|p| self.first_rule(&p.id, attempt));
        let app = self.first_rule(&self.app_policy(attempt.client_id), attempt);
        match (session, app) {
            (Some(s), Some(a)) => match (s.access, a.access) {
                (RuleAccess::Allow, RuleAccess::Allow) => {
                    Verdict::Allow(Needed::of_rule(s).and(Needed::of_rule(a)))
                }
                (RuleAccess::Deny, _) => Verdict::Deny {
                    rule_id: Some(s.id.clone()),
                },
                (_, RuleAccess::Deny) => Verdict::Deny {
                    rule_id: Some(a.id.clone()),
                },
            },
            _ => Verdict::Deny { rule_id: None },
        }
    }

    /// The ACCESS_POLICY the app follows: its own when assigned and active, else the
    /// system default.
    pub fn app_policy(&self, client_id: &str) -> String {
        let assigned = self
            .apps
            .iter()
            .find(|(c, _)| c == client_id)
            .and_then(|(_, p)| self.policies.iter().find(|x| &x.id == p))
            .filter(|p| p.status == Status::Active);
        assigned
            .or_else(|| {
                self.policies
                    .iter()
                    .find(|p| p.policy_type == PolicyType::Access && p.system)
            })
            .map(|p| p.id.clone())
            .unwrap_or_default()
    }

    fn first_rule(&self, policy_id: &str, attempt: &Attempt<'_>) -> Option<&SignOnRule> {
        self.rules
            .iter()
            .filter(|r| r.policy_id == policy_id && r.status == Status::Active)
            .find(|r| self.people_match(r, attempt) && self.network_match(r, attempt.ip))
    }

    fn people_match(&self, rule: &SignOnRule, attempt: &Attempt<'_>) -> bool {
        let in_group = |list: &[String]| list.iter().any(|g| attempt.group_ids.contains(g));
        if rule.users_exclude.iter().any(|u| u == attempt.user_id) || in_group(&rule.groups_exclude)
        {
            return false;
        }
        let everyone = rule.users_include.is_empty() && rule.groups_include.is_empty();
        everyone
            || rule.users_include.iter().any(|u| u == attempt.user_id)
            || in_group(&rule.groups_include)
    }

    /// Okta's network condition: in one of the included zones (none: anywhere) and in
    /// none of the excluded ones. Only active zones count.
    fn network_match(&self, rule: &SignOnRule, ip: Option<IpAddr>) -> bool {
        network_match(&self.zones, &rule.zones_include, &rule.zones_exclude, ip)
    }
}

/// Okta's network condition of a rule: in one of the `include`d zones (none: anywhere)
/// and in none of the `exclude`d ones. Only active zones count; no address is in no
/// zone.
pub fn network_match(
    zones: &[NetworkZone],
    include: &[String],
    exclude: &[String],
    ip: Option<IpAddr>,
) -> bool {
    let inside = |ids: &[String]| {
        ip.is_some_and(|ip| {
            zones
                .iter()
                .filter(|z| z.status == Status::Active && ids.contains(&z.id))
                .any(|z| {
                    z.gateways
                        .iter()
                        .any(|g| Gateway::parse(g).is_some_and(|g| g.contains(ip)))
                })
        })
    };
    (include.is_empty() || inside(include)) && !inside(exclude)
}

/// One gateway of an IP zone: a CIDR block (`10.0.0.0/8`, `2001:db8::/32`), a range
/// (`192.0.2.10-192.0.2.20`, both ends included) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    Cidr(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

impl Gateway {
    pub fn parse(text: &str) -> Option<Gateway> {
        if let Some((addr, bits)) = text.split_once('/') {
            let addr: IpAddr = addr.trim().parse().ok()?;
            let bits: u8 = bits.trim().parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some(Gateway::Cidr(addr, bits));
        }
        if let Some((first, last)) = text.split_once('-') {
            let first: IpAddr = first.trim().parse().ok()?;
            let last: IpAddr = last.trim().parse().ok()?;
            let same_family = first.is_ipv4() == last.is_ipv4();
            return (same_family && to_bits(first) <= to_bits(last))
                .then_some(Gateway::Range(first, last));
        }
        let addr: IpAddr = text.trim().parse().ok()?;
        Some(Gateway::Range(addr, addr))
    }

    /// Okta's gateway `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Gateway::Cidr(..) => "CIDR",
            Gateway::Range(..) => "RANGE",
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match *self {
            Gateway::Cidr(net, bits) => {
                let net = canonical(net);
                if net.is_ipv4() != ip.is_ipv4() {
                    return false;
                }
                let width = if net.is_ipv4() { 32 } else { 128 };
                let shift = width - u32::from(bits);
                let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
                to_bits(net) & mask == to_bits(ip) & mask
            }
            Gateway::Range(first, last) => {
                let (first, last) = (canonical(first), canonical(last));
                first.is_ipv4() == ip.is_ipv4()
                    && (to_bits(first)..=to_bits(last)).contains(&to_bits(ip))
            }
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack listener
/// reports) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn to_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// What `acr_values` asks (OpenID Connect Core §3.1.2.1: in order of preference):
/// the first value Gatehouse knows; none known, nothing more is asked.
/// `has_second_factor` resolves `…:2fa:any:ifpossible`: two factors only when the
/// person has a second one to give.
pub fn acr_needed(acr_values: &[String], has_second_factor: bool) -> Option<(&str, Needed)> {
    let value = acr_values
        .iter()
        .map(String::as_str)
        .find(|v| ACR_VALUES.contains(v))?;
    let mut needed = Needed::PASSWORD;
    match value {
        ACR_1FA_PWD => needed.password = true,
        ACR_2FA_ANY => needed.factors = 2,
        ACR_2FA_IFPOSSIBLE if has_second_factor => needed.factors = 2,
        ACR_PHR => needed.possession = Possession::PhishingResistant,
        ACR_PHRH => needed.possession = Possession::HardwareProtected,
        _ => {}
    }
    Some((value, needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, kind: PolicyType, groups: &[&str], system: bool) -> SignOnPolicy {
        SignOnPolicy {
            id: id.into(),
            policy_type: kind,
            name: id.into(),
            description: String::new(),
            priority: 1,
            status: Status::Active,
            system,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn rule(id: &str, policy_id: &str, mode: FactorMode, system: bool) -> SignOnRule {
        SignOnRule {
            id: id.into(),
            policy_id: policy_id.into(),
            name: id.into(),
            priority: 1,
            status: Status::Active,
            system,
            users_include: vec![],
            users_exclude: vec![],
            groups_include: vec![],
            groups_exclude: vec![],
            zones_include: vec![],
            zones_exclude: vec![],
            access: RuleAccess::Allow,
            factor_mode: mode,
            possession: Possession::Any,
            reauthenticate_in: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// The defaults of migration 35, an app policy asking staff for two factors
    /// outside the office, and a session policy denying contractors.
    fn settings() -> SignOnSettings {
        let mut staff_2fa = rule("r-staff", "p-app", FactorMode::Two, false);
        staff_2fa.groups_include = vec!["g-staff".into()];
        staff_2fa.zones_exclude = vec!["z-office".into()];
        staff_2fa.reauthenticate_in = Some(3600);
        let mut deny = rule("r-deny", "p-contractors", FactorMode::One, false);
        deny.access = RuleAccess::Deny;
        SignOnSettings {
            policies: vec![
                policy(
                    "p-contractors",
                    PolicyType::SignOn,
                    &["g-contractors"],
                    false,
                ),
                policy("p-app", PolicyType::Access, &[], false),
                policy("p-signon", PolicyType::SignOn, &[], true),
                policy("p-access", PolicyType::Access, &[], true),
            ],
            rules: vec![
                deny,
                staff_2fa,
                rule("r-signon", "p-signon", FactorMode::One, true),
                rule("r-access", "p-access", FactorMode::One, true),
                rule("r-app-rest", "p-app", FactorMode::One, true),
            ],
            zones: vec![NetworkZone {
                id: "z-office".into(),
                name: "Office".into(),
                status: Status::Active,
                gateways: vec!["192.0.2.0/24".into(), "2001:db8::10-2001:db8::20".into()],
                created_at: 0,
                updated_at: 0,
            }],
            apps: vec![("app".into(), "p-app".into())],
        }
    }

    fn attempt<'a>(groups: &'a [String], ip: &str, client: &'a str) -> Attempt<'a> {
        Attempt {
            user_id: "u1",
            group_ids: groups,
            ip: ip.parse().ok(),
            client_id: client,
        }
    }

    #[test]
    fn the_policy_matrix() {
        let s = settings();
        let staff = ["g-staff".to_string()];
        let two = |age| {
            Verdict::Allow(Needed {
                factors: 2,
                max_age: age,
                ..Needed::PASSWORD
            })
        };
        // Staff outside the office: two factors, asked again after an hour.
        assert_eq!(
            s.evaluate(&attempt(&staff, "198.51.100.7", "app")),
            two(Some(3600))
        );
        // In the office (IPv4, IPv4-mapped, an IPv6 range): the password.
        for ip in ["192.0.2.9", "::ffff:192.0.2.9", "2001:db8::15"] {
            assert_eq!(
                s.evaluate(&attempt(&staff, ip, "app")),
                Verdict::Allow(Needed::PASSWORD),
                "{ip}"
            );
        }
        // Not staff, or another app (the default policy): the password.
        assert_eq!(
            s.evaluate(&attempt(&[], "198.51.100.7", "app")),
            Verdict::Allow(Needed::PASSWORD)
        );
        assert_eq!(
            s.evaluate(&attempt(&staff, "198.51.100.7", "other")),
            Verdict::Allow(Needed::PASSWORD)
        );
        // No known address is outside every zone: the rule that excludes the office applies.
        assert_eq!(s.evaluate(&attempt(&staff, "", "app")), two(Some(3600)));
        // The contractors' session policy denies, whatever the app.
        let contractors = ["g-contractors".to_string()];
        assert_eq!(
            s.evaluate(&attempt(&contractors, "192.0.2.9", "other")),
            Verdict::Deny {
                rule_id: Some("r-deny".into())
            }
        );
        // An inactive app policy: the app follows the default.
        let mut inactive = s.clone();
        inactive.policies[1].status = Status::Inactive;
        assert_eq!(
            inactive.evaluate(&attempt(&staff, "198.51.100.7", "app")),
            Verdict::Allow(Needed::PASSWORD)
        );
        // An excluded user is not matched by the group rule.
        let mut excluded = s.clone();
        excluded.rules[1].users_exclude = vec!["u1".into()];
        assert_eq!(
            excluded.evaluate(&attempt(&staff, "198.51.100.7", "app")),
            Verdict::Allow(Needed::PASSWORD)
        );
        // No rule matches in any session policy: denied.
        let mut none = s.clone();
        none.rules.retain(|r| r.policy_id != "p-signon");
        assert_eq!(
            none.evaluate(&attempt(&[], "192.0.2.9", "app")),
            Verdict::Deny { rule_id: None }
        );
    }

    #[test]
    fn needs_combine_to_the_stronger() {
        let a = Needed {
            factors: 2,
            max_age: Some(600),
            ..Needed::PASSWORD
        };
        let b = Needed {
            possession: Possession::PhishingResistant,
            password: true,
            max_age: Some(60),
            ..Needed::PASSWORD
        };
        assert_eq!(
            a.and(b),
            Needed {
                factors: 2,
                possession: Possession::PhishingResistant,
                password: true,
                max_age: Some(60)
            }
        );
        assert_eq!(Needed::PASSWORD.and(a), a);
    }

    #[test]
    fn acr_values_in_order_of_preference() {
        let values = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(acr_needed(&[], true), None);
        assert_eq!(acr_needed(&values("urn:other gold"), true), None);
        let preferred = values("gold urn:okta:loa:2fa:any phr");
        let (v, n) = acr_needed(&preferred, false).unwrap();
        assert_eq!(
            (v, n.factors, n.possession),
            (ACR_2FA_ANY, 2, Possession::Any)
        );
        assert_eq!(
            acr_needed(&values(ACR_2FA_IFPOSSIBLE), false)
                .unwrap()
                .1
                .factors,
            1
        );
        assert_eq!(
            acr_needed(&values(ACR_2FA_IFPOSSIBLE), true)
                .unwrap()
                .1
                .factors,
            2
        );
        assert!(acr_needed(&values(ACR_1FA_PWD), false).unwrap().1.password);
        assert_eq!(
            acr_needed(&values("phrh"), false).unwrap().1.possession,
            Possession::HardwareProtected
        );
    }

    #[test]
    fn gateways() {
        assert_eq!(Gateway::parse("10.0.0.0/33"), None);
        assert_eq!(Gateway::parse("10.0.0.9-10.0.0.1"), None);
        assert_eq!(Gateway::parse("10.0.0.1-2001:db8::1"), None);
        assert_eq!(Gateway::parse("not an address"), None);
        let any = Gateway::parse("0.0.0.0/0").unwrap();
        assert!(any.contains("203.0.113.1".parse().unwrap()));
        assert!(!any.contains("2001:db8::1".parse().unwrap()));
        let one = Gateway::parse("203.0.113.5").unwrap();
        assert_eq!(one.kind(), "RANGE");
        assert!(one.contains("203.0.113.5".parse().unwrap()));
        assert!(!one.contains("203.0.113.6".parse().unwrap()));
        let v6 = Gateway::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    }
}
