//! The admin console (issue 17) in Chromium: the shell at every `/admin` path with the
//! strict CSP, the sign-in screen, and the console's refusal of anything a cross-site
//! page could send (the API takes a Bearer token, never a cookie).

use super::*;

/// Every console path answers the shell with the pages' strict CSP (plus
/// `connect-src 'self'` for the script's requests) and no framing; every page module
/// that `pages/index.js` imports is served, as JavaScript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_path_answers_the_shell_with_the_strict_csp() {
    let t = TestApp::spawn().await;
    for path in [
        "/admin",
        "/admin/",
        "/admin/users/00u1234",
        "/admin/log?filter=x",
        "/admin/callback?code=a&state=b",
    ] {
        let res = t
            .http
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp} lacks {part}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let body = res.text().await.unwrap();
        assert!(body.contains(r#"src="/admin/assets/console.js""#), "{path}");
        assert!(
            body.contains(&format!(r#"data-base="{}""#, t.base)),
            "{path}"
        );
        assert!(!body.contains("<script>"), "no inline script: {path}");
        assert!(!body.contains("style="), "no inline style: {path}");
    }

    let index = t
        .http
        .get(format!("{}/admin/assets/pages/index.js", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    let modules: Vec<&str> = index
        .lines()
        .filter_map(|l| l.strip_prefix("import ")?.split('\'').nth(1))
        .collect();
    assert!(modules.len() >= 6, "{modules:?}");
    for module in modules
        .iter()
        .map(|m| format!("pages/{}", m.trim_start_matches("./")))
        .chain(["console.js", "kit.js", "chart.js", "console.css"].map(String::from))
    {
        let res = t
            .http
            .get(format!("{}/admin/assets/{module}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{module}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        let want = if module.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(want), "{module}: {kind}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
    for missing in ["nope.js", "pages/nope.js", "pages", "console.js.map"] {
        let res = t
            .http
            .get(format!("{}/admin/assets/{missing}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
}

/// Without a token the console shows its sign-in screen, on any deep link, and it
/// passes the audit (no CSP violation, axe-core, 390 px) in light and dark mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_screen_is_accessible_on_any_deep_link() {
    let t = TestApp::spawn().await;
    let chrome = Chromium::start().await;
    chrome.open(&format!("{}/admin/users", t.base)).await;
    assert_eq!(
        chrome.text(".signin button").await.trim(),
        "Sign in with Gatehouse"
    );
    chrome.check_page("sign-in").await;
}

/// A cross-site page that posts a form to the management API gets Okta's 401: the API
/// reads no cookie, and a form cannot send the Bearer token the console keeps in its
/// own tab's sessionStorage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_post_to_the_api_is_refused() {
    let s = Setup::new().await;
    // The browser has a Gatehouse session cookie.
    s.signed_in().await;
    s.chrome.open(&s.rp.base).await;
    s.chrome
        .script(
            "const f = document.createElement('form'); f.method = 'POST'; f.action = arguments[0];\
             f.enctype = 'text/plain'; const i = document.createElement('input');\
             i.name = '{\"profile\":{\"login\":\"mallory@example.com\",\"x\":\"'; i.value = '\"}}';\
             f.append(i); document.body.append(f); f.submit();",
            serde_json::json!([format!("{}/api/v1/users", s.t.base)]),
        )
        .await;
    s.chrome
        .wait_for_url(&format!("{}/api/v1/users", s.t.base))
        .await;
    let answer = s.chrome.text("body").await;
    assert!(answer.contains("E0000011"), "{answer}");
    let api = s.t.api().await;
    let (_, found) = api
        .get("/api/v1/users?search=profile.login%20eq%20%22mallory%40example.com%22")
        .await;
    assert_eq!(found, serde_json::json!([]), "nothing was created");
}

/// Grants `login` an admin role with the command line, as the first admin is made.
fn grant(t: &TestApp, login: &str, role: &str) {
    let (ok, out, err) = crate::cli::gatehouse(
        t,
        &["admins", "grant", "--user", login, "--role", role],
        None,
    );
    assert!(ok, "admins grant: {out}{err}");
}

/// The text of the focused element.
async fn focused_text(chrome: &Chromium) -> String {
    chrome
        .script(
            "const e = document.activeElement; return e ? (e.textContent || e.value || e.name || '').trim() : ''",
            serde_json::json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Presses Tab until the focused element's text is `text` (at most 40 times).
async fn tab_to(chrome: &Chromium, text: &str) {
    for _ in 0..40 {
        if focused_text(chrome).await == text {
            return;
        }
        chrome.keys(&Key::TAB.to_string()).await;
    }
    panic!("Tab never reached {text:?}");
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

/// Signs in to the console from its sign-in screen through the real authorize page.
async fn console_sign_in(s: &Setup) {
    s.chrome.open(&format!("{}/admin/", s.t.base)).await;
    s.chrome.click(".signin button").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&format!("{}/admin/", s.t.base)).await;
}

/// Issue 17's walk through the console: a super admin (granted by the command line)
/// signs in through /oauth2/v1/authorize, lands on the dashboard, goes to Groups and
/// creates one with the keyboard only, creates a user, finds it by search, suspends it,
/// adds it to the group, sees sessions, reads the System Log and opens an event; a deep
/// link survives a reload; signing out ends the console's session. Every page is
/// audited (CSP, axe-core light and dark, 390 px); with `GATEHOUSE_SCREENSHOTS=docs/console`
/// this test also makes the console's screenshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_and_manages_users_groups_and_the_log() {
    let s = Setup::new().await;
    grant(&s.t, LOGIN, "super");
    let api = s.t.api().await;
    let base = s.t.base.clone();
    console_sign_in(&s).await;
    wait_for_text(&s.chrome, "h1", "Dashboard").await;
    wait_for_text(&s.chrome, ".who-name", "Alice").await;
    assert!(s.chrome.exists(".stats .stat").await);
    assert!(s.chrome.exists("svg.chart").await);
    s.chrome.check_page("dashboard").await;

    // At 390 px the navigation folds behind a Menu button.
    s.chrome.viewport(390, 844, true).await;
    let shown = "return document.querySelector('#nav-list a').getClientRects().length > 0";
    assert_eq!(s.chrome.script(shown, serde_json::json!([])).await, false);
    s.chrome.click(".nav-toggle").await;
    assert_eq!(s.chrome.script(shown, serde_json::json!([])).await, true);
    s.chrome
        .cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;

    // Keyboard only: through the navigation to Groups, then the create form.
    s.chrome
        .script(
            "document.activeElement.blur(); window.scrollTo(0, 0);",
            serde_json::json!([]),
        )
        .await;
    tab_to(&s.chrome, "Groups").await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    s.chrome.wait_for_url(&format!("{base}/admin/groups")).await;
    wait_for_text(&s.chrome, "h1", "Groups").await;
    wait_for_text(&s.chrome, "tbody", "Everyone").await;
    s.chrome.check_page("groups").await;
    tab_to(&s.chrome, "Add group").await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    assert_eq!(
        focused_text(&s.chrome).await,
        "name",
        "the name field has focus"
    );
    s.chrome
        .keys(&format!(
            "Engineering{}The builders{}",
            Key::TAB,
            Key::ENTER
        ))
        .await;
    let group_url = s
        .chrome
        .wait_for_url(&format!("{base}/admin/groups/00g"))
        .await;
    wait_for_text(&s.chrome, "h1", "Engineering").await;
    wait_for_text(&s.chrome, "tbody", "No members").await;
    s.chrome.check_page("group").await;

    // Create a user, with a password, active.
    s.chrome.open(&format!("{base}/admin/users")).await;
    wait_for_text(&s.chrome, "tbody", LOGIN).await;
    s.chrome.click(".page-head .btn-primary").await;
    s.chrome.fill("input[name=firstName]", "Bob").await;
    s.chrome.fill("input[name=lastName]", "Builder").await;
    s.chrome.fill("input[name=login]", "bob@example.com").await;
    s.chrome
        .fill("input[name=password]", "correct horse battery 9")
        .await;
    s.chrome.click("form button[type=submit]").await;
    let bob_url = s
        .chrome
        .wait_for_url(&format!("{base}/admin/users/00u"))
        .await;
    let bob = bob_url.rsplit('/').next().unwrap().to_string();
    wait_for_text(&s.chrome, "h1", "Bob Builder").await;
    let (_, made) = api.get(&format!("/api/v1/users/{bob}")).await;
    assert_eq!(made["status"], "ACTIVE", "{made}");

    // Find it by search.
    s.chrome.open(&format!("{base}/admin/users")).await;
    wait_for_text(&s.chrome, "tbody", LOGIN).await;
    s.chrome.fill("input[type=search]", "bui").await;
    s.chrome.click(".search button").await;
    wait_for_text(&s.chrome, ".table-status", "1 shown").await;
    assert!(s.chrome.text("tbody").await.contains("bob@example.com"));
    s.chrome.check_page("users").await;

    // Suspend it, after the confirmation.
    s.chrome.click("tbody a").await;
    s.chrome.wait_for_url(&bob_url).await;
    wait_for_text(&s.chrome, ".toolbar", "Suspend").await;
    s.chrome.click(".toolbar button").await;
    wait_for_text(&s.chrome, "dialog", "Suspend bob@example.com?").await;
    s.chrome.click("dialog .btn-danger").await;
    wait_for_text(&s.chrome, ".page-head .badge", "SUSPENDED").await;
    let (_, suspended) = api.get(&format!("/api/v1/users/{bob}")).await;
    assert_eq!(suspended["status"], "SUSPENDED");

    // Add it to the group.
    let group = group_url.rsplit('/').next().unwrap().to_string();
    wait_for_text(&s.chrome, "main", "Add to group").await;
    s.chrome
        .script(
            "[...document.querySelectorAll('button')].find(b => b.textContent === 'Add to group').click()",
            serde_json::json!([]),
        )
        .await;
    s.chrome.click("select[name=group]").await;
    s.chrome
        .script(
            "document.querySelector('select[name=group]').form.requestSubmit()",
            serde_json::json!([]),
        )
        .await;
    wait_for_text(&s.chrome, "#toasts", "Added to Engineering").await;
    let (_, members) = api.get(&format!("/api/v1/groups/{group}/users")).await;
    assert_eq!(members[0]["id"], bob.as_str(), "{members}");
    s.chrome.check_page("user").await;

    // Sessions: Alice's own (she is signed in).
    let (_, alice) = api.get(&format!("/api/v1/users/{LOGIN}")).await;
    s.chrome
        .open(&format!(
            "{base}/admin/users/{}",
            alice["id"].as_str().unwrap()
        ))
        .await;
    wait_for_text(&s.chrome, "button[aria-label^='End the session']", "End").await;
    // Which browser and address it was started from (headless Chromium on Linux).
    wait_for_text(&s.chrome, "main", " on Linux").await;
    assert!(s.chrome.text("main").await.contains("127.0.0.1"));
    s.chrome.check_page("user-sessions").await;

    // The System Log, and one event's detail.
    s.chrome.open(&format!("{base}/admin/log")).await;
    wait_for_text(&s.chrome, "tbody", "user.lifecycle.suspend").await;
    s.chrome.check_page("log").await;
    s.chrome.click("tbody button").await;
    wait_for_text(&s.chrome, "dialog", "The event as the API answers it").await;
    s.chrome.check_page("log-event").await;
    s.chrome.keys("\u{E00C}").await; // Escape closes it.

    // A deep link, loaded anew, still works (the tokens stay in the tab).
    s.chrome.open(&group_url).await;
    wait_for_text(&s.chrome, "h1", "Engineering").await;
    wait_for_text(&s.chrome, "tbody", "bob@example.com").await;

    // Sign out: the tokens are revoked and the console is back at its sign-in screen.
    s.chrome.click(".who button").await;
    s.chrome.wait_for_url(&format!("{base}/admin/")).await;
    wait_for_text(&s.chrome, ".signin", "Sign in with Gatehouse").await;
    let stored = s
        .chrome
        .script(
            "return sessionStorage.getItem('gatehouse.console.tokens')",
            serde_json::json!([]),
        )
        .await;
    assert!(stored.is_null(), "{stored}");
    s.chrome.assert_no_csp_violations().await;
}

/// A user without an admin role signs in and sees the no-role page, not a broken
/// console; the API said 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_a_role_sees_the_no_role_page() {
    let s = Setup::new().await;
    console_sign_in(&s).await;
    wait_for_text(&s.chrome, "h1", "No admin role").await;
    // The API's 403s are in the browser log as failed loads, as they should be; no
    // CSP violation or script error is.
    let log = s.chrome.console().await;
    assert!(
        log.iter()
            .filter(|l| l.starts_with("SEVERE"))
            .all(|l| l.contains("/api/v1/") && l.contains("status of 403")),
        "{log:#?}"
    );
    for dark in [false, true] {
        s.chrome.dark_mode(dark).await;
        s.chrome.axe_audit().await;
    }
    s.chrome.dark_mode(false).await;
    s.chrome.viewport(390, 844, true).await;
    assert!(!s.chrome.scrolls_horizontally().await);
    s.chrome.screenshot("no-role-390").await;
    // Signing out from here works too.
    s.chrome.click(".signin button").await;
    s.chrome.wait_for_url(&format!("{}/admin/", s.t.base)).await;
    wait_for_text(&s.chrome, ".signin", "Sign in with Gatehouse").await;
}

/// A console whose tokens were revoked (here by the test, as an admin ending the
/// session would) goes back to its sign-in screen at the next request, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_goes_back_to_sign_in() {
    let s = Setup::new().await;
    grant(&s.t, LOGIN, "read-only");
    console_sign_in(&s).await;
    wait_for_text(&s.chrome, "h1", "Dashboard").await;
    let stored = s
        .chrome
        .script(
            "return JSON.parse(sessionStorage.getItem('gatehouse.console.tokens'))",
            serde_json::json!([]),
        )
        .await;
    for name in ["refresh_token", "access_token"] {
        let res =
            s.t.http
                .post(format!("{}/oauth2/v1/revoke", s.t.base))
                .form(&[
                    ("token", stored[name].as_str().unwrap()),
                    ("client_id", "gatehouse-console"),
                ])
                .send()
                .await
                .unwrap();
        assert_eq!(res.status(), 200, "{name}");
    }
    s.chrome.click("#nav-list a[href='/admin/users']").await;
    wait_for_text(&s.chrome, ".signin", "Your session has ended").await;
    let left = s
        .chrome
        .script(
            "return sessionStorage.getItem('gatehouse.console.tokens')",
            serde_json::json!([]),
        )
        .await;
    assert!(left.is_null(), "the dead tokens are forgotten: {left}");
}
