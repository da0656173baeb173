//! Owns the *declarations view* of a manifest: the parts of a parsed file that building a
//! component's secret declarations reads — `secrets`, `metadata`, `auth`, `env`, `component`,
//! `overrides` and the vars that name a stack — at every level (top level, component-type
//! sections, `components.<type>.<name>`, `overrides`). Everything else (`settings`, the other
//! vars, backend and provider sections, …) is dropped.
//!
//! Commands that enumerate declarations across a stack or the whole tree (`secret list`,
//! `secret validate`'s collision guard, the pickers) merge these views instead of the full files,
//! so the 20 vars of every catalog component are neither merged nor copied per stack. Merging is
//! key-local, so merging the views gives the views of the full merge: the declarations built from
//! them are the ones a full build gives. A component whose viewed sections hold a template is
//! built in full instead (a template may read any section), see [`super::component`].

use super::templates::NAMING_VARS;
use crate::yaml::{Map, Node};

/// The sections a component keeps in the view (besides `vars`, cut to the naming vars).
const KEEP: &[&str] = &["secrets", "metadata", "auth", "env", "component"];

/// The declarations view of one parsed manifest body.
pub fn of_file(body: &Map) -> Map {
    let mut out = Map::default();
    for (k, v) in body {
        let kept = match (k.as_str(), v) {
            ("components", Node::Map(types)) => Node::Map(
                types
                    .iter()
                    .map(|(t, comps)| {
                        let comps = match comps {
                            Node::Map(c) => Node::Map(
                                c.iter()
                                    .map(|(n, comp)| (n.clone(), of_section(comp)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        };
                        (t.clone(), comps)
                    })
                    .collect(),
            ),
            ("vars", v) => naming_vars(v),
            ("settings", Node::Map(_)) => continue,
            (k, v) if KEEP.contains(&k) => v.clone(),
            // `overrides`, component-type sections (`terraform:` …) and unknown keys.
            (_, v) => of_section(v),
        };
        out.insert(k.clone(), kept);
    }
    out
}

/// The view of a component-like section (a component, `overrides`, a type section).
fn of_section(node: &Node) -> Node {
    let Node::Map(m) = node else {
        return node.clone();
    };
    let mut out = Map::default();
    for (k, v) in m {
        match k.as_str() {
            "vars" => {
                out.insert(k.clone(), naming_vars(v));
            }
            "overrides" => {
                out.insert(k.clone(), of_section(v));
            }
            k2 if KEEP.contains(&k2) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    Node::Map(out)
}

fn naming_vars(vars: &Node) -> Node {
    match vars {
        Node::Map(m) => Node::Map(
            m.iter()
                .filter(|(k, _)| NAMING_VARS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn keeps_what_declarations_read_at_every_level() {
        let Node::Map(body) = yaml::parse(
            "vars: {stage: dev, big: 1}\nsettings: {a: 1}\nsecrets: {vars: {S: {sops: v}}}\n\
             terraform: {vars: {x: 1, tenant: t}, overrides: {settings: {b: 2}, auth: {i: 1}}}\n\
             components:\n  terraform:\n    api:\n      metadata: {inherits: [base]}\n      \
             vars: {port: 1, namespace: n}\n      settings: {c: 3}\n      backend: {d: 4}\n      \
             secrets: {vars: {D: {sops: v}}}\n      overrides: {vars: {y: 1}, env: {E: e}}\n    \
             nul: null\n",
            "t",
        )
        .expect("yaml") else {
            panic!("map")
        };
        let want = yaml::parse(
            "vars: {stage: dev}\nsecrets: {vars: {S: {sops: v}}}\n\
             terraform: {vars: {tenant: t}, overrides: {auth: {i: 1}}}\n\
             components:\n  terraform:\n    api:\n      metadata: {inherits: [base]}\n      \
             vars: {namespace: n}\n      secrets: {vars: {D: {sops: v}}}\n      \
             overrides: {vars: {}, env: {E: e}}\n    nul: null\n",
            "t",
        )
        .expect("yaml");
        assert_eq!(Node::Map(of_file(&body)), want);
    }
}
