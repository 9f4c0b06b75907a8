//! One-time codes by e-mail as a second factor, end to end through the loopback SMTP
//! server, on SQLite and on PostgreSQL: Okta's Factors API (enroll with a code sent to
//! the address, activate, `activate=true` for the primary address only, list with
//! `profile.email`, verify: CHALLENGE, SUCCESS, 403 E0000068, the resend throttle
//! E0000109), the sign-in step (send, resend throttled, wrong, right, reused, expired,
//! a code of another sign-in, brute force throttled; `amr` `["pwd","email","mfa"]`),
//! setting it up on `/account/factors` and in the sign-in step's choice.

use gatehouse::admin::Actor;
use gatehouse::admin::users::{self, NewUser};
use gatehouse::clock::Clock;
use serde_json::json;

use crate::email::{SmtpServer, with_smtp};
use crate::support::*;

const SUBJECT: &str = "Your one-time sign-in code";
const TWO_FACTORS: (&str, &str) = ("acr_values", "urn:okta:loa:2fa:any");

async fn person(t: &TestApp, login: &str, email: &str) -> gatehouse::store::User {
    users::create(
        &t.backend.store,
        &t.state.passwords,
        &Actor::cli(),
        NewUser {
            login: login.into(),
            email: Some(email.into()),
            first_name: Some("Ada".into()),
            password: Some(PASSWORD.into()),
            activate: Some(true),
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap()
}

/// The six-digit code of the `n`th code e-mail to `to`.
async fn code_in(smtp: &SmtpServer, to: &str, n: usize) -> String {
    let body = smtp.message(to, SUBJECT, n).await.body();
    body.split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .expect("a code in the e-mail")
        .to_string()
}

/// Posts the form of the verify page at `location` for the e-mail method.
async fn email_form(
    browser: &Browser,
    location: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = browser.get(location).await;
    assert_eq!(page.status(), 200, "the verify page");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"email-verify\""),
        "the e-mail method is offered"
    );
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let mut form = vec![
        ("tx", tx.as_str()),
        ("csrf", csrf.as_str()),
        ("method", "email"),
    ];
    form.extend_from_slice(extra);
    browser.post_form("/signin/verify", &form).await
}

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

