//! Discovery documents and JWKS for the org and `default` servers.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_documents_name_every_endpoint() {
    let t = TestApp::spawn().await;
    for (server, path) in [
        ("org", "/.well-known/openid-configuration"),
        ("org", "/.well-known/oauth-authorization-server"),
        (
            "default",
            "/oauth2/default/.well-known/openid-configuration",
        ),
        (
            "default",
            "/oauth2/default/.well-known/oauth-authorization-server",
        ),
    ] {
        let doc: serde_json::Value = t
            .http
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], t.issuer(server).as_str(), "{path}");
        for name in ["authorize", "token", "userinfo", "keys", "logout"] {
            let key = match name {
                "authorize" => "authorization_endpoint",
                "token" => "token_endpoint",
                "userinfo" => "userinfo_endpoint",
                "logout" => "end_session_endpoint",
                _ => "jwks_uri",
            };
            assert_eq!(doc[key], t.endpoint(server, name).as_str(), "{path} {key}");
        }
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert!(
            doc["code_challenge_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&"S256".into())
        );
    }
    let missing = t
        .http
        .get(format!(
            "{}/oauth2/nosuch/.well-known/openid-configuration",
            t.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000007");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_has_public_rs256_keys_only_and_differs_per_server() {
    let t = TestApp::spawn().await;
    let org: serde_json::Value = t
        .http
        .get(t.endpoint("org", "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let default: serde_json::Value = t
        .http
        .get(t.endpoint("default", "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for jwks in [&org, &default] {
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().unwrap().len() >= 43);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private part {private} published"
            );
        }
    }
    assert_ne!(org["keys"][0]["kid"], default["keys"][0]["kid"]);
    let health = t
        .http
        .get(format!("{}/readyz", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
