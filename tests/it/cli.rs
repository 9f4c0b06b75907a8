//! The command line, as a user runs it: the real binary, against the data directory of
//! a running server. What it creates is usable at once.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

/// The binary with `env` as its only Gatehouse settings (none inherited from the shell).
pub fn gatehouse_env(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GATEHOUSE_")) {
        command.env_remove(name);
    }
    let out = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run gatehouse");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

pub fn gatehouse(t: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATA_DIR", t.dir.path())
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_apps_created_by_the_cli_work_at_once() {
    let t = TestApp::spawn().await;
    let (ok, out, err) = gatehouse(
        &t,
        &[
            "users",
            "create",
            "--login",
            "zoe@example.com",
            "--password-stdin",
            "--first-name",
            "Zoe",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok, "{err}");
    let user: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(user["id"].as_str().unwrap().starts_with("00u"));
    assert_eq!(user["profile"]["login"], "zoe@example.com");
    assert_eq!(
        user["login"], "zoe@example.com",
        "as the command always printed it"
    );
    assert_eq!(user["status"], "ACTIVE");
    assert!(!out.contains("argon2"), "no hash printed");

    let (ok, out, err) = gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "CLI App",
            "--redirect-uri",
            REDIRECT,
        ],
        None,
    );
    assert!(ok, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let client_id = created["credentials"]["oauthClient"]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = created["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        created["credentials"]["oauthClient"]["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(
        (
            created["client_id"].as_str(),
            created["client_secret"].as_str()
        ),
        (Some(client_id.as_str()), Some(secret.as_str())),
        "as the command always printed them"
    );

    let (ok, out, _) = gatehouse(&t, &["apps", "show", &client_id], None);
    assert!(
        ok && !out.contains(&secret),
        "the secret is shown once only"
    );
    let (ok, out, _) = gatehouse(&t, &["apps", "list"], None);
    assert!(ok && out.contains(&client_id));
    let (ok, out, _) = gatehouse(&t, &["users", "list"], None);
    assert!(ok && out.contains("zoe@example.com"));

    // The running server uses them immediately.
    let app = App {
        client_id,
        secret: Some(secret),
    };
    let code = t
        .code(&t.browser(), "default", &app, "zoe@example.com")
        .await;
    let r = t.redeem("default", &app, &code).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let claims = crate::code_flow::jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], user["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_refuses_bad_input_with_a_message() {
    let t = TestApp::spawn().await;
    for (args, stdin, expected) in [
        (
            vec![
                "users",
                "create",
                "--login",
                "a@example.com",
                "--password-stdin",
            ],
            Some("short\n"),
            "password",
        ),
        (
            vec![
                "users",
                "create",
                "--login",
                "has space",
                "--password-stdin",
            ],
            Some("long enough pw\n"),
            "login",
        ),
        (
            vec![
                "apps",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                "http://example.com/cb",
            ],
            None,
            "https",
        ),
        (
            vec![
                "apps",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                "javascript:alert(1)",
            ],
            None,
            "scheme",
        ),
        (
            vec![
                "apps",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                "https://a.example.com/cb#f",
            ],
            None,
            "fragment",
        ),
        (
            vec![
                "apps",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                REDIRECT,
                "--auth-method",
                "tls",
            ],
            None,
            "token_endpoint_auth_method",
        ),
        (vec!["apps", "create", "--name", "x"], None, "redirect_uris"),
        (vec!["apps", "show", "0oaMISSING"], None, "no app"),
    ] {
        let (ok, _, err) = gatehouse(&t, &args, stdin);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let (_, _, _) = gatehouse(
        &t,
        &[
            "users",
            "create",
            "--login",
            "dup@example.com",
            "--password-stdin",
        ],
        Some("long enough pw\n"),
    );
    let (ok, _, err) = gatehouse(
        &t,
        &[
            "users",
            "create",
            "--login",
            "DUP@example.com",
            "--password-stdin",
        ],
        Some("long enough pw\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
}

pub fn json_of(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_scopes_claims_policies_and_groups_from_the_cli() {
    let t = TestApp::spawn().await;
    t.user("zoe@example.com").await;
    let run = |args: &[&str]| {
        let (ok, out, err) = gatehouse(&t, args, None);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let server = json_of(&run(&[
        "authz-servers",
        "create",
        "--name",
        "Orders",
        "--audience",
        "api://orders",
    ]));
    let id = server["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("aus"));
    assert_eq!(server["audiences"], serde_json::json!(["api://orders"]));
    assert!(run(&["authz-servers", "list"]).contains(&id));

    let group = json_of(&run(&["groups", "create", "--name", "buyers"]));
    assert_eq!(group["profile"]["name"], "buyers");
    run(&[
        "groups",
        "add-user",
        "--group",
        "buyers",
        "--user",
        "zoe@example.com",
    ]);
    let scope = json_of(&run(&[
        "scopes",
        "create",
        "--server",
        &id,
        "--name",
        "orders:read",
        "--description",
        "Read orders",
    ]));
    assert_eq!(scope["consent"], "IMPLICIT");
    let claim = json_of(&run(&[
        "claims",
        "create",
        "--server",
        &id,
        "--name",
        "teams",
        "--token",
        "access",
        "--group-filter",
        "starts-with",
        "--value",
        "buy",
    ]));
    assert_eq!(claim["valueType"], "GROUPS");
    let policy = json_of(&run(&[
        "policies",
        "create",
        "--server",
        &id,
        "--name",
        "Buyers only",
    ]));
    let policy_id = policy["id"].as_str().unwrap().to_string();
    let rule = json_of(&run(&[
        "policies",
        "add-rule",
        "--server",
        &id,
        "--policy",
        &policy_id,
        "--name",
        "buyers",
        "--group",
        "buyers",
        "--scope",
        "openid",
        "--scope",
        "orders:read",
        "--access-token-minutes",
        "15",
    ]));
    assert_eq!(rule["actions"]["token"]["accessTokenLifetimeMinutes"], 15);
    let listed = json_of(&run(&["policies", "list", "--server", &id]));
    assert_eq!(listed[0]["_embedded"]["rules"][0]["name"], "buyers");
    let rule_id = rule["id"].as_str().unwrap().to_string();
    let updated = json_of(&run(&[
        "scopes",
        "update",
        "--server",
        &id,
        "--name",
        "orders:read",
        "--description",
        "Read your orders",
        "--default",
        "true",
    ]));
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["description"].as_str(),
            updated["default"].as_bool(),
            updated["consent"].as_str()
        ),
        (
            Some("orders:read"),
            Some("Read your orders"),
            Some(true),
            Some("IMPLICIT")
        )
    );
    let off = json_of(&run(&[
        "policies",
        "deactivate-rule",
        "--server",
        &id,
        "--policy",
        &policy_id,
        "--id",
        &rule_id,
    ]));
    assert_eq!(off["status"], "INACTIVE");
    assert_eq!(
        json_of(&run(&[
            "policies",
            "deactivate",
            "--server",
            &id,
            "--id",
            &policy_id
        ]))["status"],
        "INACTIVE"
    );
    assert_eq!(
        json_of(&run(&[
            "policies", "activate", "--server", &id, "--id", &policy_id
        ]))["status"],
        "ACTIVE"
    );
    assert_eq!(
        json_of(&run(&[
            "policies",
            "activate-rule",
            "--server",
            &id,
            "--policy",
            &policy_id,
            "--id",
            &rule_id
        ]))["status"],
        "ACTIVE"
    );

    // What the CLI configured, the running server applies at once.
    let app = t.web_app().await;
    let browser = t.browser();
    let url = t.authorize_url(&id, &app.client_id, &[("scope", "openid orders:read")]);
    let login = location(&browser.get(&url).await).unwrap();
    let callback = location(&browser.sign_in(&login, "zoe@example.com", PASSWORD).await).unwrap();
    let code = param(&callback, "code").unwrap_or_else(|| panic!("{callback}"));
    let body: serde_json::Value = t.redeem(&id, &app, &code).await.json().await.unwrap();
    assert_eq!(body["expires_in"], 900);
    let at = crate::code_flow::jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["teams"], serde_json::json!(["buyers"]));
    assert_eq!(at["aud"], "api://orders");

    // Bad input is refused with the field named.
    for (args, expected) in [
        (
            vec!["scopes", "create", "--server", "org", "--name", "x"],
            "org authorization server",
        ),
        (
            vec![
                "claims",
                "create",
                "--server",
                &id,
                "--name",
                "iss",
                "--token",
                "id",
                "--value",
                "user.login",
            ],
            "set by the server",
        ),
        (
            vec![
                "policies",
                "add-rule",
                "--server",
                &id,
                "--policy",
                &policy_id,
                "--name",
                "r",
                "--access-token-minutes",
                "2",
            ],
            "5 minutes",
        ),
        (
            vec![
                "scopes",
                "update",
                "--server",
                &id,
                "--name",
                "orders:read",
                "--new-name",
                "orders:view",
            ],
            "rule \"buyers\"",
        ),
        (
            vec![
                "scopes",
                "update",
                "--server",
                &id,
                "--name",
                "openid",
                "--new-name",
                "oidc",
            ],
            "cannot be renamed",
        ),
        (
            vec![
                "groups",
                "add-user",
                "--group",
                "nobody",
                "--user",
                "zoe@example.com",
            ],
            "not found",
        ),
        (vec!["authz-servers", "show", "ausMISSING"], "not found"),
    ] {
        let (ok, _, err) = gatehouse(&t, &args, None);
        assert!(!ok && err.contains(expected), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_brings_either_database_up_to_date_and_prints_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (ok, on_sqlite, err) = gatehouse_env(&[("GATEHOUSE_DATA_DIR", data_dir)], &["migrate"]);
    assert!(ok, "{err}");
    assert!(on_sqlite.starts_with("schema version "), "{on_sqlite}");
    assert!(dir.path().join("gatehouse.db").exists());
    assert!(
        !dir.path().join("master.key").exists(),
        "migrate touches only the database"
    );

    let db = TestDatabase::create_empty().await;
    let env = [
        ("GATEHOUSE_DATA_DIR", data_dir),
        ("GATEHOUSE_DATABASE_URL", db.url.as_str()),
    ];
    for _ in 0..2 {
        let (ok, on_postgres, err) = gatehouse_env(&env, &["migrate"]);
        assert!(ok, "{err}");
        assert_eq!(
            on_postgres, on_sqlite,
            "the same version on both backends, again on a second run"
        );
    }
    let (ok, out, err) = gatehouse_env(&env, &["users", "list"]);
    assert!(ok && out.trim() == "[]", "{out} {err}");

    // Pool settings from the environment are checked before anything opens.
    let (ok, _, err) = gatehouse_env(
        &[env[0], env[1], ("GATEHOUSE_DATABASE_MAX_CONNECTIONS", "0")],
        &["migrate"],
    );
    assert!(!ok && err.contains("database_max_connections"), "{err}");
    let (ok, out, err) = gatehouse_env(
        &[
            env[0],
            ("GATEHOUSE_DATABASE_MAX_CONNECTIONS", "2"),
            ("GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT", "3"),
        ],
        &["migrate", "--database-url", &db.url],
    );
    assert!(ok && out == on_sqlite, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_from_the_cli_open_the_management_api_until_revoked() {
    let t = TestApp::spawn().await;
    let (ok, out, err) = gatehouse(&t, &["api-tokens", "create", "--name", "terraform"], None);
    assert!(ok, "{err}");
    let created = json_of(&out);
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("00") && token.len() >= 40);
    let api = Api {
        base: t.base.clone(),
        token: token.clone(),
        http: no_redirects(),
    };
    assert_eq!(api.get("/api/v1/users").await.0, 200);

    let (ok, out, _) = gatehouse(&t, &["api-tokens", "list"], None);
    assert!(
        ok && out.contains(&id) && !out.contains(&token),
        "listed, never with its value"
    );
    let (ok, _, err) = gatehouse(&t, &["api-tokens", "revoke", &id], None);
    assert!(ok, "{err}");
    let (status, body) = api.get("/api/v1/users").await;
    assert_eq!((status, okta_error(&body).0.as_str()), (401, "E0000011"));
    let (ok, _, err) = gatehouse(&t, &["api-tokens", "revoke", &id], None);
    assert!(!ok && err.contains("not found"), "{err}");
}

/// `gatehouse brand`: what the CLI sets, a running server's pages show once its brand
/// cache (`BRAND_TTL`) has run out: the first page after that starts the re-read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brand_is_set_from_the_cli() {
    let t = TestApp::spawn().await;
    let (ok, out, err) = gatehouse(
        &t,
        &[
            "brand",
            "set",
            "--name",
            "Acme Corp",
            "--primary-color",
            "#0B6E4F",
        ],
        None,
    );
    assert!(ok, "{err}");
    let theme: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(theme["primaryColorHex"], "#0b6e4f");
    let (ok, _, err) = gatehouse(&t, &["brand", "set", "--primary-color", "green"], None);
    assert!(!ok && err.contains("primaryColorHex"), "{err}");

    let logo = t.dir.path().join("logo.png");
    std::fs::write(&logo, include_bytes!("browser/logo.png")).unwrap();
    let (ok, out, err) = gatehouse(&t, &["brand", "logo", logo.to_str().unwrap()], None);
    assert!(ok, "{err}");
    assert!(out.contains("/brand/logo?v="), "{out}");
    let svg = t.dir.path().join("logo.svg");
    std::fs::write(&svg, "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    let (ok, _, err) = gatehouse(&t, &["brand", "logo", svg.to_str().unwrap()], None);
    assert!(!ok && err.contains("logo: must be a PNG"), "{err}");

    t.clock.advance(gatehouse::http::branding::BRAND_TTL);
    let mut page = String::new();
    for _ in 0..100 {
        page = reqwest::get(t.authorize_url("default", "unknown-app", &[]))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("Acme Corp") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        page.contains("Acme Corp") && page.contains("/brand/logo?v="),
        "{page}"
    );
    let css = reqwest::get(format!("{}/brand/theme.css", t.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(css.contains("--brand: #0b6e4f;"), "{css}");

    let (ok, out, err) = gatehouse(&t, &["brand", "logo", "--remove"], None);
    assert!(ok, "{err}");
    assert!(out.contains("\"logo\": null"), "{out}");
}
