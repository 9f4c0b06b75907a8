//! The management API's common ground: SSWS tokens, Okta's error body for every
//! failure, malformed bodies and parameters, and the OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_invalid_or_revoked_token_is_401_e0000011() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let url = format!("{}/api/v1/users", t.base);
    let bare = t.http.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    assert_eq!(okta_error(&bare.json().await.unwrap()).0, "E0000011");
    for header in [
        "SSWS nope",
        "Bearer {token}",
        "SSWS",
        "ssws {token}x",
        "{token}",
    ] {
        let header = header.replace("{token}", &api.token);
        let r = t
            .http
            .get(&url)
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(okta_error(&body).0, "E0000011");
        assert_eq!(body["errorSummary"], "Invalid token provided");
    }
    // The scheme is case-insensitive, and the space after it optional (Okta's Python
    // SDK leaves it out).
    for header in [format!("ssws {}", api.token), format!("SSWS{}", api.token)] {
        let r = t
            .http
            .get(&url)
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}");
    }

    // A token revoked through the API (its own) stops working at once.
    let (status, tokens) = api.get("/api/v1/api-tokens").await;
    assert_eq!(status, 200);
    let id = tokens[0]["id"].as_str().unwrap().to_string();
    assert!(!tokens.to_string().contains(&api.token), "never the value");
    assert_eq!(api.delete(&format!("/api/v1/api-tokens/{id}")).await, 204);
    let (status, body) = api.get("/api/v1/users").await;
    assert_eq!((status, okta_error(&body).0.as_str()), (401, "E0000011"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_methods_and_resources_are_okta_errors() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, body) = api.get("/api/v1/nothing-here").await;
    assert_eq!((status, okta_error(&body).0.as_str()), (404, "E0000007"));
    let (status, body) = api.get("/api/v1/users/00uNOBODY").await;
    assert_eq!((status, okta_error(&body).0.as_str()), (404, "E0000007"));
    let (status, body) = api
        .call(Method::PATCH, "/api/v1/users", Some(json!({})))
        .await;
    assert_eq!((status, okta_error(&body).0.as_str()), (405, "E0000022"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_and_wrong_types_are_400_naming_the_field() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let raw = |body: &'static str| {
        let api = &api;
        async move {
            let r = api
                .http
                .post(format!("{}/api/v1/users", api.base))
                .header("Authorization", format!("SSWS {}", api.token))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = raw("{not json").await;
    assert_eq!((status, okta_error(&body).0.as_str()), (400, "E0000003"));
    let (status, body) = raw(r#"{"profile": {"login": "a@example.com"}, "credentials": {"password": {"value": 12345678}}}"#).await;
    let (code, causes) = okta_error(&body);
    assert_eq!((status, code.as_str()), (400, "E0000003"));
    assert!(
        causes[0].starts_with("credentials.password.value: invalid type"),
        "{causes:?}"
    );
    let (status, body) = raw(r#"{"profile": "alice"}"#).await;
    assert_eq!(status, 400);
    assert!(
        okta_error(&body).1[0].starts_with("profile: invalid type"),
        "{body}"
    );
    // Inside the profile, the service layer names the attribute.
    let (status, body) = api
        .post("/api/v1/users", json!({"profile": {"login": 5}}))
        .await;
    let (code, causes) = okta_error(&body);
    assert_eq!((status, code.as_str()), (400, "E0000001"));
    assert_eq!(body["errorSummary"], "Api validation failed: profile.login");
    assert!(causes[0].starts_with("profile.login: "), "{causes:?}");
    // Unknown fields are ignored.
    let (status, _) = api
        .post(
            "/api/v1/groups",
            json!({"profile": {"name": "g", "unknown": 1}, "x": [1, 2]}),
        )
        .await;
    assert_eq!(status, 200);
    // A query parameter of the wrong type.
    let (status, body) = api.get("/api/v1/users?limit=many").await;
    let (code, causes) = okta_error(&body);
    assert_eq!((status, code.as_str()), (400, "E0000001"));
    assert!(causes[0].starts_with("limit: "), "{causes:?}");
    let (status, body) = api.get("/api/v1/users?limit=0").await;
    assert_eq!(
        (status, okta_error(&body).1[0].starts_with("limit: ")),
        (400, true)
    );
}

/// Every `$ref` in `value` names a schema in the document's components.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_string());
                }
                refs(v, out);
            }
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let t = TestApp::spawn().await;
    let r = t
        .http
        .get(format!("{}/api/v1/openapi.json", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "no token needed");
    let doc: Value = r.json().await.unwrap();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();

    // Every route the router serves is in the document, with each method.
    let operations = gatehouse::http::api::operations();
    assert!(operations.len() >= 60);
    for op in &operations {
        let item = paths
            .get(&op.path)
            .unwrap_or_else(|| panic!("{} is not documented", op.path));
        for method in &op.methods {
            let name = serde_json::to_value(method)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string();
            let operation = &item[&name];
            assert!(
                operation.is_object(),
                "{name} {} is not documented",
                op.path
            );
            assert!(operation["responses"].is_object());
            // okta-authn: Okta's public Authentication API and the caller's own session
            // (by its cookie) take no token; everything else needs an API token or an
            // access token with the operation's Okta scope.
            let security = match op.access {
                gatehouse::http::api::extract::Access::Public => {
                    assert!(PUBLIC.contains(&op.path.as_str()), "{}", op.path);
                    Value::Null
                }
                gatehouse::http::api::extract::Access::Needs(need) => {
                    json!([{ "ssws": [] }, { "oauth2": [need.scope()] }])
                }
            };
            assert_eq!(operation["security"], security, "{name} {}", op.path);
        }
    }
    // And every documented operation is served: without a token it is a 401, not a 404.
    let api = t.api().await;
    let anonymous = Api {
        token: "not-a-token".into(),
        ..api
    };
    for (path, item) in paths {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let url = path
                .replace("{sessionId}", "102x")
                .replace("{id}", "x")
                .replace("{userId}", "u")
                .replace("{groupId}", "g")
                .replace("{scopeId}", "s")
                .replace("{claimId}", "c")
                .replace("{policyId}", "p")
                .replace("{ruleId}", "r");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = anonymous.call(method.clone(), &url, Some(json!({}))).await;
            assert_eq!(
                (status, okta_error(&body).0.as_str()),
                (401, "E0000011"),
                "{method} {url}"
            );
        }
    }
    // The security scheme and every referenced schema exist.
    assert_eq!(doc["components"]["securitySchemes"]["ssws"]["in"], "header");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in components"
        );
    }
}

