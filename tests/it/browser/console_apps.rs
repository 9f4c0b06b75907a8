//! The admin console's apps, authorization servers, API tokens and branding pages in
//! Chromium (issue 17), signed in through Gatehouse's own org server as a person would:
//! the end-to-end of the issue (an admin makes a web app in the wizard, reads its
//! secret once, assigns a user, that user signs in to the app through a relying party
//! of the test's own, and the admin finds the sign-in in the System Log), token
//! preview, key rotation, and what an app admin and a read-only admin can do. Every
//! page: axe-core, no CSP violation, 390 px, keyboard.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Value, json};

use super::*;
use crate::support::{Api, no_redirects};

const ADMIN: &str = "admin@example.com";

/// A server with a user holding `role` (Okta's role type) and a browser.
struct Console {
    t: TestApp,
    api: Api,
    chrome: Chromium,
}

impl Console {
    async fn new(role: &str) -> Console {
        let t = TestApp::spawn().await;
        let api = t.api().await;
        let admin = t.user(ADMIN).await;
        let (status, body) = api
            .post(
                &format!("/api/v1/users/{}/roles", admin.id),
                json!({ "type": role }),
            )
            .await;
        assert!(status == 200 || status == 201, "grant {role}: {body}");
        let chrome = Chromium::start().await;
        Console { t, api, chrome }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/admin{path}", self.t.base)
    }

    /// Signs the admin in to the console: its sign-in button, the org server's sign-in
    /// page, back at /admin/callback and on to the console.
    async fn sign_in(&self) {
        self.chrome.open(&self.url("/")).await;
        self.chrome.click(".signin button").await;
        self.chrome
            .wait_for_url(&format!("{}/login", self.t.base))
            .await;
        self.chrome.fill("#username", ADMIN).await;
        self.chrome.fill("#password", PASSWORD).await;
        self.chrome.click("button[type=submit]").await;
        self.chrome.wait_for_url(&self.url("/")).await;
        self.wait_for("#nav a").await;
    }

    /// Opens a console page (the tokens stay in the tab's sessionStorage).
    async fn open(&self, path: &str, ready: &str) {
        self.chrome.open(&self.url(path)).await;
        self.wait_for(ready).await;
    }

    /// Waits until `css` selects an element.
    async fn wait_for(&self, css: &str) {
        self.chrome.text(css).await;
    }

    /// Waits until the element's text contains `needle`; answers the text.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..200 {
            if self.chrome.exists(css).await {
                let text = self.chrome.text(css).await;
                if text.contains(needle) {
                    return text;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "{css} never said {needle:?}: {}",
            self.chrome.text("main").await
        );
    }

    /// Clicks the button whose text is `label` (the first one).
    async fn press(&self, label: &str) {
        let found = self
            .chrome
            .script(
                "const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === arguments[0]); if (b) b.click(); return !!b;",
                json!([label]),
            )
            .await;
        assert_eq!(
            found,
            true,
            "a button {label:?} at {}",
            self.chrome.url().await
        );
    }

    /// The console's access token, as the page holds it.
    async fn bearer(&self) -> String {
        self.chrome
            .script(
                "return JSON.parse(sessionStorage.getItem('gatehouse.console.tokens')).access_token",
                json!([]),
            )
            .await
            .as_str()
            .expect("the console's access token")
            .to_string()
    }

    /// A management API request with the console's Bearer token.
    async fn as_console(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .t
            .http
            .request(method, format!("{}{path}", self.t.base))
            .bearer_auth(self.bearer().await);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// No CSP violation so far. The console's refused requests (403s the test makes on
/// purpose) are failed loads in Chromium's log, so the harness's stricter check does
/// not fit here.
async fn no_csp_violation(chrome: &Chromium) {
    let log = chrome.console().await;
    let bad: Vec<&String> = log
        .iter()
        .filter(|e| e.contains("Content Security Policy") || e.contains("CSP violation"))
        .collect();
    assert!(bad.is_empty(), "CSP violations: {bad:#?}");
}

/// A confidential relying party for `client_id` on the default server, redirecting to
/// the test's own app.
async fn relying_party(
    t: &TestApp,
    client_id: &str,
    secret: &str,
    callback: &str,
) -> crate::support::Rp {
    let http = no_redirects();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer("default")).unwrap(), &http)
            .await
            .expect("discovery");
    let url = format!("{}/.well-known/openid-configuration", t.issuer("default"));
    let document: Value = http.get(url).send().await.unwrap().json().await.unwrap();
    let endpoint = |name: &str| document[name].as_str().unwrap().to_string();
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(callback.into()).unwrap())
    .set_revocation_url(
        openidconnect::RevocationUrl::new(
            endpoint("revocation_endpoint").replacen("http://", "https://", 1),
        )
        .unwrap(),
    )
    .set_introspection_url(
        openidconnect::IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap(),
    )
}

