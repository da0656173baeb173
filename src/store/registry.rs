//! Owns the registry: declaration → store, built once per command through the descriptor table
//! (`descriptor`), which is the only file that names every backend.
//!
//! Stores are built lazily, once per command, on first use; a store whose options are wrong only
//! fails the commands that touch it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use super::sops::SopsStore;
use super::{BuildEnv, Store, StoreError};
use crate::config::{AgeKeySpec, CliConfig, ProviderConfig, StoreConfig};
use crate::error::Diagnose;
use crate::secrets::{Backend, Declaration};

/// Why a declaration could not be mapped to a store.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `store: x` names no `stores:` entry.
    #[error("referenced store is not configured: \"{0}\"")]
    StoreMissing(String),
    /// The store exists but is not marked secret.
    #[error("store \"{0}\" is not a secret store (set `secret: true`)")]
    NotSecret(String),
    /// `sops: x` names no provider.
    #[error("referenced secrets provider is not configured: \"{0}\"")]
    ProviderMissing(String),
    /// Neither `store:` nor `sops:`.
    #[error("secret declaration has no backend (set `store:` or `sops:`): \"{0}\"")]
    NoBackend(String),
    /// The backend could not be built.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Diagnose for RegistryError {
    fn hint(&self) -> Option<String> {
        match self {
            RegistryError::StoreMissing(n) => Some(format!(
                "add `stores.{n}` to atmos.yaml or fix the declaration's `store:`"
            )),
            RegistryError::NotSecret(n) => {
                Some(format!("add `secret: true` to `stores.{n}` in atmos.yaml"))
            }
            RegistryError::ProviderMissing(n) => Some(format!(
                "add `secrets.providers.{n}` to atmos.yaml or to the stack manifest"
            )),
            RegistryError::NoBackend(_) => {
                Some("add `store: <name>` or `sops: <provider>` to the declaration".to_owned())
            }
            RegistryError::Store(e) => e.hint(),
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            RegistryError::Store(e) => e.exit_code(),
            _ => crate::error::code::FAILURE,
        }
    }
}

/// Which identity stores without their own `identity` inherit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum DefaultIdentity {
    /// No identity: SDK default chains.
    #[default]
    None,
    /// This identity.
    Named(String),
    /// `--identity=false`: no auth at all, even for stores that name an identity.
    Disabled,
}

/// One registry per effective default identity, for a command that touches many component
/// instances: `--identity` when given, else each component's default identity.
pub struct Registries {
    cfg: Arc<CliConfig>,
    flag: Option<DefaultIdentity>,
    by_identity: Mutex<HashMap<DefaultIdentity, Arc<Registry>>>,
}

impl Registries {
    /// `flag` is the parsed `--identity` (`None` when not given).
    pub fn new(cfg: Arc<CliConfig>, flag: Option<DefaultIdentity>) -> Self {
        Self {
            cfg,
            flag,
            by_identity: Mutex::new(HashMap::new()),
        }
    }

