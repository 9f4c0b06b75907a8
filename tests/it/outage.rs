//! A database outage (PostgreSQL refusing and dropping connections): every endpoint
//! that needs the database answers 503 `temporarily_unavailable` with `Retry-After`,
//! never an answer that would make a client or an API discard a good token
//! (`invalid_grant`, `invalid_client`, `active: false`, `invalid_token`); when the
//! database returns, the same tokens work, with no restart.

use serde_json::Value;

use crate::support::*;

async fn assert_unavailable(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    assert!(response.headers().contains_key("retry-after"), "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_503_and_good_tokens_work_after_it() {
    let t = TestApp::spawn_postgres().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let db = t.database.as_ref().unwrap();
    db.outage_start().await;
    assert_unavailable(
        t.post_as("default", "introspect", &app, &[("token", access)])
            .await,
        "introspect",
    )
    .await;
    assert_unavailable(t.refresh("default", &app, refresh, None).await, "refresh").await;
    assert_unavailable(
        t.http
            .get(t.endpoint("default", "userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
        "userinfo",
    )
    .await;
    assert_unavailable(
        t.post_as("default", "revoke", &app, &[("token", refresh)])
            .await,
        "revoke",
    )
    .await;
    assert_eq!(
        t.http
            .get(format!("{}/readyz", t.base))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    db.outage_end().await;

    // Back, without a restart: the same tokens are still good.
    assert_eq!(t.introspect("default", &app, access).await["active"], true);
    let r = t.refresh("default", &app, refresh, None).await;
    assert_eq!(
        r.status(),
        200,
        "the refresh token was not spent by the failed attempt"
    );
}
