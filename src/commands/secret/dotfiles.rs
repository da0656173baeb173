//! `secret pull`, `secret push` and `secret import`: moving values between dotenv/JSON files and
//! the declared backends. All three use the one dotenv dialect in [`crate::dotenv`].

use std::collections::BTreeMap;
use std::path::Path;

use zeroize::Zeroizing;

use crate::cli::{ImportArgs, PullArgs, PushArgs};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::prompt::read_stdin;
use crate::secret_value::SecretValue;
use crate::secrets::{Backend, Coordinate, Declaration, Scope};
use crate::session::{Project, Target};

/// Flat `KEY → value` pairs read from a file.
type Pairs = BTreeMap<String, Zeroizing<String>>;

/// Reads `source` (`-` = stdin) as dotenv or JSON.
fn read_pairs(source: &str, format: &str) -> Result<Pairs> {
    let text = if source == "-" {
        read_stdin()?
    } else {
        Zeroizing::new(std::fs::read_to_string(source).map_err(|e| {
            Error::new(format!("failed to open \"{source}\": {e}"))
                .with_hint("check the path, or pass `-` to read stdin")
        })?)
    };
    parse_pairs(&text, format, source)
}

fn parse_pairs(text: &str, format: &str, origin: &str) -> Result<Pairs> {
    match format {
        "env" | "dotenv" => {
            let entries = crate::dotenv::parse(text)
                .map_err(|e| Error::new(format!("failed to parse \"{origin}\": {e}")))?;
            Ok(entries.into_iter().map(|e| (e.key, e.value)).collect())
        }
        "json" => {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Error::new(format!("failed to parse \"{origin}\" as JSON: {e}")))?;
            let serde_json::Value::Object(map) = v else {
                return Err(Error::new(format!(
                    "failed to parse \"{origin}\": expected a flat JSON object"
                )));
            };
            Ok(map
                .into_iter()
                .map(|(k, v)| {
                    let text = SecretValue::json(v).to_text();
                    (k, Zeroizing::new(text.expose().to_owned()))
                })
                .collect())
        }
        other => Err(Error::usage(format!(
            "unsupported format (use env or json): \"{other}\""
        ))),
    }
}

fn format_for(explicit: Option<&str>, path: &str) -> String {
    match explicit {
        Some(f) => f.to_lowercase(),
        None if Path::new(path).extension().is_some_and(|e| e == "json") => "json".into(),
        None => "env".into(),
    }
}

/// `secret pull [-o FILE] [--format env|json]`.
pub(crate) fn pull(project: &Project, args: PullArgs, printer: &mut Printer) -> Result<u8> {
    let format = args.format.to_lowercase();
    if !matches!(format.as_str(), "env" | "json") {
        return Err(Error::usage(format!(
            "unsupported format (use env or json): \"{}\"",
            args.format
        )));
    }
    let session = project.session()?;
    let decls: Vec<&Declaration> = session.decls.iter().collect();
    let results = session.read_many(&decls);
    let mut values: BTreeMap<String, SecretValue> = BTreeMap::new();
    for (d, r) in decls.iter().zip(results) {
        match r {
            Ok(Some(v)) => {
                values.insert(d.name.clone(), v);
            }
            Ok(None) => printer.warn(&format!("Skipping `{}`: secret is not initialized", d.name)),
            Err(e) => printer.warn(&format!("Skipping `{}`: {e}", d.name)),
        }
    }
    // On a masked stdout, print the mask itself rather than a masked rendering (which would
    // still show quoting and length hints).
    let masked = args.output.is_none() && printer.masker.enabled();
    let shown = |v: &SecretValue| -> crate::secret_value::SecretString {
        if masked {
            crate::secret_value::SecretString::from(crate::printer::MASK)
        } else {
            v.to_text()
        }
    };
    let body = match format.as_str() {
        "json" => {
            let map: serde_json::Map<String, serde_json::Value> = values
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::Value::String(shown(v).expose().to_owned()),
                    )
                })
                .collect();
            let mut s = Zeroizing::new(
                serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default(),
            );
            s.push('\n');
            s
        }
        _ if masked => Zeroizing::new(
            values
                .keys()
                .map(|k| format!("{k}={}\n", crate::printer::MASK))
                .collect(),
        ),
        _ => {
            let texts: Vec<(String, crate::secret_value::SecretString)> = values
                .iter()
                .map(|(k, v)| (k.clone(), v.to_text()))
                .collect();
            crate::dotenv::render(texts.iter().map(|(k, v)| (k.as_str(), v.expose())))
        }
    };
    // Values leaving in clear text (a file, or an unmasked stdout) are announced first (CI mode).
    if !masked {
        for v in values.values() {
            printer.reveal_json(v.expose());
        }
    }
    match &args.output {
        Some(path) => {
            crate::fsx::write_locked_exact(path, body.as_bytes(), 0o600).map_err(|e| {
                let (cause, hint) = crate::fsx::write_error(&e, path);
                Error::new(format!("failed to write \"{}\": {cause}", path.display()))
                    .with_hint_if(hint)
            })?;
            printer.success(&format!(
                "Wrote {} secret(s) to {}",
                values.len(),
                path.display()
            ));
        }
        None => {
            for v in values.values() {
                printer.masker.register(v.to_text().expose());
            }
            printer.stdout(&body);
        }
    }
    Ok(0)
}

