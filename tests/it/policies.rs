//! Custom scopes, claims and access policies per authorization server, as Okta has
//! them: what goes into tokens, how long they live, and who is refused.

use gatehouse::admin::Actor;
use gatehouse::admin::{groups, policies, servers};
use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::code_flow::jwt_claims;
use crate::support::*;

impl TestApp {
    async fn claim(
        &self,
        server: &str,
        name: &str,
        claim_type: &str,
        value: &str,
        filter: Option<&str>,
        scopes: &[&str],
    ) {
        let new = servers::NewClaim {
            name: name.into(),
            claim_type: claim_type.into(),
            value: value.into(),
            group_filter_type: filter.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        servers::create_claim(
            &self.backend.store,
            &Actor::cli(),
            server,
            new,
            self.clock.now(),
        )
        .await
        .expect("create claim");
    }

    async fn group(&self, name: &str, members: &[&str]) -> String {
        let g = groups::create(
            &self.backend.store,
            &Actor::cli(),
            name,
            "",
            self.clock.now(),
        )
        .await
        .unwrap();
        for m in members {
            groups::add_member(
                &self.backend.store,
                &Actor::cli(),
                &g.id,
                m,
                self.clock.now(),
            )
            .await
            .unwrap();
        }
        g.id
    }

    async fn custom_server(&self) -> String {
        let new = servers::NewServer {
            name: "Orders".into(),
            audience: "api://orders".into(),
            ..Default::default()
        };
        servers::create(&self.backend.store, &Actor::cli(), new, self.clock.now())
            .await
            .unwrap()
            .id
    }

    async fn policy(&self, server: &str, clients: &[&str]) -> String {
        let new = policies::NewPolicy {
            name: "Orders policy".into(),
            clients: clients.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        };
        policies::create_policy(
            &self.backend.store,
            &Actor::cli(),
            server,
            new,
            self.clock.now(),
        )
        .await
        .unwrap()
        .id
    }

    async fn rule(&self, server: &str, policy: &str, rule: policies::NewRule) {
        policies::create_rule(
            &self.backend.store,
            &Actor::cli(),
            server,
            policy,
            rule,
            self.clock.now(),
        )
        .await
        .unwrap();
    }

    /// Authorize as `login` (signing in) and return where the browser is sent.
    async fn authorize_as(&self, server: &str, app: &App, login: &str, scope: &str) -> String {
        let browser = self.browser();
        let url = self.authorize_url(server, &app.client_id, &[("scope", scope)]);
        let response = browser.get(&url).await;
        let loc = location(&response).unwrap();
        if loc.starts_with("/login") {
            location(&browser.sign_in(&loc, login, PASSWORD).await).unwrap()
        } else {
            loc
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_claims_and_the_groups_claim_follow_scopes_and_attributes() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    t.group("app-admins", &[&alice.id]).await;
    t.group("Staff", &["alice@example.com"]).await;
    t.group("others", &[]).await;
    t.scope("default", "api:read", false).await;
    t.claim("default", "login", "RESOURCE", "user.login", None, &[])
        .await;
    t.claim(
        "default",
        "tier",
        "RESOURCE",
        "\"gold\"",
        None,
        &["api:read"],
    )
    .await;
    t.claim(
        "default",
        "app_groups",
        "RESOURCE",
        "app-",
        Some("STARTS_WITH"),
        &[],
    )
    .await;
    t.claim(
        "default",
        "given",
        "IDENTITY",
        "user.firstName",
        None,
        &["profile"],
    )
    .await;
    t.claim(
        "default",
        "phone_number",
        "IDENTITY",
        "user.status",
        None,
        &["phone"],
    )
    .await;
    let app = t.web_app().await;

    let tokens = t
        .tokens(
            "default",
            &app,
            "alice@example.com",
            "openid groups profile",
        )
        .await;
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["login"], "alice@example.com");
    assert_eq!(at["app_groups"], json!(["app-admins"]));
    assert!(at.get("tier").is_none(), "api:read not granted");
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["groups"],
        json!(["app-admins", "Everyone", "Staff"]),
        "the default server's groups claim (.*), with the built-in Everyone"
    );
    assert_eq!(id["given"], "Alice");
    assert!(id.get("phone_number").is_none(), "phone not granted");
    assert!(
        id.get("login").is_none(),
        "access-token claims stay out of the ID token"
    );

    // Userinfo carries the identity claims for the token's scopes.
    let info: Value = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["groups"], json!(["app-admins", "Everyone", "Staff"]));
    assert_eq!(info["given"], "Alice");