async fn api_and_sign_in(t: TestApp, smtp: SmtpServer) {
    let ada = person(&t, "ada", "ada@example.com").await;
    let bob = person(&t, "bob", "bob@example.com").await;
    let app = t.web_app().await;
    let api = t.api().await;
    let factors = format!("/api/v1/users/{}/factors", ada.id);

    // Refusals first: another provider, a bad address, activate=true for an address
    // that is not the primary one.
    let (status, body) = api
        .post(
            &factors,
            json!({"factorType": "email", "provider": "GOOGLE"}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    let (status, _) = api
        .post(
            &factors,
            json!({"factorType": "email", "provider": "OKTA", "profile": {"email": "not an address"}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post(
            &format!("{factors}?activate=true"),
            json!({"factorType": "email", "provider": "OKTA", "profile": {"email": "other@example.com"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(smtp.all().len(), 0, "nothing was sent for a refusal");

    // Enroll: pending, a code sent to the address; a wrong code is 403 E0000068.
    let (status, factor) = api
        .post(
            &factors,
            json!({"factorType": "email", "provider": "OKTA", "profile": {"email": "ada@example.com"}}),
        )
        .await;
    assert_eq!(status, 200, "{factor}");
    assert_eq!(factor["status"], "PENDING_ACTIVATION");
    assert_eq!(factor["factorType"], "email");
    assert_eq!(factor["provider"], "OKTA");
    assert_eq!(factor["profile"]["email"], "ada@example.com");
    assert!(factor["id"].as_str().unwrap().starts_with("emf"));
    let own = format!("{factors}/{}", factor["id"].as_str().unwrap());
    let activation = code_in(&smtp, "ada@example.com", 0).await;
    let (status, body) = api
        .post(
            &format!("{own}/lifecycle/activate"),
            json!({"passCode": "000000"}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("E0000068"))
    );
    let (status, body) = api
        .post(
            &format!("{own}/lifecycle/activate"),
            json!({"passCode": activation}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ACTIVE");
    let (status, body) = api
        .post(
            &format!("{own}/lifecycle/activate"),
            json!({"passCode": activation}),
        )
        .await;
    assert_eq!(status, 403, "the activation code works once: {body}");
    let (_, list) = api.get(&factors).await;
    assert_eq!(list[0]["factorType"], "email");
    assert_eq!(list[0]["profile"]["email"], "ada@example.com");
    let (status, _) = api
        .post(&factors, json!({"factorType": "email", "provider": "OKTA"}))
        .await;
    assert_eq!(status, 400, "one e-mail factor per person");

    // Bob's primary address with activate=true: ACTIVE at once, no e-mail.
    let (status, bobs) = api
        .post(
            &format!("/api/v1/users/{}/factors?activate=true", bob.id),
            json!({"factorType": "email", "provider": "OKTA"}),
        )
        .await;
    assert_eq!((status, bobs["status"].as_str()), (200, Some("ACTIVE")));
    assert_eq!(bobs["profile"]["email"], "bob@example.com");

    // Verify: without passCode a challenge is sent; again at once is throttled.
    let (status, challenge) = api.post(&format!("{own}/verify"), json!({})).await;
    assert_eq!(status, 200, "{challenge}");
    assert_eq!(challenge["factorResult"], "CHALLENGE");
    assert!(challenge["_links"]["verify"]["href"].is_string());
    let (status, body) = api.post(&format!("{own}/verify"), json!({})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (429, Some("E0000109"))
    );
    let api_code = code_in(&smtp, "ada@example.com", 1).await;
    let (status, body) = api
        .post(&format!("{own}/verify"), json!({"passCode": "999999"}))
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("E0000068"))
    );
    let (status, body) = api
        .post(&format!("{own}/verify"), json!({"passCode": api_code}))
        .await;
    assert_eq!(
        (status, body["factorResult"].as_str()),
        (200, Some("SUCCESS"))
    );
    let (status, _) = api
        .post(&format!("{own}/verify"), json!({"passCode": api_code}))
        .await;
    assert_eq!(status, 403, "a code works once");
    // Expired: five minutes.
    t.clock.advance(31);
    let (status, _) = api.post(&format!("{own}/verify"), json!({})).await;
    assert_eq!(status, 200, "a new code after 30 seconds");
    let late = code_in(&smtp, "ada@example.com", 2).await;
    t.clock.advance(300);
    let (status, _) = api
        .post(&format!("{own}/verify"), json!({"passCode": late}))
        .await;
    assert_eq!(status, 403, "an expired code");

    // Sign-in: the verify step offers e-mail; "Send code" sends one, again at once is
    // throttled with a clear message.
    let browser = t.browser();
    let next = password_step(&t, &browser, &app, "ada").await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let sent = email_form(&browser, &next, &[("send", "1")]).await;
    assert_eq!(sent.status(), 200);
    let html = sent.text().await.unwrap();
    assert!(
        html.contains("We sent a code to a***@example.com"),
        "{html}"
    );
    let again = email_form(&browser, &next, &[("send", "1")]).await;
    assert_eq!(again.status(), 429);
    assert!(again.headers().contains_key("retry-after"));
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("A code was sent a moment ago")
    );
    let code = code_in(&smtp, "ada@example.com", 3).await;

    // The code of another purpose (the API's) does not pass here; a wrong one neither.
    t.clock.advance(1);
    api.post(&format!("{own}/verify"), json!({})).await;
    let api_code = code_in(&smtp, "ada@example.com", 4).await;
    if api_code != code {
        let wrong = email_form(&browser, &next, &[("code", &api_code)]).await;
        assert_eq!(wrong.status(), 401, "a code is bound to what asked for it");
    }
    let done = email_form(&browser, &next, &[("code", &code)]).await;
    assert_eq!(done.status(), 303);
    let claims = id_token_claims(&t, &app, &done).await;
    assert_eq!(claims["amr"], json!(["pwd", "email", "mfa"]));
    assert_eq!(claims["acr"], "urn:okta:loa:2fa:any");

    // Expired in the sign-in step: a code is valid five minutes.
    t.clock.advance(60);
    let third = t.browser();
    let next = password_step(&t, &third, &app, "ada").await;
    assert_eq!(
        email_form(&third, &next, &[("send", "1")]).await.status(),
        200
    );
    let code = code_in(&smtp, "ada@example.com", 5).await;
    t.clock.advance(301);
    let late = email_form(&third, &next, &[("code", &code)]).await;
    assert_eq!(late.status(), 401, "an expired code");
    // Reused in another sign-in: refused. Brute force: throttled per person (the
    // expired code and the reused one were the first two failures; the fifth starts a
    // block, in which not even a right code would be checked).
    let second = t.browser();
    let next = password_step(&t, &second, &app, "ada").await;
    let reused = email_form(&second, &next, &[("code", &code)]).await;
    assert_eq!(
        reused.status(),
        401,
        "a code works once, for its own sign-in"
    );
    let mut statuses = Vec::new();
    for guess in ["000001", "000002", "000003", "000004", "000005"] {
        let r = email_form(&second, &next, &[("code", guess)]).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429], "throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_by_api_and_in_sign_in() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_configured(with_smtp(smtp.port)).await;
    api_and_sign_in(t, smtp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_by_api_and_in_sign_in_postgres() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_postgres_configured(with_smtp(smtp.port)).await;
    api_and_sign_in(t, smtp).await;
}

async fn self_service_and_enrollment_choice(t: TestApp, smtp: SmtpServer) {
    person(&t, "ada", "ada@example.com").await;
    person(&t, "cy", "cy@example.com").await;
    let app = t.web_app().await;

    // The account page: "Get codes by e-mail" sends a code to the (unverified) primary
    // address; a wrong code is refused; the right one turns it on, with recovery codes.
    let browser = t.browser();
    t.code(&browser, "default", &app, "ada").await;
    let page = through_account_sign_in(&browser, browser.get("/account/factors").await).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Get codes by e-mail"), "{html}");
    let csrf = input_value(&html, "csrf").unwrap();
    let form = browser
        .post_form("/account/factors/email", &[("csrf", &csrf)])
        .await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("a***@example.com"), "{html}");
    let factor_id = input_value(&html, "factor_id").unwrap();
    let code = code_in(&smtp, "ada@example.com", 0).await;
    let post = |code: String| {
        let browser = &browser;
        let factor_id = factor_id.clone();
        let csrf = csrf.clone();
        async move {
            browser
                .post_form(
                    "/account/factors/email/activate",
                    &[("csrf", &csrf), ("factor_id", &factor_id), ("code", &code)],
                )
                .await
        }
    };
    assert_eq!(post("123123".into()).await.status(), 401);
    let resend = browser
        .post_form(
            "/account/factors/email/activate",
            &[("csrf", &csrf), ("factor_id", &factor_id), ("send", "1")],
        )
        .await;
    assert_eq!(resend.status(), 429, "a new code only after 30 seconds");
    let on = post(code).await;
    assert_eq!(on.status(), 200);
    assert!(
        on.text().await.unwrap().contains("recovery"),
        "recovery codes shown"
    );
    let forged = browser
        .post_form("/account/factors/email", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status(), 403);

    // In sign-in, someone without a factor chooses: an authenticator app, a passkey,
    // or e-mail.
    let cy = t.browser();
    let next = password_step(&t, &cy, &app, "cy").await;
    assert!(next.starts_with("/signin/enroll"), "{next}");
    let choice = cy.get(&next).await;
    assert_eq!(choice.status(), 200);
    let html = choice.text().await.unwrap();
    for choice in ["totp-secret", "passkey-enroll", "choose-email"] {
        assert!(html.contains(choice), "{choice} is offered");
    }
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let pending = cy
        .post_form(
            "/signin/enroll",
            &[("tx", &tx), ("csrf", &csrf), ("method", "email")],
        )
        .await;
    assert_eq!(pending.status(), 200);
    let html = pending.text().await.unwrap();
    let factor_id = input_value(&html, "factor_id").unwrap();
    let code = code_in(&smtp, "cy@example.com", 0).await;
    let wrong = cy
        .post_form(
            "/signin/enroll",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("method", "email"),
                ("factor_id", &factor_id),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.text().await.unwrap().contains("email-code"),
        "the code page again"
    );
    let codes = cy
        .post_form(
            "/signin/enroll",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("method", "email"),
                ("factor_id", &factor_id),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(codes.status(), 200);
    let html = codes.text().await.unwrap();
    let next_tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let done = cy
        .post_form("/signin/continue", &[("tx", &next_tx), ("csrf", &csrf)])
        .await;
    assert_eq!(done.status(), 303);
    let claims = id_token_claims(&t, &app, &done).await;
    assert_eq!(claims["amr"], json!(["pwd", "email", "mfa"]));

    // Cy has a factor now: the enrollment step is closed to the password alone.
    let again = t.browser();
    let next = password_step(&t, &again, &app, "cy").await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let enroll = again
        .get(&next.replace("/signin/verify", "/signin/enroll"))
        .await;
    assert_eq!(enroll.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_set_up_on_the_account_page_and_in_sign_in() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_configured(with_smtp(smtp.port)).await;
    self_service_and_enrollment_choice(t, smtp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_set_up_on_the_account_page_and_in_sign_in_postgres() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_postgres_configured(with_smtp(smtp.port)).await;
    self_service_and_enrollment_choice(t, smtp).await;
}

/// A passkey set up in the sign-in step, for a request asking a phishing-resistant
/// factor (`acr_values=phr`): only the passkey is offered; the registration's challenge
/// is bound to the step (a replay, or a forged form, is refused); the passkey counts at
/// once (`amr` `hwk`, `mfa`); and whoever holds only the password cannot add one for
/// someone who has a factor.
async fn passkey_in_sign_in(t: TestApp) {
    use gatehouse::webauthn::software::SoftAuthenticator;
    let dee = t.user("dee@example.com").await;
    let app = t.web_app().await;
    let rp_id = url::Url::parse(&t.base)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let auth = SoftAuthenticator::new(&t.base, &rp_id);
    let b64 = gatehouse::crypto::b64url;

    let browser = t.browser();
    let url = t.authorize_url("default", &app.client_id, &[("acr_values", "phr")]);
    let login_page = location(&browser.get(&url).await).expect("to the sign-in page");
    let next = location(&browser.sign_in(&login_page, &dee.login, PASSWORD).await).unwrap();
    assert!(next.starts_with("/signin/enroll"), "{next}");
    let html = browser.get(&next).await.text().await.unwrap();
    assert!(html.contains("passkey-enroll"));
    assert!(!html.contains("totp-secret"), "only a passkey meets phr");
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();

    let options = |csrf: String| {
        let browser = &browser;
        let tx = tx.clone();
        async move {
            let r = browser
                .post_form(
                    "/signin/enroll/passkey/options",
                    &[("tx", tx.as_str()), ("csrf", csrf.as_str())],
                )
                .await;
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    assert_eq!(options("forged".into()).await.0, 403);
    let (status, opts) = options(csrf.clone()).await;
    assert_eq!(status, 200, "{opts}");
    assert_eq!(opts["user"]["name"], dee.login.as_str());
    let (stolen_data, stolen_object) = auth.register(opts["challenge"].as_str().unwrap(), true);
    let (_, opts) = options(csrf.clone()).await;
    let (client_data, object) = auth.register(opts["challenge"].as_str().unwrap(), true);
    let form = |tx: &str| {
        vec![
            ("tx", tx.to_string()),
            ("csrf", csrf.clone()),
            ("method", "webauthn".to_string()),
            ("client_data_json", b64(&client_data)),
            ("attestation_object", b64(&object)),
            ("transports", "internal".to_string()),
            ("resident_key", "true".to_string()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let post = |f: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form("/signin/enroll", &refs).await
        }
    };
    // Another step's transaction: not this ceremony's.
    let other = t.browser();
    let other_login = location(&other.get(&url).await).unwrap();
    let other_next = location(&other.sign_in(&other_login, &dee.login, PASSWORD).await).unwrap();
    let other_html = other.get(&other_next).await.text().await.unwrap();
    let other_tx = input_value(&other_html, "tx").unwrap();
    let other_csrf = input_value(&other_html, "csrf").unwrap();
    let mut stolen = pairs(&form(&other_tx));
    stolen[1].1 = other_csrf;
    stolen[3].1 = b64(&stolen_data);
    stolen[4].1 = b64(&stolen_object);
    let refs: Vec<(&str, &str)> = stolen.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = other.post_form("/signin/enroll", &refs).await;
    assert_eq!(
        refused.status(),
        401,
        "a registration bound to another step"
    );

    let codes = post(form(&tx)).await;
    assert_eq!(codes.status(), 200);
    let html = codes.text().await.unwrap();
    let next_tx = input_value(&html, "tx").unwrap();
    let csrf2 = input_value(&html, "csrf").unwrap();
    let done = browser
        .post_form("/signin/continue", &[("tx", &next_tx), ("csrf", &csrf2)])
        .await;
    assert_eq!(done.status(), 303);
    let loc = location(&done).unwrap();
    assert!(param(&loc, "error").is_none(), "{loc}");
    let claims = id_token_claims(&t, &app, &done).await;
    let amr: Vec<String> = serde_json::from_value(claims["amr"].clone()).unwrap();
    assert!(
        amr.contains(&"pwd".to_string()) && amr.contains(&"mfa".to_string()),
        "{amr:?}"
    );
    assert!(
        amr.contains(&"hwk".to_string()) || amr.contains(&"swk".to_string()),
        "{amr:?}"
    );

    // The same registration again: the step is over. Dee has a factor now: the other
    // step (begun before) cannot add one with the password alone.
    assert_eq!(post(form(&tx)).await.status(), 400);
    assert_eq!(options(csrf.clone()).await.0, 400);
    let late = other
        .post_form(
            "/signin/enroll/passkey/options",
            &[
                ("tx", other_tx.as_str()),
                ("csrf", input_value(&other_html, "csrf").unwrap().as_str()),
            ],
        )
        .await;
    assert_eq!(
        late.status(),
        400,
        "enrollment is for people without a factor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_set_up_in_sign_in_meets_phishing_resistant() {
    passkey_in_sign_in(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_set_up_in_sign_in_meets_phishing_resistant_postgres() {
    passkey_in_sign_in(TestApp::spawn_postgres().await).await;
}
