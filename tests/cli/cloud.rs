//! The cloud stores (GCP Secret Manager, Azure Key Vault, 1Password Connect) through the binary,
//! against the wire fakes of `tests/fakes/` (`fixtures/cloud-fakes`): a full round trip with the
//! names checked in the fakes' state, the GCP identity's access-token file, every fault class
//! (unreachable, bad credentials, permission denied, not found) as a bounded exit-1 error naming
//! the store, and `list --verify` / `validate` reading all backends concurrently.

use crate::localsrv::fakes;
// One copy of the server harness per test binary: `localsrv` includes it.
use crate::localsrv::services;

use std::time::{Duration, Instant};

use crate::support::{Run, SENTINEL, TestContext, require};

const GSM_TOKEN: &str = "gsm-identity-token-7Hq";
const OP_TOKEN: &str = "connect-token-Kp2";
const AKV_STUB: &str = "atmos-without-authentication";
/// Every fault must be reported well within this.
const FAULT_BOUND: Duration = Duration::from_secs(30);

struct Cloud {
    p: TestContext,
    gsm: fakes::Fake,
    akv: fakes::Fake,
    op: fakes::Fake,
}

fn cloud_with(gsm: &[&str], akv: &[&str], op: &[&str]) -> Cloud {
    let gsm = require(
        "the GCP Secret Manager wire fake",
        fakes::start("gcp_secret_manager.py", gsm, false),
    );
    let akv = require(
        "the Azure Key Vault wire fake",
        fakes::start("azure_key_vault.py", akv, true),
    );
    let op = require(
        "the 1Password Connect wire fake",
        fakes::start("onepassword_connect.py", op, false),
    );
    let mut p = TestContext::fixture("cloud-fakes");
    p.env("GSM_URL", &gsm.url);
    p.env("AKV_URL", &akv.url);
    p.env("AKV_CA", akv.ca.as_ref().unwrap().to_str().unwrap());
    p.env("OP_URL", &op.url);
    p.env("OP_CONNECT_TOKEN", OP_TOKEN);
    write_gcp_token(&p, GSM_TOKEN);
    Cloud { p, gsm, akv, op }
}

fn cloud() -> Cloud {
    cloud_with(
        &["--token", GSM_TOKEN],
        &["--token", AKV_STUB],
        &["--token", OP_TOKEN, "--vault", "CI Vault"],
    )
}

/// The realm-scoped access-token file of identity `gcp-dev` (docs/configuration.md, Realm rules).
fn gcp_token_path(p: &TestContext) -> std::path::PathBuf {
    p.join("home/.config/atmos/gcp/gcp-adc/adc/gcp-dev/access_token")
}

fn write_gcp_token(p: &TestContext, token: &str) {
    let path = gcp_token_path(p);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("{token}\n")).unwrap();
}

fn timed(p: &TestContext, args: &[&str]) -> (Run, Duration) {
    let t = Instant::now();
    let r = p.run(args);
    (r, t.elapsed())
}

const API: [&str; 8] = [
    "GSM_A",
    "GSM_B",
    "GSM_STACK_TOKEN",
    "GSM_GLOBAL_TOKEN",
    "AKV_A",
    "AKV_B",
    "OP_A",
    "OP_B",
];

#[test]
fn round_trip_across_cloud_stores() {
    let c = cloud();
    let p = &c.p;
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("Missing required secret `AKV_A`");
    for name in API {
        p.set(name, &format!("{SENTINEL}-{name}"), "dev", "api");
    }
    for name in API {
        assert_eq!(
            p.get(name, "dev", "api"),
            format!("{SENTINEL}-{name}"),
            "{name}"
        );
    }
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    let list = p
        .run(&[
            "secret", "list", "-s", "dev", "-c", "api", "--verify", "--format", "json",
        ])
        .ok();
    let rows: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), API.len());
    assert!(
        rows.iter().all(|r| r["Status"] == "initialized"),
        "{rows:?}"
    );
    assert!(!list.stdout.contains(SENTINEL) && !list.stderr.contains(SENTINEL));

    // Exact names in each backend (the Names sections of docs/backends/*.md), read from the fakes directly.
    let gsm = c.gsm.state();
    for name in [
        "projects/atmos-test/secrets/atmos_dev_api_GSM_A",
        "projects/atmos-test/secrets/atmos_dev_GSM_STACK_TOKEN",
        "projects/atmos-test/secrets/atmos_GSM_GLOBAL_TOKEN",
    ] {
        assert!(gsm.get(name).is_some(), "{name} in {gsm}");
    }
    let akv = c.akv.state();
    assert!(akv["live"].get("atmos-dev-api-AKV-A").is_some(), "{akv}");
    let op = c.op.state();
    let labels: Vec<&str> = op["CI Vault"]["dev-api"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["OP_A", "OP_B"]);

    // Delete through the binary, one per backend; then they are missing again.
    for name in ["GSM_A", "AKV_A", "OP_A"] {
        p.run(&[
            "secret", "delete", name, "-s", "dev", "-c", "api", "--force",
        ])
        .ok();
    }
    let v = p
        .run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1);
    for name in ["GSM_A", "AKV_A", "OP_A"] {
        assert!(
            v.stderr
                .contains(&format!("Missing required secret `{name}`")),
            "{}",
            v.stderr
        );
    }
    assert!(
        c.gsm
            .state()
            .get("projects/atmos-test/secrets/atmos_dev_api_GSM_A")
            .is_none()
    );
    assert_eq!(c.akv.state()["deleted"], serde_json::json!([]));
}

