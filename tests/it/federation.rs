//! Sign-in through an identity provider: the upstream is a second Gatehouse on
//! loopback (its own data directory, users and keys, on 127.0.0.2 so that each
//! server's cookies stay its own), with an app registered for the downstream
//! Gatehouse's `/oauth2/v1/authorize/callback`. The downstream (SQLite and PostgreSQL)
//! registers it through the management API and is started with the setting that lets
//! it fetch from loopback. Two cookie-keeping browsers (one per host, as a real
//! browser keeps them) carry the person through both; the downstream app is the
//! `openidconnect` crate or the plain token endpoint.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Value, json};

use gatehouse::admin::syslog::{self, Actor, Event};
use gatehouse::admin::users;
use gatehouse::clock::Clock;
use gatehouse::crypto::sha256;
use gatehouse::store::{
    AuthMethod, GroupsAction, IdentifierPattern, IdentifierType, IdentityProvider,
    IdpDiscoveryRule, IdpPolicyAction, IdpType, LinkPurpose, PatternMatchType, ProfileMapping,
    RouteProvider, Status, SubjectMatchType, UserToken,
};

use crate::support::*;

/// The two servers and what connects them.
pub struct Federation {
    pub up: TestApp,
    pub down: TestApp,
    /// The downstream's app (`REDIRECT`).
    pub app: App,
    /// The upstream's app for the downstream Gatehouse.
    pub up_app: App,
    pub idp_id: String,
}

/// The upstream on SQLite at 127.0.0.2; the downstream on PostgreSQL or SQLite at
/// 127.0.0.1, allowed to fetch from loopback; the IdP registered with `tweak`.
pub async fn federation(postgres: bool, tweak: Tweak) -> Federation {
    let up = TestApp::spawn_at("127.0.0.2", false, |_| {}).await;
    let down = TestApp::spawn_at("127.0.0.1", postgres, |c| {
        c.client_auth.allow_private_jwks_uri = true;
    })
    .await;
    let callback = format!("{}/oauth2/v1/authorize/callback", down.base);
    let signed_out = format!("{}/sso/logout/callback", down.base);
    let up_app = up
        .app_with_logout("client_secret_basic", &[&callback], &[&signed_out])
        .await;
    let app = down
        .app_with_logout("client_secret_basic", &[REDIRECT], &[REDIRECT_AFTER_LOGOUT])
        .await;
    let idp_id = register_idp(&down, &up, &up_app, "Upstream Corp", tweak).await;
    Federation {
        up,
        down,
        app,
        up_app,
        idp_id,
    }
}

pub const REDIRECT_AFTER_LOGOUT: &str = "https://app.example.com/signed-out";

/// What a test changes in the provider it registers.
pub type Tweak = fn(&mut IdentityProvider);

/// Registers `up`'s org server at `down` (JIT provisioning, linking by username on a
/// verified e-mail), with `tweak` applied; its id.
pub async fn register_idp(
    down: &TestApp,
    up: &TestApp,
    up_app: &App,
    name: &str,
    tweak: Tweak,
) -> String {
    let now = down.clock.now();
    let id = gatehouse::crypto::okta_id("0oa");
    let secret = up_app.secret.clone().unwrap();
    let mut idp = IdentityProvider {
        id: id.clone(),
        idp_type: IdpType::Oidc,
        name: name.into(),
        status: Status::Active,
        issuer: Some(up.issuer("org")),
        authorization_endpoint: up.endpoint("org", "authorize"),
        token_endpoint: up.endpoint("org", "token"),
        userinfo_endpoint: Some(up.endpoint("org", "userinfo")),
        jwks_uri: Some(up.endpoint("org", "keys")),
        end_session_endpoint: Some(up.endpoint("org", "logout")),
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        client_id: up_app.client_id.clone(),
        client_secret_sealed: Some(down.backend.master.encrypt(
            secret.as_bytes(),
            format!("idp-client-secret\0{id}").as_bytes(),
        )),
        token_auth_method: AuthMethod::ClientSecretBasic,
        signing_alg: None,
        pkce: true,
        max_clock_skew_ms: 0,
        provisioning_action: IdpPolicyAction::Auto,
        profile_master: false,
        groups_action: GroupsAction::None,
        groups_source_attribute: None,
        groups_filter: vec![],
        groups_assignments: vec![],
        account_link_action: IdpPolicyAction::Auto,
        account_link_groups: vec![],
        username_template: "idpuser.email".into(),
        match_type: SubjectMatchType::Username,
        match_attribute: None,
        profile_mapping: vec![
            ProfileMapping {
                field: "firstName".into(),
                expression: "idpuser.given_name".into(),
            },
            ProfileMapping {
                field: "lastName".into(),
                expression: "idpuser.family_name".into(),
            },
            ProfileMapping {
                field: "email".into(),
                expression: "idpuser.email".into(),
            },
        ],
        end_upstream_session: false,
        button_label: None,
        button_color: None,
        logo_url: None,
        created_at: now,
        updated_at: now,
    };
    tweak(&mut idp);
    down.backend.store.insert_idp(&idp).await.unwrap();
    id
}

