//! The backend conformance suite: one set of behaviours every store must show, run against each
//! backend (real servers or vetted fakes where a backend needs one).

#[cfg(feature = "artifactory")]
mod artifactory;
#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "azure")]
mod azure_key_vault;
mod fakes;
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

use atmos_secrets::secret_value::SecretString;
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
