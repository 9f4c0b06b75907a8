//! RP-Initiated Logout 1.0 at `/oauth2/{server}/v1/logout`, driven by the
//! `openidconnect` crate as the relying party where it fits: discovery of
//! `end_session_endpoint`, then `LogoutRequest` with the ID token as the hint.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreIdToken;
use openidconnect::{
    ClientId, CsrfToken, IssuerUrl, LogoutRequest, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout,
};
use url::Url;

use crate::support::*;

const BYE: &str = "https://app.example.com/signed-out?from=gatehouse";
const OTHER_BYE: &str = "https://other.example.com/bye";

struct Setup {
    t: TestApp,
    app: App,
    browser: Browser,
    id_token: String,
}

/// A web app with `BYE` registered, alice signed in through it on `server`, and the ID
/// token she got.
async fn signed_in(server: &str) -> Setup {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t
        .app_with_logout("client_secret_basic", &[REDIRECT], &[BYE])
        .await;
    let browser = t.browser();
    let id_token = fetch_id_token(&t, &browser, server, &app).await;
    Setup {
        t,
        app,
        browser,
        id_token,
    }
}

async fn fetch_id_token(t: &TestApp, browser: &Browser, server: &str, app: &App) -> String {
    let code = t.code(browser, server, app, "alice@example.com").await;
    let body: serde_json::Value = t.redeem(server, app, &code).await.json().await.unwrap();
    body["id_token"].as_str().expect("an ID token").to_string()
}

/// The end session endpoint, as an RP discovers it.
async fn end_session_endpoint(t: &TestApp, server: &str) -> LogoutRequest {
    let metadata = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(t.issuer(server)).unwrap(),
        &no_redirects(),
    )
    .await
    .expect("discovery");
    let endpoint = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint");
    assert_eq!(endpoint.as_str(), t.endpoint(server, "logout"));
    LogoutRequest::from(endpoint)
}

fn hint(token: &str) -> CoreIdToken {
    CoreIdToken::from_str(token).expect("a JWT")
}

/// Does `browser` still have a session on `server`? (prompt=none answers with a code.)
async fn has_session(t: &TestApp, browser: &Browser, server: &str, app: &App) -> bool {
    let r = browser
        .get(&t.authorize_url(server, &app.client_id, &[("prompt", "none")]))
        .await;
    let loc = location(&r).expect("a redirect to the client");
    match param(&loc, "error").as_deref() {
        Some("login_required") => false,
        Some(other) => panic!("unexpected error {other}"),
        None => param(&loc, "code").is_some(),
    }
}

/// A browser holding only this session cookie: the server must have ended the session
/// itself, not just asked the browser to forget it.
fn with_cookie(t: &TestApp, session: &str) -> Browser {
    let b = t.browser();
    b.cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), session.into());
    b
}

async fn assert_error_page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert!(
        location(&response).is_none(),
        "an error page, never a redirect"
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("gh_session="))
    );
    response.text().await.unwrap()
}

