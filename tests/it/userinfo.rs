//! /userinfo with Bearer tokens (RFC 6750 §3.1 errors).

use crate::support::*;

async fn access_token(t: &TestApp, server: &str, scope: &str) -> String {
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url(server, &app.client_id, &[("scope", scope)]))
        .await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let code = param(&location(&back).unwrap(), "code").unwrap();
    let body: serde_json::Value = t.redeem(server, &app, &code).await.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_errors() {
    let t = TestApp::spawn().await;
    let token = access_token(&t, "default", "openid email").await;
    let url = t.endpoint("default", "userinfo");

    let ok: serde_json::Value = t
        .http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["email"], "alice@example.com");
    assert!(
        ok.get("name").is_none(),
        "no profile scope, no profile claims"
    );
    // POST with the token in the form (RFC 6750 §2.2).
    let posted = t
        .http
        .post(&url)
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);

    let none = t.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        r#"Bearer realm="gatehouse""#
    );

    let mut tampered = token.clone();
    tampered.insert(tampered.find('.').unwrap() + 5, 'A');
    for bad in [tampered.as_str(), "not.a.jwt", "garbage"] {
        let r = t.http.get(&url).bearer_auth(bad).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
    }
    // Another server's token.
    let r = t
        .http
        .get(t.endpoint("org", "userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Expired.
    t.clock.advance(3601);
    let r = t.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_openid_is_insufficient_scope() {
    let t = TestApp::spawn().await;
    let token = access_token(&t, "default", "email").await;
    let r = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="insufficient_scope""#)
    );
}
