//! SOPS master keys beyond age, end to end with the real sops 3.11 in both directions: PGP
//! through GnuPG (a throwaway keyring per test, keys made with `gpg --quick-gen-key` and no
//! passphrase) and HashiCorp Vault transit on a real OpenBao dev server (transit engine enabled
//! by the test); then key groups mixing age, PGP and Vault with a Shamir threshold of 2.
//!
//! Each flow checks: a file sops encrypts is read by `atmos sops decrypt` and `atmos secret get`;
//! files `atmos secret set` / `atmos sops encrypt` make from a `.sops.yaml` rule are read by
//! sops; `rotate` / `updatekeys` keep them readable; failures (missing secret key, wrong token,
//! unreachable Vault, unknown provider kind) are clear, exit like sops, and leave the file alone.

use std::path::PathBuf;
use std::process::Command;

use crate::localsrv::servers::{BAO_ROOT, Bao, start_bao};
use crate::support::{Run, TestContext, require, sops_bin};

/// A throwaway GnuPG home with one key pair (ed25519 + cv25519, no passphrase). Its gpg-agent
/// is stopped on drop.
struct Gpg {
    dir: tempfile::TempDir,
    fp: String,
}

impl Gpg {
    fn home(&self) -> PathBuf {
        self.dir.path().join("g")
    }

    fn new() -> Self {
        // A short path under /tmp: gpg-agent's socket path must stay under ~100 bytes.
        let dir = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        let home = dir.path().join("g");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .arg("--homedir")
                .arg(&home)
                .args(args)
                .output();
            let out = require("GnuPG (`gpg`; .ci/test installs Debian's gnupg)", out.ok());
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        gpg(&[
            "--batch",
            "--quiet",
            "--passphrase",
            "",
            "--quick-gen-key",
            "atmos test <test@example.invalid>",
            "future-default",
            "default",
            "never",
        ]);
        let listing = gpg(&["--list-secret-keys", "--with-colons"]);
        let fp = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("a fingerprint")
            .to_owned();
        Self { dir, fp }
    }

    /// An empty GnuPG home next to this one (no secret key).
    fn empty_home(&self) -> PathBuf {
        let p = self.dir.path().join("e");
        if !p.exists() {
            std::fs::create_dir(&p).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
        }
        p
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        for home in [self.home(), self.dir.path().join("e")] {
            if home.exists() {
                let _ = Command::new("gpgconf")
                    .arg("--homedir")
                    .arg(&home)
                    .args(["--kill", "gpg-agent"])
                    .output();
            }
        }
    }
}

/// The quickstart project with its `local-sops` provider switched to `kind` and a `.sops.yaml`
/// whose one rule (for `secrets/`) is `rule` (indented rule body after `path_regex`).
fn project(kind: &str, rule: &str) -> TestContext {
    let p = TestContext::fixture("quickstart");
    let cfg = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    let cfg = cfg
        .replace("kind: sops/age", &format!("kind: {kind}"))
        .replace(
            "        age_key_file: .atmos/age/keys.txt  # private identity (never commit it)\n",
            "",
        );
    p.write("atmos.yaml", &cfg);
    p.write(
        ".sops.yaml",
        &format!("creation_rules:\n  - path_regex: secrets/.*\\.enc\\.yaml$\n{rule}"),
    );
    p
}