/// A user of the upstream with an e-mail address (verified there when `verified`).
pub async fn upstream_user(up: &TestApp, login: &str, verified: bool) -> TestUser {
    let new = users::NewUser {
        login: login.into(),
        password: Some(PASSWORD.into()),
        email: Some(login.into()),
        first_name: Some("Grace".into()),
        last_name: Some("Hopper".into()),
        ..Default::default()
    };
    let now = up.clock.now();
    let user = users::create(
        &up.backend.store,
        &up.state.passwords,
        &Actor::cli(),
        new,
        now,
    )
    .await
    .expect("create user");
    if verified {
        let hash = sha256(format!("verify {login}").as_bytes());
        let token = UserToken {
            token_hash: hash.clone(),
            purpose: LinkPurpose::VerifyEmail,
            user_id: user.id.clone(),
            email: Some(login.into()),
            created_at: now,
            expires_at: now + 600,
        };
        up.backend
            .store
            .issue_user_token(&token, None)
            .await
            .unwrap();
        let event = syslog::row(
            &Actor::cli(),
            &Event::success("user.account.verify_email", "verified", vec![]),
            now,
        );
        assert!(
            up.backend
                .store
                .redeem_verify_link(&hash, &user.id, login, now, &event)
                .await
                .unwrap()
        );
    }
    TestUser {
        id: user.id,
        login: user.login,
    }
}

/// An IdP discovery rule: usernames ending in `suffix` go to the provider.
pub async fn route_domain(f: &Federation, suffix: &str) {
    let store = &f.down.backend.store;
    let policy = store.list_idp_discovery_policies().await.unwrap().remove(0);
    let now = f.down.clock.now();
    let rule = IdpDiscoveryRule {
        id: gatehouse::crypto::okta_id("0pr"),
        policy_id: policy.id,
        name: "Corp people".into(),
        priority: 1,
        status: Status::Active,
        system: false,
        identifier_type: IdentifierType::Identifier,
        identifier_attribute: None,
        patterns: vec![IdentifierPattern {
            match_type: PatternMatchType::Suffix,
            value: suffix.into(),
        }],
        zones_include: vec![],
        zones_exclude: vec![],
        apps_include: vec![],
        apps_exclude: vec![],
        providers: vec![RouteProvider {
            provider_type: "OIDC".into(),
            id: Some(f.idp_id.clone()),
        }],
        created_at: now,
        updated_at: now,
    };
    store.insert_idp_discovery_rule(&rule).await.unwrap();
}

/// Where the downstream's answer to the callback sends the browser: its `Location`,
/// or the address of the page that continues to the app (a `meta` refresh: a redirect
/// would be held to the upstream sign-in form's `form-action`).
pub async fn onward(response: reqwest::Response) -> String {
    if let Some(to) = location(&response) {
        return to;
    }
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let marker = "http-equiv=\"refresh\" content=\"0; url=";
    let at = html.find(marker).expect("a refresh") + marker.len();
    let end = html[at..].find('"').unwrap() + at;
    html[at..end]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#61;", "=")
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
}

