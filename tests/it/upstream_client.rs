//! The relying-party client toward an upstream provider (`gatehouse::upstream`):
//! against a real Gatehouse on loopback as the upstream (discovery, a real code from
//! its sign-in page, each client authentication, its ID token and userinfo), on
//! SQLite and PostgreSQL; and against a hostile upstream of this test's own (real
//! HTTP on loopback) whose every misbehaviour must end in its typed error.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse::admin::apps::NewApp;
use gatehouse::clock::Clock;
use gatehouse::crypto::MasterKey;
use gatehouse::outbound::FetchError;
use gatehouse::store::KeyStatus;
use gatehouse::tokens::keys;
use gatehouse::upstream::{
    self, Callback, Endpoint, Fault, Hints, IdTokenProblem, Kind, ProviderConfig, TokenAuth,
    Transaction, Upstream, UpstreamError,
};
use serde_json::{Value, json};

use crate::signer::{Key, hmac_sign_with};
use crate::support::*;

/// A provider configuration for `t`'s default server, completed from its discovery
/// document, for the app `app`.
async fn gatehouse_provider(t: &TestApp, app: &App, auth: TokenAuth) -> ProviderConfig {
    let issuer = t.issuer("default");
    let mut config = ProviderConfig::new(Kind::Oidc, &issuer, &app.client_id, app.secret.clone());
    config.allow_private = true;
    config.token_auth = auth;
    let limits = upstream::discovery::limits(&config);
    let metadata = upstream::discover(&issuer, true, limits)
        .await
        .expect("discovery");
    metadata.apply_to(&mut config).unwrap();
    config
}

/// Sends a browser through `begin`'s URL, signing `login` in at the upstream's page;
/// the callback it is sent back with.
async fn round_trip(browser: &Browser, url: &str, login: &str) -> Callback {
    let response = browser.get(url).await;
    let response = match location(&response) {
        Some(loc) if loc.starts_with("/login") => browser.sign_in(&loc, login, PASSWORD).await,
        _ => response,
    };
    let back = location(&response).expect("a redirect back");
    assert!(back.starts_with(REDIRECT), "{back}");
    Callback::from_query(url::Url::parse(&back).unwrap().query().unwrap_or("")).unwrap()
}

