//! Owns everything that leaves the process on stdout/stderr, and the masking of it.
//!
//! stdout is the data channel, stderr the UI channel (status lines, warnings, errors). Every byte
//! goes through the [`Masker`] first: secret values registered by the commands (and their common
//! encodings) become `<MASKED>` unless masking is off. Files and child environments are never
//! masked; they do not pass through here (a child of `secret exec` inherits the terminal).
//!
//! Configuration comes in two steps and never as clap types: [`Settings`] (flags and
//! environment, built by `lib.rs`) when the printer is made, then [`Printer::apply_config`] with
//! `atmos.yaml`'s `settings:` once a command has loaded it. The flag wins over the file.
//!
//! [`Masker::mask`] is a pure text-to-text function over the registered literals; a streaming
//! redactor (e.g. for `exec` output) can wrap it by holding back the longest literal's length.

// The one module allowed to write to stdout/stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secret_value::SecretString;
use crate::yaml::{Map, Node};

/// Warnings raised where no printer is at hand (store construction, config loading); the
/// printer shows them on stderr, masked, at the next flush.
static QUEUED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Queues a warning for the printer.
pub fn queue_warning(message: String) {
    if let Ok(mut q) = QUEUED.lock()
        && !q.contains(&message)
    {
        q.push(message);
    }
}

/// Where [`debug`] lines go: `None` unless `--logs-level` is Debug or Trace.
static DEBUG_SINK: std::sync::Mutex<Option<DebugSink>> = std::sync::Mutex::new(None);

enum DebugSink {
    Stderr,
    File(std::fs::File),
}

/// Whether [`debug`] lines are shown.
pub fn debug_enabled() -> bool {
    DEBUG_SINK.lock().is_ok_and(|s| s.is_some())
}

/// Writes `DEBUG <line>` to stderr (or the `--logs-file`) when `--logs-level` is Debug or
/// Trace; `line` is only built then. For code far from the printer (a backend retrying a
/// throttled call). Lines must never hold a secret value: they name stores, keys, operations
/// and causes only.
pub fn debug(line: impl FnOnce() -> String) {
    let Ok(mut sink) = DEBUG_SINK.lock() else {
        return;
    };
    let Some(sink) = sink.as_mut() else {
        return;
    };
    let text = format!("DEBUG {}\n", line());
    match sink {
        DebugSink::Stderr => write_ignoring_broken_pipe(&mut io::stderr().lock(), text.as_bytes()),
        DebugSink::File(f) => write_ignoring_broken_pipe(f, text.as_bytes()),
    }
}

/// The default replacement text.
pub const MASK: &str = "<MASKED>";

/// Replaces registered secret literals in text.
#[derive(Default)]
pub struct Masker {
    enabled: bool,
    replacement: String,
    literals: Vec<SecretString>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("enabled", &self.enabled)
            .field("literals", &self.literals.len())
            .finish()
    }
}

