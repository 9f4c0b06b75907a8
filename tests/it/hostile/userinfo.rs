//! /userinfo takes an access token from anyone (RFC 6750): every forgery is 401
//! `invalid_token`, and nothing is fetched on its behalf.

use super::forged::{Tripwire, forgeries, jwks};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_access_tokens_are_invalid_token_and_fetch_nothing() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid email")
        .await;
    let real = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        t.userinfo_status("default", real).await.0,
        200,
        "the real token works"
    );
    let tripwire = Tripwire::new().await;
    let keys = jwks(&t, "default").await;
    for (what, token) in forgeries(real, &keys, &tripwire.url) {
        let (status, challenge) = t.userinfo_status("default", &token).await;
        assert_eq!(status, 401, "{what}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{what}: {challenge}"
        );
        // RFC 6750 §2.2: in a form body too.
        let r = t
            .http
            .post(t.endpoint("default", "userinfo"))
            .form(&[("access_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{what} (form)");
    }
    // The ID token is not an access token.
    assert_eq!(
        t.userinfo_status("default", tokens["id_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(tripwire.hits(), 0, "jku/x5u must never be fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_injection_and_oversized_tokens_are_refused() {
    let t = TestApp::spawn().await;
    let url = t.endpoint("default", "userinfo");
    let huge = "a".repeat(64 * 1024);
    for value in [
        format!("Bearer {huge}"),
        "Bearer ".into(),
        "Bearer a b".into(),
        "Basic Zm9vOmJhcg==".into(),
        "bearer".into(),
    ] {
        let r = t
            .http
            .get(&url)
            .header("authorization", value.as_str())
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 401),
            "{}: {}",
            value.chars().take(20).collect::<String>(),
            r.status()
        );
    }
    // Token in the header and in the form at once (RFC 6750 §2: only one method).
    let r = t
        .http
        .post(&url)
        .bearer_auth("a.b.c")
        .form(&[("access_token", "a.b.c")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
