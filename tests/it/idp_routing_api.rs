//! The IdP discovery policy's routing rules through Okta's Policy API, on SQLite and
//! on PostgreSQL: rules created, read, listed, replaced (moved by priority),
//! deactivated, activated and deleted; every refusal with Okta's error; the catch-all
//! kept; the System Log's `policy.rule.*` events; and a rule made through the API
//! routing a username from the sign-in page.

use serde_json::{Value, json};

use crate::federation::{federation, upstream_user};
use crate::support::*;

fn cause(body: &Value) -> (String, String) {
    let (code, causes) = okta_error(body);
    (code, causes.first().cloned().unwrap_or_default())
}

fn rule(name: &str, suffix: &str, idp_id: &str) -> Value {
    json!({
        "type": "IDP_DISCOVERY",
        "name": name,
        "conditions": {
            "userIdentifier": { "type": "IDENTIFIER", "patterns": [{ "matchType": "SUFFIX", "value": suffix }] },
            "network": { "connection": "ANYWHERE" }
        },
        "actions": { "idp": { "providers": [{ "type": "OIDC", "id": idp_id }] } }
    })
}

async fn routing_rules_through_the_api(t: TestApp) {
    let api = t.api().await;
    let (status, idp) = api
        .post(
            "/api/v1/idps",
            json!({
                "type": "OIDC",
                "name": "Corp",
                "protocol": {
                    "type": "OIDC",
                    "endpoints": {
                        "authorization": { "url": "https://idp.example/authorize" },
                        "token": { "url": "https://idp.example/token" },
                        "jwks": { "url": "https://idp.example/keys" }
                    },
                    "scopes": ["openid", "email"],
                    "issuer": { "url": "https://idp.example" },
                    "credentials": { "client": { "client_id": "gh", "client_secret": "s3cret-value-for-the-test" } }
                }
            }),
        )
        .await;
    assert_eq!(status, 200, "{idp}");
    let idp_id = idp["id"].as_str().unwrap().to_string();
    let (status, policies) = api.get("/api/v1/policies?type=IDP_DISCOVERY").await;
    assert_eq!(status, 200);
    let policy = policies[0]["id"].as_str().unwrap().to_string();
    let rules_url = format!("/api/v1/policies/{policy}/rules");
    let (_, before) = api.get(&rules_url).await;
    let system = before
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["system"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Create: Okta's shape back, ACTIVE, first before the catch-all.
    let (status, a) = api
        .post(&rules_url, rule("Corp", "corp.example", &idp_id))
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["type"], "IDP_DISCOVERY");
    assert_eq!(a["status"], "ACTIVE");
    assert_eq!(a["priority"], 1);
    assert_eq!(
        a["conditions"]["userIdentifier"]["patterns"][0]["matchType"],
        "SUFFIX"
    );
    assert_eq!(a["actions"]["idp"]["providers"][0]["id"], idp_id.as_str());
    let a_id = a["id"].as_str().unwrap().to_string();
    // A second one placed first by its priority: the first moves down.
    let mut second = rule("Partners", "partner.example", &idp_id);
    second["priority"] = json!(1);
    let (status, b) = api.post(&rules_url, second).await;
    assert_eq!(status, 200, "{b}");
    let b_id = b["id"].as_str().unwrap().to_string();
    let (_, list) = api.get(&rules_url).await;
    let order: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [b_id.as_str(), a_id.as_str(), system.as_str()]);
    assert_eq!(list[1]["priority"], 2);

    // Read one.
    let (status, got) = api.get(&format!("{rules_url}/{a_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Corp");
    let (status, _) = api.get(&format!("{rules_url}/0prNope")).await;
    assert_eq!(status, 404);

    // Replace: new patterns and a password for the rest; moved back to first.
    let mut changed = rule("Corp people", "corp.example", &idp_id);
    changed["conditions"]["userIdentifier"]["patterns"] = json!([{ "matchType": "EQUALS", "value": "boss@corp.example" }, { "matchType": "STARTS_WITH", "value": "corp-" }]);
    changed["priority"] = json!(1);
    let (status, put) = api.put(&format!("{rules_url}/{a_id}"), changed).await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["name"], "Corp people");
    assert_eq!(put["priority"], 1);
    assert_eq!(
        put["conditions"]["userIdentifier"]["patterns"][1]["matchType"],
        "STARTS_WITH"
    );
    let (_, list) = api.get(&rules_url).await;
    assert_eq!(list[0]["id"], a_id.as_str());
    assert_eq!(list[1]["id"], b_id.as_str());

    // Refusals: Okta's 400 E0000001 with the field, nothing written.
    let refused = [
        (
            rule("X", "x.example", "0oaNoSuchProvider"),
            "actions.idp.providers",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["actions"]["idp"]["providers"][0]["type"] = json!("OAUTH2");
                r
            },
            "actions.idp.providers",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["conditions"]["userIdentifier"]["patterns"][0]["matchType"] = json!("REGEX");
                r
            },
            "matchType",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["conditions"]["userIdentifier"]["patterns"][0]["matchType"] = json!("EXPRESSION");
                r
            },
            "EXPRESSION",
        ),
        (rule("X", "  ", &idp_id), "value"),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["actions"]["idp"]["providers"] = json!([]);
                r
            },
            "actions.idp.providers",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["conditions"]["network"] =
                    json!({ "connection": "ZONE", "include": ["nzoNope"] });
                r
            },
            "conditions.network",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["conditions"]["app"] =
                    json!({ "include": [{ "type": "APP", "id": "no-such-app" }] });
                r
            },
            "conditions.app",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["name"] = json!("");
                r
            },
            "name",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["type"] = json!("OKTA_SIGN_ON");
                r
            },
            "type",
        ),
        (
            {
                let mut r = rule("X", "x.example", &idp_id);
                r["priority"] = json!(0);
                r
            },
            "priority",
        ),
    ];
    for (body, field) in refused {
        let (status, answer) = api.post(&rules_url, body.clone()).await;
        assert_eq!(status, 400, "{body} {answer}");
        let (code, summary) = cause(&answer);
        assert_eq!(code, "E0000001", "{answer}");
        assert!(summary.contains(field), "{field}: {summary}");
    }
    let (status, answer) = api
        .put(
            &format!("{rules_url}/{a_id}"),
            rule("Corp", "x", "0oaNoSuchProvider"),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (_, list) = api.get(&rules_url).await;
    assert_eq!(list.as_array().unwrap().len(), 3, "nothing added");
    assert_eq!(list[0]["name"], "Corp people", "nothing changed");

    // The catch-all: its providers may change, not its conditions; it stays active
    // and cannot be deleted.
    let (status, answer) = api
        .put(
            &format!("{rules_url}/{system}"),
            rule("Default Rule", "corp.example", &idp_id),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = api
        .post(
            &format!("{rules_url}/{system}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(okta_error(&answer).0, "E0000099");
    assert_eq!(api.delete(&format!("{rules_url}/{system}")).await, 403);

    // Deactivate, activate.
    let (status, _) = api
        .post(
            &format!("{rules_url}/{b_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, got) = api.get(&format!("{rules_url}/{b_id}")).await;
    assert_eq!(got["status"], "INACTIVE");
    let (status, _) = api
        .post(&format!("{rules_url}/{b_id}/lifecycle/activate"), json!({}))
        .await;
    assert_eq!(status, 204);
    let (_, got) = api.get(&format!("{rules_url}/{b_id}")).await;
    assert_eq!(got["status"], "ACTIVE");

    // Delete; a second time it is gone.
    assert_eq!(api.delete(&format!("{rules_url}/{b_id}")).await, 204);
    assert_eq!(api.delete(&format!("{rules_url}/{b_id}")).await, 404);
    // A rule id under another policy is not found there.
    let (status, _) = api
        .get(&format!("/api/v1/policies/00pNope/rules/{a_id}"))
        .await;
    assert_eq!(status, 404);

    // The System Log.
    let (status, events) = api
        .get("/api/v1/logs?filter=eventType sw \"policy.rule.\"&limit=100")
        .await;
    assert_eq!(status, 200, "{events}");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"][0]["id"] == b_id.as_str())
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "policy.rule.add",
            "policy.rule.deactivate",
            "policy.rule.activate",
            "policy.rule.delete"
        ]
    );
    assert!(events.as_array().unwrap().iter().any(|e| {
        e["eventType"] == "policy.rule.update" && e["target"][0]["id"] == a_id.as_str()
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_through_the_api_on_sqlite() {
    routing_rules_through_the_api(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_through_the_api_on_postgres() {
    routing_rules_through_the_api(TestApp::spawn_postgres().await).await;
}

/// A rule made through the API routes a username typed on the sign-in page to the
/// provider, at once (the settings cache sees the change).
async fn an_api_rule_routes_the_sign_in(postgres: bool) {
    let f = federation(postgres, |_| {}).await;
    upstream_user(&f.up, "api@corp.example", true).await;
    let api = f.down.api().await;
    let (_, policies) = api.get("/api/v1/policies?type=IDP_DISCOVERY").await;
    let policy = policies[0]["id"].as_str().unwrap().to_string();

    let b = f.browsers();
    let first = b
        .down
        .get(&f.down.authorize_url("default", &f.app.client_id, &[]))
        .await;
    let login = location(&first).unwrap();
    let page = b.down.get(&login).await.text().await.unwrap();
    // Page loaded before the rule: the settings it routes with are read per request.
    let (status, made) = api
        .post(
            &format!("/api/v1/policies/{policy}/rules"),
            rule("Corp", "corp.example", &f.idp_id),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let tx = input_value(&page, "tx").unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let routed = b
        .down
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", "api@corp.example"),
            ],
        )
        .await;
    assert_eq!(routed.status(), 303);
    let to = location(&routed).unwrap();
    assert!(to.starts_with(&format!("/sso/idps/{}", f.idp_id)), "{to}");

    // Deactivated through the API: no rule routes anyone, so the sign-in page is the
    // username and password form again.
    let rule_id = made["id"].as_str().unwrap();
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{policy}/rules/{rule_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let b = f.browsers();
    let first = b
        .down
        .get(&f.down.authorize_url("default", &f.app.client_id, &[]))
        .await;
    let login = location(&first).unwrap();
    let page = b.down.get(&login).await.text().await.unwrap();
    assert!(page.contains("name=\"password\""), "the password form");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_rule_routes_the_sign_in_on_sqlite() {
    an_api_rule_routes_the_sign_in(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_rule_routes_the_sign_in_on_postgres() {
    an_api_rule_routes_the_sign_in(true).await;
}