    let with_api = t
        .tokens("default", &app, "alice@example.com", "openid api:read")
        .await;
    let at = jwt_claims(with_api["access_token"].as_str().unwrap());
    assert_eq!(at["tier"], "gold");
    assert!(
        jwt_claims(with_api["id_token"].as_str().unwrap())
            .get("groups")
            .is_none(),
        "groups not asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_attribute_is_missing_is_left_out() {
    let t = TestApp::spawn().await;
    t.user("bob").await; // not an address: no email
    t.claim("default", "mail", "IDENTITY", "user.email", None, &[])
        .await;
    t.claim("default", "mail_at", "RESOURCE", "user.email", None, &[])
        .await;
    let app = t.web_app().await;
    let tokens = t.tokens("default", &app, "bob", "openid email").await;
    assert!(
        jwt_claims(tokens["id_token"].as_str().unwrap())
            .get("mail")
            .is_none()
    );
    assert!(
        jwt_claims(tokens["access_token"].as_str().unwrap())
            .get("mail_at")
            .is_none()
    );
    assert!(
        jwt_claims(tokens["id_token"].as_str().unwrap())
            .get("email")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_server_issues_nothing_until_a_policy_allows_it() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let bob = t.user("bob@example.com").await;
    let staff = t.group("staff", &[&alice.id]).await;
    let server = t.custom_server().await;
    let app = t.web_app().await;

    // No policy: Okta's access_denied back at the app, with state.
    let loc = t
        .authorize_as(&server, &app, "alice@example.com", "openid")
        .await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "{loc}"
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));
    assert!(
        param(&loc, "error_description")
            .unwrap()
            .contains("Policy evaluation failed")
    );

