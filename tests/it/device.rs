//! The device authorization grant (RFC 8628) over HTTP: `/oauth2/{server}/v1/device/authorize`,
//! the `/activate` page driven as a browser would (cookies, CSRF token, forms), and
//! polling at the token endpoint with every answer §3.5 defines; the codes are single
//! use across two instances on one PostgreSQL database; wrong user codes are throttled.

use gatehouse::admin::apps;
use gatehouse::oauth::grants::device_code::{GRANT_TYPE, normalise, user_code_hash};
use gatehouse::store::Page;
use serde_json::Value;

use crate::support::*;

/// A public app (a TV, a CLI) with the device grant and refresh tokens.
async fn tv_app(t: &TestApp) -> App {
    t.create_app(apps::NewApp {
        name: "Living Room TV".into(),
        auth_method: Some("none".into()),
        grant_types: vec![GRANT_TYPE.into(), "refresh_token".into()],
        ..Default::default()
    })
    .await
}

async fn start(t: &TestApp, app: &App, scope: &str) -> Value {
    let response = t
        .http
        .post(t.endpoint("default", "device/authorize"))
        .form(&[("client_id", app.client_id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap();
    expect_no_store_json(response).await
}

async fn poll_at(
    base: &str,
    http: &reqwest::Client,
    app: &App,
    device_code: &str,
) -> reqwest::Response {
    http.post(format!("{base}/oauth2/default/v1/token"))
        .form(&[
            ("grant_type", GRANT_TYPE),
            ("client_id", app.client_id.as_str()),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap()
}

async fn poll(t: &TestApp, app: &App, device_code: &str) -> reqwest::Response {
    poll_at(&t.base, &t.http, app, device_code).await
}

/// Enters `user_code` at `/activate` (from `verification_uri_complete`), signs in as
/// `login`, checks what the page shows, and answers `decision`. The last page.
async fn answer(browser: &Browser, user_code: &str, login: &str, decision: &str) -> (u16, String) {
    let page = browser
        .get(&format!("/activate?user_code={user_code}"))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(input_value(&html, "user_code").as_deref(), Some(user_code));
    let csrf = input_value(&html, "csrf").expect("a CSRF token");
    let page = browser
        .post_form(
            "/activate",
            &[("csrf", &csrf), ("step", "code"), ("user_code", user_code)],
        )
        .await;
    assert_eq!(page.status(), 200);
    let mut html = page.text().await.unwrap();
    if html.contains("name=\"password\"") {
        assert!(html.contains(" TV</strong>"), "the app's name: {html}");
        let page = browser
            .post_form(
                "/activate",
                &[
                    ("csrf", &csrf),
                    ("step", "sign_in"),
                    ("user_code", user_code),
                    ("username", login),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status(), 200);
        html = page.text().await.unwrap();
    }
    assert!(html.contains("Connect your device?"), "{html}");
    assert!(
        html.contains(" TV</strong>") && html.contains(user_code),
        "{html}"
    );
    assert!(html.contains(login), "signed in as: {html}");
    let done = browser
        .post_form(
            "/activate",
            &[
                ("csrf", &csrf),
                ("step", "decide"),
                ("user_code", user_code),
                ("decision", decision),
            ],
        )
        .await;
    (done.status().as_u16(), done.text().await.unwrap())
}

async fn events(t: &TestApp, event_type: &str) -> Vec<Value> {
    let page = Page {
        limit: 1000,
        ..Page::default()
    };
    t.backend
        .store
        .query_events(&page)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .map(|e| serde_json::from_str(&e.event).unwrap())
        .collect()
}

/// The whole grant: pending, slow_down (the interval raised 5 s each time and kept),
/// pending again once the device waits long enough, the user's approval, the tokens
/// (ID token for `openid`, refresh token for `offline_access`) exactly once, then
/// `invalid_grant`. Only hashes of the codes are stored; the System Log has the
/// approval and the grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_answers_each_state_and_the_tokens_come_once() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = tv_app(&t).await;
    let started = start(&t, &app, "openid profile offline_access").await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(started["verification_uri"], format!("{}/activate", t.base));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{}/activate?user_code={user_code}", t.base)
    );
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(600), Some(5))
    );
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
    );
    assert!(device_code.len() >= 43);
    let row = t
        .backend
        .store
        .find_user_code(&user_code_hash(&normalise(user_code).unwrap()))
        .await
        .unwrap()
        .expect("stored by the user code's hash");
    assert_eq!(
        row.device_code_hash,
        gatehouse::crypto::sha256(device_code.as_bytes())
    );

    expect_error(
        poll(&t, &app, device_code).await,
        400,
        "authorization_pending",
    )
    .await;
    // At once again: too soon.
    expect_error(poll(&t, &app, device_code).await, 400, "slow_down").await;
    // 6 s later: too soon for the raised 10 s interval.
    t.clock.advance(6);
    expect_error(poll(&t, &app, device_code).await, 400, "slow_down").await;
    t.clock.advance(16);
    expect_error(
        poll(&t, &app, device_code).await,
        400,
        "authorization_pending",
    )
    .await;

    let (status, page) = answer(&t.browser(), user_code, &alice.login, "allow").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Device connected"), "{page}");

    t.clock.advance(20);
    let tokens = expect_no_store_json(poll(&t, &app, device_code).await).await;
    assert_eq!(tokens["token_type"], "Bearer");
    let id = claims_of(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(id["sub"], alice.id.as_str());
    assert_eq!(id["aud"], app.client_id.as_str());
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["cid"], app.client_id.as_str());
    assert_eq!(access["uid"], alice.id.as_str());
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert_eq!(tokens["scope"], "openid profile offline_access");
    // The refresh token works.
    let refreshed = t
        .http
        .post(t.endpoint("default", "token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", app.client_id.as_str()),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refreshed.status(),
        200,
        "{}",
        refreshed.text().await.unwrap()
    );

    // Redeemed: every later poll is invalid_grant, however long the device waits.
    t.clock.advance(10);
    expect_error(poll(&t, &app, device_code).await, 400, "invalid_grant").await;
    t.clock.advance(10);
    expect_error(poll(&t, &app, device_code).await, 400, "invalid_grant").await;
    // And the page says the code is used.
    let browser = t.browser();
    let page = browser.get("/activate").await.text().await.unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let used = browser
        .post_form(
            "/activate",
            &[("csrf", &csrf), ("step", "code"), ("user_code", user_code)],
        )
        .await;
    assert_eq!(used.status(), 400);
    assert!(used.text().await.unwrap().contains("already been used"));

    let approved = events(&t, "app.oauth2.device.activate").await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["outcome"]["result"], "SUCCESS");
    let granted = events(&t, "app.oauth2.token.grant").await;
    assert!(
        granted.iter().any(|e| e["outcome"]["result"] == "SUCCESS"
            && e["debugContext"]["debugData"]["grantType"] == GRANT_TYPE),
        "{granted:?}"
    );
    // "Not yet" polls are not events; the refused replays are.
    assert!(
        granted
            .iter()
            .all(|e| !e.to_string().contains("authorization_pending")),
        "{granted:?}"
    );
}

