//! `/account` in Chromium, the whole story: a person signs in to the page through
//! Gatehouse's own sign-in, edits the profile, is refused a password change with a
//! wrong current password, changes it, comes back after the sign-in went stale and
//! signs in again for a sensitive change, and signs out everywhere else, which ends
//! another browser's session. Every state is audited (CSP, axe-core light and dark,
//! 390 px); with `GATEHOUSE_SCREENSHOTS=docs/screenshots` it saves the page's
//! screenshots.

use super::*;

const NEW_PASSWORD: &str = "a much better passphrase";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_manages_their_account() {
    let s = Setup::new().await;
    let base = s.t.base.clone();
    let account = format!("{base}/account");

    // Signing in to the page is Gatehouse's own sign-in, for the account app.
    s.chrome.open(&account).await;
    s.chrome.wait_for_url(&format!("{base}/login?")).await;
    assert!(s.chrome.text("main").await.contains("Gatehouse Account"));
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&account).await;
    assert!(
        s.chrome
            .text("#account-name")
            .await
            .contains("Alice Liddell")
    );
    assert!(
        s.chrome
            .text("#session-list")
            .await
            .contains("(This device)")
    );
    assert!(s.chrome.text("#activity-list").await.contains("Signed in"));
    assert!(s.chrome.exists("#manage-passkeys").await);
    s.chrome.check_page("account").await;

    // The profile.
    s.chrome.fill("#first_name", "Alicia").await;
    s.chrome.fill("#mobile_phone", "+44 20 7946 0000").await;
    s.chrome.click("#save-profile").await;
    s.chrome
        .wait_for_url(&format!("{account}?done=profile"))
        .await;
    assert!(s.chrome.text("#notice").await.contains("profile was saved"));
    assert!(s.chrome.text("#account-name").await.contains("Alicia"));

    // A wrong current password is refused in its section.
    s.chrome.fill("#current_password", "not my password").await;
    s.chrome.fill("#new_password", NEW_PASSWORD).await;
    s.chrome.fill("#confirm_password", NEW_PASSWORD).await;
    s.chrome.click("#change-password").await;
    s.chrome.wait_for_url(&format!("{account}/password")).await;
    assert!(
        s.chrome
            .text("#password-error")
            .await
            .contains("current password is not right")
    );
    s.chrome.assert_no_csp_violations().await;

    // The right one: changed, and this browser stays signed in.
    s.chrome.fill("#current_password", PASSWORD).await;
    s.chrome.fill("#new_password", NEW_PASSWORD).await;
    s.chrome.fill("#confirm_password", NEW_PASSWORD).await;
    s.chrome.click("#change-password").await;
    s.chrome
        .wait_for_url(&format!("{account}?done=password"))
        .await;
    assert!(
        s.chrome
            .text("#notice")
            .await
            .contains("password was changed")
    );

    // Another browser (an HTTP client that keeps cookies) signs in to the app with the
    // new password.
    let other = s.t.browser_with(&[("user-agent", IPHONE)]);
    let asked = other.get(&s.authorize(&[])).await;
    let login = crate::support::location(&asked).unwrap();
    let signed_in = other.sign_in(&login, LOGIN, NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "to the app");
    assert!(home(&other).await.contains("id=\"signed-in-name\""));

    // Sixteen minutes on, the sign-in is no longer recent: the page asks for the
    // password again before a sensitive change, and comes back to it.
    s.t.clock.advance(16 * 60);
    s.chrome.open(&account).await;
    assert!(s.chrome.exists("#sign-in-again").await);
    s.chrome.click("#sign-in-again-link").await;
    s.chrome.wait_for_url(&format!("{base}/login?")).await;
    s.sign_in(NEW_PASSWORD).await;
    s.chrome.wait_for_url(&account).await;
    assert!(!s.chrome.exists("#sign-in-again").await);

    // Two sessions, told apart by device: this one (headless Chromium on Linux) is
    // "This device", the other browser's is Safari on an iPhone, from the loopback.
    let rows = s.chrome.text("#session-list tbody").await;
    let lines: Vec<&str> = rows.lines().filter(|l| !l.trim().is_empty()).collect();
    let this = rows
        .split('\n')
        .find(|l| l.contains("(This device)"))
        .unwrap_or_else(|| panic!("this device is listed: {lines:?}"));
    assert!(
        this.contains("Chrome") && this.contains("on Linux"),
        "{this}"
    );
    let iphone = rows
        .split('\n')
        .find(|l| l.contains("Safari on iPhone"))
        .unwrap_or_else(|| panic!("the iPhone is listed: {lines:?}"));
    assert!(!iphone.contains("This device"), "{iphone}");
    assert!(iphone.contains("127.0.0.1"), "{iphone}");
    assert_eq!(rows.matches("(This device)").count(), 1, "{rows}");
    s.chrome.check_page("account-sessions").await;

    // "Sign out" on the iPhone's row ends that session only.
    s.chrome
        .click("#session-list button[aria-label^='Sign out Safari on iPhone']")
        .await;
    s.chrome
        .wait_for_url(&format!("{account}?done=session"))
        .await;
    assert!(
        s.chrome
            .text("#notice")
            .await
            .contains("That session was signed out")
    );
    assert!(!s.chrome.text("#session-list").await.contains("iPhone"));
    assert!(home(&other).await.contains("id=\"not-signed-in\""));
    s.chrome.assert_no_csp_violations().await;
    // It signs in again, for "sign out everywhere" below.
    let asked = other.get(&s.authorize(&[])).await;
    let login = crate::support::location(&asked).unwrap();
    let signed_in = other.sign_in(&login, LOGIN, NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "to the app");
    assert!(home(&other).await.contains("id=\"signed-in-name\""));

    // Sign out everywhere else: the other browser's session ends, this one stays.
    s.chrome.click("#sign-out-everywhere").await;
    s.chrome
        .wait_for_url(&format!("{account}?done=sessions"))
        .await;
    assert!(
        s.chrome
            .text("#notice")
            .await
            .contains("signed out everywhere else")
    );
    assert!(
        home(&other).await.contains("id=\"not-signed-in\""),
        "the other browser is signed out"
    );
    s.chrome.open(&format!("{base}/")).await;
    assert!(s.chrome.exists("#signed-in-name").await);

    // Sign out, from the page.
    s.chrome.open(&account).await;
    s.chrome.click("#sign-out").await;
    s.chrome.wait_for_url(&s.t.endpoint("org", "logout")).await;
    s.chrome.open(&account).await;
    s.chrome.wait_for_url(&format!("{base}/login?")).await;
    s.chrome.assert_no_csp_violations().await;
}

/// The home page's HTML as `browser` sees it (it says who is signed in).
async fn home(browser: &crate::support::Browser) -> String {
    browser.get("/").await.text().await.unwrap()
}
