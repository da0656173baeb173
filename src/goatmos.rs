//! Owns living beside the Go `atmos`: finding it and handing it a command this binary does not
//! implement (`terraform`, `helmfile`, `workflow`, `list`, …) with the same argv, stdio,
//! environment and exit status.
//!
//! Lookup: `ATMOS_GO_BINARY` when set, else the first `atmos` on `PATH` that is not this binary
//! (same canonical path, or on Unix the same device and inode, counts as this binary). A
//! pass-through bumps `ATMOS_GO_PASSTHROUGH_DEPTH` in the child's environment; a chain deeper
//! than [`MAX_DEPTH`] (a wrapper named `atmos` that calls `atmos` again) is refused instead of
//! looping forever. On Unix the Go binary replaces this process (`exec(2)`); elsewhere it is
//! spawned and waited for.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::error::{Error, code};

/// Names the Go atmos binary explicitly.
pub const ATMOS_GO_BINARY: &str = "ATMOS_GO_BINARY";
/// How many pass-throughs are on the current process chain.
pub const ATMOS_GO_PASSTHROUGH_DEPTH: &str = "ATMOS_GO_PASSTHROUGH_DEPTH";
/// Deeper chains are treated as a loop.
pub const MAX_DEPTH: u32 = 8;

/// What this binary implements itself, for the not-found message.
pub const OWN_COMMANDS: &[&str] = &[
    "secret",
    "describe component",
    "describe stacks",
    "describe config",
    "validate stacks",
    "sops",
    "version",
    "completion",
    "man",
];

/// Whether `a` and `b` are the same file (canonical path, or device and inode on Unix).
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(ca), Ok(cb)) = (a.canonicalize(), b.canonicalize())
        && ca == cb
    {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    false
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

fn this_binary() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

/// The executable name searched on `PATH`.
fn exe_name() -> String {
    format!("atmos{}", std::env::consts::EXE_SUFFIX)
}

/// Finds the Go atmos: `ATMOS_GO_BINARY`, else the first `atmos` on `PATH` that is not this
/// binary. An `ATMOS_GO_BINARY` that names this binary or nothing executable is an error.
pub fn locate() -> Result<Option<PathBuf>, Error> {
    let me = this_binary();
    let is_me = |p: &Path| me.as_deref().is_some_and(|m| same_file(p, m));
    if let Some(explicit) = crate::env::var(ATMOS_GO_BINARY) {
        let path = which_explicit(&explicit, &is_me);
        return match path {
            Some(p) if is_me(&p) => Err(Error::new(format!(
                "`{ATMOS_GO_BINARY}` names this binary (`{}`), not the Go atmos",
                p.display()
            ))
            .with_hint(format!(
                "point `{ATMOS_GO_BINARY}` at the Go atmos, e.g. `/usr/local/bin/atmos-go`"
            ))),
            Some(p) => Ok(Some(p)),
            None => Err(Error::new(format!(
                "`{ATMOS_GO_BINARY}` is set to `{explicit}`, which is not an executable file"
            ))
            .with_hint("install the Go atmos (https://atmos.tools/install) or fix the path")
            .with_code(code::COMMAND_NOT_FOUND)),
        };
    }
    let Some(path) = std::env::var_os(crate::env::PATH) else {
        return Ok(None);
    };
    let name = exe_name();
    Ok(std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&name))
        .find(|candidate| is_executable(candidate) && !is_me(candidate)))
}

