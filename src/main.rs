//! The `atmos` binary: a thin shell over [`atmos_secrets::run`], with the redacting panic hook
//! installed first (a panic prints one line without its message and exits 70).

use std::process::ExitCode;

fn main() -> ExitCode {
    atmos_secrets::hardening::install_panic_hook();
    atmos_secrets::run(std::env::args_os())
}
