//! JWT client authentication (RFC 7523 §2.2, OpenID Connect Core §9): `private_key_jwt`
//! with each algorithm, `client_secret_jwt`, registration through the API and the CLI,
//! `jwks_uri` fetching and its limits, two client secrets during rotation, and the
//! hostile matrix: every bad assertion is the same `invalid_client`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::clock::Clock;
use gatehouse::config::ClientAuthConfig;
use openidconnect::{AuthType, OAuth2TokenResponse};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::signer::{self, Key, b64, hmac_sign, jti};
use crate::support::*;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CLIENT_AUTH_FAILED: &str = "Client authentication failed.";

/// An app registered through the API with `auth_method` and these `settings.oauthClient`
/// extras; its client id (and secret, if it has one).
pub async fn register(api: &Api, auth_method: &str, grants: &[&str], extra: Value) -> (u16, Value) {
    let mut oauth = json!({
        "grant_types": grants,
        "redirect_uris": if grants.contains(&"authorization_code") { json!([REDIRECT]) } else { json!([]) },
    });
    for (k, v) in extra.as_object().unwrap() {
        oauth[k] = v.clone();
    }
    api.post(
        "/api/v1/apps",
        json!({
            "name": "oidc_client",
            "label": "JWT client",
            "signOnMode": "OPENID_CONNECT",
            "credentials": { "oauthClient": { "token_endpoint_auth_method": auth_method } },
            "settings": { "oauthClient": oauth },
        }),
    )
    .await
}

/// Good claims for `client_id` at `aud`, issued at `now`.
pub fn claims(client_id: &str, aud: &str, now: i64) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": jti()})
}

