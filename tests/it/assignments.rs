//! App assignments gate sign-in, as in Okta: an app with no assignment is open to every
//! active user; once it has one, only users assigned to it directly or through a group
//! get a code (else `access_denied` at the app) or tokens (else 403 `access_denied` at
//! /token, also on refresh).

use serde_json::{Value, json};

use crate::support::*;

const NOT_ASSIGNED: &str = "User is not assigned to the client application.";

/// The redirect back to the app after `browser` asks for a code (signing `login` in
/// when it has no session).
async fn back_at_app(
    t: &TestApp,
    browser: &Browser,
    app: &App,
    login: &str,
    scope: &str,
) -> String {
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("scope", scope)]))
        .await;
    let r = match location(&r) {
        Some(loc) if loc.starts_with("/login") => browser.sign_in(&loc, login, PASSWORD).await,
        _ => r,
    };
    location(&r).expect("a redirect to the app")
}

async fn refused_as_unassigned(response: reqwest::Response) {
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (Some("access_denied"), Some(NOT_ASSIGNED)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_decide_who_gets_codes_and_tokens() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    t.user("bob@example.com").await;
    let cat = t.user("cat@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let other = t.web_app().await;
    let apps = format!("/api/v1/apps/{}", app.client_id);

    // No assignment yet: open to every active user (the CLI's quick start).
    let bobs_browser = t.browser();
    let back = back_at_app(&t, &bobs_browser, &app, "bob@example.com", "openid").await;
    assert!(param(&back, "code").is_some(), "{back}");

    // Ann, and a group with nobody in it yet: Bob is turned back at the app, also from
    // his live session, and so is Cat.
    assert_eq!(
        api.post(&format!("{apps}/users"), json!({ "id": ann.id }))
            .await
            .0,
        200
    );
    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "buyers" } }))
        .await;
    let gid = group["id"].as_str().unwrap();
    assert_eq!(
        api.put(&format!("{apps}/groups/{gid}"), json!({})).await.0,
        200
    );
    let back = back_at_app(&t, &bobs_browser, &app, "bob@example.com", "openid").await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        (
            param(&back, "error").as_deref(),
            param(&back, "error_description").as_deref()
        ),
        (Some("access_denied"), Some(NOT_ASSIGNED))
    );
    assert_eq!(
        (param(&back, "state").as_deref(), param(&back, "iss")),
        (Some("st4te"), Some(t.issuer("default")))
    );
    assert!(param(&back, "code").is_none());
    let back = back_at_app(&t, &t.browser(), &app, "cat@example.com", "openid").await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("access_denied"),
        "signing in afresh too"
    );
    let tokens = t
        .tokens("default", &app, "ann@example.com", "openid offline_access")
        .await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    // Another app's assignments do not matter to an app without any.
    t.tokens("default", &other, "bob@example.com", "openid")
        .await;

    // Unassigned (the group stays) after a code and a refresh token were issued: both
    // are refused.
    let anns_browser = t.browser();
    let code = t
        .code(&anns_browser, "default", &app, "ann@example.com")
        .await;
    assert_eq!(api.delete(&format!("{apps}/users/{}", ann.id)).await, 204);
    refused_as_unassigned(t.redeem("default", &app, &code).await).await;
    refused_as_unassigned(t.refresh("default", &app, &refresh_token, None).await).await;
    let (_, events) = api.get("/api/v1/logs?limit=1000&filter=eventType%20eq%20%22app.oauth2.token.grant%22%20and%20outcome.result%20eq%20%22FAILURE%22").await;
    let reasons: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("access_denied: User is not assigned")),
        "{reasons:?}"
    );

    // Through the group: Cat, once a member, gets in; Bob, who is not, still does not.
    assert_eq!(
        api.put(&format!("/api/v1/groups/{gid}/users/{}", cat.id), json!({}))
            .await
            .0,
        204
    );
    t.tokens("default", &app, "cat@example.com", "openid").await;
    let back = back_at_app(&t, &bobs_browser, &app, "bob@example.com", "openid").await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    refused_as_unassigned(t.refresh("default", &app, &refresh_token, None).await).await;

    // Ann joins the group: her refresh token, refused but never spent, works again.
    assert_eq!(
        api.put(&format!("/api/v1/groups/{gid}/users/{}", ann.id), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(
        t.refresh("default", &app, &refresh_token, None)
            .await
            .status(),
        200
    );

    // Every assignment gone: the app does not silently open to everyone; it is closed
    // to all until someone is assigned again.
    assert_eq!(api.delete(&format!("{apps}/groups/{gid}")).await, 204);
    let back = back_at_app(&t, &bobs_browser, &app, "bob@example.com", "openid").await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    refused_as_unassigned(t.refresh("default", &app, &refresh_token, None).await).await;
}
