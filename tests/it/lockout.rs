//! Lockout after repeated wrong passwords (Okta's password policy,
//! `/api/v1/policies?type=PASSWORD`, `settings.password.lockout`), over HTTP against the
//! real server on SQLite and PostgreSQL: off by default, LOCKED_OUT after
//! `maxAttempts`, the answers a locked account gets (`showLockoutFailures` both ways),
//! sessions and tokens kept, the unlock by time, by an admin (API and CLI) and by a
//! password reset, racing wrong passwords locking once, the System Log and the e-mail.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::email::{SmtpServer, with_smtp};
use crate::support::*;

const POLICY: &str = "/api/v1/policies/00pPasswordDefault00";

async fn authn(t: &TestApp, login: &str, password: &str) -> (u16, Value, bool) {
    let response = t
        .http
        .post(format!("{}/api/v1/authn", t.base))
        .json(&json!({ "username": login, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    (status, response.json().await.unwrap(), retry_after)
}

async fn lockout(api: &Api, lockout: Value) -> Value {
    let (status, body) = api
        .put(
            POLICY,
            json!({ "type": "PASSWORD", "settings": { "password": { "lockout": lockout } } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn status_of(api: &Api, id: &str) -> Value {
    let (status, user) = api.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, 200, "{user}");
    user
}

/// The System Log events of `event_type` whose target is `user_id`.
async fn events(api: &Api, event_type: &str, user_id: &str) -> Vec<Value> {
    let filter = format!("eventType eq \"{event_type}\"");
    let (status, body) = api
        .get(&format!(
            "/api/v1/logs?filter={}",
            percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["target"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["id"] == user_id))
        })
        .cloned()
        .collect()
}

async fn wrong(t: &TestApp, login: &str, times: usize) {
    for _ in 0..times {
        let (status, body, _) = authn(t, login, "not the password").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errorCode"], "E0000004");
    }
}

async fn the_policy_and_the_lock(t: TestApp) {
    let api = t.api().await;
    let alice = t.user("alice@example.com").await;
    let bob = t.user("bob@example.com").await;

    // The default policy is there and off.
    let (status, list) = api.get("/api/v1/policies?type=PASSWORD").await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "00pPasswordDefault00");
    assert_eq!(list[0]["type"], "PASSWORD");
    assert_eq!(list[0]["system"], true);
    let lock = &list[0]["settings"]["password"]["lockout"];
    assert_eq!(lock["maxAttempts"], 0);
    assert_eq!(lock["autoUnlockMinutes"], 0);
    assert_eq!(lock["showLockoutFailures"], false);
    assert_eq!(lock["userLockoutNotificationChannels"], json!([]));
    assert_eq!(
        list[0]["settings"]["password"]["complexity"]["minLength"],
        gatehouse::identity::password::MIN_PASSWORD
    );

    // Off: wrong passwords up to the throttle's threshold, then the right one signs in;
    // the throttle still blocks the attempt after the threshold, as before.
    let threshold = t.state.config.throttle.sign_in_threshold as usize;
    wrong(&t, "alice@example.com", threshold - 1).await;
    let (status, body, _) = authn(&t, "alice@example.com", PASSWORD).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("SUCCESS")),
        "{body}"
    );
    wrong(&t, "alice@example.com", threshold).await;
    let (status, body, retry_after) = authn(&t, "alice@example.com", PASSWORD).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("LOCKED_OUT")),
        "{body}"
    );
    assert!(retry_after, "the throttle's answer says when to retry");
    assert_eq!(status_of(&api, &alice.id).await["status"], "ACTIVE");

    // Bob has a session and a refresh token from before the lock.
    let app = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens("default", &app, "bob@example.com", "openid offline_access")
        .await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    let browser = t.browser();
    t.code(&browser, "default", &app, "bob@example.com").await;

    // On: three wrong passwords in a row lock bob, a success in between resets the count.
    let body = lockout(&api, json!({ "maxAttempts": 3 })).await;
    assert_eq!(body["settings"]["password"]["lockout"]["maxAttempts"], 3);
    wrong(&t, "bob@example.com", 2).await;
    assert_eq!(authn(&t, "bob@example.com", PASSWORD).await.0, 200);
    wrong(&t, "bob@example.com", 2).await;
    assert_eq!(status_of(&api, &bob.id).await["status"], "ACTIVE");
    wrong(&t, "bob@example.com", 1).await;
    let user = status_of(&api, &bob.id).await;
    assert_eq!(user["status"], "LOCKED_OUT");
    assert!(
        user["_links"]["unlock"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/lifecycle/unlock")
    );
    assert_eq!(user["_links"]["unlock"]["hints"]["allow"], json!(["POST"]));
    assert_eq!(
        t.backend.store.failed_sign_ins(&bob.id).await.unwrap(),
        3,
        "the count stops where it locked"
    );
    let locks = events(&api, "user.account.lock", &bob.id).await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0]["outcome"]["result"], "FAILURE");

    // Locked, without showLockoutFailures: the right password gets the wrong-password
    // answer, on the API and on the sign-in page.
    let (status, body, _) = authn(&t, "bob@example.com", PASSWORD).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("E0000004"))
    );
    let page = t.browser();
    let start = page
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&start).unwrap();
    let answer = page.sign_in(&login, "bob@example.com", PASSWORD).await;
    assert_eq!(answer.status(), 401);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("the username or password is not right"),
        "{html}"
    );
    assert!(!html.contains("locked"), "{html}");

    // The list filter finds him.
    let (status, locked) = api
        .get("/api/v1/users?filter=status%20eq%20%22LOCKED_OUT%22")
        .await;
    assert_eq!(status, 200, "{locked}");
    let ids: Vec<&str> = locked
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [bob.id.as_str()]);

    // What he had before stays: the session signs him in to an app, the refresh token
    // refreshes.
    let again = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let to = location(&again).expect("a redirect");
    assert!(to.starts_with(REDIRECT) && to.contains("code="), "{to}");
    let refreshed = t.refresh("default", &app, &refresh_token, None).await;
    assert_eq!(refreshed.status(), 200);

    // With showLockoutFailures the answers say so.
    lockout(&api, json!({ "showLockoutFailures": true })).await;
    let (status, body, retry_after) = authn(&t, "bob@example.com", PASSWORD).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("LOCKED_OUT")),
        "{body}"
    );
    assert!(body.get("sessionToken").is_none());
    assert!(!retry_after, "a lock has no time to wait for");
    let answer = page.sign_in(&login, "bob@example.com", PASSWORD).await;
    assert_eq!(answer.status(), 401);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("Your account is locked"),
        "the page says it"
    );

    // Unlock: refused for a user who is not locked, done for bob, then refused again.
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/unlock", alice.id),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("E0000038")),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/unlock", bob.id),
            json!({}),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    assert_eq!(status_of(&api, &bob.id).await["status"], "ACTIVE");
    assert_eq!(t.backend.store.failed_sign_ins(&bob.id).await.unwrap(), 0);
    let unlocks = events(&api, "user.account.unlock_by_admin", &bob.id).await;
    assert_eq!(unlocks.len(), 1, "{unlocks:?}");
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/unlock", bob.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = api
        .post("/api/v1/users/00unobody/lifecycle/unlock", json!({}))
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("E0000007"))
    );
    let anonymous = t
        .http
        .post(format!(
            "{}/api/v1/users/{}/lifecycle/unlock",
            t.base, bob.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let (status, body, _) = authn(&t, "bob@example.com", PASSWORD).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("SUCCESS")),
        "{body}"
    );

    // autoUnlockMinutes: the lock lifts at the first attempt a minute after it.
    lockout(&api, json!({ "autoUnlockMinutes": 1 })).await;
    wrong(&t, "bob@example.com", 2).await;
    // The failure that locks already answers LOCKED_OUT (showLockoutFailures).
    let (_, body, _) = authn(&t, "bob@example.com", "not the password").await;
    assert_eq!(body["status"], "LOCKED_OUT", "{body}");
    assert_eq!(status_of(&api, &bob.id).await["status"], "LOCKED_OUT");
    // The test clock runs on from real time, in whole seconds: a minute less five
    // seconds leaves room for the real seconds a loaded machine spends in between
    // (59 crossed the minute under load and the lock lifted early).
    t.clock.advance(55);
    let (_, body, _) = authn(&t, "bob@example.com", PASSWORD).await;
    assert_eq!(body["status"], "LOCKED_OUT", "{body}");
    t.clock.advance(5);
    let (_, body, _) = authn(&t, "bob@example.com", PASSWORD).await;
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let auto = events(&api, "user.account.unlock", &bob.id).await;
    assert_eq!(auto.len(), 1, "{auto:?}");
    assert_eq!(events(&api, "user.account.lock", &bob.id).await.len(), 2);

    // The policy as set, and changes it refuses, each leaving it as it was.
    let (_, policy) = api.get(POLICY).await;
    let lock = &policy["settings"]["password"]["lockout"];
    assert_eq!(
        (
            &lock["maxAttempts"],
            &lock["autoUnlockMinutes"],
            &lock["showLockoutFailures"]
        ),
        (&json!(3), &json!(1), &json!(true))
    );
    for (bad, field) in [
        (
            json!({ "password": { "lockout": { "maxAttempts": -1 } } }),
            "maxAttempts",
        ),
        (
            json!({ "password": { "lockout": { "maxAttempts": 101 } } }),
            "maxAttempts",
        ),
        (
            json!({ "password": { "lockout": { "autoUnlockMinutes": -1 } } }),
            "autoUnlockMinutes",
        ),
        (
            json!({ "password": { "lockout": { "userLockoutNotificationChannels": ["SMS"] } } }),
            "userLockoutNotificationChannels",
        ),
        (
            json!({ "password": { "complexity": { "minLength": 4 } } }),
            "minLength",
        ),
    ] {
        let (status, body) = api
            .put(POLICY, json!({ "type": "PASSWORD", "settings": bad }))
            .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("E0000001")),
            "{body}"
        );
        let (_, causes) = okta_error(&body);
        assert!(causes.iter().any(|c| c.contains(field)), "{causes:?}");
    }
    let (status, body) = api
        .put(POLICY, json!({ "type": "OKTA_SIGN_ON", "name": "x" }))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "PASSWORD", "name": "Another" }),
        )
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001")),
        "{body}"
    );
    let (_, after) = api.get(POLICY).await;
    assert_eq!(after["settings"], policy["settings"]);
    assert_eq!(
        events(&api, "policy.lifecycle.update", "00pPasswordDefault00")
            .await
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_and_the_lock_on_sqlite() {
    the_policy_and_the_lock(TestApp::spawn_configured(throttle_at(THRESHOLD)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_and_the_lock_on_postgres() {
    the_policy_and_the_lock(TestApp::spawn_postgres_configured(throttle_at(THRESHOLD)).await).await;
}

/// The sign-in throttle's threshold for `the_policy_and_the_lock`: above the refused
/// attempts a locked account meets there, so only the lockout answers them.
const THRESHOLD: i64 = 8;

fn throttle_at(threshold: i64) -> impl FnOnce(&mut gatehouse::config::ServerConfig) {
    move |c| c.throttle.sign_in_threshold = threshold
}

/// Ten wrong passwords at once with `maxAttempts: 3`: one lock, the count exactly 3.
async fn racing_wrong_passwords_lock_once(t: TestApp) {
    let api = t.api().await;
    let carol = t.user("carol@example.com").await;
    lockout(&api, json!({ "maxAttempts": 3 })).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let http = t.http.clone();
            let url = format!("{}/api/v1/authn", t.base);
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({ "username": "carol@example.com", "password": "wrong" }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status == 401 || status == 200, "{status}");
    }
    assert_eq!(status_of(&api, &carol.id).await["status"], "LOCKED_OUT");
    assert_eq!(t.backend.store.failed_sign_ins(&carol.id).await.unwrap(), 3);
    assert_eq!(events(&api, "user.account.lock", &carol.id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_wrong_passwords_lock_once_on_sqlite() {
    racing_wrong_passwords_lock_once(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_wrong_passwords_lock_once_on_postgres() {
    racing_wrong_passwords_lock_once(TestApp::spawn_postgres().await).await;
}

/// The command line, on the server's own database.
fn gatehouse(t: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .env("GATEHOUSE_DATA_DIR", t.dir.path())
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .stdin(Stdio::null());
    if let Some(db) = &t.database {
        command.env("GATEHOUSE_DATABASE_URL", &db.url);
    }
    let out = command.output().expect("run gatehouse");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn the_command_line_sets_the_lockout_and_unlocks(t: TestApp) {
    let dave = t.user("dave@example.com").await;
    let (ok, out, err) = gatehouse(&t, &["password-policy", "show"]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["settings"]["password"]["lockout"]["maxAttempts"], 0);
    let (ok, out, err) = gatehouse(
        &t,
        &[
            "password-policy",
            "set",
            "--max-attempts",
            "2",
            "--notify-email",
            "true",
        ],
    );
    assert!(ok, "{err}");
    let set: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(set["settings"]["password"]["lockout"]["maxAttempts"], 2);
    assert_eq!(
        set["settings"]["password"]["lockout"]["userLockoutNotificationChannels"],
        json!(["EMAIL"])
    );
    let (ok, _, err) = gatehouse(&t, &["password-policy", "set", "--max-attempts=-3"]);
    assert!(!ok);
    assert!(err.contains("maxAttempts"), "{err}");

    let (ok, _, err) = gatehouse(&t, &["users", "unlock", "dave@example.com"]);
    assert!(!ok, "dave is not locked");
    assert!(err.contains("LOCKED_OUT"), "{err}");
    wrong(&t, "dave@example.com", 2).await;
    let (ok, out, err) = gatehouse(&t, &["users", "unlock", "dave@example.com"]);
    assert!(ok, "{err}");
    let user: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(user["id"], dave.id.as_str());
    let (_, body, _) = authn(&t, "dave@example.com", PASSWORD).await;
    assert_eq!(body["status"], "SUCCESS", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_sets_the_lockout_and_unlocks_on_sqlite() {
    the_command_line_sets_the_lockout_and_unlocks(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_sets_the_lockout_and_unlocks_on_postgres() {
    the_command_line_sets_the_lockout_and_unlocks(TestApp::spawn_postgres().await).await;
}

/// The lock is told by e-mail (channel EMAIL), and a password reset by e-mail unlocks.
async fn the_notice_and_the_reset(t: TestApp, smtp: SmtpServer) {
    let api = t.api().await;
    let erin = t.user("erin@example.com").await;
    lockout(
        &api,
        json!({ "maxAttempts": 2, "userLockoutNotificationChannels": ["EMAIL"] }),
    )
    .await;
    wrong(&t, "erin@example.com", 2).await;
    assert_eq!(status_of(&api, &erin.id).await["status"], "LOCKED_OUT");
    let notice = smtp
        .message("erin@example.com", "Your account was locked", 0)
        .await;
    assert!(
        notice.body().contains("An administrator can unlock it"),
        "{}",
        notice.body()
    );

    // "Forgot password?" works for a locked account, and the new password unlocks it.
    let b = Browser::at(&t.base);
    let form = b.get(&format!("{}/signin/forgot-password", t.base)).await;
    let csrf = input_value(&form.text().await.unwrap(), "csrf").unwrap();
    let sent = b
        .post_form(
            &format!("{}/signin/forgot-password", t.base),
            &[("csrf", &csrf), ("username", "erin@example.com")],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let mail = smtp
        .message("erin@example.com", "Reset your password", 0)
        .await;
    let link = mail.link(&format!("{}/signin/reset-password/", t.base));
    let page = b.get(&link).await;
    assert_eq!(page.status(), 200);
    let csrf = input_value(&page.text().await.unwrap(), "csrf").unwrap();
    let done = b
        .post_form(
            &link,
            &[("csrf", &csrf), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    assert_eq!(status_of(&api, &erin.id).await["status"], "ACTIVE");
    assert_eq!(t.backend.store.failed_sign_ins(&erin.id).await.unwrap(), 0);
    assert_eq!(events(&api, "user.account.unlock", &erin.id).await.len(), 1);
    let (_, body, _) = authn(&t, "erin@example.com", "a brand new password").await;
    assert_eq!(body["status"], "SUCCESS", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_and_the_reset_on_sqlite() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_configured(with_smtp(smtp.port)).await;
    the_notice_and_the_reset(t, smtp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_and_the_reset_on_postgres() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_postgres_configured(with_smtp(smtp.port)).await;
    the_notice_and_the_reset(t, smtp).await;
}