    // A policy for this app whose rule admits the staff group, 5-minute access tokens,
    // refresh tokens for 1 hour at most.
    let policy = t.policy(&server, &[&app.client_id]).await;
    t.rule(
        &server,
        &policy,
        policies::NewRule {
            name: "staff".into(),
            groups: vec![staff.clone()],
            access_token_ttl: Some(300),
            refresh_token_ttl: Some(3600),
            refresh_token_idle: Some(1800),
            ..Default::default()
        },
    )
    .await;
    let loc = t
        .authorize_as(&server, &app, "bob@example.com", "openid")
        .await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "bob is not staff: {loc}"
    );
    let tokens = t.tokens(&server, &app, "alice@example.com", "openid").await;
    assert_eq!(tokens["expires_in"], 300);
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(at["aud"], "api://orders");
    assert_eq!(at["iss"], t.issuer(&server).as_str());

    // The policy is for this app only.
    let other = t.web_app().await;
    let loc = t
        .authorize_as(&server, &other, "alice@example.com", "openid")
        .await;
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    let _ = bob;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_set_refresh_lifetimes_and_a_deny_rule_refuses_at_the_token_endpoint() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let server = t.custom_server().await;
    let app = t.refresh_app("client_secret_basic", 0).await;
    let policy = t.policy(&server, &[]).await;
    t.rule(
        &server,
        &policy,
        policies::NewRule {
            name: "everyone".into(),
            priority: Some(5),
            access_token_ttl: Some(600),
            refresh_token_ttl: Some(3600),
            refresh_token_idle: Some(1800),
            ..Default::default()
        },
    )
    .await;
    let tokens = t
        .tokens(&server, &app, "alice@example.com", "openid offline_access")
        .await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    t.clock.advance(1700);
    let body: Value = t
        .refresh(&server, &app, rt, None)
        .await
        .json()
        .await
        .unwrap();
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(body["expires_in"], 600);
    // The family's absolute lifetime (1 hour) ends it even though it was used recently.
    t.clock.advance(1700);
    let body: Value = t
        .refresh(&server, &app, &rt2, None)
        .await
        .json()
        .await
        .unwrap();
    let rt3 = body["refresh_token"].as_str().unwrap().to_string();
    t.clock.advance(300);
    let expired = t.refresh(&server, &app, &rt3, None).await;
    assert_eq!(expired.status(), 400);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // A deny rule ahead of it: the code exchange itself is refused (the policy is read
    // again at /token), with Okta's answer.
    let browser = t.browser();
    let url = t.authorize_url(&server, &app.client_id, &[]);
    let login = location(&browser.get(&url).await).unwrap();
    let callback = location(&browser.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();
    let code = param(&callback, "code").unwrap();
    t.rule(
        &server,
        &policy,
        policies::NewRule {
            name: "deny".into(),
            priority: Some(1),
            deny: true,
            ..Default::default()
        },
    )
    .await;
    let refused = t.redeem(&server, &app, &code).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "access_denied");
    assert_eq!(
        body["error_description"],
        "Policy evaluation failed for this request, please check the policy configurations."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_per_server_and_discovery_shows_them() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let loc = t
        .authorize_as("default", &app, "alice@example.com", "openid orders:read")
        .await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("invalid_scope"),
        "{loc}"
    );
    t.scope("default", "orders:read", false).await;
    t.claim("default", "department", "RESOURCE", "\"sales\"", None, &[])
        .await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid orders:read")
        .await;
    assert_eq!(tokens["scope"], "openid orders:read");
    // Not on the org server.
    let loc = t
        .authorize_as("org", &app, "alice@example.com", "openid orders:read")
        .await;
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_scope"));

    let meta: Value = t
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            t.issuer("default")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scopes = meta["scopes_supported"].as_array().unwrap();
    for s in [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
        "groups",
        "orders:read",
    ] {
        assert!(scopes.contains(&json!(s)), "{s}");
    }
    assert!(
        meta["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("department"))
    );
    assert!(
        meta["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("groups"))
    );
    assert_eq!(
        meta["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    let base = t.endpoint("default", "");
    assert_eq!(meta["revocation_endpoint"], format!("{base}revoke"));
    assert_eq!(meta["introspection_endpoint"], format!("{base}introspect"));
    assert_eq!(meta["end_session_endpoint"], format!("{base}logout"));
    let org: Value = t
        .http
        .get(format!("{}/.well-known/openid-configuration", t.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !org["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("orders:read"))
    );
    assert!(
        !org["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("groups"))
    );
}

fn err<T>(r: Result<T, gatehouse::admin::AdminError>) -> String {
    r.map(|_| ()).unwrap_err().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_validated_and_the_org_server_is_fixed() {
    let t = TestApp::spawn().await;
    let store = &t.backend.store;
    let now = t.clock.now();
    let scope = |name: &str| servers::NewScope {
        name: name.into(),
        ..Default::default()
    };
    assert!(
        err(servers::create_scope(store, &Actor::cli(), "org", scope("x"), now).await)
            .contains("org authorization server")
    );
    assert!(
        err(servers::create_scope(store, &Actor::cli(), "default", scope("two words"), now).await)
            .contains("name")
    );
    assert!(
        err(servers::create_scope(store, &Actor::cli(), "default", scope("openid"), now).await)
            .contains("scope with this name")
    );
    assert!(
        err(servers::delete_scope(store, &Actor::cli(), "default", "openid", now).await)
            .contains("system")
    );
    // A scope a claim names cannot be deleted under it; once the claim is gone, it can.
    servers::create_scope(store, &Actor::cli(), "default", scope("reports:read"), now)
        .await
        .unwrap();
    let named = servers::NewClaim {
        name: "report_tier".into(),
        claim_type: "RESOURCE".into(),
        value: "\"gold\"".into(),
        group_filter_type: None,
        scopes: vec!["reports:read".into()],
    };
    let claim = servers::create_claim(store, &Actor::cli(), "default", named, now)
        .await
        .unwrap();
    assert!(
        err(servers::delete_scope(store, &Actor::cli(), "default", "reports:read", now).await)
            .contains("claim \"report_tier\"")
    );
    servers::delete_claim(store, &Actor::cli(), "default", &claim.id, now)
        .await
        .unwrap();
    servers::delete_scope(store, &Actor::cli(), "default", "reports:read", now)
        .await
        .unwrap();
    let claim = |name: &str, value: &str, filter: Option<&str>| servers::NewClaim {
        name: name.into(),
        claim_type: "RESOURCE".into(),
        value: value.into(),
        group_filter_type: filter.map(str::to_string),
        scopes: vec![],
    };
    assert!(
        err(servers::create_claim(
            store,
            &Actor::cli(),
            "default",
            claim("iss", "user.login", None),
            now
        )
        .await)
        .contains("set by the server")
    );
    let identity_sub = servers::NewClaim {
        claim_type: "IDENTITY".into(),
        ..claim("sub", "user.login", None)
    };
    assert!(
        err(servers::create_claim(store, &Actor::cli(), "default", identity_sub, now).await)
            .contains("set by the server"),
        "the ID token's sub is the user's id, always"
    );
    assert!(
        err(servers::create_claim(
            store,
            &Actor::cli(),
            "default",
            claim("x", "user.password", None),
            now
        )
        .await)
        .contains("unknown user attribute")
    );
    assert!(
        err(servers::create_claim(
            store,
            &Actor::cli(),
            "default",
            claim("x", "(", Some("REGEX")),
            now
        )
        .await)
        .contains("regex")
    );
    let rule = |ttl: i64| policies::NewRule {
        name: "r".into(),
        access_token_ttl: Some(ttl),
        ..Default::default()
    };
    let policy = t.policy("default", &[]).await;
    assert!(
        err(policies::create_rule(store, &Actor::cli(), "default", &policy, rule(60), now).await)
            .contains("5 minutes")
    );
    assert!(
        err(policies::create_rule(
            store,
            &Actor::cli(),
            "default",
            &policy,
            rule(2 * 86400),
            now
        )
        .await)
        .contains("1 day")
    );
    let bad_grant = policies::NewRule {
        name: "r".into(),
        grant_types: vec!["password".into()],
        ..Default::default()
    };
    assert!(
        err(policies::create_rule(store, &Actor::cli(), "default", &policy, bad_grant, now).await)
            .contains("grantTypes")
    );
    assert!(
        err(servers::create_scope(store, &Actor::cli(), "default", scope("*"), now).await)
            .contains("reserved")
    );
    assert!(
        err(groups::create(store, &Actor::cli(), "everyone", "", now).await).contains("reserved")
    );
    let unknown_client = policies::NewPolicy {
        name: "p".into(),
        clients: vec!["0oaNOPE".into()],
        ..Default::default()
    };
    assert!(
        err(policies::create_policy(store, &Actor::cli(), "default", unknown_client, now).await)
            .contains("client_id")
    );
}

/// The relying-party library's view: the groups claim and a custom claim arrive in an
/// ID token that `openidconnect` verifies (signature, issuer, audience, nonce), and a
/// policy refusal at the token endpoint is the `access_denied` error it reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_verifies_custom_claims_and_reports_policy_refusals() {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm, CoreProviderMetadata,
    };
    use openidconnect::{
        AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IdToken, IssuerUrl,
        Nonce, PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, TokenResponse,
    };

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct Custom {
        groups: Vec<String>,
        given: String,
    }
    impl AdditionalClaims for Custom {}

    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    t.group("app-admins", &[&alice.id]).await;
    t.claim("default", "given", "IDENTITY", "user.firstName", None, &[])
        .await;
    let app = t.web_app().await;
    let http = no_redirects();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer("default")).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    let flow = |browser: Browser| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("groups".into()))
            .set_pkce_challenge(challenge)
            .url();
        async move {
            let login = location(&browser.get(url.as_str()).await).unwrap();
            let callback =
                location(&browser.sign_in(&login, "alice@example.com", PASSWORD).await).unwrap();
            (
                param(&callback, "code").unwrap_or_else(|| panic!("{callback}")),
                verifier,
                nonce,
            )
        }
    };
    let (code, verifier, nonce) = flow(t.browser()).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let raw = tokens.id_token().unwrap().to_string();
    let id_token: IdToken<
        Custom,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    > = raw.parse().unwrap();
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a verified ID token");
    assert_eq!(
        claims.additional_claims().groups,
        ["app-admins", "Everyone"],
        "the groups claim (.*) names the built-in Everyone too"
    );
    assert_eq!(claims.additional_claims().given, "Alice");

    // A deny rule added ahead of the default one after the code was issued: the code
    // exchange is refused (the policy is read again at /token), and the library
    // reports Okta's access_denied.
    let (code, verifier, _) = flow(t.browser()).await;
    let policy = store_default_policy(&t).await;
    t.rule(
        "default",
        &policy,
        policies::NewRule {
            name: "deny".into(),
            priority: Some(0),
            deny: true,
            ..Default::default()
        },
    )
    .await;
    let refused = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    match refused {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().to_string(), "access_denied")
        }
        other => panic!("expected access_denied, got {other:?}"),
    }
}

/// The id of the `default` server's "Default Policy".
async fn store_default_policy(t: &TestApp) -> String {
    let list = t.backend.store.list_policies("default").await.unwrap();
    list.into_iter()
        .find(|p| p.name == "Default Policy")
        .unwrap()
        .id
}
