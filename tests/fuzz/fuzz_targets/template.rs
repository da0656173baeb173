//! The template engines: Go `text/template` (with sprig/gomplate functions) and the manifest
//! renderer. Nothing may panic. The body lives in `tests/fuzz/bodies.rs`, shared with the CI
//! smoke test.
#![no_main]

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::template(data));