/// Two browsers: one for each server's host.
pub struct Browsers {
    pub down: Browser,
    pub up: Browser,
}

impl Federation {
    pub fn browsers(&self) -> Browsers {
        Browsers {
            down: self.down.browser(),
            up: self.up.browser(),
        }
    }

    /// `/authorize` at the downstream with `idp=` and `extra`.
    pub fn idp_authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut all = vec![("idp", self.idp_id.as_str())];
        all.extend_from_slice(extra);
        self.down
            .authorize_url("default", &self.app.client_id, &all)
    }

    /// Follows the downstream's redirects from `response` to the upstream's
    /// authorization URL (asserting each hop); that URL.
    pub async fn to_upstream(&self, b: &Browsers, mut response: reqwest::Response) -> String {
        for _ in 0..3 {
            let to = location(&response).expect("a redirect");
            if to.starts_with(&self.up.base) {
                assert!(
                    b.down.cookie("gh_idp_state").is_some(),
                    "the browser keeps the state"
                );
                return to;
            }
            assert!(to.starts_with('/'), "{to}");
            response = b.down.get(&to).await;
        }
        panic!("no redirect to the upstream");
    }

    /// The person signs in at the upstream's page as `login`; the URL the upstream
    /// sends the browser back to (the downstream's callback).
    pub async fn upstream_sign_in(&self, b: &Browsers, upstream_url: &str, login: &str) -> String {
        let response = b.up.get(upstream_url).await;
        let to = location(&response).expect("the upstream's sign-in page");
        let response = if to.starts_with("/login") {
            b.up.sign_in(&to, login, PASSWORD).await
        } else {
            response
        };
        let back = location(&response).expect("back to the downstream");
        assert!(
            back.starts_with(&format!("{}/oauth2/v1/authorize/callback", self.down.base)),
            "{back}"
        );
        back
    }

    /// The whole way from `/authorize?idp=` to the app's redirect URI; the downstream's
    /// answer to the callback.
    pub async fn sign_in_via_idp(&self, b: &Browsers, login: &str) -> reqwest::Response {
        let first = b.down.get(&self.idp_authorize_url(&[])).await;
        let up_url = self.to_upstream(b, first).await;
        let back = self.upstream_sign_in(b, &up_url, login).await;
        b.down.get(&back).await
    }

    /// A code flow through both servers; the downstream's ID token claims.
    pub async fn id_token_via_idp(&self, login: &str) -> Value {
        let b = self.browsers();
        let response = self.sign_in_via_idp(&b, login).await;
        let to = onward(response).await;
        assert!(to.starts_with(REDIRECT), "{to}");
        let code = param(&to, "code").expect("a code");
        let tokens =
            expect_no_store_json(self.down.redeem("default", &self.app, &code).await).await;
        claims_of(tokens["id_token"].as_str().unwrap())
    }

    /// The downstream's users with this login.
    pub async fn down_user(&self, login: &str) -> Option<gatehouse::store::User> {
        self.down
            .backend
            .store
            .find_user_by_login(login)
            .await
            .unwrap()
    }

    pub async fn down_user_count(&self) -> usize {
        self.down.backend.store.list_users().await.unwrap().len()
    }

    /// The System Log events of `event_type` at the downstream, newest first.
    pub async fn events(&self, event_type: &str) -> Vec<Value> {
        let api = self.down.api().await;
        let (status, body) = api
            .get(&format!(
                "/api/v1/logs?filter=eventType%20eq%20%22{event_type}%22"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().iter().rev().cloned().collect()
    }
}

/// The app's code flow through both servers, driven by the `openidconnect` crate as
/// the downstream's relying party: the ID token it verifies names the downstream user
/// made just in time from the upstream's profile.
async fn code_flow_through_both(postgres: bool) {
    let f = federation(postgres, |_| {}).await;
    let grace = upstream_user(&f.up, "grace@corp.example", true).await;
    let http = no_redirects();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(f.down.issuer("default")).unwrap(),
        &http,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(f.app.client_id.clone()),
        f.app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_extra_param("idp", f.idp_id.clone())
        .set_pkce_challenge(challenge)
        .url();

    let b = f.browsers();
    let first = b.down.get(url.as_str()).await;
    assert_eq!(first.status(), 302);
    let hop = location(&first).unwrap();
    assert!(
        hop.starts_with(&format!("/sso/idps/{}?tx=", f.idp_id)),
        "no sign-in page: straight to the provider ({hop})"
    );
    let up_url = f.to_upstream(&b, first).await;
    assert_eq!(
        param(&up_url, "client_id").as_deref(),
        Some(f.up_app.client_id.as_str())
    );
    assert_eq!(
        param(&up_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&up_url, "nonce").is_some() && param(&up_url, "state").is_some());
    assert_eq!(
        param(&up_url, "redirect_uri"),
        Some(format!("{}/oauth2/v1/authorize/callback", f.down.base))
    );
    let back = f.upstream_sign_in(&b, &up_url, &grace.login).await;
    let answer = b.down.get(&back).await;
    if answer.status() != 200 {
        panic!("{}: {}", answer.status(), answer.text().await.unwrap());
    }
    let to = onward(answer).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some(csrf.secret().as_str()));
    assert!(b.down.cookie("gh_session").is_some_and(|c| !c.is_empty()));

    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&to, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    let user = f
        .down_user("grace@corp.example")
        .await
        .expect("made just in time");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_ne!(user.id, grace.id, "the downstream's own user id");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("grace@corp.example")
    );
    // No upstream token reaches the app: the ID token is the downstream's own.
    let raw = claims_of(&tokens.id_token().unwrap().to_string());
    assert_eq!(raw["iss"], f.down.issuer("default"));
    assert_eq!(raw["amr"], json!(["fed"]));

    // The System Log: the sign-in through the provider, and the user it made.
    let signed_in = f.events("user.authentication.auth_via_IDP").await;
    assert_eq!(signed_in[0]["outcome"]["result"], "SUCCESS");
    assert!(
        signed_in[0]["target"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == f.idp_id.as_str()),
        "the provider is a target: {}",
        signed_in[0]
    );
    let created = f.events("user.lifecycle.create").await;
    assert_eq!(created[0]["actor"]["id"], f.idp_id.as_str());
}

