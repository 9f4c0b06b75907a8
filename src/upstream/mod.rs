//! The relying-party side toward an upstream identity provider ("Sign in with …"):
//! OpenID Connect (Core 1.0, Discovery 1.0, RP-Initiated Logout 1.0) or plain OAuth 2.0
//! with a userinfo endpoint (GitHub style), with PKCE (RFC 7636) and RFC 9207's `iss`.
//!
//! It knows nothing of the store or of HTTP handlers: the caller fills a
//! `ProviderConfig` from the stored provider and gets typed results or an
//! `UpstreamError`. Every fetch goes through the one guarded client (`outbound`).
//!
//! - `begin` builds the authorization request and the `Transaction` to keep;
//! - `Upstream::finish` checks the browser's return against it and returns the
//!   verified `UpstreamIdentity` (the upstream's access and refresh tokens stay inside
//!   it; only the raw ID token comes out, as a logout hint);
//! - `discover` reads a provider's discovery document (issuer checked exactly);
//! - `end_session_url` ends the person's session at the provider;
//! - `mapping` turns the identity's claims into a profile (`idpuser.email`,
//!   `String.substringBefore(idpuser.email, "@")` …).

pub mod authorize;
pub mod callback;
pub mod config;
pub mod discovery;
pub mod error;
pub mod mapping;

pub use authorize::{Begin, Hints, TRANSACTION_TTL, Transaction, begin, end_session_url};
pub use callback::{Callback, Upstream, UpstreamIdentity};
pub use config::{Kind, ProviderConfig, TokenAuth};
pub use discovery::{Metadata, discover};
pub use error::{Endpoint, Fault, IdTokenProblem, UpstreamError};
