//! `atmos.yaml` text → [`CliConfig`]: keys lowercased, load-time YAML functions evaluated, each
//! section read into its typed form with errors naming the file and field.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::validate::validate_realm;
use crate::config::functions;
use crate::config::{
    AgeKeySpec, AuthConfig, CliConfig, ProviderConfig, ProviderSpec, StacksConfig, StoreConfig,
    StoreKind,
};
use crate::env;
use crate::yaml::{self, Map, Node};

/// Validates the text of an `atmos.yaml` at `file`. `base_override` (absolute) wins over
/// `base_path` in the file.
pub fn from_str(
    text: &str,
    file: &Path,
    base_override: Option<&Path>,
) -> Result<CliConfig, ConfigError> {
    let file = absolutize(&std::env::current_dir().unwrap_or_default(), file);
    let origin = file.display().to_string();
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let raw = yaml::parse(text, &origin)?;
    let raw = match raw {
        Node::Null => Map::default(),
        Node::Map(m) => m,
        other => {
            return Err(invalid(
                &file,
                "(document)",
                format!("expected a map, found a {}", other.type_name()),
            ));
        }
    };
    from_composed(raw, &file, &dir, base_override)
}

/// The composed tree `raw` (keys as written) → [`CliConfig`]. `file` is the primary
/// `atmos.yaml` (named in errors; YAML functions run from its directory); a relative
/// `base_path` resolves from `base_dir`; `base_override` (absolute) wins over it.
pub fn from_composed(
    raw: Map,
    file: &Path,
    base_dir: &Path,
    base_override: Option<&Path>,
) -> Result<CliConfig, ConfigError> {
    let file = file.to_path_buf();
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut ctx = Ctx {
        file: &file,
        dir: &dir,
    };
    let root = ctx.functions(Node::Map(lowercase_keys(raw, false)), 0)?;
    let root = root.as_map().cloned().unwrap_or_default();

    let base_path = match base_override {
        Some(b) => b.to_path_buf(),
        None => match opt_string(&root, "base_path", &file)? {
            Some(b) if !b.is_empty() => absolutize(base_dir, Path::new(&b)),
            _ => base_dir.to_path_buf(),
        },
    };
    let mut cfg = CliConfig {
        config_file: Some(file.clone()),
        base_path: base_path.clone(),
        ..CliConfig::default()
    };
    cfg.stacks = stacks_config(&root, &base_path, &file)?;
    cfg.templates_disabled = root
        .get("templates")
        .and_then(|t| t.get("settings"))
        .and_then(|s| s.get("enabled"))
        .and_then(Node::as_bool)
        == Some(false);
    cfg.template_settings = template_settings(&root, &file)?;
    if let Some(stores) = section(&root, "stores", &file)? {
        for (name, entry) in stores {
            let store = parse_store(name, entry, &file, &mut cfg.warnings)?;
            cfg.stores.insert(store.name.clone(), store);
        }
    }
    if let Some(secrets) = section(&root, "secrets", &file)?
        && let Some(providers) = section(secrets, "providers", &file)?
    {
        for (name, entry) in providers {
            let p = parse_provider(name, entry)
                .map_err(|m| invalid(&file, &format!("secrets.providers.{name}"), m))?;
            cfg.providers.insert(p.name.clone(), p);
        }
    }
    cfg.auth = auth_config(&root, &file)?;
    if let Some(env_map) = section(&root, "env", &file)? {
        for (k, v) in env_map {
            let text = v.scalar_text().ok_or_else(|| {
                invalid(
                    &file,
                    &format!("env.{k}"),
                    format!("expected a string, found a {}", v.type_name()),
                )
            })?;
            cfg.env.insert(k.clone(), text);
        }
    }
    if let Some(settings) = section(&root, "settings", &file)? {
        cfg.settings = settings.clone();
    }
    if let Some(components) = section(&root, "components", &file)? {
        cfg.components = components.clone();
    }
    cfg.raw = crate::config::RawConfig(root.clone());
    cfg.describe_provenance = root
        .get("describe")
        .and_then(|d| d.get("provenance"))
        .and_then(Node::as_bool);
    cfg.manifest_schema = root
        .get("schemas")
        .and_then(|s| s.get("atmos"))
        .and_then(|a| a.get("manifest"))
        .and_then(Node::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if let Some(integrations) = section(&root, "integrations", &file)? {
        cfg.integrations = integrations.clone();
    }
    Ok(cfg)
}

fn invalid(file: &Path, field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_path_buf(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Lowercases map keys (as Viper does for `atmos.yaml`), except below `env:` whose names are
/// case-sensitive environment variables.
fn lowercase_keys(map: Map, keep: bool) -> Map {
    map.into_iter()
        .map(|(k, v)| {
            let child_keep = keep || k.eq_ignore_ascii_case("env");
            let key = if keep { k } else { k.to_lowercase() };
            (key, lowercase_node(v, child_keep))
        })
        .collect()
}

fn lowercase_node(node: Node, keep: bool) -> Node {
    match node {
        Node::Map(m) => Node::Map(lowercase_keys(m, keep)),
        Node::Seq(s) => Node::Seq(s.into_iter().map(|n| lowercase_node(n, keep)).collect()),
        Node::Tagged(t) => Node::tagged(t.tag, lowercase_node(t.value, keep)),
        other => other,
    }
}

struct Ctx<'a> {
    file: &'a Path,
    dir: &'a Path,
}

impl Ctx<'_> {
    /// Evaluates `!env`, `!exec`, `!include`, `!include.raw`, `!cwd` and `!repo-root`; any other
    /// tag (`!secret`, `!store`, …) is an error in `atmos.yaml`.
    fn functions(&mut self, node: Node, depth: usize) -> Result<Node, ConfigError> {
        if depth > 64 {
            return Err(ConfigError::Function {
                file: self.file.to_path_buf(),
                message: "`!include` nesting is deeper than 64 levels".to_owned(),
            });
        }
        let fail = |message: String| ConfigError::Function {
            file: self.file.to_path_buf(),
            message,
        };
        Ok(match node {
            Node::Map(m) => {
                let mut out = Map::with_capacity_and_hasher(m.len(), Default::default());
                for (k, v) in m {
                    out.insert(k, self.functions(v, depth)?);
                }
                Node::Map(out)
            }
            Node::Seq(s) => Node::Seq(
                s.into_iter()
                    .map(|n| self.functions(n, depth))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Tagged(t) => {
                let arg = || functions::tag_text(&t.tag, &t.value).map_err(fail);
                match t.tag.as_str() {
                    "!env" => functions::eval_env(&arg()?, env::var).map_err(fail)?,
                    "!exec" => functions::eval_exec(&arg()?).map_err(fail)?,
                    "!include" | "!include.raw" => {
                        let n = functions::eval_include(
                            &arg()?,
                            t.tag == "!include.raw",
                            self.file,
                            self.dir,
                        )
                        .map_err(fail)?;
                        self.functions(n, depth + 1)?
                    }
                    "!cwd" => functions::eval_cwd(&arg()?).map_err(fail)?,
                    "!repo-root" => functions::eval_repo_root(&arg()?).map_err(fail)?,
                    other => {
                        return Err(fail(format!(
                            "YAML function `{other}` is not supported in atmos.yaml (use `!env`, `!exec`, `!include`, `!include.raw`, `!cwd` or `!repo-root`)"
                        )));
                    }
                }
            }
            other => other,
        })
    }
}

fn section<'a>(map: &'a Map, key: &str, file: &Path) -> Result<Option<&'a Map>, ConfigError> {
    match map.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Map(m)) => Ok(Some(m)),
        Some(Node::Tagged(t)) => Err(invalid(
            file,
            key,
            format!("YAML function `{}` is not allowed in atmos.yaml", t.tag),
        )),
        Some(other) => Err(invalid(
            file,
            key,
            format!("expected a map, found a {}", other.type_name()),
        )),
    }
}