#[tokio::test]
async fn code_flow_through_both_sqlite() {
    code_flow_through_both(false).await;
}

#[tokio::test]
async fn code_flow_through_both_postgres() {
    code_flow_through_both(true).await;
}

/// Just-in-time provisioning maps the profile; the second sign-in uses the link.
async fn jit_then_link(postgres: bool) {
    let f = federation(postgres, |_| {}).await;
    upstream_user(&f.up, "ada@corp.example", true).await;
    let before = f.down_user_count().await;
    let first = f.id_token_via_idp("ada@corp.example").await;
    let user = f.down_user("ada@corp.example").await.unwrap();
    assert_eq!(first["sub"], user.id.as_str());
    assert_eq!(user.first_name.as_deref(), Some("Grace"));
    assert_eq!(user.last_name.as_deref(), Some("Hopper"));
    assert_eq!(user.email.as_deref(), Some("ada@corp.example"));
    assert!(user.password_hash.is_none(), "no password");
    assert_eq!(user.status.to_string(), "ACTIVE");
    let second = f.id_token_via_idp("ada@corp.example").await;
    assert_eq!(second["sub"], user.id.as_str(), "the link: the same user");
    assert_eq!(f.down_user_count().await, before + 1, "one user, not two");
}

#[tokio::test]
async fn jit_then_link_sqlite() {
    jit_then_link(false).await;
}

#[tokio::test]
async fn jit_then_link_postgres() {
    jit_then_link(true).await;
}

