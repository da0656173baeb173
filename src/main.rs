//! The `atmos` binary: a thin shell over [`atmos_secrets::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    atmos_secrets::run(std::env::args_os())
}
