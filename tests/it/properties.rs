//! Properties of the parsers and checks an attacker reaches first, over generated
//! input (proptest): the same functions the fuzz targets in `fuzz/` drive, here with a
//! modest number of cases so `cargo test` stays fast. Failures print a minimal input.

use std::sync::OnceLock;

use gatehouse::crypto::MasterKey;
use gatehouse::oauth::authorize::{self, Rejection};
use gatehouse::oauth::client_auth;
use gatehouse::oauth::params::{MAX_PARAMS, MAX_PARAMS_BYTES, Params};
use gatehouse::oauth::scope::Scope;
use gatehouse::store::{Client, KeyStatus};
use gatehouse::tokens::{jose, jwt, keys};
use proptest::prelude::*;

const REGISTERED: &str = "https://app.example.com/callback";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn client(native: bool) -> Client {
    Client {
        client_id: "0oaPROP".into(),
        name: "Prop".into(),
        auth_method: "none".into(),
        application_type: if native { "native" } else { "browser" }.into(),
        redirect_uris: vec![
            REGISTERED.into(),
            "http://127.0.0.1/cb".into(),
            "http://[::1]/cb".into(),
            "http://localhost/cb".into(),
        ],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        status: "ACTIVE".into(),
        ..Default::default()
    }
}

fn ring() -> &'static keys::Keyring {
    static RING: OnceLock<keys::Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let master = MasterKey::from_bytes(&[3; 32]);
        let stored = keys::generate("prop", KeyStatus::Active, 0, &master);
        keys::keyring(&[stored], &master, 0).unwrap().unwrap()
    })
}

/// Text that looks like what arrives: URL-ish characters, percent signs, separators,
/// a few non-ASCII and control characters.
fn wire_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[a-zA-Z0-9:/?#\\[\\]@!$&'()*+,;=%._~ \\-\\\\\t\r\n\u{0}é€]{0,40}",
    )
    .unwrap()
}

/// A redirect URI near the registered one: an edit of it.
fn near_miss() -> impl Strategy<Value = String> {
    (0..REGISTERED.len(), wire_text(), 0..3u8).prop_map(|(at, insert, kind)| {
        let mut s = REGISTERED.to_string();
        let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        match kind {
            0 => s.insert_str(at, &insert),
            1 => s.truncate(at),
            _ => s.replace_range(at..(at + 1).min(s.len()), &insert),
        }
        s
    })
}

