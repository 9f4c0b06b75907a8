//! Operations: `/metrics` after real traffic, `/readyz` and the schema version, graceful
//! shutdown closing the pool, JSON logs that never hold a secret (the real binary), and
//! `gatehouse backup` restored into a second server.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;

use gatehouse::app::{self, AppState};
use gatehouse::clock::{Clock, OffsetClock};
use gatehouse::config::{ServerConfig, StoreConfig};
use serde_json::Value;

use crate::cli::{gatehouse, gatehouse_env};
use crate::support::*;

/// Every sample line of a Prometheus text exposition: `name{labels} value` or
/// `name value`, with a name Prometheus accepts and a number for the value.
fn parse_samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value: {line}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
            };
            let name = series.split('{').next().unwrap();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    && !name.starts_with(|c: char| c.is_ascii_digit()),
                "bad metric name: {line}"
            );
            let labels = &series[name.len()..];
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels: {line}"
                );
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (key, value) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label: {line}"));
                    assert!(
                        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "bad label: {line}"
                    );
                    assert!(
                        !value.trim_end_matches('"').contains('"'),
                        "unescaped quote: {line}"
                    );
                }
            }
            (series.to_string(), value)
        })
        .collect()
}

fn sample(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .map_or(0.0, |(_, v)| *v)
}

