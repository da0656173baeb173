//! Owns the SOPS secret provider: a `secrets.providers` entry
//! seen as a [`Store`]. Each stack (stack scope) or component instance (instance scope) has one
//! encrypted YAML file; each secret is a top-level key in it.
//!
//! - Paths: `spec.file` (a template over `atmos_stack`/`atmos_component`) or
//!   `<spec.path|secrets>/<stack>.enc.yaml` / `<…>/<stack>.<component>.enc.yaml`, relative to the
//!   project base path. Global scope is not supported (one file per stack at most).
//! - Reads decrypt each file once per command (cached), whatever the number of secrets.
//! - Status ([`Store::exists_many`]) reads cleartext key names only: no key needed.
//! - Writes are read-modify-write under an advisory lock, written atomically (0600), reusing the
//!   data key and the IVs of unchanged values.
//! - Keys: inline `age_key` → `age_key.store` → key file → sops defaults
//!   (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`, `~/.config/sops/age/keys.txt`).
//! - [`keygen`] creates an age identity and publishes its recipient in `.sops.yaml`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use zeroize::Zeroizing;

use super::{BoxFuture, BuildEnv, Capabilities, Store, StoreError};
use crate::config::{AgeKeySpec, ProviderConfig};
use crate::error::{Diagnose, Error, code};
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::{Coordinate, Scope};
use crate::sops::{self, AgeIdentities, Document, EmitOptions, Format, KeySource};

/// A `secrets.providers` entry as a store.
pub struct SopsStore {
    cfg: ProviderConfig,
    base: PathBuf,
    key_store: Option<Arc<dyn Store>>,
    identities: OnceLock<Result<AgeIdentities, KeyLoadError>>,
    docs: Mutex<HashMap<PathBuf, Arc<Loaded>>>,
    /// The file names of each folder a status check looked in, read once per command (a
    /// whole-tree `secret list` asks about tens of thousands of files, most of them missing);
    /// cleared by every write.
    /// Each with the [`WRITES`] count it was read at: a write through any SOPS store of the
    /// process (two providers may share a folder) makes it stale.
    listings: Mutex<HashMap<PathBuf, (u64, Arc<Listing>), foldhash::fast::RandomState>>,
    /// The folder of every file [`SopsStore::file_for`] names in the default layout (no
    /// `spec.file`, a `spec.path` that needs no expansion), when the file name needs none
    /// either: see [`SopsStore::plain_file_name`].
    plain_dir: Option<PathBuf>,
    /// The master keys other than age (AWS KMS, PGP, Vault transit, …), as the provider's
    /// identity and with its `spec.options`.
    keys: Arc<super::sops_keys::MasterKeys>,
}

/// The top-level keys of `file`, without decrypting; a missing or corrupt file has none ("not
/// set", never an error).
fn top_level_names(file: &Path) -> Vec<String> {
    std::fs::read(file)
        .ok()
        .and_then(|b| sops::top_level_keys(&b, Format::Yaml).ok())
        .unwrap_or_default()
}

/// How many SOPS file writes this process has made: folder listings read before the last one
/// are read again ([`SopsStore::listing`]).
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts a SOPS file write (see [`WRITES`]).
fn note_write() {
    WRITES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// What a folder listing says about the files in it.
enum Listing {
    /// The names in the folder (those that are UTF-8), ASCII-lowercased: a plain ASCII name
    /// whose lowercase is not among them is missing, even on a case-insensitive file system.
    /// With them, their heads (up to the first `.`): a plain file name starts with its stack's
    /// name and a `.`, so a stack whose head is not among them has no file in the folder.
    Files {
        names: HashSet<String, foldhash::fast::RandomState>,
        heads: HashSet<String, foldhash::fast::RandomState>,
    },
    /// The folder does not exist.
    Missing,
    /// The folder could not be read: open each file.
    Unknown,
}

impl Listing {
    fn read(dir: &Path) -> Self {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let names: HashSet<String, _> = entries
                    .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_ascii_lowercase))
                    .collect();
                let heads = names.iter().map(|n| head(n).to_owned()).collect();
                Listing::Files { names, heads }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Listing::Missing,
            Err(_) => Listing::Unknown,
        }
    }

    /// Whether the folder may hold `name` (only a plain ASCII name is ruled out by the
    /// listing: other names may be normalised by the file system). One lookup: a name in the
    /// folder has its lowercase in the listing.
    /// `buf` is scratch space for the lowercased name.
    fn may_hold(&self, name: &std::ffi::OsStr, buf: &mut String) -> bool {
        match self {
            Listing::Missing => false,
            Listing::Unknown => true,
            Listing::Files { names, .. } => name.to_str().is_none_or(|n| {
                buf.clear();
                buf.push_str(n);
                buf.make_ascii_lowercase();
                !n.is_ascii() || names.contains(buf.as_str())
            }),
        }
    }

    /// Whether the folder may hold a plain file name of `stack` (`{stack}.….enc.yaml`): false
    /// when no name in it starts as the stack's does (ASCII names only, as in `may_hold`).
    fn may_hold_stack(&self, stack: &str, buf: &mut String) -> bool {
        match self {
            Listing::Missing => false,
            Listing::Unknown => true,
            Listing::Files { heads, .. } => {
                buf.clear();
                buf.push_str(head(stack));
                buf.make_ascii_lowercase();
                !stack.is_ascii() || heads.contains(buf.as_str())
            }
        }
    }
}

