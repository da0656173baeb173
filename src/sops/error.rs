//! Owns [`SopsError`]: every way the codec can fail, with the file and key path where known, and
//! the `sops`-compatible exit code of each.

use std::path::PathBuf;

use crate::error::{Diagnose, code};

/// Result alias of the codec.
pub type Result<T, E = SopsError> = std::result::Result<T, E>;

/// Displays an optional file as ` in <file>` (empty when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRef(pub Option<PathBuf>);

impl std::fmt::Display for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(p) => write!(f, " in `{}`", p.display()),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong in the SOPS codec. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// The input could not be parsed in its format.
    #[error("cannot parse {format} input{file}: {message}")]
    Parse {
        /// The file being processed, when known.
        file: FileRef,
        /// The input format that failed to parse (`yaml`, `json`, …).
        format: &'static str,
        /// The parser's description of the problem.
        message: String,
    },
    /// The file has no `sops` metadata (it is not encrypted).
    #[error("no sops metadata found{file}")]
    NotEncrypted {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// The metadata is malformed.
    #[error("invalid sops metadata{file}: {message}")]
    Metadata {
        /// The file being processed, when known.
        file: FileRef,
        /// What is wrong with the metadata.
        message: String,
    },
    /// The plaintext already carries a `sops` entry.
    #[error("file already encrypted{file}: it contains a top-level entry called `sops`")]
    AlreadyEncrypted {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// Nothing to encrypt or decrypt.
    #[error("the document is empty{file}")]
    Empty {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// An encrypted value failed to decrypt (wrong AAD, corrupt data, bad syntax).
    #[error("could not decrypt value at `{key_path}`{file}: {reason}")]
    DecryptValue {
        /// The file being processed, when known.
        file: FileRef,
        /// The path of the failing value in the document.
        key_path: String,
        /// Why decryption failed (never the value itself).
        reason: String,
    },
    /// The stored MAC could not be decrypted.
    #[error("cannot decrypt the mac{file}: `lastmodified` or `mac` was modified")]
    MacDecrypt {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// The computed MAC differs from the stored one.
    #[error("mac mismatch{file}: the file was modified outside sops")]
    MacMismatch {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// No master key could recover the data key.
    #[error("no key could recover the data key{file}: {detail}")]
    NoKey {
        /// The file being processed, when known.
        file: FileRef,
        /// Which identities were tried and why each failed.
        detail: String,
        /// The master-key kinds the file has (`age`, `pgp`, …), for the hint.
        kinds: Vec<&'static str>,
    },
    /// The data key could only come from master keys this build cannot use yet.
    #[error("{kinds} master keys are not supported yet{file}")]
    UnsupportedMasterKey {
        /// The file being processed, when known.
        file: FileRef,
        /// The unsupported master-key kinds, comma-separated (e.g. `kms, pgp`).
        kinds: String,
    },
    /// An age identity or recipient is malformed.
    #[error("invalid age {what} from {source_name}: {message}")]
    AgeKey {
        /// Which kind of key was malformed: `identity` or `recipient`.
        what: &'static str,
        /// Where the key came from: a file, an environment variable or the recipient text.
        source_name: String,
        /// The age parser's description of the problem.
        message: String,
    },
    /// Encryption needs at least one recipient.
    #[error("no recipients to encrypt for{file}")]
    NoRecipients {
        /// The file being processed, when known.
        file: FileRef,
    },
    /// A master-key operation failed.
    #[error("cannot wrap the data key for {recipient}: {message}")]
    Wrap {
        /// The recipient the data key was being wrapped for.
        recipient: String,
        /// Why wrapping failed.
        message: String,
    },
    /// A `["a"]["b"]` path is malformed or does not exist.
    #[error("{message}")]
    Path {
        /// What is wrong with the path.
        message: String,
    },
    /// `.sops.yaml` is malformed or has no matching rule.
    #[error("{message} (config `{}`)", path.display())]
    Config {
        /// The `.sops.yaml` file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being attempted, as a verb phrase (`read`, `write`, …).
        action: &'static str,
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Bad option combination.
    #[error("{message}")]
    Usage {
        /// Which options conflict or are missing.
        message: String,
    },
}

impl SopsError {
    /// Attaches a file path to errors that carry one and do not have it yet.
    #[must_use]
    pub fn in_file(mut self, path: &std::path::Path) -> Self {
        use SopsError::*;
        match &mut self {
            Parse { file, .. }
            | NotEncrypted { file }
            | Metadata { file, .. }
            | AlreadyEncrypted { file }
            | Empty { file }
            | DecryptValue { file, .. }
            | MacDecrypt { file }
            | MacMismatch { file }
            | NoKey { file, .. }
            | UnsupportedMasterKey { file, .. }
            | NoRecipients { file }
                if file.0.is_none() =>
            {
                file.0 = Some(path.to_path_buf());
            }
            _ => {}
        }
        self
    }

    pub(crate) fn parse(format: &'static str, message: impl Into<String>) -> Self {
        SopsError::Parse {
            file: FileRef::default(),
            format,
            message: message.into(),
        }
    }

    pub(crate) fn metadata(message: impl Into<String>) -> Self {
        SopsError::Metadata {
            file: FileRef::default(),
            message: message.into(),
        }
    }
}

impl Diagnose for SopsError {
    fn hint(&self) -> Option<String> {
        use SopsError::*;
        Some(match self {
            MacMismatch { .. } => {
                "re-encrypt from a trusted copy, or pass `--ignore-mac` to read it anyway".into()
            }
            MacDecrypt { .. } => {
                "`sops.lastmodified` or `sops.mac` was edited; restore them or use `--ignore-mac`"
                    .into()
            }
            DecryptValue { .. } => {
                "an encrypted value was edited or moved to another key; restore it from version control"
                    .into()
            }
            NoKey { kinds, .. } => no_key_hint(kinds),
            UnsupportedMasterKey { .. } => {
                "this build of atmos cannot use that kind of master key; decrypt with another key of the file, or use a build with the matching feature".into()
            }
            AlreadyEncrypted { .. } => "decrypt it first, or edit it with `atmos sops set`".into(),
            NotEncrypted { .. } => "encrypt it first with `atmos sops encrypt`".into(),
            NoRecipients { .. } => {
                "pass `--age age1…` or add a matching creation rule to `.sops.yaml`".into()
            }
            Empty { .. } => "add at least one key".into(),
            _ => return None,
        })
    }

    fn exit_code(&self) -> u8 {
        use SopsError::*;
        match self {
            MacMismatch { .. } | MacDecrypt { .. } => code::SOPS_MAC,
            DecryptValue { .. } => code::SOPS_DECRYPT,
            NoKey { .. } | UnsupportedMasterKey { .. } => code::SOPS_NO_KEY,
            AlreadyEncrypted { .. } => code::SOPS_ALREADY_ENCRYPTED,
            Empty { .. } => code::SOPS_EMPTY,
            _ => code::FAILURE,
        }
    }
}

/// What to check for each kind of master key a file has (age when none is known).
fn no_key_hint(kinds: &[&str]) -> String {
    let one = |kind: &str| -> &'static str {
        match kind {
            "pgp" => {
                "import the PGP secret key of the fingerprint into your GnuPG keyring (`gpg --import`) or point `GNUPGHOME` at the keyring that has it"
            }
            "hc_vault" => {
                "check `VAULT_TOKEN` (or `~/.vault-token`) and that Vault answers at the key's `vault_address`"
            }
            "kms" => {
                "check the AWS credentials (the provider's `identity` or the default chain) and their `kms:Decrypt` permission"
            }
            "gcp_kms" => {
                "check the GCP credentials (the provider's `identity` or application default credentials) and their permission to decrypt with the key"
            }
            "azure_kv" => {
                "check the Azure credentials (the provider's `identity`) and their permission to unwrap with the key"
            }
            _ => {
                "provide the matching age identity via `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` or `~/.config/sops/age/keys.txt`"
            }
        }
    };
    if kinds.is_empty() {
        return one("age").to_owned();
    }
    let mut seen: Vec<&str> = Vec::new();
    for k in kinds {
        let h = one(k);
        if !seen.contains(&h) {
            seen.push(h);
        }
    }
    seen.join("; or ")
}
