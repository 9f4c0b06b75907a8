//! The sign-in, consent and sign-out flows, end to end in Chromium, each ending where
//! a person would: on the app, with what the app needed, and no CSP violation or
//! console error on the way.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::support::VERIFIER;

/// Issue 12's report: the right password, and the browser must land on the app with a
/// code (Chromium applies the sign-in page's `form-action` to the redirect after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_reaches_the_app_with_a_code() {
    let s = Setup::new().await;
    s.chrome.open(&s.authorize(&[])).await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base))
    );
    s.sign_in(PASSWORD).await;
    let url = s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.only_hit();
    assert_eq!(hit.method, Method::GET);
    assert!(hit.param("code").is_some_and(|c| !c.is_empty()), "{url}");
    assert_eq!(hit.param("state"), Some("st4te"));
    assert_eq!(hit.param("iss"), Some(s.t.issuer("default").as_str()));
    s.chrome.assert_no_csp_violations().await;
}

/// `response_mode=form_post`: the page's script posts the code to the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_sign_in_posts_the_code_to_the_app() {
    let s = Setup::new().await;
    s.chrome
        .open(&s.authorize(&[("response_mode", "form_post")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.only_hit();
    assert_eq!(hit.method, Method::POST);
    assert!(hit.param("code").is_some_and(|c| !c.is_empty()));
    assert_eq!(hit.param("state"), Some("st4te"));
    assert!(s.chrome.text("#received").await.contains("code="));
    s.chrome.assert_no_csp_violations().await;
}

/// A wrong password: the page says so, the password field has the focus; then the
/// right one reaches the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_then_right_one() {
    let s = Setup::new().await;
    s.chrome.open(&s.authorize(&[])).await;
    s.sign_in("not the password").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    assert!(
        s.chrome
            .text("[role=alert]")
            .await
            .contains("the username or password is not right")
    );
    assert_eq!(s.chrome.focused().await, "password");
    assert!(s.rp.hits().is_empty());
    s.chrome.keys(PASSWORD).await;
    s.chrome.keys(&Key::ENTER.to_string()).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert!(s.rp.only_hit().param("code").is_some());
    s.chrome.assert_no_csp_violations().await;
}

/// Only the keyboard: the username field has the focus when the page opens, Tab goes
/// to the password, Enter signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_only_sign_in() {
    let s = Setup::new().await;
    s.chrome.open(&s.authorize(&[])).await;
    assert_eq!(s.chrome.focused().await, "username");
    s.chrome
        .keys(&format!("{LOGIN}{}{PASSWORD}{}", Key::TAB, Key::ENTER))
        .await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert!(s.rp.only_hit().param("code").is_some());
    s.chrome.assert_no_csp_violations().await;
}

/// Show/hide password, from `assets/password.js`: the button appears only with the
/// script, and switches the field between hidden and shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_can_be_shown_and_hidden() {
    let s = Setup::new().await;
    s.chrome.open(&s.authorize(&[])).await;
    s.chrome.fill("#password", "secret").await;
    let kind = || async {
        s.chrome
            .script("return document.getElementById('password').type", json!([]))
            .await
    };
    assert_eq!(kind().await, "password");
    s.chrome.click("button.reveal").await;
    assert_eq!(kind().await, "text");
    assert_eq!(s.chrome.text("button.reveal").await, "Hide");
    s.chrome.click("button.reveal").await;
    assert_eq!(kind().await, "password");
    s.chrome.assert_no_csp_violations().await;
}

/// A second authorization in the same browser needs no sign-in (single sign-on);
/// `prompt=login` asks again, and signing in again reaches the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_and_prompt_login() {
    let s = Setup::new().await;
    s.signed_in().await;
    s.chrome.open(&s.authorize(&[("state", "again")])).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hits = s.rp.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].param("state"), Some("again"));
    assert!(hits[1].param("code").is_some());

    s.chrome
        .open(&s.authorize(&[("prompt", "login"), ("state", "third")]))
        .await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base))
    );
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hits = s.rp.hits();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[2].param("state"), Some("third"));
    s.chrome.assert_no_csp_violations().await;
}

