//! Okta's Identity Providers API over HTTP, on SQLite and on PostgreSQL: providers
//! created, read, listed by page, replaced, activated, deactivated and deleted; every
//! refusal with Okta's error; the client secret never in an answer or the System Log
//! but sealed and kept across a PUT that omits it; linked users listed, read and
//! unlinked; the System Log's `system.idp.lifecycle.*` events; the scopes and roles.

use gatehouse::admin::idps;
use gatehouse::store::{IdpUser, Status};
use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "upstream-client-secret-value-1234";

fn oidc(name: &str) -> Value {
    json!({
        "type": "OIDC",
        "name": name,
        "protocol": {
            "type": "OIDC",
            "endpoints": {
                "authorization": { "url": "https://idp.example/oauth2/v1/authorize", "binding": "HTTP-REDIRECT" },
                "token": { "url": "https://idp.example/oauth2/v1/token", "binding": "HTTP-POST" },
                "userInfo": { "url": "https://idp.example/oauth2/v1/userinfo", "binding": "HTTP-REDIRECT" },
                "jwks": { "url": "https://idp.example/oauth2/v1/keys", "binding": "HTTP-REDIRECT" }
            },
            "scopes": ["openid", "email", "profile"],
            "issuer": { "url": "https://idp.example" },
            "credentials": { "client": {
                "client_id": "gatehouse-at-idp",
                "client_secret": SECRET,
                "token_endpoint_auth_method": "client_secret_post"
            } }
        },
        "policy": {
            "provisioning": { "action": "AUTO", "profileMaster": true, "groups": { "action": "NONE" } },
            "accountLink": { "action": "AUTO", "filter": null },
            "subject": { "userNameTemplate": { "template": "idpuser.email" }, "matchType": "USERNAME" },
            "maxClockSkew": 120000
        },
        "gatehouse": {
            "endSessionEndpoint": "https://idp.example/oauth2/v1/logout",
            "endUpstreamSession": true,
            "profileMapping": [{ "field": "firstName", "expression": "idpuser.given_name" }],
            "button": { "label": "Sign in with Corp", "color": "#0a7d3e" }
        }
    })
}

fn cause(body: &Value) -> (String, String) {
    let (code, causes) = okta_error(body);
    (code, causes.first().cloned().unwrap_or_default())
}

