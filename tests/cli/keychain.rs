//! The `keychain` store's `system` backend end to end: `atmos secret set/get/list/delete` with a
//! real Secret Service (gnome-keyring on a private D-Bus session), values checked with
//! `secret-tool`; and without any D-Bus session, the fallback to the encrypted file with a
//! warning (or a clear error when the file has no password).

use crate::localsrv::session_bus::SessionBus;
use crate::localsrv::{project, secret_stack};
use crate::support::{SENTINEL, TestContext};

fn keychain_project(service: &str) -> TestContext {
    project(
        &format!(
            "  os-keychain:\n    kind: keychain\n    options:\n      backend: system\n      service: {service}\n      file_dir: .atmos/keyring\n"
        ),
        &secret_stack("os-keychain"),
    )
}

#[test]
fn keychain_system_backend_through_the_binary() {
    let session =
        crate::support::require("a D-Bus session with gnome-keyring", SessionBus::start());
    let service = format!("atmos-cli-{}", std::process::id());
    let mut p = keychain_project(&service);
    for (k, v) in session.envs() {
        p.env(&k, &v);
    }
    let set = p
        .run(&[
            "secret",
            "set",
            &format!("DB_PASSWORD={SENTINEL}"),
            "-s",
            "dev",
            "-c",
            "api",
        ])
        .ok();
    assert!(
        !set.stderr.contains("no system keychain answered"),
        "{}",
        set.stderr
    );
    p.set("STACK_TOKEN", "stack-value", "dev", "api");
    p.set("LICENSE_KEY", "license-value", "dev", "api");
    // In gnome-keyring, JSON-encoded, one item per coordinate.
    assert_eq!(
        session
            .lookup(&service, "atmos/dev/api/DB_PASSWORD")
            .as_deref(),
        Some(format!("\"{SENTINEL}\"").as_str())
    );
    assert_eq!(
        session.lookup(&service, "atmos/dev/STACK_TOKEN").as_deref(),
        Some("\"stack-value\"")
    );
    assert_eq!(
        session.lookup(&service, "atmos/LICENSE_KEY").as_deref(),
        Some("\"license-value\"")
    );
    // No file fallback happened.
    assert!(!p.join(".atmos/keyring").exists());

    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);
    let list = p
        .run(&["secret", "list", "-s", "dev", "--format", "csv"])
        .ok();
    assert!(
        list.stdout
            .contains("dev,api,DB_PASSWORD,instance,store:os-keychain,initialized"),
        "{}",
        list.stdout
    );
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
    assert_eq!(session.lookup(&service, "atmos/dev/api/DB_PASSWORD"), None);
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("DB_PASSWORD");
}

#[test]
fn keychain_system_falls_back_to_the_file_without_dbus() {
    // TestContext runs the binary with a clean environment: no D-Bus session at all.
    let p = keychain_project("atmos-cli-fallback");
    p.run(&[
        "secret",
        "set",
        &format!("DB_PASSWORD={SENTINEL}"),
        "-s",
        "dev",
        "-c",
        "api",
    ])
    .ok()
    .stderr_has("no system keychain answered")
    .stderr_has("using the encrypted file");
    let file = p.join(".atmos/keyring/atmos-cli-fallback.age");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&bytes).contains(SENTINEL));
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);

    // Without the file's password there is nowhere to keep secrets: a clear error, exit 1.
    let mut bare = keychain_project("atmos-cli-fallback");
    bare.env("ATMOS_KEYRING_PASSWORD", "");
    bare.run(&[
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
    .stderr_has("os-keychain")
    .stderr_has("no system keychain answered")
    .stderr_has("hint:");
}
