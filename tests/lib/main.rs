//! Library-level tests: the SOPS codec against the vectors made by the real sops 3.11
//! (`tests/vectors/sops`), property tests of the codec and the stack parsers, the fuzz smoke runs,
//! the stack loader, and the layer rule of docs/architecture.md. One of the three integration-test binaries (with `tests/cli` and
//! `tests/conformance`); the shared harness is `tests/support`.

#[path = "../support/mod.rs"]
mod support;

/// The fuzz-target bodies, shared with `tests/fuzz` (see `fuzz_smoke`).
#[path = "../fuzz/bodies.rs"]
mod bodies;

mod fuzz_regressions;
mod fuzz_smoke;
mod layers;
mod sops_roundtrip;
mod sops_vectors;
mod stack_loading;
mod stack_no_panic;
