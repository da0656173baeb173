//! `secret init`: initialize (or rotate) declared secrets for one instance, a whole stack or every
//! stack, from a dotenv input or interactive prompts.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use zeroize::Zeroizing;

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secret_value::SecretValue;
use crate::secrets::Scope;
use crate::session::{self, Project, Session, Target};

#[derive(Default)]
struct Tally {
    initialized: usize,
    rotated: usize,
    unaffected: usize,
}

/// Runs `secret init`.
pub(crate) fn init(project: &Project, args: InitArgs, printer: &mut Printer) -> Result<u8> {
    let scope = project.settings();
    if args.all && scope.stack.is_some() {
        return Err(Error::usage(
            "validation failed: --all cannot be combined with --stack",
        ));
    }
    if args.all && scope.component.is_some() {
        return Err(Error::usage(
            "validation failed: --all cannot be combined with --component",
        ));
    }
    if !matches!(args.mode.as_str(), "warn" | "strict") {
        return Err(Error::usage(format!(
            "unsupported init input mode: \"{}\" (use warn or strict)",
            args.mode
        )));
    }
    project.config()?;
    // Input: --input, else a piped (non-empty) stdin.
    let input: Option<Vec<(String, Zeroizing<String>)>> = match args.input.as_deref() {
        Some(src) => Some(read_input(src)?),
        None if !std::io::stdin().is_terminal() => {
            let text = crate::prompt::read_stdin()?;
            if text.trim().is_empty() {
                None
            } else {
                Some(parse_input(&text, "stdin")?)
            }
        }
        None => None,
    };
    // Targets.
    let mut sessions = Vec::new();
    if args.all || scope.component.is_none() {
        let stack = if args.all {
            None
        } else {
            Some(project.stack()?)
        };
        let mut instances = project.instances()?;
        instances.retain(|i| stack.as_deref().is_none_or(|s| i.stack == s));
        instances.sort_by(|a, b| (&a.stack, &a.name).cmp(&(&b.stack, &b.name)));
        for inst in instances {
            let s = inst.stack.clone();
            let session = project.session_for(inst, &s)?;
            if !session.decls.is_empty() {
                sessions.push(session);
            }
        }
    } else {
        let stack = project.stack()?;
        let component = project.component(&stack)?;
        sessions.push(project.load_session(&stack, &component)?);
    }
    if sessions.iter().all(|s| s.decls.is_empty()) {
        printer.info("No declared secrets found");
        return Ok(0);
    }
    if let Some(input) = &input {
        for (k, _) in input {
            let declared = sessions
                .iter()
                .any(|s| s.decls.iter().any(|d| &d.name == k));
            if declared {
                continue;
            }
            if args.mode == "strict" {
                return Err(
                    Error::new(format!("input key \"{k}\" is not declared as a secret"))
                        .with_hint("remove it from the input or use `--mode warn`"),
                );
            }
            printer.warn(&format!("Skipping undeclared input key `{k}`"));
        }
    }
    let mut tally = Tally::default();
    let mut seen_stack: BTreeSet<(String, String)> = BTreeSet::new();
    let mut offered: BTreeSet<String> = BTreeSet::new();
    // A bar only when nothing will prompt (it shares the terminal with the questions).
    let bar = sessions.len() > 1 && (input.is_some() || !project.interactive());
    for (i, session) in sessions.iter().enumerate() {
        if bar {
            printer.progress("Initializing", i, sessions.len());
        }
        offer_keygen(project, &args, session, &mut offered, printer)?;
        // Each declaration is resolved once: for the status check and for the write.
        let targets: Vec<Result<Target>> =
            session.decls.iter().map(|d| session.resolve(d)).collect();
        let statuses: Vec<bool> = {
            let resolved: Vec<&Target> = targets.iter().filter_map(|t| t.as_ref().ok()).collect();
            let mut checked = session::exists(&resolved).into_iter();
            targets
                .iter()
                .map(|t| t.is_ok() && checked.next().is_some_and(|r| r.unwrap_or(false)))
                .collect()
        };
        for ((d, target), exists) in session.decls.iter().zip(targets).zip(statuses) {
            if sessions.len() > 1
                && d.scope == Scope::Stack
                && !seen_stack.insert((session.stack.clone(), d.name.clone()))
            {
                continue;
            }
            let label = d.backend.label();
            let from_input = input
                .as_ref()
                .and_then(|i| i.iter().rev().find(|(k, _)| *k == d.name).map(|(_, v)| v));
            if input.is_some() && from_input.is_none() {
                tally.unaffected += 1;
                continue;
            }
            if args.dry_run {
                let verb = if exists { "rotate" } else { "initialize" };
                if exists && !args.force && from_input.is_some() {
                    tally.unaffected += 1;
                    continue;
                }
                printer.info(&format!("Would {verb} `{}` ({label})", d.name));
                if exists {
                    tally.rotated += 1
                } else {
                    tally.initialized += 1
                }
                continue;
            }
            if exists && !args.force {
                if from_input.is_some() || !project.interactive() {
                    tally.unaffected += 1;
                    continue;
                }
                let yes = crate::prompt::confirm(&format!(
                    "Secret `{}` is already set. Update (rotate) it?",
                    d.name
                ))
                .map_err(|e| Error::new(format!("confirmation prompt failed: {e}")))?;
                if !yes {
                    tally.unaffected += 1;
                    continue;
                }
            }
            let value = match from_input {
                Some(v) => v.clone(),
                None if project.interactive() => {
                    printer.status(&format!("Setting `{}` ({label})", d.name));
                    let v = crate::prompt::hidden("Enter secret value")
                        .map_err(|e| Error::new(format!("secret prompt failed: {e}")))?;
                    if v.is_empty() {
                        return Err(Error::new("secret prompt failed: the value is empty"));
                    }
                    v
                }
                None => {
                    printer.warn(&format!(
                        "No value for `{}` ({label}): not a terminal; pass values with --input",
                        d.name
                    ));
                    tally.unaffected += 1;
                    continue;
                }
            };
            printer.masker.register(&value);
            target?.write(&SecretValue::text(value.as_str()))?;
            if exists {
                tally.rotated += 1
            } else {
                tally.initialized += 1
            }
        }
    }
    if args.dry_run {
        printer.info(&format!(
            "Dry run: {} secret(s) would be initialized, {} rotated, {} unaffected",
            tally.initialized, tally.rotated, tally.unaffected
        ));
    } else {
        printer.success(&format!(
            "Initialized {} secret(s), rotated {}, {} unaffected",
            tally.initialized, tally.rotated, tally.unaffected
        ));
    }
    Ok(0)
}

