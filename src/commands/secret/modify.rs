//! `secret set` (alias `add`) and `secret delete` (aliases `rm`, `unset`).

use crate::cli::{DeleteArgs, SetArgs};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secret_value::SecretValue;
use crate::secrets::{Declaration, Scope};
use crate::session::Project;

/// `secret set [NAME[=VALUE]] [--stdin]`.
pub(crate) fn set(project: &Project, args: SetArgs, printer: &mut Printer) -> Result<u8> {
    let (name, inline) = match args.name.as_deref() {
        Some(raw) => {
            let (n, v) = match raw.split_once('=') {
                Some((n, v)) => (n.trim(), Some(zeroize::Zeroizing::new(v.to_owned()))),
                None => (raw.trim(), None),
            };
            if n.is_empty() {
                return Err(Error::usage("secret NAME is required")
                    .with_hint("run `atmos secret set NAME=VALUE -s STACK -c COMPONENT`"));
            }
            (Some(n.to_owned()), v)
        }
        None => (None, None),
    };
    let session = project.session()?;
    let name = match name {
        Some(n) => n,
        None if project.interactive() && !session.decls.is_empty() => {
            let names: Vec<String> = session.decls.iter().map(|d| d.name.clone()).collect();
            crate::prompt::select("Choose a secret to set", &names)
                .map_err(|e| Error::new(format!("secret prompt failed: {e}")))?
        }
        None => {
            return Err(Error::usage("required flag not provided: secret NAME is required")
                .with_hint("pass the name: `atmos secret set NAME=VALUE` or `atmos secret set NAME --stdin`"));
        }
    };
    let decl = session.find(&name)?.clone();
    // Resolve (and so check) the backend before asking for a value.
    let target = session.resolve(&decl)?;
    let value = if args.stdin {
        let mut text = crate::prompt::read_stdin()?;
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        text
    } else if let Some(v) = inline {
        v
    } else if project.interactive() {
        let v = crate::prompt::hidden("Enter secret value")
            .map_err(|e| Error::new(format!("secret prompt failed: {e}")))?;
        if v.is_empty() {
            return Err(Error::new("secret prompt failed: the value is empty"));
        }
        v
    } else {
        return Err(
            Error::usage(format!("no value given for secret `{name}`")).with_hint(format!(
                "pass `{name}=VALUE`, or pipe the value with `--stdin`"
            )),
        );
    };
    printer.masker.register(&value);
    target.write(&SecretValue::text(value.as_str()))?;
    printer.success(&set_message(&decl, &session.stack, &session.component));
    Ok(0)
}

/// `secret delete [NAME] [--all] [--force]`.
pub(crate) fn delete(project: &Project, args: DeleteArgs, printer: &mut Printer) -> Result<u8> {
    if args.all && args.name.is_some() {
        return Err(Error::usage("--all cannot be combined with a secret NAME"));
    }
    let Some(name) = args.name.clone().or_else(|| args.all.then(String::new)) else {
        return Err(Error::usage(
            "a secret NAME is required (or use --all to delete every declared secret)",
        ));
    };
    // Resolve the scope before confirming, so the question can name it.
    project.config()?;
    let stack = project.stack()?;
    let component = project.component(&stack)?;
    if !args.force {
        let question = if args.all {
            format!("Delete ALL declared secrets for component `{component}` in stack `{stack}`?")
        } else {
            format!("Delete secret `{name}` from its backend?")
        };
        if !project.interactive() {
            return Err(Error::new("confirmation required to delete")
                .with_hint("run with `--force` to delete without a prompt"));
        }
        let yes = crate::prompt::confirm(&question)
            .map_err(|e| Error::new(format!("confirmation prompt failed: {e}")))?;
        if !yes {
            printer.warn("Aborted");
            return Ok(0);
        }
    }
    let session = project.load_session(&stack, &component)?;
    if args.all {
        let decls = session.decls.clone();
        for d in &decls {
            session.resolve(d)?.delete()?;
        }
        printer.success(&format!(
            "Deleted {} declared secret(s) {}",
            decls.len(),
            session.where_()
        ));
        return Ok(0);
    }
    let decl = session.find(&name)?.clone();
    session.resolve(&decl)?.delete()?;
    printer.success(&format!("Deleted secret `{name}` {}", session.where_()));
    Ok(0)
}

/// The success line of `set` for a scope.
fn set_message(decl: &Declaration, stack: &str, component: &str) -> String {
    let n = &decl.name;
    match decl.scope {
        Scope::Global => format!(
            "Set global secret `{n}` (one value shared by every stack and component using its store)"
        ),
        Scope::Stack => format!(
            "Set stack-scoped secret `{n}` for stack `{stack}` (shared by every component in the stack)"
        ),
        Scope::Instance => {
            format!("Set secret `{n}` for component `{component}` in stack `{stack}`")
        }
    }
}
