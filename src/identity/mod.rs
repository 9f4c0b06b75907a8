//! Users' credentials and sign-in sessions.

pub mod password;
pub mod session;
pub mod throttle;
