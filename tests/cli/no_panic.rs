//! No panic on odd configuration: the binary runs over a matrix of odd option and environment
//! values for every store kind — empty, scheme-less (`localhost:4568`), non-numeric, an
//! unreachable endpoint (a closed loopback port, so it fails at once), unset `HOME` — and every
//! run must end with exit 0, 1 or 2, no "panicked" on stderr (the panic hook would exit 70), and
//! no error naming an empty store.
//!
//! About 500 runs; most of their time is the backends' retry back-off against the closed port
//! (AWS, Azure), not CPU, so they go through a pool of 16 threads and the whole matrix takes
//! about 30 s of wall time on two cores — the breadth is the point of the test.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::localsrv::project;

/// A case: the `stores:` body (plus any trailing top-level YAML), environment changes
/// (`None` = unset), and the command.
struct Case {
    label: String,
    stores: String,
    env: Vec<(&'static str, Option<String>)>,
    args: Vec<&'static str>,
}

/// One kind's store: its base options (`key: value` lines) and the options to vary.
struct Kind {
    kind: &'static str,
    base: Vec<(&'static str, String)>,
    vary: &'static [&'static str],
    /// Top-level YAML after the store (e.g. `auth:`), if any.
    tail: &'static str,
    /// Environment variables this kind reads, for the environment half of the matrix.
    env: &'static [&'static str],
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn kinds(dead: &str) -> Vec<Kind> {
    let s = |v: &str| v.to_owned();
    vec![
        Kind {
            kind: "aws/ssm",
            base: vec![
                ("region", s("us-east-1")),
                ("endpoint", s(dead)),
                ("prefix", s("/p")),
            ],
            vary: &["region", "endpoint", "prefix", "read_role_arn", "timeout"],
            tail: "",
            env: &[
                "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_SSM",
                "AWS_REGION",
                "AWS_PROFILE",
                "AWS_MAX_ATTEMPTS",
                "AWS_CONFIG_FILE",
            ],
        },
        Kind {
            kind: "aws/asm",
            base: vec![("region", s("us-east-1"))],
            vary: &["region", "endpoint", "write_role_arn"],
            tail: "\nauth:\n  identities:\n    me:\n      kind: aws/user\n      credentials: {access_key_id: a, secret_access_key: b}\n      spec: {endpoint_url: ENDPOINT}\n",
            env: &["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"],
        },
        Kind {
            kind: "azure/keyvault",
            base: vec![
                ("vault_url", dead.replace("http://", "https://")),
                ("without_authentication", s("true")),
                ("disable_challenge_resource_verification", s("true")),
            ],
            vary: &[
                "vault_url",
                "ca_cert",
                "prefix",
                "without_authentication",
                "endpoint_insecure",
                "timeout",
            ],
            tail: "",
            env: &[
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
            ],
        },
        Kind {
            kind: "gcp/secretmanager",
            base: vec![
                ("project_id", s("p")),
                ("endpoint", s(dead)),
                ("without_authentication", s("true")),
            ],
            vary: &[
                "project_id",
                "endpoint",
                "credentials",
                "locations",
                "endpoint_insecure",
                "timeout",
            ],
            tail: "",
            env: &["GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"],
        },
        Kind {
            kind: "hashicorp/vault",
            base: vec![
                ("address", s(dead)),
                ("mount", s("secret")),
                ("token", s("t")),
            ],
            vary: &[
                "address",
                "mount",
                "token",
                "namespace",
                "ca_cert",
                "timeout",
            ],
            tail: "",
            env: &[
                "VAULT_ADDR",
                "VAULT_TOKEN",
                "VAULT_CACERT",
                "VAULT_NAMESPACE",
            ],
        },
        Kind {
            kind: "onepassword",
            base: vec![
                ("mode", s("connect")),
                ("connect_host", s(dead)),
                ("connect_token", s("t")),
                ("vault", s("V")),
            ],
            vary: &[
                "mode",
                "connect_host",
                "connect_token",
                "vault",
                "token",
                "timeout",
            ],
            tail: "",
            env: &[
                "OP_CONNECT_HOST",
                "OP_CONNECT_TOKEN",
                "OP_SERVICE_ACCOUNT_TOKEN",
            ],
        },
        Kind {
            kind: "keychain",
            base: vec![("backend", s("file")), ("file_dir", s("kc"))],
            vary: &["backend", "file_dir", "service", "password_env"],
            tail: "",
            env: &[
                "ATMOS_KEYRING_PASSWORD",
                "XDG_DATA_HOME",
                "DBUS_SESSION_BUS_ADDRESS",
            ],
        },
        Kind {
            kind: "github/actions",
            base: vec![("owner", s("o")), ("repo", s("r")), ("token", s("t"))],
            vary: &["owner", "repo", "token", "prefix", "environment", "timeout"],
            tail: "",
            env: &[
                "GITHUB_ACTIONS",
                "GITHUB_TOKEN",
                "ATMOS_GITHUB_TOKEN",
                "GITHUB_API_URL",
            ],
        },
        Kind {
            kind: "redis",
            base: vec![("url", dead.replace("http://", "redis://"))],
            vary: &["url", "ca_cert", "prefix", "timeout"],
            tail: "",
            env: &["ATMOS_REDIS_URL"],
        },
        Kind {
            kind: "artifactory",
            base: vec![
                ("url", s(dead)),
                ("access_token", s("t")),
                ("repo_name", s("r")),
            ],
            vary: &["url", "access_token", "repo_name", "ca_cert", "timeout"],
            tail: "",
            env: &["ARTIFACTORY_ACCESS_TOKEN", "JFROG_ACCESS_TOKEN"],
        },
    ]
}

/// `dev`/`api` declares `X` (a secret, with a 1Password-shaped `reference`) and reads the
/// plain key `Y` of store `p` through `!store` (for the kinds that hold no secrets).
const STACK: &str = "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      vars:\n        y: !store p api Y\n      secrets:\n        vars:\n          X: { store: s, reference: item/field }\n";

/// Kinds that hold plain values only (`secret: true` is refused): they are read through
/// `!store` by `describe component`.
const PLAIN: &[&str] = &["redis", "artifactory"];

fn stores_yaml(k: &Kind, options: &[(&str, String)], dead: &str) -> String {
    let identity = if k.tail.is_empty() {
        ""
    } else {
        "    identity: me\n"
    };
    let (name, secret) = if PLAIN.contains(&k.kind) {
        ("p", "")
    } else {
        ("s", "    secret: true\n")
    };
    let mut y = format!(
        "  {name}:\n    kind: {}\n{secret}{identity}    options:\n",
        k.kind
    );
    for (key, value) in options {
        y.push_str(&format!("      {key}: '{}'\n", value.replace('\'', "''")));
    }
    y.push_str(&k.tail.replace("ENDPOINT", dead));
    y
}

fn cases() -> Vec<Case> {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let odd = ["", "localhost:4568", "abc", dead.as_str()];
    let secret_ops: Vec<Vec<&'static str>> = vec![
        vec!["secret", "get", "X", "-s", "dev", "-c", "api"],
        vec!["secret", "set", "X=v", "-s", "dev", "-c", "api", "--force"],
    ];
    let plain_ops: Vec<Vec<&'static str>> = vec![vec![
        "describe",
        "component",
        "api",
        "-s",
        "dev",
        "--mask=false",
    ]];
    let mut out = Vec::new();
    for k in kinds(&dead) {
        let ops = if PLAIN.contains(&k.kind) {
            &plain_ops
        } else {
            &secret_ops
        };
        let mut push = |label: String, options: &[(&str, String)], env: Vec<_>, all_ops: bool| {
            for args in ops.iter().take(if all_ops { ops.len() } else { 1 }) {
                out.push(Case {
                    label: format!("{} {label} [{}]", k.kind, args[1..].join(" ")),
                    stores: stores_yaml(&k, options, &dead),
                    env: env.clone(),
                    args: args.clone(),
                });
            }
        };
        // `github/actions` must never reach the real GitHub: its API is the closed port unless a
        // case sets `GITHUB_API_URL` itself (later entries win).
        let base_env: Vec<(&'static str, Option<String>)> = if k.kind == "github/actions" {
            vec![("GITHUB_API_URL", Some(dead.clone()))]
        } else {
            Vec::new()
        };
        let with_base = |extra: Vec<(&'static str, Option<String>)>| {
            let mut env = base_env.clone();
            env.extend(extra);
            env
        };
        for opt in k.vary {
            for v in odd {
                let mut options: Vec<(&str, String)> =
                    k.base.iter().filter(|(o, _)| o != opt).cloned().collect();
                options.push((opt, v.to_owned()));
                push(
                    format!("{opt}={v:?}"),
                    &options,
                    with_base(Vec::new()),
                    true,
                );
            }
        }
        push(
            "HOME unset".into(),
            &k.base,
            with_base(vec![("HOME", None), ("XDG_CONFIG_HOME", None)]),
            true,
        );
        // The environment half: the kind's own variables with only the required options set
        // in the file, so the variables are what the store reads.
        for var in k.env {
            for v in odd {
                push(
                    format!("env {var}={v:?}"),
                    &k.base,
                    with_base(vec![(*var, Some(v.to_owned()))]),
                    false,
                );
            }
        }
    }
    out
}

#[test]
fn odd_options_and_environment_never_panic() {
    let cases = cases();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    // Most of a run's time is a backend's retry back-off against the closed port, not CPU.
    let workers = 16;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = cases.get(i) else { break };
                    let p = project(&c.stores, STACK);
                    let t = std::time::Instant::now();
                    let mut a = p.atmos(&c.args).env("AWS_EC2_METADATA_DISABLED", "true");
                    for (k, v) in &c.env {
                        a = match v {
                            Some(v) => a.env(k, v),
                            None => a.env_remove(k),
                        };
                    }
                    let r = a.run();
                    if std::env::var_os("ATMOS_NO_PANIC_SHOW").is_some() {
                        eprintln!(
                            "{}: exit {} in {:?}: {}",
                            c.label,
                            r.code,
                            t.elapsed(),
                            r.stderr.lines().last().unwrap_or("")
                        );
                    }
                    let unnamed = r.stderr.contains("store ``") || r.stderr.contains("store \"\"");
                    if !(0..=2).contains(&r.code) || r.stderr.contains("panicked") || unnamed {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: exit {}\n{}", c.label, r.code, r.stderr));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n---\n")
    );
    eprintln!(
        "{} runs in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}
