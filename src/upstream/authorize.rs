//! The front-channel half toward an upstream: the authorization request that sends
//! the browser there (`begin`, RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636),
//! the transaction the caller keeps until the browser comes back, and the URL that
//! ends the person's session there (`end_session_url`, RP-Initiated Logout 1.0 §2).

use std::fmt;

use url::Url;

use super::config::{Kind, ProviderConfig};
use super::error::UpstreamError;
use crate::clock::UnixTime;
use crate::crypto::{b64url, random_bytes, sha256};

/// Seconds a transaction may wait for the browser to come back (`Begin::expires_at`).
pub const TRANSACTION_TTL: i64 = 600;

/// What the caller keeps between `begin` and `finish` (server-side, or sealed), bound
/// to the browser that started it. Each value is random and single-use; `Debug`
/// redacts the verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Transaction {
    /// 256 random bits, base64url: the `state` sent and expected back.
    pub state: String,
    /// 256 random bits, base64url: the `nonce` the ID token must carry (sent to
    /// OpenID Connect providers only).
    pub nonce: String,
    /// The PKCE verifier (RFC 7636 §4.1: 43 characters of 256 random bits), when
    /// `ProviderConfig::pkce`.
    pub code_verifier: Option<String>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field(
                "code_verifier",
                &self.code_verifier.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Optional parameters passed to the provider as they are.
#[derive(Debug, Clone, Default)]
pub struct Hints<'a> {
    /// OpenID Connect Core §3.1.2.1 `login_hint`: the username the person typed, or
    /// the downstream app's own `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `prompt` (`login`, `consent`, `select_account`, `none`), as the downstream app
    /// asked.
    pub prompt: Option<&'a str>,
    /// `max_age` in seconds, as the downstream app asked.
    pub max_age: Option<i64>,
}

/// Where to send the browser, and what to keep until it comes back.
#[derive(Debug, Clone)]
pub struct Begin {
    /// The provider's authorization endpoint with the request in its query.
    pub url: String,
    pub transaction: Transaction,
    /// `now + TRANSACTION_TTL`: after this the caller should refuse the callback.
    pub expires_at: UnixTime,
}