/// The real sops in the project, with only `envs` (plus PATH, HOME) in its environment.
fn sops(p: &TestContext, envs: &[(&str, &str)], args: &[&str]) -> Run {
    let mut c = Command::new(sops_bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", p.join("home"))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .args(args)
        .current_dir(p.path());
    for (k, v) in envs {
        c.env(k, v);
    }
    Run::from(c.output().unwrap())
}

fn atmos(p: &TestContext, envs: &[(&str, &str)], args: &[&str]) -> Run {
    let mut a = p.atmos(args);
    for (k, v) in envs {
        a = a.env(k, v);
    }
    a.run()
}

const DEV_API: &str = "secrets/dev.api.enc.yaml";

/// `secret get DB_PASSWORD` of dev/api, the raw value.
const GET_DB: [&str; 9] = [
    "secret",
    "get",
    "DB_PASSWORD",
    "-s",
    "dev",
    "-c",
    "api",
    "--mask=false",
    "--raw",
];

fn get_db(p: &TestContext, envs: &[(&str, &str)]) -> String {
    atmos(p, envs, &GET_DB).ok().stdout
}

fn set_db(p: &TestContext, envs: &[(&str, &str)], value: &str) -> Run {
    atmos(
        p,
        envs,
        &[
            "secret",
            "set",
            &format!("DB_PASSWORD={value}"),
            "-s",
            "dev",
            "-c",
            "api",
        ],
    )
}

/// The round trips every master-key kind must pass with `envs` giving the keys.
fn round_trips(p: &TestContext, envs: &[(&str, &str)], entry_marker: &str) {
    // atmos creates the file from the `.sops.yaml` rule; sops reads it.
    set_db(p, envs, "from-atmos").ok();
    let text = std::fs::read_to_string(p.join(DEV_API)).unwrap();
    assert!(text.contains(entry_marker), "{text}");
    let dec = sops(p, envs, &["-d", DEV_API]).ok().stdout;
    assert_eq!(dec, "DB_PASSWORD: from-atmos\n");
    // A file sops encrypts from the same rule is read by `atmos sops decrypt` and `secret get`.
    p.write("plain.yaml", "DB_PASSWORD: from-sops\nother: 42\n");
    let enc = sops(
        p,
        envs,
        &["encrypt", "--filename-override", DEV_API, "plain.yaml"],
    )
    .ok()
    .stdout;
    p.write(DEV_API, &enc);
    let dec = atmos(p, envs, &["sops", "decrypt", DEV_API]).ok().stdout;
    assert_eq!(dec, "DB_PASSWORD: from-sops\nother: 42\n");
    assert_eq!(get_db(p, envs), "from-sops");
    // `secret set` on the sops-made file keeps it readable by sops.
    set_db(p, envs, "changed").ok();
    let dec = sops(p, envs, &["-d", DEV_API]).ok().stdout;
    assert_eq!(dec, "DB_PASSWORD: changed\nother: 42\n");
    // `atmos sops encrypt` from the rule; sops decrypts it.
    std::fs::create_dir_all(p.join("secrets/x")).unwrap();
    p.write("secrets/x/new.enc.yaml", "k: v\n");
    atmos(
        p,
        envs,
        &["sops", "encrypt", "-i", "secrets/x/new.enc.yaml"],
    )
    .ok();
    assert_eq!(
        sops(p, envs, &["-d", "secrets/x/new.enc.yaml"]).ok().stdout,
        "k: v\n"
    );
    // rotate re-wraps a new data key for the same keys; sops still reads it.
    atmos(p, envs, &["sops", "rotate", "-i", DEV_API]).ok();
    assert_eq!(
        sops(p, envs, &["-d", DEV_API]).ok().stdout,
        "DB_PASSWORD: changed\nother: 42\n"
    );
}

/// Reads `path` and asserts a failing `run` left it byte for byte as it was.
fn unchanged(p: &TestContext, path: &str, before: &[u8]) {
    assert_eq!(
        std::fs::read(p.join(path)).unwrap(),
        before,
        "{path} changed"
    );
}

#[test]
fn pgp_keys_work_both_ways_with_real_sops() {
    let g = Gpg::new();
    let home = g.home();
    let home = home.to_str().unwrap();
    let p = project("sops/pgp", &format!("    pgp: {}\n", g.fp));
    let envs = [("GNUPGHOME", home)];
    round_trips(&p, &envs, &format!("fp: {}", g.fp));

    // `--pgp` on the command line, no rule involved; sops reads it.
    p.write("flag.yaml", "a: 1\n");
    let enc = atmos(&p, &envs, &["sops", "encrypt", "--pgp", &g.fp, "flag.yaml"])
        .ok()
        .stdout;
    assert!(enc.contains("-----BEGIN PGP MESSAGE-----"), "{enc}");
    p.write("flag.enc.yaml", &enc);
    assert_eq!(
        sops(&p, &envs, &["-d", "flag.enc.yaml"]).ok().stdout,
        "a: 1\n"
    );
    // `SOPS_PGP_FP` is the default of `--pgp`, as in sops.
    let enc = atmos(
        &p,
        &[("GNUPGHOME", home), ("SOPS_PGP_FP", g.fp.as_str())],
        &["sops", "encrypt", "flag.yaml"],
    )
    .ok()
    .stdout;
    assert!(enc.contains(&format!("fp: {}", g.fp)), "{enc}");

    // No secret key: exit 128 like sops, the fingerprint named, a hint; the file is untouched.
    let empty = g.empty_home();
    let no_key = [("GNUPGHOME", empty.to_str().unwrap())];
    let before = std::fs::read(p.join(DEV_API)).unwrap();
    let r = atmos(&p, &no_key, &["sops", "decrypt", DEV_API]).code(128);
    assert!(r.stderr.contains(&g.fp), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert_eq!(sops(&p, &no_key, &["-d", DEV_API]).code, 128);
    let r = set_db(&p, &no_key, "never-written").code(1);
    assert!(r.stderr.contains(&g.fp), "{}", r.stderr);
    atmos(&p, &no_key, &["sops", "set", DEV_API, r#"["x"]"#, r#""y""#]).code(128);
    unchanged(&p, DEV_API, &before);
    // No public key to encrypt to: exit 1 like sops, nothing written.
    p.write("secrets/x/plain.enc.yaml", "k: v\n");
    let r = atmos(
        &p,
        &no_key,
        &["sops", "encrypt", "-i", "secrets/x/plain.enc.yaml"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("No public key"), "{}", r.stderr);
    unchanged(&p, "secrets/x/plain.enc.yaml", b"k: v\n");
    // No gpg at all: a sentence that says to install it.
    let r = atmos(
        &p,
        &[("GNUPGHOME", home), ("SOPS_GPG_EXEC", "/nonexistent/gpg")],
        &["sops", "decrypt", DEV_API],
    )
    .code(128);
    assert!(r.stderr.contains("install GnuPG"), "{}", r.stderr);
}

#[test]
fn unknown_provider_kind_is_a_clear_error() {
    let p = project("sops/nope", "    age: age1unused\n");
    let r = atmos(
        &p,
        &[],
        &["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("unknown SOPS provider kind `sops/nope`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("sops/hc-vault"), "{}", r.stderr);
}

/// An OpenBao dev server with the transit engine at `sops/` and one key `atmos`.
fn transit() -> (Bao, String) {
    let bao = require("OpenBao (bao)", start_bao());
    bao.cli(
        BAO_ROOT,
        &["secrets", "enable", "-path=sops", "transit"],
        None,
    );
    bao.cli(BAO_ROOT, &["write", "-f", "sops/keys/atmos"], None);
    let uri = format!("{}/v1/sops/keys/atmos", bao.svc.url);
    (bao, uri)
}

#[test]
fn vault_transit_and_mixed_key_groups_work_both_ways_with_real_sops() {
    let (bao, uri) = transit();
    let p = project(
        "sops/hc-vault",
        &format!("    hc_vault_transit_uri: {uri}\n"),
    );
    let envs = [("VAULT_TOKEN", BAO_ROOT)];
    round_trips(&p, &envs, "engine_path: sops");

    // `--hc-vault-transit` on the command line.
    p.write("flag.yaml", "a: 1\n");
    let enc = atmos(
        &p,
        &envs,
        &["sops", "encrypt", "--hc-vault-transit", &uri, "flag.yaml"],
    )
    .ok()
    .stdout;
    assert!(enc.contains("enc: vault:v1:"), "{enc}");
    p.write("flag.enc.yaml", &enc);
    assert_eq!(
        sops(&p, &envs, &["-d", "flag.enc.yaml"]).ok().stdout,
        "a: 1\n"
    );

    // Wrong token: 128 like sops, Vault's reason and a hint; the token never printed.
    let before = std::fs::read(p.join(DEV_API)).unwrap();
    let bad = [("VAULT_TOKEN", "wrong-Tk-0000")];
    let r = atmos(&p, &bad, &["sops", "decrypt", DEV_API]).code(128);
    assert!(r.stderr.contains("permission denied"), "{}", r.stderr);
    assert!(r.stderr.contains("VAULT_TOKEN"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-Tk-0000"), "{}", r.stderr);
    assert_eq!(sops(&p, &bad, &["-d", DEV_API]).code, 128);
    set_db(&p, &bad, "never-written").code(1);
    unchanged(&p, DEV_API, &before);

    // Mixed key groups, threshold 2: age + pgp + vault. Any two groups decrypt, as with sops.
    let g = Gpg::new();
    let gnupg = g.home();
    let gnupg = gnupg.to_str().unwrap();
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    p.write(
        "keys.txt",
        &format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&id.to_string())
        ),
    );
    let keys_file = p.join("keys.txt");
    let keys_file = keys_file.to_str().unwrap();
    p.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age: [{recipient}]\n      - pgp: [{}]\n      - hc_vault: [{uri}]\n",
            g.fp
        ),
    );
    let age_env = ("SOPS_AGE_KEY_FILE", keys_file);
    let pgp_env = ("GNUPGHOME", gnupg);
    let vault_env = ("VAULT_TOKEN", BAO_ROOT);
    let none_pgp = g.empty_home();
    let no_pgp = ("GNUPGHOME", none_pgp.to_str().unwrap());
    let no_vault = ("VAULT_TOKEN", "wrong-Tk-0000");
    let pairs: [Vec<(&str, &str)>; 3] = [
        vec![age_env, pgp_env, no_vault],
        vec![age_env, no_pgp, vault_env],
        vec![pgp_env, vault_env],
    ];
    let all = [age_env, pgp_env, vault_env];
    p.write("mixed.yaml", "secret: shared\n");
    // atmos encrypts; sops decrypts with any two groups; so does atmos.
    p.write("m1.enc.yaml", "secret: shared\n");
    atmos(&p, &all, &["sops", "encrypt", "-i", "m1.enc.yaml"]).ok();
    let text = std::fs::read_to_string(p.join("m1.enc.yaml")).unwrap();
    assert!(text.contains("shamir_threshold: 2"), "{text}");
    // sops writes the same file.
    let enc = sops(
        &p,
        &all,
        &[
            "encrypt",
            "--filename-override",
            "m2.enc.yaml",
            "mixed.yaml",
        ],
    )
    .ok()
    .stdout;
    p.write("m2.enc.yaml", &enc);
    for file in ["m1.enc.yaml", "m2.enc.yaml"] {
        for pair in &pairs {
            assert_eq!(
                sops(&p, pair, &["-d", file]).ok().stdout,
                "secret: shared\n",
                "sops {file} {pair:?}"
            );
            assert_eq!(
                atmos(&p, pair, &["sops", "decrypt", file]).ok().stdout,
                "secret: shared\n",
                "atmos {file} {pair:?}"
            );
        }
        // One group alone is not enough.
        let r = atmos(&p, &[age_env, no_pgp, no_vault], &["sops", "decrypt", file]).code(128);
        assert!(
            r.stderr.contains("only 1 of the 2 key groups"),
            "{}",
            r.stderr
        );
    }
    // rotate and updatekeys keep every type; sops still reads the result with two groups.
    atmos(&p, &all, &["sops", "rotate", "-i", "m2.enc.yaml"]).ok();
    assert_eq!(
        sops(&p, &pairs[2], &["-d", "m2.enc.yaml"]).ok().stdout,
        "secret: shared\n"
    );
    p.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - pgp: [{}]\n      - hc_vault: [{uri}]\n",
            g.fp
        ),
    );
    atmos(&p, &all, &["sops", "updatekeys", "-y", "m1.enc.yaml"]).ok();
    let text = std::fs::read_to_string(p.join("m1.enc.yaml")).unwrap();
    assert!(!text.contains("recipient:"), "{text}");
    assert_eq!(
        sops(&p, &[pgp_env, vault_env], &["-d", "m1.enc.yaml"])
            .ok()
            .stdout,
        "secret: shared\n"
    );

    // Unreachable Vault: a clear sentence, 128, nothing written.
    drop(bao);
    let before = std::fs::read(p.join(DEV_API)).unwrap();
    let r = atmos(&p, &envs, &["sops", "decrypt", DEV_API]).code(128);
    assert!(r.stderr.contains("cannot connect to Vault"), "{}", r.stderr);
    set_db(&p, &envs, "never-written").code(1);
    unchanged(&p, DEV_API, &before);
}

/// `atmos secret get` of `DB_PASSWORD` (from [`DEV_API`]) with `envs` at `--logs-level debug`:
/// the SOPS provider, with its options (`atmos sops` takes credentials from the environment
/// only, as sops).
fn decrypt_debug(p: &TestContext, envs: &[(&str, &str)]) -> Run {
    let mut args = GET_DB.to_vec();
    args.extend(["--logs-level", "debug"]);
    atmos(p, envs, &args)
}

/// The retry contract every SOPS key service shares, with `fail(status, count)` making the
/// service answer the next `count` calls (`None`: all) with `status`, and `requests()` counting
/// the calls that reached it since the last count. One 503 then success decrypts (two calls,
/// one debug line naming the service and the key); a persistent 503 fails (exit 1) after
/// 4 calls naming the key, with a hint; a 403 fails at once. No line holds the value, and
/// nothing is written.
fn retries_like_the_stores(
    p: &TestContext,
    envs: &[(&str, &str)],
    service: &str,
    key: &str,
    fail: &dyn Fn(u16, Option<u32>),
    requests: &dyn Fn() -> usize,
) {
    set_db(p, envs, "retry-sentinel-Zq7").ok();
    let before = std::fs::read(p.join(DEV_API)).unwrap();
    requests();

    fail(503, Some(1));
    let r = decrypt_debug(p, envs).ok();
    assert_eq!(r.stdout, "retry-sentinel-Zq7");
    assert!(
        r.stderr.contains(&format!(
            "DEBUG unavailable (HTTP 503) from {service} (decrypt of `{key}`): retry 1/3 in "
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("retry 2/3"), "{}", r.stderr);
    assert!(!r.stderr.contains("retry-sentinel"), "{}", r.stderr);
    assert_eq!(requests(), 2);

    fail(503, None);
    let r = decrypt_debug(p, envs).code(1);
    for want in [
        key,
        "failed after 4 attempts",
        "HTTP 503",
        "retry 3/3",
        "hint:",
        "unavailable",
    ] {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    assert_eq!(requests(), 4);
    // A write through the same key service fails too and leaves the file alone.
    set_db(p, envs, "never-written").code(1);
    requests();

    fail(403, None);
    let r = decrypt_debug(p, envs).code(1);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    assert!(r.stderr.contains(key), "{}", r.stderr);
    assert!(!r.stderr.contains("retry 1/3"), "{}", r.stderr);
    assert!(!r.stderr.contains("attempts"), "{}", r.stderr);
    assert_eq!(requests(), 1);
    unchanged(p, DEV_API, &before);

    fail(503, Some(0));
    assert_eq!(get_db(p, envs), "retry-sentinel-Zq7");
}

/// Vault transit behind the fault proxy in front of a real OpenBao: see
/// [`retries_like_the_stores`].
#[test]
fn vault_transit_retries_transient_failures_like_the_stores() {
    use crate::localsrv::fault_proxy::{Fault, FaultProxy};
    let (bao, _) = transit();
    let proxy = FaultProxy::in_front_of(&bao.svc.url);
    let uri = format!("{}/v1/sops/keys/atmos", proxy.url);
    let p = project(
        "sops/hc-vault",
        &format!("    hc_vault_transit_uri: {uri}\n"),
    );
    retries_like_the_stores(
        &p,
        &[("VAULT_TOKEN", BAO_ROOT)],
        "Vault transit",
        &uri,
        &|status, count| match count {
            Some(0) => proxy.set(Fault::None),
            _ => proxy.answer(
                status,
                r#"{"errors":["injected by the test"]}"#,
                count.map_or(usize::MAX, |c| c as usize),
            ),
        },
        &|| proxy.take_requests(),
    );
    // An answer cut off mid-body on every attempt: a dropped connection, retried, then a clear
    // error naming the key.
    proxy.take_requests();
    proxy.set(Fault::CutMidBody);
    let r = decrypt_debug(&p, &[("VAULT_TOKEN", BAO_ROOT)]).code(1);
    assert!(
        r.stderr
            .contains("DEBUG connection dropped from Vault transit (decrypt of `"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("after 4 attempts"), "{}", r.stderr);
    assert!(r.stderr.contains(&uri), "{}", r.stderr);
    assert!(!r.stderr.contains(BAO_ROOT), "{}", r.stderr);
    assert_eq!(proxy.take_requests(), 4);
}

#[cfg(feature = "gcp")]
mod gcp {
    //! GCP KMS keys against the stateful Cloud KMS wire fake (`tests/fakes/gcp_kms.py`), proven
    //! first with Google's official Python client. Real sops cannot be pointed at the fake: its
    //! GCP KMS client speaks gRPC to Google's endpoint and has no endpoint setting.

    use super::{DEV_API, atmos, get_db, project, set_db, unchanged};
    use crate::localsrv::fakes;
    use crate::support::require;

    const TOKEN: &str = "kms-identity-token-3Fz";
    const DENY: &str = "kms-denied-token-9Qa";
    const KEY: &str = "projects/atmos-test/locations/global/keyRings/sops/cryptoKeys/data";

    #[test]
    fn gcp_kms_keys_through_the_identity_and_the_environment() {
        let fake = require(
            "the GCP Cloud KMS wire fake",
            fakes::start(
                "gcp_kms.py",
                &["--token", TOKEN, "--deny-token", DENY, "--key", KEY],
                false,
            ),
        );
        let n = require(
            "google-cloud-kms (.svc/kms-clients)",
            fake.check_with_official_client(
                "google.cloud.kms_v1",
                "check_gcp_kms.py",
                &[TOKEN, DENY],
            ),
        );
        assert!(n >= 15, "{n}");

        let p = project("sops/gcp-kms", &format!("    gcp_kms: {KEY}\n"));
        let cfg = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
        let cfg = cfg
            .replace(
                "      kind: sops/gcp-kms\n",
                "      kind: sops/gcp-kms\n      identity: gcp-dev\n",
            )
            .replace(
                "        path: secrets ",
                &format!(
                    "        options:\n          endpoint: {}\n        path: secrets ",
                    fake.url
                ),
            );
        p.write(
            "atmos.yaml",
            &format!(
                "{cfg}\nauth:\n  providers:\n    gcp-adc:\n      kind: gcp/adc\n  identities:\n    gcp-dev:\n      kind: gcp/service-account\n      via:\n        provider: gcp-adc\n"
            ),
        );
        let token_file = p.join("home/.config/atmos/gcp/gcp-adc/adc/gcp-dev/access_token");
        std::fs::create_dir_all(token_file.parent().unwrap()).unwrap();
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();

        // The provider's identity wraps and unwraps the data key.
        set_db(&p, &[], "via-gcp-kms").ok();
        let text = std::fs::read_to_string(p.join(DEV_API)).unwrap();
        assert!(text.contains(&format!("resource_id: {KEY}")), "{text}");
        assert_eq!(get_db(&p, &[]), "via-gcp-kms");
        // `atmos sops` uses the environment, like sops (token, endpoint override).
        let env = [
            ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS",
                fake.url.as_str(),
            ),
        ];
        let out = atmos(&p, &env, &["sops", "decrypt", DEV_API]).ok().stdout;
        assert_eq!(out, "DB_PASSWORD: via-gcp-kms\n");
        atmos(&p, &env, &["sops", "rotate", "-i", DEV_API]).ok();
        assert_eq!(get_db(&p, &[]), "via-gcp-kms");

        // KMS 403: the service's reason and a hint; 128 from `atmos sops`, 1 from `secret`.
        let before = std::fs::read(p.join(DEV_API)).unwrap();
        let denied = [
            ("GOOGLE_OAUTH_ACCESS_TOKEN", DENY),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS",
                fake.url.as_str(),
            ),
        ];
        let r = atmos(&p, &denied, &["sops", "decrypt", DEV_API]).code(128);
        assert!(r.stderr.contains("PERMISSION_DENIED"), "{}", r.stderr);
        assert!(!r.stderr.contains(DENY), "{}", r.stderr);
        std::fs::write(&token_file, format!("{DENY}\n")).unwrap();
        let r = set_db(&p, &[], "never-written").code(1);
        assert!(
            r.stderr.contains("cryptoKeyEncrypterDecrypter"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("identity `gcp-dev`"), "{}", r.stderr);
        unchanged(&p, DEV_API, &before);
    }

    /// Cloud KMS behind the fault proxy (the fake is plain HTTP): see
    /// [`super::retries_like_the_stores`].
    #[test]
    fn gcp_kms_retries_transient_failures_like_the_stores() {
        use crate::localsrv::fault_proxy::{Fault, FaultProxy};
        let fake = require(
            "the GCP Cloud KMS wire fake",
            fakes::start("gcp_kms.py", &["--token", TOKEN, "--key", KEY], false),
        );
        let proxy = FaultProxy::in_front_of(&fake.url);
        let p = project("sops/gcp-kms", &format!("    gcp_kms: {KEY}\n"));
        let env = [
            ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS",
                proxy.url.as_str(),
            ),
        ];
        super::retries_like_the_stores(
            &p,
            &env,
            "GCP KMS",
            KEY,
            &|status, count| {
                match count {
                Some(0) => proxy.set(Fault::None),
                _ => proxy.answer(
                    status,
                    r#"{"error":{"code":503,"status":"UNAVAILABLE","message":"injected by the test"}}"#,
                    count.map_or(usize::MAX, |c| c as usize),
                ),
            }
            },
            &|| proxy.take_requests(),
        );
    }
}

#[cfg(feature = "azure")]
mod azure {
    //! Azure Key Vault keys against the stateful HTTPS keys fake (`tests/fakes/azure_kv_keys.py`,
    //! real RSA-OAEP-256), proven first with Microsoft's azure-keyvault-keys. Real sops cannot be
    //! pointed at the fake: its default Azure credential needs Microsoft Entra ID (no loopback
    //! token source) and its client verifies that the challenge resource matches the vault host.
    //! The fake makes real 2048-bit RSA keys in Python (three here, about 1 s of CPU in all),
    //! which is most of this test's time.

    use std::time::Duration;

    use super::{DEV_API, get_db, project, set_db, unchanged};
    use crate::localsrv::fakes;
    use crate::support::require;

    /// The bearer `without_authentication: true` sends.
    const STUB: &str = "atmos-without-authentication";
    const DENY: &str = "akv-denied-token-5Rt";

    /// Makes `token` a valid bearer without permission (`POST /_fake/deny`).
    fn deny(fake: &fakes::Fake, token: &str) {
        let pem = std::fs::read(fake.ca.as_ref().unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
            .build()
            .unwrap();
        let url = format!("{}/_fake/deny?token={token}", fake.url);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                client
                    .post(url)
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
            });
    }

    #[test]
    fn azure_key_vault_keys_wrap_the_data_key_with_rsa_oaep_256() {
        let fake = require(
            "the Azure Key Vault keys wire fake",
            fakes::start(
                "azure_kv_keys.py",
                &["--token", STUB, "--deny-token", DENY, "--rsa-key", "sops"],
                true,
            ),
        );
        let ca = fake.ca.clone().unwrap();
        let ca = ca.to_str().unwrap();
        let n = require(
            "azure-keyvault-keys (.svc/kms-clients)",
            fake.check_with_official_client(
                "azure.keyvault.keys",
                "check_azure_kv_keys.py",
                &[ca, STUB, DENY],
            ),
        );
        assert!(n >= 12, "{n}");
        let version = fake.state()["keys"]["sops"][0].as_str().unwrap().to_owned();
        let url = format!("{}/keys/sops/{version}", fake.url);

        let p = project("sops/azure-kv", &format!("    azure_keyvault: {url}\n"));
        let cfg = std::fs::read_to_string(p.join("atmos.yaml")).unwrap().replace(
            "        path: secrets ",
            &format!(
                "        options:\n          ca_cert: {ca}\n          without_authentication: true\n        path: secrets "
            ),
        );
        p.write("atmos.yaml", &cfg);

        set_db(&p, &[], "via-azure-kv").ok();
        let text = std::fs::read_to_string(p.join(DEV_API)).unwrap();
        assert!(text.contains(&format!("vault_url: {}", fake.url)), "{text}");
        assert!(text.contains(&format!("version: {version}")), "{text}");
        assert_eq!(get_db(&p, &[]), "via-azure-kv");
        // An update keeps the data key (only the unwrap goes to the vault).
        set_db(&p, &[], "updated").ok();
        assert_eq!(get_db(&p, &[]), "updated");

        // 403 from the vault: a clear error naming the key and a hint; nothing written.
        let before = std::fs::read(p.join(DEV_API)).unwrap();
        deny(&fake, STUB);
        let r = set_db(&p, &[], "never-written").code(1);
        assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
        assert!(r.stderr.contains(&url), "{}", r.stderr);
        assert!(r.stderr.contains("Key Vault Crypto User"), "{}", r.stderr);
        unchanged(&p, DEV_API, &before);

        // Transient failures, injected by the fake itself (TLS: the fault proxy cannot stand
        // in front of it).
        deny(&fake, "");
        fake.take_request_windows();
        super::retries_like_the_stores(
            &p,
            &[],
            "Azure Key Vault",
            &url,
            &|status, count| fake.fail(status, count),
            &|| fake.take_request_windows().len(),
        );
    }
}
