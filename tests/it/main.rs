//! The one integration test binary (STYLE.md habit 14): every module boots the real
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
mod cli;
mod client_credentials;
mod code_flow;
mod consent;
mod discovery;
mod introspection;
mod keys;
mod logout;
mod multi;
mod okta_sdk;
mod ops;
mod outage;
mod policies;
mod refresh;
mod revocation;
mod sign_in;
mod signing_alg;
mod store;
mod token_errors;
mod userinfo;
