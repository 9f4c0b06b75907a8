//! Gatehouse's per-server signing algorithm (an extension: Okta signs with RS256 only).
//! A server made with ES256 publishes an EC P-256 key, says so in discovery, and its ID
//! tokens verify with the `openidconnect` crate as the relying party; the server
//! verifies its own ES256 access tokens at userinfo and introspection.

use gatehouse::admin::{Actor, policies, servers};
use gatehouse::clock::Clock;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, TokenResponse,
};
use serde_json::{Value, json};

use crate::code_flow::jwt_header;
use crate::support::*;

/// A custom server signing with `alg`, with a policy that lets every client use the
/// code flow.
async fn server_with(t: &TestApp, alg: &str) -> String {
    let (store, now) = (&t.backend.store, t.clock.now());
    let new = servers::NewServer {
        name: "Orders".into(),
        audience: "api://orders".into(),
        signing_alg: Some(alg.into()),
        ..Default::default()
    };
    let server = servers::create(store, &Actor::cli(), new, now)
        .await
        .unwrap();
    assert_eq!(server.signing_alg, alg);
    let policy = policies::NewPolicy {
        name: "all".into(),
        ..Default::default()
    };
    let policy = policies::create_policy(store, &Actor::cli(), &server.id, policy, now)
        .await
        .unwrap();
    let rule = policies::NewRule {
        name: "all".into(),
        ..Default::default()
    };
    policies::create_rule(store, &Actor::cli(), &server.id, &policy.id, rule, now)
        .await
        .unwrap();
    server.id
}

#[tokio::test]
async fn an_es256_server_signs_id_tokens_an_openidconnect_relying_party_verifies() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    let server = server_with(&t, "ES256").await;
    let http = no_redirects();

    let document: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            t.issuer(&server)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let jwks: Value = http
        .get(t.endpoint(&server, "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "ACTIVE and NEXT: {jwks}");
    for key in keys {
        assert_eq!(
            (
                key["kty"].as_str(),
                key["crv"].as_str(),
                key["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256")),
            "{key}"
        );
        assert!(
            key.get("d").is_none() && key.get("n").is_none(),
            "public EC members only: {key}"
        );
    }

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer(&server)).unwrap(), &http)
            .await
            .expect("discovery");
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
        .set_pkce_challenge(challenge)
        .url();
    let browser = t.browser();
    let start = browser.get(url.as_str()).await;
    let back = browser
        .sign_in(
            &location(&start).expect("to the sign-in page"),
            "alice@example.com",
            PASSWORD,
        )
        .await;
    let code = param(&location(&back).expect("back to the client"), "code").expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    // The verifier takes its algorithms from discovery, which names ES256.
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ES256 ID token");
    assert_eq!(claims.subject().as_str(), alice.id);
    let rs256_only = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert!(
        id_token.claims(&rs256_only, &nonce).is_err(),
        "an RS256-only verifier refuses it"
    );

    // The access token: ES256 too, with a kid from the JWKS, accepted by the server.
    let access = tokens.access_token().secret();
    let header = jwt_header(access);
    assert_eq!(header["alg"], "ES256");
    assert!(keys.iter().any(|k| k["kid"] == header["kid"]));
    assert_eq!(t.userinfo_status(&server, access).await.0, 200);
    assert_eq!(t.introspect(&server, &app, access).await["active"], true);
    // A signature changed in one byte is refused.
    assert_eq!(t.userinfo_status(&server, &tamper(access, 2)).await.0, 401);
}

#[tokio::test]
async fn the_signing_alg_is_set_and_shown_through_the_api_and_checked() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let body = json!({"name": "Payments", "audiences": ["api://payments"], "credentials": {"signing": {"alg": "ES256"}}});
    let (status, created) = api.post("/api/v1/authorizationServers", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["credentials"]["signing"]["alg"], "ES256");
    let id = created["id"].as_str().unwrap();
    let (_, shown) = api.get(&format!("/api/v1/authorizationServers/{id}")).await;
    assert_eq!(shown["credentials"]["signing"]["alg"], "ES256");
    // Without it: RS256, as Okta.
    let (status, plain) = api
        .post(
            "/api/v1/authorizationServers",
            json!({"name": "Plain", "audiences": ["api://plain"]}),
        )
        .await;
    assert_eq!(
        (status, plain["credentials"]["signing"]["alg"].as_str()),
        (201, Some("RS256")),
        "{plain}"
    );
    // Anything else is refused with Okta's validation error.
    for alg in ["HS256", "none", "es256", "EdDSA"] {
        let body = json!({"name": "Bad", "audiences": ["api://bad"], "credentials": {"signing": {"alg": alg}}});
        let (status, error) = api.post("/api/v1/authorizationServers", body).await;
        assert_eq!(status, 400, "{alg}: {error}");
        assert!(
            error.to_string().contains("credentials.signing.alg"),
            "{error}"
        );
    }
    // A PUT that names another algorithm keeps the keys (a key is published before it
    // signs): the server's setting changes, and the next rotation makes an ES256 key.
    let plain_id = plain["id"].as_str().unwrap();
    let jwks: Value = t
        .http
        .get(t.endpoint(plain_id, "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kty"] == "RSA"),
        "{jwks}"
    );
    let body = json!({"name": "Plain", "audiences": ["api://plain"], "credentials": {"signing": {"alg": "ES256"}}});
    let (status, updated) = api
        .put(&format!("/api/v1/authorizationServers/{plain_id}"), body)
        .await;
    assert_eq!(
        (status, updated["credentials"]["signing"]["alg"].as_str()),
        (200, Some("ES256")),
        "{updated}"
    );
    let (status, keys) = api
        .post(
            &format!("/api/v1/authorizationServers/{plain_id}/credentials/lifecycle/keyRotate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{keys}");
    let by_status = |s: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["status"] == s)
            .unwrap()["kty"]
            .clone()
    };
    assert_eq!(
        (by_status("ACTIVE"), by_status("NEXT")),
        (json!("RSA"), json!("EC")),
        "{keys}"
    );
    // Meanwhile discovery names both: RS256 signs now, ES256 from the next rotation.
    let document: Value = t
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            t.issuer(plain_id)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
}
