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

use std::collections::{BTreeMap, BTreeSet};

use super::exec::Template;
use super::parse::{Arg, Command, ControlKind, Node, Pipe};
use super::value::{Map, Value};

/// What a parsed template shares with its document, and what of the data it reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Names the text defines (`define`/`block`), besides the template itself.
    pub defines: BTreeSet<String>,
    /// Names its `{{template}}` calls (and `block`s) execute, in any of its trees.
    pub calls: BTreeSet<String>,
    /// The part of the data it reads: the field chains `.a.b` (where `.` is the data) and
    /// `$.a.b`, each needing the whole value at its end; the whole data when the data itself is
    /// passed on (a bare `.` or `$` as an argument, a variable, a `with`/`range`/`template`
    /// pipeline).
    pub data: Need,
}

/// The part of a map-shaped value a template reads: the whole value, or some of its keys (each
/// with what is read under it). A value cut to a [`Need`] ([`Need::pick`]) renders a template
/// that needs no more exactly as the whole value does: a missing key is missing in both, and a
/// field chain through a non-map meets the same non-map.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Need {
    /// The whole value.
    pub whole: bool,
    /// Otherwise, these keys.
    pub fields: BTreeMap<String, Need>,
}

impl Need {
    /// Everything.
    pub fn whole() -> Self {
        Need {
            whole: true,
            fields: BTreeMap::new(),
        }
    }

    /// Adds the field chain `path` (its end needed whole).
    pub fn add(&mut self, path: &[String]) {
        if self.whole {
            return;
        }
        match path.split_first() {
            None => *self = Need::whole(),
            Some((k, rest)) => self.fields.entry(k.clone()).or_default().add(rest),
        }
    }

    /// Adds what `other` needs.
    pub fn merge(&mut self, other: &Need) {
        if self.whole {
            return;
        }
        if other.whole {
            *self = Need::whole();
            return;
        }
        for (k, n) in &other.fields {
            self.fields.entry(k.clone()).or_default().merge(n);
        }
    }

    /// Whether the key `k` of the value is read.
    pub fn wants(&self, k: &str) -> bool {
        self.whole || self.fields.contains_key(k)
    }

