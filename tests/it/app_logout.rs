//! Logout to the apps: OpenID Connect Back-Channel Logout 1.0 (logout tokens POSTed to
//! apps of this test's own, on loopback) and Front-Channel Logout 1.0 (the iframes of
//! the signed-out page), with `sid` in ID tokens.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::admin::apps::NewApp;
use gatehouse::clock::Clock;
use gatehouse::config::ClientAuthConfig;
use gatehouse::store::LogoutChannels;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{IssuerUrl, JsonWebKey};
use serde_json::{Value, json};

use crate::support::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const BYE: &str = "https://app.example.com/bye";

/// An app's back-channel logout endpoint on loopback: what it was POSTed, answered 200
/// after `delay`.
#[derive(Clone)]
struct Receiver {
    uri: String,
    got: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(delay: Duration) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, delay)
    }

    fn on(listener: tokio::net::TcpListener, delay: Duration) -> Receiver {
        let uri = format!("http://{}/backchannel", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route(
                "/backchannel",
                axum::routing::post(
                    move |State(got): State<Arc<Mutex<Vec<String>>>>, body: String| async move {
                        tokio::time::sleep(delay).await;
                        got.lock().unwrap().push(body);
                        StatusCode::OK
                    },
                ),
            )
            .with_state(got.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { uri, got }
    }

    /// The logout tokens received so far, waiting up to `wait` for the first `n`.
    async fn tokens(&self, n: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let got: Vec<String> = self.got.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got
                    .iter()
                    .map(|body| {
                        url::form_urlencoded::parse(body.as_bytes())
                            .find(|(k, _)| k == "logout_token")
                            .expect("a logout_token parameter")
                            .1
                            .into_owned()
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn app(name: &str, backchannel: Option<&str>, frontchannel: Option<&str>) -> NewApp {
    NewApp {
        name: name.into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![BYE.into()],
        auth_method: Some("client_secret_basic".into()),
        logout: LogoutChannels {
            frontchannel_logout_uri: frontchannel.map(str::to_string),
            frontchannel_logout_session_required: true,
            backchannel_logout_uri: backchannel.map(str::to_string),
            backchannel_logout_session_required: true,
        },
        allow_private_jwks_uri: true,
        ..Default::default()
    }
}

/// The ID token `app` gets in `browser`'s session (signing alice in the first time).
async fn id_token(t: &TestApp, browser: &Browser, app: &App) -> String {
    let code = t.code(browser, "default", app, "alice@example.com").await;
    let body: Value = t.redeem("default", app, &code).await.json().await.unwrap();
    body["id_token"].as_str().expect("an ID token").to_string()
}

/// Back-Channel Logout 1.0 §2.4 and §2.6: the token's signature with the key its `kid`
/// names in the JWKS an RP discovers, its header, and its claims; answers the claims.
async fn verified(t: &TestApp, token: &str) -> Value {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(t.issuer("default")).unwrap(),
        &no_redirects(),
    )
    .await
    .expect("discovery");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().expect("a kid");
    let key = metadata
        .jwks()
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid))
        .expect("the kid is in the JWKS");
    let (message, signature) = token.rsplit_once('.').unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        message.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .expect("signed by the server's key");
    let claims = claims_of(token);
    assert_eq!(claims["iss"], t.issuer("default"));
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "§2.4: never a nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=300).contains(&lifetime), "a short exp: {lifetime}");
    claims
}

/// One session, three apps with back-channel URIs: one up, one down, one slow. Signing
/// out answers at once; the app that is up gets a logout token it can verify with the
/// JWKS, naming the ID tokens' `sid`; the one that was down gets it later, retried;
/// the slow one holds up nothing. Then an admin clearing a user's sessions tells the
/// apps too, and an app with a front-channel URI is loaded in the signed-out page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_session_tells_every_app_signed_in_through_it() {
    let t = TestApp::spawn_with_client_auth(ClientAuthConfig {
        allow_private_jwks_uri: true,
        ..Default::default()
    })
    .await;
    let alice = t.user("alice@example.com").await;
    let up = Receiver::start(Duration::ZERO).await;
    let down_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_addr = down_listener.local_addr().unwrap();
    drop(down_listener);
    let down_uri = format!("http://{down_addr}/backchannel");
    let slow = Receiver::start(Duration::from_secs(30)).await;
    let a = t.create_app(app("Up", Some(&up.uri), None)).await;
    let b = t.create_app(app("Down", Some(&down_uri), None)).await;
    let c = t.create_app(app("Slow", Some(&slow.uri), None)).await;

    let browser = t.browser();
    let id_a = id_token(&t, &browser, &a).await;
    let id_b = id_token(&t, &browser, &b).await;
    id_token(&t, &browser, &c).await;
    let sid = claims_of(&id_a)["sid"]
        .as_str()
        .expect("Back-Channel Logout §2.1: the ID token has sid")
        .to_string();
    assert_eq!(
        claims_of(&id_b)["sid"],
        sid.as_str(),
        "one session, one sid"
    );
    let discovery: Value = t
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
    for flag in [
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ] {
        assert_eq!(discovery[flag], true, "{flag}");
    }

    // RP-initiated logout from app a: the redirect comes at once, whatever the apps do.
    let logout = format!(
        "{}?id_token_hint={id_a}&post_logout_redirect_uri={}",
        t.endpoint("default", "logout"),
        url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
    );
    let signed_out_at = t.clock.now();
    let started = Instant::now();
    let response = browser.get(&logout).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response).as_deref(), Some(BYE));
    // Under the five seconds the slow app's delivery is given (remote_jwks::POST_TIMEOUT).
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "sign-out waited for the apps: {:?}",
        started.elapsed()
    );

    let tokens = up.tokens(1, Duration::from_secs(5)).await;
    assert_eq!(tokens.len(), 1, "app a was told once");
    let claims = verified(&t, &tokens[0]).await;
    assert_eq!(claims["aud"], a.client_id.as_str());
    assert_eq!(claims["sub"], alice.id.as_str());
    assert_eq!(claims["sid"], sid.as_str());

    // The app that was down: its delivery failed and waits for a later attempt. The three
    // deliveries run side by side, so app a's arrival says nothing of app b's: wait for
    // b's failure to be recorded.
    let store = t.backend.store.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let pending = store.pending_logout_jobs().await.unwrap();
        let b_failed = pending
            .iter()
            .any(|j| j.client_id == b.client_id && j.last_error.is_some());
        if b_failed || Instant::now() > deadline {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let of = |client: &str| pending.iter().find(|j| j.client_id == client).cloned();
    let job_b = of(&b.client_id).expect("app b's delivery is kept");
    assert_eq!(job_b.attempts, 1);
    assert!(
        job_b
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("reached")
    );
    assert!(job_b.next_attempt_at >= signed_out_at + 30);
    // The slow app is being waited for (its attempt times out), by no request.
    let job_c = of(&c.client_id).expect("app c's delivery is under way");
    assert_eq!(job_c.attempts, 1);

    // App b comes up; half a minute later its delivery is retried and arrives, whether or
    // not the slow app's attempt has ended.
    let back = Receiver::on(
        tokio::net::TcpListener::bind(down_addr).await.unwrap(),
        Duration::ZERO,
    );
    t.clock
        .advance((job_b.next_attempt_at - t.clock.now() + 1).max(1));
    let tokens = back.tokens(1, Duration::from_secs(10)).await;
    assert_eq!(tokens.len(), 1, "app b was told on the retry");
    let claims = verified(&t, &tokens[0]).await;
    assert_eq!(claims["aud"], b.client_id.as_str());
    assert_eq!(claims["sid"], sid.as_str());

    // A new session; an admin ends every session of alice's ("sign out everywhere").
    let browser = t.browser();
    let id_again = id_token(&t, &browser, &a).await;
    let new_sid = claims_of(&id_again)["sid"].as_str().unwrap().to_string();
    assert_ne!(new_sid, sid, "a new session, a new sid");
    let api = t.api().await;
    let status = api
        .delete(&format!("/api/v1/users/{}/sessions", alice.id))
        .await;
    assert_eq!(status, 204);
    let tokens = up.tokens(2, Duration::from_secs(5)).await;
    assert_eq!(tokens.len(), 2, "app a was told of the second session too");
    assert_eq!(verified(&t, &tokens[1]).await["sid"], new_sid.as_str());

    // Front-channel: an app with a front-channel URI (on its redirect URI's origin) is
    // loaded in the signed-out page, with iss and sid, and only its origin may be framed.
    let d = t
        .create_app(app("Front", None, Some("https://app.example.com/fc?x=1")))
        .await;
    let browser = t.browser();
    let id_d = id_token(&t, &browser, &d).await;
    let sid_d = claims_of(&id_d)["sid"].as_str().unwrap().to_string();
    let logout = format!(
        "{}?id_token_hint={id_d}&post_logout_redirect_uri={}",
        t.endpoint("default", "logout"),
        url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
    );
    let response = browser.get(&logout).await;
    assert_eq!(
        response.status(),
        200,
        "the signed-out page, not a redirect"
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.ends_with("frame-src https://app.example.com"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    let iss =
        url::form_urlencoded::byte_serialize(t.issuer("default").as_bytes()).collect::<String>();
    let src = format!("https://app.example.com/fc?x=1&#38;iss={iss}&#38;sid={sid_d}");
    assert!(html.contains(&src), "no iframe {src} in {html}");
    assert!(html.contains(&format!("href=\"{BYE}\"")), "{html}");
}

/// Registration refuses a back-channel URI the server would connect to on its own
/// network, and a front-channel URI off the app's redirect URIs' origins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_uris_are_checked_at_registration() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let body = |settings: Value| {
        let mut oauth = json!({
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
        });
        oauth
            .as_object_mut()
            .unwrap()
            .extend(settings.as_object().unwrap().clone());
        json!({
            "name": "oidc_client",
            "label": "Logout",
            "signOnMode": "OPENID_CONNECT",
            "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
            "settings": { "oauthClient": oauth },
        })
    };
    for (settings, field) in [
        (
            json!({"backchannel_logout_uri": "https://10.0.0.7/logout"}),
            "backchannel_logout_uri",
        ),
        (
            json!({"backchannel_logout_uri": "https://169.254.169.254/latest"}),
            "backchannel_logout_uri",
        ),
        (
            json!({"backchannel_logout_uri": "http://logout.example.com/bc"}),
            "backchannel_logout_uri",
        ),
        (
            json!({"backchannel_logout_uri": "https://localhost/bc"}),
            "backchannel_logout_uri",
        ),
        (
            json!({"frontchannel_logout_uri": "https://evil.example.net/fc"}),
            "frontchannel_logout_uri",
        ),
        (
            json!({"frontchannel_logout_uri": "https://app.example.com/fc#x"}),
            "frontchannel_logout_uri",
        ),
    ] {
        let (status, error) = api.post("/api/v1/apps", body(settings.clone())).await;
        assert_eq!(status, 400, "{settings}: {error}");
        assert!(error.to_string().contains(field), "{settings}: {error}");
    }
    let good = json!({
        "backchannel_logout_uri": "https://logout.example.com/bc?tenant=1",
        "backchannel_logout_session_required": true,
        "frontchannel_logout_uri": "https://app.example.com/fc",
        "frontchannel_logout_session_required": true,
    });
    let (status, created) = api.post("/api/v1/apps", body(good.clone())).await;
    assert_eq!(status, 200, "{created}");
    for (name, value) in good.as_object().unwrap() {
        assert_eq!(&created["settings"]["oauthClient"][name], value, "{name}");
    }
}
