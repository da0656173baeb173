//! The pure SOPS codec: bytes and keys in, bytes out. No config or CLI knowledge; byte-compatible
//! with sops 3.x (reference: <https://github.com/getsops/sops>; vectors: `tests/vectors/sops/`).
//!
//! # API for callers (e.g. the SOPS secret provider)
//!
//! | need | call |
//! | --- | --- |
//! | format of a path | [`Format::from_path`] / [`Format::resolve`] |
//! | age identities | [`load_identities`] (explicit [`IdentitySources`]) or [`load_identities_from_env`] (sops precedence) |
//! | decrypt into an editable document | [`Document::decrypt`] with a [`KeySource`] |
//! | cleartext top-level keys, no key needed (status) | [`top_level_keys`] |
//! | read a top-level value | [`Document::get`] |
//! | set / replace a top-level key (first same-named, else append) | [`Document::set_string`] |
//! | remove a top-level key | [`Document::unset`] |
//! | re-encrypt with the same data key (new `lastmodified` + MAC, unchanged values keep their ciphertext) | [`Document::encrypt`] |
//! | brand-new encrypted YAML from key/value pairs | [`new_yaml_document`] (age recipients) / [`new_yaml_document_with`] (a creation rule's options) |
//! | encrypt a whole plaintext file | [`encrypt`] with [`EncryptOptions`] |
//! | `.sops.yaml` for a path | [`find_config`], [`Config::load`], [`Config::rule_for`], [`EncryptOptions::from_rule`] |
//!
//! Master keys other than age (`kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `pgp`) are read and
//! written back verbatim; recovering a data key from them, or wrapping one for them (the keys of
//! a creation rule, [`EncryptOptions::other_keys`]; `rotate`; `updatekeys`), needs a
//! [`MasterKeyProvider`] — the one seam a key type plugs into. The codec has none built in; the
//! SOPS secret provider and `atmos sops` pass `store::sops_keys::MasterKeys`. Without one, such
//! files fail with `<kind> master keys are not supported yet`.
//!
//! Modules: [`tree`] (model, canonical values, crypt rule, the walker), [`cipher`] (AES-GCM,
//! `ENC[…]`, MAC), [`keys`] (age, Shamir, data key), [`metadata`], [`stores`] (formats, dotenv,
//! INI, binary), [`yaml`], [`json`], [`path`] (`["a"][0]` edits), [`config`] (`.sops.yaml`).

pub mod cipher;
pub mod config;
pub mod error;
pub mod json;
pub mod keys;
pub mod metadata;
pub mod path;
pub mod stores;
pub mod tree;
pub mod yaml;

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::secret_value::SecretString;

pub use cipher::DataKey;
pub use config::{Config, CreationRule, find_config};
pub use error::{Result, SopsError};
pub use keys::{
    AgeIdentities, IdentitySources, KeySource, MasterKeyProvider, OtherKeys,
    identity_sources_from_env, load_identities, load_identities_from_env,
};
pub use metadata::Metadata;
pub use stores::{EmitOptions, Format};
pub use tree::{CryptRule, Entry, Map, Text, Value};

/// How to encrypt a new file.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    /// age recipients per key group (one group normally; several = Shamir).
    pub groups: Vec<Vec<String>>,
    /// Shamir threshold (0 = all groups).
    pub shamir_threshold: usize,
    /// The crypt rule (default `unencrypted_suffix: _unencrypted`).
    pub rule: Option<CryptRule>,
    /// Whether the MAC covers only the encrypted values (sops `mac_only_encrypted`) instead of
    /// every value.
    pub mac_only_encrypted: bool,
    /// Other master keys per group (`("kms", entry without enc)`), parallel to `groups`.
    pub other_keys: Vec<Vec<(&'static str, Value)>>,
    /// Who wraps the data key for `other_keys`.
    pub provider: Option<SharedProvider>,
}

/// A shareable [`MasterKeyProvider`] (for [`EncryptOptions`]).
#[derive(Clone)]
pub struct SharedProvider(pub std::sync::Arc<dyn MasterKeyProvider + Send + Sync>);

impl std::fmt::Debug for SharedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedProvider")
    }
}

impl EncryptOptions {
    /// One key group of age recipients, default rule.
    pub fn age(recipients: &[String]) -> Self {
        Self {
            groups: vec![recipients.to_vec()],
            ..Self::default()
        }
    }

