//! /login: login CSRF, session fixation, user enumeration (by answer and by time), and
//! markup in what the page reflects.

use std::time::Instant;

use crate::support::*;

async fn login_location(
    t: &TestApp,
    browser: &Browser,
    app: &App,
    extra: &[(&str, &str)],
) -> String {
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, extra))
        .await;
    location(&start).expect("to the sign-in page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_without_the_csrf_pair_is_refused() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let victim = t.browser();
    let login = login_location(&t, &victim, &app, &[]).await;
    let html = victim.get(&login).await.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let creds = [("username", "alice@example.com"), ("password", PASSWORD)];
    let attempts = [
        ("no csrf field", vec![("tx", tx.as_str())]),
        (
            "the right token but no cookie (a cross-site post)",
            vec![("tx", &tx), ("csrf", &csrf)],
        ),
        ("empty token", vec![("tx", &tx), ("csrf", "")]),
    ];
    for (what, mut form) in attempts {
        let browser = t.browser();
        form.extend(creds);
        let r = browser.post_form("/login", &form).await;
        assert_eq!(r.status(), 403, "{what}");
        assert!(
            location(&r).is_none() && browser.cookie("gh_session").is_none(),
            "{what}"
        );
    }
    // The victim's cookie with another token, and with no token.
    for token in ["forged", ""] {
        let r = victim
            .post_form(
                "/login",
                &[
                    ("tx", &tx),
                    ("csrf", token),
                    ("username", "alice@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{token:?}");
    }
    assert!(victim.cookie("gh_session").is_none());
    // The real form still works.
    let r = victim
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_session_id_is_never_adopted() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    // The attacker's chosen id, set in the victim's browser (e.g. through a sibling
    // subdomain) before the victim signs in.
    let planted = "attacker-chosen-session-id-0123456789abcdef";
    let victim = t.browser();
    victim
        .cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), planted.into());
    let login = login_location(&t, &victim, &app, &[]).await;
    let r = victim.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let issued = victim.cookie("gh_session").unwrap();
    assert_ne!(issued, planted, "a new id at sign-in");
    // The planted id signs nobody in.
    let attacker = t.browser();
    attacker
        .cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), planted.into());
    let r = attacker
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("login_required")
    );
    // A session the attacker really had (their own sign-in) is replaced too when the
    // victim signs in with it in their browser.
    t.user("mallory@example.com").await;
    let shared = t.browser();
    t.code(&shared, "default", &app, "mallory@example.com")
        .await;
    let mallorys = shared.cookie("gh_session").unwrap();
    let login = login_location(&t, &shared, &app, &[("prompt", "login")]).await;
    shared.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_ne!(shared.cookie("gh_session").unwrap(), mallorys);
    let old = t.browser();
    old.cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), mallorys);
    let r = old
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("login_required"),
        "the old session ended"
    );
}

/// The page's answer with the volatile parts (the echoed username) taken out.
fn normalised(html: &str, username: &str) -> String {
    html.replace(username, "USERNAME")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_look_and_take_the_same() {
    // Eighteen failures from one address: above the brute-force thresholds, which
    // `throttle` tests; here the unthrottled answers are compared.
    let t = TestApp::spawn_configured(|c| {
        c.throttle.sign_in_threshold = 1000;
        c.throttle.sign_in_ip_threshold = 1000;
    })
    .await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let login = login_location(&t, &browser, &app, &[]).await;
    let html = browser.get(&login).await.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let attempt = |username: &'static str| {
        let (tx, csrf, browser) = (tx.clone(), csrf.clone(), &browser);
        async move {
            let started = Instant::now();
            let r = browser
                .post_form(
                    "/login",
                    &[
                        ("tx", &tx),
                        ("csrf", &csrf),
                        ("username", username),
                        ("password", "wrong password!"),
                    ],
                )
                .await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            (status, normalised(&body, username), started.elapsed())
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let (mut known_page, mut unknown_page) = (String::new(), String::new());
    // Alternate, so that any drift in the machine's load falls on both alike.
    for _ in 0..9 {
        let (s1, b1, d1) = attempt("alice@example.com").await;
        let (s2, b2, d2) = attempt("nobody@example.com").await;
        assert_eq!((s1, s2), (401, 401));
        known.push(d1);
        unknown.push(d2);
        (known_page, unknown_page) = (b1, b2);
    }
    assert_eq!(known_page, unknown_page, "the same page for both");
    known.sort();
    unknown.sort();
    let (k, u) = (
        known[known.len() / 2].as_secs_f64(),
        unknown[unknown.len() / 2].as_secs_f64(),
    );
    eprintln!("sign-in failure medians: wrong password {k:.4}s, unknown user {u:.4}s");
    assert!(
        k < 3.0 * u && u < 3.0 * k,
        "the unknown user pays a password hash too: {k} vs {u}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_login_hint_and_username_is_escaped() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let xss = "\"><script>alert(1)</script>";
    let browser = t.browser();
    let login = login_location(&t, &browser, &app, &[("login_hint", xss)]).await;
    let page = browser.get(&login).await;
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>alert") && !html.contains("\"><"),
        "{html}"
    );
    assert_eq!(
        input_value(&html, "username").map(|v| v.contains("&lt;script&gt;") || v.contains("&#60;")),
        Some(true),
        "{html}"
    );
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let r = browser
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", xss),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("<script>alert") && !html.contains("\"><"),
        "{html}"
    );
    // A tx that is markup: the expired page, nothing reflected.
    let r = browser.get(&format!("/login?tx={}", urlencode(xss))).await;
    assert_eq!(r.status(), 400);
    assert!(!r.text().await.unwrap().contains("<script>alert"));
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
