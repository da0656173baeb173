//! Owns templates as a primitive: the Go `text/template` engine ([`go`]), the renderer that runs
//! it the way atmos does ([`Renderer`]: function set, delimiters, `missingkey`), and the ONE context
//! type ([`Context`]) every caller renders against — stack manifests (a component section), SOPS
//! provider `spec.file` and secret `reference` templates (a secret's coordinate).
//!
//! This layer imports only primitives (`yaml`, `error`); `stack/`, `store/` and the commands use
//! it, never the other way round.

pub mod go;
mod render;

pub use render::{Fragment, Renderer, Settings, TemplateError, Values, has_template, render};

/// The values a template can name (`{{ .atmos_stack }}`, `{{ .vars.stage }}`, …): one map.
#[derive(Debug, Clone, PartialEq)]
pub struct Context(go::Value);

impl Context {
    /// The context of a secret's coordinate, for SOPS `spec.file` and `reference` templates:
    /// `atmos_stack` and `atmos_component`, with `stack` and `component` as short aliases (empty
    /// component for stack scope, both empty for global).
    pub fn coordinate(stack: &str, component: &str) -> Self {
        Self::from_json(serde_json::json!({
            "atmos_stack": stack,
            "atmos_component": component,
            "stack": stack,
            "component": component,
        }))
    }

    /// A YAML map as the context (e.g. a merged component section, which carries `vars`,
    /// `settings`, `env`, `atmos_stack`, `atmos_component`, …). Unresolved YAML functions are seen
    /// as their text (`!env X`), as atmos' templates see them.
    pub fn from_map(map: &crate::yaml::Map) -> Self {
        Self(go::Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), go::Value::from(v)))
                .collect::<go::Map>(),
        ))
    }

    /// A template value (usually a map) as the context.
    pub fn from_value(value: go::Value) -> Self {
        Self(value)
    }

    /// A JSON object as the context.
    pub fn from_json(value: serde_json::Value) -> Self {
        Self(go::Value::from(&value))
    }

    /// The context as the engine's value.
    pub fn value(&self) -> &go::Value {
        &self.0
    }

    /// The engine's value, taken out.
    pub fn into_value(self) -> go::Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinate_names_work_in_both_spellings() {
        let ctx = Context::coordinate("plat-dev", "vpc");
        for t in [
            "{{ .atmos_stack }}/{{ .atmos_component }}",
            "{{ .stack }}/{{ .component }}",
        ] {
            assert_eq!(
                render(t, &ctx, "test").as_deref(),
                Ok("plat-dev/vpc"),
                "{t}"
            );
        }
    }
}
