//! Owns the [`Store`] trait, [`StoreError`] and the batched-read planner.
//!
//! Every backend (cloud stores, the keychain, SOPS files) implements [`Store`]; the commands only
//! ever see `Arc<dyn Store>` handed out by [`registry`]. Backends that hold one value per
//! physical key implement [`keyed::KeyedBackend`] and get their `Store` impl from it. SDK types never leave a backend module.
//! Keys are [`Coordinate`]s; each backend composes its own physical name from them (pure
//! functions in `keys`).
//!
//! The trait is async (boxed futures, so it stays object-safe) because cloud backends are; local
//! backends simply return ready futures.

#[cfg(feature = "artifactory")]
pub mod artifactory;
#[cfg(feature = "aws")]
pub mod aws_common;
#[cfg(feature = "aws")]
pub mod aws_retry_log;
#[cfg(feature = "aws")]
pub mod aws_secrets_manager;
#[cfg(feature = "aws")]
pub mod aws_ssm;
#[cfg(feature = "azure")]
pub mod azure_key_vault;
pub mod descriptor;
#[cfg(feature = "gcp")]
pub mod gcp_secret_manager;
pub mod github_actions;
pub mod keychain;
pub mod keyed;
pub mod keys;
pub mod memory;
pub mod net;
#[cfg(feature = "onepassword")]
pub mod onepassword;
pub mod per_runtime;
pub mod plan;
#[cfg(feature = "redis")]
pub mod redis;
pub mod registry;
pub mod retry;
pub mod sops;
#[cfg(feature = "azure")]
pub mod sops_azure_kv;
#[cfg(feature = "gcp")]
pub mod sops_gcp_kms;
pub mod sops_keys;
#[cfg(feature = "aws")]
pub mod sops_kms;
#[cfg(not(feature = "aws"))]
#[path = "sops_kms_off.rs"]
pub mod sops_kms;
pub mod sops_pgp;
pub mod sops_vault;
#[cfg(feature = "vault")]
pub mod vault;

use std::future::Future;
use std::pin::Pin;

use crate::error::{Diagnose, code};
use crate::secret_value::SecretValue;
use crate::secrets::{Coordinate, Scope};

/// A boxed, sendable future: what trait methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a backend can do; used by planners and by `list`.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Scopes the backend can hold.
    pub scopes: &'static [Scope],
    /// Whether `delete` is supported.
    pub delete: bool,
    /// How many keys one backend read call can carry (1 = no batching).
    pub batch_size: usize,
    /// How many read calls may be in flight at once.
    pub concurrency: usize,
    /// Whether status can be checked locally, without network or credentials (SOPS, keychain).
    pub local_status: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            scopes: &[Scope::Instance, Scope::Stack, Scope::Global],
            delete: true,
            batch_size: 1,
            concurrency: 8,
            local_status: false,
        }
    }
}

/// A backend that holds secret values.
pub trait Store: Send + Sync {
    /// The configured name (`stores:` or `secrets.providers:` key).
    fn name(&self) -> &str;

    /// The kind, e.g. `aws/ssm`, `keychain`, `sops/age`.
    fn kind(&self) -> &str;

    /// What the backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Reads many values; `Ok(None)` means "not set". The result has one entry per key, in order.
    fn get_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<Option<SecretValue>, StoreError>>>;

    /// Writes one value.
    fn set<'a>(
        &'a self,
        key: &'a Coordinate,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes one value. Backends that treat a missing value as success say so in their docs.
    fn delete<'a>(&'a self, key: &'a Coordinate) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Checks existence without decrypting. The default reads the values.
    fn exists_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<bool, StoreError>>> {
        Box::pin(async move {
            self.get_many(keys)
                .await
                .into_iter()
                .map(|r| r.map(|v| v.is_some()))
                .collect()
        })
    }

    /// Where a coordinate lives, for messages (`/prefix/dev/api/KEY`, `secrets/dev.enc.yaml`).
    fn describe_key(&self, key: &Coordinate) -> String;

    /// The local file that holds a coordinate, for file-backed stores (SOPS). Used by the
    /// collision guard and for file dependencies.
    fn file_of(&self, _key: &Coordinate) -> Result<Option<std::path::PathBuf>, StoreError> {
        Ok(None)
    }

    /// Whether the backend has the key material it needs (SOPS vaults); `None` when the
    /// question does not apply.
    fn has_key_material(&self) -> Option<bool> {
        None
    }
}

/// What a backend constructor gets besides its own `stores:` entry.
#[derive(Clone, Default)]
pub struct BuildEnv {
    /// The whole configuration (auth section, base path, …).
    pub cli: std::sync::Arc<crate::config::CliConfig>,
    /// The identity this store authenticates as: the store's own `identity`, else the command's
    /// default (`--identity`, else the component's default identity); `None` = the SDK's
    /// default credential chain. Always `None` for kinds that ignore identities.
    pub identity: Option<String>,
}

