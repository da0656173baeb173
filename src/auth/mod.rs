//! Owns identity resolution for identity-aware stores: which identity a store uses,
//! which root provider that identity chains to, and where atmos auth keeps its realm-scoped
//! credential files. Credentials read here stay in memory; nothing is written back.
//!
//! Backend-specific readers (AWS credentials/config INI, GCP ADC, Azure) live in submodules and
//! only use the path helpers below.

#[cfg(feature = "aws")]
pub mod aws;
pub mod azure;
pub mod gcp;
pub mod keyring;

use std::path::PathBuf;

use crate::config::AuthConfig;
use crate::yaml::{Map, Node};

/// Why an identity cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// The name is not under `auth.identities`.
    #[error("unknown identity `{0}`: it is not defined under `auth.identities`")]
    UnknownIdentity(String),
    /// The `via` chain loops.
    #[error("identity `{0}` has a `via` chain that loops: {1}")]
    Cycle(String, String),
    /// A `via` names nothing.
    #[error("identity `{identity}` is `via` `{via}`, which is neither an identity nor a provider")]
    BrokenVia {
        /// The identity.
        identity: String,
        /// What it names.
        via: String,
    },
}

impl crate::error::Diagnose for AuthError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            AuthError::UnknownIdentity(_) => {
                "define it under `auth.identities` in atmos.yaml, or fix the store's `identity`"
                    .into()
            }
            AuthError::Cycle(..) | AuthError::BrokenVia { .. } => {
                "fix the `via` of the identities in atmos.yaml".into()
            }
        })
    }
}

/// `<ATMOS_XDG_CONFIG_HOME | XDG_CONFIG_HOME | ~/.config>/atmos`.
pub fn atmos_config_dir() -> Option<PathBuf> {
    use crate::env;
    env::var(env::ATMOS_XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(env::user_config_dir)
        .map(|d| d.join("atmos"))
}

/// `<atmos config dir>/[<realm>/]` — the root of atmos auth's files for the configured realm.
pub fn realm_dir(auth: &AuthConfig) -> Option<PathBuf> {
    let base = atmos_config_dir()?;
    Some(if auth.realm.is_empty() {
        base
    } else {
        base.join(&auth.realm)
    })
}

/// The identity's definition.
pub fn identity<'a>(auth: &'a AuthConfig, name: &str) -> Result<&'a Map, AuthError> {
    auth.identities
        .get(name)
        .ok_or_else(|| AuthError::UnknownIdentity(name.to_owned()))
}

/// The identity's `kind` (e.g. `aws/assume-role`).
pub fn kind<'a>(auth: &'a AuthConfig, name: &str) -> Result<&'a str, AuthError> {
    Ok(identity(auth, name)?
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or_default())
}

/// The `via` target of an identity (`via: {provider: x}` or `via: {identity: y}`).
fn via(def: &Map) -> Option<(&'static str, String)> {
    let v = def.get("via")?;
    if let Some(p) = v.get("provider").and_then(Node::as_str) {
        return Some(("provider", p.to_owned()));
    }
    if let Some(i) = v.get("identity").and_then(Node::as_str) {
        return Some(("identity", i.to_owned()));
    }
    v.as_str().map(|s| ("either", s.to_owned()))
}

/// The root provider name of an identity's `via` chain, which names its credential directory:
/// `aws-user` for `aws/user`, `aws-ambient` for `aws/ambient`, otherwise the provider at the end
/// of the chain.
pub fn root_provider(auth: &AuthConfig, name: &str) -> Result<String, AuthError> {
    let mut seen = vec![name.to_owned()];
    let mut current = name.to_owned();
    loop {
        let def = identity(auth, &current)?;
        match def.get("kind").and_then(Node::as_str) {
            Some("aws/user") => return Ok("aws-user".into()),
            Some("aws/ambient") => return Ok("aws-ambient".into()),
            _ => {}
        }
        let Some((what, target)) = via(def) else {
            return Err(AuthError::BrokenVia {
                identity: current,
                via: String::new(),
            });
        };
        let is_provider = auth.providers.contains_key(&target);
        let is_identity = auth.identities.contains_key(&target);
        match what {
            "provider" if is_provider => return Ok(target),
            "identity" | "either" if is_identity => {
                if seen.contains(&target) {
                    seen.push(target);
                    return Err(AuthError::Cycle(name.to_owned(), seen.join(" → ")));
                }
                seen.push(target.clone());
                current = target;
            }
            "either" if is_provider => return Ok(target),
            _ => {
                return Err(AuthError::BrokenVia {
                    identity: current,
                    via: target,
                });
            }
        }
    }
}

