//! Time budgets: every network store kind, pointed at a loopback listener that accepts
//! connections and never answers, fails within its `options.timeout` (here 2 s), exits 1 and
//! names the store. The default budget (20 s) is the same code path with another number; a
//! unit test in `src/store/net.rs` pins it.

use std::io::Read as _;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::localsrv::project;

/// The budget given to every store here.
const BUDGET_SECS: u64 = 2;
/// Process start-up, configuration loading and scheduling noise on a busy two-core machine.
const SLACK: Duration = Duration::from_secs(4);

/// A listener that accepts every connection and holds it open without a byte of answer (it
/// reads and discards what it is sent, so a client's write never blocks). Lives until the
/// test process exits.
fn silent_listener() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

#[test]
fn a_silent_server_fails_every_kind_within_its_budget() {
    let port = silent_listener();
    let http = format!("http://127.0.0.1:{port}");
    let t = BUDGET_SECS;
    let stores: Vec<(&str, String)> = vec![
        (
            "aws/ssm",
            format!("region: us-east-1, endpoint: '{http}', timeout: {t}"),
        ),
        (
            "aws/asm",
            format!("region: us-east-1, endpoint: '{http}', timeout: {t}"),
        ),
        (
            "azure/keyvault",
            format!(
                "vault_url: '{http}', endpoint_insecure: true, without_authentication: true, disable_challenge_resource_verification: true, timeout: {t}"
            ),
        ),
        (
            "gcp/secretmanager",
            format!(
                "project_id: p, endpoint: '{http}', without_authentication: true, timeout: {t}"
            ),
        ),
        (
            "hashicorp/vault",
            format!("address: '{http}', mount: secret, token: t, timeout: {t}"),
        ),
        (
            "onepassword",
            format!(
                "mode: connect, connect_host: '{http}', connect_token: t, vault: V, timeout: {t}"
            ),
        ),
    ];
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .map(|(kind, options)| {
                scope.spawn(move || {
                    let p = project(
                        &format!("  s:\n    kind: {kind}\n    secret: true\n    options: {{ {options} }}\n"),
                        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n          X: { store: s, reference: item/field }\n",
                    );
                    let started = Instant::now();
                    let r = p
                        .atmos(&["secret", "get", "X", "-s", "dev", "-c", "api"])
                        .env("AWS_ACCESS_KEY_ID", "a")
                        .env("AWS_SECRET_ACCESS_KEY", "b")
                        .env("AWS_EC2_METADATA_DISABLED", "true")
                        .run();
                    (*kind, started.elapsed(), r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let limit = Duration::from_secs(BUDGET_SECS) + SLACK;
    let mut bad = Vec::new();
    for (kind, took, r) in &results {
        eprintln!("{kind}: {took:?}, exit {}", r.code);
        if *took > limit || r.code != 1 || !r.stderr.contains("store `s`") {
            bad.push(format!("{kind}: {took:?}, exit {}\n{}", r.code, r.stderr));
        }
    }
    assert!(
        bad.is_empty(),
        "over {limit:?} or unclear:\n{}",
        bad.join("\n---\n")
    );

    // `github/actions` reads from the environment; its writes go to the API.
    let p = project(
        &format!(
            "  s:\n    kind: github/actions\n    options: {{ owner: o, repo: r, timeout: {t} }}\n"
        ),
        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n          X: { store: s }\n",
    );
    let started = Instant::now();
    let r = p
        .atmos(&["secret", "set", "X=v", "-s", "dev", "-c", "api"])
        .env("GITHUB_API_URL", &http)
        .env("GITHUB_TOKEN", "t")
        .run();
    let took = started.elapsed();
    assert!(
        took <= limit && r.code == 1 && r.stderr.contains("store `s`"),
        "github/actions: {took:?}, exit {}\n{}",
        r.code,
        r.stderr
    );
}

/// Redis and Artifactory hold plain values: read through `!store` by `describe component`.
#[test]
fn a_silent_server_fails_plain_stores_within_their_budget() {
    let port = silent_listener();
    let t = BUDGET_SECS;
    for (kind, options) in [
        (
            "redis",
            format!("url: 'redis://127.0.0.1:{port}', timeout: {t}"),
        ),
        (
            "artifactory",
            format!("url: 'http://127.0.0.1:{port}', access_token: t, repo_name: r, timeout: {t}"),
        ),
    ] {
        let p = project(
            &format!("  p:\n    kind: {kind}\n    options: {{ {options} }}\n"),
            "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      vars:\n        y: !store p api Y\n",
        );
        let started = Instant::now();
        let r = p.run(&["describe", "component", "api", "-s", "dev", "--mask=false"]);
        let took = started.elapsed();
        assert!(
            took <= Duration::from_secs(BUDGET_SECS) + SLACK && r.code == 1,
            "{kind}: {took:?}, exit {}\n{}",
            r.code,
            r.stderr
        );
        assert!(r.stderr.contains("`p`"), "{kind}: {}", r.stderr);
    }
}
