//! Request objects (RFC 9101, JAR) at /authorize and at PAR, over HTTP against the
//! real server, signed in the test (the `openidconnect` crate builds no request
//! objects): a `private_key_jwt` app's RSA key, a `client_secret_jwt` app's secret, and
//! every hostile case: unsigned, `none`, wrong key, wrong algorithm, expired, not yet
//! valid, replayed `jti`, wrong `aud` or `iss`, mismatched `client_id`; the per-app
//! `require_signed_request_object` switch; and the registration rules.

use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::client_jwt::{JWT_BEARER, claims as assertion_claims, register};
use crate::signer::{Key, b64, hmac_sign, jti};
use crate::support::*;

/// A `private_key_jwt` app with the code grant, its RSA key registered as `k1`, and
/// `extra` settings; its client id.
async fn jar_app(api: &Api, key: &Key, extra: Value) -> String {
    let mut settings = json!({"jwks": {"keys": [key.jwk("k1")]}});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (status, app) = register(api, "private_key_jwt", &["authorization_code"], settings).await;
    assert_eq!(status, 200, "{app}");
    app["id"].as_str().unwrap().to_string()
}

/// Good request-object claims for `client_id` at `t`'s default server.
fn object_claims(t: &TestApp, client_id: &str) -> Value {
    let now = t.clock.now();
    json!({
        "iss": client_id, "aud": t.issuer("default"), "exp": now + 300, "nbf": now,
        "iat": now, "jti": jti(), "client_id": client_id, "response_type": "code",
        "redirect_uri": REDIRECT, "scope": "openid profile", "state": "inner-state",
        "nonce": "inner-nonce", "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })
}

fn sign(key: &Key, claims: &Value) -> String {
    key.sign(
        &json!({"alg": "RS256", "kid": "k1", "typ": "oauth-authz-req+jwt"}),
        claims,
    )
}

/// `/authorize` with `client_id`, the object, and outer parameters that must be
/// ignored (a wider scope, another state).
fn authorize_url(t: &TestApp, client_id: &str, object: &str) -> String {
    t.authorize_url(
        "default",
        client_id,
        &[
            ("request", object),
            ("scope", "openid profile email offline_access"),
            ("state", "outer-state"),
        ],
    )
}

/// The error a refused request gets at the redirect URI: no `state` (the object's is
/// unknown, the outer one is not the request's), `iss`.
async fn refused_at_redirect(t: &TestApp, url: &str, error: &str, why: &str) {
    let response = t.browser().get(url).await;
    assert_eq!(response.status(), 302, "{why}");
    let loc = location(&response).unwrap();
    assert!(loc.starts_with(REDIRECT), "{why}: {loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some(error), "{why}: {loc}");
    assert_eq!(param(&loc, "state"), None, "{why}: {loc}");
    assert_eq!(param(&loc, "iss"), Some(t.issuer("default")), "{why}");
    assert!(param(&loc, "code").is_none(), "{why}");
}

/// Redeems `code` for `client_id` with a `private_key_jwt` assertion.
async fn redeem(t: &TestApp, key: &Key, client_id: &str, code: &str) -> reqwest::Response {
    let token_url = t.endpoint("default", "token");
    let assertion = key.sign(
        &json!({"alg": "RS256", "kid": "k1"}),
        &assertion_claims(client_id, &token_url, t.clock.now()),
    );
    t.http
        .post(token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parameters_come_from_the_signed_object_and_the_code_is_redeemed() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let key = Key::rsa();
    let client_id = jar_app(&api, &key, json!({})).await;
    let browser = t.browser();
    let response = browser
        .get(&authorize_url(
            &t,
            &client_id,
            &sign(&key, &object_claims(&t, &client_id)),
        ))
        .await;
    let loc = location(&response).expect("to the sign-in page");
    assert!(loc.starts_with("/login"), "{loc}");
    let response = browser.sign_in(&loc, "alice@example.com", PASSWORD).await;
    let loc = location(&response).unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("inner-state"));
    assert_eq!(param(&loc, "iss"), Some(t.issuer("default")));
    let code = param(&loc, "code").expect("a code");
    let body = expect_no_store_json(redeem(&t, &key, &client_id, &code).await).await;
    // The object's scope, not the outer one's.
    assert_eq!(body["scope"], "openid profile");
    assert!(body.get("refresh_token").is_none());
    let id_token = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "inner-nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_objects_are_refused_with_invalid_request_object() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let key = Key::rsa();
    let client_id = jar_app(&api, &key, json!({})).await;
    let good = object_claims(&t, &client_id);
    let with = |name: &str, value: Value| {
        let mut c = good.clone();
        c[name] = value;
        c["jti"] = json!(jti());
        c
    };
    let without = |name: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(name);
        if name != "jti" {
            c["jti"] = json!(jti());
        }
        c
    };
    let now = t.clock.now();
    let header = |alg: &str| b64(json!({"alg": alg, "kid": "k1"}).to_string().as_bytes());
    let payload = b64(good.to_string().as_bytes());
    let other_key = Key::rsa();
    let cases: Vec<(&str, String)> = vec![
        (
            "unsigned (two parts)",
            format!("{}.{payload}", header("RS256")),
        ),
        ("alg none", format!("{}.{payload}.", header("none"))),
        (
            "alg none with a signature",
            format!("{}.{payload}.{}", header("none"), b64(b"sig")),
        ),
        (
            "signed by another key",
            sign(&other_key, &with("state", json!("x"))),
        ),
        (
            "HS256 keyed with the public modulus",
            hmac_sign(
                "HS256",
                key.public_jwk()["n"].as_str().unwrap().as_bytes(),
                &good,
            ),
        ),
        (
            "a key in the header",
            key.sign(
                &json!({"alg": "RS256", "jwk": key.public_jwk()}),
                &with("state", json!("y")),
            ),
        ),
        ("expired", sign(&key, &with("exp", json!(now - 120)))),
        ("no exp", sign(&key, &without("exp"))),
        (
            "exp too far ahead",
            sign(&key, &with("exp", json!(now + 86_400))),
        ),
        ("not yet valid", sign(&key, &with("nbf", json!(now + 600)))),
        (
            "wrong aud",
            sign(&key, &with("aud", json!(t.issuer("org-nope")))),
        ),
        (
            "aud of the token endpoint",
            sign(&key, &with("aud", json!(t.endpoint("default", "token")))),
        ),
        (
            "wrong iss",
            sign(&key, &with("iss", json!("0oaSOMEONEELSE"))),
        ),
        (
            "mismatched client_id",
            sign(&key, &with("client_id", json!("0oaSOMEONEELSE"))),
        ),
        ("no jti", sign(&key, &without("jti"))),
        (
            "a request_uri inside",
            sign(&key, &with("request_uri", json!("https://evil.example/r"))),
        ),
        ("an encrypted object (JWE)", "a.b.c.d.e".into()),
    ];
    for (why, object) in cases {
        let url = t.authorize_url(
            "default",
            &client_id,
            &[
                ("request", &object),
                ("redirect_uri", REDIRECT),
                ("state", "outer"),
            ],
        );
        refused_at_redirect(&t, &url, "invalid_request_object", why).await;
    }
    // A response_type outside that differs from the object's.
    let object = sign(&key, &with("state", json!("z")));
    let url = t.authorize_url(
        "default",
        &client_id,
        &[
            ("request", &object),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
        ],
    );
    refused_at_redirect(&t, &url, "invalid_request_object", "response_type differs").await;

    // Replay: the first use goes on to sign-in, the second is refused.
    let once = sign(&key, &with("state", json!("once")));
    let first = t.browser().get(&authorize_url(&t, &client_id, &once)).await;
    assert!(location(&first).unwrap().starts_with("/login"));
    let url = authorize_url(&t, &client_id, &once);
    refused_at_redirect(&t, &url, "invalid_request_object", "replayed jti").await;

    // With no outer redirect_uri and no usable object there is nothing to trust: the
    // app has two redirect URIs, so the error is a page.
    let (_, app) = api.get(&format!("/api/v1/apps/{client_id}")).await;
    let mut two = app.clone();
    two["settings"]["oauthClient"]["redirect_uris"] =
        json!([REDIRECT, "https://app.example.com/other"]);
    let (status, body) = api.put(&format!("/api/v1/apps/{client_id}"), two).await;
    assert_eq!(status, 200, "{body}");
    let expired = sign(&key, &with("exp", json!(now - 120)));
    let response = t
        .browser()
        .get(&t.authorize_url(
            "default",
            &client_id,
            &[("request", &expired), ("redirect_uri", "")],
        ))
        .await;
    assert_eq!(response.status(), 400);
    assert!(location(&response).is_none());

    // request with a foreign request_uri: one or the other (RFC 9101 §5).
    let url = t.authorize_url(
        "default",
        &client_id,
        &[
            ("request", &sign(&key, &with("state", json!("both")))),
            ("request_uri", "https://evil.example/r"),
            ("redirect_uri", REDIRECT),
        ],
    );
    refused_at_redirect(&t, &url, "invalid_request", "request and request_uri").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_may_require_signed_objects_and_bind_their_algorithm() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let key = Key::rsa();
    let client_id = jar_app(
        &api,
        &key,
        json!({"require_signed_request_object": true, "request_object_signing_alg": "PS256"}),
    )
    .await;
    let (_, app) = api.get(&format!("/api/v1/apps/{client_id}")).await;
    assert_eq!(
        app["settings"]["oauthClient"]["require_signed_request_object"],
        true
    );
    assert_eq!(
        app["settings"]["oauthClient"]["request_object_signing_alg"],
        "PS256"
    );
    // A plain request: refused at the redirect URI once the client is trusted.
    let plain = t.authorize_url(
        "default",
        &client_id,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let response = t.browser().get(&plain).await;
    let loc = location(&response).unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    // RS256 is not the registered algorithm.
    let rs256 = sign(&key, &object_claims(&t, &client_id));
    let url = authorize_url(&t, &client_id, &rs256);
    refused_at_redirect(&t, &url, "invalid_request_object", "alg not registered").await;
    // PS256 is.
    let ps256 = key.sign(
        &json!({"alg": "PS256", "kid": "k1"}),
        &object_claims(&t, &client_id),
    );
    let response = t
        .browser()
        .get(&authorize_url(&t, &client_id, &ps256))
        .await;
    assert!(location(&response).unwrap().starts_with("/login"));

    // Registration: only apps whose keys the server holds, with their method's
    // algorithms, never none.
    for (method, settings) in [
        (
            "client_secret_basic",
            json!({"require_signed_request_object": true}),
        ),
        (
            "client_secret_post",
            json!({"request_object_signing_alg": "HS256"}),
        ),
        (
            "private_key_jwt",
            json!({"jwks": {"keys": [key.jwk("k1")]}, "request_object_signing_alg": "none"}),
        ),
        (
            "private_key_jwt",
            json!({"jwks": {"keys": [key.jwk("k1")]}, "request_object_signing_alg": "HS256"}),
        ),
        (
            "client_secret_jwt",
            json!({"request_object_signing_alg": "RS256"}),
        ),
    ] {
        let (status, body) =
            register(&api, method, &["authorization_code"], settings.clone()).await;
        assert_eq!(status, 400, "{method} {settings}: {body}");
        assert_eq!(body["errorCode"], "E0000001");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_jwt_app_signs_with_its_secret() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, app) = register(
        &api,
        "client_secret_jwt",
        &["authorization_code"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let client_id = app["id"].as_str().unwrap().to_string();
    let secret = app["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let object = hmac_sign("HS256", secret.as_bytes(), &object_claims(&t, &client_id));
    let response = t
        .browser()
        .get(&authorize_url(&t, &client_id, &object))
        .await;
    assert!(location(&response).unwrap().starts_with("/login"));
    let wrong = hmac_sign(
        "HS256",
        b"not the secret at all, not at all",
        &object_claims(&t, &client_id),
    );
    let url = authorize_url(&t, &client_id, &wrong);
    refused_at_redirect(&t, &url, "invalid_request_object", "wrong secret").await;
}

/// `POST /par` authenticated with a `private_key_jwt` assertion, with `form`.
async fn push(t: &TestApp, key: &Key, client_id: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let par_url = t.endpoint("default", "par");
    let assertion = key.sign(
        &json!({"alg": "RS256", "kid": "k1"}),
        &assertion_claims(client_id, &par_url, t.clock.now()),
    );
    let mut form = form.to_vec();
    form.extend([
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &assertion),
    ]);
    t.http.post(par_url).form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_request_object_is_verified_at_par() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let key = Key::rsa();
    let client_id = jar_app(&api, &key, json!({"require_signed_request_object": true})).await;
    let object = sign(&key, &object_claims(&t, &client_id));
    let response = push(&t, &key, &client_id, &[("request", &object)]).await;
    assert_eq!(response.status(), 201);
    let pushed: Value = response.json().await.unwrap();
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let browser = t.browser();
    let response = browser
        .get(&t.authorize_url("default", &client_id, &[("request_uri", request_uri)]))
        .await;
    let loc = location(&response).unwrap();
    assert!(loc.starts_with("/login"), "{loc}");
    let response = browser.sign_in(&loc, "alice@example.com", PASSWORD).await;
    let loc = location(&response).unwrap();
    assert_eq!(param(&loc, "state").as_deref(), Some("inner-state"));
    let code = param(&loc, "code").unwrap();
    expect_no_store_json(redeem(&t, &key, &client_id, &code).await).await;

    // Hostile at PAR: answered as JSON (RFC 9126 §2.3).
    expect_error(
        push(&t, &key, &client_id, &[("request", &object)]).await,
        400,
        "invalid_request_object",
    )
    .await;
    let mut wrong_aud = object_claims(&t, &client_id);
    wrong_aud["aud"] = json!(t.endpoint("default", "par"));
    expect_error(
        push(
            &t,
            &key,
            &client_id,
            &[("request", &sign(&key, &wrong_aud))],
        )
        .await,
        400,
        "invalid_request_object",
    )
    .await;
    let header = b64(json!({"alg": "none"}).to_string().as_bytes());
    let unsigned = format!(
        "{header}.{}.",
        b64(object_claims(&t, &client_id).to_string().as_bytes())
    );
    expect_error(
        push(&t, &key, &client_id, &[("request", &unsigned)]).await,
        400,
        "invalid_request_object",
    )
    .await;
    // This app must send objects: a plain push is refused.
    let plain = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    expect_error(
        push(&t, &key, &client_id, &plain).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_an_app_that_requires_signed_objects() {
    use crate::cli::{gatehouse, json_of};
    let t = TestApp::spawn().await;
    let key = Key::rsa();
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [key.jwk("k1")]}).to_string()).unwrap();
    let jwks = jwks.to_str().unwrap();
    let create = |alg: &str| {
        gatehouse(
            &t,
            &[
                "apps",
                "create",
                "--name",
                "JAR",
                "--redirect-uri",
                REDIRECT,
                "--auth-method",
                "private_key_jwt",
                "--jwks",
                jwks,
                "--request-object-signing-alg",
                alg,
                "--require-signed-request-object",
            ],
            None,
        )
    };
    let (ok, out, err) = create("RS256");
    assert!(ok, "{err}");
    let app = json_of(&out);
    assert_eq!(
        app["settings"]["oauthClient"]["require_signed_request_object"],
        true
    );
    assert_eq!(
        app["settings"]["oauthClient"]["request_object_signing_alg"],
        "RS256"
    );
    let client_id = app["client_id"].as_str().unwrap();
    let response = t
        .browser()
        .get(&authorize_url(
            &t,
            client_id,
            &sign(&key, &object_claims(&t, client_id)),
        ))
        .await;
    assert!(location(&response).unwrap().starts_with("/login"));
    let (ok, _, err) = create("none");
    assert!(!ok);
    assert!(err.contains("request_object_signing_alg"), "{err}");
}
