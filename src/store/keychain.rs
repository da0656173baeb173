//! Owns the `keychain` store: secret by default, values JSON-encoded under the composed key
//! `<prefix>/<stack…>/<component…>/<key>`, in the layouts Go atmos uses (upstream
//! `pkg/keyring`), so either tool reads what the other wrote.
//!
//! Backends (`options.backend`):
//! - `system`: the OS keychain through `keyring-core` (Secret Service, macOS Keychain, Windows
//!   Credential Manager), one item per value with **service = the composed key** and
//!   **account = `options.service`** (default `atmos-secrets`), as zalando/go-keyring is called
//!   by Go atmos.
//! - `file`: one JWE file per value (99designs/keyring's file backend, see
//!   [`crate::auth::keyring`]) in `options.file_dir`, default
//!   `<ATMOS_XDG_DATA_HOME | XDG_DATA_HOME | ~/.local/share>/atmos/keyring`; password from
//!   `ATMOS_KEYRING_PASSWORD` or `options.password_env`. For headless machines and CI.
//! - `memory`: process-local, for tests.
//!
//! Data written by earlier versions of this program stays readable: the system backend's old
//! layout (service = `options.service`, account = the composed key) and the file backend's old
//! age-encrypted `<file_dir or ~/.config/atmos/keyring>/<service>.age` are read when the new
//! layout has no value; writing or deleting a value removes its old copy, so data moves over as
//! it is used and nothing is lost.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

pub use super::memory::{Kv, MemoryKv};
use super::{BoxFuture, Capabilities, Store, StoreError};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

/// The `keychain` store.
pub struct KeychainStore {
    name: String,
    prefix: String,
    stack_delimiter: String,
    kv: Arc<dyn Kv>,
}

impl KeychainStore {
    /// Builds the store from its config.
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let service = option_str(&cfg.options, "service")
            .unwrap_or("atmos-secrets")
            .to_owned();
        let backend = option_str(&cfg.options, "backend").unwrap_or("system");
        let kv: Arc<dyn Kv> = match backend {
            "memory" => Arc::new(MemoryKv::default()),
            "file" => Arc::new(FileKv::from_config(cfg, &service)?),
            "system" => match system::SystemKv::connect(&service) {
                Ok(kv) => Arc::new(kv),
                Err(why) => {
                    let file = FileKv::from_config(cfg, &service).map_err(|e| {
                        StoreError::Config {
                            store: cfg.name.clone(),
                            message: format!("no system keychain answered ({why}) and the file fallback is not usable"),
                            hint: e.hint_text().or_else(|| Some("set `options.backend: file` and `ATMOS_KEYRING_PASSWORD`".into())),
                        }
                    })?;
                    crate::printer::queue_warning(format!(
                        "store `{}`: no system keychain answered ({why}); using the encrypted files in `{}` instead",
                        cfg.name,
                        file.location()
                    ));
                    Arc::new(file)
                }
            },
            other => {
                return Err(StoreError::Config {
                    store: cfg.name.clone(),
                    message: format!("unknown keychain backend `{other}`"),
                    hint: Some("set `options.backend` to `system`, `file` or `memory`".to_owned()),
                });
            }
        };
        Ok(Self {
            name: cfg.name.clone(),
            prefix: option_str(&cfg.options, "prefix")
                .unwrap_or("atmos")
                .to_owned(),
            stack_delimiter: option_str(&cfg.options, "stack_delimiter")
                .unwrap_or("-")
                .to_owned(),
            kv,
        })
    }

    /// A store over an explicit backend (tests, conformance suite).
    pub fn with_kv(name: &str, prefix: &str, kv: Arc<dyn Kv>) -> Self {
        Self {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            stack_delimiter: "-".to_owned(),
            kv,
        }
    }

    fn account(&self, key: &Coordinate) -> String {
        let mut parts = vec![self.prefix.as_str()];
        if !key.stack.is_empty() {
            parts.extend(key.stack.split(self.stack_delimiter.as_str()));
        }
        if !key.component.is_empty() {
            parts.extend(key.component.split('/'));
        }
        parts.push(&key.key);
        parts.join("/").replace("//", "/")
    }

    fn err(&self, key: &Coordinate, message: String) -> StoreError {
        StoreError::Backend {
            store: self.name.clone(),
            key: self.account(key),
            message,
            hint: None,
            exit_code: code::FAILURE,
        }
    }
}

