//! `gcp/secretmanager`: the wire fake proven with Google's official Python client, the
//! conformance suite against that fake, and the exact names and encodings of docs/backends/gcp-secretmanager.md
//! read back from the fake's state.

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::Store;
use atmos_secrets::store::gcp_secret_manager::GcpSecretManagerStore;
use base64::Engine as _;

use super::fakes::{self, Fake};
use super::suite::{self, block, coord};

fn store(fake: &Fake, extra: &str) -> GcpSecretManagerStore {
    store_with(fake, &format!("without_authentication: true\n{extra}"))
}

fn store_with(fake: &Fake, extra: &str) -> GcpSecretManagerStore {
    let cfg = StoreConfig {
        name: "gsm".into(),
        kind: StoreKind::GcpSecretManager,
        secret: true,
        identity: None,
        options: fakes::options(&format!(
            "project_id: atmos-test\nprefix: atmos\nendpoint: {}\n{extra}",
            fake.url
        )),
    };
    GcpSecretManagerStore::build(&cfg, &BuildEnv::default()).unwrap()
}

#[test]
fn official_client_agrees_with_the_fake() {
    let Some(fake) = fakes::start(
        "gcp_secret_manager.py",
        &[
            "--token",
            "good",
            "--deny-token",
            "denied",
            "--refresh-token",
            "refresh-me",
        ],
        false,
    ) else {
        return;
    };
    let Some(n) = fake.check_with_official_client(
        "google.cloud.secretmanager_v1",
        "check_gcp_secret_manager.py",
        &["good", "denied"],
    ) else {
        return;
    };
    assert!(n >= 16, "{n} checks");
}

#[test]
fn conformance() {
    let Some(fake) = fakes::start("gcp_secret_manager.py", &[], false) else {
        return;
    };
    suite::run(&store(&fake, ""), &suite::Expect::default());
}

/// `credentials` holding authorized-user ADC: Google's own credential type gets its token from
/// the fake's OAuth endpoint (refresh-token grant) before every other call carries it.
#[test]
fn conformance_with_authorized_user_credentials() {
    let Some(fake) = fakes::start(
        "gcp_secret_manager.py",
        &["--token", "minted", "--refresh-token", "refresh-me"],
        false,
    ) else {
        return;
    };
    let adc = format!(
        r#"{{"type":"authorized_user","client_id":"cid","client_secret":"cs","refresh_token":"refresh-me","token_uri":"{}/token"}}"#,
        fake.url
    );
    let s = store_with(&fake, &format!("credentials: '{adc}'\n"));
    suite::run(&s, &suite::Expect::default());
    // A wrong refresh token is a clear credentials error naming the store.
    let bad = store_with(
        &fake,
        &format!("credentials: '{}'\n", adc.replace("refresh-me", "revoked")),
    );
    let e = block(atmos_secrets::store::get_one(
        &bad,
        &coord("dev", "api", "X"),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("gsm") && e.contains("credentials"), "{e}");
}

#[test]
fn names_replication_and_encoding_in_the_fake() {
    let Some(fake) = fakes::start("gcp_secret_manager.py", &[], false) else {
        return;
    };
    let s = store(&fake, "locations: [us-east1, europe-west1]\n");
    for (stack, component) in [
        ("plat-ue2-dev", "vpc/primary"),
        ("plat-ue2-dev", ""),
        ("", ""),
    ] {
        block(s.set(
            &coord(stack, component, "DB_PASSWORD"),
            &SecretValue::text("v"),
        ))
        .unwrap();
    }
    let state = fake.state();
    let names: Vec<&String> = state.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "projects/atmos-test/secrets/atmos_plat_ue2_dev_vpc_primary_DB_PASSWORD",
            "projects/atmos-test/secrets/atmos_plat_ue2_dev_DB_PASSWORD",
            "projects/atmos-test/secrets/atmos_DB_PASSWORD",
        ]
    );
    let one = &state["projects/atmos-test/secrets/atmos_DB_PASSWORD"];
    assert_eq!(
        one["replication"],
        serde_json::json!({"userManaged": {"replicas": [{"location": "us-east1"}, {"location": "europe-west1"}]}})
    );
    // Always JSON-encoded (docs/backends/gcp-secretmanager.md): the string `v` is stored as `"v"`.
    let data = base64::engine::general_purpose::STANDARD
        .decode(one["versions"][0]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, br#""v""#);
    // Overwrite adds a version; the read is `latest`.
    let c = coord("", "", "DB_PASSWORD");
    block(s.set(&c, &SecretValue::text("w"))).unwrap();
    assert_eq!(
        fake.state()["projects/atmos-test/secrets/atmos_DB_PASSWORD"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        block(atmos_secrets::store::get_one(&s, &c))
            .unwrap()
            .unwrap()
            .as_str(),
        Some("w")
    );
    // Default replication is automatic.
    let auto = store(&fake, "");
    block(auto.set(&coord("dev", "api", "AUTO"), &SecretValue::text("x"))).unwrap();
    assert_eq!(
        fake.state()["projects/atmos-test/secrets/atmos_dev_api_AUTO"]["replication"],
        serde_json::json!({"automatic": {}})
    );
    assert_eq!(
        s.describe_key(&coord("dev", "api", "K")),
        "projects/atmos-test/secrets/atmos_dev_api_K"
    );
}

#[test]
fn a_payload_failing_its_crc32c_is_an_error() {
    let Some(fake) = fakes::start("gcp_secret_manager.py", &["--corrupt-crc"], false) else {
        return;
    };
    let s = store(&fake, "");
    let c = coord("dev", "api", "CRC");
    block(s.set(&c, &SecretValue::text(suite::SENTINEL))).unwrap();
    let e = block(atmos_secrets::store::get_one(&s, &c))
        .unwrap_err()
        .to_string();
    assert!(e.contains("gsm") && e.contains("CRC32C"), "{e}");
    assert!(!e.contains(suite::SENTINEL));
}