async fn scrape(t: &TestApp) -> Vec<(String, f64)> {
    let r = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_samples(&r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_tokens_and_sign_ins() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let before = scrape(&t).await;
    let token_route = "gatehouse_http_requests_total{endpoint=\"/oauth2/{server_id}/v1/token\",method=\"POST\",status=\"200\"}";
    assert_eq!(sample(&before, token_route), 0.0);

    t.tokens("default", &app, "alice@example.com", "openid")
        .await;
    let browser = t.browser();
    let login = location(
        &browser
            .get(&t.authorize_url("default", &app.client_id, &[]))
            .await,
    )
    .unwrap();
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", "not the password")
            .await
            .status(),
        401
    );
    let secret_path = "/no/such/path/s3cr3t-in-the-path";
    assert_eq!(
        t.http
            .get(format!("{}{secret_path}", t.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let r = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let after = parse_samples(&text);
    assert_eq!(sample(&after, token_route), 1.0);
    assert_eq!(
        sample(
            &after,
            "gatehouse_tokens_issued_total{grant=\"authorization_code\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gatehouse_tokens_issued_total{grant=\"refresh_token\"}"
        ),
        0.0
    );
    assert_eq!(
        sample(&after, "gatehouse_logins_total{result=\"success\"}"),
        1.0
    );
    assert_eq!(
        sample(&after, "gatehouse_logins_total{result=\"failure\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gatehouse_http_request_duration_seconds_count{endpoint=\"/oauth2/{server_id}/v1/token\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gatehouse_http_request_duration_seconds_bucket{endpoint=\"/oauth2/{server_id}/v1/token\",le=\"+Inf\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gatehouse_http_requests_total{endpoint=\"/login\",method=\"POST\",status=\"401\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gatehouse_http_requests_total{endpoint=\"unmatched\",method=\"GET\",status=\"404\"}"
        ),
        1.0
    );
    assert!(sample(&after, "gatehouse_db_pool_max_connections") >= 1.0);
    assert!(
        after
            .iter()
            .any(|(s, _)| s == "gatehouse_db_pool_connections{state=\"idle\"}")
    );
    assert!(
        after
            .iter()
            .any(|(s, _)| s == "gatehouse_db_pool_connections{state=\"in_use\"}")
    );
    assert!(sample(&after, "process_start_time_seconds") > 1.6e9);
    // Route templates only: no server id, no raw path.
    assert!(
        !text.contains("s3cr3t") && !text.contains("/oauth2/default/"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_wants_the_database_at_this_binarys_schema_version() {
    let t = TestApp::spawn().await;
    let r = t
        .http
        .get(format!("{}/readyz", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["schema_version"],
        gatehouse::store::latest_schema_version()
    );

    // Another instance migrated the database to a newer schema: this one is not ready.
    use sqlx::Connection;
    let url = format!("sqlite:{}", t.dir.path().join("gatehouse.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
        .execute(&mut conn)
        .await
        .unwrap();
    let r = t
        .http
        .get(format!("{}/readyz", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("schema version 999"),
        "{body}"
    );
    assert_eq!(
        t.http
            .get(format!("{}/healthz", t.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_then_closes_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(OffsetClock::default());
    let backend = app::open_backend(
        &StoreConfig::new(dir.path().to_path_buf(), None),
        clock.now(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServerConfig::resolve(
        &Default::default(),
        Some(listener.local_addr().unwrap().to_string()),
        None,
        None,
    )
    .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(backend.clone(), config, clock);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    let http = no_redirects();
    let mut ready = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(ready);
    backend.store.ping().await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().expect("serve returns cleanly");
    assert!(
        backend.store.ping().await.is_err(),
        "the pool is closed after shutdown"
    );
}

/// Reads a child's pipe to the end on a thread of its own, so it never fills up.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// The real binary with JSON logs at debug level: a whole flow with every kind of
/// secret (password, code, verifier, client secret in a Basic header, access, ID and
/// refresh tokens, a session cookie), then SIGTERM. Every line is a JSON object, the
/// request lines carry their id, and no secret appears anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_LOG_FORMAT", "json")
        .env("GATEHOUSE_LOG", "debug")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = drain(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("Gatehouse listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let _stdout = drain(stdout);

    // A TestApp driving the child: the same data directory, so the same database.
    let clock = Arc::new(OffsetClock::default());
    let backend = app::open_backend(
        &StoreConfig::new(dir.path().to_path_buf(), None),
        clock.now(),
    )
    .await
    .unwrap();
    let config =
        ServerConfig::resolve(&Default::default(), None, Some(base.clone()), None).unwrap();
    let state = AppState::new(backend.clone(), config, clock.clone());
    let t = TestApp {
        base,
        dir,
        backend,
        clock,
        http: no_redirects(),
        state,
        database: None,
    };
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let browser = t.browser();
    let login = location(
        &browser
            .get(&t.authorize_url(
                "default",
                &app.client_id,
                &[("scope", "openid offline_access")],
            ))
            .await,
    )
    .unwrap();
    let wrong = "Wr0ng-but-secret-passw0rd";
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", wrong)
            .await
            .status(),
        401
    );
    let callback = location(&browser.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();
    let code = param(&callback, "code").unwrap();
    let tokens: Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let refreshed: Value = t
        .refresh(
            "default",
            &app,
            tokens["refresh_token"].as_str().unwrap(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(
        t.http
            .get(t.endpoint("default", "userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(t.introspect("default", &app, access).await["active"], true);
    assert_eq!(
        t.post_as(
            "default",
            "revoke",
            &app,
            &[("token", refreshed["refresh_token"].as_str().unwrap())]
        )
        .await
        .status(),
        200
    );
    // A bad client secret and a forged bearer token are logged as failures, not echoed.
    let bad = App {
        client_id: app.client_id.clone(),
        secret: Some("bad-secret-value-123".into()),
    };
    assert_eq!(
        t.refresh("default", &bad, "bogus-refresh-token-456", None)
            .await
            .status(),
        401
    );

    // The shell's own `kill`: no package needed.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        child.wait().unwrap().success(),
        "SIGTERM is a clean shutdown"
    );
    let logs = stderr.join().unwrap();

    let secret = app.secret.clone().unwrap();
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", app.client_id))
    };
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        wrong.into(),
        code,
        VERIFIER.into(),
        secret,
        basic,
        "bad-secret-value-123".into(),
        "bogus-refresh-token-456".into(),
        browser.cookie("gh_session").expect("a session cookie"),
    ];
    for body in [&tokens, &refreshed] {
        for name in ["access_token", "id_token", "refresh_token"] {
            secrets.push(
                body[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name} in {body}"))
                    .to_string(),
            );
        }
    }
    for token in secrets
        .clone()
        .iter()
        .filter(|s| s.matches('.').count() == 2)
    {
        // A JWT's signature alone would identify it too.
        secrets.push(token.rsplit('.').next().unwrap().to_string());
    }
    for value in &secrets {
        assert!(
            !logs.contains(value.as_str()),
            "a secret is in the logs: {value}"
        );
    }

    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 8, "one line per request: {logs}");
    for line in &requests {
        assert!(
            line["span"]["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("req")),
            "{line}"
        );
        assert!(
            line["status"].is_number() && line["path"].is_string(),
            "{line}"
        );
    }
    assert!(lines.iter().any(|l| l["event"] == "app.oauth2.token.grant"));
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.contains("database connections closed"))),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_users_apps_and_refresh_tokens() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let restored = tempfile::tempdir().unwrap();
    let file = restored.path().join("gatehouse.db");
    let (ok, out, err) = gatehouse(&t, &["backup", "--to", file.to_str().unwrap()], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("backed up to") && err.contains("master key"),
        "{out} {err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds password hashes: owner only");
    }
    let (ok, _, err) = gatehouse(&t, &["backup", "--to", file.to_str().unwrap()], None);
    assert!(!ok && err.contains("exists"), "never overwrites: {err}");
    // The server kept serving meanwhile.
    assert_eq!(
        t.introspect("default", &app, tokens["access_token"].as_str().unwrap())
            .await["active"],
        true
    );

    // Restore: the backup as the database of a new data directory, with the master key.
    std::fs::copy(
        t.dir.path().join("master.key"),
        restored.path().join("master.key"),
    )
    .unwrap();
    let second = TestApp::spawn_in(restored).await;
    let signed_in = second
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    assert!(
        signed_in["access_token"].is_string(),
        "the user's password and the app's secret work"
    );
    let r = second.refresh("default", &app, refresh, None).await;
    assert_eq!(
        r.status(),
        200,
        "the refresh token refreshes on the restored copy"
    );

    // PostgreSQL: pg_dump is the tool, and the command says so.
    let data_dir = t.dir.path().to_str().unwrap();
    let env = [
        ("GATEHOUSE_DATA_DIR", data_dir),
        (
            "GATEHOUSE_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/none",
        ),
    ];
    let (ok, _, err) = gatehouse_env(&env, &["backup", "--to", "/tmp/never-written.db"]);
    assert!(!ok && err.contains("pg_dump"), "{err}");
}