impl Store for KeychainStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "keychain"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            local_status: true,
            ..Capabilities::default()
        }
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<Option<SecretValue>, StoreError>>> {
        Box::pin(async move {
            keys.iter()
                .map(|k| match self.kv.get(&self.account(k)) {
                    Ok(Some(text)) => Ok(Some(SecretValue::from_stored(&text))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(self.err(k, e)),
                })
                .collect()
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a Coordinate,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let encoded = Zeroizing::new(value.expose().to_string());
            self.kv
                .set(&self.account(key), &encoded)
                .map_err(|e| self.err(key, e))
        })
    }

    fn delete<'a>(&'a self, key: &'a Coordinate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.kv
                .delete(&self.account(key))
                .map_err(|e| self.err(key, e))
        })
    }

    fn describe_key(&self, key: &Coordinate) -> String {
        format!("{} ({})", self.account(key), self.kv.location())
    }
}

/// The file backend: one JWE file per value in `dir`, in Go atmos's format
/// ([`crate::auth::keyring`]), with the old single age file as a read fallback.
pub struct FileKv {
    dir: PathBuf,
    password: SecretString,
    legacy: Option<AgeFileKv>,
}

impl FileKv {
    fn from_config(cfg: &StoreConfig, service: &str) -> Result<Self, StoreError> {
        let no_dir = |what: &str| StoreError::Config {
            store: cfg.name.clone(),
            message: format!("cannot find the user {what} directory for the keyring files"),
            hint: Some("set `options.file_dir` or `HOME`".into()),
        };
        let given = option_str(&cfg.options, "file_dir").map(crate::env::expand_path);
        let dir = match &given {
            // As upstream: a path with an extension names a file; its folder is used.
            Some(d) if d.extension().is_some() => d
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            Some(d) => d.clone(),
            None => crate::env::user_data_dir()
                .map(|d| d.join("atmos").join("keyring"))
                .ok_or_else(|| no_dir("data"))?,
        };
        let legacy_dir = match given {
            Some(d) => Some(d),
            None => crate::env::user_config_dir().map(|d| d.join("atmos").join("keyring")),
        };
        let env_name = option_str(&cfg.options, "password_env")
            .unwrap_or(crate::env::ATMOS_KEYRING_PASSWORD)
            .to_owned();
        let password = crate::env::var(&env_name).ok_or_else(|| StoreError::Config {
            store: cfg.name.clone(),
            message: format!("the keyring file backend needs a password in `{env_name}`"),
            hint: Some(format!(
                "export {env_name}=… (any passphrase; keep it out of git)"
            )),
        })?;
        let password = SecretString::new(password);
        let legacy = legacy_dir
            .map(|d| d.join(format!("{service}.age")))
            .filter(|p| p.is_file())
            .map(|p| AgeFileKv::new(p, password.clone()));
        Ok(Self {
            dir,
            password,
            legacy,
        })
    }

    /// A file backend in `dir` with `password`, and no old-layout file.
    pub fn new(dir: PathBuf, password: SecretString) -> Self {
        Self {
            dir,
            password,
            legacy: None,
        }
    }

    /// Also reads (and empties) this old-layout age file.
    #[must_use]
    pub fn with_legacy(mut self, legacy: AgeFileKv) -> Self {
        self.legacy = Some(legacy);
        self
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(crate::auth::keyring::file_name(key))
    }

