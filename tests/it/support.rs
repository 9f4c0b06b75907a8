//! `TestApp`: a real Gatehouse on 127.0.0.1:0 with its own data directory (and, for
//! PostgreSQL, its own database), a `Browser` that keeps cookies and does not follow
//! redirects, and `TestDatabase`, a fresh PostgreSQL database dropped after the test.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gatehouse::admin::Actor;
use gatehouse::admin::{apps, servers, users};
use gatehouse::app::{self, AppState, Backend};
use gatehouse::clock::{Clock, OffsetClock};
use gatehouse::config::{ClientAuthConfig, ServerConfig, StoreConfig};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpClientError, HttpRequest, HttpResponse, IntrospectionUrl,
    IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tempfile::TempDir;
use url::Url;

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT: &str = "https://app.example.com/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct TestApp {
    pub base: String,
    pub dir: TempDir,
    pub backend: Backend,
    pub clock: Arc<OffsetClock>,
    pub http: reqwest::Client,
    /// The running server's state (its key cache, metrics, config).
    pub state: app::SharedState,
    /// The PostgreSQL database, when the app runs on one; declared last so that it is
    /// dropped (and the database with it) after everything that uses it.
    pub database: Option<TestDatabase>,
}

pub struct App {
    pub client_id: String,
    pub secret: Option<String>,
}

pub struct TestUser {
    pub id: String,
    pub login: String,
}

impl TestApp {
    /// On SQLite, in a fresh data directory.
    pub async fn spawn() -> TestApp {
        Self::spawn_on(None).await
    }

    /// On a fresh PostgreSQL database, dropped when the `TestApp` is.
    pub async fn spawn_postgres() -> TestApp {
        Self::spawn_on(Some(TestDatabase::create().await)).await
    }

    async fn spawn_on(database: Option<TestDatabase>) -> TestApp {
        let url = database.as_ref().map(|db| db.url.clone());
        Self::spawn_with(tempfile::tempdir().expect("temp dir"), url, database, None).await
    }

    /// On SQLite, with `configure` applied to the server's settings first.
    pub async fn spawn_configured(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
        Self::spawn_full(
            tempfile::tempdir().expect("temp dir"),
            None,
            None,
            None,
            configure,
        )
        .await
    }

    /// On a fresh PostgreSQL database, with `configure` applied to the server's settings
    /// first.
    pub async fn spawn_postgres_configured(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
        let database = TestDatabase::create().await;
        let url = Some(database.url.clone());
        Self::spawn_full(
            tempfile::tempdir().expect("temp dir"),
            url,
            Some(database),
            None,
            configure,
        )
        .await
    }

    /// On a fresh PostgreSQL database (`postgres`) or SQLite, listening on `bind` (a
    /// loopback address: `127.0.0.2` gives a second server a host of its own, so a
    /// browser keeps the two servers' cookies apart), with `configure` applied first.
    pub async fn spawn_at(
        bind: &str,
        postgres: bool,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        let database = if postgres {
            Some(TestDatabase::create().await)
        } else {
            None
        };
        let url = database.as_ref().map(|db| db.url.clone());
        Self::spawn_bound(
            tempfile::tempdir().expect("temp dir"),
            url,
            database,
            None,
            bind,
            configure,
        )
        .await
    }

    /// On the SQLite database (and master key) already in `dir`, e.g. a restored backup.
    pub async fn spawn_in(dir: TempDir) -> TestApp {
        Self::spawn_with(dir, None, None, None).await
    }

    /// Another instance on this one's PostgreSQL database, with the same master key and
    /// public URL (so the same issuers), and a clock of its own.
    pub async fn sibling(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(
            self.dir.path().join("master.key"),
            dir.path().join("master.key"),
        )
        .expect("copy the master key");
        let url = self
            .database
            .as_ref()
            .expect("a sibling shares a PostgreSQL database")
            .url
            .clone();
        Self::spawn_with(dir, Some(url), None, Some(self.base.clone())).await
    }

    /// On SQLite, with these client authentication and DPoP settings.
    pub async fn spawn_with_client_auth(client_auth: ClientAuthConfig) -> TestApp {
        Self::spawn_configured(|c| c.client_auth = client_auth).await
    }

    async fn spawn_with(
        dir: TempDir,
        url: Option<String>,
        database: Option<TestDatabase>,
        public_url: Option<String>,
    ) -> TestApp {
        Self::spawn_full(dir, url, database, public_url, |_| {}).await
    }