/// An existing downstream user with the same username is linked when the upstream
/// says the e-mail is verified, and refused (a page, nothing created) when not.
async fn linking_needs_a_verified_email(postgres: bool) {
    let f = federation(postgres, |_| {}).await;
    let existing = f.down.user("lin@corp.example").await;
    upstream_user(&f.up, "lin@corp.example", false).await;
    let before = f.down_user_count().await;
    let b = f.browsers();
    let refused = f.sign_in_via_idp(&b, "lin@corp.example").await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused.headers().get("location").is_none(),
        "a page, never a redirect"
    );
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("can&#39;t be linked") || page.contains("can't be linked"),
        "{page}"
    );
    assert_eq!(f.down_user_count().await, before);
    assert!(
        b.down.cookie("gh_session").is_none_or(|c| c.is_empty()),
        "no session"
    );
    let failed = f.events("user.authentication.auth_via_IDP").await;
    assert_eq!(failed[0]["outcome"]["result"], "FAILURE");

    // Verified upstream: linked to the existing user.
    let f2 = federation(postgres, |_| {}).await;
    let existing2 = f2.down.user("lin@corp.example").await;
    upstream_user(&f2.up, "lin@corp.example", true).await;
    let claims = f2.id_token_via_idp("lin@corp.example").await;
    assert_eq!(claims["sub"], existing2.id.as_str());
    assert_ne!(existing.id, existing2.id);
}

#[tokio::test]
async fn linking_needs_a_verified_email_sqlite() {
    linking_needs_a_verified_email(false).await;
}

#[tokio::test]
async fn linking_needs_a_verified_email_postgres() {
    linking_needs_a_verified_email(true).await;
}

/// With provisioning DISABLED, someone unknown downstream is refused with a page.
#[tokio::test]
async fn provisioning_disabled_is_refused() {
    let f = federation(false, |idp| {
        idp.provisioning_action = IdpPolicyAction::Disabled
    })
    .await;
    upstream_user(&f.up, "nobody@corp.example", true).await;
    let before = f.down_user_count().await;
    let b = f.browsers();
    let refused = f.sign_in_via_idp(&b, "nobody@corp.example").await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("does not create one")
    );
    assert_eq!(f.down_user_count().await, before);
}

/// `idp=` naming no active provider: `invalid_request` back at the app (its redirect
/// URI is trusted by then); with an untrusted redirect URI, a page.
#[tokio::test]
async fn an_unknown_idp_is_invalid_request() {
    let f = federation(false, |_| {}).await;
    let b = f.browsers();
    for idp in ["0oaUnknown123", "not an id", ""] {
        if idp.is_empty() {
            continue;
        }
        let url = f
            .down
            .authorize_url("default", &f.app.client_id, &[("idp", idp)]);
        let response = b.down.get(&url).await;
        let to = location(&response).unwrap();
        assert!(to.starts_with(REDIRECT), "{to}");
        assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"));
        assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
    }
    let now = f.down.clock.now();
    let store = &f.down.backend.store;
    assert!(
        store
            .set_idp_status(&f.idp_id, Status::Inactive, now)
            .await
            .unwrap()
    );
    let response = b.down.get(&f.idp_authorize_url(&[])).await;
    let to = location(&response).unwrap();
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"));
    let untrusted = f.down.authorize_url(
        "default",
        &f.app.client_id,
        &[
            ("idp", &f.idp_id),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    );
    let page = b.down.get(&untrusted).await;
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none());
}

/// `prompt=none` with `idp=` and no session: `login_required`, no trip upstream.
#[tokio::test]
async fn prompt_none_with_idp_is_login_required() {
    let f = federation(false, |_| {}).await;
    let b = f.browsers();
    let response = b
        .down
        .get(&f.idp_authorize_url(&[("prompt", "none")]))
        .await;
    let to = location(&response).unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
}

