//! Owns the master keys of SOPS files other than age, as one [`MasterKeyProvider`]
//! ([`MasterKeys`]) for the SOPS secret provider and `atmos sops`: it hands each entry to the
//! provider of its kind — AWS KMS (`sops_kms`), PGP through `gpg` ([`super::sops_pgp`]),
//! HashiCorp Vault transit ([`super::sops_vault`]), GCP Cloud KMS (`sops_gcp_kms`, `gcp`
//! feature) and Azure Key Vault keys (`sops_azure_kv`, `azure` feature). A kind plugs in here
//! and nowhere else.
//!
//! Settings come from the SOPS provider entry: its `identity` (cloud credentials) and
//! `spec.options` (`gnupg_home`, `timeout`, `ca_cert`, `endpoint`, `without_authentication`); `atmos sops` uses the
//! defaults.
//! Providers are synchronous for the codec; network calls run through [`super::net::run_blocking`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::sops_kms::AwsKmsProvider;
use super::sops_pgp::PgpProvider;
use super::sops_vault::VaultTransitProvider;
use crate::config::AuthConfig;
use crate::sops::{MasterKeyProvider, Value};

/// The provider of a kind whose cargo feature is off: every use is an error naming the feature.
#[cfg(not(all(feature = "gcp", feature = "azure")))]
struct FeatureOff(&'static str, &'static str, &'static str);

#[cfg(not(all(feature = "gcp", feature = "azure")))]
impl FeatureOff {
    fn err(&self) -> String {
        format!(
            "{} keys need the `{}` feature, which this build of atmos does not include (hint: rebuild atmos with `--features {}`, on by default)",
            self.1, self.2, self.2
        )
    }
}

#[cfg(not(all(feature = "gcp", feature = "azure")))]
impl MasterKeyProvider for FeatureOff {
    fn decrypt(&self, kind: &str, _entry: &Value) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        if kind == self.0 {
            Err(self.err())
        } else {
            Ok(None)
        }
    }

    fn encrypt(&self, kind: &str, _spec: &Value, _payload: &[u8]) -> Result<Option<Value>, String> {
        if kind == self.0 {
            Err(self.err())
        } else {
            Ok(None)
        }
    }
}

/// Every non-age master-key provider, dispatched by kind.
pub struct MasterKeys {
    kms: AwsKmsProvider,
    pgp: PgpProvider,
    vault: VaultTransitProvider,
    #[cfg(feature = "gcp")]
    gcp: super::sops_gcp_kms::GcpKmsProvider,
    #[cfg(feature = "azure")]
    azure: super::sops_azure_kv::AzureKvProvider,
}

/// Settings of the master keys, from a SOPS provider's `spec.options` (all optional).
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    /// `gnupg_home`: the GnuPG home for PGP keys instead of `GNUPGHOME` / `~/.gnupg`.
    pub gnupg_home: Option<PathBuf>,
    /// `timeout`: the bound on one network call, in seconds.
    pub timeout: Option<Duration>,
    /// `ca_cert`: a PEM bundle that signs the Vault server's certificate.
    pub ca_cert: Option<PathBuf>,
    /// `endpoint`: the GCP KMS / Azure Key Vault endpoint instead of the cloud's own (tests,
    /// private endpoints).
    pub endpoint: Option<String>,
    /// `without_authentication: true`: a stub bearer for Azure Key Vault emulators.
    pub without_authentication: bool,
}

impl KeyOptions {
    /// Reads `spec.options`; a malformed value is an error naming the option.
    pub fn from_options(
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let timeout = match options.get("timeout") {
            None => None,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 3600.0 => Some(Duration::from_secs_f64(s)),
                _ => {
                    return Err(format!(
                        "`spec.options.timeout` must be a number of seconds between 0 and 3600, not `{raw}`"
                    ));
                }
            },
        };
        let path = |k: &str| options.get(k).map(|v| crate::env::expand_path(v));
        Ok(Self {
            gnupg_home: path("gnupg_home"),
            timeout,
            ca_cert: path("ca_cert"),
            endpoint: options.get("endpoint").cloned(),
            without_authentication: options
                .get("without_authentication")
                .is_some_and(|v| v.trim() == "true"),
        })
    }
}

impl MasterKeys {
    /// The providers, authenticating cloud calls as `identity` (`None` = default credentials).
    /// No I/O.
    pub fn new(identity: Option<String>, auth: Arc<AuthConfig>, options: &KeyOptions) -> Self {
        Self {
            #[cfg(feature = "azure")]
            azure: super::sops_azure_kv::AzureKvProvider::new(
                identity.clone(),
                auth.clone(),
                options.without_authentication,
                options.ca_cert.clone(),
                options.timeout,
            ),
            #[cfg(feature = "gcp")]
            gcp: super::sops_gcp_kms::GcpKmsProvider::new(
                identity.clone(),
                auth.clone(),
                options.endpoint.clone(),
                options.timeout,
            ),
            kms: AwsKmsProvider::new(identity, auth),
            pgp: PgpProvider::new(options.gnupg_home.clone()),
            vault: VaultTransitProvider::new(options.timeout, options.ca_cert.clone()),
        }
    }

    fn provider(&self, kind: &str) -> Option<&dyn MasterKeyProvider> {
        Some(match kind {
            "kms" => &self.kms,
            "pgp" => &self.pgp,
            "hc_vault" => &self.vault,
            #[cfg(feature = "gcp")]
            "gcp_kms" => &self.gcp,
            #[cfg(not(feature = "gcp"))]
            "gcp_kms" => &FeatureOff("gcp_kms", "GCP KMS", "gcp"),
            #[cfg(feature = "azure")]
            "azure_kv" => &self.azure,
            #[cfg(not(feature = "azure"))]
            "azure_kv" => &FeatureOff("azure_kv", "Azure Key Vault", "azure"),
            _ => return None,
        })
    }
}

impl MasterKeyProvider for MasterKeys {
    fn decrypt(&self, kind: &str, entry: &Value) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        match self.provider(kind) {
            Some(p) => p.decrypt(kind, entry),
            None => Ok(None),
        }
    }

    fn encrypt(&self, kind: &str, spec: &Value, payload: &[u8]) -> Result<Option<Value>, String> {
        match self.provider(kind) {
            Some(p) => p.encrypt(kind, spec, payload),
            None => Ok(None),
        }
    }
}
