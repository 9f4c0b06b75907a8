//! The client credentials grant (RFC 6749 §4.4): a confidential service app gets an
//! access token for itself, with custom scopes only, as the server's access policy
//! allows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::admin::{policies, servers};
use gatehouse::clock::Clock;
use openidconnect::core::{
    CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenType,
};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, JsonWebKey, OAuth2TokenResponse, Scope};
use serde_json::json;

use gatehouse::admin::syslog::Actor;

use crate::support::*;

const POLICY_DENIED: &str =
    "Policy evaluation failed for this request, please check the policy configurations.";

/// Checks `token`'s RS256 signature with the key its `kid` names in the server's JWKS,
/// as openidconnect fetched it through discovery.
async fn verify_with_jwks(t: &TestApp, server: &str, token: &str) {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(t.issuer(server)).unwrap(),
        &no_redirects(),
    )
    .await
    .expect("discovery");
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().expect("a kid");
    let key = metadata
        .jwks()
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid))
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let (message, signature) = token.rsplit_once('.').unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        message.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .expect("signed by the server's key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_app_gets_a_token_for_itself() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    t.scope("default", "api:read", false).await;

    let body = expect_no_store_json(
        t.client_credentials("default", &app, Some("api:read"))
            .await,
    )
    .await;
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields.len(), 4, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "api:read");
    assert!(
        body.get("refresh_token").is_none() && body.get("id_token").is_none(),
        "{body}"
    );

    let at = body["access_token"].as_str().unwrap();
    verify_with_jwks(&t, "default", at).await;
    let claims = claims_of(at);
    assert_eq!(
        claims["sub"],
        app.client_id.as_str(),
        "RFC 9068 §2.2: the client is the subject"
    );
    assert_eq!(claims["cid"], app.client_id.as_str());
    assert_eq!(claims["client_id"], app.client_id.as_str());
    assert_eq!(claims["scp"], json!(["api:read"]));
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["iss"], t.issuer("default").as_str());
    assert!(claims["jti"].as_str().unwrap().starts_with("AT."));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(
        claims.get("uid").is_none() && claims.get("auth_time").is_none(),
        "no user: {claims}"
    );

    // Introspection by the same app: the client is the username.
    let answer = t.introspect("default", &app, at).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["username"], app.client_id.as_str());
    assert_eq!(answer["sub"], app.client_id.as_str());
    assert_eq!(answer["client_id"], app.client_id.as_str());
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "api:read");
    assert!(answer.get("uid").is_none(), "{answer}");

    // No openid in it, so no userinfo.
    let (status, challenge) = t.userinfo_status("default", at).await;
    assert_eq!(status, 403);
    assert!(
        challenge.starts_with("Bearer") && challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );

    // Revocable like any access token.
    assert_eq!(t.revoke("default", &app, at, None).await.status(), 200);
    assert_eq!(
        t.introspect("default", &app, at).await,
        json!({"active": false})
    );
}

