//! `secret validate`: the SOPS collision guard, then every required secret must be initialized;
//! in CI mode also annotations and a step summary, and a JUnit report on request.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::ci;
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secrets::{Declaration, Scope};
use crate::session::{self, Project, Session, Target};

/// Validates one component instance. In CI mode each missing required secret is also an
/// `::error` annotation at its declaring line, and a table goes to `$GITHUB_STEP_SUMMARY`;
/// `--format junit` writes a JUnit report (stdout or `-o FILE`).
pub(crate) fn validate(project: &Project, args: ValidateArgs, printer: &mut Printer) -> Result<u8> {
    let session = project.session()?;
    // Each declaration is resolved once: for the collision guard and for the status check.
    let decls: Vec<&Declaration> = session.decls.iter().collect();
    let targets = session.resolve_each(&decls);
    collision_guard(project, &session, &targets, printer)?;
    let results = session::exists_each(targets);
    let mut missing = 0usize;
    let mut errors = 0usize;
    let mut rows = Vec::new();
    let reporting = printer.ci() || args.format == ValidateFormat::Junit;
    for (d, r) in decls.iter().zip(results) {
        let (status, failed) = match r {
            Ok(true) => ("ok".to_owned(), false),
            Ok(false) if d.required => {
                missing += 1;
                printer.fail(&format!(
                    "Missing required secret `{}` ({})",
                    d.name,
                    d.backend.label()
                ));
                ("missing".to_owned(), true)
            }
            Ok(false) => ("not set (optional)".to_owned(), false),
            Err(e) => {
                errors += 1;
                printer.warn(&format!(
                    "Could not determine status of secret `{}`: {e}",
                    d.name
                ));
                (format!("error: {}", e.message()), true)
            }
        };
        if reporting {
            let site = if failed {
                session.declaration_site(&d.name)
            } else {
                None
            };
            rows.push(ci::CheckRow {
                name: d.name.clone(),
                backend: d.backend.label(),
                required: d.required,
                status,
                failed,
                site,
            });
        }
    }
    let title = format!("{}/{}", session.stack, session.component);
    if printer.ci() {
        for r in rows.iter().filter(|r| r.failed) {
            let message = if r.status == "missing" {
                format!(
                    "required secret `{}` ({}) is not initialized {}; set it with `atmos secret set {} -s {} -c {}`",
                    r.name,
                    r.backend,
                    session.where_(),
                    r.name,
                    session.stack,
                    session.component
                )
            } else {
                format!("secret `{}`: {}", r.name, r.status)
            };
            let site = r.site.as_ref().map(|(f, l)| (f.as_path(), *l));
            printer.ci_command(&ci::error_annotation(
                site,
                &format!("atmos secret validate: {}", r.name),
                &message,
            ));
        }
        if let Err(e) = ci::append_step_summary(&ci::summary_markdown(
            &format!("atmos secret validate: {title}"),
            &rows,
        )) {
            printer.warn(&format!("cannot write the step summary: {e}"));
        }
    }
    if args.format == ValidateFormat::Junit {
        let report = ci::junit(&title, &rows);
        match &args.output {
            Some(path) => std::fs::write(path, report).map_err(|e| {
                Error::new(format!(
                    "cannot write the JUnit report `{}`: {e}",
                    path.display()
                ))
            })?,
            None => printer.stdout(&report),
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

/// `(name, scope, file)` of every SOPS-backed declaration whose file resolves.
fn sops_files<'a>(
    decls: &[Declaration],
    targets: impl Iterator<Item = Option<&'a Target>>,
) -> Vec<(String, Scope, PathBuf)> {
    decls
        .iter()
        .zip(targets)
        .filter(|(d, _)| matches!(d.backend, crate::secrets::Backend::Sops(_)))
        .filter_map(|(d, t)| match t.map(Target::file) {
            Some(Ok(Some(file))) => Some((d.name.clone(), d.scope, file)),
            _ => None,
        })
        .collect()
}

/// SOPS placements across every secret-declaring instance of the stack must not
/// collide (two instances' instance-scoped secrets in one file; one stack secret in two files).
/// `own` are the already resolved targets of `session`'s declarations. Other instances are built
/// for their `secrets` only; one that cannot be built has no placements to compare and is skipped
/// (`secret list` reports it).
fn collision_guard(
    project: &Project,
    session: &Session,
    own: &[Result<Target>],
    printer: &Printer,
) -> Result<()> {
    let mut instances = Vec::new();
    project.for_each_stack(Some(&session.instance.stack), |_, _, built| {
        instances.extend(built.into_iter().filter_map(std::result::Result::ok));
        Ok(())
    })?;
    let total = instances.len();
    let mut instance_files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut stack_files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    let stack = &session.stack;
    for (i, inst) in instances.into_iter().enumerate() {
        printer.progress("Checking SOPS placements", i, total);
        if inst.stack != session.instance.stack {
            continue;
        }
        let name = inst.name.clone();
        let files = if inst.name == session.instance.name
            && inst.component_type == session.instance.component_type
        {
            sops_files(&session.decls, own.iter().map(|t| t.as_ref().ok()))
        } else {
            let Ok(s) = project.session_for(inst, stack) else {
                continue;
            };
            let targets: Vec<Option<Target>> = s
                .decls
                .iter()
                .map(|d| {
                    matches!(d.backend, crate::secrets::Backend::Sops(_))
                        .then(|| s.resolve(d).ok())
                        .flatten()
                })
                .collect();
            sops_files(&s.decls, targets.iter().map(Option::as_ref))
        };
        for (secret, scope, file) in files {
            match scope {
                Scope::Instance => {
                    let owner = format!("{stack}/{name}");
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
                Scope::Stack => match stack_files.get(&secret) {
                    Some(f) if *f != file => problems.push(format!(
                        "stack-scoped secret \"{secret}\" in stack \"{stack}\" resolves to different files \"{}\" and \"{}\"",
                        f.display(),
                        file.display()
                    )),
                    Some(_) => {}
                    None => {
                        stack_files.insert(secret, file);
                    }
                },
                Scope::Global => {}
            }
        }
    }
    printer.progress("Checking SOPS placements", total, total);
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
