//! Sessions say which device and address they came from: the sign-in's `User-Agent`
//! (cut to 256 characters) and the client's address (`X-Forwarded-For` believed only
//! from a trusted proxy), shown by the Users API's session list with a short summary,
//! and when the session was last used at /authorize (moved at most once a minute).

use serde_json::Value;

use crate::support::*;

const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

async fn sessions_of(t: &TestApp, user_id: &str) -> Vec<Value> {
    let (status, list) = t
        .api()
        .await
        .get(&format!("/api/v1/users/{user_id}/sessions"))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

fn with_agent<'a>(list: &'a [Value], user_agent: &str) -> &'a Value {
    list.iter()
        .find(|s| s["client"]["userAgent"]["rawUserAgent"] == user_agent)
        .unwrap_or_else(|| panic!("a session from {user_agent}: {list:?}"))
}

async fn device_and_address_are_recorded(t: TestApp) {
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let long = format!("Mozilla/5.0 {}", "x".repeat(600));
    let chrome = t.browser_with(&[
        ("user-agent", CHROME_LINUX),
        // Not from a trusted proxy (none is configured): not believed.
        ("x-forwarded-for", "203.0.113.9"),
    ]);
    let safari = t.browser_with(&[("user-agent", SAFARI_IPHONE)]);
    let long_agent = t.browser_with(&[("user-agent", &long)]);
    let bare = t.browser();
    for browser in [&chrome, &safari, &long_agent, &bare] {
        t.code(browser, "default", &app, &ann.login).await;
    }

    let list = sessions_of(&t, &ann.id).await;
    assert_eq!(list.len(), 4, "{list:?}");
    let on_chrome = with_agent(&list, CHROME_LINUX);
    assert_eq!(
        on_chrome["client"]["userAgent"]["summary"],
        "Chrome 156 on Linux"
    );
    assert_eq!(on_chrome["client"]["ipAddress"], "127.0.0.1");
    assert_eq!(on_chrome["lastSeenAt"], on_chrome["createdAt"]);
    let on_safari = with_agent(&list, SAFARI_IPHONE);
    assert_eq!(
        on_safari["client"]["userAgent"]["summary"],
        "Safari on iPhone"
    );
    let cut: String = long.chars().take(256).collect();
    let on_long = with_agent(&list, &cut);
    assert_eq!(on_long["client"]["userAgent"]["summary"], "Unknown browser");
    let without = list
        .iter()
        .find(|s| s["client"]["userAgent"]["rawUserAgent"].is_null())
        .expect("the session of the browser that sent no User-Agent");
    assert!(without["client"]["userAgent"]["summary"].is_null());
    assert_eq!(without["client"]["ipAddress"], "127.0.0.1");

    // Used again at /authorize two minutes later: last seen then; again at once, not
    // moved (at most once a minute). Each session is compared with its own creation
    // (timestamps are whole seconds, and the four sign-ins may straddle one).
    let created = on_chrome["createdAt"].clone();
    let safari_created = on_safari["createdAt"].clone();
    t.clock.advance(120);
    t.code(&chrome, "default", &app, &ann.login).await;
    let seen = with_agent(&sessions_of(&t, &ann.id).await, CHROME_LINUX)["lastSeenAt"].clone();
    assert_ne!(seen, created);
    t.clock.advance(30);
    t.code(&chrome, "default", &app, &ann.login).await;
    let list = sessions_of(&t, &ann.id).await;
    assert_eq!(with_agent(&list, CHROME_LINUX)["lastSeenAt"], seen);
    assert_eq!(
        with_agent(&list, SAFARI_IPHONE)["lastSeenAt"],
        safari_created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_and_address_are_recorded_on_sqlite() {
    device_and_address_are_recorded(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_and_address_are_recorded_on_postgres() {
    device_and_address_are_recorded(TestApp::spawn_postgres().await).await;
}

/// Behind a trusted proxy the session keeps the address the proxy forwarded, as the
/// System Log and the network zones do.
async fn a_trusted_proxy_forwards_the_address(t: TestApp) {
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser_with(&[
        ("user-agent", SAFARI_IPHONE),
        ("x-forwarded-for", "203.0.113.9"),
    ]);
    t.code(&browser, "default", &app, &ann.login).await;
    let list = sessions_of(&t, &ann.id).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["client"]["ipAddress"], "203.0.113.9");
}

fn loopback_is_a_proxy(c: &mut gatehouse::config::ServerConfig) {
    c.trusted_proxies = vec![gatehouse::config::IpNet::parse("127.0.0.0/8").unwrap()];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwards_the_address_on_sqlite() {
    a_trusted_proxy_forwards_the_address(TestApp::spawn_configured(loopback_is_a_proxy).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwards_the_address_on_postgres() {
    a_trusted_proxy_forwards_the_address(
        TestApp::spawn_postgres_configured(loopback_is_a_proxy).await,
    )
    .await;
}

const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87";

async fn session_token(t: &TestApp, login: &str) -> String {
    let response = t
        .http
        .post(format!("{}/api/v1/authn", t.base))
        .json(&serde_json::json!({ "username": login, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["sessionToken"].as_str().unwrap().to_string()
}

/// A `sessionToken` is redeemed by the browser, at /authorize or at
/// sessionCookieRedirect: the session is that browser's, not the Authentication API
/// caller's.
async fn a_session_token_starts_a_session_of_the_browser(t: TestApp) {
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let firefox = t.browser_with(&[("user-agent", FIREFOX_WINDOWS)]);
    let token = session_token(&t, &ann.login).await;
    let url = t.authorize_url("default", &app.client_id, &[("sessionToken", &token)]);
    let answer = firefox.get(&url).await;
    assert!(location(&answer).unwrap().starts_with(REDIRECT));
    let edge = t.browser_with(&[("user-agent", EDGE_WINDOWS)]);
    let token = session_token(&t, &ann.login).await;
    let target: String =
        url::form_urlencoded::byte_serialize(format!("{}/", t.base).as_bytes()).collect();
    let hop = format!("/login/sessionCookieRedirect?token={token}&redirectUrl={target}");
    assert_eq!(edge.get(&hop).await.status(), 302);

    let list = sessions_of(&t, &ann.id).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let summary = |ua| with_agent(&list, ua)["client"]["userAgent"]["summary"].clone();
    assert_eq!(summary(FIREFOX_WINDOWS), "Firefox 128 on Windows");
    assert_eq!(summary(EDGE_WINDOWS), "Edge 126 on Windows");
    for s in &list {
        assert_eq!(s["client"]["ipAddress"], "127.0.0.1", "{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_starts_a_session_of_the_browser_on_sqlite() {
    a_session_token_starts_a_session_of_the_browser(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_starts_a_session_of_the_browser_on_postgres() {
    a_session_token_starts_a_session_of_the_browser(TestApp::spawn_postgres().await).await;
}
