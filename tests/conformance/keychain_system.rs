//! The `keychain` store's `system` backend against a real Secret Service (gnome-keyring on a
//! private D-Bus session): the conformance suite, and the values checked with `secret-tool`.
//!
//! The suite must run in a process whose environment names the private bus, and a test cannot
//! change its own environment safely, so [`keychain_system_backend`] re-runs this test binary
//! for the ignored [`inner_system_conformance`] inside that session and checks it passed.

use std::process::Command;

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::Store;
use atmos_secrets::store::keychain::KeychainStore;
use atmos_secrets::yaml::{Map, Node};

use crate::session_bus::SessionBus;
use crate::suite::{self, SENTINEL, block, coord};

const INNER: &str = "keychain_system::inner_system_conformance";
const SERVICE_ENV: &str = "ATMOS_TEST_KEYCHAIN_SERVICE";

fn system_config(service: &str) -> StoreConfig {
    let mut options = Map::default();
    options.insert("backend".into(), Node::Str("system".into()));
    options.insert("service".into(), Node::Str(service.into()));
    StoreConfig {
        name: "os-keychain".into(),
        kind: StoreKind::Keychain,
        secret: true,
        identity: None,
        options,
    }
}

#[test]
fn keychain_system_backend() {
    let Some(session) = SessionBus::start() else {
        return;
    };
    let service = format!("atmos-conformance-{}", std::process::id());
    let exe = std::env::current_exe().unwrap();
    let out = session
        .run(&exe)
        .args([
            INNER,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SERVICE_ENV, &service)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "inner run failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The values are in gnome-keyring, JSON-encoded, in Go atmos's layout: service = the composed
    // key `<prefix>/<stack split at -…>/…/<key>`, account = the store's service name.
    assert_eq!(
        session
            .lookup("atmos/plat/ue2/dev/KEEP", &service)
            .as_deref(),
        Some("\"kept in the keyring\"")
    );
    assert_eq!(
        session
            .lookup("atmos/dev/api/KEEP_JSON", &service)
            .as_deref(),
        Some(r#"{"a":1}"#)
    );
    // Deleted ones are gone.
    assert_eq!(session.lookup("atmos/dev/api/ROTATED", &service), None);
    // Nothing fell back to the file backend.
    assert!(!stderr.contains("no system keychain answered"), "{stderr}");
}

/// Runs inside the private session (started by [`keychain_system_backend`]).
#[test]
#[ignore = "run by keychain_system_backend inside a private D-Bus session"]
fn inner_system_conformance() {
    let service = std::env::var(SERVICE_ENV).expect("started by keychain_system_backend");
    // No ATMOS_KEYRING_PASSWORD here: a fallback to the file backend would fail to build.
    assert!(std::env::var_os("ATMOS_KEYRING_PASSWORD").is_none());
    let store = KeychainStore::build(&system_config(&service), &BuildEnv::default()).unwrap();
    let c = coord("dev", "api", "K");
    assert!(
        store
            .describe_key(&c)
            .contains(&format!("system keychain, account `{service}`")),
        "{}",
        store.describe_key(&c)
    );
    suite::run(&store, &suite::Expect::default());
    block(store.set(
        &coord("plat-ue2-dev", "", "KEEP"),
        &SecretValue::text("kept in the keyring"),
    ))
    .unwrap();
    block(store.set(
        &coord("dev", "api", "KEEP_JSON"),
        &SecretValue::json(serde_json::json!({"a": 1})),
    ))
    .unwrap();
    // A second store object (a later command) reads what the first wrote.
    let again = KeychainStore::build(&system_config(&service), &BuildEnv::default()).unwrap();
    let v = block(atmos_secrets::store::get_one(
        &again,
        &coord("dev", "api", "LEAK_CHECK"),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(v.as_str(), Some(SENTINEL));
}

/// Without any D-Bus session the store falls back to the encrypted file (with a warning); the
/// warning path is covered end to end in `tests/cli/keychain.rs`. Here: no session and no file
/// password is a clear configuration error naming the store.
#[test]
fn keychain_system_without_session_or_password_is_a_clear_error() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "keychain_system::inner_no_session",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by keychain_system_without_session_or_password_is_a_clear_error"]
fn inner_no_session() {
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none());
    let err = KeychainStore::build(&system_config("atmos-no-session"), &BuildEnv::default())
        .err()
        .expect("no keychain and no file password");
    let msg = err.to_string();
    assert!(msg.contains("`os-keychain`"), "{msg}");
    assert!(msg.contains("no system keychain answered"), "{msg}");
    assert!(
        err.hint_text()
            .is_some_and(|h| h.contains("ATMOS_KEYRING_PASSWORD"))
    );
}
