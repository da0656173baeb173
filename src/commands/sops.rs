//! `atmos sops decrypt|encrypt|set|unset|rotate|updatekeys`: the SOPS codec for people who have
//! no `sops` binary. Behaves like the matching `sops` commands (same exit codes); keys come from
//! the sops precedence (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`, the default
//! keys file); `.sops.yaml` is looked up from the current directory. In-place writes are atomic
//! and locked ([`crate::fsx`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::cli::{
    SopsCommand, SopsDecryptArgs, SopsEncryptArgs, SopsFileArgs, SopsFormatArgs, SopsSetArgs,
    SopsUnsetArgs, SopsUpdatekeysArgs,
};
use crate::error::{Error, Result};
use crate::fsx;
use crate::printer::Printer;
use crate::sops::path::{self as tpath, Step};
use crate::sops::{
    self, AgeIdentities, Config, CryptRule, DecryptOptions, Document, EmitOptions, EncryptOptions,
    Format, KeySource, SopsError, Value,
};

/// Runs one `atmos sops` subcommand.
pub fn run(cmd: SopsCommand, printer: &mut Printer) -> Result<u8> {
    match cmd {
        SopsCommand::Decrypt(a) => decrypt(a, printer),
        SopsCommand::Encrypt(a) => encrypt(a, printer),
        SopsCommand::Set(a) => set(a, printer),
        SopsCommand::Unset(a) => unset(a, printer),
        SopsCommand::Rotate(a) => rotate(a, printer),
        SopsCommand::Updatekeys(a) => updatekeys(a, printer),
    }
}

fn formats(args: &SopsFormatArgs, file: &Path) -> (Format, Format) {
    let input = Format::resolve(args.input_type.as_deref(), file);
    let output = args.output_type.as_deref().map_or(input, Format::from_name);
    (input, output)
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).map_err(|source| {
        Error::from(SopsError::Io {
            action: "read",
            path: file.to_path_buf(),
            source,
        })
    })
}

/// The nearest `.sops.yaml` from the current directory (sops semantics). A malformed config is
/// an error for every command, as in sops.
fn config() -> Result<Option<Config>> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current directory: {e}")))?;
    match sops::find_config(&cwd) {
        Some(p) => Ok(Some(Config::load(&p)?)),
        None => Ok(None),
    }
}

fn emit_options(cfg: Option<&Config>) -> EmitOptions {
    cfg.map(|c| c.stores).unwrap_or_default()
}

/// The master keys other than age for `atmos sops`, as with the `sops` binary: AWS KMS with
/// the SDK's default credential chain (environment, profiles, `AWS_ENDPOINT_URL`), PGP through
/// `gpg` (`GNUPGHOME`), Vault transit (`VAULT_TOKEN`). Clients are built on first use only.
fn keys_arc() -> &'static std::sync::Arc<crate::store::sops_keys::MasterKeys> {
    static KEYS: std::sync::OnceLock<std::sync::Arc<crate::store::sops_keys::MasterKeys>> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        std::sync::Arc::new(crate::store::sops_keys::MasterKeys::new(
            None,
            std::sync::Arc::new(crate::config::AuthConfig::default()),
            &crate::store::sops_keys::KeyOptions::default(),
        ))
    })
}

fn keys_shared() -> std::sync::Arc<crate::store::sops_keys::MasterKeys> {
    keys_arc().clone()
}

fn master_keys() -> &'static dyn sops::MasterKeyProvider {
    keys_arc().as_ref()
}

fn identities() -> Result<AgeIdentities> {
    Ok(sops::load_identities_from_env()?)
}

fn ctx(err: SopsError, file: &Path) -> Error {
    Error::from(err.in_file(file))
}

fn write_out(printer: &Printer, output: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match output {
        Some(p) => fsx::write_atomic(p, bytes, fsx::SECRET_MODE).map_err(|source| {
            Error::from(SopsError::Io {
                action: "write",
                path: p.to_path_buf(),
                source,
            })
        }),
        None => {
            printer.stdout_bytes(bytes);
            Ok(())
        }
    }
}

/// Adapts the error type of [`fsx::with_locked`]: its I/O errors, or the edit's own.
enum LockedError {
    Io(std::io::Error),
    Edit(Error),
}

impl From<std::io::Error> for LockedError {
    fn from(e: std::io::Error) -> Self {
        LockedError::Io(e)
    }
}

