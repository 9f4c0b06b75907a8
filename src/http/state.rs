//! What every request handler shares: the protocol's `flows::Services`, and the caches
//! only HTTP needs (the published documents). Derefs to `Services`, so a handler
//! passes `&state` to a flow as it is.

use std::ops::Deref;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::flows::{Backend, Services};
use crate::http::published::Published;

pub struct AppState {
    pub services: Services,
    /// Discovery and JWKS documents, each for at most a second (see `http::published`).
    pub published: Published,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(backend: Backend, config: ServerConfig, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(AppState {
            services: Services::new(backend, config, clock),
            published: Published::default(),
        })
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
