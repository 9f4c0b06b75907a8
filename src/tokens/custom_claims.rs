//! Custom claims per authorization server, as Okta has them: a name, the token it goes
//! in (`IDENTITY`: ID token and userinfo; `RESOURCE`: access token), the scopes it comes
//! with, and a value: an expression over the user (`user.email`), a quoted literal, or
//! the user's groups through a filter (`GROUPS` with `STARTS_WITH`, `EQUALS`,
//! `CONTAINS` or `REGEX`). A claim whose attribute the user lacks is left out.

use serde_json::{Map, Value, json};

use crate::store::{ClaimDef, Status, User};

/// Claims the server sets itself; a custom claim may not take their names.
pub const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "amr",
    "acr",
    "azp",
    "sid",
    "ver",
    "cid",
    "uid",
    "scp",
    "scope",
    "client_id",
    "cnf",
    "idp",
];

/// Okta sends at most 100 groups in a claim.
pub const MAX_GROUPS: usize = 100;

pub const FILTER_TYPES: &[&str] = &["STARTS_WITH", "EQUALS", "CONTAINS", "REGEX"];

/// A parsed `EXPRESSION` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// `user.login`, `user.email`, ...
    UserAttribute(&'static str),
    /// `"text"`: the same value for every token.
    Literal(String),
}

/// The user attributes an expression can name (Okta's profile names).
pub const USER_ATTRIBUTES: &[&str] = &[
    "id",
    "login",
    "email",
    "firstName",
    "lastName",
    "displayName",
    "status",
];

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, String> {
        let text = text.trim();
        if let Some(attr) = text.strip_prefix("user.") {
            return USER_ATTRIBUTES
                .iter()
                .find(|a| **a == attr)
                .map(|a| Expression::UserAttribute(a))
                .ok_or_else(|| {
                    format!(
                        "unknown user attribute {attr:?}; one of {}",
                        USER_ATTRIBUTES.join(", ")
                    )
                });
        }
        if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
            let inner = &text[1..text.len() - 1];
            if !inner.contains('"') {
                return Ok(Expression::Literal(inner.to_string()));
            }
        }
        Err("an expression is user.<attribute> or a \"quoted\" literal".into())
    }

    fn value(&self, user: Option<&User>) -> Option<String> {
        match self {
            Expression::Literal(text) => Some(text.clone()),
            Expression::UserAttribute(attr) => {
                let user = user?;
                let value = match *attr {
                    "id" => Some(user.id.clone()),
                    "login" => Some(user.login.clone()),
                    "email" => user.email.clone(),
                    "firstName" => user.first_name.clone(),
                    "lastName" => user.last_name.clone(),
                    "status" => Some(user.status.to_string()),
                    "displayName" => match (&user.first_name, &user.last_name) {
                        (Some(f), Some(l)) => Some(format!("{f} {l}")),
                        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
                        (None, None) => None,
                    },
                    _ => None,
                };
                value.filter(|v| !v.is_empty())
            }
        }
    }
}

/// Bounds on an admin's group regex: a compiled program of at most 256 KiB and
/// nesting 32 deep, so no pattern can make every token expensive (regex-lite runs in
/// time linear in the name, never backtracking).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_NEST_LIMIT: u32 = 32;

/// Compiled filters, by pattern: tokens are minted far more often than claims change.
static COMPILED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, regex_lite::Regex>>,
> = std::sync::LazyLock::new(Default::default);

/// `value` must be a regex on its own (so `a)|(b` cannot escape the anchors), then it
/// is anchored to match the whole name.
fn compile(value: &str) -> Result<regex_lite::Regex, String> {
    if let Some(re) = COMPILED.lock().expect("the regex cache lock").get(value) {
        return Ok(re.clone());
    }
    let build = |pattern: &str| {
        regex_lite::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(REGEX_NEST_LIMIT)
            .build()
            .map_err(|e| format!("invalid regex: {e}"))
    };
    build(value)?;
    let re = build(&format!("^(?:{value})$"))?;
    let mut cache = COMPILED.lock().expect("the regex cache lock");
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(value.to_string(), re.clone());
    Ok(re)
}

/// A group filter, checked when the claim is created and applied to group names.
pub enum GroupFilter {
    StartsWith(String),
    Equals(String),
    Contains(String),
    /// Matches the whole name, as Okta's regex filter does.
    Regex(regex_lite::Regex),
}

