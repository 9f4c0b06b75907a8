//! `/api/v1/logs`: the System Log records sign-ins, token requests and admin changes
//! (through the API and the CLI) in Okta's event shape, filterable and paginated, and
//! never with a secret in it.

use serde_json::{Value, json};

use crate::support::*;

fn q(s: &str) -> String {
    s.replace(' ', "%20").replace('"', "%22")
}

fn types(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_tokens_and_admin_changes_are_in_the_system_log() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let started = gatehouse::clock::rfc3339(gatehouse::clock::Clock::now(&*t.clock) - 1);

    // Admin changes through the API: the token is the actor, with before and after.
    let body = json!({ "profile": { "login": "alice@example.com", "firstName": "Alice" }, "credentials": { "password": { "value": PASSWORD } } });
    let (_, user) = api.post("/api/v1/users", body).await;
    let uid = user["id"].as_str().unwrap().to_string();
    api.post(
        &format!("/api/v1/users/{uid}"),
        json!({ "profile": { "firstName": "Alicia" } }),
    )
    .await;
    let (_, created) = api.post("/api/v1/apps", json!({ "name": "oidc_client", "label": "Web", "signOnMode": "OPENID_CONNECT",
        "settings": { "oauthClient": { "redirect_uris": [REDIRECT], "grant_types": ["authorization_code"] } } })).await;
    let app = App {
        client_id: created["id"].as_str().unwrap().to_string(),
        secret: Some(
            created["credentials"]["oauthClient"]["client_secret"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
    };

    // A failed and a successful sign-in, a code flow, and a refused token request.
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&r).unwrap();
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", "wrong password!")
            .await
            .status(),
        401
    );
    assert_eq!(
        browser
            .sign_in(&login, "nobody@example.com", "wrong password!")
            .await
            .status(),
        401
    );
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
    assert_eq!(
        t.redeem("default", &app, &code).await.status(),
        400,
        "a replay is refused"
    );

    // And a change from the CLI's service layer.
    gatehouse::admin::groups::create(
        &t.backend.store,
        &gatehouse::admin::Actor::cli(),
        "staff",
        "",
        gatehouse::clock::Clock::now(&*t.clock),
    )
    .await
    .unwrap();

    let (status, events) = api.get(&format!("/api/v1/logs?since={started}")).await;
    assert_eq!(status, 200);
    let all = types(&events);
    for expected in [
        "system.api_token.create",
        "user.lifecycle.create",
        "user.account.update_profile",
        "application.lifecycle.create",
        "user.session.start",
        "user.authentication.sso",
        "app.oauth2.token.grant",
        "group.lifecycle.create",
    ] {
        assert!(all.iter().any(|t| t == expected), "{expected} in {all:?}");
    }
    // Okta's event shape.
    let event = &events[1];
    for field in [
        "uuid",
        "published",
        "eventType",
        "severity",
        "displayMessage",
        "actor",
        "client",
        "outcome",
        "target",
    ] {
        assert!(event.get(field).is_some(), "{field} in {event}");
    }
    let published = event["published"].as_str().unwrap();
    assert!(
        published.len() == 24 && published.ends_with('Z') && &published[19..20] == ".",
        "milliseconds: {published}"
    );
    let update = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "user.account.update_profile")
        .unwrap();
    assert_eq!(
        (
            update["actor"]["type"].as_str(),
            update["actor"]["alternateId"].as_str()
        ),
        (Some("ApiToken"), Some("tests"))
    );
    assert_eq!(update["client"]["ipAddress"], "127.0.0.1");
    assert_eq!(update["target"][0]["id"], uid.as_str());
    assert_eq!(
        update["target"][0]["changeDetails"]["from"]["profile"]["firstName"],
        "Alice"
    );
    assert_eq!(
        update["target"][0]["changeDetails"]["to"]["profile"]["firstName"],
        "Alicia"
    );
    let cli = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "group.lifecycle.create")
        .unwrap();
    assert_eq!(cli["actor"]["id"], "cli");

    // Filters.
    let (_, failures) = api.get(&q(r#"/api/v1/logs?filter=eventType eq "user.session.start" and outcome.result eq "FAILURE""#)).await;
    let reasons: Vec<&str> = failures
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["INVALID_CREDENTIALS", "UNKNOWN_USER"]);
    assert_eq!(failures[1]["actor"]["alternateId"], "nobody@example.com");
    let (_, grants) = api
        .get(&q(
            r#"/api/v1/logs?filter=eventType eq "app.oauth2.token.grant""#,
        ))
        .await;
    assert_eq!(grants.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            grants[0]["outcome"]["result"].as_str(),
            grants[0]["actor"]["id"].as_str()
        ),
        (Some("SUCCESS"), Some(app.client_id.as_str()))
    );
    assert_eq!(grants[0]["target"][0]["id"], uid.as_str());
    assert_eq!(
        grants[0]["debugContext"]["debugData"]["grantType"],
        "authorization_code"
    );
    assert_eq!(grants[1]["outcome"]["result"], "FAILURE");
    assert!(
        grants[1]["outcome"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid_grant")
    );
    let (_, by_cli) = api
        .get(&q(r#"/api/v1/logs?filter=actor.id eq "cli""#))
        .await;
    assert_eq!(
        types(&by_cli),
        ["system.api_token.create", "group.lifecycle.create"]
    );
    let (_, about_user) = api
        .get(&q(&format!(r#"/api/v1/logs?filter=target.id eq "{uid}""#)))
        .await;
    assert!(types(&about_user).contains(&"user.lifecycle.create".to_string()));
    let (_, found) = api.get("/api/v1/logs?q=Alicia").await;
    assert!(!found.as_array().unwrap().is_empty());
    let (_, none) = api.get("/api/v1/logs?until=2000-01-01T00:00:00.000Z").await;
    assert_eq!(none, json!([]));
    for bad in [
        "/api/v1/logs?since=yesterday",
        "/api/v1/logs?filter=severity%20eq%20%22WARN%22",
        "/api/v1/logs?limit=1001",
        "/api/v1/logs?after=abc",
    ] {
        let (status, error) = api.get(bad).await;
        assert_eq!(
            (status, okta_error(&error).0.as_str()),
            (400, "E0000001"),
            "{bad}"
        );
    }

    // Pages.
    // Bounded by `until`: the next link stops at the end (without it the request polls).
    let (paged, pages) = api
        .all_pages("/api/v1/logs?limit=3&until=2100-01-01T00:00:00.000Z")
        .await;
    assert_eq!(paged.len(), events.as_array().unwrap().len());
    assert!(pages >= 3);

    // No secret, password or token anywhere in the log.
    let text = events.to_string();
    for secret in [
        PASSWORD,
        "wrong password!",
        app.secret.as_deref().unwrap(),
        api.token.as_str(),
        &code,
    ] {
        assert!(!text.contains(secret), "the log holds {secret}");
    }
    assert!(!text.contains("argon2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_janitor_keeps_events_for_the_retention_period() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let store = &t.backend.store;
    let now = gatehouse::clock::Clock::now(&*t.clock);
    assert!(
        !api.get("/api/v1/logs")
            .await
            .1
            .as_array()
            .unwrap()
            .is_empty()
    );
    // What the janitor runs: events older than log_retention_days (90) go.
    assert_eq!(
        store
            .purge_events((now - 90 * 86_400) * 1000)
            .await
            .unwrap(),
        0
    );
    store.purge_events((now + 1) * 1000).await.unwrap();
    assert_eq!(api.get("/api/v1/logs").await.1, json!([]));
}

/// `since` bounds the page by the smallest `seq` published from then on (issue 17), and
/// what a page shows is unchanged: every event published in `[since, until)`, in the
/// order written, also one written after events published before `since` (clocks of
/// concurrent requests interleave), through the oldest events or the index of
/// `published` (more than `LOG_HEAD_ROWS` older events), filtered, and page by page.
async fn since_and_until_select_exactly(t: TestApp) {
    use gatehouse::clock::rfc3339_of_millis as at;
    use gatehouse::store::{LOG_HEAD_ROWS, LogEvent};
    let api = t.api().await;
    let store = &t.backend.store;
    let event = |uuid: String, published: i64, kind: &str| LogEvent {
        seq: 0,
        event: json!({ "uuid": uuid, "eventType": kind }).to_string(),
        uuid,
        published,
        event_type: kind.into(),
        outcome_result: "SUCCESS".into(),
        actor_id: "00ubound".into(),
        target_ids: vec!["00ubound".into()],
    };
    // Within the retention the janitor keeps (90 days), and an empty log to start with:
    // the oldest events are then these.
    let now = gatehouse::clock::Clock::now(&*t.clock);
    store.purge_events((now + 1) * 1000).await.unwrap();
    let base = (now - 30 * 86_400) * 1000;
    for i in 0..LOG_HEAD_ROWS + 5 {
        store
            .insert_event(&event(format!("old-{i}"), base + i, "test.old"))
            .await
            .unwrap();
    }
    let since = base + 1_000_000;
    // Written first, published after `since`; the five next are published before it.
    store
        .insert_event(&event("late".into(), since + 50, "test.a"))
        .await
        .unwrap();
    for i in 0..10 {
        let kind = if i % 2 == 0 { "test.a" } else { "test.b" };
        store
            .insert_event(&event(format!("r{i}"), since - 500 + 100 * i, kind))
            .await
            .unwrap();
    }
    let until = since + 10_000;
    let uuids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["uuid"].as_str().unwrap().to_string())
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let window = |from: i64, to: i64| format!("since={}&until={}", at(from), at(to));

    let (all, pages) = api
        .all_pages(&format!("/api/v1/logs?{}", window(since, until)))
        .await;
    assert_eq!(
        (uuids(&all), pages),
        (s(&["late", "r5", "r6", "r7", "r8", "r9"]), 1)
    );
    let (paged, pages) = api
        .all_pages(&format!("/api/v1/logs?limit=2&{}", window(since, until)))
        .await;
    assert_eq!((uuids(&paged), pages), (uuids(&all), 3));
    let (typed, _) = api
        .all_pages(&format!(
            "/api/v1/logs?limit=1&{}&filter={}",
            window(since, until),
            q(r#"eventType eq "test.a""#)
        ))
        .await;
    assert_eq!(uuids(&typed), s(&["late", "r6", "r8"]));
    // `until` is exclusive; a `since` past every event gives an empty page.
    let (early, _) = api
        .all_pages(&format!("/api/v1/logs?{}", window(since, since + 101)))
        .await;
    assert_eq!(uuids(&early), s(&["late", "r5", "r6"]));
    let (none, _) = api
        .all_pages(&format!("/api/v1/logs?{}", window(until, until + 1)))
        .await;
    assert!(none.is_empty(), "{none:?}");
    // From the start of the log: the oldest events answer the bound.
    let (first, _) = api
        .all_pages(&format!(
            "/api/v1/logs?{}&filter={}",
            window(base + 1, base + 4),
            q(r#"actor.id eq "00ubound""#)
        ))
        .await;
    assert_eq!(uuids(&first), s(&["old-1", "old-2", "old-3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_until_select_exactly_on_sqlite() {
    since_and_until_select_exactly(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_until_select_exactly_on_postgres() {
    since_and_until_select_exactly(TestApp::spawn_postgres().await).await;
}