/// `name` up to its first `.` (all of it when it has none).
fn head(name: &str) -> &str {
    name.split_once('.').map_or(name, |(h, _)| h)
}

/// Whether a stack or component name can stand in a plain file name as it is: no path
/// separator and nothing to expand.
fn plain_segment(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'/' | b'\\' | b'$'))
}

/// A decrypted file, or why it could not be read.
enum Loaded {
    Missing,
    Doc(Box<Document>),
}

#[derive(Clone)]
struct KeyLoadError {
    message: String,
    hint: String,
}

impl SopsStore {
    /// Builds the provider. `key_store` is the store named by `age_key.store` (resolved by the
    /// caller); `env.identity` is the identity of the provider's cloud-KMS keys.
    pub fn build(
        cfg: ProviderConfig,
        env: &BuildEnv,
        key_store: Option<Arc<dyn Store>>,
    ) -> Result<Self, StoreError> {
        let known = crate::config::kinds::sops_kind(&cfg.kind).is_some();
        if !known && cfg.kind.starts_with("sops/") {
            let names: Vec<&str> = crate::config::kinds::SOPS_KINDS
                .iter()
                .map(|k| k.name)
                .collect();
            return Err(StoreError::Config {
                store: cfg.name.clone(),
                message: format!("unknown SOPS provider kind `{}`", cfg.kind),
                hint: Some(format!("use one of {}", names.join(", "))),
            });
        }
        let options =
            super::sops_keys::KeyOptions::from_options(&cfg.spec.options).map_err(|message| {
                StoreError::Config {
                    store: cfg.name.clone(),
                    message,
                    hint: Some("see the SOPS provider options in docs/configuration.md".into()),
                }
            })?;
        let keys = Arc::new(super::sops_keys::MasterKeys::new(
            env.identity.clone(),
            Arc::new(env.cli.auth.clone()),
            &options,
        ));
        let plain_dir = match (
            &cfg.spec.file,
            cfg.spec.path.as_deref().unwrap_or("secrets"),
        ) {
            (None, base) if !base.starts_with('~') && !base.contains('$') => {
                // The parent of a file named as `file_for` names it: the same for every plain
                // file name (it has no separator).
                let probe = env.cli.base_path.join(format!("{base}/probe.enc.yaml"));
                probe.parent().map(Path::to_path_buf)
            }
            _ => None,
        };
        Ok(Self {
            base: env.cli.base_path.clone(),
            plain_dir,
            cfg,
            key_store,
            identities: OnceLock::new(),
            docs: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::default()),
            keys,
        })
    }

    /// The file holding `key`.
    pub fn file_for(&self, key: &Coordinate) -> Result<PathBuf, StoreError> {
        if key.scope == Scope::Global || key.stack.is_empty() {
            return Err(StoreError::ScopeUnsupported {
                store: self.cfg.name.clone(),
                kind: self.kind_str().to_owned(),
                key: key.key.clone(),
                scope: Scope::Global,
            });
        }
        let rel = match &self.cfg.spec.file {
            Some(template) => crate::template::render(
                template,
                &crate::template::Context::coordinate(&key.stack, &key.component),
                &format!("secrets.providers.{}.spec.file", self.cfg.name),
            )
            .map_err(|e| StoreError::Config {
                store: self.cfg.name.clone(),
                message: format!("failed to render SOPS file path template: {e}"),
                hint: Some(
                    "use `{{ .atmos_stack }}` and `{{ .atmos_component }}` in `spec.file`".into(),
                ),
            })?,
            None => {
                let base = self.cfg.spec.path.as_deref().unwrap_or("secrets");
                if key.component.is_empty() {
                    format!("{base}/{}.enc.yaml", key.stack)
                } else {
                    format!("{base}/{}.{}.enc.yaml", key.stack, key.component)
                }
            }
        };
        let p = crate::env::expand_path(&rel);
        Ok(if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        })
    }

    /// The name of the file holding `key` written into `out`, when it lies in `plain_dir`: the
    /// default layout, a key [`SopsStore::file_for`] accepts, and a name with no path separator
    /// and nothing to expand. The same file as `file_for`'s, without building its path.
    fn plain_file_name<'d>(&'d self, key: &Coordinate, out: &mut String) -> Option<&'d Path> {
        let dir = self.plain_dir_of(key)?;
        out.clear();
        out.push_str(&key.stack);
        if !key.component.is_empty() {
            out.push('.');
            out.push_str(&key.component);
        }
        out.push_str(".enc.yaml");
        Some(dir)
    }

    /// `plain_dir` when `key`'s file has a plain name there (see [`SopsStore::plain_file_name`]):
    /// a stack- or instance-scoped key whose stack and component need no expansion.
    fn plain_dir_of(&self, key: &Coordinate) -> Option<&Path> {
        let dir = self.plain_dir.as_deref()?;
        let plain = key.scope != Scope::Global
            && !key.stack.is_empty()
            && plain_segment(&key.stack)
            && plain_segment(&key.component);
        plain.then_some(dir)
    }

    fn kind_str(&self) -> &str {
        if self.cfg.kind.is_empty() {
            "sops/age"
        } else {
            &self.cfg.kind
        }
    }

    fn backend_err(&self, file: &Path, err: &dyn Diagnose) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: file.display().to_string(),
            message: err.to_string(),
            hint: err.hint().or_else(|| Some(self.key_hint())),
            // `atmos secret` reports backend failures as 1, like atmos; the sops-specific codes
            // (25, 51, 128, …) belong to `atmos sops`.
            exit_code: code::FAILURE,
        }
    }

    fn key_hint(&self) -> String {
        match &self.cfg.spec.age_key {
            Some(AgeKeySpec::File(f)) => format!(
                "make sure `{f}` holds an age identity that is a recipient of the file (`atmos secret keygen {}`)",
                self.cfg.name
            ),
            Some(AgeKeySpec::Store { store, .. }) => format!(
                "make sure store `{store}` holds the vault's age identity (`atmos secret keygen {}`)",
                self.cfg.name
            ),
            _ => format!(
                "set `SOPS_AGE_KEY_FILE`, add `spec.age_key_file`, or run `atmos secret keygen {}`",
                self.cfg.name
            ),
        }
    }

    /// Identities for decryption, loaded once.
    fn identities(&self) -> Result<&AgeIdentities, KeyLoadError> {
        self.identities
            .get_or_init(|| self.load_identities())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load_identities(&self) -> Result<AgeIdentities, KeyLoadError> {
        let mut ids = AgeIdentities::new();
        match &self.cfg.spec.age_key {
            Some(AgeKeySpec::Inline(text)) => {
                ids.add_text(text.expose(), "spec.age_key")
                    .map_err(|e| KeyLoadError {
                        message: format!("failed to parse SOPS age key (`spec.age_key`): {e}"),
                        hint: "`spec.age_key` must be an `AGE-SECRET-KEY-1…` identity".into(),
                    })?;
            }
            Some(AgeKeySpec::Store { store, .. }) => {
                let text = self.read_key_from_store()?.ok_or_else(|| KeyLoadError {
                    message: format!(
                        "failed to load SOPS age key from store `{store}`: no key is stored"
                    ),
                    hint: format!("run `atmos secret keygen {}`", self.cfg.name),
                })?;
                ids.add_text(text.expose(), store)
                    .map_err(|e| KeyLoadError {
                        message: format!("failed to parse SOPS age key from store `{store}`: {e}"),
                        hint: format!("run `atmos secret keygen {} --force`", self.cfg.name),
                    })?;
            }
            Some(AgeKeySpec::File(f)) => {
                let path = self.key_file_path(f);
                if path.exists() {
                    ids.add_file(&path).map_err(|e| KeyLoadError {
                        message: format!(
                            "failed to load SOPS age key file (`spec.age_key_file`) `{}`: {e}",
                            path.display()
                        ),
                        hint: "the file must contain `AGE-SECRET-KEY-1…` lines".into(),
                    })?;
                }
            }
            None => {}
        }
        // The sops defaults always join in, as with sops itself.
        let env_ids = sops::load_identities_from_env().map_err(|e| KeyLoadError {
            message: format!("failed to load SOPS age keys from the environment: {e}"),
            hint: "check `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY_CMD`".into(),
        })?;
        ids.extend(env_ids);
        Ok(ids)
    }

    fn key_file_path(&self, raw: &str) -> PathBuf {
        crate::env::expand_path(raw)
    }

    fn key_store_coordinate(&self) -> Coordinate {
        let path = match &self.cfg.spec.age_key {
            Some(AgeKeySpec::Store { path: Some(p), .. }) if !p.is_empty() => p.clone(),
            _ => self.cfg.name.clone(),
        };
        Coordinate {
            stack: self.cfg.name.clone(),
            component: "age-key".into(),
            key: path,
            scope: Scope::Instance,
        }
    }

    fn read_key_from_store(&self) -> Result<Option<SecretString>, KeyLoadError> {
        let Some(store) = &self.key_store else {
            return Ok(None);
        };
        let coord = self.key_store_coordinate();
        let fut = super::get_one(store.as_ref(), &coord);
        let value = block_in_place(fut)
            .map_err(|e| KeyLoadError {
                message: e.to_string(),
                hint: String::new(),
            })?
            .map_err(|e| KeyLoadError {
                message: format!(
                    "failed to load SOPS age key from store `{}`: {e}",
                    store.name()
                ),
                hint: format!("run `atmos secret keygen {}`", self.cfg.name),
            })?;
        Ok(value.map(|v| v.to_text()))
    }

    /// The listing of folder `dir` ([`Listing`], read once per command).
    fn listing(&self, dir: &Path) -> Arc<Listing> {
        let writes = WRITES.load(std::sync::atomic::Ordering::Acquire);
        let mut listings = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, hit)) = listings.get(dir)
            && *at == writes
        {
            return hit.clone();
        }
        let listing = Arc::new(Listing::read(dir));
        listings.insert(dir.to_path_buf(), (writes, listing.clone()));
        listing
    }

    /// [`SopsStore::listing`] of `dir`, or `last`'s when it is the same folder (a batch's files
    /// mostly share one); `last` becomes `dir`'s.
    fn folder_listing(
        &self,
        last: &mut Option<(PathBuf, Arc<Listing>)>,
        dir: &Path,
    ) -> Arc<Listing> {
        if let Some((d, l)) = last
            && d.as_os_str() == dir.as_os_str()
        {
            return l.clone();
        }
        let l = self.listing(dir);
        *last = Some((dir.to_path_buf(), l.clone()));
        l
    }

    /// Decrypts `file` once per command.
    fn load(&self, file: &Path) -> Result<Arc<Loaded>, StoreError> {
        if let Some(hit) = self.docs.lock().ok().and_then(|m| m.get(file).cloned()) {
            return Ok(hit);
        }
        let loaded = match std::fs::read(file) {
            Ok(bytes) => Arc::new(Loaded::Doc(Box::new(self.decrypt(file, &bytes)?))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Arc::new(Loaded::Missing),
            Err(e) => {
                return Err(StoreError::Backend {
                    store: self.cfg.name.clone(),
                    key: file.display().to_string(),
                    message: format!("cannot read SOPS file: {e}"),
                    hint: None,
                    exit_code: code::FAILURE,
                });
            }
        };
        if let Ok(mut m) = self.docs.lock() {
            m.insert(file.to_path_buf(), loaded.clone());
        }
        Ok(loaded)
    }

    fn decrypt(&self, file: &Path, bytes: &[u8]) -> Result<Document, StoreError> {
        let ids = self.identities().map_err(|e| StoreError::Backend {
            store: self.cfg.name.clone(),
            key: file.display().to_string(),
            message: e.message.clone(),
            hint: Some(e.hint.clone()),
            exit_code: code::FAILURE,
        })?;
        let keys = KeySource {
            age: ids,
            provider: Some(self.keys.as_ref()),
        };
        Document::decrypt(bytes, Format::Yaml, &keys, &sops::DecryptOptions::default())
            .map_err(|e| self.backend_err(file, &e.in_file(file)))
    }

    /// Recipients and options for a brand-new file.
    fn new_file_options(&self, file: &Path) -> Result<sops::EncryptOptions, StoreError> {
        if !self.cfg.spec.age_recipients.is_empty() {
            return Ok(sops::EncryptOptions::age(&self.cfg.spec.age_recipients));
        }
        let start = file.parent().unwrap_or(Path::new("."));
        if let Some(cfg_path) = sops::find_config(start) {
            let config = sops::Config::load(&cfg_path).map_err(|e| self.backend_err(file, &e))?;
            if let Some(rule) = config.rule_for(file) {
                let mut opts = sops::EncryptOptions::from_rule(rule)
                    .map_err(|e| self.backend_err(file, &e))?;
                opts.provider = Some(sops::SharedProvider(self.keys.clone()));
                return Ok(opts);
            }
        }
        Err(StoreError::Backend {
            store: self.cfg.name.clone(),
            key: file.display().to_string(),
            message: "failed to resolve SOPS recipients (set `spec.age_recipients` or add a matching .sops.yaml creation rule)".into(),
            hint: Some(format!("run `atmos secret keygen {}` to create a key and a `.sops.yaml` rule", self.cfg.name)),
            exit_code: code::FAILURE,
        })
    }

    /// Read-modify-write of one file under its lock.
    fn modify(
        &self,
        key: &Coordinate,
        edit: impl FnOnce(&mut Document) -> bool,
        create: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        let file = self.file_for(key)?;
        let io_err = |e: std::io::Error| {
            let (cause, hint) = crate::fsx::write_error(&e, &file);
            StoreError::Backend {
                store: self.cfg.name.clone(),
                key: file.display().to_string(),
                message: format!("cannot write SOPS file: {cause}"),
                hint,
                exit_code: code::FAILURE,
            }
        };
        let created = crate::fsx::ensure_parent_dir(&file, 0o755).map_err(io_err)?;
        let result = crate::fsx::with_locked(&file, 0o600, |current: Option<Vec<u8>>| {
            let Some(bytes) = current else {
                let Some(value) = create else {
                    return Ok((None, ()));
                };
                let opts = self.new_file_options(&file)?;
                let pairs = [(key.key.clone(), value.clone())];
                let out = sops::new_yaml_document_with(&pairs, &opts)
                    .map_err(|e| self.backend_err(&file, &e.in_file(&file)))?;
                return Ok((Some(out), ()));
            };
            let mut doc = self.decrypt(&file, &bytes)?;
            if !edit(&mut doc) {
                return Ok((None, ()));
            }
            let out = doc
                .encrypt(&EmitOptions::default())
                .map_err(|e| self.backend_err(&file, &e.in_file(&file)))?;
            Ok::<_, LockedError>((Some(out), ()))
        });
        // A failed or empty first write leaves no folder behind.
        crate::fsx::remove_created_dirs(&file, created.as_deref());
        // The cached copy and listings are stale now.
        if let Ok(mut m) = self.docs.lock() {
            m.remove(&file);
        }
        note_write();
        result.map_err(|e| match e {
            LockedError::Io(e) => io_err(e),
            LockedError::Store(e) => e,
        })
    }
}

