//! Owns master keys: age identities and recipients (via the `age` crate, armored), the seam for
//! other master-key kinds ([`MasterKeyProvider`]), key groups with sops-compatible Shamir
//! sharing, and recovering / wrapping the data key.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use rand::RngCore;
use zeroize::Zeroizing;

use super::cipher::DataKey;
use super::error::{FileRef, Result, SopsError};
use super::tree::Value;

/// The kinds of master keys a file may carry, in the order sops writes them in a group.
pub const KINDS: [&str; 6] = ["kms", "gcp_kms", "azure_kv", "hc_vault", "age", "pgp"];

/// The order of the kinds inside a `key_groups` item (sops's `keygroup` struct: `pgp` first).
pub const GROUP_KINDS: [&str; 6] = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "age"];

/// One master key entry of a key group.
#[derive(Clone, Debug, PartialEq)]
pub enum MasterKey {
    /// An age recipient and the armored age file holding the data key (or share).
    Age {
        /// The `age1…` recipient the data key was encrypted to.
        recipient: String,
        /// The armored age file holding the data key or share.
        enc: String,
    },
    /// Any other kind (`kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `pgp`), kept verbatim so that
    /// writing the metadata back preserves it.
    Other {
        /// The metadata list the entry came from (one of [`KINDS`] other than `age`).
        kind: &'static str,
        /// The whole entry, as read.
        entry: Value,
    },
}

impl MasterKey {
    /// The metadata list this key belongs to.
    pub fn kind(&self) -> &'static str {
        match self {
            MasterKey::Age { .. } => "age",
            MasterKey::Other { kind, .. } => kind,
        }
    }
}

/// A key group: every key wraps the same bytes (the data key, or this group's Shamir share).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    /// The group's master keys, in the order they are written.
    pub keys: Vec<MasterKey>,
}

/// Decrypts and encrypts master keys of kinds other than age, e.g. AWS KMS. Implement it to add
/// a kind; the codec calls it for every non-age entry.
pub trait MasterKeyProvider {
    /// Recovers the wrapped bytes of an entry of `kind`; `Ok(None)` when this provider does not
    /// handle that kind.
    fn decrypt(
        &self,
        kind: &str,
        entry: &Value,
    ) -> std::result::Result<Option<Zeroizing<Vec<u8>>>, String>;

    /// Wraps `payload` for the key described by `spec` (a metadata entry without `enc`) and
    /// returns the complete metadata entry; `Ok(None)` when this provider does not handle `kind`.
    fn encrypt(
        &self,
        kind: &str,
        spec: &Value,
        payload: &[u8],
    ) -> std::result::Result<Option<Value>, String> {
        let _ = (kind, spec, payload);
        Ok(None)
    }
}

/// Master keys of other kinds to create, per key group, and the provider that creates them.
#[derive(Default)]
pub struct OtherKeys<'a> {
    /// `(kind, spec)` per group, parallel to the age recipient groups.
    pub groups: &'a [Vec<(&'static str, Value)>],
    /// Who wraps them.
    pub provider: Option<&'a dyn MasterKeyProvider>,
}

/// Parsed age identities. `Debug` shows only the count.
#[derive(Default)]
pub struct AgeIdentities {
    ids: Vec<age::x25519::Identity>,
    /// Where the identities came from (for messages).
    pub sources: Vec<String>,
}

impl fmt::Debug for AgeIdentities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AgeIdentities({} keys from {:?})",
            self.ids.len(),
            self.sources
        )
    }
}

