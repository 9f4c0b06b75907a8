//! Okta compatibility, round two (issue 15): what Okta's own libraries and scripts
//! written for Okta expect of the management API and the token endpoints. Each test is
//! one item: through Okta's Node.js libraries where they exercise it
//! (`okta_node::okta_node`), and over HTTP for the shapes they do not check.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::okta_node::okta_node;
use crate::support::*;

fn basic_id(client_id: &str) -> String {
    format!("Basic {}", STANDARD.encode(client_id))
}

async fn post_with(
    t: &TestApp,
    endpoint: &str,
    header: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    t.http
        .post(t.endpoint("default", endpoint))
        .header("Authorization", header)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Item 1: okta-auth-js signs a public (SPA) client out as it does in every browser app:
/// introspection and both revocations carry `Authorization: Basic base64(clientId)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_js_signs_a_public_client_out_naming_it_in_a_basic_header() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let spa = t.refresh_app("none", 0).await;
    let tokens = t
        .tokens(
            "default",
            &spa,
            "alice@example.com",
            "openid offline_access",
        )
        .await;
    let (at, rt, id) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
    );
    let token = t.api_token("okta-node").await;
    let issuer = t.issuer("default");
    let result = okta_node(
        &t,
        &token,
        "publicSignOut",
        &[&issuer, &spa.client_id, at, rt, id],
    )
    .await;
    assert_eq!(
        (&result["before"], &result["signedOut"], &result["after"]),
        (&json!(true), &json!(true), &json!(false)),
        "{result}"
    );
    let redirect = result["redirect"].as_str().unwrap();
    assert!(
        redirect.starts_with(&format!(
            "{}?id_token_hint=",
            t.endpoint("default", "logout")
        )),
        "{redirect}"
    );
    // The refresh token auth-js revoked is gone.
    let r = t.refresh("default", &spa, rt, None).await;
    expect_error(r, 400, "invalid_grant").await;
}

/// Item 1, the other side: `Basic base64(client_id)` only identifies a public client,
/// and only at the revocation and introspection endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_alone_in_basic_identifies_only_a_public_client() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let spa = t.spa().await;
    let web = t.web_app().await;
    let tokens = t
        .tokens("default", &spa, "alice@example.com", "openid")
        .await;
    let at = tokens["access_token"].as_str().unwrap();

    let r = post_with(
        &t,
        "introspect",
        &basic_id(&spa.client_id),
        &[("token", at)],
    )
    .await;
    let answer = expect_no_store_json(r).await;
    assert_eq!(answer["active"], true, "{answer}");

    // A confidential client's id without its secret: invalid_client, 401, a Basic challenge.
    for (endpoint, form) in [
        ("revoke", ("token", at)),
        ("introspect", ("token", at)),
        ("token", ("grant_type", "client_credentials")),
    ] {
        let r = post_with(&t, endpoint, &basic_id(&web.client_id), &[form]).await;
        let headers = expect_error(r, 401, "invalid_client").await;
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic"),
            "{endpoint}"
        );
    }
    // A public client at the token endpoint names itself in the form, as RFC 6749 says.
    let r = post_with(
        &t,
        "token",
        &basic_id(&spa.client_id),
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(r, 401, "invalid_client").await;
    // An unknown id is refused the same way.
    let r = post_with(&t, "revoke", &basic_id("0oaNobody"), &[("token", at)]).await;
    expect_error(r, 401, "invalid_client").await;

    let r = post_with(&t, "revoke", &basic_id(&spa.client_id), &[("token", at)]).await;
    assert_eq!(r.status(), 200);
    let r = post_with(
        &t,
        "introspect",
        &basic_id(&spa.client_id),
        &[("token", at)],
    )
    .await;
    assert_eq!(expect_no_store_json(r).await["active"], false);
}