/// Reads one value.
pub async fn get_one(
    store: &dyn Store,
    key: &Coordinate,
) -> Result<Option<SecretValue>, StoreError> {
    let keys = std::slice::from_ref(key);
    store.get_many(keys).await.pop().unwrap_or_else(|| {
        Err(StoreError::backend(
            store,
            key,
            "the backend returned no result",
        ))
    })
}

/// Errors from any backend. Messages name the store (and key); they never contain a value.
/// `Clone` so that one failed batch call can be reported for each of its keys.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The value does not exist and the operation needs it.
    #[error("secret not found in store `{store}`: `{key}`")]
    NotFound {
        /// Store name.
        store: String,
        /// Physical key.
        key: String,
    },
    /// The backend cannot hold this scope.
    #[error(
        "secret scope not supported by backend: secret `{key}` is {scope}-scoped but backend `{store}` ({kind}) does not support that scope"
    )]
    ScopeUnsupported {
        /// Store name.
        store: String,
        /// Store kind.
        kind: String,
        /// Declared name/key.
        key: String,
        /// The scope.
        scope: Scope,
    },
    /// The backend has no delete.
    #[error("backend does not support delete: store `{store}` ({kind})")]
    DeleteUnsupported {
        /// Store name.
        store: String,
        /// Store kind.
        kind: String,
    },
    /// Configuration of the store is wrong (missing option, bad value).
    #[error("store `{store}` is misconfigured: {message}")]
    Config {
        /// Store name.
        store: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// Any other backend failure.
    #[error("store `{store}` failed for `{key}`: {message}")]
    Backend {
        /// Store name.
        store: String,
        /// Physical key.
        key: String,
        /// What failed (never a value).
        message: String,
        /// How to fix it.
        hint: Option<String>,
        /// Exit code (1 unless the cause maps to a more specific one, e.g. SOPS MAC 51).
        exit_code: u8,
    },
}

impl StoreError {
    /// A backend error for `key` in `store`.
    pub fn backend(store: &dyn Store, key: &Coordinate, message: impl Into<String>) -> Self {
        StoreError::Backend {
            store: store.name().to_owned(),
            key: store.describe_key(key),
            message: message.into(),
            hint: None,
            exit_code: code::FAILURE,
        }
    }

    /// This error restated for one key of a batch: a failure that applies to every key (no
    /// client, no credentials) is reported once per key, each naming its own `key` (as the
    /// store describes it). A `Config` error becomes that key's `Backend` error; the other kinds
    /// are copied as they are.
    #[must_use]
    pub fn for_key(&self, key: impl Into<String>) -> Self {
        match self {
            StoreError::Backend {
                store,
                message,
                hint,
                exit_code,
                ..
            } => StoreError::Backend {
                store: store.clone(),
                key: key.into(),
                message: message.clone(),
                hint: hint.clone(),
                exit_code: *exit_code,
            },
            StoreError::Config {
                store,
                message,
                hint,
            } => StoreError::Backend {
                store: store.clone(),
                key: key.into(),
                message: message.clone(),
                hint: hint.clone(),
                exit_code: code::FAILURE,
            },
            other => other.clone(),
        }
    }

    /// Adds a hint to backend and config errors.
    #[must_use]
    pub fn with_hint(mut self, h: impl Into<String>) -> Self {
        match &mut self {
            StoreError::Backend { hint, .. } | StoreError::Config { hint, .. } => {
                *hint = Some(h.into());
            }
            _ => {}
        }
        self
    }
}

impl Diagnose for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            StoreError::NotFound { .. } => {
                Some("set it with `atmos secret set NAME -s STACK -c COMPONENT`".to_owned())
            }
            StoreError::ScopeUnsupported { .. } => Some(
                "declare the secret with a scope this backend supports, or use another store"
                    .to_owned(),
            ),
            StoreError::DeleteUnsupported { .. } => None,
            StoreError::Config { hint, .. } | StoreError::Backend { hint, .. } => hint.clone(),
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            StoreError::Backend { exit_code, .. } => *exit_code,
            _ => code::FAILURE,
        }
    }
}

impl StoreError {
    /// The hint, if any (for wrapping into another error).
    pub fn hint_text(&self) -> Option<String> {
        Diagnose::hint(self)
    }
}

/// A secret `stores:` entry for unit tests, options given as YAML text.
#[cfg(all(test, any(feature = "azure", feature = "gcp")))]
pub(crate) fn test_config(
    name: &str,
    kind: crate::config::StoreKind,
    options: &str,
) -> crate::config::StoreConfig {
    crate::config::StoreConfig {
        name: name.into(),
        kind,
        secret: true,
        identity: None,
        options: crate::yaml::parse(options, "t")
            .unwrap()
            .as_map()
            .cloned()
            .unwrap_or_default(),
    }
}

/// Checks that `store` can hold `key`'s scope.
pub fn check_scope(store: &dyn Store, key: &Coordinate) -> Result<(), StoreError> {
    if store.capabilities().scopes.contains(&key.scope) {
        Ok(())
    } else {
        Err(StoreError::ScopeUnsupported {
            store: store.name().to_owned(),
            kind: store.kind().to_owned(),
            key: key.key.clone(),
            scope: key.scope,
        })
    }
}
