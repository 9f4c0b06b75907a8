//! What the admin console reads beyond Okta's everyday API:
//! API tokens created over the API, a user's sessions (listed, ended one by one or all),
//! app links, expire password, the dashboard, and Token Preview. Each with its bad
//! inputs and Okta's error bodies; the ones that touch the store on SQLite and
//! PostgreSQL.

use serde_json::{Value, json};

use crate::support::*;
use gatehouse::admin::{Actor, policies};
use gatehouse::clock::Clock;
use gatehouse::store::Page;

fn code_of(body: &Value) -> String {
    okta_error(body).0
}

/// How many `app.oauth2.token.grant` events the System Log has.
async fn token_events(t: &TestApp) -> usize {
    let events = t
        .backend
        .store
        .query_events(&Page {
            limit: 10_000,
            ..Page::default()
        })
        .await
        .unwrap();
    events
        .iter()
        .filter(|e| e.event_type == "app.oauth2.token.grant")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_is_created_over_the_api_and_its_value_shown_once() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let response = api
        .send(
            reqwest::Method::POST,
            "/api/v1/api-tokens",
            Some(json!({ "name": "console" })),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let value = created["tokenValue"].as_str().unwrap().to_string();
    assert!(created["id"].as_str().unwrap().starts_with("00T"));
    assert_eq!(created["name"], "console");
    assert!(created["userId"].is_string() && created["created"].is_string());
    // The new token works, and is never shown again.
    let other = Api {
        token: value.clone(),
        ..t.api().await
    };
    assert_eq!(other.get("/api/v1/users").await.0, 200);
    let (_, list) = api.get("/api/v1/api-tokens").await;
    assert!(!list.to_string().contains(&value));
    let id = created["id"].as_str().unwrap();
    let (status, one) = api.get(&format!("/api/v1/api-tokens/{id}")).await;
    assert_eq!((status, one.get("tokenValue")), (200, None));
    // Revoked: refused from then on.
    assert_eq!(api.delete(&format!("/api/v1/api-tokens/{id}")).await, 204);
    assert_eq!(code_of(&other.get("/api/v1/users").await.1), "E0000011");

    for (body, field) in [
        (json!({}), "name"),
        (json!({ "name": "  " }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "name": "a\u{0}b" }), "name"),
    ] {
        let (status, error) = api.post("/api/v1/api-tokens", body.clone()).await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{body}");
        assert!(causes[0].starts_with(field), "{causes:?}");
    }
    let (status, error) = api.post("/api/v1/api-tokens", json!({ "name": 5 })).await;
    assert_eq!((status, code_of(&error).as_str()), (400, "E0000003"));
    let anonymous = t
        .http
        .post(format!("{}/api/v1/api-tokens", t.base))
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn sessions_are_listed_and_ended(t: TestApp) {
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let bob = t.user("bob@example.com").await;
    let app = t.web_app().await;
    let (first, second, bobs) = (t.browser(), t.browser(), t.browser());
    t.code(&first, "default", &app, &ann.login).await;
    t.code(&second, "default", &app, &ann.login).await;
    t.code(&bobs, "default", &app, &bob.login).await;

    let path = format!("/api/v1/users/{}/sessions", ann.id);
    let (status, list) = api.get(&path).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    for s in &list {
        assert!(s["id"].as_str().unwrap().starts_with("102"), "{s}");
        assert_eq!(s["userId"], ann.id.as_str());
        for field in ["createdAt", "expiresAt"] {
            assert!(s[field].as_str().unwrap().ends_with('Z'), "{field}: {s}");
        }
        assert_eq!(s["client"]["ipAddress"], "127.0.0.1", "{s}");
    }
    // By login too, as the other user operations.
    assert_eq!(
        api.get(&format!("/api/v1/users/{}/sessions", ann.login))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, bob_list) = api.get(&format!("/api/v1/users/{}/sessions", bob.id)).await;
    let bob_session = bob_list[0]["id"].as_str().unwrap().to_string();

    // One ended: its cookie stops working; the other stays.
    let one = list[0]["id"].as_str().unwrap();
    assert_eq!(api.delete(&format!("{path}/{one}")).await, 204);
    assert_eq!(
        api.delete(&format!("{path}/{one}")).await,
        404,
        "already ended"
    );
    let (status, _) = api.get(&format!("/api/v1/sessions/{one}")).await;
    assert_eq!(status, 404);
    assert_eq!(api.get(&path).await.1.as_array().unwrap().len(), 1);
    // Another user's session through this user's path: not found, and still live.
    let (status, error) = api
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/{bob_session}"),
            None,
        )
        .await;
    assert_eq!((status, code_of(&error).as_str()), (404, "E0000007"));
    assert_eq!(
        api.get(&format!("/api/v1/sessions/{bob_session}")).await.0,
        200
    );
    for bad in ["nonsense", "102", "102%21%21"] {
        assert_eq!(api.delete(&format!("{path}/{bad}")).await, 404, "{bad}");
    }

    // All of them: 204, and again 204 with none left.
    assert_eq!(api.delete(&path).await, 204);
    assert_eq!(api.get(&path).await.1, json!([]));
    assert_eq!(api.delete(&path).await, 204);
    let (status, error) = api
        .call(
            reqwest::Method::DELETE,
            &format!("{path}?oauthTokens=maybe"),
            None,
        )
        .await;
    assert_eq!((status, code_of(&error).as_str()), (400, "E0000001"));
    let (_, log) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22user.session.clear%22")
        .await;
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    assert_eq!(log[0]["target"][0]["id"], ann.id.as_str());

    for p in [
        "/api/v1/users/00unobody/sessions",
        "/api/v1/users/00unobody/sessions/102abc",
    ] {
        let (status, error) = api.get(p).await;
        if p.ends_with("sessions") {
            assert_eq!((status, code_of(&error).as_str()), (404, "E0000007"));
        }
        assert_eq!(api.delete(p).await, 404, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_ended_on_sqlite() {
    sessions_are_listed_and_ended(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_ended_on_postgres() {
    sessions_are_listed_and_ended(TestApp::spawn_postgres().await).await;
}

async fn app_links_list_the_apps_a_user_may_use(t: TestApp) {
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let bob = t.user("bob@example.com").await;
    let open = t.web_app().await;
    let assigned = t.spa().await;
    t.service_app().await;
    let (status, _) = api
        .post(
            &format!("/api/v1/apps/{}/users", assigned.client_id),
            json!({ "id": ann.id }),
        )
        .await;
    assert_eq!(status, 200);

    let (status, links) = api.get(&format!("/api/v1/users/{}/appLinks", ann.id)).await;
    assert_eq!(status, 200, "{links}");
    let ids: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["appInstanceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "the open app and the assigned one, no service app: {links}"
    );
    assert!(ids.contains(&open.client_id.as_str()) && ids.contains(&assigned.client_id.as_str()));
    let link = &links[0];
    assert_eq!(link["appName"], "oidc_client");
    assert_eq!(link["label"], "Test App");
    assert_eq!(link["linkUrl"], "https://app.example.com/");
    let (_, bobs) = api.get(&format!("/api/v1/users/{}/appLinks", bob.id)).await;
    assert_eq!(bobs.as_array().unwrap().len(), 1, "not assigned: {bobs}");
    // A deactivated app is not a link.
    let (status, _) = api
        .post(
            &format!("/api/v1/apps/{}/lifecycle/deactivate", open.client_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, bobs) = api.get(&format!("/api/v1/users/{}/appLinks", bob.id)).await;
    assert_eq!(bobs, json!([]));
    let (status, error) = api.get("/api/v1/users/00unobody/appLinks").await;
    assert_eq!((status, code_of(&error).as_str()), (404, "E0000007"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_links_list_the_apps_a_user_may_use_on_sqlite() {
    app_links_list_the_apps_a_user_may_use(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_links_list_the_apps_a_user_may_use_on_postgres() {
    app_links_list_the_apps_a_user_may_use(TestApp::spawn_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_password_stops_sign_in_until_a_new_one_is_set() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, &ann.login).await;
    let path = format!("/api/v1/users/{}/lifecycle/expire_password", ann.id);
    let (status, user) = api.post(&path, json!({})).await;
    assert_eq!(
        (status, user["status"].as_str()),
        (200, Some("PASSWORD_EXPIRED"))
    );
    assert!(user["_links"].get("changePassword").is_some());
    assert!(user["_links"].get("expirePassword").is_none());
    // Again: nothing changes.
    assert_eq!(
        api.post(&path, json!({})).await.1["status"],
        "PASSWORD_EXPIRED"
    );
    // The session no longer signs anyone in, and the password does not either.
    let again = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&again).expect("to the sign-in page");
    assert!(login.starts_with("/login"), "{login}");
    let refused = browser.sign_in(&login, &ann.login, PASSWORD).await;
    assert!(
        location(&refused).is_none(),
        "no code for an expired password"
    );
    let (_, found) = api
        .get("/api/v1/users?filter=status%20eq%20%22PASSWORD_EXPIRED%22")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    // An admin sets a new password: ACTIVE again.
    let (status, user) = api
        .post(
            &format!("/api/v1/users/{}", ann.id),
            json!({ "credentials": { "password": { "value": "a whole new passphrase" } } }),
        )
        .await;
    assert_eq!(
        (status, user["status"].as_str()),
        (200, Some("ACTIVE")),
        "{user}"
    );
    let (_, log) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22user.account.expire_password%22")
        .await;
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "once: the repeat changed nothing"
    );

    // Only an ACTIVE user with a password.
    let (_, provisioned) = api
        .post(
            "/api/v1/users",
            json!({ "profile": { "login": "pat@example.com" } }),
        )
        .await;
    let (status, error) = api
        .post(
            &format!(
                "/api/v1/users/{}/lifecycle/expire_password",
                provisioned["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!((status, code_of(&error).as_str()), (403, "E0000038"));
    let (status, error) = api
        .post(
            "/api/v1/users/00unobody/lifecycle/expire_password",
            json!({}),
        )
        .await;
    assert_eq!((status, code_of(&error).as_str()), (404, "E0000007"));
}

async fn the_dashboard_counts_from_the_log(t: TestApp) {
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let since = gatehouse::clock::rfc3339(t.clock.now() - 60);
    let code = t.code(&t.browser(), "default", &app, &ann.login).await;
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
    // A failed sign-in.
    let browser = t.browser();
    let page = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    browser
        .sign_in(&location(&page).unwrap(), &ann.login, "not the password")
        .await;

    let (status, d) = api
        .get(&format!("/api/v1/dashboard?since={}", urlencode(&since)))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (
            d["signIns"].as_i64(),
            d["signInFailures"].as_i64(),
            d["tokensIssued"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{d}"
    );
    assert_eq!(d["activeSessions"], 1);
    assert!(d["throttledRequests"].is_u64());
    assert_eq!(d["since"].as_str().unwrap()[..19], since[..19]);
    let series = d["series"].as_array().unwrap();
    assert!((1..=2).contains(&series.len()), "{d}");
    let summed: i64 = series.iter().map(|h| h["signIns"].as_i64().unwrap()).sum();
    assert_eq!(summed, 1);
    assert!(series[0]["start"].as_str().unwrap().ends_with(":00:00Z"));

    // The default window: the last 24 hours, 25 hourly buckets at most.
    let (status, d) = api.get("/api/v1/dashboard").await;
    assert_eq!(status, 200);
    assert!((24..=25).contains(&d["series"].as_array().unwrap().len()));

    let future = gatehouse::clock::rfc3339(t.clock.now() + 3600);
    let long_ago = gatehouse::clock::rfc3339(t.clock.now() - 40 * 86_400);
    for bad in ["yesterday", "2026-13-01T00:00:00Z", &future, &long_ago] {
        let (status, error) = api
            .get(&format!("/api/v1/dashboard?since={}", urlencode(bad)))
            .await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{bad}");
        assert!(causes[0].starts_with("since"), "{causes:?}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_from_the_log_on_sqlite() {
    the_dashboard_counts_from_the_log(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_from_the_log_on_postgres() {
    the_dashboard_counts_from_the_log(TestApp::spawn_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_preview_shows_the_claims_and_issues_nothing() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let preview = "/api/v1/authorizationServers/default/tokens/preview";
    let before = token_events(&t).await;
    let (status, p) = api
        .post(
            preview,
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "authorization_code",
                    "scopes": ["openid", "profile", "email"] }),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    let at = &p["accessToken"];
    assert_eq!(at["iss"], t.issuer("default"));
    assert_eq!(at["aud"], "api://default");
    assert_eq!(
        (at["cid"].as_str(), at["uid"].as_str()),
        (Some(app.client_id.as_str()), Some(ann.id.as_str()))
    );
    assert_eq!(at["sub"], "ann@example.com");
    assert_eq!(at["scp"], json!(["openid", "profile", "email"]));
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        3600
    );
    let id = &p["idToken"];
    assert_eq!(
        (id["sub"].as_str(), id["aud"].as_str()),
        (Some(ann.id.as_str()), Some(app.client_id.as_str()))
    );
    assert_eq!(id["email"], "ann@example.com");
    assert_eq!(id["given_name"], "Alice");
    assert!(id.get("at_hash").is_none(), "nothing was signed");
    assert_eq!(p["scopes"], json!(["openid", "profile", "email"]));
    // By login too; no openid: no ID token.
    let (_, p) = api
        .post(
            preview,
            json!({ "clientId": app.client_id, "userId": "ann@example.com", "grantType": "authorization_code", "scopes": ["profile"] }),
        )
        .await;
    assert_eq!(p["idToken"], Value::Null);
    assert_eq!(token_events(&t).await, before, "nothing logged as issued");

    // A server whose policies match nothing, and one whose rule denies: 400 with why.
    let orders = gatehouse::admin::servers::create(
        &t.backend.store,
        &Actor::cli(),
        gatehouse::admin::servers::NewServer {
            name: "Orders".into(),
            audience: "api://orders".into(),
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap()
    .id;
    let body = json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "authorization_code", "scopes": ["openid"] });
    let at_orders = format!("/api/v1/authorizationServers/{orders}/tokens/preview");
    let (status, error) = api.post(&at_orders, body.clone()).await;
    let (code, causes) = okta_error(&error);
    assert_eq!((status, code.as_str()), (400, "E0000001"));
    assert!(causes[0].contains("no access policy rule"), "{causes:?}");
    let store = &t.backend.store;
    let policy = policies::create_policy(
        store,
        &Actor::cli(),
        &orders,
        policies::NewPolicy {
            name: "Orders policy".into(),
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap()
    .id;
    policies::create_rule(
        store,
        &Actor::cli(),
        &orders,
        &policy,
        policies::NewRule {
            name: "nobody".into(),
            deny: true,
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap();
    let (status, error) = api.post(&at_orders, body.clone()).await;
    let (code, causes) = okta_error(&error);
    assert_eq!((status, code.as_str()), (400, "E0000001"));
    assert!(causes[0].contains("\"nobody\" denies"), "{causes:?}");

    // Client credentials: the server's default scopes, no user, no ID token.
    t.scope("default", "orders.read", true).await;
    let service = t.service_app().await;
    let (status, p) = api
        .post(
            preview,
            json!({ "clientId": service.client_id, "grantType": "client_credentials" }),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["accessToken"]["sub"], service.client_id.as_str());
    assert_eq!(p["scopes"], json!(["orders.read"]));
    assert_eq!(p["idToken"], Value::Null);

    let suspended = t.user("sue@example.com").await;
    api.post(
        &format!("/api/v1/users/{}/lifecycle/suspend", suspended.id),
        json!({}),
    )
    .await;
    for (body, field) in [
        (
            json!({ "userId": ann.id, "grantType": "authorization_code", "scopes": ["openid"] }),
            "clientId",
        ),
        (
            json!({ "clientId": "0oanothing", "userId": ann.id, "grantType": "authorization_code", "scopes": ["openid"] }),
            "clientId",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "scopes": ["openid"] }),
            "grantType",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "password", "scopes": ["openid"] }),
            "grantType",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "refresh_token", "scopes": ["openid"] }),
            "grantType",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "client_credentials" }),
            "grantType",
        ),
        (
            json!({ "clientId": app.client_id, "grantType": "authorization_code", "scopes": ["openid"] }),
            "userId",
        ),
        (
            json!({ "clientId": app.client_id, "userId": "00unobody", "grantType": "authorization_code", "scopes": ["openid"] }),
            "userId",
        ),
        (
            json!({ "clientId": app.client_id, "userId": suspended.id, "grantType": "authorization_code", "scopes": ["openid"] }),
            "userId",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "authorization_code", "scopes": [] }),
            "scopes",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "authorization_code", "scopes": ["openid", "nope"] }),
            "scopes",
        ),
        (
            json!({ "clientId": app.client_id, "userId": ann.id, "grantType": "authorization_code", "scopes": ["openid email"] }),
            "scopes",
        ),
        (
            json!({ "clientId": service.client_id, "userId": ann.id, "grantType": "client_credentials" }),
            "userId",
        ),
        (
            json!({ "clientId": service.client_id, "grantType": "client_credentials", "scopes": ["openid"] }),
            "scopes",
        ),
    ] {
        let (status, error) = api.post(preview, body.clone()).await;
        let (code, causes) = okta_error(&error);
        assert_eq!(
            (status, code.as_str()),
            (400, "E0000001"),
            "{body}: {error}"
        );
        assert!(causes[0].starts_with(field), "{body}: {causes:?}");
    }
    let (status, error) = api.post(preview, json!({ "clientId": 5 })).await;
    assert_eq!((status, code_of(&error).as_str()), (400, "E0000003"));
    for server in ["nothing", "default%2F..", ""] {
        let (status, _) = api
            .post(
                &format!("/api/v1/authorizationServers/{server}/tokens/preview"),
                body.clone(),
            )
            .await;
        assert_eq!(status, 404, "{server}");
    }
    assert_eq!(
        token_events(&t).await,
        before,
        "still nothing logged as issued"
    );
}