/// Deny: the device hears `access_denied` (400, RFC 8628 §3.5), and nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_is_access_denied() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = tv_app(&t).await;
    let started = start(&t, &app, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    let (status, page) = answer(&t.browser(), user_code, &alice.login, "deny").await;
    assert_eq!(status, 200);
    assert!(page.contains("Device not connected"), "{page}");
    expect_error(poll(&t, &app, device_code).await, 400, "access_denied").await;
    t.clock.advance(10);
    expect_error(poll(&t, &app, device_code).await, 400, "access_denied").await;
    let denied = events(&t, "app.oauth2.device.activate").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["outcome"]["result"], "FAILURE");
}

/// Past `expires_in` (the clock moved, not the test's wall time): `expired_token` at
/// the token endpoint and a clear page at `/activate`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_expired_token_and_a_clear_page() {
    let t = TestApp::spawn().await;
    let app = tv_app(&t).await;
    let started = start(&t, &app, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    t.clock.advance(600);
    expect_error(poll(&t, &app, device_code).await, 400, "expired_token").await;
    let browser = t.browser();
    let page = browser.get("/activate").await.text().await.unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let expired = browser
        .post_form(
            "/activate",
            &[("csrf", &csrf), ("step", "code"), ("user_code", user_code)],
        )
        .await;
    assert_eq!(expired.status(), 400);
    assert!(expired.text().await.unwrap().contains("Code expired"));
}

