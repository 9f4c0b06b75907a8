//! RFC 6749 §3.3 scopes: a space-separated set of tokens.

use super::OAuthError;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(Vec<String>);

impl Scope {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by
    /// single spaces; repeats are folded, order kept.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut tokens: Vec<String> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(OAuthError::invalid_scope(
                    "The scope parameter is malformed.",
                ));
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_string());
            }
        }
        if tokens.is_empty() {
            return Err(OAuthError::invalid_scope(
                "The authorization request must include scopes.",
            ));
        }
        Ok(Scope(tokens))
    }

    /// RFC 6749 §4.1.2.1 `invalid_scope`: every scope must be one this server offers.
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), OAuthError> {
        match self.0.iter().find(|s| !supported.contains(&s.as_str())) {
            Some(_) => Err(OAuthError::invalid_scope(
                "One or more scopes are not configured for the authorization server resource.",
            )),
            None => Ok(()),
        }
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The scopes, in order, for code below the protocol (token claims).
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl TryFrom<String> for Scope {
    type Error = OAuthError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Scope::parse(&value)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        scope.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_folds_repeats() {
        let s = Scope::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert!(s.contains("email"));
    }

    #[test]
    fn refuses_empty_malformed_and_unknown() {
        assert!(Scope::parse(" ").is_err());
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert_eq!(
            Scope::parse("openid admin")
                .unwrap()
                .check_supported(&["openid", "email"])
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
    }
}
