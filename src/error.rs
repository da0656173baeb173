//! Owns the top-level [`Error`]: what failed, why, how to fix it, and which exit code it maps to.
//!
//! Every module keeps its own `thiserror` enum with typed fields (file, store, key) and implements
//! [`Diagnose`] to add a `hint:` and an exit class. `commands/` and `lib.rs` convert those into
//! [`Error`] with `?`; `lib.rs` renders it once, on stderr.
//!
//! Messages are lowercase, put literals in backticks, end without a period and never contain a
//! secret value.

use std::fmt;

/// Exit codes. Documented in `docs/exit-codes.md`.
pub mod code {
    /// Success.
    pub const OK: u8 = 0;
    /// Bad user input, a failed validation, a backend error.
    pub const FAILURE: u8 = 1;
    /// Usage error (unknown flag, missing argument) or an unexpected internal error.
    pub const USAGE: u8 = 2;
    /// SOPS: a value could not be decrypted (same as `sops`).
    pub const SOPS_DECRYPT: u8 = 25;
    /// SOPS: MAC mismatch or MAC not decryptable (same as `sops`).
    pub const SOPS_MAC: u8 = 51;
    /// SOPS: the document is empty (same as `sops`).
    pub const SOPS_EMPTY: u8 = 92;
    /// An internal error: the process panicked (the message is withheld, see `hardening`).
    pub const PANIC: u8 = 70;
    /// `exec`/`shell`: the command was not found.
    pub const COMMAND_NOT_FOUND: u8 = 127;
    /// SOPS: no master key could recover the data key (same as `sops`).
    pub const SOPS_NO_KEY: u8 = 128;
    /// SOPS: the file is already encrypted (same as `sops`).
    pub const SOPS_ALREADY_ENCRYPTED: u8 = 203;
}

/// Implemented by every module error so the top level can add hints and pick an exit code.
pub trait Diagnose: std::error::Error {
    /// A one-line suggestion that fixes the problem, printed as `hint: …`.
    fn hint(&self) -> Option<String> {
        None
    }
    /// The process exit code this error maps to.
    fn exit_code(&self) -> u8 {
        code::FAILURE
    }
}

/// A rendered, user-facing error.
#[derive(Debug)]
pub struct Error {
    message: String,
    causes: Vec<String>,
    hints: Vec<String>,
    exit_code: u8,
}

impl Error {
    /// A new error with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
            exit_code: code::FAILURE,
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(message).with_code(code::USAGE)
    }

    /// Adds a `hint:` line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Adds a `hint:` line when there is one.
    #[must_use]
    pub fn with_hint_if(mut self, hint: Option<String>) -> Self {
        self.hints.extend(hint);
        self
    }

    /// Adds a cause line below the message.
    #[must_use]
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// Sets the exit code.
    #[must_use]
    pub fn with_code(mut self, exit_code: u8) -> Self {
        self.exit_code = exit_code;
        self
    }

    /// Wraps this error under a new headline; the old headline becomes the first cause.
    #[must_use]
    pub fn context(mut self, message: impl Into<String>) -> Self {
        let old = std::mem::replace(&mut self.message, message.into());
        self.causes.insert(0, old);
        self
    }

    /// The headline.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hints.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The exit code.
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }

    /// Renders `error: …`, indented causes and `hint: …` lines.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        for cause in &self.causes {
            out.push_str(&format!("  caused by: {cause}\n"));
        }
        for hint in &self.hints {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl<E: Diagnose> From<E> for Error {
    fn from(err: E) -> Self {
        let mut causes = Vec::new();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !err.to_string().contains(&text) {
                causes.push(text);
            }
            source = s.source();
        }
        Self {
            message: err.to_string(),
            causes,
            hints: err.hint().into_iter().collect(),
            exit_code: err.exit_code(),
        }
    }
}

/// Result alias for command code.
pub type Result<T, E = Error> = std::result::Result<T, E>;