fn opt_string(map: &Map, key: &str, file: &Path) -> Result<Option<String>, ConfigError> {
    match map.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Tagged(t)) => Err(invalid(
            file,
            key,
            format!("YAML function `{}` is not allowed in atmos.yaml", t.tag),
        )),
        Some(n) => match n.scalar_text() {
            Some(s) => Ok(Some(s)),
            None => Err(invalid(
                file,
                key,
                format!("expected a string, found a {}", n.type_name()),
            )),
        },
    }
}

fn string_list(map: &Map, key: &str, file: &Path, field: &str) -> Result<Vec<String>, ConfigError> {
    match map.get(key) {
        None | Some(Node::Null) => Ok(Vec::new()),
        Some(Node::Seq(items)) => items
            .iter()
            .map(|i| {
                i.scalar_text().ok_or_else(|| {
                    invalid(
                        file,
                        field,
                        format!("list entries must be strings, found a {}", i.type_name()),
                    )
                })
            })
            .collect(),
        Some(Node::Str(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(invalid(
            file,
            field,
            format!("expected a list of strings, found a {}", other.type_name()),
        )),
    }
}

fn stacks_config(root: &Map, base: &Path, file: &Path) -> Result<StacksConfig, ConfigError> {
    let empty = Map::default();
    let stacks = section(root, "stacks", file)?.unwrap_or(&empty);
    let field = |k: &str| format!("stacks.{k}");
    let sub = opt_string(stacks, "base_path", file)?.unwrap_or_else(|| "stacks".to_owned());
    let included = string_list(stacks, "included_paths", file, &field("included_paths"))?;
    let excluded = string_list(stacks, "excluded_paths", file, &field("excluded_paths"))?;
    for g in included.iter().chain(&excluded) {
        globset::Glob::new(g).map_err(|e| {
            invalid(
                file,
                &field("included_paths"),
                format!("bad glob `{g}`: {e}"),
            )
        })?;
    }
    Ok(StacksConfig {
        base_path: absolutize(base, Path::new(&sub)),
        included_paths: if included.is_empty() {
            vec!["**/*".to_owned()]
        } else {
            included
        },
        excluded_paths: excluded,
        name_pattern: opt_string(stacks, "name_pattern", file)?.filter(|s| !s.is_empty()),
        name_template: opt_string(stacks, "name_template", file)?.filter(|s| !s.is_empty()),
        inherit_metadata: match stacks.get("inherit").and_then(|i| i.get("metadata")) {
            None | Some(Node::Null) => None,
            Some(Node::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(invalid(
                    file,
                    "stacks.inherit.metadata",
                    format!("expected true or false, found a {}", other.type_name()),
                ));
            }
        },
    })
}

fn parse_store(
    name: &str,
    entry: &Node,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<StoreConfig, ConfigError> {
    let field = format!("stores.{name}");
    let map = entry.as_map().ok_or_else(|| {
        invalid(
            file,
            &field,
            format!("expected a map, found a {}", entry.type_name()),
        )
    })?;
    let kind_text = match opt_string(map, "kind", file)?.filter(|s| !s.is_empty()) {
        Some(k) => k,
        None => opt_string(map, "type", file)?.unwrap_or_default(),
    };
    if kind_text.is_empty() {
        return Err(invalid(file, &field, "missing `kind` (or legacy `type`)"));
    }
    let kind = StoreKind::parse(&kind_text).ok_or_else(|| ConfigError::StoreTypeNotFound {
        file: file.to_path_buf(),
        store: name.to_owned(),
        kind: kind_text.clone(),
    })?;
    let secret_flag = match map.get("secret") {
        None | Some(Node::Null) => false,
        Some(Node::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid(
                file,
                &format!("{field}.secret"),
                format!("expected true or false, found a {}", other.type_name()),
            ));
        }
    };
    if secret_flag && !kind.may_be_secret() {
        return Err(ConfigError::NotEncrypting {
            file: file.to_path_buf(),
            store: name.to_owned(),
            kind: kind.as_str().to_owned(),
        });
    }
    let identity = opt_string(map, "identity", file)?.filter(|s| !s.is_empty());
    if identity.is_some() && !kind.uses_identity() {
        warnings.push(format!(
            "Identity-based authentication is not supported for this store type, identity will be ignored (store `{name}`, kind `{}`)",
            kind.as_str()
        ));
    }
    let options = match map.get("options") {
        None | Some(Node::Null) => Map::default(),
        Some(Node::Map(m)) => m.clone(),
        Some(other) => {
            return Err(invalid(
                file,
                &format!("{field}.options"),
                format!("expected a map, found a {}", other.type_name()),
            ));
        }
    };
    Ok(StoreConfig {
        name: name.to_lowercase(),
        kind,
        secret: secret_flag || kind.secret_by_default(),
        identity: if kind.uses_identity() { identity } else { None },
        options,
    })
}

/// Parses one `secrets.providers.<name>` entry (shared by `atmos.yaml` and stack manifests).
/// Returns a message naming the wrong field; the caller adds the file.
pub fn parse_provider(name: &str, entry: &Node) -> Result<ProviderConfig, String> {
    let map = entry
        .as_map()
        .ok_or_else(|| format!("expected a map, found a {}", entry.type_name()))?;
    let text = |m: &Map, k: &str| -> Result<Option<String>, String> {
        match m.get(k) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Tagged(t)) => Err(format!(
                "`{k}`: YAML function `{}` cannot be used here",
                t.tag
            )),
            Some(n) => n
                .scalar_text()
                .map(Some)
                .ok_or_else(|| format!("`{k}` must be a string, found a {}", n.type_name())),
        }
    };
    let kind = text(map, "kind")?.unwrap_or_default();
    let identity = text(map, "identity")?.filter(|s| !s.is_empty());
    let empty = Map::default();
    let spec_map = match map.get("spec") {
        None | Some(Node::Null) => &empty,
        Some(Node::Map(m)) => m,
        Some(other) => {
            return Err(format!(
                "`spec` must be a map, found a {}",
                other.type_name()
            ));
        }
    };
    let age_key_file = text(spec_map, "age_key_file")?.filter(|s| !s.is_empty());
    let age_key = match spec_map.get("age_key") {
        None | Some(Node::Null) => age_key_file.clone().map(AgeKeySpec::File),
        Some(Node::Str(s)) if s.is_empty() => age_key_file.clone().map(AgeKeySpec::File),
        Some(Node::Str(s)) => Some(AgeKeySpec::Inline(s.clone().into())),
        Some(Node::Map(m)) => {
            let value = text(m, "value")?.filter(|s| !s.is_empty());
            let store = text(m, "store")?.unwrap_or_default();
            let path = text(m, "path")?.filter(|s| !s.is_empty());
            if let Some(v) = value {
                Some(AgeKeySpec::Inline(v.into()))
            } else if store.is_empty() || store == "file" {
                path.or(age_key_file.clone()).map(AgeKeySpec::File)
            } else {
                Some(AgeKeySpec::Store { store, path })
            }
        }
        Some(Node::Tagged(t)) => {
            return Err(format!(
                "`spec.age_key`: YAML function `{}` cannot be used here",
                t.tag
            ));
        }
        Some(other) => {
            return Err(format!(
                "`spec.age_key` must be a string or a map, found a {}",
                other.type_name()
            ));
        }
    };
    let age_recipients = match spec_map.get("age_recipients") {
        None | Some(Node::Null) => Vec::new(),
        Some(Node::Str(s)) => split_commas(s),
        Some(Node::Seq(items)) => items
            .iter()
            .filter_map(Node::scalar_text)
            .flat_map(|s| split_commas(&s))
            .collect(),
        Some(other) => {
            return Err(format!(
                "`spec.age_recipients` must be a string or a list, found a {}",
                other.type_name()
            ));
        }
    };
    let mut options = std::collections::BTreeMap::new();
    match spec_map.get("options") {
        None | Some(Node::Null) => {}
        Some(Node::Map(m)) => {
            for k in m.keys() {
                if let Some(v) = text(m, k)? {
                    options.insert(k.clone(), v);
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "`spec.options` must be a map, found a {}",
                other.type_name()
            ));
        }
    }
    Ok(ProviderConfig {
        name: name.to_lowercase(),
        kind,
        identity,
        spec: ProviderSpec {
            file: text(spec_map, "file")?.filter(|s| !s.is_empty()),
            path: text(spec_map, "path")?.filter(|s| !s.is_empty()),
            age_key,
            age_recipients,
            recipients_file: text(spec_map, "recipients_file")?.filter(|s| !s.is_empty()),
            options,
        },
    })
}

