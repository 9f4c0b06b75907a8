//! Dynamic client registration (RFC 7591) and management (RFC 7592) at
//! `/oauth2/v1/clients`: the happy path through the `openidconnect` crate's registration
//! client and a code flow with the registered client; every refusal over HTTP with its
//! RFC error code; and, on PostgreSQL with two real processes, an initial access token
//! with one use and a registration access token each winning once.

use gatehouse::admin::{Actor, initial_tokens};
use gatehouse::clock::Clock;
use openidconnect::core::{
    CoreClientRegistrationRequest, CoreClientRegistrationResponse, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, ClientName, IssuerUrl, LocalizedClaim, RedirectUrl, RegistrationUrl,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client_jwt::JWT_BEARER;
use crate::multi::cluster::Cluster;
use crate::signer::{Key, jti};
use crate::support::*;

/// An initial access token's value, valid `lifetime` seconds for `uses` registrations.
async fn initial_token(t: &TestApp, lifetime: i64, uses: i64) -> String {
    let (_, value) = initial_tokens::create(
        &t.backend.store,
        &Actor::cli(),
        "tests",
        lifetime,
        uses,
        t.clock.now(),
    )
    .await
    .unwrap();
    value
}

/// A request at the registration endpoint (or `path` below it) with `auth` as the
/// `Authorization` header.
async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> (u16, Value, String) {
    let mut request = no_redirects().request(method, format!("{base}/oauth2/v1/clients{path}"));
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 204 {
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{path}: never cached"
        );
    }
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, challenge)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The refusal `(status, error)` of a registration with `body` under `auth`.
async fn refused(t: &TestApp, auth: &str, body: Value) -> (u16, String) {
    let (status, answer, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(auth),
        Some(&body.to_string()),
    )
    .await;
    (status, answer["error"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn a_client_registers_signs_a_user_in_is_read_updated_rotated_and_deleted() {
    let t = TestApp::spawn().await;
    let endpoint = format!("{}/oauth2/v1/clients", t.base);

    // Discovery names the endpoint, on the org server and on custom servers.
    let http = no_redirects();
    for server in ["org", "default"] {
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer(server)).unwrap(), &http)
                .await
                .unwrap();
        assert_eq!(
            metadata.registration_endpoint().map(|u| u.as_str()),
            Some(endpoint.as_str()),
            "{server}"
        );
    }

    // The happy path through the openidconnect crate's registration client.
    let initial = initial_token(&t, 3600, 2).await;
    let name: LocalizedClaim<ClientName> = ClientName::new("Registered RP".into()).into();
    let registered: CoreClientRegistrationResponse = CoreClientRegistrationRequest::new(
        vec![RedirectUrl::new(REDIRECT.into()).unwrap()],
        Default::default(),
    )
    .set_client_name(Some(name))
    .set_initial_access_token(Some(AccessToken::new(initial.clone())))
    .register_async(&RegistrationUrl::new(endpoint.clone()).unwrap(), &http)
    .await
    .expect("registered");
    let client_id = registered.client_id().to_string();
    let secret = registered.client_secret().unwrap().secret().clone();
    let rat = registered
        .registration_access_token()
        .unwrap()
        .secret()
        .clone();
    assert_eq!(
        registered.registration_client_uri().unwrap().as_str(),
        format!("{endpoint}/{client_id}")
    );
    assert!(registered.client_secret_expires_at().is_some());
    assert_eq!(
        serde_json::to_value(registered.token_endpoint_auth_method()).unwrap(),
        "client_secret_basic"
    );

    // It is an app like any other: a user signs in to it through a real RP.
    t.user("alice@example.com").await;
    let app = App {
        client_id: client_id.clone(),
        secret: Some(secret.clone()),
    };
    let rp = t.rp("org", &app).await;
    t.rp_tokens(&rp, "alice@example.com", &[]).await;

    // RFC 7592 §2.1: read with the registration access token; no secret, no token.
    let path = format!("/{client_id}");
    let (status, read, _) = call(
        &t.base,
        reqwest::Method::GET,
        &path,
        Some(&bearer(&rat)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["client_name"], "Registered RP");
    assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());

    // Another client's registration token, the initial token, a made-up one: 401.
    for (token, why) in [
        (initial.as_str(), "an initial token"),
        ("nonsense", "unknown"),
    ] {
        let (status, answer, challenge) = call(
            &t.base,
            reqwest::Method::GET,
            &path,
            Some(&bearer(token)),
            None,
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("invalid_token")),
            "{why}"
        );
        assert!(challenge.contains("invalid_token"), "{why}: {challenge}");
    }

    // RFC 7592 §2.2: an update replaces the metadata and the registration token.
    let update = json!({
        "client_id": client_id,
        "client_secret": secret,
        "client_name": "Renamed RP",
        "redirect_uris": [REDIRECT, "https://app.example.com/other"],
    });
    let (status, updated, _) = call(
        &t.base,
        reqwest::Method::PUT,
        &path,
        Some(&bearer(&rat)),
        Some(&update.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    let rat2 = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rat2, rat);
    let (status, answer, _) = call(
        &t.base,
        reqwest::Method::PUT,
        &path,
        Some(&bearer(&rat)),
        Some(&update.to_string()),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_token")),
        "the old token is gone"
    );
    for (body, code, why) in [
        (
            json!({"client_id": "0oaother", "client_name": "x", "redirect_uris": [REDIRECT]}),
            "invalid_client_metadata",
            "another client_id",
        ),
        (
            json!({"client_id": client_id, "client_secret": "wrong", "client_name": "x", "redirect_uris": [REDIRECT]}),
            "invalid_client_metadata",
            "a wrong secret",
        ),
        (
            json!({"client_id": client_id, "client_name": "x", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "confidential to public",
        ),
        (
            json!({"client_id": client_id, "client_name": "x", "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
            "plain http",
        ),
    ] {
        let (status, answer, _) = call(
            &t.base,
            reqwest::Method::PUT,
            &path,
            Some(&bearer(&rat2)),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(code)),
            "{why}: {answer}"
        );
    }

    // Okta's newSecret: the old secret stops working at once.
    let (status, rotated, _) = call(
        &t.base,
        reqwest::Method::POST,
        &format!("{path}/lifecycle/newSecret"),
        Some(&bearer(&rat2)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let secret2 = rotated["client_secret"].as_str().unwrap().to_string();
    let introspect = |secret: String| {
        let t = &t;
        let client_id = client_id.clone();
        async move {
            no_redirects()
                .post(t.endpoint("org", "introspect"))
                .basic_auth(client_id, Some(secret))
                .form(&[("token", "x")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(introspect(secret.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(secret2).await, StatusCode::OK);

    // Refusals, each with RFC 7591 §3.2.2's code; none spends the initial token's
    // remaining use.
    let auth = bearer(&initial);
    let ok = |extra: Value| {
        let mut body = json!({"client_name": "Bad", "redirect_uris": [REDIRECT]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, want) in [
        (
            ok(json!({"redirect_uris": ["http://evil.example/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            ok(json!({"redirect_uris": ["https://*.example.com/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            ok(json!({"redirect_uris": ["https://app.example.com/cb#x"]})),
            "invalid_redirect_uri",
        ),
        (
            ok(json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (
            ok(json!({"redirect_uris": "https://app.example.com/cb"})),
            "invalid_redirect_uri",
        ),
        (ok(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (
            ok(json!({"post_logout_redirect_uris": ["http://evil.example/"]})),
            "invalid_redirect_uri",
        ),
        (
            ok(json!({"token_endpoint_auth_method": "tls_client_auth"})),
            "invalid_client_metadata",
        ),
        (
            ok(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
        ),
        (
            ok(json!({"grant_types": ["implicit"], "response_types": ["token"]})),
            "invalid_client_metadata",
        ),
        (
            ok(
                json!({"token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "client_credentials"]}),
            ),
            "invalid_client_metadata",
        ),
        (
            ok(
                json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}}),
            ),
            "invalid_client_metadata",
        ),
        (
            ok(
                json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://169.254.169.254/keys"}),
            ),
            "invalid_client_metadata",
        ),
        (
            ok(json!({"application_type": "tv"})),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT]}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
        (
            ok(json!({"software_statement": "eyJhbGciOiJub25lIn0.e30."})),
            "unapproved_software_statement",
        ),
    ] {
        assert_eq!(
            refused(&t, &auth, body.clone()).await,
            (400, want.to_string()),
            "{body}"
        );
    }
    let (status, answer, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(&auth),
        Some("{not json"),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );

    // No credential, an unknown one: 401 before the body is looked at.
    let (status, answer, challenge) =
        call(&t.base, reqwest::Method::POST, "", None, Some("{}")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(
        refused(&t, "Bearer made-up", ok(json!({}))).await,
        (401, "invalid_token".into())
    );

    // The second use registers a public client; a third is refused (used up), as are a
    // revoked token and an expired one.
    let public = ok(json!({"token_endpoint_auth_method": "none", "client_name": "SPA"}));
    let (status, spa, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(&auth),
        Some(&public.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{spa}");
    assert!(spa.get("client_secret").is_none() && spa.get("client_secret_expires_at").is_none());
    assert_eq!(spa["application_type"], "browser");
    assert_eq!(
        refused(&t, &auth, public.clone()).await,
        (401, "invalid_token".into()),
        "used up"
    );
    let listed = initial_tokens::list(&t.backend.store).await.unwrap();
    assert_eq!(
        (
            listed[0].uses,
            initial_tokens::status(&listed[0], t.clock.now())
        ),
        (2, "USED_UP")
    );
    // The management API makes, lists and revokes them too.
    let root = t.api().await;
    let (status, created) = root
        .post(
            "/api/v1/initialAccessTokens",
            json!({"name": "api", "maxUses": 5}),
        )
        .await;
    assert_eq!(
        (status, created["status"].as_str()),
        (201, Some("ACTIVE")),
        "{created}"
    );
    let revoked = created["token"].as_str().unwrap().to_string();
    let (status, answer) = root
        .post(
            "/api/v1/initialAccessTokens",
            json!({"name": "api", "maxUses": 0}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, listed) = root.get("/api/v1/initialAccessTokens").await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    assert!(
        listed.len() == 2 && listed.iter().all(|t| t.get("token").is_none()),
        "{listed:?}"
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        root.delete(&format!("/api/v1/initialAccessTokens/{id}"))
            .await,
        204
    );
    assert_eq!(
        refused(&t, &bearer(&revoked), public.clone()).await,
        (401, "invalid_token".into()),
        "revoked"
    );

    // An admin: SSWS registers, reads any client, and deletes one; a missing client is 404.
    let ssws = format!("SSWS {}", t.api_token("registrar").await);
    let (status, by_admin, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(&ssws),
        Some(&public.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{by_admin}");
    assert!(by_admin["registration_access_token"].is_string());
    let (status, _, _) = call(&t.base, reqwest::Method::GET, &path, Some(&ssws), None).await;
    assert_eq!(status, 200);
    let (status, answer, _) = call(
        &t.base,
        reqwest::Method::GET,
        "/0oamissing",
        Some(&ssws),
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    let spa_path = format!("/{}", spa["client_id"].as_str().unwrap());
    let (status, _, _) = call(
        &t.base,
        reqwest::Method::DELETE,
        &spa_path,
        Some(&ssws),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // An OAuth access token: okta.clients.register registers, and reads nothing.
    // (A service app registered here too, by the admin: private_key_jwt, its JWKS.)
    let key = Key::ec();
    let service = json!({
        "client_name": "Registrar service",
        "token_endpoint_auth_method": "private_key_jwt",
        "grant_types": ["client_credentials"],
        "jwks": {"keys": [key.jwk("k1")]},
    });
    let (status, service, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(&ssws),
        Some(&service.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["application_type"], "service");
    assert_eq!(service["jwks"]["keys"][0]["kid"], "k1");
    let service_id = service["client_id"].as_str().unwrap().to_string();
    let (status, grant) = root
        .post(
            &format!("/api/v1/apps/{service_id}/grants"),
            json!({"issuer": t.base, "scopeId": "okta.clients.register"}),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    let token_url = t.endpoint("org", "token");
    let assertion = key.sign(
        &json!({"alg": "ES256", "kid": "k1"}),
        &json!({"iss": service_id, "sub": service_id, "aud": token_url, "iat": t.clock.now(), "exp": t.clock.now() + 60, "jti": jti()}),
    );
    let answer: Value = no_redirects()
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "okta.clients.register"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = bearer(
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}")),
    );
    let (status, answer, _) = call(
        &t.base,
        reqwest::Method::POST,
        "",
        Some(&access),
        Some(&public.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer, challenge) =
        call(&t.base, reqwest::Method::GET, &path, Some(&access), None).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("insufficient_scope")),
        "{answer}"
    );
    assert!(challenge.contains("insufficient_scope"));

    // RFC 7592 §2.3: deleted with its registration token; the token then opens nothing.
    let (status, _, _) = call(
        &t.base,
        reqwest::Method::DELETE,
        &path,
        Some(&bearer(&rat2)),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &t.base,
        reqwest::Method::GET,
        &path,
        Some(&bearer(&rat2)),
        None,
    )
    .await;
    assert_eq!(status, 401);

    // An initial token past its lifetime.
    let expiring = initial_token(&t, 60, 5).await;
    t.clock.advance(61);
    assert_eq!(
        refused(&t, &bearer(&expiring), public).await,
        (401, "invalid_token".into()),
        "expired"
    );
}

/// Two real processes on one PostgreSQL database: an initial access token with one use
/// registers one client however the requests race, and an update racing with the same
/// registration access token wins once; the winner's new token works at the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_racing_with_one_token_give_one_winner() {
    let c = Cluster::start(2).await;
    let [a, b] = &c.bases()[..] else {
        unreachable!()
    };
    let token = |uses: &str| {
        let (ok, out, err) = c.gatehouse(
            &[
                "clients",
                "initial-token",
                "create",
                "--name",
                "race",
                "--max-uses",
                uses,
            ],
            None,
        );
        assert!(ok, "{err}");
        let created: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(created["status"], "ACTIVE");
        created["token"].as_str().unwrap().to_string()
    };
    let body = json!({"client_name": "Raced", "redirect_uris": [REDIRECT]}).to_string();
    for round in 0..3 {
        let auth = bearer(&token("1"));
        let (one, two) = tokio::join!(
            call(a, reqwest::Method::POST, "", Some(&auth), Some(&body)),
            call(b, reqwest::Method::POST, "", Some(&auth), Some(&body)),
        );
        let mut statuses = [one.0, two.0];
        statuses.sort();
        assert_eq!(statuses, [201, 401], "round {round}: {} {}", one.1, two.1);
    }
    let (ok, out, _) = c.gatehouse(&["clients", "initial-token", "list"], None);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["uses"] == 1 && t["status"] == "USED_UP"),
        "{listed}"
    );

    let (status, registered, _) = call(
        a,
        reqwest::Method::POST,
        "",
        Some(&bearer(&token("1"))),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201);
    let client_id = registered["client_id"].as_str().unwrap();
    let mut rat = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/{client_id}");
    for round in 0..3 {
        let update = json!({"client_id": client_id, "client_name": format!("Round {round}"), "redirect_uris": [REDIRECT]}).to_string();
        let auth = bearer(&rat);
        let (one, two) = tokio::join!(
            call(a, reqwest::Method::PUT, &path, Some(&auth), Some(&update)),
            call(b, reqwest::Method::PUT, &path, Some(&auth), Some(&update)),
        );
        let (winner, loser, other) = if one.0 == 200 {
            (one, two, b)
        } else {
            (two, one, a)
        };
        assert_eq!(
            (winner.0, loser.0),
            (200, 401),
            "round {round}: {} {}",
            winner.1,
            loser.1
        );
        rat = winner.1["registration_access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, read, _) = call(
            other,
            reqwest::Method::GET,
            &path,
            Some(&bearer(&rat)),
            None,
        )
        .await;
        assert_eq!(
            (status, read["client_name"].as_str()),
            (200, Some(format!("Round {round}").as_str()))
        );
    }
}
