//! Owns `describe component --provenance`: for each value of a component instance, the manifest
//! file and line that set it, and how deep in the import tree that file is (1 = the stack's own
//! manifest). The origin of a value is the last write in merge order: stack-level sections, then
//! the type level, then the `metadata.inherits` bases, then the component, then `overrides`;
//! within one level, later files in import order win. `secrets.vars.<NAME>` thereby names the
//! manifest that declares the secret.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use super::{ComponentInstance, Stack, Stacks};
use crate::yaml::{self, Map, Node};

/// Where one value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The manifest, relative to the stacks base path.
    pub file: String,
    /// 1-based line of the key.
    pub line: usize,
    /// Import depth: 1 for the stack's manifest, 2 for what it imports, …
    pub depth: usize,
}

/// The sections a manifest can set, and that provenance reports (atmos' "schema" filter).
pub const SECTIONS: [&str; 9] = [
    "vars",
    "settings",
    "env",
    "secrets",
    "backend",
    "metadata",
    "providers",
    "hooks",
    "overrides",
];

/// The stack (manifest) an instance was built from.
pub fn stack_of<'a>(stacks: &'a Stacks, inst: &ComponentInstance) -> Option<&'a Stack> {
    stacks
        .stacks
        .values()
        .chain(&stacks.shadowed)
        .find(|s| s.manifest == inst.manifest)
}

/// The origin of every key path of `inst`'s sections (`["vars", "tags", "team"]`).
pub fn origins(
    base: &Path,
    stack: &Stack,
    inst: &ComponentInstance,
) -> BTreeMap<Vec<String>, Origin> {
    let depths = depths(base, stack);
    let ctype = inst.component_type.as_str();
    let mut bases: Vec<String> = match inst.section.get("inheritance") {
        Some(Node::Seq(s)) => s
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    // `inheritance` lists the nearest base first; the farthest is merged first.
    bases.reverse();
    let mut writes: Vec<(usize, usize, Vec<String>, Origin)> = Vec::new();
    for (index, file) in stack.files().iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let origin = |line| Origin {
            file: relative(base, file),
            line,
            depth: depths.get(&**file).copied().unwrap_or(2),
        };
        for (path, line) in yaml::key_lines(&text) {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let (level, target): (usize, &[&str]) = match p.as_slice() {
                ["overrides", rest @ ..] => (5, rest),
                [t, "overrides", rest @ ..] if *t == ctype => (5, rest),
                ["components", t, c, "overrides", rest @ ..] if *t == ctype && *c == inst.name => {
                    (5, rest)
                }
                ["components", t, c, rest @ ..] if *t == ctype && *c == inst.name => (4, rest),
                ["components", t, c, rest @ ..] if *t == ctype => {
                    match bases.iter().position(|b| b == c) {
                        Some(_) => (3, rest),
                        None => continue,
                    }
                }
                [t, rest @ ..] if *t == ctype => (2, rest),
                [s, ..] if SECTIONS.contains(s) && *s != "metadata" => (1, &p[..]),
                _ => continue,
            };
            if target.first().is_some_and(|s| SECTIONS.contains(s)) {
                let target = target.iter().map(|s| (*s).to_owned()).collect();
                writes.push((level, index, target, origin(line)));
            }
        }
    }
    writes.sort_by_key(|(level, index, ..)| (*level, *index));
    writes
        .into_iter()
        .map(|(_, _, path, origin)| (path, origin))
        .collect()
}

