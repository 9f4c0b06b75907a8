//! The fuzz targets' bodies, shared by the libFuzzer entry points (nightly, `cargo
//! fuzz`) and the stable file-driven runner. Each takes arbitrary bytes, must never
//! panic, and asserts the security property of what it drives.

use std::sync::OnceLock;

use gatehouse::crypto::MasterKey;
use gatehouse::oauth::authorize::{self, Rejection};
use gatehouse::oauth::client_auth;
use gatehouse::oauth::params::Params;
use gatehouse::oauth::pkce::CodeChallenge;
use gatehouse::oauth::scope::Scope;
use gatehouse::store::{Client, KeyStatus};
use gatehouse::tokens::{jose, jwt, keys};

pub mod runner;

fn client(native: bool, redirect_uris: Vec<String>) -> Client {
    Client {
        client_id: "0oaFUZZ".into(),
        name: "Fuzz".into(),
        auth_method: "none".into(),
        application_type: if native { "native" } else { "browser" }.into(),
        redirect_uris,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        status: "ACTIVE".into(),
        ..Default::default()
    }
}

fn ring() -> &'static keys::Keyring {
    static RING: OnceLock<keys::Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let master = MasterKey::from_bytes(&[7; 32]);
        let stored = keys::generate("fuzz", KeyStatus::Active, 0, &master);
        keys::keyring(&[stored], &master, 0).expect("a keyring").expect("an active key")
    })
}

fn replies_only_to_registered(c: &Client, uri: &str) -> bool {
    c.redirect_uris.iter().any(|r| r == uri) || (c.application_type == "native" && c.redirect_uris.iter().any(|r| authorize::loopback_matches(r, uri)))
}

/// The authorization request: the query parser, then the whole validation pipeline.
/// The first byte picks a native or a browser client.
pub fn authorize(data: &[u8]) {
    let Some((&first, query)) = data.split_first() else { return };
    let Ok(params) = Params::parse(query) else { return };
    let registered = vec!["https://app.example.com/cb".to_string(), "http://127.0.0.1/cb".to_string(), "http://localhost/cb".to_string()];
    let c = client(first & 1 == 1, registered);
    let outcome = authorize::validate(&params, "default", "https://id.example.com/oauth2/default", Some(&c), &["openid", "email", "offline_access"]);
    let target = match &outcome {
        Ok(request) => Some(&request.reply),
        Err(Rejection::Redirect(target, _)) => Some(target),
        Err(Rejection::Render(_)) => None,
    };
    if let Some(target) = target {
        assert!(replies_only_to_registered(&c, &target.redirect_uri), "replied to {:?}", target.redirect_uri);
        // Building the reply must not panic either.
        let _ = target.error(&gatehouse::oauth::OAuthError::invalid_request("fuzz"));
    }
}

/// The token request: an `Authorization` header (the first line) and a form body (the
/// rest), through client authentication, scope and PKCE parsing.
pub fn token_form(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let header = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let Ok(params) = Params::parse(body) else { return };
    let _ = client_auth::presented(header, &params);
    if let Ok(Some(scope)) = params.one("scope") {
        let _ = Scope::parse(scope);
    }
    if let (Ok(Some(challenge)), Ok(method)) = (params.one("code_challenge"), params.one("code_challenge_method")) {
        if let Ok(challenge) = CodeChallenge::parse(challenge, method, true) {
            if let Ok(Some(verifier)) = params.one("code_verifier") {
                let _ = challenge.verify(verifier);
            }
        }
    }
}

/// JWT verification against the server's own ring: arbitrary text never verifies.
pub fn jwt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = jwt::header_kid(text);
    assert!(jwt::verify::<serde_json::Value>(text, ring()).is_err(), "an unsigned input verified");
}

/// JWK parsing (the one parser, for our keys, clients' keys and DPoP proofs' keys); a
/// parsed key must have no private member, and verifies nothing it did not sign (it
/// must refuse, not panic) with any algorithm.
pub fn jwk(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(key) = jose::PublicJwk::parse(&value) {
        assert!(jose::PRIVATE_MEMBERS.iter().all(|m| value.get(m).is_none()), "a private member parsed");
        for alg in jose::ASYMMETRIC_ALGS {
            assert!(!key.verify(alg, b"message", &[0u8; 256]));
        }
    }
}

/// Redirect URI comparison: `registered` and `given` separated by a newline.
pub fn redirect_uri(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((registered, given)) = text.split_once('\n') else { return };
    let matched = authorize::loopback_matches(registered, given);
    assert_eq!(matched, authorize::loopback_matches(given, registered), "the loopback rule is symmetric");
    if matched {
        assert!(registered.starts_with("http://127.0.0.1") || registered.starts_with("http://[::1]"));
    }
    for native in [false, true] {
        let c = client(native, vec![registered.to_string()]);
        let params = Params::from_pairs([("redirect_uri", given)]);
        if let Ok(uri) = authorize::check_redirect_uri(&params, &c) {
            assert_eq!(uri, given);
            assert!(given == registered || (native && matched), "{given:?} accepted for {registered:?}");
        }
    }
}
