//! Owns the constructors of the store kinds: which backend type builds a `stores:` entry, and
//! the error when the cargo feature that compiles it in is off. Everything else about a kind
//! (names, aliases, secrecy, identity, delimiter, feature, required options) is data in
//! [`crate::config::kinds::KINDS`], checked when `atmos.yaml` loads; this layer adds only what
//! the config layer cannot name.

use std::sync::Arc;

use super::{BuildEnv, Store, StoreError};
use crate::config::{StoreConfig, StoreKind};

/// Builds a backend from its `stores:` entry. Constructors do no network I/O: clients are
/// created on first use, so a misconfigured store only fails the commands that touch it.
type Builder = fn(&StoreConfig, &BuildEnv) -> Result<Arc<dyn Store>, StoreError>;

fn boxed<S: Store + 'static>(store: Result<S, StoreError>) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(store?))
}

/// The constructor of a backend that the cargo feature `$feature` compiles in; `None` when the
/// feature is off.
macro_rules! builder {
    ($feature:literal, $store:path) => {{
        #[cfg(feature = $feature)]
        let build: Option<Builder> = Some(|c, e| boxed(<$store>::build(c, e)));
        #[cfg(not(feature = $feature))]
        let build: Option<Builder> = None;
        build
    }};
}

/// The constructor of `kind`, if this binary has one.
fn builder(kind: StoreKind) -> Option<Builder> {
    match kind {
        StoreKind::Keychain => Some(|c, e| boxed(super::keychain::KeychainStore::build(c, e))),
        StoreKind::AwsSsm => builder!("aws", super::aws_ssm::SsmStore),
        StoreKind::AwsAsm => builder!("aws", super::aws_secrets_manager::SecretsManagerStore),
        StoreKind::GcpSecretManager => {
            builder!("gcp", super::gcp_secret_manager::GcpSecretManagerStore)
        }
        StoreKind::AzureKeyVault => builder!("azure", super::azure_key_vault::AzureKeyVaultStore),
        StoreKind::HashicorpVault => builder!("vault", super::vault::VaultStore),
        StoreKind::OnePassword => builder!("onepassword", super::onepassword::OnePasswordStore),
        StoreKind::Redis => builder!("redis", super::redis::RedisStore),
        StoreKind::Artifactory => builder!("artifactory", super::artifactory::ArtifactoryStore),
        StoreKind::GithubActions => {
            Some(|c, e| boxed(super::github_actions::GithubActionsStore::build(c, e)))
        }
    }
}

/// Builds the backend of a `stores:` entry.
pub fn build(cfg: &StoreConfig, env: &BuildEnv) -> Result<Arc<dyn Store>, StoreError> {
    let kind = cfg.kind.as_str();
    // `options.timeout` is every backend's call budget: a bad value is a configuration error.
    super::net::timeout(cfg)?;
    if let Some(build) = builder(cfg.kind) {
        return build(cfg, env);
    }
    match cfg.kind.info().feature {
        Some(feature) => Err(StoreError::Config {
            store: cfg.name.clone(),
            message: format!(
                "backend `{kind}` is not compiled into this binary (cargo feature `{feature}` is off)"
            ),
            hint: Some(format!(
                "rebuild atmos with `--features {feature}` (default builds include it), or use another store"
            )),
        }),
        None => Err(StoreError::Config {
            store: cfg.name.clone(),
            message: format!("backend `{kind}` is not available in this build yet"),
            hint: Some("use a `keychain` store or a SOPS provider for now".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_without_network_or_a_bad_timeout_is_refused() {
        let cfg = |timeout: &str| {
            let options = crate::yaml::parse(&format!("owner: o\nrepo: r\n{timeout}"), "t")
                .unwrap()
                .as_map()
                .cloned()
                .unwrap_or_default();
            StoreConfig {
                name: "gh".into(),
                kind: StoreKind::GithubActions,
                secret: true,
                identity: None,
                options,
            }
        };
        assert!(build(&cfg(""), &BuildEnv::default()).is_ok());
        let e = build(&cfg("timeout: soon"), &BuildEnv::default())
            .err()
            .expect("a bad timeout");
        assert!(e.to_string().contains("`timeout` must be"), "{e}");
    }
}