    /// The options a `.sops.yaml` creation rule describes (the provider is left to the caller).
    pub fn from_rule(rule: &CreationRule) -> Result<Self> {
        let other_keys: Vec<Vec<(&'static str, Value)>> = rule
            .groups
            .iter()
            .map(|g| {
                g.kms
                    .iter()
                    .map(|k| ("kms", k.to_entry()))
                    .chain(g.others.iter().cloned())
                    .collect()
            })
            .collect();
        Ok(Self {
            groups: rule.groups.iter().map(|g| g.age.clone()).collect(),
            shamir_threshold: rule.shamir_threshold,
            rule: rule.crypt_rule.clone(),
            mac_only_encrypted: rule.mac_only_encrypted,
            other_keys: if other_keys.iter().all(Vec::is_empty) {
                Vec::new()
            } else {
                other_keys
            },
            provider: None,
        })
    }
}

/// How to decrypt.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecryptOptions {
    /// Skip MAC verification (`--ignore-mac`).
    pub ignore_mac: bool,
}

/// `(type, AAD, plaintext)` → IV of the value as read, so that re-encrypting an unchanged value
/// reproduces its ciphertext. Keys are SHA-256 digests: no plaintext is kept.
#[derive(Default, Clone)]
struct IvTable(HashMap<[u8; 32], Vec<u8>>);

impl IvTable {
    fn key(ty: &str, aad: &str, plain: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(ty.as_bytes());
        h.update([0]);
        h.update(aad.as_bytes());
        h.update([0]);
        h.update(plain);
        h.finalize().into()
    }

    fn iv(&self, ty: &str, aad: &str, plain: &[u8]) -> Vec<u8> {
        self.0
            .get(&Self::key(ty, aad, plain))
            .cloned()
            .unwrap_or_else(cipher::random_iv)
    }
}

/// A decrypted, editable SOPS file.
pub struct Document {
    format: Format,
    docs: Vec<Map>,
    metadata: Metadata,
    data_key: DataKey,
    ivs: IvTable,
    computed_mac: String,
    stored_mac: Option<String>,
    /// Non-fatal problems found while decrypting (e.g. a comment that did not decrypt).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("format", &self.format)
            .field("documents", &self.docs.len())
            .finish_non_exhaustive()
    }
}

fn key_path(aad: &str) -> String {
    aad.strip_suffix(':').unwrap_or(aad).to_owned()
}

/// `lastmodified` re-formatted for the MAC AAD: RFC 3339 without fraction, offset kept.
fn mac_aad(lastmodified: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(lastmodified) {
        Ok(t) => {
            let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let off = t.offset().local_minus_utc();
            if off == 0 {
                format!("{base}Z")
            } else {
                format!("{base}{}", t.format("%:z"))
            }
        }
        Err(_) => lastmodified.to_owned(),
    }
}

fn now_lastmodified() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Decrypts the leaves of `docs` in place; returns the computed MAC.
fn decrypt_tree(
    docs: &mut [Map],
    meta: &Metadata,
    key: &DataKey,
    mut ivs: Option<&mut IvTable>,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let mut mac = cipher::Mac::new(meta.mac_only_encrypted);
    let only_enc = meta.mac_only_encrypted;
    tree::walk(docs, &meta.rule, &mut |leaf, v| {
        let encrypted = meta.rule.encrypts(leaf);
        if let Value::Comment(t) = v {
            if encrypted && cipher::is_enc(t.as_bytes()) {
                let text = t.to_lossy().into_owned();
                match cipher::parse_enc(&text)
                    .ok_or_else(|| "malformed".to_string())
                    .and_then(|p| cipher::decrypt(key, &p, leaf.aad.as_bytes()).map(|d| (p, d)))
                {
                    Ok((parts, plain)) => {
                        remember(&mut ivs, &parts, leaf.aad, &plain);
                        *v = Value::Comment(Text::new(plain));
                    }
                    Err(e) => warnings.push(format!(
                        "a comment at `{}` could not be decrypted ({e}); kept as is",
                        key_path(leaf.aad)
                    )),
                }
            }
            return Ok(());
        }
        if !encrypted {
            if !only_enc {
                v.hash_into(&mut |b| mac.update(b));
            }
            return Ok(());
        }
        let err = |reason: &str| SopsError::DecryptValue {
            file: Default::default(),
            key_path: key_path(leaf.aad),
            reason: reason.to_owned(),
        };
        let Value::Str(t) = v else {
            return Err(err("the value is not an encrypted string"));
        };
        if t.is_empty() {
            return Ok(());
        }
        let text = t
            .as_str()
            .ok_or_else(|| err("the value is not an encrypted string"))?;
        let parts =
            cipher::parse_enc(text).ok_or_else(|| err("the value is not an encrypted string"))?;
        let plain = cipher::decrypt(key, &parts, leaf.aad.as_bytes()).map_err(|e| err(&e))?;
        remember(&mut ivs, &parts, leaf.aad, &plain);
        let value = Value::from_plaintext(parts.ty, plain).map_err(|e| err(&e))?;
        if !matches!(value, Value::Comment(_)) {
            value.hash_into(&mut |b| mac.update(b));
        }
        *v = value;
        Ok(())
    })?;
    Ok(mac.finish())
}

