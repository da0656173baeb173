//! Owns the CLI configuration (`atmos.yaml`): discovery, parsing into typed settings, and the
//! validation rules (store kinds and aliases, required options, secret-by-default kinds, realms;
//! listed in `docs/configuration.md`).
//!
//! The types below are the contract other modules read. Loading lives in [`load`]; nothing here
//! contacts a backend.

pub mod functions;
pub mod hcl;
pub mod kinds;
pub mod load;

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::secret_value::SecretString;
use crate::yaml::{Map, Node};

/// The merged, validated `atmos.yaml`.
#[derive(Debug, Clone, Default)]
pub struct CliConfig {
    /// The file it was read from, if any.
    pub config_file: Option<PathBuf>,
    /// `base_path`, absolute.
    pub base_path: PathBuf,
    /// `stacks:`.
    pub stacks: StacksConfig,
    /// `stores:`, keyed by lowercased name, in file order.
    pub stores: IndexMap<String, StoreConfig>,
    /// `secrets.providers:`, keyed by lowercased name.
    pub providers: IndexMap<String, ProviderConfig>,
    /// `auth:`.
    pub auth: AuthConfig,
    /// Top-level `env:` (name → value), in file order.
    pub env: IndexMap<String, String>,
    /// `settings:` as written (terminal masking, experimental, list merge strategy).
    pub settings: Map,
    /// Warnings collected while loading (e.g. ignored store identities), printed on stderr.
    pub warnings: Vec<String>,
    /// `templates.settings.enabled: false` turns off Go-template rendering in stack manifests.
    pub templates_disabled: bool,
    /// `templates.settings`: sprig/gomplate switches and delimiters (`missingkey=error`, as atmos).
    pub template_settings: crate::template::Settings,
    /// `components:` as written (per type: `base_path`, `command`, …).
    pub components: Map,
    /// `describe.provenance`: whether `describe component` annotates its YAML by default.
    pub describe_provenance: Option<bool>,
    /// The composed `atmos.yaml` after its YAML functions, for `describe config` (its `Debug`
    /// shows only the key count: values may be secrets).
    pub raw: RawConfig,
    /// `schemas.atmos.manifest`: the Atmos manifest JSON Schema `validate stacks` checks every
    /// manifest against (a path as written; `stack::schema::resolve` finds it).
    pub manifest_schema: Option<String>,
    /// The profiles merged over the configuration (`--profile`, `ATMOS_PROFILE` or
    /// `profiles.default`), in order.
    pub profiles: Vec<String>,
    /// `integrations:` as written (`github` is merged into each component's
    /// `settings.integrations.github`, as atmos).
    pub integrations: Map,
}

/// The composed `atmos.yaml` as a tree. Print it only through [`RawConfig::masked`].
#[derive(Clone, Default)]
pub struct RawConfig(pub Map);

impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawConfig({} keys)", self.0.len())
    }
}

/// Key names whose string values `describe config` masks (matched case-insensitively as parts
/// of the key), besides every `age_key`.
const SECRET_KEY_PARTS: [&str; 8] = [
    "token",
    "password",
    "secret",
    "private",
    "credential",
    "api_key",
    "access_key",
    "age_key",
];

impl RawConfig {
    /// The tree with every string under a secret-looking key (`token`, `password`, `secret`,
    /// `private`, `credential`, `api_key`, `access_key`, `age_key`) replaced by `mask`.
    pub fn masked(&self, mask: &str) -> Map {
        fn walk(node: &mut Node, secret: bool, mask: &str) {
            match node {
                Node::Map(m) => {
                    for (k, v) in m.iter_mut() {
                        let k = k.to_ascii_lowercase();
                        let hit = SECRET_KEY_PARTS.iter().any(|p| k.contains(p));
                        walk(v, secret || hit, mask);
                    }
                }
                Node::Seq(s) => s.iter_mut().for_each(|v| walk(v, secret, mask)),
                Node::Tagged(t) => walk(&mut t.value, secret, mask),
                Node::Str(s) if secret => *s = mask.to_owned(),
                _ => {}
            }
        }
        let mut node = Node::Map(self.0.clone());
        walk(&mut node, false, mask);
        match node {
            Node::Map(m) => m,
            _ => Map::default(),
        }
    }
}