    async fn spawn_full(
        dir: TempDir,
        url: Option<String>,
        database: Option<TestDatabase>,
        public_url: Option<String>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        Self::spawn_bound(dir, url, database, public_url, "127.0.0.1", configure).await
    }

    async fn spawn_bound(
        dir: TempDir,
        url: Option<String>,
        database: Option<TestDatabase>,
        public_url: Option<String>,
        bind: &str,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        let clock = Arc::new(OffsetClock::default());
        if url.is_none() && std::fs::read_dir(dir.path()).is_ok_and(|mut d| d.next().is_none()) {
            sqlite_template().await.write_into(dir.path());
        }
        let store_config = StoreConfig::new(dir.path().to_path_buf(), url);
        let backend = app::open_backend(&store_config, clock.now())
            .await
            .expect("open backend");
        let listener = tokio::net::TcpListener::bind(format!("{bind}:0"))
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let mut config = ServerConfig {
            listen: addr,
            public_url: Url::parse(&public_url.unwrap_or_else(|| format!("http://{addr}")))
                .unwrap(),
            session_lifetime_seconds: 7200,
            password_hash_workers: 2,
            key_rotation_days: 90,
            log_retention_days: 90,
            throttle: Default::default(),
            trusted_proxies: vec![],
            cors_allowed_origins: vec![],
            client_auth: ClientAuthConfig::default(),
            shutdown_drain_seconds: 10,
            jobs: Default::default(),
            smtp: None,
        };
        configure(&mut config);
        let state = AppState::new(backend.clone(), config, clock.clone());
        tokio::spawn(app::serve(state.clone(), listener, std::future::pending()));
        let http = no_redirects();
        let base = format!("http://{addr}");
        // Wait until it answers (keys are made before serving).
        for _ in 0..200 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        TestApp {
            base,
            dir,
            backend,
            clock,
            http,
            state,
            database,
        }
    }

    pub fn issuer(&self, server: &str) -> String {
        if server == "org" {
            self.base.clone()
        } else {
            format!("{}/oauth2/{server}", self.base)
        }
    }

    pub fn endpoint(&self, server: &str, name: &str) -> String {
        if server == "org" {
            format!("{}/oauth2/v1/{name}", self.base)
        } else {
            format!("{}/oauth2/{server}/v1/{name}", self.base)
        }
    }

    pub async fn user(&self, login: &str) -> TestUser {
        let new = users::NewUser {
            login: login.into(),
            password: Some(PASSWORD.into()),
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            ..Default::default()
        };
        let u = users::create(
            &self.backend.store,
            &self.state.passwords,
            &Actor::cli(),
            new,
            self.clock.now(),
        )
        .await
        .expect("create user");
        TestUser {
            id: u.id,
            login: u.login,
        }
    }

    pub async fn app_with(&self, auth_method: &str, redirect_uris: &[&str]) -> App {
        self.app_with_logout(auth_method, redirect_uris, &[]).await
    }

