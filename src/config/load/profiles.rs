//! Owns configuration profiles as atmos applies them (`pkg/config/profiles.go`): the names
//! (`--profile`, `ATMOS_PROFILE`, else `profiles.default` of the base configuration), where a
//! profile directory is looked for, and merging its files over the base configuration.
//!
//! A profile is a directory `<location>/<name>/`; the first location holding it wins, in this
//! order: `profiles.base_path` (relative to the `atmos.yaml` that declares it), `.atmos/profiles/`
//! next to each `atmos.yaml`, `$ATMOS_XDG_CONFIG_HOME`/`$XDG_CONFIG_HOME`/`~/.config` +
//! `atmos/profiles/`, then `profiles/` next to each `atmos.yaml`. Every `.yaml`/`.yml` under it
//! (shallower first, then by path), each over its own `import:`s, is merged over the base;
//! several profiles merge left to right. An unknown name is an error listing the profiles that
//! exist.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::compose::{self, get_ci};
use crate::env;
use crate::yaml::{Map, Node};

/// One place profiles live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The directory holding profile directories.
    pub path: PathBuf,
    /// atmos' name for the kind of location (`configurable`, `project-hidden`, `xdg`, `project`).
    pub kind: &'static str,
}

/// The profile locations in precedence order. `config_dirs` are the directories of the
/// `atmos.yaml` files read (the first is the primary); `profiles_dir` is where a relative
/// `profiles.base_path` resolves from.
pub fn locations(base: &Map, config_dirs: &[PathBuf], profiles_dir: &Path) -> Vec<Location> {
    let mut out = Vec::new();
    if let Some(bp) = get_ci(base, "profiles")
        .and_then(Node::as_map)
        .and_then(|p| get_ci(p, "base_path"))
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    {
        out.push(Location {
            path: super::parse::absolutize(profiles_dir, Path::new(bp)),
            kind: "configurable",
        });
    }
    for dir in config_dirs {
        out.push(Location {
            path: dir.join(".atmos").join("profiles"),
            kind: "project-hidden",
        });
    }
    if let Some(xdg) = env::var(env::ATMOS_XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(env::user_config_dir)
    {
        out.push(Location {
            path: xdg.join("atmos").join("profiles"),
            kind: "xdg",
        });
    }
    for dir in config_dirs {
        out.push(Location {
            path: dir.join("profiles"),
            kind: "project",
        });
    }
    out
}

/// The names of every profile directory in `locations`, sorted, without repeats.
pub fn available(locations: &[Location]) -> Vec<String> {
    let mut names: Vec<String> = locations
        .iter()
        .filter_map(|l| std::fs::read_dir(&l.path).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The profiles to apply: `requested` (from `--profile`/`ATMOS_PROFILE`, comma lists split,
/// blanks dropped) or else `profiles.default` from `base`.
pub fn selected(requested: &[String], base: &Map) -> Vec<String> {
    let names: Vec<String> = requested
        .iter()
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !names.is_empty() {
        return names;
    }
    get_ci(base, "profiles")
        .and_then(Node::as_map)
        .and_then(|p| get_ci(p, "default"))
        .and_then(Node::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| vec![s.to_owned()])
        .unwrap_or_default()
}

/// `base` with each profile in `names` merged over it, left to right.
pub fn apply(
    base: &mut Map,
    names: &[String],
    locations: &[Location],
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for name in names {
        let dir = find(name, locations).ok_or_else(|| ConfigError::ProfileNotFound {
            name: name.clone(),
            searched: locations
                .iter()
                .map(|l| l.path.join(name).display().to_string())
                .collect(),
            available: available(locations),
            is_identity: is_identity(base, name),
        })?;
        for file in compose::tree(&dir) {
            let layer = compose::with_imports(&file, warnings)?;
            compose::merge(base, &layer);
        }
    }
    Ok(())
}

/// The directory of profile `name`: the first location holding it. A name with a path
/// separator or `..` never matches (a profile is a directory name).
fn find(name: &str, locations: &[Location]) -> Option<PathBuf> {
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return None;
    }
    locations
        .iter()
        .map(|l| l.path.join(name))
        .find(|p| p.is_dir())
}

/// Whether `name` is an `auth.identities` entry (case-insensitive): the error then says that
/// identities are chosen with `--identity`.
fn is_identity(base: &Map, name: &str) -> bool {
    get_ci(base, "auth")
        .and_then(Node::as_map)
        .and_then(|a| get_ci(a, "identities"))
        .and_then(Node::as_map)
        .is_some_and(|ids| ids.keys().any(|k| k.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    use crate::config::load::write_test_file as write;

    fn map(text: &str) -> Map {
        yaml::parse(text, "t")
            .expect("yaml")
            .as_map()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn selection_order_and_default() {
        let base = map("profiles: {default: dev}\n");
        assert_eq!(selected(&[], &base), ["dev"]);
        assert_eq!(
            selected(&["ci, prod".into(), " ".into(), "x".into()], &base),
            ["ci", "prod", "x"]
        );
        assert!(selected(&[], &Map::default()).is_empty());
    }

    #[test]
    fn precedence_merge_order_and_unknown() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        // `ci` exists in both the hidden and the plain project location: the hidden one wins.
        write(root, ".atmos/profiles/ci/a.yaml", "x: {who: hidden}\n");
        write(root, "profiles/ci/a.yaml", "x: {who: plain}\n");
        // Depth order inside a profile: `z.yaml` (shallow) before `sub/a.yaml`; imports first.
        write(
            root,
            "profiles/dev/z.yaml",
            "import: [extra]\nx: {d: z, e: z}\n",
        );
        write(root, "profiles/dev/extra.yaml", "x: {d: extra, f: extra}\n");
        write(root, "profiles/dev/sub/a.yaml", "x: {e: sub}\n");
        write(root, "custom/only/a.yaml", "x: {c: custom}\n");
        let base = map(
            "profiles: {base_path: custom}\nx: {who: base, d: base}\nauth: {identities: {Admin: {}}}\n",
        );
        let locs = locations(&base, &[root.to_path_buf()], root);
        assert_eq!(locs[0].path, root.join("custom"));
        assert_eq!(available(&locs), ["ci", "dev", "only"]);
        let mut merged = base.clone();
        let mut warnings = Vec::new();
        apply(
            &mut merged,
            &["ci".into(), "dev".into(), "only".into()],
            &locs,
            &mut warnings,
        )
        .expect("applies");
        assert_eq!(
            yaml::to_json(merged.get("x").expect("x")),
            serde_json::json!({"who": "hidden", "d": "z", "e": "sub", "f": "extra", "c": "custom"})
        );
        let err = apply(&mut merged, &["nope".into()], &locs, &mut warnings)
            .expect_err("unknown profile");
        let ConfigError::ProfileNotFound { available: a, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(a, &["ci", "dev", "only"]);
        let err = apply(&mut merged, &["admin".into()], &locs, &mut warnings)
            .expect_err("identity, not profile");
        assert!(matches!(
            err,
            ConfigError::ProfileNotFound {
                is_identity: true,
                ..
            }
        ));
        assert!(find("../ci", &locs).is_none());
    }
}
