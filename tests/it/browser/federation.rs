//! Sign-in through an identity provider in Chromium, through the real pages of both
//! servers: the downstream's sign-in page with its "Sign in with …" button, the
//! upstream Gatehouse's own sign-in page (on 127.0.0.2, a host of its own), back
//! through the callback to the app; and the page a refused return shows. Each page is
//! checked for CSP violations, axe-core findings and a 390 px viewport.

use super::*;
use crate::federation::{register_idp, upstream_user};

const UPSTREAM_LOGIN: &str = "grace@corp.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_another_gatehouse_reaches_the_app() {
    let up = TestApp::spawn_at("127.0.0.2", false, |_| {}).await;
    let down = TestApp::spawn_at("127.0.0.1", false, |c| {
        c.client_auth.allow_private_jwks_uri = true;
    })
    .await;
    upstream_user(&up, UPSTREAM_LOGIN, true).await;
    let callback = format!("{}/oauth2/v1/authorize/callback", down.base);
    let up_app = up.app_with("client_secret_basic", &[&callback]).await;
    let idp_id = register_idp(&down, &up, &up_app, "Upstream Corp", |_| {}).await;
    let rp = RelyingParty::start().await;
    let app = down
        .app_with_logout("none", &[&rp.callback()], &[&rp.signed_out()])
        .await;
    let chrome = Chromium::start().await;

    let authorize = down.authorize_url(
        "default",
        &app.client_id,
        &[("redirect_uri", rp.callback().as_str())],
    );
    chrome.open(&authorize).await;
    chrome.wait_for_url(&format!("{}/login", down.base)).await;
    assert!(
        chrome
            .text(&format!("a.idp-{idp_id}"))
            .await
            .contains("Sign in with Upstream Corp")
    );
    chrome.check_page("sign-in-with-idp").await;
    chrome.click(&format!("a.idp-{idp_id}")).await;
    chrome.wait_for_url(&format!("{}/login", up.base)).await;
    chrome.fill("#username", UPSTREAM_LOGIN).await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("button[type=submit]").await;
    let url = chrome.wait_for_url(&rp.callback()).await;
    let hit = rp.only_hit();
    assert!(hit.param("code").is_some_and(|c| !c.is_empty()), "{url}");
    assert_eq!(hit.param("state"), Some("st4te"));
    chrome.assert_no_csp_violations().await;

    // The same browser again: the answer of a used sign-in is a page, not a redirect.
    chrome
        .open(&format!("{callback}?code=used&state=used"))
        .await;
    assert!(chrome.text("h1").await.contains("Sign-in expired"));
    chrome.check_page("sign-in-with-idp-refused").await;
}