impl Masker {
    /// A masker; `enabled = false` passes text through.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            replacement: MASK.to_owned(),
            literals: Vec::new(),
        }
    }

    /// Whether masking is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Sets the replacement text (`settings.terminal.mask.replacement`).
    pub fn set_replacement(&mut self, replacement: &str) {
        replacement.clone_into(&mut self.replacement);
    }

    /// Turns masking on or off.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Registers a secret value and its encoded forms: base64 (std, url, with and without
    /// padding), URL query escaping and JSON string escaping.
    pub fn register(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        for v in forms(value) {
            if !v.is_empty() && !self.literals.iter().any(|l| l.expose() == v) {
                self.literals.push(SecretString::new(v));
            }
        }
        // Longest first so that a value containing another is replaced whole.
        self.literals
            .sort_by_key(|l| std::cmp::Reverse(l.expose().len()));
    }

    /// Registers every leaf of a JSON value.
    pub fn register_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.register(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| self.register_json(v)),
            serde_json::Value::Object(o) => o.values().for_each(|v| self.register_json(v)),
            serde_json::Value::Null => {}
            other => self.register(&other.to_string()),
        }
    }

    /// Whether masking leaves every text as it is (disabled, or no value registered).
    fn idle(&self) -> bool {
        !self.enabled || self.literals.is_empty()
    }

    /// Applies masking to `text`. Short values (`SHORT`, 7 characters or fewer) are replaced
    /// only where they stand as a whole token (not inside a longer word), so that a secret such
    /// as `a` or `imp` does not garble every message; longer values are replaced wherever they
    /// appear. The copy is wiped when dropped (unmasked, it is the secret itself; each
    /// intermediate copy is wiped too).
    pub fn mask(&self, text: &str) -> Zeroizing<String> {
        let mut out = Zeroizing::new(text.to_owned());
        if self.idle() {
            return out;
        }
        for lit in &self.literals {
            let lit = lit.expose();
            if !out.contains(lit) {
                continue;
            }
            out = Zeroizing::new(if lit.chars().count() > SHORT {
                out.replace(lit, &self.replacement)
            } else {
                replace_tokens(&out, lit, &self.replacement)
            });
        }
        out
    }
}

/// `value` and the encoded forms the masker replaces: base64 (std, url, with and without
/// padding), URL query escaping and JSON string escaping; duplicates removed, never empty.
pub fn forms(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    let e = base64::engine::general_purpose::STANDARD;
    let mut out: Vec<String> = Vec::new();
    for v in [
        value.to_owned(),
        e.encode(value),
        base64::engine::general_purpose::URL_SAFE.encode(value),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(value),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
        query_escape(value),
        json_inner(value),
    ] {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Values up to this many characters are masked only as whole tokens.
const SHORT: usize = 7;

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn replace_tokens(text: &str, lit: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(lit) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + lit.len()..].chars().next();
        let first = lit.chars().next().is_some_and(is_word);
        let last = lit.chars().next_back().is_some_and(is_word);
        let whole = !(first && before.is_some_and(is_word) || last && after.is_some_and(is_word));
        out.push_str(&rest[..i]);
        out.push_str(if whole { replacement } else { lit });
        rest = &rest[i + lit.len()..];
    }
    out.push_str(rest);
    out
}

fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn json_inner(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// Which UI lines are shown (`--logs-level`). Errors are always shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Everything below, plus [`debug`] lines from deep inside (a backend's retries). Trace
    /// and Debug map here.
    Debug,
    /// Info, success, warning and failure lines.
    #[default]
    Info,
    /// Warnings and failures only.
    Warning,
    /// Failure lines only.
    Off,
}

/// How the printer behaves, from flags and environment (no clap types here).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--mask` / `ATMOS_MASK` when given; it wins over `settings.terminal.mask.enabled`.
    pub mask: Option<bool>,
    /// CI mode: revealed values are announced to the runner with `::add-mask::` first.
    pub ci: bool,
    /// `--logs-level`.
    pub level: Level,
    /// `--logs-file`: UI lines go here (appended) instead of stderr.
    pub logs_file: Option<std::path::PathBuf>,
    /// `--no-color` / `NO_COLOR`: no colour, no progress bars.
    pub plain: bool,
    /// Where CI workflow commands go when not to the current stderr: the process' original
    /// stderr, kept before `--redirect-stderr` moved fd 2 (the runner reads the original).
    pub ci_sink: Option<std::sync::Arc<std::fs::File>>,
}

/// The only writer of stdout and stderr.
#[derive(Debug)]
pub struct Printer {
    /// The masker applied to everything printed.
    pub masker: Masker,
    mask_flag: Option<bool>,
    quiet: bool,
    ci: bool,
    level: Level,
    logs_file: Option<std::sync::Mutex<std::fs::File>>,
    plain: bool,
    /// Forms already announced with `::add-mask::` (each is announced once).
    announced: Vec<SecretString>,
    /// A progress bar is on the terminal's last line (status lines clear it first).
    bar: std::cell::Cell<bool>,
    ci_sink: Option<std::sync::Arc<std::fs::File>>,
}

