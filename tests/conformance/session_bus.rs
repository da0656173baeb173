//! A private D-Bus session with an unlocked gnome-keyring (Secret Service), for testing the
//! `keychain` store's `system` backend for real.
//!
//! Everything lives in a temp dir: the bus socket, and the HOME/XDG folders of the bus and of
//! the keyring daemon (so no real keyring is touched). Waits are bounded; both daemons are
//! killed on drop. Missing tools fail the test, naming the tool (`services::unavailable`, which
//! both test binaries that include this file declare as a sibling module).

#![allow(dead_code, reason = "each test crate uses the parts it needs")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private session bus with gnome-keyring on it.
pub struct SessionBus {
    bus: Child,
    keyring: Child,
    dir: tempfile::TempDir,
    /// `unix:path=…` of the bus.
    pub address: String,
}

#[track_caller]
fn unavailable(what: &str, why: &str) -> ! {
    super::services::unavailable(what, why)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

impl SessionBus {
    /// Starts `dbus-daemon` and `gnome-keyring-daemon --unlock` (password on stdin).
    pub fn start() -> Option<Self> {
        let need = [
            "dbus-daemon",
            "dbus-send",
            "gnome-keyring-daemon",
            "secret-tool",
        ];
        let mut bins = Vec::new();
        for n in need {
            match which(n) {
                Some(p) => bins.push(p),
                None => {
                    unavailable(
                        n,
                        "not installed (apt-get install dbus gnome-keyring libsecret-tools)",
                    );
                }
            }
        }
        let dir = tempfile::tempdir().ok()?;
        for sub in ["home", "run", "data", "config", "cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).ok()?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .ok()?;
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let mut bus = match Self::command(&bins[0], dir.path(), &address)
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => unavailable("dbus-daemon", &e.to_string()),
        };
        if !wait(Duration::from_secs(10), || socket.exists()) {
            let _ = bus.kill();
            let _ = bus.wait();
            unavailable("dbus-daemon", "its socket did not appear within 10 s");
        }
        let mut keyring = match Self::command(&bins[2], dir.path(), &address)
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                let _ = bus.kill();
                let _ = bus.wait();
                unavailable("gnome-keyring-daemon", &e.to_string());
            }
        };
        if let Some(mut stdin) = keyring.stdin.take() {
            let _ = stdin.write_all(b"session-keyring-pw");
        }
        let me = Self {
            bus,
            keyring,
            dir,
            address,
        };
        let owned = wait(Duration::from_secs(15), || {
            me.run(&bins[1])
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        });
        if !owned {
            unavailable(
                "gnome-keyring Secret Service",
                "org.freedesktop.secrets was not owned within 15 s",
            );
        }
        Some(me)
    }

    fn command(bin: &Path, dir: &Path, address: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("DBUS_SESSION_BUS_ADDRESS", address);
        cmd
    }

    /// A command with this session's environment (clean, private HOME/XDG).
    pub fn run(&self, bin: impl AsRef<Path>) -> Command {
        Self::command(bin.as_ref(), self.dir.path(), &self.address)
    }

    /// The variables a process needs to use this session.
    pub fn envs(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("run").display().to_string(),
            ),
        ]
    }

    /// `secret-tool lookup service S username A`: the stored secret, if any.
    pub fn lookup(&self, service: &str, account: &str) -> Option<String> {
        let out = self
            .run("secret-tool")
            .args(["lookup", "service", service, "username", account])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl SessionBus {
    /// Stores an item with `secret-tool` under the attributes `service` and `username`, as
    /// zalando/go-keyring (Go atmos) writes it.
    pub fn store(&self, service: &str, account: &str, value: &str) {
        use std::io::Write as _;
        let mut child = self
            .run("secret-tool")
            .args([
                "store",
                &format!("--label=Password for '{account}' on '{service}'"),
                "service",
                service,
                "username",
                account,
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("secret-tool");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "secret-tool store failed");
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn wait(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