fn split_commas(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn auth_config(root: &Map, file: &Path) -> Result<AuthConfig, ConfigError> {
    let mut auth = AuthConfig::default();
    let section_map = section(root, "auth", file)?;
    let (realm, origin) = match env::var(env::ATMOS_AUTH_REALM) {
        Some(r) => (r, env::ATMOS_AUTH_REALM.to_owned()),
        None => (
            section_map
                .map(|a| opt_string(a, "realm", file))
                .transpose()?
                .flatten()
                .unwrap_or_default(),
            format!("`auth.realm` in `{}`", file.display()),
        ),
    };
    if !realm.is_empty() {
        validate_realm(&realm).map_err(|rule| ConfigError::InvalidRealm {
            origin,
            realm: realm.clone(),
            rule,
        })?;
    }
    auth.realm = realm;
    if let Some(a) = section_map {
        for (key, target) in [
            ("providers", &mut auth.providers),
            ("identities", &mut auth.identities),
        ] {
            if let Some(m) = section(a, key, file)? {
                for (n, v) in m {
                    let entry = v.as_map().ok_or_else(|| {
                        invalid(
                            file,
                            &format!("auth.{key}.{n}"),
                            format!("expected a map, found a {}", v.type_name()),
                        )
                    })?;
                    target.insert(n.clone(), entry.clone());
                }
            }
        }
        if let Some(k) = section(a, "keyring", file)? {
            auth.keyring = k.clone();
        }
    }
    Ok(auth)
}

pub(super) fn absolutize(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        normalize(&base.join(p))
    }
}

