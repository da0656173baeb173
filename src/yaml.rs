//! Owns [`Node`], the ordered YAML value tree used for `atmos.yaml` and stack manifests.
//!
//! Maps keep document order; YAML function tags (`!secret`, `!include`, …) survive as
//! [`Node::Tagged`] until the stack loader resolves or types them. The SOPS codec has its own tree
//! (it must keep comments and sops' scalar typing) and does not use this one.

use indexmap::IndexMap;

/// An ordered YAML mapping with string keys.
pub type Map = IndexMap<String, Node>;

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

    /// The mutable mapping, if this is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Node::Map(m) => Some(m),
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

    /// Looks up a key when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
}
