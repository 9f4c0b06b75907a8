//! Pushed Authorization Requests (RFC 9126): the push, single use, expiry, binding to
//! the client, the per-app requirement, and `request`/foreign `request_uri` refused
//! without fetching anything.

use std::time::Duration;

use gatehouse::admin::apps::NewApp;
use openidconnect::{
    AuthorizationCode, Nonce, OAuth2TokenResponse, PkceCodeChallenge, TokenResponse,
};

use crate::support::*;

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Pushes the usual parameters plus `extra` (which replace them) as `app`; the answer.
async fn push(t: &TestApp, server: &str, app: &App, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("redirect_uri", REDIRECT),
        ("state", "pushed-state"),
        ("nonce", "n0nce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    t.post_as(server, "par", app, &form).await
}

/// A pushed request's `request_uri`.
async fn request_uri(t: &TestApp, server: &str, app: &App, extra: &[(&str, &str)]) -> String {
    let r = push(t, server, app, extra).await;
    assert_eq!(r.status(), 201, "pushed");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(
        uri.starts_with(PREFIX) && uri.len() > PREFIX.len() + 20,
        "{uri}"
    );
    uri
}

fn authorize_with(
    t: &TestApp,
    server: &str,
    client_id: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&t.endpoint(server, "authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    url.query_pairs_mut().extend_pairs(extra);
    url.to_string()
}

/// An error page (never a redirect) carrying `code`.
async fn expect_page(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 400);
    assert!(location(&response).is_none(), "no redirect");
    let html = response.text().await.unwrap();
    assert!(html.contains(code), "{code} in {html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_request_signs_in_with_prompt_login_and_the_relying_party_gets_tokens() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let rp = t.rp("default", &app).await;
    let discovery: serde_json::Value = t
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            t.issuer("default")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        t.endpoint("default", "par")
    );
    assert_eq!(discovery["require_pushed_authorization_requests"], false);
    assert_eq!(discovery["request_parameter_supported"], true);
    assert_eq!(discovery["require_signed_request_object"], false);
    assert!(
        discovery["request_object_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a != "none")
    );
    assert_eq!(discovery["request_uri_parameter_supported"], false);

    // A browser with a session: prompt=login (pushed) must still show the sign-in page.
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let uri = request_uri(
        &t,
        "default",
        &app,
        &[
            ("nonce", nonce.secret()),
            ("code_challenge", challenge.as_str()),
            ("prompt", "login"),
        ],
    )
    .await;
    t.clock.advance(2);
    // RFC 9126 §4: only client_id and request_uri count; these are ignored.
    let start = browser
        .get(&authorize_with(
            &t,
            "default",
            &app.client_id,
            &uri,
            &[("state", "evil"), ("scope", "openid email")],
        ))
        .await;
    let login = location(&start).expect("to the sign-in page");
    assert!(login.starts_with("/login"), "{login}");
    let back = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    let to_client = location(&back).expect("back to the client");
    assert!(to_client.starts_with(REDIRECT), "{to_client}");
    assert_eq!(param(&to_client, "state").as_deref(), Some("pushed-state"));
    assert_eq!(
        param(&to_client, "iss").as_deref(),
        Some(t.issuer("default").as_str())
    );
    let code = param(&to_client, "code").expect("a code");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&no_redirects())
        .await
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("a valid ID token")
        .clone();
    assert!(claims.auth_time().is_some());
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        scopes,
        ["openid", "profile"],
        "the pushed scope, not the query's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_uri_is_used_once_and_expires_after_sixty_seconds() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;

    let uri = request_uri(&t, "default", &app, &[]).await;
    let first = browser
        .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
        .await;
    assert!(
        param(&location(&first).unwrap(), "code").is_some(),
        "the session answers with a code"
    );
    expect_page(
        browser
            .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
            .await,
        "invalid_request_uri",
    )
    .await;

    let uri = request_uri(&t, "default", &app, &[]).await;
    t.clock.advance(61);
    expect_page(
        browser
            .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
            .await,
        "invalid_request_uri",
    )
    .await;

    // Another server's /authorize does not know it; the org server pushes its own.
    let uri = request_uri(&t, "org", &app, &[]).await;
    expect_page(
        browser
            .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
            .await,
        "invalid_request_uri",
    )
    .await;
    let org = browser
        .get(&authorize_with(&t, "org", &app.client_id, &uri, &[]))
        .await;
    assert!(param(&location(&org).unwrap(), "code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_cannot_use_or_spend_a_request_uri() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let other = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let uri = request_uri(&t, "default", &app, &[]).await;
    expect_page(
        browser
            .get(&authorize_with(&t, "default", &other.client_id, &uri, &[]))
            .await,
        "invalid_request_uri",
    )
    .await;
    let missing = browser
        .get(&format!(
            "{}?request_uri={}",
            t.endpoint("default", "authorize"),
            uri
        ))
        .await;
    expect_page(missing, "invalid_request").await;
    // Still there for its own client.
    let own = browser
        .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
        .await;
    assert!(param(&location(&own).unwrap(), "code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_authenticates_the_client_and_validates_like_authorize() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let spa = t.spa().await;
    let other = t.web_app().await;

    let wrong = App {
        client_id: app.client_id.clone(),
        secret: Some("not the secret".into()),
    };
    let headers = expect_error(
        push(&t, "default", &wrong, &[]).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(headers.contains_key("www-authenticate"));
    let anonymous = App {
        client_id: app.client_id.clone(),
        secret: None,
    };
    expect_error(
        push(&t, "default", &anonymous, &[]).await,
        401,
        "invalid_client",
    )
    .await;
    // A public client pushes with its client_id (and must use PKCE).
    request_uri(&t, "default", &spa, &[]).await;
    expect_error(
        push(
            &t,
            "default",
            &spa,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;

    for (extra, status, error) in [
        (
            vec![("redirect_uri", "https://evil.example.com/cb")],
            400,
            "invalid_request",
        ),
        (vec![("scope", "openid admin")], 400, "invalid_scope"),
        (
            vec![("response_type", "token")],
            400,
            "unsupported_response_type",
        ),
        // RFC 6749 §2.3.1: a client_id in the body must be the authenticated one.
        (
            vec![("client_id", other.client_id.as_str())],
            401,
            "invalid_client",
        ),
        (
            vec![("request_uri", "urn:ietf:params:oauth:request_uri:abc")],
            400,
            "invalid_request",
        ),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            400,
            "invalid_request_object",
        ),
        (vec![("prompt", "none login")], 400, "invalid_request"),
    ] {
        expect_error(push(&t, "default", &app, &extra).await, status, error).await;
    }
    // A repeated parameter.
    let r = t
        .http
        .post(t.endpoint("default", "par"))
        .basic_auth(&app.client_id, app.secret.as_ref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("response_type=code&scope=openid&redirect_uri={REDIRECT}&state=a&state=b&code_challenge={CHALLENGE}&code_challenge_method=S256"))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_request").await;
    // A GET is not a push.
    let r = t
        .http
        .get(t.endpoint("default", "par"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_credentials_are_not_stored_with_the_request() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.app_with("client_secret_post", &[REDIRECT]).await;
    let secret = app.secret.clone().unwrap();
    let mut form = vec![
        ("client_id", app.client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    form.push(("state", "s"));
    let r = t
        .http
        .post(t.endpoint("default", "par"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let db = std::fs::read(t.dir.path().join("gatehouse.db")).unwrap();
    let wal = std::fs::read(t.dir.path().join("gatehouse.db-wal")).unwrap_or_default();
    let has = |hay: &[u8]| hay.windows(secret.len()).any(|w| w == secret.as_bytes());
    assert!(!has(&db) && !has(&wal), "the client secret is not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_request_uri_is_refused_without_being_fetched_and_request_objects_too() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign = format!("http://{}/request.jwt", listener.local_addr().unwrap());
    let browser = t.browser();

    // Nothing else trusted: a page.
    let r = browser
        .get(&authorize_with(
            &t,
            "default",
            &app.client_id,
            &foreign,
            &[],
        ))
        .await;
    expect_page(r, "request_uri_not_supported").await;
    // With a registered redirect_uri: the error goes back to the client.
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[("request_uri", &foreign)]))
        .await;
    let loc = location(&r).expect("a redirect");
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("request_uri_not_supported")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));
    let https = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[("request_uri", "https://rp.example.com/r")],
        ))
        .await;
    assert_eq!(
        param(&location(&https).unwrap(), "error").as_deref(),
        Some("request_uri_not_supported")
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.accept())
            .await
            .is_err(),
        "the server never connected to the request_uri"
    );

    let r = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
        ))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("invalid_request_object")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_requires_par_is_refused_a_plain_authorize() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t
        .create_app(NewApp {
            name: "PAR only".into(),
            redirect_uris: vec![REDIRECT.into()],
            require_pushed_authorization_requests: true,
            ..Default::default()
        })
        .await;
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let loc = location(&r).expect("trusted: back to the client");
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));

    let uri = request_uri(&t, "default", &app, &[]).await;
    let start = browser
        .get(&authorize_with(&t, "default", &app.client_id, &uri, &[]))
        .await;
    let back = browser
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    let code = param(&location(&back).unwrap(), "code").expect("a code");
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_sets_require_pushed_authorization_requests() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let body = serde_json::json!({
        "name": "oidc_client",
        "label": "PAR app",
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
        "settings": { "oauthClient": {
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "require_pushed_authorization_requests": true,
        } },
    });
    let (status, app) = api.post("/api/v1/apps", body.clone()).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(
        app["settings"]["oauthClient"]["require_pushed_authorization_requests"],
        true
    );
    let id = app["id"].as_str().unwrap();
    assert!(
        t.backend
            .store
            .get_client(id)
            .await
            .unwrap()
            .unwrap()
            .require_pushed_authorization_requests
    );
    let mut off = body;
    off["settings"]["oauthClient"]["require_pushed_authorization_requests"] = false.into();
    let (status, app) = api.put(&format!("/api/v1/apps/{id}"), off).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(
        app["settings"]["oauthClient"]["require_pushed_authorization_requests"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_an_app_that_requires_par() {
    let t = TestApp::spawn().await;
    let (ok, out, err) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "PAR CLI",
            "--redirect-uri",
            REDIRECT,
            "--require-pushed-authorization-requests",
        ],
        None,
    );
    assert!(ok, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        created["settings"]["oauthClient"]["require_pushed_authorization_requests"],
        true
    );
    let app = App {
        client_id: created["client_id"].as_str().unwrap().to_string(),
        secret: created["client_secret"].as_str().map(str::to_string),
    };
    let r = t
        .browser()
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
    request_uri(&t, "default", &app, &[]).await;
}

/// The pushed parameters are stored form-encoded, which can be longer than the body
/// sent (raw `/` becomes `%2F`) and, after a Basic push, hold one parameter more (the
/// client_id). What /authorize could not read back is refused at the push (§2.3), not
/// later with a spent request_uri.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_would_not_read_back_is_refused_at_the_push() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let base = format!(
        "response_type=code&scope=openid&redirect_uri={REDIRECT}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let send = |body: String| {
        t.http
            .post(t.endpoint("default", "par"))
            .basic_auth(&app.client_id, app.secret.as_ref())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // 30,000 raw slashes: under 64 KiB as sent, 90,000 bytes once encoded.
    let slashes = "/".repeat(30_000);
    let r = send(format!("{base}&login_hint={slashes}")).await.unwrap();
    expect_error(r, 400, "invalid_request").await;
    // A thousand still fit, and /authorize reads them back.
    let r = send(format!("{base}&login_hint={}", "/".repeat(1_000)))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let page = t
        .http
        .get(authorize_with(
            &t,
            "default",
            &app.client_id,
            body["request_uri"].as_str().unwrap(),
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert!(
        page.status().is_success() || page.status().is_redirection(),
        "{}",
        page.status()
    );

    // 100 parameters sent (the most a request may have) and the client_id added.
    let extra: String = (0..94).map(|n| format!("&ext{n}=v")).collect();
    let r = send(format!("{base}{extra}")).await.unwrap();
    expect_error(r, 400, "invalid_request").await;
}
