//! What the flows' unit tests share: a real SQLite store in a temporary directory with
//! the built-in servers, `Services` over it, and a fixed `now` passed to every flow.

use std::sync::Arc;

use url::Url;

use super::{Backend, Services};
use crate::admin::syslog::Actor;
use crate::admin::{apps, servers, users};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{ClientAuthConfig, ServerConfig, StoreConfig};
use crate::crypto::{MasterKey, sha256};
use crate::store::{self, AuthCode, AuthServer, Client, DEFAULT_SERVER_ID, User};

pub struct Fixture {
    pub services: Services,
    pub server: AuthServer,
    /// The one time every flow in a test is called at, unless it moves on purpose.
    pub now: UnixTime,
    _dir: tempfile::TempDir,
}

pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let now = SystemClock.now();
    let store = store::open(&StoreConfig::new(dir.path().to_path_buf(), None))
        .await
        .expect("open SQLite");
    for server in servers::builtin_servers(now) {
        store.insert_server_if_absent(&server).await.unwrap();
        store
            .seed_server(&server.id, &servers::seed(&server.id, now))
            .await
            .unwrap();
    }
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: Url::parse("https://gatehouse.test").unwrap(),
        session_lifetime_seconds: 7200,
        password_hash_workers: 1,
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
    let backend = Backend {
        store: store.clone(),
        master: MasterKey::from_bytes(&[7; 32]),
    };
    let services = Services::new(backend, config, Arc::new(SystemClock));
    let server = store.get_server(DEFAULT_SERVER_ID).await.unwrap().unwrap();
    Fixture {
        services,
        server,
        now,
        _dir: dir,
    }
}

pub const REDIRECT_URI: &str = "https://app.test/callback";

impl Fixture {
    /// A confidential app (`client_secret_post`) with these grants, and its secret.
    pub async fn app(&self, grant_types: &[&str]) -> (Client, String) {
        let new = apps::NewApp {
            name: "Test app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            auth_method: Some("client_secret_post".into()),
            grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        let created = apps::create(
            &self.services.store,
            &self.services.master,
            &Actor::cli(),
            new,
            self.now,
        )
        .await
        .expect("create the app");
        (created.client, created.secret.expect("a secret"))
    }

    /// A custom scope on the test server. The server's row is read again, as a request
    /// would: the scope raised its `settings_version`.
    pub async fn scope(&mut self, name: &str) {
        let new = servers::NewScope {
            name: name.into(),
            description: name.into(),
            consent_required: false,
            is_default: false,
        };
        servers::create_scope(
            &self.services.store,
            &Actor::cli(),
            &self.server.id,
            new,
            self.now,
        )
        .await
        .expect("create the scope");
        self.server = self
            .services
            .store
            .get_server(&self.server.id)
            .await
            .unwrap()
            .unwrap();
    }

    /// An active user.
    pub async fn user(&self, login: &str) -> User {
        let new = users::NewUser {
            login: login.into(),
            password: Some("a long test password".into()),
            ..Default::default()
        };
        users::create(
            &self.services.store,
            &self.services.passwords,
            &Actor::cli(),
            new,
            self.now,
        )
        .await
        .expect("create the user")
    }

    /// An authorization code for `user` and `client` with `scope`, as /authorize
    /// would have stored it; returns the code's value.
    pub async fn code(&self, client: &Client, user: &User, scope: &str) -> String {
        let value = crate::crypto::random_token();
        let row = AuthCode {
            code_hash: sha256(value.as_bytes()),
            server_id: self.server.id.clone(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            redirect_uri: REDIRECT_URI.into(),
            scope: scope.into(),
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            auth_time: self.now,
            created_at: self.now,
            expires_at: self.now + 300,
            access_jti: None,
            access_expires_at: None,
            family_id: None,
            dpop_jkt: None,
            amr: None,
            sid: None,
            acr: None,
        };
        self.services.store.insert_code(&row).await.unwrap();
        value
    }
}
