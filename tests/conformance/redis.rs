//! `redis` against a real `redis-server` (Debian) with `requirepass`: the conformance suite, the
//! exact keys of docs/backends/redis.md read back with `redis-cli`, the JSON encoding, and the failures a
//! user meets (unreachable, silent server, wrong password, ACL denial), bounded and naming the
//! store.

use std::time::{Duration, Instant};

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::redis::RedisStore;
use atmos_secrets::store::{Store, get_one};
use atmos_secrets::yaml::{Map, Node};

use crate::localsrv::{
    REDIS_PASSWORD as PASSWORD, start_redis as start, start_redis_tls, test_certs,
};
use crate::services;
use crate::suite::{self, SENTINEL, block, coord};

/// A redis store config with string options.
pub fn config(name: &str, options: &[(&str, &str)]) -> StoreConfig {
    let mut map = Map::default();
    for (k, v) in options {
        map.insert((*k).to_owned(), Node::Str((*v).to_owned()));
    }
    StoreConfig {
        name: name.to_owned(),
        kind: StoreKind::Redis,
        secret: false,
        identity: None,
        options: map,
    }
}

fn store(url: &str, extra: &[(&str, &str)]) -> RedisStore {
    let mut opts = vec![("url", url), ("prefix", "atmos")];
    opts.extend_from_slice(extra);
    RedisStore::build(&config("cache", &opts), &BuildEnv::default()).unwrap()
}

#[test]
fn redis_conformance() {
    let Some(r) = start() else { return };
    suite::run(&store(&r.url(PASSWORD), &[]), &suite::Expect::default());
}

#[test]
fn redis_keys_per_scope_and_encoding() {
    let Some(r) = start() else { return };
    let s = store(&r.url(PASSWORD), &[]);
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
    for (i, (c, key)) in cases.iter().enumerate() {
        block(s.set(c, &SecretValue::text(format!("v{i}")))).unwrap();
        assert_eq!(s.describe_key(c), *key);
        // JSON-encoded: a string keeps its quotes.
        assert_eq!(r.cli(&["GET", key]), format!("\"v{i}\""));
    }
    assert_eq!(
        r.cli(&["KEYS", "*"]).lines().count(),
        3,
        "only the three keys exist"
    );
    // A custom stack delimiter splits the stack into path segments.
    let split = store(&r.url(PASSWORD), &[("stack_delimiter", "-")]);
    block(split.set(
        &coord("plat-ue2-dev", "vpc/primary", "K"),
        &SecretValue::json(serde_json::json!({"a": [1, 2]})),
    ))
    .unwrap();
    assert_eq!(
        r.cli(&["GET", "atmos/plat/ue2/dev/vpc/primary/K"]),
        r#"{"a":[1,2]}"#
    );
    // Values written by other tools: JSON when it parses, else the raw text.
    r.cli(&["SET", "atmos/dev/api/RAW", "not json"]);
    r.cli(&["SET", "atmos/dev/api/NUM", "42"]);
    let got = block(s.get_many(&[coord("dev", "api", "RAW"), coord("dev", "api", "NUM")]));
    assert_eq!(
        got[0].as_ref().unwrap().as_ref().unwrap().as_str(),
        Some("not json")
    );
    assert_eq!(
        got[1].as_ref().unwrap().as_ref().unwrap().expose(),
        &serde_json::json!(42)
    );
}

fn check_err(err: &atmos_secrets::store::StoreError, text: &str) {
    use atmos_secrets::error::Diagnose;
    let msg = err.to_string();
    assert!(msg.contains("`cache`"), "{msg}");
    assert!(msg.contains(text), "{msg}");
    assert!(err.hint().is_some(), "{msg}");
    assert_eq!(err.exit_code(), 1);
    for leak in [PASSWORD, "wrong-pw-1", "acl-pw-2", SENTINEL] {
        assert!(!msg.contains(leak), "leaked: {msg}");
        assert!(!format!("{err:?}").contains(leak), "leaked: {err:?}");
    }
}

#[test]
fn redis_faults_are_clear_and_bounded() {
    let Some(r) = start() else { return };
    let key = coord("dev", "api", "DB_PASSWORD");
    let good = store(&r.url(PASSWORD), &[]);
    block(good.set(&key, &SecretValue::text(SENTINEL))).unwrap();

    // Unreachable.
    let dead = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", services::free_port());
    let t = Instant::now();
    let err = block(get_one(&store(&dead, &[("timeout", "3")]), &key)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    check_err(&err, "cannot connect to redis");

    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://:{PASSWORD}@{}/0", silent.local_addr().unwrap());
    let t = Instant::now();
    let err = block(get_one(&store(&url, &[("timeout", "1")]), &key)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    check_err(&err, "did not answer within 1 s");
    drop(silent);

    // Wrong password, and no password at all.
    let err = block(get_one(&store(&r.url("wrong-pw-1"), &[]), &key)).unwrap_err();
    check_err(&err, "refused the credentials");
    let anon = format!("redis://127.0.0.1:{}/0", r.svc.port);
    let err = block(get_one(&store(&anon, &[]), &key)).unwrap_err();
    check_err(&err, "refused the credentials");

    // An ACL user that may only read: writes are denied.
    r.cli(&[
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">acl-pw-2",
        "~atmos/*",
        "+get",
        "+mget",
        "+exists",
        "+ping",
        "+hello",
        "+client",
    ]);
    let reader = store(
        &format!("redis://reader:acl-pw-2@127.0.0.1:{}/0", r.svc.port),
        &[],
    );
    let v = block(get_one(&reader, &key)).unwrap().unwrap();
    assert_eq!(v.as_str(), Some(SENTINEL));
    let err = block(reader.set(&key, &SecretValue::text("x"))).unwrap_err();
    check_err(&err, "permission denied by redis (write)");

    // Not found.
    assert!(
        block(get_one(&good, &coord("dev", "api", "NOPE")))
            .unwrap()
            .is_none()
    );
}

#[test]
fn redis_config_errors() {
    let err = RedisStore::build(
        &config("cache", &[("url", "http://:pw@host:1")]),
        &BuildEnv::default(),
    )
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(msg.contains("is not a redis URL"), "{msg}");
    assert!(!msg.contains(":pw@"), "{msg}");
}

#[test]
fn redis_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = test_certs(dir.path()) else {
        return;
    };
    let Some(svc) = start_redis_tls(&ca, &cert, &key) else {
        return;
    };
    let url = format!("rediss://:{PASSWORD}@127.0.0.1:{}/0", svc.port);
    let pinned = store(&url, &[("ca_cert", ca.to_str().unwrap())]);
    suite::run(&pinned, &suite::Expect::default());
    // Without the CA the server is not trusted: a TLS error naming the store.
    let c = coord("dev", "api", "LEAK_CHECK");
    let err = block(get_one(&store(&url, &[("timeout", "5")]), &c)).unwrap_err();
    check_err(&err, "TLS");
    // A plain redis:// URL against the TLS port does not hang past the timeout.
    let plain = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", svc.port);
    let t = Instant::now();
    let err = block(get_one(&store(&plain, &[("timeout", "1")]), &c)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    check_err(&err, "redis");
}
