//! Starting the wire fakes of `tests/fakes/` (stdlib Python, loopback only), running the
//! vendors' official Python clients against them, and reading a fake's state directly.
//!
//! Shared by the conformance suite and the CLI tests (`#[path]`-included there).

#![allow(dead_code, reason = "each test binary uses the parts it needs")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::services::{self, Service};

/// `tests/fakes/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes")
}

/// A Python 3 interpreter for the fakes (any will do: they use the standard library only).
pub fn python() -> Option<PathBuf> {
    services::find_bin("ATMOS_TEST_PYTHON", "clients", "python3")
        .or_else(|| services::unavailable("python3", "not on PATH"))
}

/// The interpreter of the venv that holds the official client `module`: `.svc/clients` (cloud
/// stores; `ATMOS_TEST_CLIENTS_PYTHON` overrides) or `.svc/kms-clients` (SOPS key services;
/// `ATMOS_TEST_KMS_CLIENTS_PYTHON` overrides), whichever imports it.
pub fn clients_python(module: &str) -> Option<PathBuf> {
    let venv = |var: &str, dir: &str| {
        std::env::var(var)
            .map(PathBuf::from)
            .ok()
            .filter(|p| p.is_file())
            .or_else(|| {
                Some(services::svc_dir().join(dir).join("bin/python")).filter(|p| p.is_file())
            })
    };
    let candidates = [
        venv("ATMOS_TEST_CLIENTS_PYTHON", "clients"),
        venv("ATMOS_TEST_KMS_CLIENTS_PYTHON", "kms-clients"),
    ];
    if candidates.iter().all(Option::is_none) {
        services::unavailable(
            &format!("Python module `{module}`"),
            ".svc/clients and .svc/kms-clients are not installed",
        );
    }
    let found = candidates.into_iter().flatten().find(|py| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    match found {
        Some(py) => Some(py),
        None => services::unavailable(&format!("Python module `{module}`"), "it does not import"),
    }
}

/// A running fake.
pub struct Fake {
    /// The process (killed on drop).
    pub service: Service,
    /// Base URL (`http://…` or `https://…`).
    pub url: String,
    /// The CA that signed an HTTPS fake's certificate.
    pub ca: Option<PathBuf>,
    _tls_dir: Option<tempfile::TempDir>,
}

fn tcp_answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// Starts `tests/fakes/<script>` on a free port with `args`; `tls` makes a test CA and serves
/// HTTPS with a leaf it signed.
pub fn start(script: &str, args: &[&str], tls: bool) -> Option<Fake> {
    let py = python()?;
    let port = services::free_port();
    let mut cmd = Command::new(py);
    cmd.arg(dir().join(script))
        .args(["--port", &port.to_string()])
        .args(args);
    let mut tls_dir = None;
    let mut ca = None;
    if tls {
        let d = tempfile::tempdir().ok()?;
        let made = Command::new("bash")
            .arg(dir().join("make_test_ca.sh"))
            .arg(d.path())
            .output();
        match made {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                services::unavailable(
                    "openssl",
                    &format!(
                        "make_test_ca.sh failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                    ),
                );
            }
            Err(e) => services::unavailable("bash/openssl", &e.to_string()),
        }
        cmd.arg("--cert")
            .arg(d.path().join("leaf.pem"))
            .arg("--key")
            .arg(d.path().join("leaf.key"));
        ca = Some(d.path().join("ca.pem"));
        tls_dir = Some(d);
    }
    let service = if tls {
        services::start(script, cmd, port, Duration::from_secs(10), tcp_answers)?
    } else {
        services::start(script, cmd, port, Duration::from_secs(10), |p| {
            services::http_answers(p, "/_fake/state")
        })?
    };
    let scheme = if tls { "https" } else { "http" };
    Some(Fake {
        url: format!("{scheme}://127.0.0.1:{port}"),
        service,
        ca,
        _tls_dir: tls_dir,
    })
}

impl Fake {
    /// The fake's stored state (`GET /_fake/state`), read directly.
    pub fn state(&self) -> serde_json::Value {
        self.control(reqwest::Method::GET, "/_fake/state")
    }

    /// Delays every later API request by `ms` (0 = none).
    pub fn set_delay(&self, ms: u64) {
        self.control(reqwest::Method::POST, &format!("/_fake/delay?ms={ms}"));
    }

    /// Answers the next `count` API requests with `status` and a JSON error instead of serving
    /// them (`None`: every request until changed; `count` 0 stops failing).
    pub fn fail(&self, status: u16, count: Option<u32>) {
        let count = count.map_or(-1, i64::from);
        self.control(
            reqwest::Method::POST,
            &format!("/_fake/fail?status={status}&count={count}"),
        );
    }

    /// When each API request since the last call was in flight, as `(start, end)` seconds of
    /// the system-wide monotonic clock (comparable across fakes); clears the log.
    pub fn take_request_windows(&self) -> Vec<(f64, f64)> {
        let v = self.control(reqwest::Method::POST, "/_fake/requests/take");
        v["requests"]
            .as_array()
            .expect("a `requests` list")
            .iter()
            .map(|w| (w[0].as_f64().unwrap(), w[1].as_f64().unwrap()))
            .collect()
    }

    /// One call to the fake's `/_fake/…` control API; panics unless it answers 2xx with JSON.
    fn control(&self, method: reqwest::Method, path_and_query: &str) -> serde_json::Value {
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(5));
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).unwrap();
            b = b.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap());
        }
        let client = b.build().unwrap();
        let url = format!("{}{path_and_query}", self.url);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                client
                    .request(method, url)
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            })
    }

    /// Runs `tests/fakes/<check>` with the official client's interpreter; panics on failure.
    /// Returns the number of checks the script reports.
    pub fn check_with_official_client(
        &self,
        module: &str,
        check: &str,
        args: &[&str],
    ) -> Option<u32> {
        let py = clients_python(module)?;
        let out = Command::new(py)
            .arg(dir().join(check))
            .arg(&self.url)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{check} failed\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = stdout
            .trim()
            .strip_prefix("ok: ")
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(n > 0, "{check} ran no checks: {stdout}");
        Some(n)
    }
}

/// Parses YAML into store options.
pub fn options(yaml: &str) -> atmos_secrets::yaml::Map {
    atmos_secrets::yaml::parse(yaml, "test")
        .unwrap()
        .as_map()
        .cloned()
        .unwrap()
}