fn locked_edit<T>(
    file: &Path,
    f: impl FnOnce(Option<Vec<u8>>) -> Result<(Option<Vec<u8>>, T)>,
) -> Result<T> {
    fsx::with_locked(file, fsx::SECRET_MODE, |cur| {
        f(cur).map_err(LockedError::Edit)
    })
    .map_err(|e| match e {
        LockedError::Edit(e) => e,
        LockedError::Io(e) => {
            let (cause, hint) = fsx::write_error(&e, file);
            Error::new(format!("cannot update `{}`: {cause}", file.display())).with_hint_if(hint)
        }
    })
}

fn decrypt(a: SopsDecryptArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let (input, output) = formats(&a.format, &a.file);
    let bytes = read(&a.file)?;
    let ids = identities()?;
    let keys = KeySource {
        age: &ids,
        provider: Some(master_keys()),
    };
    let opts = DecryptOptions {
        ignore_mac: a.ignore_mac,
    };
    let out = match &a.extract {
        None => {
            let (out, warnings) = sops::decrypt(&bytes, input, output, &keys, &opts, &emit)
                .map_err(|e| ctx(e, &a.file))?;
            for w in warnings {
                printer.warn(&w);
            }
            out
        }
        Some(path) => {
            let steps = tpath::parse_path(path)?;
            let doc =
                Document::decrypt(&bytes, input, &keys, &opts).map_err(|e| ctx(e, &a.file))?;
            for w in &doc.warnings {
                printer.warn(w);
            }
            let first = doc.docs().first().cloned().unwrap_or_default();
            let value = tpath::get(&first, &steps).ok_or_else(|| {
                Error::new(format!("path `{path}` not found in `{}`", a.file.display()))
            })?;
            extract_bytes(value, output, &emit)
        }
    };
    write_out(printer, a.output.as_deref(), &out)?;
    Ok(0)
}

fn extract_bytes(value: &Value, format: Format, emit: &EmitOptions) -> Vec<u8> {
    match value {
        Value::Map(m) => sops::stores::emit_plain(format, std::slice::from_ref(m), emit),
        Value::Seq(s) => match format {
            Format::Json => {
                let wrapped = vec![sops::Entry::Pair("v".into(), value.clone())];
                let text = sops::json::emit(&wrapped, "\t");
                // Unwrap `{"v": [...]}` → `[...]`.
                let inner = text
                    .trim_end()
                    .strip_prefix("{\n\t\"v\": ")
                    .and_then(|t| t.strip_suffix("\n}"))
                    .unwrap_or(&text)
                    .replace("\n\t", "\n");
                format!("{inner}\n").into_bytes()
            }
            _ => sops::yaml::emit_seq(s, emit.yaml_indent).into_bytes(),
        },
        Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => t.as_bytes().to_vec(),
        Value::Null => b"null".to_vec(),
        Value::Bool(b) => b.to_string().into_bytes(),
        other => other.canonical().map(|c| c.to_vec()).unwrap_or_default(),
    }
}

/// The crypt rule given by flags (at most one).
fn flag_rule(a: &SopsEncryptArgs) -> Result<Option<CryptRule>> {
    let fields = [
        ("unencrypted_suffix", &a.unencrypted_suffix),
        ("encrypted_suffix", &a.encrypted_suffix),
        ("unencrypted_regex", &a.unencrypted_regex),
        ("encrypted_regex", &a.encrypted_regex),
        ("unencrypted_comment_regex", &a.unencrypted_comment_regex),
        ("encrypted_comment_regex", &a.encrypted_comment_regex),
    ];
    let set: Vec<(&str, &String)> = fields
        .iter()
        .filter_map(|(f, v)| v.as_ref().map(|v| (*f, v)))
        .collect();
    match set.as_slice() {
        [] => Ok(None),
        [(f, v)] => Ok(Some(CryptRule::from_field(f, v).map_err(Error::usage)?)),
        _ => Err(Error::usage(
            "cannot use more than one of the crypt rule options (suffix/regex flags)",
        )),
    }
}