/// Errors inside the locked read-modify-write: I/O (named by the caller) or the store's own.
enum LockedError {
    Io(std::io::Error),
    Store(StoreError),
}

impl From<std::io::Error> for LockedError {
    fn from(e: std::io::Error) -> Self {
        LockedError::Io(e)
    }
}

impl From<StoreError> for LockedError {
    fn from(e: StoreError) -> Self {
        LockedError::Store(e)
    }
}

impl Store for SopsStore {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn kind(&self) -> &str {
        self.kind_str()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scopes: &[Scope::Instance, Scope::Stack],
            delete: true,
            // One call carries every key: the store groups them by file itself.
            batch_size: usize::MAX,
            concurrency: 1,
            local_status: true,
        }
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<Option<SecretValue>, StoreError>>> {
        Box::pin(async move {
            keys.iter()
                .map(|k| {
                    let file = self.file_for(k)?;
                    match self.load(&file)?.as_ref() {
                        Loaded::Missing => Ok(None),
                        Loaded::Doc(doc) => {
                            Ok(doc.get(&k.key).map(|v| SecretValue::text(v.expose())))
                        }
                    }
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
            let text = value.to_text();
            let k = key.key.clone();
            self.modify(
                key,
                |doc| {
                    doc.set_string(&k, &text);
                    true
                },
                Some(&text),
            )
        })
    }

    fn delete<'a>(&'a self, key: &'a Coordinate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let k = key.key.clone();
            self.modify(key, |doc| doc.unset(&k), None)
        })
    }

    fn exists_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<bool, StoreError>>> {
        Box::pin(async move {
            // The file of a key depends only on its stack and component: one path per instance,
            // looked up in the last instance's and the last stack's (keys come instance by
            // instance, each instance's stack-scoped keys among its own), then in a map.
            type Names = Arc<Vec<String>>;
            let mut by_instance: HashMap<(&str, &str), Names, foldhash::fast::RandomState> =
                HashMap::default();
            let mut by_file: HashMap<PathBuf, Names, foldhash::fast::RandomState> =
                HashMap::default();
            let mut last: [Option<((&str, &str), Names)>; 2] = [None, None];
            let none: Names = Arc::new(Vec::new());
            // The folder of the last file looked up (instances' files share one folder).
            let mut folder: Option<(PathBuf, Arc<Listing>)> = None;
            let mut lower = String::new();
            let mut name = String::new();
            // The last stack whose plain file names were looked for, and whether the folder
            // listing ruled them all out (most stacks of a large tree have no file yet).
            let mut stack_absent: Option<(&str, bool)> = None;
            keys.iter()
                .map(|k| {
                    // Its file would be a plain name of the stack's: none is in the folder.
                    if let Some(dir) = self.plain_dir_of(k) {
                        let absent = match stack_absent {
                            Some((s, absent)) if s == k.stack => absent,
                            _ => {
                                let absent = !self
                                    .folder_listing(&mut folder, dir)
                                    .may_hold_stack(&k.stack, &mut lower);
                                stack_absent = Some((&k.stack, absent));
                                absent
                            }
                        };
                        if absent {
                            return Ok(false);
                        }
                    }
                    let instance = (k.stack.as_str(), k.component.as_str());
                    let slot = usize::from(k.component.is_empty());
                    if let Some((i, names)) = &last[slot]
                        && *i == instance
                    {
                        return Ok(names.contains(&k.key));
                    }
                    // One hash of the instance: looked up and, when new, inserted.
                    let names = match by_instance.entry(instance) {
                        std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            // The file, unless the folder's listing rules it out.
                            let file = match self.plain_file_name(k, &mut name) {
                                Some(dir) => {
                                    let listing = self.folder_listing(&mut folder, dir);
                                    if listing.may_hold(name.as_ref(), &mut lower) {
                                        Some(self.file_for(k)?)
                                    } else {
                                        None
                                    }
                                }
                                None => {
                                    let file = self.file_for(k)?;
                                    let may_exist = match (file.parent(), file.file_name()) {
                                        (Some(dir), Some(name)) => self
                                            .folder_listing(&mut folder, dir)
                                            .may_hold(name, &mut lower),
                                        _ => true,
                                    };
                                    may_exist.then_some(file)
                                }
                            };
                            let names = match file {
                                None => none.clone(),
                                Some(file) => match by_file.get(&file) {
                                    Some(names) => names.clone(),
                                    None => {
                                        let names = Arc::new(top_level_names(&file));
                                        by_file.insert(file, names.clone());
                                        names
                                    }
                                },
                            };
                            slot.insert(names.clone());
                            names
                        }
                    };
                    let found = names.contains(&k.key);
                    last[slot] = Some((instance, names));
                    Ok(found)
                })
                .collect()
        })
    }

    fn describe_key(&self, key: &Coordinate) -> String {
        match self.file_for(key) {
            Ok(f) => format!("{} (key `{}`)", f.display(), key.key),
            Err(_) => key.key.clone(),
        }
    }

    fn file_of(&self, key: &Coordinate) -> Result<Option<PathBuf>, StoreError> {
        self.file_for(key).map(Some)
    }

    fn has_key_material(&self) -> Option<bool> {
        if !is_age_kind(self.kind_str()) {
            return None;
        }
        Some(has_key(&self.cfg, self))
    }
}