async fn the_identity_providers_api(t: TestApp) {
    let api = t.api().await;

    // Create: Okta's shape back, ACTIVE, and no secret anywhere in it.
    let (status, corp) = api.post("/api/v1/idps", oidc("Corp")).await;
    assert_eq!(status, 200, "{corp}");
    let id = corp["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("0oa") && id.len() == 20, "{id}");
    assert_eq!(corp["status"], "ACTIVE");
    assert_eq!(corp["type"], "OIDC");
    assert_eq!(corp["protocol"]["type"], "OIDC");
    assert_eq!(
        corp["protocol"]["endpoints"]["authorization"],
        json!({ "url": "https://idp.example/oauth2/v1/authorize", "binding": "HTTP-REDIRECT" })
    );
    assert_eq!(corp["protocol"]["issuer"]["url"], "https://idp.example");
    assert_eq!(
        corp["protocol"]["credentials"]["client"],
        json!({ "client_id": "gatehouse-at-idp", "pkce_required": true }),
        "client_secret_post, Okta's default, is not named"
    );
    assert_eq!(corp["policy"]["maxClockSkew"], 120000);
    assert_eq!(corp["policy"]["accountLink"]["action"], "AUTO");
    assert_eq!(corp["policy"]["provisioning"]["profileMaster"], true);
    assert_eq!(
        corp["policy"]["subject"]["userNameTemplate"]["template"],
        "idpuser.email"
    );
    assert_eq!(corp["gatehouse"]["endUpstreamSession"], true);
    assert_eq!(corp["gatehouse"]["button"]["color"], "#0a7d3e");
    assert!(
        corp["_links"]["authorize"]["href"]
            .as_str()
            .unwrap()
            .contains(&format!("idp={id}"))
    );
    assert!(
        !corp.to_string().contains(SECRET),
        "the secret is write-only"
    );
    let (status, read) = api.get(&format!("/api/v1/idps/{id}")).await;
    assert_eq!((status, &read), (200, &corp));

    // Sealed under the master key, and opened with it.
    let stored = t.state.store.get_idp(&id).await.unwrap().unwrap();
    let sealed = stored.client_secret_sealed.clone().unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(SECRET));
    assert_eq!(
        idps::client_secret(&stored, &t.state.master).as_deref(),
        Some(SECRET)
    );

    // Refusals: Okta's E0000001 naming the field, nothing written.
    let refused = |mutate: &dyn Fn(&mut Value), field: &str| {
        let mut body = oidc("Refused");
        mutate(&mut body);
        (body, field.to_string())
    };
    let cases = [
        refused(&|b| b["name"] = json!(""), "name"),
        refused(&|b| b["name"] = json!("Corp"), "name"),
        refused(&|b| b["type"] = json!("SAML2"), "type"),
        refused(
            &|b| b["protocol"]["type"] = json!("OAUTH2"),
            "protocol.type",
        ),
        refused(
            &|b| b["protocol"]["issuer"] = Value::Null,
            "protocol.issuer.url",
        ),
        refused(
            &|b| b["protocol"]["endpoints"]["token"]["url"] = json!("http://idp.example/token"),
            "protocol.endpoints.token.url",
        ),
        refused(
            &|b| {
                b["protocol"]["endpoints"]["authorization"]["url"] =
                    json!("https://127.0.0.1/authorize")
            },
            "protocol.endpoints.authorization.url",
        ),
        refused(
            &|b| b["protocol"]["endpoints"]["jwks"]["url"] = json!("https://169.254.169.254/k"),
            "protocol.endpoints.jwks.url",
        ),
        refused(
            &|b| b["protocol"]["endpoints"]["jwks"] = Value::Null,
            "protocol.endpoints.jwks.url",
        ),
        refused(
            &|b| b["protocol"]["scopes"] = json!(["email"]),
            "protocol.scopes",
        ),
        refused(
            &|b| b["protocol"]["scopes"] = json!(["openid", "a b"]),
            "protocol.scopes",
        ),
        refused(
            &|b| b["protocol"]["credentials"]["client"]["client_secret"] = Value::Null,
            "protocol.credentials.client.client_secret",
        ),
        refused(
            &|b| {
                b["protocol"]["credentials"]["client"]["token_endpoint_auth_method"] =
                    json!("client_secret_jwt")
            },
            "protocol.credentials.client.token_endpoint_auth_method",
        ),
        refused(
            &|b| {
                b["protocol"]["credentials"]["client"]["token_endpoint_auth_method"] =
                    json!("private_key_jwt");
                b["protocol"]["credentials"]["signing"] = json!({ "algorithm": "HS256" });
            },
            "protocol.credentials.signing.algorithm",
        ),
        refused(
            &|b| b["protocol"]["credentials"]["client"]["client_id"] = json!(""),
            "protocol.credentials.client.client_id",
        ),
        refused(
            &|b| b["policy"]["maxClockSkew"] = json!(-1),
            "policy.maxClockSkew",
        ),
        refused(
            &|b| b["policy"]["provisioning"]["groups"] = json!({ "action": "SYNC" }),
            "policy.provisioning.groups.sourceAttributeName",
        ),
        refused(
            &|b| {
                b["policy"]["provisioning"]["groups"] =
                    json!({ "action": "ASSIGN", "assignments": ["00gNoSuchGroup000000"] })
            },
            "policy.provisioning.groups.assignments",
        ),
        refused(
            &|b| b["policy"]["provisioning"]["action"] = json!("SOMETIMES"),
            "policy.provisioning.action",
        ),
        refused(
            &|b| b["policy"]["subject"]["matchType"] = json!("CUSTOM_ATTRIBUTE"),
            "policy.subject.matchAttribute",
        ),
        refused(
            &|b| b["gatehouse"]["button"]["color"] = json!("red"),
            "gatehouse.button.color",
        ),
        refused(
            &|b| b["gatehouse"]["endSessionEndpoint"] = Value::Null,
            "gatehouse.endSessionEndpoint",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = api.post("/api/v1/idps", body).await;
        let (code, first) = cause(&error);
        assert_eq!(
            (status, code.as_str()),
            (400, "E0000001"),
            "{field}: {error}"
        );
        assert!(first.starts_with(&format!("{field}: ")), "{field}: {first}");
    }
    let (status, error) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/idps",
            Some(json!({"name": 5})),
        )
        .await;
    assert_eq!((status, cause(&error).0.as_str()), (400, "E0000003"));

    // A plain OAuth 2.0 provider (GitHub-like): no issuer or JWKS, a userinfo endpoint,
    // private_key_jwt toward it.
    let (status, github) = api
        .post(
            "/api/v1/idps",
            json!({
                "type": "OAUTH2",
                "name": "GitHub",
                "protocol": {
                    "type": "OAUTH2",
                    "endpoints": {
                        "authorization": { "url": "https://github.example/login/oauth/authorize" },
                        "token": { "url": "https://github.example/login/oauth/access_token" },
                        "userInfo": { "url": "https://api.github.example/user" }
                    },
                    "scopes": ["read:user", "user:email"],
                    "credentials": {
                        "client": { "client_id": "gh", "token_endpoint_auth_method": "private_key_jwt" },
                        "signing": { "algorithm": "ES256" }
                    }
                }
            }),
        )
        .await;
    assert_eq!(status, 200, "{github}");
    let github_id = github["id"].as_str().unwrap().to_string();
    assert_eq!(github["protocol"]["issuer"], Value::Null);
    assert_eq!(
        github["protocol"]["credentials"]["signing"]["algorithm"],
        "ES256"
    );
    let (status, error) = api
        .post(
            "/api/v1/idps",
            json!({ "type": "OAUTH2", "name": "No userinfo", "protocol": {
                "endpoints": {
                    "authorization": { "url": "https://x.example/a" },
                    "token": { "url": "https://x.example/t" }
                },
                "scopes": ["read"],
                "credentials": { "client": { "client_id": "x", "client_secret": "s" } }
            } }),
        )
        .await;
    assert_eq!(
        (
            status,
            cause(&error)
                .1
                .starts_with("protocol.endpoints.userInfo.url")
        ),
        (400, true),
        "{error}"
    );

    // List: paging with Link headers, `q` and `type`.
    for n in 0..3 {
        let (status, _) = api.post("/api/v1/idps", oidc(&format!("Extra {n}"))).await;
        assert_eq!(status, 200);
    }
    let (all, pages) = api.all_pages("/api/v1/idps?limit=2").await;
    assert_eq!((all.len(), pages), (5, 3));
    assert!(all.iter().all(|p| !p.to_string().contains(SECRET)));
    let (_, found) = api.get("/api/v1/idps?q=extr").await;
    assert_eq!(found.as_array().unwrap().len(), 3);
    let (_, found) = api.get("/api/v1/idps?type=OAUTH2").await;
    assert_eq!(found[0]["id"], github_id.as_str());
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (status, error) = api.get("/api/v1/idps?type=SAML2").await;
    assert_eq!((status, cause(&error).0.as_str()), (400, "E0000001"));
    let (status, error) = api.get("/api/v1/idps?limit=0").await;
    assert_eq!((status, cause(&error).0.as_str()), (400, "E0000001"));

    // Replace: the secret is kept when omitted, replaced when given; the status stays.
    let mut body = oidc("Corp SSO");
    body["protocol"]["credentials"]["client"]
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    body["protocol"]["scopes"] = json!(["openid"]);
    let (status, replaced) = api.put(&format!("/api/v1/idps/{id}"), body).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        (
            replaced["name"].as_str(),
            replaced["protocol"]["scopes"].clone()
        ),
        (Some("Corp SSO"), json!(["openid"]))
    );
    let stored = t.state.store.get_idp(&id).await.unwrap().unwrap();
    assert_eq!(
        idps::client_secret(&stored, &t.state.master).as_deref(),
        Some(SECRET)
    );
    let mut body = oidc("Corp SSO");
    body["protocol"]["credentials"]["client"]["client_secret"] = json!("a-new-secret");
    let (status, _) = api.put(&format!("/api/v1/idps/{id}"), body).await;
    assert_eq!(status, 200);
    let stored = t.state.store.get_idp(&id).await.unwrap().unwrap();
    assert_eq!(
        idps::client_secret(&stored, &t.state.master).as_deref(),
        Some("a-new-secret")
    );
    let (status, error) = api
        .put("/api/v1/idps/0oaNoSuchIdp00000000", oidc("Nobody"))
        .await;
    assert_eq!((status, cause(&error).0.as_str()), (404, "E0000007"));
    let (status, error) = api.put(&format!("/api/v1/idps/{id}"), oidc("GitHub")).await;
    assert_eq!((status, cause(&error).1.starts_with("name: ")), (400, true));

    // Lifecycle.
    let (status, off) = api
        .post(
            &format!("/api/v1/idps/{id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!((status, off["status"].as_str()), (200, Some("INACTIVE")));
    let (status, on) = api
        .post(&format!("/api/v1/idps/{id}/lifecycle/activate"), json!({}))
        .await;
    assert_eq!((status, on["status"].as_str()), (200, Some("ACTIVE")));
    let (status, _) = api
        .post(
            "/api/v1/idps/0oaNoSuchIdp00000000/lifecycle/activate",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Linked users (the sign-in flow links them; here straight in the store).
    let ann = t.user("ann@corp.example").await;
    let bob = t.user("bob@corp.example").await;
    for (user, sub) in [(&ann, "sub-ann"), (&bob, "sub-bob")] {
        let mut profile = serde_json::Map::new();
        profile.insert("email".into(), json!(user.login));
        t.state
            .store
            .link_idp_user(&IdpUser {
                idp_id: id.clone(),
                external_id: sub.into(),
                user_id: user.id.clone(),
                profile,
                created_at: 1,
                updated_at: 1,
            })
            .await
            .unwrap();
    }
    let (linked, pages) = api
        .all_pages(&format!("/api/v1/idps/{id}/users?limit=1"))
        .await;
    assert_eq!((linked.len(), pages), (2, 2));
    let (status, one) = api
        .get(&format!("/api/v1/idps/{id}/users/{}", ann.id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (one["id"].as_str(), one["externalId"].as_str()),
        (Some(ann.id.as_str()), Some("sub-ann"))
    );
    assert_eq!(one["profile"]["email"], "ann@corp.example");
    let (status, mine) = api.get(&format!("/api/v1/users/{}/idps", ann.id)).await;
    assert_eq!(status, 200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], id.as_str());
    assert!(!mine.to_string().contains(SECRET));
    let (status, _) = api.get("/api/v1/users/00uNoSuchUser0000000/idps").await;
    assert_eq!(status, 404);
    let (status, _) = api
        .get(&format!("/api/v1/idps/{github_id}/users/{}", ann.id))
        .await;
    assert_eq!(status, 404);

    assert_eq!(
        api.delete(&format!("/api/v1/idps/{id}/users/{}", ann.id))
            .await,
        204
    );
    assert_eq!(
        api.delete(&format!("/api/v1/idps/{id}/users/{}", ann.id))
            .await,
        404
    );
    let (_, linked) = api.get(&format!("/api/v1/idps/{id}/users")).await;
    assert_eq!(linked.as_array().unwrap().len(), 1);
    assert!(
        t.state.store.get_user(&ann.id).await.unwrap().is_some(),
        "the user stays"
    );

    // Delete: the links go, the users stay.
    assert_eq!(api.delete(&format!("/api/v1/idps/{id}")).await, 204);
    assert_eq!(api.delete(&format!("/api/v1/idps/{id}")).await, 404);
    let (status, _) = api.get(&format!("/api/v1/idps/{id}")).await;
    assert_eq!(status, 404);
    assert!(
        t.state
            .store
            .get_idp_user(&id, &bob.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(t.state.store.get_user(&bob.id).await.unwrap().is_some());
    assert_eq!(
        t.state
            .store
            .get_idp(&github_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Active
    );

    // The System Log: each change, and never the secret.
    let (status, events) = api
        .get("/api/v1/logs?filter=eventType sw \"system.idp.\"&limit=100")
        .await;
    assert_eq!(status, 200, "{events}");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"][0]["id"] == id.as_str())
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "system.idp.lifecycle.create",
            "system.idp.lifecycle.update",
            "system.idp.lifecycle.update",
            "system.idp.lifecycle.deactivate",
            "system.idp.lifecycle.activate",
            "system.idp.user.unlink",
            "system.idp.lifecycle.delete",
        ]
    );
    let (_, everything) = api.get("/api/v1/logs?limit=1000").await;
    assert!(!everything.to_string().contains(SECRET));
    assert!(!everything.to_string().contains("a-new-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_providers_api_on_sqlite() {
    the_identity_providers_api(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_providers_api_on_postgres() {
    the_identity_providers_api(TestApp::spawn_postgres().await).await;
}

/// `http://` endpoints on loopback are for development: allowed only when the server
/// runs with `allow_private_jwks_uri`, as an app's `jwks_uri`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_endpoints_only_with_the_development_setting() {
    let mut body = oidc("Local");
    for (name, path) in [
        ("authorization", "a"),
        ("token", "t"),
        ("userInfo", "u"),
        ("jwks", "k"),
    ] {
        body["protocol"]["endpoints"][name]["url"] = json!(format!("http://127.0.0.1:9/{path}"));
    }
    body["protocol"]["issuer"]["url"] = json!("http://127.0.0.1:9");
    let t = TestApp::spawn().await;
    let (status, _) = t.api().await.post("/api/v1/idps", body.clone()).await;
    assert_eq!(status, 400);
    let t = TestApp::spawn_configured(|c| c.client_auth.allow_private_jwks_uri = true).await;
    let (status, created) = t.api().await.post("/api/v1/idps", body).await;
    assert_eq!(status, 200, "{created}");
}

fn parsed(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `gatehouse idps ...` (the real binary on the server's data directory): list, route
/// by domain, test a username, the refusals, unlink, deactivate and delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idps_command_line() {
    use crate::cli::gatehouse;
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, corp) = api.post("/api/v1/idps", oidc("Corp")).await;
    assert_eq!(status, 200);
    let id = corp["id"].as_str().unwrap();

    let (ok, out, err) = gatehouse(&t, &["idps", "list"], None);
    assert!(ok, "{err}");
    assert_eq!(parsed(&out)[0]["id"], id);
    assert!(!out.contains(SECRET));
    let (ok, out, _) = gatehouse(&t, &["idps", "show", "--idp", id], None);
    assert!(ok);
    assert_eq!(parsed(&out)["name"], "Corp");

    let (ok, out, err) = gatehouse(
        &t,
        &[
            "idps",
            "route",
            "add",
            "--suffix",
            "corp.example",
            "--idp",
            id,
        ],
        None,
    );
    assert!(ok, "{err}");
    let rule = parsed(&out);
    let rule_id = rule["id"].as_str().unwrap().to_string();
    assert_eq!(
        rule["conditions"]["userIdentifier"]["patterns"],
        json!([{ "matchType": "SUFFIX", "value": "corp.example" }])
    );
    assert_eq!(
        rule["actions"]["idp"]["providers"],
        json!([{ "type": "OIDC", "id": id }])
    );
    let (ok, out, _) = gatehouse(&t, &["idps", "route", "list"], None);
    assert!(ok);
    let listed = parsed(&out);
    assert_eq!(listed["type"], "IDP_DISCOVERY");
    let rules = listed["_embedded"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["id"], rule_id.as_str());
    assert_eq!(rules[1]["system"], true);
    // The same policy and rules through Okta's Policy API.
    let (status, policies) = api.get("/api/v1/policies?type=IDP_DISCOVERY").await;
    assert_eq!(status, 200, "{policies}");
    assert_eq!(policies[0]["type"], "IDP_DISCOVERY");
    let policy_id = policies[0]["id"].as_str().unwrap();
    let (status, one) = api.get(&format!("/api/v1/policies/{policy_id}")).await;
    assert_eq!((status, &one), (200, &policies[0]));
    let (status, over_api) = api
        .get(&format!("/api/v1/policies/{policy_id}/rules"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(over_api.as_array().unwrap(), rules);

    let test = |username: &str| {
        let (ok, out, err) =
            gatehouse(&t, &["idps", "route", "test", "--username", username], None);
        assert!(ok, "{err}");
        parsed(&out)
    };
    assert_eq!(test("Ann@EU.Corp.Example")["providers"][0]["id"], id);
    assert_eq!(
        test("ann@evilcorp.example")["providers"],
        json!([{ "type": "OKTA" }])
    );

    // Refusals: an unknown provider, the catch-all, a provider a rule names.
    let (ok, _, err) = gatehouse(
        &t,
        &[
            "idps",
            "route",
            "add",
            "--suffix",
            "x.example",
            "--idp",
            "0oaNoSuchIdp00000000",
        ],
        None,
    );
    assert!(!ok && err.contains("0oaNoSuchIdp00000000"), "{err}");
    let default_id = rules[1]["id"].as_str().unwrap();
    let (ok, _, err) = gatehouse(&t, &["idps", "route", "remove", "--rule", default_id], None);
    assert!(!ok && err.contains("cannot be deleted"), "{err}");
    let (ok, _, err) = gatehouse(&t, &["idps", "delete", "--idp", id], None);
    assert!(!ok && err.contains("routing rule"), "{err}");

    // Deactivated, the rule is passed over; removed, the provider can go.
    let (ok, out, _) = gatehouse(&t, &["idps", "deactivate", "--idp", id], None);
    assert!(ok);
    assert_eq!(parsed(&out)["status"], "INACTIVE");
    assert_eq!(
        test("ann@corp.example")["providers"],
        json!([{ "type": "OKTA" }])
    );
    let (ok, _, err) = gatehouse(&t, &["idps", "route", "remove", "--rule", &rule_id], None);
    assert!(ok, "{err}");
    let (ok, out, _) = gatehouse(&t, &["idps", "users", "--idp", id], None);
    assert!(ok);
    assert_eq!(parsed(&out), json!([]));
    let (ok, _, err) = gatehouse(&t, &["idps", "delete", "--idp", id], None);
    assert!(ok, "{err}");
    let (ok, _, _) = gatehouse(&t, &["idps", "show", "--idp", id], None);
    assert!(!ok);

    let (_, events) = api
        .get("/api/v1/logs?filter=eventType sw \"policy.rule.\"&limit=100")
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"][0]["id"] == rule_id.as_str())
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["policy.rule.add", "policy.rule.delete"]);
}

/// The real binary on `t`'s data directory with `env`, `stdin` written to it.
fn gatehouse_with(
    t: &TestApp,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATA_DIR", t.dir.path())
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_ALLOW_PRIVATE_JWKS_URI")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `gatehouse idps create` and `update` (the real binary): the endpoints from the
/// issuer's discovery document (loopback only with `allow_private_jwks_uri`), the
/// secret from standard input or a file, sealed and never printed or logged; the
/// refusals with nothing written; a change to some settings keeping the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idps_create_and_update_on_the_command_line() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let issuer = t.base.clone();
    let private = [("GATEHOUSE_ALLOW_PRIVATE_JWKS_URI", "true")];
    let create = [
        "idps",
        "create",
        "--name",
        "Loopback Corp",
        "--issuer",
        &issuer,
        "--discover",
        "--client-id",
        "gatehouse-here",
        "--client-secret-stdin",
        "--auth-method",
        "client_secret_basic",
        "--scopes",
        "openid email groups",
        "--provisioning",
        "disabled",
        "--account-link",
        "auto",
        "--match-type",
        "email",
        "--groups-claim",
        "groups",
        "--end-upstream-session",
        "true",
        "--button-label",
        "Use Loopback Corp",
    ];

    // Refused: discovery toward loopback without the development setting, a secret
    // that is empty, bad flag values, no issuer: nothing created.
    let (ok, _, err) = gatehouse_with(&t, &[], &create, Some(&format!("{SECRET}\n")));
    assert!(!ok && err.contains("discovery"), "{err}");
    let (ok, _, err) = gatehouse_with(&t, &private, &create, Some("\n"));
    assert!(!ok && err.contains("empty"), "{err}");
    let mut bad = create.to_vec();
    let at = bad.len() - 11;
    bad[at] = "sometimes";
    let (ok, _, err) = gatehouse_with(&t, &private, &bad, Some(SECRET));
    assert!(!ok && err.contains("--provisioning"), "{err}");
    let (ok, _, err) = gatehouse_with(
        &t,
        &private,
        &[
            "idps",
            "create",
            "--name",
            "X",
            "--client-id",
            "x",
            "--type",
            "saml",
        ],
        None,
    );
    assert!(!ok && err.contains("--type"), "{err}");
    let (ok, _, err) = gatehouse_with(
        &t,
        &private,
        &["idps", "create", "--name", "X", "--client-id", "x"],
        None,
    );
    assert!(!ok && err.contains("issuer"), "{err}");
    let (status, none) = api.get("/api/v1/idps").await;
    assert_eq!((status, none), (200, json!([])));

    // Created: the discovered endpoints, the flags, ACTIVE; the secret sealed.
    let (ok, out, err) = gatehouse_with(&t, &private, &create, Some(&format!("{SECRET}\n")));
    assert!(ok, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
    let made = parsed(&out);
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["status"], "ACTIVE");
    assert_eq!(made["protocol"]["issuer"]["url"], issuer.as_str());
    assert_eq!(
        made["protocol"]["endpoints"]["token"]["url"],
        format!("{issuer}/oauth2/v1/token")
    );
    assert_eq!(
        made["protocol"]["endpoints"]["jwks"]["url"],
        format!("{issuer}/oauth2/v1/keys")
    );
    assert_eq!(
        made["protocol"]["scopes"],
        json!(["openid", "email", "groups"])
    );
    assert_eq!(made["policy"]["provisioning"]["action"], "DISABLED");
    assert_eq!(made["policy"]["accountLink"]["action"], "AUTO");
    assert_eq!(made["policy"]["subject"]["matchType"], "EMAIL");
    let stored = t.state.store.get_idp(&id).await.unwrap().unwrap();
    assert_eq!(
        idps::client_secret(&stored, &t.state.master).as_deref(),
        Some(SECRET)
    );
    assert_eq!(stored.groups_source_attribute.as_deref(), Some("groups"));
    assert!(stored.end_upstream_session);
    assert_eq!(stored.button_label.as_deref(), Some("Use Loopback Corp"));
    assert_eq!(
        stored.token_auth_method,
        gatehouse::store::AuthMethod::ClientSecretBasic
    );

    // Updated: a new name and a secret from a file; everything else kept.
    let file = t.dir.path().join("upstream-secret");
    std::fs::write(&file, "a-new-upstream-secret-value\n").unwrap();
    let (ok, out, err) = gatehouse_with(
        &t,
        &private,
        &[
            "idps",
            "update",
            "--idp",
            &id,
            "--name",
            "Loopback Two",
            "--client-secret-file",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(!out.contains("a-new-upstream-secret-value"));
    assert_eq!(parsed(&out)["name"], "Loopback Two");
    let after = t.state.store.get_idp(&id).await.unwrap().unwrap();
    assert_eq!(
        idps::client_secret(&after, &t.state.master).as_deref(),
        Some("a-new-upstream-secret-value")
    );
    assert_eq!(after.token_endpoint, stored.token_endpoint);
    assert_eq!(after.scopes, stored.scopes);
    assert_eq!(
        after.groups_source_attribute,
        stored.groups_source_attribute
    );
    // An update without a secret keeps it; a refused one changes nothing.
    let (ok, _, err) = gatehouse_with(
        &t,
        &private,
        &[
            "idps",
            "update",
            "--idp",
            &id,
            "--token-endpoint",
            "ftp://x",
        ],
        None,
    );
    assert!(!ok && err.contains("token"), "{err}");
    let (ok, _, err) = gatehouse_with(
        &t,
        &private,
        &["idps", "update", "--idp", &id, "--groups-claim", "none"],
        None,
    );
    assert!(ok, "{err}");
    let last = t.state.store.get_idp(&id).await.unwrap().unwrap();
    assert_eq!(last.groups_source_attribute, None);
    assert_eq!(last.name, "Loopback Two");
    assert_eq!(
        idps::client_secret(&last, &t.state.master).as_deref(),
        Some("a-new-upstream-secret-value")
    );
    let (ok, _, err) = gatehouse_with(&t, &[], &["idps", "update", "--idp", "0oaNope"], None);
    assert!(!ok && err.contains("0oaNope"), "{err}");

    // The System Log has both changes, and neither secret.
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType sw \"system.idp.\"&limit=100")
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "system.idp.lifecycle.create",
            "system.idp.lifecycle.update",
            "system.idp.lifecycle.update"
        ]
    );
    assert!(!events.to_string().contains(SECRET));
    assert!(!events.to_string().contains("a-new-upstream-secret-value"));
}
