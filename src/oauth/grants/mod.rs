//! One module per grant type (STYLE.md habit 1).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
