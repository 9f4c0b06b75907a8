//! The one integration test binary (each extra binary costs link time): every module boots the real
//! server on a loopback port with a fresh SQLite file, and drives it over HTTP.

mod support;

mod api_apps;
mod api_errors;
mod api_groups;
mod api_logs;
mod api_servers;
mod api_users;
mod assignments;
mod authorize_errors;
mod browser;
mod cli;
mod cli_everyday;
mod client_credentials;
mod client_jwt;
mod code_flow;
mod consent;
mod cors;
mod discovery;
mod dpop;
mod headers;
mod hostile;
mod introspection;
mod keys;
mod logging;
mod logout;
mod multi;
mod okta_sdk;
mod ops;
mod outage;
mod pages;
mod pages_browser;
mod par;
mod policies;
mod properties;
mod proxy;
mod refresh;
mod revocation;
mod sign_in;
mod signer;
mod signing_alg;
mod store;
mod throttle;
mod token_errors;
mod userinfo;
