//! Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2),
//! driven by the `openidconnect` crate where a relying party would be: exchange with
//! `offline_access`, refresh, validate the new ID token.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use serde_json::Value;

use crate::code_flow::jwt_claims;
use crate::support::*;

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn userinfo_status(t: &TestApp, server: &str, access_token: &str) -> u16 {
    t.http
        .get(t.endpoint(server, "userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_refreshes_and_a_reused_token_revokes_the_family() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let http = no_redirects();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer("default")).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = t.browser();
    let login = location(&browser.get(url.as_str()).await).unwrap();
    let callback = location(&browser.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();
    let code = param(&callback, "code").unwrap();
    let first = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    first
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .expect("valid ID token");
    let rt1 = first
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    assert!(rt1.secret().len() >= 43, "at least 256 bits");

    // The relying party refreshes: a new access token, ID token and refresh token.
    let second = client
        .exchange_refresh_token(&rt1)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let rt2 = second
        .refresh_token()
        .expect("rotation gives a new refresh token")
        .clone();
    assert_ne!(rt1.secret(), rt2.secret());
    assert_ne!(
        first.access_token().secret(),
        second.access_token().secret()
    );
    assert_eq!(second.expires_in().unwrap().as_secs(), 3600);
    let id = second
        .id_token()
        .expect("openid: a new ID token")
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("a valid refreshed ID token");
    assert_eq!(id.subject().as_str(), alice.id);
    let scopes: Vec<String> = second
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes.join(" "), "openid offline_access email");
    assert_eq!(
        userinfo_status(&t, "default", second.access_token().secret()).await,
        200
    );

    // The rotated token again: a reuse. invalid_grant, and the whole family is revoked,
    // with the access tokens minted from it.
    let reused = t.refresh("default", &app, rt1.secret(), None).await;
    assert_eq!(error_of(reused).await, (400, "invalid_grant".into()));
    assert_eq!(
        error_of(t.refresh("default", &app, rt2.secret(), None).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        userinfo_status(&t, "default", second.access_token().secret()).await,
        401
    );
    assert_eq!(
        userinfo_status(&t, "default", first.access_token().secret()).await,
        401
    );
    assert_eq!(
        t.introspect("default", &app, second.access_token().secret())
            .await,
        serde_json::json!({"active": false})
    );
    assert!(
        client
            .exchange_refresh_token(&RefreshToken::new(rt2.secret().clone()))
            .unwrap()
            .request_async(&http)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_refreshes_with_its_client_id_on_the_org_server() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("none", 0).await;
    let tokens = t
        .tokens("org", &app, "alice@example.com", "openid offline_access")
        .await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let response = t.refresh("org", &app, rt, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["iss"],
        t.issuer("org").as_str()
    );
    assert!(body["refresh_token"].as_str().is_some_and(|r| r != rt));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_may_narrow_but_never_widen() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access email",
        )
        .await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();

    let wider = t
        .refresh(
            "default",
            &app,
            &rt,
            Some("openid offline_access email phone"),
        )
        .await;
    assert_eq!(error_of(wider).await, (400, "invalid_scope".into()));
    // A refused widening does not use the token up.
    let narrow = t.refresh("default", &app, &rt, Some("email")).await;
    assert_eq!(narrow.status(), 200);
    let narrow: Value = narrow.json().await.unwrap();
    assert_eq!(narrow["scope"], "email");
    assert!(narrow.get("id_token").is_none(), "no openid, no ID token");
    assert_eq!(
        jwt_claims(narrow["access_token"].as_str().unwrap())["scp"],
        serde_json::json!(["email"])
    );
    // The grant itself is not narrowed: the next refresh may ask for all of it again.
    let full = t
        .refresh(
            "default",
            &app,
            narrow["refresh_token"].as_str().unwrap(),
            None,
        )
        .await;
    let full: Value = full.json().await.unwrap();
    assert_eq!(full["scope"], "openid offline_access email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_inside_the_grace_period_gets_the_same_answer() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 30).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_string();

    let first: Value = t
        .refresh("default", &app, &rt1, None)
        .await
        .json()
        .await
        .unwrap();
    t.clock.advance(10);
    let retry = t.refresh("default", &app, &rt1, None).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(
        retry, first,
        "the same refresh token, access token and ID token"
    );

    // Nothing was revoked: the successor works, once.
    let rt2 = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        userinfo_status(&t, "default", first["access_token"].as_str().unwrap()).await,
        200
    );
    let third = t.refresh("default", &app, rt2, None).await;
    assert_eq!(third.status(), 200);
    let third: Value = third.json().await.unwrap();
    // Once the successor has been used, the old token is a reuse even inside the period.
    assert_eq!(
        error_of(t.refresh("default", &app, &rt1, None).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(
            t.refresh(
                "default",
                &app,
                third["refresh_token"].as_str().unwrap(),
                None
            )
            .await
        )
        .await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_grace_period_is_a_reuse() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 30).await;
    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_string();
    let first: Value = t
        .refresh("default", &app, &rt1, None)
        .await
        .json()
        .await
        .unwrap();
    t.clock.advance(31);
    assert_eq!(
        error_of(t.refresh("default", &app, &rt1, None).await).await,
        (400, "invalid_grant".into())
    );
    let rt2 = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_of(t.refresh("default", &app, rt2, None).await).await,
        (400, "invalid_grant".into()),
        "family revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
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
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let t = std::sync::Arc::new(t);
    let app = std::sync::Arc::new(app);
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let (t, app, rt) = (t.clone(), app.clone(), rt.clone());
            tokio::spawn(async move {
                let r = t.refresh("default", &app, &rt, None).await;
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut wins = Vec::new();
    for r in racers {
        let (status, body) = r.await.unwrap();
        match status {
            200 => wins.push(body),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(wins.len(), 1, "exactly one rotation wins");
    // With no grace period the losers' reuse revokes the family, the winner's new
    // token included (documented in docs/endpoints.md).
    let winner = wins[0]["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_of(t.refresh("default", &app, winner, None).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_or_servers_token_is_invalid_grant_and_harmless() {
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
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_of(t.refresh("default", &other, rt, None).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(t.refresh("org", &owner, rt, None).await).await,
        (400, "invalid_grant".into()),
        "another server's token"
    );
    // Neither attempt revoked anything.
    assert_eq!(t.refresh("default", &owner, rt, None).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_refresh_tokens_expire_after_seven_days() {
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
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    // Used within the window, the window moves with it.
    t.clock.advance(6 * 24 * 3600);
    let body: Value = t
        .refresh("default", &app, &rt, None)
        .await
        .json()
        .await
        .unwrap();
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    t.clock.advance(6 * 24 * 3600);
    let body: Value = t
        .refresh("default", &app, &rt2, None)
        .await
        .json()
        .await
        .unwrap();
    let rt3 = body["refresh_token"].as_str().unwrap().to_string();
    t.clock.advance(7 * 24 * 3600);
    assert_eq!(
        error_of(t.refresh("default", &app, &rt3, None).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_need_offline_access_and_the_grant() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let without = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    assert!(without.get("refresh_token").is_none());

    // An app without the grant asking for offline_access: invalid_scope back at the app.
    let web = t.web_app().await;
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &web.client_id,
        &[("scope", "openid offline_access")],
    );
    let loc = location(&browser.get(&url).await).unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("invalid_scope"),
        "{loc}"
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));
    // ...and refresh_token at /token: unauthorized_client.
    let r = t.refresh("default", &web, "whatever", None).await;
    assert_eq!(error_of(r).await, (400, "unauthorized_client".into()));
    // A missing refresh_token parameter.
    let r = t
        .post_as("default", "token", &app, &[("grant_type", "refresh_token")])
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_request".into()));
    assert_eq!(
        error_of(t.refresh("default", &app, "not-a-token", None).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_revokes_the_refresh_token_issued_from_it() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("scope", "openid offline_access")],
    );
    let login = location(&browser.get(&url).await).unwrap();
    let callback = location(&browser.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();
    let code = param(&callback, "code").unwrap();
    let body: Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let rt = body["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_of(t.redeem("default", &app, &code).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(t.refresh("default", &app, rt, None).await).await,
        (400, "invalid_grant".into())
    );
}