#[test]
fn gcp_identity_without_credential_files_is_a_clear_error() {
    let c = cloud();
    std::fs::remove_file(gcp_token_path(&c.p)).unwrap();
    c.p.run(&["secret", "get", "GSM_A", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("gsm")
        .stderr_has("identity `gcp-dev` has no GCP credentials")
        .stderr_has("access_token")
        .stderr_has("hint:");
}

/// Runs `get NAME` and checks the error: exit 1, the store named, a hint, bounded, no secrets.
#[track_caller]
fn fault(c: &Cloud, name: &str, store: &str, wants: &[&str]) {
    let (r, took) = timed(&c.p, &["secret", "get", name, "-s", "dev", "-c", "api"]);
    let r = r
        .code(1)
        .stderr_has(&format!("`{store}`"))
        .stderr_has("hint:");
    for w in wants {
        assert!(
            r.stderr.contains(w),
            "{name}: stderr lacks {w:?}:\n{}",
            r.stderr
        );
    }
    assert!(took < FAULT_BOUND, "{name} took {took:?}");
    for secret in [GSM_TOKEN, OP_TOKEN, SENTINEL] {
        assert!(
            !r.stderr.contains(secret) && !r.stdout.contains(secret),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn not_found_is_an_error_naming_the_store() {
    let c = cloud();
    fault(&c, "GSM_A", "gsm", &["not found", "atmos_dev_api_GSM_A"]);
    fault(&c, "AKV_A", "akv", &["not found", "atmos-dev-api-AKV-A"]);
    fault(
        &c,
        "OP_A",
        "onepw",
        &["not found", "op://CI Vault/dev-api/OP_A"],
    );
}

#[test]
fn unreachable_servers_fail_fast() {
    let mut c = cloud();
    let closed = |scheme: &str| format!("{scheme}://127.0.0.1:{}", services::free_port());
    c.p.env("GSM_URL", &closed("http"));
    c.p.env("AKV_URL", &closed("https"));
    c.p.env("OP_URL", &closed("http"));
    fault(&c, "GSM_A", "gsm", &["cannot reach"]);
    fault(&c, "AKV_A", "akv", &["cannot reach"]);
    fault(&c, "OP_A", "onepw", &["cannot connect"]);
}

#[test]
fn bad_credentials_are_rejected_clearly() {
    let mut c = cloud_with(
        &["--token", GSM_TOKEN],
        &["--token", "only-this-one"],
        &["--token", OP_TOKEN, "--vault", "CI Vault"],
    );
    write_gcp_token(&c.p, "expired-token");
    c.p.env("OP_CONNECT_TOKEN", "wrong-connect-token");
    fault(&c, "GSM_A", "gsm", &["credentials were rejected"]);
    fault(&c, "AKV_A", "akv", &["credentials were rejected"]);
    fault(&c, "OP_A", "onepw", &["token was rejected"]);
}

#[test]
fn permission_denied_is_reported_as_such() {
    let mut c = cloud_with(
        &[
            "--token",
            GSM_TOKEN,
            "--deny-token",
            "reader-without-access",
        ],
        &["--token", "someone-else", "--deny-token", AKV_STUB],
        &[
            "--token",
            OP_TOKEN,
            "--deny-token",
            "other-vaults-only",
            "--vault",
            "CI Vault",
        ],
    );
    write_gcp_token(&c.p, "reader-without-access");
    c.p.env("OP_CONNECT_TOKEN", "other-vaults-only");
    fault(&c, "GSM_A", "gsm", &["permission denied"]);
    fault(&c, "AKV_A", "akv", &["permission denied"]);
    // Connect lists only the vaults a token may see: the vault is not shared with it.
    fault(&c, "OP_A", "onepw", &["not shared with this token"]);
}

fn delay_all(c: &Cloud, ms: u64) {
    for fake in [&c.gsm, &c.akv, &c.op] {
        fake.set_delay(ms);
    }
}

/// `validate` and `list --verify` read the three backends at the same time: with every API
/// request held 400 ms, the fakes' request logs (on the system-wide monotonic clock) show
/// requests to different backends in flight together. Serial reads could never overlap, so the
/// check does not depend on how busy the machine is (a wall-clock comparison did).
#[test]
fn verify_and_validate_read_backends_concurrently() {
    const DELAY_MS: u64 = 400;
    let c = cloud();
    let p = &c.p;
    const SIX: [&str; 6] = ["GSM_A", "GSM_B", "AKV_A", "AKV_B", "OP_A", "OP_B"];
    for name in SIX {
        p.set(name, "v", "perf", "api");
    }
    delay_all(&c, DELAY_MS);
    let fakes = [("gsm", &c.gsm), ("akv", &c.akv), ("onepw", &c.op)];
    for args in [
        &["secret", "validate", "-s", "perf", "-c", "api"][..],
        &[
            "secret", "list", "-s", "perf", "-c", "api", "--verify", "--format", "json",
        ][..],
    ] {
        for (_, fake) in &fakes {
            fake.take_request_windows();
        }
        let (r, took) = timed(p, args);
        r.ok();
        assert!(took < FAULT_BOUND, "{args:?} took {took:?}");
        let windows: Vec<(&str, Vec<(f64, f64)>)> = fakes
            .iter()
            .map(|(name, fake)| (*name, fake.take_request_windows()))
            .collect();
        for (name, w) in &windows {
            assert!(!w.is_empty(), "{args:?}: no request reached {name}");
        }
        // Some request to one backend overlaps some request to another by at least a quarter of
        // the delay (serial reads overlap by microseconds at most: a fake logs its end just
        // after the client has the answer).
        let min_overlap = DELAY_MS as f64 / 4000.0;
        let overlapping = windows.iter().enumerate().any(|(i, (_, a))| {
            windows[i + 1..].iter().any(|(_, b)| {
                a.iter()
                    .any(|x| b.iter().any(|y| x.1.min(y.1) - x.0.max(y.0) > min_overlap))
            })
        });
        assert!(
            overlapping,
            "{args:?}: the backends were read one after another: {windows:?}"
        );
    }
}

#[test]
fn onepassword_without_connect_says_what_is_needed() {
    let mut c = cloud();
    // Service-account mode runs the `op` CLI; here there is none on PATH.
    let empty = tempfile::tempdir().unwrap();
    c.p.env("PATH", empty.path().to_str().unwrap());
    c.p.env("OP_SERVICE_ACCOUNT_TOKEN", "ops_sa-token-Zx9");
    let r =
        c.p.run(&["secret", "get", "OP_SA", "-s", "sa", "-c", "api"])
            .code(1)
            .stderr_has("`onepw-sa`")
            .stderr_has("needs the 1Password CLI `op`")
            .stderr_has("hint: install 1Password CLI");
    assert!(!r.stderr.contains("ops_sa-token-Zx9"));
    // Auto mode with no Connect host and no service-account token.
    c.p.env("OP_SERVICE_ACCOUNT_TOKEN", "");
    c.p.run(&["secret", "get", "OP_AUTO", "-s", "sa", "-c", "api"])
        .code(1)
        .stderr_has("`onepw-auto`")
        .stderr_has("no 1Password credentials found")
        .stderr_has("hint:");
}

#[test]
fn gcp_identity_adc_file_is_used_without_an_access_token() {
    let c = cloud_with(
        &[
            "--token",
            "minted-from-adc",
            "--refresh-token",
            "adc-refresh",
        ],
        &["--token", AKV_STUB],
        &["--token", OP_TOKEN, "--vault", "CI Vault"],
    );
    let token = gcp_token_path(&c.p);
    std::fs::remove_file(&token).unwrap();
    let adc = token.with_file_name("application_default_credentials.json");
    std::fs::write(
        &adc,
        format!(
            r#"{{"type":"authorized_user","client_id":"cid","client_secret":"cs","refresh_token":"adc-refresh","token_uri":"{}/token"}}"#,
            c.gsm.url
        ),
    )
    .unwrap();
    c.p.set("GSM_A", "from-adc", "dev", "api");
    assert_eq!(c.p.get("GSM_A", "dev", "api"), "from-adc");
    // A revoked refresh token: a clear credentials error, exit 1.
    std::fs::write(
        &adc,
        std::fs::read_to_string(&adc)
            .unwrap()
            .replace("adc-refresh", "revoked"),
    )
    .unwrap();
    c.p.run(&["secret", "get", "GSM_A", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("`gsm`")
        .stderr_has("could not get credentials")
        .stderr_has("hint: log in again: `atmos auth login --identity gcp-dev`");
}
