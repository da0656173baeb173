//! `atmos secret …` end to end against a real OpenBao dev server (`hashicorp/vault` store):
//! set/get/list/validate/delete with every scope, the stored KV v2 paths checked with `bao`,
//! and the failures (bad token, read-only token, unreachable server, missing value) as exit 1
//! with the store named and no token printed.

use std::time::{Duration, Instant};

use crate::localsrv::servers::{BAO_ROOT, start_bao, start_bao_with};
use crate::localsrv::{project, secret_stack, services};
use crate::support::{SENTINEL, TestContext};

fn vault_project(address: &str, token: &str) -> TestContext {
    let mut p = project(
        &format!(
            "  team-vault:\n    kind: hashicorp/vault\n    secret: true\n    options:\n      address: {address}\n      mount: secret\n      prefix: atmos\n      timeout: 3\n"
        ),
        &secret_stack("team-vault"),
    );
    p.env("VAULT_TOKEN", token);
    p
}

#[test]
fn vault_set_get_list_validate_delete() {
    let bao = crate::support::require("OpenBao (bao)", start_bao());
    let p = vault_project(&bao.svc.url, BAO_ROOT);
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    p.set("STACK_TOKEN", "stack-value", "dev", "api");
    p.set("LICENSE_KEY", "license-value", "dev", "api");
    assert_eq!(
        bao.kv_get("atmos/dev/api/DB_PASSWORD"),
        Some(serde_json::json!({"value": SENTINEL}))
    );
    assert_eq!(
        bao.kv_get("atmos/dev/STACK_TOKEN"),
        Some(serde_json::json!({"value": "stack-value"}))
    );
    assert_eq!(
        bao.kv_get("atmos/LICENSE_KEY"),
        Some(serde_json::json!({"value": "license-value"}))
    );
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);
    assert_eq!(p.get("LICENSE_KEY", "dev", "api"), "license-value");

    let list = p
        .run(&["secret", "list", "-s", "dev", "--verify", "--format", "csv"])
        .ok();
    assert!(
        list.stdout
            .contains("dev,api,DB_PASSWORD,instance,store:team-vault,initialized"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("dev,*,STACK_TOKEN,stack,store:team-vault,initialized")
    );
    assert!(
        list.stdout
            .contains("*,*,LICENSE_KEY,global,store:team-vault,initialized")
    );
    assert!(!list.stdout.contains(SENTINEL) && !list.stderr.contains(SENTINEL));
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();

    p.run(&[
        "secret",
        "delete",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--force",
    ])
    .ok();
    assert_eq!(bao.kv_get("atmos/dev/api/DB_PASSWORD"), None);
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("DB_PASSWORD");
    p.run(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
    ])
    .code(1)
    .stderr_has("not initialized");
}

#[test]
fn vault_faults_exit_1_naming_the_store() {
    let bao = crate::support::require("OpenBao (bao)", start_bao());
    let admin = vault_project(&bao.svc.url, BAO_ROOT);
    admin.set("DB_PASSWORD", SENTINEL, "dev", "api");
    let get = crate::support::get_args("DB_PASSWORD", "dev", "api");

    let bad = "s.bad-token-for-cli";
    let r = vault_project(&bao.svc.url, bad)
        .run(&get)
        .code(1)
        .stderr_has("team-vault")
        .stderr_has("rejected the token")
        .stderr_has("hint:");
    assert!(!r.stderr.contains(bad) && !r.stdout.contains(SENTINEL));

    let ro = bao.read_only_token();
    let reader = vault_project(&bao.svc.url, &ro);
    assert_eq!(reader.get("DB_PASSWORD", "dev", "api"), SENTINEL);
    let r = reader
        .run(&[
            "secret",
            "set",
            "DB_PASSWORD=other",
            "-s",
            "dev",
            "-c",
            "api",
        ])
        .code(1)
        .stderr_has("team-vault")
        .stderr_has("permission denied")
        .stderr_has("hint:");
    assert!(!r.stderr.contains(&ro));
    assert_eq!(
        bao.kv_get("atmos/dev/api/DB_PASSWORD"),
        Some(serde_json::json!({"value": SENTINEL}))
    );

    let dead = format!("http://127.0.0.1:{}", services::free_port());
    let t = Instant::now();
    vault_project(&dead, BAO_ROOT)
        .run(&get)
        .code(1)
        .stderr_has("team-vault")
        .stderr_has("cannot connect to Vault")
        .stderr_has("hint:");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

    // A store that no command touches does not need to be reachable: `list` without
    // --verify works offline.
    vault_project(&dead, BAO_ROOT)
        .run(&["secret", "list", "-s", "dev"])
        .ok();
}

