//! Owns [`Node`], the ordered YAML value tree used for `atmos.yaml` and stack manifests, and its
//! three conversions: YAML text → [`Node`] ([`parse`]), [`Node`] → YAML text ([`to_yaml`]) and
//! [`Node`] ↔ JSON ([`to_json`], [`from_json`]).
//!
//! Maps keep document order; YAML function tags (`!secret`, `!include`, …) survive as
//! [`Node::Tagged`] until the stack loader resolves or types them. Plain scalars resolve the way
//! Go's `yaml.v3` resolves them for atmos (YAML 1.2 core schema: `yes`/`no` stay strings).
//! Anchors, aliases and `<<` merge keys are expanded while parsing. The SOPS codec has its own tree
//! (it must keep comments and sops' scalar typing) and does not use this one.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use indexmap::IndexMap;

mod fast;

/// An ordered YAML mapping with string keys, hashed with foldhash: a stack load and a
/// whole-tree listing look keys up millions of times, and SipHash's flood resistance buys
/// nothing for keys read from the project's own files.
pub type Map = IndexMap<String, Node, foldhash::fast::RandomState>;

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Node {
    /// `null`, `~` or an empty value.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping.
    Map(Map),
    /// A value with a local tag such as `!secret` or `!include`, not yet resolved.
    Tagged(Box<Tagged>),
}

/// A tagged YAML value (`!tag value`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    /// The tag including its leading `!`, e.g. `!secret`.
    pub tag: String,
    /// The value the tag was applied to.
    pub value: Node,
}

impl Node {
    /// The mapping, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this is one.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The tagged value, if this is one.
    pub fn as_tagged(&self) -> Option<&Tagged> {
        match self {
            Node::Tagged(t) => Some(t),
            _ => None,
        }
    }

    /// Looks up a key when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// A tagged node.
    pub fn tagged(tag: impl Into<String>, value: Node) -> Node {
        Node::Tagged(Box::new(Tagged {
            tag: tag.into(),
            value,
        }))
    }

    /// The YAML type name used in error messages (`map`, `list`, `string`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "bool",
            Node::Int(_) => "int",
            Node::Float(_) => "float",
            Node::Str(_) => "string",
            Node::Seq(_) => "list",
            Node::Map(_) => "map",
            Node::Tagged(_) => "tagged value",
        }
    }

    /// A scalar rendered as text (`Go %v` style), `None` for collections and tags.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Null => Some(String::new()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(format_float(*f)),
            Node::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// A YAML syntax or structure error, with the file and (1-based) line when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid YAML in `{origin}`{}: {message}", line_suffix(*.line))]
pub struct YamlError {
    /// The file (or other origin) being parsed.
    pub origin: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line}")
    }
}

impl crate::error::Diagnose for YamlError {
    fn hint(&self) -> Option<String> {
        Some("check indentation and quoting near that line".to_owned())
    }
}

/// The most nodes alias expansion may copy in one document (guards against "billion laughs").
const ALIAS_BUDGET: usize = 1_000_000;

enum Key {
    Str(String),
    Merge,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        tag: Option<String>,
    },
    Map {
        map: Map,
        /// The line of each key of `map`, by index (duplicate keys are reported with both).
        lines: Vec<usize>,
        merges: Vec<Node>,
        key: Option<(Key, usize)>,
        anchor: usize,
        tag: Option<String>,
    },
}

struct Builder<'a> {
    origin: &'a str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    budget: usize,
}

