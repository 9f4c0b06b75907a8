//! Brute-force throttling: sign-ins per (username, address) and per address, client
//! authentication per (client_id, address); counters in the store, so shared by
//! instances on one PostgreSQL database.

use std::net::IpAddr;
use std::time::Instant;

use gatehouse::identity::throttle;
use gatehouse::store::{Expr, Op, Page, SqlValue};

use crate::support::*;

const WRONG: &str = "not the password";
const THROTTLED: &str = "Too many failed sign-in attempts.";

/// A browser whose connections come from `ip` (any 127.0.0.0/8 address reaches the
/// loopback listener on Linux).
fn browser_from(t: &TestApp, ip: [u8; 4]) -> Browser {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap();
    Browser {
        http,
        ..Browser::at(&t.base)
    }
}

/// The sign-in page's address for a fresh authorization request.
async fn login_page(t: &TestApp, browser: &Browser, app: &App) -> String {
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    location(&start).expect("to the sign-in page")
}

/// A browser whose requests reach the server through a trusted proxy (the loopback
/// peer) that says the client is `forwarded_for`.
fn browser_behind_proxy(t: &TestApp, forwarded_for: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    Browser {
        http,
        ..Browser::at(&t.base)
    }
}

async fn metrics(t: &TestApp) -> String {
    t.http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn blocked_events(t: &TestApp) -> usize {
    let filter = Expr::cond(
        "event_type",
        Op::Eq,
        SqlValue::Text("security.request.blocked".into()),
    );
    t.backend
        .store
        .query_events(&Page {
            filter: Some(filter),
            after: None,
            limit: 100,
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_throttle_that_username_from_that_address_without_hashing() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let login = login_page(&t, &browser, &app).await;

    let mut wrong_time = std::time::Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(
            browser
                .sign_in(&login, "Alice@Example.com", WRONG)
                .await
                .status(),
            401
        );
        wrong_time = started.elapsed();
    }
    // The right password is not even checked now.
    let computed = t.state.passwords.computed();
    let started = Instant::now();
    let r = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    let throttled_time = started.elapsed();
    assert_eq!(r.status(), 429);
    // The test clock runs with real time: a second may tick between the failure that
    // started the wait and this answer.
    assert!(["1", "2"].contains(&r.headers()["retry-after"].to_str().unwrap()));
    assert!(location(&r).is_none() && browser.cookie("gh_session").is_none());
    let known = r.text().await.unwrap();
    assert!(
        known.contains(THROTTLED) && (known.contains("2 seconds") || known.contains("1 second")),
        "{known}"
    );
    assert_eq!(
        t.state.passwords.computed(),
        computed,
        "no Argon2 work while throttled"
    );
    eprintln!("wrong password answered in {wrong_time:?}, throttled attempt in {throttled_time:?}");
    assert_eq!(
        blocked_events(&t).await,
        1,
        "security.request.blocked in the System Log"
    );
    for _ in 0..3 {
        assert_eq!(
            browser
                .sign_in(&login, "alice@example.com", WRONG)
                .await
                .status(),
            429
        );
    }
    assert_eq!(
        blocked_events(&t).await,
        1,
        "once per block, not per refused attempt"
    );
    assert!(
        metrics(&t)
            .await
            .contains("gatehouse_throttled_requests_total{kind=\"sign_in\"} 4"),
        "every refusal counted"
    );

    // An unknown username gets the same treatment and the same page.
    for _ in 0..5 {
        assert_eq!(
            browser
                .sign_in(&login, "mallory@example.com", WRONG)
                .await
                .status(),
            401
        );
    }
    let r = browser.sign_in(&login, "mallory@example.com", WRONG).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains(THROTTLED));

    // The owner, from another address, is not locked out.
    let elsewhere = browser_from(&t, [127, 0, 0, 2]);
    let other_login = login_page(&t, &elsewhere, &app).await;
    let ok = elsewhere
        .sign_in(&other_login, "alice@example.com", PASSWORD)
        .await;
    assert_eq!(ok.status(), 303, "another address signs in");
    assert!(param(&location(&ok).unwrap(), "code").is_some());

    // Each next failure doubles the wait; a success forgets them.
    t.clock.advance(2);
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", WRONG)
            .await
            .status(),
        401
    );
    let r = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(
        ["3", "4"].contains(&r.headers()["retry-after"].to_str().unwrap()),
        "the wait doubled"
    );
    t.clock.advance(4);
    let ok = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(ok.status(), 303);
    let key = throttle::user_key("alice@example.com", Some("127.0.0.1"));
    assert!(
        t.backend
            .store
            .throttle_state(&key)
            .await
            .unwrap()
            .is_none(),
        "reset by the success"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_spraying_from_one_address_is_throttled_across_usernames() {
    let t = TestApp::spawn_configured(|c| c.throttle.sign_in_ip_threshold = 4).await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let login = login_page(&t, &browser, &app).await;
    for name in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ] {
        assert_eq!(browser.sign_in(&login, name, WRONG).await.status(), 401);
    }
    let r = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(
        r.status(),
        429,
        "the address is throttled for every username"
    );
    assert!(r.text().await.unwrap().contains(THROTTLED));
    let elsewhere = browser_from(&t, [127, 0, 0, 3]);
    let other_login = login_page(&t, &elsewhere, &app).await;
    assert_eq!(
        elsewhere
            .sign_in(&other_login, "alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_sign_ins_do_not_count_against_a_shared_address() {
    let t = TestApp::spawn_configured(|c| c.throttle.sign_in_ip_threshold = 3).await;
    let app = t.web_app().await;
    for n in 0..5 {
        let login = format!("user{n}@example.com");
        t.user(&login).await;
        let browser = t.browser();
        let page = login_page(&t, &browser, &app).await;
        assert_eq!(
            browser.sign_in(&page, &login, PASSWORD).await.status(),
            303,
            "{login}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_postgres_share_the_counters() {
    let t = TestApp::spawn_postgres().await;
    let sibling = t.sibling().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let login = login_page(&t, &browser, &app).await;
    for _ in 0..5 {
        assert_eq!(
            browser
                .sign_in(&login, "alice@example.com", WRONG)
                .await
                .status(),
            401
        );
    }
    let other = Browser::at(&sibling.base);
    let start = other
        .get(&sibling.authorize_url("default", &app.client_id, &[]))
        .await;
    let r = other
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(r.status(), 429, "the other instance sees the failures");

    // Client authentication too.
    let service = t.service_app().await;
    let wrong = App {
        client_id: service.client_id.clone(),
        secret: Some("wrong".into()),
    };
    for _ in 0..10 {
        expect_error(
            t.client_credentials("default", &wrong, None).await,
            401,
            "invalid_client",
        )
        .await;
    }
    expect_error(
        sibling.client_credentials("default", &service, None).await,
        429,
        "invalid_client",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_client_authentication_is_throttled_with_429_and_retry_after() {
    let t = TestApp::spawn().await;
    t.scope("default", "reports", true).await;
    let service = t.service_app().await;
    let wrong = App {
        client_id: service.client_id.clone(),
        secret: Some("wrong".into()),
    };
    for _ in 0..10 {
        expect_error(
            t.client_credentials("default", &wrong, None).await,
            401,
            "invalid_client",
        )
        .await;
    }
    // Blocked before the secret is checked: the right one is refused too, at every
    // endpoint that authenticates clients.
    let headers = expect_error(
        t.client_credentials("default", &service, None).await,
        429,
        "invalid_client",
    )
    .await;
    assert!(
        ["1", "2"].contains(&headers["retry-after"].to_str().unwrap()),
        "a second may tick"
    );
    assert!(!headers.contains_key("www-authenticate"));
    expect_error(
        t.post_as("default", "introspect", &service, &[("token", "x")])
            .await,
        429,
        "invalid_client",
    )
    .await;
    expect_error(
        t.post_as("default", "revoke", &service, &[("token", "x")])
            .await,
        429,
        "invalid_client",
    )
    .await;
    expect_error(
        t.post_as("default", "par", &service, &[("response_type", "code")])
            .await,
        429,
        "invalid_client",
    )
    .await;
    assert_eq!(
        blocked_events(&t).await,
        1,
        "logged when the block started, not at each refusal"
    );
    assert!(
        metrics(&t)
            .await
            .contains("gatehouse_throttled_requests_total{kind=\"client_auth\"} 4"),
        "every refusal counted"
    );

    // Another address is not affected (the client_id is public; no one can lock the
    // real client out from elsewhere).
    let from_elsewhere = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 4]))
        .build()
        .unwrap();
    let r = from_elsewhere
        .post(t.endpoint("default", "token"))
        .basic_auth(&service.client_id, service.secret.as_ref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // After the wait, the right secret works and the failures are forgotten.
    t.clock.advance(2);
    assert_eq!(
        t.client_credentials("default", &service, None)
            .await
            .status(),
        200
    );
    let key = throttle::client_key(&service.client_id, Some("127.0.0.1"));
    assert!(
        t.backend
            .store
            .throttle_state(&key)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_password_changes_hash_on_the_bounded_pool() {
    let t = TestApp::spawn().await;
    let user = t.user("alice@example.com").await;
    let api = t.api().await;
    let before = t.state.passwords.computed();
    let (status, body) = api
        .post(&format!("/api/v1/users/{}", user.id), serde_json::json!({ "credentials": { "password": { "value": "a brand new passphrase" } } }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        t.state.passwords.computed(),
        before + 1,
        "the new password was hashed on the pool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_addresses_in_one_64_share_their_counters() {
    let t = TestApp::spawn_configured(|c| {
        c.trusted_proxies = vec![gatehouse::config::IpNet::parse("127.0.0.0/8").unwrap()];
        c.throttle.sign_in_ip_threshold = 8;
    })
    .await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    // A new address in the same /64 for every guess.
    for n in 1..=5 {
        let browser = browser_behind_proxy(&t, &format!("2001:db8:5:6::{n:x}"));
        let login = login_page(&t, &browser, &app).await;
        assert_eq!(
            browser
                .sign_in(&login, "alice@example.com", WRONG)
                .await
                .status(),
            401
        );
    }
    let browser = browser_behind_proxy(&t, "2001:db8:5:6:ffff:1:2:3");
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", PASSWORD)
            .await
            .status(),
        429,
        "same user, same /64"
    );
    // Spraying across usernames from the /64 reaches the address threshold (8).
    for n in 0..3 {
        let browser = browser_behind_proxy(&t, &format!("2001:db8:5:6:1::{n:x}"));
        let login = login_page(&t, &browser, &app).await;
        assert_eq!(
            browser
                .sign_in(&login, &format!("u{n}@example.com"), WRONG)
                .await
                .status(),
            401
        );
    }
    let browser = browser_behind_proxy(&t, "2001:db8:5:6:2::1");
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "nobody@example.com", WRONG)
            .await
            .status(),
        429,
        "the /64 is throttled"
    );
    // Another /64 is another address; an IPv4-mapped address is its IPv4 address.
    let browser = browser_behind_proxy(&t, "2001:db8:5:7::1");
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    for _ in 0..5 {
        let browser = browser_behind_proxy(&t, "::ffff:198.51.100.7");
        let login = login_page(&t, &browser, &app).await;
        assert_eq!(
            browser
                .sign_in(&login, "alice@example.com", WRONG)
                .await
                .status(),
            401
        );
    }
    let browser = browser_behind_proxy(&t, "198.51.100.7");
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", PASSWORD)
            .await
            .status(),
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_to_ones_own_account_does_not_pay_for_guesses_at_others() {
    let t = TestApp::spawn_configured(|c| c.throttle.sign_in_ip_threshold = 4).await;
    t.user("mallory@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    for victim in ["a@example.com", "b@example.com", "c@example.com"] {
        let login = login_page(&t, &browser, &app).await;
        assert_eq!(
            browser.sign_in(&login, victim, WRONG).await.status(),
            401,
            "{victim}"
        );
        // From the same address, a fresh browser each time (no session to reuse).
        let own = t.browser();
        let login = login_page(&t, &own, &app).await;
        assert_eq!(
            own.sign_in(&login, "mallory@example.com", PASSWORD)
                .await
                .status(),
            303
        );
    }
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "d@example.com", WRONG)
            .await
            .status(),
        401
    );
    assert_eq!(
        browser
            .sign_in(&login, "e@example.com", WRONG)
            .await
            .status(),
        429,
        "four failures from this address"
    );
    let key = throttle::ip_key(Some("127.0.0.1"));
    assert_eq!(
        t.backend
            .store
            .throttle_state(&key)
            .await
            .unwrap()
            .unwrap()
            .failures,
        4,
        "successes took nothing back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_refused_for_the_address_do_not_count_against_the_username() {
    let t = TestApp::spawn_configured(|c| c.throttle.sign_in_ip_threshold = 3).await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let login = login_page(&t, &browser, &app).await;
    for name in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(browser.sign_in(&login, name, WRONG).await.status(), 401);
    }
    for _ in 0..6 {
        assert_eq!(
            browser
                .sign_in(&login, "alice@example.com", WRONG)
                .await
                .status(),
            429
        );
    }
    let key = throttle::user_key("alice@example.com", Some("127.0.0.1"));
    assert!(
        t.backend
            .store
            .throttle_state(&key)
            .await
            .unwrap()
            .is_none(),
        "refused attempts were not counted"
    );
    // Once the address may try again, alice's own counter is untouched.
    t.clock.advance(2);
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_under_a_public_clients_id_do_not_block_its_users() {
    let t = TestApp::spawn().await;
    let spa = t.spa().await;
    let push = |form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.extend([
            ("response_type", "code".to_string()),
            ("scope", "openid".to_string()),
            ("redirect_uri", REDIRECT.to_string()),
            ("code_challenge", CHALLENGE.to_string()),
            ("code_challenge_method", "S256".to_string()),
        ]);
        t.http.post(t.endpoint("default", "par")).form(&form).send()
    };
    let guess = || {
        push(vec![
            ("client_id", spa.client_id.clone()),
            ("client_secret", "x".into()),
        ])
    };
    for _ in 0..10 {
        expect_error(guess().await.unwrap(), 401, "invalid_client").await;
    }
    expect_error(guess().await.unwrap(), 429, "invalid_client").await;
    // The app's users, behind the same address, push as the public client they are.
    let r = push(vec![("client_id", spa.client_id.clone())])
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        201,
        "a public client presenting no secret is not throttled"
    );

    // An unknown client_id is counted and throttled as any other.
    for _ in 0..10 {
        expect_error(
            push(vec![("client_id", "0oaNOBODY".into())]).await.unwrap(),
            401,
            "invalid_client",
        )
        .await;
    }
    expect_error(
        push(vec![("client_id", "0oaNOBODY".into())]).await.unwrap(),
        429,
        "invalid_client",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parallel_sign_ins_of_one_user_from_one_address_are_not_throttled() {
    // A CI suite signing its one test user in from many workers at once: only failures
    // count, so twelve correct sign-ins in flight together (threshold 5) all succeed.
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let mut pages = Vec::new();
    for _ in 0..12 {
        let browser = t.browser();
        let login = login_page(&t, &browser, &app).await;
        pages.push((browser, login));
    }
    let answers = all_at_once(
        pages
            .into_iter()
            .map(|(browser, login)| (browser, login, PASSWORD)),
    )
    .await;
    assert!(answers.iter().all(|&s| s == 303), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_password_in_a_burst_of_guesses_is_answered_as_throttled_once_they_blocked() {
    // Five wrong guesses and the right one in flight together: whatever the order, the
    // right one either signs in before the block or is answered exactly like a
    // throttled attempt; a guess that finds the block is never a plain 401 after it.
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let mut pages = Vec::new();
    for i in 0..12 {
        let browser = t.browser();
        let login = login_page(&t, &browser, &app).await;
        pages.push((browser, login, if i == 11 { PASSWORD } else { WRONG }));
    }
    let answers = all_at_once(pages.into_iter()).await;
    let wrong = &answers[..11];
    assert!(wrong.iter().all(|&s| s == 401 || s == 429), "{answers:?}");
    assert!(answers[11] == 303 || answers[11] == 429, "{answers:?}");
    if answers[11] == 429 {
        assert!(
            wrong.iter().filter(|&&s| s == 401).count() <= 5,
            "at most the threshold learn 'wrong': {answers:?}"
        );
    }
    // Afterwards the username is blocked from this address, the right password too.
    let browser = t.browser();
    let login = login_page(&t, &browser, &app).await;
    assert_eq!(
        browser
            .sign_in(&login, "alice@example.com", PASSWORD)
            .await
            .status(),
        429
    );
}

/// Signs alice in from every (browser, sign-in page, password) at once; the statuses in order.
async fn all_at_once(attempts: impl Iterator<Item = (Browser, String, &'static str)>) -> Vec<u16> {
    let tasks: Vec<_> = attempts
        .map(|(browser, login, password)| {
            tokio::spawn(async move {
                browser
                    .sign_in(&login, "alice@example.com", password)
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}
