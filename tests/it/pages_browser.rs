//! The home page, the API reference and the demo sign-in in headless Chromium (the
//! `browser` harness): each page has no CSP violation or console error, is axe-clean
//! in light and dark mode and fits a phone (`Chromium::check_page`); the demo signs in
//! end to end and shows the tokens; the home page signs out. With
//! `GATEHOUSE_SCREENSHOTS=docs/screenshots` they save the screenshots the README shows.

use crate::browser::{LOGIN, Setup};
use crate::support::PASSWORD;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_and_reference_in_chromium_and_sign_out_from_home() {
    let s = Setup::new().await;
    s.chrome.open(&format!("{}/", s.t.base)).await;
    assert!(s.chrome.exists("#not-signed-in").await);
    assert!(
        s.chrome
            .text("#issuers")
            .await
            .contains(&s.t.issuer("default"))
    );
    s.chrome.check_page("home").await;

    s.chrome.click("a[href='/reference']").await;
    s.chrome
        .wait_for_url(&format!("{}/reference", s.t.base))
        .await;
    assert!(s.chrome.exists("#op-listUsers").await);
    assert!(s.chrome.exists("#schema-Application").await);
    s.chrome.check_page("reference").await;

    // Signed in (through an app), the home page says who, and signs them out.
    s.signed_in().await;
    s.chrome.open(&format!("{}/", s.t.base)).await;
    assert_eq!(s.chrome.text("#signed-in-name").await, "Alice Liddell");
    assert_eq!(s.chrome.text("#signed-in-login").await, LOGIN);
    s.chrome.check_page("home-signed-in").await;
    s.chrome.click("#sign-out").await;
    s.chrome.wait_for_url(&s.t.endpoint("org", "logout")).await;
    assert!(s.chrome.text("h1").await.contains("signed out"));
    s.chrome.open(&format!("{}/", s.t.base)).await;
    assert!(s.chrome.exists("#not-signed-in").await);
    s.chrome.assert_no_csp_violations().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_signs_in_end_to_end_in_chromium() {
    let s = Setup::new().await;
    let url = crate::pages::demo_url(&s.t);
    s.chrome.open(&url).await;
    s.chrome.check_page("demo").await;
    s.chrome.click("#demo-sign-in").await;
    s.chrome.wait_for_url(&format!("{}/login?", s.t.base)).await;
    assert!(s.chrome.text("main").await.contains("Gatehouse demo"));
    s.chrome.check_page("demo-sign-in").await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/demo/callback?", s.t.base))
        .await;
    let checks = s.chrome.text("#checks").await;
    assert!(checks.contains("nonce matched"), "{checks}");
    let claims = s.chrome.text("#id-token-claims").await;
    assert!(claims.contains(LOGIN), "{claims}");
    assert!(s.chrome.exists("#access-token-claims").await);
    s.chrome.check_page("demo-tokens").await;
}
