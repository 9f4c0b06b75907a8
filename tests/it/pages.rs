//! The home page, the API reference page and the demo app's pages, over HTTP as a
//! browser sees them: what they show, their headers, and what the demo refuses.
//! `pages_browser` drives the same pages in headless Chromium.

use gatehouse::clock::Clock;
use serde_json::Value;

use crate::cli::gatehouse_env;
use crate::support::*;

/// The pages' CSP: nothing inline, nothing from elsewhere.
fn assert_page_headers(response: &reqwest::Response) {
    let h = response.headers();
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{h:?}"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_lists_the_issuers_their_discovery_and_the_reference() {
    let t = TestApp::spawn().await;
    let response = t.http.get(format!("{}/", t.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    for needle in [
        format!("<code>{}</code>", t.base),
        format!("<code>{}/oauth2/default</code>", t.base),
        format!("{}/.well-known/openid-configuration", t.base),
        format!("{}/oauth2/default/.well-known/openid-configuration", t.base),
        format!("{}/oauth2/default/v1/keys", t.base),
        "href=\"/reference\"".to_string(),
        "href=\"/api/v1/openapi.json\"".to_string(),
        "id=\"not-signed-in\"".to_string(),
    ] {
        assert!(html.contains(&needle), "{needle} not in\n{html}");
    }
    assert!(!html.contains("<script"), "no script on the page");
    // The stylesheet it links is served, and is not HTML.
    let css = t
        .http
        .get(format!("{}/assets/pages.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // The sign-in page's stylesheet is still there beside it.
    let old = t
        .http
        .get(format!("{}/assets/gatehouse.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_shows_who_is_signed_in_and_signs_them_out() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    t.user("alice@example.com").await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;

    let page = browser.get("/").await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Alice Liddell"), "{html}");
    assert!(html.contains("alice@example.com"), "{html}");
    assert!(html.contains("action=\"/oauth2/v1/logout\""), "{html}");
    let csrf = input_value(&html, "csrf").expect("the sign-out form's token");

    // A cross-site form (no token) signs nobody out.
    let forged = browser
        .post_form("/oauth2/v1/logout", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status(), 403);
    let html = browser.get("/").await.text().await.unwrap();
    assert!(html.contains("Alice Liddell"), "still signed in");

    let out = browser
        .post_form("/oauth2/v1/logout", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status(), 200);
    assert!(out.text().await.unwrap().contains("You have signed out"));
    let html = browser.get("/").await.text().await.unwrap();
    assert!(html.contains("id=\"not-signed-in\""), "{html}");
    assert!(!html.contains("Alice Liddell"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_page_documents_every_operation_of_the_openapi_document() {
    let t = TestApp::spawn().await;
    let doc: Value = t
        .http
        .get(format!("{}/api/v1/openapi.json", t.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = t
        .http
        .get(format!("{}/reference", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
            assert!(
                html.contains(&format!("id=\"op-{id}\"")),
                "{id} not on the page"
            );
            assert!(!op["tags"].as_array().unwrap().is_empty(), "{id}: no tag");
        }
    }
    assert!(ids.contains("listUsers") && ids.contains("createApplication"));
    for tag in doc["tags"].as_array().unwrap() {
        let name = tag["name"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"tag-{name}\"")), "{name}");
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
    }
    assert!(!html.contains("<script"));
}

/// `gatehouse demo` against `t`'s data directory and public URL: the URL it prints.
pub fn demo_url(t: &TestApp) -> String {
    let dir = t.dir.path().to_str().unwrap().to_string();
    let (ok, out, err) = gatehouse_env(
        &[
            ("GATEHOUSE_DATA_DIR", &dir),
            ("GATEHOUSE_PUBLIC_URL", &t.base),
        ],
        &["demo"],
    );
    assert!(ok, "{err}");
    out.lines()
        .find(|l| l.starts_with("http"))
        .unwrap_or_else(|| panic!("no URL in {out}"))
        .to_string()
}

/// Opens the demo page, starts the sign-in: the authorize URL it sends the browser to.
async fn start_demo(browser: &Browser, url: &str) -> String {
    let page = browser.get(url).await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    let html = page.text().await.unwrap();
    let start = html
        .split("href=\"")
        .find_map(|s| s.strip_prefix("/demo/start?"))
        .map(|s| format!("/demo/start?{}", s.split('"').next().unwrap()))
        .expect("the sign-in link");
    let redirect = browser.get(&start.replace("&amp;", "&")).await;
    assert_eq!(redirect.status(), 302);
    assert!(browser.cookie("gh_demo").is_some(), "the flow's cookie");
    location(&redirect).expect("to /authorize")
}

/// Signs in at `authorize` and answers the callback URL the browser is sent to.
async fn sign_in_at(browser: &Browser, authorize: &str, login: &str) -> String {
    let response = browser.get(authorize).await;
    let login_page = location(&response).expect("to the sign-in page");
    let done = browser.sign_in(&login_page, login, PASSWORD).await;
    location(&done).expect("to the callback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_signs_in_end_to_end_and_shows_the_decoded_tokens() {
    let t = TestApp::spawn().await;
    let user = t.user("alice@example.com").await;
    let url = demo_url(&t);
    assert!(
        url.starts_with(&format!("{}/demo?client_id=0oa", t.base)),
        "{url}"
    );
    assert_eq!(demo_url(&t), url, "a second run finds the same app");
    let client_id = param(&url, "client_id").unwrap();

    let browser = t.browser();
    let authorize = start_demo(&browser, &url).await;
    assert!(authorize.starts_with(&t.endpoint("default", "authorize")));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&authorize, "client_id").as_deref(),
        Some(client_id.as_str())
    );
    for p in ["state", "nonce", "code_challenge"] {
        assert!(param(&authorize, p).is_some_and(|v| v.len() >= 43), "{p}");
    }
    let callback = sign_in_at(&browser, &authorize, "alice@example.com").await;
    assert!(
        callback.starts_with(&format!("{}/demo/callback?", t.base)),
        "{callback}"
    );

    let page = browser.get(&callback).await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"));
    // The claims, pretty-printed JSON, escaped for HTML (`"` is `&#34;`).
    let html = html.replace("&#34;", "\"");
    assert!(
        html.contains(&format!("\"sub\": \"{}\"", user.id)),
        "{html}"
    );
    assert!(
        html.contains(&format!("\"aud\": \"{client_id}\"")),
        "{html}"
    );
    assert!(html.contains("\"aud\": \"api://default\""), "{html}");
    assert!(html.contains("nonce matched"));
    assert!(
        html.contains("characters; not shown"),
        "the refresh token is not shown"
    );
    // The flow's cookie is spent: the same answer again is refused.
    assert_eq!(browser.cookie("gh_demo").as_deref(), Some(""));
    let again = browser.get(&callback).await;
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("not started in this browser")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_callback_refuses_what_a_careful_app_refuses() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let url = demo_url(&t);
    let callback = format!("{}/demo/callback", t.base);

    // No flow started in this browser.
    let stranger = t.browser();
    let r = stranger
        .get(&format!("{callback}?code=abc&state=xyz"))
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not started in this browser")
    );

    // Another state than the one this browser sent (a forged or mixed-up answer).
    let browser = t.browser();
    let authorize = start_demo(&browser, &url).await;
    let answer = sign_in_at(&browser, &authorize, "alice@example.com").await;
    let code = param(&answer, "code").unwrap();
    let r = browser
        .get(&format!("{callback}?code={code}&state=forged"))
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("state parameter does not match")
    );

    // The authorization server's error comes through as an error, escaped.
    let browser = t.browser();
    let authorize = start_demo(&browser, &url).await;
    let state = param(&authorize, "state").unwrap();
    let r = browser
        .get(&format!(
            "{callback}?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state={state}"
        ))
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("access_denied") && html.contains("&#60;b&#62;no"),
        "{html}"
    );
    assert!(!html.contains("<b>"), "escaped");

    // An answer naming another issuer (RFC 9207 mix-up).
    let browser = t.browser();
    let authorize = start_demo(&browser, &url).await;
    let state = param(&authorize, "state").unwrap();
    let r = browser
        .get(&format!(
            "{callback}?code=abc&state={state}&iss=https%3A%2F%2Fevil.example"
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("iss parameter"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_works_only_for_the_demo_app() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let url = demo_url(&t);
    let callback = format!("{}/demo/callback", t.base);
    // An ordinary app that registered the demo's callback as its redirect URI.
    let other = t
        .app_with("client_secret_basic", &[callback.as_str()])
        .await;
    for path in ["/demo", "/demo/start"] {
        let r = t
            .http
            .get(format!("{}{path}?client_id={}", t.base, other.client_id))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = t.http.get(format!("{}/demo", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A code for that app, delivered to the callback of a demo flow with the right
    // state, is not redeemed: the demo client cannot redeem another client's code.
    let browser = t.browser();
    let authorize = start_demo(&browser, &url).await;
    let state = param(&authorize, "state").unwrap();
    let other_authorize = {
        let mut u = url::Url::parse(&t.endpoint("default", "authorize")).unwrap();
        u.query_pairs_mut().extend_pairs([
            ("client_id", other.client_id.as_str()),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", callback.as_str()),
            ("state", state.as_str()),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        u.to_string()
    };
    let answer = sign_in_at(&browser, &other_authorize, "alice@example.com").await;
    let r = browser.get(&answer).await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("invalid_grant"), "{html}");
    assert!(!html.contains("ID token"), "no tokens shown");

    // A deactivated demo app is no demo app.
    let client_id = param(&url, "client_id").unwrap();
    gatehouse::admin::apps::set_active(
        &t.backend.store,
        &gatehouse::admin::Actor::cli(),
        &client_id,
        false,
        t.clock.now(),
    )
    .await
    .unwrap();
    let r = t.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
