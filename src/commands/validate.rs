//! `atmos validate stacks`: loads `atmos.yaml`, asks [`crate::stack::validate`] for every
//! problem of the stack manifests and prints them one per line (`file:line: message`) on stderr;
//! exit 0 with upstream's "✓ All stacks validated successfully" (on stderr, as upstream), else 1.

use crate::cli::{GlobalArgs, ValidateCommand, ValidateStacksArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::stack::validate;

/// Runs `atmos validate …`.
pub fn run(cmd: ValidateCommand, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    match cmd {
        ValidateCommand::Stacks(args) => stacks(&args, global, printer),
        // `dispatch` hands these to the Go atmos before any command runs.
        ValidateCommand::External(_) => Err(Error::new(
            "internal error: `validate` pass-through reached the validate command",
        )),
    }
}

fn stacks(args: &ValidateStacksArgs, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    let mut cfg = config::load::load(&crate::config::load::LoadOptions {
        config_files: global.config_files.clone(),
        config_dirs: global.config_dirs.clone(),
        base_path: global.base_path.clone(),
        profiles: global.profile.clone(),
    })?;
    if let Some(schema) = &args.schemas_atmos_manifest {
        cfg.manifest_schema = Some(schema.clone());
    }
    for w in &cfg.warnings {
        printer.warn(w);
    }
    printer.apply_config(&cfg.settings);
    let problems = validate::validate(&cfg);
    if problems.is_empty() {
        // On stderr, as upstream (its golden stdout for this case is empty).
        printer.success("All stacks validated successfully");
        return Ok(0);
    }
    for p in &problems {
        printer.fail(&p.to_string());
    }
    let n = problems.len();
    Err(Error::new(format!(
        "stack validation failed: {n} problem{} (listed above)",
        if n == 1 { "" } else { "s" }
    ))
    .with_hint("fix each file:line above, then run `atmos validate stacks` again"))
}
