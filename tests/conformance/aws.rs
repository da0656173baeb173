//! `aws/ssm` and `aws/asm` on a real moto server: the conformance suite, the names and types that
//! land in the backend (checked with boto3, independent of our code), and the faults (dead
//! server, unreachable endpoint, rejected credentials) with bounded time.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::error::Diagnose;
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::secrets::Scope;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::aws_secrets_manager::SecretsManagerStore;
use atmos_secrets::store::aws_ssm::SsmStore;
use atmos_secrets::store::{Store, get_one};
use atmos_secrets::yaml::{Map, Node};
use aws_sdk_ssm::config::Credentials;

use super::services::{self, Service};
use super::suite;

/// A running moto server plus the Python that has boto3.
pub struct Moto {
    pub svc: Service,
    pub python: Option<PathBuf>,
}

/// Starts moto on a free loopback port (`extra` env for the server).
pub fn moto(extra: &[(&str, &str)]) -> Option<Moto> {
    let Some(bin) = services::find_bin("MOTO_SERVER", "moto", "moto_server") else {
        services::unavailable("moto_server", "not installed (.svc/moto)");
    };
    let port = services::free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let svc = services::start("moto", cmd, port, Duration::from_secs(30), |p| {
        services::http_answers(p, "/moto-api/data.json")
    })?;
    let python = services::find_bin("MOTO_PYTHON", "moto", "python");
    Some(Moto { svc, python })
}

impl Moto {
    /// Runs a boto3 snippet against this server; `print` its JSON answer.
    pub fn boto3(&self, script: &str) -> serde_json::Value {
        let python = self.python.as_ref().expect("python with boto3 (.svc/moto)");
        let out = Command::new(python)
            .args(["-c", script])
            .env("AWS_ENDPOINT_URL", &self.svc.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "boto3 script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON from the boto3 script")
    }
}

pub fn store_config(kind: StoreKind, secret: bool, prefix: &str, endpoint: &str) -> StoreConfig {
    let mut options = Map::default();
    options.insert("region".into(), Node::Str("us-east-1".into()));
    options.insert("prefix".into(), Node::Str(prefix.into()));
    options.insert("endpoint".into(), Node::Str(endpoint.into()));
    StoreConfig {
        name: "aws-test".into(),
        kind,
        secret,
        identity: None,
        options,
    }
}

fn creds() -> Credentials {
    Credentials::new("testing", "testing", None, None, "test")
}

fn ssm(endpoint: &str, secret: bool) -> SsmStore {
    let cfg = store_config(StoreKind::AwsSsm, secret, "/atmos/secrets", endpoint);
    SsmStore::build(&cfg, &BuildEnv::default())
        .unwrap()
        .with_credentials(creds())
}

fn asm(endpoint: &str) -> SecretsManagerStore {
    let cfg = store_config(StoreKind::AwsAsm, true, "atmos", endpoint);
    SecretsManagerStore::build(&cfg, &BuildEnv::default())
        .unwrap()
        .with_credentials(creds())
}

#[test]
fn ssm_conformance_and_contents() {
    let Some(m) = moto(&[]) else { return };
    let store = ssm(&m.svc.url, true);
    suite::run(
        &store,
        &suite::Expect {
            delete_missing_ok: false,
            // AWS's Advanced tier holds 8 KiB; larger values must fail clearly.
            large_value: 8192,
            ..suite::Expect::default()
        },
    );
    let got = m.boto3(
        r#"
import boto3, json
c = boto3.client("ssm")
out = {}
for p in c.get_paginator("describe_parameters").paginate():
    for x in p["Parameters"]:
        out[x["Name"]] = [x["Type"], x.get("Tier", "Standard")]
print(json.dumps(out))
"#,
    );
    // docs/backends/aws.md names for instance, stack and global scope, all SecureString.
    for name in [
        "/atmos/secrets/plat/ue2/dev/vpc/primary/SCOPED",
        "/atmos/secrets/plat/ue2/dev/SCOPED",
        "/atmos/secrets/SCOPED",
        "/atmos/secrets/plat/ue2/prod/vpc/primary/SCOPED",
        "/atmos/secrets/dev/api/DB_PASSWORD",
    ] {
        assert_eq!(got[name][0], "SecureString", "{name}: {got}");
    }
    assert_eq!(got["/atmos/secrets/dev/api/LARGE"][1], "Advanced", "{got}");
    assert!(
        got.get("/atmos/secrets/dev/api/ROTATED").is_none(),
        "deleted"
    );
    // A secret store writes a non-empty string verbatim; the raw value has no JSON quotes.
    let raw = m.boto3(
        r#"
import boto3, json
c = boto3.client("ssm")
print(json.dumps(c.get_parameter(Name="/atmos/secrets/dev/api/DB_PASSWORD", WithDecryption=True)["Parameter"]["Value"]))
"#,
    );
    assert_eq!(raw, "p@ss w0rd");
}

