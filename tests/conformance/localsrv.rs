//! The local servers of the network backends, started per test: an OpenBao dev server
//! (`hashicorp/vault`), `redis-server` with a password, and the Artifactory wire fake. Shared by
//! the conformance tests and the end-to-end CLI tests (which include this file by path).

#![allow(dead_code, reason = "each test crate uses the parts it needs")]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::services::{self, Service};

/// The dev server's root token in these tests.
pub const BAO_ROOT: &str = "root-Tk-4242";

/// A running OpenBao dev server and the `bao` CLI that talks to it.
pub struct Bao {
    pub svc: Service,
    pub bin: PathBuf,
    /// The CA that signed the server certificate, for a TLS server.
    pub ca: Option<PathBuf>,
    _home: tempfile::TempDir,
}

impl Bao {
    /// `bao <args>` against this server as `token`; stdout on success, panics otherwise.
    pub fn cli(&self, token: &str, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("VAULT_ADDR", &self.svc.url)
            .env("VAULT_TOKEN", token)
            .env_remove("VAULT_NAMESPACE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("bao runs");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `bao kv get -format=json` of `path` in `secret/`: the `data.data` map, or `None`.
    pub fn kv_get(&self, path: &str) -> Option<serde_json::Value> {
        let out = Command::new(&self.bin)
            .args(["kv", "get", "-format=json", "-mount=secret", path])
            .env("VAULT_ADDR", &self.svc.url)
            .env("VAULT_TOKEN", BAO_ROOT)
            .output()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Some(v["data"]["data"].clone())
    }

    /// A token limited to reading `secret/` (a read-only policy).
    pub fn read_only_token(&self) -> String {
        self.cli(
            BAO_ROOT,
            &["policy", "write", "atmos-ro", "-"],
            Some(
                "path \"secret/data/*\" { capabilities = [\"read\"] }\n\
                 path \"secret/metadata/*\" { capabilities = [\"read\"] }\n",
            ),
        );
        self.cli(
            BAO_ROOT,
            &["token", "create", "-policy=atmos-ro", "-field=token"],
            None,
        )
        .trim()
        .to_owned()
    }
}

/// Starts a dev server on a free port (its cluster listener takes the next port too).
pub fn start_bao() -> Option<Bao> {
    start_bao_with(false)
}

/// Starts a dev server; with `tls`, it serves https with a certificate from its own CA
/// (`-dev-tls`), whose PEM is then at [`Bao::ca`].
pub fn start_bao_with(tls: bool) -> Option<Bao> {
    let Some(bin) = services::find_bin("BAO_BIN", "openbao", "bao") else {
        services::unavailable("OpenBao (`bao`)", "not installed");
    };
    let port = (0..50)
        .map(|_| services::free_port())
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok())
        .expect("two adjacent free loopback ports");
    let home = tempfile::tempdir().expect("a temp dir");
    let mut cmd = Command::new(&bin);
    cmd.args([
        "server",
        "-dev",
        &format!("-dev-root-token-id={BAO_ROOT}"),
        &format!("-dev-listen-address=127.0.0.1:{port}"),
        "-dev-no-store-token",
    ])
    .env("HOME", home.path())
    .env_remove("VAULT_ADDR")
    .env_remove("VAULT_TOKEN");
    let tls_dir = home.path().join("tls");
    if tls {
        std::fs::create_dir_all(&tls_dir).unwrap();
        cmd.arg("-dev-tls")
            .arg(format!("-dev-tls-cert-dir={}", tls_dir.display()));
    }
    // Over TLS a plain-HTTP probe still gets Go's "400 Bad Request", so it works for both.
    let mut svc = services::start("openbao", cmd, port, Duration::from_secs(30), |p| {
        services::http_answers(p, "/v1/sys/health")
    })?;
    if tls {
        svc.url = format!("https://127.0.0.1:{port}");
    }
    Some(Bao {
        svc,
        bin,
        ca: tls.then(|| tls_dir.join("vault-ca.pem")),
        _home: home,
    })
}

/// The `requirepass` of test servers.
pub const REDIS_PASSWORD: &str = "redis-Pw-77x";

/// A running redis-server and its `redis-cli`.
pub struct Redis {
    pub svc: Service,
    pub cli: PathBuf,
}

impl Redis {
    /// `redis-cli` as the default user; stdout, trimmed of the final newline.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.cli)
            .args(["-h", "127.0.0.1", "-p", &self.svc.port.to_string()])
            .arg("--no-auth-warning")
            .args(["-a", REDIS_PASSWORD])
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned()
    }

