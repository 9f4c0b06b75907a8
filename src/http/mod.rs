//! HTTP: extract a typed request, call the protocol, render the outcome. One module
//! per endpoint under `endpoints/`.

pub mod api;
pub mod client_ip;
pub mod cookies;
pub mod cors;
pub mod endpoints;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod pages;
pub mod published;
pub mod state;

pub use state::{AppState, SharedState};
