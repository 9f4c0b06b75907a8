//! Fuzz target: see `gatehouse_fuzz::token_form`.
#![cfg_attr(not(feature = "stable"), no_main)]

#[cfg(not(feature = "stable"))]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzz::token_form(data));

#[cfg(feature = "stable")]
fn main() {
    gatehouse_fuzz::runner::run(gatehouse_fuzz::token_form);
}
