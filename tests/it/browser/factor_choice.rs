//! Choosing a second factor in Chromium: a person asked for two factors sets up codes
//! by e-mail in sign-in (the code read from the test's SMTP server), then signs in
//! again choosing "Send code"; another person, asked for a phishing-resistant factor,
//! sets up a passkey in the sign-in step with Chromium's virtual authenticator (CDP
//! `WebAuthn`) and reaches the app. Each new page: CSP, axe-core, dark mode, 390 px.
//! WebAuthn needs a domain, so the server's public URL is `http://localhost:PORT`.

use gatehouse::admin::Actor;
use gatehouse::admin::users::{self, NewUser};
use gatehouse::clock::Clock;
use serde_json::json;

use super::*;
use crate::email::{SmtpServer, with_smtp};

const SUBJECT: &str = "Your one-time sign-in code";

async fn setup(smtp: &SmtpServer) -> Setup {
    let port = smtp.port;
    let mut t = TestApp::spawn_configured(|c| {
        let url = format!("http://localhost:{}", c.listen.port());
        c.public_url = url::Url::parse(&url).unwrap();
        with_smtp(port)(c);
    })
    .await;
    t.base = t.base.replace("127.0.0.1", "localhost");
    users::create(
        &t.backend.store,
        &t.state.passwords,
        &Actor::cli(),
        NewUser {
            login: LOGIN.into(),
            email: Some(LOGIN.into()),
            first_name: Some("Alice".into()),
            password: Some(PASSWORD.into()),
            activate: Some(true),
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap();
    let rp = RelyingParty::start().await;
    let app = t
        .app_with_logout("none", &[&rp.callback()], &[&rp.signed_out()])
        .await;
    let chrome = Chromium::start().await;
    Setup { t, rp, app, chrome }
}

/// Waits (up to 20 s) for `css` to select an element whose text contains `needle`: a
/// form's navigation may not have finished when the next line runs.
async fn wait_for_text(chrome: &Chromium, css: &str, needle: &str) {
    let started = std::time::Instant::now();
    loop {
        if chrome.exists(css).await && chrome.text(css).await.contains(needle) {
            return;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "waiting for {css} with {needle:?}: {:?}",
            chrome.console().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn code_in(smtp: &SmtpServer, n: usize) -> String {
    let body = smtp.message(LOGIN, SUBJECT, n).await.body();
    body.split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .expect("a code in the e-mail")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_by_email_set_up_and_used_in_sign_in() {
    let smtp = SmtpServer::start().await;
    let s = setup(&smtp).await;
    let two = ("acr_values", "urn:okta:loa:2fa:any");

    // Set up in sign-in: the enrollment page offers an app, a passkey and e-mail.
    s.chrome.open(&s.authorize(&[two])).await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/enroll?", s.t.base))
        .await;
    wait_for_text(&s.chrome, "#passkey-enroll", "passkey").await;
    s.chrome.check_page("factor-enroll-choices").await;
    s.chrome.click("#choose-email").await;
    wait_for_text(&s.chrome, "main", "a***@example.com").await;
    assert!(s.chrome.exists("#email-code").await, "the code page");
    s.chrome.check_page("factor-email-code").await;
    let code = code_in(&smtp, 0).await;
    s.chrome.fill("#email-code", &code).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    s.chrome.text("#recovery-codes").await;
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert!(s.rp.hits().last().unwrap().param("code").is_some());

    // Sign in again: "Send code", then the code from the e-mail.
    s.chrome
        .open(&s.authorize(&[two, ("prompt", "login")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/verify?", s.t.base))
        .await;
    s.chrome.click("#email-send").await;
    wait_for_text(
        &s.chrome,
        "#verify-notice",
        "We sent a code to a***@example.com",
    )
    .await;
    assert_eq!(s.chrome.focused().await, "email-code");
    s.chrome.check_page("factor-verify-email").await;
    let code = code_in(&smtp, 1).await;
    s.chrome.fill("#email-code", "000000").await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    wait_for_text(&s.chrome, "[role=alert]", "not right").await;
    s.chrome.fill("#email-code", &code).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let last = s.rp.hits().last().unwrap().clone();
    assert!(last.param("code").is_some());
    s.chrome.assert_no_csp_violations().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_set_up_in_sign_in_meets_a_phishing_resistant_request() {
    let smtp = SmtpServer::start().await;
    let s = setup(&smtp).await;
    s.chrome.cdp("WebAuthn.enable", json!({})).await;
    let options = json!({ "options": {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserVerified": true,
        "automaticPresenceSimulation": true,
    }});
    s.chrome
        .cdp("WebAuthn.addVirtualAuthenticator", options)
        .await;

    s.chrome.open(&s.authorize(&[("acr_values", "phr")])).await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/enroll?", s.t.base))
        .await;
    assert!(
        !s.chrome.exists("#totp-secret").await,
        "only a passkey is offered"
    );
    s.chrome.check_page("factor-enroll-passkey").await;
    s.chrome.click("#passkey-enroll-button").await;
    let started = std::time::Instant::now();
    while !s.chrome.exists("#recovery-codes").await {
        assert!(
            started.elapsed().as_secs() < 20,
            "no recovery codes: {:?}",
            s.chrome.console().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let last = s.rp.hits().last().unwrap().clone();
    assert!(last.param("code").is_some(), "not access_denied: {last:?}");

    // The account page offers codes by e-mail beside the passkey; the code sent to the
    // (unverified) address turns them on.
    s.chrome
        .open(&format!("{}/account/factors", s.t.base))
        .await;
    wait_for_text(&s.chrome, "#email-enroll", "Get codes by e-mail").await;
    s.chrome.check_page("account-factors-email").await;
    s.chrome.click("#email-enroll").await;
    wait_for_text(&s.chrome, "main", "Confirm your e-mail code").await;
    s.chrome.fill("#email-code", &code_in(&smtp, 0).await).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    wait_for_text(&s.chrome, "main", "Codes by e-mail are on.").await;
    assert!(
        s.chrome
            .text("main")
            .await
            .contains("Codes by e-mail to alice@example.com")
    );
    s.chrome.assert_no_csp_violations().await;
}