/// A fresh random value: 256 bits, base64url (43 characters).
fn random() -> String {
    b64url(&random_bytes::<32>())
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`.
pub fn s256_challenge(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

/// Is `url` an endpoint the browser may be sent to or a request made to: https, or
/// http when `allow_private`; no fragment.
fn endpoint_url(url: &str, allow_private: bool) -> Option<Url> {
    let parsed = Url::parse(url).ok()?;
    let scheme_ok = parsed.scheme() == "https" || (allow_private && parsed.scheme() == "http");
    (scheme_ok && parsed.host().is_some() && parsed.fragment().is_none()).then_some(parsed)
}

/// The authorization request toward the provider: `response_type=code`, `client_id`,
/// `redirect_uri`, `scope` (`ProviderConfig::scope`), a fresh `state`, a fresh `nonce`
/// (OpenID Connect), PKCE S256 (when configured), and the hints. Parameters already in
/// the endpoint's query are kept (OAuth 2.0 §3.1 allows them), ours replacing any of
/// the same name.
pub fn begin(
    config: &ProviderConfig,
    redirect_uri: &str,
    hints: &Hints<'_>,
    now: UnixTime,
) -> Result<Begin, UpstreamError> {
    let mut url = endpoint_url(&config.authorization_endpoint, config.allow_private).ok_or(
        UpstreamError::Config("the authorization endpoint is not an https URL"),
    )?;
    if config.client_id.is_empty() {
        return Err(UpstreamError::Config("the client id is empty"));
    }
    let transaction = Transaction {
        state: random(),
        nonce: random(),
        code_verifier: config.pkce.then(random),
    };
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", config.client_id.clone()),
        ("redirect_uri", redirect_uri.to_string()),
        ("state", transaction.state.clone()),
    ];
    let scope = config.scope();
    if !scope.is_empty() {
        params.push(("scope", scope));
    }
    if config.kind == Kind::Oidc {
        params.push(("nonce", transaction.nonce.clone()));
    }
    if let Some(verifier) = &transaction.code_verifier {
        params.push(("code_challenge", s256_challenge(verifier)));
        params.push(("code_challenge_method", "S256".into()));
    }
    if let Some(hint) = hints.login_hint.filter(|h| !h.is_empty()) {
        params.push(("login_hint", hint.to_string()));
    }
    if let Some(prompt) = hints.prompt.filter(|p| !p.is_empty()) {
        params.push(("prompt", prompt.to_string()));
    }
    if let Some(max_age) = hints.max_age.filter(|m| *m >= 0) {
        params.push(("max_age", max_age.to_string()));
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .extend_pairs(params);
    Ok(Begin {
        url: url.to_string(),
        transaction,
        expires_at: now + TRANSACTION_TTL,
    })
}

/// RP-Initiated Logout 1.0 §2 toward the provider: its `end_session_endpoint` with
/// `id_token_hint` (the raw ID token `finish` returned), `client_id`,
/// `post_logout_redirect_uri` and `state` when given. `None` when the provider has no
/// such endpoint (or it is not an allowed URL): there is nothing to end there.
pub fn end_session_url(
    config: &ProviderConfig,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
) -> Option<String> {
    let endpoint = config.end_session_endpoint.as_deref()?;
    let mut url = endpoint_url(endpoint, config.allow_private)?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(hint) = id_token_hint {
            q.append_pair("id_token_hint", hint);
        }
        q.append_pair("client_id", &config.client_id);
        if let Some(uri) = post_logout_redirect_uri {
            q.append_pair("post_logout_redirect_uri", uri);
            if let Some(state) = state {
                q.append_pair("state", state);
            }
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        let mut c = ProviderConfig::new(Kind::Oidc, "https://idp.example", "cid", None);
        c.authorization_endpoint = "https://idp.example/authorize?tenant=a%20b".into();
        c
    }

    fn query(url: &str) -> Vec<(String, String)> {
        Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
        let mut found = q.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "{name} once");
        first
    }

    #[test]
    fn pkce_s256_is_rfc_7636s_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_request_carries_everything_once_and_fresh_randomness() {
        let hints = Hints {
            login_hint: Some("alice@corp.example"),
            prompt: Some("login"),
            max_age: Some(300),
        };
        let b = begin(&config(), "https://gh.example/cb", &hints, 1000).unwrap();
        let q = query(&b.url);
        assert!(b.url.starts_with("https://idp.example/authorize?"));
        assert_eq!(
            get(&q, "tenant"),
            Some("a b"),
            "the endpoint's own query stays"
        );
        assert_eq!(get(&q, "response_type"), Some("code"));
        assert_eq!(get(&q, "client_id"), Some("cid"));
        assert_eq!(get(&q, "redirect_uri"), Some("https://gh.example/cb"));
        assert_eq!(get(&q, "scope"), Some("openid profile email"));
        assert_eq!(get(&q, "state"), Some(b.transaction.state.as_str()));
        assert_eq!(get(&q, "nonce"), Some(b.transaction.nonce.as_str()));
        let verifier = b.transaction.code_verifier.as_deref().unwrap();
        assert_eq!(verifier.len(), 43);
        assert_eq!(
            get(&q, "code_challenge"),
            Some(s256_challenge(verifier).as_str())
        );
        assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
        assert_eq!(get(&q, "login_hint"), Some("alice@corp.example"));
        assert_eq!(get(&q, "prompt"), Some("login"));
        assert_eq!(get(&q, "max_age"), Some("300"));
        assert_eq!(b.expires_at, 1000 + TRANSACTION_TTL);
        assert!(
            !format!("{:?}", b.transaction).contains(verifier),
            "Debug redacts it"
        );
        assert_eq!(b.transaction.state.len(), 43, "256 bits");
        assert_ne!(b.transaction.state, b.transaction.nonce);
        let again = begin(&config(), "https://gh.example/cb", &hints, 1000).unwrap();
        assert_ne!(again.transaction.state, b.transaction.state);
        assert_ne!(again.transaction.nonce, b.transaction.nonce);
    }

    #[test]
    fn a_plain_oauth_provider_gets_no_nonce_and_pkce_can_be_off() {
        let mut c = ProviderConfig::new(Kind::OAuth2, "", "gh", None);
        c.authorization_endpoint = "https://github.example/login/oauth/authorize".into();
        c.pkce = false;
        let b = begin(&c, "https://gh.example/cb", &Hints::default(), 0).unwrap();
        let q = query(&b.url);
        assert_eq!(get(&q, "nonce"), None);
        assert_eq!(get(&q, "scope"), None);
        assert_eq!(get(&q, "code_challenge"), None);
        assert_eq!(b.transaction.code_verifier, None);
    }

    #[test]
    fn an_endpoint_that_is_not_https_is_refused() {
        let mut c = config();
        c.authorization_endpoint = "http://idp.example/authorize".into();
        assert!(matches!(
            begin(&c, "https://x/cb", &Hints::default(), 0),
            Err(UpstreamError::Config(_))
        ));
        c.allow_private = true;
        assert!(begin(&c, "https://x/cb", &Hints::default(), 0).is_ok());
        c.authorization_endpoint = "javascript:alert(1)".into();
        assert!(begin(&c, "https://x/cb", &Hints::default(), 0).is_err());
    }

    #[test]
    fn end_session_url_names_the_hint_and_where_to_come_back() {
        let mut c = config();
        assert_eq!(end_session_url(&c, Some("t"), None, None), None);
        c.end_session_endpoint = Some("https://idp.example/logout".into());
        let url = end_session_url(
            &c,
            Some("h.e.s"),
            Some("https://gh.example/done"),
            Some("x y"),
        )
        .unwrap();
        let q = query(&url);
        assert_eq!(get(&q, "id_token_hint"), Some("h.e.s"));
        assert_eq!(get(&q, "client_id"), Some("cid"));
        assert_eq!(
            get(&q, "post_logout_redirect_uri"),
            Some("https://gh.example/done")
        );
        assert_eq!(get(&q, "state"), Some("x y"));
    }
}
