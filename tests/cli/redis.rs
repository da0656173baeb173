//! The `redis` store end to end: `!store` / `!store.get` in a manifest read values written with
//! `redis-cli` (JSON as atmos writes them) through `describe component --mask=false`; a
//! `secret: true` redis store is refused at load; failures exit 1 naming the store, without the
//! password.

use std::time::{Duration, Instant};

use crate::localsrv::servers::{REDIS_PASSWORD, start_redis};
use crate::localsrv::{project, services, store_fn_stack};
use crate::support::TestContext;

fn redis_project(url: &str) -> TestContext {
    let mut p = project(
        "  cache:\n    kind: redis\n    options:\n      prefix: atmos\n      timeout: 3\n",
        &store_fn_stack("cache"),
    );
    // The URL (with its password) comes from the environment, as in CI.
    p.env("ATMOS_REDIS_URL", url);
    p
}

fn describe(p: &TestContext) -> crate::support::Run {
    p.run(&[
        "describe",
        "component",
        "api",
        "-s",
        "dev",
        "--mask=false",
        "--format",
        "json",
    ])
}

#[test]
fn redis_values_resolve_through_store_functions() {
    let r = crate::support::require("redis-server", start_redis());
    r.cli(&["SET", "atmos/dev/api/ENDPOINT", "\"https://api.internal\""]);
    r.cli(&["SET", "atmos/dev/api/CONFIG", r#"{"port":5432,"tls":true}"#]);
    r.cli(&["SET", "atmos/SHARED", "\"one-for-all\""]);
    let out = describe(&redis_project(&r.url(REDIS_PASSWORD))).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["vars"]["endpoint"], "https://api.internal",
        "{}",
        out.stdout
    );
    assert_eq!(v["vars"]["port"], 5432);
    assert_eq!(v["vars"]["shared"], "one-for-all");
    // Masked by default, without touching redis.
    let masked = redis_project("redis://127.0.0.1:1/0")
        .run(&["describe", "component", "api", "-s", "dev"])
        .ok();
    assert!(masked.stdout.contains("<MASKED>"), "{}", masked.stdout);
}

#[test]
fn redis_faults_exit_1_naming_the_store() {
    let r = crate::support::require("redis-server", start_redis());
    r.cli(&["SET", "atmos/dev/api/ENDPOINT", "\"x\""]);
    let out = describe(&redis_project(&r.url("wrong-redis-pw")))
        .code(1)
        .stderr_has("`cache`")
        .stderr_has("refused the credentials")
        .stderr_has("hint:");
    assert!(!out.stderr.contains("wrong-redis-pw") && !out.stderr.contains(REDIS_PASSWORD));

    let dead = format!(
        "redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0",
        services::free_port()
    );
    let t = Instant::now();
    let out = describe(&redis_project(&dead))
        .code(1)
        .stderr_has("`cache`")
        .stderr_has("cannot connect to redis")
        .stderr_has("hint:");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(!out.stderr.contains(REDIS_PASSWORD));

    // Not found: `!store` without a default fails and names the key.
    describe(&redis_project(&r.url(REDIS_PASSWORD)))
        .code(1)
        .stderr_has("atmos/dev/api/CONFIG");
}

#[test]
fn redis_cannot_be_a_secret_store() {
    let p = project(
        "  cache:\n    kind: redis\n    secret: true\n    options:\n      url: redis://127.0.0.1:1/0\n",
        &store_fn_stack("cache"),
    );
    p.run(&["secret", "list", "-s", "dev"])
        .code(1)
        .stderr_has("does not encrypt values at rest");
}