/// The callback refuses what does not belong to a sign-in this browser began: no
/// state, a state of another browser, a state used already, the provider's
/// `access_denied`; each a page, with nothing created.
#[tokio::test]
async fn the_callback_refuses_foreign_used_and_denied_answers() {
    let f = federation(false, |_| {}).await;
    upstream_user(&f.up, "eve@corp.example", true).await;
    let before = f.down_user_count().await;
    let callback = format!("{}/oauth2/v1/authorize/callback", f.down.base);

    // No state at all, and a state this browser never had.
    let b = f.browsers();
    let page = b.down.get(&format!("{callback}?code=x")).await;
    assert_eq!(page.status(), 400);
    let page = b.down.get(&format!("{callback}?code=x&state=forged")).await;
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("Sign-in expired"));

    // A code obtained by someone else's browser cannot be planted in this one.
    let attacker = f.browsers();
    let first = attacker.down.get(&f.idp_authorize_url(&[])).await;
    let up_url = f.to_upstream(&attacker, first).await;
    let back = f
        .upstream_sign_in(&attacker, &up_url, "eve@corp.example")
        .await;
    let victim = f.browsers();
    let planted = victim.down.get(&back).await;
    assert_eq!(
        planted.status(),
        400,
        "the state is bound to the browser that left"
    );

    // The browser that left gets in once; the same answer again is refused.
    let ok = attacker.down.get(&back).await;
    assert!(onward(ok).await.starts_with(REDIRECT));
    let before_replay = f.down_user_count().await;
    let again = attacker.down.get(&back).await;
    assert_eq!(again.status(), 400);
    assert_eq!(f.down_user_count().await, before_replay);

    // The provider's access_denied: a page saying so.
    let b = f.browsers();
    let first = b.down.get(&f.idp_authorize_url(&[])).await;
    let up_url = f.to_upstream(&b, first).await;
    let state = param(&up_url, "state").unwrap();
    let denied = b
        .down
        .get(&format!("{callback}?error=access_denied&state={state}"))
        .await;
    assert_eq!(denied.status(), 403);
    assert!(denied.text().await.unwrap().contains("did not sign you in"));
    assert_eq!(
        f.down_user_count().await,
        before + 1,
        "only eve's one sign-in made a user"
    );
}

/// IdP discovery: a username at the routed domain goes to the provider (with
/// `login_hint`, which reaches the upstream's sign-in page); others get the password.
#[tokio::test]
async fn routing_by_domain_from_the_sign_in_page() {
    let f = federation(false, |_| {}).await;
    upstream_user(&f.up, "route@corp.example", true).await;
    let local = f.down.user("local@example.com").await;
    route_domain(&f, "corp.example").await;

    // Identifier first: the page asks for the username alone.
    let b = f.browsers();
    let first = b
        .down
        .get(&f.down.authorize_url("default", &f.app.client_id, &[]))
        .await;
    let login = location(&first).unwrap();
    let page = b.down.get(&login).await.text().await.unwrap();
    assert!(!page.contains("name=\"password\""), "username first");
    assert!(page.contains("Sign in with Upstream Corp"));
    let tx = input_value(&page, "tx").unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let routed = b
        .down
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", "Route@corp.example"),
            ],
        )
        .await;
    assert_eq!(routed.status(), 303);
    let to = location(&routed).unwrap();
    assert!(to.starts_with(&format!("/sso/idps/{}", f.idp_id)), "{to}");
    let up_url = f.to_upstream(&b, b.down.get(&to).await).await;
    assert_eq!(
        param(&up_url, "login_hint").as_deref(),
        Some("Route@corp.example")
    );
    // The upstream's sign-in page has the username filled in.
    let up_login = location(&b.up.get(&up_url).await).unwrap();
    let up_page = b.up.get(&up_login).await.text().await.unwrap();
    assert_eq!(
        input_value(&up_page, "username").as_deref(),
        Some("Route@corp.example")
    );

    // Anyone else: the password step, then signed in as before.
    let b = f.browsers();
    let first = b
        .down
        .get(&f.down.authorize_url("default", &f.app.client_id, &[]))
        .await;
    let login = location(&first).unwrap();
    let page = b.down.get(&login).await.text().await.unwrap();
    let tx = input_value(&page, "tx").unwrap();
    let csrf = input_value(&page, "csrf").unwrap();
    let step = b
        .down
        .post_form(
            "/login",
            &[("tx", &tx), ("csrf", &csrf), ("username", &local.login)],
        )
        .await;
    assert_eq!(step.status(), 200);
    let page = step.text().await.unwrap();
    assert!(page.contains("name=\"password\""), "now the password");
    let done = b
        .down
        .post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", &local.login),
                ("password", PASSWORD),
            ],
        )
        .await;
    let to = location(&done).unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
}