/// Encryption options: `--age` replaces the rule's keys; crypt flags merge with the rule.
fn encrypt_options(a: &SopsEncryptArgs, cfg: Option<&Config>) -> Result<EncryptOptions> {
    let rule = cfg.and_then(|c| c.rule_for(&a.file));
    // `SOPS_AGE_RECIPIENTS` is the default of `--age`, as in sops.
    let age: Vec<String> = if a.age.is_empty() {
        crate::env::var(crate::env::SOPS_AGE_RECIPIENTS)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        a.age.clone()
    };
    // Key flags replace the rule's keys, as in sops; `SOPS_PGP_FP` / `SOPS_VAULT_URIS` are
    // their defaults.
    let from_env = |flag: &[String], var: &str| -> Vec<String> {
        if !flag.is_empty() {
            return flag.to_vec();
        }
        crate::env::var(var)
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let pgp = from_env(&a.pgp, crate::env::SOPS_PGP_FP);
    let vault = from_env(&a.hc_vault_transit, crate::env::SOPS_VAULT_URIS);
    let mut flag_keys: Vec<(&'static str, Value)> = Vec::new();
    for (kind, values) in [("pgp", &pgp), ("hc_vault", &vault)] {
        for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            flag_keys.push((
                kind,
                sops::config::master_key_spec(kind, v).map_err(Error::usage)?,
            ));
        }
    }
    let mut opts = if !age.is_empty() || !flag_keys.is_empty() {
        let mut o = EncryptOptions::age(&age);
        if !flag_keys.is_empty() {
            o.other_keys = vec![flag_keys];
        }
        if let Some(r) = rule {
            o.rule = r.crypt_rule.clone();
            o.mac_only_encrypted = r.mac_only_encrypted;
        }
        o
    } else {
        match (cfg, rule) {
            (_, Some(r)) => EncryptOptions::from_rule(r).map_err(|e| ctx(e, &a.file))?,
            (Some(c), None) if !c.creation_rules.is_empty() => {
                return Err(Error::new(format!(
                    "no matching creation rules found for `{}` in `{}`",
                    a.file.display(),
                    c.path.display()
                ))
                .with_hint("add a rule whose `path_regex` matches the file, or pass `--age`"));
            }
            _ => {
                return Err(ctx(
                    SopsError::NoRecipients {
                        file: Default::default(),
                    },
                    &a.file,
                ));
            }
        }
    };
    if let Some(flag) = flag_rule(a)? {
        if let Some(existing) = &opts.rule
            && existing.field().0 != flag.field().0
        {
            return Err(Error::usage(format!(
                "cannot use more than one of `{}` (from .sops.yaml) and `--{}`",
                existing.field().0,
                flag.field().0.replace('_', "-")
            )));
        }
        opts.rule = Some(flag);
    }
    if let Some(t) = a.shamir_secret_sharing_threshold {
        opts.shamir_threshold = t;
    }
    opts.mac_only_encrypted |= a.mac_only_encrypted;
    opts.provider = Some(sops::SharedProvider(keys_shared()));
    Ok(opts)
}

fn encrypt(a: SopsEncryptArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let opts = encrypt_options(&a, cfg.as_ref())?;
    let (input, output) = formats(&a.format, &a.file);
    if output == Format::Binary && opts.rule.is_some() && input != Format::Binary {
        printer.warn("the binary store ignores crypt rules");
    }
    if a.in_place {
        locked_edit(&a.file, |cur| {
            let cur =
                cur.ok_or_else(|| Error::new(format!("`{}` does not exist", a.file.display())))?;
            let out =
                sops::encrypt(&cur, input, output, &opts, &emit).map_err(|e| ctx(e, &a.file))?;
            Ok((Some(out), ()))
        })?;
        return Ok(0);
    }
    let bytes = read(&a.file)?;
    let out = sops::encrypt(&bytes, input, output, &opts, &emit).map_err(|e| ctx(e, &a.file))?;
    write_out(printer, a.output.as_deref(), &out)?;
    Ok(0)
}

fn set_value(a: &SopsSetArgs) -> Result<Value> {
    let text = match (&a.value, a.value_stdin, &a.value_file) {
        (Some(v), false, None) => v.clone(),
        (None, true, None) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::new(format!("cannot read the value from stdin: {e}")))?;
            s
        }
        (None, false, Some(f)) => String::from_utf8(read(f)?)
            .map_err(|_| Error::new(format!("`{}` is not UTF-8", f.display())))?,
        _ => {
            return Err(Error::usage(
                "give exactly one of VALUE, `--value-stdin` and `--value-file`",
            ));
        }
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::usage(format!("the value is not valid JSON: {e}"))
            .with_hint("quote strings as JSON, e.g. '\"text\"'")
    })?;
    Ok(tpath::from_json(&json))
}

