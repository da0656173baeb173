//! End-to-end tests of `atmos secret …`: the built binary on copies of the fixture projects, with
//! an isolated environment (temp HOME/XDG, no inherited ATMOS_/SOPS_ variables, CI=true so no
//! prompt can appear), checking exit codes, stdout and stderr.

mod artifactory;
mod aws;
mod cloud;
mod common;
mod exec;
mod files;
mod keychain;
mod leak;
mod listing;
mod localsrv;
mod redis;
mod setget;
mod vault;