/// THE end-to-end of issue 17.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_an_app_in_the_console_and_its_user_signs_in_to_it() {
    let c = Console::new("SUPER_ADMIN").await;
    let alice = c.t.user(LOGIN).await;
    let rp = RelyingParty::start().await;
    c.sign_in().await;

    // The wizard, by keyboard: the Create button, the kind (web by default), the details.
    c.open("/apps", "#create-app").await;
    c.chrome.check_page("apps").await;
    c.chrome
        .script("document.getElementById('create-app').focus()", json!([]))
        .await;
    c.chrome.keys(&Key::ENTER.to_string()).await;
    c.wait_for("#kind-web").await;
    assert_eq!(c.chrome.focused().await, "kind-web");
    c.chrome.click("#wizard-next").await;
    c.wait_for("#wizard-details").await;
    c.chrome
        .fill("#wizard-details input[name=label]", "Orders")
        .await;
    c.chrome
        .fill(
            "#wizard-details textarea[name=redirect_uris]",
            &rp.callback(),
        )
        .await;
    c.chrome.click("#wizard-details button[type=submit]").await;
    let secret = c.wait_text("[data-secret]", "").await;
    let client_id = c.chrome.text("main [data-client-id]").await;
    assert!(secret.len() >= 40, "a secret: {secret:?}");
    c.chrome.check_page("app-created").await;
    // Shown once: the app's page and its API answer never have it again.
    c.chrome
        .click(&format!("a[href='/admin/apps/{client_id}']"))
        .await;
    c.open(&format!("/apps/{client_id}"), "#assign-user").await;
    assert!(!c.chrome.text("main").await.contains(&secret));
    let (_, app) = c.api.get(&format!("/api/v1/apps/{client_id}")).await;
    assert!(
        app["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );

    // Assign Alice.
    c.chrome.fill("#assign-user input[name=user]", LOGIN).await;
    c.chrome.click("#assign-user button[type=submit]").await;
    c.wait_text("main", LOGIN).await;
    c.chrome.check_page("app").await;
    let (_, users) = c.api.get(&format!("/api/v1/apps/{client_id}/users")).await;
    assert_eq!(users[0]["id"], alice.id.as_str());

    // Alice signs in to the app in a browser of her own, through the test's relying party.
    let app_rp = relying_party(&c.t, &client_id, &secret, &rp.callback()).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = app_rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let hers = Chromium::start().await;
    hers.open(url.as_str()).await;
    hers.fill("#username", LOGIN).await;
    hers.fill("#password", PASSWORD).await;
    hers.click("button[type=submit]").await;
    hers.wait_for_url(&rp.callback()).await;
    let code = rp.only_hit().param("code").expect("a code").to_string();
    let tokens = app_rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&no_redirects())
        .await
        .expect("the code exchange with the secret the console showed");
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&app_rp.id_token_verifier(), &nonce)
        .expect("a valid ID token")
        .clone();
    assert_eq!(claims.email().map(|e| e.as_str()), Some(LOGIN));

    // The admin finds the sign-in in the System Log (API; the Log page when present).
    let (_, log) = c
        .as_console(
            reqwest::Method::GET,
            "/api/v1/logs?filter=eventType%20eq%20%22user.authentication.sso%22",
            None,
        )
        .await;
    let found = log.as_array().into_iter().flatten().any(|e| {
        e["actor"]["alternateId"] == LOGIN
            && e["target"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["id"] == client_id.as_str())
    });
    assert!(
        found,
        "Alice's sign-in to Orders in the System Log: {log:#}"
    );
}