async fn against_a_real_gatehouse(t: TestApp) {
    let alice = t.user("alice").await;
    let now = t.clock.now();
    let client = Upstream::new();

    // client_secret_basic, then client_secret_post, then private_key_jwt.
    let basic = t.app_with("client_secret_basic", &[REDIRECT]).await;
    let post = t.app_with("client_secret_post", &[REDIRECT]).await;
    let master = MasterKey::from_bytes(&[9; 32]);
    let stored = keys::generate("upstream-client", KeyStatus::Active, now, &master);
    let ring = Arc::new(keys::keyring(&[stored], &master, now).unwrap().unwrap());
    let jwks: Value = serde_json::from_str(&ring.jwks).unwrap();
    let jwt_app = t
        .create_app(NewApp {
            name: "Downstream Gatehouse".into(),
            redirect_uris: vec![REDIRECT.into()],
            auth_method: Some("private_key_jwt".into()),
            jwks: Some(jwks),
            ..Default::default()
        })
        .await;
    for (app, auth) in [
        (&basic, TokenAuth::ClientSecretBasic),
        (&post, TokenAuth::ClientSecretPost),
        (&jwt_app, TokenAuth::PrivateKeyJwt(ring.clone())),
    ] {
        let method = auth.as_str();
        let config = gatehouse_provider(&t, app, auth).await;
        let hints = Hints {
            login_hint: Some("alice"),
            ..Default::default()
        };
        let begun = upstream::begin(&config, REDIRECT, &hints, now).unwrap();
        let browser = t.browser();
        let callback = round_trip(&browser, &begun.url, "alice").await;
        let who = client
            .finish(&config, &callback, &begun.transaction, REDIRECT, now)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(who.subject, alice.id, "{method}");
        assert_eq!(who.claims["iss"], t.issuer("default"));
        assert_eq!(who.claims["given_name"], "Alice", "userinfo merged in");
        assert!(who.id_token.is_some());
        assert!(
            !format!("{who:?}").contains(who.id_token.as_deref().unwrap()),
            "Debug redacts the ID token"
        );
        let hint = upstream::end_session_url(
            &config,
            who.id_token.as_deref(),
            Some("https://app.example.com/bye"),
            Some("s"),
        )
        .expect("Gatehouse publishes end_session_endpoint");
        assert!(hint.starts_with(&format!("{}/oauth2/default/v1/logout?", t.base)));

        // The same code again: the upstream refuses it, typed.
        let replay = client
            .finish(&config, &callback, &begun.transaction, REDIRECT, now)
            .await
            .unwrap_err();
        assert_eq!(
            replay,
            UpstreamError::Token {
                error: "invalid_grant".into()
            },
            "{method}"
        );
        assert_eq!(replay.fault(), Fault::Request);
    }

    let config = gatehouse_provider(&t, &basic, TokenAuth::ClientSecretBasic).await;

    // Another sign-in's transaction: the state does not match; nothing is exchanged.
    let browser = t.browser();
    let first = upstream::begin(&config, REDIRECT, &Hints::default(), now).unwrap();
    let second = upstream::begin(&config, REDIRECT, &Hints::default(), now).unwrap();
    let callback = round_trip(&browser, &first.url, "alice").await;
    let e = client
        .finish(&config, &callback, &second.transaction, REDIRECT, now)
        .await
        .unwrap_err();
    assert_eq!(e, UpstreamError::State);
    // The right state with another sign-in's nonce: the ID token's nonce is refused.
    let mixed = Transaction {
        nonce: second.transaction.nonce.clone(),
        ..first.transaction.clone()
    };
    let e = client
        .finish(&config, &callback, &mixed, REDIRECT, now)
        .await
        .unwrap_err();
    assert_eq!(e, UpstreamError::IdToken(IdTokenProblem::Nonce));

    // prompt=none without a session at the upstream: its error comes back typed.
    let hints = Hints {
        prompt: Some("none"),
        ..Default::default()
    };
    let begun = upstream::begin(&config, REDIRECT, &hints, now).unwrap();
    let callback = round_trip(&t.browser(), &begun.url, "alice").await;
    let e = client
        .finish(&config, &callback, &begun.transaction, REDIRECT, now)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        UpstreamError::Denied {
            error: "login_required".into()
        }
    );
    assert_eq!(e.fault(), Fault::User);

    // The wrong client secret: the token endpoint's invalid_client, a setup fault.
    let mut wrong = config.clone();
    wrong.client_secret = Some("not-the-secret".into());
    let begun = upstream::begin(&wrong, REDIRECT, &Hints::default(), now).unwrap();
    let callback = round_trip(&t.browser(), &begun.url, "alice").await;
    let e = client
        .finish(&wrong, &callback, &begun.transaction, REDIRECT, now)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        UpstreamError::Token {
            error: "invalid_client".into()
        }
    );
    assert_eq!(e.fault(), Fault::Configuration);

    // The same provider as plain OAuth 2.0: userinfo is the identity.
    let mut oauth = config.clone();
    oauth.kind = Kind::OAuth2;
    oauth.subject_claim = "sub".into();
    oauth.scopes = vec!["openid".into(), "profile".into()];
    let begun = upstream::begin(&oauth, REDIRECT, &Hints::default(), now).unwrap();
    let callback = round_trip(&t.browser(), &begun.url, "alice").await;
    let who = client
        .finish(&oauth, &callback, &begun.transaction, REDIRECT, now)
        .await
        .unwrap();
    assert_eq!(who.subject, alice.id);
    assert_eq!(who.id_token, None);

    // A discovery document asked for under another issuer name is refused.
    let e = upstream::discover(
        &format!("{}/", t.issuer("default")),
        true,
        upstream::discovery::limits(&config),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, UpstreamError::Discovery(_)), "{e:?}");
    // Without allow_private, the loopback upstream is not fetched at all.
    let e = upstream::discover(
        &t.issuer("default"),
        false,
        upstream::discovery::limits(&config),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            UpstreamError::Fetch {
                endpoint: Endpoint::Discovery,
                error: FetchError::Url | FetchError::Address
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_real_gatehouse_upstream_signs_the_person_in() {
    against_a_real_gatehouse(TestApp::spawn().await).await;
}

#[tokio::test]
async fn a_real_gatehouse_upstream_signs_the_person_in_on_postgres() {
    if std::env::var("GATEHOUSE_TEST_POSTGRES_URL").is_err() {
        return;
    }
    against_a_real_gatehouse(TestApp::spawn_postgres().await).await;
}

// ---------------------------------------------------------------------------------
// The hostile upstream.

const CLIENT: &str = "downstream";
const SECRET: &str = "a-client-secret-of-at-least-32-bytes!";

pub struct Hostile {
    pub base: String,
    key: Key,
    stranger: Key,
}

pub type Shared = Arc<Hostile>;

/// Good ID token claims; the test passes the transaction's nonce as the code, so the
/// token endpoint can put it back.
fn good_claims(h: &Hostile, nonce: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({"iss": h.base, "sub": "u-1", "aud": CLIENT, "iat": now, "exp": now + 300,
           "nonce": nonce, "email": "u@corp.example", "email_verified": true})
}

fn tokens_with(id_token: Option<String>) -> Response {
    let mut body = json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 300});
    if let Some(t) = id_token {
        body["id_token"] = json!(t);
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn token(
    State(h): State<Shared>,
    Path(mode): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let nonce = form
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut claims = good_claims(&h, &nonce);
    let signed = |claims: &Value| h.key.sign(&json!({"alg": "RS256", "kid": "k1"}), claims);
    let token = match mode.as_str() {
        "ok" | "usersub" => signed(&claims),
        "none" => {
            let t = signed(&claims);
            let (_, rest) = t.split_once('.').unwrap();
            let (payload, _) = rest.split_once('.').unwrap();
            format!("{}.{payload}.", crate::signer::b64(br#"{"alg":"none"}"#))
        }
        "hs256" => hmac_sign_with(
            &json!({"alg": "HS256", "kid": "k1"}),
            SECRET.as_bytes(),
            &claims,
        ),
        "stranger" => h
            .stranger
            .sign(&json!({"alg": "RS256", "kid": "k2"}), &claims),
        "forged" => h
            .stranger
            .sign(&json!({"alg": "RS256", "kid": "k1"}), &claims),
        "iss" => {
            claims["iss"] = json!("https://someone-else.example");
            signed(&claims)
        }
        "aud" => {
            claims["aud"] = json!("another-client");
            signed(&claims)
        }
        "azp" => {
            claims["aud"] = json!([CLIENT, "another-client"]);
            signed(&claims)
        }
        "expired" => {
            claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
            signed(&claims)
        }
        "nonce" => {
            claims["nonce"] = json!("another-nonce");
            signed(&claims)
        }
        "at_hash" => {
            claims["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
            signed(&claims)
        }
        "missing" => return tokens_with(None),
        "big" => {
            let filler = "x".repeat(5 * 1024 * 1024);
            return ([(header::CONTENT_TYPE, "application/json")], filler).into_response();
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK.into_response();
        }
        "redirect" => {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, format!("{}/ok/token", h.base))],
            )
                .into_response();
        }
        "error500" => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "refused" => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"invalid_grant","error_description":"secret-looking text"}"#,
            )
                .into_response();
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    tokens_with(Some(token))
}

async fn jwks(State(h): State<Shared>) -> Response {
    let body = json!({"keys": [h.key.jwk("k1")]});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn userinfo(Path(mode): Path<String>) -> Response {
    let sub = if mode == "usersub" { "u-2" } else { "u-1" };
    let body = json!({"sub": sub, "given_name": "Uma"});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn discovery(State(h): State<Shared>, Path(mode): Path<String>) -> Response {
    let issuer = if mode == "liar" {
        format!("{}/someone-else", h.base)
    } else {
        format!("{}/{mode}", h.base)
    };
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/{mode}/authorize", h.base),
        "token_endpoint": format!("{}/{mode}/token", h.base),
        "jwks_uri": format!("{}/jwks", h.base),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub async fn hostile() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let h = Arc::new(Hostile {
        base,
        key: Key::rsa(),
        stranger: Key::rsa(),
    });
    let router = axum::Router::new()
        .route("/{mode}/token", axum::routing::post(token))
        .route("/{mode}/userinfo", axum::routing::get(userinfo))
        .route(
            "/{mode}/.well-known/openid-configuration",
            axum::routing::get(discovery),
        )
        .route("/jwks", axum::routing::get(jwks))
        .with_state(h.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    h
}

/// A provider whose token endpoint behaves as `mode` says.
fn provider(h: &Hostile, mode: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(Kind::Oidc, &h.base, CLIENT, Some(SECRET.into()));
    c.authorization_endpoint = format!("{}/{mode}/authorize", h.base);
    c.token_endpoint = format!("{}/{mode}/token", h.base);
    c.userinfo_endpoint = Some(format!("{}/{mode}/userinfo", h.base));
    c.jwks_uri = Some(format!("{}/jwks", h.base));
    c.allow_private = true;
    c.timeout = Duration::from_secs(1);
    c
}

/// `finish` against `mode`, the code being the transaction's nonce (see `good_claims`).
async fn finish_against(
    client: &Upstream,
    h: &Hostile,
    mode: &str,
) -> Result<upstream::UpstreamIdentity, UpstreamError> {
    let config = provider(h, mode);
    let begun = upstream::begin(&config, REDIRECT, &Hints::default(), 0).unwrap();
    let callback = Callback {
        code: Some(begun.transaction.nonce.clone()),
        state: Some(begun.transaction.state.clone()),
        ..Default::default()
    };
    client
        .finish(&config, &callback, &begun.transaction, REDIRECT, now())
        .await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_hostile_upstream_gets_its_typed_error_for_each_misbehaviour() {
    let h = hostile().await;
    let client = Upstream::new();

    // The harness is honest: a well-behaved answer signs the person in.
    let who = finish_against(&client, &h, "ok").await.unwrap();
    assert_eq!(who.subject, "u-1");
    assert_eq!(who.claims["given_name"], "Uma");
    assert!(who.email_verified);

    let id = UpstreamError::IdToken;
    let fetch = |error| UpstreamError::Fetch {
        endpoint: Endpoint::Token,
        error,
    };
    for (mode, want) in [
        ("none", id(IdTokenProblem::Alg)),
        ("hs256", id(IdTokenProblem::Alg)),
        ("stranger", id(IdTokenProblem::UnknownKey)),
        ("forged", id(IdTokenProblem::Signature)),
        ("iss", id(IdTokenProblem::Issuer)),
        ("aud", id(IdTokenProblem::Audience)),
        ("azp", id(IdTokenProblem::AuthorizedParty)),
        ("expired", id(IdTokenProblem::Expired)),
        ("nonce", id(IdTokenProblem::Nonce)),
        ("at_hash", id(IdTokenProblem::AccessTokenHash)),
        ("missing", id(IdTokenProblem::Missing)),
        ("big", fetch(FetchError::TooLarge)),
        ("hang", fetch(FetchError::Timeout)),
        ("redirect", fetch(FetchError::Status(302))),
        ("error500", fetch(FetchError::Status(500))),
        (
            "refused",
            UpstreamError::Token {
                error: "invalid_grant".into(),
            },
        ),
        (
            "usersub",
            UpstreamError::Response {
                endpoint: Endpoint::Userinfo,
                problem: "its sub is not the ID token's",
            },
        ),
    ] {
        let got = finish_against(&client, &h, mode).await.unwrap_err();
        assert_eq!(got, want, "{mode}");
        let shown = got.to_string();
        assert!(
            !shown.contains(SECRET) && !shown.contains("at-1") && !shown.contains("secret-looking"),
            "{mode}: {shown}"
        );
        assert_ne!(got.fault(), Fault::User, "{mode}");
    }

    // Discovery that names another issuer.
    let limits = upstream::discovery::limits(&provider(&h, "ok"));
    let e = upstream::discover(&format!("{}/liar", h.base), true, limits)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Discovery(_)), "{e:?}");
    let m = upstream::discover(&format!("{}/ok", h.base), true, limits)
        .await
        .unwrap();
    assert_eq!(m.token_endpoint, Some(format!("{}/ok/token", h.base)));
}

#[tokio::test]
async fn the_authorization_response_is_checked_before_any_exchange() {
    let h = hostile().await;
    let client = Upstream::new();
    // "hang" would take the whole time cap if anything were fetched.
    let mut config = provider(&h, "hang");
    let begun = upstream::begin(&config, REDIRECT, &Hints::default(), 0).unwrap();
    let tx = &begun.transaction;
    let good = Callback {
        code: Some("c".into()),
        state: Some(tx.state.clone()),
        ..Default::default()
    };
    let cases = [
        (
            Callback {
                state: None,
                ..good.clone()
            },
            UpstreamError::State,
        ),
        (
            Callback {
                state: Some("forged".into()),
                ..good.clone()
            },
            UpstreamError::State,
        ),
        (
            Callback {
                iss: Some("https://mix-up.example".into()),
                ..good.clone()
            },
            UpstreamError::Issuer,
        ),
        (
            Callback {
                code: None,
                error: Some("access_denied".into()),
                ..good.clone()
            },
            UpstreamError::Denied {
                error: "access_denied".into(),
            },
        ),
        (
            Callback {
                code: None,
                ..good.clone()
            },
            UpstreamError::Callback("it has neither code nor error"),
        ),
    ];
    for (callback, want) in cases {
        let got = client
            .finish(&config, &callback, tx, REDIRECT, now())
            .await
            .unwrap_err();
        assert_eq!(got, want, "{callback:?}");
    }
    // RFC 9207: a provider that says it sends iss must send it.
    config.iss_parameter_supported = true;
    let got = client
        .finish(&config, &good, tx, REDIRECT, now())
        .await
        .unwrap_err();
    assert_eq!(got, UpstreamError::Issuer);
    let with_iss = Callback {
        iss: Some(h.base.clone()),
        ..good
    };
    let got = client
        .finish(&config, &with_iss, tx, REDIRECT, now())
        .await
        .unwrap_err();
    assert_eq!(
        got,
        UpstreamError::Fetch {
            endpoint: Endpoint::Token,
            error: FetchError::Timeout
        },
        "with the right iss it goes on to the (hanging) token endpoint"
    );
}
