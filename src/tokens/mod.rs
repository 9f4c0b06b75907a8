//! JWTs and JWKS: signing keys (generated, sealed, cached), signing and verifying
//! compact JWS, and the claims of ID and access tokens.

pub mod claims;
pub mod custom_claims;
pub mod jose;
pub mod jwt;
pub mod keys;
pub mod logout_token;
pub mod remote_jwks;

pub use keys::{KeyCache, Keyring};