#[test]
fn ssm_plain_store_encoding() {
    let Some(m) = moto(&[]) else { return };
    let store = ssm(&m.svc.url, false);
    let c = suite::coord("dev", "api", "PLAIN");
    suite::block(store.set(&c, &SecretValue::text("abc"))).unwrap();
    let c2 = suite::coord("dev", "api", "NUMBER");
    suite::block(store.set(&c2, &SecretValue::json(serde_json::json!(42)))).unwrap();
    let got = m.boto3(
        r#"
import boto3, json
c = boto3.client("ssm")
ps = c.get_parameters(Names=["/atmos/secrets/dev/api/PLAIN", "/atmos/secrets/dev/api/NUMBER"])["Parameters"]
print(json.dumps({p["Name"]: [p["Type"], p["Value"]] for p in ps}))
"#,
    );
    // Plain stores write JSON (docs/backends/aws.md, Values) as type String.
    assert_eq!(
        got["/atmos/secrets/dev/api/PLAIN"],
        serde_json::json!(["String", "\"abc\""])
    );
    assert_eq!(
        got["/atmos/secrets/dev/api/NUMBER"],
        serde_json::json!(["String", "42"])
    );
    let v = suite::block(get_one(&store, &c2)).unwrap().unwrap();
    assert_eq!(v.expose(), &serde_json::json!(42));
    // A secret store returns raw text for numbers.
    let secret = ssm(&m.svc.url, true);
    let v = suite::block(get_one(&secret, &c2)).unwrap().unwrap();
    assert_eq!(v.as_str(), Some("42"));
}

#[test]
fn asm_conformance_and_contents() {
    let Some(m) = moto(&[]) else { return };
    let store = asm(&m.svc.url);
    suite::run(
        &store,
        &suite::Expect {
            delete_missing_ok: false,
            // A text value is stored JSON-encoded (two quotes): 65,534 characters fill the
            // service's 65,536-byte limit exactly.
            large_value: 64 * 1024 - 2,
            ..suite::Expect::default()
        },
    );
    let got = m.boto3(
        r#"
import boto3, json
c = boto3.client("secretsmanager")
names = [s["Name"] for p in c.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True) for s in p["SecretList"]]
cfg = c.get_secret_value(SecretId="atmos/dev/api/DB_CONFIG")["SecretString"]
pw = c.get_secret_value(SecretId="atmos/dev/api/DB_PASSWORD")["SecretString"]
print(json.dumps({"names": names, "config": cfg, "pw": pw}))
"#,
    );
    let names: Vec<&str> = got["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    for name in [
        "atmos/plat/ue2/dev/vpc/primary/SCOPED",
        "atmos/plat/ue2/dev/SCOPED",
        "atmos/SCOPED",
        "atmos/plat/ue2/prod/vpc/primary/SCOPED",
    ] {
        assert!(names.contains(&name), "{name} missing in {names:?}");
    }
    // Deleted without a recovery window: not even listed as planned for deletion.
    assert!(!names.contains(&"atmos/dev/api/ROTATED"), "{names:?}");
    // docs/backends/aws.md, Values: structures verbatim, strings JSON-encoded.
    let cfg: serde_json::Value = serde_json::from_str(got["config"].as_str().unwrap()).unwrap();
    assert_eq!(cfg["port"], 5432);
    assert_eq!(got["pw"], "\"p@ss w0rd\"");
}

#[test]
fn asm_empty_prefix_and_stack_global_scopes() {
    let Some(m) = moto(&[]) else { return };
    let cfg = store_config(StoreKind::AwsAsm, true, "", &m.svc.url);
    let store = SecretsManagerStore::build(&cfg, &BuildEnv::default())
        .unwrap()
        .with_credentials(creds());
    assert_eq!(
        store.describe_key(&suite::coord("dev", "", "K")),
        "/dev/K",
        "empty prefix → leading `/` (docs/backends/aws.md, Names)"
    );
    assert_eq!(store.capabilities().scopes.len(), 3);
    assert!(store.capabilities().scopes.contains(&Scope::Global));
}