/// `ATMOS_GO_BINARY` may be a path, or a bare name looked up on `PATH` (skipping this binary, so
/// `ATMOS_GO_BINARY=atmos` means "the other atmos").
fn which_explicit(raw: &str, is_me: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    let p = crate::env::expand_path(raw);
    if p.components().count() > 1 || p.is_absolute() {
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os(crate::env::PATH)?;
    let mut found = std::env::split_paths(&path)
        .map(|dir| dir.join(&p))
        .filter(|c| is_executable(c));
    let first = found.next()?;
    if !is_me(&first) {
        return Some(first);
    }
    Some(found.find(|c| !is_me(c)).unwrap_or(first))
}

fn depth() -> u32 {
    crate::env::var(ATMOS_GO_PASSTHROUGH_DEPTH)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The error when no Go atmos is found: what this binary does and how to point it at Go atmos.
pub fn not_found(command: &OsStr, suggestion: Option<&str>) -> Error {
    let mut err = Error::new(format!(
        "`atmos {}` is not implemented by this binary and no Go atmos was found",
        command.to_string_lossy()
    ))
    .with_cause(format!(
        "this `atmos` ({}) provides: {}",
        env!("CARGO_PKG_VERSION"),
        OWN_COMMANDS
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_code(code::COMMAND_NOT_FOUND);
    if let Some(s) = suggestion {
        err = err.with_hint(format!("did you mean `{s}`?"));
    }
    err.with_hint(format!(
        "set `{ATMOS_GO_BINARY}=/path/to/go/atmos`, or put the Go atmos on `PATH` after this one"
    ))
}

/// Hands `args` (everything after the program name) to the Go atmos. On Unix this only returns
/// on failure; elsewhere it returns the child's exit code.
pub fn pass_through(
    command: &OsStr,
    args: &[OsString],
    suggestion: Option<&str>,
) -> Result<u8, Error> {
    let level = depth();
    if level >= MAX_DEPTH {
        return Err(Error::new(format!(
            "pass-through loop: `atmos {}` was handed to another `atmos` {level} times",
            command.to_string_lossy()
        ))
        .with_hint(format!(
            "an `atmos` on `PATH` calls this binary back; set `{ATMOS_GO_BINARY}` to the real Go atmos"
        )));
    }
    let Some(go) = locate()? else {
        return Err(not_found(command, suggestion));
    };
    let mut cmd = std::process::Command::new(&go);
    cmd.args(args)
        .env(ATMOS_GO_PASSTHROUGH_DEPTH, (level + 1).to_string());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        Err(Error::new(format!("cannot run the Go atmos `{}`: {e}", go.display())).with_code(126))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(|e| {
            Error::new(format!("cannot run the Go atmos `{}`: {e}", go.display())).with_code(126)
        })?;
        Ok(status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(code::FAILURE))
    }
}

/// How long `atmos version` of the Go binary may take before it is given up on.
const VERSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The Go atmos' path and its version line, when one is found and answers within
/// five seconds (its update check and telemetry are switched off for the probe). The line
/// is the first that names atmos and a number, else the first non-empty one.
pub fn version() -> Option<(PathBuf, String)> {
    let go = locate().ok()??;
    let mut child = std::process::Command::new(&go)
        .arg("version")
        .env(ATMOS_GO_PASSTHROUGH_DEPTH, (depth() + 1).to_string())
        .env("ATMOS_VERSION_CHECK_ENABLED", "false")
        .env("ATMOS_TELEMETRY_ENABLED", "false")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Some((go, "(did not answer `atmos version`)".to_owned()));
            }
        }
    }
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find(|l| l.to_lowercase().contains("atmos") && l.chars().any(|c| c.is_ascii_digit()))
        .or(lines.first())
        .map_or("(no version output)", |l| l)
        .to_owned();
    Some((go, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_sees_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "x").unwrap();
        let b = dir.path().join("b");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&a, &b).unwrap();
        #[cfg(unix)]
        assert!(same_file(&a, &b));
        let c = dir.path().join("c");
        std::fs::write(&c, "x").unwrap();
        assert!(!same_file(&a, &c));
    }

    #[test]
    fn not_found_names_what_this_binary_provides_and_how_to_fix_it() {
        let err = not_found(OsStr::new("terraform"), None);
        assert_eq!(err.exit_code(), code::COMMAND_NOT_FOUND);
        let text = err.render();
        assert!(
            text.contains("`atmos terraform` is not implemented"),
            "{text}"
        );
        assert!(text.contains("`secret`"), "{text}");
        assert!(text.contains(ATMOS_GO_BINARY), "{text}");
    }
}
