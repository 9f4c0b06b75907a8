//! /introspect (RFC 7662): a forged token is simply `active: false` (§2.2), whatever
//! its header says, and no key is fetched for it.

use super::forged::{Tripwire, forgeries, jwks};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_inactive_and_fetch_nothing() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let real = tokens["access_token"].as_str().unwrap();
    assert_eq!(t.introspect("default", &app, real).await["active"], true);
    let tripwire = Tripwire::new().await;
    let keys = jwks(&t, "default").await;
    for (what, token) in forgeries(real, &keys, &tripwire.url) {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            let mut form = vec![("token", token.as_str())];
            if let Some(hint) = hint {
                form.push(("token_type_hint", hint));
            }
            let body =
                expect_no_store_json(t.post_as("default", "introspect", &app, &form).await).await;
            assert_eq!(
                body,
                serde_json::json!({"active": false}),
                "{what} ({hint:?})"
            );
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(tripwire.hits(), 0, "jku/x5u must never be fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_huge_and_numerous_parameters_are_invalid_request() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let r = t
        .post_as(
            "default",
            "introspect",
            &app,
            &[("token", "a"), ("token", "b")],
        )
        .await;
    expect_error(r, 400, "invalid_request").await;
    let huge = "a".repeat(1 << 20);
    let r = t
        .post_as("default", "introspect", &app, &[("token", huge.as_str())])
        .await;
    assert!(matches!(r.status().as_u16(), 400 | 413), "{}", r.status());
    // 10,000 parameters in 40 KB: under the body limit, over the parameter count. On a
    // new connection: the server may close the one it refused the huge body on without
    // reading it, and a pooled client reusing it races that close.
    let body = "a=1&".repeat(10_000);
    let r = reqwest::Client::new()
        .post(t.endpoint("default", "introspect"))
        .basic_auth(&app.client_id, app.secret.as_ref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_request").await;
}

/// RFC 7662 §4: by default any confidential client of a server learns an access
/// token's `sub`, `username` and `scope` (the resource-server pattern); once the
/// server restricts introspection (API or CLI), only the token's own client and the
/// listed resource servers get `active: true`, every other client `{"active": false}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_server_answers_only_the_tokens_client_and_its_resource_servers() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let resource_server = t.service_app().await;
    let other = t.web_app().await;
    let token = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for client in [&app, &resource_server, &other] {
        assert_eq!(
            t.introspect("default", client, &token).await["active"],
            true
        );
    }
    let api = t.api().await;
    let (_, before) = api.get("/api/v1/authorizationServers/default").await;
    assert_eq!(
        before["introspection"],
        serde_json::json!({"restricted": false, "resourceServers": []})
    );
    let mut body = before.clone();
    body["introspection"] =
        serde_json::json!({"restricted": true, "resourceServers": ["0oaNOSUCHAPP"]});
    let (status, error) = api
        .put("/api/v1/authorizationServers/default", body.clone())
        .await;
    assert_eq!(
        (status, okta_error(&error).0.as_str()),
        (400, "E0000001"),
        "{error}"
    );
    body["introspection"]["resourceServers"] = serde_json::json!([resource_server.client_id]);
    let (status, after) = api.put("/api/v1/authorizationServers/default", body).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["introspection"]["restricted"], true);

    let own = t.introspect("default", &app, &token).await;
    assert_eq!(
        (own["active"].clone(), own["sub"].is_string()),
        (serde_json::json!(true), true)
    );
    assert_eq!(
        t.introspect("default", &resource_server, &token).await["active"],
        true
    );
    assert_eq!(
        t.introspect("default", &other, &token).await,
        serde_json::json!({"active": false})
    );

    // The CLI turns it off again (what is not given stays).
    let (ok, stdout, stderr) = crate::cli::gatehouse(
        &t,
        &[
            "authz-servers",
            "introspection",
            "default",
            "--restricted",
            "false",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        shown["introspection"],
        serde_json::json!({"restricted": false, "resourceServers": [resource_server.client_id]})
    );
    assert_eq!(
        t.introspect("default", &other, &token).await["active"],
        true
    );
}
