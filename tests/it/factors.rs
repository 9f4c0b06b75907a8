//! Second factors over HTTP: TOTP enrollment in sign-in when `acr_values` asks for
//! two factors, the verify step with a TOTP code and a recovery code, the ID token's
//! `amr`/`acr`, and the hostile cases: a wrong code, a replayed code within its
//! window, a used recovery code, brute force throttled, enrollment refused to someone
//! who has a factor, `prompt=none` without the factor.

use gatehouse::clock::Clock;
use gatehouse::factors::totp;

use crate::support::*;

const TWO_FACTORS: (&str, &str) = ("acr_values", "urn:okta:loa:2fa:any");

/// The text between `start` and the next `end` in `html`.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let at = html.find(start)? + start.len();
    Some(html[at..at + html[at..].find(end)?].to_string())
}

fn code_now(t: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_at(t.clock.now()))
}

/// Posts the verify form of the page at `location` with `method` and `code`.
async fn verify(browser: &Browser, location: &str, method: &str, code: &str) -> reqwest::Response {
    let page = browser.get(location).await;
    assert_eq!(page.status(), 200, "the verify page");
    let html = page.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    browser
        .post_form(
            "/signin/verify",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("method", method),
                ("code", code),
            ],
        )
        .await
}

/// Signs in with the password for a request asking two factors: where the browser is
/// sent next.
async fn password_step(t: &TestApp, browser: &Browser, app: &App, login: &str) -> String {
    let url = t.authorize_url("default", &app.client_id, &[TWO_FACTORS]);
    let response = browser.get(&url).await;
    let login_page = location(&response).expect("to the sign-in page");
    let response = browser.sign_in(&login_page, login, PASSWORD).await;
    assert_eq!(response.status(), 303);
    location(&response).unwrap()
}

async fn id_token_claims(
    t: &TestApp,
    app: &App,
    response: &reqwest::Response,
) -> serde_json::Value {
    let loc = location(response).expect("a redirect to the client");
    let code = param(&loc, "code").expect("a code");
    let tokens = expect_no_store_json(t.redeem("default", app, &code).await).await;
    claims_of(tokens["id_token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_and_recovery_codes_in_sign_in() {
    let t = TestApp::spawn().await;
    t.user("ada@example.com").await;
    let app = t.web_app().await;

    // Without acr_values the password is enough, and the ID token says so.
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "ada@example.com").await;
    let tokens = expect_no_store_json(t.redeem("default", &app, &code).await).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:okta:loa:1fa:pwd");

    // That session has not proved two factors: prompt=none cannot ask for one.
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[TWO_FACTORS, ("prompt", "none")],
    );
    let loc = location(&browser.get(&url).await).unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("interaction_required")
    );
    // Without prompt=none the session's person is asked to set one up (no password).
    let url = t.authorize_url("default", &app.client_id, &[TWO_FACTORS]);
    let loc = location(&browser.get(&url).await).unwrap();
    assert!(loc.starts_with("/signin/enroll?tx="), "{loc}");

    // Enrollment in sign-in: the QR code and the key; a wrong code, then the right one.
    let browser = t.browser();
    let next = password_step(&t, &browser, &app, "ada@example.com").await;
    assert!(next.starts_with("/signin/enroll?tx="), "{next}");
    let page = browser.get(&next).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg role=\"img\""), "an inline QR code");
    let secret_text = between(&html, "<code id=\"totp-secret\">", "</code>").unwrap();
    let secret = totp::base32_decode(&secret_text).unwrap();
    assert_eq!(secret.len(), 20);
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let factor_id = input_value(&html, "factor_id").unwrap();
    let right = code_now(&t, &secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let post = |code: String| {
        let fields = [
            ("tx", tx.clone()),
            ("csrf", csrf.clone()),
            ("factor_id", factor_id.clone()),
            ("code", code),
        ];
        let browser = &browser;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form("/signin/enroll", &pairs).await
        }
    };
    let failed = post(wrong.to_string()).await;
    assert_eq!(failed.status(), 401);
    let again = failed.text().await.unwrap();
    assert!(again.contains(&secret_text), "the same key is shown again");
    let enrolled = post(right.clone()).await;
    assert_eq!(enrolled.status(), 200);
    let html = enrolled.text().await.unwrap();
    let codes: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|part| part[..part.find("</code>").unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let done = browser
        .post_form("/signin/continue", &[("tx", &tx), ("csrf", &csrf)])
        .await;
    assert_eq!(done.status(), 303);
    let claims = id_token_claims(&t, &app, &done).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:okta:loa:2fa:any");
    // The continue form works once.
    let replay = browser
        .post_form("/signin/continue", &[("tx", &tx), ("csrf", &csrf)])
        .await;
    assert_eq!(replay.status(), 400);

    // The new session has proved two factors: the next request needing them is answered.
    let url = t.authorize_url("default", &app.client_id, &[TWO_FACTORS]);
    let response = browser.get(&url).await;
    let claims = id_token_claims(&t, &app, &response).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // Another browser: the password, then the verify step. The code used at enrollment
    // is refused within its window (replay); the next step's code works.
    let other = t.browser();
    let next = password_step(&t, &other, &app, "ada@example.com").await;
    assert!(next.starts_with("/signin/verify?tx="), "{next}");
    // Someone with only the password cannot enroll a factor of their own instead.
    let enroll_instead = other
        .get(&next.replace("/signin/verify", "/signin/enroll"))
        .await;
    assert_eq!(enroll_instead.status(), 400);
    let replayed = verify(&other, &next, "totp", &right).await;
    assert_eq!(replayed.status(), 401, "a code is accepted once");
    t.clock.advance(totp::STEP);
    let fresh = code_now(&t, &secret);
    let response = verify(&other, &next, "totp", &fresh).await;
    assert_eq!(response.status(), 303);
    let claims = id_token_claims(&t, &app, &response).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // A recovery code works once, typed in any case and with spaces.
    let third = t.browser();
    let next = password_step(&t, &third, &app, "ada@example.com").await;
    let typed = codes[0].to_uppercase().replace('-', " ");
    let response = verify(&third, &next, "recovery", &typed).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).unwrap().starts_with(REDIRECT));
    let fourth = t.browser();
    let next = password_step(&t, &fourth, &app, "ada@example.com").await;
    let used = verify(&fourth, &next, "recovery", &codes[0]).await;
    assert_eq!(used.status(), 401, "a recovery code works once");

    // Brute force: wrong codes are throttled per person, and then even the right code
    // is not checked until the wait is over.
    let mut statuses = Vec::new();
    for guess in ["000001", "000002", "000003", "000004", "000005", "000006"] {
        statuses.push(
            verify(&fourth, &next, "totp", guess)
                .await
                .status()
                .as_u16(),
        );
    }
    // The used recovery code above was the first failure: the fifth starts a block.
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    let blocked = verify(&fourth, &next, "recovery", &codes[1]).await;
    assert_eq!(
        blocked.status(),
        429,
        "the right code is not checked while blocked"
    );
    assert!(blocked.headers().contains_key("retry-after"));
    t.clock.advance(3);
    let response = verify(&fourth, &next, "recovery", &codes[1]).await;
    assert_eq!(response.status(), 303, "after the wait");
}

