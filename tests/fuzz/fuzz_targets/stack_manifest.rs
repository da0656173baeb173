//! The stack manifest loader (imports, `!include`, shape checks, component building, secret declarations). Nothing may panic. The body lives in `tests/fuzz/bodies.rs`, shared with the CI smoke
//! test.
#![no_main]

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(
    init: {
        // Belt and braces next to the body skipping `exec`: no shell can be found.
        // SAFETY: single-threaded at init, before any input runs.
        unsafe { std::env::set_var("PATH", "/nonexistent") };
    },
    |data: &[u8]| bodies::stack_manifest(data)
);
