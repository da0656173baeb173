//! SOPS secret provider (track 2): one encrypted YAML file per stack or component instance.

use std::sync::Arc;

use super::StoreError;
use super::registry::Registry;
use crate::config::{CliConfig, ProviderConfig};

/// A `secrets.providers` entry as a store.
pub struct SopsStore;

impl SopsStore {
    /// Builds the provider.
    pub fn new(
        cfg: ProviderConfig,
        _cli: Arc<CliConfig>,
        _registry: &Registry,
    ) -> Result<Self, StoreError> {
        Err(StoreError::Config {
            store: cfg.name,
            message: "SOPS providers are not available in this build yet".into(),
            hint: None,
        })
    }
}

impl super::Store for SopsStore {
    fn name(&self) -> &str {
        ""
    }
    fn kind(&self) -> &str {
        "sops/age"
    }
    fn capabilities(&self) -> super::Capabilities {
        super::Capabilities::default()
    }
    fn get_many<'a>(
        &'a self,
        keys: &'a [crate::secrets::Coordinate],
    ) -> super::BoxFuture<'a, Vec<Result<Option<crate::secret::SecretValue>, StoreError>>> {
        Box::pin(async move { keys.iter().map(|_| Ok(None)).collect() })
    }
    fn set<'a>(
        &'a self,
        _key: &'a crate::secrets::Coordinate,
        _value: &'a crate::secret::SecretValue,
    ) -> super::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(()) })
    }
    fn delete<'a>(
        &'a self,
        _key: &'a crate::secrets::Coordinate,
    ) -> super::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(()) })
    }
    fn describe_key(&self, key: &crate::secrets::Coordinate) -> String {
        key.key.clone()
    }
}

/// Outcome of keygen.
pub enum Keygen {
    /// Not an age vault.
    Unsupported,
    /// Key material exists and `--force` was not given.
    AlreadyHasKey,
    /// New key pair.
    Generated {
        /// Where the private identity went.
        identity_location: String,
        /// The recipients file.
        recipients_file: std::path::PathBuf,
        /// The public recipient.
        recipient: String,
    },
}

/// Generates key material (placeholder).
pub fn keygen(
    _p: &ProviderConfig,
    _c: &CliConfig,
    _r: &Registry,
    _force: bool,
) -> Result<Keygen, crate::error::Error> {
    Ok(Keygen::Unsupported)
}