impl Builder<'_> {
    fn err(&self, line: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            origin: self.origin.to_owned(),
            line,
            message: message.into(),
        }
    }

    fn complete(
        &mut self,
        node: Node,
        anchor: usize,
        line: usize,
        is_merge_key: bool,
    ) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let origin = self.origin;
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                map,
                lines,
                merges,
                key,
                ..
            }) => match key.take() {
                None => {
                    let k = if is_merge_key {
                        Key::Merge
                    } else {
                        match scalar_key(node) {
                            Ok(k) => Key::Str(k),
                            Err(Node::Tagged(t)) => match t.value {
                                Node::Str(s) => Key::Str(s),
                                _ => return Err(self.err(line, "mapping keys must be scalars")),
                            },
                            Err(_) => {
                                return Err(YamlError {
                                    origin: origin.to_owned(),
                                    line,
                                    message: "mapping keys must be scalars".to_owned(),
                                });
                            }
                        }
                    };
                    *key = Some((k, line));
                }
                Some((Key::Merge, _)) => merges.push(node),
                Some((Key::Str(k), kline)) => match map.entry(k) {
                    indexmap::map::Entry::Occupied(first) => {
                        return Err(YamlError {
                            origin: origin.to_owned(),
                            line: kline,
                            message: format!(
                                "mapping key `{}` already defined at line {}",
                                first.key(),
                                lines[first.index()]
                            ),
                        });
                    }
                    indexmap::map::Entry::Vacant(slot) => {
                        lines.push(kline);
                        slot.insert(node);
                    }
                },
            },
        }
        Ok(())
    }

    fn alias(&mut self, id: usize, line: usize) -> Result<Node, YamlError> {
        let node = self
            .anchors
            .get(&id)
            .cloned()
            .ok_or_else(|| self.err(line, "unknown anchor"))?;
        let size = node_count(&node);
        if size > self.budget {
            return Err(self.err(line, "too many nodes created by aliases"));
        }
        self.budget -= size;
        Ok(node)
    }
}

/// The text a scalar mapping key is stored under (a plain `1` or `true` key is the string
/// `"1"`/`"true"`, a null key the empty string); the node back when it is not a plain scalar.
/// Both parse paths key maps by it.
fn scalar_key(node: Node) -> Result<String, Node> {
    match node {
        Node::Str(s) => Ok(s),
        Node::Null => Ok(String::new()),
        Node::Bool(_) | Node::Int(_) | Node::Float(_) => Ok(node.scalar_text().unwrap_or_default()),
        other => Err(other),
    }
}

fn node_count(node: &Node) -> usize {
    match node {
        Node::Seq(s) => 1 + s.iter().map(node_count).sum::<usize>(),
        Node::Map(m) => 1 + m.values().map(node_count).sum::<usize>(),
        Node::Tagged(t) => 1 + node_count(&t.value),
        _ => 1,
    }
}

/// The tag as written for local tags (`!secret`), or `None` for core-schema and absent tags.
fn local_tag(tag: Option<&Tag>) -> Option<String> {
    let tag = tag?;
    if tag.is_yaml_core_schema() {
        return None;
    }
    let (handle, suffix) = tag.original_parts();
    Some(format!("{handle}{suffix}"))
}

fn core_suffix(tag: Option<&Tag>) -> Option<&str> {
    tag.filter(|t| t.is_yaml_core_schema()).map(Tag::suffix)
}

/// Every mapping key of the first document of `text` with its path from the root (sequence
/// items as their index) and its 1-based line, in document order. Used to point reports at the
/// line that declares something; the value tree ([`Node`]) does not keep positions.
pub fn key_lines(text: &str) -> Vec<(Vec<String>, usize)> {
    enum Frame {
        Map { key: Option<String> },
        Seq { index: usize },
    }
    fn path(stack: &[Frame]) -> Vec<String> {
        stack
            .iter()
            .filter_map(|f| match f {
                Frame::Map { key } => key.clone(),
                Frame::Seq { index } => Some(index.to_string()),
            })
            .collect()
    }
    // A value (scalar, alias or a closed collection) completes the enclosing slot.
    fn completed(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map { key }) => *key = None,
            Some(Frame::Seq { index }) => *index += 1,
            None => {}
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        match event {
            Event::DocumentEnd => break,
            Event::Scalar(value, ..) => match stack.last_mut() {
                Some(Frame::Map { key }) if key.is_none() => {
                    *key = Some(value.into_owned());
                    out.push((path(&stack), span.start.line()));
                }
                _ => completed(&mut stack),
            },
            Event::Alias(_) => completed(&mut stack),
            Event::MappingStart(..) => stack.push(Frame::Map { key: None }),
            Event::SequenceStart(..) => stack.push(Frame::Seq { index: 0 }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                completed(&mut stack);
            }
            _ => {}
        }
    }
    out
}

