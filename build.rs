//! Build script: links the `atmos` executable position-dependent (`-no-pie`) on Linux with glibc.
//!
//! Why: a position-independent executable is relocated by the dynamic loader at every start.
//! This binary carries ~71,000 relative relocations over ~1.2 MB of `.data.rel.ro`/`.got`, and
//! applying them copies ~300 pages per process: about 1 ms of a 4 ms `atmos sops decrypt`
//! (docs/performance.md, "Start-up"). Linked at a fixed address, those pages stay shared and
//! clean. The code itself is still compiled position-independent (Rust's default), only the
//! final link changes; shared libraries, heap, stack and mmap regions stay randomized. The Go
//! tools this replaces (sops, atmos) ship position-dependent executables by default as well.
//!
//! `ATMOS_BUILD_PIE=1` at build time keeps the default PIE link (for distributions whose
//! hardening policy requires it). See docs/decisions.md.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=ATMOS_BUILD_PIE");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let keep_pie = std::env::var_os("ATMOS_BUILD_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    // A static glibc build links `-static-pie`; leave it (and sanitizer builds, which need PIE)
    // as the toolchain makes them.
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    let sanitizer = std::env::var("CARGO_CFG_SANITIZE").is_ok_and(|s| !s.is_empty());
    if target_os == "linux" && target_env == "gnu" && !keep_pie && !static_crt && !sanitizer {
        println!("cargo::rustc-link-arg-bin=atmos=-no-pie");
    }
}