/// Consent: the page says who is signed in, Allow is the primary button and Don't
/// allow the secondary one; Allow reaches the app with a code, Don't allow with
/// `access_denied`; "Not you?" leads to signing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_allow_and_deny_reach_the_app() {
    let s = Setup::new().await;
    s.consent_scope("orders:read").await;
    let ask = |state: &'static str| {
        s.authorize(&[
            ("scope", "openid orders:read"),
            ("state", state),
            ("prompt", "consent"),
        ])
    };
    s.chrome.open(&ask("deny")).await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/consent", s.t.base))
        .await;
    assert!(
        s.chrome
            .text(".whoami")
            .await
            .contains(&format!("Signed in as {LOGIN}"))
    );
    let chrome = &s.chrome;
    let background = |css: &'static str| async move {
        chrome
            .script(
                "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor",
                json!([css]),
            )
            .await
    };
    assert_ne!(
        background("button[value=allow]").await,
        background("button[value=deny]").await,
        "Allow and Don't allow must look different"
    );
    s.chrome.click("button[value=deny]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.only_hit();
    assert_eq!(hit.param("error"), Some("access_denied"));
    assert_eq!(hit.param("state"), Some("deny"));

    s.chrome.open(&ask("allow")).await;
    s.chrome
        .wait_for_url(&format!("{}/consent", s.t.base))
        .await;
    s.chrome.click("button[value=allow]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hits = s.rp.hits();
    assert_eq!(hits.len(), 2);
    assert!(hits[1].param("code").is_some());
    assert_eq!(hits[1].param("state"), Some("allow"));

    // "Not you?": the sign-out confirmation for this app, then the sign-in page.
    s.chrome.open(&ask("not-me")).await;
    s.chrome.click(".whoami a").await;
    s.chrome
        .wait_for_url(&s.t.endpoint("default", "logout"))
        .await;
    assert!(s.chrome.text("h1").await.contains("Sign out"));
    s.chrome.click("button[type=submit]").await;
    s.chrome
        .wait_for_url(&s.t.endpoint("default", "logout"))
        .await;
    assert!(
        s.chrome
            .text("a.primary")
            .await
            .contains("Return to Test App")
    );
    s.chrome.open(&ask("new-user")).await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base))
    );
    s.chrome.assert_no_csp_violations().await;
}

/// The ID token for the code the app last received.
async fn id_token(s: &Setup) -> String {
    let hit = s.rp.hits().pop().expect("a callback");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", hit.param("code").expect("a code")),
        ("redirect_uri", &s.rp.callback()),
        ("code_verifier", VERIFIER),
    ];
    let response = s.t.exchange("default", &s.app, &form).await;
    assert_eq!(response.status(), 200);
    let tokens: serde_json::Value = response.json().await.unwrap();
    tokens["id_token"].as_str().unwrap().to_string()
}

/// RP-Initiated Logout with a valid hint and a registered URI: no question, straight
/// back to the app with `state`; the session has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_without_confirmation_returns_to_the_app() {
    let s = Setup::new().await;
    s.signed_in().await;
    let hint = id_token(&s).await;
    let url = s.logout_url(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", &s.rp.signed_out()),
        ("state", "bye"),
    ]);
    s.chrome.open(&url).await;
    s.chrome.wait_for_url(&s.rp.signed_out()).await;
    assert_eq!(s.rp.hits()[1].param("state"), Some("bye"));
    // Signed out: the next authorization asks for the password.
    s.chrome.open(&s.authorize(&[])).await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base))
    );
    s.chrome.assert_no_csp_violations().await;
}

