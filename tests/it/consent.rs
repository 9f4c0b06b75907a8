//! Consent to scopes whose consent is REQUIRED (OpenID Connect Core §3.1.2.4): asked
//! once per user, app and server, again with prompt=consent, refused with
//! consent_required under prompt=none; the page is bound to the session and
//! CSRF-protected; Don't allow sends access_denied to the app.

use gatehouse::admin::servers;
use gatehouse::clock::Clock;

use gatehouse::admin::syslog::Actor;

use crate::support::*;

impl TestApp {
    async fn consent_scope(&self, name: &str, description: &str) {
        let new = servers::NewScope {
            name: name.into(),
            description: description.into(),
            consent_required: true,
            is_default: false,
        };
        servers::create_scope(
            &self.backend.store,
            &Actor::cli(),
            "default",
            new,
            self.clock.now(),
        )
        .await
        .unwrap();
    }
}

/// Answers the consent page at `location` with `decision`; returns the response.
async fn answer(browser: &Browser, location: &str, decision: &str) -> reqwest::Response {
    let page = browser.get(location).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    browser
        .post_form(
            "/consent",
            &[("tx", &tx), ("csrf", &csrf), ("decision", decision)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_asked_once_and_again_with_prompt_consent() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    t.consent_scope("orders:read", "Read your <orders> & invoices")
        .await;
    let app = t.web_app().await;
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("scope", "openid orders:read")],
    );
    let login = location(&browser.get(&url).await).unwrap();
    let after_sign_in = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(after_sign_in.status(), 303);
    let consent = location(&after_sign_in).unwrap();
    assert!(consent.starts_with("/consent?tx="), "{consent}");

    let page = browser.get(&consent).await;
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("Test App") && html.contains("orders:read"));
    assert!(
        html.contains("Read your &#60;orders&#62; &#38; invoices"),
        "escaped: {html}"
    );

    let back = answer(&browser, &consent, "allow").await;
    assert_eq!(back.status(), 303);
    let callback = location(&back).unwrap();
    let code = param(&callback, "code").expect("a code after consent");
    assert_eq!(param(&callback, "state").as_deref(), Some("st4te"));
    let body: serde_json::Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    assert_eq!(body["scope"], "openid orders:read");
    // The same page cannot be answered twice.
    let again = browser
        .post_form(
            "/consent",
            &[
                ("tx", &param(&format!("http://x{consent}"), "tx").unwrap()),
                ("csrf", &browser.cookie("gh_csrf").unwrap()),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(again.status(), 400);

    // Remembered: the next request goes straight back with a code, even prompt=none.
    let loc = location(
        &browser
            .get(&t.authorize_url(
                "default",
                &app.client_id,
                &[("scope", "openid orders:read"), ("prompt", "none")],
            ))
            .await,
    )
    .unwrap();
    assert!(param(&loc, "code").is_some(), "{loc}");
    // prompt=consent asks again.
    let loc = location(
        &browser
            .get(&t.authorize_url(
                "default",
                &app.client_id,
                &[("scope", "openid orders:read"), ("prompt", "consent")],
            ))
            .await,
    )
    .unwrap();
    assert!(loc.starts_with("/consent?tx="), "{loc}");
    // Another app has no consent yet: prompt=none answers consent_required.
    let other = t.web_app().await;
    let loc = location(
        &browser
            .get(&t.authorize_url(
                "default",
                &other.client_id,
                &[("scope", "openid orders:read"), ("prompt", "none")],
            ))
            .await,
    )
    .unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("consent_required"),
        "{loc}"
    );
    // Scopes without REQUIRED consent never ask.
    let loc = location(
        &browser
            .get(&t.authorize_url("default", &other.client_id, &[("scope", "openid email")]))
            .await,
    )
    .unwrap();
    assert!(param(&loc, "code").is_some(), "{loc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dont_allow_is_access_denied_and_the_page_is_guarded() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    t.user("mallory@example.com").await;
    t.consent_scope("orders:write", "Change your orders").await;
    let app = t.web_app().await;
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("scope", "openid orders:write")],
    );

    let alice = t.browser();
    let login = location(&alice.get(&url).await).unwrap();
    let consent = location(&alice.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();

    // Without the CSRF token: 403, and nothing is consumed.
    let tx = param(&format!("http://x{consent}"), "tx").unwrap();
    let forged = alice
        .post_form(
            "/consent",
            &[("tx", &tx), ("csrf", "forged"), ("decision", "allow")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    // Another signed-in browser cannot see or answer Alice's page.
    let mallory = t.browser();
    let login = location(&mallory.get(&url).await).unwrap();
    mallory
        .sign_in(&login, "mallory@example.com", PASSWORD)
        .await;
    assert_eq!(mallory.get(&consent).await.status(), 400);
    // A browser with no session neither.
    assert_eq!(t.browser().get(&consent).await.status(), 400);

    let back = answer(&alice, &consent, "deny").await;
    let callback = location(&back).unwrap();
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("access_denied"),
        "{callback}"
    );
    assert_eq!(param(&callback, "state").as_deref(), Some("st4te"));
    assert!(param(&callback, "code").is_none());
    // Nothing was remembered: the next request asks again.
    let loc = location(&alice.get(&url).await).unwrap();
    assert!(loc.starts_with("/consent?tx="), "{loc}");
    // A bad decision value is a page, not a redirect.
    let page = alice.get(&loc).await.text().await.unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let tx = input_value(&page, "tx").unwrap();
    let bad = alice
        .post_form(
            "/consent",
            &[("tx", &tx), ("csrf", &csrf), ("decision", "maybe")],
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert!(location(&bad).is_none());
}
