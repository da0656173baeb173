//! The one test harness shared by the integration-test binaries (`tests/cli`, `tests/lib`):
//!
//! - [`Atmos`]: a builder that runs the built `atmos` binary with a cleared environment (only
//!   `PATH` survives), explicit args/env/stdin/cwd, and returns a [`Run`] to assert on.
//! - [`TestContext`]: a temp project (a copy of a `fixtures/` project, or empty) with its own
//!   HOME/XDG, `CI=true` so no prompt can appear, and env vars applied to every run.
//! - [`require`]: a missing tool or server is a loud failure naming it, never a silent pass.
//! - [`wait_until`]: waits on a condition with a bounded deadline instead of a fixed sleep.
//! - [`vectors_dir`] / [`sops_bin`]: the in-repo SOPS vectors and the real sops binary.

#![allow(dead_code, reason = "each test binary uses the parts it needs")]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A value that must only ever appear where the user asked for it.
pub const SENTINEL: &str = "zebra-Sentinel-9f3k";

/// The hint every "missing tool or server" failure ends with.
pub const INSTALL_HINT: &str = "hint: run bash .ci/test, which installs it";

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The SOPS test vectors made by the real sops 3.11 (`tests/vectors/sops`, see its README).
pub fn vectors_dir() -> PathBuf {
    repo().join("tests/vectors/sops")
}

/// Fails the test loudly when a tool or server the test needs is missing.
#[track_caller]
pub fn require<T>(what: &str, found: Option<T>) -> T {
    found.unwrap_or_else(|| panic!("{what} is not available; {INSTALL_HINT}"))
}

/// Polls `cond` every 20 ms until it holds; fails naming `what` after `limit`.
#[track_caller]
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The real sops binary (`SOPS_BIN`, `.svc/sops`, `PATH`), looked up once per test binary.
/// Missing sops fails the calling test (it is never skipped).
#[track_caller]
pub fn sops_bin() -> PathBuf {
    static SOPS: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = SOPS.get_or_init(|| {
        let candidates = [
            std::env::var("SOPS_BIN").ok().map(PathBuf::from),
            Some(repo().join(".svc/sops/bin/sops")),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|c| c.is_file())
            .or_else(|| {
                let path = std::env::var_os("PATH")?;
                std::env::split_paths(&path)
                    .map(|d| d.join("sops"))
                    .find(|p| p.is_file())
            })
    });
    require("the real sops binary (SOPS_BIN)", found.clone())
}

/// One run of `atmos`, built up before it starts.
pub struct Atmos {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Atmos {
    /// `atmos <args>` with an empty environment except `PATH`, in the current directory.
    pub fn new<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_atmos"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        Self { cmd, stdin: None }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// Appends arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd.args(args);
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes one environment variable (even `PATH`).
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// `HOME=<home>` and `XDG_CONFIG_HOME=<xdg>`.
    pub fn home(self, home: &Path, xdg: &Path) -> Self {
        self.env("HOME", home).env("XDG_CONFIG_HOME", xdg)
    }

    /// The working directory.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Bytes fed to stdin (otherwise stdin is `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The command itself, for tests that spawn and signal it.
    pub fn into_command(self) -> Command {
        self.cmd
    }

    /// Runs to completion; raw bytes (for binary output).
    pub fn output(mut self) -> Output {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn the atmos binary");
        if let Some(bytes) = &self.stdin {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(bytes)
                .expect("write stdin");
        }
        child.wait_with_output().expect("wait for atmos")
    }

    /// Runs to completion; text output to assert on.
    pub fn run(self) -> Run {
        Run::from(self.output())
    }
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and returns self.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The arguments of `secret get NAME -s STACK -c COMPONENT --mask=false`.
pub fn get_args<'a>(name: &'a str, stack: &'a str, component: &'a str) -> [&'a str; 8] {
    [
        "secret",
        "get",
        name,
        "-s",
        stack,
        "-c",
        component,
        "--mask=false",
    ]
}

/// A temp project with its own HOME (`<project>/home`), deleted on drop.
pub struct TestContext {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl TestContext {
    /// An empty project directory (with `home/`).
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Self {
            dir,
            envs: vec![(
                "ATMOS_KEYRING_PASSWORD".into(),
                "test-keyring-password".into(),
            )],
        }
    }

    /// A copy of `fixtures/<name>`.
    pub fn fixture(name: &str) -> Self {
        let p = Self::empty();
        copy_dir(&repo().join("fixtures").join(name), p.path());
        p
    }

    /// The quickstart project with its vault key generated.
    pub fn quickstart() -> Self {
        let p = Self::fixture("quickstart");
        p.run(&["secret", "keygen", "local-sops"]).ok();
        p
    }

    /// The quickstart project with `dev`/`api`'s three declared secrets set: `DB_PASSWORD`,
    /// `SHARED_TOKEN` and `LICENSE_KEY`, in that order.
    pub fn quickstart_api(values: [&str; 3]) -> Self {
        let p = Self::quickstart();
        for (name, value) in ["DB_PASSWORD", "SHARED_TOKEN", "LICENSE_KEY"]
            .iter()
            .zip(values)
        {
            p.set(name, value, "dev", "api");
        }
        p
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the project.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `text` to `rel`, creating parent folders.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Adds an environment variable to every later run.
    pub fn env(&mut self, k: &str, v: &str) {
        self.envs.push((k.into(), v.into()));
    }

    /// `atmos <args>` in the project, isolated: HOME/XDG inside the project, `CI=true`,
    /// experimental notices silenced, plus the context's env.
    pub fn atmos(&self, args: &[&str]) -> Atmos {
        let home = self.join("home");
        let mut a = Atmos::new(args)
            .cwd(self.path())
            .home(&home, &home.join(".config"))
            .env("CI", "true")
            .env("ATMOS_EXPERIMENTAL", "silence");
        for (k, v) in &self.envs {
            a = a.env(k, v);
        }
        a
    }

    /// The raw command, for tests that spawn and signal it.
    pub fn command(&self, args: &[&str]) -> Command {
        self.atmos(args).into_command()
    }

    /// Runs with no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.atmos(args).run()
    }

    /// Runs, feeding `stdin` when given.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        match stdin {
            Some(text) => self.atmos(args).stdin(text).run(),
            None => self.atmos(args).run(),
        }
    }

    /// Sets a secret (must succeed).
    pub fn set(&self, name: &str, value: &str, stack: &str, component: &str) {
        self.run(&[
            "secret",
            "set",
            &format!("{name}={value}"),
            "-s",
            stack,
            "-c",
            component,
        ])
        .ok();
    }

    /// `secret get --mask=false` (must succeed); the value without the newline.
    pub fn get(&self, name: &str, stack: &str, component: &str) -> String {
        let mut args = get_args(name, stack, component).to_vec();
        args.push("--raw");
        self.run(&args).ok().stdout
    }
}