    /// Before a write: the password must open the keyring as it is. Each file is encrypted on
    /// its own, so a wrong password would otherwise write a file that the right one cannot open.
    /// One existing item file (any, as they share the password) and the old age file are tried.
    fn check_password(&self, account: &str) -> Result<(), String> {
        if let Some(old) = &self.legacy {
            old.get(account)?;
        }
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || name.ends_with(".tmp")
                || name.ends_with(".age")
                || !entry.file_type().is_ok_and(|t| t.is_file())
            {
                continue;
            }
            match crate::auth::keyring::password_opens(&entry.path(), self.password.expose()) {
                Some(true) => return Ok(()),
                Some(false) => {
                    return Err(format!(
                        "not writing to the keyring folder `{}`: wrong password (it does not open `{name}`)",
                        self.dir.display()
                    ));
                }
                // Not an item file (someone else's file in the folder): try another.
                None => {}
            }
        }
        Ok(())
    }
}

impl Kv for FileKv {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, String> {
        match crate::auth::keyring::file_get(&self.dir, account, self.password.expose())? {
            Some(v) => Ok(Some(v)),
            None => match &self.legacy {
                Some(old) => old.get(account),
                None => Ok(None),
            },
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<(), String> {
        self.check_password(account)?;
        let path = self.path(account);
        let token = Zeroizing::new(crate::auth::keyring::seal(
            account,
            value.as_bytes(),
            self.password.expose(),
        )?);
        let created = crate::fsx::ensure_parent_dir(&path, 0o700)
            .map_err(|e| format!("cannot create the folder of `{}`: {e}", path.display()))?;
        let written = crate::fsx::with_locked(&path, 0o600, |_current: Option<Vec<u8>>| {
            Ok::<_, std::io::Error>((Some(token.as_bytes().to_vec()), ()))
        })
        .map_err(|e| format!("cannot write keyring file `{}`: {e}", path.display()));
        if written.is_err() {
            crate::fsx::remove_created_dirs(&path, created.as_deref());
        }
        written?;
        match &self.legacy {
            Some(old) => old.delete(account),
            None => Ok(()),
        }
    }

    fn delete(&self, account: &str) -> Result<(), String> {
        let path = self.path(account);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "cannot delete keyring file `{}`: {e}",
                    path.display()
                ));
            }
        }
        match &self.legacy {
            Some(old) => old.delete(account),
            None => Ok(()),
        }
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The file backend of earlier versions of this program: one age-encrypted (scrypt) JSON map
/// of all values in `<dir>/<service>.age`. Read as a fallback of [`FileKv`], and emptied as
/// values move to the new layout.
pub struct AgeFileKv {
    path: PathBuf,
    password: SecretString,
}

/// scrypt work factor for the file backend: about 50 ms here, so a command stays fast while an
/// offline guess still costs real work. The password is what protects the file.
const FILE_WORK_FACTOR: u8 = 15;

impl AgeFileKv {
    /// An age file backend at `path` with `password`.
    pub fn new(path: PathBuf, password: SecretString) -> Self {
        Self { path, password }
    }

    fn decrypt(&self, bytes: &[u8]) -> Result<Entries, String> {
        let decryptor = age::Decryptor::new(bytes).map_err(|e| self.describe(&e.to_string()))?;
        let mut identity = age::scrypt::Identity::new(self.password.expose().to_owned().into());
        identity.set_max_work_factor(20);
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                    format!("cannot open `{}`: wrong password", self.path.display())
                }
                other => self.describe(&other.to_string()),
            })?;
        let mut plain = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plain)
            .map_err(|e| self.describe(&e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|e| self.describe(&e.to_string()))
    }

    fn encrypt(&self, entries: &Entries) -> Result<Vec<u8>, String> {
        let plain = Zeroizing::new(serde_json::to_vec(entries).map_err(|e| e.to_string())?);
        let mut recipient = age::scrypt::Recipient::new(self.password.expose().to_owned().into());
        recipient.set_work_factor(FILE_WORK_FACTOR);
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut w = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
        w.write_all(&plain).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn describe(&self, e: &str) -> String {
        format!("cannot read keyring file `{}`: {e}", self.path.display())
    }

    fn read(&self) -> Result<Entries, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => self.decrypt(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Entries::default()),
            Err(e) => Err(self.describe(&e.to_string())),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Entries)) -> Result<(), String> {
        let created = crate::fsx::ensure_parent_dir(&self.path, 0o700)
            .map_err(|e| format!("cannot create the folder of `{}`: {e}", self.path.display()))?;
        let result = crate::fsx::with_locked(&self.path, 0o600, |current: Option<Vec<u8>>| {
            let mut entries = match current {
                Some(bytes) => self.decrypt(&bytes).map_err(std::io::Error::other)?,
                None => Entries::default(),
            };
            f(&mut entries);
            let bytes = self.encrypt(&entries).map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>((Some(bytes), ()))
        })
        .map_err(|e| format!("cannot write keyring file `{}`: {e}", self.path.display()));
        crate::fsx::remove_created_dirs(&self.path, created.as_deref());
        result
    }
}

