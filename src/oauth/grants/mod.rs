//! One module per grant type (STYLE.md habit 1).

pub mod authorization_code;
