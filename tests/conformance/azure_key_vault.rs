//! `azure/keyvault`: the HTTPS wire fake (certificate from a test CA) proven with Microsoft's
//! official Python SDK, the conformance suite against that fake, and the exact names of spec
//! docs/backends/azure-keyvault.md (Names) plus its scope limits and collision guard.

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::secrets::Scope;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::azure_key_vault::{AzureKeyVaultStore, STUB_TOKEN};
use atmos_secrets::store::{Store, get_one};

use super::fakes::{self, Fake};
use super::suite::{self, block, coord};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";

fn store_with(fake: &Fake, ca: bool) -> AzureKeyVaultStore {
    let ca_line = if ca {
        format!("ca_cert: {}\n", fake.ca.as_ref().unwrap().display())
    } else {
        String::new()
    };
    let cfg = StoreConfig {
        name: "akv".into(),
        kind: StoreKind::AzureKeyVault,
        secret: true,
        identity: None,
        options: fakes::options(&format!(
            "vault_url: {}\nprefix: atmos\nwithout_authentication: true\ndisable_challenge_resource_verification: true\n{ca_line}",
            fake.url
        )),
    };
    AzureKeyVaultStore::build(&cfg, &BuildEnv::default()).unwrap()
}

fn start() -> Option<Fake> {
    fakes::start(
        "azure_key_vault.py",
        &["--token", STUB_TOKEN, "--tenant", TENANT],
        true,
    )
}

#[test]
fn official_client_agrees_with_the_fake() {
    let Some(fake) = fakes::start(
        "azure_key_vault.py",
        &[
            "--token",
            "good",
            "--deny-token",
            "denied",
            "--tenant",
            TENANT,
        ],
        true,
    ) else {
        return;
    };
    let ca = fake.ca.clone().unwrap();
    let Some(n) = fake.check_with_official_client(
        "azure.keyvault.secrets",
        "check_azure_key_vault.py",
        &[ca.to_str().unwrap(), "good", "denied", TENANT],
    ) else {
        return;
    };
    assert!(n >= 18, "{n} checks");
}

#[test]
fn conformance() {
    let Some(fake) = start() else { return };
    suite::run(
        &store_with(&fake, true),
        &suite::Expect {
            scopes: vec![Scope::Instance],
            structured: true,
            delete_missing_ok: true,
            ..suite::Expect::default()
        },
    );
    let state = fake.state();
    // Deletes purge: nothing is left soft-deleted.
    assert_eq!(state["deleted"], serde_json::json!([]));
    // Challenge auth happened: the client's first request went out without a token.
    assert!(state["challenges"].as_u64().unwrap() >= 1, "{state}");
}

#[test]
fn names_scopes_and_collisions() {
    let Some(fake) = start() else { return };
    let s = store_with(&fake, true);
    let inst = coord("plat-ue2-dev", "vpc/primary", "DB_PASSWORD");
    block(s.set(&inst, &SecretValue::text("v"))).unwrap();
    let state = fake.state();
    assert_eq!(
        state["live"],
        serde_json::json!({"atmos-plat-ue2-dev-vpc-primary-DB-PASSWORD": ["\"v\""]})
    );
    // Stack and global scope are rejected (docs/backends/azure-keyvault.md, Names), naming the store.
    for c in [
        coord("plat-ue2-dev", "", "DB_PASSWORD"),
        coord("", "", "DB_PASSWORD"),
    ] {
        let e = block(s.set(&c, &SecretValue::text("v")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("akv") && e.contains("scope"), "{e}");
    }
    // `A_B` and `A-B` map to one vault name: the second is an error naming both.
    block(s.set(&coord("dev", "api", "A_B"), &SecretValue::text("1"))).unwrap();
    let e = block(get_one(&s, &coord("dev", "api", "A-B")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`A-B`") && e.contains("`A_B`") && e.contains("atmos-dev-api-A-B"),
        "{e}"
    );
    assert_eq!(
        s.describe_key(&inst),
        format!(
            "{}/secrets/atmos-plat-ue2-dev-vpc-primary-DB-PASSWORD",
            fake.url
        )
    );
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let Some(fake) = start() else { return };
    // Without `ca_cert` the test CA is unknown: the TLS handshake must fail, never be skipped.
    let s = store_with(&fake, false);
    let started = std::time::Instant::now();
    let e = block(get_one(&s, &coord("dev", "api", "X"))).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("akv") && text.contains("cannot reach"),
        "{text}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
