//! Second factors in Chromium, one story: an app asks for two factors
//! (`acr_values=urn:okta:loa:2fa:any`); the person sets up an authenticator app in
//! sign-in (the code computed from the key the page shows), saves the recovery codes
//! and reaches the app; signs in again with a code (the one already used is refused
//! within its window); then with a recovery code; then makes new recovery codes on
//! `/account/factors`. Every new page is checked (CSP, axe-core, 390 px).

use gatehouse::clock::Clock;
use gatehouse::factors::totp;

use super::*;

const TWO_FACTORS: (&str, &str) = ("acr_values", "urn:okta:loa:2fa:any");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrollment_sign_in_and_recovery_codes() {
    let s = Setup::new().await;
    let code_now = |secret: &[u8]| totp::code_at_step(secret, totp::step_at(s.t.clock.now()));

    // Enrollment in sign-in.
    s.chrome.open(&s.authorize(&[TWO_FACTORS])).await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/enroll?", s.t.base))
        .await;
    assert!(s.chrome.exists(".qr svg").await, "the QR code is drawn");
    s.chrome.check_page("factor-enroll").await;
    let secret = totp::base32_decode(&s.chrome.text("#totp-secret").await).unwrap();
    let first = code_now(&secret);
    s.chrome.fill("#totp-code", &first).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    let codes: Vec<String> = s
        .chrome
        .text("#recovery-codes")
        .await
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    s.chrome.check_page("recovery-codes").await;
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert!(s.rp.hits().last().unwrap().param("code").is_some());

    // Signing in again: the password, then a code. The one used at enrollment is
    // refused; the next step's works.
    s.chrome
        .open(&s.authorize(&[TWO_FACTORS, ("prompt", "login")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/verify?", s.t.base))
        .await;
    s.chrome.check_page("factor-verify").await;
    assert_eq!(s.chrome.focused().await, "totp-code");
    s.chrome.keys(&format!("{first}{}", Key::ENTER)).await;
    assert!(
        s.chrome
            .text("[role=alert]")
            .await
            .contains("not right, or was used already")
    );
    s.t.clock.advance(totp::STEP);
    s.chrome.fill("#totp-code", &code_now(&secret)).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hits_after_code = s.rp.hits().len();

    // A recovery code instead.
    s.chrome
        .open(&s.authorize(&[TWO_FACTORS, ("prompt", "login")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/verify?", s.t.base))
        .await;
    s.chrome.click("details summary").await;
    s.chrome.fill("#recovery-code", &codes[0]).await;
    s.chrome.click("details button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert_eq!(s.rp.hits().len(), hits_after_code + 1);

    // The person's own page: the factor, and new recovery codes.
    s.chrome
        .open(&format!("{}/account/factors", s.t.base))
        .await;
    assert!(s.chrome.text("main").await.contains("Authenticator app"));
    s.chrome.check_page("account-factors").await;
    s.chrome
        .click("form[action='/account/factors/recovery-codes'] button")
        .await;
    let fresh = s.chrome.text("#recovery-codes").await;
    assert!(!fresh.contains(&codes[1]), "a new set");
    s.chrome.assert_no_csp_violations().await;
}
