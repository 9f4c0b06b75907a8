//! `/api/v1/authorizationServers`: custom servers, their scopes, claims, policies and
//! rules, through the API; what is made there takes effect at the server's endpoints.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_server_configured_through_the_api_issues_tokens() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;

    let (_, list) = api.get("/api/v1/authorizationServers").await;
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["default"], "the org server is not a custom server");
    assert_eq!(api.get("/api/v1/authorizationServers/org").await.0, 404);

    let (status, server) = api.post("/api/v1/authorizationServers", json!({ "name": "Orders", "description": "d", "audiences": ["api://orders"] })).await;
    assert_eq!(status, 200, "{server}");
    let id = server["id"].as_str().unwrap().to_string();
    assert_eq!(server["issuer"], t.issuer(&id));
    let (status, error) = api.post("/api/v1/authorizationServers", json!({ "name": "x", "audiences": ["a", "b"] })).await;
    assert_eq!((status, okta_error(&error).1[0].starts_with("audiences: ")), (400, true));
    let base = format!("/api/v1/authorizationServers/{id}");

    let (status, scope) = api.post(&format!("{base}/scopes"), json!({ "name": "orders:read", "consent": "IMPLICIT" })).await;
    assert_eq!(status, 200, "{scope}");
    assert_eq!(api.get(&format!("{base}/scopes/{}", scope["id"].as_str().unwrap())).await.1["name"], "orders:read");
    let (status, error) = api.post(&format!("{base}/scopes"), json!({ "name": "two words" })).await;
    assert_eq!((status, okta_error(&error).1[0].starts_with("name: ")), (400, true));
    let (status, claim) = api
        .post(&format!("{base}/claims"), json!({ "name": "email_addr", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "user.email", "conditions": { "scopes": [] } }))
        .await;
    assert_eq!(status, 200, "{claim}");
    assert_eq!(api.get(&format!("{base}/claims/{}", claim["id"].as_str().unwrap())).await.1["value"], "user.email");

    // No policy yet: nothing is issued, as in Okta.
    let url = t.authorize_url(&id, &app.client_id, &[("scope", "openid orders:read")]);
    let browser = t.browser();
    let r = browser.get(&url).await;
    let r = browser.sign_in(&location(&r).unwrap(), "alice@example.com", PASSWORD).await;
    assert_eq!(param(&location(&r).unwrap(), "error").as_deref(), Some("access_denied"));

    let (status, policy) = api
        .post(&format!("{base}/policies"), json!({ "name": "Apps", "priority": 1, "conditions": { "clients": { "include": ["ALL_CLIENTS"] } } }))
        .await;
    assert_eq!(status, 200, "{policy}");
    let pid = policy["id"].as_str().unwrap();
    let rule = json!({ "name": "Everyone", "conditions": { "people": { "groups": { "include": ["EVERYONE"] } }, "grantTypes": { "include": ["authorization_code"] }, "scopes": { "include": ["*"] } },
        "actions": { "token": { "accessTokenLifetimeMinutes": 10, "refreshTokenLifetimeMinutes": 0, "refreshTokenWindowMinutes": 60 } } });
    let (status, rule) = api.post(&format!("{base}/policies/{pid}/rules"), rule).await;
    assert_eq!(status, 200, "{rule}");
    let (status, error) = api.post(&format!("{base}/policies/{pid}/rules"), json!({ "name": "bad", "actions": { "token": { "accessTokenLifetimeMinutes": 1 } } })).await;
    assert_eq!((status, okta_error(&error).1[0].starts_with("actions.token.accessTokenLifetimeMinutes: ")), (400, true));
    let (_, got) = api.get(&format!("{base}/policies/{pid}")).await;
    assert_eq!(got["_embedded"]["rules"][0]["id"], rule["id"]);
    assert_eq!(api.get(&format!("{base}/policies/{pid}/rules")).await.1.as_array().unwrap().len(), 1);

    let tokens = t.tokens(&id, &app, "alice@example.com", "openid orders:read").await;
    assert_eq!(tokens["expires_in"], 600);
    let at = crate::code_flow::jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!((at["aud"].as_str(), at["email_addr"].as_str()), (Some("api://orders"), Some("alice@example.com")));

    // Public keys only.
    let (_, keys) = api.get(&format!("{base}/credentials/keys")).await;
    assert!(keys.as_array().unwrap().iter().all(|k| k.get("d").is_none() && k["kid"].is_string()));

    // Deactivated, the server answers 404; then deleted with everything in it.
    assert_eq!(api.post(&format!("{base}/lifecycle/deactivate"), json!({})).await.0, 204);
    assert_eq!(t.http.get(format!("{}/.well-known/openid-configuration", t.issuer(&id))).send().await.unwrap().status(), 404);
    assert_eq!(api.post(&format!("{base}/lifecycle/activate"), json!({})).await.0, 204);
    let (status, renamed) = api.put(&base, json!({ "name": "Orders v2", "description": "", "audiences": ["api://orders2"] })).await;
    assert_eq!((status, renamed["audiences"].clone()), (200, json!(["api://orders2"])));
    assert_eq!(api.delete(&format!("{base}/policies/{pid}/rules/{}", rule["id"].as_str().unwrap())).await, 204);
    assert_eq!(api.delete(&format!("{base}/policies/{pid}")).await, 204);
    assert_eq!(api.delete(&format!("{base}/claims/{}", claim["id"].as_str().unwrap())).await, 204);
    assert_eq!(api.delete(&format!("{base}/scopes/{}", scope["id"].as_str().unwrap())).await, 204);
    let (_, scopes) = api.get(&format!("{base}/scopes")).await;
    let openid = scopes.as_array().unwrap().iter().find(|s| s["name"] == "openid").unwrap()["id"].as_str().unwrap().to_string();
    let (status, error) = api.call(reqwest::Method::DELETE, &format!("{base}/scopes/{openid}"), None).await;
    assert_eq!((status, okta_error(&error).0.as_str()), (400, "E0000001"), "system scopes stay");
    assert_eq!(api.delete(&base).await, 204);
    assert_eq!(api.get(&base).await.0, 404);
}