/// Item 2: every create answers Okta's documented status, and the served OpenAPI
/// document says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_answer_okta_s_documented_status() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, server) = api
        .post(
            "/api/v1/authorizationServers",
            json!({ "name": "Orders", "audiences": ["api://orders"] }),
        )
        .await;
    assert_eq!(status, 201, "{server}");
    let base = format!(
        "/api/v1/authorizationServers/{}",
        server["id"].as_str().unwrap()
    );
    let (status, _) = api
        .post(&format!("{base}/scopes"), json!({ "name": "orders:read" }))
        .await;
    assert_eq!(status, 201, "a scope");
    let (status, _) = api
        .post(
            &format!("{base}/claims"),
            json!({ "name": "who", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "user.login", "conditions": { "scopes": [] } }),
        )
        .await;
    assert_eq!(status, 201, "a claim");
    let (status, policy) = api
        .post(
            &format!("{base}/policies"),
            json!({ "name": "Apps", "conditions": { "clients": { "include": ["ALL_CLIENTS"] } } }),
        )
        .await;
    assert_eq!(status, 201, "a policy");
    let (status, _) = api
        .post(
            &format!("{base}/policies/{}/rules", policy["id"].as_str().unwrap()),
            json!({ "name": "All", "conditions": { "grantTypes": { "include": ["authorization_code"] }, "scopes": { "include": ["*"] } } }),
        )
        .await;
    assert_eq!(status, 201, "a rule");
    let app = t.service_app().await;
    let (status, secret) = api
        .post(
            &format!("/api/v1/apps/{}/credentials/secrets", app.client_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{secret}");
    // Okta answers these creates with 200.
    let (status, _) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "Staff" } }))
        .await;
    assert_eq!(status, 200, "a group");
    let (status, _) = api
        .post(
            "/api/v1/users?activate=false",
            json!({ "profile": { "login": "bo@example.com" } }),
        )
        .await;
    assert_eq!(status, 200, "a user");

    let (_, document) = api.get("/api/v1/openapi.json").await;
    let responses = |path: &str, method: &str| -> Vec<String> {
        document["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .filter(|k| k.starts_with('2'))
            .cloned()
            .collect()
    };
    for path in [
        "/api/v1/authorizationServers",
        "/api/v1/authorizationServers/{id}/scopes",
        "/api/v1/authorizationServers/{id}/claims",
        "/api/v1/authorizationServers/{id}/policies",
        "/api/v1/authorizationServers/{id}/policies/{policyId}/rules",
        "/api/v1/apps/{id}/credentials/secrets",
        "/api/v1/brands/{brandId}/themes/{themeId}/favicon",
    ] {
        assert_eq!(responses(path, "post"), ["201"], "{path}");
    }
    for path in [
        "/api/v1/users",
        "/api/v1/groups",
        "/api/v1/apps",
        "/api/v1/brands/{brandId}/themes/{themeId}/logo",
    ] {
        assert_eq!(responses(path, "post"), ["200"], "{path}");
    }
}

/// Item 3: Okta's access-token `sub` on every server: the user's login (`uid` the id),
/// the client id without a user; the ID token keeps the id; a server's `sub` claim
/// changes it, as in Okta.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_token_sub_is_the_login_unless_the_server_sets_it() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    for server in ["default", "org"] {
        let tokens = t.tokens(server, &app, "alice@example.com", "openid").await;
        let at = claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(
            (at["sub"].as_str(), at["uid"].as_str()),
            (Some("alice@example.com"), Some(alice.id.as_str())),
            "{server}"
        );
        let id = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(id["sub"], alice.id.as_str(), "{server}");
        let answer = t
            .introspect(server, &app, tokens["access_token"].as_str().unwrap())
            .await;
        assert_eq!(
            (
                answer["sub"].as_str(),
                answer["username"].as_str(),
                answer["uid"].as_str()
            ),
            (
                Some("alice@example.com"),
                Some("alice@example.com"),
                Some(alice.id.as_str())
            ),
            "{server}"
        );
    }
    t.scope("default", "api:read", true).await;
    let service = t.service_app().await;
    let r = t.client_credentials("default", &service, None).await;
    let body: Value = r.json().await.unwrap();
    let at = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        (at["sub"].as_str(), at.get("uid")),
        (Some(service.client_id.as_str()), None)
    );

    // A custom `sub` claim (RESOURCE, an expression) replaces the default for users;
    // a token without a user keeps the client id, as Okta's expression does.
    let api = t.api().await;
    let (status, claim) = api
        .post(
            "/api/v1/authorizationServers/default/claims",
            json!({ "name": "sub", "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "user.id", "conditions": { "scopes": [] } }),
        )
        .await;
    assert_eq!(status, 201, "{claim}");
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let text = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(text)["sub"], alice.id.as_str());
    let r = t.client_credentials("default", &service, None).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["sub"],
        service.client_id.as_str()
    );
    // The ID token's `sub` is the user's id, always.
    let (status, error) = api
        .post(
            "/api/v1/authorizationServers/default/claims",
            json!({ "name": "sub", "claimType": "IDENTITY", "valueType": "EXPRESSION", "value": "user.login", "conditions": { "scopes": [] } }),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (400, "E0000001"));
}