/// Okta's Factors API: enroll (the secret once), activate with the first code, verify
/// a code once, another user's factor id not found under this user, delete, reset;
/// and a person whose factors were reset signs in with the password again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_factors_api_enrolls_verifies_and_resets() {
    let t = TestApp::spawn().await;
    let ada = t.user("ada@example.com").await;
    let bob = t.user("bob@example.com").await;
    let api = t.api().await;
    let factors = format!("/api/v1/users/{}/factors", ada.id);

    let (status, list) = api.get(&factors).await;
    assert_eq!((status, list), (200, serde_json::json!([])));
    let (status, body) = api
        .post(
            &factors,
            serde_json::json!({"factorType": "sms", "provider": "OKTA"}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );

    let (status, factor) = api
        .post(
            &factors,
            serde_json::json!({"factorType": "token:software:totp", "provider": "GOOGLE"}),
        )
        .await;
    assert_eq!(status, 200, "{factor}");
    assert_eq!(factor["status"], "PENDING_ACTIVATION");
    assert_eq!(factor["factorType"], "token:software:totp");
    let id = factor["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("uft") && id.len() == 20, "{id}");
    let activation = &factor["_embedded"]["activation"];
    assert_eq!(activation["timeStep"], 30);
    let secret = totp::base32_decode(activation["sharedSecret"].as_str().unwrap()).unwrap();
    // The secret is shown once: a read never carries it.
    let (_, read) = api.get(&format!("{factors}/{id}")).await;
    assert!(read.get("_embedded").is_none() && !read.to_string().contains("sharedSecret"));

    // Another user's path does not reach this factor.
    let bobs = format!("/api/v1/users/{}/factors/{id}", bob.id);
    assert_eq!(api.get(&bobs).await.0, 404);
    let (status, body) = api
        .post(
            &format!("{bobs}/lifecycle/activate"),
            serde_json::json!({"passCode": code_now(&t, &secret)}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("E0000007"))
    );
    assert_eq!(api.delete(&bobs).await, 404);

    // Activation: a wrong code, then the right one.
    let activate = format!("{factors}/{id}/lifecycle/activate");
    let right = code_now(&t, &secret);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let (status, body) = api
        .post(&activate, serde_json::json!({"passCode": wrong}))
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("E0000068"))
    );
    let (status, active) = api
        .post(&activate, serde_json::json!({"passCode": right}))
        .await;
    assert_eq!(
        (status, active["status"].as_str()),
        (200, Some("ACTIVE")),
        "{active}"
    );
    // Activating again: it is not pending any more.
    let (status, _) = api
        .post(&activate, serde_json::json!({"passCode": right}))
        .await;
    assert_eq!(status, 403);

    // Verify: the activation's code is used up; the next step's works once.
    let verify = format!("{factors}/{id}/verify");
    let (status, _) = api
        .post(&verify, serde_json::json!({"passCode": right}))
        .await;
    assert_eq!(status, 403, "replay within the window");
    t.clock.advance(totp::STEP);
    let next = code_now(&t, &secret);
    let (status, body) = api
        .post(&verify, serde_json::json!({"passCode": next}))
        .await;
    assert_eq!(
        (status, body["factorResult"].as_str()),
        (200, Some("SUCCESS"))
    );
    let (status, _) = api
        .post(&verify, serde_json::json!({"passCode": next}))
        .await;
    assert_eq!(status, 403);
    let (status, body) = api.post(&verify, serde_json::json!({})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    // The System Log names the caller (the API token) as the actor of each check and
    // activation, successful or not, and Ada as the target: she did nothing herself.
    let (status, events) = api
        .get("/api/v1/logs?filter=eventType eq \"user.authentication.auth_via_mfa\" or eventType eq \"user.mfa.factor.activate\"")
        .await;
    assert_eq!(status, 200);
    let events = events.as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap(),
                e["outcome"]["result"].as_str().unwrap(),
            )
        })
        .collect();
    for wanted in [
        ("user.authentication.auth_via_mfa", "SUCCESS"),
        ("user.authentication.auth_via_mfa", "FAILURE"),
        ("user.mfa.factor.activate", "SUCCESS"),
    ] {
        assert!(outcomes.contains(&wanted), "{wanted:?} in {outcomes:?}");
    }
    for event in events {
        assert_eq!(event["actor"]["type"], "ApiToken", "{event}");
        assert_ne!(event["actor"]["id"], ada.id.as_str(), "{event}");
        assert_eq!(event["target"][0]["id"], ada.id.as_str(), "{event}");
        assert_eq!(event["target"][0]["type"], "User", "{event}");
    }

    // Enrolling a second TOTP factor while one is active is refused.
    let (status, _) = api
        .post(
            &factors,
            serde_json::json!({"factorType": "token:software:totp"}),
        )
        .await;
    assert_eq!(status, 400);

    // A request asking two factors now goes to the verify step; after a reset, to
    // enrollment again.
    let app = t.web_app().await;
    let next_page = password_step(&t, &t.browser(), &app, "ada@example.com").await;
    assert!(next_page.starts_with("/signin/verify"), "{next_page}");
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/reset_factors", ada.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!((status, body), (200, serde_json::json!({})));
    assert_eq!(api.get(&factors).await.1, serde_json::json!([]));
    let next_page = password_step(&t, &t.browser(), &app, "ada@example.com").await;
    assert!(next_page.starts_with("/signin/enroll"), "{next_page}");

    // Delete: the factor is gone, and a second delete is not found.
    let (_, factor) = api
        .post(
            &factors,
            serde_json::json!({"factorType": "token:software:totp"}),
        )
        .await;
    let own = format!("{factors}/{}", factor["id"].as_str().unwrap());
    assert_eq!(api.delete(&own).await, 204);
    assert_eq!(api.delete(&own).await, 404);

    // The self-service pages: a browser without a session, or with an old sign-in, is
    // asked to sign in again; another person's factor id is not found; a form without
    // its CSRF token is refused.
    let (_, bobs_factor) = api
        .post(
            &format!("/api/v1/users/{}/factors", bob.id),
            serde_json::json!({"factorType": "token:software:totp"}),
        )
        .await;
    let bobs_id = bobs_factor["id"].as_str().unwrap().to_string();
    let browser = t.browser();
    let to_sign_in = |response: &reqwest::Response| {
        assert_eq!(response.status(), 302);
        let to = location(response).unwrap();
        assert_eq!(
            param(&to, "client_id").as_deref(),
            Some("gatehouse-account")
        );
        to
    };
    to_sign_in(&browser.get("/account/factors").await);
    t.code(&browser, "default", &app, "ada@example.com").await;
    // A session from an app's sign-in is not the account page's binding.
    let unbound = browser.get("/account/factors").await;
    to_sign_in(&unbound);
    let page = through_account_sign_in(&browser, unbound).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = input_value(&html, "csrf").unwrap_or_default();
    let remove = format!("/account/factors/{bobs_id}/remove");
    let csrf = if csrf.is_empty() {
        let form = browser
            .get("/account/factors/totp")
            .await
            .text()
            .await
            .unwrap();
        input_value(&form, "csrf").unwrap()
    } else {
        csrf
    };
    assert_eq!(
        browser
            .post_form(&remove, &[("csrf", &csrf)])
            .await
            .status(),
        404
    );
    assert_eq!(
        browser
            .post_form(&remove, &[("csrf", "forged")])
            .await
            .status(),
        403
    );
    let (_, still) = api
        .get(&format!("/api/v1/users/{}/factors/{bobs_id}", bob.id))
        .await;
    assert_eq!(still["id"], bobs_id.as_str());
    t.clock
        .advance(gatehouse::flows::account::RECENT_SIGN_IN_SECONDS + 1);
    // An old sign-in: the password again (`prompt=login`), then back to the page; a
    // change is refused meanwhile.
    let again = to_sign_in(&browser.get("/account/factors").await);
    assert_eq!(param(&again, "prompt").as_deref(), Some("login"));
    assert_eq!(
        browser
            .post_form(&remove, &[("csrf", &csrf)])
            .await
            .status(),
        401
    );

    // The System Log heard of it.
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType%20sw%20%22user.mfa%22")
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for kind in [
        "user.mfa.factor.activate",
        "user.mfa.factor.reset_all",
        "user.mfa.factor.deactivate",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

/// OpenID Connect Core §12.2: an ID token from a refresh describes the original
/// authentication. A sign-in with the password and a TOTP code for `acr_values`
/// `urn:okta:loa:2fa:any` starts a refresh-token family; every ID token it refreshes
/// (twice, rotating) reports the same `amr`, `acr` and `auth_time` as the code's, not
/// the password alone. A family started by a password sign-in stays `["pwd"]`.
async fn refreshed_id_tokens_keep_the_sign_in(t: TestApp) {
    t.user("ada@example.com").await;
    t.user("bob@example.com").await;
    let secret = crate::sign_on_policies::totp_for(&t, "ada@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let scope = ("scope", "openid profile offline_access");

    let browser = t.browser();
    let url = t.authorize_url("default", &app.client_id, &[TWO_FACTORS, scope]);
    let login_page = location(&browser.get(&url).await).expect("to the sign-in page");
    let response = browser
        .sign_in(&login_page, "ada@example.com", PASSWORD)
        .await;
    let next = location(&response).unwrap();
    assert!(next.starts_with("/signin/verify?tx="), "{next}");
    t.clock.advance(totp::STEP);
    let done = verify(&browser, &next, "totp", &code_now(&t, &secret)).await;
    assert_eq!(done.status(), 303);
    let code = param(&location(&done).unwrap(), "code").expect("a code");
    let tokens = expect_no_store_json(t.redeem("default", &app, &code).await).await;
    let first = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(first["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(first["acr"], "urn:okta:loa:2fa:any");
    let mut refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        t.clock.advance(60);
        let refreshed =
            expect_no_store_json(t.refresh("default", &app, &refresh_token, None).await).await;
        let claims = claims_of(refreshed["id_token"].as_str().unwrap());
        for claim in ["amr", "acr", "auth_time", "sid"] {
            assert_eq!(claims[claim], first[claim], "{claim}");
        }
        assert!(claims["iat"].as_i64() > first["iat"].as_i64());
        refresh_token = refreshed["refresh_token"].as_str().unwrap().to_string();
    }

    // The password alone: the refreshed token says so.
    let other = t.browser();
    let url = t.authorize_url("default", &app.client_id, &[scope]);
    let login_page = location(&other.get(&url).await).expect("to the sign-in page");
    let response = other
        .sign_in(&login_page, "bob@example.com", PASSWORD)
        .await;
    let code = param(&location(&response).unwrap(), "code").expect("a code");
    let tokens = expect_no_store_json(t.redeem("default", &app, &code).await).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refreshed =
        expect_no_store_json(t.refresh("default", &app, refresh_token, None).await).await;
    let claims = claims_of(refreshed["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:okta:loa:1fa:pwd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshed_id_tokens_keep_the_sign_in_sqlite() {
    refreshed_id_tokens_keep_the_sign_in(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshed_id_tokens_keep_the_sign_in_postgres() {
    refreshed_id_tokens_keep_the_sign_in(TestApp::spawn_postgres().await).await;
}
