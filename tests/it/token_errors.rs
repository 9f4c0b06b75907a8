//! Bad input at /token: RFC 6749 §5.2 codes and statuses, single use under concurrency,
//! and a replayed code revoking what was issued from it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn assert_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
) -> reqwest::header::HeaderMap {
    assert_eq!(response.status().as_u16(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_failures_are_invalid_client() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let token = t.endpoint("default", "token");

    // Wrong secret over Basic: 401 with a Basic challenge.
    let r = t
        .http
        .post(&token)
        .basic_auth(&app.client_id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let headers = assert_error(r, 401, "invalid_client").await;
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // Unknown client; no credentials at all; a malformed Basic header.
    let r = t
        .http
        .post(&token)
        .basic_auth("0oaNOPE", Some("x"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_client").await;
    let r = t.http.post(&token).form(&form).send().await.unwrap();
    assert_error(r, 401, "invalid_client").await;
    let r = t
        .http
        .post(&token)
        .header("authorization", "Basic !!!")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_client").await;
    // The registered method only: this client is client_secret_basic.
    let mut post_form = form.to_vec();
    post_form.extend([
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.secret.as_deref().unwrap()),
    ]);
    let r = t.http.post(&token).form(&post_form).send().await.unwrap();
    assert_error(r, 401, "invalid_client").await;
    // Two methods at once.
    let r = t
        .http
        .post(&token)
        .basic_auth(&app.client_id, app.secret.as_deref())
        .form(&post_form)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // None of that spent the code.
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_failures_are_invalid_grant() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let other = t.web_app().await;
    let browser = t.browser();

    // Unknown code.
    assert_error(
        t.redeem("default", &app, "not-a-code").await,
        400,
        "invalid_grant",
    )
    .await;
    // Issued to another client.
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    assert_error(
        t.redeem("default", &other, &code).await,
        400,
        "invalid_grant",
    )
    .await;
    // Another redirect_uri.
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let r = t
        .exchange(
            "default",
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/other"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_error(r, 400, "invalid_grant").await;
    // Redeemed at another authorization server.
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    assert_error(t.redeem("org", &app, &code).await, 400, "invalid_grant").await;
    // PKCE: wrong verifier; challenge sent but no verifier.
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
    let r = t
        .exchange(
            "default",
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", wrong),
            ],
        )
        .await;
    assert_error(r, 400, "invalid_grant").await;
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let r = t
        .exchange(
            "default",
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_error(r, 400, "invalid_grant").await;
    // Expired: 300 seconds.
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    t.clock.advance(301);
    assert_error(t.redeem("default", &app, &code).await, 400, "invalid_grant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_fails_and_revokes_its_access_token() {
    replayed_code_revokes(&TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_fails_and_revokes_its_access_token_on_postgres() {
    replayed_code_revokes(&TestApp::spawn_postgres().await).await;
}

async fn replayed_code_revokes(t: &TestApp) {
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let first: Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap().to_string();
    let userinfo = t.endpoint("default", "userinfo");
    assert_eq!(
        t.http
            .get(&userinfo)
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    assert_error(t.redeem("default", &app, &code).await, 400, "invalid_grant").await;
    let after = t
        .http
        .get(&userinfo)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        401,
        "the access token from a replayed code is revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_redemptions_one_success() {
    twenty_concurrent_redemptions(&TestApp::spawn().await).await;
}

/// On PostgreSQL the redeeming `UPDATE`s wait on the row lock rather than on SQLite's
/// one writer; still exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_redemptions_one_success_on_postgres() {
    twenty_concurrent_redemptions(&TestApp::spawn_postgres().await).await;
}

async fn twenty_concurrent_redemptions(t: &TestApp) {
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let code = t
        .code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let request = t
                .http
                .post(t.endpoint("default", "token"))
                .basic_auth(&app.client_id, app.secret.clone())
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ]);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_invalid_request_never_a_500() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let token = t.endpoint("default", "token");
    let basic = |r: reqwest::RequestBuilder| r.basic_auth(&app.client_id, app.secret.as_deref());

    // Not a form.
    let r = basic(t.http.post(&token))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"authorization_code"}"#)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // Not UTF-8.
    let r = basic(t.http.post(&token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=authorization_code&code=%FF%FE".to_vec())
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = basic(t.http.post(&token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=\xff\xfe".to_vec())
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // A megabyte of scope. Bodies over the limit go on a connection of their own: the
    // server answers before reading them and closes it, and a pooled connection reused
    // after that close fails the next request with a broken pipe (a flaky test).
    let huge = format!(
        "grant_type=authorization_code&code=x&scope={}",
        "a".repeat(1 << 20)
    );
    let r = basic(no_redirects().post(&token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // Too many parameters.
    let many: String = (0..10_000).map(|i| format!("p{i}=1&")).collect();
    let r = basic(no_redirects().post(&token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(many)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // A repeated parameter.
    let r = basic(t.http.post(&token))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("code", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    // Missing grant_type, missing code, unknown grant type.
    let r = basic(t.http.post(&token))
        .form(&[("code", "a")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = basic(t.http.post(&token))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = basic(t.http.post(&token))
        .form(&[("grant_type", "urn:example:magic")])
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "unsupported_grant_type").await;
    // GET is not allowed at the token endpoint.
    let r = t.http.get(&token).send().await.unwrap();
    assert_eq!(r.status(), 405);
    // An unknown server.
    let r = basic(t.http.post(t.endpoint("nosuch", "token")))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
