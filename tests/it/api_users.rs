//! `/api/v1/users`: creation and validation, reads, updates, Okta's lifecycle with
//! its effect on sign-in and tokens, password changes, and listing (cursor pages,
//! `q`, `filter`, `search`).

use serde_json::{Value, json};

use crate::support::*;

fn new_user(login: &str, password: Option<&str>) -> Value {
    let mut body = json!({ "profile": { "login": login, "firstName": "Test", "lastName": login.split('@').next().unwrap() } });
    if let Some(p) = password {
        body["credentials"] = json!({ "password": { "value": p } });
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_in_okta_statuses_and_validated() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, user) = api
        .post("/api/v1/users", new_user("ann@example.com", Some(PASSWORD)))
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["status"], "ACTIVE");
    assert!(user["id"].as_str().unwrap().starts_with("00u"));
    assert_eq!(
        user["profile"]["email"], "ann@example.com",
        "the login when it is an address"
    );
    assert_eq!(user["credentials"]["password"], json!({}));
    assert!(!user.to_string().contains("argon2") && !user.to_string().contains(PASSWORD));
    let (_, provisioned) = api
        .post("/api/v1/users", new_user("pat@example.com", None))
        .await;
    assert_eq!(provisioned["status"], "PROVISIONED");
    let (_, staged) = api
        .post(
            "/api/v1/users?activate=false",
            new_user("stu@example.com", Some(PASSWORD)),
        )
        .await;
    assert_eq!(staged["status"], "STAGED");

    for (body, field) in [
        (new_user("ANN@example.com", Some(PASSWORD)), "profile.login"),
        (new_user("has space", None), "profile.login"),
        (
            new_user("short@example.com", Some("short")),
            "credentials.password.value",
        ),
        (
            json!({ "profile": { "email": "no-login@example.com" } }),
            "profile.login",
        ),
        (
            json!({ "profile": { "login": "e@example.com", "email": "not-an-address" } }),
            "profile.email",
        ),
        (
            json!({ "profile": { "login": "x@example.com", "nested": { "a": 1 } } }),
            "profile",
        ),
    ] {
        let (status, error) = api.post("/api/v1/users", body.clone()).await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{body}");
        assert_eq!(
            error["errorSummary"],
            format!("Api validation failed: {field}"),
            "{body}"
        );
        assert!(causes[0].starts_with(&format!("{field}: ")), "{causes:?}");
    }
    // Groups named at creation.
    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "staff" } }))
        .await;
    let body = json!({ "profile": { "login": "gus@example.com" }, "groupIds": [group["id"]] });
    let (_, gus) = api.post("/api/v1/users", body).await;
    let (_, groups) = api
        .get(&format!(
            "/api/v1/users/{}/groups",
            gus["id"].as_str().unwrap()
        ))
        .await;
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone", "staff"], "every user is in Everyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_read_by_id_or_login_and_updated_or_replaced() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let mut body = new_user("ann@example.com", Some(PASSWORD));
    body["profile"]["nickName"] = json!("Annie");
    let (_, user) = api.post("/api/v1/users", body).await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/api/v1/users/{id}")).await.1["id"], id);
    assert_eq!(api.get("/api/v1/users/ANN@example.com").await.1["id"], id);

    let (status, updated) = api
        .post(
            &format!("/api/v1/users/{id}"),
            json!({ "profile": { "firstName": "Ann" } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            updated["profile"]["firstName"].as_str(),
            updated["profile"]["lastName"].as_str()
        ),
        (Some("Ann"), Some("ann"))
    );
    assert_eq!(
        updated["profile"]["nickName"], "Annie",
        "a partial update keeps the rest"
    );

    let (status, replaced) = api
        .put(
            &format!("/api/v1/users/{id}"),
            json!({ "profile": { "login": "ann.l@example.com", "firstName": "Ann" } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        replaced["profile"]["lastName"],
        Value::Null,
        "a replace clears what it leaves out"
    );
    assert!(replaced["profile"].get("nickName").is_none());
    assert_eq!(replaced["profile"]["login"], "ann.l@example.com");
    let (status, error) = api
        .put(
            &format!("/api/v1/users/{id}"),
            json!({ "profile": { "firstName": "x" } }),
        )
        .await;
    assert_eq!(
        (status, okta_error(&error).1[0].starts_with("profile.login")),
        (400, true)
    );

    // A password set by the admin, then changed by the user with the old one.
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{id}"),
            json!({ "credentials": { "password": { "value": "a new long password" } } }),
        )
        .await;
    assert_eq!(status, 200);
    let change = |old: &str, new: &str| json!({ "oldPassword": { "value": old }, "newPassword": { "value": new } });
    let path = format!("/api/v1/users/{id}/credentials/change_password");
    let (status, error) = api.post(&path, change(PASSWORD, "another long one")).await;
    assert_eq!(
        (status, okta_error(&error).1[0].starts_with("oldPassword")),
        (400, true)
    );
    let (status, credentials) = api
        .post(&path, change("a new long password", PASSWORD))
        .await;
    assert_eq!(
        (status, credentials["provider"]["type"].as_str()),
        (200, Some("OKTA"))
    );
    let app = t.web_app().await;
    t.code(&t.browser(), "default", &app, "ann.l@example.com")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspending_or_deactivating_ends_sessions_and_stops_sign_in_and_refresh() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let user = t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/suspend", user.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.get(&format!("/api/v1/users/{}", user.id)).await.1["status"],
        "SUSPENDED"
    );
    // The session is over, and a new sign-in fails.
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let failed = browser
        .sign_in(&location(&r).unwrap(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(failed.status(), 401);
    assert_eq!(
        t.refresh("default", &app, refresh, None).await.status(),
        400
    );
    assert_eq!(
        t.introspect("default", &app, tokens["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    let (status, error) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/suspend", user.id),
            json!({}),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (403, "E0000038"));

    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/unsuspend", user.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    t.code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    // Unsuspended, the old refresh token stays revoked: suspension ended its family.
    let after = t.refresh("default", &app, refresh, None).await;
    assert_eq!(after.status(), 400);
    assert_eq!(
        after.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // A new password ends sessions and refresh tokens too.
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let body = json!({ "credentials": { "password": { "value": "a brand new password" } } });
    assert_eq!(
        api.post(&format!("/api/v1/users/{}", user.id), body)
            .await
            .0,
        200
    );
    assert_eq!(
        t.refresh("default", &app, refresh, None).await.status(),
        400
    );
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("login_required")
    );

    // DELETE on a user who is not DEPROVISIONED deactivates; a second DELETE deletes.
    assert_eq!(api.delete(&format!("/api/v1/users/{}", user.id)).await, 204);
    assert_eq!(
        api.get(&format!("/api/v1/users/{}", user.id)).await.1["status"],
        "DEPROVISIONED"
    );
    let (status, error) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/deactivate", user.id),
            json!({}),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (403, "E0000038"));
    assert_eq!(api.delete(&format!("/api/v1/users/{}", user.id)).await, 204);
    assert_eq!(api.get(&format!("/api/v1/users/{}", user.id)).await.0, 404);
    assert_eq!(api.delete(&format!("/api/v1/users/{}", user.id)).await, 404);

    // Activation: STAGED → ACTIVE; an active user cannot be activated again.
    let (_, staged) = api
        .post(
            "/api/v1/users?activate=false",
            new_user("sam@example.com", Some(PASSWORD)),
        )
        .await;
    let path = format!(
        "/api/v1/users/{}/lifecycle/activate",
        staged["id"].as_str().unwrap()
    );
    assert_eq!(api.post(&path, json!({})).await.0, 200);
    let (status, error) = api.post(&path, json!({})).await;
    assert_eq!((status, okta_error(&error).0.as_str()), (403, "E0000016"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_in_cursor_pages_with_q_filter_and_search() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    for (login, last, activate) in [
        ("ann@example.com", "Liddell", true),
        ("bob@example.com", "Builder", true),
        ("carol@corp.example", "Liddell", false),
        ("dan@example.com", "Dare", true),
        ("eve@example.com", "Evans", false),
    ] {
        let body = json!({ "profile": { "login": login, "firstName": "F", "lastName": last }, "credentials": { "password": { "value": PASSWORD } } });
        assert_eq!(
            api.post(&format!("/api/v1/users?activate={activate}"), body)
                .await
                .0,
            200
        );
    }
    let (all, pages) = api.all_pages("/api/v1/users?limit=2").await;
    assert_eq!((all.len(), pages), (5, 3));
    let mut ids: Vec<&str> = all.iter().map(|u| u["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "no user twice");
    let first = api
        .send(reqwest::Method::GET, "/api/v1/users?limit=2&q=f", None)
        .await;
    assert_eq!(
        link(&first, "self").unwrap(),
        format!("{}/api/v1/users?limit=2&q=f", t.base)
    );
    assert!(link(&first, "next").unwrap().contains("after="));
    let (_, one_page) = api.all_pages("/api/v1/users").await;
    assert_eq!(one_page, 1);

    let logins = |list: &Value| {
        let mut v: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["profile"]["login"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let q = |s: &str| s.replace(' ', "%20").replace('"', "%22");
    assert_eq!(
        logins(&api.get("/api/v1/users?q=liD").await.1),
        ["ann@example.com", "carol@corp.example"]
    );
    assert_eq!(
        logins(
            &api.get(&q(r#"/api/v1/users?filter=status eq "STAGED""#))
                .await
                .1
        ),
        ["carol@corp.example", "eve@example.com"]
    );
    assert_eq!(
        logins(&api.get(&q(r#"/api/v1/users?filter=status eq "ACTIVE" and (profile.login eq "ANN@example.com" or profile.login eq "dan@example.com")"#)).await.1),
        ["ann@example.com", "dan@example.com"]
    );
    assert_eq!(
        logins(
            &api.get(&q(
                r#"/api/v1/users?filter=lastUpdated gt "2000-01-01T00:00:00.000Z""#
            ))
            .await
            .1
        )
        .len(),
        5
    );
    assert!(
        logins(
            &api.get(&q(
                r#"/api/v1/users?filter=lastUpdated lt "2000-01-01T00:00:00.000Z""#
            ))
            .await
            .1
        )
        .is_empty()
    );
    assert_eq!(
        logins(
            &api.get(&q(
                r#"/api/v1/users?search=profile.lastName sw "Ev" or profile.email sw "bob""#
            ))
            .await
            .1
        ),
        ["bob@example.com", "eve@example.com"]
    );
    for bad in [
        r#"filter=status equals "A""#,
        r#"filter=password eq "x""#,
        r#"search=profile.login eq unquoted"#,
    ] {
        let (status, error) = api.get(&q(&format!("/api/v1/users?{bad}"))).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!(
            (
                status,
                okta_error(&error).1[0].starts_with(&format!("{field}: "))
            ),
            (400, true),
            "{bad}: {error}"
        );
    }
    assert_eq!(api.get("/api/v1/users?limit=201").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_login_is_each_successful_sign_in() {
    use gatehouse::clock::{Clock, parse_rfc3339};
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let ann = t.user("ann@example.com").await;
    let app = t.web_app().await;
    let path = format!("/api/v1/users/{}", ann.id);
    assert_eq!(
        api.get(&path).await.1["lastLogin"],
        Value::Null,
        "never signed in"
    );
    let time = |user: &Value, field: &str| {
        parse_rfc3339(
            user[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {user}")),
        )
        .unwrap()
    };

    // A wrong password is no sign-in.
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    assert_eq!(
        browser
            .sign_in(
                &location(&r).unwrap(),
                "ann@example.com",
                "not the password"
            )
            .await
            .status(),
        401
    );
    assert_eq!(api.get(&path).await.1["lastLogin"], Value::Null);

    let before = t.clock.now();
    t.code(&browser, "default", &app, "ann@example.com").await;
    let (_, user) = api.get(&path).await;
    let first = time(&user, "lastLogin");
    assert!((before..=t.clock.now()).contains(&first), "{user}");
    assert_eq!(
        user["lastUpdated"], user["created"],
        "a sign-in is not a profile update"
    );

    // Single sign-on from the session is not a sign-in; signing in again is.
    t.clock.advance(100);
    t.code(&browser, "default", &app, "ann@example.com").await;
    assert_eq!(time(&api.get(&path).await.1, "lastLogin"), first);
    let before = t.clock.now();
    t.code(&t.browser(), "default", &app, "ann@example.com")
        .await;
    let second = time(&api.get(&path).await.1, "lastLogin");
    assert!(second >= before && second >= first + 100, "{second}");
    // An update through the API keeps it.
    let (status, updated) = api
        .post(&path, json!({ "profile": { "firstName": "Annie" } }))
        .await;
    assert_eq!((status, time(&updated, "lastLogin")), (200, second));
}