    /// `app_with`, and these `post_logout_redirect_uris`.
    pub async fn app_with_logout(
        &self,
        auth_method: &str,
        redirect_uris: &[&str],
        post_logout_redirect_uris: &[&str],
    ) -> App {
        self.create_app(apps::NewApp {
            name: "Test App".into(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: post_logout_redirect_uris
                .iter()
                .map(|s| s.to_string())
                .collect(),
            auth_method: Some(auth_method.into()),
            ..Default::default()
        })
        .await
    }

    /// Registers an app through the service layer, as the CLI does.
    pub async fn create_app(&self, new: apps::NewApp) -> App {
        let created = apps::create(
            &self.backend.store,
            &self.backend.master,
            &Actor::cli(),
            new,
            self.clock.now(),
        )
        .await
        .expect("create app");
        App {
            client_id: created.client.client_id,
            secret: created.secret,
        }
    }

    /// An app with the refresh_token grant (`auth_method`, grace period in seconds).
    pub async fn refresh_app(&self, auth_method: &str, leeway: i64) -> App {
        self.create_app(apps::NewApp {
            name: "Refreshing App".into(),
            redirect_uris: vec![REDIRECT.into()],
            auth_method: Some(auth_method.into()),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            refresh_token_leeway: Some(leeway),
            ..Default::default()
        })
        .await
    }

    /// A service app (client_credentials only).
    pub async fn service_app(&self) -> App {
        self.create_app(apps::NewApp {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await
    }

    /// Adds a custom scope to `server` (`default` flag for client_credentials).
    pub async fn scope(&self, server: &str, name: &str, is_default: bool) {
        let new = servers::NewScope {
            name: name.into(),
            is_default,
            ..Default::default()
        };
        servers::create_scope(
            &self.backend.store,
            &Actor::cli(),
            server,
            new,
            self.clock.now(),
        )
        .await
        .expect("create scope");
    }

    /// Signs `login` in, redeems the code with `scope` requested, and returns the token
    /// response's JSON (with a refresh token when `offline_access` is in `scope`).
    pub async fn tokens(
        &self,
        server: &str,
        app: &App,
        login: &str,
        scope: &str,
    ) -> serde_json::Value {
        let browser = self.browser();
        let url = self.authorize_url(server, &app.client_id, &[("scope", scope)]);
        let response = browser.get(&url).await;
        let response = match location(&response) {
            Some(loc) if loc.starts_with("/login") => browser.sign_in(&loc, login, PASSWORD).await,
            _ => response,
        };
        let loc = location(&response).expect("a redirect to the client");
        let code = param(&loc, "code").unwrap_or_else(|| panic!("a code in {loc}"));
        // post_as: a public app names itself with `client_id`.
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let response = self.post_as(server, "token", app, &form).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// POSTs a form to one of `server`'s endpoints, authenticating as `app` (HTTP Basic
    /// for a confidential app, `client_id` in the form for a public one).
    pub async fn post_as(
        &self,
        server: &str,
        endpoint: &str,
        app: &App,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(self.endpoint(server, endpoint));
        match &app.secret {
            Some(secret) => request = request.basic_auth(&app.client_id, Some(secret)),
            None => form.push(("client_id", &app.client_id)),
        }
        request.form(&form).send().await.unwrap()
    }

    /// `grant_type=refresh_token`.
    pub async fn refresh(
        &self,
        server: &str,
        app: &App,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.post_as(server, "token", app, &form).await
    }

    /// RFC 7662 introspection of `token` by `app`; the JSON answer.
    pub async fn introspect(&self, server: &str, app: &App, token: &str) -> serde_json::Value {
        let response = self
            .post_as(server, "introspect", app, &[("token", token)])
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// RFC 7009 revocation of `token` by `app`, with `token_type_hint` when given.
    pub async fn revoke(
        &self,
        server: &str,
        app: &App,
        token: &str,
        hint: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("token", token)];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint));
        }
        self.post_as(server, "revoke", app, &form).await
    }

    /// `grant_type=client_credentials`, with `scope` when given.
    pub async fn client_credentials(
        &self,
        server: &str,
        app: &App,
        scope: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.post_as(server, "token", app, &form).await
    }

    /// The status and `WWW-Authenticate` of a userinfo request with `token`.
    pub async fn userinfo_status(&self, server: &str, token: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.endpoint(server, "userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status().as_u16(), challenge)
    }

    /// An `openidconnect` relying party for `app` at `server`, configured from discovery:
    /// the provider metadata, and the revocation and introspection endpoints it names.
    /// The revocation endpoint as `https` (the library refuses anything else, RFC 7009
    /// §2): revoke through `tls_proxy`.
    pub async fn rp(&self, server: &str, app: &App) -> Rp {
        let http = no_redirects();
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(self.issuer(server)).unwrap(),
            &http,
        )
        .await
        .expect("discovery");
        let url = format!("{}/.well-known/openid-configuration", self.issuer(server));
        let document: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
        let endpoint = |name: &str| {
            document[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} in discovery"))
                .to_string()
        };
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(app.client_id.clone()),
            app.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
        .set_revocation_url(
            RevocationUrl::new(endpoint("revocation_endpoint").replacen("http://", "https://", 1))
                .unwrap(),
        )
        .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap())
    }