fn base_params(redirect_uri: &str) -> Vec<(String, String)> {
    [
        ("client_id", "0oaPROP"),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn validate(
    params: &Params,
    client: &Client,
) -> Result<authorize::AuthorizationRequest, Rejection> {
    authorize::validate(
        params,
        "default",
        "https://id.example.com/oauth2/default",
        Some(client),
        &["openid", "email", "offline_access"],
    )
}

proptest! {
    #![proptest_config(config())]

    /// The parser never panics, and what it accepts respects its limits.
    #[test]
    fn params_parse_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(params) = Params::parse(&raw) {
            prop_assert!(params.iter().count() <= MAX_PARAMS);
            prop_assert!(params.iter().all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
        }
    }

    /// Form encoding round-trips: every distinct name's value comes back exactly.
    #[test]
    fn params_round_trip(pairs in proptest::collection::btree_map("[a-z_]{1,12}", "[^\u{0}]{1,30}", 0..20)) {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let params = Params::parse(encoded.as_bytes()).unwrap();
        for (name, value) in &pairs {
            prop_assert_eq!(params.one(name).unwrap(), Some(value.as_str()));
        }
        prop_assert_eq!(params.first_repeated(), None);
    }

    /// A name given twice with values is never silently resolved to one of them.
    #[test]
    fn params_repeats_are_errors(name in "[a-z_]{1,12}", a in "[a-z0-9]{1,8}", b in "[a-z0-9]{1,8}") {
        let params = Params::parse(format!("{name}={a}&{name}={b}").as_bytes()).unwrap();
        prop_assert!(params.one(&name).is_err());
        prop_assert_eq!(params.first_repeated(), Some(name.as_str()));
    }

    /// Anything over the size limit is refused before it is decoded.
    #[test]
    fn params_over_the_limit_are_refused(extra in 1usize..4096) {
        prop_assert!(Params::parse(&vec![b'a'; MAX_PARAMS_BYTES + extra]).is_err());
    }

    /// Only the registered string redirects: any edit of it is rendered, never sent back.
    #[test]
    fn redirect_uri_near_misses_are_rendered(uri in near_miss(), native in any::<bool>()) {
        prop_assume!(uri != REGISTERED);
        let params = Params::from_pairs(base_params(&uri));
        let outcome = validate(&params, &client(native));
        let loopback = native && (authorize::loopback_matches("http://127.0.0.1/cb", &uri) || authorize::loopback_matches("http://[::1]/cb", &uri));
        let registered = client(native).redirect_uris.contains(&uri);
        if !loopback && !registered {
            prop_assert!(matches!(outcome, Err(Rejection::Render(_))), "{:?} got {:?}", uri, outcome);
        }
    }

    /// Whatever the request, an accepted or redirected answer goes to a registered URI
    /// (or its loopback port variant for a native app), never anywhere else.
    #[test]
    fn authorize_replies_go_only_to_registered_uris(
        extra in proptest::collection::vec((prop_oneof!["redirect_uri", "response_mode", "scope", "state", "prompt", "max_age", "nonce", "request", "response_type", "client_id"].prop_map(String::from), wire_text()), 0..6),
        native in any::<bool>(),
    ) {
        let mut pairs = base_params(REGISTERED);
        pairs.extend(extra);
        let c = client(native);
        let target = match validate(&Params::from_pairs(pairs), &c) {
            Ok(request) => Some(request.reply.redirect_uri),
            Err(Rejection::Redirect(target, _)) => Some(target.redirect_uri),
            Err(Rejection::Render(_)) => None,
        };
        if let Some(uri) = target {
            let ok = c.redirect_uris.contains(&uri) || (native && c.redirect_uris.iter().any(|r| authorize::loopback_matches(r, &uri)));
            prop_assert!(ok, "replied to {:?}", uri);
        }
    }

    /// RFC 8252 §7.3: any port matches a loopback IP URI; `localhost`, other paths and
    /// other hosts never do.
    #[test]
    fn loopback_ports(port in 1u16..=65535, path in "/[a-z]{0,8}") {
        let v4 = format!("http://127.0.0.1:{port}/cb");
        let v6 = format!("http://[::1]:{port}/cb");
        let named = format!("http://localhost:{port}/cb");
        let tls = format!("https://127.0.0.1:{port}/cb");
        let elsewhere = format!("http://127.0.0.1:{port}{path}");
        prop_assert!(authorize::loopback_matches("http://127.0.0.1/cb", &v4));
        prop_assert!(authorize::loopback_matches("http://[::1]:8080/cb", &v6));
        prop_assert!(!authorize::loopback_matches("http://localhost/cb", &named));
        prop_assert!(!authorize::loopback_matches("http://127.0.0.1/cb", &v6));
        prop_assert!(!authorize::loopback_matches("https://127.0.0.1/cb", &tls));
        if path != "/cb" {
            prop_assert!(!authorize::loopback_matches("http://127.0.0.1/cb", &elsewhere));
        }
    }

    /// Client authentication parsing never panics on any header and body.
    #[test]
    fn client_auth_any_input(header in proptest::option::of(wire_text()), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(params) = Params::parse(&body) {
            let _ = client_auth::presented(header.as_deref(), &params);
        }
        let _ = Scope::parse(&String::from_utf8_lossy(&body));
    }

    /// Any string is refused or, if it verifies, is a token this key signed.
    #[test]
    fn jwt_verify_any_text(text in "[A-Za-z0-9_\\-.=+/]{0,300}") {
        prop_assert!(jwt::verify::<serde_json::Value>(&text, ring()).is_err());
        let _ = jwt::header_kid(&text);
    }

    /// Signed claims verify unchanged; any one changed character anywhere makes the
    /// token fail or verify to exactly the same claims (base64's unused bits).
    #[test]
    fn jwt_tampering_never_changes_claims(sub in "[ -~]{0,40}", at in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_\\-.]") {
        let claims = serde_json::json!({"sub": sub, "scp": ["openid"]});
        let token = jwt::sign(&ring().signing, Some("at+jwt"), &claims);
        let (_, back): (_, serde_json::Value) = jwt::verify(&token, ring()).unwrap();
        prop_assert_eq!(&back, &claims);
        let i = at.index(token.len());
        let mut forged = token.clone();
        forged.replace_range(i..i + 1, &replacement);
        if let Ok((_, got)) = jwt::verify::<serde_json::Value>(&forged, ring()) {
            prop_assert_eq!(got, claims);
        }
    }

    /// JWK parsing never panics, and accepts nothing but a real public key: short
    /// made-up RSA members are never one (under 2048 bits).
    #[test]
    fn jwk_parse_any_text(text in "[ -~]{0,200}", kty in "[A-Za-z]{0,4}", n in "[A-Za-z0-9_\\-]{0,20}", e in "[A-Za-z0-9_\\-]{0,8}") {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            prop_assert!(jose::PublicJwk::parse(&value).is_err() || text.contains("kty"));
        }
        let jwk = serde_json::json!({"kty": kty, "n": n, "e": e});
        prop_assert!(jose::PublicJwk::parse(&jwk).is_err());
    }
}

#[test]
fn the_servers_own_jwk_parses() {
    let master = MasterKey::from_bytes(&[4; 32]);
    let stored = keys::generate("prop", KeyStatus::Active, 0, &master);
    let jwk = jose::PublicJwk::parse(&serde_json::from_str(&stored.public_jwk).unwrap()).unwrap();
    assert!(jwk.allows("RS256"));
    assert_eq!(
        jwk.thumbprint, stored.kid,
        "the kid is the RFC 7638 thumbprint"
    );
}
