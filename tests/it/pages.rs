//! The home page and the API reference page, over HTTP as a browser sees them: what
//! they show, and their headers.

use serde_json::Value;

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
