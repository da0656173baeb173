//! Owns the load-time YAML functions shared by `atmos.yaml` and stack manifests: `!env`, `!exec`,
//! `!include` (and `!include.raw`), `!cwd`, `!repo-root`, plus the argument splitter they use.
//!
//! Each evaluator returns a plain message on failure; the caller wraps it with the file it was
//! reading. Functions that need a component (`!secret`, `!store`, …) live in `stack::functions`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::yaml::{self, Node};

/// Splits function arguments on whitespace; `"…"` and `'…'` group words (quotes removed).
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                has = true;
            }
            None if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            None => {
                cur.push(c);
                has = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in `{text}`"));
    }
    if has {
        out.push(cur);
    }
    Ok(out)
}

/// The text of a tagged scalar (`!env NAME` → `NAME`); collections are an error.
pub fn tag_text(tag: &str, value: &Node) -> Result<String, String> {
    value
        .scalar_text()
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| {
            format!(
                "`{tag}` expects a string argument, found a {}",
                value.type_name()
            )
        })
}

/// `!env NAME [default]`: `lookup` (component `env`, then OS env), then the default, else `""`.
pub fn eval_env(args: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Node, String> {
    let parts = split_args(args)?;
    match parts.as_slice() {
        [name] => Ok(Node::Str(lookup(name).unwrap_or_default())),
        [name, default] => Ok(Node::Str(lookup(name).unwrap_or_else(|| default.clone()))),
        _ => Err(format!(
            "invalid `!env` arguments `{args}`: expected `NAME` or `NAME default`"
        )),
    }
}

/// `!exec cmd`: runs `sh -c cmd`; stdout minus trailing newlines, JSON-decoded when possible.
pub fn eval_exec(cmd: &str) -> Result<Node, String> {
    if cmd.trim().is_empty() {
        return Err("`!exec` needs a command".to_owned());
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| format!("`!exec {cmd}` could not start: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "`!exec {cmd}` failed with {}: {}",
            out.status,
            stderr.trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(json_or_string(text.trim_end_matches(['\n', '\r'])))
}

/// `!cwd [path]`: the current directory, joined with `path` when given.
pub fn eval_cwd(args: &str) -> Result<Node, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("`!cwd`: {e}"))?;
    let arg = args.trim();
    let p = if arg.is_empty() { cwd } else { cwd.join(arg) };
    Ok(Node::Str(p.display().to_string()))
}

/// `!repo-root [default]`: the nearest ancestor of the current directory holding `.git`, else the
/// default, else an error.
pub fn eval_repo_root(args: &str) -> Result<Node, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("`!repo-root`: {e}"))?;
    if let Some(root) = cwd.ancestors().find(|d| d.join(".git").exists()) {
        return Ok(Node::Str(root.display().to_string()));
    }
    let default = args.trim();
    if default.is_empty() {
        Err("`!repo-root`: not inside a git repository and no default given".to_owned())
    } else {
        Ok(Node::Str(default.to_owned()))
    }
}

/// JSON-decodes `text` when it is valid JSON, else returns it as a string.
pub fn json_or_string(text: &str) -> Node {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => yaml::from_json(&v),
        Err(_) => Node::Str(text.to_owned()),
    }
}

/// Resolves an `!include` path: absolute as is, `./`/`../` relative to the including file's
/// directory, anything else relative to `base`.
pub fn include_path(path: &str, including_file: &Path, base: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else if path.starts_with("./") || path.starts_with("../") {
        including_file.parent().unwrap_or(Path::new(".")).join(p)
    } else {
        base.join(p)
    }
}

/// `!include path [yq]` / `!include.raw path`: reads the file, parses YAML/JSON by extension
/// (anything else is a string; `raw` always is), then applies the yq query.
pub fn eval_include(
    args: &str,
    raw: bool,
    including_file: &Path,
    base: &Path,
) -> Result<Node, String> {
    let parts = split_args(args)?;
    let (path, query) = match parts.as_slice() {
        [p] => (p, None),
        [p, q] => (p, Some(q)),
        _ => {
            return Err(format!(
                "invalid `!include` arguments `{args}`: expected `path` or `path query`"
            ));
        }
    };
    if path.starts_with("http://") || path.starts_with("https://") {
        return Err(format!(
            "`!include {path}`: remote includes are not supported"
        ));
    }
    let file = include_path(path, including_file, base);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("`!include {path}`: cannot read `{}`: {e}", file.display()))?;
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let node = if raw {
        Node::Str(text)
    } else {
        match ext.as_str() {
            "yaml" | "yml" => {
                yaml::parse(&text, &file.display().to_string()).map_err(|e| e.to_string())?
            }
            "json" => serde_json::from_str::<serde_json::Value>(&text)
                .map(|v| yaml::from_json(&v))
                .map_err(|e| format!("invalid JSON in `{}`: {e}", file.display()))?,
            // As atmos: HCL files become maps of their attributes and blocks.
            "tfvars" | "tf" | "hcl" => super::hcl::parse(&text, &file.display().to_string())?,
            _ => Node::Str(text),
        }
    };
    match query {
        Some(q) => yaml::query(&node, q).map_err(|e| format!("`!include {args}`: {e}")),
        None => Ok(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_args() {
        assert_eq!(
            split_args(r#"A "b c" 'd'"#),
            Ok(vec!["A".into(), "b c".into(), "d".into()])
        );
        assert_eq!(split_args(r#"A """#), Ok(vec!["A".into(), String::new()]));
        assert!(split_args("A \"b").is_err());
    }

    #[test]
    fn env_lookup_then_default() {
        let look = |n: &str| (n == "SET").then(|| "v".to_owned());
        assert_eq!(eval_env("SET d", look), Ok(Node::Str("v".into())));
        assert_eq!(eval_env("UNSET d", look), Ok(Node::Str("d".into())));
        assert_eq!(eval_env("UNSET", look), Ok(Node::Str(String::new())));
        assert!(eval_env("", look).is_err());
        assert!(eval_env("a b c", look).is_err());
    }

    #[test]
    fn exec_decodes_json() {
        assert_eq!(
            eval_exec("echo '{\"a\": 1}'")
                .ok()
                .and_then(|n| n.get("a").cloned()),
            Some(Node::Int(1))
        );
        assert_eq!(eval_exec("printf 'x\\n\\n'"), Ok(Node::Str("x".into())));
        assert!(eval_exec("exit 3").is_err());
    }

    #[test]
    fn cwd_and_repo_root() {
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(eval_cwd(""), Ok(Node::Str(cwd.display().to_string())));
        assert_eq!(
            eval_cwd("x"),
            Ok(Node::Str(cwd.join("x").display().to_string()))
        );
        // The crate is built from a git checkout (worktree), so a root is found.
        assert!(eval_repo_root("").is_ok());
    }

    #[test]
    fn include_paths() {
        let f = Path::new("/p/stacks/a/b.yaml");
        let base = Path::new("/p");
        assert_eq!(
            include_path("./x.yaml", f, base),
            PathBuf::from("/p/stacks/a/./x.yaml")
        );
        assert_eq!(include_path("x.yaml", f, base), PathBuf::from("/p/x.yaml"));
        assert_eq!(
            include_path("/abs.yaml", f, base),
            PathBuf::from("/abs.yaml")
        );
    }
}
