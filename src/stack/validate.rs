//! Owns `atmos validate stacks`: every problem of the project's stack manifests, each with the
//! file and (where one exists) the line, instead of the first error a command would stop at.
//!
//! Checked: each manifest parses (YAML, duplicate keys, `!include`); imports resolve and do not
//! form a cycle (the chain is reported); stacks can be named; two manifests of one stack name do
//! not define a component differently; every component builds (templates parse and render,
//! inheritance, secret scope vs. position); and every `secrets.vars.<NAME>` declaration is well
//! formed: a map of known fields, exactly one of `store`/`sops`, a `scope` of
//! `instance|stack|global`, a `store` that `atmos.yaml` defines with `secret: true`, a `sops`
//! provider that `atmos.yaml` or the stack defines (with a known `kind`); and, when `atmos.yaml`
//! names one (`schemas.atmos.manifest`), every manifest against the Atmos manifest JSON Schema
//! (`super::schema`), each violation with its JSON path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{StackError, Stacks, manifest};
use crate::config::CliConfig;
use crate::secrets::Scope;
use crate::yaml::{self, Node};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The manifest (or `atmos.yaml`) at fault.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Whether `kind` is a SOPS provider kind of the kinds table (`config::kinds::SOPS_KINDS`, with
/// aliases); `*/age` counts as age too.
fn known_provider_kind(kind: &str) -> bool {
    crate::config::kinds::sops_kind(kind).is_some() || kind.ends_with("/age")
}

/// The fields a secret declaration may have.
const FIELDS: [&str; 6] = [
    "description",
    "store",
    "sops",
    "reference",
    "required",
    "scope",
];

/// Every problem of the project's stacks, sorted by file and line; empty when all is well.
pub fn validate(cfg: &CliConfig) -> Vec<Problem> {
    let mut out = BTreeSet::new();
    let top = match manifest::top_level_files(&cfg.stacks) {
        Ok(t) => t,
        Err(e) => {
            out.insert(from_error(&e, None));
            return out.into_iter().collect();
        }
    };
    // Manifests and imports, file by file, so one broken file does not hide the others.
    let mut loader = manifest::Loader::new(cfg);
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut broken = false;
    for file in &top {
        files.insert(file.clone());
        match loader.layers(file) {
            Ok(_) => files.extend(loader.layer_files(file).iter().map(|f| f.to_path_buf())),
            Err(e) => {
                broken = true;
                out.insert(from_error(&e, Some(file.as_path())));
            }
        }
        if let Err(e) = loader.own_name(file) {
            out.insert(from_error(&e, Some(file.as_path())));
        }
    }
    if let Some(config) = &cfg.config_file {
        for p in cfg
            .providers
            .values()
            .filter(|p| !known_provider_kind(&p.kind))
        {
            out.insert(Problem {
                file: config.clone(),
                line: line_of_field(config, &format!("secrets.providers.{}.kind", p.name)),
                message: unknown_kind(&p.name, &p.kind),
            });
        }
    }
    schema_in(cfg, &files, &mut out);
    let renderer = super::templates::renderer(cfg);
    for file in &files {
        declarations_in(cfg, file, &mut out);
        if !cfg.templates_disabled {
            templates_in(&renderer, file, &mut out);
        }
    }
    if broken {
        return out.into_iter().collect();
    }
    // Components are built as the secret commands build them: templates and YAML functions in
    // the secret sections and naming vars only (the rest may read terraform state or stores;
    // their templates are parse-checked above).
    let stacks = match super::load(cfg) {
        Ok(s) => s.evaluating(super::Eval::Secrets),
        Err(e) => {
            out.insert(from_error(&e, None));
            return out.into_iter().collect();
        }
    };
    components(cfg, &stacks, &mut out);
    out.into_iter().collect()
}

/// Checks every manifest against the Atmos manifest JSON Schema when one is configured
/// (`schemas.atmos.manifest`); a schema that cannot be found or compiled is one problem against
/// `atmos.yaml`.
fn schema_in(cfg: &CliConfig, files: &BTreeSet<PathBuf>, out: &mut BTreeSet<Problem>) {
    let Some(manifest) = &cfg.manifest_schema else {
        return;
    };
    let config = cfg.config_file.clone().unwrap_or_default();
    let schema = super::schema::resolve(manifest, &cfg.base_path)
        .and_then(|path| super::schema::ManifestSchema::load(&path));
    let schema = match schema {
        Ok(s) => s,
        Err(message) => {
            // The line of `schemas.atmos.manifest`, unless `--schemas-atmos-manifest` named it.
            let written = cfg
                .raw
                .0
                .get("schemas")
                .and_then(|s| s.get("atmos"))
                .and_then(|a| a.get("manifest"))
                .and_then(Node::as_str)
                .map(str::trim);
            let line = (written == Some(manifest.as_str()))
                .then(|| line_of_field(&config, "schemas.atmos.manifest"))
                .flatten();
            out.insert(Problem {
                line,
                file: config,
                message,
            });
            return;
        }
    };
    // Template manifests (`.yaml.tmpl`) are Go templates before they are YAML: atmos renders them
    // before validating, with the importer's context; their templates are parse-checked below.
    for file in files.iter().filter(|f| !manifest::is_template_file(f)) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // A manifest that does not parse is reported by the loader.
        let Ok(doc) = yaml::parse(&text, &file.display().to_string()) else {
            continue;
        };
        for v in schema.check(&doc, &text) {
            out.insert(Problem {
                file: file.clone(),
                line: v.line,
                message: format!("Atmos manifest JSON Schema: `{}`: {}", v.path, v.message),
            });
        }
    }
}

