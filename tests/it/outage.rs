//! A database outage (PostgreSQL refusing and dropping connections): every endpoint
//! that needs the database answers 503 `temporarily_unavailable` with `Retry-After`,
//! never an answer that would make a client or an API discard a good token
//! (`invalid_grant`, `invalid_client`, `active: false`, `invalid_token`); when the
//! database returns, the same tokens work, with no restart.

use serde_json::Value;

use crate::support::*;

async fn assert_unavailable(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    assert!(response.headers().contains_key("retry-after"), "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_503_and_good_tokens_work_after_it() {
    let t = TestApp::spawn_postgres().await;
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
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let db = t.database.as_ref().unwrap();
    db.outage_start().await;
    assert_unavailable(
        t.post_as("default", "introspect", &app, &[("token", access)])
            .await,
        "introspect",
    )
    .await;
    assert_unavailable(t.refresh("default", &app, refresh, None).await, "refresh").await;
    assert_unavailable(
        t.http
            .get(t.endpoint("default", "userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
        "userinfo",
    )
    .await;
    assert_unavailable(
        t.post_as("default", "revoke", &app, &[("token", refresh)])
            .await,
        "revoke",
    )
    .await;
    assert_eq!(
        t.http
            .get(format!("{}/readyz", t.base))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    db.outage_end().await;

    // Back, without a restart: the same tokens are still good.
    assert_eq!(t.introspect("default", &app, access).await["active"], true);
    let r = t.refresh("default", &app, refresh, None).await;
    assert_eq!(
        r.status(),
        200,
        "the refresh token was not spent by the failed attempt"
    );
}

/// The one backend of `database` waiting for a lock with a statement starting with
/// `query` (the test holds that lock), once there is one.
async fn waiting_backend(admin: &mut sqlx::PgConnection, database: &str, query: &str) -> i32 {
    for _ in 0..600 {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'
             AND query LIKE $2 || '%'",
        )
        .bind(database)
        .bind(query)
        .fetch_optional(&mut *admin)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no statement `{query}...` waited for the lock within 30 s");
}

/// Issue 16, item 9: a 503 does not spend the code. The database fails while the
/// redemption is under way: the test locks `refresh_families` (which the redemption
/// writes with the code, in one statement on PostgreSQL: `WITH redeemed AS (...)`)
/// and, once the exchange waits for it, ends that connection as a database restart
/// would. The exchange answers 503 with `Retry-After`; the retry it invites gets the
/// tokens (before: `invalid_grant`, "code replayed"), and they work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_exchange_that_fails_before_its_commit_leaves_the_code_for_the_retry() {
    use sqlx::{Connection, Executor};
    let t = TestApp::spawn_postgres().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("scope", "openid offline_access")],
    );
    let r = browser.get(&url).await;
    let r = browser
        .sign_in(&location(&r).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let code = param(&location(&r).unwrap(), "code").unwrap();

    let db = t.database.as_ref().unwrap();
    let mut lock = sqlx::PgConnection::connect(&db.url).await.unwrap();
    lock.execute("BEGIN").await.unwrap();
    lock.execute("LOCK TABLE refresh_families IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let exchange = {
        let (http, token, client_id, secret, code) = (
            t.http.clone(),
            t.endpoint("default", "token"),
            app.client_id.clone(),
            app.secret.clone(),
            code.clone(),
        );
        tokio::spawn(async move {
            http.post(token)
                .basic_auth(client_id, secret)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap()
        })
    };
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let pid = waiting_backend(&mut admin, &db.name, "WITH redeemed AS (").await;
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    assert_unavailable(
        exchange.await.unwrap(),
        "the exchange cut before its commit",
    )
    .await;
    lock.execute("ROLLBACK").await.unwrap();

    let r = t.redeem("default", &app, &code).await;
    assert_eq!(r.status(), 200, "the retry is answered");
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(t.introspect("default", &app, access).await["active"], true);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        t.refresh("default", &app, refresh, None).await.status(),
        200
    );
}

/// Issue 16, item 13: during an outage the JWKS and the discovery documents (which
/// grant nothing) are served from the last copy this process built, marked
/// `Gatehouse-Stale: true` with their `Age`; a document never built still answers 503,
/// and so does everything that grants access. Once the database is back they are
/// fresh again, unmarked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_and_discovery_are_served_stale_during_an_outage_and_nothing_that_grants() {
    let t = TestApp::spawn_postgres().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let documents = [
        format!("{}/oauth2/default/.well-known/openid-configuration", t.base),
        format!("{}/oauth2/default/v1/keys", t.base),
        format!("{}/.well-known/openid-configuration", t.base),
        format!("{}/oauth2/v1/keys", t.base),
    ];
    let mut before = Vec::new();
    for url in &documents {
        let r = t.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert!(r.headers().get("gatehouse-stale").is_none(), "{url}");
        before.push(r.text().await.unwrap());
    }

    let db = t.database.as_ref().unwrap();
    db.outage_start().await;
    // The next second: the in-memory copies are no longer fresh, so the documents are
    // built again, and fail.
    t.clock.advance(2);
    for (url, body) in documents.iter().zip(&before) {
        let r = t.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["gatehouse-stale"], "true", "{url}");
        let age: u64 = r.headers()["age"].to_str().unwrap().parse().unwrap();
        assert!(age < 3600, "{url}: age {age}");
        assert_eq!(r.headers()["content-type"], "application/json", "{url}");
        assert_eq!(&r.text().await.unwrap(), body, "{url}: the last good copy");
    }
    // A server whose documents this process never built: no copy to serve.
    let aus = format!("{}/oauth2/aus0nevershown/v1/keys", t.base);
    assert_unavailable(t.http.get(&aus).send().await.unwrap(), "keys never built").await;
    // Nothing that grants access is served from memory.
    assert_unavailable(
        t.post_as(
            "default",
            "token",
            &app,
            &[("grant_type", "client_credentials"), ("scope", "x")],
        )
        .await,
        "token",
    )
    .await;
    db.outage_end().await;

    t.clock.advance(2);
    for url in &documents {
        let mut fresh = None;
        // The pool reconnects within its acquire timeout.
        for _ in 0..100 {
            let r = t.http.get(url).send().await.unwrap();
            if r.headers().get("gatehouse-stale").is_none() {
                fresh = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(fresh.expect("fresh again").status(), 200, "{url}");
    }
}

/// Issue 16, item 11: `gatehouse serve` started while PostgreSQL does not answer (the
/// relay to it refuses connections) listens at once, says it is alive (`/healthz` 200)
/// and not ready (`/readyz` 503), answers 503 with `Retry-After` elsewhere, keeps trying
/// with backoff (logged, without the URL's password) and serves once the database
/// answers, with no restart (before: it exited 1 after the pool's acquire timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_while_the_database_is_down_waits_for_it_and_then_serves() {
    use crate::multi::cluster::spawn;
    use crate::multi::db_proxy::DbProxy;
    let database = TestDatabase::create().await;
    let proxy = DbProxy::start(&database.url);
    proxy.take_down();
    let mut url = url::Url::parse(&proxy.url).unwrap();
    url.set_password(Some("never-logged-pw")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = gatehouse::crypto::b64url(&gatehouse::crypto::random_bytes::<32>());
    let (node, listening) = spawn(&dir, 0, url.as_str(), &key, "http://127.0.0.1:9");
    let base = listening
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("it listens while it waits: {}", node.log()));
    let http = no_redirects();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    assert_unavailable(
        get("/oauth2/default/.well-known/openid-configuration")
            .await
            .unwrap(),
        "discovery before the database",
    )
    .await;

    proxy.bring_back();
    let mut ready = false;
    for _ in 0..600 {
        if get("/readyz").await.unwrap().status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "ready once the database answers: {}", node.log());
    let r = get("/oauth2/default/.well-known/openid-configuration")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = node.log();
    assert!(log.contains("the database is unavailable"), "{log}");
    assert!(!log.contains("never-logged-pw"), "{log}");
}

