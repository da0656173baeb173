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
    // In gnome-keyring, JSON-encoded, one item per coordinate, in Go atmos's layout (service =
    // the composed key, account = the store's service name).
    assert_eq!(
        session
            .lookup("atmos/dev/api/DB_PASSWORD", &service)
            .as_deref(),
        Some(format!("\"{SENTINEL}\"").as_str())
    );
    assert_eq!(
        session.lookup("atmos/dev/STACK_TOKEN", &service).as_deref(),
        Some("\"stack-value\"")
    );
    assert_eq!(
        session.lookup("atmos/LICENSE_KEY", &service).as_deref(),
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
    assert_eq!(session.lookup("atmos/dev/api/DB_PASSWORD", &service), None);
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("DB_PASSWORD");

    // An item Go atmos wrote (zalando/go-keyring: service = composed key, account = service
    // name) is read; deleting removes it.
    session.store("atmos/dev/api/DB_PASSWORD", &service, "\"written-by-go\"");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "written-by-go");
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
    assert_eq!(session.lookup("atmos/dev/api/DB_PASSWORD", &service), None);

    // An item in this program's earlier layout (service and account swapped) is still read,
    // and writing the value moves it to the shared layout.
    session.store(&service, "atmos/dev/api/DB_PASSWORD", "\"old-layout\"");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "old-layout");
    p.set("DB_PASSWORD", "new-layout", "dev", "api");
    assert_eq!(
        session
            .lookup("atmos/dev/api/DB_PASSWORD", &service)
            .as_deref(),
        Some("\"new-layout\"")
    );
    assert_eq!(session.lookup(&service, "atmos/dev/api/DB_PASSWORD"), None);
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
    .stderr_has("using the encrypted files in");
    // One JWE file per value, named by the percent-escaped composed key (Go atmos's layout).
    let file = p.join(".atmos/keyring/atmos%2Fdev%2Fapi%2FDB_PASSWORD");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.split('.').count(), 5, "{text}");
    assert!(!text.contains(SENTINEL));
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

/// Seals or opens one keyring file with Python jwcrypto, an independent JOSE implementation:
/// `seal PASSWORD KEY VALUE PATH` writes the item as 99designs/keyring does
/// (PBES2-HS256+A128KW, A256GCM, p2c 8192); `open PASSWORD PATH` prints the protected header and
/// the item.
const JOSE: &str = r#"
import sys, json, base64
from jwcrypto import jwe, jwk
from jwcrypto.common import json_encode
mode = sys.argv[1]
if mode == "seal":
    pw, key, value, path = sys.argv[2:6]
    item = {"Key": key, "Data": base64.b64encode(value.encode()).decode(), "Label": "",
            "Description": "", "KeychainNotTrustApplication": False,
            "KeychainNotSynchronizable": False}
    t = jwe.JWE(json.dumps(item).encode(), json_encode({"alg": "PBES2-HS256+A128KW",
                "enc": "A256GCM", "p2c": 8192, "created": "2026-12-01 00:00:00 +0000 UTC"}))
    t.add_recipient(jwk.JWK.from_password(pw))
    open(path, "w").write(t.serialize(compact=True))
else:
    pw, path = sys.argv[2:4]
    t = jwe.JWE()
    t.deserialize(open(path).read(), key=jwk.JWK.from_password(pw))
    print(json.dumps({"header": json.loads(t.objects["protected"]),
                      "payload": json.loads(t.payload)}))
"#;

pub(crate) fn jose(args: &[&str]) -> String {
    let py = crate::support::require(
        "Python jwcrypto (.svc/jose)",
        crate::localsrv::services::find_bin("ATMOS_TEST_JOSE_PYTHON", "jose", "python"),
    );
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(JOSE)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jwcrypto: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `file` backend reads and writes Go atmos's keyring files (99designs/keyring: one JWE per
/// item, named by the percent-escaped key), proven both ways with jwcrypto.
#[test]
fn keychain_file_backend_shares_go_atmos_files() {
    let p = project(
        "  kc:\n    kind: keychain\n    options:\n      backend: file\n      file_dir: .atmos/keyring\n",
        &secret_stack("kc"),
    );
    let password = "test-keyring-password"; // TestContext's ATMOS_KEYRING_PASSWORD
    std::fs::create_dir_all(p.join(".atmos/keyring")).unwrap();
    // Written as Go atmos writes it: value JSON-encoded, key = the composed key.
    let go_file = p.join(".atmos/keyring/atmos%2Fdev%2Fapi%2FDB_PASSWORD");
    jose(&[
        "seal",
        password,
        "atmos/dev/api/DB_PASSWORD",
        &format!("\"{SENTINEL}\""),
        go_file.to_str().unwrap(),
    ]);
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);

    // Written by us, opened by jwcrypto: the header and the item as 99designs writes them.
    p.set("STACK_TOKEN", "stack-value", "dev", "api");
    let ours = p.join(".atmos/keyring/atmos%2Fdev%2FSTACK_TOKEN");
    let text = std::fs::read_to_string(&ours).unwrap();
    assert!(!text.contains("stack-value"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&ours).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let opened: serde_json::Value =
        serde_json::from_str(&jose(&["open", password, ours.to_str().unwrap()])).unwrap();
    assert_eq!(opened["header"]["alg"], "PBES2-HS256+A128KW");
    assert_eq!(opened["header"]["enc"], "A256GCM");
    assert_eq!(opened["header"]["p2c"], 8192);
    assert_eq!(opened["payload"]["Key"], "atmos/dev/STACK_TOKEN");
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD
        .decode(opened["payload"]["Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, b"\"stack-value\"");

    // A wrong password is a clear error naming the store and the file, exit 1.
    let mut wrong = project(
        "  kc:\n    kind: keychain\n    options:\n      backend: file\n      file_dir: .atmos/keyring\n",
        &secret_stack("kc"),
    );
    crate::support::copy_dir(&p.join(".atmos"), &wrong.join(".atmos"));
    wrong.env("ATMOS_KEYRING_PASSWORD", "another-password");
    wrong
        .run(&[
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
        .stderr_has("kc")
        .stderr_has("wrong password");

    // Delete removes the file.
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
    assert!(!go_file.exists());
}

/// A value kept by an earlier version in the old single age file (`<file_dir>/<service>.age`)
/// is still read, and moves to Go atmos's layout when it is written again.
#[test]
fn keychain_file_backend_reads_the_old_age_file() {
    use atmos_secrets::secret_value::SecretString;
    use atmos_secrets::store::keychain::AgeFileKv;
    use atmos_secrets::store::memory::Kv as _;
    let p = project(
        "  kc:\n    kind: keychain\n    options:\n      backend: file\n      file_dir: .atmos/keyring\n",
        &secret_stack("kc"),
    );
    let old_path = p.join(".atmos/keyring/atmos-secrets.age");
    std::fs::create_dir_all(old_path.parent().unwrap()).unwrap();
    let old = AgeFileKv::new(
        old_path.clone(),
        SecretString::from("test-keyring-password"),
    );
    old.set("atmos/dev/api/DB_PASSWORD", &format!("\"{SENTINEL}\""))
        .unwrap();
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);
    p.set("DB_PASSWORD", "moved", "dev", "api");
    assert!(
        p.join(".atmos/keyring/atmos%2Fdev%2Fapi%2FDB_PASSWORD")
            .is_file()
    );
    assert_eq!(old.get("atmos/dev/api/DB_PASSWORD").unwrap(), None);
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "moved");
}