    /// `redis://:<password>@127.0.0.1:<port>/0`.
    pub fn url(&self, password: &str) -> String {
        format!("redis://:{password}@127.0.0.1:{}/0", self.svc.port)
    }
}

/// Starts `redis-server` on a free loopback port with a password and no persistence.
pub fn start_redis() -> Option<Redis> {
    let Some(server) = services::find_bin("REDIS_SERVER_BIN", "none", "redis-server") else {
        services::unavailable(
            "redis-server",
            "not installed (apt-get install redis-server)",
        );
    };
    let Some(cli) = services::find_bin("REDIS_CLI_BIN", "none", "redis-cli") else {
        services::unavailable("redis-cli", "not installed (apt-get install redis-tools)");
    };
    let port = services::free_port();
    let mut cmd = Command::new(server);
    cmd.args([
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        REDIS_PASSWORD,
        "--dir",
    ])
    .arg(std::env::temp_dir());
    let cli2 = cli.clone();
    let svc = services::start("redis", cmd, port, Duration::from_secs(15), move |p| {
        Command::new(&cli2)
            .args(["-h", "127.0.0.1", "-p", &p.to_string(), "--no-auth-warning"])
            .args(["-a", REDIS_PASSWORD, "ping"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
    })?;
    Some(Redis { svc, cli })
}

/// A private CA and a server leaf for 127.0.0.1 (CA:FALSE, serverAuth, SAN IP and localhost,
/// as rustls requires), made with the `openssl` CLI in `dir`: `(ca.pem, leaf.pem, leaf.key)`.
pub fn test_certs(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let Some(openssl) = services::find_bin("OPENSSL_BIN", "none", "openssl") else {
        services::unavailable("openssl", "not installed");
    };
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=atmos-test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    Some((
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    ))
}

/// Starts `redis-server` serving only TLS (`--port 0 --tls-port <free>`), with the password
/// and a leaf signed by `ca`.
pub fn start_redis_tls(ca: &Path, cert: &Path, key: &Path) -> Option<Service> {
    let Some(server) = services::find_bin("REDIS_SERVER_BIN", "none", "redis-server") else {
        services::unavailable("redis-server", "not installed");
    };
    let port = services::free_port();
    let mut cmd = Command::new(server);
    cmd.args([
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--tls-port",
        &port.to_string(),
    ])
    .args([
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        REDIS_PASSWORD,
    ])
    .args(["--tls-auth-clients", "no"])
    .arg("--tls-cert-file")
    .arg(cert)
    .arg("--tls-key-file")
    .arg(key)
    .arg("--tls-ca-cert-file")
    .arg(ca)
    .arg("--dir")
    .arg(std::env::temp_dir());
    services::start("redis-tls", cmd, port, Duration::from_secs(15), |p| {
        std::net::TcpStream::connect(("127.0.0.1", p)).is_ok()
    })
}

/// The fake's read-write token.
pub const ART_TOKEN: &str = "art-Tok-31337";
/// The fake's read-only token.
pub const ART_READ_TOKEN: &str = "art-Read-8080";
/// The generic repository the tests use.
pub const ART_REPO: &str = "secrets-generic-local";

/// Starts the Artifactory wire fake on a free port.
pub fn start_artifactory() -> Option<Service> {
    let Some(python) = services::find_bin("PYTHON", "none", "python3") else {
        services::unavailable("python3", "not on PATH");
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/artifactory_fake.py");
    let port = services::free_port();
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(port.to_string())
        .env("ARTIFACTORY_FAKE_TOKEN", ART_TOKEN)
        .env("ARTIFACTORY_FAKE_READ_TOKEN", ART_READ_TOKEN)
        .env("ARTIFACTORY_FAKE_REPOS", format!("{ART_REPO},other-local"));
    services::start(
        "artifactory-fake",
        cmd,
        port,
        Duration::from_secs(15),
        |p| services::http_answers(p, "/artifactory/api/system/ping"),
    )
}

/// The base URL of a running fake.
pub fn art_base(svc: &Service) -> String {
    format!("{}/artifactory", svc.url)
}

/// One raw HTTP/1.1 request; returns (status, headers, body).
pub fn raw(
    port: u16,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("{a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP answer");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}