/// Every refusal with its RFC answer: an app without the grant type
/// (`unauthorized_client` at both endpoints), a scope the server does not offer, a
/// wrong secret, a missing or unknown device code, another app's device code, a
/// repeated parameter; and `/activate` without its CSRF token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_documented_answer() {
    let t = TestApp::spawn().await;
    let tv = tv_app(&t).await;
    let spa = t.spa().await;
    let device_authorize = t.endpoint("default", "device/authorize");
    let post = |url: String, form: Vec<(&'static str, String)>| {
        let http = t.http.clone();
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    // No device grant on the app.
    let r = post(
        device_authorize.clone(),
        vec![("client_id", spa.client_id.clone())],
    )
    .await;
    expect_error(r, 400, "unauthorized_client").await;
    let r = post(
        t.endpoint("default", "token"),
        vec![
            ("grant_type", GRANT_TYPE.into()),
            ("client_id", spa.client_id.clone()),
            ("device_code", "x".into()),
        ],
    )
    .await;
    expect_error(r, 400, "unauthorized_client").await;
    // A scope nobody offers.
    let r = post(
        device_authorize.clone(),
        vec![
            ("client_id", tv.client_id.clone()),
            ("scope", "openid launch:missiles".into()),
        ],
    )
    .await;
    expect_error(r, 400, "invalid_scope").await;
    // An unknown client, and a confidential one with a wrong secret.
    let r = post(
        device_authorize.clone(),
        vec![("client_id", "0oanobody".into())],
    )
    .await;
    expect_error(r, 401, "invalid_client").await;
    let web = t
        .create_app(apps::NewApp {
            name: "Confidential TV".into(),
            auth_method: Some("client_secret_post".into()),
            grant_types: vec![GRANT_TYPE.into()],
            ..Default::default()
        })
        .await;
    let r = post(
        device_authorize.clone(),
        vec![
            ("client_id", web.client_id.clone()),
            ("client_secret", "wrong".into()),
        ],
    )
    .await;
    expect_error(r, 401, "invalid_client").await;
    let r = post(
        device_authorize.clone(),
        vec![
            ("client_id", web.client_id.clone()),
            ("client_secret", web.secret.clone().unwrap()),
            ("scope", "openid".into()),
        ],
    )
    .await;
    let web_codes = expect_no_store_json(r).await;
    // Repeated parameters.
    let r = post(
        device_authorize.clone(),
        vec![
            ("client_id", tv.client_id.clone()),
            ("scope", "openid".into()),
            ("scope", "profile".into()),
        ],
    )
    .await;
    expect_error(r, 400, "invalid_request").await;

    let token = t.endpoint("default", "token");
    let r = post(
        token.clone(),
        vec![
            ("grant_type", GRANT_TYPE.into()),
            ("client_id", tv.client_id.clone()),
        ],
    )
    .await;
    expect_error(r, 400, "invalid_request").await;
    expect_error(
        poll(&t, &tv, "not-a-device-code").await,
        400,
        "invalid_grant",
    )
    .await;
    // Another app's device code is not this one's.
    let theirs = web_codes["device_code"].as_str().unwrap();
    expect_error(poll(&t, &tv, theirs).await, 400, "invalid_grant").await;
    // Nor another server's.
    let mine = start(&t, &tv, "openid").await;
    let r = post(
        t.endpoint("org", "token"),
        vec![
            ("grant_type", GRANT_TYPE.into()),
            ("client_id", tv.client_id.clone()),
            ("device_code", mine["device_code"].as_str().unwrap().into()),
        ],
    )
    .await;
    expect_error(r, 400, "invalid_grant").await;

    // /activate: a form without the CSRF token, an unknown step.
    let browser = t.browser();
    let page = browser.get("/activate").await;
    assert_eq!(page.status(), 200);
    let csrf = input_value(&page.text().await.unwrap(), "csrf").unwrap();
    let user_code = mine["user_code"].as_str().unwrap();
    let r = browser
        .post_form("/activate", &[("step", "code"), ("user_code", user_code)])
        .await;
    assert_eq!(r.status(), 403);
    let r = browser
        .post_form(
            "/activate",
            &[
                ("csrf", &csrf),
                ("step", "approve-everything"),
                ("user_code", user_code),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    // Deciding without a session asks for the code (and a sign-in) again.
    let r = browser
        .post_form(
            "/activate",
            &[
                ("csrf", &csrf),
                ("step", "decide"),
                ("user_code", user_code),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
    expect_error(
        poll(&t, &tv, mine["device_code"].as_str().unwrap()).await,
        400,
        "authorization_pending",
    )
    .await;
    // A wrong password on the page's sign-in: the form again, 401.
    let r = browser
        .post_form(
            "/activate",
            &[
                ("csrf", &csrf),
                ("step", "sign_in"),
                ("user_code", user_code),
                ("username", "nobody@example.com"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("not right"));
}

/// RFC 8628 §5.1: wrong user codes from one address are throttled (the 11th within
/// the window waits, with 429 and `Retry-After`), and while the address waits even a
/// right code is not looked up; after the wait it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_code_guessing_is_throttled() {
    let t = TestApp::spawn().await;
    let app = tv_app(&t).await;
    let started = start(&t, &app, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let browser = t.browser();
    let page = browser.get("/activate").await.text().await.unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let guesses = [
        "BCDF-GHJK",
        "bcdf ghjl",
        "ZZZZ-ZZZZ",
        "XXXX-XXXX",
        "AEIO-U123",
    ];
    for i in 0..10 {
        let guess = guesses[i % guesses.len()];
        // A guess that happens to be the right one is skipped.
        if normalise(guess) == normalise(user_code) {
            continue;
        }
        let r = browser
            .post_form(
                "/activate",
                &[("csrf", &csrf), ("step", "code"), ("user_code", guess)],
            )
            .await;
        assert_eq!(r.status(), 400, "guess {i}");
        assert!(r.text().await.unwrap().contains("That code is not right"));
    }
    for code in ["MMMM-MMMM", user_code] {
        let r = browser
            .post_form(
                "/activate",
                &[("csrf", &csrf), ("step", "code"), ("user_code", code)],
            )
            .await;
        assert_eq!(r.status(), 429, "{code}");
        assert!(r.headers().contains_key("retry-after"));
        assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    }
    t.clock.advance(3);
    let r = browser
        .post_form(
            "/activate",
            &[("csrf", &csrf), ("step", "code"), ("user_code", user_code)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Living Room TV"));
}

/// Two instances on one PostgreSQL database, polled at once with one approved code:
/// exactly one poll gets tokens, every other gets `invalid_grant`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_racing_one_approved_code_issue_tokens_once() {
    let a = TestApp::spawn_postgres().await;
    let b = a.sibling().await;
    let alice = a.user("alice@example.com").await;
    let app = tv_app(&a).await;
    let started = start(&a, &app, "openid offline_access").await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap().to_string();
    // Approved through the other instance.
    let (status, page) = answer(&b.browser(), user_code, &alice.login, "allow").await;
    assert_eq!(status, 200, "{page}");
    let app = std::sync::Arc::new(app);
    let mut polls = Vec::new();
    for i in 0..12 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let http = a.http.clone();
        let app = app.clone();
        let device_code = device_code.clone();
        polls.push(tokio::spawn(async move {
            let r = poll_at(&base, &http, &app, &device_code).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut granted = 0;
    for p in polls {
        let (status, body) = p.await.unwrap();
        match status {
            200 => {
                granted += 1;
                assert!(body["refresh_token"].is_string(), "{body}");
            }
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(granted, 1, "exactly one poll gets tokens");
}

/// Okta's native device app through the management API, the same grant through the
/// command line, and a policy rule naming it in `grantTypes`: each app can start the
/// grant at a custom server whose only rule is that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_cli_register_device_apps_and_rules_admit_the_grant() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let body = serde_json::json!({ "name": "oidc_client", "label": "Living Room TV", "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "none" } },
        "settings": { "oauthClient": { "grant_types": [GRANT_TYPE, "refresh_token"], "application_type": "native" } } });
    let (status, created) = api.post("/api/v1/apps", body).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        created["settings"]["oauthClient"]["grant_types"],
        serde_json::json!([GRANT_TYPE, "refresh_token"])
    );
    let from_api = App {
        client_id: created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .into(),
        secret: None,
    };
    let (ok, out, err) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "CLI on a TV",
            "--auth-method",
            "none",
            "--grant-type",
            GRANT_TYPE,
        ],
        None,
    );
    assert!(ok, "{err}");
    let from_cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        from_cli["settings"]["oauthClient"]["application_type"],
        "native"
    );
    let from_cli = App {
        client_id: from_cli["client_id"].as_str().unwrap().into(),
        secret: None,
    };

    // A server whose one rule admits only the device grant.
    let (status, server) = api
        .post(
            "/api/v1/authorizationServers",
            serde_json::json!({ "name": "TVs", "audiences": ["api://tv"] }),
        )
        .await;
    assert_eq!(status, 201, "{server}");
    let server_id = server["id"].as_str().unwrap();
    let (status, policy) = api
        .post(
            &format!("/api/v1/authorizationServers/{server_id}/policies"),
            serde_json::json!({ "type": "OAUTH_AUTHORIZATION_POLICY", "name": "TVs", "priority": 1,
                "conditions": { "clients": { "include": ["ALL_CLIENTS"] } } }),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let policy_id = policy["id"].as_str().unwrap();
    let (status, rule) = api
        .post(
            &format!("/api/v1/authorizationServers/{server_id}/policies/{policy_id}/rules"),
            serde_json::json!({ "name": "Devices", "type": "RESOURCE_ACCESS", "priority": 1,
                "conditions": { "people": { "groups": { "include": ["EVERYONE"] } },
                    "grantTypes": { "include": [GRANT_TYPE] }, "scopes": { "include": ["*"] } } }),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(
        rule["conditions"]["grantTypes"]["include"],
        serde_json::json!([GRANT_TYPE])
    );
    let alice = t.user("alice@example.com").await;
    for app in [&from_api, &from_cli] {
        let response = t
            .http
            .post(t.endpoint(server_id, "device/authorize"))
            .form(&[("client_id", app.client_id.as_str()), ("scope", "openid")])
            .send()
            .await
            .unwrap();
        let started = expect_no_store_json(response).await;
        let user_code = started["user_code"].as_str().unwrap();
        let (status, page) = answer(&t.browser(), user_code, &alice.login, "allow").await;
        assert_eq!(status, 200, "{page}");
        let response = t
            .http
            .post(t.endpoint(server_id, "token"))
            .form(&[
                ("grant_type", GRANT_TYPE),
                ("client_id", app.client_id.as_str()),
                ("device_code", started["device_code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        let tokens = expect_no_store_json(response).await;
        assert_eq!(
            claims_of(tokens["access_token"].as_str().unwrap())["aud"],
            "api://tv"
        );
    }
    // Discovery names the endpoint and the grant on every server.
    for server in ["org", "default", server_id] {
        let document: Value = t
            .http
            .get(format!(
                "{}/.well-known/openid-configuration",
                t.issuer(server)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            document["device_authorization_endpoint"],
            t.endpoint(server, "device/authorize")
        );
        assert!(
            document["grant_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == GRANT_TYPE)
        );
    }
}

/// RFC 8628 §5.1 against a guesser with many addresses: 100 wrong codes from 100
/// addresses (each far below its own limit) block the global counter, so the next
/// address, with the right code, waits too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_code_guessing_from_many_addresses_is_throttled_globally() {
    let t = TestApp::spawn_configured(|c| {
        c.trusted_proxies = vec![gatehouse::config::IpNet::parse("127.0.0.0/8").unwrap()];
    })
    .await;
    let app = tv_app(&t).await;
    let started = start(&t, &app, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let browser = t.browser();
    let page = browser.get("/activate").await.text().await.unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let cookie = format!(
        "gh_csrf={}",
        browser.cookie("gh_csrf").expect("the CSRF cookie")
    );
    let post_from = |address: String, code: String| {
        let http = t.http.clone();
        let url = format!("{}/activate", t.base);
        let cookie = cookie.clone();
        let csrf = csrf.clone();
        async move {
            http.post(url)
                .header("x-forwarded-for", address)
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("step", "code"),
                    ("user_code", &code),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for i in 0..100 {
        let r = post_from(format!("198.51.100.{}", i + 1), "AEIO-U000".into()).await;
        assert_eq!(r.status(), 400, "guess {i}");
    }
    let r = post_from("203.0.113.7".into(), user_code.to_string()).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

/// Three real `gatehouse serve` processes on one PostgreSQL database (the
/// `tests/it/multi` harness): the request starts at one, the user approves at another,
/// and twelve polls at once spread over all three get tokens exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_polling_one_approved_code_issue_tokens_once() {
    let c = crate::multi::cluster::Cluster::start(3).await;
    let alice = c.user("alice@example.com");
    let (ok, out, err) = c.gatehouse(
        &[
            "apps",
            "create",
            "--name",
            "Living Room TV",
            "--auth-method",
            "none",
            "--grant-type",
            GRANT_TYPE,
            "--grant-type",
            "refresh_token",
        ],
        None,
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let app = std::sync::Arc::new(App {
        client_id: created["client_id"].as_str().unwrap().into(),
        secret: None,
    });
    let bases = c.bases();
    let response = c
        .http
        .post(format!("{}/oauth2/default/v1/device/authorize", bases[0]))
        .form(&[
            ("client_id", app.client_id.as_str()),
            ("scope", "openid offline_access"),
        ])
        .send()
        .await
        .unwrap();
    let started = expect_no_store_json(response).await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap().to_string();
    let (status, page) = answer(&Browser::at(&bases[1]), user_code, &alice.login, "allow").await;
    assert_eq!(status, 200, "{page}");
    let mut polls = Vec::new();
    for i in 0..12 {
        let base = bases[i % 3].clone();
        let http = c.http.clone();
        let app = app.clone();
        let device_code = device_code.clone();
        polls.push(tokio::spawn(async move {
            let r = poll_at(&base, &http, &app, &device_code).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut granted = 0;
    for p in polls {
        match p.await.unwrap() {
            (200, body) => {
                granted += 1;
                assert!(body["refresh_token"].is_string(), "{body}");
            }
            (400, body) => assert_eq!(body["error"], "invalid_grant", "{body}"),
            (status, body) => panic!("{status}: {body}"),
        }
    }
    assert_eq!(granted, 1, "exactly one poll gets tokens");
    let again = poll_at(&bases[2], &c.http, &app, &device_code).await;
    expect_error(again, 400, "invalid_grant").await;
}
