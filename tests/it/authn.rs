//! okta-authn: Okta's classic Authentication API (`POST /api/v1/authn`), its
//! `sessionToken` redeemed at `/authorize` and `/login/sessionCookieRedirect`, and the
//! Sessions API (`/api/v1/sessions/me`, `/api/v1/sessions/{id}`), over HTTP against
//! the real server, on SQLite and PostgreSQL.

use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::support::*;

const TRUSTED: &str = "https://app.example.com";

async fn authn(t: &TestApp, body: Value) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = t
        .http
        .post(format!("{}/api/v1/authn", t.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

/// A fresh `sessionToken` for `login`.
async fn session_token(t: &TestApp, login: &str) -> String {
    let (status, body, _) = authn(t, json!({ "username": login, "password": PASSWORD })).await;
    assert_eq!(status, 200, "{body}");
    body["sessionToken"].as_str().unwrap().to_string()
}

fn without_error_id(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("errorId");
    body
}

async fn primary_authentication_then_authorize_with_the_token(t: TestApp) {
    let user = t.user("alice@example.com").await;
    let app = t.web_app().await;
    let before = t.clock.now();
    let (status, body, headers) = authn(
        &t,
        json!({ "username": "Alice@Example.com", "password": PASSWORD, "relayState": "/deep/link" }),
    )
    .await;
    let after = t.clock.now();
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["relayState"], "/deep/link");
    let token = body["sessionToken"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    let expires = gatehouse::clock::parse_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    assert!((before + 300..=after + 300).contains(&expires), "{body}");
    let embedded = &body["_embedded"]["user"];
    assert_eq!(embedded["id"], user.id.as_str());
    assert_eq!(embedded["profile"]["login"], "alice@example.com");
    assert_eq!(embedded["profile"]["firstName"], "Alice");
    assert_eq!(embedded["profile"]["lastName"], "Liddell");
    assert!(embedded["passwordChanged"].is_string(), "{body}");

    // No sign-in page: the token makes the session and the code comes back.
    let browser = t.browser();
    let url = t.authorize_url("default", &app.client_id, &[("sessionToken", token)]);
    let response = browser.get(&url).await;
    let location = location(&response).expect("a redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert!(browser.cookie("gh_session").is_some(), "a session cookie");
    let code = param(&location, "code").expect("a code");
    let tokens = t.redeem("default", &app, &code).await;
    let tokens = expect_no_store_json(tokens).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["sub"],
        user.id
    );

    // The session is a real one: single sign-on goes on without the token.
    let again = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    assert!(location_of(&again).starts_with(REDIRECT));

    // Replayed, the token is no session, whatever cookie the browser has: prompt=none
    // gets login_required at the app, otherwise the sign-in page.
    let replay = t.authorize_url(
        "default",
        &app.client_id,
        &[("sessionToken", token), ("prompt", "none")],
    );
    let answer = location_of(&browser.get(&replay).await);
    assert_eq!(param(&answer, "error").as_deref(), Some("login_required"));
    let replay = t.authorize_url("default", &app.client_id, &[("sessionToken", token)]);
    assert!(location_of(&t.browser().get(&replay).await).starts_with("/login?tx="));
}

fn location_of(response: &reqwest::Response) -> String {
    location(response).unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_authentication_then_authorize_with_the_token_on_sqlite() {
    primary_authentication_then_authorize_with_the_token(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_authentication_then_authorize_with_the_token_on_postgres() {
    primary_authentication_then_authorize_with_the_token(TestApp::spawn_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_answers_prompt_none_and_prompt_login() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    for prompt in ["none", "login"] {
        let token = session_token(&t, "alice@example.com").await;
        let url = t.authorize_url(
            "default",
            &app.client_id,
            &[("sessionToken", &token), ("prompt", prompt)],
        );
        let answer = location_of(&t.browser().get(&url).await);
        assert!(param(&answer, "code").is_some(), "{prompt}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_token_makes_no_session() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let token = session_token(&t, "alice@example.com").await;
    t.clock.advance(300);
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("sessionToken", &token), ("prompt", "none")],
    );
    let answer = location_of(&browser.get(&url).await);
    assert_eq!(param(&answer, "error").as_deref(), Some("login_required"));
    assert!(browser.cookie("gh_session").is_none());
    // Nor at sessionCookieRedirect.
    let hop = format!(
        "/login/sessionCookieRedirect?token={token}&redirectUrl={}",
        urlencode(&format!("{}/", t.base))
    );
    let response = browser.get(&hop).await;
    assert_eq!(response.status(), 401);
    assert!(browser.cookie("gh_session").is_none());
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_and_a_wrong_password_get_the_same_401() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let (s1, wrong, _) = authn(
        &t,
        json!({ "username": "alice@example.com", "password": "wrong" }),
    )
    .await;
    let (s2, unknown, _) = authn(
        &t,
        json!({ "username": "nobody@example.com", "password": "wrong" }),
    )
    .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(okta_error(&wrong).0, "E0000004");
    assert_eq!(wrong["errorSummary"], "Authentication failed");
    assert_eq!(without_error_id(wrong), without_error_id(unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_who_are_not_active_get_the_same_401() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let suspended = t.user("sue@example.com").await;
    let deactivated = t.user("dee@example.com").await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/suspend", suspended.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/deactivate", deactivated.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    for login in ["sue@example.com", "dee@example.com"] {
        let (status, body, _) = authn(&t, json!({ "username": login, "password": PASSWORD })).await;
        assert_eq!(status, 401, "{login}: {body}");
        assert_eq!(okta_error(&body).0, "E0000004");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_out_known_and_unknown_usernames_alike() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    for login in ["alice@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            let (status, _, _) = authn(&t, json!({ "username": login, "password": "guess" })).await;
            assert_eq!(status, 401);
        }
        // Throttled: not even the right password is checked.
        let (status, body, headers) =
            authn(&t, json!({ "username": login, "password": PASSWORD })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({ "status": "LOCKED_OUT" }));
        let wait: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(wait >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_okta_errors() {
    let t = TestApp::spawn().await;
    let response = t
        .http
        .post(format!("{}/api/v1/authn", t.base))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(okta_error(&body).0, "E0000003");
    for (body, field) in [
        (json!({ "password": PASSWORD }), "username"),
        (json!({ "username": "a@example.com" }), "password"),
        (
            json!({ "username": "a@example.com", "password": "" }),
            "password",
        ),
        (
            json!({ "username": "a@example.com", "password": "x", "relayState": "r".repeat(2049) }),
            "relayState",
        ),
    ] {
        let (status, answer, _) = authn(&t, body).await;
        assert_eq!(status, 400, "{answer}");
        let (code, causes) = okta_error(&answer);
        assert_eq!(code, "E0000001");
        assert!(causes[0].starts_with(field), "{causes:?}");
    }
    let (status, answer, _) = authn(&t, json!({ "username": 5, "password": "x" })).await;
    assert_eq!((status, okta_error(&answer).0.as_str()), (400, "E0000003"));
}

fn hop(token: &str, redirect_url: &str) -> String {
    format!(
        "/login/sessionCookieRedirect?token={token}&redirectUrl={}",
        urlencode(redirect_url)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_redirect_goes_only_to_trusted_origins() {
    let t = TestApp::spawn_configured(|c| c.cors_allowed_origins = vec![TRUSTED.into()]).await;
    t.user("alice@example.com").await;
    let token = session_token(&t, "alice@example.com").await;
    let browser = t.browser();
    for evil in [
        "https://evil.example.net/",
        "https://app.example.com.evil.example.net/",
        "http://app.example.com/",
        "https://app.example.com:8443/",
        "//evil.example.net/",
        "/relative",
        "https:\\\\evil.example.net/",
        "https://evil.example.net\\@app.example.com/",
        "javascript:alert(document.cookie)",
        "",
    ] {
        let response = browser.get(&hop(&token, evil)).await;
        assert_eq!(response.status(), 400, "{evil}");
        assert!(location(&response).is_none(), "{evil}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<html"), "an HTML page for {evil}");
        assert!(browser.cookie("gh_session").is_none(), "{evil}");
    }
    // A refused redirect did not use the token up; a trusted one takes it.
    let target = format!("{TRUSTED}/home?x=1");
    let response = browser.get(&hop(&token, &target)).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location_of(&response), target);
    assert!(browser.cookie("gh_session").is_some());
    // Once.
    let response = t.browser().get(&hop(&token, &target)).await;
    assert_eq!(response.status(), 401);
    // This server's own origin is trusted too: the usual hop back to /authorize.
    let token = session_token(&t, "alice@example.com").await;
    let app = t.web_app().await;
    let authorize = t.authorize_url("default", &app.client_id, &[]);
    let fresh = t.browser();
    let response = fresh.get(&hop(&token, &authorize)).await;
    assert_eq!(location_of(&response), authorize);
    let answer = location_of(&fresh.get(&authorize).await);
    assert!(param(&answer, "code").is_some(), "{answer}");
}

async fn the_sessions_api(t: TestApp) {
    let user = t.user("alice@example.com").await;
    let api = t.api().await;
    let token = session_token(&t, "alice@example.com").await;
    let browser = t.browser();
    let response = browser.get(&hop(&token, &format!("{}/", t.base))).await;
    assert_eq!(response.status(), 302);
    let cookie = format!("gh_session={}", browser.cookie("gh_session").unwrap());
    let me = |method: reqwest::Method, path: &str| {
        t.http
            .request(method, format!("{}/api/v1/sessions/me{path}", t.base))
            .header("cookie", cookie.clone())
            .send()
    };

    let response = me(reqwest::Method::GET, "").await.unwrap();
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["status"], "ACTIVE");
    assert_eq!(session["userId"], user.id.as_str());
    assert_eq!(session["login"], "alice@example.com");
    assert_eq!(session["amr"], json!(["pwd"]));
    assert_eq!(session["mfaActive"], false);
    assert_eq!(session["idp"]["type"], "OKTA");
    assert!(session["lastPasswordVerification"].is_string());
    let id = session["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("102"), "{id}");
    assert!(!id.contains(&browser.cookie("gh_session").unwrap()));
    assert_eq!(
        session["_links"]["refresh"]["href"],
        format!("{}/api/v1/sessions/me/lifecycle/refresh", t.base)
    );
    let expires = |s: &Value| gatehouse::clock::parse_rfc3339(s["expiresAt"].as_str().unwrap());

    // The admin sees the same session by its id.
    let (status, by_id) = api.get(&format!("/api/v1/sessions/{id}")).await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(by_id["id"], id.as_str());
    // Without a token, no admin operation.
    let status = t
        .http
        .get(format!("{}/api/v1/sessions/{id}", t.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    // Refresh moves the expiry to a full lifetime from now.
    t.clock.advance(600);
    let response = me(reqwest::Method::POST, "/lifecycle/refresh")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(expires(&refreshed), Some(t.clock.now() + 7200));
    t.clock.advance(60);
    let (status, refreshed) = api
        .post(
            &format!("/api/v1/sessions/{id}/lifecycle/refresh"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(expires(&refreshed), Some(t.clock.now() + 7200));

    // Closing it: 204, the cookie is cleared, and it is gone for everyone.
    let response = me(reqwest::Method::DELETE, "").await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = me(method, "").await.unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(okta_error(&body).0, "E0000007");
    }
    assert_eq!(api.get(&format!("/api/v1/sessions/{id}")).await.0, 404);

    // An admin ends another session by id; unknown ids are 404.
    let token = session_token(&t, "alice@example.com").await;
    let other = t.browser();
    other.get(&hop(&token, &format!("{}/", t.base))).await;
    let cookie = format!("gh_session={}", other.cookie("gh_session").unwrap());
    let response = t
        .http
        .get(format!("{}/api/v1/sessions/me", t.base))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    let id: String = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .into();
    assert_eq!(api.delete(&format!("/api/v1/sessions/{id}")).await, 204);
    assert_eq!(api.delete(&format!("/api/v1/sessions/{id}")).await, 404);
    for unknown in [
        "102nope",
        "nope",
        "102AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(api.get(&format!("/api/v1/sessions/{unknown}")).await.0, 404);
    }
    let response = t
        .http
        .get(format!("{}/api/v1/sessions/me", t.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // No cookie at all.
    let response = t
        .http
        .get(format!("{}/api/v1/sessions/me", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_api_on_sqlite() {
    the_sessions_api(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_api_on_postgres() {
    the_sessions_api(TestApp::spawn_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_origins_get_cors_with_credentials_others_nothing() {
    let t = TestApp::spawn_configured(|c| c.cors_allowed_origins = vec![TRUSTED.into()]).await;
    for path in ["/api/v1/authn", "/api/v1/sessions/me"] {
        let preflight = |origin: &'static str| {
            t.http
                .request(reqwest::Method::OPTIONS, format!("{}{path}", t.base))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,x-okta-user-agent-extended",
                )
                .send()
        };
        let ok = preflight(TRUSTED).await.unwrap();
        assert_eq!(ok.status(), 204, "{path}");
        let h = ok.headers();
        assert_eq!(h["access-control-allow-origin"], TRUSTED);
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("DELETE")
        );
        assert!(
            h["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("X-Okta-User-Agent-Extended")
        );
        let refused = preflight("https://evil.example.net").await.unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert!(
            refused
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    // The admin operations answer no CORS, and the bearer endpoints no credentials.
    let response = t
        .http
        .get(format!("{}/api/v1/sessions/102x", t.base))
        .header("origin", TRUSTED)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = t
        .http
        .get(format!("{}/oauth2/default/v1/keys", t.base))
        .header("origin", TRUSTED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], TRUSTED);
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
