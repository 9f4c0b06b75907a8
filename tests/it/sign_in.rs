//! The hosted sign-in page: headers, CSRF, same answer for unknown user and wrong
//! password, a new session id at each sign-in, deactivated-session behaviour.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_framed_by_nobody_and_cached_by_nobody() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let page = browser.get(&location(&start).unwrap()).await;
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("gh_csrf=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    let html = page.text().await.unwrap();
    // Scripts only as files from this server (show/hide password), never inline.
    assert!(
        html.contains("Test App")
            && html.matches("<script").count() == html.matches("<script src=\"/assets/").count(),
        "no inline script on the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&start).unwrap();

    let wrong = browser
        .sign_in(&login, "alice@example.com", "not the password")
        .await;
    let unknown = browser
        .sign_in(&login, "mallory@example.com", "not the password")
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert!(
        location(&wrong).is_none() && location(&unknown).is_none(),
        "no code"
    );
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    let message = "Sign-in failed: the username or password is not right.";
    assert!(a.contains(message) && b.contains(message));
    assert!(
        browser.cookie("gh_session").is_none(),
        "no session after failures"
    );
    // The page still works after failures.
    let ok = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert!(param(&location(&ok).unwrap(), "code").is_some());
    // The pending request was taken: the same page cannot issue a second code.
    let again = browser.sign_in_page_reused(&login).await;
    assert_eq!(again, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_csrf_is_refused() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let victim = t.browser();
    let start = victim
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&start).unwrap();
    let html = victim.get(&login).await.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    // A cross-site form post: no CSRF cookie in the request, or a token that does not match.
    let attacker = t.browser();
    let r = attacker
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", "forged"),
                ("username", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = victim
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", "forged"),
                ("username", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(victim.cookie("gh_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sign_in_gets_a_new_session_id() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let first = browser.cookie("gh_session").unwrap();
    let again = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "login")]))
        .await;
    browser
        .sign_in(&location(&again).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let second = browser.cookie("gh_session").unwrap();
    assert_ne!(first, second);
    // The old id no longer signs anyone in.
    let old = t.browser();
    old.cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), first);
    let r = old
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unknown_sign_in_page_is_an_error_page() {
    let t = TestApp::spawn().await;
    let browser = t.browser();
    let r = browser.get("/login?tx=nonsense").await;
    assert_eq!(r.status(), 400);
    let r = browser.get("/login").await;
    assert_eq!(r.status(), 400);
    let app = t.web_app().await;
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    t.clock.advance(601);
    let r = browser.get(&location(&start).unwrap()).await;
    assert_eq!(r.status(), 400);
}

impl Browser {
    /// Submits a form for a sign-in page whose request was already taken.
    pub async fn sign_in_page_reused(&self, login_location: &str) -> u16 {
        self.get(login_location).await.status().as_u16()
    }
}