impl GroupFilter {
    pub fn parse(filter_type: &str, value: &str) -> Result<GroupFilter, String> {
        Ok(match filter_type {
            "STARTS_WITH" => GroupFilter::StartsWith(value.to_string()),
            "EQUALS" => GroupFilter::Equals(value.to_string()),
            "CONTAINS" => GroupFilter::Contains(value.to_string()),
            "REGEX" => GroupFilter::Regex(compile(value)?),
            other => {
                return Err(format!(
                    "unknown group filter {other:?}; one of {}",
                    FILTER_TYPES.join(", ")
                ));
            }
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            GroupFilter::StartsWith(p) => name.starts_with(p.as_str()),
            GroupFilter::Equals(p) => name == p,
            GroupFilter::Contains(p) => name.contains(p.as_str()),
            GroupFilter::Regex(re) => re.is_match(name),
        }
    }
}

/// The custom claims of `claim_type` for a token with `scope`. `groups` are the user's
/// group names (empty for a token without a user).
pub fn evaluate(
    defs: &[ClaimDef],
    claim_type: &str,
    scope: &[String],
    user: Option<&User>,
    groups: &[String],
) -> Map<String, Value> {
    let mut out = Map::new();
    for def in defs
        .iter()
        .filter(|d| d.status == Status::Active && d.claim_type == claim_type)
    {
        if !def.scopes.is_empty() && !def.scopes.iter().any(|s| scope.contains(s)) {
            continue;
        }
        let value = match def.value_type.as_str() {
            "GROUPS" => {
                if user.is_none() {
                    continue;
                }
                let Ok(filter) =
                    GroupFilter::parse(def.group_filter_type.as_deref().unwrap_or(""), &def.value)
                else {
                    tracing::warn!(claim = %def.name, "a stored group filter does not parse; claim left out");
                    continue;
                };
                let names: Vec<&String> = groups
                    .iter()
                    .filter(|g| filter.matches(g))
                    .take(MAX_GROUPS)
                    .collect();
                json!(names)
            }
            _ => match Expression::parse(&def.value)
                .ok()
                .and_then(|e| e.value(user))
            {
                Some(v) => json!(v),
                None => continue,
            },
        };
        out.insert(def.name.clone(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserStatus;

    fn scopes(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    fn user() -> User {
        User {
            id: "00uA".into(),
            login: "alice@example.com".into(),
            email: None,
            first_name: Some("Alice".into()),
            last_name: None,
            password_hash: None,
            status: UserStatus::Active,
            created_at: 0,
            updated_at: 0,
            profile_extra: Default::default(),
            activated_at: None,
            status_changed_at: None,
            password_changed_at: None,
            last_login_at: None,
            verified_email: None,
        }
    }

    fn def(
        name: &str,
        claim_type: &str,
        value_type: &str,
        value: &str,
        filter: Option<&str>,
        scopes: &[&str],
    ) -> ClaimDef {
        ClaimDef {
            id: format!("ocl{name}"),
            server_id: "default".into(),
            name: name.into(),
            claim_type: claim_type.into(),
            value_type: value_type.into(),
            value: value.into(),
            group_filter_type: filter.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            status: Status::Active,
            created_at: 0,
        }
    }

    #[test]
    fn expressions_parse_and_refuse() {
        assert_eq!(
            Expression::parse("user.email").unwrap(),
            Expression::UserAttribute("email")
        );
        assert_eq!(
            Expression::parse("\"gold\"").unwrap(),
            Expression::Literal("gold".into())
        );
        assert!(Expression::parse("user.password").is_err());
        assert!(Expression::parse("String.len(user.login)").is_err());
    }

    #[test]
    fn claims_follow_type_scope_and_attributes() {
        let defs = [
            def("login", "RESOURCE", "EXPRESSION", "user.login", None, &[]),
            def("mail", "RESOURCE", "EXPRESSION", "user.email", None, &[]),
            def(
                "tier",
                "RESOURCE",
                "EXPRESSION",
                "\"gold\"",
                None,
                &["api:read"],
            ),
            def(
                "given",
                "IDENTITY",
                "EXPRESSION",
                "user.firstName",
                None,
                &[],
            ),
            def(
                "groups",
                "IDENTITY",
                "GROUPS",
                "app-.*",
                Some("REGEX"),
                &["groups"],
            ),
        ];
        let u = user();
        let groups = vec![
            "app-admins".to_string(),
            "staff".to_string(),
            "xapp-y".to_string(),
        ];
        let scope = scopes("openid groups");
        let at = evaluate(&defs, "RESOURCE", &scope, Some(&u), &groups);
        assert_eq!(at["login"], "alice@example.com");
        assert!(!at.contains_key("mail"), "missing attribute: omitted");
        assert!(!at.contains_key("tier"), "scope not granted");
        let id = evaluate(&defs, "IDENTITY", &scope, Some(&u), &groups);
        assert_eq!(id["given"], "Alice");
        assert_eq!(id["groups"], json!(["app-admins"]));
        let service = evaluate(&defs, "RESOURCE", &scopes("api:read"), None, &[]);
        assert_eq!(service.get("tier"), Some(&json!("gold")));
        assert!(!service.contains_key("login"));
    }

    #[test]
    fn group_filters() {
        let f = |t: &str, v: &str| GroupFilter::parse(t, v).unwrap();
        assert!(f("STARTS_WITH", "app-").matches("app-x"));
        assert!(!f("EQUALS", "app").matches("app-x"));
        assert!(f("CONTAINS", "dmi").matches("admins"));
        assert!(
            !f("REGEX", "adm").matches("admins"),
            "regex matches the whole name"
        );
        assert!(GroupFilter::parse("REGEX", "(").is_err());
        assert!(
            GroupFilter::parse("REGEX", "a)|(b").is_err(),
            "cannot escape the anchors"
        );
        assert!(
            GroupFilter::parse(
                "REGEX",
                &"(".repeat(40)
                    .chars()
                    .chain(")".repeat(40).chars())
                    .collect::<String>()
            )
            .is_err(),
            "nesting"
        );
        assert!(f("REGEX", "a|b").matches("b") && !f("REGEX", "a|b").matches("ab"));
        assert!(GroupFilter::parse("GLOB", "*").is_err());
    }
}