/// Runs a store future from sync code, which may itself run on a runtime worker.
fn block_in_place<T: Send>(f: impl std::future::Future<Output = T> + Send) -> Result<T, Error> {
    let on_fresh_runtime = |f| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(f))
            .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| handle.block_on(f)))
        }
        // Inside a single-threaded runtime (or none): run on a helper thread of our own.
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| on_fresh_runtime(f))
                .join()
                .unwrap_or_else(|_| Err(Error::new("the key store read failed")))
        }),
        Err(_) => on_fresh_runtime(f),
    }
}

/// Whether a provider kind is age-based (`""`, `sops`, `sops/age`, `*/age`).
pub fn is_age_kind(kind: &str) -> bool {
    kind.is_empty() || kind == "sops" || kind == "sops/age" || kind.ends_with("/age")
}

/// Whether the provider already has key material (so `keygen` has nothing to do): an inline
/// value, the store holds it, the key file exists, or the default sops keys file exists.
fn has_key(cfg: &ProviderConfig, store: &SopsStore) -> bool {
    match &cfg.spec.age_key {
        Some(AgeKeySpec::Inline(_)) => true,
        Some(AgeKeySpec::Store { .. }) => store.read_key_from_store().ok().flatten().is_some(),
        Some(AgeKeySpec::File(f)) => store.key_file_path(f).exists(),
        None => {
            crate::env::var(crate::env::SOPS_AGE_KEY_FILE).is_some_and(|f| Path::new(&f).exists())
                || sops::keys::default_keys_file().is_some_and(|f| f.exists())
        }
    }
}

