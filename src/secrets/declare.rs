//! Declaration extraction and scope stamping.
//!
//! The stack loader calls [`stamp`] on every `secrets` layer *before* merging it (stack level →
//! `stack`; bases, the component and its overrides → `instance`), so the merged section carries the
//! effective `scope`. Commands then call [`declarations`] and [`providers`] on the merged section.

use std::path::Path;

use indexmap::IndexMap;

use super::{Backend, Declaration, Scope};
use crate::config::ProviderConfig;
use crate::config::load::parse_provider;
use crate::yaml::{Map, Node};

/// A malformed `secrets` section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclareError {
    /// The section (or `secrets.vars`) has the wrong shape.
    #[error("invalid component secrets section: {message} (in `{manifest}`)")]
    Section {
        /// The manifest it was read from.
        manifest: String,
        /// What is wrong.
        message: String,
    },
    /// An explicit `scope` contradicts the declaration's position.
    #[error(
        "invalid component secrets section: secret scope conflicts with declaration position: secret \"{name}\" declares scope \"{declared}\" but its position implies \"{position}\" (in `{manifest}`)"
    )]
    Conflict {
        /// The manifest it was read from.
        manifest: String,
        /// Secret name.
        name: String,
        /// The scope as written.
        declared: String,
        /// The positional scope.
        position: Scope,
    },
    /// A `secrets.providers` entry is malformed.
    #[error("invalid secrets provider `{name}` (in `{manifest}`): {message}")]
    Provider {
        /// The manifest it was read from.
        manifest: String,
        /// Provider name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl crate::error::Diagnose for DeclareError {
    fn hint(&self) -> Option<String> {
        match self {
            DeclareError::Conflict { name, position, .. } => Some(match position {
                Scope::Stack => format!(
                    "move `{name}` under a component, or drop its `scope` (top-level secrets are stack-scoped)"
                ),
                _ => format!(
                    "declare `{name}` at the top level of the stack for scope \"stack\", or drop its `scope`"
                ),
            }),
            DeclareError::Section { .. } => Some(
                "`secrets` is a map with `vars:` (name → declaration) and `providers:`".to_owned(),
            ),
            DeclareError::Provider { .. } => None,
        }
    }
}

fn section_error(manifest: &str, message: impl Into<String>) -> DeclareError {
    DeclareError::Section {
        manifest: manifest.to_owned(),
        message: message.into(),
    }
}

/// Checks the shape of a `secrets` layer and returns a copy whose `vars` entries carry their
/// effective scope for `position`: no `scope` → `position`; `global` or equal → kept; else error.
pub fn stamp(secrets: &Node, position: Scope, manifest: &Path) -> Result<Node, DeclareError> {
    let scopes = effective_scopes(secrets, position, manifest)?;
    let Node::Map(map) = secrets else {
        return Ok(Node::Null);
    };
    let mut map = map.clone();
    if let Some(Node::Map(vars)) = map.get_mut("vars") {
        let decls = vars.values_mut().filter_map(|decl| match decl {
            Node::Map(fields) => Some(fields),
            _ => None,
        });
        for (fields, scope) in decls.zip(scopes) {
            fields.insert("scope".to_owned(), Node::Str(scope.as_str().to_owned()));
        }
    }
    Ok(Node::Map(map))
}

/// The checks of [`stamp`], without the copy (a manifest's shape check at load).
pub fn check(secrets: &Node, position: Scope, manifest: &Path) -> Result<(), DeclareError> {
    effective_scopes(secrets, position, manifest).map(drop)
}

