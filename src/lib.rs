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
//!   [`error`], [`printer`] (the only writer of stdout/stderr, and masking), [`ci`] (workflow
//!   commands, step summary, JUnit), [`goatmos`] (finding and exec'ing the Go atmos),
//!   [`prompt`], [`dotenv`], [`child`], [`fsx`], [`hardening`] (no core dumps, the redacting
//!   panic hook).

// Only the printer writes to stdout/stderr (it masks); `print!`-style macros elsewhere would
// bypass masking.
#![warn(clippy::print_stdout, clippy::print_stderr)]
// Every public item says what it is; CI denies warnings.
#![warn(missing_docs)]

pub mod auth;
pub mod child;
pub mod ci;
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
pub mod goatmos;
pub mod hardening;
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

/// [`cli::Cli::try_parse_from`], minus freeing the command tree: it is built for one parse
/// (hundreds of arguments over every subcommand), and dropping it again is ~10 % of a small
/// command's start-up. The process is about to run one command and exit; the tree is left to
/// the exit.
fn parse_args(args: &[OsString]) -> Result<cli::Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = cli::Cli::command();
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|mut matches| {
            // Formatted against a fresh tree, as try_parse_from does.
            cli::Cli::from_arg_matches_mut(&mut matches)
                .map_err(|e| e.format(&mut cli::Cli::command()))
        });
    std::mem::forget(command);
    parsed
}

/// Parses `args`, runs the command and renders any error. Never panics on user input.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // A shell asking for completions (`_ATMOS_COMPLETE=bash atmos -- …`) gets them and nothing else.
    if commands::completion::complete(&args) {
        return ExitCode::SUCCESS;
    }
    // One TLS crypto provider for every client (AWS SDK and others): aws-lc-rs. Installing it
    // explicitly keeps rustls from panicking if a dependency ever enables a second one; an
    // error only means a provider is already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut cli = match parse_args(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // An upstream flag we do not know before a command for the Go atmos is not ours to
            // refuse: hand the argv over unchanged.
            if err.kind() == clap::error::ErrorKind::UnknownArgument
                && let Some(word) = commands::passthrough::foreign_word(&args)
            {
                let printer = printer::Printer::new(true);
                return match commands::passthrough::run(&word, args.get(1..).unwrap_or_default()) {
                    Ok(code) => ExitCode::from(code),
                    Err(e) => {
                        printer.error(&e);
                        ExitCode::from(e.exit_code())
                    }
                };
            }
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let code = err.exit_code();
            let _ = err.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(error::code::USAGE));
        }
    };
    let raw = args.get(1..).unwrap_or_default();
    // Commands for the Go atmos leave with their argv untouched: it applies `-C`,
    // `--redirect-stderr` and the rest itself.
    let globals = if commands::foreign(&cli).is_some() {
        Ok(None)
    } else {
        apply_globals(&mut cli.global)
    };
    let ci_sink = globals.as_ref().ok().cloned().flatten();
    let mut printer = printer::Printer::from_settings(&printer::Settings {
        mask: cli.global.mask,
        ci: ci::enabled(cli.global.ci),
        level: match cli.global.logs_level {
            Some(cli::LogsLevel::Off) => printer::Level::Off,
            Some(cli::LogsLevel::Warning) => printer::Level::Warning,
            Some(cli::LogsLevel::Debug | cli::LogsLevel::Trace) => printer::Level::Debug,
            _ => printer::Level::Info,
        },
        logs_file: cli.global.logs_file.clone(),
        plain: cli.global.no_color || env::var("NO_COLOR").is_some() || env::flag("ATMOS_NO_COLOR"),
        ci_sink,
    });
    let result = globals.and_then(|_| commands::dispatch(cli, raw, &mut printer));
    printer.flush_warnings();
    match result {
        Ok(code) => {
            if code == 0 {
                stack::save_index();
            }
            ExitCode::from(code)
        }
        Err(err) => {
            printer.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Applies the process-wide global flags before a command runs: `--redirect-stderr` (this
/// process and its children) and `-C/--chdir`. Returns the original stderr when it was
/// redirected: CI workflow commands (`::add-mask::` carries values) must reach the runner, not
/// the redirect file.
fn apply_globals(
    global: &mut cli::GlobalArgs,
) -> error::Result<Option<std::sync::Arc<std::fs::File>>> {
    let mut original = None;
    if let Some(path) = &global.redirect_stderr {
        original = redirect_stderr(path)?.map(std::sync::Arc::new);
    }
    if let Some(dir) = &global.chdir {
        std::env::set_current_dir(dir).map_err(|e| {
            error::Error::new(format!("cannot change to `{}`: {e}", dir.display()))
                .with_hint("`-C/--chdir` takes an existing directory")
        })?;
    }
    Ok(original)
}

#[cfg(unix)]
fn redirect_stderr(path: &std::path::Path) -> error::Result<Option<std::fs::File>> {
    use std::os::fd::AsFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            error::Error::new(format!(
                "cannot open `{}` for `--redirect-stderr`: {e}",
                path.display()
            ))
        })?;
    let original = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from);
    nix::unistd::dup2_stderr(&file).map_err(|e| {
        error::Error::new(format!(
            "cannot redirect stderr to `{}`: {e}",
            path.display()
        ))
    })?;
    Ok(original)
}

#[cfg(not(unix))]
fn redirect_stderr(path: &std::path::Path) -> error::Result<Option<std::fs::File>> {
    Err(error::Error::new(format!(
        "`--redirect-stderr {}` is only supported on Unix",
        path.display()
    )))
}