impl Printer {
    /// A printer from the flags: masking is on unless `--mask=false` / `ATMOS_MASK=false`. A
    /// logs file that cannot be opened leaves UI lines on stderr, with a warning.
    pub fn from_settings(settings: &Settings) -> Self {
        let logs_file = settings.logs_file.as_ref().and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    queue_warning(format!(
                        "cannot open the logs file `{}`: {e}; logging to stderr",
                        path.display()
                    ));
                })
                .ok()
                .map(std::sync::Mutex::new)
        });
        if let Ok(mut sink) = DEBUG_SINK.lock() {
            *sink = (settings.level == Level::Debug).then(|| {
                match logs_file
                    .as_ref()
                    .and_then(|f| f.lock().ok().and_then(|f| f.try_clone().ok()))
                {
                    Some(file) => DebugSink::File(file),
                    None => DebugSink::Stderr,
                }
            });
        }
        Self {
            masker: Masker::new(settings.mask.unwrap_or(true)),
            mask_flag: settings.mask,
            quiet: false,
            ci: settings.ci,
            level: settings.level,
            logs_file,
            plain: settings.plain,
            announced: Vec::new(),
            bar: std::cell::Cell::new(false),
            ci_sink: settings.ci_sink.clone(),
        }
    }

    /// Whether CI mode is on.
    pub fn ci(&self) -> bool {
        self.ci
    }

    /// Declares that `value` is about to leave the process in clear text (`get --mask=false`,
    /// `pull`, `describe --mask=false`, a child's environment). It is registered with the masker
    /// (our own masked output still hides it) and, in CI mode, announced to the runner first: one
    /// `::add-mask::` line on stderr per line, JSON/YAML leaf and encoded form of the value.
    pub fn reveal(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        self.masker.register(value);
        if !self.ci {
            return;
        }
        let mut text = String::new();
        for candidate in crate::ci::mask_candidates(value) {
            self.masker.register(&candidate);
            for form in forms(&candidate) {
                if !self.announced.iter().any(|a| a.expose() == form) {
                    text.push_str(&crate::ci::add_mask(&form));
                    self.announced.push(SecretString::new(form));
                }
            }
        }
        self.write_ci(text.as_bytes());
    }

    /// Workflow commands go to the original stderr (see [`Settings::ci_sink`]).
    fn write_ci(&self, bytes: &[u8]) {
        match &self.ci_sink {
            Some(file) => write_ignoring_broken_pipe(&mut &**file, bytes),
            None => write_ignoring_broken_pipe(&mut io::stderr().lock(), bytes),
        }
    }

    /// [`Printer::reveal`] for every leaf of a JSON value.
    pub fn reveal_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.reveal(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| self.reveal_json(v)),
            serde_json::Value::Object(o) => o.values().for_each(|v| self.reveal_json(v)),
            serde_json::Value::Null => {}
            other => self.reveal(&other.to_string()),
        }
    }

    /// Writes a CI workflow command line (`::error …`) to stderr, masked (the runner reads
    /// workflow commands from both streams; stderr keeps stdout for data such as a JUnit report).
    pub fn ci_command(&self, line: &str) {
        let mut text = self.masker.mask(line);
        text.push('\n');
        self.write_ci(text.as_bytes());
    }

    /// Shows `done/total` progress for a long run on stderr, only on a terminal (never in CI,
    /// under `--no-color`/`NO_COLOR`, or when UI lines go to a logs file). `done == total`
    /// clears the bar.
    pub fn progress(&self, label: &str, done: usize, total: usize) {
        if self.plain
            || self.ci
            || self.quiet
            || self.logs_file.is_some()
            || self.level == Level::Off
            || total < 2
            || !io::stderr().is_terminal()
        {
            return;
        }
        self.bar.set(done < total);
        let text = if done >= total {
            "\r\x1b[2K".to_owned()
        } else {
            const WIDTH: usize = 24;
            let filled = done * WIDTH / total;
            format!(
                "\r\x1b[2K{label} [{}{}] {done}/{total}",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled)
            )
        };
        write_ignoring_broken_pipe(&mut io::stderr().lock(), text.as_bytes());
    }

    /// A printer for tests.
    pub fn new(mask: bool) -> Self {
        Self::from_settings(&Settings {
            mask: Some(mask),
            ..Settings::default()
        })
    }

    /// Applies `atmos.yaml` `settings.terminal.mask.{enabled,replacement}`: masking is the flag
    /// when given, else `enabled`, else on; a non-empty `replacement` replaces `<MASKED>`.
    pub fn apply_config(&mut self, settings: &Map) {
        let mask = settings.get("terminal").and_then(|t| t.get("mask"));
        let enabled = mask.and_then(|m| m.get("enabled")).and_then(Node::as_bool);
        self.masker
            .set_enabled(self.mask_flag.unwrap_or_else(|| enabled.unwrap_or(true)));
        if let Some(r) = mask
            .and_then(|m| m.get("replacement"))
            .and_then(Node::as_str)
            .filter(|r| !r.is_empty())
        {
            self.masker.set_replacement(r);
        }
    }

    /// Whether stdout is a terminal (tables for people, tab-separated rows for pipes).
    pub fn stdout_is_terminal(&self) -> bool {
        io::stdout().is_terminal()
    }

    /// Writes data to stdout (masked). A closed pipe is not an error.
    pub fn stdout(&self, text: &str) {
        let mut out = io::stdout().lock();
        if self.masker.idle() {
            // Nothing to mask: written as it is, not copied (a whole-tree listing is megabytes).
            write_ignoring_broken_pipe(&mut out, text.as_bytes());
        } else {
            write_ignoring_broken_pipe(&mut out, self.masker.mask(text).as_bytes());
        }
    }

    /// Writes `parts` to stdout one after another (masked): the text is their concatenation,
    /// which is only made when there is something to mask. Without, the parts go out through
    /// one 64 KiB buffer (a whole-tree listing is megabytes in hundreds of parts), wiped when
    /// done: a part may be a rendered `!secret` value (`describe`).
    pub fn stdout_parts(&self, parts: &[&str]) {
        if !self.masker.idle() {
            // The joined text may hold what the masker replaces: wiped when dropped.
            self.stdout(&Zeroizing::new(parts.concat()));
            return;
        }
        const CAP: usize = 1 << 16;
        let mut out = io::stdout().lock();
        let mut buf = Zeroizing::new(Vec::with_capacity(CAP));
        for part in parts {
            if buf.len() + part.len() > CAP && !buf.is_empty() {
                write_ignoring_broken_pipe(&mut out, &buf);
                buf.clear();
            }
            if part.len() >= CAP {
                write_ignoring_broken_pipe(&mut out, part.as_bytes());
            } else {
                buf.extend_from_slice(part.as_bytes());
            }
        }
        if !buf.is_empty() {
            write_ignoring_broken_pipe(&mut out, &buf);
        }
    }

    /// Writes raw bytes to stdout without masking (decrypted files the user asked for).
    pub fn stdout_bytes(&self, bytes: &[u8]) {
        write_ignoring_broken_pipe(&mut io::stdout().lock(), bytes);
    }

    /// Writes a UI line to stderr, or to the `--logs-file` (masked).
    pub fn status(&self, line: &str) {
        if self.quiet {
            return;
        }
        let mut text = self.masker.mask(line);
        text.push('\n');
        if self.bar.replace(false) {
            text.insert_str(0, "\r\x1b[2K");
        }
        if let Some(file) = &self.logs_file
            && let Ok(mut f) = file.lock()
        {
            write_ignoring_broken_pipe(&mut *f, text.as_bytes());
            return;
        }
        write_ignoring_broken_pipe(&mut io::stderr().lock(), text.as_bytes());
    }

    /// `✓ line` on stderr.
    pub fn success(&self, line: &str) {
        if self.level <= Level::Info {
            self.status(&format!("✓ {line}"));
        }
    }

    /// `⚠ line` on stderr.
    pub fn warn(&self, line: &str) {
        if self.level <= Level::Warning {
            self.status(&format!("⚠ {line}"));
        }
    }

    /// `✗ line` on stderr.
    pub fn fail(&self, line: &str) {
        self.status(&format!("✗ {line}"));
    }

    /// `ℹ line` on stderr.
    pub fn info(&self, line: &str) {
        if self.level <= Level::Info {
            self.status(&format!("ℹ {line}"));
        }
    }

    /// Prints queued warnings.
    pub fn flush_warnings(&self) {
        let queued = QUEUED
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        for w in queued {
            self.warn(&w);
        }
    }

    /// Renders an error on stderr.
    pub fn error(&self, err: &Error) {
        let mut text = self.masker.mask(&err.render());
        if self.bar.replace(false) {
            text.insert_str(0, "\r\x1b[2K");
        }
        write_ignoring_broken_pipe(&mut io::stderr().lock(), text.as_bytes());
    }
}