    /// Parses the `--identity` flag value: `false` disables auth, empty means "not given".
    pub fn parse_flag(value: Option<&str>) -> Option<DefaultIdentity> {
        match value {
            Some("false") => Some(DefaultIdentity::Disabled),
            Some(i) if !i.is_empty() => Some(DefaultIdentity::Named(i.to_owned())),
            _ => None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> Arc<CliConfig> {
        self.cfg.clone()
    }

    /// The registry for a component instance, given its `auth` section (which names the
    /// component's default identity).
    pub fn for_instance(&self, component_auth: Option<&crate::yaml::Node>) -> Arc<Registry> {
        let identity = self.flag.clone().unwrap_or_else(|| {
            crate::auth::default_identity(component_auth, &self.cfg.auth)
                .map_or(DefaultIdentity::None, DefaultIdentity::Named)
        });
        let mut map = match self.by_identity.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(identity.clone())
            .or_insert_with(|| Arc::new(Registry::with_identity(self.cfg.clone(), identity)))
            .clone()
    }
}

/// Builds and caches stores for one command.
pub struct Registry {
    cfg: Arc<CliConfig>,
    built: Mutex<HashMap<String, Arc<dyn Store>>>,
    default_identity: DefaultIdentity,
}

impl Registry {
    /// A registry over the loaded configuration.
    pub fn new(cfg: Arc<CliConfig>) -> Self {
        Self::with_identity(cfg, DefaultIdentity::None)
    }

    /// A registry whose identity-aware stores inherit `default_identity`.
    pub fn with_identity(cfg: Arc<CliConfig>, default_identity: DefaultIdentity) -> Self {
        Self {
            cfg,
            built: Mutex::new(HashMap::new()),
            default_identity,
        }
    }

    /// The effective identity of a store: its own `identity`, else the default. (With
    /// `--identity=false` a store that names its own identity is refused in [`Registry::store`].)
    pub fn identity_for(&self, store: &StoreConfig) -> Option<String> {
        if !store.kind.uses_identity() {
            return None;
        }
        match (&self.default_identity, &store.identity) {
            (DefaultIdentity::Disabled, _) => None,
            (_, Some(own)) => Some(own.clone()),
            (DefaultIdentity::Named(n), None) => Some(n.clone()),
            (DefaultIdentity::None, None) => None,
        }
    }

    /// The effective identity of a SOPS provider's cloud-KMS keys: its own
    /// `identity`, else the default; `None` = the SDK's default chain.
    pub fn identity_for_provider(&self, own: Option<&str>) -> Option<String> {
        match (&self.default_identity, own) {
            (DefaultIdentity::Disabled, _) => None,
            (_, Some(own)) => Some(own.to_owned()),
            (DefaultIdentity::Named(n), None) => Some(n.clone()),
            (DefaultIdentity::None, None) => None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CliConfig {
        &self.cfg
    }

    /// The shared configuration handle.
    pub fn config_arc(&self) -> Arc<CliConfig> {
        self.cfg.clone()
    }

    /// A `stores:` entry by name, built on first use.
    pub fn store(&self, name: &str) -> Result<Arc<dyn Store>, RegistryError> {
        let name = name.to_lowercase();
        let cfg = self
            .cfg
            .stores
            .get(&name)
            .ok_or_else(|| RegistryError::StoreMissing(name.clone()))?;
        if let (DefaultIdentity::Disabled, Some(own)) = (&self.default_identity, &cfg.identity)
            && cfg.kind.uses_identity()
        {
            // As upstream: a store that names its identity never falls back to ambient
            // credentials, which could read or write another account.
            return Err(StoreError::Config {
                store: cfg.name.clone(),
                message: format!(
                    "store identity is configured but auth resolver is not set: the store requires identity `{own}` and `--identity=false` turns authentication off"
                ),
                hint: Some(format!(
                    "drop `--identity=false` (or ATMOS_IDENTITY=false) to authenticate as `{own}`, or remove `identity` from `stores.{}` to use the ambient credentials",
                    cfg.name
                )),
            }
            .into());
        }
        let env = BuildEnv {
            cli: self.cfg.clone(),
            identity: self.identity_for(cfg),
        };
        self.cached(&format!("store:{name}"), || {
            super::descriptor::build(cfg, &env)
        })
    }

    /// A secret store by name: like [`Registry::store`] but rejects non-secret stores.
    pub fn secret_store(&self, name: &str) -> Result<Arc<dyn Store>, RegistryError> {
        let lower = name.to_lowercase();
        if let Some(cfg) = self.cfg.stores.get(&lower)
            && !cfg.secret
        {
            return Err(RegistryError::NotSecret(lower));
        }
        self.store(name)
    }

    /// A SOPS provider: the component's (stack-declared) providers first, then atmos.yaml.
    pub fn provider(
        &self,
        name: &str,
        stack_providers: &IndexMap<String, ProviderConfig>,
    ) -> Result<Arc<dyn Store>, RegistryError> {
        let lower = name.to_lowercase();
        let (origin, cfg) = match stack_providers.get(&lower) {
            Some(p) => ("stack", p),
            None => (
                "config",
                self.cfg
                    .providers
                    .get(&lower)
                    .ok_or_else(|| RegistryError::ProviderMissing(lower.clone()))?,
            ),
        };
        // Stack-declared providers may differ per stack: key the cache by their content. One
        // `atmos.yaml` provider is one store (its name is the key: formatting its whole
        // configuration for every declaration of a whole-tree listing cost more than the lookup).
        let cache_key = if origin == "stack" {
            format!("sops:{origin}:{lower}:{cfg:?}")
        } else {
            format!("sops:{origin}:{lower}")
        };
        self.cached(&cache_key, || {
            Ok(Arc::new(self.sops_store(cfg)?) as Arc<dyn Store>)
        })
    }

    /// A fresh SOPS store for `cfg`: its `age_key.store` resolved here, its cloud-KMS keys
    /// authenticated as the provider's effective identity.
    pub fn sops_store(&self, cfg: &ProviderConfig) -> Result<SopsStore, StoreError> {
        let key_store = match &cfg.spec.age_key {
            Some(AgeKeySpec::Store { store, .. }) => {
                Some(self.store(store).map_err(|e| StoreError::Config {
                    store: cfg.name.clone(),
                    message: format!("age key store `{store}` is not usable: {e}"),
                    hint: Some(format!("configure `stores.{store}` in atmos.yaml")),
                })?)
            }
            _ => None,
        };
        let env = BuildEnv {
            cli: self.cfg.clone(),
            identity: self.identity_for_provider(cfg.identity.as_deref()),
        };
        SopsStore::build(cfg.clone(), &env, key_store)
    }

    /// The store for a declaration.
    pub fn for_declaration(
        &self,
        decl: &Declaration,
        stack_providers: &IndexMap<String, ProviderConfig>,
    ) -> Result<Arc<dyn Store>, RegistryError> {
        match &decl.backend {
            Backend::Sops(p) => self.provider(p, stack_providers),
            Backend::Store(s) => self.secret_store(s),
            Backend::None => Err(RegistryError::NoBackend(decl.name.clone())),
        }
    }

    fn cached(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Arc<dyn Store>, StoreError>,
    ) -> Result<Arc<dyn Store>, RegistryError> {
        if let Some(s) = self.built.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(s);
        }
        let store = build()?;
        if let Ok(mut m) = self.built.lock() {
            m.insert(key.to_owned(), store.clone());
        }
        Ok(store)
    }
}