/// Decrypted file content; strings are zeroed on drop.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Entries {
    entries: BTreeMap<String, String>,
}

impl Drop for Entries {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for v in self.entries.values_mut() {
            v.zeroize();
        }
    }
}

impl Kv for AgeFileKv {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, String> {
        Ok(self
            .read()?
            .entries
            .get(account)
            .map(|v| Zeroizing::new(v.clone())))
    }

    fn set(&self, account: &str, value: &str) -> Result<(), String> {
        self.update(|e| {
            e.entries.insert(account.to_owned(), value.to_owned());
        })
    }

    fn delete(&self, account: &str) -> Result<(), String> {
        if !self.path.exists() {
            return Ok(());
        }
        self.update(|e| {
            e.entries.remove(account);
        })
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

mod system {
    //! The OS keychain through keyring-core: Secret Service on Linux, Keychain on macOS,
    //! Credential Manager on Windows.
    use std::sync::Arc;

    use keyring_core::{CredentialStore, Error as KeyringError};
    use zeroize::Zeroizing;

    use super::Kv;

    pub(super) struct SystemKv {
        service: String,
        store: Arc<CredentialStore>,
    }

    impl SystemKv {
        /// Connects to the platform store and probes it with a read of a name that does not
        /// exist; `Err` carries why the keychain is not usable here.
        pub(super) fn connect(service: &str) -> Result<Self, String> {
            let store = crate::auth::keyring::system_store()?;
            let kv = Self {
                service: service.to_owned(),
                store,
            };
            match kv
                .entry("atmos-probe")
                .and_then(|e| e.get_password().map_err(|e| e.to_string()))
            {
                Ok(_) => Ok(kv),
                Err(e) if e == KeyringError::NoEntry.to_string() => Ok(kv),
                Err(e) => Err(e),
            }
        }

        /// The item of a composed key in Go atmos's layout: service = the key, account = the
        /// store's service name.
        fn entry(&self, key: &str) -> Result<keyring_core::Entry, String> {
            self.store
                .build(key, &self.service, None)
                .map_err(|e| e.to_string())
        }

        /// The same item in this program's earlier layout (service and account swapped).
        fn legacy_entry(&self, key: &str) -> Result<keyring_core::Entry, String> {
            self.store
                .build(&self.service, key, None)
                .map_err(|e| e.to_string())
        }

        fn read(entry: &keyring_core::Entry) -> Result<Option<Zeroizing<String>>, String> {
            match entry.get_password() {
                Ok(p) => Ok(Some(Zeroizing::new(p))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        }

        fn remove(entry: &keyring_core::Entry) -> Result<(), String> {
            match entry.delete_credential() {
                Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    }

    impl Kv for SystemKv {
        fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, String> {
            match Self::read(&self.entry(account)?)? {
                Some(v) => Ok(Some(v)),
                None => Self::read(&self.legacy_entry(account)?),
            }
        }

        fn set(&self, account: &str, value: &str) -> Result<(), String> {
            self.entry(account)?
                .set_password(value)
                .map_err(|e| e.to_string())?;
            Self::remove(&self.legacy_entry(account)?)
        }

        fn delete(&self, account: &str) -> Result<(), String> {
            Self::remove(&self.entry(account)?)?;
            Self::remove(&self.legacy_entry(account)?)
        }

        fn location(&self) -> String {
            format!("system keychain, account `{}`", self.service)
        }
    }
}