fn relative(base: &Path, file: &Path) -> String {
    file.strip_prefix(base)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Import depth of every file of the stack, breadth first from its manifest.
fn depths(base: &Path, stack: &Stack) -> HashMap<PathBuf, usize> {
    let key = |f: &Path| {
        let rel = relative(base, f);
        [".yaml.tmpl", ".yml.tmpl", ".yaml", ".yml"]
            .iter()
            .find_map(|e| rel.strip_suffix(e))
            .unwrap_or(&rel)
            .to_owned()
    };
    let mut out = HashMap::new();
    let mut queue = VecDeque::from([(stack.manifest.clone(), 1)]);
    while let Some((file, depth)) = queue.pop_front() {
        if out.contains_key(&file) {
            continue;
        }
        out.insert(file.clone(), depth);
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(doc) = yaml::parse(&text, "provenance") else {
            continue;
        };
        let specs: Vec<String> = match doc.get("import") {
            Some(Node::Seq(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Node::Str(s) => Some(s.clone()),
                    Node::Map(_) => i.get("path").and_then(Node::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for spec in specs {
            let spec = if spec.starts_with("./") || spec.starts_with("../") {
                let dir = file.parent().unwrap_or(base);
                key(&crate::config::load::normalize(&dir.join(&spec)))
            } else {
                spec.trim_start_matches('/').to_owned()
            };
            let spec = [".yaml", ".yml"]
                .iter()
                .find_map(|e| spec.strip_suffix(e))
                .unwrap_or(&spec)
                .to_owned();
            let glob = globset::Glob::new(&spec).ok().map(|g| g.compile_matcher());
            for f in stack.files().iter() {
                let k = key(f);
                if k == spec || glob.as_ref().is_some_and(|g| g.is_match(&k)) {
                    queue.push_back((f.to_path_buf(), depth + 1));
                }
            }
        }
    }
    out
}

/// `section` as YAML with a `# ● [1] file:line` comment on each line whose value has a known
/// origin, under atmos' legend; only the non-empty [`SECTIONS`].
pub fn render(section: &Map, origins: &BTreeMap<Vec<String>, Origin>, stack_file: &str) -> String {
    let mut out = String::from(
        "# Provenance Legend:\n#   ● [1] Defined in parent stack\n#   ○ [N] Inherited/imported (N=2+ levels deep)\n#   ∴ Computed/templated\n\n",
    );
    out.push_str(&format!("# Stack: {stack_file}\n\n"));
    let mut keys: Vec<&String> = section
        .keys()
        // atmos leaves `metadata` out of the annotated view.
        .filter(|k| SECTIONS.contains(&k.as_str()) && *k != "metadata")
        .filter(|k| match section.get(*k) {
            Some(Node::Map(m)) => !m.is_empty(),
            Some(Node::Seq(s)) => !s.is_empty(),
            Some(Node::Null) | None => false,
            Some(_) => true,
        })
        .collect();
    keys.sort();
    for k in keys {
        let mut path = vec![k.clone()];
        emit(k, &section[k.as_str()], &mut path, 0, origins, &mut out);
    }
    out
}

fn comment(
    origins: &BTreeMap<Vec<String>, Origin>,
    path: &[String],
    value: &Node,
) -> Option<String> {
    // A map shows the origin of its first key (as atmos), a value its own.
    let first_leaf = |v: &Node| {
        let mut p = path.to_vec();
        let mut cur = v;
        while let Node::Map(m) = cur {
            let Some(k) = m.keys().min() else { break };
            p.push(k.clone());
            cur = &m[k.as_str()];
        }
        p
    };
    let o = origins
        .get(&first_leaf(value))
        .or_else(|| origins.get(path))?;
    let mark = if o.depth <= 1 { "●" } else { "○" };
    Some(format!("# {mark} [{}] {}:{}", o.depth, o.file, o.line))
}

fn annotate(line: &str, note: Option<&str>, out: &mut String) {
    match note {
        // At least one blank before `#`, or YAML would read the note as part of the value.
        Some(n) => out.push_str(&format!("{:<49} {n}\n", line)),
        None => {
            out.push_str(line);
            out.push('\n');
        }
    }
}

fn emit(
    key: &str,
    value: &Node,
    path: &mut Vec<String>,
    indent: usize,
    origins: &BTreeMap<Vec<String>, Origin>,
    out: &mut String,
) {
    let pad = " ".repeat(indent);
    let note = comment(origins, path, value);
    match value {
        Node::Map(m) if !m.is_empty() => {
            annotate(
                &format!("{pad}{}:", yaml::quote_if_needed(key)),
                note.as_deref(),
                out,
            );
            let sorted = yaml::sorted(value);
            if let Node::Map(m) = sorted {
                for (k, v) in &m {
                    path.push(k.clone());
                    emit(k, v, path, indent + 2, origins, out);
                    path.pop();
                }
            }
        }
        _ => {
            // Scalars, lists and empty maps: the emitter's own text, the note on its first line.
            let mut one = Map::default();
            one.insert(key.to_owned(), yaml::sorted(value));
            let text = yaml::to_yaml(&Node::Map(one));
            for (i, line) in text.lines().enumerate() {
                let line = format!("{pad}{line}");
                annotate(&line, if i == 0 { note.as_deref() } else { None }, out);
            }
        }
    }
}
