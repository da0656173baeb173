//! Owns the PGP master keys of SOPS files (`pgp` entries), as sops handles them: the data key is
//! wrapped and unwrapped by the `gpg` program (`SOPS_GPG_EXEC`, else `gpg` on `PATH`) with the
//! user's keyring (`--homedir`: the provider's `gnupg_home` option, else `GNUPGHOME`, else
//! `~/.gnupg`) and gpg-agent, so passphrases, smartcards and pinentry work as with sops.
//!
//! Entries are written as sops writes them: `created_at`, `enc` (the ASCII-armored message,
//! trimmed) and `fp` (the fingerprint, spaces removed). Failures name the fingerprint and say
//! what to fix; gpg's own message is kept (it names no secret).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use crate::sops::keys::{complete_entry, entry_field};
use crate::sops::{MasterKeyProvider, Value};

/// The `pgp` master-key provider.
#[derive(Debug, Clone, Default)]
pub struct PgpProvider {
    /// The GnuPG home to use instead of `GNUPGHOME` / `~/.gnupg`.
    home: Option<PathBuf>,
}

impl PgpProvider {
    /// A provider using `home` as the GnuPG home when given. No I/O.
    pub fn new(home: Option<PathBuf>) -> Self {
        Self { home }
    }

    fn program() -> OsString {
        crate::env::var(crate::env::SOPS_GPG_EXEC)
            .map(OsString::from)
            .unwrap_or_else(|| OsString::from("gpg"))
    }

    /// The GnuPG home, as sops picks it: explicit, `GNUPGHOME`, then `~/.gnupg`.
    fn home(&self) -> Option<PathBuf> {
        self.home
            .clone()
            .or_else(|| crate::env::var(crate::env::GNUPGHOME).map(PathBuf::from))
            .or_else(|| crate::env::var(crate::env::HOME).map(|h| PathBuf::from(h).join(".gnupg")))
    }

    /// Runs gpg with `args`, `input` on stdin; stdout on success, else a sentence.
    fn gpg(&self, args: &[&str], input: &[u8]) -> Result<Zeroizing<Vec<u8>>, GpgError> {
        let program = Self::program();
        let mut cmd = Command::new(&program);
        if let Some(home) = self.home() {
            cmd.arg("--homedir").arg(home);
        }
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| GpgError::Spawn {
            program: program.to_string_lossy().into_owned(),
            message: e.to_string(),
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            // gpg may exit before reading everything (e.g. a bad key); its status says why.
            let _ = stdin.write_all(input);
        }
        let out = child.wait_with_output().map_err(|e| GpgError::Spawn {
            program: program.to_string_lossy().into_owned(),
            message: e.to_string(),
        })?;
        let stdout = Zeroizing::new(out.stdout);
        if out.status.success() {
            return Ok(stdout);
        }
        Err(GpgError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }

    fn home_text(&self) -> String {
        self.home()
            .map(|h| h.display().to_string())
            .unwrap_or_else(|| "the default GnuPG home".into())
    }

    fn unwrap_entry(&self, entry: &Value) -> Result<Zeroizing<Vec<u8>>, String> {
        let fp = entry_field(entry, "fp").ok_or("the `pgp` entry has no `fp`")?;
        let enc = entry_field(entry, "enc").ok_or("the `pgp` entry has no `enc`")?;
        self.gpg(&["--use-agent", "-d"], enc.as_bytes())
            .map_err(|e| match e {
                GpgError::Spawn { program, message } => spawn_message(&program, &message),
                GpgError::Failed(stderr) if stderr.contains("No secret key") || stderr.contains("no secret key") => format!(
                    "the secret key of PGP fingerprint {fp} is not in the GnuPG keyring at `{}` (hint: import it with `gpg --import`, or set GNUPGHOME to the keyring that has it)",
                    self.home_text()
                ),
                GpgError::Failed(stderr) => format!(
                    "gpg could not decrypt the data key for PGP fingerprint {fp}: {}",
                    one_line(&stderr)
                ),
            })
    }

    fn wrap(&self, spec: &Value, payload: &[u8]) -> Result<Value, String> {
        let fp = entry_field(spec, "fp").ok_or("the `pgp` key has no fingerprint")?;
        let short = &fp[fp.len().saturating_sub(16)..];
        let out = self
            .gpg(
                &[
                    "--no-default-recipient",
                    "--yes",
                    "--encrypt",
                    "-a",
                    "-r",
                    &fp,
                    "--trusted-key",
                    short,
                    "--no-encrypt-to",
                ],
                payload,
            )
            .map_err(|e| match e {
                GpgError::Spawn { program, message } => spawn_message(&program, &message),
                GpgError::Failed(stderr) => format!(
                    "gpg could not encrypt to PGP fingerprint {fp} with the keyring at `{}`: {} (hint: import the public key with `gpg --import`)",
                    self.home_text(),
                    one_line(&stderr)
                ),
            })?;
        let armored = String::from_utf8_lossy(&out).trim().to_owned();
        Ok(complete_entry("pgp", spec, &armored))
    }
}

enum GpgError {
    Spawn { program: String, message: String },
    Failed(String),
}

fn spawn_message(program: &str, message: &str) -> String {
    format!(
        "cannot run `{program}`: {message} (hint: install GnuPG, e.g. `apt-get install gnupg`, or set SOPS_GPG_EXEC to the gpg program)"
    )
}

/// gpg's stderr as one line (it prints one fact per line).
fn one_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "gpg failed without a message".into()
    } else {
        lines.join("; ")
    }
}

impl MasterKeyProvider for PgpProvider {
    fn decrypt(&self, kind: &str, entry: &Value) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        if kind != "pgp" {
            return Ok(None);
        }
        self.unwrap_entry(entry).map(Some)
    }

    fn encrypt(&self, kind: &str, spec: &Value, payload: &[u8]) -> Result<Option<Value>, String> {
        if kind != "pgp" {
            return Ok(None);
        }
        self.wrap(spec, payload).map(Some)
    }
}
