//! `atmos secret …`: the declared-secrets command family.
//!
//! This module only turns the clap args into [`session::Settings`], applies the masking
//! settings, prints the experimental notice and dispatches; each verb lives in its own module
//! and orchestrates over a [`Project`] and its [`Session`](crate::session::Session)s. Verbs
//! import neither each other nor this module: what they share lives in [`crate::session`].

mod dotfiles;
mod exec;
mod get;
mod init;
mod keygen;
mod list;
mod modify;
mod validate;

use crate::cli::{GlobalArgs, SecretCommand, SecretSubcommand};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::session::{self, Project};

/// Runs `atmos secret <verb>`.
pub fn run(cmd: SecretCommand, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    let settings = session::Settings {
        stack: cmd.scope.stack,
        component: cmd.scope.component,
        component_type: cmd.scope.component_type,
        identity: cmd.scope.identity,
        interactive: crate::prompt::interactive(global.interactive),
    };
    let load_options = crate::config::load::LoadOptions {
        config_files: global.config_files.clone(),
        config_dirs: global.config_dirs.clone(),
        base_path: global.base_path.clone(),
        profiles: global.profile.clone(),
    };
    let project = Project::new(settings, move || {
        let cfg = crate::config::load::load(&load_options)?;
        Ok(cfg)
    });
    // Masking settings live in atmos.yaml; a config that does not load is reported by the verb.
    if let Ok(cfg) = project.config() {
        printer.apply_config(&cfg.settings);
    }
    experimental_notice(&project, printer)?;
    let code = match cmd.command {
        SecretSubcommand::Set(a) => modify::set(&project, a, printer),
        SecretSubcommand::Get(a) => get::get(&project, a, printer),
        SecretSubcommand::Delete(a) => modify::delete(&project, a, printer),
        SecretSubcommand::List(a) => list::list(&project, a, printer),
        SecretSubcommand::Validate(a) => validate::validate(&project, a, printer),
        SecretSubcommand::Import(a) => dotfiles::import(&project, a, printer),
        SecretSubcommand::Exec(a) => exec::exec(&project, a, printer),
        SecretSubcommand::Shell(a) => exec::shell(&project, a, printer),
        SecretSubcommand::Keygen(a) => keygen::keygen(&project, a, printer),
        SecretSubcommand::Init(a) => init::init(&project, a, printer),
        SecretSubcommand::Pull(a) => dotfiles::pull(&project, a, printer),
        SecretSubcommand::Push(a) => dotfiles::push(&project, a, printer),
    };
    project.finish();
    code
}

/// `settings.experimental` / `ATMOS_EXPERIMENTAL`: `warn` (default), `silence`, `disable`, `error`.
fn experimental_notice(project: &Project, printer: &Printer) -> Result<()> {
    let from_settings = || {
        project.loaded_config().and_then(|cfg| {
            cfg.settings
                .get("experimental")
                .and_then(crate::yaml::Node::as_str)
                .map(str::to_owned)
        })
    };
    let mode = crate::env::var(crate::env::ATMOS_EXPERIMENTAL)
        .or_else(from_settings)
        .unwrap_or_else(|| "warn".into());
    let notice = "`atmos secret` is experimental";
    match mode.as_str() {
        "warn" => {
            printer.info(notice);
            Ok(())
        }
        "disable" => Err(
            Error::new("experimental command is disabled: `atmos secret`")
                .with_hint("set `ATMOS_EXPERIMENTAL=warn` or `silence` to allow it"),
        ),
        "error" => {
            printer.info(notice);
            Err(Error::new("experimental command refused: `atmos secret`")
                .with_hint("set `ATMOS_EXPERIMENTAL=warn` or `silence` to allow it"))
        }
        _ => Ok(()),
    }
}
