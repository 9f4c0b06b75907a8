//! "Forgot password?" in Chromium, as a person goes through it: from the sign-in page
//! to the form, the e-mail (delivered by the job worker to the test's SMTP server on
//! loopback), the link, a new password, and back to the sign-in they started, which
//! now takes the new password and reaches the app. Every page on the way is checked
//! (no CSP violation, axe-core, 390 px) and photographed.

use gatehouse::admin::Actor;
use gatehouse::admin::users::{self, NewUser};
use gatehouse::clock::Clock;

use super::*;
use crate::email::{SmtpServer, with_smtp};

/// Waits until the page's heading reads `heading` (a form post keeps the URL). Read
/// by a script, which sees whichever document is loaded, mid-navigation included.
async fn wait_for_heading(chrome: &Chromium, heading: &str) {
    let started = std::time::Instant::now();
    let script = "const h = document.querySelector('h1'); return h ? h.textContent.trim() : '';";
    while chrome.script(script, serde_json::json!([])).await != heading {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "waiting for the heading {heading:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_by_email_then_sign_in_with_the_new_one() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_configured(with_smtp(smtp.port)).await;
    users::create(
        &t.backend.store,
        &t.state.passwords,
        &Actor::cli(),
        NewUser {
            login: LOGIN.into(),
            email: Some(LOGIN.into()),
            first_name: Some("Alice".into()),
            password: Some(PASSWORD.into()),
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
    let s = Setup {
        t,
        rp,
        app,
        chrome: Chromium::start().await,
    };

    s.chrome.open(&s.authorize(&[])).await;
    s.chrome.wait_for_url(&format!("{}/login?", s.t.base)).await;
    s.chrome.click("a[href^='/signin/forgot-password']").await;
    s.chrome
        .wait_for_url(&format!("{}/signin/forgot-password?tx=", s.t.base))
        .await;
    assert_eq!(s.chrome.focused().await, "username");
    s.chrome.check_page("forgot-password").await;
    s.chrome.fill("#username", LOGIN).await;
    s.chrome.click("button[type=submit]").await;
    wait_for_heading(&s.chrome, "Check your e-mail").await;
    // The same template as "Password set" below, which is checked whole.
    s.chrome.assert_no_csp_violations().await;

    let mail = smtp.message(LOGIN, "Reset your password", 0).await;
    let link = mail.link(&format!("{}/signin/reset-password/", s.t.base));
    assert!(
        link.contains("?tx="),
        "the link leads back to this sign-in: {link}"
    );
    s.chrome.open(&link).await;
    wait_for_heading(&s.chrome, "Choose a new password").await;
    assert_eq!(s.chrome.focused().await, "password");
    s.chrome.check_page("reset-password").await;
    s.chrome.fill("#password", "a brand new passphrase").await;
    s.chrome.click("button[type=submit]").await;
    wait_for_heading(&s.chrome, "Password set").await;
    s.chrome.check_page("reset-password-done").await;
    smtp.message(LOGIN, "Your password was changed", 0).await;

    // Back to the sign-in the person started: the old password is refused, the new
    // one reaches the app.
    s.chrome.click("a.button").await;
    s.chrome
        .wait_for_url(&format!("{}/login?tx=", s.t.base))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    assert!(s.chrome.text("[role=alert]").await.contains("not right"));
    assert!(s.rp.hits().is_empty());
    s.chrome.fill("#username", LOGIN).await;
    s.chrome.fill("#password", "a brand new passphrase").await;
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert!(s.rp.only_hit().param("code").is_some());
    s.chrome.assert_no_csp_violations().await;

    // The link is spent: opening it again says so.
    s.chrome.open(&link).await;
    wait_for_heading(&s.chrome, "Link expired").await;
    s.chrome.assert_no_csp_violations().await;
}