/// Without a hint Gatehouse asks first. Cancel goes back to the app's home and keeps
/// the session; Sign out ends it, and the signed-out page links back to the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_confirmation_cancel_and_sign_out() {
    let s = Setup::new().await;
    s.signed_in().await;
    let url = s.logout_url(&[("client_id", &s.app.client_id)]);

    s.chrome.open(&url).await;
    assert!(
        s.chrome
            .text(".whoami")
            .await
            .contains(&format!("Signed in as {LOGIN}"))
    );
    s.chrome.click("a.secondary").await;
    s.chrome.wait_for_url(&s.rp.home()).await;
    s.chrome.open(&s.authorize(&[])).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;

    s.chrome.open(&url).await;
    s.chrome.click("button[type=submit]").await;
    s.chrome
        .wait_for_url(&s.t.endpoint("default", "logout"))
        .await;
    assert!(s.chrome.text("h1").await.contains("You have signed out"));
    s.chrome.click("a.primary").await;
    s.chrome.wait_for_url(&s.rp.signed_out()).await;
    s.chrome.open(&s.authorize(&[])).await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base))
    );
    s.chrome.assert_no_csp_violations().await;
}

/// An unregistered redirect URI: an error page on Gatehouse, never a navigation to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_redirect_uri_is_an_error_page() {
    let s = Setup::new().await;
    let elsewhere = format!("{}/elsewhere", s.rp.base);
    s.chrome
        .open(&s.authorize(&[("redirect_uri", &elsewhere)]))
        .await;
    let url = s.chrome.url().await;
    assert!(url.starts_with(&s.t.base), "{url}");
    assert!(s.chrome.text("main").await.contains("redirect_uri"));
    assert!(s.rp.hits().is_empty());
    // The error page's 400 is the document's own status, not a console error.
    s.chrome.assert_no_csp_violations().await;
}

