//! Owns logical stack names: the manifest's own `name:`, else
//! `stacks.name_template`, else `stacks.name_pattern`, else the manifest path relative to the
//! stacks base path without extension.

use std::path::Path;

use super::StackError;
use super::manifest::Tree;
use crate::config::CliConfig;
use crate::stack::merge::ListStrategy;
use crate::template;
use crate::yaml::{self, Map, Node};

/// The logical name of the stack whose import tree is `tree`. Only a `name_template` needs the
/// stack-level sections merged; a name pattern reads its few vars off the layers.
pub fn logical_name(
    cfg: &CliConfig,
    own_name: Option<&str>,
    tree: &Tree,
    lists: ListStrategy,
    stack_file: &str,
    file: &Path,
) -> Result<String, StackError> {
    if let Some(n) = own_name {
        return Ok(n.to_owned());
    }
    if let Some(t) = &cfg.stacks.name_template {
        let merged = tree.stack_sections(lists);
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
        && let Some(name) = from_pattern_by(p, |token| tree.var(token))
    {
        return Ok(name);
    }
    Ok(stack_file.to_owned())
}

/// Fills `{namespace}`, `{tenant}`, `{environment}`, `{stage}` with each token's value from
/// `var` (the merged `vars.<token>`); `None` when one of the pattern's tokens has no value (the
/// caller falls back to the file name).
pub fn from_pattern_by<'a>(
    pattern: &str,
    var: impl Fn(&str) -> Option<&'a Node>,
) -> Option<String> {
    let value = |token: &str| {
        var(token)
            .and_then(Node::scalar_text)
            .filter(|s| !s.is_empty())
    };
    // One pass over the pattern. It gives what replacing token after token gives unless a
    // value brings a `{` of its own or completes a placeholder with the pattern's braces
    // (`{{tenant}}` with tenant `stage`): then the result still holds a `{`, and the
    // replacements are made one after another, in token order, as atmos makes them.
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let token = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|t| TOKENS.contains(t));
        match token {
            Some(token) => {
                out.push_str(&value(token)?);
                rest = &after[token.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if !out.contains('{') {
        return Some(out);
    }
    let mut out = pattern.to_owned();
    for token in TOKENS {
        let placeholder = format!("{{{token}}}");
        if out.contains(&placeholder) {
            out = out.replace(&placeholder, &value(token)?);
        }
    }
    Some(out)
}

/// The name pattern's tokens, in the order atmos replaces them.
const TOKENS: [&str; 4] = ["namespace", "tenant", "environment", "stage"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_tokens() {
        let vars = yaml::parse("{tenant: plat, environment: ue2, stage: dev}", "t").expect("yaml");
        let from_pattern =
            |p: &str, vars: Option<&Node>| from_pattern_by(p, |t| vars.and_then(|v| v.get(t)));
        assert_eq!(
            from_pattern("{tenant}-{environment}-{stage}", Some(&vars)).as_deref(),
            Some("plat-ue2-dev")
        );
        assert_eq!(from_pattern("{namespace}-{stage}", Some(&vars)), None);
        assert_eq!(from_pattern("{stage}", None), None);
        // Replacements made in token order can complete or bring placeholders.
        let odd =
            yaml::parse("{tenant: stage, environment: '{stage}', stage: dev}", "t").expect("yaml");
        assert_eq!(
            from_pattern("{{tenant}}-{environment}", Some(&odd)).as_deref(),
            Some("dev-dev")
        );
        assert_eq!(
            from_pattern("{x}-{tenant", Some(&vars)).as_deref(),
            Some("{x}-{tenant")
        );
    }
}