    /// The code flow driven by `rp`: authorize with PKCE and `scopes` (besides `openid`),
    /// sign `login` in, exchange the code, and validate the ID token with its nonce.
    pub async fn rp_tokens(&self, rp: &Rp, login: &str, scopes: &[&str]) -> CoreTokenResponse {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = rp.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, _, nonce) = request.set_pkce_challenge(challenge).url();
        let browser = self.browser();
        let start = browser.get(url.as_str()).await;
        let back = browser
            .sign_in(
                &location(&start).expect("to the sign-in page"),
                login,
                PASSWORD,
            )
            .await;
        let code = param(&location(&back).expect("back to the client"), "code").expect("a code");
        let tokens = rp
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&no_redirects())
            .await
            .expect("code exchange");
        let id_token = tokens.id_token().expect("an ID token");
        id_token
            .claims(&rp.id_token_verifier(), &nonce)
            .expect("a valid ID token");
        tokens
    }

    /// A confidential web app (client_secret_basic) with `REDIRECT`.
    pub async fn web_app(&self) -> App {
        self.app_with("client_secret_basic", &[REDIRECT]).await
    }

    pub async fn spa(&self) -> App {
        self.app_with("none", &[REDIRECT]).await
    }

    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: no_redirects(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    /// A browser that sends `headers` (a `User-Agent`, an `X-Forwarded-For`) with
    /// every request.
    pub fn browser_with(&self, headers: &[(&'static str, &str)]) -> Browser {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Browser {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(map)
                .build()
                .unwrap(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    /// An authorize URL with the usual parameters plus `extra` (which replace them).
    pub fn authorize_url(&self, server: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", client_id),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("redirect_uri", REDIRECT),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        let mut url = Url::parse(&self.endpoint(server, "authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }

    /// Signs `user` in through the page and returns the code the client receives.
    pub async fn code(&self, browser: &Browser, server: &str, app: &App, login: &str) -> String {
        let response = browser
            .get(&self.authorize_url(server, &app.client_id, &[]))
            .await;
        let response = match location(&response) {
            Some(loc) if loc.starts_with("/login") => browser.sign_in(&loc, login, PASSWORD).await,
            _ => response,
        };
        let loc = location(&response).expect("a redirect to the client");
        param(&loc, "code").expect("a code")
    }

    /// POSTs to the token endpoint with HTTP Basic for a confidential app, `client_id`
    /// in the form for a public one.
    pub async fn exchange(
        &self,
        server: &str,
        app: &App,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_as(server, "token", app, form).await
    }

    pub async fn redeem(&self, server: &str, app: &App, code: &str) -> reqwest::Response {
        self.exchange(
            server,
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }
}

/// A relying party with revocation and introspection endpoints set.
pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An HTTP client for `openidconnect` that does what a TLS-terminating proxy in front
/// of the test server would: the relying party speaks `https`, the request reaches the
/// loopback listener over `http`.
pub async fn tls_proxy(
    mut request: HttpRequest,
) -> Result<HttpResponse, HttpClientError<reqwest::Error>> {
    if let Some(rest) = request.uri().to_string().strip_prefix("https://") {
        *request.uri_mut() = format!("http://{rest}").parse().expect("a URI");
    }
    let http = no_redirects();
    http.call(request).await
}

/// Asserts an RFC 6749 §5.2 JSON error (status, `error`, `Cache-Control: no-store`)
/// and returns the headers.
pub async fn expect_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
) -> reqwest::header::HeaderMap {
    assert_eq!(
        response.status().as_u16(),
        status,
        "expected {status} {error}"
    );
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    headers
}

/// A JSON 200 with `Cache-Control: no-store`.
pub async fn expect_no_store_json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// The token's claims (its payload, not verified).
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// `token` with one character of part `index` (0 header, 1 payload, 2 signature)
/// changed, in the middle of the part (never a last character's unused bits).
pub fn tamper(token: &str, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let part = &mut parts[index];
    let at = part.len() / 2;
    let replacement = if &part[at..at + 1] == "A" { "B" } else { "A" };
    part.replace_range(at..at + 1, replacement);
    parts.join(".")
}

/// A management API client with its own token.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    /// `method path` with `Authorization: SSWS {token}` and a JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", format!("SSWS {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// The status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let response = self.send(method, path, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.send(reqwest::Method::DELETE, path, None)
            .await
            .status()
            .as_u16()
    }

    /// Every item of a list, following `Link: <...>; rel="next"` from `path`; also
    /// the number of pages.
    pub async fn all_pages(&self, path: &str) -> (Vec<serde_json::Value>, usize) {
        let mut items = Vec::new();
        let mut next = Some(format!("{}{path}", self.base));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let response = self.send(reqwest::Method::GET, &url, None).await;
            assert_eq!(response.status(), 200, "{url}");
            next = link(&response, "next");
            assert!(link(&response, "self").is_some(), "a self link");
            let page: Vec<serde_json::Value> = response.json().await.unwrap();
            items.extend(page);
            pages += 1;
            assert!(pages < 100, "pagination ends");
        }
        (items, pages)
    }
}

/// The URL of the `Link` header with `rel`.
pub fn link(response: &reqwest::Response, rel: &str) -> Option<String> {
    response.headers().get_all("link").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        if !v.ends_with(&format!("rel=\"{rel}\"")) {
            return None;
        }
        Some(v[v.find('<')? + 1..v.find('>')?].to_string())
    })
}

