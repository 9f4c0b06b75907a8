//! /token (RFC 6749 §3.2, §5.2): repeated, oversized, numerous and malformed
//! parameters are `invalid_request` (or 413 where the HTTP layer refuses the body),
//! answered fast and without growing the server's memory; a code is redeemed only
//! with the exact redirect URI it was issued for.

use std::time::{Duration, Instant};

use crate::support::*;

/// The resident set of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_parameters_are_invalid_request() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    for name in ["grant_type", "code", "redirect_uri", "code_verifier"] {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let again = form.iter().find(|(k, _)| *k == name).unwrap().1;
        form.push((name, again));
        expect_error(
            t.exchange("default", &app, &form).await,
            400,
            "invalid_request",
        )
        .await;
    }
    // client_id twice (body), and client_id in the body besides Basic: one client only.
    let spa = t.spa().await;
    let r = t
        .http
        .post(t.endpoint("default", "token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &spa.client_id),
            ("client_id", &spa.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The code survived the refusals (none of them spent it).
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_scope_and_ten_thousand_parameters_are_refused_fast_with_memory_flat() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    t.scope("default", "api", true).await;
    let url = t.endpoint("default", "token");
    let huge = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(1 << 20)
    );
    let many = format!(
        "grant_type=client_credentials&{}",
        "scope=a&".repeat(10_000)
    );
    let send = |body: String| {
        // A connection each: the server may answer before reading a too-large body.
        no_redirects()
            .post(&url)
            .basic_auth(&app.client_id, app.secret.as_ref())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Warm up, then measure.
    let r = send(huge.clone()).await.unwrap();
    assert!(matches!(r.status().as_u16(), 400 | 413), "{}", r.status());
    let before = rss_kib();
    let started = Instant::now();
    const ROUNDS: usize = 100;
    for _ in 0..ROUNDS {
        let r = send(huge.clone()).await.unwrap();
        let status = r.status().as_u16();
        assert!(status == 413 || status == 400, "1 MB scope: {status}");
        if status == 400 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request");
        }
        expect_error(send(many.clone()).await.unwrap(), 400, "invalid_request").await;
    }
    let elapsed = started.elapsed();
    let grown = rss_kib().saturating_sub(before);
    eprintln!(
        "{} hostile token requests ({ROUNDS} x 1 MB scope, {ROUNDS} x 10,000 parameters): {elapsed:?}, RSS grew {grown} KiB",
        2 * ROUNDS
    );
    assert!(grown < 64 * 1024, "memory grew {grown} KiB");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // Still serving.
    assert_eq!(
        t.client_credentials("default", &app, None).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_invalid_request_never_a_500() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    let url = t.endpoint("default", "token");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=%FF%FE".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=a%00b".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=%".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials\xff".to_vec(),
        ),
        ("application/x-www-form-urlencoded", b"=&=&&&=".to_vec()),
        ("text/plain", b"grant_type=client_credentials".to_vec()),
    ];
    for (content_type, body) in cases {
        let r = t
            .http
            .post(&url)
            .basic_auth(&app.client_id, app.secret.as_ref())
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            status == 400 || status == 401,
            "{content_type} {:?}: {status}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(r.headers()["cache-control"], "no-store");
        let json: serde_json::Value = r.json().await.unwrap();
        assert!(json["error"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_code_is_redeemed_only_with_its_own_port() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t
        .create_app(gatehouse::admin::apps::NewApp {
            name: "CLI".into(),
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            auth_method: Some("none".into()),
            application_type: Some("native".into()),
            ..Default::default()
        })
        .await;
    let used = "http://127.0.0.1:49152/callback";
    let code = || async {
        let browser = t.browser();
        let start = browser
            .get(&t.authorize_url("default", &app.client_id, &[("redirect_uri", used)]))
            .await;
        let back = browser
            .sign_in(
                &location(&start).expect("to sign-in"),
                "alice@example.com",
                PASSWORD,
            )
            .await;
        let loc = location(&back).unwrap();
        assert!(loc.starts_with(&format!("{used}?")), "{loc}");
        param(&loc, "code").unwrap()
    };
    // A code is spent by its first redemption, right or wrong: one code per attempt.
    for other in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:49153/callback",
        "http://[::1]:49152/callback",
    ] {
        let code = code().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", other),
            ("code_verifier", VERIFIER),
        ];
        expect_error(
            t.exchange("default", &app, &form).await,
            400,
            "invalid_grant",
        )
        .await;
    }
    let code = code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", used),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(t.exchange("default", &app, &form).await.status(), 200);
}
