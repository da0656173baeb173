//! The rules `atmos.yaml` values must follow that are not about one section's shape: each store
//! entry's options against its kind's row of [`crate::config::kinds::KINDS`] (required options,
//! option choices), and the auth realm rules.

use super::ConfigError;
use crate::config::{CliConfig, option_str};
use crate::env;

/// Checks every `stores:` entry's options against its kind's row of the kinds table: required
/// options ([`ConfigError::MissingOption`]) and option choices ([`ConfigError::Invalid`]),
/// entries in file order. [`super::load`] runs it once the whole file is parsed.
pub fn validate_options(cfg: &CliConfig) -> Result<(), ConfigError> {
    let file = cfg.config_file.clone().unwrap_or_default();
    for store in cfg.stores.values() {
        let info = store.kind.info();
        let has = |k: &str| option_str(&store.options, k).is_some();
        for r in info.required {
            if !r.names.iter().any(|n| has(n)) && !r.env.iter().any(|v| env::var(v).is_some()) {
                return Err(ConfigError::MissingOption {
                    file,
                    store: store.name.clone(),
                    option: r.names[0].to_owned(),
                    message: r.message.to_owned(),
                });
            }
        }
        if let Some(c) = &info.choice
            && let Some(v) = option_str(&store.options, c.option)
            && !c.allowed.contains(&v)
        {
            let (last, rest) = c.allowed.split_last().unwrap_or((&"", &[]));
            return Err(ConfigError::Invalid {
                file,
                field: format!("stores.{}.options.{}", store.name, c.option),
                message: format!(
                    "unknown {} `{v}` (expected {}, or {last})",
                    c.label,
                    rest.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Checks the realm rules listed in `docs/configuration.md` (at most 64 characters; no `/`, `\\`
/// or `..`; lowercase letters, digits, `-` and `_`; …); returns the rule broken.
pub fn validate_realm(realm: &str) -> Result<(), String> {
    if realm.len() > 64 {
        return Err(format!(
            "it is {} characters long; the limit is 64",
            realm.len()
        ));
    }
    if realm.contains('/') || realm.contains('\\') || realm.contains("..") {
        return Err("it must not contain `/`, `\\` or `..`".to_owned());
    }
    if let Some(c) = realm
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "character `{c}` is not allowed (use a-z, 0-9, `-`, `_`)"
        ));
    }
    if realm.starts_with(['-', '_']) || realm.ends_with(['-', '_']) {
        return Err("it must not start or end with `-` or `_`".to_owned());
    }
    for pair in ["--", "__", "-_", "_-"] {
        if realm.contains(pair) {
            return Err(format!("it must not contain `{pair}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses and checks a config as `config::load` does (option checks included).
    fn load(text: &str) -> Result<CliConfig, ConfigError> {
        let cfg = crate::config::load::from_str(text, std::path::Path::new("/p/atmos.yaml"), None)?;
        validate_options(&cfg)?;
        Ok(cfg)
    }

    #[test]
    fn options_are_checked_per_kind() {
        let e = load("stores:\n  x:\n    kind: aws/ssm\n").expect_err("region");
        assert!(
            e.to_string()
                .contains("region is required in ssm store configuration"),
            "{e}"
        );
        assert_eq!(
            crate::error::Diagnose::hint(&e).as_deref(),
            Some("set `stores.x.options.region`")
        );
        let e = load("stores:\n  g:\n    kind: github/actions\n    options: {owner: o}\n")
            .expect_err("repo");
        assert_eq!(
            crate::error::Diagnose::hint(&e).as_deref(),
            Some("set `stores.g.options.repo`")
        );
        let e = load("stores:\n  k:\n    kind: keychain\n    options: {backend: cloud}\n")
            .expect_err("backend");
        assert!(
            e.to_string()
                .contains("unknown keychain backend `cloud` (expected system, file, or memory)"),
            "{e}"
        );
        assert!(
            load("stores:\n  v:\n    kind: hashicorp/vault\n    options: {path: p, url: u}\n")
                .is_ok()
        );
    }
}
