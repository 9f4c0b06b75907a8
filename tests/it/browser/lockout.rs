//! The password policy's lockout as a person and an admin see it in Chromium: the
//! sign-in page saying the account is locked (with `showLockoutFailures`), checked for
//! CSP violations, axe-core findings and a 390 px viewport; and the admin console's
//! Unlock button on the locked user's page.

use super::*;
use crate::support::location;

/// Lockout after `max` wrong passwords, shown on the sign-in page.
async fn lock_after(t: &TestApp, max: i64) {
    let store = &t.backend.store;
    let mut policy = store.password_policy().await.unwrap();
    policy.max_attempts = max;
    policy.show_lockout_failures = true;
    assert!(store.update_password_policy(&policy).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_says_the_account_is_locked() {
    let s = Setup::new().await;
    lock_after(&s.t, 2).await;
    s.chrome.open(&s.authorize(&[])).await;
    s.sign_in("not the password").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    assert!(
        s.chrome
            .text("main")
            .await
            .contains("the username or password is not right")
    );
    // The second wrong password locks; then the right one is refused with the reason.
    s.sign_in("not the password either").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    let text = s.chrome.text("main").await;
    assert!(text.contains("Your account is locked"), "{text}");
    s.chrome.check_page("sign-in-locked").await;
}

/// Waits until `css` holds `text`.
async fn wait_for_text(chrome: &Chromium, css: &str, text: &str) {
    let started = std::time::Instant::now();
    loop {
        if chrome.exists(css).await && chrome.text(css).await.contains(text) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{css} never showed {text:?} at {}",
            chrome.url().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_unlocks_a_locked_user_in_the_console() {
    let s = Setup::new().await;
    let api = s.t.api().await;
    // The admin is the setup's user, made a super admin the way an operator does.
    let (ok, out, err) = crate::cli::gatehouse(
        &s.t,
        &["admins", "grant", "--user", LOGIN, "--role", "super"],
        None,
    );
    assert!(ok, "admins grant: {out}{err}");
    let bob = s.t.user("bob@example.com").await;
    lock_after(&s.t, 1).await;
    let browser = s.t.browser();
    let app = s.t.web_app().await;
    let start = browser
        .get(&s.t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&start).unwrap();
    browser.sign_in(&login, "bob@example.com", "wrong").await;
    let (_, locked) = api.get(&format!("/api/v1/users/{}", bob.id)).await;
    assert_eq!(locked["status"], "LOCKED_OUT", "{locked}");

    s.chrome.open(&format!("{}/admin/", s.t.base)).await;
    s.chrome.click(".signin button").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&format!("{}/admin/", s.t.base)).await;
    s.chrome
        .open(&format!("{}/admin/users/{}", s.t.base, bob.id))
        .await;
    wait_for_text(&s.chrome, ".page-head .badge", "LOCKED_OUT").await;
    s.chrome.check_page("user-locked").await;
    s.chrome
        .script(
            "[...document.querySelectorAll('.toolbar button')].find(b => b.textContent === 'Unlock').click()",
            serde_json::json!([]),
        )
        .await;
    wait_for_text(&s.chrome, ".page-head .badge", "ACTIVE").await;
    let (_, unlocked) = api.get(&format!("/api/v1/users/{}", bob.id)).await;
    assert_eq!(unlocked["status"], "ACTIVE");
}
