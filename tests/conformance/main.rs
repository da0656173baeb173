//! The backend conformance suite: one set of behaviours every store must show, run against each
//! backend (real servers or vetted fakes where a backend needs one).

#[cfg(feature = "artifactory")]
mod artifactory;
#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "azure")]
mod azure_key_vault;
mod fakes;
mod fault_proxy;
mod faults;
#[cfg(feature = "gcp")]
mod gcp_secret_manager;
mod keychain_system;
mod localsrv;
#[cfg(feature = "onepassword")]
mod onepassword;
#[cfg(feature = "redis")]
mod redis;
mod services;
mod session_bus;
mod suite;
#[cfg(feature = "vault")]
mod vault;

use std::sync::Arc;

use atmos_secrets::secret_value::{SecretString, SecretValue};
use atmos_secrets::store::Store as _;
use atmos_secrets::store::keychain::{FileKv, KeychainStore};
use atmos_secrets::store::memory::MemoryKv;

#[test]
fn keychain_memory_backend() {
    let store = KeychainStore::with_kv("kc", "atmos", Arc::new(MemoryKv::default()));
    suite::run(&store, &suite::Expect::default());
}

#[test]
fn keychain_file_backend() {
    let dir = tempfile::tempdir().unwrap();
    let kv = FileKv::new(
        dir.path().to_path_buf(),
        SecretString::from("conformance-password"),
    );
    let store = KeychainStore::with_kv("kc", "atmos", Arc::new(kv));
    suite::run(&store, &suite::Expect::default());
    // One encrypted, private JWE file per value, named by the escaped composed key.
    suite::block(store.set(
        &suite::coord("dev", "api", "KEPT"),
        &SecretValue::text(suite::SENTINEL),
    ))
    .unwrap();
    let path = dir.path().join("atmos%2Fdev%2Fapi%2FKEPT");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.split('.').count(), 5);
    assert!(!text.contains(suite::SENTINEL));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A wrong password is a clear error, not a silent empty store.
    let wrong = KeychainStore::with_kv(
        "kc",
        "atmos",
        Arc::new(FileKv::new(
            dir.path().to_path_buf(),
            SecretString::from("wrong"),
        )),
    );
    let key = suite::coord("dev", "api", "KEPT");
    let err = suite::block(atmos_secrets::store::get_one(&wrong, &key)).unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
    // Each file is encrypted on its own, so a write with a wrong password is refused up front
    // rather than leaving a file the right password cannot open.
    let err = suite::block(wrong.set(&suite::coord("dev", "api", "NEW"), &SecretValue::text("x")))
        .unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
    assert!(!dir.path().join("atmos%2Fdev%2Fapi%2FNEW").exists());
}

/// Values in the file layout of earlier versions (one age file `<file_dir>/<service>.age`) stay
/// readable, and move to the new layout when written or deleted. (That a `stores:` entry finds
/// the old file is checked through the binary in `tests/cli/keychain.rs`.)
#[test]
fn keychain_file_backend_reads_and_moves_the_old_age_file() {
    use atmos_secrets::store::keychain::AgeFileKv;
    use atmos_secrets::store::memory::Kv;

    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("atmos-secrets.age");
    let old = AgeFileKv::new(
        old_path.clone(),
        SecretString::from("test-keyring-password"),
    );
    old.set("atmos/dev/api/OLD_A", "\"a-value\"").unwrap();
    old.set("atmos/dev/api/OLD_B", "\"b-value\"").unwrap();
    let kv = FileKv::new(
        dir.path().to_path_buf(),
        SecretString::from("test-keyring-password"),
    )
    .with_legacy(old);
    let store = KeychainStore::with_kv("kc", "atmos", Arc::new(kv));
    let a = suite::coord("dev", "api", "OLD_A");
    let b = suite::coord("dev", "api", "OLD_B");
    let got = suite::block(atmos_secrets::store::get_one(&store, &a))
        .unwrap()
        .unwrap();
    assert_eq!(got.expose().to_string(), "\"a-value\"");
    // Writing A moves it: a new file, gone from the old one; B is untouched until used.
    suite::block(store.set(&a, &SecretValue::text("a-new"))).unwrap();
    assert!(dir.path().join("atmos%2Fdev%2Fapi%2FOLD_A").is_file());
    let reopened = AgeFileKv::new(
        old_path.clone(),
        SecretString::from("test-keyring-password"),
    );
    assert_eq!(reopened.get("atmos/dev/api/OLD_A").unwrap(), None);
    assert!(reopened.get("atmos/dev/api/OLD_B").unwrap().is_some());
    // Deleting B removes it from the old file too.
    suite::block(store.delete(&b)).unwrap();
    assert_eq!(reopened.get("atmos/dev/api/OLD_B").unwrap(), None);
}

#[test]
fn sops_provider() {
    use atmos_secrets::config::{AgeKeySpec, CliConfig, ProviderConfig, ProviderSpec};
    use atmos_secrets::secrets::Scope;
    use atmos_secrets::store::registry::Registry;

    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let secret = {
        use age::secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_owned()
    };
    let cli = Arc::new(CliConfig {
        base_path: dir.path().to_path_buf(),
        ..CliConfig::default()
    });
    let provider = ProviderConfig {
        name: "dev-sops".into(),
        kind: "sops/age".into(),
        identity: None,
        spec: ProviderSpec {
            age_key: Some(AgeKeySpec::Inline(SecretString::from(secret.as_str()))),
            age_recipients: vec![identity.to_public().to_string()],
            ..ProviderSpec::default()
        },
    };
    let store = Registry::new(cli).sops_store(&provider).unwrap();
    suite::run(
        &store,
        &suite::Expect {
            scopes: vec![Scope::Instance, Scope::Stack],
            // SOPS files hold strings (atmos writes what the CLI gives it).
            structured: false,
            delete_missing_ok: true,
            ..suite::Expect::default()
        },
    );
    // Files are where docs/sops.md says, private, and hold no plaintext.
    let inst = dir.path().join("secrets/plat-ue2-dev.vpc/primary.enc.yaml");
    let stack = dir.path().join("secrets/plat-ue2-dev.enc.yaml");
    for f in [&inst, &stack] {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(text.contains("ENC[AES256_GCM"), "{}", f.display());
        assert!(!text.contains(suite::SENTINEL));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