impl AgeIdentities {
    /// No identities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Parses an identity file's text (sops rules: one `AGE-SECRET-KEY-1…` per line, lines that
    /// are empty or start with `#` ignored, `\r\n` accepted, no other trimming) and adds them.
    pub fn add_text(&mut self, text: &str, source: &str) -> Result<()> {
        let err = |message: String| SopsError::AgeKey {
            what: "identity",
            source_name: source.to_owned(),
            message,
        };
        if text.starts_with("age-encryption") || text.starts_with("-----BEGIN AGE") {
            return Err(err(
                "passphrase-protected identity files are not supported".into()
            ));
        }
        let mut found = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("AGE-PLUGIN-") {
                return Err(err(format!(
                    "line {}: age plugins are not supported",
                    n + 1
                )));
            }
            let id = age::x25519::Identity::from_str(line).map_err(|_| {
                err(format!(
                    "line {} is not an `AGE-SECRET-KEY-1…` identity",
                    n + 1
                ))
            })?;
            found.push(id);
        }
        self.ids.extend(found);
        self.sources.push(source.to_owned());
        Ok(())
    }

    /// Reads an identity file and adds its identities. A file other users may read is used but
    /// warned about ([`loose_permissions`]).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        if let Some(warning) = loose_permissions(path) {
            crate::printer::queue_warning(warning);
        }
        let text = std::fs::read(path).map_err(|source| SopsError::Io {
            action: "read age key file",
            path: path.to_path_buf(),
            source,
        })?;
        let text = Zeroizing::new(text);
        let text = std::str::from_utf8(&text).map_err(|_| SopsError::AgeKey {
            what: "identity",
            source_name: path.display().to_string(),
            message: "the file is not UTF-8".into(),
        })?;
        self.add_text(text, &path.display().to_string())
    }

    /// Adds every identity of `other` (duplicates are skipped).
    pub fn extend(&mut self, other: AgeIdentities) {
        for id in other.ids {
            let public = id.to_public().to_string();
            if !self.ids.iter().any(|i| i.to_public().to_string() == public) {
                self.ids.push(id);
            }
        }
    }

    /// The public recipients of the identities (for messages and tests).
    pub fn recipients(&self) -> Vec<String> {
        self.ids.iter().map(|i| i.to_public().to_string()).collect()
    }
}

/// The warning for a private-key file that its group or other users can read (any of the
/// `0o077` bits set), naming the file and the fix; `None` when the mode is private or unknown.
pub fn loose_permissions(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "the age key file `{}` can be read by other users (mode {mode:04o})\n\
             hint: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

/// Where age identities come from, with explicit inputs (no environment access).
#[derive(Debug, Default, Clone)]
pub struct IdentitySources {
    /// Identity text (`SOPS_AGE_KEY`).
    pub inline: Option<Zeroizing<String>>,
    /// An identity file (`SOPS_AGE_KEY_FILE`).
    pub file: Option<PathBuf>,
    /// A command whose stdout is an identity file (`SOPS_AGE_KEY_CMD`).
    pub command: Option<String>,
    /// The default file `<user-config-dir>/sops/age/keys.txt`, used if it exists.
    pub default_file: Option<PathBuf>,
}

/// Loads identities from explicit sources. Like sops, every source is read and the identities
/// are combined; a broken source is an error.
pub fn load_identities(src: &IdentitySources) -> Result<AgeIdentities> {
    let mut ids = AgeIdentities::new();
    if let Some(text) = &src.inline {
        ids.add_text(text, "SOPS_AGE_KEY")?;
    }
    if let Some(file) = &src.file {
        ids.add_file(file)?;
    }
    if let Some(cmd) = &src.command {
        let out = run_key_command(cmd)?;
        ids.add_text(&out, "SOPS_AGE_KEY_CMD")?;
    }
    if let Some(file) = &src.default_file
        && file.is_file()
    {
        ids.add_file(file)?;
    }
    Ok(ids)
}

/// The sops precedence: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY_CMD`, then `<user-config-dir>/sops/age/keys.txt`.
pub fn identity_sources_from_env() -> IdentitySources {
    use crate::env;
    IdentitySources {
        inline: env::var(env::SOPS_AGE_KEY).map(Zeroizing::new),
        file: env::var(env::SOPS_AGE_KEY_FILE).map(PathBuf::from),
        command: env::var(env::SOPS_AGE_KEY_CMD),
        default_file: default_keys_file(),
    }
}

/// `<user-config-dir>/sops/age/keys.txt`: `XDG_CONFIG_HOME` when set, else the platform's
/// config folder as sops (Go's `os.UserConfigDir`) finds it — `~/.config` on Linux,
/// `~/Library/Application Support` on macOS.
pub fn default_keys_file() -> Option<PathBuf> {
    let dir = if cfg!(target_os = "macos") && crate::env::var(crate::env::XDG_CONFIG_HOME).is_none()
    {
        crate::env::var(crate::env::HOME)
            .map(|h| PathBuf::from(h).join("Library").join("Application Support"))
    } else {
        crate::env::user_config_dir()
    };
    dir.map(|d| d.join("sops").join("age").join("keys.txt"))
}

/// Loads identities following the sops precedence from the environment.
pub fn load_identities_from_env() -> Result<AgeIdentities> {
    load_identities(&identity_sources_from_env())
}

fn run_key_command(cmd: &str) -> Result<String> {
    let words = split_command(cmd);
    let err = |message: String| SopsError::AgeKey {
        what: "identity",
        source_name: "SOPS_AGE_KEY_CMD".into(),
        message,
    };
    let (prog, args) = words
        .split_first()
        .ok_or_else(|| err("the command is empty".into()))?;
    let out = std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| err(format!("cannot run `{prog}`: {e}")))?;
    if !out.status.success() {
        return Err(err(format!("`{prog}` failed with {}", out.status)));
    }
    String::from_utf8(out.stdout).map_err(|_| err("the output is not UTF-8".into()))
}

