//! One module per grant type, so a grant reads whole in one place.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;
pub mod token_exchange;

/// The grant types this server implements: the one list that token dispatch, app
/// validation, access-policy rules, discovery and metrics all read, so a new grant is
/// one variant here plus its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628 §3.4.
    DeviceCode,
    /// RFC 8693: on-behalf-of token exchange.
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    /// The names of `ALL`, in order (RFC 6749's `grant_type` values).
    pub const NAMES: [&'static str; 5] = [
        GrantType::AuthorizationCode.as_str(),
        GrantType::RefreshToken.as_str(),
        GrantType::ClientCredentials.as_str(),
        GrantType::DeviceCode.as_str(),
        GrantType::TokenExchange.as_str(),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => device_code::GRANT_TYPE,
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    pub fn parse(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// Whether an access-policy rule can name it. A refresh is evaluated as the grant
    /// that started its family, so a rule never names `refresh_token`.
    pub const fn in_policy_rules(self) -> bool {
        !matches!(self, GrantType::RefreshToken)
    }

    /// The names a policy rule may use.
    pub fn policy_rule_names() -> Vec<&'static str> {
        GrantType::ALL
            .into_iter()
            .filter(|g| g.in_policy_rules())
            .map(GrantType::as_str)
            .collect()
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::GrantType;

    #[test]
    fn names_parse_back_and_rules_skip_refresh() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
        }
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(
            GrantType::policy_rule_names(),
            [
                "authorization_code",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ]
        );
    }
}
