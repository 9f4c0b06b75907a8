//! Token exchange (RFC 8693) as Okta's on-behalf-of exchange: a service app trades a
//! user's access token from a trusted server for a token of the downstream API's server,
//! over HTTP against the real server; the trusted servers through the management API.
//! Every refusal RFC 8693 §2.2.2 names, with its error code.

use gatehouse::admin::{policies, servers, syslog::Actor, trusted_servers};
use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::support::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A user's token at `default` (the API the user called), and a downstream server
/// `Orders` whose policy lets the service exchange it for `orders:read`.
struct Setup {
    t: TestApp,
    /// The downstream server's id.
    orders: String,
    /// The app the user signed in to, and its tokens at `default`.
    web: App,
    user: TestUser,
    user_tokens: Value,
    /// The service app with the token-exchange grant.
    service: App,
}

impl Setup {
    async fn new() -> Setup {
        let t = TestApp::spawn().await;
        t.scope("default", "api:read", false).await;
        let user = t.user("alice@example.com").await;
        let web = t.web_app().await;
        let user_tokens = t
            .tokens("default", &web, &user.login, "openid api:read")
            .await;
        let store = &t.backend.store;
        let now = t.clock.now();
        let orders = servers::create(
            store,
            &Actor::cli(),
            servers::NewServer {
                name: "Orders".into(),
                audience: "api://orders".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap()
        .id;
        t.scope(&orders, "orders:read", false).await;
        t.scope(&orders, "orders:write", false).await;
        let service = exchanging_app(&t, "Orders gateway").await;
        let policy = policies::create_policy(
            store,
            &Actor::cli(),
            &orders,
            policies::NewPolicy {
                name: "On behalf of users".into(),
                clients: vec![service.client_id.clone()],
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap()
        .id;
        policies::create_rule(
            store,
            &Actor::cli(),
            &orders,
            &policy,
            policies::NewRule {
                name: "Read orders".into(),
                grant_types: vec![GRANT.into()],
                scopes: vec!["orders:read".into()],
                access_token_ttl: Some(300),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        Setup {
            t,
            orders,
            web,
            user,
            user_tokens,
            service,
        }
    }

    async fn trust_default(&self) {
        trusted_servers::add(
            &self.t.backend.store,
            &Actor::cli(),
            &self.orders,
            &["default".into()],
            self.t.clock.now(),
        )
        .await
        .unwrap();
    }

    fn access_token(&self) -> &str {
        self.user_tokens["access_token"].as_str().unwrap()
    }

    /// A token exchange at `Orders` by `app` with the user's access token and `extra`.
    async fn exchange_as(
        &self,
        app: &App,
        token: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", GRANT),
            ("subject_token", token),
            ("subject_token_type", ACCESS),
        ];
        form.extend_from_slice(extra);
        self.t.post_as(&self.orders, "token", app, &form).await
    }

    async fn exchange(&self, extra: &[(&str, &str)]) -> reqwest::Response {
        self.exchange_as(&self.service, self.access_token(), extra)
            .await
    }
}

/// A confidential service app with client credentials and token exchange.
async fn exchanging_app(t: &TestApp, name: &str) -> App {
    t.create_app(gatehouse::admin::apps::NewApp {
        name: name.into(),
        grant_types: vec!["client_credentials".into(), GRANT.into()],
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_gets_a_token_for_the_downstream_api_on_behalf_of_the_user() {
    let s = Setup::new().await;
    s.trust_default().await;
    let body = expect_no_store_json(s.exchange(&[("scope", "orders:read")]).await).await;
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = claims_of(token);
    let subject = claims_of(s.access_token());
    assert_eq!(claims["iss"], s.t.issuer(&s.orders));
    assert_eq!(claims["aud"], "api://orders");
    assert_eq!(claims["sub"], subject["sub"]);
    assert_eq!(claims["uid"], s.user.id);
    assert_eq!(claims["cid"], s.service.client_id);
    assert_eq!(claims["scp"], json!(["orders:read"]));
    assert_eq!(claims["act"], json!({ "sub": s.service.client_id }));

    // The new token is a token of Orders: its own server introspects it as active.
    let introspection = s.t.introspect(&s.orders, &s.service, token).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["uid"], s.user.id);

    // A second service exchanges the delegated token further: the actors nest, the
    // current one outermost (RFC 8693 §4.1).
    let next = exchanging_app(&s.t, "Shipping").await;
    let store = &s.t.backend.store;
    let policy = policies::create_policy(
        store,
        &Actor::cli(),
        &s.orders,
        policies::NewPolicy {
            name: "Shipping".into(),
            clients: vec![next.client_id.clone()],
            ..Default::default()
        },
        s.t.clock.now(),
    )
    .await;
    // The first policy names only the first service; a policy for the second comes
    // after it in priority, so the first does not apply to it.
    let policy = policy.unwrap().id;
    policies::create_rule(
        store,
        &Actor::cli(),
        &s.orders,
        &policy,
        policies::NewRule {
            name: "Read".into(),
            grant_types: vec![GRANT.into()],
            scopes: vec!["orders:read".into()],
            ..Default::default()
        },
        s.t.clock.now(),
    )
    .await
    .unwrap();
    let body = expect_no_store_json(
        s.exchange_as(&next, token, &[("scope", "orders:read")])
            .await,
    )
    .await;
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["act"],
        json!({ "sub": next.client_id, "act": { "sub": s.service.client_id } })
    );
    assert_eq!(claims["uid"], s.user.id);

    // The System Log names the grant, the service and the user.
    let api = s.t.api().await;
    let (_, events) = api
        .get("/api/v1/logs?limit=1000&filter=eventType%20eq%20%22app.oauth2.token.grant%22%20and%20outcome.result%20eq%20%22SUCCESS%22")
        .await;
    let exchanged = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["debugContext"]["debugData"]["grantType"] == GRANT)
        .expect("a token-exchange grant event");
    assert_eq!(exchanged["actor"]["id"], s.service.client_id);
    assert_eq!(exchanged["target"][0]["id"], s.user.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_token_from_a_server_not_trusted_is_refused_until_it_is_trusted() {
    let s = Setup::new().await;
    let scope = [("scope", "orders:read")];
    expect_error(s.exchange(&scope).await, 400, "invalid_request").await;
    s.trust_default().await;
    expect_no_store_json(s.exchange(&scope).await).await;
    // Trust withdrawn: refused again, at once.
    trusted_servers::remove(
        &s.t.backend.store,
        &Actor::cli(),
        &s.orders,
        "default",
        s.t.clock.now(),
    )
    .await
    .unwrap();
    expect_error(s.exchange(&scope).await, 400, "invalid_request").await;
    // A token of a deactivated trusted server is refused too.
    s.trust_default().await;
    servers::set_active(
        &s.t.backend.store,
        &Actor::cli(),
        "default",
        false,
        s.t.clock.now(),
    )
    .await
    .unwrap();
    expect_error(s.exchange(&scope).await, 400, "invalid_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_and_audience_are_never_widened() {
    let s = Setup::new().await;
    s.trust_default().await;
    // A scope the rule does not grant: no rule allows it (Okta's policy answer).
    expect_error(
        s.exchange(&[("scope", "orders:read orders:write")]).await,
        403,
        "access_denied",
    )
    .await;
    // The subject token's own scope at the server it came from is not this server's.
    expect_error(
        s.exchange(&[("scope", "api:read")]).await,
        400,
        "invalid_scope",
    )
    .await;
    // OpenID Connect scopes would mean ID or refresh tokens: never from an exchange.
    for scope in ["openid orders:read", "offline_access orders:read"] {
        expect_error(s.exchange(&[("scope", scope)]).await, 400, "invalid_scope").await;
    }
    // Another audience than this server's (RFC 8693 §2.2.2).
    for target in [
        ("audience", "api://default"),
        ("resource", "https://elsewhere.example"),
    ] {
        expect_error(
            s.exchange(&[("scope", "orders:read"), target]).await,
            400,
            "invalid_target",
        )
        .await;
    }
    // This server's own audience is fine.
    let body = expect_no_store_json(
        s.exchange(&[("scope", "orders:read"), ("audience", "api://orders")])
            .await,
    )
    .await;
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["aud"],
        "api://orders"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_forged_and_id_tokens_are_not_subject_tokens() {
    let s = Setup::new().await;
    s.trust_default().await;
    let scope = ("scope", "orders:read");
    // Another client's ID token presented as an access token.
    let id_token = s.user_tokens["id_token"].as_str().unwrap();
    expect_error(
        s.exchange_as(&s.service, id_token, &[scope]).await,
        400,
        "invalid_request",
    )
    .await;
    // A token whose signature does not verify.
    let forged = tamper(s.access_token(), 2);
    expect_error(
        s.exchange_as(&s.service, &forged, &[scope]).await,
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        s.exchange_as(&s.service, "not-a-jwt", &[scope]).await,
        400,
        "invalid_request",
    )
    .await;
    // A token without a user (client credentials): no one to act on behalf of.
    let own =
        s.t.client_credentials("default", &s.service, Some("api:read"))
            .await;
    let own: Value = expect_no_store_json(own).await;
    expect_error(
        s.exchange_as(&s.service, own["access_token"].as_str().unwrap(), &[scope])
            .await,
        400,
        "invalid_request",
    )
    .await;
    // Revoked by the app it was issued to.
    let revoked =
        s.t.tokens("default", &s.web, &s.user.login, "openid api:read")
            .await;
    let revoked = revoked["access_token"].as_str().unwrap();
    assert_eq!(
        s.t.revoke("default", &s.web, revoked, None).await.status(),
        200
    );
    expect_error(
        s.exchange_as(&s.service, revoked, &[scope]).await,
        400,
        "invalid_request",
    )
    .await;
    // Expired: an hour later the user's token has lapsed.
    s.t.clock.advance(3601);
    expect_error(s.exchange(&[scope]).await, 400, "invalid_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_confidential_client_with_the_grant_and_the_access_token_type() {
    let s = Setup::new().await;
    s.trust_default().await;
    let scope = ("scope", "orders:read");
    // A service app without the grant type.
    let plain = s.t.service_app().await;
    expect_error(
        s.exchange_as(&plain, s.access_token(), &[scope]).await,
        400,
        "unauthorized_client",
    )
    .await;
    // The user's own web app (authorization_code only) cannot exchange its token.
    expect_error(
        s.exchange_as(&s.web, s.access_token(), &[scope]).await,
        400,
        "unauthorized_client",
    )
    .await;
    // A public client cannot be given the grant at all.
    let api = s.t.api().await;
    let (status, body) = api
        .post(
            "/api/v1/apps",
            json!({
                "name": "oidc_client",
                "label": "Public exchanger",
                "signOnMode": "OPENID_CONNECT",
                "credentials": { "oauthClient": { "token_endpoint_auth_method": "none" } },
                "settings": { "oauthClient": {
                    "redirect_uris": ["https://spa.example/cb"],
                    "grant_types": ["authorization_code", GRANT],
                    "application_type": "browser"
                } }
            }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorCode"], "E0000001");
    // Wrong or missing token types, and an actor token (not supported: the client is
    // the actor), are invalid_request (RFC 8693 §2.2.2).
    let token = s.access_token();
    for form in [
        vec![("subject_token", token)],
        vec![
            ("subject_token", token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
        ],
        vec![
            ("subject_token", token),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ],
        vec![("subject_token_type", ACCESS)],
        vec![
            ("subject_token", token),
            ("subject_token_type", ACCESS),
            ("actor_token", token),
            ("actor_token_type", ACCESS),
        ],
        vec![
            ("subject_token", token),
            ("subject_token_type", ACCESS),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            ),
        ],
        vec![
            ("subject_token", token),
            ("subject_token", token),
            ("subject_token_type", ACCESS),
        ],
    ] {
        let mut form = form;
        form.push(("grant_type", GRANT));
        form.push(scope);
        let response = s.t.post_as(&s.orders, "token", &s.service, &form).await;
        expect_error(response, 400, "invalid_request").await;
    }
    // The default server's policy has no rule for token exchange: access_denied.
    let at_default =
        s.t.post_as(
            "default",
            "token",
            &s.service,
            &[
                ("grant_type", GRANT),
                ("subject_token", token),
                ("subject_token_type", ACCESS),
                ("scope", "api:read"),
            ],
        )
        .await;
    expect_error(at_default, 403, "access_denied").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_servers_are_managed_in_oktas_shape() {
    let s = Setup::new().await;
    let api = s.t.api().await;
    let path = format!(
        "/api/v1/authorizationServers/{}/associatedServers",
        s.orders
    );
    let (status, body) = api.get(&path).await;
    assert_eq!((status, body), (200, json!([])));
    let (status, body) = api.post(&path, json!({ "trusted": ["default"] })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["id"], "default");
    assert_eq!(body[0]["issuer"], s.t.issuer("default"));
    // Posting again keeps one trust.
    let (status, _) = api.post(&path, json!({ "trusted": ["default"] })).await;
    assert_eq!(status, 201);
    let (_, body) = api.get(&format!("{path}?trusted=true")).await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, body) = api
        .get("/api/v1/authorizationServers/default/associatedServers?trusted=false")
        .await;
    assert_eq!(body[0]["id"], s.orders);

    // Hostile: itself, the org server, an unknown server, nothing, a wrong type.
    for trusted in [
        json!([s.orders]),
        json!(["org"]),
        json!(["ausNOPE"]),
        json!([]),
    ] {
        let (status, body) = api.post(&path, json!({ "trusted": trusted })).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorCode"], "E0000001", "{body}");
    }
    let (status, _) = api.post(&path, json!({ "trusted": "default" })).await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post(
            "/api/v1/authorizationServers/ausNOPE/associatedServers",
            json!({ "trusted": ["default"] }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errorCode"], "E0000007");

    assert_eq!(api.delete(&format!("{path}/default")).await, 204);
    assert_eq!(api.delete(&format!("{path}/default")).await, 404);
    let (_, body) = api.get(&path).await;
    assert_eq!(body, json!([]));
    let (_, events) = api
        .get("/api/v1/logs?limit=1000&filter=eventType%20eq%20%22oauth2.as.updated%22")
        .await;
    let changes: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["displayMessage"] == "Update authorization server trusted servers")
        .collect();
    assert_eq!(changes.len(), 2, "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_trusts_lists_and_untrusts_servers() {
    use crate::cli::{gatehouse, json_of};
    let s = Setup::new().await;
    let (ok, out, err) = gatehouse(
        &s.t,
        &["authz-servers", "trust", &s.orders, "--server", "default"],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)[0]["id"], "default");
    let (ok, out, _) = gatehouse(&s.t, &["authz-servers", "trusted", &s.orders], None);
    assert!(ok);
    assert_eq!(json_of(&out).as_array().unwrap().len(), 1);
    // Trusted now: the exchange works.
    expect_no_store_json(s.exchange(&[("scope", "orders:read")]).await).await;
    let (ok, _, err) = gatehouse(
        &s.t,
        &["authz-servers", "trust", &s.orders, "--server", "ausNOPE"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("ausNOPE"), "{err}");
    let (ok, _, err) = gatehouse(
        &s.t,
        &["authz-servers", "untrust", &s.orders, "--server", "default"],
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, _) = gatehouse(
        &s.t,
        &["authz-servers", "untrust", &s.orders, "--server", "default"],
        None,
    );
    assert!(!ok, "no longer trusted");
    expect_error(
        s.exchange(&[("scope", "orders:read")]).await,
        400,
        "invalid_request",
    )
    .await;
}