/// okta-authn: an app with its own sign-in form posts to `/api/v1/authn` and sends the
/// browser through `/login/sessionCookieRedirect` to `/authorize`: the browser gets the
/// session cookie on the hop and reaches the app with a code, never seeing the sign-in
/// page. A `redirectUrl` on an untrusted origin is an error page on Gatehouse; the
/// browser goes nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_redirect_hop_reaches_the_app() {
    let s = Setup::new().await;
    let session_token = || async {
        let answer: serde_json::Value =
            s.t.http
                .post(format!("{}/api/v1/authn", s.t.base))
                .json(&serde_json::json!({ "username": LOGIN, "password": PASSWORD }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        answer["sessionToken"].as_str().unwrap().to_string()
    };
    let hop = |token: &str, target: &str| {
        let mut url =
            url::Url::parse(&format!("{}/login/sessionCookieRedirect", s.t.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("token", token)
            .append_pair("redirectUrl", target);
        url.to_string()
    };

    // The app's own origin is not a trusted origin of this server: refused, on a page.
    let token = session_token().await;
    s.chrome.open(&hop(&token, &s.rp.home())).await;
    let url = s.chrome.url().await;
    assert!(url.starts_with(&s.t.base), "{url}");
    assert!(
        s.chrome
            .text("main")
            .await
            .contains("not one this server trusts")
    );
    assert!(s.rp.hits().is_empty());
    s.chrome.assert_no_csp_violations().await;
    s.chrome.axe_audit().await;

    // To /authorize on this server: the cookie is set on the hop, the app gets a code.
    s.chrome
        .open(&hop(&token, &s.authorize(&[("state", "hop")])))
        .await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.only_hit();
    assert_eq!(hit.param("state"), Some("hop"));
    assert!(hit.param("code").is_some());
    // The session is the browser's now: single sign-on without a token.
    s.chrome.open(&s.authorize(&[("state", "sso")])).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert_eq!(s.rp.hits()[1].param("state"), Some("sso"));
    s.chrome.assert_no_csp_violations().await;
}

/// OpenID Connect Core §3.1.2.2: with alice signed in, an authorization request whose
/// `id_token_hint` names bob opens the sign-in page for bob (his login filled in; the
/// session is not reused), and signing in there as bob reaches the app with a code
/// for bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_another_user_asks_that_user_to_sign_in() {
    let s = Setup::new().await;
    let bob = s.t.user("bob@example.com").await;
    // Bob signs in first; his ID token is the hint.
    s.chrome.open(&s.authorize(&[])).await;
    s.chrome.fill("#username", &bob.login).await;
    s.chrome.fill("#password", PASSWORD).await;
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let bob_hint = id_token(&s).await;
    // Alice signs in on the same browser: the session is hers now.
    s.chrome
        .open(&s.authorize(&[("prompt", "login"), ("state", "alice")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;

    s.chrome
        .open(&s.authorize(&[("id_token_hint", &bob_hint), ("state", "bob")]))
        .await;
    assert!(
        s.chrome
            .url()
            .await
            .starts_with(&format!("{}/login?", s.t.base)),
        "the sign-in page, not alice's session"
    );
    let filled = s
        .chrome
        .script(
            "return document.querySelector('#username').value",
            json!([]),
        )
        .await;
    assert_eq!(filled, json!(bob.login));
    s.chrome.check_page("sign-in-id-token-hint").await;
    s.chrome.viewport(1280, 900, false).await;
    s.chrome.fill("#password", PASSWORD).await;
    s.chrome.click("button[type=submit]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.hits().pop().unwrap();
    assert_eq!(hit.param("state"), Some("bob"));
    let claims = crate::support::claims_of(&id_token(&s).await);
    assert_eq!(claims["sub"], bob.id.as_str());
    s.chrome.assert_no_csp_violations().await;
}

/// Front-Channel Logout: an app registered with a `frontchannel_logout_uri` (on its
/// redirect URI's origin) is loaded in an iframe of the signed-out page, with `iss`
/// and the `sid` of its ID token, under a CSP that frames exactly that origin; the page
/// passes the audit. Then a sign-out with a hint and a post-logout URI loads the frame
/// and goes on to the app by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_loads_the_apps_front_channel_logout_page() {
    let mut s = Setup::new().await;
    s.app =
        s.t.create_app(gatehouse::admin::apps::NewApp {
            name: "Front".into(),
            redirect_uris: vec![s.rp.callback()],
            post_logout_redirect_uris: vec![s.rp.signed_out()],
            auth_method: Some("none".into()),
            logout: gatehouse::store::LogoutChannels {
                frontchannel_logout_uri: Some(s.rp.frontchannel_logout()),
                frontchannel_logout_session_required: true,
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
    let frames = |s: &Setup| {
        s.rp.hits()
            .into_iter()
            .filter(|h| h.path == "/frontchannel-logout")
            .collect::<Vec<_>>()
    };

    s.chrome.open(&s.authorize(&[])).await;
    s.sign_in(crate::support::PASSWORD).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let sid = crate::support::claims_of(&id_token(&s).await)["sid"]
        .as_str()
        .expect("a sid")
        .to_string();
    s.chrome
        .open(&s.logout_url(&[("client_id", &s.app.client_id)]))
        .await;
    s.chrome.click("button[type=submit]").await;
    s.chrome
        .wait_for_url(&s.t.endpoint("default", "logout"))
        .await;
    assert!(s.chrome.text("h1").await.contains("You have signed out"));
    for _ in 0..50 {
        if !frames(&s).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hit = frames(&s)
        .pop()
        .expect("the app's front-channel URI was loaded");
    assert_eq!(hit.param("iss"), Some(s.t.issuer("default").as_str()));
    assert_eq!(hit.param("sid"), Some(sid.as_str()));
    s.chrome.check_page("signed-out-frontchannel").await;

    // With a hint and a post-logout URI: the frame loads, then the app's page.
    s.chrome.open(&s.authorize(&[])).await;
    s.sign_in(crate::support::PASSWORD).await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hint = id_token(&s).await;
    let url = s.logout_url(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", &s.rp.signed_out()),
    ]);
    s.chrome.open(&url).await;
    s.chrome.wait_for_url(&s.rp.signed_out()).await;
    assert_eq!(
        frames(&s).len(),
        2,
        "the second session's frame loaded first"
    );
    s.chrome.assert_no_csp_violations().await;
}