/// `grant_type=client_credentials` with an assertion (and `client_id` in the form).
pub async fn cc_with(t: &TestApp, client_id: &str, assertion: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api:read"),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    t.http
        .post(t.endpoint("default", "token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn refused(response: reqwest::Response, why: &str) {
    assert_eq!(response.status(), 401, "{why}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (Some("invalid_client"), Some(CLIENT_AUTH_FAILED)),
        "{why}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_with_each_algorithm_and_at_revoke_and_introspect() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (rsa, ec, ed) = (Key::rsa(), Key::ec(), Key::ed());
    let mut ps = rsa.jwk("ps");
    ps["alg"] = json!("PS256");
    let jwks = json!({"keys": [rsa.jwk("rs"), ps, ec.jwk("es"), ed.jwk("ed")]});
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": jwks}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    assert!(
        app["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none(),
        "private_key_jwt has no secret"
    );
    assert_eq!(
        app["settings"]["oauthClient"]["jwks"]["keys"][0]["kid"],
        "rs"
    );
    let id = app["id"].as_str().unwrap().to_string();
    let token_url = t.endpoint("default", "token");
    let now = t.clock.now();

    let mut token = String::new();
    for (key, kid, alg) in [
        (&rsa, "rs", "RS256"),
        (&rsa, "ps", "PS256"),
        (&rsa, "rs", "RS512"),
        (&ec, "es", "ES256"),
        (&ed, "ed", "EdDSA"),
    ] {
        let assertion = key.sign(
            &json!({"alg": alg, "kid": kid}),
            &claims(&id, &token_url, now),
        );
        let r = cc_with(&t, &id, &assertion).await;
        assert_eq!(r.status(), 200, "{alg}");
        token = r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    // The issuer is an accepted audience too, and the client_id form field is optional.
    let assertion = ec.sign(
        &json!({"alg": "ES256", "kid": "es"}),
        &claims(&id, &t.issuer("default"), now),
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api:read"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    assert_eq!(
        t.http
            .post(&token_url)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Introspection and revocation authenticate the same way.
    let introspect = t.endpoint("default", "introspect");
    let assertion = ec.sign(
        &json!({"alg": "ES256", "kid": "es"}),
        &claims(&id, &introspect, now),
    );
    let form = [
        ("token", token.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let answer: Value = t
        .http
        .post(&introspect)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true);
    let revoke = t.endpoint("default", "revoke");
    let assertion = ed.sign(
        &json!({"alg": "EdDSA", "kid": "ed"}),
        &claims(&id, &revoke, now),
    );
    let form = [
        ("token", token.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    assert_eq!(
        t.http
            .post(&revoke)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_exchanges_a_code_with_private_key_jwt() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let key = Key::ec();
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["authorization_code"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    // The relying party has no secret; it sends client_id in the body with the assertion.
    let rp_app = App {
        client_id: id.clone(),
        secret: None,
    };
    let rp = t.rp("default", &rp_app).await;
    let rp = rp.set_auth_type(AuthType::RequestBody);
    let browser = t.browser();
    let code = t
        .code(&browser, "default", &rp_app, "alice@example.com")
        .await;
    let assertion = key.sign(
        &json!({"alg": "ES256", "kid": "k1"}),
        &claims(&id, &t.endpoint("default", "token"), t.clock.now()),
    );
    let tokens = rp
        .exchange_code(openidconnect::AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new(VERIFIER.into()))
        .add_extra_param("client_assertion_type", JWT_BEARER)
        .add_extra_param("client_assertion", assertion)
        .request_async(&no_redirects())
        .await
        .expect("code exchange with private_key_jwt");
    assert!(!tokens.access_token().secret().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_jwt_with_hmac_and_its_secret_is_sealed() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (status, app) = register(
        &api,
        "client_secret_jwt",
        &["client_credentials"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    let secret = app["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let token_url = t.endpoint("default", "token");
    let now = t.clock.now();
    for alg in ["HS256", "HS384", "HS512"] {
        let assertion = hmac_sign(alg, secret.as_bytes(), &claims(&id, &token_url, now));
        assert_eq!(cc_with(&t, &id, &assertion).await.status(), 200, "{alg}");
    }
    // Replayed: refused.
    let assertion = hmac_sign("HS256", secret.as_bytes(), &claims(&id, &token_url, now));
    assert_eq!(cc_with(&t, &id, &assertion).await.status(), 200);
    refused(cc_with(&t, &id, &assertion).await, "replayed jti").await;
    // Another secret, an asymmetric alg, the secret in Basic: refused.
    refused(
        cc_with(
            &t,
            &id,
            &hmac_sign(
                "HS256",
                b"not-the-secret-not-the-secret-xx",
                &claims(&id, &token_url, now),
            ),
        )
        .await,
        "wrong secret",
    )
    .await;
    let key = Key::ec();
    refused(
        cc_with(
            &t,
            &id,
            &key.sign(&json!({"alg": "ES256"}), &claims(&id, &token_url, now)),
        )
        .await,
        "ES256 for client_secret_jwt",
    )
    .await;
    let basic = t
        .http
        .post(&token_url)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "the registered method only");
    // The stored secret is sealed: the database has no clear copy.
    let client = t.backend.store.get_client(&id).await.unwrap().unwrap();
    let stored = serde_json::to_string(&client.secrets).unwrap();
    assert!(!stored.contains(&secret) && client.secrets[0].sealed.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_assertions_are_all_the_same_invalid_client() {
    // Many failures from one address: above the client throttle (see `throttle`).
    let t = TestApp::spawn_configured(|c| c.throttle.client_threshold = 1000).await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let key = Key::rsa();
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    let (_, other_app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [Key::ec().jwk("k1")]}}),
    )
    .await;
    let other_id = other_app["id"].as_str().unwrap().to_string();
    let aud = t.endpoint("default", "token");
    let now = t.clock.now();
    let h = json!({"alg": "RS256", "kid": "k1"});
    let good = || claims(&id, &aud, now);
    let with = |name: &str, v: Value| {
        let mut c = good();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(name);
        } else {
            c[name] = v;
        }
        key.sign(&h, &c)
    };

    // A local listener that must never be contacted (jku).
    let (jku_url, contacts) =
        listener(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec()).await;
    let n = key.public_jwk()["n"].as_str().unwrap().to_string();
    let none = format!(
        "{}.",
        signer::signing_input(&json!({"alg": "none", "kid": "k1"}), &good())
    );
    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        (
            "HS256 keyed with the RSA public key",
            signer::hmac_sign_with(&json!({"alg": "HS256", "kid": "k1"}), n.as_bytes(), &good()),
        ),
        (
            "embedded jwk",
            key.sign(
                &json!({"alg": "RS256", "kid": "k1", "jwk": key.public_jwk()}),
                &good(),
            ),
        ),
        (
            "jku",
            key.sign(
                &json!({"alg": "RS256", "kid": "k1", "jku": jku_url}),
                &good(),
            ),
        ),
        (
            "x5u",
            key.sign(
                &json!({"alg": "RS256", "kid": "k1", "x5u": jku_url}),
                &good(),
            ),
        ),
        (
            "crit",
            key.sign(
                &json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
                &good(),
            ),
        ),
        (
            "unknown kid",
            key.sign(&json!({"alg": "RS256", "kid": "k2"}), &good()),
        ),
        ("another key", Key::rsa().sign(&h, &good())),
        ("wrong iss", with("iss", json!(other_id))),
        ("wrong sub", with("sub", json!(other_id))),
        (
            "wrong aud",
            with("aud", json!("https://elsewhere.example/token")),
        ),
        (
            "aud of another server",
            with("aud", json!(t.endpoint("org", "token"))),
        ),
        ("no exp", with("exp", Value::Null)),
        ("expired", with("exp", json!(now - 120))),
        ("far-future exp", with("exp", json!(now + 3600))),
        ("nbf in the future", with("nbf", json!(now + 600))),
        ("iat long ago", with("iat", json!(now - 3600))),
        ("no jti", with("jti", Value::Null)),
        ("garbage", "not.a.jwt".into()),
    ];
    for (why, assertion) in &cases {
        refused(cc_with(&t, &id, assertion).await, why).await;
    }
    assert_eq!(
        contacts.load(Ordering::SeqCst),
        0,
        "jku and x5u are never fetched"
    );
    // Another client's id in the form with this client's assertion.
    refused(
        cc_with(&t, &other_id, &key.sign(&h, &good())).await,
        "form client_id of another client",
    )
    .await;
    // Wrong assertion type; an assertion with a secret too.
    let assertion = key.sign(&h, &good());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_assertion_type", "urn:x"),
        ("client_assertion", assertion.as_str()),
    ];
    expect_error(
        t.http.post(&aud).form(&form).send().await.unwrap(),
        401,
        "invalid_client",
    )
    .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", "x"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    expect_error(
        t.http.post(&aud).form(&form).send().await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    // The good one still works, once.
    let assertion = key.sign(&h, &good());
    assert_eq!(cc_with(&t, &id, &assertion).await.status(), 200);
    refused(cc_with(&t, &id, &assertion).await, "replayed jti").await;
}

/// RFC 7519 §2: `exp`, `nbf` and `iat` are NumericDates (JSON numbers). A time claim
/// of another type is refused like any bad assertion, never read as if it were absent
/// (`"nbf": "9999999999"` used to pass as "no nbf"), for either JWT method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_claims_that_are_not_numeric_dates_are_refused_not_ignored() {
    let t = TestApp::spawn_configured(|c| c.throttle.client_threshold = 1000).await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let key = Key::ec();
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    let (_, hmac_app) = register(
        &api,
        "client_secret_jwt",
        &["client_credentials"],
        json!({}),
    )
    .await;
    let hmac_id = hmac_app["id"].as_str().unwrap().to_string();
    let secret = hmac_app["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let aud = t.endpoint("default", "token");
    let now = t.clock.now();
    let h = json!({"alg": "ES256", "kid": "k1"});
    let with = |client_id: &str, name: &str, v: Value| {
        let mut c = claims(client_id, &aud, now);
        c[name] = v;
        c
    };
    let cases = [
        ("nbf", json!(now.to_string())),
        ("nbf", json!("9999999999")),
        ("iat", json!("x")),
        ("iat", json!(now.to_string())),
        ("exp", json!((now + 60).to_string())),
        ("exp", Value::Null),
        ("nbf", Value::Null),
        ("iat", json!(true)),
        ("nbf", json!([now])),
        ("iat", json!({"t": now})),
    ];
    for (name, v) in &cases {
        let why = format!("private_key_jwt {name}: {v}");
        refused(
            cc_with(&t, &id, &key.sign(&h, &with(&id, name, v.clone()))).await,
            &why,
        )
        .await;
        let why = format!("client_secret_jwt {name}: {v}");
        let assertion = hmac_sign("HS256", secret.as_bytes(), &with(&hmac_id, name, v.clone()));
        refused(cc_with(&t, &hmac_id, &assertion).await, &why).await;
    }
    // The same claims as numbers pass: what failed above is the type alone.
    for (name, v) in [
        ("nbf", json!(now)),
        ("iat", json!(now)),
        ("exp", json!(now as f64 + 59.5)),
    ] {
        let r = cc_with(&t, &id, &key.sign(&h, &with(&id, name, v.clone()))).await;
        assert_eq!(r.status(), 200, "{name}: {v}");
        let assertion = hmac_sign("HS256", secret.as_bytes(), &with(&hmac_id, name, v.clone()));
        assert_eq!(
            cc_with(&t, &hmac_id, &assertion).await.status(),
            200,
            "{name}: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_assertion_is_refused_by_another_instance_on_the_same_database() {
    let a = TestApp::spawn_postgres().await;
    let b = a.sibling().await;
    let api = a.api().await;
    a.scope("default", "api:read", false).await;
    let key = Key::ed();
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    // Both instances share the public URL, so the audience is the same.
    let assertion = key.sign(
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &claims(&id, &a.endpoint("default", "token"), a.clock.now()),
    );
    assert_eq!(cc_with(&a, &id, &assertion).await.status(), 200);
    refused(
        cc_with(&b, &id, &assertion).await,
        "replayed on the sibling",
    )
    .await;

    // A DPoP proof too: one instance's use is the other's replay.
    let fresh = key.sign(
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &claims(&id, &a.endpoint("default", "token"), a.clock.now()),
    );
    let holder = Key::ec();
    let proof = holder.sign(
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": holder.public_jwk()}),
        &json!({"jti": jti(), "htm": "POST", "htu": a.endpoint("default", "token"), "iat": a.clock.now()}),
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api:read"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", fresh.as_str()),
    ];
    let r = a
        .http
        .post(a.endpoint("default", "token"))
        .header("DPoP", &proof)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let again = key.sign(
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &claims(&id, &a.endpoint("default", "token"), a.clock.now()),
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api:read"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", again.as_str()),
    ];
    let r = b
        .http
        .post(b.endpoint("default", "token"))
        .header("DPoP", &proof)
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_dpop_proof").await;
}

/// Registered keys go through the one JWK parser, the same that reads DPoP keys and
/// `jwks_uri` documents: `key_ops` must allow `verify`, RSA has 2048 bits or more
/// (counted without leading zero octets), an EC point is on its curve, and a key's
/// `alg` fits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_honours_key_ops_sizes_points_and_alg() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let key = Key::ec();
    let mut encrypt = key.jwk("k1");
    encrypt["key_ops"] = json!(["encrypt"]);
    let mut short = vec![0u8; 256];
    short[1] = 0xc5;
    short[255] = 0x01;
    let rsa_2040 = json!({"kty": "RSA", "kid": "k1", "n": b64(&short), "e": "AQAB"});
    let mut off_curve = key.jwk("k1");
    off_curve["y"] = json!(b64(&[1u8; 32]));
    let mut wrong_alg = key.jwk("k1");
    wrong_alg["alg"] = json!("ES384");
    for (jwk, mention) in [
        (encrypt, "key_ops"),
        (rsa_2040, "2048"),
        (off_curve, "not a valid public key"),
        (wrong_alg, "alg"),
    ] {
        let (status, error) = register(
            &api,
            "private_key_jwt",
            &["client_credentials"],
            json!({"jwks": {"keys": [jwk]}}),
        )
        .await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{mention}");
        assert!(
            causes[0].starts_with("settings.oauthClient.jwks: keys[0]")
                && causes[0].contains(mention),
            "{mention}: {causes:?}"
        );
    }
    let mut verify = key.jwk("k1");
    verify["key_ops"] = json!(["verify"]);
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [verify]}}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_takes_public_keys_only() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let key = Key::ec();
    let mut private = key.jwk("k1");
    private["d"] = json!(b64(&[7u8; 32]));
    let mut enc_only = Key::ec().jwk("enc");
    enc_only["use"] = json!("enc");
    let mut enc_private = enc_only.clone();
    enc_private["d"] = json!(b64(&[7u8; 32]));
    let cases = [
        (json!({"jwks": {"keys": [private]}}), "keys[0].d"),
        (
            json!({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "keys[0].k",
        ),
        (
            json!({"jwks": {"keys": [key.public_jwk(), Key::ed().public_jwk()]}}),
            "kid",
        ),
        (json!({"jwks": {"nokeys": []}}), "keys"),
        (
            json!({"jwks": {"keys": [key.jwk("k1")]}, "jwks_uri": "https://rp.example/jwks"}),
            "not both",
        ),
        (json!({"jwks_uri": "http://rp.example/jwks"}), "https"),
        (
            json!({"jwks": {"keys": [enc_only.clone()]}}),
            "signature key",
        ),
        (
            json!({"jwks": {"keys": [enc_private, key.jwk("k1")]}}),
            "keys[0].d",
        ),
    ];
    for (extra, mention) in cases {
        let field = if extra.get("jwks_uri").is_some() && extra.get("jwks").is_none() {
            "settings.oauthClient.jwks_uri"
        } else {
            "settings.oauthClient.jwks"
        };
        let (status, error) = register(
            &api,
            "private_key_jwt",
            &["client_credentials"],
            extra.clone(),
        )
        .await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{extra}");
        assert!(
            causes[0].starts_with(&format!("{field}: ")) && causes[0].contains(mention),
            "{mention}: {causes:?}"
        );
    }
    // An encryption key beside the signature key is ignored, not refused.
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [enc_only, key.jwk("k1")]}}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    // jwks on an app that does not use private_key_jwt.
    let (status, _) = register(
        &api,
        "client_secret_basic",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    assert_eq!(status, 400);
    // The app's JSON never carries a private member or a secret's hash.
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}, "dpop_bound_access_tokens": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app["settings"]["oauthClient"]["dpop_bound_access_tokens"],
        true
    );
    assert!(!app.to_string().contains("\"d\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_private_key_jwt_apps_and_manages_secrets() {
    let t = TestApp::spawn().await;
    let key = Key::ec();
    let file = t.dir.path().join("jwks.json");
    std::fs::write(&file, json!({"keys": [key.jwk("k1")]}).to_string()).unwrap();
    let (ok, out, err) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "Signer",
            "--grant-type",
            "client_credentials",
            "--auth-method",
            "private_key_jwt",
            "--jwks",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    let app: Value = serde_json::from_str(&out).unwrap();
    let id = app["client_id"].as_str().unwrap().to_string();
    t.scope("default", "api:read", false).await;
    let assertion = key.sign(
        &json!({"alg": "ES256", "kid": "k1"}),
        &claims(&id, &t.endpoint("default", "token"), t.clock.now()),
    );
    assert_eq!(cc_with(&t, &id, &assertion).await.status(), 200);

    let mut private = key.jwk("k1");
    private["d"] = json!(b64(&[7u8; 32]));
    std::fs::write(&file, json!({"keys": [private]}).to_string()).unwrap();
    let (ok, _, err) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "Bad",
            "--grant-type",
            "client_credentials",
            "--auth-method",
            "private_key_jwt",
            "--jwks",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(!ok && err.contains("keys[0].d"), "{err}");

    // Secrets: a second one, deactivate the first, delete it.
    let web = t.web_app().await;
    let (ok, out, err) =
        crate::cli::gatehouse(&t, &["apps", "secrets", "create", &web.client_id], None);
    assert!(ok, "{err}");
    let second: Value = serde_json::from_str(&out).unwrap();
    let (_, out, _) = crate::cli::gatehouse(&t, &["apps", "secrets", "list", &web.client_id], None);
    let list: Value = serde_json::from_str(&out).unwrap();
    let first_id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (ok, _, err) = crate::cli::gatehouse(
        &t,
        &["apps", "secrets", "delete", &web.client_id, &first_id],
        None,
    );
    assert!(!ok && err.contains("deactivate it first"), "{err}");
    assert!(
        crate::cli::gatehouse(
            &t,
            &["apps", "secrets", "deactivate", &web.client_id, &first_id],
            None
        )
        .0
    );
    assert!(
        crate::cli::gatehouse(
            &t,
            &["apps", "secrets", "delete", &web.client_id, &first_id],
            None
        )
        .0
    );
    let now_app = App {
        client_id: web.client_id.clone(),
        secret: Some(second["client_secret"].as_str().unwrap().to_string()),
    };
    t.user("alice@example.com").await;
    let code = t
        .code(&t.browser(), "default", &now_app, "alice@example.com")
        .await;
    assert_eq!(t.redeem("default", &now_app, &code).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_secrets_rotate_without_an_outage() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let first = t.service_app().await;
    let id = first.client_id.clone();
    let path = format!("/api/v1/apps/{id}/credentials/secrets");
    let (status, created) = api.post(&path, json!({})).await;
    assert_eq!(status, 201, "{created}");
    let second = App {
        client_id: id.clone(),
        secret: Some(created["client_secret"].as_str().unwrap().to_string()),
    };
    assert_eq!(
        t.client_credentials("default", &first, Some("api:read"))
            .await
            .status(),
        200,
        "the first secret"
    );
    assert_eq!(
        t.client_credentials("default", &second, Some("api:read"))
            .await
            .status(),
        200,
        "the second secret"
    );
    // At most two.
    let (status, error) = api.post(&path, json!({})).await;
    assert_eq!((status, okta_error(&error).0.as_str()), (400, "E0000001"));

    let (_, list) = api.get(&path).await;
    let first_id = list[0]["id"].as_str().unwrap().to_string();
    let second_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("{path}/{second_id}")).await.1["status"],
        "ACTIVE"
    );
    // An active secret cannot be deleted.
    assert_eq!(api.delete(&format!("{path}/{first_id}")).await, 403);
    let (status, s) = api
        .post(
            &format!("{path}/{first_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!((status, s["status"].as_str()), (200, Some("INACTIVE")));
    expect_error(
        t.client_credentials("default", &first, Some("api:read"))
            .await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        t.client_credentials("default", &second, Some("api:read"))
            .await
            .status(),
        200
    );
    // The last active secret cannot be deactivated.
    let (status, _) = api
        .post(
            &format!("{path}/{second_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    // Reactivated, it works again; deactivated and deleted, it is gone.
    assert_eq!(
        api.post(&format!("{path}/{first_id}/lifecycle/activate"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        t.client_credentials("default", &first, Some("api:read"))
            .await
            .status(),
        200
    );
    assert_eq!(
        api.post(
            &format!("{path}/{first_id}/lifecycle/deactivate"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(api.delete(&format!("{path}/{first_id}")).await, 204);
    assert_eq!(api.get(&path).await.1.as_array().unwrap().len(), 1);
    assert_eq!(api.get(&format!("{path}/{first_id}")).await.0, 404);
}

/// A one-shot HTTP listener on 127.0.0.1 answering every connection with `answer(n)`
/// (n: the connection's number); its URL and the count of connections.
pub async fn listener(
    answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", l.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = l.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(&answer(n)).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, count)
}

fn ok_json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_uri_is_fetched_with_limits() {
    let key = Key::ec();
    let jwks = json!({"keys": [key.jwk("k1")]}).to_string();
    let body = jwks.clone();
    let (good_url, good_hits) = listener(move |_| ok_json(&body)).await;

    // Without the setting, a loopback jwks_uri is refused at registration, and one
    // stored before that check (written to the store directly here) is never contacted.
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (status, error) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": good_url}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        okta_error(&error).1[0].starts_with("settings.oauthClient.jwks_uri: "),
        "{error}"
    );
    let id = "0oaSTOREDBEFORE".to_string();
    t.backend
        .store
        .insert_client(&gatehouse::store::Client {
            client_id: id.clone(),
            name: "Registered before".into(),
            auth_method: gatehouse::store::AuthMethod::PrivateKeyJwt,
            jwks_uri: Some(good_url.clone()),
            application_type: "service".into(),
            grant_types: vec!["client_credentials".into()],
            status: gatehouse::store::Status::Active,
            ..Default::default()
        })
        .await
        .unwrap();
    let sign = |t: &TestApp, id: &str| {
        key.sign(
            &json!({"alg": "ES256", "kid": "k1"}),
            &claims(id, &t.endpoint("default", "token"), t.clock.now()),
        )
    };
    refused(
        cc_with(&t, &id, &sign(&t, &id)).await,
        "loopback jwks_uri without allow_private_jwks_uri",
    )
    .await;
    assert_eq!(
        good_hits.load(Ordering::SeqCst),
        0,
        "no connection to a private address"
    );

    // With it (development, tests): fetched once, then cached.
    let t = TestApp::spawn_with_client_auth(ClientAuthConfig {
        allow_private_jwks_uri: true,
        ..Default::default()
    })
    .await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": good_url}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    assert_eq!(cc_with(&t, &id, &sign(&t, &id)).await.status(), 200);
    assert_eq!(cc_with(&t, &id, &sign(&t, &id)).await.status(), 200);
    assert_eq!(good_hits.load(Ordering::SeqCst), 1, "cached");

    // A redirect is not followed: the target never hears from the server.
    let body = jwks.clone();
    let (target, target_hits) = listener(move |_| ok_json(&body)).await;
    let (redirecting, _) = listener(move |_| {
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes()
    })
    .await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": redirecting}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    refused(
        cc_with(&t, &id, &sign(&t, &id)).await,
        "redirecting jwks_uri",
    )
    .await;
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );

    // A body over 64 KiB is refused, whatever it says its length is.
    let padding = " ".repeat(70 * 1024);
    let big = format!("{{\"keys\": [{}]{padding}}}", key.jwk("k1"));
    let (oversize, _) = listener(move |_| ok_json(&big)).await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": oversize}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    refused(
        cc_with(&t, &id, &sign(&t, &id)).await,
        "oversize jwks_uri body",
    )
    .await;
    let big = format!("{{\"keys\": [{}]{}}}", key.jwk("k1"), " ".repeat(70 * 1024));
    let (chunked, _) = listener(move |_| {
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{big}").into_bytes()
    })
    .await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": chunked}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    refused(
        cc_with(&t, &id, &sign(&t, &id)).await,
        "oversize body without a length",
    )
    .await;

    // A key rotated in at the jwks_uri is picked up on an unknown kid.
    let rotated = Key::ed();
    let first = json!({"keys": [key.jwk("k1")]}).to_string();
    let second = json!({"keys": [key.jwk("k1"), rotated.jwk("k2")]}).to_string();
    let (rotating, hits) = listener(move |n| ok_json(if n == 0 { &first } else { &second })).await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": rotating}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    assert_eq!(cc_with(&t, &id, &sign(&t, &id)).await.status(), 200);
    let with_new = rotated.sign(
        &json!({"alg": "EdDSA", "kid": "k2"}),
        &claims(&id, &t.endpoint("default", "token"), t.clock.now()),
    );
    assert_eq!(
        cc_with(&t, &id, &with_new).await.status(),
        200,
        "refetched on an unknown kid"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_the_methods_and_algorithms() {
    let t = TestApp::spawn().await;
    for server in ["org", "default"] {
        let url = format!("{}/.well-known/openid-configuration", t.issuer(server));
        let doc: Value = t.http.get(url).send().await.unwrap().json().await.unwrap();
        for field in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
        ] {
            let methods = doc[field].as_array().unwrap();
            for m in [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ] {
                assert!(methods.contains(&json!(m)), "{field} {m}");
            }
        }
        let algs = doc["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        for a in ["RS256", "PS256", "ES256", "EdDSA", "HS256"] {
            assert!(algs.contains(&json!(a)), "{a}");
        }
        assert!(!algs.contains(&json!("none")));
        let dpop = doc["dpop_signing_alg_values_supported"].as_array().unwrap();
        assert!(dpop.contains(&json!("ES256")) && !dpop.contains(&json!("HS256")));
    }
}

/// Not a check: what each client authentication method costs a token request, end to
/// end on loopback. `cargo test --locked --test it -- --ignored --nocapture measure_`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_client_authentication_cost() {
    const N: usize = 200;
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let basic = t.service_app().await;
    let (rsa, ec) = (Key::rsa(), Key::ec());
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [rsa.jwk("rs"), ec.jwk("es")]}}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    let aud = t.endpoint("default", "token");
    let report = |what: &str, started: std::time::Instant| {
        println!(
            "{what:<32} {:>7.2} ms per token request (mean of {N})",
            started.elapsed().as_secs_f64() * 1000.0 / N as f64
        );
    };
    let started = std::time::Instant::now();
    for _ in 0..N {
        assert_eq!(
            t.client_credentials("default", &basic, Some("api:read"))
                .await
                .status(),
            200
        );
    }
    report("client_secret_basic", started);
    for (key, kid, alg) in [(&rsa, "rs", "RS256"), (&ec, "es", "ES256")] {
        let assertions: Vec<String> = (0..N)
            .map(|_| {
                key.sign(
                    &json!({"alg": alg, "kid": kid}),
                    &claims(&id, &aud, t.clock.now()),
                )
            })
            .collect();
        let started = std::time::Instant::now();
        for a in &assertions {
            assert_eq!(cc_with(&t, &id, a).await.status(), 200);
        }
        report(&format!("private_key_jwt {alg}"), started);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_is_the_issuer_or_the_endpoint_called_and_one_value_only() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let key = Key::ec();
    let (status, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials", "authorization_code"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    let now = t.clock.now();
    let sign = |aud: Value| {
        let mut c = claims(&id, "", now);
        c["aud"] = aud;
        key.sign(&json!({"alg": "ES256", "kid": "k1"}), &c)
    };
    let (token, issuer) = (t.endpoint("default", "token"), t.issuer("default"));
    for (why, aud) in [
        (
            "the revoke URL at /token",
            json!(t.endpoint("default", "revoke")),
        ),
        (
            "the introspect URL at /token",
            json!(t.endpoint("default", "introspect")),
        ),
        ("the par URL at /token", json!(t.endpoint("default", "par"))),
        (
            "an array naming another party too",
            json!([token, "https://other.example/token"]),
        ),
        ("an array naming this endpoint twice", json!([token, token])),
        ("an empty array", json!([])),
    ] {
        refused(cc_with(&t, &id, &sign(aud)).await, why).await;
    }
    for aud in [json!(token), json!([token]), json!(issuer), json!([issuer])] {
        assert_eq!(
            cc_with(&t, &id, &sign(aud.clone())).await.status(),
            200,
            "{aud}"
        );
    }
    // RFC 9126 §2: at /par, the PAR endpoint URL (or the issuer); not the token URL.
    let par = t.endpoint("default", "par");
    let push = |assertion: String| {
        let form = vec![
            ("response_type", "code".to_string()),
            ("scope", "openid".into()),
            ("redirect_uri", REDIRECT.into()),
            ("code_challenge", CHALLENGE.into()),
            ("code_challenge_method", "S256".into()),
            ("client_id", id.clone()),
            ("client_assertion_type", JWT_BEARER.into()),
            ("client_assertion", assertion),
        ];
        t.http.post(&par).form(&form).send()
    };
    assert_eq!(push(sign(json!(par))).await.unwrap().status(), 201);
    assert_eq!(push(sign(json!(issuer))).await.unwrap().status(), 201);
    refused(
        push(sign(json!(token))).await.unwrap(),
        "the token URL at /par",
    )
    .await;
}

/// A listener on 127.0.0.1 that waits `delay` before answering each connection with
/// `answer(n)`; its URL and the count of connections.
async fn slow_listener(
    delay: std::time::Duration,
    answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", l.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = l.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = stream.write_all(&answer(n)).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_uri_fetches_are_single_flight_and_failures_are_not_refetched_per_request() {
    let t = TestApp::spawn_with_client_auth(ClientAuthConfig {
        allow_private_jwks_uri: true,
        ..Default::default()
    })
    .await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let key = Key::ec();
    // A set published for many parties: an encryption key and a P-521 key beside ours
    // are skipped, not a reason to refuse the set.
    let mut enc = Key::ec().jwk("enc");
    enc["use"] = json!("enc");
    let p521 = json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": b64(&[1u8; 66]), "y": b64(&[2u8; 66])});
    let jwks = json!({"keys": [enc, p521, key.jwk("k1")]}).to_string();
    let (url, hits) = slow_listener(std::time::Duration::from_millis(300), move |_| {
        ok_json(&jwks)
    })
    .await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": url}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    let token = t.endpoint("default", "token");
    let good = || {
        key.sign(
            &json!({"alg": "ES256", "kid": "k1"}),
            &claims(&id, &token, t.clock.now()),
        )
    };
    assert_eq!(cc_with(&t, &id, &good()).await.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // 20 concurrent assertions naming unknown kids: at most one refetch.
    let mut burst = Vec::new();
    for i in 0..20 {
        let (http, token, id) = (t.http.clone(), token.clone(), id.clone());
        let assertion = key.sign(
            &json!({"alg": "ES256", "kid": format!("made-up-{i}")}),
            &claims(&id, &token, t.clock.now()),
        );
        burst.push(tokio::spawn(async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", "api:read"),
                ("client_id", id.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ];
            http.post(&token)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for r in burst {
        assert!([401, 429].contains(&r.await.unwrap()));
    }
    assert!(
        hits.load(Ordering::SeqCst) <= 2,
        "at most one refetch: {}",
        hits.load(Ordering::SeqCst)
    );

    // A jwks_uri that fails is tried once per interval, not on every request.
    let (failing, failed) = slow_listener(std::time::Duration::ZERO, |_| {
        b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec()
    })
    .await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": failing}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    for _ in 0..4 {
        let assertion = key.sign(
            &json!({"alg": "ES256", "kid": "k1"}),
            &claims(&id, &token, t.clock.now()),
        );
        refused(cc_with(&t, &id, &assertion).await, "failing jwks_uri").await;
    }
    assert_eq!(failed.load(Ordering::SeqCst), 1, "the failure is cached");

    // Stale-while-error: keys fetched once still serve when a refetch fails.
    let jwks = json!({"keys": [key.jwk("k1")]}).to_string();
    let (flaky, tries) = slow_listener(std::time::Duration::ZERO, move |n| {
        if n == 0 {
            ok_json(&jwks)
        } else {
            b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
    })
    .await;
    let (_, app) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks_uri": flaky}),
    )
    .await;
    let id = app["id"].as_str().unwrap().to_string();
    let sign = |kid: &str| {
        key.sign(
            &json!({"alg": "ES256", "kid": kid}),
            &claims(&id, &token, t.clock.now()),
        )
    };
    assert_eq!(cc_with(&t, &id, &sign("k1")).await.status(), 200);
    refused(
        cc_with(&t, &id, &sign("k9")).await,
        "unknown kid, refetch fails",
    )
    .await;
    assert_eq!(tries.load(Ordering::SeqCst), 2);
    assert_eq!(
        cc_with(&t, &id, &sign("k1")).await.status(),
        200,
        "the last good keys still serve"
    );
}
