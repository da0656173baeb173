//! Starting real local servers (moto, OpenBao, redis, wire fakes) for backend tests.
//!
//! Every server binds 127.0.0.1 on a free port, is polled for readiness with a bounded loop and is
//! killed when its [`Service`] drops. A server that cannot be found or started fails the test with
//! a message naming it and how to install it — never a silent pass.

#![allow(dead_code, reason = "each backend's tests use the parts they need")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed on drop.
pub struct Service {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Service {
    /// Stops the server now (e.g. to test a backend that dies mid-run).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test, naming the missing server or tool: a test never passes without the service
/// it checks.
#[track_caller]
pub fn unavailable(what: &str, why: &str) -> ! {
    panic!("{what} is not available ({why})\nhint: run bash .ci/test, which installs it")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The repository's `.svc` folder, where `.ci/test` installs Python tools.
pub fn svc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".svc")
}

/// Finds an executable: an explicit env var, a `.svc/<venv>/bin/<name>`, then `PATH`.
pub fn find_bin(env_var: &str, venv: &str, name: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env_var) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let in_venv = svc_dir().join(venv).join("bin").join(name);
    if in_venv.is_file() {
        return Some(in_venv);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Starts `cmd` (which must listen on `port`) and waits until `ready` says yes, at most
/// `timeout`. Output goes to a log file in the temp dir, shown if start-up fails.
pub fn start(
    what: &str,
    mut cmd: Command,
    port: u16,
    timeout: Duration,
    ready: impl Fn(u16) -> bool,
) -> Option<Service> {
    let log = std::env::temp_dir().join(format!("atmos-test-{what}-{port}.log"));
    let file = std::fs::File::create(&log).ok()?;
    let err = file.try_clone().ok()?;
    let child = match cmd.stdin(Stdio::null()).stdout(file).stderr(err).spawn() {
        Ok(c) => c,
        Err(e) => unavailable(what, &e.to_string()),
    };
    let mut svc = Service {
        child,
        port,
        url: format!("http://127.0.0.1:{port}"),
    };
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready(port) {
            return Some(svc);
        }
        if let Ok(Some(status)) = svc.child.try_wait() {
            let out = std::fs::read_to_string(&log).unwrap_or_default();
            unavailable(what, &format!("exited with {status}: {out}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = svc.child.kill();
    let out = std::fs::read_to_string(&log).unwrap_or_default();
    unavailable(what, &format!("not ready after {timeout:?}: {out}"))
}

/// A readiness check: an HTTP GET of `path` that answers at all (any status) within 1 s.
pub fn http_answers(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/"))
}
