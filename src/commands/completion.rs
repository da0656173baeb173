//! `atmos completion SHELL` and `atmos man`: shell integration from the clap definition.
//!
//! Completion is dynamic (clap_complete's environment-driven engine): the script printed by
//! `atmos completion bash` calls this binary back with `_ATMOS_COMPLETE=bash`, and [`complete`]
//! answers from [`command`], which adds the project's stack, component, secret and provider names
//! as candidates for `-s`, `-c`, secret names and `keygen VAULT`. Candidates come from the
//! configuration found from the current directory and environment (`ATMOS_BASE_PATH`,
//! `ATMOS_CLI_CONFIG_PATH`); a project that does not load simply offers no names.

use std::ffi::OsString;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cli::{Cli, CompletionArgs, CompletionShell};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::session::{Project, Settings};

/// The variable that turns a run into a completion request.
pub const COMPLETE_VAR: &str = "_ATMOS_COMPLETE";

fn project() -> Project {
    Project::new(Settings::default(), || {
        // Discovery from the current directory and the environment (ATMOS_BASE_PATH,
        // ATMOS_CLI_CONFIG_PATH), as for a command without flags.
        Ok(crate::config::load::load(
            &crate::config::load::LoadOptions::default(),
        )?)
    })
}

fn candidates(names: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

fn stacks() -> Vec<CompletionCandidate> {
    let Ok(cfg) = project().config() else {
        return Vec::new();
    };
    crate::stack::load(&cfg)
        .map(|s| candidates(s.names().map(str::to_owned)))
        .unwrap_or_default()
}

fn components() -> Vec<CompletionCandidate> {
    project()
        .instances()
        .map(|i| candidates(i.into_iter().map(|i| i.name)))
        .unwrap_or_default()
}

fn secrets() -> Vec<CompletionCandidate> {
    let Ok(instances) = project().instances() else {
        return Vec::new();
    };
    candidates(
        instances
            .iter()
            .filter_map(|i| crate::secrets::declare::declarations(&i.section).ok())
            .flatten()
            .map(|d| d.name),
    )
}

fn providers() -> Vec<CompletionCandidate> {
    let p = project();
    let mut names: Vec<String> = p
        .config()
        .map(|c| c.providers.keys().cloned().collect())
        .unwrap_or_default();
    if let Ok(instances) = p.instances() {
        for i in &instances {
            if let Ok(own) = crate::secrets::declare::providers(&i.section) {
                names.extend(own.keys().cloned());
            }
        }
    }
    candidates(names)
}

/// The clap command with the project-aware value candidates attached.
pub fn command() -> clap::Command {
    let stack = |a: clap::Arg| a.add(ArgValueCandidates::new(stacks));
    let component = |a: clap::Arg| a.add(ArgValueCandidates::new(components));
    let secret = |a: clap::Arg| a.add(ArgValueCandidates::new(secrets));
    Cli::command()
        .mut_subcommand("secret", |s| {
            s.mut_arg("stack", stack)
                .mut_arg("component", component)
                .mut_subcommand("get", |c| c.mut_arg("name", secret))
                .mut_subcommand("set", |c| c.mut_arg("name", secret))
                .mut_subcommand("delete", |c| c.mut_arg("name", secret))
                .mut_subcommand("keygen", |c| {
                    c.mut_arg("vault", |a| a.add(ArgValueCandidates::new(providers)))
                })
        })
        .mut_subcommand("describe", |d| {
            d.mut_subcommand("component", |c| {
                c.mut_arg("stack", stack).mut_arg("component", component)
            })
            .mut_subcommand("stacks", |c| c.mut_arg("stack", stack))
        })
}

/// Answers a completion request when `_ATMOS_COMPLETE` is set; returns whether it did.
pub fn complete(args: &[OsString]) -> bool {
    let cwd = std::env::current_dir().ok();
    match clap_complete::CompleteEnv::with_factory(command)
        .var(COMPLETE_VAR)
        .try_complete(args.iter().cloned(), cwd.as_deref())
    {
        Ok(done) => done,
        Err(e) => {
            let _ = e.print();
            true
        }
    }
}

/// `atmos completion SHELL`: the registration script, calling this binary by its path.
pub fn completion(args: &CompletionArgs, printer: &Printer) -> Result<u8> {
    let shell: &dyn EnvCompleter = match args.shell {
        CompletionShell::Bash => &Bash,
        CompletionShell::Zsh => &Zsh,
        CompletionShell::Fish => &Fish,
        CompletionShell::Powershell => &Powershell,
        CompletionShell::Elvish => &Elvish,
    };
    let me = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "atmos".to_owned());
    let mut buf = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "atmos", "atmos", &me, &mut buf)
        .map_err(|e| Error::new(format!("cannot write the completion script: {e}")))?;
    printer.stdout_bytes(&buf);
    Ok(0)
}

/// `atmos man`: the roff man page.
pub fn man(printer: &Printer) -> Result<u8> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::new(format!("cannot render the man page: {e}")))?;
    printer.stdout_bytes(&buf);
    Ok(0)
}
