//! Commands this binary does not implement (`terraform`, `workflow`, `describe affected`, …):
//! handed to the Go atmos with the original argv through [`crate::goatmos`]. When no Go atmos is
//! found, a name within two edits of one of our own commands gets a "did you mean" hint.

use std::ffi::OsString;

use clap::CommandFactory;

use crate::error::Result;

/// Upstream global flags that take a separate value and that this binary does not define.
const UPSTREAM_VALUE_FLAGS: &[&str] = &[
    "--profiler-port",
    "--profiler-host",
    "--profile-file",
    "--profile-type",
    "--heatmap-mode",
];

/// After a parse error: the command word of `args` (argv with the program name) when it is not
/// one of ours, so that upstream global flags this binary does not know (`--pager`,
/// `--force-tty`, `--heatmap`, …) before a Go-atmos command do not stop it from being handed
/// over. Flags of ours that take a value, and the upstream ones listed in this module,
/// have their separate value skipped; any other unknown flag is taken as a switch.
pub fn foreign_word(args: &[OsString]) -> Option<OsString> {
    let cli = crate::cli::Cli::command();
    let takes_value = |flag: &str| {
        if UPSTREAM_VALUE_FLAGS.contains(&flag) {
            return true;
        }
        cli.get_arguments().any(|a| {
            let named = match flag.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
            };
            named
                && a.get_action().takes_values()
                && a.get_num_args().is_none_or(|n| n.min_values() > 0)
        })
    };
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        if text == "--" {
            return None;
        }
        if text.starts_with('-') {
            if !text.contains('=') && takes_value(&text) {
                words.next();
            }
            continue;
        }
        let ours = cli
            .get_subcommands()
            .any(|c| c.get_name() == text || c.get_all_aliases().any(|a| a == text))
            || text == "help";
        return (!ours).then(|| word.clone());
    }
    None
}

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
