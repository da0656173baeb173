//! Scope analysis of a parsed [`Template`]: what its text shares with other text parsed into the
//! same document (the `define`d names it adds, the names its `{{template}}` calls look up) and
//! which top-level keys of the data it can observe. Callers that render the values of one
//! document separately (atmos renders a component section as one document) use it to decide
//! which values may be rendered alone with the same result, and which part of the data a value
//! needs.
//!
//! Variables need no entry here: a text that parses on its own declares every variable it uses
//! (Go's parser rejects the others), and at run time a use finds the most recent declaration in
//! scope — its own — whatever earlier text in the document declared. `$` is the data in both.

use std::collections::BTreeSet;

use super::exec::Template;
use super::parse::{Arg, Command, ControlKind, Node, Pipe};

/// What a parsed template shares with its document, and what of the data it reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Names the text defines (`define`/`block`), besides the template itself.
    pub defines: BTreeSet<String>,
    /// Names its `{{template}}` calls (and `block`s) execute, in any of its trees.
    pub calls: BTreeSet<String>,
    /// The top-level keys of the data it reads (`.x…` where `.` is the data, `$.x…`); `None`
    /// when the data itself is passed on whole (a bare `.` or `$` as an argument, a variable, a
    /// `with`/`range`/`template` pipeline), so any key may be read.
    pub data_keys: Option<BTreeSet<String>>,
}

impl Scope {
    /// Whether the text can be rendered on its own with the result it has inside a document of
    /// other texts whose scopes are `others`: it calls only templates it defines itself, none of
    /// its names is defined by another text (a second definition is a parse error in one
    /// document), and it does not call `document` (the whole document's own name).
    pub fn independent<'a>(
        &self,
        document: &str,
        others: impl IntoIterator<Item = &'a Scope>,
    ) -> bool {
        if self.calls.iter().any(|c| !self.defines.contains(c)) || self.defines.contains(document) {
            return false;
        }
        others
            .into_iter()
            .all(|o| o.defines.is_disjoint(&self.defines))
    }
}

impl Template {
    /// The scope analysis of every tree of this template set (see [`Scope`]).
    pub fn scope(&self) -> Scope {
        let mut s = Walker {
            scope: Scope {
                data_keys: Some(BTreeSet::new()),
                ..Scope::default()
            },
        };
        for (name, tree) in self.trees() {
            if name == self.name() {
                s.list(&tree.root, true, true);
            } else {
                s.scope.defines.insert(name.to_owned());
                // `.` and `$` in a define are what the caller passes: a caller passing the data
                // itself is already counted as passing it on whole.
                s.list(&tree.root, false, false);
            }
        }
        s.scope
    }
}

struct Walker {
    scope: Scope,
}

impl Walker {
    /// Walks `nodes`; `dot_is_data`/`dollar_is_data`: whether `.`/`$` are the data there.
    fn list(&mut self, nodes: &[Node], dot_is_data: bool, dollar_is_data: bool) {
        for node in nodes {
            match node {
                Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
                Node::Action(p) => self.pipe(p, dot_is_data, dollar_is_data),
                Node::Control(c) => {
                    self.pipe(&c.pipe, dot_is_data, dollar_is_data);
                    // `if` keeps `.`; `with`/`range` bodies see the pipeline's value (which is
                    // the data only if the pipeline passes it on whole, counted above).
                    let body_dot = dot_is_data && c.kind == ControlKind::If;
                    self.list(&c.list, body_dot, dollar_is_data);
                    if let Some(e) = &c.else_list {
                        self.list(e, dot_is_data, dollar_is_data);
                    }
                }
                Node::Template { name, pipe, .. } => {
                    self.scope.calls.insert(name.clone());
                    if let Some(p) = pipe {
                        self.pipe(p, dot_is_data, dollar_is_data);
                    }
                }
            }
        }
    }

    fn pipe(&mut self, p: &Pipe, dot: bool, dollar: bool) {
        for c in &p.cmds {
            self.command(c, dot, dollar);
        }
    }

    fn command(&mut self, c: &Command, dot: bool, dollar: bool) {
        for a in &c.args {
            self.arg(a, dot, dollar);
        }
    }