fn remember(ivs: &mut Option<&mut IvTable>, parts: &cipher::EncParts<'_>, aad: &str, plain: &[u8]) {
    if let Some(table) = ivs.as_deref_mut()
        && let Ok(iv) = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, parts.iv)
    {
        table.0.insert(IvTable::key(parts.ty, aad, plain), iv);
    }
}

/// Encrypts the leaves of `docs` in place; returns the MAC (hex).
fn encrypt_tree(docs: &mut [Map], meta: &Metadata, key: &DataKey, ivs: &IvTable) -> String {
    let mut mac = cipher::Mac::new(meta.mac_only_encrypted);
    let _ = tree::walk::<std::convert::Infallible>(docs, &meta.rule, &mut |leaf, v| {
        let encrypted = meta.rule.encrypts(leaf);
        if let Value::Comment(t) = v {
            if encrypted && !t.is_empty() {
                let iv = ivs.iv("comment", leaf.aad, t.as_bytes());
                let enc = cipher::encrypt(key, t.as_bytes(), leaf.aad.as_bytes(), "comment", &iv);
                *v = Value::Comment(Text::from(enc));
            }
            return Ok(());
        }
        let Some(plain) = v.canonical() else {
            return Ok(());
        };
        if !meta.mac_only_encrypted || encrypted {
            mac.update(&plain);
        }
        if encrypted && !plain.is_empty() {
            let ty = v.type_name();
            let iv = ivs.iv(ty, leaf.aad, &plain);
            *v = Value::Str(Text::from(cipher::encrypt(
                key,
                &plain,
                leaf.aad.as_bytes(),
                ty,
                &iv,
            )));
        }
        Ok(())
    });
    mac.finish()
}

/// Sets `lastmodified` to now and stores the encrypted MAC.
fn seal_metadata(meta: &mut Metadata, mac_hex: &str, key: &DataKey, ivs: &IvTable) {
    meta.lastmodified = now_lastmodified();
    let iv = ivs.iv("str", &meta.lastmodified, mac_hex.as_bytes());
    meta.mac = cipher::encrypt(
        key,
        mac_hex.as_bytes(),
        meta.lastmodified.as_bytes(),
        "str",
        &iv,
    );
}

impl Document {
    /// Parses and decrypts an encrypted file, verifying the MAC unless told not to. The document
    /// remembers the IVs of the values so that [`Document::encrypt`] keeps unchanged ciphertexts.
    pub fn decrypt(
        src: &[u8],
        format: Format,
        keys: &KeySource<'_>,
        opts: &DecryptOptions,
    ) -> Result<Self> {
        Self::decrypt_inner(src, format, keys, opts, true)
    }

