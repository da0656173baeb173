//! End-to-end tests: the built `atmos` binary on temp projects with an isolated environment
//! (temp HOME/XDG, nothing inherited but `PATH`), checking exit codes, stdout and stderr; the
//! local servers and wire fakes some backends need are started by the tests. One of the three
//! integration-test binaries (with `tests/lib` and `tests/conformance`); the shared harness is
//! `tests/support`.

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "artifactory")]
mod artifactory;
#[cfg(feature = "aws")]
mod aws;
mod budgets;
mod ci;
#[cfg(all(feature = "gcp", feature = "azure", feature = "onepassword"))]
mod cloud;
mod config_bad_input;
mod config_discovery;
mod describe_fixtures;
mod exec;
mod files;
mod github_actions;
mod help_snapshots;
mod hygiene;
mod keychain;
mod leak;
mod listing;
mod localsrv;
mod no_panic;
mod operators;
mod passthrough;
#[cfg(feature = "redis")]
mod redis;
mod setget;
mod shell;
mod sops_cli;
mod sops_crash_safety;
mod sops_interop;
mod sops_keys;
mod stack_index;
mod templates;
mod upstream;
mod upstream_fixtures;
#[cfg(feature = "vault")]
mod vault;
