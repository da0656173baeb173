//! Every SOPS store's parser (YAML, JSON, dotenv, INI, binary) and decryption with a known test identity. Nothing may panic. The body lives in `tests/fuzz/bodies.rs`, shared with the CI smoke
//! test.
#![no_main]

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sops_parse(data));
