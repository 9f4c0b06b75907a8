//! The protocol, free of I/O and of HTTP types: parameters, newtypes, checks and
//! decisions. Callers look things up in the store and pass them (and `now`) in.

pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod consent;
pub mod dpop;
pub mod error;
pub mod grants;
pub mod idp_discovery;
pub mod logout;
pub mod par;
pub mod params;
pub mod pkce;
pub mod policy;
pub mod reply;
pub mod request_object;
pub mod scope;
pub mod sign_on;

pub use error::{ErrorCode, OAuthError};
