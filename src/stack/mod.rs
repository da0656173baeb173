//! Owns stack manifests: finding top-level stack files, `import:` (with cycle detection), deep
//! merge, component inheritance and overrides, logical stack names, templates and YAML functions.
//!
//! The contract other modules read is [`ComponentInstance`]; loading entry points are added by the
//! stack-loader work.

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

/// yq-style paths (placeholder).
pub mod path {
    /// Selects `.a.b[0]` from a JSON value.
    pub fn select_json(v: &serde_json::Value, _p: &str) -> Result<serde_json::Value, String> {
        Ok(v.clone())
    }
}

/// Loads every component instance (placeholder).
pub fn load_all(
    _cfg: &crate::config::CliConfig,
) -> Result<Vec<ComponentInstance>, crate::error::Error> {
    Ok(Vec::new())
}

/// Loads one component instance (placeholder).
pub fn load_component(
    _cfg: &crate::config::CliConfig,
    stack: &str,
    component: &str,
    _t: Option<&str>,
) -> Result<ComponentInstance, crate::error::Error> {
    Err(crate::error::Error::new(format!(
        "component `{component}` not found in stack `{stack}`"
    )))
}

/// Templates (placeholder).
pub mod template {
    /// Renders `{{ .atmos_stack }}`-style templates.
    pub fn render(t: &str, ctx: &serde_json::Value, _origin: &str) -> Result<String, String> {
        let mut s = t.to_owned();
        for k in ["atmos_stack", "atmos_component"] {
            let v = ctx.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            s = s.replace(&format!("{{{{ .{k} }}}}"), v);
        }
        Ok(s)
    }
}