/// Parses the first document of `text`. `origin` names the file in errors. An empty document is
/// [`Node::Null`].
///
/// Plain block YAML goes through the line reader in `fast`; everything else, and every error,
/// through the event parser.
pub fn parse(text: &str, origin: &str) -> Result<Node, YamlError> {
    match fast::parse(text) {
        Some(node) => Ok(node),
        None => parse_events(text, origin),
    }
}

/// [`parse`] through the event parser only.
fn parse_events(text: &str, origin: &str) -> Result<Node, YamlError> {
    let mut b = Builder {
        origin,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        budget: ALIAS_BUDGET,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            origin: origin.to_owned(),
            line: e.marker().line(),
            message: e.info(),
        })?;
        let line = span.start.line();
        match event {
            Event::DocumentEnd if b.root.is_some() => break,
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.as_deref();
                let is_merge_key = matches!(style, ScalarStyle::Plain)
                    && value == "<<"
                    && tag.is_none()
                    && matches!(b.stack.last(), Some(Frame::Map { key: None, .. }));
                let node = match (local_tag(tag), core_suffix(tag)) {
                    (Some(t), _) => Node::tagged(t, Node::Str(value.into_owned())),
                    (None, Some(suffix)) => core_scalar(suffix, &value).ok_or_else(|| {
                        b.err(line, format!("cannot decode `{value}` as `!!{suffix}`"))
                    })?,
                    (None, None) if matches!(style, ScalarStyle::Plain) => resolve_plain(&value),
                    (None, None) => Node::Str(value.into_owned()),
                };
                b.complete(node, anchor, line, is_merge_key)?;
            }
            Event::Alias(id) => {
                let node = b.alias(id, line)?;
                b.complete(node, 0, line, false)?;
            }
            Event::SequenceStart(_, anchor, tag) => b.stack.push(Frame::Seq {
                items: Vec::new(),
                anchor,
                tag: local_tag(tag.as_deref()),
            }),
            Event::MappingStart(_, anchor, tag) => b.stack.push(Frame::Map {
                map: Map::default(),
                lines: Vec::new(),
                merges: Vec::new(),
                key: None,
                anchor,
                tag: local_tag(tag.as_deref()),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = b.stack.pop() else {
                    return Err(b.err(line, "unbalanced collection end"));
                };
                let (node, anchor, tag) = match frame {
                    Frame::Seq { items, anchor, tag } => (Node::Seq(items), anchor, tag),
                    Frame::Map {
                        map,
                        merges,
                        anchor,
                        tag,
                        ..
                    } => (
                        Node::Map(apply_merge_keys(map, merges).map_err(|m| b.err(line, m))?),
                        anchor,
                        tag,
                    ),
                };
                let node = match tag {
                    Some(t) => Node::tagged(t, node),
                    None => node,
                };
                b.complete(node, anchor, line, false)?;
            }
            _ => {}
        }
    }
    Ok(b.root.unwrap_or_default())
}