/// Measures one failing call: it must fail within `limit`, name the store, carry a hint.
fn assert_fails_fast(store: &dyn Store, limit: Duration, expect_in_message: &str) {
    let c = suite::coord("dev", "api", "DB_PASSWORD");
    let start = Instant::now();
    let err = suite::block(get_one(store, &c)).expect_err("must fail");
    let took = start.elapsed();
    let text = err.to_string();
    assert!(took < limit, "took {took:?}: {text}");
    assert!(text.contains("aws-test"), "names the store: {text}");
    assert!(
        text.contains(expect_in_message),
        "`{expect_in_message}` in: {text}"
    );
    assert!(err.hint().is_some(), "has a hint: {text}");
    assert_eq!(err.exit_code(), 1);
    // Writes fail the same way.
    let err = suite::block(store.set(&c, &SecretValue::text(suite::SENTINEL))).unwrap_err();
    assert!(!err.to_string().contains(suite::SENTINEL));
}

#[test]
fn unreachable_endpoint_fails_fast() {
    // A loopback port nobody listens on: connection refused, retried, then a clear error.
    let port = services::free_port();
    let url = format!("http://127.0.0.1:{port}");
    assert_fails_fast(
        &ssm(&url, true),
        Duration::from_secs(20),
        "cannot reach AWS",
    );
    assert_fails_fast(&asm(&url), Duration::from_secs(20), "cannot reach AWS");
}

#[test]
fn server_that_stops_answering_fails_within_the_timeouts() {
    // A listener that accepts and never answers: the attempt timeout (10 s) bounds each attempt
    // and the store budget (default 20 s: the operation timeout) bounds the whole call.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match listener.accept() {
                Ok((s, _)) => conns.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if conns.len() > 64 {
                break;
            }
        }
    });
    assert_fails_fast(&ssm(&url, true), Duration::from_secs(30), "timed out");
    drop(hold);
}

#[test]
fn moto_stopped_mid_run() {
    let Some(mut m) = moto(&[]) else { return };
    let store = ssm(&m.svc.url, true);
    let c = suite::coord("dev", "api", "DB_PASSWORD");
    suite::block(store.set(&c, &SecretValue::text("v"))).unwrap();
    assert!(suite::block(get_one(&store, &c)).unwrap().is_some());
    m.svc.stop();
    let start = Instant::now();
    let err = suite::block(get_one(&store, &c)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(20), "{err}");
    assert!(err.to_string().contains("aws-test"), "{err}");
    assert!(err.hint().is_some());
}

#[test]
fn rejected_credentials_name_store_and_hint() {
    // With IAM enforcement on, moto rejects unknown access keys like AWS does.
    let Some(m) = moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]) else {
        return;
    };
    let store = ssm(&m.svc.url, true);
    let c = suite::coord("dev", "api", "DB_PASSWORD");
    let start = Instant::now();
    let err = suite::block(get_one(&store, &c)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(20));
    let text = err.to_string();
    assert!(text.contains("aws-test"), "{text}");
    assert!(
        text.contains("UnrecognizedClientException") || text.contains("InvalidClientTokenId"),
        "{text}"
    );
    assert!(
        err.hint().unwrap().contains("credentials"),
        "{:?}",
        err.hint()
    );
    let err =
        suite::block(asm(&m.svc.url).set(&c, &SecretValue::text(suite::SENTINEL))).unwrap_err();
    assert!(!err.to_string().contains(suite::SENTINEL), "{err}");
    assert!(err.to_string().contains("aws-test"), "{err}");
}

#[test]
fn missing_region_and_bad_endpoint_are_config_errors() {
    let mut cfg = store_config(StoreKind::AwsSsm, true, "/p", "http://127.0.0.1:1");
    cfg.options.shift_remove("region");
    let err = SsmStore::build(&cfg, &BuildEnv::default())
        .err()
        .expect("no region");
    assert!(
        err.to_string()
            .contains("region is required in ssm store configuration"),
        "{err}"
    );
    let cfg = store_config(StoreKind::AwsAsm, true, "/p", "127.0.0.1:4566");
    let err = SecretsManagerStore::build(&cfg, &BuildEnv::default())
        .err()
        .expect("bad endpoint");
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    assert!(err.hint().is_some());
}