/// Builds every component of every manifest; reports build errors, duplicate definitions under
/// one stack name and `sops` providers that are not defined.
fn components(cfg: &CliConfig, stacks: &Stacks, out: &mut BTreeSet<Problem>) {
    for stack in stacks.stacks.values().chain(&stacks.shadowed) {
        for (name, built) in super::component::each(cfg, stack) {
            let inst = match built {
                Ok(i) => i,
                Err(e) => {
                    out.insert(from_error(&e, Some(stack.manifest.as_path())));
                    continue;
                }
            };
            if stacks.shadowed.iter().any(|s| s.name == stack.name)
                && let Err(e) =
                    stacks.component(cfg, &stack.name, &name, Some(&inst.component_type))
            {
                out.insert(from_error(&e, Some(stack.manifest.as_path())));
            }
            let declared = match crate::secrets::declare::providers(&inst.section) {
                Ok(p) => p,
                Err(e) => {
                    out.insert(Problem {
                        file: stack.manifest.clone(),
                        line: None,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let vars = inst
                .section
                .get("secrets")
                .and_then(|s| s.get("vars"))
                .and_then(Node::as_map);
            for (secret, decl) in vars.into_iter().flatten() {
                let Some(provider) = decl.get("sops").and_then(Node::as_str) else {
                    continue;
                };
                let key = provider.trim().to_lowercase();
                if key.is_empty() || cfg.providers.contains_key(&key) || declared.contains_key(&key)
                {
                    continue;
                }
                let (file, line) = declared_at(stack.files(), secret);
                out.insert(Problem {
                    file: file.unwrap_or_else(|| stack.manifest.clone()),
                    line,
                    message: format!(
                        "referenced secrets provider is not configured: \"{provider}\" (secret `{secret}` of component `{}` in stack `{}`)",
                        inst.name, inst.stack
                    ),
                });
            }
        }
    }
}

/// Parses every Go template written in `file` (values containing the left delimiter and
/// `!template` arguments) without running it.
fn templates_in(renderer: &crate::template::Renderer, file: &Path, out: &mut BTreeSet<Problem>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let Ok(doc) = yaml::parse(&text, &file.display().to_string()) else {
        return;
    };
    let lines = yaml::key_lines(&text);
    let mut found: Vec<(Vec<String>, String)> = Vec::new();
    collect_templates(&doc, &mut Vec::new(), renderer, &mut found);
    for (path, template) in found {
        let name = path.join(".");
        if let Err(e) = renderer.check(&name, &template) {
            // The line of the deepest key on the path (list items have none of their own).
            let line = (0..=path.len()).rev().find_map(|n| {
                lines
                    .iter()
                    .find(|(p, _)| p[..] == path[..n] && n > 0)
                    .map(|(_, l)| *l)
            });
            out.insert(Problem {
                file: file.to_path_buf(),
                line,
                message: format!("template in `{name}` does not parse: {e}"),
            });
        }
    }
}

fn collect_templates(
    node: &Node,
    path: &mut Vec<String>,
    renderer: &crate::template::Renderer,
    found: &mut Vec<(Vec<String>, String)>,
) {
    match node {
        Node::Str(s) if renderer.has_template(s) => found.push((path.clone(), s.clone())),
        Node::Map(m) => {
            for (k, v) in m {
                path.push(k.clone());
                collect_templates(v, path, renderer, found);
                path.pop();
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_templates(v, path, renderer, found);
                path.pop();
            }
        }
        Node::Tagged(t) => collect_templates(&t.value, path, renderer, found),
        _ => {}
    }
}

/// The last file (in merge order) declaring `secrets.vars.<secret>` and that line.
fn declared_at(files: &[std::sync::Arc<Path>], secret: &str) -> (Option<PathBuf>, Option<usize>) {
    for file in files.iter().rev() {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (path, line) in yaml::key_lines(&text) {
            let n = path.len();
            if n >= 3 && path[n - 1] == secret && path[n - 2] == "vars" && path[n - 3] == "secrets"
            {
                return (Some(file.to_path_buf()), Some(line));
            }
        }
    }
    (None, None)
}

/// The `secrets.vars` declarations written in one file, checked as written.
fn declarations_in(cfg: &CliConfig, file: &Path, out: &mut BTreeSet<Problem>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let Ok(doc) = yaml::parse(&text, &file.display().to_string()) else {
        return; // reported by the loader
    };
    let lines = yaml::key_lines(&text);
    let line_of = |path: &[&str]| {
        lines
            .iter()
            .find(|(p, _)| p.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|(_, l)| *l)
    };
    let mut places: Vec<(Vec<String>, &Node)> = Vec::new();
    if let Some(s) = doc.get("secrets") {
        places.push((vec!["secrets".into()], s));
    }
    if let Some(s) = doc.get("overrides").and_then(|o| o.get("secrets")) {
        places.push((vec!["overrides".into(), "secrets".into()], s));
    }
    if let Some(Node::Map(types)) = doc.get("components") {
        for (t, comps) in types {
            for (c, body) in comps.as_map().into_iter().flatten() {
                let base = vec!["components".to_owned(), t.clone(), c.clone()];
                if let Some(s) = body.get("secrets") {
                    let mut p = base.clone();
                    p.push("secrets".into());
                    places.push((p, s));
                }
                if let Some(s) = body.get("overrides").and_then(|o| o.get("secrets")) {
                    let mut p = base;
                    p.extend(["overrides".to_owned(), "secrets".to_owned()]);
                    places.push((p, s));
                }
            }
        }
    }
    for (path, secrets) in &places {
        for (name, entry) in secrets
            .get("providers")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            let kind = entry
                .get("kind")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            if !known_provider_kind(kind.trim()) {
                let mut at: Vec<&str> = path.iter().map(String::as_str).collect();
                at.extend(["providers", name.as_str(), "kind"]);
                out.insert(Problem {
                    file: file.to_path_buf(),
                    line: line_of(&at),
                    message: unknown_kind(name, &kind),
                });
            }
        }
    }
    for (path, secrets) in places {
        let Some(Node::Map(vars)) = secrets.get("vars") else {
            continue;
        };
        for (name, decl) in vars {
            let mut at: Vec<&str> = path.iter().map(String::as_str).collect();
            at.extend(["vars", name.as_str()]);
            let mut problem = |message: String, field: Option<&str>| {
                let mut p = at.clone();
                p.extend(field);
                out.insert(Problem {
                    file: file.to_path_buf(),
                    line: line_of(&p).or_else(|| line_of(&at)),
                    message: format!("secret `{name}`: {message}"),
                });
            };
            let Node::Map(fields) = decl else {
                problem(
                    format!("a declaration must be a map, found a {}", decl.type_name()),
                    None,
                );
                continue;
            };
            for key in fields.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
                problem(
                    format!("unknown field `{key}` (known: {})", FIELDS.join(", ")),
                    Some(key),
                );
            }
            let text = |k: &str| {
                fields
                    .get(k)
                    .and_then(Node::scalar_text)
                    .map(|s| s.trim().to_owned())
            };
            let store = text("store").filter(|s| !s.is_empty());
            let sops = text("sops").filter(|s| !s.is_empty());
            match (&store, &sops) {
                (Some(_), Some(_)) => problem(
                    "declares both `store` and `sops`; set exactly one".to_owned(),
                    Some("sops"),
                ),
                (None, None) => problem(
                    "declares neither `store` nor `sops`; set exactly one".to_owned(),
                    None,
                ),
                _ => {}
            }
            if let Some(scope) = text("scope")
                && Scope::parse(&scope).is_none()
            {
                problem(
                    format!("scope `{scope}` is not one of instance, stack, global"),
                    Some("scope"),
                );
            }
            if let Some(store) = store {
                match cfg.stores.get(&store.to_lowercase()) {
                    None => problem(
                        format!("referenced store is not configured: \"{store}\""),
                        Some("store"),
                    ),
                    Some(s) if !s.secret => problem(
                        format!("store \"{store}\" is not a secret store (set `secret: true`)"),
                        Some("store"),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

fn unknown_kind(name: &str, kind: &str) -> String {
    let known: Vec<&str> = crate::config::kinds::SOPS_KINDS
        .iter()
        .map(|k| k.name)
        .collect();
    format!(
        "secrets provider `{name}` has unknown kind `{kind}` (known: {}, or `*/age`)",
        known.join(", ")
    )
}

/// A loader error as a problem: the file and line it names, else `fallback`.
fn from_error(e: &StackError, fallback: Option<&Path>) -> Problem {
    let (file, line) = match e {
        StackError::Yaml(y) => (PathBuf::from(&y.origin), (y.line > 0).then_some(y.line)),
        StackError::Read { path, .. } => (path.clone(), None),
        StackError::Invalid { file, field, .. } => (file.clone(), line_of_field(file, field)),
        StackError::Import { file, import, .. } => (file.clone(), line_of_text(file, import)),
        StackError::Name { file, .. } | StackError::Function { file, .. } => (file.clone(), None),
        StackError::DuplicateStack { second, .. } => (second.clone(), None),
        _ => (fallback.map(Path::to_path_buf).unwrap_or_default(), None),
    };
    let mut message = e.to_string();
    if let Some(hint) = crate::error::Diagnose::hint(e) {
        message.push_str(&format!(" (hint: {hint})"));
    }
    Problem {
        file,
        line,
        message,
    }
}

fn line_of_field(file: &Path, field: &str) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    let want: Vec<&str> = field.split('.').collect();
    yaml::key_lines(&text)
        .into_iter()
        .find(|(p, _)| p.iter().map(String::as_str).eq(want.iter().copied()))
        .map(|(_, l)| l)
}

fn line_of_text(file: &Path, needle: &str) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}