/// The effective scope of each map entry of `secrets.vars`, in order, after [`stamp`]'s checks
/// (a `Null` section has none).
fn effective_scopes(
    secrets: &Node,
    position: Scope,
    manifest: &Path,
) -> Result<Vec<Scope>, DeclareError> {
    let shown = || manifest.display().to_string();
    let map = match secrets {
        Node::Null => return Ok(Vec::new()),
        Node::Map(m) => m,
        other => {
            return Err(section_error(
                &shown(),
                format!("expected a map, found a {}", other.type_name()),
            ));
        }
    };
    let mut scopes = Vec::new();
    match map.get("vars") {
        None | Some(Node::Null) => {}
        Some(Node::Map(vars)) => {
            for (name, decl) in vars {
                let Node::Map(fields) = decl else { continue };
                scopes.push(match fields.get("scope") {
                    None | Some(Node::Null) => position,
                    Some(n) => {
                        let written = n.scalar_text().unwrap_or_default();
                        match Scope::parse(written.trim()) {
                            Some(Scope::Global) => Scope::Global,
                            Some(s) if s == position => s,
                            _ => {
                                return Err(DeclareError::Conflict {
                                    manifest: shown(),
                                    name: name.clone(),
                                    declared: written,
                                    position,
                                });
                            }
                        }
                    }
                });
            }
        }
        Some(other) => {
            return Err(section_error(
                &shown(),
                format!(
                    "`secrets.vars` must be a map, found a {}",
                    other.type_name()
                ),
            ));
        }
    }
    if let Some(p) = map.get("providers")
        && !matches!(p, Node::Map(_) | Node::Null)
    {
        return Err(section_error(
            &shown(),
            format!(
                "`secrets.providers` must be a map, found a {}",
                p.type_name()
            ),
        ));
    }
    Ok(scopes)
}

fn manifest_of(section: &Map) -> String {
    section
        .get("atmos_stack_file")
        .and_then(Node::as_str)
        .unwrap_or("(merged component)")
        .to_owned()
}

