//! Owns the table of store kinds: for each kind its canonical name and legacy aliases, whether it
//! holds secrets, whether it takes an `identity`, its default `stack_delimiter`, the cargo feature
//! that compiles its backend in, and the options it requires or limits. Everything the program
//! knows about a kind as data lives in [`KINDS`]; `store::descriptor` adds only the constructors
//! (the store layer sits above this one, so the table cannot name them).

use super::StoreKind;
use crate::env;

/// Whether a kind holds secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// Always (`secret: true` is forced): the keychain, 1Password, GitHub Actions.
    Always,
    /// When the entry says `secret: true`.
    Optional,
    /// Never: the value is stored in the clear (`secret: true` is refused).
    Never,
}

/// An option that must be set: under one of `names`, or through one of the environment
/// variables `env`.
#[derive(Debug)]
pub struct Required {
    /// The option and its accepted spellings; the first is the one named in the hint.
    pub names: &'static [&'static str],
    /// Environment variables that stand in for it.
    pub env: &'static [&'static str],
    /// The error text (atmos wording), e.g. `region is required in ssm store configuration`.
    pub message: &'static str,
}

/// An option whose value must be one of `allowed` (when set).
#[derive(Debug)]
pub struct Choice {
    /// The option.
    pub option: &'static str,
    /// What it is, for the message (`1Password mode`).
    pub label: &'static str,
    /// The accepted values.
    pub allowed: &'static [&'static str],
}

/// Everything known about one store kind.
#[derive(Debug)]
pub struct KindInfo {
    /// The kind.
    pub kind: StoreKind,
    /// The canonical `kind:` text.
    pub name: &'static str,
    /// Legacy spellings accepted in `kind:`.
    pub aliases: &'static [&'static str],
    /// Whether it holds secrets.
    pub secrecy: Secrecy,
    /// Whether a store `identity` applies (cloud credentials).
    pub uses_identity: bool,
    /// The default `stack_delimiter`.
    pub stack_delimiter: &'static str,
    /// The cargo feature that compiles the backend in; `None` = always in.
    pub feature: Option<&'static str>,
    /// Options that must be set, checked in order.
    pub required: &'static [Required],
    /// An option limited to a few values.
    pub choice: Option<Choice>,
}

const fn required(names: &'static [&'static str], message: &'static str) -> Required {
    Required {
        names,
        env: &[],
        message,
    }
}

/// A kind with no aliases, required options or choices; the rows below fill in the rest.
const fn kind(kind: StoreKind, name: &'static str, feature: &'static str) -> KindInfo {
    KindInfo {
        kind,
        name,
        aliases: &[],
        secrecy: Secrecy::Optional,
        uses_identity: false,
        stack_delimiter: "-",
        feature: Some(feature),
        required: &[],
        choice: None,
    }
}

/// One row per [`StoreKind`].
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        aliases: &["aws-ssm-parameter-store"],
        uses_identity: true,
        required: &[required(
            &["region"],
            "region is required in ssm store configuration",
        )],
        ..kind(StoreKind::AwsSsm, "aws/ssm", "aws")
    },
    KindInfo {
        aliases: &["aws-secrets-manager"],
        uses_identity: true,
        required: &[required(
            &["region"],
            "region is required in asm store configuration",
        )],
        ..kind(StoreKind::AwsAsm, "aws/asm", "aws")
    },
    KindInfo {
        aliases: &["azure-key-vault"],
        uses_identity: true,
        required: &[required(
            &["vault_url", "endpoint"],
            "vault_url is required in key vault store configuration",
        )],
        ..kind(StoreKind::AzureKeyVault, "azure/keyvault", "azure")
    },
    KindInfo {
        aliases: &["google-secret-manager", "google/secretmanager", "gsm"],
        uses_identity: true,
        required: &[required(
            &["project_id"],
            "project_id is required in google secret manager store configuration",
        )],
        ..kind(StoreKind::GcpSecretManager, "gcp/secretmanager", "gcp")
    },
    KindInfo {
        aliases: &["hashicorp-vault"],
        uses_identity: true,
        stack_delimiter: "/",
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
        ..kind(StoreKind::HashicorpVault, "hashicorp/vault", "vault")
    },
    KindInfo {
        aliases: &["1password"],
        secrecy: Secrecy::Always,
        choice: Some(Choice {
            option: "mode",
            label: "1Password mode",
            allowed: &["auto", "connect", "service-account"],
        }),
        ..kind(StoreKind::OnePassword, "onepassword", "onepassword")
    },
    KindInfo {
        aliases: &["keyring"],
        secrecy: Secrecy::Always,
        feature: None,
        choice: Some(Choice {
            option: "backend",
            label: "keychain backend",
            allowed: &["system", "file", "memory"],
        }),
        ..kind(StoreKind::Keychain, "keychain", "")
    },
    KindInfo {
        aliases: &["github-actions"],
        secrecy: Secrecy::Always,
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
        ..kind(StoreKind::GithubActions, "github/actions", "")
    },
    KindInfo {
        secrecy: Secrecy::Never,
        stack_delimiter: "/",
        required: &[Required {
            names: &["url"],
            env: &[env::ATMOS_REDIS_URL],
            message: "url is required in redis store configuration (or set ATMOS_REDIS_URL)",
        }],
        ..kind(StoreKind::Redis, "redis", "redis")
    },
    KindInfo {
        secrecy: Secrecy::Never,
        stack_delimiter: "/",
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
        ..kind(StoreKind::Artifactory, "artifactory", "artifactory")
    },
];

