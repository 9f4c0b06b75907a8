//! /logout takes an `id_token_hint` from anyone (RP-Initiated Logout §2): a forged
//! hint never sends the browser to a `post_logout_redirect_uri`, never ends the
//! session without asking, and makes the server fetch nothing.

use super::forged::{Tripwire, forgeries, jwks};
use crate::support::*;

const BYE: &str = "https://app.example.com/bye";

/// Whether `browser` still has a session: `prompt=none` gets a code.
async fn signed_in(t: &TestApp, browser: &Browser, app: &App) -> bool {
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    location(&r).and_then(|l| param(&l, "code")).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_hints_are_error_pages_keep_the_session_and_fetch_nothing() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t
        .app_with_logout("client_secret_basic", &[REDIRECT], &[BYE])
        .await;
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let tokens: serde_json::Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let real = tokens["id_token"].as_str().unwrap();
    let tripwire = Tripwire::new().await;
    let keys = jwks(&t, "default").await;
    let endpoint = t.endpoint("default", "logout");
    for (what, hint) in forgeries(real, &keys, &tripwire.url) {
        let mut url = url::Url::parse(&endpoint).unwrap();
        url.query_pairs_mut().extend_pairs([
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "s"),
        ]);
        let r = browser.get(url.as_str()).await;
        assert!(
            location(&r).is_none_or(|l| !l.starts_with(BYE)),
            "{what}: never to the client"
        );
        assert!(
            r.status().is_client_error() || r.status() == 200,
            "{what}: {}",
            r.status()
        );
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}"
        );
        // POST (§2: both methods) is no different.
        let r = browser
            .post_form(
                &endpoint,
                &[
                    ("id_token_hint", hint.as_str()),
                    ("post_logout_redirect_uri", BYE),
                ],
            )
            .await;
        assert!(
            location(&r).is_none_or(|l| !l.starts_with(BYE)),
            "{what} (POST): never to the client"
        );
    }
    assert!(
        signed_in(&t, &browser, &app).await,
        "no forgery ended the session"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(tripwire.hits(), 0, "jku/x5u must never be fetched");
    // The real hint works.
    let mut url = url::Url::parse(&endpoint).unwrap();
    url.query_pairs_mut()
        .extend_pairs([("id_token_hint", real), ("post_logout_redirect_uri", BYE)]);
    let r = browser.get(url.as_str()).await;
    assert!(location(&r).unwrap().starts_with(BYE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_and_crlf_in_parameters_are_never_reflected() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t
        .app_with_logout("client_secret_basic", &[REDIRECT], &[BYE])
        .await;
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let tokens: serde_json::Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let hint = tokens["id_token"].as_str().unwrap();
    let endpoint = t.endpoint("default", "logout");
    let xss = "\"><script>alert(1)</script><img src=x onerror=alert(1)>";
    for pairs in [
        vec![("client_id", xss)],
        vec![("post_logout_redirect_uri", xss)],
        vec![("id_token_hint", xss)],
        vec![("id_token_hint", hint), ("post_logout_redirect_uri", xss)],
        vec![("ui_locales", xss), ("state", xss)],
    ] {
        let mut url = url::Url::parse(&endpoint).unwrap();
        url.query_pairs_mut().extend_pairs(&pairs);
        let r = browser.get(url.as_str()).await;
        assert!(
            location(&r).is_none_or(|l| !l.contains('<') && !l.contains('"')),
            "{pairs:?}"
        );
        let html = r.text().await.unwrap();
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x"),
            "{pairs:?}: {html}"
        );
    }
    // CRLF in state goes back percent-encoded: no header injection.
    let mut url = url::Url::parse(&endpoint).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", BYE),
        ("state", "a\r\nSet-Cookie: evil=1"),
    ]);
    let r = browser.get(url.as_str()).await;
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("evil"))
    );
    let back = location(&r).unwrap();
    assert!(
        back.starts_with(BYE) && !back.contains('\r') && !back.contains('\n'),
        "{back}"
    );
    assert_eq!(
        param(&back, "state").as_deref(),
        Some("a\r\nSet-Cookie: evil=1")
    );
}