/// A relying-party library asks for the token: openidconnect's
/// `exchange_client_credentials`, configured from discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_exchanges_client_credentials() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    t.scope("default", "api:read", false).await;
    t.scope("default", "api:write", false).await;
    let http = no_redirects();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer("default")).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        app.secret.clone().map(ClientSecret::new),
    );

    let tokens = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("api:read".into()))
        .add_scope(Scope::new("api:write".into()))
        .request_async(&http)
        .await
        .expect("client credentials");
    assert_eq!(*tokens.token_type(), CoreTokenType::Bearer);
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);
    assert!(tokens.refresh_token().is_none());
    assert!(tokens.extra_fields().id_token().is_none());
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["api:read", "api:write"]);
    assert_eq!(
        claims_of(tokens.access_token().secret())["scp"],
        json!(["api:read", "api:write"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_omitted_scope_means_the_default_scopes() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    // `default` starts with no default scope.
    expect_error(
        t.client_credentials("default", &app, None).await,
        400,
        "invalid_scope",
    )
    .await;

    t.scope("default", "api:read", true).await;
    t.scope("default", "api:write", false).await;
    let body = expect_no_store_json(t.client_credentials("default", &app, None).await).await;
    assert_eq!(body["scope"], "api:read");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["scp"],
        json!(["api:read"])
    );
    // An empty scope parameter counts as omitted (RFC 6749 §3.1).
    let body = expect_no_store_json(t.client_credentials("default", &app, Some("")).await).await;
    assert_eq!(body["scope"], "api:read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_connect_and_unknown_scopes_are_invalid_scope() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    t.scope("default", "api:read", true).await;
    for scope in [
        "openid",
        "profile",
        "email",
        "offline_access",
        "openid api:read",
        "api:read api:admin",
        "api:admin",
    ] {
        let r = t.client_credentials("default", &app, Some(scope)).await;
        expect_error(r, 400, "invalid_scope").await;
    }
    // A repeated scope parameter.
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api:read"),
        ("scope", "api:read"),
    ];
    expect_error(
        t.post_as("default", "token", &app, &form).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_confidential_clients_with_the_grant() {
    let t = TestApp::spawn().await;
    t.scope("default", "api:read", true).await;

    // A public client, and a web app registered without the grant.
    let spa = t.spa().await;
    expect_error(
        t.client_credentials("default", &spa, Some("api:read"))
            .await,
        400,
        "unauthorized_client",
    )
    .await;
    let web = t.web_app().await;
    expect_error(
        t.client_credentials("default", &web, Some("api:read"))
            .await,
        400,
        "unauthorized_client",
    )
    .await;

    // Client authentication fails before anything else.
    let service = t.service_app().await;
    let wrong = App {
        client_id: service.client_id.clone(),
        secret: Some("wrong".into()),
    };
    let headers = expect_error(
        t.client_credentials("default", &wrong, Some("api:read"))
            .await,
        401,
        "invalid_client",
    )
    .await;
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"),
        "{headers:?}"
    );
    let r = t
        .http
        .post(t.endpoint("default", "token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", service.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let headers = expect_error(r, 401, "invalid_client").await;
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_server_has_no_custom_scopes() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    t.scope("default", "api:read", true).await;
    for scope in [
        Some("api:read"),
        Some("openid"),
        Some("groups"),
        Some("anything"),
        None,
    ] {
        expect_error(
            t.client_credentials("org", &app, scope).await,
            400,
            "invalid_scope",
        )
        .await;
    }
    // The same request at `default` is fine.
    expect_no_store_json(
        t.client_credentials("default", &app, Some("api:read"))
            .await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_policy_decides_on_a_custom_server() {
    let t = TestApp::spawn().await;
    let app = t.service_app().await;
    let store = &t.backend.store;
    let new = servers::NewServer {
        name: "Orders API".into(),
        description: "Orders".into(),
        audience: "api://orders".into(),
        ..Default::default()
    };
    let server = servers::create(store, &Actor::cli(), new, t.clock.now())
        .await
        .expect("create server");
    t.scope(&server.id, "orders:read", false).await;

    // A new server has no policy: nothing is allowed.
    let r = t
        .client_credentials(&server.id, &app, Some("orders:read"))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": POLICY_DENIED})
    );

    // A policy for this app with a rule allowing client_credentials for 5 minutes.
    let policy = policies::NewPolicy {
        name: "Orders service".into(),
        clients: vec![app.client_id.clone()],
        ..Default::default()
    };
    let policy = policies::create_policy(store, &Actor::cli(), &server.id, policy, t.clock.now())
        .await
        .expect("create policy");
    let allow = policies::NewRule {
        name: "Service access".into(),
        priority: Some(5),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["orders:read".into()],
        access_token_ttl: Some(300),
        ..Default::default()
    };
    policies::create_rule(
        store,
        &Actor::cli(),
        &server.id,
        &policy.id,
        allow,
        t.clock.now(),
    )
    .await
    .expect("create rule");
    let body = expect_no_store_json(
        t.client_credentials(&server.id, &app, Some("orders:read"))
            .await,
    )
    .await;
    assert_eq!(body["expires_in"], 300);
    let at = body["access_token"].as_str().unwrap();
    let claims = claims_of(at);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(claims["aud"], "api://orders");
    assert_eq!(claims["iss"], t.issuer(&server.id).as_str());
    verify_with_jwks(&t, &server.id, at).await;
    assert_eq!(t.introspect(&server.id, &app, at).await["active"], true);

    // A rule evaluated first that denies.
    let deny = policies::NewRule {
        name: "Maintenance".into(),
        priority: Some(1),
        grant_types: vec!["client_credentials".into()],
        deny: true,
        ..Default::default()
    };
    policies::create_rule(
        store,
        &Actor::cli(),
        &server.id,
        &policy.id,
        deny,
        t.clock.now(),
    )
    .await
    .expect("create deny rule");
    let r = t
        .client_credentials(&server.id, &app, Some("orders:read"))
        .await;
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": POLICY_DENIED})
    );
}