/// One SOPS provider kind (`secrets.providers.<name>.kind`): which master keys its files are
/// expected to use. Every kind reads every master-key type a file carries; the kind picks the
/// hints, whether `keygen` applies (age only) and whether the provider's `identity` matters.
#[derive(Debug)]
pub struct SopsKindInfo {
    /// The canonical `kind:` text.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// The sops metadata list of its master keys (`age`, `kms`, `pgp`, `hc_vault`, `gcp_kms`,
    /// `azure_kv`).
    pub master_key: &'static str,
    /// Whether the provider's `identity` authenticates its master keys (cloud KMS).
    pub uses_identity: bool,
}

/// The SOPS provider kinds. A `sops/…` kind not listed here is refused.
pub const SOPS_KINDS: &[SopsKindInfo] = &[
    SopsKindInfo {
        name: "sops/age",
        aliases: &["", "sops"],
        master_key: "age",
        uses_identity: false,
    },
    SopsKindInfo {
        name: "sops/aws-kms",
        aliases: &["sops/kms"],
        master_key: "kms",
        uses_identity: true,
    },
    SopsKindInfo {
        name: "sops/pgp",
        aliases: &["sops/gpg"],
        master_key: "pgp",
        uses_identity: false,
    },
    SopsKindInfo {
        name: "sops/hc-vault",
        aliases: &["sops/vault", "sops/hc-vault-transit"],
        master_key: "hc_vault",
        uses_identity: false,
    },
    SopsKindInfo {
        name: "sops/gcp-kms",
        aliases: &[],
        master_key: "gcp_kms",
        uses_identity: true,
    },
    SopsKindInfo {
        name: "sops/azure-kv",
        aliases: &["sops/azure-keyvault"],
        master_key: "azure_kv",
        uses_identity: true,
    },
];

/// The row of a SOPS provider kind (canonical or alias); `None` when unknown.
pub fn sops_kind(text: &str) -> Option<&'static SopsKindInfo> {
    SOPS_KINDS
        .iter()
        .find(|k| k.name == text || k.aliases.contains(&text))
}

impl StoreKind {
    /// The kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        KINDS
            .iter()
            .find(|k| k.kind == self)
            .unwrap_or_else(|| unreachable!("every StoreKind has a row in KINDS (tested)"))
    }

    /// The canonical kind string.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// Parses a canonical kind or a legacy alias.
    pub fn parse(text: &str) -> Option<StoreKind> {
        KINDS
            .iter()
            .find(|k| k.name == text || k.aliases.contains(&text))
            .map(|k| k.kind)
    }

    /// Kinds that always hold secrets (forced `secret: true`).
    pub fn secret_by_default(self) -> bool {
        self.info().secrecy == Secrecy::Always
    }

    /// Kinds that may be marked secret (encrypted at rest).
    pub fn may_be_secret(self) -> bool {
        self.info().secrecy != Secrecy::Never
    }

    /// Kinds that use a store `identity`.
    pub fn uses_identity(self) -> bool {
        self.info().uses_identity
    }

    /// The default `stack_delimiter`.
    pub fn default_stack_delimiter(self) -> &'static str {
        self.info().stack_delimiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sops_kinds_and_aliases() {
        assert_eq!(sops_kind("sops/gpg").unwrap().master_key, "pgp");
        assert_eq!(sops_kind("sops/pgp").unwrap().name, "sops/pgp");
        assert_eq!(sops_kind("sops/hc-vault").unwrap().master_key, "hc_vault");
        assert_eq!(sops_kind("").unwrap().master_key, "age");
        assert!(sops_kind("sops/azure-kv").unwrap().uses_identity);
        assert!(sops_kind("sops/nope").is_none());
    }

    const ALL: [StoreKind; 10] = [
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
    ];

    #[test]
    fn every_kind_has_exactly_one_row_and_round_trips_its_names() {
        assert_eq!(KINDS.len(), ALL.len());
        for kind in ALL {
            assert_eq!(KINDS.iter().filter(|k| k.kind == kind).count(), 1);
            assert_eq!(StoreKind::parse(kind.as_str()), Some(kind));
            for alias in kind.info().aliases {
                assert_eq!(StoreKind::parse(alias), Some(kind), "{alias}");
            }
        }
        assert_eq!(StoreKind::parse("aws/s3"), None);
    }

    #[test]
    fn secrecy_and_identity_follow_the_table() {
        assert!(StoreKind::Keychain.secret_by_default());
        assert!(!StoreKind::AwsSsm.secret_by_default());
        assert!(!StoreKind::Redis.may_be_secret());
        assert!(StoreKind::HashicorpVault.may_be_secret());
        assert!(StoreKind::GcpSecretManager.uses_identity());
        assert!(!StoreKind::OnePassword.uses_identity());
        assert_eq!(StoreKind::HashicorpVault.default_stack_delimiter(), "/");
        assert_eq!(StoreKind::AwsSsm.default_stack_delimiter(), "-");
    }
}
