//! Owns the verbs: one module per command. Each takes parsed args, builds its settings, calls the
//! session/config/stack/sops layers and renders through the [`Printer`]. Nothing here defines
//! backend or format logic, and no command module imports another: what several verbs share
//! (sessions, targets, pickers, suggestions, the backend resolver) lives in [`crate::session`].

pub mod completion;
pub mod describe;
pub mod passthrough;
pub mod secret;
pub mod sops;
pub mod validate;

use std::ffi::OsString;

use crate::cli::{Cli, Command, DescribeCommand, ValidateCommand};
use crate::error::Result;
use crate::printer::Printer;

/// The unknown command name when `cli` is one this binary hands to the Go atmos (checked before
/// any global flag such as `--chdir` takes effect, since the Go atmos applies them itself).
pub fn foreign(cli: &Cli) -> Option<&OsString> {
    match &cli.command {
        Command::External(words)
        | Command::Describe(DescribeCommand::External(words))
        | Command::Validate(ValidateCommand::External(words)) => words.first(),
        _ => None,
    }
}

/// Runs the parsed command; returns the process exit code. `raw` is argv without the program
/// name, handed unchanged to the Go atmos for commands this binary does not implement. Every
/// command of ours but `version` may hold secret values, so core dumps are switched off first.
pub fn dispatch(cli: Cli, raw: &[OsString], printer: &mut Printer) -> Result<u8> {
    if let Some(name) = foreign(&cli) {
        return passthrough::run(name, raw);
    }
    let global = cli.global;
    if !matches!(cli.command, Command::Version)
        && let Err(e) = crate::hardening::disable_core_dumps()
    {
        printer.warn(&format!("core dumps stay enabled: {e}"));
    }
    match cli.command {
        Command::Version => {
            printer.stdout(&format!("atmos {}\n", env!("CARGO_PKG_VERSION")));
            if let Some((path, line)) = crate::goatmos::version() {
                printer.stdout(&format!("go atmos ({}): {line}\n", path.display()));
            }
            Ok(0)
        }
        Command::Completion(args) => completion::completion(&args, printer),
        Command::Man => completion::man(printer),
        // `foreign` above takes every non-empty one; clap never yields an empty one.
        Command::External(_) => Err(crate::error::Error::usage("a command name is required")),
        Command::Sops(cmd) => sops::run(cmd, printer),
        Command::Describe(cmd) => describe::run(cmd, &global, printer),
        Command::Validate(cmd) => validate::run(cmd, &global, printer),
        Command::Secret(cmd) => secret::run(cmd, &global, printer),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src/commands") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The shape of this layer: a command module reaches neither a sibling nor its parent
    /// (`super::`, `crate::commands::`), and none names the store registry (that is the
    /// session's job). Unit tests inside a module may `use super::…` of their own module.
    #[test]
    fn command_modules_import_no_other_command_module() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 5, "found {files:?}");
        let mut offences = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("//") {
                    continue;
                }
                for needle in ["super::", "crate::commands", "store::registry"] {
                    if line.contains(needle) {
                        offences.push(format!("{}:{}: {line}", file.display(), n + 1));
                    }
                }
            }
        }
        assert!(offences.is_empty(), "{}", offences.join("\n"));
    }
}
