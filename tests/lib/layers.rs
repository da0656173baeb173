//! The layer rule of `docs/architecture.md`, checked on the source tree.
//!
//! Reads every file under `src/`, finds the module paths it names (`use crate::…`, inline
//! `crate::a::b`, `super::…`), and fails when
//! - a top-level module imports one that is not in its allow-list below (an upward or sideways
//!   arrow the architecture does not draw), or
//! - files of one module import each other in a circle (for example `store/registry.rs` ↔
//!   `store/sops.rs`). A parent module (`mod.rs`) naming its own children does not count: that is
//!   how Rust declares and re-exports them.
//!
//! The scan is textual (comments and string literals are stripped first); it is a guard rail for
//! reviewers, not a compiler.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The primitives: small modules anyone may use. They may import each other, as long as the
/// top-level graph has no circle (checked below).
const PRIMITIVES: &[&str] = &[
    "runtime",
    "yaml",
    "secret_value",
    "printer",
    "prompt",
    "env",
    "fsx",
    "dotenv",
    "child",
    "error",
    "ci",
    "goatmos",
    "hardening",
];

/// Which top-level modules each non-primitive module may import besides the primitives.
/// Anything not listed is a layer violation. Keep in step with docs/architecture.md.
const ALLOWED: &[(&str, &[&str])] = &[
    // the crate root (`run`) and the binary: glue, may use anything
    ("", &["*"]),
    ("main", &["*"]),
    // layer 1: clap types only
    ("cli", &[]),
    // layer 2: orchestration
    (
        "commands",
        &[
            "cli", "session", "config", "stack", "secrets", "auth", "store", "sops", "template",
        ],
    ),
    // layer 3: one command's view of the project
    (
        "session",
        &[
            "config", "stack", "secrets", "auth", "store", "sops", "template",
        ],
    ),
    // layer 4: the domain
    ("stack", &["config", "secrets", "template"]),
    ("store", &["config", "secrets", "auth", "sops", "template"]),
    ("auth", &["config"]),
    ("secrets", &["config", "template"]),
    ("config", &["template"]),
    // layer 5: the pure SOPS codec and the template engine
    ("sops", &[]),
    ("template", &[]),
];

/// A source file: its module path (`["store", "registry"]`) and whether it is a module root.
struct SourceFile {
    module: Vec<String>,
    is_root: bool,
    text: String,
}

fn module_of(src: &Path, path: &Path) -> (Vec<String>, bool) {
    let rel = path.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    let last = parts.last().cloned().unwrap_or_default();
    let is_root = last == "mod" || last == "lib";
    if last == "mod" || last == "lib" {
        parts.pop();
    }
    (parts, is_root)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Removes comments and the contents of string and char literals (a path inside a string or a
/// doc comment is not an import). Code in `#[cfg(test)]` modules counts: a test that reaches
/// upward still couples the layers.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            i += 2;
            while i < c.len() && !(c[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if c[i] == 'r'
            && !prev_ident
            && (at(i + 1) == '"'
                || (at(i + 1) == '#' && {
                    let mut j = i + 1;
                    while at(j) == '#' {
                        j += 1;
                    }
                    at(j) == '"'
                }))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#')) {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && at(i + 1) == '\\' {
            // escaped char literal: '\n', '\'', '\u{..}'
            i += 3;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c[i] == '\'' && at(i + 2) == '\'' {
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&base, &inner[start..], out);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree).trim();
        out.push(join(prefix, tree));
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}::{b}"),
    }
}

/// Every module path a file names, as written (`crate::x::y`, `super::z`, `self::w`).
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    // use statements (with braces)
    let mut rest = code;
    while let Some(pos) = rest.find("use ") {
        let before_ok = pos == 0
            || !rest.as_bytes()[pos - 1].is_ascii_alphanumeric()
                && rest.as_bytes()[pos - 1] != b'_';
        let after = &rest[pos + 4..];
        if before_ok && let Some(end) = after.find(';') {
            let stmt: String = after[..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if stmt.starts_with("crate::")
                || stmt.starts_with("super::")
                || stmt.starts_with("self::")
            {
                expand("", &stmt, &mut paths);
            }
        }
        rest = &rest[pos + 4..];
    }
    // inline paths
    let re = regex::Regex::new(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)").expect("regex");
    for m in re.find_iter(code) {
        paths.push(m.as_str().to_string());
    }
    paths
}

