//! Owns the descriptor table: one entry per store kind saying which cargo feature compiles its
//! backend in and how to build it. The registry builds every `stores:` entry through
//! [`build`]; a kind whose feature is off fails here with an error naming the feature.

use std::sync::Arc;

use super::{BuildEnv, Store, StoreError};
use crate::config::{StoreConfig, StoreKind};

/// Builds a backend from its `stores:` entry. Constructors do no network I/O: clients are
/// created on first use, so a misconfigured store only fails the commands that touch it.
type Builder = fn(&StoreConfig, &BuildEnv) -> Result<Arc<dyn Store>, StoreError>;

/// What the store layer knows about one kind.
pub struct Descriptor {
    /// The kind.
    pub kind: StoreKind,
    /// The cargo feature that compiles the backend in; `None` = always in.
    pub feature: Option<&'static str>,
    /// The constructor; `None` when the feature is off (or the kind has no backend yet).
    build: Option<Builder>,
}

fn boxed<S: Store + 'static>(store: Result<S, StoreError>) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(store?))
}

/// One entry per [`StoreKind`].
pub const DESCRIPTORS: &[Descriptor] = &[
    Descriptor {
        kind: StoreKind::Keychain,
        feature: None,
        build: Some(|c, e| boxed(super::keychain::KeychainStore::build(c, e))),
    },
    Descriptor {
        kind: StoreKind::AwsSsm,
        feature: Some("aws"),
        #[cfg(feature = "aws")]
        build: Some(|c, e| boxed(super::aws_ssm::SsmStore::build(c, e))),
        #[cfg(not(feature = "aws"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::AwsAsm,
        feature: Some("aws"),
        #[cfg(feature = "aws")]
        build: Some(|c, e| boxed(super::aws_secrets_manager::SecretsManagerStore::build(c, e))),
        #[cfg(not(feature = "aws"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::GcpSecretManager,
        feature: Some("gcp"),
        #[cfg(feature = "gcp")]
        build: Some(|c, e| {
            boxed(super::gcp_secret_manager::GcpSecretManagerStore::build(
                c, e,
            ))
        }),
        #[cfg(not(feature = "gcp"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::AzureKeyVault,
        feature: Some("azure"),
        #[cfg(feature = "azure")]
        build: Some(|c, e| boxed(super::azure_key_vault::AzureKeyVaultStore::build(c, e))),
        #[cfg(not(feature = "azure"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::HashicorpVault,
        feature: Some("vault"),
        #[cfg(feature = "vault")]
        build: Some(|c, e| boxed(super::vault::VaultStore::build(c, e))),
        #[cfg(not(feature = "vault"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::OnePassword,
        feature: Some("onepassword"),
        #[cfg(feature = "onepassword")]
        build: Some(|c, e| boxed(super::onepassword::OnePasswordStore::build(c, e))),
        #[cfg(not(feature = "onepassword"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::Redis,
        feature: Some("redis"),
        #[cfg(feature = "redis")]
        build: Some(|c, e| boxed(super::redis::RedisStore::build(c, e))),
        #[cfg(not(feature = "redis"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::Artifactory,
        feature: Some("artifactory"),
        #[cfg(feature = "artifactory")]
        build: Some(|c, e| boxed(super::artifactory::ArtifactoryStore::build(c, e))),
        #[cfg(not(feature = "artifactory"))]
        build: None,
    },
    Descriptor {
        kind: StoreKind::GithubActions,
        feature: None,
        build: None,
    },
];

/// The descriptor of `kind`.
pub fn descriptor(kind: StoreKind) -> Option<&'static Descriptor> {
    DESCRIPTORS.iter().find(|d| d.kind == kind)
}

/// Builds the backend of a `stores:` entry.
pub fn build(cfg: &StoreConfig, env: &BuildEnv) -> Result<Arc<dyn Store>, StoreError> {
    let kind = cfg.kind.as_str();
    match descriptor(cfg.kind) {
        Some(Descriptor {
            build: Some(build), ..
        }) => build(cfg, env),
        Some(Descriptor {
            feature: Some(feature),
            ..
        }) => Err(StoreError::Config {
            store: cfg.name.clone(),
            message: format!(
                "backend `{kind}` is not compiled into this binary (cargo feature `{feature}` is off)"
            ),
            hint: Some(format!(
                "rebuild atmos with `--features {feature}` (default builds include it), or use another store"
            )),
        }),
        _ => Err(StoreError::Config {
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
    fn every_kind_has_one_descriptor() {
        for d in DESCRIPTORS {
            let same = DESCRIPTORS.iter().filter(|o| o.kind == d.kind).count();
            assert_eq!(same, 1, "{}", d.kind.as_str());
        }
        for kind in [
            StoreKind::AwsSsm,
            StoreKind::AwsAsm,
            StoreKind::AzureKeyVault,
            StoreKind::GcpSecretManager,
            StoreKind::HashicorpVault,
            StoreKind::OnePassword,
            StoreKind::Keychain,
            StoreKind::GithubActions,
            StoreKind::Redis,
            StoreKind::Artifactory,
        ] {
            assert!(descriptor(kind).is_some(), "{}", kind.as_str());
        }
    }

    #[test]
    fn a_kind_without_a_backend_is_a_clear_error() {
        let cfg = StoreConfig {
            name: "gh".into(),
            kind: StoreKind::GithubActions,
            secret: true,
            identity: None,
            options: crate::yaml::Map::new(),
        };
        let e = build(&cfg, &BuildEnv::default()).err().expect("no backend");
        assert!(e.to_string().contains("not available in this build"), "{e}");
    }
}
