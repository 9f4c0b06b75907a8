//! Gatehouse: an OpenID Connect provider and OAuth 2.0 authorization server with
//! Okta's URL layout. See `docs/architecture.md` for the layers, the request paths and
//! where each kind of change goes; dependencies point down only:
//! `cli` → `app` → `http` → `flows` → `oauth`, `tokens`, `identity`, `admin` → `store`.

pub mod admin;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod factors;
pub mod flows;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod outbound;
pub mod protocol;
pub mod store;
pub mod tokens;
pub mod upstream;
pub mod webauthn;