/// Splits a command line shell-like (whitespace, single and double quotes, backslash escapes).
fn split_command(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => cur.extend(chars.next()),
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                cur.extend(chars.next());
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Parses and checks an age recipient (`age1…`).
pub fn parse_recipient(recipient: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(recipient.trim()).map_err(|e| SopsError::AgeKey {
        what: "recipient",
        source_name: format!("`{}`", recipient.trim()),
        message: e.to_string(),
    })
}

/// Wraps `payload` for one age recipient as an armored age file (what sops stores in `enc`).
pub fn age_wrap(recipient: &str, payload: &[u8]) -> Result<String> {
    let r = parse_recipient(recipient)?;
    let werr = |e: &dyn fmt::Display| SopsError::Wrap {
        recipient: recipient.to_owned(),
        message: e.to_string(),
    };
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| werr(&e))?;
    let mut out = Vec::with_capacity(400);
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| werr(&e))?;
    let mut w = enc.wrap_output(armor).map_err(|e| werr(&e))?;
    w.write_all(payload).map_err(|e| werr(&e))?;
    let armor = w.finish().map_err(|e| werr(&e))?;
    armor.finish().map_err(|e| werr(&e))?;
    String::from_utf8(out).map_err(|e| werr(&e))
}

/// Unwraps an armored age file with any of the identities; `None` if none fits.
pub fn age_unwrap(enc: &str, ids: &AgeIdentities) -> Option<Zeroizing<Vec<u8>>> {
    if ids.ids.is_empty() {
        return None;
    }
    let dec = age::Decryptor::new(ArmoredReader::new(enc.as_bytes())).ok()?;
    let mut reader = dec
        .decrypt(ids.ids.iter().map(|i| i as &dyn age::Identity))
        .ok()?;
    let mut out = Zeroizing::new(Vec::with_capacity(33));
    reader.read_to_end(&mut out).ok()?;
    Some(out)
}

/// Keys available for decryption.
pub struct KeySource<'a> {
    /// The age identities to try.
    pub age: &'a AgeIdentities,
    /// Unwraps the non-age master keys; `None` means only age keys can be used.
    pub provider: Option<&'a dyn MasterKeyProvider>,
}