/// An Okta error body: its code, and its causes' summaries.
pub fn okta_error(body: &serde_json::Value) -> (String, Vec<String>) {
    for field in [
        "errorCode",
        "errorSummary",
        "errorLink",
        "errorId",
        "errorCauses",
    ] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    let causes = body["errorCauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["errorSummary"].as_str().unwrap().to_string())
        .collect();
    (body["errorCode"].as_str().unwrap().to_string(), causes)
}

impl TestApp {
    /// A new API token's value.
    pub async fn api_token(&self, name: &str) -> String {
        let (_, value) = gatehouse::admin::api_tokens::create(
            &self.backend.store,
            &Actor::cli(),
            name,
            self.clock.now(),
        )
        .await
        .unwrap();
        value
    }

    /// A management API client with a fresh token.
    pub async fn api(&self) -> Api {
        Api {
            base: self.base.clone(),
            token: self.api_token("tests").await,
            http: no_redirects(),
        }
    }
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
}

/// A query (or fragment) parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let from_query = url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    from_query.or_else(|| {
        url::form_urlencoded::parse(url.fragment()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// The `value` of the input named `name` in an HTML form.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_end = html[at..].find('>')? + at;
    let tag = &html[at..tag_end];
    let start = tag.find("value=\"")? + "value=\"".len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&#43;", "+")
            .replace("&#x2b;", "+")
            .replace("&#64;", "@"),
    )
}

pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub cookies: Mutex<HashMap<String, String>>,
}

