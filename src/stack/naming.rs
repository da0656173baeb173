//! Owns logical stack names: the manifest's own `name:`, else
//! `stacks.name_template`, else `stacks.name_pattern`, else the manifest path relative to the
//! stacks base path without extension.

use std::path::Path;

use super::StackError;
use crate::config::CliConfig;
use crate::template;
use crate::yaml::{self, Map, Node};

/// The logical name of the stack whose merged manifest is `merged`.
pub fn logical_name(
    cfg: &CliConfig,
    own_name: Option<&str>,
    merged: &Map,
    stack_file: &str,
    file: &Path,
) -> Result<String, StackError> {
    if let Some(n) = own_name {
        return Ok(n.to_owned());
    }
    if let Some(t) = &cfg.stacks.name_template {
        let mut ctx = serde_json::Map::default();
        for key in ["vars", "settings", "env", "metadata"] {
            let v = merged
                .get(key)
                .cloned()
                .unwrap_or_else(|| Node::Map(Map::default()));
            ctx.insert(key.to_owned(), yaml::to_json(&v));
        }
        ctx.insert(
            "atmos_stack_file".to_owned(),
            serde_json::Value::String(stack_file.to_owned()),
        );
        let origin = format!("stacks.name_template (for `{}`)", file.display());
        let name = template::render(
            t,
            &template::Context::from_json(serde_json::Value::Object(ctx)),
            &origin,
        )?;
        let name = name.trim();
        if name.is_empty() {
            return Err(StackError::Name {
                file: file.to_path_buf(),
                message: format!("`stacks.name_template` `{t}` rendered an empty name"),
            });
        }
        return Ok(name.to_owned());
    }
    if let Some(p) = &cfg.stacks.name_pattern
        && let Some(name) = from_pattern(p, merged.get("vars"))
    {
        return Ok(name);
    }
    Ok(stack_file.to_owned())
}

/// Fills `{namespace}`, `{tenant}`, `{environment}`, `{stage}` from vars; `None` when one of the
/// pattern's tokens has no value (the caller falls back to the file name).
pub fn from_pattern(pattern: &str, vars: Option<&Node>) -> Option<String> {
    from_pattern_by(pattern, |token| vars.and_then(|v| v.get(token)))
}

/// [`from_pattern`] with each token's value from `var` (the merged `vars.<token>`).
pub fn from_pattern_by<'a>(
    pattern: &str,
    var: impl Fn(&str) -> Option<&'a Node>,
) -> Option<String> {
    let mut out = pattern.to_owned();
    for (token, placeholder) in [
        ("namespace", "{namespace}"),
        ("tenant", "{tenant}"),
        ("environment", "{environment}"),
        ("stage", "{stage}"),
    ] {
        if out.contains(placeholder) {
            let value = var(token)
                .and_then(Node::scalar_text)
                .filter(|s| !s.is_empty())?;
            out = out.replace(placeholder, &value);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_tokens() {
        let vars = yaml::parse("{tenant: plat, environment: ue2, stage: dev}", "t").expect("yaml");
        assert_eq!(
            from_pattern("{tenant}-{environment}-{stage}", Some(&vars)).as_deref(),
            Some("plat-ue2-dev")
        );
        assert_eq!(from_pattern("{namespace}-{stage}", Some(&vars)), None);
        assert_eq!(from_pattern("{stage}", None), None);
    }
}
