//! Owns the verbs: one module per command. Each takes parsed args, builds its settings, calls the
//! config/stack/store/sops layers and renders through the [`Printer`]. Nothing here defines
//! backend or format logic.

pub mod describe;
pub mod resolve;
pub mod secret;
pub mod sops;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::printer::Printer;

/// Runs the parsed command; returns the process exit code.
pub fn dispatch(cli: Cli, printer: &mut Printer) -> Result<u8> {
    let global = cli.global;
    match cli.command {
        Command::Version => {
            printer.stdout(&format!("atmos {}\n", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Command::Sops(cmd) => sops::run(cmd, printer),
        Command::Describe(cmd) => describe::run(cmd, &global, printer),
        Command::Secret(cmd) => secret::run(cmd, &global, printer),
    }
}