/// Removes `.` and `a/..` components without touching the file system.
pub fn normalize(p: &Path) -> PathBuf {
    normalized(p).into_owned()
}

/// [`normalize`], borrowing `p` when it is already normal (nearly always, for the loader).
pub fn normalized(p: &Path) -> std::borrow::Cow<'_, Path> {
    if is_normal(p) {
        std::borrow::Cow::Borrowed(p)
    } else {
        std::borrow::Cow::Owned(walk_normalize(p))
    }
}

/// [`normalize`] component by component (the fast path's reference).
fn walk_normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::with_capacity(p.as_os_str().len());
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether [`normalize`] would give `p` back unchanged: no `.`/`..` component, no doubled or
/// trailing separator (the loader normalizes every path it looks up, thousands of times in a
/// large tree, and nearly all are already normal). Conservative: `false` only costs the walk.
fn is_normal(p: &Path) -> bool {
    let s = p.as_os_str().as_encoded_bytes();
    let sep = |b: u8| b == b'/' || (cfg!(windows) && b == b'\\');
    // On Windows the walk also turns `/` into `\\`.
    let odd = s.is_empty()
        || (cfg!(windows) && s.contains(&b'/'))
        || s == b"."
        || s == b".."
        || (s.len() > 1 && sep(s[s.len() - 1]))
        || s.starts_with(b"./")
        || s.starts_with(b"../")
        || (cfg!(windows) && s.starts_with(b".\\"))
        || s.windows(2)
            .any(|w| sep(w[0]) && (sep(w[1]) || w[1] == b'.'));
    !odd
}

