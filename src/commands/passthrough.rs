//! Commands this binary does not implement (`terraform`, `workflow`, `describe affected`, …):
//! handed to the Go atmos with the original argv through [`crate::goatmos`]. When no Go atmos is
//! found, a name within two edits of one of our own commands gets a "did you mean" hint.

use std::ffi::OsString;

use crate::error::Result;

/// Our own top-level commands, for typo hints.
const OWN: &[&str] = &["secret", "describe", "sops", "version", "completion", "man"];

/// Hands `raw` (argv without the program name) to the Go atmos; `command` is the unknown name.
pub fn run(command: &OsString, raw: &[OsString]) -> Result<u8> {
    let name = command.to_string_lossy();
    let suggestion = OWN
        .iter()
        .map(|own| (crate::stack::edit_distance(&name, own), *own))
        .filter(|(d, own)| *d > 0 && *d <= 2 && own.len() > 2)
        .min()
        .map(|(_, own)| own);
    crate::goatmos::pass_through(command, raw, suggestion)
}