fn decrypt_for_edit(
    cur: Option<Vec<u8>>,
    file: &Path,
    format: Format,
    ignore_mac: bool,
) -> Result<Document> {
    let cur = cur.ok_or_else(|| Error::new(format!("`{}` does not exist", file.display())))?;
    let ids = identities()?;
    let keys = KeySource {
        age: &ids,
        provider: Some(master_keys()),
    };
    Document::decrypt(&cur, format, &keys, &DecryptOptions { ignore_mac }).map_err(|e| ctx(e, file))
}

fn set(a: SopsSetArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let steps: Vec<Step> = tpath::parse_path(&a.path)?;
    let value = set_value(&a)?;
    let (input, _) = formats(&a.format, &a.file);
    let changed = locked_edit(&a.file, |cur| {
        let mut doc = decrypt_for_edit(cur, &a.file, input, a.ignore_mac)?;
        for w in &doc.warnings {
            printer.warn(w);
        }
        if doc.docs().is_empty() {
            doc.docs_mut().push(sops::Map::default());
        }
        let changed = tpath::set(&mut doc.docs_mut()[0], &steps, value)?;
        if !changed && a.idempotent {
            return Ok((None, false));
        }
        Ok((Some(doc.encrypt(&emit)?), true))
    })?;
    if !changed {
        printer.info("the value is unchanged; file not written");
    }
    Ok(0)
}

fn unset(a: SopsUnsetArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let steps = tpath::parse_path(&a.path)?;
    let (input, _) = formats(&a.format, &a.file);
    locked_edit(&a.file, |cur| {
        let mut doc = decrypt_for_edit(cur, &a.file, input, a.ignore_mac)?;
        for w in &doc.warnings {
            printer.warn(w);
        }
        let existed = match doc.docs_mut().first_mut() {
            Some(d) => tpath::unset(d, &steps)?,
            None => false,
        };
        if !existed {
            if a.idempotent {
                return Ok((None, ()));
            }
            return Err(Error::new(format!(
                "key not found: `{}` in `{}`",
                a.path,
                a.file.display()
            )));
        }
        Ok((Some(doc.encrypt(&emit)?), ()))
    })?;
    Ok(0)
}

fn rotate(a: SopsFileArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let (input, _) = formats(&a.format, &a.file);
    let rotate_bytes = |cur: Option<Vec<u8>>| -> Result<Vec<u8>> {
        let mut doc = decrypt_for_edit(cur, &a.file, input, false)?;
        doc.rotate(Some(master_keys()))
            .map_err(|e| ctx(e, &a.file))?;
        Ok(doc.encrypt(&emit)?)
    };
    if a.in_place {
        locked_edit(&a.file, |cur| Ok((Some(rotate_bytes(cur)?), ())))?;
    } else {
        let out = rotate_bytes(Some(read(&a.file)?))?;
        printer.stdout_bytes(&out);
    }
    Ok(0)
}

fn updatekeys(a: SopsUpdatekeysArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config()?;
    let emit = emit_options(cfg.as_ref());
    let cfg = cfg.ok_or_else(|| {
        Error::new("no `.sops.yaml` found from the current directory").with_hint(
            "`updatekeys` re-wraps the data key for the recipients of the matching creation rule",
        )
    })?;
    let rule = cfg.rule_for(&a.file).ok_or_else(|| {
        Error::new(format!(
            "no matching creation rules found for `{}` in `{}`",
            a.file.display(),
            cfg.path.display()
        ))
    })?;
    let mut opts = EncryptOptions::from_rule(rule).map_err(|e| ctx(e, &a.file))?;
    opts.provider = Some(sops::SharedProvider(keys_shared()));
    let (input, _) = formats(&a.format, &a.file);
    let ids = identities()?;
    let path: PathBuf = a.file.clone();
    let changed = locked_edit(&path, |cur| {
        let cur =
            cur.ok_or_else(|| Error::new(format!("`{}` does not exist", a.file.display())))?;
        let keys = KeySource {
            age: &ids,
            provider: Some(master_keys()),
        };
        let (out, changed) =
            sops::update_keys(&cur, input, &keys, &opts, &emit).map_err(|e| ctx(e, &a.file))?;
        Ok((changed.then_some(out), changed))
    })?;
    if changed {
        printer.success(&format!("updated the keys of `{}`", a.file.display()));
    } else {
        printer.info(&format!(
            "`{}` already has the keys of its creation rule",
            a.file.display()
        ));
    }
    Ok(0)
}
