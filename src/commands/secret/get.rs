//! `secret get NAME [--format text|json|env] [--path P] [--raw]`.
//!
//! Every copy of the value made here (the parsed structure for `--path`, the output line) is
//! wiped when dropped.

use zeroize::Zeroizing;

use crate::cli::{GetArgs, GetFormat};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secret_value::SecretValue;
use crate::session::Project;

/// Prints one secret's value on stdout (masked unless `--mask=false`).
pub(crate) fn get(project: &Project, args: GetArgs, printer: &mut Printer) -> Result<u8> {
    if args.raw && matches!(args.format, Some(GetFormat::Json | GetFormat::Env)) {
        return Err(Error::usage(
            "--raw is text-only and cannot be combined with --format=json or --format=env",
        ));
    }
    let session = project.session()?;
    let decl = session.find(&args.name)?.clone();
    let value = session.get_value(&decl)?;
    let value = match args.path.as_deref() {
        Some(p) => select_json(structured(&value).expose(), p)
            .map(SecretValue::json)
            .map_err(|e| {
                Error::new(format!(
                    "cannot apply path `{p}` to secret `{}`: {e}",
                    decl.name
                ))
            })?,
        None => value,
    };
    if printer.masker.enabled() {
        printer.masker.register_json(value.expose());
    } else {
        // About to print it in clear text: in CI mode the runner learns to mask it first.
        printer.reveal_json(value.expose());
    }
    let text = value.to_text();
    let out = Zeroizing::new(if args.raw {
        text.expose().to_owned()
    } else {
        match args.format.unwrap_or_default() {
            GetFormat::Text => format!("{}\n", text.expose()),
            GetFormat::Json => format!("{}\n", value.expose()),
            GetFormat::Env => format!("{}={}\n", decl.name, text.expose()),
        }
    });
    printer.stdout(&out);
    Ok(0)
}

/// The value to apply `--path` to: a JSON object or array stored as text is parsed first (SOPS
/// and most stores hold strings). A [`SecretValue`], so the copy is wiped on drop.
fn structured(value: &SecretValue) -> SecretValue {
    match value.as_str() {
        Some(s) if s.trim_start().starts_with(['{', '[']) => {
            SecretValue::json(serde_json::from_str(s).unwrap_or_else(|_| value.expose().clone()))
        }
        _ => SecretValue::json(value.expose().clone()),
    }
}

/// Applies a yq-style path (`.a.b[0]`); a path that selects nothing is an error here. The
/// intermediate trees are wiped before they are dropped.
fn select_json(
    v: &serde_json::Value,
    path: &str,
) -> std::result::Result<serde_json::Value, String> {
    let mut tree = crate::yaml::from_json(v);
    let found = crate::yaml::query(&tree, path);
    crate::yaml::zeroize(&mut tree);
    let mut node = found?;
    let selected = if node.is_null() {
        Err("the path selects nothing".into())
    } else {
        Ok(crate::yaml::to_json(&node))
    };
    crate::yaml::zeroize(&mut node);
    selected
}

#[cfg(test)]
mod tests {
    use super::select_json;

    #[test]
    fn paths() {
        let v = serde_json::json!({"a": {"b": [1, {"c": "x"}]}, "k k": 2});
        assert_eq!(
            select_json(&v, ".a.b[1].c").unwrap(),
            serde_json::json!("x")
        );
        assert_eq!(select_json(&v, ".[\"k k\"]").unwrap(), serde_json::json!(2));
        assert_eq!(select_json(&v, ".").unwrap(), v);
        assert!(select_json(&v, ".missing").is_err());
        assert!(select_json(&v, ".a.b[9]").is_err());
    }
}