/// Shows prompt text (a question, a menu) on stderr, unmasked and flushed at once; prompts
/// never contain a value. Unlike the status lines, a failed write is returned: a prompt that
/// cannot be shown must not wait for an answer.
pub fn show_prompt(text: &str) -> io::Result<()> {
    let mut err = io::stderr().lock();
    err.write_all(text.as_bytes())?;
    err.flush()
}

fn write_ignoring_broken_pipe(w: &mut impl Write, bytes: &[u8]) {
    let _ = w.write_all(bytes).and_then(|()| w.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_encoded_forms() {
        let mut m = Masker::new(true);
        m.register("p@ss word");
        assert_eq!(m.mask("x p@ss word y").as_str(), "x <MASKED> y");
        assert_eq!(m.mask("cEBzcyB3b3Jk").as_str(), "<MASKED>");
        assert_eq!(m.mask("a=p%40ss+word").as_str(), "a=<MASKED>");
    }

    #[test]
    fn short_values_mask_only_whole_tokens() {
        let mut m = Masker::new(true);
        m.register("imp");
        assert_eq!(m.mask("Would import `X`").as_str(), "Would import `X`");
        assert_eq!(m.mask("X=imp\n").as_str(), "X=<MASKED>\n");
        assert_eq!(m.mask("\"imp\"").as_str(), "\"<MASKED>\"");
    }

    #[test]
    fn disabled_masker_passes_through() {
        let mut m = Masker::new(false);
        m.register("secret");
        assert_eq!(m.mask("secret").as_str(), "secret");
    }

    #[test]
    fn atmos_yaml_masking_applies_unless_the_flag_decided() {
        let settings = match crate::yaml::parse(
            "terminal:\n  mask:\n    enabled: false\n    replacement: '***'\n",
            "atmos.yaml",
        )
        .unwrap()
        {
            Node::Map(m) => m,
            other => panic!("{other:?}"),
        };
        let mut p = Printer::from_settings(&Settings::default());
        assert!(p.masker.enabled());
        p.apply_config(&settings);
        assert!(!p.masker.enabled());

        let mut p = Printer::from_settings(&Settings {
            mask: Some(true),
            ..Settings::default()
        });
        p.apply_config(&settings);
        p.masker.register("hunter2-secret");
        assert!(p.masker.enabled());
        assert_eq!(p.masker.mask("x hunter2-secret").as_str(), "x ***");

        let mut p = Printer::from_settings(&Settings::default());
        p.apply_config(&Map::default());
        assert!(p.masker.enabled());
    }
}
