//! The client credentials grant (RFC 6749 §4.4): a confidential client asks for a token
//! for itself, with the server's custom scopes only (no OpenID Connect scopes: there is
//! no user), and gets no refresh token (§4.4.3).

use super::super::OAuthError;
use super::super::scope::Scope;
use crate::store::ScopeDef;

/// The scope to grant: the requested one, or the server's default scopes when the
/// request names none (as Okta does).
pub fn scope(requested: Option<&str>, offered: &[ScopeDef]) -> Result<Scope, OAuthError> {
    custom_scope(
        requested,
        offered,
        "The client_credentials grant cannot request OpenID Connect scopes; there is no user.",
    )
}

/// The scope of a grant that issues only an access token for an API (client
/// credentials, token exchange): the requested one, or the server's default custom
/// scopes when none is named; each must be one of the server's custom scopes, and an
/// OpenID Connect scope is `invalid_scope` with `system_refused` as its description.
pub fn custom_scope(
    requested: Option<&str>,
    offered: &[ScopeDef],
    system_refused: &'static str,
) -> Result<Scope, OAuthError> {
    let scope = match requested {
        Some(text) => Scope::parse(text)?,
        None => {
            let defaults: Vec<&str> = offered
                .iter()
                .filter(|s| s.is_default && !s.system)
                .map(|s| s.name.as_str())
                .collect();
            if defaults.is_empty() {
                return Err(OAuthError::invalid_scope(
                    "The client must request scopes: the authorization server has no default scopes.",
                ));
            }
            Scope::parse(&defaults.join(" "))?
        }
    };
    for name in scope.iter() {
        match offered.iter().find(|s| s.name == name) {
            None => {
                return Err(OAuthError::invalid_scope(
                    "One or more scopes are not configured for the authorization server resource.",
                ));
            }
            Some(s) if s.system => {
                return Err(OAuthError::invalid_scope(system_refused));
            }
            Some(_) => {}
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, system: bool, is_default: bool) -> ScopeDef {
        ScopeDef {
            id: name.into(),
            server_id: "default".into(),
            name: name.into(),
            description: String::new(),
            consent: "IMPLICIT".into(),
            is_default,
            system,
            created_at: 0,
        }
    }

    #[test]
    fn custom_scopes_only_defaults_when_omitted() {
        let offered = [
            def("openid", true, false),
            def("api:read", false, true),
            def("api:write", false, false),
        ];
        assert_eq!(
            scope(Some("api:write"), &offered).unwrap().to_string(),
            "api:write"
        );
        assert_eq!(scope(None, &offered).unwrap().to_string(), "api:read");
        assert_eq!(
            scope(Some("openid"), &offered).unwrap_err().code(),
            "invalid_scope"
        );
        assert_eq!(
            scope(Some("api:admin"), &offered).unwrap_err().code(),
            "invalid_scope"
        );
        assert_eq!(
            scope(None, &offered[..1]).unwrap_err().code(),
            "invalid_scope"
        );
    }
}
