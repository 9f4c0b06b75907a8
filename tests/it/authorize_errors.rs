//! Bad input at /authorize. Until the client and redirect URI are trusted: an HTML error
//! page and never a redirect. After: RFC 6749 §4.1.2.1 errors sent back with `state`
//! and `iss`.

use crate::support::*;

async fn assert_error_page(t: &TestApp, url: &str) {
    let response = t.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 400, "{url}");
    assert!(location(&response).is_none(), "must not redirect: {url}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(html.contains("Request refused"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_client_or_redirect_uri_gets_a_page() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    assert_error_page(&t, &t.authorize_url("default", "0oaUNKNOWNCLIENT0000", &[])).await;
    assert_error_page(
        &t,
        &t.authorize_url("default", &app.client_id, &[("client_id", "")]),
    )
    .await;
    assert_error_page(
        &t,
        &t.authorize_url("default", &app.client_id, &[("redirect_uri", "")]),
    )
    .await;
    for bad in [
        "https://app.example.com/callback/",
        "https://app.example.com/callbackX",
        "https://app.example.com/callback/extra",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback#frag",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://app.example.com.evil.com/callback",
        "https://evil.com@app.example.com/callback",
        "https://app.example.com@evil.com/callback",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback/../callback",
        "https://app.example.com",
        " https://app.example.com/callback",
    ] {
        assert_error_page(
            &t,
            &t.authorize_url("default", &app.client_id, &[("redirect_uri", bad)]),
        )
        .await;
    }
    // A repeated client_id or redirect_uri cannot be trusted either.
    let repeated = format!(
        "{}&client_id={}",
        t.authorize_url("default", &app.client_id, &[]),
        app.client_id
    );
    assert_error_page(&t, &repeated).await;
    let repeated = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.com%2F",
        t.authorize_url("default", &app.client_id, &[])
    );
    assert_error_page(&t, &repeated).await;
    // Malformed query strings: not UTF-8, too large.
    assert_error_page(
        &t,
        &format!(
            "{}&state=%FF%FE",
            t.authorize_url("default", &app.client_id, &[])
        ),
    )
    .await;
    let huge = "a".repeat(1 << 20);
    // On a connection of its own: the server answers before reading the body and closes
    // the connection, which the pool must not hand to the next request.
    let response = no_redirects()
        .post(t.endpoint("default", "authorize"))
        .form(&[
            ("client_id", app.client_id.as_str()),
            ("scope", huge.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(location(&response).is_none());
    // A page reflects no input as markup.
    let xss = t.authorize_url("default", "<script>alert(1)</script>", &[]);
    let html = t.http.get(&xss).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    // An unknown authorization server: a 404 page.
    let response = t
        .http
        .get(t.authorize_url("nosuch", &app.client_id, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(location(&response).is_none());
}

async fn assert_redirected_error(t: &TestApp, url: &str, error: &str, state: Option<&str>) {
    let response = t.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{url}");
    let loc = location(&response).unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some(error),
        "{url} -> {loc}"
    );
    assert!(param(&loc, "error_description").is_some());
    assert_eq!(param(&loc, "state").as_deref(), state, "{loc}");
    assert_eq!(param(&loc, "iss"), Some(t.issuer("default")));
    assert!(param(&loc, "code").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_client_gets_errors_at_its_redirect_uri() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let spa = t.spa().await;
    let url = |extra: &[(&str, &str)]| t.authorize_url("default", &app.client_id, extra);
    let s = Some("st4te");
    assert_redirected_error(&t, &url(&[("response_type", "")]), "invalid_request", s).await;
    assert_redirected_error(
        &t,
        &url(&[("response_type", "token")]),
        "unsupported_response_type",
        s,
    )
    .await;
    assert_redirected_error(
        &t,
        &url(&[("response_type", "code id_token")]),
        "unsupported_response_type",
        s,
    )
    .await;
    assert_redirected_error(&t, &url(&[("scope", "")]), "invalid_scope", s).await;
    assert_redirected_error(
        &t,
        &url(&[("scope", "openid admin:all")]),
        "invalid_scope",
        s,
    )
    .await;
    assert_redirected_error(&t, &url(&[("response_mode", "jwt")]), "invalid_request", s).await;
    assert_redirected_error(&t, &url(&[("prompt", "none login")]), "invalid_request", s).await;
    assert_redirected_error(&t, &url(&[("prompt", "bogus")]), "invalid_request", s).await;
    assert_redirected_error(&t, &url(&[("max_age", "soon")]), "invalid_request", s).await;
    assert_redirected_error(
        &t,
        &url(&[("code_challenge_method", "S512")]),
        "invalid_request",
        s,
    )
    .await;
    assert_redirected_error(
        &t,
        &url(&[("code_challenge", "short")]),
        "invalid_request",
        s,
    )
    .await;
    assert_redirected_error(
        &t,
        &url(&[("request", "eyJhbGciOiJub25lIn0.e30.")]),
        // A refused request object (this app cannot sign one) is not the request:
        // not even its outer state is sent back (RFC 9101 §6.3).
        "invalid_request_object",
        None,
    )
    .await;
    assert_redirected_error(
        &t,
        &url(&[("request_uri", "https://evil.com/r")]),
        "request_uri_not_supported",
        s,
    )
    .await;
    assert_redirected_error(&t, &url(&[("prompt", "none")]), "login_required", s).await;
    // A repeated parameter; a repeated state is not echoed.
    assert_redirected_error(
        &t,
        &format!("{}&scope=email", url(&[])),
        "invalid_request",
        s,
    )
    .await;
    assert_redirected_error(
        &t,
        &format!("{}&state=other", url(&[])),
        "invalid_request",
        None,
    )
    .await;
    // Public clients: PKCE is required, and plain is refused.
    let spa_url = |extra: &[(&str, &str)]| t.authorize_url("default", &spa.client_id, extra);
    assert_redirected_error(
        &t,
        &spa_url(&[("code_challenge", ""), ("code_challenge_method", "")]),
        "invalid_request",
        s,
    )
    .await;
    assert_redirected_error(
        &t,
        &spa_url(&[
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ]),
        "invalid_request",
        s,
    )
    .await;
    // A 4 KB state is echoed exactly.
    let big_state = "s".repeat(4096);
    let response = t
        .http
        .get(url(&[("state", &big_state), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&response).unwrap(), "state").as_deref(),
        Some(big_state.as_str())
    );
}

/// A NUL character is refused at parsing (PostgreSQL text cannot hold one; no protocol
/// value has one), the same way on both backends: a page, since nothing is trusted yet.
async fn nul_is_refused(t: &TestApp) {
    let app = t.web_app().await;
    let url = t.authorize_url("default", &app.client_id, &[]) + "&nonce=a%00b";
    let url = url.replace("&nonce=n0nce", "");
    assert_error_page(t, &url).await;
    let r = t
        .http
        .post(t.endpoint("default", "token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=a%00b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_is_invalid_request_on_sqlite() {
    nul_is_refused(&TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_is_invalid_request_on_postgres() {
    nul_is_refused(&TestApp::spawn_postgres().await).await;
}
