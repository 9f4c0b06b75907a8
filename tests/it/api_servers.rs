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
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default"], "the org server is not a custom server");
    assert_eq!(api.get("/api/v1/authorizationServers/org").await.0, 404);

    let (status, server) = api
        .post(
            "/api/v1/authorizationServers",
            json!({ "name": "Orders", "description": "d", "audiences": ["api://orders"] }),
        )
        .await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_str().unwrap().to_string();
    assert_eq!(server["issuer"], t.issuer(&id));
    let (status, error) = api
        .post(
            "/api/v1/authorizationServers",
            json!({ "name": "x", "audiences": ["a", "b"] }),
        )
        .await;
    assert_eq!(
        (status, okta_error(&error).1[0].starts_with("audiences: ")),
        (400, true)
    );
    let base = format!("/api/v1/authorizationServers/{id}");

    let (status, scope) = api
        .post(
            &format!("{base}/scopes"),
            json!({ "name": "orders:read", "consent": "IMPLICIT" }),
        )
        .await;
    assert_eq!(status, 201, "{scope}");
    assert_eq!(
        api.get(&format!("{base}/scopes/{}", scope["id"].as_str().unwrap()))
            .await
            .1["name"],
        "orders:read"
    );
    let (status, error) = api
        .post(&format!("{base}/scopes"), json!({ "name": "two words" }))
        .await;
    assert_eq!(
        (status, okta_error(&error).1[0].starts_with("name: ")),
        (400, true)
    );
    let (status, claim) = api
        .post(&format!("{base}/claims"), json!({ "name": "email_addr", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "user.email", "conditions": { "scopes": [] } }))
        .await;
    assert_eq!(status, 201, "{claim}");
    assert_eq!(
        api.get(&format!("{base}/claims/{}", claim["id"].as_str().unwrap()))
            .await
            .1["value"],
        "user.email"
    );

    // No policy yet: nothing is issued, as in Okta.
    let url = t.authorize_url(&id, &app.client_id, &[("scope", "openid orders:read")]);
    let browser = t.browser();
    let r = browser.get(&url).await;
    let r = browser
        .sign_in(&location(&r).unwrap(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    let (status, policy) = api
        .post(&format!("{base}/policies"), json!({ "name": "Apps", "priority": 1, "conditions": { "clients": { "include": ["ALL_CLIENTS"] } } }))
        .await;
    assert_eq!(status, 201, "{policy}");
    let pid = policy["id"].as_str().unwrap();
    let rule = json!({ "name": "Everyone", "conditions": { "people": { "groups": { "include": ["EVERYONE"] } }, "grantTypes": { "include": ["authorization_code"] }, "scopes": { "include": ["*"] } },
        "actions": { "token": { "accessTokenLifetimeMinutes": 10, "refreshTokenLifetimeMinutes": 0, "refreshTokenWindowMinutes": 60 } } });
    let (status, rule) = api
        .post(&format!("{base}/policies/{pid}/rules"), rule)
        .await;
    assert_eq!(status, 201, "{rule}");
    let (status, error) = api
        .post(
            &format!("{base}/policies/{pid}/rules"),
            json!({ "name": "bad", "actions": { "token": { "accessTokenLifetimeMinutes": 1 } } }),
        )
        .await;
    assert_eq!(
        (
            status,
            okta_error(&error).1[0].starts_with("actions.token.accessTokenLifetimeMinutes: ")
        ),
        (400, true)
    );
    let (_, got) = api.get(&format!("{base}/policies/{pid}")).await;
    assert_eq!(got["_embedded"]["rules"][0]["id"], rule["id"]);
    assert_eq!(
        api.get(&format!("{base}/policies/{pid}/rules"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let tokens = t
        .tokens(&id, &app, "alice@example.com", "openid orders:read")
        .await;
    assert_eq!(tokens["expires_in"], 600);
    let at = crate::code_flow::jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (at["aud"].as_str(), at["email_addr"].as_str()),
        (Some("api://orders"), Some("alice@example.com"))
    );

    // Public keys only.
    let (_, keys) = api.get(&format!("{base}/credentials/keys")).await;
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none() && k["kid"].is_string())
    );

    // Deactivated, the server answers 404; then deleted with everything in it.
    assert_eq!(
        api.post(&format!("{base}/lifecycle/deactivate"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(
        t.http
            .get(format!(
                "{}/.well-known/openid-configuration",
                t.issuer(&id)
            ))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        api.post(&format!("{base}/lifecycle/activate"), json!({}))
            .await
            .0,
        204
    );
    let (status, renamed) = api
        .put(
            &base,
            json!({ "name": "Orders v2", "description": "", "audiences": ["api://orders2"] }),
        )
        .await;
    assert_eq!(
        (status, renamed["audiences"].clone()),
        (200, json!(["api://orders2"]))
    );
    assert_eq!(
        api.delete(&format!(
            "{base}/policies/{pid}/rules/{}",
            rule["id"].as_str().unwrap()
        ))
        .await,
        204
    );
    assert_eq!(api.delete(&format!("{base}/policies/{pid}")).await, 204);
    assert_eq!(
        api.delete(&format!("{base}/claims/{}", claim["id"].as_str().unwrap()))
            .await,
        204
    );
    assert_eq!(
        api.delete(&format!("{base}/scopes/{}", scope["id"].as_str().unwrap()))
            .await,
        204
    );
    let (_, scopes) = api.get(&format!("{base}/scopes")).await;
    let openid = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "openid")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, error) = api
        .call(
            reqwest::Method::DELETE,
            &format!("{base}/scopes/{openid}"),
            None,
        )
        .await;
    assert_eq!(
        (status, okta_error(&error).0.as_str()),
        (400, "E0000001"),
        "system scopes stay"
    );
    assert_eq!(api.delete(&base).await, 204);
    assert_eq!(api.get(&base).await.0, 404);
}

/// Signs `login` in for `app` at `server` with `scope`; the `error` the app gets back
/// (`None`: a code).
async fn authorize_error(
    t: &TestApp,
    server: &str,
    app: &App,
    login: &str,
    scope: &str,
) -> Option<String> {
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url(server, &app.client_id, &[("scope", scope)]))
        .await;
    let r = browser
        .sign_in(&location(&r).unwrap(), login, PASSWORD)
        .await;
    let back = location(&r).expect("back to the app");
    match param(&back, "error") {
        Some(error) => Some(error),
        None => {
            assert!(param(&back, "code").is_some(), "{back}");
            None
        }
    }
}

/// The last System Log event of `event_type`.
async fn last_event(api: &Api, event_type: &str) -> serde_json::Value {
    let (_, events) = api
        .get(&format!(
            "/api/v1/logs?limit=1000&filter=eventType%20eq%20%22{event_type}%22"
        ))
        .await;
    events
        .as_array()
        .unwrap()
        .last()
        .unwrap_or_else(|| panic!("no {event_type} event"))
        .clone()
}

/// A 400 `E0000001` whose cause names `field`.
fn invalid(status: u16, error: &serde_json::Value, field: &str) {
    let (code, causes) = okta_error(error);
    assert_eq!((status, code.as_str()), (400, "E0000001"), "{error}");
    assert_eq!(
        error["errorSummary"],
        format!("Api validation failed: {field}"),
        "{error}"
    );
    assert!(causes[0].starts_with(&format!("{field}: ")), "{causes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_claims_policies_and_rules_are_replaced_with_put_and_logged() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let (_, server) = api
        .post(
            "/api/v1/authorizationServers",
            json!({ "name": "Orders", "audiences": ["api://orders"] }),
        )
        .await;
    let id = server["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/authorizationServers/{id}");
    let (_, scope) = api
        .post(&format!("{base}/scopes"), json!({ "name": "orders:read" }))
        .await;
    let scope_path = format!("{base}/scopes/{}", scope["id"].as_str().unwrap());
    let claim_body = |value: &str, scopes: serde_json::Value| json!({ "name": "who", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": value, "conditions": { "scopes": scopes } });
    let (_, claim) = api
        .post(
            &format!("{base}/claims"),
            claim_body("user.email", json!(["orders:read"])),
        )
        .await;
    let claim_path = format!("{base}/claims/{}", claim["id"].as_str().unwrap());
    let (_, policy) = api
        .post(
            &format!("{base}/policies"),
            json!({ "name": "Apps", "conditions": { "clients": { "include": ["ALL_CLIENTS"] } } }),
        )
        .await;
    let policy_path = format!("{base}/policies/{}", policy["id"].as_str().unwrap());
    let rule_body = |minutes: i64, scopes: serde_json::Value| {
        json!({ "name": "Everyone", "conditions": { "grantTypes": { "include": ["authorization_code"] }, "scopes": { "include": scopes } },
                "actions": { "token": { "accessTokenLifetimeMinutes": minutes } } })
    };
    let (_, rule) = api
        .post(
            &format!("{policy_path}/rules"),
            rule_body(10, json!(["openid", "orders:read"])),
        )
        .await;
    let rule_path = format!("{policy_path}/rules/{}", rule["id"].as_str().unwrap());
    let tokens = t
        .tokens(&id, &app, "alice@example.com", "openid orders:read")
        .await;
    assert_eq!(tokens["expires_in"], 600);

    // Scopes: the same checks as at creation; a scope a claim or a rule names keeps its
    // name; system scopes keep theirs and are never defaults.
    let (status, error) = api.put(&scope_path, json!({ "name": "orders:view" })).await;
    invalid(status, &error, "name");
    let cause = &okta_error(&error).1[0];
    assert!(
        cause.contains("claim \"who\"") && cause.contains("rule \"Everyone\""),
        "{cause}"
    );
    let (status, error) = api.put(&scope_path, json!({ "name": "two words" })).await;
    invalid(status, &error, "name");
    let (status, error) = api.put(&scope_path, json!({ "name": "email" })).await;
    invalid(status, &error, "name");
    let (status, error) = api
        .put(
            &scope_path,
            json!({ "name": "orders:read", "consent": "MAYBE" }),
        )
        .await;
    invalid(status, &error, "consent");
    let (status, error) = api
        .put(
            &scope_path,
            json!({ "name": "orders:read", "default": "yes" }),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (400, "E0000003"));
    assert!(okta_error(&error).1[0].starts_with("default: "), "{error}");
    let (status, updated) = api.put(&scope_path, json!({ "name": "orders:read", "description": "Read orders", "consent": "REQUIRED", "default": true })).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["id"].clone(),
            updated["description"].as_str(),
            updated["consent"].as_str(),
            updated["default"].as_bool()
        ),
        (
            scope["id"].clone(),
            Some("Read orders"),
            Some("REQUIRED"),
            Some(true)
        )
    );
    assert_eq!(api.get(&scope_path).await.1, updated);
    let event = last_event(&api, "oauth2.scope.updated").await;
    assert_eq!(
        event["target"][0]["changeDetails"]["from"]["consent"],
        "IMPLICIT"
    );
    assert_eq!(
        event["target"][0]["changeDetails"]["to"]["consent"],
        "REQUIRED"
    );
    assert_eq!(event["actor"]["type"], "ApiToken");
    let (_, scopes) = api.get(&format!("{base}/scopes")).await;
    let openid = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "openid")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, error) = api
        .put(
            &format!("{base}/scopes/{openid}"),
            json!({ "name": "oidc" }),
        )
        .await;
    invalid(status, &error, "name");
    let (status, error) = api
        .put(
            &format!("{base}/scopes/{openid}"),
            json!({ "name": "openid", "default": true }),
        )
        .await;
    invalid(status, &error, "default");
    let (status, openid) = api
        .put(
            &format!("{base}/scopes/{openid}"),
            json!({ "name": "openid", "description": "Sign you in" }),
        )
        .await;
    assert_eq!(
        (
            status,
            openid["description"].as_str(),
            openid["system"].as_bool()
        ),
        (200, Some("Sign you in"), Some(true))
    );
    let (status, error) = api
        .put(&format!("{base}/scopes/scpNOPE"), json!({ "name": "x" }))
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (404, "E0000007"));
    let (status, error) = api
        .put(
            "/api/v1/authorizationServers/org/scopes/x",
            json!({ "name": "x" }),
        )
        .await;
    assert_eq!(
        (status, okta_error(&error).0.as_str()),
        (404, "E0000007"),
        "the org server is not served here"
    );

    // Claims: the same checks as at creation; the new value is in the next token.
    for (body, field) in [
        (
            json!({ "name": "who", "claimType": "BOTH", "value": "user.email" }),
            "claimType",
        ),
        (
            json!({ "name": "sub", "claimType": "IDENTITY", "value": "user.email" }),
            "name",
        ),
        (
            json!({ "name": "who", "claimType": "RESOURCE", "value": "user.password" }),
            "value",
        ),
        (
            json!({ "name": "who", "claimType": "RESOURCE", "valueType": "GROUPS", "value": ".*" }),
            "group_filter_type",
        ),
        (
            claim_body("user.email", json!(["orders:write"])),
            "conditions.scopes",
        ),
    ] {
        let (status, error) = api.put(&claim_path, body.clone()).await;
        invalid(status, &error, field);
    }
    let (status, updated) = api
        .put(&claim_path, claim_body("user.login", json!([])))
        .await;
    assert_eq!(
        (
            status,
            updated["value"].as_str(),
            updated["conditions"]["scopes"].clone()
        ),
        (200, Some("user.login"), json!([]))
    );
    let event = last_event(&api, "oauth2.claim.updated").await;
    assert_eq!(
        (
            event["target"][0]["changeDetails"]["from"]["value"].as_str(),
            event["target"][0]["changeDetails"]["to"]["value"].as_str()
        ),
        (Some("user.email"), Some("user.login"))
    );

    // Rules: the same checks as at creation; the new lifetime applies at once.
    let (status, error) = api.put(&rule_path, rule_body(1, json!(["*"]))).await;
    invalid(status, &error, "actions.token.accessTokenLifetimeMinutes");
    let (status, error) = api
        .put(&rule_path, rule_body(20, json!(["orders:write"])))
        .await;
    invalid(status, &error, "conditions.scopes.include");
    let (status, updated) = api.put(&rule_path, rule_body(20, json!(["*"]))).await;
    assert_eq!(
        (
            status,
            updated["actions"]["token"]["accessTokenLifetimeMinutes"].as_i64()
        ),
        (200, Some(20)),
        "{updated}"
    );
    assert_eq!(updated["priority"], rule["priority"], "kept when not given");
    let event = last_event(&api, "policy.rule.update").await;
    assert_eq!(
        event["target"][0]["changeDetails"]["from"]["actions"]["token"]["accessTokenLifetimeMinutes"],
        10
    );
    // (orders:read now asks for consent, which `tokens` does not give: the claim
    // comes with every scope now.)
    let tokens = t.tokens(&id, &app, "alice@example.com", "openid").await;
    assert_eq!(tokens["expires_in"], 1200);
    let at = crate::code_flow::jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["who"], "alice@example.com");

    // Nothing names orders:read any more: it may be renamed.
    let (status, renamed) = api.put(&scope_path, json!({ "name": "orders:view" })).await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("orders:view"))
    );

    // Policies: the same checks as at creation; priority kept when not given.
    let (status, error) = api
        .put(
            &policy_path,
            json!({ "name": "Apps", "conditions": { "clients": { "include": ["0oaNOBODY"] } } }),
        )
        .await;
    invalid(status, &error, "conditions.clients.include");
    let (status, error) = api
        .put(&policy_path, json!({ "name": "Apps", "priority": 5000 }))
        .await;
    invalid(status, &error, "priority");
    let (status, error) = api.put(&policy_path, json!({ "name": " " })).await;
    invalid(status, &error, "name");
    let body = json!({ "name": "Web apps", "description": "d", "conditions": { "clients": { "include": [app.client_id] } } });
    let (status, updated) = api.put(&policy_path, body).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["priority"].clone(),
            updated["conditions"]["clients"]["include"].clone()
        ),
        (
            Some("Web apps"),
            policy["priority"].clone(),
            json!([app.client_id])
        )
    );
    assert_eq!(updated["_embedded"]["rules"][0]["id"], rule["id"]);
    let event = last_event(&api, "policy.lifecycle.update").await;
    assert_eq!(event["target"][0]["changeDetails"]["from"]["name"], "Apps");
    assert_eq!(
        t.tokens(&id, &app, "alice@example.com", "openid").await["expires_in"],
        1200
    );

    // Lifecycle: an INACTIVE rule, or policy, is skipped when tokens are decided.
    assert_eq!(
        api.post(&format!("{rule_path}/lifecycle/deactivate"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(api.get(&rule_path).await.1["status"], "INACTIVE");
    assert_eq!(
        authorize_error(&t, &id, &app, "alice@example.com", "openid")
            .await
            .as_deref(),
        Some("access_denied")
    );
    let event = last_event(&api, "policy.rule.deactivate").await;
    assert_eq!(
        (
            event["target"][0]["changeDetails"]["from"]["status"].as_str(),
            event["target"][0]["changeDetails"]["to"]["status"].as_str()
        ),
        (Some("ACTIVE"), Some("INACTIVE"))
    );
    assert_eq!(
        api.post(&format!("{rule_path}/lifecycle/activate"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(
        authorize_error(&t, &id, &app, "alice@example.com", "openid").await,
        None
    );
    assert_eq!(
        api.post(&format!("{policy_path}/lifecycle/deactivate"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(api.get(&policy_path).await.1["status"], "INACTIVE");
    assert_eq!(
        authorize_error(&t, &id, &app, "alice@example.com", "openid")
            .await
            .as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        last_event(&api, "policy.lifecycle.deactivate").await["target"][0]["id"],
        policy["id"]
    );
    let (status, kept) = api.put(&policy_path, json!({ "name": "Web apps" })).await;
    assert_eq!(
        (status, kept["status"].as_str()),
        (200, Some("INACTIVE")),
        "PUT leaves the status alone"
    );
    assert_eq!(
        api.post(&format!("{policy_path}/lifecycle/activate"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(
        last_event(&api, "policy.lifecycle.activate").await["target"][0]["id"],
        policy["id"]
    );
    assert_eq!(
        authorize_error(&t, &id, &app, "alice@example.com", "openid").await,
        None
    );
    for path in [
        format!("{policy_path}/rules/0prNOPE/lifecycle/activate"),
        format!("{base}/policies/00pNOPE/lifecycle/deactivate"),
    ] {
        let (status, error) = api.post(&path, json!({})).await;
        assert_eq!(
            (status, okta_error(&error).0.as_str()),
            (404, "E0000007"),
            "{path}"
        );
    }
    let (status, error) = api
        .put(
            &format!(
                "{base}/policies/00pNOPE/rules/{}",
                rule["id"].as_str().unwrap()
            ),
            rule_body(10, json!(["*"])),
        )
        .await;
    assert_eq!(
        (status, okta_error(&error).0.as_str()),
        (404, "E0000007"),
        "a rule is found in its own policy only"
    );
}

/// `default` comes back at every start with Okta's allow-all policy: deleting it would
/// reopen it wide at the next start, so it is refused (deactivating it is the way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_server_cannot_be_deleted_only_deactivated() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, body) = api
        .call(
            reqwest::Method::DELETE,
            "/api/v1/authorizationServers/default",
            None,
        )
        .await;
    assert_eq!((status, okta_error(&body).0.as_str()), (403, "E0000006"));
    let (status, _) = api
        .post(
            "/api/v1/authorizationServers/default/lifecycle/deactivate",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let discovery = t
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            t.issuer("default")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        discovery.status(),
        404,
        "an inactive server answers nothing"
    );
}
