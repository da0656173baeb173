//! Owns process-level secret hygiene: no core dumps while secret values are in memory, and a
//! panic hook that never prints the panic payload (it could quote a secret) and exits 70.
//!
//! The panic hook is the one writer of stderr outside [`crate::printer`]: after a panic the
//! printer may be mid-write or poisoned, so the hook writes its single line directly.

use std::io::Write;
use std::panic::Location;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The exit code after a panic (`EX_SOFTWARE`: an internal error).
pub const PANIC_EXIT: i32 = crate::error::code::PANIC as i32;

/// Keeps the process from writing a core dump: marks it non-dumpable (`PR_SET_DUMPABLE` 0, which
/// also keeps other processes of the same user from attaching with ptrace or reading
/// `/proc/<pid>/mem`) and lowers the soft `RLIMIT_CORE` to 0. The hard limit is left alone, so a
/// child started by `secret exec` may raise its own limit again. Best effort: the error says
/// which step failed, callers warn at most.
pub fn disable_core_dumps() -> Result<(), String> {
    let dumpable = nix::sys::prctl::set_dumpable(false)
        .map_err(|e| format!("cannot mark the process non-dumpable: {e}"));
    let (_, hard) = getrlimit(Resource::RLIMIT_CORE).map_err(|e| format!("getrlimit: {e}"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, hard)
        .map_err(|e| format!("cannot set the core size limit to 0: {e}"))?;
    dumpable
}

/// Replaces the default panic hook (which prints the payload, e.g. an `expect` message quoting a
/// value) with one that prints [`panic_line`] on stderr and exits [`PANIC_EXIT`] at once, so
/// nothing else — no unwinding into code holding secrets, no backtrace — runs after it.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let line = panic_line(info.location());
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        std::process::exit(PANIC_EXIT);
    }));
}

/// The one line printed on a panic: where it happened, never what the payload said.
pub fn panic_line(location: Option<&Location<'_>>) -> String {
    let at = location
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "error: internal error (panic){at}; its message is withheld because it may contain a \
         secret value; please report this bug"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panic_line_names_the_place_and_nothing_else() {
        let here = Location::caller();
        let line = panic_line(Some(here));
        assert!(line.starts_with("error: internal error (panic) at src/hardening.rs:"));
        assert!(!line.contains('\n'));
        assert_eq!(
            panic_line(None),
            "error: internal error (panic); its message is withheld because it may contain a \
             secret value; please report this bug"
        );
    }

    /// Re-runs this test binary on [`panicking_child`] (the hook exits the process, so it
    /// cannot run in the test process itself) and checks what a user would see.
    #[test]
    fn the_hook_withholds_the_payload_and_exits_70() {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "hardening::tests::panicking_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ATMOS_HARDENING_PANIC_CHILD", "1")
            .output()
            .expect("run the test binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(PANIC_EXIT), "{stderr}");
        assert!(
            stderr.contains("error: internal error (panic) at src/hardening.rs:"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    /// Only does something when started by the test above.
    #[test]
    #[ignore = "run by the_hook_withholds_the_payload_and_exits_70"]
    fn panicking_child() {
        if std::env::var_os("ATMOS_HARDENING_PANIC_CHILD").is_some() {
            install_panic_hook();
            let value = String::from("hunter2");
            panic!("the password is {value}");
        }
    }

    #[test]
    fn core_dumps_are_off_after_disable() {
        disable_core_dumps().expect("prctl and setrlimit succeed for an unprivileged process");
        assert!(!nix::sys::prctl::get_dumpable().expect("get_dumpable"));
        assert_eq!(getrlimit(Resource::RLIMIT_CORE).expect("getrlimit").0, 0);
    }
}
