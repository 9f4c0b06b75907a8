//! Consent (OpenID Connect Core §3.1.2.4): a scope whose consent is `REQUIRED` is
//! granted only after the user agreed to give it to this app, once (remembered per
//! user, app and authorization server), or again when the request says
//! `prompt=consent`. Scopes with `IMPLICIT` consent never ask.

use super::scope::Scope;
use crate::store::ScopeDef;

/// The requested scopes the user must still agree to, in request order.
pub fn needed(
    requested: &Scope,
    offered: &[ScopeDef],
    granted: &[String],
    prompt_consent: bool,
) -> Vec<String> {
    requested
        .iter()
        .filter(|name| {
            offered
                .iter()
                .any(|s| s.name == *name && s.consent == "REQUIRED")
        })
        .filter(|name| prompt_consent || !granted.iter().any(|g| g == name))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, consent: &str) -> ScopeDef {
        ScopeDef {
            id: name.into(),
            server_id: "default".into(),
            name: name.into(),
            description: String::new(),
            consent: consent.into(),
            is_default: false,
            system: false,
            created_at: 0,
        }
    }

    #[test]
    fn only_required_scopes_not_yet_granted_unless_prompted() {
        let offered = [
            def("openid", "IMPLICIT"),
            def("orders:read", "REQUIRED"),
            def("orders:write", "REQUIRED"),
        ];
        let scope = Scope::parse("openid orders:read orders:write").unwrap();
        assert_eq!(
            needed(&scope, &offered, &[], false),
            ["orders:read", "orders:write"]
        );
        let granted = vec!["orders:read".to_string()];
        assert_eq!(needed(&scope, &offered, &granted, false), ["orders:write"]);
        assert_eq!(
            needed(&scope, &offered, &granted, true),
            ["orders:read", "orders:write"]
        );
        assert!(needed(&Scope::parse("openid").unwrap(), &offered, &[], true).is_empty());
    }
}