/// `templates.settings`: `sprig.enabled` and `gomplate.enabled` (on unless `false`) and
/// `delimiters` (two non-empty strings, checked with atmos' message).
fn template_settings(root: &Map, file: &Path) -> Result<crate::template::Settings, ConfigError> {
    let mut out = crate::template::Settings::default();
    let Some(settings) = root.get("templates").and_then(|t| t.get("settings")) else {
        return Ok(out);
    };
    let enabled = |key: &str| {
        settings
            .get(key)
            .and_then(|s| s.get("enabled"))
            .and_then(Node::as_bool)
            != Some(false)
    };
    out.sprig = enabled("sprig");
    out.gomplate = enabled("gomplate");
    if let Some(d) = settings.get("delimiters") {
        let items: Vec<String> = d
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(Node::scalar_text)
            .collect();
        match items.as_slice() {
            [l, r] if !l.is_empty() && !r.is_empty() => {
                out.delimiters = Some((l.clone(), r.clone()));
            }
            _ => {
                return Err(invalid(
                    file,
                    "templates.settings.delimiters",
                    "'delimiters' must be an array with two string items: left and right delimiter; the left and right delimiters must not be an empty string",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_fast_path_matches_the_walk() {
        for p in [
            "",
            ".",
            "..",
            "/",
            "a",
            "a/b",
            "/a/b",
            "a/",
            "a//b",
            "./a",
            "../a",
            "a/./b",
            "a/../b",
            "a/..",
            "a/.",
            ".atmos/x",
            "a/.hidden/b",
            "a/..b",
            "/a/b/../../..",
            "stacks/orgs/t00/dev.yaml",
            "//a",
            "a/b/",
        ] {
            let p = Path::new(p);
            assert_eq!(normalize(p), walk_normalize(p), "{}", p.display());
        }
    }
}
