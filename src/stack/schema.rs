//! Owns checking stack manifests against the Atmos manifest JSON Schema that `atmos.yaml` names
//! (`schemas.atmos.manifest`, or `validate stacks --schemas-atmos-manifest`), as
//! `atmos validate stacks` does (`internal/exec/validate_stacks.go`).
//!
//! The schema path is used as written when that file exists (relative to the current
//! directory), else relative to `base_path`, as atmos resolves it. A URL is refused: schemas are
//! never fetched. The schema is compiled once (JSON Schema 2020-12 unless it says otherwise;
//! `$ref`s reach local files only) and every manifest's document, as parsed (YAML tags kept as
//! their `!tag value` text, as atmos hands them to its validator), is validated. Each violation
//! is one [`Violation`]: its JSON path (`components.terraform.vpc.vars`, `[0]` for list items)
//! and the line of the deepest key on that path. As atmos, the "one of these branches should
//! have matched" wrappers of `oneOf`/`anyOf` are dropped for their specific leaves, type
//! mismatches of one place are coalesced (`want object or string, but got number`), and a type
//! mismatch is dropped when a more specific finding names the same place or one below it.

use std::path::{Path, PathBuf};

use boon::{Compiler, ErrorKind, SchemaIndex, Schemas, ValidationError};

use crate::yaml::{self, Node};

/// One schema violation in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending value (`(root)` for the document).
    pub path: String,
    /// 1-based line of the deepest key on the path, when known.
    pub line: Option<usize>,
    /// The validator's message.
    pub message: String,
}

/// A compiled manifest schema.
pub struct ManifestSchema {
    schemas: Schemas,
    index: SchemaIndex,
    /// The schema file, for messages.
    pub file: PathBuf,
}

impl std::fmt::Debug for ManifestSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManifestSchema({})", self.file.display())
    }
}

/// Where `manifest` (as written in `atmos.yaml`) points: the path itself when that file exists,
/// else the path under `base_path`. A URL, or a path that exists in neither place, is an error
/// saying how to configure it.
pub fn resolve(manifest: &str, base_path: &Path) -> Result<PathBuf, String> {
    let manifest = manifest.trim();
    if manifest.contains("://") {
        return Err(format!(
            "the Atmos manifest JSON Schema `{manifest}` is a URL; schemas are not fetched: download it and name the local file in `schemas.atmos.manifest`"
        ));
    }
    let as_is = PathBuf::from(manifest);
    if as_is.is_file() {
        return Ok(as_is);
    }
    let under_base = base_path.join(manifest);
    if under_base.is_file() {
        return Ok(under_base);
    }
    Err(format!(
        "schema file `{manifest}` not found (also looked in `{}`); set `schemas.atmos.manifest` in atmos.yaml or `--schemas-atmos-manifest` to an absolute path or one relative to base_path",
        under_base.display()
    ))
}

impl ManifestSchema {
    /// Reads and compiles the schema at `file`.
    pub fn load(file: &Path) -> Result<Self, String> {
        let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read the Atmos manifest JSON Schema: {e}"))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("the Atmos manifest JSON Schema is not valid JSON: {e}"))?;
        let loc = file.to_string_lossy().into_owned();
        let mut compiler = Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler
            .add_resource(&loc, json)
            .map_err(|e| format!("the Atmos manifest JSON Schema does not load: {e}"))?;
        let mut schemas = Schemas::new();
        let index = compiler
            .compile(&loc, &mut schemas)
            .map_err(|e| format!("the Atmos manifest JSON Schema does not compile: {e}"))?;
        Ok(Self {
            schemas,
            index,
            file,
        })
    }

    /// The violations of the manifest `doc`; `text` is its source, for line numbers.
    pub fn check(&self, doc: &Node, text: &str) -> Vec<Violation> {
        // An empty manifest is an empty map to atmos.
        let value = match doc {
            Node::Null => serde_json::json!({}),
            other => yaml::to_json(other),
        };
        let Err(err) = self.schemas.validate(&value, self.index) else {
            return Vec::new();
        };
        let mut leaves = Vec::new();
        collect(&err, &mut leaves);
        if leaves.is_empty() {
            leaves.push((err.instance_location.tokens_path(), err.kind.to_string()));
        }
        let lines = yaml::key_lines(text);
        finalize(leaves)
            .into_iter()
            .map(|(tokens, message)| Violation {
                path: render_path(&tokens),
                line: line_of(&lines, &tokens),
                message,
            })
            .collect()
    }
}

/// A location as path tokens: property names, and list indexes as their decimal text.
type Tokens = Vec<Token>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Prop(String),
    Item(usize),
}

trait TokensPath {
    fn tokens_path(&self) -> Tokens;
}

impl TokensPath for boon::InstanceLocation<'_> {
    fn tokens_path(&self) -> Tokens {
        self.tokens
            .iter()
            .map(|t| match t {
                boon::InstanceToken::Prop(p) => Token::Prop(p.to_string()),
                boon::InstanceToken::Item(i) => Token::Item(*i),
            })
            .collect()
    }
}

/// The leaves of the error tree: concrete findings, not the `oneOf`/`anyOf`/`$ref` wrappers.
fn collect(err: &ValidationError, out: &mut Vec<(Tokens, String)>) {
    if err.causes.is_empty() {
        if !matches!(
            err.kind,
            ErrorKind::Group | ErrorKind::Schema { .. } | ErrorKind::Reference { .. }
        ) {
            out.push((err.instance_location.tokens_path(), err.kind.to_string()));
        }
        return;
    }
    for c in &err.causes {
        collect(c, out);
    }
}