impl Browser {
    /// A browser whose relative URLs (such as the sign-in page's `/login?tx=…`) go to
    /// `base`: one instance of several behind a load balancer (tests/it/multi.rs).
    pub fn at(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: no_redirects(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_string()
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies
                .lock()
                .unwrap()
                .insert(k.to_string(), v.to_string());
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        let response = self
            .http
            .get(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Opens the sign-in page at `login_location` and submits the form.
    pub async fn sign_in(
        &self,
        login_location: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.get(login_location).await;
        assert_eq!(page.status(), 200, "the sign-in page");
        let html = page.text().await.unwrap();
        let tx = input_value(&html, "tx").expect("tx field");
        let csrf = input_value(&html, "csrf").expect("csrf field");
        self.post_form(
            "/login",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}

/// The PostgreSQL server the tests use: `GATEHOUSE_TEST_POSTGRES_URL` (a superuser's
/// URL on a server that lets it in and create databases), else a throwaway server of
/// this test run's own (`throwaway_postgres`). Tests that need it fail, never skip,
/// when there is none.
pub fn postgres_admin_url() -> String {
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => throwaway_postgres::url(),
    }
}

/// A PostgreSQL server for this run of the test binary: `initdb` into a temporary
/// directory, `postgres` on a free loopback port (and its unix socket in that
/// directory), started on first use and shared by every test of the run.
///
/// A static is never dropped when the test binary exits, so the server is stopped by
/// other means, two of them: an `atexit` handler (the test harness ends with
/// `process::exit`, which runs them) asks for a fast shutdown, waits for it and removes
/// the directory; and, should the binary die without running it (killed, or aborted),
/// the server gets SIGKILL from the kernel when its parent goes (Linux's parent-death
/// signal, armed in the child after it dropped root), its backends then exit on their
/// own, and only the temporary directory is left behind.
///
/// PostgreSQL refuses to run as root: under root, `initdb` and `postgres` run as the
/// `postgres` user (else `nobody`), which owns the directory.
pub mod throwaway_postgres {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    struct Server {
        url: String,
        dir: PathBuf,
    }

    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    static CHILD: Mutex<Option<Child>> = Mutex::new(None);

    const INSTALL: &str = "PostgreSQL's server programs (initdb, postgres) are needed for \
        the PostgreSQL tests and were not found on PATH nor under /usr/lib/postgresql/*/bin. \
        Install them with:\n  sudo apt-get install -y postgresql\n\
        (or set GATEHOUSE_TEST_POSTGRES_URL to a server where a superuser may create databases)";

    /// The admin URL of the run's server, started on the first call.
    pub fn url() -> String {
        match SERVER.get_or_init(start) {
            Ok(server) => server.url.clone(),
            Err(e) => panic!("{e}"),
        }
    }

    /// `initdb` on PATH, else the newest under /usr/lib/postgresql; `postgres` beside it.
    fn programs() -> Option<(PathBuf, PathBuf)> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("initdb"))
                .find(|p| p.is_file())
        });
        let initdb = on_path.or_else(|| {
            let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse().ok()?;
                    let initdb = e.path().join("bin/initdb");
                    initdb.is_file().then_some((version, initdb))
                })
                .collect();
            found.sort();
            found.pop().map(|(_, p)| p)
        })?;
        let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        let postgres = initdb.with_file_name("postgres");
        postgres.is_file().then_some((initdb, postgres))
    }

    /// The user to run as: ourselves, or under root an unprivileged one.
    fn run_as() -> Option<(u32, u32)> {
        // SAFETY: geteuid has no preconditions; getpwnam's result is read at once,
        // before any other call could reuse its buffer.
        unsafe {
            if libc::geteuid() != 0 {
                return None;
            }
            for name in [c"postgres", c"nobody"] {
                let pw = libc::getpwnam(name.as_ptr());
                if !pw.is_null() {
                    return Some(((*pw).pw_uid, (*pw).pw_gid));
                }
            }
        }
        None
    }

    fn command(program: &Path, user: Option<(u32, u32)>) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(program);
        if let Some((uid, gid)) = user {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn free_port() -> std::io::Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    }

    fn start() -> Result<Server, String> {
        let (initdb, postgres) = programs().ok_or_else(|| INSTALL.to_string())?;
        let user = run_as();
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-test-pg-")
            .tempdir()
            .map_err(|e| format!("a temporary directory for PostgreSQL: {e}"))?
            .keep();
        let data = dir.join("data");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let out = command(&initdb, user)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}\n{INSTALL}", initdb.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}{}",
                initdb.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port().map_err(|e| format!("a free port: {e}"))?;
        let log = dir.join("postgres.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut server = command(&postgres, user);
        server
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
            // A throwaway: durability buys nothing, and the tests open many connections.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=400"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; it runs in the child before exec, after
            // the uid change (which would clear the setting).
            unsafe {
                server.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        // The parent-death signal follows the thread that forked, not the process: fork
        // from a thread that lives as long as the process.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("throwaway-postgres".into())
            .spawn(move || {
                let _ = sender.send(server.spawn());
                loop {
                    std::thread::park();
                }
            })
            .map_err(|e| format!("a thread for PostgreSQL: {e}"))?;
        let child = receiver
            .recv()
            .map_err(|e| format!("starting PostgreSQL: {e}"))?
            .map_err(|e| format!("{}: {e}", postgres.display()))?;
        *CHILD.lock().unwrap() = Some(child);
        // SAFETY: registers a plain function without arguments.
        unsafe {
            libc::atexit(stop);
        }
        let started = Instant::now();
        loop {
            // The postmaster writes "ready" into its pid file when it accepts connections.
            let ready = std::fs::read_to_string(data.join("postmaster.pid"))
                .is_ok_and(|pid| pid.lines().any(|l| l.trim() == "ready"));
            if ready {
                break;
            }
            let exited = CHILD
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "PostgreSQL ({}) did not start ({exited:?}):\n{log}",
                    postgres.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Server {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
        })
    }

    /// At exit: a fast shutdown (SIGINT: sessions are cut, no checkpoint wait worth
    /// having for a throwaway), ten seconds for it, then SIGKILL; then the directory.
    extern "C" fn stop() {
        let Ok(mut child) = CHILD.lock() else { return };
        if let Some(mut child) = child.take() {
            // SAFETY: signals our own child by its pid.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGINT);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(Ok(server)) = SERVER.get() {
            let _ = std::fs::remove_dir_all(&server.dir);
        }
    }
}

