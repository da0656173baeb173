//! The rules `atmos.yaml` values must follow that are not about one section's shape: store kind
//! names and their legacy aliases (and what each kind implies), and the auth realm rules.

use crate::config::StoreKind;

/// Canonical kind names and their legacy aliases (spec §1.1).
pub(super) const KINDS: &[(&str, StoreKind)] = &[
    ("aws/ssm", StoreKind::AwsSsm),
    ("aws/asm", StoreKind::AwsAsm),
    ("azure/keyvault", StoreKind::AzureKeyVault),
    ("gcp/secretmanager", StoreKind::GcpSecretManager),
    ("hashicorp/vault", StoreKind::HashicorpVault),
    ("onepassword", StoreKind::OnePassword),
    ("keychain", StoreKind::Keychain),
    ("github/actions", StoreKind::GithubActions),
    ("redis", StoreKind::Redis),
    ("artifactory", StoreKind::Artifactory),
];

const ALIASES: &[(&str, StoreKind)] = &[
    ("aws-ssm-parameter-store", StoreKind::AwsSsm),
    ("aws-secrets-manager", StoreKind::AwsAsm),
    ("azure-key-vault", StoreKind::AzureKeyVault),
    ("google-secret-manager", StoreKind::GcpSecretManager),
    ("google/secretmanager", StoreKind::GcpSecretManager),
    ("gsm", StoreKind::GcpSecretManager),
    ("hashicorp-vault", StoreKind::HashicorpVault),
    ("1password", StoreKind::OnePassword),
    ("keyring", StoreKind::Keychain),
    ("github-actions", StoreKind::GithubActions),
];

impl StoreKind {
    /// Parses a canonical kind or a legacy alias.
    pub fn parse(kind: &str) -> Option<StoreKind> {
        KINDS
            .iter()
            .chain(ALIASES)
            .find(|(name, _)| *name == kind)
            .map(|(_, k)| *k)
    }

    /// Kinds that always hold secrets (forced `secret: true`).
    pub fn secret_by_default(self) -> bool {
        matches!(
            self,
            StoreKind::OnePassword | StoreKind::Keychain | StoreKind::GithubActions
        )
    }

    /// Kinds that may not be marked secret (no encryption at rest).
    pub fn may_be_secret(self) -> bool {
        !matches!(self, StoreKind::Redis | StoreKind::Artifactory)
    }

    /// Kinds that use a store `identity`.
    pub fn uses_identity(self) -> bool {
        matches!(
            self,
            StoreKind::AwsSsm
                | StoreKind::AwsAsm
                | StoreKind::AzureKeyVault
                | StoreKind::GcpSecretManager
                | StoreKind::HashicorpVault
        )
    }
}

/// Checks the realm rules of spec §1.3; returns the rule broken.
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