/// Token preview shows the claims the default server would issue to the app for Alice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_preview_shows_the_claims_the_server_would_issue() {
    let c = Console::new("SUPER_ADMIN").await;
    let alice = c.t.user(LOGIN).await;
    let app = c.t.web_app().await;
    c.sign_in().await;
    for tab in ["", "?tab=scopes", "?tab=claims", "?tab=policies"] {
        c.open(&format!("/authorization-servers/default{tab}"), "nav.tabs")
            .await;
        c.wait_for("main .panel").await;
        c.chrome
            .check_page(&format!("server{}", tab.replace("?tab=", "-")))
            .await;
    }
    c.open("/authorization-servers", "main table").await;
    c.wait_text("main table", "default").await;
    c.chrome.check_page("servers").await;
    c.open(
        "/authorization-servers/default?tab=preview",
        "#preview-form",
    )
    .await;
    c.chrome
        .script(
            "const s = document.querySelector('#preview-form select[name=clientId]'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            json!([app.client_id]),
        )
        .await;
    c.chrome
        .fill("#preview-form input[name=userId]", LOGIN)
        .await;
    c.chrome
        .fill("#preview-form input[name=scopes]", "openid email")
        .await;
    c.chrome.click("#preview-form button[type=submit]").await;
    let uid = c
        .wait_text("[data-token=preview-access] [data-claim=uid]", &alice.id)
        .await;
    assert_eq!(uid, alice.id);
    assert_eq!(
        c.chrome
            .text("[data-token=preview-access] [data-claim=cid]")
            .await,
        app.client_id
    );
    assert_eq!(
        c.chrome
            .text("[data-token=preview-access] [data-claim=aud]")
            .await,
        "api://default"
    );
    assert_eq!(
        c.chrome
            .text("[data-token=preview-id] [data-claim=email]")
            .await,
        LOGIN
    );
    assert!(c.chrome.text("[data-granted]").await.contains("email"));
    c.chrome.check_page("token-preview").await;
    // Nothing was issued: no token event in the System Log.
    let (_, log) = c
        .api
        .get("/api/v1/logs?filter=eventType%20sw%20%22app.oauth2.as.token%22")
        .await;
    assert_eq!(log.as_array().map(Vec::len), Some(0), "{log}");
}

/// Key rotation: the NEXT key becomes ACTIVE, after a confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_after_a_confirmation() {
    let c = Console::new("SUPER_ADMIN").await;
    c.sign_in().await;
    c.open("/authorization-servers/default?tab=keys", "#rotate-keys")
        .await;
    let (_, before) = c
        .api
        .get("/api/v1/authorizationServers/default/credentials/keys")
        .await;
    let kid = |keys: &Value, status: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["status"] == status)
            .map(|k| k["kid"].as_str().unwrap().to_string())
    };
    let next = kid(&before, "NEXT").expect("a NEXT key");
    c.chrome.click("#rotate-keys").await;
    c.wait_for("dialog[open]").await;
    c.chrome.check_page("rotate-confirm").await;
    c.press("Rotate").await;
    c.wait_text("#toasts", "Keys rotated").await;
    let (_, after) = c
        .api
        .get("/api/v1/authorizationServers/default/credentials/keys")
        .await;
    assert_eq!(kid(&after, "ACTIVE"), Some(next.clone()));
    c.wait_for(&format!("[data-kid='{next}']")).await;
    c.chrome.check_page("server-keys").await;
}

/// An app admin uses the apps pages; the users API refuses their changes, and the
/// console shows the API's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_admin_changes_apps_but_not_users() {
    let c = Console::new("APP_ADMIN").await;
    c.sign_in().await;
    c.open("/apps", "#create-app").await;
    c.press("Create app").await;
    c.wait_for("#kind-service").await;
    c.chrome.click("#kind-service").await;
    c.chrome.click("#wizard-next").await;
    c.chrome
        .fill("#wizard-details input[name=label]", "Nightly job")
        .await;
    c.chrome.click("#wizard-details button[type=submit]").await;
    assert!(!c.wait_text("[data-secret]", "").await.is_empty());
    // An app admin reads users (to assign them) but changes none.
    let (status, _) = c
        .as_console(reqwest::Method::GET, "/api/v1/users", None)
        .await;
    assert_eq!(status, 200);
    let new_user = json!({"profile": {"login": "x@example.com", "email": "x@example.com", "firstName": "X", "lastName": "Y"}});
    let (status, body) = c
        .as_console(reqwest::Method::POST, "/api/v1/users", Some(new_user))
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("E0000006")),
        "{body}"
    );
    // The users page says so in the form, in the API's words.
    c.open("/users", "main table").await;
    c.press("Add user").await;
    c.wait_for("main form input[name=firstName]").await;
    c.chrome.fill("main form input[name=firstName]", "X").await;
    c.chrome.fill("main form input[name=lastName]", "Y").await;
    c.chrome
        .fill("main form input[name=login]", "x@example.com")
        .await;
    c.chrome.click("main form button[type=submit]").await;
    let shown = c
        .wait_text("main .form-error", body["errorSummary"].as_str().unwrap())
        .await;
    assert!(!shown.is_empty());
    let (_, found) = c.api.get("/api/v1/users?q=x%40example.com").await;
    assert_eq!(found, json!([]), "nothing was created");
    no_csp_violation(&c.chrome).await;
}

