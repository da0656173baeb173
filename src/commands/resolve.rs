//! Owns the backend-backed [`FunctionResolver`]: how `!secret`, `!store` and `!store.get` get
//! their values when masking is off (`describe … --mask=false`). Reads go through the same
//! sessions, registry and stores as `atmos secret`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::commands::secret::{Session, block_on, get_value};
use crate::config::CliConfig;
use crate::error::Error;
use crate::secrets::{Coordinate, Scope};
use crate::stack::ComponentInstance;
use crate::stack::functions::{FunctionResolver, SecretFn, StoreFn, StoreGetFn};
use crate::yaml::{self, Node};

/// Resolves YAML function tags by reading backends.
pub struct BackendResolver {
    registries: crate::store::registry::Registries,
    sessions: HashMap<(String, String), Session>,
}

impl BackendResolver {
    /// A resolver over the loaded configuration.
    pub fn new(cfg: Arc<CliConfig>) -> Self {
        Self {
            registries: crate::store::registry::Registries::new(cfg, None),
            sessions: HashMap::new(),
        }
    }

    fn session(&mut self, inst: &ComponentInstance) -> Result<&Session, Error> {
        let key = (inst.stack.clone(), inst.name.clone());
        if !self.sessions.contains_key(&key) {
            let s = Session::from_instance(&self.registries, inst.clone(), &inst.stack)?;
            self.sessions.insert(key.clone(), s);
        }
        self.sessions
            .get(&key)
            .ok_or_else(|| Error::new("internal error: session cache"))
    }
}

fn apply_path(value: Node, path: Option<&str>, what: &str) -> Result<Node, Error> {
    match path {
        None => Ok(value),
        Some(p) => yaml::query(&value, p)
            .map_err(|e| Error::new(format!("cannot apply path `{p}` to {what}: {e}"))),
    }
}

/// A stored value as a YAML node: JSON text becomes structure, as atmos decodes store values.
fn to_node(v: &crate::secret::SecretValue) -> Node {
    match v.as_str() {
        Some(s) if s.trim_start().starts_with(['{', '[']) => serde_json::from_str(s)
            .map(|j: serde_json::Value| yaml::from_json(&j))
            .unwrap_or_else(|_| Node::Str(s.to_owned())),
        _ => yaml::from_json(v.expose()),
    }
}

impl FunctionResolver for BackendResolver {
    fn resolve_secret(&mut self, f: &SecretFn, inst: &ComponentInstance) -> Result<Node, Error> {
        let session = self.session(inst)?;
        let decl = session.find(&f.name).map_err(|_| {
            Error::new(format!(
                "secret is not declared: \"{}\" (declare it under the component's secrets.vars)",
                f.name
            ))
            .with_hint(format!(
                "add `{}` under `components.<type>.{}.secrets.vars` with a `store:` or `sops:` backend",
                f.name, inst.name
            ))
        })?;
        let value = match get_value(session, decl) {
            Ok(v) => to_node(&v),
            Err(e) => match &f.default {
                Some(d) => return Ok(Node::Str(d.clone())),
                None => return Err(e),
            },
        };
        apply_path(value, f.path.as_deref(), &format!("secret `{}`", f.name))
    }

    fn resolve_store(&mut self, f: &StoreFn, inst: &ComponentInstance) -> Result<Node, Error> {
        let session = self.session(inst)?;
        if session.cfg.stores.get(&f.store).is_some_and(|s| s.secret) {
            return Err(Error::new(format!(
                "store is a secret store; use !secret instead of !store: store \"{}\" (in `!store {}`)",
                f.store, f.expr
            )));
        }
        let store = session.registry.store(&f.store)?;
        let stack = f.stack.clone().unwrap_or_else(|| inst.stack.clone());
        let coord = Coordinate {
            scope: if f.component.is_empty() {
                Scope::Stack
            } else {
                Scope::Instance
            },
            stack,
            component: f.component.clone(),
            key: f.key.clone(),
        };
        let read = block_on(crate::store::get_one(store.as_ref(), &coord))?;
        let value = match (read, &f.default) {
            (Ok(Some(v)), _) => to_node(&v),
            (Ok(None) | Err(_), Some(d)) => return Ok(Node::Str(d.clone())),
            (Ok(None), None) => {
                return Err(Error::new(format!(
                    "value not found: `!store {}` ({})",
                    f.expr,
                    store.describe_key(&coord)
                )));
            }
            (Err(e), None) => {
                return Err(Error::from(e).context(format!("`!store {}` failed", f.expr)));
            }
        };
        apply_path(value, f.query.as_deref(), &format!("`!store {}`", f.expr))
    }

    fn resolve_store_get(
        &mut self,
        f: &StoreGetFn,
        inst: &ComponentInstance,
    ) -> Result<Node, Error> {
        let session = self.session(inst)?;
        let store = session.registry.store(&f.store)?;
        // The key is used as given (prefix + key), without stack or component segments.
        let coord = Coordinate {
            scope: Scope::Global,
            stack: String::new(),
            component: String::new(),
            key: f.key.clone(),
        };
        let read = block_on(crate::store::get_one(store.as_ref(), &coord))?;
        let value = match (read, &f.default) {
            (Ok(Some(v)), _) => to_node(&v),
            (Ok(None), Some(d)) => return Ok(Node::Str(d.clone())),
            (Ok(None), None) => {
                return Err(Error::new(format!(
                    "value not found: `!store.get {}` ({})",
                    f.expr,
                    store.describe_key(&coord)
                )));
            }
            (Err(e), _) => {
                return Err(Error::from(e).context(format!("`!store.get {}` failed", f.expr)));
            }
        };
        apply_path(
            value,
            f.query.as_deref(),
            &format!("`!store.get {}`", f.expr),
        )
    }
}