/// A wire-level stand-in for AWS that answers the first `failures` requests with `status` and
/// an AWS JSON error `code`, then a canned `GetParameters` success. Returns its URL and the
/// number of requests it received.
fn flaky_aws(
    failures: usize,
    status: u16,
    code: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        // Bounded: at most 32 connections, each read bounded by a timeout.
        for conn in listener.incoming().take(32) {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body_len = loop {
                let Ok(n) = s.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    break Some((end + 4, len));
                }
            };
            let Some((start, len)) = body_len else {
                continue;
            };
            while buf.len() < start + len {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let i = seen.fetch_add(1, Ordering::SeqCst);
            let (st, body) = if i < failures {
                (
                    status,
                    format!(r#"{{"__type":"{code}","message":"injected failure {i}"}}"#),
                )
            } else {
                (
                    200,
                    r#"{"Parameters":[{"Name":"/atmos/secrets/dev/api/DB_PASSWORD","Type":"SecureString","Value":"v","Version":1}],"InvalidParameters":[]}"#.to_owned(),
                )
            };
            let reply = format!(
                "HTTP/1.1 {st} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    (url, count)
}

#[test]
fn throttling_and_server_errors_are_retried_with_backoff() {
    use std::sync::atomic::Ordering;
    let c = suite::coord("dev", "api", "DB_PASSWORD");
    for (status, code) in [(400, "ThrottlingException"), (503, "ServiceUnavailable")] {
        // Two failures, then success: the read succeeds after three requests.
        let (url, count) = flaky_aws(2, status, code);
        let v =
            suite::block(get_one(&ssm(&url, true), &c)).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(v.unwrap().as_str(), Some("v"));
        assert_eq!(count.load(Ordering::SeqCst), 3, "{code}");
    }
    // Throttled on every attempt: a bounded number of attempts, then a clear error.
    let (url, count) = flaky_aws(usize::MAX, 400, "ThrottlingException");
    let start = Instant::now();
    let err = suite::block(get_one(&ssm(&url, true), &c)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(count.load(Ordering::SeqCst), 4, "MAX_ATTEMPTS requests");
    let text = err.to_string();
    assert!(
        text.contains("aws-test") && text.contains("ThrottlingException"),
        "{text}"
    );
    assert!(
        err.hint().unwrap().contains("throttled"),
        "{:?}",
        err.hint()
    );
}

#[test]
fn read_and_write_roles_are_assumed() {
    let Some(m) = moto(&[]) else { return };
    let role = "arn:aws:iam::222222222222:role/ssm-writer";
    let mut cfg = store_config(StoreKind::AwsSsm, true, "/roles", &m.svc.url);
    cfg.options
        .insert("write_role_arn".into(), Node::Str(role.into()));
    cfg.options
        .insert("read_role_arn".into(), Node::Str(role.into()));
    let store = SsmStore::build(&cfg, &BuildEnv::default())
        .unwrap()
        .with_credentials(creds());
    let c = suite::coord("dev", "api", "K");
    suite::block(store.set(&c, &SecretValue::text("in-222"))).unwrap();
    assert_eq!(
        suite::block(get_one(&store, &c)).unwrap().unwrap().as_str(),
        Some("in-222")
    );
    // The parameter is in the role's account, not in the caller's.
    let got = m.boto3(&format!(
        r#"
import boto3, json
c = boto3.client("sts").assume_role(RoleArn="{role}", RoleSessionName="check")["Credentials"]
other = boto3.client("ssm", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
print(json.dumps({{"role": [p["Name"] for p in other.describe_parameters()["Parameters"]],
                  "caller": [p["Name"] for p in boto3.client("ssm").describe_parameters()["Parameters"]]}}))
"#
    ));
    assert_eq!(got["role"], serde_json::json!(["/roles/dev/api/K"]));
    assert_eq!(got["caller"], serde_json::json!([]));
    // Without the read role, the caller's own account has nothing under that name.
    let caller = SsmStore::build(
        &store_config(StoreKind::AwsSsm, true, "/roles", &m.svc.url),
        &BuildEnv::default(),
    )
    .unwrap()
    .with_credentials(creds());
    assert!(suite::block(get_one(&caller, &c)).unwrap().is_none());
}