/// vaultrs reads `VAULT_*` variables on its own when a setting is left empty (P11); every
/// setting is explicit, so the store's options win and TLS verification stays on.
#[test]
fn vault_options_win_over_stray_vault_variables() {
    let bao = crate::support::require("OpenBao (bao) with TLS", start_bao_with(true));
    let ca = bao.ca.clone().unwrap();
    let mut p = project(
        &format!(
            "  team-vault:\n    kind: hashicorp/vault\n    secret: true\n    options:\n      address: {}\n      mount: secret\n      prefix: atmos\n      timeout: 3\n      ca_cert: {}\n",
            bao.svc.url,
            ca.display()
        ),
        &secret_stack("team-vault"),
    );
    p.env("VAULT_TOKEN", BAO_ROOT);
    p.env(
        "VAULT_ADDR",
        &format!("http://127.0.0.1:{}", services::free_port()),
    );
    p.env("VAULT_SKIP_VERIFY", "true");
    p.env("VAULT_CLIENT_CERT", "/nonexistent/cert.pem");
    p.env("VAULT_CLIENT_KEY", "/nonexistent/key.pem");
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);

    // Without the CA, VAULT_SKIP_VERIFY does not switch verification off.
    let mut q = project(
        &format!(
            "  team-vault:\n    kind: hashicorp/vault\n    secret: true\n    options:\n      address: {}\n      mount: secret\n      timeout: 3\n",
            bao.svc.url
        ),
        &secret_stack("team-vault"),
    );
    q.env("VAULT_TOKEN", BAO_ROOT);
    q.env("VAULT_SKIP_VERIFY", "true");
    q.run(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
    ])
    .code(1)
    .stderr_has("TLS connection to Vault")
    .stderr_has("ca_cert");
}

/// Behind a fault proxy, Vault throttles twice (HTTP 429) and then answers: `secret get` still
/// prints the value, and at `--logs-level debug` each retry is one line naming the store and
/// the path; at the default level none is shown. Throttled throughout, it fails naming the
/// store, after the bounded number of attempts.
#[test]
fn throttled_reads_are_retried_and_the_retries_are_visible_at_debug() {
    use crate::localsrv::fault_proxy::FaultProxy;
    let bao = crate::support::require("OpenBao (bao)", start_bao());
    let proxy = FaultProxy::in_front_of(&bao.svc.url);
    let p = vault_project(&proxy.url, BAO_ROOT);
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    let throttled = r#"{"errors":["request path \"secret/data/atmos/dev/api/DB_PASSWORD\": rate limit quota exceeded"]}"#;
    let get = crate::support::get_args("DB_PASSWORD", "dev", "api");

    proxy.answer(429, throttled, 2);
    let r = p
        .atmos(&get)
        .args(["--logs-level", "debug"])
        .run()
        .ok()
        .stderr_has("DEBUG throttled (HTTP 429) from Vault on store `team-vault` (read of `secret/atmos/dev/api/DB_PASSWORD`): retry 1/3 in ")
        .stderr_has("retry 2/3 in ");
    assert_eq!(r.stdout.trim(), SENTINEL);
    assert!(!r.stderr.contains("retry 3/3"), "{}", r.stderr);

    proxy.answer(429, throttled, 1);
    let r = p.run(&get).ok();
    assert!(!r.stderr.contains("DEBUG"), "{}", r.stderr);

    proxy.answer(429, throttled, usize::MAX);
    proxy.take_requests();
    p.run(&get)
        .code(1)
        .stderr_has("`team-vault`")
        .stderr_has("Vault throttled the request (read, HTTP 429, 4 attempts)")
        .stderr_has("hint: a rate-limit quota");
    assert_eq!(proxy.take_requests(), 4);
}