/// Item 4: Okta's documented service-app payload, made with the Node management SDK,
/// works for client_credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_s_service_app_payload_makes_a_client_credentials_app() {
    let t = TestApp::spawn().await;
    t.scope("default", "api:read", true).await;
    let token = t.api_token("okta-node").await;
    let made = okta_node(&t, &token, "serviceApp", &[]).await;
    assert_eq!(
        made["settings"]["response_types"],
        json!(["token"]),
        "{made}"
    );
    assert_eq!(
        made["settings"]["grant_types"],
        json!(["client_credentials"])
    );
    assert_eq!(made["settings"]["application_type"], "service");
    let app = App {
        client_id: made["clientId"].as_str().unwrap().to_string(),
        secret: Some(made["clientSecret"].as_str().unwrap().to_string()),
    };
    let r = t
        .client_credentials("default", &app, Some("api:read"))
        .await;
    assert_eq!(r.status(), 200);
    // `token` opens no flow at /authorize, and is refused beside authorization_code.
    let r = no_redirects()
        .get(t.authorize_url("default", &app.client_id, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an error page, no code for a service app");
    let api = t.api().await;
    let web = json!({
        "name": "oidc_client", "label": "Web", "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
        "settings": { "oauthClient": { "redirect_uris": [REDIRECT], "response_types": ["token"],
            "grant_types": ["authorization_code"], "application_type": "web" } } });
    let (status, error) = api.post("/api/v1/apps", web).await;
    assert_eq!(status, 400, "{error}");
    assert!(okta_error(&error).1[0].starts_with("settings.oauthClient.response_types"));
}

/// Item 5: Okta's iterator in the Node SDK pages through group members, users and
/// groups, following `Link: rel="next"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_node_sdk_pages_group_members_users_and_groups() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "Staff" } }))
        .await;
    let group_id = group["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for n in 0..5 {
        let user = t.user(&format!("u{n}@example.com")).await;
        api.put(
            &format!("/api/v1/groups/{group_id}/users/{}", user.id),
            json!({}),
        )
        .await;
        ids.push(user.id);
    }
    for name in ["Ops", "Sales"] {
        api.post("/api/v1/groups", json!({ "profile": { "name": name } }))
            .await;
    }
    let token = t.api_token("okta-node").await;
    let lists = okta_node(&t, &token, "pagedLists", &[&group_id, "2"]).await;
    let listed = |list: &str| -> Vec<String> {
        lists[list]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    ids.sort();
    assert_eq!(listed("members"), ids, "every member once, in id order");
    assert_eq!(lists["members"]["pages"], 3, "{lists}");
    assert_eq!(listed("users").len(), 5);
    assert_eq!(lists["users"]["pages"], 3);
    assert_eq!(listed("groups").len(), 4, "Staff, Ops, Sales and Everyone");
    assert_eq!(lists["groups"]["pages"], 2);
}

/// Item 5 over HTTP: every list Okta pages takes `limit` and `after` and sends Okta's
/// `Link` headers; a bad cursor or limit is Okta's validation error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_okta_pages_takes_limit_and_after() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let app = t.web_app().await;
    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "Staff" } }))
        .await;
    let group_id = group["id"].as_str().unwrap().to_string();
    for n in 0..3 {
        let user = t.user(&format!("u{n}@example.com")).await;
        api.put(
            &format!("/api/v1/groups/{group_id}/users/{}", user.id),
            json!({}),
        )
        .await;
        api.post(
            &format!("/api/v1/apps/{}/users", app.client_id),
            json!({ "id": user.id }),
        )
        .await;
        let (_, g) = api
            .post(
                "/api/v1/groups",
                json!({ "profile": { "name": format!("g{n}") } }),
            )
            .await;
        api.put(
            &format!(
                "/api/v1/apps/{}/groups/{}",
                app.client_id,
                g["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
        api.post(
            "/api/v1/authorizationServers",
            json!({ "name": format!("S{n}"), "audiences": [format!("api://s{n}")] }),
        )
        .await;
    }
    for path in [
        format!("/api/v1/groups/{group_id}/users"),
        format!("/api/v1/apps/{}/users", app.client_id),
        format!("/api/v1/apps/{}/groups", app.client_id),
        "/api/v1/authorizationServers".to_string(),
        "/api/v1/authorizationServers/default/scopes".to_string(),
    ] {
        let (_, whole) = api.get(&path).await;
        let total = whole.as_array().unwrap().len();
        assert!(total >= 3, "{path}: {whole}");
        let first = api
            .send(reqwest::Method::GET, &format!("{path}?limit=2"), None)
            .await;
        assert_eq!(first.status(), 200, "{path}");
        assert_eq!(
            link(&first, "self").as_deref(),
            Some(format!("{}{path}?limit=2", t.base).as_str())
        );
        let next = link(&first, "next").unwrap_or_else(|| panic!("{path}: a next link"));
        assert!(next.contains("after="), "{next}");
        let page: Vec<Value> = first.json().await.unwrap();
        assert_eq!(page.len(), 2, "{path}");
        let (all, pages) = api.all_pages(&format!("{path}?limit=2")).await;
        let mut seen: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(all.len(), total, "{path}");
        assert_eq!(pages, total.div_ceil(2), "{path}");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total, "{path}: each once");
        // Without a limit, one page and no next link.
        let whole = api.send(reqwest::Method::GET, &path, None).await;
        assert!(link(&whole, "next").is_none(), "{path}");
        for bad in ["limit=0", "limit=x", "after=nothing"] {
            let (status, error) = api.get(&format!("{path}?{bad}")).await;
            assert_eq!(
                (status, okta_error(&error).0.as_str()),
                (400, "E0000001"),
                "{path}?{bad}"
            );
        }
    }
}

/// Item 6: the built-in Everyone group holds every user, those created later too, is
/// not deletable or renamable (Okta's 403), and assigning an app to it opens the app
/// to all users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_is_built_in_holds_every_user_and_opens_an_app_to_all() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, found) = api.get("/api/v1/groups?q=Every").await;
    assert_eq!(status, 200);
    let everyone = &found[0];
    assert_eq!(
        (
            everyone["type"].as_str(),
            everyone["profile"]["name"].as_str()
        ),
        (Some("BUILT_IN"), Some("Everyone")),
        "{found}"
    );
    let id = everyone["id"].as_str().unwrap().to_string();
    let app = t.web_app().await;
    assert_eq!(
        api.put(
            &format!("/api/v1/apps/{}/groups/{id}", app.client_id),
            json!({})
        )
        .await
        .0,
        200
    );
    // Created after the assignment, through the API: a member, and may use the app.
    let (_, bo) = api
        .post(
            "/api/v1/users",
            json!({ "profile": { "login": "bo@example.com" }, "credentials": { "password": { "value": PASSWORD } } }),
        )
        .await;
    let bo_id = bo["id"].as_str().unwrap();
    let (_, members) = api.get(&format!("/api/v1/groups/{id}/users")).await;
    assert_eq!(members[0]["id"], bo_id);
    let tokens = t.tokens("default", &app, "bo@example.com", "openid").await;
    assert!(tokens["access_token"].is_string());

    for (status, error) in [
        api.call(
            reqwest::Method::DELETE,
            &format!("/api/v1/groups/{id}"),
            None,
        )
        .await,
        api.put(
            &format!("/api/v1/groups/{id}"),
            json!({ "profile": { "name": "All" } }),
        )
        .await,
        api.call(
            reqwest::Method::DELETE,
            &format!("/api/v1/groups/{id}/users/{bo_id}"),
            None,
        )
        .await,
    ] {
        assert_eq!(
            (status, okta_error(&error).0.as_str()),
            (403, "E0000006"),
            "{error}"
        );
    }
    let (_, again) = api.get(&format!("/api/v1/groups/{id}")).await;
    assert_eq!(again["profile"]["name"], "Everyone");
    // Another group cannot take its name.
    let (status, _) = api
        .post(
            "/api/v1/groups",
            json!({ "profile": { "name": "everyone" } }),
        )
        .await;
    assert_eq!(status, 400);
}

