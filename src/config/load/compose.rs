//! Owns composing one effective `atmos.yaml` from several files, in atmos' order (lowest
//! first): the files under `atmos.d/`, then under `.atmos.d/` next to `atmos.yaml` (each tree
//! sorted by path), then the files its `import:` names (local paths and globs, relative to the
//! importing file, each composed the same way with its own imports), then the file itself.
//! Maps merge key by key; any other value, lists included, is replaced. Remote imports
//! (`https://…`, `git::…`) are refused: configuration is never fetched.
//!
//! Several sources (`--config` files, `--config-path` directories) are composed each on its own
//! and merged in order ([`compose_sources`]); a `--config` file brings its `import:`s but not the
//! `atmos.d/` next to it, as atmos reads it.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::yaml::{self, Map, Node};

/// The deepest `import:` nesting followed.
const MAX_DEPTH: usize = 16;

/// `main` (the parsed `atmos.yaml` at `file`) merged over `atmos.d/`, `.atmos.d/` and its
/// imports; `import` is removed. Warnings (an import that matches nothing) go to `warnings`.
pub fn compose(main: Map, file: &Path, warnings: &mut Vec<String>) -> Result<Map, ConfigError> {
    let dir = file.parent().unwrap_or(Path::new("/"));
    let mut layers: Vec<Map> = Vec::new();
    for sub in ["atmos.d", ".atmos.d"] {
        for f in tree(&dir.join(sub)) {
            layers.push(read(&f)?);
        }
    }
    let mut out = Map::default();
    for l in &layers {
        merge(&mut out, l);
    }
    let imported = imports(&main, file, 0, warnings)?;
    merge(&mut out, &imported);
    merge(&mut out, &main);
    out.shift_remove("import");
    Ok(out)
}

/// One file as atmos merges a fragment (a profile's files, a `--config` file): its `import:`s
/// (each over its own), then the file itself; `import` is removed.
pub fn with_imports(file: &Path, warnings: &mut Vec<String>) -> Result<Map, ConfigError> {
    let mut body = read(file)?;
    let mut out = imports(&body, file, 0, warnings)?;
    body.shift_remove("import");
    merge(&mut out, &body);
    Ok(out)
}

/// Every `.yaml`/`.yml` file under `dir` in atmos' order: shallower first, then by path (its
/// `SearchAtmosConfig`).
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    crate::fsx::yaml_files(dir, &mut files);
    files.sort_by(|a, b| {
        let depth = |p: &Path| p.components().count();
        depth(a).cmp(&depth(b)).then_with(|| a.cmp(b))
    });
    files
}

/// A place an `atmos.yaml` was taken from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Found by discovery, `ATMOS_CLI_CONFIG_PATH` or a `--config-path` directory: composed over
    /// `atmos.d/`, `.atmos.d/` and its imports.
    Discovered(PathBuf),
    /// A `--config` file: its imports, no `atmos.d/`.
    File(PathBuf),
}

impl Source {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            Source::Discovered(p) | Source::File(p) => p,
        }
    }
}

/// Several sources composed each on its own and merged in order (later wins).
#[derive(Debug, Default)]
pub struct Composed {
    /// The merged tree.
    pub map: Map,
    /// The directory a relative `base_path` resolves from: that of the last source after the
    /// primary one declaring `base_path`, else the primary source's.
    pub base_dir: PathBuf,
    /// The directory a relative `profiles.base_path` resolves from: that of the last source
    /// declaring it, else the primary source's.
    pub profiles_dir: PathBuf,
}

/// `sources` composed and merged in order; `primary` is the index of the project's own source
/// (the first `--config` file, or the discovered project `atmos.yaml`).
pub fn compose_sources(
    sources: &[Source],
    primary: usize,
    warnings: &mut Vec<String>,
) -> Result<Composed, ConfigError> {
    let mut out = Composed::default();
    for (i, source) in sources.iter().enumerate() {
        let file = source.path();
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let map = match source {
            Source::Discovered(f) => compose(read(f)?, f, warnings)?,
            Source::File(f) => with_imports(f, warnings)?,
        };
        // Relative paths resolve from the primary source's directory (the project's atmos.yaml)
        // unless a later source sets its own `base_path`.
        if i == primary || (i > primary && get_ci(&map, "base_path").is_some()) {
            out.base_dir = dir.clone();
        }
        if i == primary
            || get_ci(&map, "profiles")
                .and_then(Node::as_map)
                .and_then(|p| get_ci(p, "base_path"))
                .is_some()
        {
            out.profiles_dir = dir;
        }
        merge(&mut out.map, &map);
    }
    Ok(out)
}