    fn decrypt_inner(
        src: &[u8],
        format: Format,
        keys: &KeySource<'_>,
        opts: &DecryptOptions,
        keep_ivs: bool,
    ) -> Result<Self> {
        let (mut docs, meta_map) = stores::load_encrypted(format, src)?;
        let metadata = Metadata::from_map(&meta_map)?;
        let data_key =
            keys::recover_data_key(&metadata.key_groups, metadata.shamir_threshold, keys)?;
        let mut ivs = IvTable::default();
        let mut warnings = Vec::new();
        let computed_mac = decrypt_tree(
            &mut docs,
            &metadata,
            &data_key,
            keep_ivs.then_some(&mut ivs),
            &mut warnings,
        )?;
        let aad = mac_aad(&metadata.lastmodified);
        let stored_mac = if metadata.mac.is_empty() {
            Some(String::new())
        } else {
            cipher::parse_enc(&metadata.mac).and_then(|parts| {
                let plain = cipher::decrypt(&data_key, &parts, aad.as_bytes()).ok()?;
                if keep_ivs {
                    remember(&mut Some(&mut ivs), &parts, &aad, &plain);
                }
                Some(String::from_utf8_lossy(&plain).into_owned())
            })
        };
        if !opts.ignore_mac {
            match &stored_mac {
                None => {
                    return Err(SopsError::MacDecrypt {
                        file: Default::default(),
                    });
                }
                Some(stored) if *stored != computed_mac => {
                    return Err(SopsError::MacMismatch {
                        file: Default::default(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(Document {
            format,
            docs,
            metadata,
            data_key,
            ivs,
            computed_mac,
            stored_mac,
            warnings,
        })
    }

    /// The format the document was read in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The decrypted documents.
    pub fn docs(&self) -> &[Map] {
        &self.docs
    }

    /// The decrypted documents, for edits.
    pub fn docs_mut(&mut self) -> &mut Vec<Map> {
        &mut self.docs
    }

    /// The metadata as read (or as last written).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The data key (for tests and key management).
    pub fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    /// The MAC computed over the decrypted values (upper-case hex).
    pub fn computed_mac(&self) -> &str {
        &self.computed_mac
    }

    /// The MAC stored in the file, decrypted (`None` if it could not be decrypted).
    pub fn stored_mac(&self) -> Option<&str> {
        self.stored_mac.as_deref()
    }

    /// The cleartext in `format` (usually the document's own).
    pub fn to_plain(&self, format: Format, opts: &EmitOptions) -> Vec<u8> {
        stores::emit_plain(format, &self.docs, opts)
    }

    /// A top-level value of the first document as text (strings as-is, other scalars in their
    /// canonical form); `None` if absent, null or a collection.
    pub fn get(&self, key: &str) -> Option<SecretString> {
        let v = self.docs.first().and_then(|d| tree::map_get(d, key))?;
        match v {
            Value::Str(t) => Some(SecretString::new(t.to_lossy().into_owned())),
            Value::Bool(b) => Some(SecretString::new(b.to_string())),
            Value::Null | Value::Map(_) | Value::Seq(_) | Value::Comment(_) => None,
            other => other
                .canonical()
                .map(|c| SecretString::new(String::from_utf8_lossy(&c).into_owned())),
        }
    }

    /// Sets a top-level string: replaces the first same-named key, else appends.
    pub fn set_string(&mut self, key: &str, value: &SecretString) {
        if self.docs.is_empty() {
            self.docs.push(Map::default());
        }
        let doc = &mut self.docs[0];
        let new = Value::Str(Text::from(value.expose()));
        match doc.iter_mut().find_map(|e| match e {
            Entry::Pair(k, v) if k == key => Some(v),
            _ => None,
        }) {
            Some(v) => *v = new,
            None => doc.push(Entry::Pair(key.to_owned(), new)),
        }
    }

    /// Removes a top-level key (every entry of that name); returns whether it existed.
    pub fn unset(&mut self, key: &str) -> bool {
        let Some(doc) = self.docs.first_mut() else {
            return false;
        };
        let before = doc.len();
        doc.retain(|e| e.key() != Some(key));
        before != doc.len()
    }

    /// Re-encrypts with the same data key: unchanged values keep their ciphertext, new
    /// `lastmodified` and MAC. Returns the file bytes.
    pub fn encrypt(&mut self, opts: &EmitOptions) -> Result<Vec<u8>> {
        let mut docs = self.docs.clone();
        let mac = encrypt_tree(&mut docs, &self.metadata, &self.data_key, &self.ivs);
        seal_metadata(&mut self.metadata, &mac, &self.data_key, &self.ivs);
        self.computed_mac = mac;
        Ok(stores::emit_encrypted(
            self.format,
            &docs,
            &self.metadata,
            opts,
        ))
    }

    /// Replaces the data key and re-wraps it for every master key of the file (`sops rotate`):
    /// age recipients here, the other kinds through `provider`.
    pub fn rotate(&mut self, provider: Option<&dyn MasterKeyProvider>) -> Result<()> {
        let (age, others) = key_specs(&self.metadata);
        let key = DataKey::generate();
        let others = keys::OtherKeys {
            groups: &others,
            provider,
        };
        self.metadata.key_groups =
            keys::wrap_data_key_with(&age, &others, self.metadata.shamir_threshold, &key)?;
        self.data_key = key;
        Ok(())
    }
}

/// The master keys of a file per group: age recipients, and the other kinds as specs (entries
/// without `enc`/`created_at`).
type KeySpecs = (Vec<Vec<String>>, Vec<Vec<(&'static str, Value)>>);

fn key_specs(meta: &Metadata) -> KeySpecs {
    let mut age = Vec::with_capacity(meta.key_groups.len());
    let mut others = Vec::with_capacity(meta.key_groups.len());
    for g in &meta.key_groups {
        let mut a = Vec::new();
        let mut o = Vec::new();
        for k in &g.keys {
            match k {
                keys::MasterKey::Age { recipient, .. } => a.push(recipient.clone()),
                keys::MasterKey::Other { kind, entry } => o.push((*kind, keys::spec_of(entry))),
            }
        }
        age.push(a);
        others.push(o);
    }
    (age, others)
}

/// Decrypts a file straight to cleartext bytes in `out_format` (the fast path of `decrypt`:
/// no IV table).
pub fn decrypt(
    src: &[u8],
    in_format: Format,
    out_format: Format,
    keys: &KeySource<'_>,
    opts: &DecryptOptions,
    emit: &EmitOptions,
) -> Result<(Vec<u8>, Vec<String>)> {
    let doc = Document::decrypt_inner(src, in_format, keys, opts, false)?;
    Ok((doc.to_plain(out_format, emit), doc.warnings))
}

/// Encrypts a plaintext file (new data key).
pub fn encrypt(
    src: &[u8],
    in_format: Format,
    out_format: Format,
    opts: &EncryptOptions,
    emit: &EmitOptions,
) -> Result<Vec<u8>> {
    let docs = stores::load_plain(in_format, src)?;
    encrypt_docs(docs, out_format, opts, emit)
}

fn encrypt_docs(
    mut docs: Vec<Map>,
    out_format: Format,
    opts: &EncryptOptions,
    emit: &EmitOptions,
) -> Result<Vec<u8>> {
    let key = DataKey::generate();
    let others = keys::OtherKeys {
        groups: &opts.other_keys,
        provider: opts
            .provider
            .as_ref()
            .map(|p| &*p.0 as &dyn MasterKeyProvider),
    };
    let key_groups = keys::wrap_data_key_with(&opts.groups, &others, opts.shamir_threshold, &key)?;
    let binary = out_format == Format::Binary;
    let mut metadata = Metadata {
        key_groups,
        shamir_threshold: opts.shamir_threshold,
        lastmodified: String::new(),
        mac: String::new(),
        rule: if binary {
            CryptRule::default()
        } else {
            opts.rule.clone().unwrap_or_default()
        },
        write_rule: !binary,
        mac_only_encrypted: opts.mac_only_encrypted,
        version: metadata::WRITER_VERSION.to_owned(),
    };
    let ivs = IvTable::default();
    let mac = encrypt_tree(&mut docs, &metadata, &key, &ivs);
    seal_metadata(&mut metadata, &mac, &key, &ivs);
    Ok(stores::emit_encrypted(out_format, &docs, &metadata, emit))
}

/// A brand-new encrypted YAML document from top-level string pairs, with full options (key
/// groups, Shamir threshold, crypt rule) — e.g. from a `.sops.yaml` creation rule.
pub fn new_yaml_document_with(
    pairs: &[(String, SecretString)],
    opts: &EncryptOptions,
) -> Result<Vec<u8>> {
    let doc: Map = pairs
        .iter()
        .map(|(k, v)| Entry::Pair(k.clone(), Value::Str(Text::from(v.expose()))))
        .collect();
    encrypt_docs(vec![doc], Format::Yaml, opts, &EmitOptions::default())
}

/// A brand-new encrypted YAML document holding `pairs` as top-level strings, for the given age
/// recipients (one key group, `unencrypted_suffix: _unencrypted`).
pub fn new_yaml_document(
    pairs: &[(String, SecretString)],
    recipients: &[String],
) -> Result<Vec<u8>> {
    let doc: Map = pairs
        .iter()
        .map(|(k, v)| Entry::Pair(k.clone(), Value::Str(Text::from(v.expose()))))
        .collect();
    encrypt_docs(
        vec![doc],
        Format::Yaml,
        &EncryptOptions::age(recipients),
        &EmitOptions::default(),
    )
}

/// Parses an encrypted file into its documents (values still encrypted) and metadata, without
/// any key. This is the entry point of the fuzz target.
pub fn parse_encrypted(src: &[u8], format: Format) -> Result<(Vec<Map>, Metadata)> {
    let (docs, meta) = stores::load_encrypted(format, src)?;
    Ok((docs, Metadata::from_map(&meta)?))
}

/// The top-level keys of a (plain or encrypted) file, without any key material. Never panics;
/// a corrupt file gives an error value.
pub fn top_level_keys(src: &[u8], format: Format) -> Result<Vec<String>> {
    stores::top_level_keys(format, src)
}

/// Re-wraps the data key of an encrypted file for the key groups of `opts` (`sops updatekeys`):
/// its age recipients, and its other master keys through `opts.provider`. Values,
/// `lastmodified` and the MAC stay as they are. Returns whether anything changed.
pub fn update_keys(
    src: &[u8],
    format: Format,
    keys: &KeySource<'_>,
    opts: &EncryptOptions,
    emit: &EmitOptions,
) -> Result<(Vec<u8>, bool)> {
    let (docs, meta_map) = stores::load_encrypted(format, src)?;
    let mut metadata = Metadata::from_map(&meta_map)?;
    let data_key = keys::recover_data_key(&metadata.key_groups, metadata.shamir_threshold, keys)?;
    let (current_age, current_other) = key_specs(&metadata);
    let groups = &opts.groups;
    let n = groups.len().max(opts.other_keys.len());
    let threshold = if n > 1 { opts.shamir_threshold } else { 0 };
    let other_of = |all: &[Vec<(&'static str, Value)>], i: usize| -> Vec<(&'static str, Value)> {
        all.get(i).cloned().unwrap_or_default()
    };
    let same_others = (0..n.max(current_other.len())).all(|i| {
        let (have, want) = (other_of(&current_other, i), other_of(&opts.other_keys, i));
        have.len() == want.len() && want.iter().all(|w| have.contains(w))
    });
    let same_age = (0..n.max(current_age.len())).all(|i| {
        current_age.get(i).cloned().unwrap_or_default()
            == groups.get(i).cloned().unwrap_or_default()
    });
    if same_age
        && same_others
        && metadata.key_groups.len() == n.max(1)
        && metadata.shamir_threshold == threshold
    {
        return Ok((src.to_vec(), false));
    }
    let others = keys::OtherKeys {
        groups: &opts.other_keys,
        provider: opts
            .provider
            .as_ref()
            .map(|p| &*p.0 as &dyn MasterKeyProvider),
    };
    metadata.key_groups = keys::wrap_data_key_with(groups, &others, threshold, &data_key)?;
    metadata.shamir_threshold = threshold;
    Ok((stores::emit_encrypted(format, &docs, &metadata, emit), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> (AgeIdentities, String) {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let mut ids = AgeIdentities::new();
        ids.add_text(id.to_string().expose_secret(), "test")
            .unwrap();
        (ids, id.to_public().to_string())
    }

    #[test]
    fn yaml_round_trip_keeps_unchanged_ciphertexts() {
        let (ids, r) = identity();
        let src = b"# c\na: hello\nnum: 42\nlist:\n    - x\n    - 2\nc_unencrypted: 7\n";
        let enc = encrypt(
            src,
            Format::Yaml,
            Format::Yaml,
            &EncryptOptions::age(&[r]),
            &EmitOptions::default(),
        )
        .unwrap();
        let keys = KeySource {
            age: &ids,
            provider: None,
        };
        let mut doc =
            Document::decrypt(&enc, Format::Yaml, &keys, &DecryptOptions::default()).unwrap();
        assert_eq!(doc.to_plain(Format::Yaml, &EmitOptions::default()), src);
        doc.set_string("b", &SecretString::from("new"));
        let again = doc.encrypt(&EmitOptions::default()).unwrap();
        let old = String::from_utf8(enc).unwrap();
        let new = String::from_utf8(again.clone()).unwrap();
        let a_line = |s: &str| s.lines().find(|l| l.starts_with("a: ")).map(str::to_owned);
        assert_eq!(a_line(&old), a_line(&new));
        let doc =
            Document::decrypt(&again, Format::Yaml, &keys, &DecryptOptions::default()).unwrap();
        assert_eq!(doc.get("b").unwrap().expose(), "new");
        assert_eq!(doc.get("num").unwrap().expose(), "42");
    }

    #[test]
    fn mac_aad_drops_fraction_keeps_offset() {
        assert_eq!(mac_aad("2024-01-01T00:00:00.5Z"), "2024-01-01T00:00:00Z");
        assert_eq!(
            mac_aad("2024-01-01T01:00:00+01:00"),
            "2024-01-01T01:00:00+01:00"
        );
    }
}