/// Outcome of [`keygen`].
pub enum Keygen {
    /// Not an age vault: nothing done.
    Unsupported,
    /// Key material exists and `--force` was not given.
    AlreadyHasKey,
    /// A new key pair.
    Generated {
        /// Where the private identity went.
        identity_location: String,
        /// The recipients file (`.sops.yaml`).
        recipients_file: PathBuf,
        /// The public recipient.
        recipient: String,
    },
}

/// Generates an age identity for `provider`: the private identity goes to the
/// configured store or key file (0600, appended, idempotent), the public recipient into
/// `.sops.yaml` (comments and other rules kept). `build` builds `provider` as a store (see
/// `Registry::sops_store`); it is only called for age vaults.
pub fn keygen(
    provider: &ProviderConfig,
    build: impl FnOnce() -> Result<SopsStore, StoreError>,
    force: bool,
) -> Result<Keygen, Error> {
    if !is_age_kind(&provider.kind) {
        return Ok(Keygen::Unsupported);
    }
    let store = &build()?;
    if !force && has_key(provider, store) {
        return Ok(Keygen::AlreadyHasKey);
    }
    if let Some(AgeKeySpec::Inline(_)) = provider.spec.age_key {
        return Err(Error::new(
            "failed to parse SOPS age key (`spec.age_key`): an inline key is configured; keygen cannot replace it",
        )
        .with_hint("remove `spec.age_key` to let keygen manage the key, or rotate the inline value yourself"));
    }
    if !provider.spec.age_recipients.is_empty() {
        return Err(Error::new(
            "failed to resolve SOPS recipients: `spec.age_recipients` pins the recipients of this vault",
        )
        .with_hint("add the new recipient to `spec.age_recipients` yourself, or remove it to let keygen manage `.sops.yaml`"));
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret_line = {
        use age::secrecy::ExposeSecret;
        Zeroizing::new(identity.to_string().expose_secret().to_owned())
    };
    let identity_location = match &provider.spec.age_key {
        Some(AgeKeySpec::Store { .. }) => {
            let key_store = store
                .key_store
                .clone()
                .ok_or_else(|| Error::new("internal error: age key store missing"))?;
            let coord = store.key_store_coordinate();
            let value = SecretValue::text(secret_line.as_str());
            block_in_place(key_store.set(&coord, &value))??;
            format!(
                "store `{}` ({})",
                key_store.name(),
                key_store.describe_key(&coord)
            )
        }
        Some(AgeKeySpec::File(f)) => {
            let path = store.key_file_path(f);
            append_identity(&path, &secret_line, &recipient)?;
            path.display().to_string()
        }
        _ => {
            let path = crate::env::var(crate::env::SOPS_AGE_KEY_FILE)
                .map(PathBuf::from)
                .or_else(sops::keys::default_keys_file)
                .ok_or_else(|| {
                    Error::new("cannot find a place for the age key file")
                        .with_hint("set `spec.age_key_file` or `SOPS_AGE_KEY_FILE`")
                })?;
            append_identity(&path, &secret_line, &recipient)?;
            path.display().to_string()
        }
    };
    let recipients_file = match &provider.spec.recipients_file {
        Some(f) => {
            let p = crate::env::expand_path(f);
            if p.is_absolute() {
                p
            } else {
                store.base.join(p)
            }
        }
        None => store.base.join(".sops.yaml"),
    };
    let regex = path_regex_for(provider);
    upsert_recipient(&recipients_file, &regex, &recipient)?;
    Ok(Keygen::Generated {
        identity_location,
        recipients_file,
        recipient,
    })
}

/// Appends an identity line (with a comment naming its recipient) to a keys file; dir 0700,
/// file 0600; no-op when the line is already there.
fn append_identity(path: &Path, secret_line: &str, recipient: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| {
        Error::new(format!(
            "failed to write age key file `{}`: {e}",
            path.display()
        ))
    };
    crate::fsx::ensure_parent_dir(path, 0o700).map_err(fail)?;
    crate::fsx::with_locked(path, 0o600, |current: Option<Vec<u8>>| {
        let mut text =
            Zeroizing::new(String::from_utf8_lossy(&current.unwrap_or_default()).into_owned());
        if text.lines().any(|l| l.trim() == secret_line) {
            return Ok::<_, std::io::Error>((None, ()));
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let created = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        text.push_str(&format!(
            "# created: {created}\n# public key: {recipient}\n{secret_line}\n"
        ));
        Ok((Some(text.as_bytes().to_vec()), ()))
    })
    .map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)
}

/// The `.sops.yaml` `path_regex` for a provider: derived from `spec.file` (literals quoted, each
/// `{{…}}` → `.*`, `$` appended) or from the derived layout `<path>/….enc.yaml`.
pub fn path_regex_for(provider: &ProviderConfig) -> String {
    let template = match &provider.spec.file {
        Some(f) => f.clone(),
        None => format!(
            "{}/{{{{ .atmos_stack }}}}.enc.yaml",
            provider.spec.path.as_deref().unwrap_or("secrets")
        ),
    };
    let mut out = String::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&regex::escape(&rest[..start]));
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str(".*");
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&regex::escape(&rest[start..]));
                rest = "";
            }
        }
    }
    out.push_str(&regex::escape(rest));
    // Adjacent wildcards collapse.
    while out.contains(".*.*") {
        out = out.replace(".*.*", ".*");
    }
    out.push('$');
    out
}