/// The Python that has Okta's SDK (`okta`, pinned in tests/okta_sdk/requirements.txt):
/// `GATEHOUSE_OKTA_SDK_PYTHON`, else `target/okta-venv`, made on first use (and made
/// again when it holds another version) under a file lock, so that tests running at
/// once, or two test runs, do not build it twice. Without python3 (and its venv
/// module) it fails with the command that installs them.
pub fn okta_sdk_python() -> std::path::PathBuf {
    use std::path::PathBuf;
    use std::process::Command;
    if let Some(path) = std::env::var_os("GATEHOUSE_OKTA_SDK_PYTHON") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let requirements = root.join("tests/okta_sdk/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .expect("tests/okta_sdk/requirements.txt")
        .lines()
        .find_map(|l| l.trim().strip_prefix("okta==").map(str::to_string))
        .expect("requirements.txt pins okta==VERSION");
    let target = root.join("target");
    let venv = target.join("okta-venv");
    let python = venv.join("bin/python");
    let has_it = || {
        Command::new(&python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('okta'))",
            ])
            .output()
            .is_ok_and(|o| {
                o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == wanted
            })
    };
    if has_it() {
        return python;
    }
    std::fs::create_dir_all(&target).expect("target/");
    let lock = std::fs::File::create(target.join("okta-venv.lock")).expect("the venv's lock file");
    // SAFETY: flock on a descriptor this function owns; released when `lock` closes.
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(locked, 0, "lock target/okta-venv.lock");
    if !has_it() {
        let install = "python3 with its venv module is needed to make target/okta-venv for \
                       the Okta SDK test. Install it with:\n  sudo apt-get install -y python3-venv";
        let _ = std::fs::remove_dir_all(&venv);
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .unwrap_or_else(|e| panic!("python3: {e}\n{install}"));
        assert!(
            made.status.success(),
            "python3 -m venv target/okta-venv failed: {}\n{install}",
            String::from_utf8_lossy(&made.stderr)
        );
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .output()
            .expect("run pip");
        assert!(
            pip.status.success(),
            "pip install -r tests/okta_sdk/requirements.txt failed (PyPI must be reachable):\n{}{}",
            String::from_utf8_lossy(&pip.stdout),
            String::from_utf8_lossy(&pip.stderr)
        );
        assert!(
            has_it(),
            "target/okta-venv does not have okta {wanted} after pip install"
        );
    }
    drop(lock);
    python
}

/// A fresh, empty database `gh_test_<random hex>` on the test server. Dropping the guard
/// drops the database (`WITH (FORCE)`, so connections still open do not keep it),
/// also when the test panics.
pub struct TestDatabase {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl TestDatabase {
    /// A database with the current schema: a copy of the run's migrated template
    /// (`migrated_template`), so that the migrations run once per run, not once per test.
    pub async fn create() -> TestDatabase {
        let template = migrated_template().await;
        Self::create_from(&format!("TEMPLATE \"{template}\"")).await
    }

    /// An empty database, for the tests of migrating one.
    pub async fn create_empty() -> TestDatabase {
        Self::create_from("").await
    }

    async fn create_from(clause: &str) -> TestDatabase {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let name = format!("gh_test_{}", hex(&gatehouse::crypto::random_bytes::<8>()));
        let mut url = Url::parse(&admin_url).expect("GATEHOUSE_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {admin_url} is needed for this test (start it, or set \
                 GATEHOUSE_TEST_POSTGRES_URL): {e}"
                )
            });
        sqlx::Executor::execute(
            &mut admin,
            format!("CREATE DATABASE \"{name}\" {clause}").as_str(),
        )
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} {clause}: {e}"));
        let _ = admin.close().await;
        TestDatabase {
            url: url.to_string(),
            name,
            admin_url,
        }
    }
}

/// A data directory as a first start leaves it (the SQLite file migrated, the built-in
/// servers with their ACTIVE and NEXT signing keys, the master key), made once per run
/// and kept in memory: a test server on SQLite starts from a copy of it. Generating the
/// four RSA keys was most of the CPU of a short test (a profile of `discovery::` and
/// `headers::`: RSA key generation ~60 %, Argon2 6 %, SQLite 4 %). A test that brings
/// its own directory (`spawn_in`) starts from that.
struct SqliteTemplate {
    database: Vec<u8>,
    master_key: Vec<u8>,
}

impl SqliteTemplate {
    fn write_into(&self, dir: &std::path::Path) {
        std::fs::write(dir.join("gatehouse.db"), &self.database).expect("copy the template");
        std::fs::write(dir.join("master.key"), &self.master_key).expect("copy the master key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let owner_only = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(dir.join("master.key"), owner_only).expect("chmod");
        }
    }
}

async fn sqlite_template() -> &'static SqliteTemplate {
    static TEMPLATE: tokio::sync::OnceCell<SqliteTemplate> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("temp dir");
            let now = OffsetClock::default().now();
            let backend = app::open_backend(&StoreConfig::new(dir.path().to_path_buf(), None), now)
                .await
                .expect("open the template backend");
            for server in servers::builtin_servers(now) {
                gatehouse::tokens::keys::ensure_keys(
                    &backend.store,
                    &backend.master,
                    &server.id,
                    now,
                )
                .await
                .expect("the template's signing keys");
            }
            backend.store.close().await;
            drop(backend);
            SqliteTemplate {
                database: std::fs::read(dir.path().join("gatehouse.db")).expect("template db"),
                master_key: std::fs::read(dir.path().join("master.key")).expect("master key"),
            }
        })
        .await
}

