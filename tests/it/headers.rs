//! Response headers: every HTML page is unframeable, uncached, without a referrer and
//! with a CSP that allows no inline script or style; every OAuth JSON answer that can
//! carry a token or user data is `no-store` (RFC 6749 §5.1); no request header changes
//! the issuer (the public URL comes from the configuration only).

use gatehouse::admin::servers;
use gatehouse::admin::syslog::Actor;
use gatehouse::clock::Clock;

use crate::support::*;

fn assert_page_headers(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'),
        "{what}: {csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
}

fn assert_no_inline_code(html: &str, what: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<script>")
            && !lower.contains("<style")
            && !lower.contains(" style=")
            && !lower.contains(" on"),
        "{what}: {html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_carries_the_page_headers() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let new = servers::NewScope {
        name: "orders".into(),
        description: "Orders".into(),
        consent_required: true,
        is_default: false,
    };
    servers::create_scope(
        &t.backend.store,
        &Actor::cli(),
        "default",
        new,
        t.clock.now(),
    )
    .await
    .unwrap();
    let app = t
        .app_with_logout(
            "client_secret_basic",
            &[REDIRECT],
            &["https://app.example.com/bye"],
        )
        .await;
    let browser = t.browser();

    let error = t
        .http
        .get(t.authorize_url("default", "0oaNOPE", &[]))
        .send()
        .await
        .unwrap();
    assert_page_headers(&error, "authorize error page");
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[("scope", "openid orders")]))
        .await;
    let login = location(&start).unwrap();
    let page = browser.get(&login).await;
    assert_page_headers(&page, "sign-in");
    assert_no_inline_code(&page.text().await.unwrap(), "sign-in");
    let expired = browser.get("/login?tx=gone").await;
    assert_page_headers(&expired, "expired sign-in");
    let to_consent = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(to_consent.status(), 303, "303 after the POST");
    let consent = browser.get(&location(&to_consent).unwrap()).await;
    assert_page_headers(&consent, "consent");
    assert_no_inline_code(&consent.text().await.unwrap(), "consent");
    let form_post = browser
        .get(&t.authorize_url("default", &app.client_id, &[("response_mode", "form_post")]))
        .await;
    assert_page_headers(&form_post, "form_post");
    let html = form_post.text().await.unwrap();
    assert!(
        html.contains(r#"<script src="/assets/form_post.js""#),
        "the auto-submit is a file: {html}"
    );
    let confirm = browser.get(&t.endpoint("default", "logout")).await;
    assert_eq!(confirm.status(), 200);
    assert_page_headers(&confirm, "logout confirmation");
    let html = confirm.text().await.unwrap();
    assert_no_inline_code(&html, "logout confirmation");
    let csrf = input_value(&html, "csrf").unwrap();
    let out = browser
        .post_form(&t.endpoint("default", "logout"), &[("csrf", &csrf)])
        .await;
    assert!(
        matches!(out.status().as_u16(), 200 | 303),
        "{}",
        out.status()
    );
    if out.status() == 200 {
        assert_page_headers(&out, "signed out");
    }
    // A POST /authorize that redirects answers 303 (RFC 9700 §4.12).
    let signed_in = t.browser();
    t.code(&signed_in, "default", &app, "alice@example.com")
        .await;
    let query = url::Url::parse(&t.authorize_url("default", &app.client_id, &[]))
        .unwrap()
        .query()
        .unwrap()
        .to_string();
    let r = signed_in
        .http
        .post(t.endpoint("default", "authorize"))
        .header(
            "cookie",
            format!("gh_session={}", signed_in.cookie("gh_session").unwrap()),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The script the form_post page loads is JavaScript, not sniffable as anything else.
    let js = t
        .http
        .get(format!("{}/assets/form_post.js", t.base))
        .send()
        .await
        .unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(js.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_json_is_never_cached() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let at = tokens["access_token"].as_str().unwrap();
    let userinfo = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.headers()["cache-control"], "no-store");
    expect_no_store_json(
        t.post_as("default", "introspect", &app, &[("token", at)])
            .await,
    )
    .await;
    let denied = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    expect_error(
        t.post_as("default", "token", &app, &[("grant_type", "password")])
            .await,
        400,
        "unsupported_grant_type",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_header_changes_the_issuer() {
    let t = TestApp::spawn().await;
    let url = format!("{}/oauth2/default/.well-known/openid-configuration", t.base);
    let plain: serde_json::Value = t.http.get(&url).send().await.unwrap().json().await.unwrap();
    let spoofed: serde_json::Value = t
        .http
        .get(&url)
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-prefix", "/evil")
        .header("forwarded", "host=evil.example;proto=https")
        .header("x-original-url", "/evil")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plain, spoofed);
    assert!(!spoofed.to_string().contains("evil"));
    // Nor a redirect's target: the sign-in page is on the configured host.
    let app = t.web_app().await;
    let r = t
        .http
        .get(t.authorize_url("default", &app.client_id, &[]))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert!(!location(&r).unwrap().contains("evil"));
}