/// `map[key]`, the key matched case-insensitively (atmos lowercases `atmos.yaml` keys).
pub fn get_ci<'a>(map: &'a Map, key: &str) -> Option<&'a Node> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The files `map`'s `import:` names, each over its own imports, merged in order.
fn imports(
    map: &Map,
    file: &Path,
    depth: usize,
    warnings: &mut Vec<String>,
) -> Result<Map, ConfigError> {
    let mut out = Map::default();
    let specs: Vec<String> = match map.get("import") {
        None | Some(Node::Null) => return Ok(out),
        Some(Node::Str(s)) => vec![s.clone()],
        Some(Node::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
        Some(other) => {
            return Err(invalid(
                file,
                format!("expected a list of paths, found a {}", other.type_name()),
            ));
        }
    };
    if depth >= MAX_DEPTH {
        return Err(invalid(
            file,
            format!("imports nest deeper than {MAX_DEPTH} levels (a cycle?)"),
        ));
    }
    let dir = file.parent().unwrap_or(Path::new("/"));
    for spec in specs {
        let spec = spec.trim();
        if spec.contains("://") || spec.contains("::") {
            return Err(invalid(
                file,
                format!(
                    "remote import `{spec}` is not supported: configuration is only read from local files"
                ),
            ));
        }
        let targets = expand(dir, spec);
        if targets.is_empty() {
            warnings.push(format!(
                "`import: {spec}` in `{}` matches no file; it is ignored",
                file.display()
            ));
        }
        for target in targets {
            let body = read(&target)?;
            let nested = imports(&body, &target, depth + 1, warnings)?;
            merge(&mut out, &nested);
            let mut body = body;
            body.shift_remove("import");
            merge(&mut out, &body);
        }
    }
    Ok(out)
}

/// The files an import names: a glob's matches (sorted), or the file itself (`.yaml`/`.yml`
/// may be left out).
fn expand(dir: &Path, spec: &str) -> Vec<PathBuf> {
    let path = lexical(&dir.join(spec));
    if spec.contains(crate::fsx::GLOB_CHARS) {
        let Ok(glob) = globset::GlobBuilder::new(&path.to_string_lossy())
            .literal_separator(true)
            .build()
        else {
            return Vec::new();
        };
        let glob = glob.compile_matcher();
        let root = crate::fsx::glob_root(&path);
        let mut files = Vec::new();
        crate::fsx::yaml_files(&root, &mut files);
        let mut hits: Vec<PathBuf> = files.into_iter().filter(|f| glob.is_match(f)).collect();
        hits.sort();
        return hits;
    }
    [
        path.clone(),
        path.with_extension("yaml"),
        path.with_extension("yml"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .into_iter()
    .collect()
}

/// `.` and `..` resolved without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(super) fn read(file: &Path) -> Result<Map, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    match yaml::parse(&text, &file.display().to_string())? {
        Node::Null => Ok(Map::default()),
        Node::Map(m) => Ok(m),
        other => Err(ConfigError::Invalid {
            file: file.to_path_buf(),
            field: "(document)".to_owned(),
            message: format!("expected a map, found a {}", other.type_name()),
        }),
    }
}

fn invalid(file: &Path, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_path_buf(),
        field: "import".to_owned(),
        message,
    }
}

/// Deep merge: maps key by key, anything else replaced by `src`'s value.
pub(super) fn merge(dst: &mut Map, src: &Map) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Node::Map(d)), Node::Map(s)) => merge(d, s),
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::load::write_test_file as write;

    #[test]
    fn order_is_atmos_d_then_imports_then_the_file() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        write(root, "atmos.d/a.yaml", "x: {a: d, b: d, c: d, d: d}\n");
        write(root, ".atmos.d/b.yaml", "x: {b: dot, c: dot, d: dot}\n");
        write(root, "conf/one.yaml", "import: [two]\nx: {c: one}\n");
        write(root, "conf/two.yaml", "x: {c: two, d: two}\n");
        let main = yaml::parse("import: [conf/one]\nx: {d: main}\n", "t").expect("yaml");
        let mut warnings = Vec::new();
        let out = compose(
            main.as_map().cloned().expect("map"),
            &root.join("atmos.yaml"),
            &mut warnings,
        )
        .expect("composes");
        assert_eq!(
            yaml::to_json(&Node::Map(out)),
            serde_json::json!({"x": {"a": "d", "b": "dot", "c": "one", "d": "main"}})
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn globs_missing_and_remote_imports() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        write(root, "stores/a.yaml", "stores: {a: {kind: aws/ssm}}\n");
        write(root, "stores/b.yml", "stores: {b: {kind: aws/ssm}}\n");
        let main = yaml::parse("import: ['stores/*', nope]\n", "t").expect("yaml");
        let mut warnings = Vec::new();
        let out = compose(
            main.as_map().cloned().expect("map"),
            &root.join("atmos.yaml"),
            &mut warnings,
        )
        .expect("composes");
        assert_eq!(
            yaml::to_json(&Node::Map(out)),
            serde_json::json!({"stores": {"a": {"kind": "aws/ssm"}, "b": {"kind": "aws/ssm"}}})
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let remote =
            yaml::parse("import: ['https://example.com/atmos.yaml']\n", "t").expect("yaml");
        let err = compose(
            remote.as_map().cloned().expect("map"),
            &root.join("atmos.yaml"),
            &mut warnings,
        )
        .expect_err("remote refused");
        assert!(err.to_string().contains("remote import"), "{err}");
    }
}