/// A read-only admin sees the pages without a working change button; the API refuses
/// their writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_admin_sees_no_change_buttons_and_the_api_refuses_writes() {
    let c = Console::new("READ_ONLY_ADMIN").await;
    let app = c.t.web_app().await;
    c.sign_in().await;
    c.open("/apps", "main table").await;
    c.wait_text("main table", &app.client_id).await;
    assert!(!c.chrome.exists("#create-app").await);
    c.open(&format!("/apps/{}", app.client_id), ".read-only")
        .await;
    for change in [
        "#app-general",
        "#app-auth",
        "#assign-user",
        "#new-secret",
        "main .btn-danger",
    ] {
        assert!(
            !c.chrome.exists(change).await,
            "{change} on a read-only admin's app page"
        );
    }
    c.open("/authorization-servers/default?tab=keys", "main table")
        .await;
    assert!(!c.chrome.exists("#rotate-keys").await);
    c.open("/api-tokens", ".read-only").await;
    assert!(!c.chrome.exists("#create-token").await);
    c.open("/branding", "#branding-form").await;
    assert!(!c.chrome.exists("#branding-form button[type=submit]").await);
    assert_eq!(
        c.chrome.script("return [...document.querySelectorAll('#branding-form input')].every(i => i.disabled)", json!([])).await,
        true
    );
    let writes = [
        (
            reqwest::Method::POST,
            "/api/v1/apps".to_string(),
            Some(json!({"label": "x"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/apps/{}/lifecycle/deactivate", app.client_id),
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/authorizationServers/default/credentials/lifecycle/keyRotate".to_string(),
            None,
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/brands/bnd0default0000000000".to_string(),
            Some(json!({"name": "x"})),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = c.as_console(method.clone(), &path, body).await;
        assert_eq!(
            (status, answer["errorCode"].as_str()),
            (403, Some("E0000006")),
            "{method} {path}: {answer}"
        );
    }
    let (_, still) = c.api.get(&format!("/api/v1/apps/{}", app.client_id)).await;
    assert_eq!(still["status"], "ACTIVE");
    c.chrome.assert_no_csp_violations().await;
}

/// API tokens and branding: made, shown once, revoked; the preview follows the colour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_shown_once_and_branding_previews_live() {
    let c = Console::new("SUPER_ADMIN").await;
    c.sign_in().await;
    c.open("/api-tokens", "#create-token").await;
    c.chrome
        .fill("#create-token input[name=name]", "deploy")
        .await;
    c.chrome.keys(&Key::ENTER.to_string()).await;
    let value = c.wait_text("[data-secret]", "").await;
    let check =
        c.t.http
            .get(format!("{}/api/v1/apps", c.t.base))
            .header("Authorization", format!("SSWS {value}"))
            .send()
            .await
            .unwrap();
    assert_eq!(check.status(), 200, "the token shown works");
    c.chrome.check_page("api-tokens").await;
    c.chrome
        .click("button[aria-label='Revoke token deploy']")
        .await;
    c.wait_for("dialog[open]").await;
    c.chrome.click("dialog[open] .btn-danger").await;
    c.wait_text("#toasts", "revoked").await;
    let again =
        c.t.http
            .get(format!("{}/api/v1/apps", c.t.base))
            .header("Authorization", format!("SSWS {value}"))
            .send()
            .await
            .unwrap();
    assert_eq!(again.status(), 401);

    c.open("/branding", "#branding-form").await;
    assert!(
        !c.chrome.text("main").await.contains("null"),
        "nothing half-rendered"
    );
    c.chrome
        .script(
            "const i = document.querySelector('#branding-form input[name=primary]'); i.value = '#ffd400'; i.dispatchEvent(new Event('input'));",
            json!([]),
        )
        .await;
    let text = c
        .chrome
        .script(
            "return getComputedStyle(document.querySelector('.pv-button')).color",
            json!([]),
        )
        .await;
    assert_eq!(text, "rgb(0, 0, 0)", "black text on yellow");
    assert!(c.chrome.text("[data-contrast]").await.contains("meets"));
    c.chrome.check_page("branding").await;
    c.chrome.click("#branding-form button[type=submit]").await;
    c.wait_text("#toasts", "Branding saved").await;
    let (_, theme) = c
        .api
        .get("/api/v1/brands/bnd0default0000000000/themes/thd0default0000000000")
        .await;
    assert_eq!(theme["primaryColorHex"], "#ffd400");
}