/// Recovers the data key: the one group's key, or the Shamir combination of the groups' shares.
pub fn recover_data_key(
    groups: &[KeyGroup],
    threshold: usize,
    keys: &KeySource<'_>,
) -> Result<DataKey> {
    let mut shares: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let mut tried = Tried::default();
    for group in groups {
        if let Some(share) = unwrap_group(group, keys, &mut tried) {
            shares.push(share);
        }
    }
    let no_key = |detail: String, kinds: &[&'static str]| SopsError::NoKey {
        file: FileRef::default(),
        detail,
        kinds: kinds.to_vec(),
    };
    let fail = |tried: &Tried| {
        if !tried.kinds.contains(&"age") && tried.errors.is_empty() && !tried.unsupported.is_empty()
        {
            return SopsError::UnsupportedMasterKey {
                file: FileRef::default(),
                kinds: tried.unsupported.join(", "),
            };
        }
        let mut parts = Vec::new();
        if tried.kinds.contains(&"age") {
            parts.push(if keys.age.is_empty() {
                "no age identity was found".to_owned()
            } else {
                format!(
                    "none of the {} age identities matches a recipient",
                    keys.age.len()
                )
            });
        }
        if !tried.unsupported.is_empty() {
            parts.push(format!(
                "{} master keys are not supported yet",
                tried.unsupported.join(", ")
            ));
        }
        parts.extend(tried.errors.iter().cloned());
        no_key(parts.join("; "), &tried.kinds)
    };
    if groups.is_empty() {
        return Err(no_key("the file lists no master keys".into(), &[]));
    }
    if groups.len() == 1 {
        let share = shares.pop().ok_or_else(|| fail(&tried))?;
        return DataKey::from_slice(&share)
            .ok_or_else(|| no_key("the recovered data key is not 32 bytes".into(), &[]));
    }
    let need = if threshold == 0 {
        groups.len()
    } else {
        threshold
    };
    if shares.len() < need {
        if shares.is_empty() {
            return Err(fail(&tried));
        }
        let mut detail = format!(
            "only {} of the {need} key groups needed could be decrypted",
            shares.len()
        );
        for e in &tried.errors {
            detail.push_str(&format!("; {e}"));
        }
        return Err(no_key(detail, &tried.kinds));
    }
    let secret = shamir_combine(&shares).map_err(|e| no_key(e, &[]))?;
    DataKey::from_slice(&secret)
        .ok_or_else(|| no_key("the combined data key is not 32 bytes".into(), &[]))
}

/// What was tried while recovering the data key, for the error message.
#[derive(Default)]
struct Tried {
    /// Every master-key kind met (age first).
    kinds: Vec<&'static str>,
    /// Kinds no provider handles.
    unsupported: Vec<&'static str>,
    /// One line per failed master key (`pgp FP: …`).
    errors: Vec<String>,
}

impl Tried {
    fn saw(&mut self, kind: &'static str) {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
    }
}

/// A short name of a master key for messages: the fingerprint, ARN, key URI, resource ID or key
/// URL.
pub fn describe_entry(kind: &str, entry: &Value) -> String {
    let f = |k: &str| entry_field(entry, k).unwrap_or_default();
    match kind {
        "pgp" => f("fp"),
        "kms" => f("arn"),
        "gcp_kms" => f("resource_id"),
        "hc_vault" => format!(
            "{}/v1/{}/keys/{}",
            f("vault_address"),
            f("engine_path"),
            f("key_name")
        ),
        "azure_kv" => {
            let v = f("version");
            if v.is_empty() {
                format!("{}/keys/{}", f("vault_url"), f("name"))
            } else {
                format!("{}/keys/{}/{v}", f("vault_url"), f("name"))
            }
        }
        _ => String::new(),
    }
}