/// Issue 16, item 12: SIGTERM drains. A sign-in in flight (an Argon2id check, naturally
/// slow) is answered; new connections are refused once the signal arrived; a request
/// that never finishes (its body stalls) does not keep the process alive past the drain
/// period (`shutdown_drain_seconds`, 10 s by default): the process exits 0 (before: it
/// waited for that request without end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_requests_in_flight_refuses_new_ones_and_exits_after_the_drain() {
    use tokio::io::AsyncWriteExt;
    let mut c = crate::multi::cluster::Cluster::start(1).await;
    c.user("alice@example.com");
    let app = c.app(0);
    let base = c.nodes[0].base.clone();
    let addr = base.trim_start_matches("http://").to_string();
    let browser = Browser::at(&base);
    let r = browser
        .get(&crate::multi::rp::authorize_url(
            &base,
            &app.client_id,
            "openid",
            &[],
        ))
        .await;
    let login = location(&r).unwrap();
    let html = browser
        .get(&format!("{base}{login}"))
        .await
        .text()
        .await
        .unwrap();
    let form = [
        ("tx", input_value(&html, "tx").unwrap()),
        ("csrf", input_value(&html, "csrf").unwrap()),
        ("username", "alice@example.com".to_string()),
        ("password", PASSWORD.to_string()),
    ];

    // A request whose body never comes.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(
            b"POST /oauth2/default/v1/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type",
        )
        .await
        .unwrap();
    let url = format!("{base}/login");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signing_in = browser.post_form(&url, &form);
    let node = &c.nodes[0];
    let stop = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        node.terminate();
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(&addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    };
    let (r, refused) = tokio::join!(signing_in, stop);
    assert!(refused, "new connections are refused after SIGTERM");
    assert_eq!(r.status(), 303, "the sign-in in flight is answered");
    let to = location(&r).unwrap();
    assert!(param(&to, "code").is_some(), "{to}");

    let (status, log) = c.nodes[0]
        .exited(std::time::Duration::from_secs(60))
        .expect("the process exits once the drain period is over");
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("the drain period is over"), "{log}");
    drop(stalled);
}
