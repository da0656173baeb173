//! Owns the descriptor table: one entry per store kind with its required options and option
//! choices, the cargo feature that compiles its backend in, and how to build it.
//!
//! `config/` parses `stores:` entries without knowing the kinds' options; [`validate_config`]
//! checks them right after the configuration is loaded (the commands call it where they load
//! it), so a missing option stays a load-time error. The registry builds every entry through
//! [`build`]; a kind whose feature is off fails there with an error naming the feature.

use std::sync::Arc;

use super::{BuildEnv, Store, StoreError};
use crate::config::load::ConfigError;
use crate::config::{CliConfig, StoreConfig, StoreKind, option_str};
use crate::env;

/// Builds a backend from its `stores:` entry. Constructors do no network I/O: clients are
/// created on first use, so a misconfigured store only fails the commands that touch it.
type Builder = fn(&StoreConfig, &BuildEnv) -> Result<Arc<dyn Store>, StoreError>;

/// What the store layer knows about one kind.
pub struct Descriptor {
    /// The kind.
    pub kind: StoreKind,
    /// The cargo feature that compiles the backend in; `None` = always in.
    pub feature: Option<&'static str>,
    /// Options that must be set, checked in order.
    pub required: &'static [Required],
    /// An option limited to a few values.
    pub choice: Option<Choice>,
    /// The constructor; `None` when the feature is off (or the kind has no backend yet).
    build: Option<Builder>,
}

/// An option that must be set: under one of `names`, or through one of the environment
/// variables `env`.
pub struct Required {
    /// The option and its accepted spellings; the first is the one named in the hint.
    pub names: &'static [&'static str],
    /// Environment variables that stand in for it.
    pub env: &'static [&'static str],
    /// The error text (atmos wording), e.g. `region is required in ssm store configuration`.
    pub message: &'static str,
}

/// An option whose value must be one of `allowed` (when set).
pub struct Choice {
    /// The option.
    pub option: &'static str,
    /// What it is, for the message (`1Password mode`).
    pub label: &'static str,
    /// The accepted values.
    pub allowed: &'static [&'static str],
}

const fn required(names: &'static [&'static str], message: &'static str) -> Required {
    Required {
        names,
        env: &[],
        message,
    }
}

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

/// One entry per [`StoreKind`].
pub const DESCRIPTORS: &[Descriptor] = &[
    Descriptor {
        kind: StoreKind::Keychain,
        feature: None,
        required: &[],
        choice: Some(Choice {
            option: "backend",
            label: "keychain backend",
            allowed: &["system", "file", "memory"],
        }),
        build: Some(|c, e| boxed(super::keychain::KeychainStore::build(c, e))),
    },
    Descriptor {
        kind: StoreKind::AwsSsm,
        feature: Some("aws"),
        required: &[required(
            &["region"],
            "region is required in ssm store configuration",
        )],
        choice: None,
        build: builder!("aws", super::aws_ssm::SsmStore),
    },
    Descriptor {
        kind: StoreKind::AwsAsm,
        feature: Some("aws"),
        required: &[required(
            &["region"],
            "region is required in asm store configuration",
        )],
        choice: None,
        build: builder!("aws", super::aws_secrets_manager::SecretsManagerStore),
    },
    Descriptor {
        kind: StoreKind::GcpSecretManager,
        feature: Some("gcp"),
        required: &[required(
            &["project_id"],
            "project_id is required in google secret manager store configuration",
        )],
        choice: None,
        build: builder!("gcp", super::gcp_secret_manager::GcpSecretManagerStore),
    },
    Descriptor {
        kind: StoreKind::AzureKeyVault,
        feature: Some("azure"),
        required: &[required(
            &["vault_url", "endpoint"],
            "vault_url is required in key vault store configuration",
        )],
        choice: None,
        build: builder!("azure", super::azure_key_vault::AzureKeyVaultStore),
    },
    Descriptor {
        kind: StoreKind::HashicorpVault,
        feature: Some("vault"),
        required: &[
            required(
                &["mount", "path"],
                "mount is required in vault store configuration",
            ),
            Required {
                names: &["address", "url"],
                env: &[env::VAULT_ADDR],
                message: "address is required in vault store configuration (or set VAULT_ADDR)",
            },
        ],
        choice: None,
        build: builder!("vault", super::vault::VaultStore),
    },
    Descriptor {
        kind: StoreKind::OnePassword,
        feature: Some("onepassword"),
        required: &[],
        choice: Some(Choice {
            option: "mode",
            label: "1Password mode",
            allowed: &["auto", "connect", "service-account"],
        }),
        build: builder!("onepassword", super::onepassword::OnePasswordStore),
    },
    Descriptor {
        kind: StoreKind::Redis,
        feature: Some("redis"),
        required: &[Required {
            names: &["url"],
            env: &[env::ATMOS_REDIS_URL],
            message: "url is required in redis store configuration (or set ATMOS_REDIS_URL)",
        }],
        choice: None,
        build: builder!("redis", super::redis::RedisStore),
    },
    Descriptor {
        kind: StoreKind::Artifactory,
        feature: Some("artifactory"),
        required: &[
            Required {
                names: &["access_token"],
                env: &[env::ARTIFACTORY_ACCESS_TOKEN, env::JFROG_ACCESS_TOKEN],
                message: "access_token is required in artifactory store configuration (or set ARTIFACTORY_ACCESS_TOKEN)",
            },
            required(
                &["repo_name"],
                "repo_name is required in artifactory store configuration",
            ),
        ],
        choice: None,
        build: builder!("artifactory", super::artifactory::ArtifactoryStore),
    },
    Descriptor {
        kind: StoreKind::GithubActions,
        feature: None,
        required: &[
            required(
                &["owner"],
                "owner and repo are required in github actions store configuration",
            ),
            required(
                &["repo"],
                "owner and repo are required in github actions store configuration",
            ),
        ],
        choice: None,
        build: None,
    },
];

/// Checks every `stores:` entry's options against its kind's descriptor: required options
/// ([`ConfigError::MissingOption`]) and option choices ([`ConfigError::Invalid`]), entries in
/// file order. Call it right after loading the configuration.
pub fn validate_config(cfg: &CliConfig) -> Result<(), ConfigError> {
    let file = cfg.config_file.clone().unwrap_or_default();
    for store in cfg.stores.values() {
        let Some(d) = descriptor(store.kind) else {
            continue;
        };
        let has = |k: &str| option_str(&store.options, k).is_some();
        for r in d.required {
            if !r.names.iter().any(|n| has(n)) && !r.env.iter().any(|v| env::var(v).is_some()) {
                return Err(ConfigError::MissingOption {
                    file,
                    store: store.name.clone(),
                    option: r.names[0].to_owned(),
                    message: r.message.to_owned(),
                });
            }
        }
        if let Some(c) = &d.choice
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

    fn load(text: &str) -> Result<CliConfig, ConfigError> {
        let cfg = crate::config::load::from_str(text, std::path::Path::new("/p/atmos.yaml"), None)?;
        validate_config(&cfg)?;
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
