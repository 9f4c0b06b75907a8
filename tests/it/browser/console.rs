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
    chrome.check_page("console-sign-in").await;
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
