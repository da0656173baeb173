//! Owns store-key composition: pure functions from `(prefix, stack, component, key)`
//! to the name a backend stores a value under, with each backend's separators and name rules.
//!
//! Nothing here performs I/O. Scopes map onto empty segments: `stack` scope passes an empty
//! component, `global` scope an empty stack and component (see [`crate::secrets::Coordinate`]).

use std::collections::BTreeMap;

use crate::config::{StoreConfig, StoreKind, option_str};

/// Why a key cannot be composed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Azure Key Vault needs a stack (no stack- or global-scoped secrets).
    #[error("stack cannot be empty")]
    EmptyStack,
    /// Azure Key Vault needs a component (no stack-scoped secrets).
    #[error("component cannot be empty")]
    EmptyComponent,
    /// The key is empty.
    #[error("key cannot be empty")]
    EmptyKey,
    /// The backend does not compose keys from coordinates.
    #[error("backend `{0}` does not compose keys from stack and component")]
    NotComposing(&'static str),
    /// A GitHub Actions secret name breaks GitHub's rules.
    #[error("invalid GitHub Actions secret name `{0}`: {1}")]
    GithubName(String, &'static str),
    /// A 1Password reference is malformed.
    #[error("invalid 1Password secret reference `{0}`: {1}")]
    OnePassword(String, String),
}

impl crate::error::Diagnose for KeyError {
    fn hint(&self) -> Option<String> {
        match self {
            KeyError::EmptyStack | KeyError::EmptyComponent => Some(
                "Azure Key Vault holds instance-scoped secrets only; use another store for stack or global scope"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

/// The separator between composed parts.
fn final_delimiter(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::AzureKeyVault => "-",
        StoreKind::GcpSecretManager => "_",
        _ => "/",
    }
}

/// The effective prefix of a configured store: `options.prefix`, `atmos` for keychain when unset,
/// and `<repo_name>/<prefix>` for artifactory.
pub fn store_prefix(store: &StoreConfig) -> String {
    let prefix = option_str(&store.options, "prefix").unwrap_or("");
    match store.kind {
        StoreKind::Keychain if prefix.is_empty() => "atmos".to_owned(),
        StoreKind::Artifactory => {
            let repo = option_str(&store.options, "repo_name").unwrap_or("");
            format!("{repo}/{prefix}")
        }
        _ => prefix.to_owned(),
    }
}

/// [`compose_for_store`] of a coordinate, failing as a backend error of that coordinate.
pub fn compose_coordinate(
    store: &StoreConfig,
    key: &crate::secrets::Coordinate,
) -> Result<String, super::StoreError> {
    compose_for_store(store, &key.stack, &key.component, &key.key).map_err(|e| {
        super::StoreError::Backend {
            store: store.name.clone(),
            key: key.key.clone(),
            message: e.to_string(),
            hint: None,
            exit_code: crate::error::code::FAILURE,
        }
    })
}

/// Composes the key of `(stack, component, key)` in a configured store.
pub fn compose_for_store(
    store: &StoreConfig,
    stack: &str,
    component: &str,
    key: &str,
) -> Result<String, KeyError> {
    compose(
        store.kind,
        &store_prefix(store),
        option_str(&store.options, "stack_delimiter"),
        stack,
        component,
        key,
    )
}

/// Composes a backend key. `stack_delimiter` `None` means the kind's default. Empty `stack` /
/// `component` are omitted (stack and global scope).
pub fn compose(
    kind: StoreKind,
    prefix: &str,
    stack_delimiter: Option<&str>,
    stack: &str,
    component: &str,
    key: &str,
) -> Result<String, KeyError> {
    if key.is_empty() {
        return Err(KeyError::EmptyKey);
    }
    match kind {
        StoreKind::OnePassword => return Err(KeyError::NotComposing("onepassword")),
        StoreKind::GithubActions => return Err(KeyError::NotComposing("github/actions")),
        StoreKind::AzureKeyVault if stack.is_empty() => return Err(KeyError::EmptyStack),
        StoreKind::AzureKeyVault if component.is_empty() => return Err(KeyError::EmptyComponent),
        _ => {}
    }
    let delim = stack_delimiter
        .filter(|d| !d.is_empty())
        .unwrap_or(kind.default_stack_delimiter());
    let mut parts: Vec<&str> = vec![prefix];
    if !stack.is_empty() {
        parts.extend(stack.split(delim));
    }
    if !component.is_empty() {
        parts.extend(component.split('/'));
    }
    parts.push(key);
    let joined = parts.join(final_delimiter(kind)).replace("//", "/");
    Ok(match kind {
        StoreKind::AzureKeyVault => azure_name(&joined),
        StoreKind::GcpSecretManager => joined
            .replace('/', "_")
            .replace("__", "_")
            .trim_matches('_')
            .to_owned(),
        // Vault paths live inside the mount; a leading `/` from an empty prefix means nothing.
        StoreKind::HashicorpVault => joined.trim_start_matches('/').to_owned(),
        _ => joined,
    })
}

/// The `!store.get` key: prefix + key with no stack or component (SSM forces a leading `/`).
pub fn get_key(kind: StoreKind, prefix: &str, key: &str) -> Result<String, KeyError> {
    match kind {
        StoreKind::AzureKeyVault => Ok(azure_name(&format!("{prefix}-{key}").replace("//", "/"))),
        StoreKind::OnePassword | StoreKind::GithubActions => Ok(key.to_owned()),
        _ => {
            let k = compose(kind, prefix, None, "", "", key)?;
            if kind == StoreKind::AwsSsm && !k.starts_with('/') {
                Ok(format!("/{k}"))
            } else {
                Ok(k)
            }
        }
    }
}

/// Azure Key Vault's name rules: chars outside `[0-9A-Za-z-]` → `-`, runs of `-` collapsed,
/// trimmed; empty → `default`.
pub fn azure_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "default".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Groups names that map to the same Azure Key Vault name (e.g. `A_B` and `A-B`). Returns
/// `(vault name, [original names])` for every vault name claimed by two or more distinct names.
pub fn azure_collisions<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, Vec<String>)> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in names {
        let entry = groups.entry(azure_name(n)).or_default();
        if !entry.iter().any(|e| e == n) {
            entry.push(n.to_owned());
        }
    }
    groups.into_iter().filter(|(_, v)| v.len() > 1).collect()
}

/// GitHub Actions secret name: uppercase `[prefix_]key`, chars outside `[A-Z0-9_]` → `_`.
pub fn github_name(prefix: &str, key: &str) -> Result<String, KeyError> {
    if key.is_empty() {
        return Err(KeyError::EmptyKey);
    }
    let raw = if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}_{key}")
    };
    let name: String = raw
        .to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(KeyError::GithubName(name, "it must not start with a digit"));
    }
    if name.starts_with("GITHUB_") {
        return Err(KeyError::GithubName(
            name,
            "it must not start with `GITHUB_`",
        ));
    }
    Ok(name)
}