/// Resolves a written path to the deepest module of `modules` it names.
fn resolve(
    from: &[String],
    from_root: bool,
    path: &str,
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").map(str::trim).collect();
    let mut base: Vec<String> = match segs.first().copied() {
        Some("crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some("super") | Some("self") => {
            // `self` in a file module is the file; `super` is its parent. A module root
            // (`mod.rs`) is the directory itself.
            let mut b = from.to_vec();
            if !from_root {
                // file module: self = from, super = parent
            }
            while let Some(&s) = segs.first() {
                match s {
                    "super" => {
                        b.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                segs.remove(0);
            }
            b
        }
        _ => return None,
    };
    let mut best = if base.is_empty() {
        None
    } else {
        Some(base.clone())
    };
    for s in segs {
        base.push(s.to_string());
        if modules.contains(&base) {
            best = Some(base.clone());
        } else {
            break;
        }
    }
    best
}

fn allowed(top: &str) -> Option<&'static [&'static str]> {
    if PRIMITIVES.contains(&top) {
        return Some(PRIMITIVES);
    }
    ALLOWED.iter().find(|(m, _)| *m == top).map(|(_, a)| *a)
}

/// Finds circles among the files of one module (edges parent → own child are ignored).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on: BTreeSet<Vec<String>>,
        next: usize,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit(t: &mut T<'_>, v: &Vec<String>) {
        t.index.insert(v.clone(), t.next);
        t.low.insert(v.clone(), t.next);
        t.next += 1;
        t.stack.push(v.clone());
        t.on.insert(v.clone());
        let succ: Vec<Vec<String>> = t
            .edges
            .get(v)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for w in succ {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low[v];
                t.low.insert(v.clone(), lv.min(lw));
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low[v];
                t.low.insert(v.clone(), lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = &w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<Vec<String>> = edges.keys().cloned().collect();
    for v in nodes {
        if !t.index.contains_key(&v) {
            visit(&mut t, &v);
        }
    }
    t.out
}

#[test]
fn layers_point_down_and_modules_have_no_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let mut parsed = Vec::new();
    for path in &files {
        let (module, is_root) = module_of(&src, path);
        let text = strip(&std::fs::read_to_string(path).expect("read source"));
        parsed.push(SourceFile {
            module,
            is_root,
            text,
        });
    }
    let modules: BTreeSet<Vec<String>> = parsed.iter().map(|f| f.module.clone()).collect();

    let mut problems = Vec::new();
    let mut file_edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut top_edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for f in &parsed {
        let top = f.module.first().cloned().unwrap_or_default();
        let Some(allow) = allowed(&top) else {
            problems.push(format!(
                "module `{top}` is not in the layer table of tests (ALLOWED)"
            ));
            continue;
        };
        for p in named_paths(&f.text) {
            let Some(target) = resolve(&f.module, f.is_root, &p, &modules) else {
                continue;
            };
            let ttop = target.first().cloned().unwrap_or_default();
            if ttop.is_empty() || ttop == top {
                // same top-level module: record a file edge (not parent → own child)
                let is_child_of_self =
                    target.len() > f.module.len() && target.starts_with(&f.module);
                if ttop == top && target != f.module && !is_child_of_self {
                    file_edges
                        .entry(f.module.clone())
                        .or_default()
                        .insert(target);
                }
                continue;
            }
            if !top.is_empty() && top != "main" {
                top_edges
                    .entry(vec![top.clone()])
                    .or_default()
                    .insert(vec![ttop.clone()]);
            }
            let primitive = PRIMITIVES.contains(&ttop.as_str());
            if !(allow.contains(&"*") || primitive || allow.contains(&ttop.as_str())) {
                problems.push(format!(
                    "src/{}: imports `{}` ({}), which layer `{top}` may not use",
                    f.module.join("/"),
                    target.join("::"),
                    p
                ));
            }
        }
    }
    for c in circles(&top_edges) {
        let names: Vec<String> = c.iter().map(|m| m.join("/")).collect();
        problems.push(format!(
            "circle between top-level modules: {}",
            names.join(" ↔ ")
        ));
    }
    for c in circles(&file_edges) {
        let names: Vec<String> = c.iter().map(|m| m.join("/")).collect();
        problems.push(format!("import circle: {}", names.join(" ↔ ")));
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "layer rule broken:\n  {}",
        problems.join("\n  ")
    );
}
