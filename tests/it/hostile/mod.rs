//! Hostile input, black-box through HTTP: one module per endpoint. What an attacker
//! sends (forged tokens, redirect URI tricks, markup, oversized and repeated
//! parameters, cross-site forms) and what must come back: the RFC's error, an error
//! page that never redirects, nothing reflected as markup, nothing fetched.

mod api;
mod authorize;
mod forged;
mod introspect;
mod logout;
mod sign_in;
mod token;
mod userinfo;
