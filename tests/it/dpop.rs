//! DPoP (RFC 9449): tokens bound to the client's key at the token endpoint, used at
//! userinfo with a proof, `cnf` in introspection, bound refresh tokens for public
//! clients, `dpop_jkt` at /authorize, the server nonce, a per-app requirement, and the
//! hostile matrix of proofs.

use gatehouse::clock::Clock;
use gatehouse::config::ClientAuthConfig;
use serde_json::{Value, json};

use crate::client_jwt::register;
use crate::signer::{Key, b64, jti};
use crate::support::*;

/// A proof of `key` for `htm` `htu`, with `extra` claims (which replace the defaults).
fn proof(key: &Key, htm: &str, htu: &str, now: i64, extra: Value) -> String {
    let mut claims = json!({"jti": jti(), "htm": htm, "htu": htu, "iat": now});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    key.sign(
        &json!({"typ": "dpop+jwt", "alg": key.alg(), "jwk": key.public_jwk()}),
        &claims,
    )
}

fn ath(token: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

async fn post_with_proof(
    t: &TestApp,
    app: &App,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut request = t.http.post(t.endpoint("default", "token"));
    match &app.secret {
        Some(secret) => request = request.basic_auth(&app.client_id, Some(secret)),
        None => form.push(("client_id", &app.client_id)),
    }
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    request.form(&form).send().await.unwrap()
}

async fn userinfo(
    t: &TestApp,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> (u16, String, Value) {
    let mut request = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    let r = request.send().await.unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        r.status().as_u16(),
        challenge,
        r.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_are_bound_and_introspect_with_cnf() {
    let t = TestApp::spawn().await;
    t.scope("default", "api:read", false).await;
    let app = t.service_app().await;
    let key = Key::ec();
    let htu = t.endpoint("default", "token");
    let form = [("grant_type", "client_credentials"), ("scope", "api:read")];
    let p = proof(&key, "POST", &htu, t.clock.now(), json!({}));
    let body = expect_no_store_json(post_with_proof(&t, &app, &form, Some(&p)).await).await;
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(at)["cnf"]["jkt"], key.thumbprint().as_str());
    let answer = t.introspect("default", &app, at).await;
    assert_eq!(
        (answer["token_type"].as_str(), answer["cnf"]["jkt"].as_str()),
        (Some("DPoP"), Some(key.thumbprint().as_str()))
    );
    // Without a proof: a Bearer token, no cnf.
    let body = expect_no_store_json(post_with_proof(&t, &app, &form, None).await).await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        claims_of(body["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_clients_tokens_and_refresh_tokens_are_bound_and_userinfo_checks_the_proof() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("none", 0).await;
    let (a, b) = (Key::ec(), Key::ed());
    let htu = t.endpoint("default", "token");
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("scope", "openid profile offline_access")],
    );
    let browser = t.browser();
    let start = browser.get(&url).await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let code = param(&location(&back).unwrap(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let body = expect_no_store_json(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&a, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_string();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    // Without any token, userinfo offers both schemes.
    let none = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .send()
        .await
        .unwrap();
    let offered: Vec<&str> = none
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        offered.iter().any(|c| c.starts_with("Bearer"))
            && offered.iter().any(|c| c.starts_with("DPoP algs=")),
        "{offered:?}"
    );

    // userinfo: the DPoP scheme with a proof of the same key and ath.
    let ui = t.endpoint("default", "userinfo");
    let now = t.clock.now();
    let good = proof(&a, "GET", &ui, now, json!({"ath": ath(&at)}));
    let (status, _, claims) = userinfo(&t, "DPoP", &at, Some(&good)).await;
    assert_eq!(status, 200, "{claims}");
    // Replayed proof, missing ath, wrong ath, key B, no proof, as Bearer: refused.
    let (status, challenge, _) = userinfo(&t, "DPoP", &at, Some(&good)).await;
    assert!(
        status == 401
            && challenge.starts_with("DPoP ")
            && challenge.contains("invalid_dpop_proof")
            && challenge.contains("algs=\""),
        "{challenge}"
    );
    for (why, p) in [
        ("no ath", proof(&a, "GET", &ui, now, json!({}))),
        (
            "wrong ath",
            proof(&a, "GET", &ui, now, json!({"ath": ath("another token")})),
        ),
        (
            "key B",
            proof(&b, "GET", &ui, now, json!({"ath": ath(&at)})),
        ),
        (
            "wrong htm",
            proof(&a, "POST", &ui, now, json!({"ath": ath(&at)})),
        ),
    ] {
        let (status, challenge, _) = userinfo(&t, "DPoP", &at, Some(&p)).await;
        assert_eq!(status, 401, "{why}");
        assert!(
            challenge.contains("error=\"invalid_dpop_proof\""),
            "{why}: {challenge}"
        );
    }
    let (status, challenge, _) = userinfo(&t, "DPoP", &at, None).await;
    assert!(
        status == 401 && challenge.starts_with("DPoP "),
        "no proof: {challenge}"
    );
    let (status, challenge, _) = userinfo(&t, "Bearer", &at, None).await;
    assert!(
        status == 401 && challenge.contains("invalid_token"),
        "a bound token as Bearer: {challenge}"
    );

    // The refresh token is bound to key A.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    expect_error(
        post_with_proof(&t, &app, &form, None).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    expect_error(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&b, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    let body = expect_no_store_json(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&a, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        a.thumbprint().as_str()
    );
    let answer = t
        .introspect("default", &app, body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(answer["cnf"]["jkt"], a.thumbprint().as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_bound_with_dpop_jkt_needs_that_key() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.spa().await;
    let (a, b) = (Key::ec(), Key::ec());
    let htu = t.endpoint("default", "token");
    let code_for = |jkt: String| {
        let t = &t;
        let app = &app;
        async move {
            let url = t.authorize_url("default", &app.client_id, &[("dpop_jkt", jkt.as_str())]);
            let browser = t.browser();
            let start = browser.get(&url).await;
            let back = browser
                .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
                .await;
            param(&location(&back).unwrap(), "code").unwrap()
        }
    };
    let code = code_for(a.thumbprint()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    expect_error(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&b, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;
    let code = code_for(a.thumbprint()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    expect_error(
        post_with_proof(&t, &app, &form, None).await,
        400,
        "invalid_grant",
    )
    .await;
    let code = code_for(a.thumbprint()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let body = expect_no_store_json(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&a, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    // A malformed dpop_jkt is an error sent back to the client.
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("dpop_jkt", "short")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_proofs_are_invalid_dpop_proof() {
    let t = TestApp::spawn().await;
    t.scope("default", "api:read", false).await;
    let app = t.service_app().await;
    let key = Key::ec();
    let htu = t.endpoint("default", "token");
    let now = t.clock.now();
    let form = [("grant_type", "client_credentials"), ("scope", "api:read")];
    let mut private = key.public_jwk();
    private["d"] = json!(b64(&[9u8; 32]));
    let claims = json!({"jti": jti(), "htm": "POST", "htu": htu, "iat": now});
    let replayed = proof(&key, "POST", &htu, now, json!({}));
    assert_eq!(
        post_with_proof(&t, &app, &form, Some(&replayed))
            .await
            .status(),
        200
    );
    let cases: Vec<(&str, String)> = vec![
        ("wrong htm", proof(&key, "GET", &htu, now, json!({}))),
        (
            "wrong htu",
            proof(&key, "POST", &t.endpoint("org", "token"), now, json!({})),
        ),
        ("stale iat", proof(&key, "POST", &htu, now - 600, json!({}))),
        (
            "future iat",
            proof(&key, "POST", &htu, now + 600, json!({})),
        ),
        (
            "no jti",
            proof(&key, "POST", &htu, now, json!({"jti": null})),
        ),
        ("replayed jti", replayed.clone()),
        (
            "private key in jwk",
            key.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
                &claims,
            ),
        ),
        (
            "typ JWT",
            key.sign(
                &json!({"typ": "JWT", "alg": "ES256", "jwk": key.public_jwk()}),
                &claims,
            ),
        ),
        (
            "another key's jwk",
            key.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": Key::ec().public_jwk()}),
                &claims,
            ),
        ),
        (
            "alg none",
            format!(
                "{}.",
                crate::signer::signing_input(
                    &json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.public_jwk()}),
                    &claims
                )
            ),
        ),
        (
            "HS256",
            crate::signer::hmac_sign_with(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.public_jwk()}),
                &[1u8; 32],
                &claims,
            ),
        ),
        ("not a JWT", "abc".into()),
    ];
    for (why, p) in cases {
        let r = post_with_proof(&t, &app, &form, Some(&p)).await;
        assert_eq!(r.status(), 400, "{why}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{why}: {body}");
    }
    // Two DPoP headers.
    let r = t
        .http
        .post(&htu)
        .basic_auth(&app.client_id, app.secret.as_ref())
        .header("DPoP", proof(&key, "POST", &htu, now, json!({})))
        .header("DPoP", proof(&key, "POST", &htu, now, json!({})))
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_dpop_proof").await;
    // htu compared without query, with normalised case and default port.
    let loose = htu.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "?x=1";
    assert_eq!(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&key, "POST", &loose, now, json!({})))
        )
        .await
        .status(),
        200
    );
}

/// RFC 7519 §2: a proof's `iat` (and `exp` or `nbf`, if it has them) must be a JSON
/// number; a string or any other type is `invalid_dpop_proof`, not "no such claim".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_claims_that_are_not_numeric_dates_are_invalid_dpop_proof() {
    let t = TestApp::spawn().await;
    t.scope("default", "api:read", false).await;
    let app = t.service_app().await;
    let key = Key::ec();
    let htu = t.endpoint("default", "token");
    let now = t.clock.now();
    let form = [("grant_type", "client_credentials"), ("scope", "api:read")];
    for extra in [
        json!({"iat": now.to_string()}),
        json!({"iat": "x"}),
        json!({"iat": null}),
        json!({"iat": [now]}),
        json!({"nbf": "9999999999"}),
        json!({"nbf": now.to_string()}),
        json!({"exp": (now + 60).to_string()}),
        json!({"exp": false}),
    ] {
        let p = proof(&key, "POST", &htu, now, extra.clone());
        let r = post_with_proof(&t, &app, &form, Some(&p)).await;
        assert_eq!(r.status(), 400, "{extra}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{extra}: {body}");
    }
    // As numbers they pass: the type alone was refused.
    for extra in [
        json!({"nbf": now}),
        json!({"exp": now + 60}),
        json!({"iat": now as f64 + 0.5}),
    ] {
        let p = proof(&key, "POST", &htu, now, extra.clone());
        assert_eq!(
            post_with_proof(&t, &app, &form, Some(&p)).await.status(),
            200,
            "{extra}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_may_require_dpop() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (status, created) = register(
        &api,
        "client_secret_basic",
        &["client_credentials"],
        json!({"dpop_bound_access_tokens": true}),
    )
    .await;
    assert_eq!(status, 200);
    let app = App {
        client_id: created["id"].as_str().unwrap().into(),
        secret: created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .map(String::from),
    };
    let form = [("grant_type", "client_credentials"), ("scope", "api:read")];
    expect_error(
        post_with_proof(&t, &app, &form, None).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    let key = Key::rsa();
    let p = proof(
        &key,
        "POST",
        &t.endpoint("default", "token"),
        t.clock.now(),
        json!({}),
    );
    assert_eq!(
        expect_no_store_json(post_with_proof(&t, &app, &form, Some(&p)).await).await["token_type"],
        "DPoP"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_nonce_is_demanded_and_works_across_instances() {
    let t = TestApp::spawn_with_client_auth(ClientAuthConfig {
        dpop_require_nonce: true,
        ..Default::default()
    })
    .await;
    t.scope("default", "api:read", false).await;
    let app = t.service_app().await;
    let key = Key::ec();
    let htu = t.endpoint("default", "token");
    let form = [("grant_type", "client_credentials"), ("scope", "api:read")];
    let r = post_with_proof(
        &t,
        &app,
        &form,
        Some(&proof(&key, "POST", &htu, t.clock.now(), json!({}))),
    )
    .await;
    let nonce = r
        .headers()
        .get("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_str()
        .unwrap()
        .to_string();
    expect_error(r, 400, "use_dpop_nonce").await;
    expect_error(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(
                &key,
                "POST",
                &htu,
                t.clock.now(),
                json!({"nonce": "made-up"}),
            )),
        )
        .await,
        400,
        "use_dpop_nonce",
    )
    .await;
    let r = post_with_proof(
        &t,
        &app,
        &form,
        Some(&proof(
            &key,
            "POST",
            &htu,
            t.clock.now(),
            json!({"nonce": nonce}),
        )),
    )
    .await;
    let body = expect_no_store_json(r).await;
    assert_eq!(body["token_type"], "DPoP");
    // Without openid the token has no userinfo; what matters is the nonce challenge at a
    // resource endpoint: 401 with WWW-Authenticate DPoP error="use_dpop_nonce".
    let at = body["access_token"].as_str().unwrap();
    let ui = t.endpoint("default", "userinfo");
    let p = proof(&key, "GET", &ui, t.clock.now(), json!({"ath": ath(at)}));
    let r = t
        .http
        .get(&ui)
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("dpop-nonce").is_some());
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("use_dpop_nonce")
    );
    // A nonce stays good into the next window, not beyond.
    t.clock.advance(gatehouse::crypto::DPOP_NONCE_WINDOW);
    let p = proof(&key, "POST", &htu, t.clock.now(), json!({"nonce": nonce}));
    assert_eq!(
        post_with_proof(&t, &app, &form, Some(&p)).await.status(),
        200
    );
    t.clock.advance(gatehouse::crypto::DPOP_NONCE_WINDOW);
    let p = proof(&key, "POST", &htu, t.clock.now(), json!({"nonce": nonce}));
    expect_error(
        post_with_proof(&t, &app, &form, Some(&p)).await,
        400,
        "use_dpop_nonce",
    )
    .await;
}

/// A push to /par as `app` (HTTP Basic) with an optional DPoP header.
async fn push_with_proof(
    t: &TestApp,
    app: &App,
    extra: &[(&str, &str)],
    proof: Option<&str>,
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    let mut request = t
        .http
        .post(t.endpoint("default", "par"))
        .basic_auth(&app.client_id, app.secret.as_ref());
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    request.form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_at_par_binds_the_code_to_its_key() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let (a, b) = (Key::ec(), Key::ed());
    let par = t.endpoint("default", "par");
    let htu = t.endpoint("default", "token");
    // RFC 9449 §10.1: the proof's htu is the PAR endpoint.
    let code_after_push = |p: String| {
        let (t, app) = (&t, &app);
        async move {
            let r = push_with_proof(t, app, &[], Some(&p)).await;
            assert_eq!(r.status(), 201);
            let uri: Value = r.json().await.unwrap();
            let mut url = url::Url::parse(&t.endpoint("default", "authorize")).unwrap();
            url.query_pairs_mut()
                .append_pair("client_id", &app.client_id)
                .append_pair("request_uri", uri["request_uri"].as_str().unwrap());
            let browser = t.browser();
            let start = browser.get(url.as_str()).await;
            let back = browser
                .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
                .await;
            param(&location(&back).unwrap(), "code").unwrap()
        }
    };
    for (why, other) in [("another key", Some(&b)), ("no proof", None)] {
        let code = code_after_push(proof(&a, "POST", &par, t.clock.now(), json!({}))).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let p = other.map(|k| proof(k, "POST", &htu, t.clock.now(), json!({})));
        let r = post_with_proof(&t, &app, &form, p.as_deref()).await;
        assert_eq!(r.status(), 400, "{why}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "invalid_grant",
            "{why}"
        );
    }
    let code = code_after_push(proof(&a, "POST", &par, t.clock.now(), json!({}))).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let body = expect_no_store_json(
        post_with_proof(
            &t,
            &app,
            &form,
            Some(&proof(&a, "POST", &htu, t.clock.now(), json!({}))),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        a.thumbprint().as_str()
    );

    // The proof must be for /par, and agree with a pushed dpop_jkt.
    let wrong_htu = push_with_proof(
        &t,
        &app,
        &[],
        Some(&proof(&a, "POST", &htu, t.clock.now(), json!({}))),
    )
    .await;
    expect_error(wrong_htu, 400, "invalid_dpop_proof").await;
    let b_jkt = b.thumbprint();
    let disagree = push_with_proof(
        &t,
        &app,
        &[("dpop_jkt", b_jkt.as_str())],
        Some(&proof(&a, "POST", &par, t.clock.now(), json!({}))),
    )
    .await;
    expect_error(disagree, 400, "invalid_dpop_proof").await;
    let a_jkt = a.thumbprint();
    let agree = push_with_proof(
        &t,
        &app,
        &[("dpop_jkt", a_jkt.as_str())],
        Some(&proof(&a, "POST", &par, t.clock.now(), json!({}))),
    )
    .await;
    assert_eq!(agree.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_sends_the_nonce_on_success_and_a_proof_names_the_actual_method() {
    let t = TestApp::spawn_with_client_auth(ClientAuthConfig {
        dpop_require_nonce: true,
        ..Default::default()
    })
    .await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("none", 0).await;
    let key = Key::ec();
    let htu = t.endpoint("default", "token");
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[("scope", "openid profile")]))
        .await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let code = param(&location(&back).unwrap(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let first = post_with_proof(
        &t,
        &app,
        &form,
        Some(&proof(&key, "POST", &htu, t.clock.now(), json!({}))),
    )
    .await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_string();
    expect_error(first, 400, "use_dpop_nonce").await;
    let r = post_with_proof(
        &t,
        &app,
        &form,
        Some(&proof(
            &key,
            "POST",
            &htu,
            t.clock.now(),
            json!({"nonce": nonce}),
        )),
    )
    .await;
    assert!(
        r.headers().get("dpop-nonce").is_some(),
        "the token endpoint sends the nonce on success"
    );
    let body = expect_no_store_json(r).await;
    let at = body["access_token"].as_str().unwrap().to_string();

    let ui = t.endpoint("default", "userinfo");
    let get = |htm: &str| {
        proof(
            &key,
            htm,
            &ui,
            t.clock.now(),
            json!({"ath": ath(&at), "nonce": nonce}),
        )
    };
    let r = t
        .http
        .get(&ui)
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", get("GET"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("dpop-nonce").is_some(),
        "userinfo sends the nonce on success (RFC 9449 §8)"
    );
    // HEAD is answered by the GET route; its proof must say HEAD.
    let r = t
        .http
        .head(&ui)
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", get("GET"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a GET proof for a HEAD request");
    let r = t
        .http
        .head(&ui)
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", get("HEAD"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A kid beside the jwk is allowed and ignored.
    let with_kid = key.sign(
        &json!({"typ": "DPoP+JWT", "alg": key.alg(), "jwk": key.public_jwk(), "kid": "anything"}),
        &json!({"jti": jti(), "htm": "GET", "htu": ui, "iat": t.clock.now(), "ath": ath(&at), "nonce": nonce}),
    );
    let r = t
        .http
        .get(&ui)
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", with_kid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
