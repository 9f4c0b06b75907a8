//! Okta's own Node.js libraries — the management SDK `@okta/okta-sdk-nodejs` and
//! `@okta/okta-auth-js`, pinned in tests/okta-node/package-lock.json — against a
//! Gatehouse on loopback. Each test runs one scenario of tests/okta-node/run.mjs
//! (`okta_node`) and reads the JSON line it prints last.
//!
//! The packages come from `npm ci` in tests/okta-node (`.ci/run` does it). Without
//! node or the packages the test fails with the command that installs them: it is never
//! skipped.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Runs `node tests/okta-node/run.mjs <scenario> <args…>` against `t` with the SSWS
/// `token`; the JSON of its last line. Panics with node's output when it fails.
pub async fn okta_node(t: &TestApp, token: &str, scenario: &str, args: &[&str]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/okta-node");
    assert!(
        dir.join("node_modules/@okta/okta-sdk-nodejs").is_dir()
            && dir.join("node_modules/@okta/okta-auth-js").is_dir(),
        "Okta's Node.js libraries are not installed. Install them with:\n  \
         (cd tests/okta-node && npm ci)   # node and npm: sudo apt-get install -y npm"
    );
    let mut command = Command::new("node");
    command
        .current_dir(&dir)
        .arg("run.mjs")
        .arg(scenario)
        .args(args)
        .env("GATEHOUSE_ORG_URL", &t.base)
        .env("GATEHOUSE_API_TOKEN", token)
        .env("HOME", t.dir.path());
    let out = tokio::task::spawn_blocking(move || {
        command
            .output()
            .expect("run node (sudo apt-get install -y npm)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "run.mjs {scenario} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_libraries_list_users_and_read_discovery() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-node").await;
    let result = okta_node(&t, &token, "smoke", &[]).await;
    assert!(result["logins"].is_array(), "{result}");
    assert_eq!(result["issuer"], format!("{}/oauth2/default", t.base));
}

// okta-authn

/// okta-auth-js's classic authentication (`signInWithCredentials`), its session token
/// at `/authorize` (the URL `token.getWithRedirect` builds) and the code exchanged by
/// auth-js, then its Sessions API calls (`session.get`, `refresh`, `exists`, `close`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_auth_js_signs_in_with_credentials_and_manages_the_session() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-node").await;
    let user = t.user("alice@example.com").await;
    let app = t.spa().await;
    let result = okta_node(
        &t,
        &token,
        "authn",
        &[&app.client_id, REDIRECT, "alice@example.com", PASSWORD],
    )
    .await;
    assert_eq!(result["wrongPassword"], "E0000004", "{result}");
    assert_eq!(result["status"], "SUCCESS", "{result}");
    assert_eq!(result["userId"], user.id.as_str());
    assert_eq!(result["existsBefore"], false);
    assert_eq!(result["authorizeStatus"], 302);
    assert_eq!(result["idTokenSub"], user.id.as_str());
    assert_eq!(result["accessToken"], true);
    assert_eq!(result["existsAfter"], true);
    assert_eq!(result["session"]["status"], "ACTIVE");
    assert_eq!(result["session"]["login"], "alice@example.com");
    assert_eq!(result["session"]["userId"], user.id.as_str());
    assert_eq!(result["session"]["amr"], serde_json::json!(["pwd"]));
    assert!(result["refreshedExpiresAt"].is_string(), "{result}");
    assert_eq!(result["existsAfterClose"], false);
    assert_eq!(result["replayError"], "login_required");
}

/// Okta's Node.js management SDK (IdentityProviderApi) creates, lists, deactivates,
/// activates and deletes an OIDC identity provider; the secret it sent is never read
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_sdk_manages_an_identity_provider() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-node").await;
    let result = okta_node(&t, &token, "identityProviders", &[]).await;
    assert_eq!(result["type"], "OIDC", "{result}");
    assert_eq!(result["status"], "ACTIVE");
    assert!(result["id"].as_str().unwrap().starts_with("0oa"));
    assert_eq!(result["names"], serde_json::json!(["Corp from Node"]));
    assert_eq!(result["deactivated"], "INACTIVE");
    assert_eq!(result["activated"], "ACTIVE");
    assert_eq!(result["issuer"], "https://idp.example");
    assert_eq!(result["clientId"], "gatehouse-client");
    assert_eq!(result["secret"], serde_json::Value::Null);
    assert_eq!(result["gone"], 404);
}
