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
