//! The whole Authorization Code flow driven by the `openidconnect` crate as the relying
//! party: discovery, authorize, sign-in, code exchange, ID token validation with nonce,
//! userinfo. For the org server and the `default` custom server, confidential and public,
//! on SQLite and on PostgreSQL.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::support::*;

async fn full_flow(t: &TestApp, server: &str, public: bool) {
    let alice = t.user("alice@example.com").await;
    let app = if public {
        t.spa().await
    } else {
        t.web_app().await
    };
    let http = no_redirects();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer(server)).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: no session, so the sign-in page; then back to the app with a code.
    let browser = t.browser();
    let first = browser.get(url.as_str()).await;
    assert_eq!(first.status(), 302);
    let login = location(&first).unwrap();
    assert!(login.starts_with("/login?tx="), "{login}");
    let back = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    assert_eq!(back.status(), 303);
    let callback = location(&back).unwrap();
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss"),
        Some(t.issuer(server)),
        "RFC 9207 iss"
    );
    let code = param(&callback, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);
    let id_token = tokens.id_token().expect("an ID token for openid");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), alice.id, "sub is the user's id");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert!(claims.auth_time().is_some());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), alice.id);
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(
        info.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Alice")
    );

    // The access token: Okta's claims and RFC 9068's, audience per server.
    let at: serde_json::Value = jwt_claims(tokens.access_token().secret());
    // Okta's default on every server: the login in `sub`, the id in `uid` (the ID
    // token keeps the id in `sub`).
    assert_eq!(at["sub"], "alice@example.com");
    assert_eq!(at["uid"], alice.id.as_str());
    assert_eq!(at["cid"], app.client_id.as_str());
    assert_eq!(at["client_id"], app.client_id.as_str());
    assert_eq!(at["iss"], t.issuer(server).as_str());
    let audience = if server == "org" {
        t.issuer("org")
    } else {
        "api://default".to_string()
    };
    assert_eq!(at["aud"], audience.as_str());
    assert_eq!(at["scp"], serde_json::json!(["openid", "profile", "email"]));
    assert_eq!(jwt_header(tokens.access_token().secret())["typ"], "at+jwt");

    // Single sign-on: the next authorize request skips the page.
    let again = browser
        .get(&t.authorize_url(server, &app.client_id, &[]))
        .await;
    let loc = location(&again).unwrap();
    assert!(
        loc.starts_with(REDIRECT) && param(&loc, "code").is_some(),
        "{loc}"
    );
}

pub fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

pub fn jwt_claims(token: &str) -> serde_json::Value {
    jwt_part(token, 1)
}

pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_server_confidential_client() {
    full_flow(&TestApp::spawn().await, "default", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_server_confidential_client() {
    full_flow(&TestApp::spawn().await, "org", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_server_public_client_with_pkce() {
    full_flow(&TestApp::spawn().await, "default", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_server_confidential_client_on_postgres() {
    full_flow(&TestApp::spawn_postgres().await, "default", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_server_public_client_on_postgres() {
    full_flow(&TestApp::spawn_postgres().await, "org", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_and_no_openid_scope() {
    let t = TestApp::spawn().await;
    t.user("bob@example.com").await;
    let app = t.app_with("client_secret_post", &[REDIRECT]).await;
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[
                ("scope", "profile"),
                ("code_challenge", ""),
                ("code_challenge_method", ""),
            ],
        ))
        .await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "BOB@example.com", PASSWORD)
        .await;
    let code = param(&location(&back).unwrap(), "code").unwrap();
    let response = t
        .http
        .post(t.endpoint("default", "token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &app.client_id),
            ("client_secret", app.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "profile");
    assert!(body.get("id_token").is_none(), "no openid, no ID token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_modes_fragment_and_form_post() {
    let t = TestApp::spawn().await;
    t.user("carol@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let start = browser
        .get(&t.authorize_url("default", &app.client_id, &[("response_mode", "fragment")]))
        .await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "carol@example.com", PASSWORD)
        .await;
    let loc = location(&back).unwrap();
    assert!(loc.contains("#code="), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));

    let page = browser
        .get(&t.authorize_url("default", &app.client_id, &[("response_mode", "form_post")]))
        .await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")), "{html}");
    assert!(input_value(&html, "code").is_some());
    assert_eq!(input_value(&html, "state").as_deref(), Some("st4te"));
    assert!(html.contains("/assets/form_post.js"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_and_max_age() {
    let t = TestApp::spawn().await;
    t.user("dave@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();

    // prompt=none without a session: login_required, back to the client.
    let none = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    let loc = location(&none).unwrap();
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));

    t.code(&browser, "default", &app, "dave@example.com").await;
    // With a session: prompt=none succeeds, prompt=login shows the page again.
    let none = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert!(param(&location(&none).unwrap(), "code").is_some());
    let login = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "login")]))
        .await;
    assert!(location(&login).unwrap().starts_with("/login"));

    // max_age: an older sign-in needs a new one; with prompt=none that is login_required.
    t.clock.advance(120);
    let fresh_enough = browser
        .get(&t.authorize_url("default", &app.client_id, &[("max_age", "600")]))
        .await;
    assert!(param(&location(&fresh_enough).unwrap(), "code").is_some());
    let too_old = browser
        .get(&t.authorize_url("default", &app.client_id, &[("max_age", "60")]))
        .await;
    assert!(location(&too_old).unwrap().starts_with("/login"));
    let too_old_none = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(
        param(&location(&too_old_none).unwrap(), "error").as_deref(),
        Some("login_required")
    );

    // The session expires after its lifetime (2 hours by default).
    t.clock.advance(7200);
    let expired = browser
        .get(&t.authorize_url("default", &app.client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&expired).unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_by_post_and_login_hint() {
    let t = TestApp::spawn().await;
    t.user("erin@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    let response = browser
        .post_form(
            &t.endpoint("default", "authorize"),
            &[
                ("client_id", &app.client_id),
                ("response_type", "code"),
                ("scope", "openid"),
                ("redirect_uri", REDIRECT),
                ("state", "posted"),
                ("login_hint", "erin@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = browser.get(&location(&response).unwrap()).await;
    let html = page.text().await.unwrap();
    assert_eq!(
        input_value(&html, "username").as_deref(),
        Some("erin@example.com")
    );
}
