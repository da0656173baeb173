//! Owns the secret *declaration* model: what `secrets.vars` entries mean once merged.
//!
//! - [`Scope`], [`Declaration`], [`Coordinate`]: plain data shared by the stack loader, the store
//!   registry and the commands.
//! - `declare`: extraction from a merged component section, per-layer scope stamping
//!   and the scope-conflict error.
//!
//! Depends on `yaml` only; knows nothing about backends.

pub mod declare;

use std::fmt;

/// Where a secret's value is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Scope {
    /// One value per component instance in a stack.
    #[default]
    Instance,
    /// One value per stack, shared by every component in it.
    Stack,
    /// One value for every stack and component using the backend.
    Global,
}

impl Scope {
    /// The spelling used in YAML and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Instance => "instance",
            Scope::Stack => "stack",
            Scope::Global => "global",
        }
    }

    /// Parses `instance`, `stack` or `global`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "instance" => Some(Scope::Instance),
            "stack" => Some(Scope::Stack),
            "global" => Some(Scope::Global),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which backend a declaration names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// A `stores:` entry (track 1).
    Store(String),
    /// A `secrets.providers:` entry (track 2, SOPS).
    Sops(String),
    /// Neither `store:` nor `sops:` was set.
    None,
}

impl Backend {
    /// `store:<n>`, `sops:<n>` or `(none)`, as shown by `list`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        self.write_label(&mut out);
        out
    }

    /// [`Backend::label`], appended to `out`.
    pub fn write_label(&self, out: &mut String) {
        match self {
            Backend::Store(n) => {
                out.push_str("store:");
                out.push_str(n);
            }
            Backend::Sops(n) => {
                out.push_str("sops:");
                out.push_str(n);
            }
            Backend::None => out.push_str("(none)"),
        }
    }
}

/// One merged entry of `secrets.vars`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The YAML key, case preserved; also the env var name for `exec`/`pull`.
    pub name: String,
    /// `description`, if any.
    pub description: String,
    /// The backend (`sops` wins when both are set, as in atmos).
    pub backend: Backend,
    /// `reference`: overrides the key for every backend when non-empty.
    pub reference: String,
    /// `required`.
    pub required: bool,
    /// The (stamped) scope.
    pub scope: Scope,
}

/// Where a declared secret lives: `(stack, component, key)` after applying the scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coordinate {
    /// Stack name, empty for `global`.
    pub stack: String,
    /// Component instance name, empty for `stack` and `global`.
    pub component: String,
    /// `reference` if set, else the declaration name.
    pub key: String,
    /// The scope that produced this coordinate.
    pub scope: Scope,
}

impl Declaration {
    /// The coordinate of this declaration for component instance `component` in stack `stack`.
    pub fn coordinate(&self, stack: &str, component: &str) -> Coordinate {
        let mut out = Coordinate {
            stack: String::new(),
            component: String::new(),
            key: String::new(),
            scope: self.scope,
        };
        self.coordinate_into(stack, component, &mut out);
        out
    }

    /// [`Declaration::coordinate`] written over `out`, reusing its strings' buffers (a
    /// whole-tree listing makes ~100,000 coordinates).
    pub fn coordinate_into(&self, stack: &str, component: &str, out: &mut Coordinate) {
        let key = if self.reference.is_empty() {
            &self.name
        } else {
            &self.reference
        };
        let (stack, component) = match self.scope {
            Scope::Instance => (stack, component),
            Scope::Stack => (stack, ""),
            Scope::Global => ("", ""),
        };
        for (to, from) in [
            (&mut out.stack, stack),
            (&mut out.component, component),
            (&mut out.key, key.as_str()),
        ] {
            to.clear();
            to.push_str(from);
        }
        out.scope = self.scope;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(scope: Scope, reference: &str) -> Declaration {
        Declaration {
            name: "DB_PASSWORD".into(),
            description: String::new(),
            backend: Backend::Store("s".into()),
            reference: reference.into(),
            required: false,
            scope,
        }
    }

    #[test]
    fn coordinates_follow_scope() {
        let c = decl(Scope::Instance, "").coordinate("dev", "api");
        assert_eq!(
            (c.stack.as_str(), c.component.as_str(), c.key.as_str()),
            ("dev", "api", "DB_PASSWORD")
        );
        let c = decl(Scope::Stack, "").coordinate("dev", "api");
        assert_eq!((c.stack.as_str(), c.component.as_str()), ("dev", ""));
        let c = decl(Scope::Global, "ref/x").coordinate("dev", "api");
        assert_eq!(
            (c.stack.as_str(), c.component.as_str(), c.key.as_str()),
            ("", "", "ref/x")
        );
    }

    /// Written over a used coordinate, every field is the declaration's (none left over).
    #[test]
    fn coordinate_into_overwrites_every_field() {
        let mut c = decl(Scope::Instance, "ref/long-reference").coordinate("production", "api");
        for (scope, reference) in [
            (Scope::Global, ""),
            (Scope::Stack, "r"),
            (Scope::Instance, ""),
        ] {
            let d = decl(scope, reference);
            d.coordinate_into("dev", "db", &mut c);
            assert_eq!(c, d.coordinate("dev", "db"));
        }
    }
}
