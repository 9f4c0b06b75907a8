//! OpenID Connect Discovery 1.0 toward an upstream: `{issuer}/.well-known/openid-configuration`
//! fetched through the guarded client (`outbound`), its `issuer` required to be the
//! configured one exactly (§4.3: otherwise a document could speak for another
//! provider), and what the relying party needs read from it.
//!
//! Nothing is cached here: the caller fetches when it registers or refreshes a
//! provider (and may store the endpoints), or once per sign-in if it keeps nothing.
//! A cache would have to follow the cache rule of docs/architecture.md, and one fetch
//! per sign-in does not need one.

use serde::Deserialize;

use super::config::{Kind, MAX_BODY, ProviderConfig};
use super::error::{Endpoint, UpstreamError};
use crate::outbound::{self, FetchError, Limits, Request};

/// What the relying party uses of a provider's discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// The discovery URL of `issuer` (§4.1: a trailing `/` is removed before the path).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches and checks `issuer`'s discovery document: status 200, a JSON object,
/// `issuer` exactly `issuer`, `authorization_endpoint`, `token_endpoint` and
/// `jwks_uri` present (OpenID Connect Discovery §3).
pub async fn discover(
    issuer: &str,
    allow_private: bool,
    limits: Limits,
) -> Result<Metadata, UpstreamError> {
    let fail = |error: FetchError| UpstreamError::Fetch {
        endpoint: Endpoint::Discovery,
        error,
    };
    let url = discovery_url(issuer);
    let accept = [("Accept", "application/json")];
    let body = outbound::fetch(Request::get(&url, &accept), allow_private, limits)
        .await
        .and_then(outbound::Response::ok)
        .map_err(fail)?;
    let metadata: Metadata =
        serde_json::from_slice(&body).map_err(|_| UpstreamError::Response {
            endpoint: Endpoint::Discovery,
            problem: "not a discovery document",
        })?;
    if metadata.issuer != issuer {
        return Err(UpstreamError::Discovery(
            "its issuer is not the configured issuer",
        ));
    }
    if metadata.token_endpoint.is_none() {
        return Err(UpstreamError::Discovery("it has no token_endpoint"));
    }
    if metadata.jwks_uri.is_none() {
        return Err(UpstreamError::Discovery("it has no jwks_uri"));
    }
    Ok(metadata)
}

/// The limits a discovery fetch for `config` runs under.
pub fn limits(config: &ProviderConfig) -> Limits {
    Limits {
        timeout: config.timeout,
        max_body: MAX_BODY,
    }
}

impl Metadata {
    /// Fills what `config` leaves empty from this document (endpoints the caller set
    /// are kept: an administrator's choice wins), and takes the RFC 9207 flag.
    /// The document must be `config`'s issuer's (`discover` checked it against the
    /// issuer it was asked for).
    pub fn apply_to(&self, config: &mut ProviderConfig) -> Result<(), UpstreamError> {
        if self.issuer != config.issuer || config.kind != Kind::Oidc {
            return Err(UpstreamError::Discovery(
                "its issuer is not the configured issuer",
            ));
        }
        if config.authorization_endpoint.is_empty() {
            config.authorization_endpoint = self.authorization_endpoint.clone();
        }
        if config.token_endpoint.is_empty() {
            config.token_endpoint = self.token_endpoint.clone().unwrap_or_default();
        }
        fn fill(slot: &mut Option<String>, from: &Option<String>) {
            if slot.is_none() {
                slot.clone_from(from);
            }
        }
        fill(&mut config.userinfo_endpoint, &self.userinfo_endpoint);
        fill(&mut config.jwks_uri, &self.jwks_uri);
        fill(&mut config.end_session_endpoint, &self.end_session_endpoint);
        config.iss_parameter_supported |= self.authorization_response_iss_parameter_supported;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discovery_url_drops_one_trailing_slash_path() {
        assert_eq!(
            discovery_url("https://idp.example/tenant/"),
            "https://idp.example/tenant/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://idp.example"),
            "https://idp.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn applying_keeps_what_the_caller_set() {
        let m: Metadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t",
            "jwks_uri": "https://idp.example/k",
            "userinfo_endpoint": "https://idp.example/u",
            "authorization_response_iss_parameter_supported": true,
        }))
        .unwrap();
        let mut c = ProviderConfig::new(Kind::Oidc, "https://idp.example", "cid", None);
        c.token_endpoint = "https://idp.example/mine".into();
        m.apply_to(&mut c).unwrap();
        assert_eq!(c.authorization_endpoint, "https://idp.example/a");
        assert_eq!(c.token_endpoint, "https://idp.example/mine");
        assert_eq!(c.jwks_uri.as_deref(), Some("https://idp.example/k"));
        assert_eq!(c.end_session_endpoint, None);
        assert!(c.iss_parameter_supported);
        let mut other = ProviderConfig::new(Kind::Oidc, "https://idp.example/", "cid", None);
        assert!(m.apply_to(&mut other).is_err(), "issuers compare exactly");
    }
}