/// Item 8: `_links` as Okta sends them: `self`, the lists, and the lifecycle actions
/// the current status allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_groups_apps_secrets_and_servers_carry_okta_links() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let root = format!("{}/api/v1", t.base);
    let post = |href: String| json!({ "href": href, "hints": { "allow": ["POST"] } });

    let alice = t.user("alice@example.com").await;
    let (_, user) = api.get(&format!("/api/v1/users/{}", alice.id)).await;
    let u = format!("{root}/users/{}", alice.id);
    assert_eq!(
        user["_links"],
        json!({
            "self": { "href": u },
            "deactivate": post(format!("{u}/lifecycle/deactivate")),
            "suspend": post(format!("{u}/lifecycle/suspend")),
            "expirePassword": post(format!("{u}/lifecycle/expire_password")),
            "changePassword": post(format!("{u}/credentials/change_password")),
            "expirePassword": post(format!("{u}/lifecycle/expire_password")),
        })
    );
    api.post(&format!("{u}/lifecycle/suspend"), json!({})).await;
    let (_, user) = api.get(&format!("/api/v1/users/{}", alice.id)).await;
    assert_eq!(
        user["_links"],
        json!({
            "self": { "href": u },
            "deactivate": post(format!("{u}/lifecycle/deactivate")),
            "unsuspend": post(format!("{u}/lifecycle/unsuspend")),
        })
    );
    let (_, listed) = api.get("/api/v1/users").await;
    assert_eq!(listed[0]["_links"], user["_links"]);

    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "Staff" } }))
        .await;
    let g = format!("{root}/groups/{}", group["id"].as_str().unwrap());
    assert_eq!(
        group["_links"],
        json!({ "self": { "href": g }, "users": { "href": format!("{g}/users") } })
    );

    let app = t.web_app().await;
    let a = format!("{root}/apps/{}", app.client_id);
    let (_, shown) = api.get(&format!("/api/v1/apps/{}", app.client_id)).await;
    assert_eq!(
        shown["_links"],
        json!({
            "self": { "href": a },
            "users": { "href": format!("{a}/users") },
            "groups": { "href": format!("{a}/groups") },
            "deactivate": post(format!("{a}/lifecycle/deactivate")),
        })
    );
    api.post(&format!("{a}/lifecycle/deactivate"), json!({}))
        .await;
    let (_, shown) = api.get(&format!("/api/v1/apps/{}", app.client_id)).await;
    assert_eq!(
        shown["_links"]["activate"],
        post(format!("{a}/lifecycle/activate"))
    );
    assert!(shown["_links"].get("deactivate").is_none());

    let (_, server) = api.get("/api/v1/authorizationServers/default").await;
    let s = format!("{root}/authorizationServers/default");
    let issuer = t.issuer("default");
    assert_eq!(
        server["_links"],
        json!({
            "self": { "href": s },
            "scopes": { "href": format!("{s}/scopes") },
            "claims": { "href": format!("{s}/claims") },
            "policies": { "href": format!("{s}/policies") },
            "rotateKey": post(format!("{s}/credentials/lifecycle/keyRotate")),
            "metadata": [
                { "name": "openid-configuration", "href": format!("{issuer}/.well-known/openid-configuration"), "hints": { "allow": ["GET"] } },
                { "name": "oauth-authorization-server", "href": format!("{issuer}/.well-known/oauth-authorization-server"), "hints": { "allow": ["GET"] } },
            ],
            "deactivate": post(format!("{s}/lifecycle/deactivate")),
        })
    );
    for doc in server["_links"]["metadata"].as_array().unwrap() {
        let r = t
            .http
            .get(doc["href"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{doc}");
    }
}

/// Item 9: a client secret reads back in Okta's shape without its value (Gatehouse
/// keeps a keyed hash only): `secret_hash` to tell secrets apart, and `_links`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_reads_back_in_okta_s_shape_without_its_value() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let app = t.service_app().await;
    let path = format!("/api/v1/apps/{}/credentials/secrets", app.client_id);
    let (status, made) = api.post(&path, json!({})).await;
    assert_eq!(status, 201);
    assert!(made["client_secret"].is_string(), "shown once, at creation");
    let id = made["id"].as_str().unwrap();
    let (status, read) = api.get(&format!("{path}/{id}")).await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = read
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "_links",
            "created",
            "id",
            "lastUpdated",
            "secret_hash",
            "status"
        ],
        "{read}"
    );
    assert!(
        !read
            .to_string()
            .contains(made["client_secret"].as_str().unwrap())
    );
    assert_eq!(read["secret_hash"], made["secret_hash"]);
    let s = format!("{}{path}/{id}", t.base);
    assert_eq!(
        read["_links"],
        json!({ "deactivate": { "href": format!("{s}/lifecycle/deactivate"), "hints": { "allow": ["POST"] } } })
    );
    let (_, all) = api.get(&path).await;
    let hashes: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_ne!(hashes[0], hashes[1], "each secret has its own");
    let (_, off) = api
        .post(&format!("{path}/{id}/lifecycle/deactivate"), json!({}))
        .await;
    assert_eq!(
        off["_links"],
        json!({
            "activate": { "href": format!("{s}/lifecycle/activate"), "hints": { "allow": ["POST"] } },
            "delete": { "href": s, "hints": { "allow": ["DELETE"] } },
        })
    );
}

