//! The backend conformance suite: one set of behaviours every store must show, run against each
//! backend (real servers or vetted fakes where a backend needs one).

mod suite;

use std::sync::Arc;

use atmos_secrets::secret::SecretString;
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
    let path = dir.path().join("atmos-secrets.age");
    let kv = FileKv::new(path.clone(), SecretString::from("conformance-password"));
    let store = KeychainStore::with_kv("kc", "atmos", Arc::new(kv));
    suite::run(&store, &suite::Expect::default());
    // The file is encrypted and private.
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&bytes).contains(suite::SENTINEL));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A wrong password is a clear error, not a silent empty store.
    let wrong = KeychainStore::with_kv(
        "kc",
        "atmos",
        Arc::new(FileKv::new(path, SecretString::from("wrong"))),
    );
    let key = suite::coord("dev", "api", "ANY");
    let err = suite::block(atmos_secrets::store::get_one(&wrong, &key)).unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
}
