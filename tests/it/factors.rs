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
