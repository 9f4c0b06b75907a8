//! `PUT /api/v1/apps/{id}` changing what the console edits on an app: the token
//! endpoint authentication method (RFC 6749 §2.3.1, RFC 7523 §2.2), its JWKS and the
//! DPoP switch (RFC 9449 §5.2), each seen to take effect at /token, and each bad input
//! refused with Okta's error body, the app left as it was.

use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::client_jwt::{cc_with, claims, register};
use crate::signer::Key;
use crate::support::*;

const AUTH_METHOD: &str = "credentials.oauthClient.token_endpoint_auth_method";
const JWKS: &str = "settings.oauthClient.jwks";

/// The PUT body of a service app (client_credentials) with this method and extras.
fn service(auth_method: &str, extra: Value) -> Value {
    let mut oauth = json!({
        "grant_types": ["client_credentials"],
        "redirect_uris": [],
        "response_types": [],
        "application_type": "service",
    });
    for (k, v) in extra.as_object().unwrap() {
        oauth[k] = v.clone();
    }
    json!({
        "name": "oidc_client",
        "label": "Service",
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": auth_method } },
        "settings": { "oauthClient": oauth },
    })
}

async fn basic_cc(t: &TestApp, id: &str, secret: &str) -> u16 {
    t.http
        .post(t.endpoint("default", "token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn assertion(t: &TestApp, key: &Key, kid: &str, id: &str) -> String {
    key.sign(
        &json!({"alg": key.alg(), "kid": kid, "typ": "JWT"}),
        &claims(id, &t.endpoint("default", "token"), t.clock.now()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_moves_an_app_between_secret_and_key_methods_and_turns_dpop_on() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let (status, created) = register(
        &api,
        "client_secret_basic",
        &["client_credentials"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/apps/{id}");
    assert_eq!(basic_cc(&t, &id, &secret).await, 200);

    // To private_key_jwt with a JWKS: the key authenticates, the secret no longer does.
    let key = Key::ec();
    let jwks = json!({"keys": [key.jwk("k1")]});
    let (status, moved) = api
        .put(&path, service("private_key_jwt", json!({"jwks": jwks})))
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        moved["credentials"]["oauthClient"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(moved["settings"]["oauthClient"]["jwks"], jwks);
    assert!(
        moved["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );
    assert_eq!(
        cc_with(&t, &id, &assertion(&t, &key, "k1", &id))
            .await
            .status(),
        200
    );
    assert_eq!(
        basic_cc(&t, &id, &secret).await,
        401,
        "the method is private_key_jwt now"
    );

    // A new JWKS replaces the old one: the old key stops working at once.
    let next = Key::rsa();
    let (status, _) = api
        .put(
            &path,
            service(
                "private_key_jwt",
                json!({"jwks": {"keys": [next.jwk("k2")]}}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        cc_with(&t, &id, &assertion(&t, &next, "k2", &id))
            .await
            .status(),
        200
    );
    assert_eq!(
        cc_with(&t, &id, &assertion(&t, &key, "k1", &id))
            .await
            .status(),
        401
    );

    // Back to client_secret_basic: the kept secret works again; DPoP on in the same PUT.
    let (status, back) = api
        .put(
            &path,
            service(
                "client_secret_basic",
                json!({"dpop_bound_access_tokens": true}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{back}");
    assert!(
        back["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none(),
        "an active secret exists: none made"
    );
    assert_eq!(
        back["settings"]["oauthClient"]["dpop_bound_access_tokens"],
        true
    );
    assert!(back["settings"]["oauthClient"].get("jwks").is_none());
    let response = t
        .http
        .post(t.endpoint("default", "token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_dpop_proof").await;
    // And off again.
    let (status, _) = api
        .put(&path, service("client_secret_basic", json!({})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(basic_cc(&t, &id, &secret).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_app_moved_to_a_secret_method_gets_a_secret_shown_once() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let key = Key::ec();
    let (status, created) = register(
        &api,
        "private_key_jwt",
        &["client_credentials"],
        json!({"jwks": {"keys": [key.jwk("k1")]}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert!(
        created["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );
    let id = created["id"].as_str().unwrap().to_string();
    let (status, moved) = api
        .put(
            &format!("/api/v1/apps/{id}"),
            service("client_secret_post", json!({})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    let secret = moved["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .expect("a new secret, shown once")
        .to_string();
    let post = t
        .http
        .post(t.endpoint("default", "token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api:read"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let (_, read) = api.get(&format!("/api/v1/apps/{id}")).await;
    assert!(
        read["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none(),
        "never shown again"
    );
    let (_, secrets) = api
        .get(&format!("/api/v1/apps/{id}/credentials/secrets"))
        .await;
    assert_eq!(secrets.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_auth_method_jwks_and_dpop_changes_are_refused_and_change_nothing() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (_, created) = register(
        &api,
        "client_secret_basic",
        &["client_credentials"],
        json!({}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/apps/{id}");
    let (_, before) = api.get(&path).await;
    let mut private = Key::ec().jwk("k1");
    private["d"] = json!("c2VjcmV0");
    let key = Key::ec().jwk("k1");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "an unknown method",
            service("client_secret_magic", json!({})),
            AUTH_METHOD,
        ),
        (
            "private_key_jwt without keys",
            service("private_key_jwt", json!({})),
            JWKS,
        ),
        (
            "a private key member",
            service("private_key_jwt", json!({"jwks": {"keys": [private]}})),
            JWKS,
        ),
        (
            "an empty key set",
            service("private_key_jwt", json!({"jwks": {"keys": []}})),
            JWKS,
        ),
        (
            "a JWKS that is not a set",
            service("private_key_jwt", json!({"jwks": "k1"})),
            JWKS,
        ),
        (
            "a JWKS for a secret method",
            service(
                "client_secret_basic",
                json!({"jwks": {"keys": [key.clone()]}}),
            ),
            JWKS,
        ),
        (
            "both jwks and jwks_uri",
            service(
                "private_key_jwt",
                json!({"jwks": {"keys": [key]}, "jwks_uri": "https://keys.example.com/jwks"}),
            ),
            JWKS,
        ),
        (
            "none on a confidential app",
            service(
                "none",
                json!({"grant_types": ["authorization_code"], "redirect_uris": [REDIRECT], "response_types": ["code"], "application_type": "browser"}),
            ),
            AUTH_METHOD,
        ),
    ];
    for (why, body, field) in cases {
        let (status, error) = api.put(&path, body).await;
        assert_eq!(status, 400, "{why}: {error}");
        let (code, causes) = okta_error(&error);
        assert_eq!(code, "E0000001", "{why}: {error}");
        assert!(causes[0].starts_with(field), "{why}: {causes:?}");
    }
    // A switch that is not a boolean is refused as malformed JSON (Okta's E0000003).
    let (status, error) = api
        .put(
            &path,
            service(
                "client_secret_basic",
                json!({"dpop_bound_access_tokens": "yes"}),
            ),
        )
        .await;
    assert_eq!(
        (status, error["errorCode"].as_str()),
        (400, Some("E0000003")),
        "{error}"
    );
    let (_, after) = api.get(&path).await;
    assert_eq!(before, after, "nothing half-written");
}