/// Item 7: `published` to the millisecond, `since` and `until` honoured exactly, and
/// Okta's polling: without `until` the `next` link comes at the end of the data too, and
/// following it later gives only the events written since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_log_is_exact_to_the_millisecond_and_can_be_polled() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    api.post("/api/v1/groups", json!({ "profile": { "name": "Staff" } }))
        .await;
    let created = "filter=eventType%20eq%20%22group.lifecycle.create%22";
    let (_, events) = api.get(&format!("/api/v1/logs?{created}")).await;
    let published = events[0]["published"].as_str().unwrap().to_string();
    let ms = gatehouse::clock::parse_rfc3339_millis(&published).unwrap();
    assert_eq!(gatehouse::clock::rfc3339_of_millis(ms), published);
    let at = |ms: i64| gatehouse::clock::rfc3339_of_millis(ms);
    for (bound, time, found) in [
        ("since", at(ms), 1),
        ("since", at(ms + 1), 0),
        ("until", at(ms), 0),
        ("until", at(ms + 1), 1),
    ] {
        let (status, list) = api
            .get(&format!("/api/v1/logs?{created}&{bound}={time}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), found, "{bound}={time}");
    }
    let (status, list) = api
        .get(&format!(
            "/api/v1/logs?{created}%20and%20published%20gt%20%22{}%22",
            at(ms - 1)
        ))
        .await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));

    // Polling: the next link even at the end; later it yields only what is new.
    let first = api
        .send(
            reqwest::Method::GET,
            &format!(
                "/api/v1/logs?{created}&sortOrder=ASCENDING&since={}",
                at(ms - 60_000)
            ),
            None,
        )
        .await;
    let next = link(&first, "next").expect("a next link at the end of the data");
    assert_eq!(
        first
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let empty = api.send(reqwest::Method::GET, &next, None).await;
    let next = link(&empty, "next").expect("still a next link");
    assert_eq!(empty.json::<Value>().await.unwrap(), json!([]));
    api.post("/api/v1/groups", json!({ "profile": { "name": "Ops" } }))
        .await;
    let (status, new) = api.get(&next).await;
    assert_eq!(status, 200);
    let new = new.as_array().unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["target"][0]["displayName"], "Ops");
    // Bounded by `until`: no next link at the end.
    let bounded = api
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/logs?{created}&until=2100-01-01T00:00:00.000Z"),
            None,
        )
        .await;
    assert!(link(&bounded, "next").is_none());
    for bad in [
        "sortOrder=DESCENDING",
        "sortOrder=up",
        "since=2026-01-01T00:00:00.5",
    ] {
        let (status, error) = api.get(&format!("/api/v1/logs?{bad}")).await;
        assert_eq!(
            (status, okta_error(&error).0.as_str()),
            (400, "E0000001"),
            "{bad}"
        );
    }
}