async fn valid_hint_redirects_with_state_and_ends_the_session(server: &str) {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in(server).await;
    let session = browser.cookie("gh_session").unwrap();
    let url = end_session_endpoint(&t, server)
        .await
        .set_id_token_hint(&hint(&id_token))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new("st8 &=".into()))
        .http_get_url();
    let r = browser.get(url.as_str()).await;
    assert_eq!(r.status(), 302);
    let loc = location(&r).unwrap();
    assert_eq!(
        loc,
        format!("{BYE}&state=st8+%26%3D"),
        "the registered query kept, state appended"
    );
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("gh_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    assert!(
        !has_session(&t, &browser, server, &app).await,
        "prompt=none: login_required"
    );
    assert!(
        !has_session(&t, &with_cookie(&t, &session), server, &app).await,
        "ended on the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_server_valid_hint_and_registered_uri_redirect() {
    valid_hint_redirects_with_state_and_ends_the_session("org").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_server_valid_hint_and_registered_uri_redirect() {
    valid_hint_redirects_with_state_and_ends_the_session("default").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_hint_without_uri_shows_the_signed_out_page() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    let session = browser.cookie("gh_session").unwrap();
    let url = end_session_endpoint(&t, "default")
        .await
        .set_id_token_hint(&hint(&id_token))
        .set_client_id(ClientId::new(app.client_id.clone()))
        .http_get_url();
    let r = browser.get(url.as_str()).await;
    assert_eq!(r.status(), 200);
    assert!(location(&r).is_none());
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("You have signed out") && !html.contains("<script"),
        "{html}"
    );
    assert!(!has_session(&t, &browser, "default", &app).await);
    assert!(!has_session(&t, &with_cookie(&t, &session), "default", &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_with_a_valid_hint_answers_303() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    let r = browser
        .post_form(
            &t.endpoint("default", "logout"),
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "s"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r).unwrap(), format!("{BYE}&state=s"));
    assert!(!has_session(&t, &browser, "default", &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_uri_or_another_clients_uri_is_an_error_page() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    t.app_with_logout("client_secret_basic", &[REDIRECT], &[OTHER_BYE])
        .await;
    for uri in [
        "https://evil.example.com/bye",
        "https://app.example.com/signed-out",
        OTHER_BYE,
    ] {
        let url = end_session_endpoint(&t, "default")
            .await
            .set_id_token_hint(&hint(&id_token))
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(uri.into()).unwrap())
            .set_state(CsrfToken::new("s".into()))
            .http_get_url();
        let html = assert_error_page(browser.get(url.as_str()).await, 400).await;
        assert!(
            html.contains("invalid_request") && !html.contains(uri),
            "{uri}: {html}"
        );
        assert!(
            has_session(&t, &browser, "default", &app).await,
            "{uri}: the session stays"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_hints_are_error_pages_and_the_session_stays() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    let other = t
        .app_with_logout("client_secret_basic", &[REDIRECT], &[BYE])
        .await;
    let endpoint = t.endpoint("default", "logout");

    // A signature byte flipped.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    let mut signature = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    signature[10] ^= 0x01;
    parts[2] = URL_SAFE_NO_PAD.encode(signature);
    let forged = parts.join(".");
    // The same user's ID token from the org server, presented to `default`.
    let org_browser = t.browser();
    let org_token = fetch_id_token(&t, &org_browser, "org", &app).await;

    let cases: Vec<(&str, Url)> = vec![
        (
            "forged",
            logout_url(
                &endpoint,
                &[
                    ("id_token_hint", &forged),
                    ("post_logout_redirect_uri", BYE),
                ],
            ),
        ),
        (
            "other server",
            logout_url(
                &endpoint,
                &[
                    ("id_token_hint", &org_token),
                    ("post_logout_redirect_uri", BYE),
                ],
            ),
        ),
        (
            "not a JWT",
            logout_url(
                &endpoint,
                &[
                    ("id_token_hint", "not-a-jwt"),
                    ("post_logout_redirect_uri", BYE),
                ],
            ),
        ),
        (
            "client_id is not aud",
            end_session_endpoint(&t, "default")
                .await
                .set_id_token_hint(&hint(&id_token))
                .set_client_id(ClientId::new(other.client_id.clone()))
                .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
                .http_get_url(),
        ),
        (
            "uri without a hint",
            logout_url(
                &endpoint,
                &[
                    ("client_id", &app.client_id),
                    ("post_logout_redirect_uri", BYE),
                ],
            ),
        ),
        (
            "unknown client_id",
            logout_url(&endpoint, &[("client_id", "<script>alert(1)</script>")]),
        ),
    ];
    for (name, url) in cases {
        let html = assert_error_page(browser.get(url.as_str()).await, 400).await;
        assert!(!html.contains("<script>"), "{name}: nothing reflected");
        assert!(
            has_session(&t, &browser, "default", &app).await,
            "{name}: the session stays"
        );
    }
}

fn logout_url(endpoint: &str, pairs: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(endpoint).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hint_works_only_with_the_users_own_session_after_asking() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    t.clock.advance(3601); // past the ID token's exp; the session (2 hours) lives on
    let url = end_session_endpoint(&t, "default")
        .await
        .set_id_token_hint(&hint(&id_token))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .http_get_url();

    // Another browser, no session: the expired hint proves nothing.
    let stranger = t.browser();
    assert_error_page(stranger.get(url.as_str()).await, 400).await;
    // Another user's session: refused, and that session stays.
    t.user("bob@example.com").await;
    let bob = t.browser();
    let start = bob
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    bob.sign_in(&location(&start).unwrap(), "bob@example.com", PASSWORD)
        .await;
    assert_error_page(bob.get(url.as_str()).await, 400).await;
    assert!(has_session(&t, &bob, "default", &app).await);
    // Alice's own browser: accepted, but asked first (an expired hint may have leaked).
    let r = browser.get(url.as_str()).await;
    assert_eq!(r.status(), 200);
    assert!(location(&r).is_none());
    let html = r.text().await.unwrap();
    assert!(
        has_session(&t, &browser, "default", &app).await,
        "nothing ends before the answer"
    );
    let csrf = input_value(&html, "csrf").unwrap();
    let done = browser
        .post_form(&t.endpoint("default", "logout"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status(), 200);
    assert!(!has_session(&t, &browser, "default", &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_for_another_user_asks_before_ending_this_session() {
    let Setup {
        t, app, id_token, ..
    } = signed_in("default").await;
    // The attacker's own valid ID token, sent to a victim's browser.
    t.user("bob@example.com").await;
    let victim = t.browser();
    let start = victim
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    victim
        .sign_in(&location(&start).unwrap(), "bob@example.com", PASSWORD)
        .await;
    let url = logout_url(
        &t.endpoint("default", "logout"),
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", BYE),
        ],
    );
    let r = victim.get(url.as_str()).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Sign out of Gatehouse?"));
    assert!(has_session(&t, &victim, "default", &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_hint_the_user_confirms_with_a_csrf_protected_form() {
    let Setup {
        t, app, browser, ..
    } = signed_in("org").await;
    let endpoint = t.endpoint("org", "logout");
    let page = browser
        .get(&format!("{endpoint}?client_id={}", app.client_id))
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Sign out of Gatehouse?")
            && html.contains("Test App")
            && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"{endpoint}\"")), "{html}");
    let csrf = input_value(&html, "csrf").expect("a csrf field");
    assert_eq!(browser.cookie("gh_csrf").as_deref(), Some(csrf.as_str()));
    assert!(
        has_session(&t, &browser, "org", &app).await,
        "showing the page ends nothing"
    );

    // A cross-site POST: no token, or a wrong one, or the token without the cookie.
    assert_error_page(browser.post_form(&endpoint, &[]).await, 403).await;
    assert_error_page(
        browser.post_form(&endpoint, &[("csrf", "forged")]).await,
        403,
    )
    .await;
    let attacker = with_cookie(&t, &browser.cookie("gh_session").unwrap());
    assert_error_page(attacker.post_form(&endpoint, &[("csrf", &csrf)]).await, 403).await;
    assert!(has_session(&t, &browser, "org", &app).await);

    let session = browser.cookie("gh_session").unwrap();
    let done = browser.post_form(&endpoint, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You have signed out"));
    assert!(!has_session(&t, &browser, "org", &app).await);
    assert!(!has_session(&t, &with_cookie(&t, &session), "org", &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_parameter_is_a_400_page() {
    let Setup {
        t,
        app,
        browser,
        id_token,
    } = signed_in("default").await;
    let url = logout_url(
        &t.endpoint("default", "logout"),
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "a"),
            ("state", "b"),
        ],
    );
    let html = assert_error_page(browser.get(url.as_str()).await, 400).await;
    assert!(html.contains("invalid_request"));
    assert!(has_session(&t, &browser, "default", &app).await);
    let unknown = browser
        .get(&format!("{}/oauth2/nosuch/v1/logout", t.base))
        .await;
    assert_eq!(unknown.status(), 404);
}