fn read_input(src: &str) -> Result<Vec<(String, Zeroizing<String>)>> {
    let text = if src == "-" {
        crate::prompt::read_stdin()?
    } else {
        Zeroizing::new(
            std::fs::read_to_string(src)
                .map_err(|e| Error::new(format!("failed to open \"{src}\": {e}")))?,
        )
    };
    parse_input(&text, src)
}

fn parse_input(text: &str, origin: &str) -> Result<Vec<(String, Zeroizing<String>)>> {
    let entries = crate::dotenv::parse(text)
        .map_err(|e| Error::new(format!("failed to parse \"{origin}\": {e}")))?;
    Ok(entries.into_iter().map(|e| (e.key, e.value)).collect())
}

/// Offers key generation for SOPS vaults this instance uses that have no key material yet.
fn offer_keygen(
    project: &Project,
    args: &InitArgs,
    session: &Session,
    offered: &mut BTreeSet<String>,
    printer: &Printer,
) -> Result<()> {
    for d in &session.decls {
        let crate::secrets::Backend::Sops(vault) = &d.backend else {
            continue;
        };
        if !offered.insert(vault.clone()) {
            continue;
        }
        let Ok(store) = session.provider(vault) else {
            continue;
        };
        if store.has_key_material() != Some(false) {
            continue;
        }
        if args.dry_run {
            printer.info(&format!("Would generate key material for vault `{vault}`"));
            continue;
        }
        if !project.interactive() {
            printer.warn(&format!(
                "Vault `{vault}` has no key material; run `atmos secret keygen {vault}`"
            ));
            continue;
        }
        let yes = crate::prompt::confirm(&format!(
            "Vault `{vault}` has no key material. Generate it now?"
        ))
        .map_err(|e| Error::new(format!("confirmation prompt failed: {e}")))?;
        if !yes {
            printer.warn(&format!("Skipped key generation for vault `{vault}`"));
            continue;
        }
        let provider = session
            .providers
            .get(vault)
            .or_else(|| session.cfg.providers.get(vault))
            .cloned();
        if let Some(p) = provider {
            session.keygen(&p, false)?;
            printer.success(&format!("Generated key material for vault `{vault}`"));
        }
    }
    Ok(())
}
