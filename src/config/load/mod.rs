//! Finds `atmos.yaml`, evaluates its load-time YAML functions and validates it into [`CliConfig`](super::CliConfig):
//! `discovery` (where the file is), `parse` (text → typed sections, YAML functions) and
//! `validate` (each store's options against its row of the kinds table, `config::kinds`, once
//! the whole file is parsed; realm rules).
//!
//! Discovery: `--config` files (`ATMOS_CONFIG`) and then `--config-path` directories
//! (`ATMOS_CONFIG_PATH`), all merged in order, when any is given; else, merged lowest first as
//! atmos merges them: the system directory, `~/.atmos`, `<user-config-dir>/atmos`, the nearest
//! parent's and the git root's (only when the current directory has none), `./atmos.yaml` (or
//! the one in `--base-path`/`ATMOS_BASE_PATH`), then `ATMOS_CLI_CONFIG_PATH` (file or
//! directory). Each file is composed over `atmos.d/`, `.atmos.d/` and its `import:`s
//! (`compose`); the selected profiles (`profiles`) are merged over the result.
//!
//! Relative paths inside `atmos.yaml` resolve against the file's directory; `--base-path` and
//! `ATMOS_BASE_PATH` resolve against the current directory and win over `base_path`.

mod compose;
mod discovery;
mod parse;
pub mod profiles;
mod validate;

use std::path::PathBuf;

use indexmap::IndexMap;

use super::ProviderConfig;
use crate::error::Diagnose;
use crate::yaml::YamlError;

use crate::config::kinds::KINDS;
pub use discovery::{LoadOptions, load};
pub use parse::{from_str, normalize, normalized, parse_provider};
pub use validate::{validate_options, validate_realm};

/// What can go wrong while loading `atmos.yaml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No config file was found.
    #[error("atmos.yaml CLI config file was not found (searched: {})", searched.join(", "))]
    NotFound {
        /// The places looked at.
        searched: Vec<String>,
    },
    /// The file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A field has the wrong type or value.
    #[error("invalid `{field}` in `{}`: {message}", file.display())]
    Invalid {
        /// The config file.
        file: PathBuf,
        /// Dotted field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A store names an unknown kind.
    #[error("store type not found: {kind} (store `{store}` in `{}`)", file.display())]
    StoreTypeNotFound {
        /// The config file.
        file: PathBuf,
        /// Store name.
        store: String,
        /// The kind as written.
        kind: String,
    },
    /// A store lacks a required option.
    #[error("{message} (store `{store}` in `{}`)", file.display())]
    MissingOption {
        /// The config file.
        file: PathBuf,
        /// Store name.
        store: String,
        /// The option.
        option: String,
        /// The atmos error text, e.g. `region is required in ssm store configuration`.
        message: String,
    },
    /// `secret: true` on a backend that does not encrypt at rest.
    #[error("store cannot be marked secret: backend does not encrypt values at rest: store \"{store}\" uses backend \"{kind}\" (in `{}`)", file.display())]
    NotEncrypting {
        /// The config file.
        file: PathBuf,
        /// Store name.
        store: String,
        /// Kind.
        kind: String,
    },
    /// The auth realm breaks a rule.
    #[error("invalid realm `{realm}` (from {origin}): {rule}")]
    InvalidRealm {
        /// `auth.realm in <file>` or `ATMOS_AUTH_REALM`.
        origin: String,
        /// The realm.
        realm: String,
        /// The rule broken.
        rule: String,
    },
    /// A `--profile`/`ATMOS_PROFILE`/`profiles.default` name with no profile directory.
    #[error("profile `{name}` does not exist in any configured location (searched: {})", searched.join(", "))]
    ProfileNotFound {
        /// The profile asked for.
        name: String,
        /// Every directory looked at.
        searched: Vec<String>,
        /// The profiles that do exist.
        available: Vec<String>,
        /// The name is an `auth.identities` entry.
        is_identity: bool,
    },
    /// `--config`/`--config-path` names something that is not there.
    #[error("{message}")]
    Selection {
        /// What is wrong, with the path.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A YAML function failed.
    #[error("YAML function failed in `{}`: {message}", file.display())]
    Function {
        /// The config file.
        file: PathBuf,
        /// What failed.
        message: String,
    },
}

impl Diagnose for ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::NotFound { .. } => Some(
                "create `atmos.yaml` in the project root or point `ATMOS_CLI_CONFIG_PATH` at it"
                    .to_owned(),
            ),
            ConfigError::Yaml(e) => e.hint(),
            ConfigError::StoreTypeNotFound { .. } => Some(format!(
                "use one of: {}",
                KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            )),
            ConfigError::MissingOption { store, option, .. } => {
                Some(format!("set `stores.{store}.options.{option}`"))
            }
            ConfigError::NotEncrypting { store, .. } => Some(format!(
                "remove `secret: true` from store `{store}` or use an encrypting backend (aws/ssm, aws/asm, hashicorp/vault, …)"
            )),
            ConfigError::ProfileNotFound {
                name,
                available,
                is_identity,
                ..
            } => Some(if *is_identity {
                format!(
                    "`{name}` is an auth identity, not a configuration profile: select it with `--identity {name}` or `ATMOS_IDENTITY`"
                )
            } else if available.is_empty() {
                format!(
                    "no profiles exist; create one with `mkdir -p profiles/{name}` next to atmos.yaml"
                )
            } else {
                format!("available profiles are: {}", available.join(", "))
            }),
            ConfigError::Selection { hint, .. } => Some(hint.clone()),
            ConfigError::InvalidRealm { .. } => Some(
                "a realm uses lowercase letters, digits, `-` and `_` only, at most 64 characters"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            // atmos exits 2 for a profile or config selection that does not exist.
            ConfigError::ProfileNotFound { .. } | ConfigError::Selection { .. } => {
                crate::error::code::USAGE
            }
            _ => crate::error::code::FAILURE,
        }
    }
}

