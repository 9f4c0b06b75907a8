//! Token introspection (RFC 7662) at `/v1/introspect`: what an active access or refresh
//! token says about itself, and exactly `{"active": false}` for everything else.

use openidconnect::core::CoreTokenType;
use openidconnect::{OAuth2TokenResponse, TokenIntrospectionResponse};
use serde_json::{Value, json};

use crate::support::*;

fn field(tokens: &Value, name: &str) -> String {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {tokens}"))
        .to_string()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

const ACTIVE_FIELDS: &[&str] = &[
    "active",
    "aud",
    "client_id",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "scope",
    "sub",
    "token_type",
    "uid",
    "username",
];

async fn expect_inactive(t: &TestApp, server: &str, app: &App, token: &str, what: &str) {
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        let mut form = vec![("token", token)];
        form.extend(hint.map(|h| ("token_type_hint", h)));
        let answer = expect_no_store_json(t.post_as(server, "introspect", app, &form).await).await;
        assert_eq!(answer, json!({"active": false}), "{what} (hint {hint:?})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_access_token() {
    an_active_access_token_on(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_access_token_on_postgres() {
    an_active_access_token_on(TestApp::spawn_postgres().await).await;
}

async fn an_active_access_token_on(t: TestApp) {
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    for server in ["default", "org"] {
        let at = field(
            &t.tokens(server, &app, "alice@example.com", "openid profile")
                .await,
            "access_token",
        );
        let claims = claims_of(&at);
        let answer = expect_no_store_json(
            t.post_as(server, "introspect", &app, &[("token", &at)])
                .await,
        )
        .await;
        assert_eq!(keys(&answer), ACTIVE_FIELDS, "{answer}");
        let audience = if server == "org" {
            t.issuer("org")
        } else {
            "api://default".into()
        };
        assert_eq!(
            answer,
            json!({
                "active": true,
                "scope": "openid profile",
                "client_id": app.client_id,
                "username": "alice@example.com",
                "token_type": "Bearer",
                "exp": claims["exp"],
                "iat": claims["iat"],
                "nbf": claims["iat"],
                "sub": "alice@example.com",
                "aud": audience,
                "iss": t.issuer(server),
                "jti": claims["jti"],
                "uid": alice.id,
            })
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        // The hint does not change the answer.
        let hinted = t
            .post_as(
                server,
                "introspect",
                &app,
                &[("token", &at), ("token_type_hint", "refresh_token")],
            )
            .await;
        assert_eq!(expect_no_store_json(hinted).await, answer);
        // Any confidential client may introspect an access token (a resource server).
        let resource_server = t.web_app().await;
        assert_eq!(t.introspect(server, &resource_server, &at).await, answer);
        // A public client proves only its client_id: it learns about its own tokens only.
        let spa = t.spa().await;
        expect_inactive(
            &t,
            server,
            &spa,
            &at,
            "another client's token, asked by a public client",
        )
        .await;
        let own = field(
            &t.tokens(server, &spa, "alice@example.com", "openid").await,
            "access_token",
        );
        assert_eq!(t.introspect(server, &spa, &own).await["active"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_refresh_token_answers_only_its_client() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let other = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let rt = field(&tokens, "refresh_token");
    let iat = claims_of(&field(&tokens, "access_token"))["iat"]
        .as_i64()
        .unwrap();

    for hint in [Some("refresh_token"), None] {
        let mut form = vec![("token", rt.as_str())];
        form.extend(hint.map(|h| ("token_type_hint", h)));
        let answer =
            expect_no_store_json(t.post_as("default", "introspect", &app, &form).await).await;
        assert_eq!(keys(&answer), ACTIVE_FIELDS, "{answer}");
        assert_eq!(answer["active"], true);
        assert_eq!(answer["token_type"], "refresh_token", "never Bearer");
        assert_eq!(answer["scope"], "openid offline_access");
        assert_eq!(answer["client_id"], app.client_id.as_str());
        assert_eq!(answer["username"], "alice@example.com");
        assert_eq!(
            answer["sub"], "alice@example.com",
            "the login, as an access token's"
        );
        assert_eq!(answer["uid"], alice.id.as_str());
        assert_eq!(answer["iss"], t.issuer("default").as_str());
        assert_eq!(answer["aud"], "api://default");
        assert_eq!(answer["iat"], iat);
        assert_eq!(answer["nbf"], iat);
        assert_eq!(
            answer["exp"],
            iat + 7 * 24 * 3600,
            "the idle window bounds it"
        );
        assert!(
            answer["jti"].as_str().unwrap().starts_with("RT."),
            "{answer}"
        );
    }
    expect_inactive(&t, "default", &other, &rt, "another client's refresh token").await;
    // Asking did not spend it.
    expect_no_store_json(t.refresh("default", &app, &rt, None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_malformed_tokens_are_inactive() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let at = field(&tokens, "access_token");
    let id_token = field(&tokens, "id_token");
    let org_at = field(
        &t.tokens("org", &app, "alice@example.com", "openid").await,
        "access_token",
    );

    // A token of another Gatehouse: its own keys, its own issuer.
    let elsewhere = TestApp::spawn().await;
    elsewhere.user("alice@example.com").await;
    let their_app = elsewhere.web_app().await;
    let foreign = field(
        &elsewhere
            .tokens("default", &their_app, "alice@example.com", "openid")
            .await,
        "access_token",
    );

    let cases = [
        (tamper(&at, 2), "a changed signature"),
        (tamper(&at, 1), "a changed payload"),
        (tamper(&at, 0), "a changed header"),
        (
            at.rsplit_once('.').unwrap().0.to_string() + ".",
            "no signature",
        ),
        (id_token, "an ID token"),
        (foreign, "another issuer's token"),
        (org_at.clone(), "the org server's token at default"),
        ("garbage".into(), "garbage"),
        ("a.b.c".into(), "three dots' worth of nothing"),
        ("eyJhbGciOiJub25lIn0.e30.".into(), "alg none"),
    ];
    for (token, what) in &cases {
        expect_inactive(&t, "default", &app, token, what).await;
    }
    expect_inactive(&t, "org", &app, &at, "the default server's token at org").await;
    // Each is fine where it belongs.
    assert_eq!(t.introspect("default", &app, &at).await["active"], true);
    assert_eq!(t.introspect("org", &app, &org_at).await["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_access_tokens_are_inactive() {
    revoked_and_expired_access_tokens_are_inactive_on(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_access_tokens_are_inactive_on_postgres() {
    revoked_and_expired_access_tokens_are_inactive_on(TestApp::spawn_postgres().await).await;
}

async fn revoked_and_expired_access_tokens_are_inactive_on(t: TestApp) {
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    let revoked = field(
        &t.tokens("default", &app, "alice@example.com", "openid")
            .await,
        "access_token",
    );
    let expiring = field(
        &t.tokens("default", &app, "alice@example.com", "openid")
            .await,
        "access_token",
    );

    assert_eq!(
        t.revoke("default", &app, &revoked, None).await.status(),
        200
    );
    expect_inactive(&t, "default", &app, &revoked, "a revoked access token").await;

    // A suspended user's token is inactive, and active again once they are unsuspended.
    let api = t.api().await;
    let suspend = |action: &'static str| {
        let api = &api;
        let id = alice.id.clone();
        async move {
            let (status, _) = api
                .post(&format!("/api/v1/users/{id}/lifecycle/{action}"), json!({}))
                .await;
            assert_eq!(status, 200, "{action}");
        }
    };
    suspend("suspend").await;
    expect_inactive(&t, "default", &app, &expiring, "a suspended user's token").await;
    suspend("unsuspend").await;
    assert_eq!(
        t.introspect("default", &app, &expiring).await["active"],
        true,
        "unsuspended"
    );

    // Margins of a minute: the wall clock moves on under the offset.
    t.clock.advance(3600 - 60);
    assert_eq!(
        t.introspect("default", &app, &expiring).await["active"],
        true,
        "a minute left"
    );
    t.clock.advance(61);
    expect_inactive(&t, "default", &app, &expiring, "an expired access token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_and_idle_refresh_tokens_are_inactive() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;

    // Rotated: the old one is spent, the new one active.
    let rt0 = field(
        &t.tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await,
        "refresh_token",
    );
    let rt1 = field(
        &expect_no_store_json(t.refresh("default", &app, &rt0, None).await).await,
        "refresh_token",
    );
    expect_inactive(&t, "default", &app, &rt0, "a rotated refresh token").await;
    assert_eq!(t.introspect("default", &app, &rt1).await["active"], true);

    // The idle window (7 days by default) counts from the token's issue.
    t.clock.advance(7 * 24 * 3600 - 60);
    assert_eq!(
        t.introspect("default", &app, &rt1).await["active"],
        true,
        "a minute left"
    );
    t.clock.advance(60);
    expect_inactive(&t, "default", &app, &rt1, "an idle refresh token").await;
    expect_error(
        t.refresh("default", &app, &rt1, None).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_deactivates_its_family() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let first = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at0, rt0) = (
        field(&first, "access_token"),
        field(&first, "refresh_token"),
    );
    let second = expect_no_store_json(t.refresh("default", &app, &rt0, None).await).await;
    let (at1, rt1) = (
        field(&second, "access_token"),
        field(&second, "refresh_token"),
    );
    assert_eq!(t.introspect("default", &app, &rt1).await["active"], true);
    assert_eq!(t.introspect("default", &app, &at1).await["active"], true);

    // No grace period: presenting the rotated token again is a reuse.
    expect_error(
        t.refresh("default", &app, &rt0, None).await,
        400,
        "invalid_grant",
    )
    .await;
    expect_inactive(
        &t,
        "default",
        &app,
        &rt1,
        "the family's newest refresh token",
    )
    .await;
    expect_inactive(&t, "default", &app, &at1, "the newest access token").await;
    expect_inactive(&t, "default", &app, &at0, "the first access token").await;
    expect_error(
        t.refresh("default", &app, &rt1, None).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests() {
    bad_requests_on(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_on_postgres() {
    bad_requests_on(TestApp::spawn_postgres().await).await;
}

async fn bad_requests_on(t: TestApp) {
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let at = field(
        &t.tokens("default", &app, "alice@example.com", "openid")
            .await,
        "access_token",
    );
    let url = t.endpoint("default", "introspect");

    expect_error(
        t.post_as("default", "introspect", &app, &[]).await,
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        t.post_as("default", "introspect", &app, &[("token", "")])
            .await,
        400,
        "invalid_request",
    )
    .await;
    // No client authentication.
    let r = t
        .http
        .post(&url)
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    let headers = expect_error(r, 401, "invalid_client").await;
    assert!(headers.get("www-authenticate").is_none());
    // A wrong secret, an unknown client.
    for (id, secret) in [
        (app.client_id.as_str(), "wrong"),
        ("0oaUnknown", "whatever"),
    ] {
        let r = t
            .http
            .post(&url)
            .basic_auth(id, Some(secret))
            .form(&[("token", at.as_str())])
            .send()
            .await
            .unwrap();
        let headers = expect_error(r, 401, "invalid_client").await;
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic"),
            "{headers:?}"
        );
    }
    // A repeated parameter.
    let form = [("token", at.as_str()), ("token", at.as_str())];
    expect_error(
        t.post_as("default", "introspect", &app, &form).await,
        400,
        "invalid_request",
    )
    .await;
    let form = [
        ("token", at.as_str()),
        ("token_type_hint", "access_token"),
        ("token_type_hint", "access_token"),
    ];
    expect_error(
        t.post_as("default", "introspect", &app, &form).await,
        400,
        "invalid_request",
    )
    .await;
    // Not a form; not a POST.
    let r = t
        .http
        .post(&url)
        .basic_auth(&app.client_id, app.secret.as_deref())
        .json(&json!({"token": at}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_request").await;
    let r = t
        .http
        .get(&url)
        .basic_auth(&app.client_id, app.secret.as_deref())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

/// A relying-party library drives introspection: openidconnect's `introspect`, with the
/// endpoint from discovery, on tokens it obtained itself through the code flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_introspects_through_discovery() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let rp = t.rp("default", &app).await;
    let http = no_redirects();
    let tokens = t
        .rp_tokens(&rp, "alice@example.com", &["email", "offline_access"])
        .await;

    let answer = rp
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(answer.active());
    assert_eq!(answer.username(), Some("alice@example.com"));
    assert_eq!(
        answer.client_id().map(|c| c.as_str()),
        Some(app.client_id.as_str())
    );
    assert_eq!(answer.token_type(), Some(&CoreTokenType::Bearer));
    assert_eq!(answer.sub(), Some("alice@example.com"));
    assert_eq!(answer.aud(), Some(&vec!["api://default".to_string()]));
    assert_eq!(answer.iss(), Some(t.issuer("default").as_str()));
    let scopes: Vec<String> = answer
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid", "email", "offline_access"]);
    let (iat, exp) = (answer.iat().unwrap(), answer.exp().unwrap());
    assert_eq!((exp - iat).num_seconds(), 3600);

    // The refresh token, named as such.
    let refresh = openidconnect::AccessToken::new(tokens.refresh_token().unwrap().secret().clone());
    let answer = rp
        .introspect(&refresh)
        .set_token_type_hint("refresh_token")
        .request_async(&http)
        .await
        .unwrap();
    assert!(answer.active());
    assert_eq!(answer.username(), Some("alice@example.com"));

    // After revocation, nothing.
    rp.revoke_token(tokens.access_token().into())
        .unwrap()
        .request_async(&tls_proxy)
        .await
        .unwrap();
    let answer = rp
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!answer.active());
    assert!(answer.username().is_none() && answer.exp().is_none());
}