/// Adds `recipient` to the creation rule whose `path_regex` equals `regex` (comma-separated
/// `age`), or appends a new rule; keeps order, comments and other keys (line-based edit).
fn upsert_recipient(file: &Path, regex: &str, recipient: &str) -> Result<(), Error> {
    let fail = |e: String| {
        Error::new(format!("failed to update `{}`: {e}", file.display()))
            .with_hint("fix the YAML or add the recipient to `creation_rules` by hand")
    };
    // Under the directory lock: two keygens at once must not lose each other's recipient.
    let edited = crate::fsx::with_locked(file, 0o644, |current: Option<Vec<u8>>| {
        let text = String::from_utf8(current.unwrap_or_default())
            .map_err(|_| UpsertError::Edit("the file is not UTF-8".into()))?;
        let updated = sops::config::upsert_age_recipient(&text, regex, recipient)
            .map_err(UpsertError::Edit)?;
        Ok::<_, UpsertError>(((updated != text).then(|| updated.into_bytes()), ()))
    });
    edited.map_err(|e| match e {
        UpsertError::Io(e) => fail(e.to_string()),
        UpsertError::Edit(e) => fail(e),
    })
}

/// Why [`upsert_recipient`]'s locked edit failed.
enum UpsertError {
    Io(std::io::Error),
    Edit(String),
}

