//! `secret exec -- CMD…` and `secret shell`: run a child with the declared secrets in its
//! environment (`exec --component-env --tf-vars` adds what `atmos terraform` would pass). A required secret that cannot be read stops the command before the child starts
//! (atmos only warns); optional ones are skipped with a warning.

use crate::cli::{ExecArgs, ShellArgs};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secret_value::SecretString;
use crate::secrets::Declaration;
use crate::session::{BackendResolver, Project, Session};
use crate::stack::functions::{self, Recording};
use crate::yaml::{Map, Node};

/// Reads every declared secret; returns `(NAME, value)` sorted by name.
fn secret_env(session: &Session, printer: &Printer) -> Result<Vec<(String, SecretString)>> {
    let decls: Vec<&Declaration> = session.decls.iter().collect();
    let results = session.read_many(&decls);
    let mut env = Vec::new();
    let mut blocking = Vec::new();
    for (d, r) in decls.into_iter().zip(results) {
        match r {
            Ok(Some(v)) => env.push((d.name.clone(), v.to_text())),
            Ok(None) if d.required => blocking.push(format!("`{}`: not set", d.name)),
            Ok(None) => printer.warn(&format!("Skipping `{}`: secret is not initialized", d.name)),
            Err(e) if d.required => blocking.push(format!("`{}`: {e}", d.name)),
            Err(e) => printer.warn(&format!("Skipping `{}`: {e}", d.name)),
        }
    }
    if !blocking.is_empty() {
        let mut err = Error::new(format!(
            "required secret(s) missing {}; the command was not started",
            session.where_()
        ));
        for b in blocking {
            err = err.with_cause(b);
        }
        return Err(err.with_hint(format!(
            "set them with `atmos secret set NAME -s {} -c {}`, or check with `atmos secret validate`",
            session.stack, session.component
        )));
    }
    Ok(env)
}

/// The child's environment: the process, atmos.yaml `env:`, then (when asked) the component's
/// resolved `env:` section and its vars as `TF_VAR_*`, then the declared secrets. Every secret
/// value the child gets is revealed to the printer first (masked in our output; `::add-mask::`
/// in CI mode) — all of it before the child can write a byte.
fn child_env(
    project: &Project,
    session: &Session,
    printer: &mut Printer,
    component_env: bool,
    tf_vars: bool,
) -> Result<Vec<(std::ffi::OsString, std::ffi::OsString)>> {
    let secrets = secret_env(session, printer)?;
    let mut layered: Vec<(String, String)> = session
        .cfg
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if component_env || tf_vars {
        // `!secret` values are read in memory for this child only; nothing is written to disk.
        let mut backend =
            BackendResolver::with_settings(project.settings().clone(), session.cfg.clone());
        let mut recording = Recording::new(&mut backend);
        let section = functions::resolve_tags(&session.instance, &mut recording)?;
        for value in &recording.secrets {
            printer.reveal_json(&crate::yaml::to_json(value));
        }
        let empty = Map::default();
        let of = |key: &str| section.get(key).and_then(Node::as_map).unwrap_or(&empty);
        if component_env {
            let (vars, skipped) = crate::child::env_section(of("env"));
            layered.extend(vars);
            for k in skipped {
                printer.warn(&format!(
                    "Skipping env `{k}`: null or an unresolved YAML function"
                ));
            }
        }
        if tf_vars {
            let (vars, skipped) = crate::child::tf_vars(of("vars"));
            layered.extend(vars);
            for k in skipped {
                printer.warn(&format!(
                    "Skipping `TF_VAR_{k}`: null or an unresolved YAML function"
                ));
            }
        }
    }
    for (_, v) in &secrets {
        printer.reveal(v.expose());
    }
    Ok(crate::child::layer_env(
        std::env::vars_os(),
        &layered,
        &secrets,
    ))
}

/// `secret exec -- CMD…`.
pub(crate) fn exec(project: &Project, args: ExecArgs, printer: &mut Printer) -> Result<u8> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::usage("no command specified: invalid subcommand")
            .with_hint("put the command after `--`: `atmos secret exec -s STACK -c COMPONENT -- terraform plan`"));
    };
    let session = project.session()?;
    let env = child_env(project, &session, printer, args.component_env, args.tf_vars)?;
    crate::child::run(program, rest, env)
}

/// `secret shell [--shell SHELL] [-- ARGS…]`.
pub(crate) fn shell(project: &Project, args: ShellArgs, printer: &mut Printer) -> Result<u8> {
    // Shell arguments must follow `--`; a stray word before it is almost always a mistyped
    // `--shell`.
    if !args.args.is_empty() && !std::env::args().any(|a| a == "--") {
        return Err(Error::usage(
            "invalid arguments: use `--shell` to choose a shell binary, and place shell args only after `--`",
        ));
    }
    let session = project.session()?;
    let mut env = child_env(project, &session, printer, false, false)?;
    let level = crate::env::var(crate::env::ATMOS_SHLVL)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    env.retain(|(k, _)| k != crate::env::ATMOS_SHLVL);
    env.push((crate::env::ATMOS_SHLVL.into(), level.to_string().into()));
    let shell = args
        .shell
        .or_else(|| crate::env::var("SHELL"))
        .unwrap_or_else(|| {
            if which("bash") {
                "bash".to_owned()
            } else {
                "sh".to_owned()
            }
        });
    let shell_args = if args.args.is_empty() {
        vec!["-l".to_owned()]
    } else {
        args.args
    };
    printer.info(&format!(
        "Entering shell with {} secret(s) for component \"{}\" in stack \"{}\" (type 'exit' to return).",
        session.decls.len(),
        session.component,
        session.stack
    ));
    let code = crate::child::run(&shell, &shell_args, env)?;
    printer.info(&format!(
        "Exited shell for component \"{}\" in stack \"{}\".",
        session.component, session.stack
    ));
    Ok(code)
}

fn which(program: &str) -> bool {
    crate::env::var("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
