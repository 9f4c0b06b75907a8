//! Fuzz target: see `gatehouse_fuzz::jwk`.
#![cfg_attr(not(feature = "stable"), no_main)]

#[cfg(not(feature = "stable"))]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzz::jwk(data));

#[cfg(feature = "stable")]
fn main() {
    gatehouse_fuzz::runner::run(gatehouse_fuzz::jwk);
}