/// Without routing rules the sign-in page is as before (username and password), with
/// a button per active provider that goes to it.
#[tokio::test]
async fn the_sign_in_page_has_a_button_per_provider() {
    let f = federation(false, |_| {}).await;
    upstream_user(&f.up, "button@corp.example", true).await;
    let b = f.browsers();
    let first = b
        .down
        .get(&f.down.authorize_url("default", &f.app.client_id, &[]))
        .await;
    let login = location(&first).unwrap();
    let page = b.down.get(&login).await.text().await.unwrap();
    assert!(page.contains("name=\"password\""), "the plain page");
    let tx = input_value(&page, "tx").unwrap();
    assert!(page.contains("Sign in with Upstream Corp"), "{page}");
    assert!(
        page.contains(&format!("href=\"/sso/idps/{}?tx", f.idp_id)),
        "{page}"
    );
    let href = format!("/sso/idps/{}?tx={tx}", f.idp_id);
    let up_url = f.to_upstream(&b, b.down.get(&href).await).await;
    let back = f.upstream_sign_in(&b, &up_url, "button@corp.example").await;
    let to = onward(b.down.get(&back).await).await;
    assert!(to.starts_with(REDIRECT), "{to}");
}

/// A provider set to be signed out of too: RP-initiated logout at the downstream ends
/// its session, goes to the upstream's logout with its ID token as the hint, and comes
/// back through `/sso/logout/callback` to the app's `post_logout_redirect_uri` with its
/// `state`; the upstream session has ended too.
#[tokio::test]
async fn logout_also_ends_the_upstream_session() {
    let f = federation(false, |idp| idp.end_upstream_session = true).await;
    upstream_user(&f.up, "leave@corp.example", true).await;
    let b = f.browsers();
    let response = f.sign_in_via_idp(&b, "leave@corp.example").await;
    let code = param(&onward(response).await, "code").unwrap();
    let tokens = expect_no_store_json(f.down.redeem("default", &f.app, &code).await).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let mut logout = url::Url::parse(&f.down.endpoint("default", "logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", REDIRECT_AFTER_LOGOUT)
        .append_pair("state", "bye");
    let first = b.down.get(logout.as_str()).await;
    assert_eq!(first.status(), 302);
    let up_logout = location(&first).unwrap();
    assert!(
        up_logout.starts_with(&f.up.endpoint("org", "logout")),
        "{up_logout}"
    );
    assert!(param(&up_logout, "id_token_hint").is_some());
    assert_eq!(
        param(&up_logout, "post_logout_redirect_uri"),
        Some(format!("{}/sso/logout/callback", f.down.base))
    );
    let back = b.up.get(&up_logout).await;
    let back = location(&back).expect("the upstream sends the browser back");
    assert!(
        back.starts_with(&format!("{}/sso/logout/callback", f.down.base)),
        "{back}"
    );
    let done = location(&b.down.get(&back).await).unwrap();
    assert!(done.starts_with(REDIRECT_AFTER_LOGOUT), "{done}");
    assert_eq!(param(&done, "state").as_deref(), Some("bye"));
    // Both sessions have ended: prompt=none is login_required at both.
    let again = b
        .down
        .get(&f.idp_authorize_url(&[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&location(&again).unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let up_again =
        b.up.get(&f.up.authorize_url(
            "org",
            &f.up_app.client_id,
            &[
                ("prompt", "none"),
                (
                    "redirect_uri",
                    &format!("{}/oauth2/v1/authorize/callback", f.down.base),
                ),
            ],
        ))
        .await;
    assert_eq!(
        param(&location(&up_again).unwrap(), "error").as_deref(),
        Some("login_required")
    );
    // A continuation this server did not seal is the signed-out page, not a redirect.
    let forged = b
        .down
        .get(&format!("{}/sso/logout/callback?state=forged", f.down.base))
        .await;
    assert_eq!(forged.status(), 200);
    assert!(forged.headers().get("location").is_none());
}

/// A hostile provider (`upstream_client::hostile`, its token endpoint misbehaving as
/// the path says): each misbehaviour ends on a 502 page with nothing created and a
/// System Log FAILURE. The code the browser brings back is the departure's nonce,
/// which that token endpoint puts in its ID token (see `upstream_client`).
#[tokio::test]
async fn a_hostile_provider_ends_on_a_page_with_nothing_created() {
    let h = crate::upstream_client::hostile().await;
    let f = federation(false, |_| {}).await;
    let callback = format!("{}/oauth2/v1/authorize/callback", f.down.base);
    let before = f.down_user_count().await;
    for mode in [
        "none", "hs256", "forged", "nonce", "expired", "big", "hang", "error500",
    ] {
        let now = f.down.clock.now();
        let store = &f.down.backend.store;
        let mut idp = store.get_idp(&f.idp_id).await.unwrap().unwrap();
        idp.issuer = Some(h.base.clone());
        idp.client_id = "downstream".into();
        idp.client_secret_sealed = Some(f.down.backend.master.encrypt(
            b"a-client-secret-of-at-least-32-bytes!",
            format!("idp-client-secret\0{}", idp.id).as_bytes(),
        ));
        idp.authorization_endpoint = format!("{}/{mode}/authorize", h.base);
        idp.token_endpoint = format!("{}/{mode}/token", h.base);
        idp.userinfo_endpoint = None;
        idp.jwks_uri = Some(format!("{}/jwks", h.base));
        idp.updated_at = now;
        assert!(store.update_idp(&idp).await.unwrap());
        let b = f.browsers();
        let first = b.down.get(&f.idp_authorize_url(&[])).await;
        let mut up_url = location(&first).unwrap();
        if up_url.starts_with('/') {
            up_url = location(&b.down.get(&up_url).await).unwrap();
        }
        assert!(up_url.starts_with(&h.base), "{up_url}");
        let state = param(&up_url, "state").unwrap();
        let nonce = param(&up_url, "nonce").unwrap();
        let mut back = url::Url::parse(&callback).unwrap();
        back.query_pairs_mut()
            .append_pair("code", &nonce)
            .append_pair("state", &state);
        let page = b.down.get(back.as_str()).await;
        assert_eq!(page.status(), 502, "{mode}");
        assert!(page.headers().get("location").is_none(), "{mode}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Identity provider error"),
            "{mode}"
        );
        assert!(
            b.down.cookie("gh_session").is_none_or(|c| c.is_empty()),
            "{mode}"
        );
        assert_eq!(f.down_user_count().await, before, "{mode}: nothing created");
    }
    let failures = f.events("user.authentication.auth_via_IDP").await;
    assert!(failures.len() >= 8);
    assert!(failures.iter().all(|e| e["outcome"]["result"] == "FAILURE"));
}

/// Group sync: ASSIGN puts everyone who signs in through the provider in its groups;
/// SYNC takes them out of the filter's groups the claim does not name (the upstream
/// Gatehouse sends no `groups` claim here, so none).
#[tokio::test]
async fn groups_are_assigned_and_synced() {
    let f = federation(false, |_| {}).await;
    upstream_user(&f.up, "team@corp.example", true).await;
    let now = f.down.clock.now();
    let store = &f.down.backend.store;
    let corp = gatehouse::admin::groups::create(store, &Actor::cli(), "Corp", "", now)
        .await
        .unwrap();
    let mut idp = store.get_idp(&f.idp_id).await.unwrap().unwrap();
    idp.groups_action = GroupsAction::Assign;
    idp.groups_assignments = vec![corp.id.clone()];
    assert!(store.update_idp(&idp).await.unwrap());
    f.id_token_via_idp("team@corp.example").await;
    let user = f.down_user("team@corp.example").await.unwrap();
    let groups = store.user_groups(&user.id).await.unwrap();
    assert!(groups.iter().any(|g| g.id == corp.id), "assigned");

    idp.groups_action = GroupsAction::Sync;
    idp.groups_source_attribute = Some("groups".into());
    idp.groups_filter = vec![corp.id.clone()];
    assert!(store.update_idp(&idp).await.unwrap());
    f.id_token_via_idp("team@corp.example").await;
    let groups = store.user_groups(&user.id).await.unwrap();
    assert!(!groups.iter().any(|g| g.id == corp.id), "synced away");
}