impl CliConfig {
    /// The auth realm as atmos reports it (`pkg/config/auth_realm.go`): `ATMOS_AUTH_REALM` or
    /// `auth.realm` when set, else the first 8 bytes (hex) of the SHA-256 of the lowercased
    /// directory of `atmos.yaml`, else `default`. [`AuthConfig::realm`] stays empty when unset
    /// (credential paths depend on that).
    pub fn reported_realm(&self) -> String {
        use sha2::Digest;
        if !self.auth.realm.is_empty() {
            return self.auth.realm.clone();
        }
        match self
            .config_file
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            Some(dir) => {
                let text = dir.to_string_lossy().replace('\\', "/").to_lowercase();
                let digest = sha2::Sha256::digest(text.as_bytes());
                hex::encode(&digest[..8])
            }
            None => "default".to_owned(),
        }
    }

    /// The folder holding the components of `ctype` (`components.<type>.base_path`, default
    /// `components/<type>`), absolute.
    pub fn component_base_path(&self, ctype: &str) -> PathBuf {
        let rel = self
            .components
            .get(ctype)
            .and_then(|t| t.get("base_path"))
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .map_or_else(|| PathBuf::from("components").join(ctype), PathBuf::from);
        load::normalize(&self.base_path.join(rel))
    }

    /// The command a component type runs (`components.<type>.command`; for terraform
    /// `ATMOS_COMPONENTS_TERRAFORM_COMMAND` wins), default the type's own tool name.
    pub fn component_command(&self, ctype: &str) -> String {
        let var = format!("ATMOS_COMPONENTS_{}_COMMAND", ctype.to_uppercase());
        crate::env::var(&var)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                self.components
                    .get(ctype)
                    .and_then(|t| t.get("command"))
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| ctype.to_owned())
    }
}

/// `stacks:` section.
#[derive(Debug, Clone, Default)]
pub struct StacksConfig {
    /// `stacks.base_path`, absolute.
    pub base_path: PathBuf,
    /// Globs of top-level stack files, relative to `base_path`.
    pub included_paths: Vec<String>,
    /// Globs excluded from the top-level stack files.
    pub excluded_paths: Vec<String>,
    /// `name_pattern`, e.g. `{tenant}-{environment}-{stage}`.
    pub name_pattern: Option<String>,
    /// `name_template`, e.g. `{{ .vars.stage }}`.
    pub name_template: Option<String>,
    /// `inherit.metadata`: whether `metadata` is inherited from base components (`None` = on).
    pub inherit_metadata: Option<bool>,
}

/// A backend kind after the legacy alias table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// `aws/ssm`
    AwsSsm,
    /// `aws/asm`
    AwsAsm,
    /// `azure/keyvault`
    AzureKeyVault,
    /// `gcp/secretmanager`
    GcpSecretManager,
    /// `hashicorp/vault`
    HashicorpVault,
    /// `onepassword`
    OnePassword,
    /// `keychain`
    Keychain,
    /// `github/actions`
    GithubActions,
    /// `redis`
    Redis,
    /// `artifactory`
    Artifactory,
}

/// One `stores:` entry.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Lowercased name.
    pub name: String,
    /// Resolved kind.
    pub kind: StoreKind,
    /// Whether it holds secrets (forced on for secret-by-default kinds).
    pub secret: bool,
    /// `identity`, when the kind uses one.
    pub identity: Option<String>,
    /// `options:` as written (after `!env`/`!exec`/`!include`).
    pub options: Map,
}

/// One `secrets.providers:` entry (SOPS).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Lowercased name.
    pub name: String,
    /// `kind`, e.g. `sops/age`.
    pub kind: String,
    /// `identity` for cloud-KMS master keys.
    pub identity: Option<String>,
    /// `spec:`.
    pub spec: ProviderSpec,
}

/// `secrets.providers.<n>.spec`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderSpec {
    /// `file`: a template for the SOPS file path.
    pub file: Option<String>,
    /// `path`: base directory for derived paths (default `secrets`).
    pub path: Option<String>,
    /// `age_key` / `age_key_file`.
    pub age_key: Option<AgeKeySpec>,
    /// `age_recipients`, split on commas.
    pub age_recipients: Vec<String>,
    /// `recipients_file`: where keygen writes the public recipient.
    pub recipients_file: Option<String>,
    /// `options`: settings of the master keys other than age (`gnupg_home`, `timeout`,
    /// `ca_cert`, `endpoint`), as text.
    pub options: std::collections::BTreeMap<String, String>,
}

/// Where a provider's private age key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AgeKeySpec {
    /// An inline `AGE-SECRET-KEY-1…` value.
    Inline(SecretString),
    /// A key file (`~` and `$VAR` expanded at use).
    File(String),
    /// A key held in a store: `path` is the store key (default: the vault name).
    Store {
        /// Store name.
        store: String,
        /// Store key.
        path: Option<String>,
    },
}

/// `auth:` section, as consumed by the secrets commands.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// The validated realm (`ATMOS_AUTH_REALM` wins over `auth.realm`); empty = none.
    pub realm: String,
    /// `auth.providers`, raw.
    pub providers: IndexMap<String, Map>,
    /// `auth.identities`, raw.
    pub identities: IndexMap<String, Map>,
    /// `auth.keyring` (`type`, `spec.path`, `spec.password_env`), raw: where atmos auth keeps
    /// credentials (`atmos auth user configure`).
    pub keyring: Map,
}

/// Convenience for reading a string option.
pub fn option_str<'a>(options: &'a Map, key: &str) -> Option<&'a str> {
    options
        .get(key)
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
}
