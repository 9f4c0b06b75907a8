//! The protocol's service layer: one module per endpoint use-case. Each takes a typed
//! request and the request's `now` (read once, at the HTTP edge) and returns a typed
//! outcome or an `OAuthError`; none imports `http`, `app` or axum, so each can be
//! tested with a real store and a fixed clock, without a server. `http` extracts,
//! calls one of these and renders; `app` only wires the router.

pub mod access_token;
pub mod account;
pub mod activate;
pub mod api_caller;
pub mod app_logout;
pub mod assurance;
pub mod authn;
pub mod authorize;
pub mod client_auth;
pub mod client_jwt;
pub mod consent;
pub mod device;
pub mod dpop;
pub mod email_factor;
pub mod email_links;
pub mod factors;
pub mod federation;
pub mod introspect;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod okta_scopes;
pub mod par;
pub mod passkeys;
pub mod registration;
pub mod request_object;
pub mod revoke;
pub mod sessions;
pub mod settings;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::crypto::MasterKey;
use crate::identity::password::PasswordPool;
use crate::jobs::Queue;
use crate::mail::{Outbox, Templates};
use crate::metrics::Metrics;
use crate::store::{AuthServer, DynStore};
use crate::tokens::KeyCache;
use crate::tokens::remote_jwks::RemoteJwks;

pub use settings::{ClientCache, Settings, SettingsCache, Subject};

/// The store and the master key: what every command opens.
#[derive(Clone)]
pub struct Backend {
    pub store: DynStore,
    pub master: MasterKey,
}

/// What every use-case shares: the store, the keys, the per-process caches whose
/// validity the store decides (see `SettingsCache`), and the configuration.
pub struct Services {
    pub store: DynStore,
    pub master: MasterKey,
    pub config: ServerConfig,
    /// Read once per request, at the HTTP edge, and passed down as `now`; the janitor
    /// and start-up read it too.
    pub clock: Arc<dyn Clock>,
    pub keys: KeyCache,
    /// Parsed scopes, claims and policies per server (see `SettingsCache`).
    pub settings: SettingsCache,
    /// App rows per server, under the same version stamp (see `ClientCache`).
    pub clients: ClientCache,
    pub passwords: PasswordPool,
    pub metrics: Metrics,
    /// Fetched `jwks_uri` documents of `private_key_jwt` clients.
    pub remote_jwks: RemoteJwks,
    /// The background job queue (e-mail): work a request leaves for later.
    pub jobs: Queue,
    /// E-mail: composes messages and queues them on `jobs`.
    pub mail: Outbox,
    /// The client toward upstream identity providers, with the JWKS it fetched from
    /// them (`flows::federation`).
    pub upstream: crate::upstream::Upstream,
}

impl Services {
    pub fn new(backend: Backend, config: ServerConfig, clock: Arc<dyn Clock>) -> Self {
        let jobs = Queue::new(
            backend.store.clone(),
            backend.master.clone(),
            config.jobs.clone(),
        );
        // `app::run` loads the templates first and refuses to start on a bad one; here
        // a bad override (only possible for a caller that skipped that) falls back to
        // the built-in ones.
        let templates = config
            .smtp
            .as_ref()
            .and_then(|s| s.templates_dir.as_deref());
        let templates = Templates::load(templates).unwrap_or_else(|e| {
            tracing::error!(error = %e, "using the built-in e-mail templates");
            Templates::load(None).expect("the built-in templates load")
        });
        let mail = Outbox::new(jobs.clone(), templates, config.smtp.is_some());
        Services {
            jobs,
            mail,
            keys: KeyCache::new(backend.store.clone(), backend.master.clone()),
            settings: SettingsCache::default(),
            clients: ClientCache::default(),
            passwords: PasswordPool::new(config.password_hash_workers),
            metrics: Metrics::new(),
            remote_jwks: RemoteJwks::new(config.client_auth.allow_private_jwks_uri),
            upstream: crate::upstream::Upstream::new(),
            store: backend.store,
            master: backend.master,
            config,
            clock,
        }
    }

    /// The issuer of an authorization server (OpenID Connect Discovery §3): the public
    /// URL for the org server, `{public_url}/oauth2/{id}` for a custom one.
    pub fn issuer(&self, server: &AuthServer) -> String {
        self.issuer_of(&server.id)
    }

    /// `issuer`, by the server's id.
    pub fn issuer_of(&self, server_id: &str) -> String {
        if server_id == crate::store::ORG_SERVER_ID {
            self.config.base_url()
        } else {
            format!("{}/oauth2/{}", self.config.base_url(), server_id)
        }
    }

    /// Where a server's endpoints live.
    pub fn endpoint_base(&self, server: &AuthServer) -> String {
        if server.is_org() {
            format!("{}/oauth2/v1", self.config.base_url())
        } else {
            format!("{}/oauth2/{}/v1", self.config.base_url(), server.id)
        }
    }

    /// The `aud` of the server's access tokens.
    pub fn audience(&self, server: &AuthServer) -> String {
        server
            .audience
            .clone()
            .unwrap_or_else(|| self.issuer(server))
    }
}

#[cfg(test)]
pub(crate) mod testing;
