//! `/api/v1/apps`: OpenID Connect apps in Okta's shape, validation, lifecycle and its
//! effect at /token and /authorize, secret rotation, assignments, and listing.

use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::support::*;

fn oidc_app(label: &str, redirect: &str) -> Value {
    json!({
        "name": "oidc_client",
        "label": label,
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic", "autoKeyRotation": true } },
        "settings": { "oauthClient": {
            "redirect_uris": [redirect],
            "post_logout_redirect_uris": [],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "application_type": "web",
        } },
    })
}

fn app_of(created: &Value) -> App {
    App {
        client_id: created["credentials"]["oauthClient"]["client_id"]
            .as_str()
            .unwrap()
            .to_string(),
        secret: created["credentials"]["oauthClient"]["client_secret"]
            .as_str()
            .map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_created_through_the_api_signs_users_in() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let (status, created) = api.post("/api/v1/apps", oidc_app("Web", REDIRECT)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (
            created["name"].as_str(),
            created["signOnMode"].as_str(),
            created["status"].as_str()
        ),
        (Some("oidc_client"), Some("OPENID_CONNECT"), Some("ACTIVE"))
    );
    let app = app_of(&created);
    assert_eq!(created["id"], app.client_id.as_str());
    assert!(app.secret.is_some());
    let code = t
        .code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);

    // The secret is shown at creation only.
    let (_, read) = api.get(&format!("/api/v1/apps/{}", app.client_id)).await;
    assert!(
        read["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );
    assert_eq!(
        read["settings"]["oauthClient"]["redirect_uris"],
        json!([REDIRECT])
    );

    // A public browser app and a service app.
    let mut spa = oidc_app("SPA", "http://localhost:3000/cb");
    spa["credentials"]["oauthClient"]["token_endpoint_auth_method"] = json!("none");
    spa["settings"]["oauthClient"]["application_type"] = json!("browser");
    let (status, spa) = api.post("/api/v1/apps", spa).await;
    assert_eq!(
        (
            status,
            spa["credentials"]["oauthClient"].get("client_secret")
        ),
        (200, None)
    );
    let service = json!({ "name": "oidc_client", "label": "Service", "signOnMode": "OPENID_CONNECT",
        "settings": { "oauthClient": { "grant_types": ["client_credentials"], "application_type": "service" } } });
    let (status, service) = api.post("/api/v1/apps", service).await;
    assert_eq!(
        (
            status,
            service["settings"]["oauthClient"]["response_types"].clone()
        ),
        (200, json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_validation_names_the_field() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let with = |path: &[&str], value: Value| {
        let mut body = oidc_app("x", REDIRECT);
        let mut at = &mut body;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    for (body, field) in [
        (
            with(
                &["settings", "oauthClient", "redirect_uris"],
                json!(["http://app.example.com/cb"]),
            ),
            "settings.oauthClient.redirect_uris",
        ),
        (
            with(
                &["settings", "oauthClient", "redirect_uris"],
                json!(["javascript:alert(1)"]),
            ),
            "settings.oauthClient.redirect_uris",
        ),
        (
            with(
                &["settings", "oauthClient", "redirect_uris"],
                json!(["https://a.example.com/cb#x"]),
            ),
            "settings.oauthClient.redirect_uris",
        ),
        (
            with(&["settings", "oauthClient", "redirect_uris"], json!([])),
            "settings.oauthClient.redirect_uris",
        ),
        (
            with(
                &["settings", "oauthClient", "grant_types"],
                json!(["implicit"]),
            ),
            "settings.oauthClient.grant_types",
        ),
        (
            with(
                &["settings", "oauthClient", "response_types"],
                json!(["token"]),
            ),
            "settings.oauthClient.response_types",
        ),
        (
            with(
                &["settings", "oauthClient", "application_type"],
                json!("browser"),
            ),
            "settings.oauthClient.application_type",
        ),
        (
            with(
                &["credentials", "oauthClient", "token_endpoint_auth_method"],
                json!("client_secret_jws"),
            ),
            "credentials.oauthClient.token_endpoint_auth_method",
        ),
        // private_key_jwt needs the client's public keys.
        (
            with(
                &["credentials", "oauthClient", "token_endpoint_auth_method"],
                json!("private_key_jwt"),
            ),
            "settings.oauthClient.jwks",
        ),
        (with(&["name"], json!("bookmark")), "name"),
        (with(&["signOnMode"], json!("SAML_2_0")), "signOnMode"),
        (with(&["label"], json!("")), "label"),
    ] {
        let (status, error) = api.post("/api/v1/apps", body.clone()).await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{body}");
        assert!(
            causes[0].starts_with(&format!("{field}: ")),
            "{field}: {causes:?}"
        );
    }
    // Wrong JSON types name the field too.
    let (status, error) = api
        .post(
            "/api/v1/apps",
            with(
                &["settings", "oauthClient", "redirect_uris"],
                json!("https://a/cb"),
            ),
        )
        .await;
    let (code, causes) = okta_error(&error);
    assert_eq!((status, code.as_str()), (400, "E0000003"));
    assert!(
        causes[0].starts_with("settings.oauthClient.redirect_uris: invalid type"),
        "{causes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_app_is_refused_at_token_and_authorize_and_deleted_only_when_inactive() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.user("alice@example.com").await;
    let (_, created) = api.post("/api/v1/apps", oidc_app("Web", REDIRECT)).await;
    let app = app_of(&created);
    let browser = t.browser();
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    let id = &app.client_id;

    let (status, error) = api
        .call(reqwest::Method::DELETE, &format!("/api/v1/apps/{id}"), None)
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (403, "E0000056"));
    assert_eq!(
        api.post(
            &format!("/api/v1/apps/{id}/lifecycle/deactivate"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}")).await.1["status"],
        "INACTIVE"
    );
    let r = t.redeem("default", &app, &code).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = browser.get(&t.authorize_url("default", id, &[])).await;
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_none(), "an error page, not a redirect");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    assert_eq!(
        api.post(&format!("/api/v1/apps/{id}/lifecycle/activate"), json!({}))
            .await
            .0,
        200
    );
    let code = t.code(&browser, "default", &app, "alice@example.com").await;
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);

    // Created inactive, deleted at once.
    let (_, inactive) = api
        .post("/api/v1/apps?activate=false", oidc_app("Off", REDIRECT))
        .await;
    assert_eq!(inactive["status"], "INACTIVE");
    let path = format!("/api/v1/apps/{}", inactive["id"].as_str().unwrap());
    assert_eq!(api.delete(&path).await, 204);
    assert_eq!(api.get(&path).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_rotate_secrets_and_assignments() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let user = t.user("alice@example.com").await;
    let (_, created) = api
        .post(
            "/api/v1/apps",
            oidc_app("Web", "https://old.example.com/cb"),
        )
        .await;
    let app = app_of(&created);
    let id = app.client_id.clone();

    // PUT replaces the settings; the secret stays.
    let mut body = oidc_app("Renamed", REDIRECT);
    body["settings"]["oauthClient"]["grant_types"] = json!(["authorization_code", "refresh_token"]);
    let (status, updated) = api.put(&format!("/api/v1/apps/{id}"), body).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["label"].as_str(),
            updated["settings"]["oauthClient"]["redirect_uris"].clone()
        ),
        (Some("Renamed"), json!([REDIRECT]))
    );
    let code = t
        .code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    assert_eq!(t.redeem("default", &app, &code).await.status(), 200);
    let mut public = oidc_app("x", REDIRECT);
    public["credentials"]["oauthClient"]["token_endpoint_auth_method"] = json!("none");
    public["settings"]["oauthClient"]["application_type"] = json!("browser");
    let (status, error) = api.put(&format!("/api/v1/apps/{id}"), public).await;
    assert_eq!(
        (
            status,
            okta_error(&error).1[0]
                .starts_with("credentials.oauthClient.token_endpoint_auth_method")
        ),
        (400, true)
    );

    // A new secret works beside the old one until the old one is deactivated (Okta's
    // rotation; the whole lifecycle is in client_jwt::two_secrets_rotate_without_an_outage).
    let (status, secret) = api
        .post(&format!("/api/v1/apps/{id}/credentials/secrets"), json!({}))
        .await;
    assert_eq!((status, secret["status"].as_str()), (201, Some("ACTIVE")));
    let new = App {
        client_id: id.clone(),
        secret: Some(secret["client_secret"].as_str().unwrap().to_string()),
    };
    assert_ne!(new.secret, app.secret);
    let (_, listed) = api
        .get(&format!("/api/v1/apps/{id}/credentials/secrets"))
        .await;
    assert_eq!(listed[1]["id"], secret["id"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("client_secret").is_none())
    );
    let old_id = listed[0]["id"].as_str().unwrap().to_string();
    let code = t
        .code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    assert_eq!(
        t.redeem("default", &app, &code).await.status(),
        200,
        "the old secret, still active"
    );
    let (status, _) = api
        .post(
            &format!("/api/v1/apps/{id}/credentials/secrets/{old_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let code = t
        .code(&t.browser(), "default", &app, "alice@example.com")
        .await;
    assert_eq!(
        t.redeem("default", &app, &code).await.status(),
        401,
        "the old secret, deactivated"
    );
    let code = t
        .code(&t.browser(), "default", &new, "alice@example.com")
        .await;
    assert_eq!(
        t.redeem("default", &new, &code).await.status(),
        200,
        "the new secret"
    );

    // Users and groups assigned, listed, unassigned.
    let (status, assigned) = api
        .post(
            &format!("/api/v1/apps/{id}/users"),
            json!({ "id": user.id, "scope": "USER" }),
        )
        .await;
    assert_eq!(
        (
            status,
            assigned["id"].as_str(),
            assigned["credentials"]["userName"].as_str()
        ),
        (200, Some(user.id.as_str()), Some("alice@example.com"))
    );
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}/users"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}/users/{}", user.id))
            .await
            .0,
        200
    );
    let (status, error) = api
        .post(
            &format!("/api/v1/apps/{id}/users"),
            json!({ "id": "00uNOBODY" }),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (404, "E0000007"));
    assert_eq!(
        api.delete(&format!("/api/v1/apps/{id}/users/{}", user.id))
            .await,
        204
    );
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}/users/{}", user.id))
            .await
            .0,
        404
    );
    let (_, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": "staff" } }))
        .await;
    let gid = group["id"].as_str().unwrap();
    let (status, assignment) = api
        .put(
            &format!("/api/v1/apps/{id}/groups/{gid}"),
            json!({ "priority": 2 }),
        )
        .await;
    assert_eq!((status, assignment["priority"].as_i64()), (200, Some(2)));
    let r = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{id}/groups/{gid}"),
            None,
        )
        .await;
    assert_eq!(r.status(), 200, "an empty body is allowed");
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}/groups")).await.1[0]["id"],
        gid
    );
    assert_eq!(
        api.delete(&format!("/api/v1/apps/{id}/groups/{gid}")).await,
        204
    );
    assert_eq!(
        api.get(&format!("/api/v1/apps/{id}/groups")).await.1,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_list_in_cursor_pages_with_q_and_filter() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    for label in ["Alpha", "Beta", "Alpine", "Gamma"] {
        api.post("/api/v1/apps", oidc_app(label, REDIRECT)).await;
    }
    let (_, off) = api
        .post("/api/v1/apps?activate=false", oidc_app("Off", REDIRECT))
        .await;
    // The five, and the built-in apps: the admin console and the account page.
    let (all, pages) = api.all_pages("/api/v1/apps?limit=2").await;
    assert_eq!((all.len(), pages), (7, 4));
    let labels = |v: &Value| {
        let mut l: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["label"].as_str().unwrap().to_string())
            .collect();
        l.sort();
        l
    };
    assert_eq!(
        labels(&api.get("/api/v1/apps?q=alp").await.1),
        ["Alpha", "Alpine"]
    );
    assert_eq!(
        api.get("/api/v1/apps?filter=status%20eq%20%22INACTIVE%22")
            .await
            .1[0]["id"],
        off["id"]
    );
    assert_eq!(api.get("/api/v1/apps?limit=500").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admin_writes_never_bring_a_deactivated_secret_back() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (_, created) = api.post("/api/v1/apps", oidc_app("Web", REDIRECT)).await;
    let id = app_of(&created).client_id;
    let secrets = format!("/api/v1/apps/{id}/credentials/secrets");
    let (_, second) = api.post(&secrets, json!({})).await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let first_id = api.get(&secrets).await.1[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for round in 0..6 {
        // Deactivate the (leaked) first secret while PUTs and app deactivations race it:
        // each of those read the app before or after, none may write the secret back.
        let put = |label: String| {
            let api = &api;
            let id = &id;
            async move {
                api.put(&format!("/api/v1/apps/{id}"), oidc_app(&label, REDIRECT))
                    .await
                    .0
            }
        };
        let (secret_off, app_off) = (
            format!("{secrets}/{first_id}/lifecycle/deactivate"),
            format!("/api/v1/apps/{id}/lifecycle/deactivate"),
        );
        let (deactivated, a, b, c) = tokio::join!(
            api.post(&secret_off, json!({})),
            put(format!("A{round}")),
            put(format!("B{round}")),
            api.post(&app_off, json!({})),
        );
        assert_eq!(
            (deactivated.0, a, b, c.0),
            (200, 200, 200, 200),
            "round {round}"
        );
        let (_, listed) = api.get(&secrets).await;
        let status = |sid: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == sid)
                .unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            status(&first_id),
            "INACTIVE",
            "round {round}: the deactivation stands"
        );
        assert_eq!(status(&second_id), "ACTIVE");
        assert_eq!(
            api.get(&format!("/api/v1/apps/{id}")).await.1["status"],
            "INACTIVE"
        );
        // Reset for the next round.
        assert_eq!(
            api.post(
                &format!("{secrets}/{first_id}/lifecycle/activate"),
                json!({})
            )
            .await
            .0,
            200
        );
        assert_eq!(
            api.post(&format!("/api/v1/apps/{id}/lifecycle/activate"), json!({}))
                .await
                .0,
            200
        );
    }
    // A secret created while a PUT races it is never lost.
    assert_eq!(
        api.post(
            &format!("{secrets}/{first_id}/lifecycle/deactivate"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(api.delete(&format!("{secrets}/{first_id}")).await, 204);
    let app_path = format!("/api/v1/apps/{id}");
    let (made, put_status) = tokio::join!(
        api.post(&secrets, json!({})),
        api.put(&app_path, oidc_app("C", REDIRECT))
    );
    assert_eq!((made.0, put_status.0), (201, 200));
    let (_, listed) = api.get(&secrets).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == made.1["id"]),
        "the created secret is kept: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_client_secret_jwt_generates_a_sealed_secret_and_switching_away_drops_it() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    t.scope("default", "api:read", false).await;
    let mut body = oidc_app("Svc", REDIRECT);
    body["settings"]["oauthClient"]["grant_types"] = json!(["client_credentials"]);
    body["settings"]["oauthClient"]["redirect_uris"] = json!([]);
    body["settings"]["oauthClient"]["response_types"] = json!([]);
    body["settings"]["oauthClient"]["application_type"] = json!("service");
    let (status, created) = api.post("/api/v1/apps", body.clone()).await;
    assert_eq!(status, 200, "{created}");
    let id = app_of(&created).client_id;
    let old = app_of(&created).secret.unwrap();
    let mut jwt = body.clone();
    jwt["credentials"]["oauthClient"]["token_endpoint_auth_method"] = json!("client_secret_jwt");
    let (status, switched) = api.put(&format!("/api/v1/apps/{id}"), jwt.clone()).await;
    assert_eq!(status, 200, "{switched}");
    // Secrets made for client_secret_basic are kept only as hashes: a new one is made
    // for HMAC, shown once here.
    let new = switched["credentials"]["oauthClient"]["client_secret"]
        .as_str()
        .expect("the new secret, shown once")
        .to_string();
    assert_ne!(new, old);
    let stored = t.backend.store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(stored.secrets.len(), 2);
    assert!(stored.secrets[0].sealed.is_none() && stored.secrets[1].sealed.is_some());
    let token = t.endpoint("default", "token");
    let assertion = crate::signer::hmac_sign(
        "HS256",
        new.as_bytes(),
        &crate::client_jwt::claims(&id, &token, t.clock.now()),
    );
    assert_eq!(
        crate::client_jwt::cc_with(&t, &id, &assertion)
            .await
            .status(),
        200,
        "the new secret keys HMAC"
    );
    // Again: a sealed secret exists, nothing new.
    let (status, again) = api.put(&format!("/api/v1/apps/{id}"), jwt.clone()).await;
    assert_eq!(status, 200);
    assert!(
        again["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );
    // Away: the sealed copies are dropped; the secrets still work as secrets.
    let (status, _) = api.put(&format!("/api/v1/apps/{id}"), body.clone()).await;
    assert_eq!(status, 200);
    let stored = t.backend.store.get_client(&id).await.unwrap().unwrap();
    assert!(
        stored.secrets.iter().all(|s| s.sealed.is_none()),
        "no sealed copy kept"
    );
    let basic = t
        .http
        .post(&token)
        .basic_auth(&id, Some(&new))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    // Back to client_secret_jwt with two hash-only secrets: no room for a new one.
    let (status, error) = api.put(&format!("/api/v1/apps/{id}"), jwt).await;
    assert_eq!(status, 400, "{error}");
    assert!(okta_error(&error).1[0].contains("delete one"), "{error}");
}
