//! `secret validate`: the SOPS collision guard, then every required secret must be initialized.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secrets::{Declaration, Scope};
use crate::session::{Project, Session};

/// Validates one component instance.
pub(crate) fn validate(project: &Project, printer: &mut Printer) -> Result<u8> {
    let session = project.session()?;
    collision_guard(project, &session)?;
    let decls: Vec<&Declaration> = session.decls.iter().collect();
    let results = session.exists_many(&decls);
    let mut missing = 0usize;
    let mut errors = 0usize;
    for (d, r) in decls.iter().zip(results) {
        match r {
            Ok(true) => {}
            Ok(false) if d.required => {
                missing += 1;
                printer.fail(&format!(
                    "Missing required secret `{}` ({})",
                    d.name,
                    d.backend.label()
                ));
            }
            Ok(false) => {}
            Err(e) => {
                errors += 1;
                printer.warn(&format!(
                    "Could not determine status of secret `{}`: {e}",
                    d.name
                ));
            }
        }
    }
    if missing == 0 && errors == 0 {
        printer.success(&format!(
            "All required secrets are initialized {}",
            session.where_()
        ));
        return Ok(0);
    }
    let mut err = Error::new("validation failed");
    if missing > 0 {
        err = err.with_cause(format!("{missing} required secret(s) missing"));
    }
    if errors > 0 {
        err = err.with_cause(format!("{errors} secret(s) could not be checked"));
    }
    Err(err.with_hint(format!(
        "set missing secrets with `atmos secret set NAME -s {} -c {}`",
        session.stack, session.component
    )))
}

/// Spec §7.6: SOPS placements across every secret-declaring instance of the stack must not
/// collide (two instances' instance-scoped secrets in one file; one stack secret in two files).
fn collision_guard(project: &Project, session: &Session) -> Result<()> {
    let instances = project.instances()?;
    let mut instance_files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut stack_files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    for inst in instances
        .into_iter()
        .filter(|i| i.stack == session.instance.stack)
    {
        let name = inst.name.clone();
        let Ok(s) = project.session_for(inst, &session.stack) else {
            continue;
        };
        for d in &s.decls {
            if !matches!(d.backend, crate::secrets::Backend::Sops(_)) {
                continue;
            }
            let Ok(target) = s.resolve(d) else { continue };
            let Ok(Some(file)) = target.file() else {
                continue;
            };
            match d.scope {
                Scope::Instance => {
                    let owner = format!("{}/{}", s.stack, name);
                    if let Some(other) = instance_files.get(&file)
                        && *other != owner
                    {
                        problems.push(format!(
                            "instances \"{other}\" and \"{owner}\" resolve to the same SOPS file \"{}\"; add a component discriminator (e.g. `{{{{ .atmos_component }}}}`) to `spec.file`",
                            file.display()
                        ));
                    } else {
                        instance_files.insert(file, owner);
                    }
                }
                Scope::Stack => match stack_files.get(&d.name) {
                    Some(f) if *f != file => problems.push(format!(
                        "stack-scoped secret \"{}\" in stack \"{}\" resolves to different files \"{}\" and \"{}\"",
                        d.name,
                        s.stack,
                        f.display(),
                        file.display()
                    )),
                    Some(_) => {}
                    None => {
                        stack_files.insert(d.name.clone(), file);
                    }
                },
                Scope::Global => {}
            }
        }
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        return Ok(());
    }
    let mut err = Error::new("SOPS secret files collide across scopes");
    for p in problems {
        err = err.with_cause(p);
    }
    Err(err.with_hint("make `spec.file` include the stack and component so every file is unique"))
}