/// Lookup helper used by the providers map: by lowercased name.
pub fn provider<'a>(
    providers: &'a IndexMap<String, ProviderConfig>,
    name: &str,
) -> Option<&'a ProviderConfig> {
    providers.get(&name.to_lowercase())
}

/// Writes `text` to `rel` under `dir`, creating folders: the config loader tests' project files.
#[cfg(test)]
pub(crate) fn write_test_file(dir: &std::path::Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::config::{AgeKeySpec, CliConfig, StoreKind};

    fn load_text(text: &str) -> Result<CliConfig, ConfigError> {
        from_str(text, Path::new("/p/atmos.yaml"), None)
    }

    #[test]
    fn kinds_aliases_and_secret_defaults() {
        let cfg = load_text(
            "stores:\n  MyStore:\n    type: aws-ssm-parameter-store\n    options: {region: us-east-1}\n  kc:\n    kind: keyring\n    identity: x\n  r:\n    kind: redis\n    options: {url: 'redis://x'}\n",
        )
        .expect("valid");
        let s = &cfg.stores["mystore"];
        assert_eq!((s.kind, s.secret), (StoreKind::AwsSsm, false));
        let k = &cfg.stores["kc"];
        assert_eq!(
            (k.kind, k.secret, k.identity.clone()),
            (StoreKind::Keychain, true, None)
        );
        assert_eq!(cfg.warnings.len(), 1);
        assert_eq!(cfg.stores["r"].kind, StoreKind::Redis);
        assert_eq!(cfg.stacks.base_path, PathBuf::from("/p/stacks"));
    }

    #[test]
    fn store_errors() {
        let e = load_text("stores:\n  x:\n    kind: nope\n").expect_err("unknown");
        assert!(e.to_string().contains("store type not found: nope"), "{e}");
        let e =
            load_text("stores:\n  x:\n    kind: redis\n    secret: true\n    options: {url: u}\n")
                .expect_err("secret");
        assert!(
            e.to_string().contains("does not encrypt values at rest"),
            "{e}"
        );
    }

    #[test]
    fn providers_age_key_forms() {
        let cfg = load_text(
            "secrets:\n  providers:\n    A:\n      kind: sops/age\n      spec: {age_key: AGE-SECRET-KEY-1X, age_recipients: 'age1a, age1b'}\n    b:\n      spec: {age_key_file: ~/k.txt}\n    c:\n      spec: {age_key: {store: kc, path: p}}\n    d:\n      spec: {age_key: {store: file, path: /k}, age_key_file: /other}\n",
        )
        .expect("valid");
        assert_eq!(
            cfg.providers["a"].spec.age_key,
            Some(AgeKeySpec::Inline("AGE-SECRET-KEY-1X".into()))
        );
        assert_eq!(
            cfg.providers["a"].spec.age_recipients,
            vec!["age1a", "age1b"]
        );
        assert_eq!(
            cfg.providers["b"].spec.age_key,
            Some(AgeKeySpec::File("~/k.txt".into()))
        );
        assert_eq!(
            cfg.providers["c"].spec.age_key,
            Some(AgeKeySpec::Store {
                store: "kc".into(),
                path: Some("p".into())
            })
        );
        assert_eq!(
            cfg.providers["d"].spec.age_key,
            Some(AgeKeySpec::File("/k".into()))
        );
    }

    #[test]
    fn realm_rules() {
        assert!(validate_realm("prod-eu_1").is_ok());
        for bad in [
            "Prod",
            "a--b",
            "a__b",
            "a-_b",
            "-a",
            "a_",
            "a/b",
            "a..b",
            &"x".repeat(65),
        ] {
            assert!(validate_realm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_keys_keep_case_and_functions_run() {
        let cfg = load_text("env:\n  My_Var: !exec echo hi\nBase_Path: /x\n").expect("valid");
        assert_eq!(cfg.env["My_Var"], "hi");
        assert_eq!(cfg.base_path, PathBuf::from("/x"));
    }
}