/// `<<` merge keys: explicit keys win; among merged maps the earlier one wins.
fn apply_merge_keys(map: Map, merges: Vec<Node>) -> Result<Map, String> {
    if merges.is_empty() {
        return Ok(map);
    }
    let mut sources = Vec::new();
    for m in merges {
        match m {
            Node::Map(x) => sources.push(x),
            Node::Seq(items) => {
                for item in items {
                    match item {
                        Node::Map(x) => sources.push(x),
                        other => {
                            return Err(format!(
                                "`<<` merge list entries must be maps, found {}",
                                other.type_name()
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "`<<` merge value must be a map or list of maps, found {}",
                    other.type_name()
                ));
            }
        }
    }
    let mut out = Map::default();
    for src in sources {
        for (k, v) in src {
            out.entry(k).or_insert(v);
        }
    }
    for (k, v) in map {
        out.insert(k, v);
    }
    Ok(out)
}

fn core_scalar(suffix: &str, value: &str) -> Option<Node> {
    match suffix {
        "str" => Some(Node::Str(value.to_owned())),
        "int" => parse_int(value).map(Node::Int),
        "float" => parse_float(value)
            .or_else(|| parse_int(value).map(|i| i as f64))
            .map(Node::Float),
        "bool" => match resolve_plain(value) {
            n @ Node::Bool(_) => Some(n),
            _ => None,
        },
        "null" => Some(Node::Null),
        _ => Some(resolve_plain(value)),
    }
}

/// Resolves an untagged plain scalar (YAML 1.2 core schema, as `yaml.v3` does).
pub fn resolve_plain(value: &str) -> Node {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        _ => {}
    }
    // Like yaml.v3: values starting with a digit or sign drop `_` first, try an integer (Go base
    // prefixes, including the YAML 1.1 octal `0777`), then a float; `.5` style goes to float.
    match value.as_bytes().first() {
        Some(b'0'..=b'9' | b'-' | b'+') => {
            let plain = value.replace('_', "");
            if let Some(i) = parse_int(&plain) {
                return Node::Int(i);
            }
            if let Some(f) = parse_float(&plain) {
                return Node::Float(f);
            }
        }
        Some(b'.') => {
            if let Some(f) = parse_float(value) {
                return Node::Float(f);
            }
        }
        _ => {}
    }
    Node::Str(value.to_owned())
}

fn parse_int(value: &str) -> Option<i64> {
    let (neg, body) = match value.as_bytes().first()? {
        b'-' => (true, &value[1..]),
        b'+' => (false, &value[1..]),
        _ => (false, value),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = body.strip_prefix("0b") {
        (2, b)
    } else if body.len() > 1 && body.starts_with('0') {
        // YAML 1.1 octal, still decoded by yaml.v3.
        (8, &body[1..])
    } else {
        (10, body)
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

fn parse_float(value: &str) -> Option<f64> {
    match value {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int_part = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let ok_mantissa = match frac {
        Some(f) => digits(int_part) && digits(f) && !(int_part.is_empty() && f.is_empty()),
        None => !int_part.is_empty() && digits(int_part),
    };
    let ok_exp = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if ok_mantissa && ok_exp {
        value.parse().ok()
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Emitting
// ---------------------------------------------------------------------------------------------

/// How [`to_yaml_as`] writes strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quoting {
    /// Plain when the string reads back as itself, else JSON-style double quotes.
    #[default]
    Double,
    /// As Go's `yaml.v3` writes a document atmos renders as a template: single quotes and
    /// literal blocks, which keep template actions intact (a double-quoted scalar would turn `"`
    /// inside an action into `\"`); double quotes only for control characters.
    Template,
}

/// Renders `node` as block-style YAML (2-space indent), ending with a newline.
pub fn to_yaml(node: &Node) -> String {
    to_yaml_as(node, Quoting::Double)
}

/// [`to_yaml`] with strings written as `quoting` says.
pub fn to_yaml_as(node: &Node, quoting: Quoting) -> String {
    let mut out = String::new();
    match node {
        Node::Map(m) if !m.is_empty() => emit_map(m, 0, quoting, &mut out),
        Node::Seq(s) if !s.is_empty() => emit_seq(s, 0, quoting, &mut out),
        other => {
            out.push_str(&inline(other, quoting));
            out.push('\n');
        }
    }
    out
}

/// A map written as [`to_yaml_as`] writes it (empty text for an empty map), without wrapping it
/// in a [`Node`] first.
pub fn map_to_yaml_as(map: &Map, quoting: Quoting) -> String {
    let mut out = String::new();
    emit_map(map, 0, quoting, &mut out);
    out
}

fn is_block(node: &Node) -> bool {
    match node {
        Node::Map(m) => !m.is_empty(),
        Node::Seq(s) => !s.is_empty(),
        Node::Tagged(t) => is_block(&t.value),
        _ => false,
    }
}

fn emit_map(map: &Map, indent: usize, quoting: Quoting, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        out.push_str(&pad);
        out.push_str(&quote_str(k, quoting));
        out.push(':');
        emit_value(v, indent + 2, quoting, out);
    }
}

fn emit_seq(seq: &[Node], indent: usize, quoting: Quoting, out: &mut String) {
    let pad = " ".repeat(indent);
    for v in seq {
        out.push_str(&pad);
        out.push('-');
        match v {
            Node::Map(m) if !m.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut inner = String::new();
                emit_map(m, indent + 2, quoting, &mut inner);
                out.push(' ');
                out.push_str(inner.trim_start());
            }
            _ => emit_value(v, indent + 2, quoting, out),
        }
    }
}

/// Emits the part after `key:` or `-`.
fn emit_value(v: &Node, indent: usize, quoting: Quoting, out: &mut String) {
    match v {
        Node::Map(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(m, indent, quoting, out);
        }
        Node::Seq(s) if !s.is_empty() => {
            out.push('\n');
            emit_seq(s, indent, quoting, out);
        }
        Node::Tagged(t) if is_block(&t.value) => {
            out.push(' ');
            out.push_str(&t.tag);
            emit_value(&t.value, indent, quoting, out);
        }
        // Go's yaml.v3 writes the tag, then the value as it would without one.
        Node::Tagged(t) if quoting == Quoting::Template => {
            out.push(' ');
            out.push_str(&t.tag);
            emit_value(&t.value, indent, quoting, out);
        }
        Node::Str(s) if quoting == Quoting::Template && s.contains('\n') && literal_ok(s) => {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") {
                "+"
            } else {
                ""
            };
            out.push_str(" |");
            out.push_str(chomp);
            out.push('\n');
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, quoting));
            out.push('\n');
        }
    }
}

/// Whether a multi-line string can be a literal block: no other control characters, and a first
/// line that does not start with a space (it would need an indentation indicator).
fn literal_ok(s: &str) -> bool {
    !s.starts_with([' ', '\n']) && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

fn inline(node: &Node, quoting: Quoting) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => format_float(*f),
        Node::Str(s) => quote_str(s, quoting),
        Node::Seq(_) => "[]".to_owned(),
        Node::Map(_) => "{}".to_owned(),
        Node::Tagged(t) => format!("{} {}", t.tag, inline(&t.value, quoting)),
    }
}

/// A string as a scalar for `quoting`.
pub fn quote_str(s: &str, quoting: Quoting) -> String {
    let plain = quote_if_needed(s);
    if quoting == Quoting::Double || plain == s || s.chars().any(char::is_control) {
        return plain;
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else {
        // Shortest round-trip text, with `.0` added so it reads back as a float.
        let s = f.to_string();
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

/// Quotes a string (JSON-style double quotes) when it would not read back as the same string.
pub fn quote_if_needed(s: &str) -> String {
    let needs = s.is_empty()
        || !matches!(resolve_plain(s), Node::Str(_))
        || s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`', ' ',
        ])
        || s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(needs_escape)
        || s == "<<";
    if needs { double_quote(s) } else { s.to_owned() }
}

/// Characters YAML does not allow raw in a scalar (C0/C1 controls, DEL, line/paragraph
/// separators, BOM).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A YAML double-quoted scalar.
fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// Converts to JSON. Tagged values that survive become the string `"!tag value"` for scalars and
/// the plain value for collections.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(s) => Value::Array(s.iter().map(to_json).collect()),
        Node::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Node::Tagged(t) => match &t.value {
            Node::Map(_) | Node::Seq(_) => to_json(&t.value),
            v => Value::String(format!("{} {}", t.tag, v.scalar_text().unwrap_or_default())),
        },
    }
}

/// Converts from JSON, keeping key order.
pub fn from_json(value: &serde_json::Value) -> Node {
    use serde_json::Value;
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(a) => Node::Seq(a.iter().map(from_json).collect()),
        Value::Object(o) => Node::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// Overwrites every string in `node` (scalars and tags; map keys are names, not values) with
/// zeros and empties it: for trees that held resolved secret values, before they are dropped.
pub fn zeroize(node: &mut Node) {
    use zeroize::Zeroize as _;
    match node {
        Node::Str(s) => s.zeroize(),
        Node::Seq(items) => items.iter_mut().for_each(zeroize),
        Node::Map(m) => m.values_mut().for_each(zeroize),
        Node::Tagged(t) => {
            t.tag.zeroize();
            zeroize(&mut t.value);
        }
        Node::Null | Node::Bool(_) | Node::Int(_) | Node::Float(_) => {}
    }
}

/// Sorts map keys recursively (for stable output, as Go's YAML/JSON encoders do).
pub fn sorted(node: &Node) -> Node {
    match node {
        Node::Map(m) => {
            let mut entries: Vec<(&String, &Node)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Node::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Node::Seq(s) => Node::Seq(s.iter().map(sorted).collect()),
        Node::Tagged(t) => Node::tagged(t.tag.clone(), sorted(&t.value)),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// yq-style paths
// ---------------------------------------------------------------------------------------------

/// Evaluates a small yq path such as `.a.b[0]`, `.["key.with.dots"]` or `.` against `node`.
/// Shared by `!include path query`, `!secret NAME | path …` and `secret get --path`.
/// A missing key or index yields `Ok(Node::Null)`, as yq prints `null`.
pub fn query(node: &Node, path: &str) -> Result<Node, String> {
    let path = path.trim();
    let Some(mut rest) = path.strip_prefix('.') else {
        return Err(format!("invalid path `{path}`: it must start with `.`"));
    };
    let mut cur = node.clone();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("invalid path `{path}`: missing `]`"))?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            if let Some(q) = inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                cur = cur.get(q).cloned().unwrap_or_default();
            } else {
                let i: i64 = inner
                    .parse()
                    .map_err(|_| format!("invalid path `{path}`: bad index `{inner}`"))?;
                cur = match cur.as_seq() {
                    Some(seq) => {
                        let idx = if i < 0 { seq.len() as i64 + i } else { i };
                        usize::try_from(idx)
                            .ok()
                            .and_then(|i| seq.get(i))
                            .cloned()
                            .unwrap_or_default()
                    }
                    None => Node::Null,
                };
            }
        } else {
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
            }
            let (key, r) = if let Some(q) = rest.strip_prefix('"') {
                let end = q
                    .find('"')
                    .ok_or_else(|| format!("invalid path `{path}`: unterminated quote"))?;
                (&q[..end], &q[end + 1..])
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            if key.is_empty() {
                return Err(format!("invalid path `{path}`: empty key"));
            }
            rest = r;
            cur = match &cur {
                Node::Tagged(t) => t.value.get(key).cloned().unwrap_or_default(),
                other => other.get(key).cloned().unwrap_or_default(),
            };
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_give_paths_and_one_based_lines() {
        let text =
            "a: 1\nsecrets:\n  vars:\n    DB:\n      required: true\nlist:\n  - x: 1\n    y: 2\n";
        let keys = key_lines(text);
        let find = |p: &[&str]| {
            keys.iter()
                .find(|(k, _)| k.iter().map(String::as_str).eq(p.iter().copied()))
                .map(|(_, l)| *l)
        };
        assert_eq!(find(&["a"]), Some(1));
        assert_eq!(find(&["secrets", "vars", "DB"]), Some(4));
        assert_eq!(find(&["secrets", "vars", "DB", "required"]), Some(5));
        assert_eq!(find(&["list", "0", "y"]), Some(8));
    }

    #[test]
    fn zeroize_empties_every_value_string_and_keeps_the_keys() {
        let mut n = parse("a: s1\nb: [s2, {c: s3}]\nd: !secret s4\ne: 5\n", "t.yaml").unwrap();
        zeroize(&mut n);
        let text = to_yaml(&n);
        for v in ["s1", "s2", "s3", "s4"] {
            assert!(!text.contains(v), "{text}");
        }
        assert_eq!(n.get("e"), Some(&Node::Int(5)));
        assert_eq!(n.get("a"), Some(&Node::Str(String::new())));
        assert!(n.get("b").is_some() && n.get("d").is_some());
    }

    fn p(text: &str) -> Node {
        parse(text, "t.yaml").expect("valid yaml")
    }

    #[test]
    fn scalars_resolve_like_yaml_v3() {
        let n = p(
            "a: 1\nb: 1.5\nc: true\nd: yes\ne: ~\nf: '1'\ng: 0x1f\nh: 1e3\ni: .inf\nj: 1.2.3\nk:\n",
        );
        let m = n.as_map().expect("map");
        assert_eq!(m["a"], Node::Int(1));
        assert_eq!(m["b"], Node::Float(1.5));
        assert_eq!(m["c"], Node::Bool(true));
        assert_eq!(m["d"], Node::Str("yes".into()));
        assert_eq!(m["e"], Node::Null);
        assert_eq!(m["f"], Node::Str("1".into()));
        assert_eq!(m["g"], Node::Int(31));
        assert_eq!(m["h"], Node::Float(1000.0));
        assert_eq!(m["i"], Node::Float(f64::INFINITY));
        assert_eq!(m["j"], Node::Str("1.2.3".into()));
        assert_eq!(m["k"], Node::Null);
        let n = p(
            "a: 0777\nb: 08\nc: 0o17\nd: 1_0.5\ne: 99999999999999999999\nf: 1_000\ng: .5\nh: 2001-12-14\ni: 0\nj: -0x1F\n",
        );
        let m = n.as_map().expect("map");
        assert_eq!(m["a"], Node::Int(511));
        assert_eq!(m["b"], Node::Float(8.0));
        assert_eq!(m["c"], Node::Int(15));
        assert_eq!(m["d"], Node::Float(10.5));
        assert_eq!(m["e"], Node::Float(1e20));
        assert_eq!(m["f"], Node::Int(1000));
        assert_eq!(m["g"], Node::Float(0.5));
        assert_eq!(m["h"], Node::Str("2001-12-14".into()));
        assert_eq!(m["i"], Node::Int(0));
        assert_eq!(m["j"], Node::Int(-31));
    }

    #[test]
    fn tags_survive() {
        let n = p("a: !secret DB | default \"x\"\nb: !include ./x.yaml .a\nc: !!str 5\n");
        let t = n.get("a").and_then(Node::as_tagged).expect("tagged");
        assert_eq!(t.tag, "!secret");
        assert_eq!(t.value, Node::Str("DB | default \"x\"".into()));
        assert_eq!(n.get("c"), Some(&Node::Str("5".into())));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = p(
            "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\nmulti:\n  <<: [{k: 1}, {k: 2, z: 0}]\n",
        );
        assert_eq!(n.get("other").and_then(|o| o.get("x")), Some(&Node::Int(1)));
        assert_eq!(n.get("other").and_then(|o| o.get("y")), Some(&Node::Int(3)));
        assert_eq!(n.get("multi").and_then(|o| o.get("k")), Some(&Node::Int(1)));
        assert_eq!(
            n.get("list").and_then(Node::as_seq).map(<[Node]>::len),
            Some(1)
        );
    }

    #[test]
    fn errors_carry_file_and_line() {
        let e = parse("a: 1\nb: [1, 2\n", "f.yaml").expect_err("bad yaml");
        assert_eq!(e.origin, "f.yaml");
        assert!(e.line >= 2, "{e:?}");
        let e = parse("a: 1\nb: 2\na: 3\n", "f.yaml").expect_err("dup");
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("already defined at line 1"),
            "{}",
            e.message
        );
        let e = parse("a: *nope\n", "f.yaml").expect_err("alias");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            doc.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        assert!(parse(&doc, "bomb.yaml").is_err());
    }

    #[test]
    fn emit_round_trips() {
        let text = "a: 1\nb:\n  - x\n  - k: v\n    j: \"1\"\nc: {}\nd: \"\"\ne: \"true\"\nf: \"a: b\"\ng: 1.0\nh: !secret X\ni: \"line\\nbreak\"\n";
        let n = p(text);
        let out = to_yaml(&n);
        assert_eq!(p(&out), n, "{out}");
    }

    #[test]
    fn yq_paths() {
        let n = p("a: {b: [10, {c: x}]}\n\"k.d\": 1\n");
        assert_eq!(query(&n, ".a.b[0]"), Ok(Node::Int(10)));
        assert_eq!(query(&n, ".a.b[1].c"), Ok(Node::Str("x".into())));
        assert_eq!(query(&n, ".a.b[-1].c"), Ok(Node::Str("x".into())));
        assert_eq!(query(&n, ".[\"k.d\"]"), Ok(Node::Int(1)));
        assert_eq!(query(&n, ".missing.x"), Ok(Node::Null));
        assert_eq!(query(&n, "."), Ok(n.clone()));
        assert!(query(&n, "a.b").is_err());
        assert!(query(&n, ".a[x]").is_err());
    }

    #[test]
    fn json_round_trips() {
        let n = p("a: 1\nb: [x, 2.5, null, true]\nc: {z: 1, a: 2}\n");
        assert_eq!(from_json(&to_json(&n)), n);
    }
}
