//! Projects for the end-to-end tests of the network backends: one `dev` stack whose `api`
//! component declares instance, stack and global secrets in a given store, plus the local
//! servers (shared with the conformance tests by path).

#![allow(dead_code, reason = "each backend's tests use the parts they need")]

#[path = "../conformance/services.rs"]
pub mod services;

#[path = "../conformance/localsrv.rs"]
pub mod servers;

#[path = "../conformance/fakes.rs"]
pub mod fakes;

#[path = "../conformance/session_bus.rs"]
pub mod session_bus;

#[path = "../conformance/fault_proxy.rs"]
pub mod fault_proxy;

use crate::support::TestContext;

/// A project whose `atmos.yaml` has `stores_yaml` (the indented body of `stores:`) and whose
/// `dev` stack is `stack_yaml`.
pub fn project(stores_yaml: &str, stack_yaml: &str) -> TestContext {
    let p = TestContext::fixture("quickstart");
    std::fs::remove_dir_all(p.join("stacks")).unwrap();
    std::fs::create_dir_all(p.join("stacks/deploy")).unwrap();
    std::fs::write(
        p.join("atmos.yaml"),
        format!(
            "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"deploy/**/*\"]\n  name_pattern: \"{{stage}}\"\nstores:\n{stores_yaml}"
        ),
    )
    .unwrap();
    std::fs::write(p.join("stacks/deploy/dev.yaml"), stack_yaml).unwrap();
    p
}

/// The `dev` stack declaring `DB_PASSWORD` (instance, required), `STACK_TOKEN` (stack) and
/// `LICENSE_KEY` (global) in `store`.
pub fn secret_stack(store: &str) -> String {
    format!(
        "vars:\n  stage: dev\nsecrets:\n  vars:\n    STACK_TOKEN: {{ store: {store} }}\ncomponents:\n  terraform:\n    api:\n      vars:\n        db_password: !secret DB_PASSWORD\n      secrets:\n        vars:\n          DB_PASSWORD: {{ store: {store}, required: true }}\n          LICENSE_KEY: {{ store: {store}, scope: global }}\n"
    )
}

/// The `dev` stack whose `api` component reads plain values from `store`: `endpoint` (instance
/// key `ENDPOINT` of `api`), `port` (a query into the structured instance key `CONFIG`) and
/// `shared` (`!store.get` of the prefix-level key `SHARED`).
pub fn store_fn_stack(store: &str) -> String {
    format!(
        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      vars:\n        endpoint: !store {store} api ENDPOINT\n        port: !store {store} api CONFIG | query .port\n        shared: !store.get {store} SHARED\n"
    )
}