/// Normalizes a rendered 1Password reference: `op://…` is kept; otherwise `options.vault` is
/// prepended. Must have 3 or 4 segments (`vault/item[/section]/field`).
pub fn onepassword_reference(
    reference: &str,
    default_vault: Option<&str>,
) -> Result<String, KeyError> {
    let r = reference.trim();
    if r.is_empty() {
        return Err(KeyError::OnePassword(
            r.to_owned(),
            "it is empty".to_owned(),
        ));
    }
    let full = if r.starts_with("op://") {
        r.to_owned()
    } else if let Some(v) = default_vault.filter(|v| !v.is_empty()) {
        format!("op://{v}/{}", r.trim_start_matches('/'))
    } else {
        return Err(KeyError::OnePassword(
            r.to_owned(),
            "not an `op://vault/item/field` reference and no default `vault` is set".to_owned(),
        ));
    };
    let segments = full.trim_start_matches("op://").split('/').count();
    if !(3..=4).contains(&segments) {
        return Err(KeyError::OnePassword(
            full,
            format!("expected 3 or 4 segments (vault/item[/section]/field), found {segments}"),
        ));
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Scope;

    const STACK: &str = "plat-ue2-dev";
    const COMPONENT: &str = "vpc/primary";
    const KEY: &str = "DB_PASSWORD";

    fn segments(scope: Scope) -> (&'static str, &'static str) {
        match scope {
            Scope::Instance => (STACK, COMPONENT),
            Scope::Stack => (STACK, ""),
            Scope::Global => ("", ""),
        }
    }

    /// The naming examples of `docs/backends/*.md`, every backend and scope (Vault stack/global:
    /// our decision, `docs/decisions.md`).
    #[test]
    fn spec_examples() {
        use Scope::*;
        let cases: &[(StoreKind, &str, Scope, Result<&str, KeyError>)] = &[
            (
                StoreKind::AwsSsm,
                "/atmos/secrets",
                Instance,
                Ok("/atmos/secrets/plat/ue2/dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::AwsSsm,
                "/atmos/secrets",
                Stack,
                Ok("/atmos/secrets/plat/ue2/dev/DB_PASSWORD"),
            ),
            (
                StoreKind::AwsSsm,
                "/atmos/secrets",
                Global,
                Ok("/atmos/secrets/DB_PASSWORD"),
            ),
            (
                StoreKind::AwsAsm,
                "/atmos/secrets",
                Instance,
                Ok("/atmos/secrets/plat/ue2/dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::AwsAsm,
                "/atmos/secrets",
                Stack,
                Ok("/atmos/secrets/plat/ue2/dev/DB_PASSWORD"),
            ),
            (
                StoreKind::AwsAsm,
                "/atmos/secrets",
                Global,
                Ok("/atmos/secrets/DB_PASSWORD"),
            ),
            (
                StoreKind::AzureKeyVault,
                "atmos",
                Instance,
                Ok("atmos-plat-ue2-dev-vpc-primary-DB-PASSWORD"),
            ),
            (
                StoreKind::AzureKeyVault,
                "atmos",
                Stack,
                Err(KeyError::EmptyComponent),
            ),
            (
                StoreKind::AzureKeyVault,
                "atmos",
                Global,
                Err(KeyError::EmptyStack),
            ),
            (
                StoreKind::GcpSecretManager,
                "atmos",
                Instance,
                Ok("atmos_plat_ue2_dev_vpc_primary_DB_PASSWORD"),
            ),
            (
                StoreKind::GcpSecretManager,
                "atmos",
                Stack,
                Ok("atmos_plat_ue2_dev_DB_PASSWORD"),
            ),
            (
                StoreKind::GcpSecretManager,
                "atmos",
                Global,
                Ok("atmos_DB_PASSWORD"),
            ),
            (
                StoreKind::HashicorpVault,
                "atmos",
                Instance,
                Ok("atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::HashicorpVault,
                "atmos",
                Stack,
                Ok("atmos/plat-ue2-dev/DB_PASSWORD"),
            ),
            (
                StoreKind::HashicorpVault,
                "atmos",
                Global,
                Ok("atmos/DB_PASSWORD"),
            ),
            (
                StoreKind::Keychain,
                "atmos",
                Instance,
                Ok("atmos/plat/ue2/dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::Keychain,
                "atmos",
                Stack,
                Ok("atmos/plat/ue2/dev/DB_PASSWORD"),
            ),
            (
                StoreKind::Keychain,
                "atmos",
                Global,
                Ok("atmos/DB_PASSWORD"),
            ),
            (
                StoreKind::Redis,
                "atmos",
                Instance,
                Ok("atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::Redis,
                "atmos",
                Stack,
                Ok("atmos/plat-ue2-dev/DB_PASSWORD"),
            ),
            (StoreKind::Redis, "atmos", Global, Ok("atmos/DB_PASSWORD")),
            (
                StoreKind::Artifactory,
                "repo/atmos",
                Instance,
                Ok("repo/atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD"),
            ),
            (
                StoreKind::Artifactory,
                "repo/atmos",
                Stack,
                Ok("repo/atmos/plat-ue2-dev/DB_PASSWORD"),
            ),
            (
                StoreKind::Artifactory,
                "repo/atmos",
                Global,
                Ok("repo/atmos/DB_PASSWORD"),
            ),
        ];
        for (kind, prefix, scope, want) in cases {
            let (stack, component) = segments(*scope);
            let got = compose(*kind, prefix, None, stack, component, KEY);
            assert_eq!(
                got.as_deref().map_err(Clone::clone),
                want.clone(),
                "{kind:?} {scope:?}"
            );
        }
    }

    #[test]
    fn floci_fixture_names() {
        let p = "/floci/secrets";
        let ssm = |s: &str, c: &str, k: &str| compose(StoreKind::AwsSsm, p, None, s, c, k);
        assert_eq!(
            ssm("dev", "secret-consumer", "SSM_INSTANCE_TOKEN").as_deref(),
            Ok("/floci/secrets/dev/secret-consumer/SSM_INSTANCE_TOKEN")
        );
        assert_eq!(
            ssm("dev", "", "SSM_STACK_TOKEN").as_deref(),
            Ok("/floci/secrets/dev/SSM_STACK_TOKEN")
        );
        assert_eq!(
            ssm("", "", "GLOBAL_SHARED_TOKEN").as_deref(),
            Ok("/floci/secrets/GLOBAL_SHARED_TOKEN")
        );
        assert_eq!(
            compose(
                StoreKind::AwsAsm,
                p,
                None,
                "dev",
                "secret-consumer",
                "ASM_DATABASE_CONFIG"
            )
            .as_deref(),
            Ok("/floci/secrets/dev/secret-consumer/ASM_DATABASE_CONFIG")
        );
    }

    #[test]
    fn empty_prefix_and_custom_delimiter() {
        assert_eq!(
            compose(StoreKind::AwsSsm, "", None, "prod", "vpc", "k").as_deref(),
            Ok("/prod/vpc/k")
        );
        assert_eq!(
            compose(StoreKind::AwsSsm, "/p", Some("_"), "a_b", "", "k").as_deref(),
            Ok("/p/a/b/k")
        );
        assert_eq!(
            compose(StoreKind::HashicorpVault, "", None, "dev", "", "k").as_deref(),
            Ok("dev/k")
        );
        assert_eq!(
            compose(StoreKind::GcpSecretManager, "", None, "dev", "", "k").as_deref(),
            Ok("dev_k")
        );
        assert_eq!(
            compose(StoreKind::AwsSsm, "/p", None, "", "", "").map_err(|e| e.to_string()),
            Err("key cannot be empty".into())
        );
        assert!(compose(StoreKind::OnePassword, "", None, "s", "c", "k").is_err());
    }

    #[test]
    fn keychain_age_key_location() {
        // keygen stores vault `dev-sops`'s identity at stack=<vault>, component=age-key.
        assert_eq!(
            compose(
                StoreKind::Keychain,
                "atmos",
                None,
                "dev-sops",
                "age-key",
                "dev-sops"
            )
            .as_deref(),
            Ok("atmos/dev/sops/age-key/dev-sops")
        );
    }

    #[test]
    fn store_prefixes() {
        let mut store = StoreConfig {
            name: "k".into(),
            kind: StoreKind::Keychain,
            secret: true,
            identity: None,
            options: Default::default(),
        };
        assert_eq!(
            compose_for_store(&store, "dev", "api", "K").as_deref(),
            Ok("atmos/dev/api/K")
        );
        store.kind = StoreKind::Artifactory;
        store
            .options
            .insert("repo_name".into(), crate::yaml::Node::Str("generic".into()));
        store
            .options
            .insert("prefix".into(), crate::yaml::Node::Str("atmos".into()));
        assert_eq!(
            compose_for_store(&store, "dev", "api", "K").as_deref(),
            Ok("generic/atmos/dev/api/K")
        );
    }

    #[test]
    fn get_keys() {
        assert_eq!(
            get_key(StoreKind::AwsSsm, "atmos", "k").as_deref(),
            Ok("/atmos/k")
        );
        assert_eq!(get_key(StoreKind::AwsSsm, "", "k").as_deref(), Ok("/k"));
        assert_eq!(
            get_key(StoreKind::GcpSecretManager, "atmos", "k").as_deref(),
            Ok("atmos_k")
        );
        assert_eq!(
            get_key(StoreKind::AzureKeyVault, "atmos", "a_b").as_deref(),
            Ok("atmos-a-b")
        );
    }

    #[test]
    fn azure_rules_and_collisions() {
        assert_eq!(azure_name("__"), "default");
        assert_eq!(azure_name("a..b--c"), "a-b-c");
        let c = azure_collisions(["A_B", "A-B", "C", "A_B"]);
        assert_eq!(
            c,
            vec![("A-B".to_owned(), vec!["A_B".to_owned(), "A-B".to_owned()])]
        );
    }

    #[test]
    fn github_and_onepassword_names() {
        assert_eq!(github_name("app", "db-pass").as_deref(), Ok("APP_DB_PASS"));
        assert!(github_name("", "github_token").is_err());
        assert!(github_name("", "1x").is_err());
        assert_eq!(
            onepassword_reference("op://v/i/f", None).as_deref(),
            Ok("op://v/i/f")
        );
        assert_eq!(
            onepassword_reference("/item/field", Some("v")).as_deref(),
            Ok("op://v/item/field")
        );
        assert!(onepassword_reference("item/field", None).is_err());
        assert!(onepassword_reference("op://v/i", None).is_err());
        assert!(onepassword_reference("  ", Some("v")).is_err());
    }
}
