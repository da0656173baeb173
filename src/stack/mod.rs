//! Owns stack manifests: finding top-level stack files, `import:` (with cycle detection), deep
//! merge, component inheritance and overrides, logical stack names, templates and YAML functions.
//!
//! The contract other modules read is [`ComponentInstance`]; loading entry points are added by the
//! stack-loader work.

pub mod template;

use std::path::PathBuf;

use crate::yaml::Map;

/// One component instance in one stack, fully merged.
#[derive(Debug, Clone)]
pub struct ComponentInstance {
    /// Logical stack name.
    pub stack: String,
    /// The top-level manifest the stack came from.
    pub manifest: PathBuf,
    /// Component type (`terraform`, `helmfile`, …).
    pub component_type: String,
    /// The instance name (key under `components.<type>`).
    pub name: String,
    /// The merged section: `vars`, `env`, `settings`, `secrets` (with stamped scopes),
    /// `metadata`, `auth`, `component`, … `!secret`/`!store`/`!store.get` stay tagged.
    pub section: Map,
}