impl From<std::io::Error> for UpsertError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderSpec;

    fn provider(file: Option<&str>, path: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            name: "dev-sops".into(),
            kind: "sops/age".into(),
            identity: None,
            spec: ProviderSpec {
                file: file.map(Into::into),
                path: path.map(Into::into),
                ..ProviderSpec::default()
            },
        }
    }

    /// The status check names a default-layout file by [`SopsStore::plain_file_name`] without
    /// building its path: it must be the file [`SopsStore::file_for`] names, or it declines.
    #[test]
    fn plain_file_names_are_the_files_file_for_names() {
        let env = crate::store::BuildEnv {
            cli: Arc::new(crate::config::CliConfig {
                base_path: PathBuf::from("/proj"),
                ..crate::config::CliConfig::default()
            }),
            identity: None,
        };
        let key = |stack: &str, component: &str, scope| Coordinate {
            stack: stack.into(),
            component: component.into(),
            key: "K".into(),
            scope,
        };
        let keys = [
            key("dev", "api", Scope::Instance),
            key("dev", "", Scope::Stack),
            key("plat-ue2-prod", "vpc.flow", Scope::Instance),
            key("a/b", "api", Scope::Instance),
            key("dev", "x$y", Scope::Instance),
            key("", "", Scope::Global),
        ];
        let mut name = String::new();
        for (file, path) in [
            (None, None),
            (None, Some("vault/sops")),
            (None, Some("/abs/secrets")),
            (None, Some("~/secrets")),
            (Some("s/{{ .atmos_stack }}.yaml"), None),
        ] {
            let store = SopsStore::build(provider(file, path), &env, None).expect("store");
            let mut named = 0;
            for k in &keys {
                if let Some(dir) = store.plain_file_name(k, &mut name) {
                    named += 1;
                    assert_eq!(
                        dir.join(&name),
                        store.file_for(k).expect("file"),
                        "{file:?} {path:?} {k:?}"
                    );
                }
            }
            let plain_layout = file.is_none() && path.is_none_or(|p| !p.starts_with('~'));
            assert_eq!(named > 0, plain_layout, "{file:?} {path:?}");
        }
    }

    /// Status of keys across stacks with and without files (stacks ruled out by the folder's
    /// name heads, dotted stack names, a path-like stack, stack-scoped and global keys): what
    /// each key's own file holds.
    #[test]
    fn status_of_many_keys_follows_each_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(secrets.join("a")).expect("dirs");
        for (file, keys) in [
            ("dev.api.enc.yaml", "K"),
            ("dev.enc.yaml", "S"),
            ("t1.eu.api.enc.yaml", "K"),
            ("a/b.api.enc.yaml", "K"),
        ] {
            std::fs::write(secrets.join(file), format!("{keys}: ENC[x]\nsops: {{}}\n"))
                .expect("write");
        }
        let env = crate::store::BuildEnv {
            cli: Arc::new(crate::config::CliConfig {
                base_path: dir.path().to_path_buf(),
                ..crate::config::CliConfig::default()
            }),
            identity: None,
        };
        let store = SopsStore::build(provider(None, None), &env, None).expect("store");
        let key = |stack: &str, component: &str, key: &str, scope| Coordinate {
            stack: stack.into(),
            component: component.into(),
            key: key.into(),
            scope,
        };
        let cases = [
            (key("dev", "api", "K", Scope::Instance), true),
            (key("dev", "api", "OTHER", Scope::Instance), false),
            (key("dev", "web", "K", Scope::Instance), false),
            (key("dev", "", "S", Scope::Stack), true),
            (key("prod", "api", "K", Scope::Instance), false),
            (key("prod", "", "S", Scope::Stack), false),
            (key("t1.eu", "api", "K", Scope::Instance), true),
            (key("t1.us", "api", "K", Scope::Instance), false),
            (key("a/b", "api", "K", Scope::Instance), true),
            (key("prod", "api", "K", Scope::Instance), false),
            (key("dev", "api", "K", Scope::Instance), true),
        ];
        let keys: Vec<Coordinate> = cases.iter().map(|(k, _)| k.clone()).collect();
        let got: Vec<bool> = crate::runtime::block_on(store.exists_many(&keys))
            .expect("runtime")
            .into_iter()
            .map(|r| r.expect("status"))
            .collect();
        let want: Vec<bool> = cases.iter().map(|(_, w)| *w).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_write_anywhere_in_the_process_makes_folder_listings_stale() {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = crate::store::BuildEnv {
            cli: Arc::new(crate::config::CliConfig::default()),
            identity: None,
        };
        let store = SopsStore::build(provider(None, None), &env, None).expect("store");
        let mut buf = String::new();
        let holds = |store: &SopsStore, buf: &mut String| {
            store
                .listing(dir.path())
                .may_hold(std::ffi::OsStr::new("dev.api.enc.yaml"), buf)
        };
        assert!(!holds(&store, &mut buf));
        // Another store (or another process) creates the file: this store's listing is kept…
        std::fs::write(dir.path().join("dev.api.enc.yaml"), "x").expect("write");
        assert!(!holds(&store, &mut buf));
        // …until a SOPS write in this process, through any store, is counted.
        note_write();
        assert!(holds(&store, &mut buf));
    }

    #[test]
    fn folder_listings_rule_out_only_plain_names_they_lack() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Dev.app.enc.yaml"), "x").expect("write");
        let listing = Listing::read(dir.path());
        let mut buf = String::new();
        let may = |name: &str, buf: &mut String| listing.may_hold(std::ffi::OsStr::new(name), buf);
        assert!(may("Dev.app.enc.yaml", &mut buf));
        // A case-insensitive file system would open this one: it is not ruled out.
        assert!(may("dev.app.enc.yaml", &mut buf));
        assert!(!may("prod.app.enc.yaml", &mut buf));
        // Non-ASCII names may be normalised by the file system: never ruled out.
        assert!(may("prød.app.enc.yaml", &mut buf));
        assert!(
            !Listing::read(&dir.path().join("absent"))
                .may_hold(std::ffi::OsStr::new("a.enc.yaml"), &mut buf)
        );
        // A stack is ruled out when no name starts as its plain names do (up to the first
        // dot, case aside); dotted and non-ASCII stack names only by that head.
        std::fs::write(dir.path().join("t1.eu.stage.api.enc.yaml"), "x").expect("write");
        let listing = Listing::read(dir.path());
        for (stack, may) in [
            ("Dev", true),
            ("dev", true),
            ("DEV", true),
            ("prod", false),
            ("de", false),
            ("t1.eu.stage", true),
            ("t1.us", true),
            ("t2.eu", false),
            ("dév", true),
        ] {
            assert_eq!(listing.may_hold_stack(stack, &mut buf), may, "{stack}");
        }
        assert!(!Listing::read(&dir.path().join("absent")).may_hold_stack("dev", &mut buf));
    }

    #[test]
    fn path_regex_from_templates() {
        assert_eq!(
            path_regex_for(&provider(Some("secrets/{{ .atmos_stack }}.enc.yaml"), None)),
            r"secrets/.*\.enc\.yaml$"
        );
        assert_eq!(
            path_regex_for(&provider(
                Some("s/{{ .atmos_stack }}.{{ .atmos_component }}.enc.yaml"),
                None
            )),
            r"s/.*\..*\.enc\.yaml$"
        );
        assert_eq!(
            path_regex_for(&provider(None, None)),
            r"secrets/.*\.enc\.yaml$"
        );
        assert_eq!(
            path_regex_for(&provider(None, Some("vault"))),
            r"vault/.*\.enc\.yaml$"
        );
    }

    #[test]
    fn age_kinds() {
        for k in ["", "sops", "sops/age", "x/age"] {
            assert!(is_age_kind(k), "{k}");
        }
        for k in ["sops/aws-kms", "sops/pgp"] {
            assert!(!is_age_kind(k), "{k}");
        }
    }
}
