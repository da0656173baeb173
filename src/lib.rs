//! `atmos` secrets: the library behind the `atmos` binary.
//!
//! Layout (dependencies point down this list):
//! - [`cli`]: clap types only.
//! - [`commands`]: one module per verb, orchestration only; turns args into settings, calls the
//!   layers below, renders through [`printer`]. No command module imports another.
//! - [`session`]: project, sessions and targets — declaration → store + coordinate, resolved
//!   once — and the only user of the store registry outside [`store`]; [`runtime`] bridges to
//!   the async stores.
//! - [`config`] (`atmos.yaml`), [`stack`] (manifests, imports, merge, YAML functions),
//!   [`secrets`] (declarations, scopes, coordinates), [`auth`] (identities), [`store`] (the
//!   store trait, key composition, the registry and the backends), [`sops`] (the pure SOPS
//!   codec).
//! - Primitives: [`template`] (the renderer, its one context type, the Go `text/template`
//!   engine), [`yaml`], [`secret_value`], [`env`](mod@env),
//!   [`error`], [`printer`] (the only writer of stdout/stderr, and masking), [`prompt`],
//!   [`dotenv`], [`child`], [`fsx`].

// Only the printer writes to stdout/stderr (it masks); `print!`-style macros elsewhere would
// bypass masking.
#![warn(clippy::print_stdout, clippy::print_stderr)]
// Every public item says what it is; CI denies warnings.
#![warn(missing_docs)]

pub mod auth;
pub mod child;
#[allow(
    missing_docs,
    reason = "clap: a field's doc comment is its --help text; the undocumented fields are \
              flatten/subcommand plumbing"
)]
pub mod cli;
pub mod commands;
pub mod config;
pub mod dotenv;
pub mod env;
pub mod error;
pub mod fsx;
pub mod printer;
pub mod prompt;
pub mod runtime;
pub mod secret_value;
pub mod secrets;
pub mod session;
pub mod sops;
pub mod stack;
pub mod store;
pub mod template;
pub mod yaml;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Parses `args`, runs the command and renders any error. Never panics on user input.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // One TLS crypto provider for every client (AWS SDK and others): aws-lc-rs. Installing it
    // explicitly keeps rustls from panicking if a dependency ever enables a second one; an
    // error only means a provider is already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let code = err.exit_code();
            let _ = err.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(error::code::USAGE));
        }
    };
    let mut printer = printer::Printer::from_settings(&printer::Settings {
        mask: cli.global.mask,
    });
    let result = commands::dispatch(cli, &mut printer);
    printer.flush_warnings();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