    fn arg(&mut self, a: &Arg, dot: bool, dollar: bool) {
        match a {
            Arg::Field(_, fields) if dot => self.key(&fields[0]),
            Arg::Dot(_) if dot => self.scope.data_keys = None,
            Arg::Variable(_, idents) if dollar && idents[0] == "$" => match idents.get(1) {
                Some(k) => self.key(k),
                None => self.scope.data_keys = None,
            },
            Arg::Pipe(_, p) => self.pipe(p, dot, dollar),
            Arg::Chain(_, inner, _) => self.arg(inner, dot, dollar),
            _ => {}
        }
    }

    fn key(&mut self, k: &str) {
        if let Some(keys) = &mut self.scope.data_keys {
            keys.insert(k.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::Funcs;
    use super::*;

    fn scope(text: &str) -> Scope {
        let mut t = Template::new("doc", Arc::new(Funcs::standard()));
        t.parse(text).expect("parses");
        t.scope()
    }

    fn keys(s: &Scope) -> Option<Vec<&str>> {
        s.data_keys
            .as_ref()
            .map(|k| k.iter().map(String::as_str).collect())
    }

    #[test]
    fn data_keys_are_the_top_level_fields_read_from_the_data() {
        let s = scope(
            "{{ .vars.stage }}-{{ $.atmos_component | upper }}{{ if .x }}{{ .y.z }}{{ end }}",
        );
        assert_eq!(keys(&s), Some(vec!["atmos_component", "vars", "x", "y"]));
        // Inside `range`/`with`, `.` is the element; `$` is still the data.
        let s = scope(
            "{{ range $k, $v := .settings.tags }}{{ $k }}={{ .name }}{{ $.vars.a }}{{ $v.q }}{{ end }}",
        );
        assert_eq!(keys(&s), Some(vec!["settings", "vars"]));
        let s = scope("{{ with .vars }}{{ .stage }}{{ else }}{{ .other }}{{ end }}");
        assert_eq!(keys(&s), Some(vec!["other", "vars"]));
        let s = scope("{{ (index .vars \"a\").b }}{{ (.settings).c }}");
        assert_eq!(keys(&s), Some(vec!["settings", "vars"]));
    }

    #[test]
    fn passing_the_data_on_whole_reads_every_key() {
        for t in [
            "{{ toJson . }}",
            "{{ $c := . }}{{ $c.vars }}",
            "{{ index $ \"vars\" }}",
            "{{ with . }}{{ .vars }}{{ end }}",
            "{{ define \"x\" }}{{ .vars }}{{ end }}{{ template \"x\" . }}",
            "{{ range $.vars }}{{ end }}{{ . }}",
        ] {
            assert_eq!(scope(t).data_keys, None, "{t}");
        }
        // In a define `.`/`$` are the caller's argument, not the data.
        let s = scope("{{ define \"x\" }}{{ .a }}{{ $.b }}{{ end }}{{ template \"x\" .vars }}");
        assert_eq!(keys(&s), Some(vec!["vars"]));
    }

    #[test]
    fn defines_and_calls_decide_independence() {
        let own = scope("{{ define \"x\" }}y{{ end }}{{ template \"x\" }}");
        assert_eq!(own.defines, BTreeSet::from(["x".to_owned()]));
        assert_eq!(own.calls, BTreeSet::from(["x".to_owned()]));
        assert!(own.independent("doc", []));
        let block = scope("{{ block \"b\" . }}{{ .vars }}{{ end }}");
        assert!(block.independent("doc", []));
        assert_eq!(block.data_keys, None);
        let caller = scope("{{ template \"x\" }}");
        assert!(!caller.independent("doc", [&own]));
        // A second definition of `x` fails the whole document.
        assert!(!own.independent("doc", [&own.clone()]));
        let plain = scope("{{ .a }}");
        assert!(plain.independent("doc", [&own, &block]));
        // The document's own name cannot be called from a value rendered alone.
        assert!(!scope("{{ template \"doc\" }}").independent("doc", []));
        assert!(!scope("{{ define \"doc2\" }}{{ end }}").independent("doc2", []));
    }
}
