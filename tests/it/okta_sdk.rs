//! Okta's own Python management SDK (`okta` on PyPI, pinned in
//! tests/okta_sdk/requirements.txt) against a Gatehouse on loopback: it creates users
//! and an OIDC app, assigns a user, lists both with its cursor pagination; a code flow
//! with that app and user succeeds; then it deactivates and deletes them. It also
//! manages an identity provider (created through its request executor, the rest with
//! its typed calls).
//!
//! The Python comes from GATEHOUSE_OKTA_SDK_PYTHON, else target/okta-venv, which the
//! harness makes on first use (`support::okta_sdk_python`). Without python3 the test
//! fails with the command that installs it: it is never skipped.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn python() -> PathBuf {
    okta_sdk_python()
}

/// Runs tests/okta_sdk/manage.py with `args` against `t`; the JSON of its last line.
async fn manage(t: &TestApp, token: &str, args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/okta_sdk/manage.py");
    let mut command = Command::new(python());
    command
        .arg(script)
        .args(args)
        .env("GATEHOUSE_ORG_URL", &t.base)
        .env("GATEHOUSE_API_TOKEN", token)
        .env("HOME", t.dir.path());
    let out =
        tokio::task::spawn_blocking(move || command.output().expect("run the Okta SDK script"))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "manage.py {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_python_sdk_manages_users_and_apps_and_the_code_flow_works() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-sdk").await;
    let created = manage(&t, &token, &["setup"]).await;
    let user_id = created["user_id"].as_str().unwrap().to_string();
    let client_id = created["client_id"].as_str().unwrap().to_string();
    let login = created["login"].as_str().unwrap().to_string();

    // In between: the app and user the SDK made do a code flow.
    let app = App {
        client_id: client_id.clone(),
        secret: Some(created["client_secret"].as_str().unwrap().to_string()),
    };
    let code = t.code(&t.browser(), "default", &app, &login).await;
    let response = t.redeem("default", &app, &code).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let claims = crate::code_flow::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some(user_id.as_str()), Some(client_id.as_str()))
    );

    let deleted = manage(&t, &token, &["teardown", &user_id, &client_id]).await;
    assert_eq!(deleted["deleted"], serde_json::json!([client_id, user_id]));
    let api = t.api().await;
    assert_eq!(api.get(&format!("/api/v1/users/{user_id}")).await.0, 404);
    assert_eq!(api.get(&format!("/api/v1/apps/{client_id}")).await.0, 404);

    // The System Log has what the SDK did, with its token as the actor.
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22application.lifecycle.delete%22")
        .await;
    let event = &events[0];
    assert_eq!(
        (
            event["actor"]["type"].as_str(),
            event["actor"]["alternateId"].as_str()
        ),
        (Some("ApiToken"), Some("okta-sdk"))
    );
    assert_eq!(event["target"][0]["id"], client_id.as_str());
    assert_eq!(event["client"]["ipAddress"], "127.0.0.1");
}

/// Issue 15, item 2: the Python SDK reads a created server, scope, claim, policy, rule and
/// client secret only from Okta's 201 (any other status gives `None`); the server the
/// SDK made then issues tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_python_sdk_reads_what_it_creates_from_okta_s_201() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let token = t.api_token("okta-sdk").await;
    let made = manage(&t, &token, &["servers", &app.client_id]).await;
    let server = made["server"].as_str().unwrap();
    let tokens = t
        .tokens(server, &app, "alice@example.com", "openid orders:read")
        .await;
    let at = crate::code_flow::jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["login"], "alice@example.com", "the SDK's claim");
    let second = App {
        client_id: app.client_id.clone(),
        secret: Some(made["client_secret"].as_str().unwrap().to_string()),
    };
    let code = t
        .code(&t.browser(), server, &second, "alice@example.com")
        .await;
    assert_eq!(
        t.redeem(server, &second, &code).await.status(),
        200,
        "the SDK's secret"
    );
}

/// Identity providers with Okta's Python SDK: created through its request executor
/// (the pinned model cannot carry `protocol.issuer`), then listed, read, deactivated,
/// activated, its linked users listed and deleted with the SDK's typed calls; the
/// client secret never in an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_python_sdk_manages_identity_providers() {
    const SECRET: &str = "sdk-upstream-client-secret-0123456789";
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-sdk").await;
    let created = manage(&t, &token, &["idp-create", SECRET]).await;
    let idp_id = created["idp_id"].as_str().unwrap().to_string();
    // Someone signed in through it once: a linked user.
    let user = t.user("linked@example.com").await;
    t.state
        .store
        .link_idp_user(&gatehouse::store::IdpUser {
            idp_id: idp_id.clone(),
            external_id: "upstream-sub-1".into(),
            user_id: user.id.clone(),
            profile: serde_json::Map::new(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();

    let seen = manage(&t, &token, &["idps", &idp_id, &user.id, SECRET]).await;
    assert_eq!(seen["listed"], serde_json::json!([idp_id]));
    assert_eq!(seen["name"], "SDK Corp");
    assert_eq!(seen["linked"], serde_json::json!([user.id]));
    assert_eq!(seen["deleted"], idp_id.as_str());
    let api = t.api().await;
    assert_eq!(api.get(&format!("/api/v1/idps/{idp_id}")).await.0, 404);
    // The user stays, unlinked.
    assert_eq!(api.get(&format!("/api/v1/users/{}", user.id)).await.0, 200);
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType sw \"system.idp.lifecycle.\"&limit=100")
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "system.idp.lifecycle.create",
            "system.idp.lifecycle.deactivate",
            "system.idp.lifecycle.activate",
            "system.idp.lifecycle.delete"
        ]
    );
    assert!(!events.to_string().contains(SECRET));
}
