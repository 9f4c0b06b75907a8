//! The one integration test binary (STYLE.md habit 14): every module boots the real
//! server on a loopback port with a fresh SQLite file, and drives it over HTTP.

mod support;

mod authorize_errors;
mod cli;
mod code_flow;
mod discovery;
mod logout;
mod multi;
mod outage;
mod policies;
mod refresh;
mod sign_in;
mod store;
mod token_errors;
mod userinfo;