    /// `node` cut to what is needed, as a node (what [`Need::pick`] converts).
    pub fn cut(&self, node: &crate::yaml::Node) -> crate::yaml::Node {
        use crate::yaml::Node;
        match node {
            Node::Map(m) if !self.whole => Node::Map(
                self.fields
                    .iter()
                    .filter_map(|(k, need)| m.get(k).map(|v| (k.clone(), need.cut(v))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Whether `node` cut to what is needed is `cut`, a node [`Need::cut`] made with this need
    /// (in the same order: a different order is treated as different).
    pub fn same_cut(&self, node: &crate::yaml::Node, cut: &crate::yaml::Node) -> bool {
        use crate::yaml::Node;
        match (node, cut) {
            (Node::Map(m), Node::Map(c)) if !self.whole => {
                // `cut` holds the keys of `fields` that were present, in the order of `fields`.
                let mut kept = c.iter().peekable();
                self.fields.iter().all(|(k, need)| {
                    let in_cut = kept.next_if(|(ck, _)| *ck == k).map(|(_, v)| v);
                    match (m.get(k), in_cut) {
                        (None, None) => true,
                        (Some(a), Some(b)) => need.same_cut(a, b),
                        _ => false,
                    }
                }) && kept.next().is_none()
            }
            (a, b) => same_node(a, b),
        }
    }

    /// `node` as a template value, cut to what is needed (maps only keep the keys read).
    pub fn pick(&self, node: &crate::yaml::Node) -> Value {
        match node {
            crate::yaml::Node::Map(m) if !self.whole => Value::from(
                self.fields
                    .iter()
                    .filter_map(|(k, need)| m.get(k).map(|v| (k.clone(), need.pick(v))))
                    .collect::<Map>(),
            ),
            other => Value::from(other),
        }
    }
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

/// Equal nodes, maps in the same order.
fn same_node(a: &crate::yaml::Node, b: &crate::yaml::Node) -> bool {
    use crate::yaml::Node;
    match (a, b) {
        (Node::Map(x), Node::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_node(va, vb))
        }
        (Node::Seq(x), Node::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(p, q))
        }
        (Node::Tagged(x), Node::Tagged(y)) => x.tag == y.tag && same_node(&x.value, &y.value),
        (Node::Float(x), Node::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Equal values, maps in the same order (the same `Arc` is equal without looking inside).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => {
            std::sync::Arc::ptr_eq(x, y)
                || (x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb)))
        }
        (Value::List(x), Value::List(y)) => {
            std::sync::Arc::ptr_eq(x, y)
                || (x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_value(p, q)))
        }
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Feeds `v` to `h` so that values [`same_value`] calls equal hash equally.
pub fn hash_value(v: &Value, h: &mut impl std::hash::Hasher) {
    match v {
        Value::Nil => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        Value::Int(i) => {
            h.write_u8(3);
            h.write_i64(*i);
        }
        Value::Float(f) => {
            h.write_u8(4);
            h.write_u64(f.to_bits());
        }
        Value::Str(s) => {
            h.write_u8(5);
            h.write_usize(s.len());
            h.write(s.as_bytes());
        }
        Value::List(l) => {
            h.write_u8(6);
            h.write_usize(l.len());
            l.iter().for_each(|v| hash_value(v, h));
        }
        Value::Map(m) => {
            h.write_u8(7);
            h.write_usize(m.len());
            for (k, v) in m.iter() {
                h.write_usize(k.len());
                h.write(k.as_bytes());
                hash_value(v, h);
            }
        }
    }
}

impl Template {
    /// The scope analysis of every tree of this template set (see [`Scope`]).
    pub fn scope(&self) -> Scope {
        let mut s = Walker {
            scope: Scope::default(),
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
            Arg::Field(_, fields) if dot => self.scope.data.add(fields),
            Arg::Dot(_) if dot => self.scope.data = Need::whole(),
            Arg::Variable(_, idents) if dollar && idents[0] == "$" => {
                self.scope.data.add(&idents[1..]);
            }
            Arg::Pipe(_, p) => self.pipe(p, dot, dollar),
            Arg::Chain(_, inner, _) => self.arg(inner, dot, dollar),
            _ => {}
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

    /// The field chains a scope needs (`None`: the whole data).
    fn keys(s: &Scope) -> Option<Vec<String>> {
        fn walk(n: &Need, prefix: &str, out: &mut Vec<String>) {
            if n.whole {
                out.push(prefix.to_owned());
            }
            for (k, sub) in &n.fields {
                walk(sub, &format!("{prefix}.{k}"), out);
            }
        }
        if s.data.whole {
            return None;
        }
        let mut out = Vec::new();
        walk(&s.data, "", &mut out);
        Some(out)
    }

    #[test]
    fn data_is_the_field_chains_read_from_the_data() {
        let s = scope(
            "{{ .vars.stage }}-{{ $.atmos_component | upper }}{{ if .x }}{{ .y.z }}{{ end }}",
        );
        assert_eq!(
            keys(&s),
            Some(vec![
                ".atmos_component".into(),
                ".vars.stage".into(),
                ".x".into(),
                ".y.z".into()
            ])
        );
        // Inside `range`/`with`, `.` is the element; `$` is still the data.
        let s = scope(
            "{{ range $k, $v := .settings.tags }}{{ $k }}={{ .name }}{{ $.vars.a }}{{ $v.q }}{{ end }}",
        );
        assert_eq!(
            keys(&s),
            Some(vec![".settings.tags".into(), ".vars.a".into()])
        );
        let s = scope("{{ with .vars }}{{ .stage }}{{ else }}{{ .other }}{{ end }}");
        assert_eq!(keys(&s), Some(vec![".other".into(), ".vars".into()]));
        let s = scope("{{ (index .vars \"a\").b }}{{ (.settings).c }}{{ .vars.x }}");
        assert_eq!(keys(&s), Some(vec![".settings".into(), ".vars".into()]));
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
            assert_eq!(keys(&scope(t)), None, "{t}");
        }
        // In a define `.`/`$` are the caller's argument, not the data.
        let s = scope("{{ define \"x\" }}{{ .a }}{{ $.b }}{{ end }}{{ template \"x\" .vars }}");
        assert_eq!(keys(&s), Some(vec![".vars".into()]));
    }

    /// A value cut to what templates need renders them as the whole value does, errors included.
    #[test]
    fn the_cut_data_renders_as_the_whole() {
        let node = crate::yaml::parse(
            "vars: {stage: prod, n: 3, s: text, m: {a: 1, b: [x, y]}}\nsettings: {t: {k: v}}\nother: 1\n",
            "t",
        )
        .expect("yaml");
        let whole = Value::from(&node);
        for t in [
            "{{ .vars.stage }}{{ .vars.m }}{{ range $k, $v := .settings.t }}{{ $k }}{{ $v }}{{ end }}",
            "{{ .vars.nope }}",
            "{{ .vars.s.deeper }}",
            "{{ .vars.m.b }}{{ len .vars.m }}{{ $.other }}",
            "{{ .missing.x }}",
            "{{ len . }}",
        ] {
            let mut tmpl = Template::new("doc", Arc::new(Funcs::standard()))
                .missing_key(super::super::MissingKey::Error);
            tmpl.parse(t).expect("parses");
            let cut = tmpl.scope().data.pick(&node);
            assert_eq!(tmpl.execute(&cut), tmpl.execute(&whole), "{t}");
        }
    }

    #[test]
    fn defines_and_calls_decide_independence() {
        let own = scope("{{ define \"x\" }}y{{ end }}{{ template \"x\" }}");
        assert_eq!(own.defines, BTreeSet::from(["x".to_owned()]));
        assert_eq!(own.calls, BTreeSet::from(["x".to_owned()]));
        assert!(own.independent("doc", []));
        let block = scope("{{ block \"b\" . }}{{ .vars }}{{ end }}");
        assert!(block.independent("doc", []));
        assert_eq!(keys(&block), None);
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