/// A string field of a master-key entry (`None` when absent or empty).
pub fn entry_field(entry: &Value, key: &str) -> Option<String> {
    let Value::Map(m) = entry else { return None };
    m.iter()
        .find_map(|e| match e {
            super::tree::Entry::Pair(k, v) if k == key => match v {
                Value::Str(t) => Some(t.to_lossy().into_owned()),
                Value::Time(t) => Some(super::tree::format_time(t)),
                _ => None,
            },
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

/// A master-key entry without its wrapped data key (`enc`) and `created_at`: what names the key,
/// as a creation rule would give it.
pub fn spec_of(entry: &Value) -> Value {
    match entry {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|e| !matches!(e.key(), Some("enc" | "created_at")))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The complete metadata entry of a freshly wrapped key: `spec` plus `created_at` (now, UTC,
/// RFC 3339) and `enc`, in the field order sops writes for `kind` (`pgp`: created_at, enc, fp;
/// `kms`: …, created_at, enc, aws_profile; the others: their fields, then created_at, enc).
pub fn complete_entry(kind: &str, spec: &Value, enc: &str) -> Value {
    use super::tree::Entry;
    let created = Entry::Pair(
        "created_at".into(),
        Value::str(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    let enc = Entry::Pair("enc".into(), Value::str(enc));
    let fields: Vec<Entry> = match spec {
        Value::Map(m) => m
            .iter()
            .filter(|e| !matches!(e.key(), Some("enc" | "created_at")))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::with_capacity(fields.len() + 2);
    match kind {
        "pgp" => {
            out.push(created);
            out.push(enc);
            out.extend(fields);
        }
        "kms" => {
            let at = fields
                .iter()
                .position(|e| e.key() == Some("aws_profile"))
                .unwrap_or(fields.len());
            let mut fields = fields;
            let tail = fields.split_off(at);
            out.extend(fields);
            out.push(created);
            out.push(enc);
            out.extend(tail);
        }
        _ => {
            out.extend(fields);
            out.push(created);
            out.push(enc);
        }
    }
    Value::Map(out)
}

fn unwrap_group(
    group: &KeyGroup,
    keys: &KeySource<'_>,
    tried: &mut Tried,
) -> Option<Zeroizing<Vec<u8>>> {
    // sops tries age first, then pgp, then the rest in their held order.
    for key in &group.keys {
        if let MasterKey::Age { enc, .. } = key {
            tried.saw("age");
            if let Some(v) = age_unwrap(enc, keys.age) {
                return Some(v);
            }
        }
    }
    let others = group.keys.iter().filter(|k| k.kind() == "pgp").chain(
        group
            .keys
            .iter()
            .filter(|k| !matches!(k.kind(), "pgp" | "age")),
    );
    for key in others {
        if let MasterKey::Other { kind, entry } = key {
            tried.saw(kind);
            match keys.provider.map(|p| p.decrypt(kind, entry)) {
                Some(Ok(Some(v))) => return Some(v),
                Some(Err(e)) => tried
                    .errors
                    .push(format!("{kind} key `{}`: {e}", describe_entry(kind, entry))),
                Some(Ok(None)) | None => {
                    if !tried.unsupported.contains(kind) {
                        tried.unsupported.push(kind);
                    }
                }
            }
        }
    }
    None
}

/// Wraps `payload` for age recipients and for other master keys through `provider` (which
/// must handle every kind asked for).
pub fn wrap_group_with(
    recipients: &[String],
    others: &[(&'static str, Value)],
    provider: Option<&dyn MasterKeyProvider>,
    payload: &[u8],
) -> Result<KeyGroup> {
    let mut keys = Vec::with_capacity(recipients.len() + others.len());
    for (kind, spec) in others {
        let unsupported = || SopsError::UnsupportedMasterKey {
            file: FileRef::default(),
            kinds: (*kind).to_owned(),
        };
        let entry = provider
            .ok_or_else(unsupported)?
            .encrypt(kind, spec, payload)
            .map_err(|message| SopsError::Wrap {
                recipient: format!("{kind} key `{}`", describe_entry(kind, spec)),
                message,
            })?
            .ok_or_else(unsupported)?;
        keys.push(MasterKey::Other { kind, entry });
    }
    for r in recipients {
        keys.push(MasterKey::Age {
            recipient: r.trim().to_owned(),
            enc: age_wrap(r, payload)?,
        });
    }
    Ok(KeyGroup { keys })
}

/// Wraps a data key for recipient groups: one group gets the key, several get Shamir shares.
pub fn wrap_data_key(
    groups: &[Vec<String>],
    threshold: usize,
    key: &DataKey,
) -> Result<Vec<KeyGroup>> {
    wrap_data_key_with(groups, &OtherKeys::default(), threshold, key)
}

/// [`wrap_data_key`] with other master keys (e.g. AWS KMS) in the groups as well.
pub fn wrap_data_key_with(
    groups: &[Vec<String>],
    others: &OtherKeys<'_>,
    threshold: usize,
    key: &DataKey,
) -> Result<Vec<KeyGroup>> {
    let other_of = |i: usize| others.groups.get(i).map_or(&[][..], Vec::as_slice);
    let n = groups.len().max(others.groups.len());
    if n == 0 || (0..n).all(|i| groups.get(i).is_none_or(Vec::is_empty) && other_of(i).is_empty()) {
        return Err(SopsError::NoRecipients {
            file: FileRef::default(),
        });
    }
    let age_of = |i: usize| groups.get(i).map_or(&[][..], Vec::as_slice);
    if n == 1 {
        return Ok(vec![wrap_group_with(
            age_of(0),
            other_of(0),
            others.provider,
            key.expose(),
        )?]);
    }
    let k = if threshold == 0 { n } else { threshold };
    if k < 2 || k > n {
        return Err(SopsError::Usage {
            message: format!("shamir threshold {k} is invalid for {} key groups", n),
        });
    }
    let shares = shamir_split(key.expose(), n, k);
    shares
        .iter()
        .enumerate()
        .map(|(i, share)| wrap_group_with(age_of(i), other_of(i), others.provider, share))
        .collect()
}

// --- Shamir secret sharing over GF(2^8) with the AES polynomial (sops / HashiCorp layout). ---

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn gf_inv(a: u8) -> u8 {
    // a^254 = a^-1 in GF(2^8).
    let mut r = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 == 1 {
            r = gf_mul(r, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    r
}

/// Splits `secret` into `n` shares (threshold `k`); share `i` has x = i + 1 as its last byte.
pub fn shamir_split(secret: &[u8], n: usize, k: usize) -> Vec<Zeroizing<Vec<u8>>> {
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..n)
        .map(|i| {
            let mut v = Zeroizing::new(vec![0u8; secret.len() + 1]);
            v[secret.len()] = (i + 1) as u8;
            v
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; k.max(1)]);
    for (j, &s) in secret.iter().enumerate() {
        coeffs[0] = s;
        rand::rngs::OsRng.fill_bytes(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner evaluation.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = gf_mul(y, x) ^ c;
            }
            share[j] = y;
        }
    }
    shares
}

/// Combines shares (x = last byte) by Lagrange interpolation at 0.
pub fn shamir_combine(
    shares: &[Zeroizing<Vec<u8>>],
) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    let first = shares.first().ok_or("no shares")?;
    let len = first.len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err("the shares have different or invalid lengths".into());
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if *x == 0 || xs[..i].contains(x) {
            return Err("duplicate or zero share coordinates".into());
        }
    }
    let mut out = Zeroizing::new(vec![0u8; len - 1]);
    for (i, share) in shares.iter().enumerate() {
        // basis_i(0) = prod_{m != i} x_m / (x_m ^ x_i)
        let mut basis = 1u8;
        for (m, &xm) in xs.iter().enumerate() {
            if m != i {
                basis = gf_mul(basis, gf_mul(xm, gf_inv(xm ^ xs[i])));
            }
        }
        for (o, &y) in out.iter_mut().zip(share[..len - 1].iter()) {
            *o ^= gf_mul(y, basis);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shamir_round_trips_with_any_threshold_subset() {
        let secret: Vec<u8> = (0u8..32).collect();
        let shares = shamir_split(&secret, 3, 2);
        for pair in [[0, 1], [1, 2], [0, 2]] {
            let subset: Vec<_> = pair.iter().map(|&i| shares[i].clone()).collect();
            assert_eq!(&shamir_combine(&subset).unwrap()[..], &secret[..]);
        }
        let all = shamir_combine(&shares).unwrap();
        assert_eq!(&all[..], &secret[..]);
        let one = shamir_combine(&shares[..1]).unwrap();
        assert_ne!(&one[..], &secret[..]);
    }

    #[test]
    fn gf_inverse_is_an_inverse() {
        for a in 1..=255u8 {
            assert_eq!(gf_mul(a, gf_inv(a)), 1);
        }
    }

    #[test]
    fn identity_text_follows_sops_rules() {
        let id = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret;
        let line = id.to_string().expose_secret().to_owned();
        let mut ids = AgeIdentities::new();
        ids.add_text(&format!("# comment\n\n{line}\r\n"), "test")
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert!(ids.add_text(&format!("{line} "), "test").is_err());
        assert!(!format!("{ids:?}").contains("AGE-SECRET"));
        let enc = age_wrap(&id.to_public().to_string(), b"payload").unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert_eq!(&age_unwrap(&enc, &ids).unwrap()[..], b"payload");
        assert!(age_unwrap(&enc, &AgeIdentities::new()).is_none());
    }

    #[test]
    fn command_splitting() {
        assert_eq!(
            split_command(r#"cat "a b" 'c d' e\ f"#),
            ["cat", "a b", "c d", "e f"]
        );
    }
}