/// The name of a database holding every migration of this checkout and nothing else,
/// made on first use: `gh_template_<hash of migrations/postgres>`. It is kept on the
/// server, so later runs (and test binaries running at once) with the same migrations
/// copy it as it is; a changed migration makes another. It is built under a name of
/// its own by `PostgresStore::open`, the path every instance takes, and renamed when
/// complete, so no test ever copies a half-migrated one.
async fn migrated_template() -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use gatehouse::store::postgres::{PoolSettings, PostgresStore};
            use sqlx::Connection;
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("migrations/postgres")
                .map(|e| e.expect("a migration file").path())
                .collect();
            files.sort();
            let mut all = Vec::new();
            for file in &files {
                all.extend(file.file_name().unwrap().as_encoded_bytes());
                all.extend(std::fs::read(file).expect("a migration"));
            }
            let hash = hex(&gatehouse::crypto::sha256(&all)[..8]);
            let template = format!("gh_template_{hash}");
            let admin_url = postgres_admin_url();
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("PostgreSQL for the tests");
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&template)
                    .fetch_optional(&mut admin)
                    .await
                    .unwrap();
            if exists.is_none() {
                let building = TestDatabase::create_empty().await;
                let store = PostgresStore::open(&building.url, &PoolSettings::default())
                    .await
                    .expect("migrate the template database");
                gatehouse::store::Maintenance::close(&store).await;
                drop(store);
                let renamed = sqlx::Executor::execute(
                    &mut admin,
                    format!(
                        "ALTER DATABASE \"{}\" RENAME TO \"{template}\"",
                        building.name
                    )
                    .as_str(),
                )
                .await;
                match renamed {
                    // Ours now: not dropped with the guard.
                    Ok(_) => std::mem::forget(building),
                    // Another run made it first (42P04: it exists); ours is dropped.
                    Err(e) => assert!(
                        e.as_database_error()
                            .is_some_and(|d| d.code().as_deref() == Some("42P04")),
                        "rename the template database: {e}"
                    ),
                }
            }
            let _ = admin.close().await;
            template
        })
        .await
        .clone()
}

impl TestDatabase {
    async fn admin(&self, sql: &str) {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::Executor::execute(&mut admin, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = admin.close().await;
    }

    /// The database goes away for its clients: new connections are refused and the
    /// open ones are terminated, as in a restart or a failover.
    pub async fn outage_start(&self) {
        self.admin(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS false",
            self.name
        ))
        .await;
        self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        ))
        .await;
    }

    pub async fn outage_end(&self) {
        self.admin(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            self.name
        ))
        .await;
    }
}

impl Drop for TestDatabase {
    /// Runs on its own thread and runtime: `Drop` cannot await, and the test's runtime
    /// may be single-threaded or shutting down. Never panics (it may run during one).
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    use sqlx::Connection;
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    sqlx::Executor::execute(&mut admin, drop.as_str()).await?;
                    admin.close().await?;
                    Ok::<_, sqlx::Error>(())
                })
                .map_err(std::io::Error::other)
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: the dropping thread panicked",
                self.name
            ),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Follows the account page's sign-in when `response` (to a GET of one of the
/// account's pages) sends the browser there: through `/authorize` for the built-in
/// account app, which answers at once for a browser with a live session, to the
/// callback that binds the page, and on to the page it returns to; that page's
/// response. A response that is not such a redirect, or a browser that must enter its
/// password first, is given back as it is.
pub async fn through_account_sign_in(
    browser: &Browser,
    response: reqwest::Response,
) -> reqwest::Response {
    let Some(authorize) = location(&response) else {
        return response;
    };
    if !authorize.contains("/oauth2/v1/authorize?")
        || param(&authorize, "client_id").as_deref() != Some("gatehouse-account")
    {
        return response;
    }
    let answer = browser.get(&authorize).await;
    let Some(callback) = location(&answer).filter(|l| l.contains("/account/callback?")) else {
        return response;
    };
    let bound = browser.get(&callback).await;
    let page = location(&bound).expect("the callback sends the browser on");
    browser.get(&page).await
}