/// `secret push [--input FILE] [--format env|json]`.
pub(crate) fn push(project: &Project, args: PushArgs, printer: &mut Printer) -> Result<u8> {
    let format = args.format.to_lowercase();
    let pairs = read_pairs(&args.input, &format)?;
    let session = project.session()?;
    if let Some(k) = pairs
        .keys()
        .find(|k| !session.decls.iter().any(|d| &d.name == *k))
    {
        return Err(Error::new(format!(
            "validation failed: key \"{k}\" is not declared as a secret"
        ))
        .with_hint("declare it under the component's `secrets.vars`, or use `atmos secret import` to skip undeclared keys"));
    }
    // Every target first: a declaration problem stops the push before anything is written.
    let mut writes = Vec::with_capacity(pairs.len());
    for (k, v) in &pairs {
        printer.masker.register(v);
        writes.push((k.as_str(), session.resolve(session.find(k)?)?, v.as_str()));
    }
    write_in_order("push", &writes)?;
    printer.success(&format!(
        "Pushed {} secret(s) {}",
        pairs.len(),
        session.where_()
    ));
    Ok(0)
}

/// Writes each `(name, target, value)` in order. On the first failure the error says which
/// names were written before it (the backends hold their new values now) and which were not,
/// so nobody has to guess what a half-done `push` or `import` left behind.
fn write_in_order(verb: &str, writes: &[(&str, Target, &str)]) -> Result<()> {
    for (i, (name, target, value)) in writes.iter().enumerate() {
        if let Err(e) = target.write(&SecretValue::text(*value)) {
            let names = |w: &[(&str, Target, &str)]| {
                w.iter()
                    .map(|(n, _, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let landed = if i == 0 {
                "none was written".to_owned()
            } else {
                format!("written: {}", names(&writes[..i]))
            };
            return Err(e
                .context(format!(
                    "{verb} stopped at `{name}`: {i} of {} secret(s) written ({landed}; not written: {})",
                    writes.len(),
                    names(&writes[i..])
                ))
                .with_hint(format!(
                    "fix the cause, then run the same `{verb}` again: values already written are written again unchanged"
                )));
        }
    }
    Ok(())
}

/// `secret import FILE|NAME [--from-*]`.
pub(crate) fn import(project: &Project, args: ImportArgs, printer: &mut Printer) -> Result<u8> {
    let store_mode = args.from_store.is_some()
        || args.from_stack.is_some()
        || args.from_component.is_some()
        || args.from_key.is_some();
    if store_mode {
        return import_from_store(project, &args, printer);
    }
    let format = format_for(args.format.as_deref(), &args.source);
    let pairs = read_pairs(&args.source, &format)?;
    let session = project.session()?;
    let mut imported = 0usize;
    let mut skipped = 0usize;
    let mut writes = Vec::new();
    for (k, v) in &pairs {
        let Some(decl) = session.decls.iter().find(|d| &d.name == k) else {
            printer.warn(&format!("Skipping undeclared key `{k}`"));
            skipped += 1;
            continue;
        };
        printer.masker.register(v);
        if args.dry_run {
            printer.info(&format!("Would import `{k}`"));
        } else {
            writes.push((k.as_str(), session.resolve(decl)?, v.as_str()));
        }
        imported += 1;
    }
    write_in_order("import", &writes)?;
    if args.dry_run {
        printer.info(&format!(
            "Dry run: {imported} would be imported, {skipped} skipped (undeclared)"
        ));
    } else {
        printer.success(&format!(
            "Imported {imported} secret(s), skipped {skipped} undeclared"
        ));
    }
    Ok(0)
}

fn import_from_store(project: &Project, args: &ImportArgs, printer: &mut Printer) -> Result<u8> {
    if args.format.is_some() {
        return Err(Error::usage(
            "mutually exclusive flags provided: --format applies to file imports, not --from-*",
        ));
    }
    let session = project.session()?;
    let decl = session.find(&args.source)?.clone();
    let source_name = match (&args.from_store, &decl.backend) {
        (Some(s), _) => s.clone(),
        (None, Backend::Store(s)) => s.clone(),
        (None, _) => {
            return Err(Error::usage(format!(
                "import source store is required: secret `{}` is not store-backed; pass --from-store",
                decl.name
            )));
        }
    };
    let from_stack = args.from_stack.clone().unwrap_or_default();
    let from_component = args.from_component.clone().unwrap_or_default();
    let key = args.from_key.clone().unwrap_or_else(|| decl.name.clone());
    let coord = Coordinate {
        scope: match (from_stack.is_empty(), from_component.is_empty()) {
            (_, false) => Scope::Instance,
            (false, true) => Scope::Stack,
            (true, true) => Scope::Global,
        },
        stack: from_stack.clone(),
        component: from_component.clone(),
        key: key.clone(),
    };
    let source = session.store_target(&source_name, coord, &key)?;
    let value = match source.read()? {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err(Error::new(format!(
                "failed to read import source value: store \"{source_name}\" (stack=\"{from_stack}\" component=\"{from_component}\" key=\"{key}\"): not found"
            )));
        }
        Err(e) => {
            return Err(Error::from(e).context(format!(
                "failed to read import source value: store \"{source_name}\" (stack=\"{from_stack}\" component=\"{from_component}\" key=\"{key}\")"
            )));
        }
    };
    printer.masker.register_json(value.expose());
    if args.dry_run {
        printer.info(&format!(
            "Would import `{}` from the source coordinate (source verified readable)",
            decl.name
        ));
        return Ok(0);
    }
    session.resolve(&decl)?.write(&value)?;
    printer.success(&format!(
        "Imported `{}` from its source coordinate (the source value was left in place)",
        decl.name
    ));
    Ok(0)
}
