//! One module per grant type, so a grant reads whole in one place.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