/// `want X, but got Y` split into its parts.
fn type_mismatch(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("want ")?;
    let (want, got) = rest.split_once(", but got ")?;
    Some((want, got))
}

/// Dedupes, coalesces type mismatches of one place, and drops the type mismatches another
/// finding makes redundant (a specific one at the same place, or any below it).
fn finalize(leaves: Vec<(Tokens, String)>) -> Vec<(Tokens, String)> {
    let mut specific: Vec<(Tokens, String)> = Vec::new();
    let mut types: Vec<(Tokens, String, Vec<String>)> = Vec::new();
    for (tokens, message) in leaves {
        if let Some((want, got)) = type_mismatch(&message) {
            match types.iter_mut().find(|(t, g, _)| *t == tokens && g == got) {
                Some((_, _, wants)) => {
                    if !wants.iter().any(|w| w == want) {
                        wants.push(want.to_owned());
                    }
                }
                None => types.push((tokens, got.to_owned(), vec![want.to_owned()])),
            }
        } else if !specific.contains(&(tokens.clone(), message.clone())) {
            specific.push((tokens, message));
        }
    }
    let all: Vec<Tokens> = specific
        .iter()
        .map(|(t, _)| t.clone())
        .chain(types.iter().map(|(t, _, _)| t.clone()))
        .collect();
    let mut out = specific.clone();
    for (tokens, got, wants) in types {
        let shadowed = specific.iter().any(|(t, _)| *t == tokens)
            || all
                .iter()
                .any(|t| t.len() > tokens.len() && t[..tokens.len()] == tokens[..]);
        if !shadowed {
            out.push((
                tokens,
                format!("want {}, but got {got}", wants.join(" or ")),
            ));
        }
    }
    out.sort();
    out
}

impl PartialOrd for Token {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Token {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Token::Item(a), Token::Item(b)) => a.cmp(b),
            (Token::Prop(a), Token::Prop(b)) => a.cmp(b),
            (Token::Item(_), Token::Prop(_)) => std::cmp::Ordering::Less,
            (Token::Prop(_), Token::Item(_)) => std::cmp::Ordering::Greater,
        }
    }
}

/// `components.terraform.vpc.vars`, `import[2]`; `(root)` for the document.
fn render_path(tokens: &[Token]) -> String {
    let mut out = String::new();
    for t in tokens {
        match t {
            Token::Prop(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(p);
            }
            Token::Item(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "(root)".to_owned()
    } else {
        out
    }
}

/// The line of the deepest key on `tokens` that the document has.
fn line_of(lines: &[(Vec<String>, usize)], tokens: &[Token]) -> Option<usize> {
    let want: Vec<String> = tokens
        .iter()
        .map(|t| match t {
            Token::Prop(p) => p.clone(),
            Token::Item(i) => i.to_string(),
        })
        .collect();
    (1..=want.len()).rev().find_map(|n| {
        lines
            .iter()
            .find(|(p, _)| p[..] == want[..n])
            .map(|(_, l)| *l)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "import": {"type": "array", "items": {"type": "string"}},
        "vars": {"oneOf": [{"type": "string", "pattern": "^!include"}, {"type": "object"}]},
        "components": {"type": "object"}
      }
    }"#;

    fn schema() -> (tempfile::TempDir, ManifestSchema) {
        let d = tempfile::tempdir().expect("tmp");
        let f = d.path().join("s.json");
        std::fs::write(&f, SCHEMA).expect("write");
        let s = ManifestSchema::load(&f).expect("compiles");
        (d, s)
    }

    fn check(s: &ManifestSchema, text: &str) -> Vec<Violation> {
        s.check(&yaml::parse(text, "t").expect("yaml"), text)
    }

    #[test]
    fn violations_have_paths_lines_and_coalesced_types() {
        let (_d, s) = schema();
        assert!(check(&s, "import: [a]\nvars: {x: 1}\n").is_empty());
        assert!(check(&s, "").is_empty());
        let v = check(&s, "import:\n  - a\n  - 3\nvars: 5\nextra: 1\n");
        let got: Vec<(String, Option<usize>, String)> =
            v.into_iter().map(|v| (v.path, v.line, v.message)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "(root)".to_owned(),
                    None,
                    "additionalProperties 'extra' not allowed".to_owned()
                ),
                (
                    "import[1]".to_owned(),
                    Some(1),
                    "want string, but got number".to_owned()
                ),
                (
                    "vars".to_owned(),
                    Some(4),
                    "want string or object, but got number".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn resolution_and_bad_schemas() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(d.path().join("schemas")).expect("mkdir");
        std::fs::write(d.path().join("schemas/m.json"), SCHEMA).expect("write");
        assert_eq!(
            resolve("schemas/m.json", d.path()).expect("found"),
            d.path().join("schemas/m.json")
        );
        let e = resolve("nope.json", d.path()).expect_err("missing");
        assert!(e.contains("schema file `nope.json` not found"), "{e}");
        let e = resolve("https://example.com/s.json", d.path()).expect_err("url");
        assert!(e.contains("not fetched"), "{e}");
        std::fs::write(d.path().join("bad.json"), "{").expect("write");
        let e = ManifestSchema::load(&d.path().join("bad.json")).expect_err("bad json");
        assert!(e.contains("not valid JSON"), "{e}");
        std::fs::write(d.path().join("bad2.json"), r#"{"type": 5}"#).expect("write");
        let e = ManifestSchema::load(&d.path().join("bad2.json")).expect_err("bad schema");
        assert!(e.contains("does not compile"), "{e}");
    }
}
