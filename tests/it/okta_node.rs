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

/// The password policy's lockout as Okta's Node.js libraries see it: the management
/// SDK reads and replaces the PASSWORD policy and unlocks the user (`unlockUser`, and
/// its error for a user who is not locked); okta-auth-js's `signInWithCredentials`
/// gets `LOCKED_OUT` (the policy shows lockout failures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_libraries_lock_and_unlock() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-node").await;
    let user = t.user("alice@example.com").await;
    let result = okta_node(
        &t,
        &token,
        "lockout",
        &[&user.id, "alice@example.com", PASSWORD],
    )
    .await;
    assert_eq!(result["policy"]["type"], "PASSWORD", "{result}");
    assert_eq!(result["policy"]["maxAttempts"], 0, "{result}");
    assert_eq!(result["replaced"], 2, "{result}");
    assert_eq!(result["first"], "E0000004", "{result}");
    assert_eq!(result["second"], "LOCKED_OUT", "{result}");
    assert_eq!(result["right"], "LOCKED_OUT", "{result}");
    assert_eq!(result["status"], "LOCKED_OUT", "{result}");
    assert_eq!(result["unlocked"], "ACTIVE", "{result}");
    assert_eq!(result["after"], "SUCCESS", "{result}");
    assert_eq!(result["again"]["status"], 403, "{result}");
    assert_eq!(result["again"]["code"], "E0000038", "{result}");
}

// okta-factors

/// Okta's Node.js management SDK enrolls an e-mail factor (`UserFactorApi`), activates
/// it with the code this test reads from its SMTP server, issues a challenge
/// (`verifyFactor` without a body: `CHALLENGE`), lists it with `profile.email`, and
/// verifies the challenge's code once (again: `403 E0000068`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_sdk_enrolls_and_verifies_an_email_factor() {
    let smtp = crate::email::SmtpServer::start().await;
    let t = TestApp::spawn_configured(crate::email::with_smtp(smtp.port)).await;
    let user = t.user("ada@example.com").await;
    let token = t.api_token("okta-node").await;
    let code = |n: usize| {
        let smtp = &smtp;
        async move {
            let body = smtp
                .message("ada@example.com", "Your one-time sign-in code", n)
                .await
                .body();
            body.split_whitespace()
                .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
                .unwrap()
                .to_string()
        }
    };
    let enrolled = okta_node(
        &t,
        &token,
        "emailFactorEnroll",
        &[&user.id, "ada@example.com"],
    )
    .await;
    assert_eq!(enrolled["factorType"], "email", "{enrolled}");
    assert_eq!(enrolled["status"], "PENDING_ACTIVATION");
    assert_eq!(enrolled["email"], "ada@example.com");
    let factor_id = enrolled["id"].as_str().unwrap().to_string();
    let activated = okta_node(
        &t,
        &token,
        "emailFactorActivate",
        &[&user.id, &factor_id, &code(0).await],
    )
    .await;
    assert_eq!(activated["status"], "ACTIVE", "{activated}");
    assert_eq!(activated["factorResult"], "CHALLENGE");
    assert_eq!(
        activated["listed"],
        serde_json::json!([{"factorType": "email", "provider": "OKTA", "email": "ada@example.com"}])
    );
    let verified = okta_node(
        &t,
        &token,
        "emailFactorVerify",
        &[&user.id, &factor_id, &code(1).await],
    )
    .await;
    assert_eq!(verified["factorResult"], "SUCCESS", "{verified}");
    assert_eq!(verified["reused"]["status"], 403);
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

/// Okta's Node.js management SDK (PolicyApi) makes, lists and deletes a routing rule
/// of the IDP_DISCOVERY policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_sdk_manages_idp_discovery_rules() {
    let t = TestApp::spawn().await;
    let token = t.api_token("okta-node").await;
    let result = okta_node(&t, &token, "idpDiscoveryRules", &[]).await;
    assert_eq!(result["policyType"], "IDP_DISCOVERY", "{result}");
    assert_eq!(result["rule"]["type"], "IDP_DISCOVERY");
    assert_eq!(result["rule"]["status"], "ACTIVE");
    assert_eq!(result["provider"], result["idp"]);
    let listed = result["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], result["rule"]["id"]);
    assert_eq!(listed[1]["system"], true);
    assert_eq!(result["after"], serde_json::json!([listed[1]["id"]]));
}
