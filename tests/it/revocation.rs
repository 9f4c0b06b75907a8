//! Token revocation (RFC 7009) at `/v1/revoke`: access tokens go on the deny list, a
//! refresh token ends its family and the access tokens minted from it, the hint only
//! orders the search, and anything that is not this client's token of this server is
//! answered 200 without effect, or refused when it belongs to another client.

use openidconnect::core::{CoreErrorResponseType, CoreRevocableToken};
use openidconnect::{OAuth2TokenResponse, RequestTokenError, TokenIntrospectionResponse};
use serde_json::json;

use crate::support::*;

/// RFC 7009 §2.2: 200 with an empty body, never cached.
async fn expect_revoked(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.text().await.unwrap(), "");
}

/// The access token no longer opens userinfo nor passes introspection.
async fn expect_dead(t: &TestApp, server: &str, app: &App, access_token: &str) {
    let (status, challenge) = t.userinfo_status(server, access_token).await;
    assert_eq!(status, 401);
    assert!(
        challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(
        t.introspect(server, app, access_token).await,
        json!({"active": false})
    );
}

/// The access token still opens userinfo and passes introspection.
async fn expect_alive(t: &TestApp, server: &str, app: &App, access_token: &str) {
    assert_eq!(t.userinfo_status(server, access_token).await.0, 200);
    assert_eq!(
        t.introspect(server, app, access_token).await["active"],
        true
    );
}

fn field(tokens: &serde_json::Value, name: &str) -> String {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {tokens}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_revoked_with_or_without_its_hint() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    for hint in [Some("access_token"), None] {
        let at = field(
            &t.tokens("default", &app, "alice@example.com", "openid profile")
                .await,
            "access_token",
        );
        expect_alive(&t, "default", &app, &at).await;
        expect_revoked(t.revoke("default", &app, &at, hint).await).await;
        expect_dead(&t, "default", &app, &at).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_is_revoked_with_its_family() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    for hint in [Some("refresh_token"), None] {
        let tokens = t
            .tokens(
                "default",
                &app,
                "alice@example.com",
                "openid offline_access",
            )
            .await;
        let (at, rt) = (
            field(&tokens, "access_token"),
            field(&tokens, "refresh_token"),
        );
        expect_revoked(t.revoke("default", &app, &rt, hint).await).await;
        expect_error(
            t.refresh("default", &app, &rt, None).await,
            400,
            "invalid_grant",
        )
        .await;
        expect_dead(&t, "default", &app, &at).await;
    }

    // After a rotation: revoking the newest token also ends the access tokens minted
    // before it in the family.
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at0, rt0) = (
        field(&tokens, "access_token"),
        field(&tokens, "refresh_token"),
    );
    let rotated = expect_no_store_json(t.refresh("default", &app, &rt0, None).await).await;
    let (at1, rt1) = (
        field(&rotated, "access_token"),
        field(&rotated, "refresh_token"),
    );
    expect_revoked(t.revoke("default", &app, &rt1, None).await).await;
    expect_error(
        t.refresh("default", &app, &rt1, None).await,
        400,
        "invalid_grant",
    )
    .await;
    expect_dead(&t, "default", &app, &at1).await;
    expect_dead(&t, "default", &app, &at0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hint_only_orders_the_search() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;

    // An access token sent as a refresh token, and under hints the server does not know.
    for hint in ["refresh_token", "id_token", "bogus"] {
        let at = field(
            &t.tokens("default", &app, "alice@example.com", "openid")
                .await,
            "access_token",
        );
        expect_revoked(t.revoke("default", &app, &at, Some(hint)).await).await;
        expect_dead(&t, "default", &app, &at).await;
    }
    // A refresh token sent as an access token.
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let rt = field(&tokens, "refresh_token");
    expect_revoked(t.revoke("default", &app, &rt, Some("access_token")).await).await;
    expect_error(
        t.refresh("default", &app, &rt, None).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_garbage_and_already_revoked_tokens_are_answered_200() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at, rt) = (
        field(&tokens, "access_token"),
        field(&tokens, "refresh_token"),
    );

    // §2.2: an invalid token is not an error; the endpoint tells nothing about tokens.
    let forged = tamper(&at, 2);
    for junk in [
        "garbage",
        "not.a.jwt",
        "eyJhbGciOiJub25lIn0.e30.",
        "x".repeat(2000).as_str(),
        forged.as_str(),
    ] {
        expect_revoked(t.revoke("default", &app, junk, None).await).await;
        expect_revoked(t.revoke("default", &app, junk, Some("refresh_token")).await).await;
    }
    // None of that touched the real tokens.
    expect_alive(&t, "default", &app, &at).await;

    // Revoking twice is still 200.
    for _ in 0..2 {
        expect_revoked(t.revoke("default", &app, &at, None).await).await;
        expect_revoked(t.revoke("default", &app, &rt, None).await).await;
    }
    expect_dead(&t, "default", &app, &at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_token_is_refused_and_keeps_working() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let owner = t.refresh_app("client_secret_basic", 0).await;
    let other = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &owner,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at, rt) = (
        field(&tokens, "access_token"),
        field(&tokens, "refresh_token"),
    );

    for (token, hint) in [
        (&at, None),
        (&at, Some("refresh_token")),
        (&rt, None),
        (&rt, Some("refresh_token")),
    ] {
        expect_error(
            t.revoke("default", &other, token, hint).await,
            400,
            "unauthorized_client",
        )
        .await;
    }
    expect_alive(&t, "default", &owner, &at).await;
    expect_no_store_json(t.refresh("default", &owner, &rt, None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_servers_token_is_not_this_servers() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    for (issuer, elsewhere) in [("org", "default"), ("default", "org")] {
        let tokens = t
            .tokens(issuer, &app, "alice@example.com", "openid offline_access")
            .await;
        let (at, rt) = (
            field(&tokens, "access_token"),
            field(&tokens, "refresh_token"),
        );
        for token in [&at, &rt] {
            for hint in [None, Some("refresh_token")] {
                expect_revoked(t.revoke(elsewhere, &app, token, hint).await).await;
            }
        }
        // Nothing was revoked: both still work at their own server.
        expect_alive(&t, issuer, &app, &at).await;
        expect_no_store_json(t.refresh(issuer, &app, &rt, None).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let at = field(
        &t.tokens("default", &app, "alice@example.com", "openid")
            .await,
        "access_token",
    );
    let url = t.endpoint("default", "revoke");
    let secret = app.secret.as_deref().unwrap();

    // No token.
    expect_error(
        t.post_as("default", "revoke", &app, &[]).await,
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        t.post_as(
            "default",
            "revoke",
            &app,
            &[("token_type_hint", "access_token")],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // No client authentication: 401, no Basic challenge since Basic was not tried.
    let r = t
        .http
        .post(&url)
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    let headers = expect_error(r, 401, "invalid_client").await;
    assert!(headers.get("www-authenticate").is_none());
    // A wrong secret over Basic: 401 with the challenge.
    let r = t
        .http
        .post(&url)
        .basic_auth(&app.client_id, Some("wrong"))
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
    // A client that registered Basic may not use the form.
    let r = t
        .http
        .post(&url)
        .form(&[
            ("token", at.as_str()),
            ("client_id", &app.client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_client").await;
    // A repeated parameter.
    let form = [("token", at.as_str()), ("token", "other")];
    expect_error(
        t.post_as("default", "revoke", &app, &form).await,
        400,
        "invalid_request",
    )
    .await;
    let form = [
        ("token", at.as_str()),
        ("token_type_hint", "access_token"),
        ("token_type_hint", "refresh_token"),
    ];
    expect_error(
        t.post_as("default", "revoke", &app, &form).await,
        400,
        "invalid_request",
    )
    .await;
    // Not a form.
    let r = t
        .http
        .post(&url)
        .basic_auth(&app.client_id, Some(secret))
        .json(&json!({"token": at}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_request").await;
    // Only POST.
    let r = t
        .http
        .get(format!("{url}?token={at}"))
        .basic_auth(&app.client_id, Some(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    // None of those revoked it.
    expect_alive(&t, "default", &app, &at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_revokes_its_refresh_token_with_its_client_id() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("none", 0).await;
    assert!(app.secret.is_none());
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at, rt) = (
        field(&tokens, "access_token"),
        field(&tokens, "refresh_token"),
    );

    // Without its client_id it is nobody.
    let r = t
        .http
        .post(t.endpoint("default", "revoke"))
        .form(&[("token", rt.as_str())])
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_client").await;

    expect_revoked(t.revoke("default", &app, &rt, Some("refresh_token")).await).await;
    expect_error(
        t.refresh("default", &app, &rt, None).await,
        400,
        "invalid_grant",
    )
    .await;
    expect_dead(&t, "default", &app, &at).await;
}

/// A relying-party library drives revocation: openidconnect's `revoke_token`, with the
/// endpoint taken from discovery, for a refresh token and for an access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_revokes_through_discovery() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let rp = t.rp("default", &app).await;
    let http = no_redirects();

    let tokens = t
        .rp_tokens(&rp, "alice@example.com", &["offline_access"])
        .await;
    let refresh_token = tokens
        .refresh_token()
        .expect("a refresh token for offline_access")
        .clone();
    let access_token = tokens.access_token().clone();
    assert!(
        rp.introspect(&access_token)
            .request_async(&http)
            .await
            .unwrap()
            .active()
    );

    rp.revoke_token(CoreRevocableToken::from(&refresh_token))
        .unwrap()
        .request_async(&tls_proxy)
        .await
        .expect("revocation");
    let refreshed = rp
        .exchange_refresh_token(&refresh_token)
        .unwrap()
        .request_async(&http)
        .await;
    match refreshed {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    let answer = rp
        .introspect(&access_token)
        .request_async(&http)
        .await
        .unwrap();
    assert!(!answer.active(), "the family's access token went with it");

    // An access token, through the same client.
    let tokens = t.rp_tokens(&rp, "alice@example.com", &[]).await;
    rp.revoke_token(tokens.access_token().into())
        .unwrap()
        .request_async(&tls_proxy)
        .await
        .expect("revocation");
    expect_dead(&t, "default", &app, tokens.access_token().secret()).await;
}