fn text(fields: &Map, key: &str) -> String {
    fields
        .get(key)
        .and_then(Node::scalar_text)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The declarations of a merged component section, sorted by name. `sops` wins over `store`;
/// neither → [`Backend::None`]; a missing or unknown scope reads as `instance`.
pub fn declarations(section: &Map) -> Result<Vec<Declaration>, DeclareError> {
    let vars = match section.get("secrets") {
        None | Some(Node::Null) => return Ok(Vec::new()),
        Some(Node::Map(s)) => match s.get("vars") {
            None | Some(Node::Null) => return Ok(Vec::new()),
            Some(Node::Map(v)) => v,
            Some(other) => {
                return Err(section_error(
                    &manifest_of(section),
                    format!(
                        "`secrets.vars` must be a map, found a {}",
                        other.type_name()
                    ),
                ));
            }
        },
        Some(other) => {
            return Err(section_error(
                &manifest_of(section),
                format!("expected a map, found a {}", other.type_name()),
            ));
        }
    };
    let mut out: Vec<Declaration> = vars
        .iter()
        .map(|(name, decl)| {
            let empty = Map::default();
            let fields = decl.as_map().unwrap_or(&empty);
            let sops = text(fields, "sops");
            let store = text(fields, "store");
            let backend = if !sops.is_empty() {
                Backend::Sops(sops)
            } else if !store.is_empty() {
                Backend::Store(store)
            } else {
                Backend::None
            };
            Declaration {
                name: name.clone(),
                description: text(fields, "description"),
                backend,
                reference: text(fields, "reference"),
                required: match fields.get("required") {
                    Some(Node::Bool(b)) => *b,
                    Some(Node::Str(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                },
                scope: Scope::parse(&text(fields, "scope")).unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The `secrets.providers` declared in a merged component section (stack manifests), parsed like
/// `atmos.yaml` providers and keyed by lowercased name.
pub fn providers(section: &Map) -> Result<IndexMap<String, ProviderConfig>, DeclareError> {
    let manifest = manifest_of(section);
    let Some(Node::Map(secrets)) = section.get("secrets") else {
        return Ok(IndexMap::new());
    };
    let providers = match secrets.get("providers") {
        None | Some(Node::Null) => return Ok(IndexMap::new()),
        Some(Node::Map(p)) => p,
        Some(other) => {
            return Err(section_error(
                &manifest,
                format!(
                    "`secrets.providers` must be a map, found a {}",
                    other.type_name()
                ),
            ));
        }
    };
    let mut out = IndexMap::new();
    for (name, entry) in providers {
        let p = parse_provider(name, entry).map_err(|message| DeclareError::Provider {
            manifest: manifest.clone(),
            name: name.clone(),
            message,
        })?;
        out.insert(p.name.clone(), p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn node(text: &str) -> Node {
        parse(text, "t").expect("yaml")
    }

    fn scope_of(n: &Node, name: &str) -> Option<String> {
        n.get("vars")?
            .get(name)?
            .get("scope")?
            .as_str()
            .map(str::to_owned)
    }

    #[test]
    fn stamping_rules() {
        let layer = node(
            "vars:\n  A: {store: s}\n  B: {store: s, scope: global}\n  C: {store: s, scope: instance}\n  D: plain\n",
        );
        let out = stamp(&layer, Scope::Instance, Path::new("m.yaml")).expect("ok");
        assert_eq!(scope_of(&out, "A").as_deref(), Some("instance"));
        assert_eq!(scope_of(&out, "B").as_deref(), Some("global"));
        assert_eq!(scope_of(&out, "C").as_deref(), Some("instance"));
        assert_eq!(
            out.get("vars").and_then(|v| v.get("D")),
            Some(&Node::Str("plain".into()))
        );
        // The input is not modified.
        assert_eq!(scope_of(&layer, "A"), None);
    }

    #[test]
    fn conflicts_name_the_manifest() {
        let layer = node("vars:\n  X: {scope: stack}\n");
        let e = stamp(&layer, Scope::Instance, Path::new("stacks/dev.yaml")).expect_err("conflict");
        assert_eq!(
            e.to_string(),
            "invalid component secrets section: secret scope conflicts with declaration position: secret \"X\" declares scope \"stack\" but its position implies \"instance\" (in `stacks/dev.yaml`)"
        );
        let e = stamp(
            &node("vars:\n  X: {scope: instance}\n"),
            Scope::Stack,
            Path::new("m"),
        )
        .expect_err("conflict");
        assert!(e.to_string().contains("position implies \"stack\""));
        assert!(
            stamp(
                &node("vars:\n  X: {scope: bogus}\n"),
                Scope::Stack,
                Path::new("m")
            )
            .is_err()
        );
        let e = stamp(&node("[1]"), Scope::Stack, Path::new("m.yaml")).expect_err("shape");
        assert!(
            e.to_string()
                .starts_with("invalid component secrets section"),
            "{e}"
        );
        assert!(stamp(&node("vars: [1]"), Scope::Stack, Path::new("m")).is_err());
    }

    #[test]
    fn check_fails_exactly_where_stamp_fails() {
        for (text, position) in [
            ("vars:\n  X: {scope: stack}\n", Scope::Instance),
            ("vars:\n  X: {scope: instance}\n", Scope::Stack),
            ("vars:\n  X: {scope: bogus}\n", Scope::Stack),
            ("vars:\n  X: {scope: global}\n  Y: plain\n", Scope::Stack),
            ("[1]", Scope::Stack),
            ("vars: [1]", Scope::Stack),
            ("providers: 3", Scope::Stack),
            ("vars:\n  A: {store: s}\n", Scope::Instance),
            ("~", Scope::Instance),
        ] {
            let layer = node(text);
            let stamped = stamp(&layer, position, Path::new("m.yaml")).map(drop);
            let checked = check(&layer, position, Path::new("m.yaml"));
            assert_eq!(
                stamped.map_err(|e| e.to_string()),
                checked.map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn declarations_are_sorted_and_typed() {
        let section = node(
            "secrets:\n  vars:\n    Z: {store: s, sops: v, required: true, scope: stack}\n    A: {description: d, reference: r}\n    M: text\n",
        );
        let d = declarations(section.as_map().expect("map")).expect("ok");
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["A", "M", "Z"]);
        assert_eq!(d[2].backend, Backend::Sops("v".into()));
        assert!(d[2].required);
        assert_eq!(d[2].scope, Scope::Stack);
        assert_eq!(d[0].backend, Backend::None);
        assert_eq!(d[0].reference, "r");
        assert_eq!(d[1].scope, Scope::Instance);
        let bad = node("secrets: [x]\natmos_stack_file: dev\n");
        assert!(declarations(bad.as_map().expect("map")).is_err());
    }

    #[test]
    fn stack_providers() {
        let section = node(
            "secrets:\n  providers:\n    Dev:\n      kind: sops/age\n      spec: {file: 'secrets/{{ .atmos_stack }}.enc.yaml'}\n",
        );
        let p = providers(section.as_map().expect("map")).expect("ok");
        assert_eq!(
            p["dev"].spec.file.as_deref(),
            Some("secrets/{{ .atmos_stack }}.enc.yaml")
        );
        let bad = node("secrets:\n  providers:\n    x: [1]\n");
        assert!(providers(bad.as_map().expect("map")).is_err());
    }
}