/// okta-authn: the operations that need no API token (their answers without one are
/// tested in tests/it/authn.rs).
const PUBLIC: [&str; 3] = [
    "/api/v1/authn",
    "/api/v1/sessions/me",
    "/api/v1/sessions/me/lifecycle/refresh",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_through_the_api() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let api = t.api().await;
    let (status, before) = api
        .get("/api/v1/authorizationServers/default/credentials/keys")
        .await;
    assert_eq!(status, 200);
    let kid_with = |keys: &serde_json::Value, status: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["status"] == status)
            .map(|k| k["kid"].as_str().unwrap().to_string())
    };
    let (old_active, old_next) = (
        kid_with(&before, "ACTIVE").unwrap(),
        kid_with(&before, "NEXT").unwrap(),
    );
    for key in before.as_array().unwrap() {
        assert_eq!(key["kty"], "RSA");
        assert!(
            key.get("d").is_none() && key.get("p").is_none() && key.get("q").is_none(),
            "public parts only: {key}"
        );
    }
    let issued_before = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;

    let (status, after) = api
        .post(
            "/api/v1/authorizationServers/default/credentials/lifecycle/keyRotate",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        kid_with(&after, "ACTIVE").as_deref(),
        Some(old_next.as_str()),
        "the published NEXT key signs now"
    );
    assert_eq!(
        kid_with(&after, "RETIRED").as_deref(),
        Some(old_active.as_str()),
        "the old one stays published"
    );
    assert!(kid_with(&after, "NEXT").is_some_and(|k| k != old_next));

    // New tokens carry the new kid; old ones still verify.
    let issued_after = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let kid = |token: &serde_json::Value| {
        crate::code_flow::jwt_header(token["access_token"].as_str().unwrap())["kid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(kid(&issued_after), old_next);
    assert_eq!(kid(&issued_before), old_active);
    assert_eq!(
        t.introspect(
            "default",
            &app,
            issued_before["access_token"].as_str().unwrap()
        )
        .await["active"],
        true
    );

    // The org server is not Okta's to rotate through this API (not listed there).
    let (status, body) = api
        .post(
            "/api/v1/authorizationServers/org/credentials/lifecycle/keyRotate",
            json!({}),
        )
        .await;
    assert_eq!((status, okta_error(&body).0.as_str()), (404, "E0000007"));
}
