//! `atmos sops decrypt|encrypt|set|unset|rotate|updatekeys`: the SOPS codec for people who have
//! no `sops` binary.

use crate::cli::SopsCommand;
use crate::error::{Error, Result};
use crate::printer::Printer;

/// Runs one `atmos sops` subcommand.
pub fn run(cmd: SopsCommand, _printer: &mut Printer) -> Result<u8> {
    let _ = cmd;
    Err(Error::new(
        "`atmos sops` is not available in this build yet",
    ))
}