/// The component's default identity: the identity marked `default: true` in the component's
/// `auth` section, else atmos.yaml's, if exactly one is. The component's section holds
/// atmos.yaml's `auth:` under its own (as atmos shows it), so atmos.yaml's defaults are set
/// aside first: a default the stack declares wins over atmos.yaml's, as atmos' auth manager
/// clears the global defaults when a component declares its own.
pub fn default_identity(component_auth: Option<&Node>, global: &AuthConfig) -> Option<String> {
    let is_default = |d: &Node| d.get("default").and_then(Node::as_bool) == Some(true);
    let global_defaults: Vec<String> = global
        .identities
        .iter()
        .filter(|(_, d)| d.get("default").and_then(Node::as_bool) == Some(true))
        .map(|(n, _)| n.clone())
        .collect();
    let mut found: Vec<String> = component_auth
        .and_then(|a| a.get("identities"))
        .and_then(Node::as_map)
        .map(|ids| {
            ids.iter()
                .filter(|(n, d)| is_default(d) && !global_defaults.contains(n))
                .map(|(n, _)| n.clone())
                .collect()
        })
        .unwrap_or_default();
    if found.is_empty() {
        found = global_defaults;
    }
    (found.len() == 1).then(|| found.remove(0))
}

/// An [`AuthConfig`] from the `auth:` section's YAML (`providers`, `identities`), for tests.
#[cfg(test)]
pub(crate) fn auth_from_yaml(yaml: &str) -> AuthConfig {
    let node = crate::yaml::parse(yaml, "test").unwrap();
    let map = |k: &str| -> indexmap::IndexMap<String, Map> {
        node.get(k)
            .and_then(Node::as_map)
            .map(|m| {
                m.iter()
                    .map(|(n, v)| (n.clone(), v.as_map().cloned().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    AuthConfig {
        realm: String::new(),
        providers: map("providers"),
        identities: map("identities"),
        keyring: Map::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(yaml: &str) -> AuthConfig {
        auth_from_yaml(yaml)
    }

    #[test]
    fn root_providers_follow_via_chains() {
        let a = auth(
            "providers:\n  sso: {kind: aws/iam-identity-center}\nidentities:\n  base: {kind: aws/permission-set, via: {provider: sso}}\n  admin: {kind: aws/assume-role, via: {identity: base}, default: true}\n  me: {kind: aws/user}\n  loop1: {kind: aws/assume-role, via: {identity: loop2}}\n  loop2: {kind: aws/assume-role, via: {identity: loop1}}\n",
        );
        assert_eq!(root_provider(&a, "admin").unwrap(), "sso");
        assert_eq!(root_provider(&a, "me").unwrap(), "aws-user");
        assert!(matches!(
            root_provider(&a, "loop1"),
            Err(AuthError::Cycle(..))
        ));
        assert_eq!(
            root_provider(&a, "nope"),
            Err(AuthError::UnknownIdentity("nope".into()))
        );
        assert_eq!(default_identity(None, &a).as_deref(), Some("admin"));
    }

    #[test]
    fn a_stack_default_wins_over_the_atmos_yaml_default_under_it() {
        let global =
            auth("identities:\n  admin: {kind: aws/user, default: true}\n  me: {kind: aws/user}\n");
        // The component's section carries atmos.yaml's identities under its own (as described).
        let section = |text: &str| crate::yaml::parse(text, "t").unwrap();
        let merged = section(
            "identities:\n  admin: {kind: aws/user, default: true}\n  me: {kind: aws/user, default: true}\n",
        );
        assert_eq!(
            default_identity(Some(&merged), &global).as_deref(),
            Some("me")
        );
        let only_global = section("identities:\n  admin: {kind: aws/user, default: true}\n");
        assert_eq!(
            default_identity(Some(&only_global), &global).as_deref(),
            Some("admin")
        );
        let two = section(
            "identities:\n  x: {kind: aws/user, default: true}\n  y: {kind: aws/user, default: true}\n",
        );
        assert_eq!(default_identity(Some(&two), &global), None, "ambiguous");
    }
}
