//! `artifactory` against the stateful wire fake `tests/fakes/artifactory_fake.py` (no
//! Artifactory server installs from PyPI, npm or Debian): the conformance suite, the exact file
//! paths of docs/backends/artifactory.md read back over raw HTTP, the fake's contract checked with raw HTTP and with
//! JFrog's official `jfrog-client-js`, and the failures a user meets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::artifactory::ArtifactoryStore;
use atmos_secrets::store::{Store, get_one};
use atmos_secrets::yaml::{Map, Node};

use crate::localsrv::{
    ART_READ_TOKEN as READ_TOKEN, ART_REPO as REPO, ART_TOKEN as TOKEN, art_base as base, raw,
    start_artifactory as start,
};
use crate::services;
use crate::suite::{self, SENTINEL, block, coord};

/// An artifactory store config with string options.
pub fn config(name: &str, options: &[(&str, &str)]) -> StoreConfig {
    let mut map = Map::default();
    for (k, v) in options {
        map.insert((*k).to_owned(), Node::Str((*v).to_owned()));
    }
    StoreConfig {
        name: name.to_owned(),
        kind: StoreKind::Artifactory,
        secret: false,
        identity: None,
        options: map,
    }
}

fn store(url: &str, token: &str, extra: &[(&str, &str)]) -> ArtifactoryStore {
    let mut opts = vec![
        ("url", url),
        ("repo_name", REPO),
        ("prefix", "atmos"),
        ("access_token", token),
    ];
    opts.extend_from_slice(extra);
    ArtifactoryStore::build(&config("artifacts", &opts), &BuildEnv::default()).unwrap()
}

fn bearer(t: &str) -> String {
    format!("Authorization: Bearer {t}")
}

#[test]
fn artifactory_conformance() {
    let Some(svc) = start() else { return };
    suite::run(&store(&base(&svc), TOKEN, &[]), &suite::Expect::default());
}

#[test]
fn artifactory_paths_per_scope() {
    let Some(svc) = start() else { return };
    let s = store(&base(&svc), TOKEN, &[]);
    let cases = [
        (
            coord("plat-ue2-dev", "vpc/primary", "DB_PASSWORD"),
            "secrets-generic-local/atmos/plat-ue2-dev/vpc/primary/DB_PASSWORD",
        ),
        (
            coord("plat-ue2-dev", "", "DB_PASSWORD"),
            "secrets-generic-local/atmos/plat-ue2-dev/DB_PASSWORD",
        ),
        (
            coord("", "", "DB_PASSWORD"),
            "secrets-generic-local/atmos/DB_PASSWORD",
        ),
    ];
    for (i, (c, path)) in cases.iter().enumerate() {
        block(s.set(c, &SecretValue::text(format!("v{i}")))).unwrap();
        assert_eq!(s.describe_key(c), *path);
        let (status, _, body) = raw(
            svc.port,
            "GET",
            &format!("/artifactory/{path}"),
            Some(&bearer(TOKEN)),
            b"",
        );
        assert_eq!(status, 200, "{path}");
        // One JSON-encoded file per value.
        assert_eq!(body, format!("\"v{i}\"").into_bytes());
        let (status, _, info) = raw(
            svc.port,
            "GET",
            &format!("/artifactory/api/storage/{path}"),
            Some(&bearer(TOKEN)),
            b"",
        );
        assert_eq!(status, 200);
        let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
        assert_eq!(info["repo"], REPO);
    }
    // Names that need percent-encoding survive the round trip.
    let odd = coord("dev", "api", "A B#?%");
    block(s.set(&odd, &SecretValue::text("odd"))).unwrap();
    let (status, _, body) = raw(
        svc.port,
        "GET",
        "/artifactory/secrets-generic-local/atmos/dev/api/A%20B%23%3F%25",
        Some(&bearer(TOKEN)),
        b"",
    );
    assert_eq!((status, body), (200, b"\"odd\"".to_vec()));
    // Without a prefix the file sits right under the repository.
    let bare = ArtifactoryStore::build(
        &config(
            "artifacts",
            &[
                ("url", &base(&svc)),
                ("repo_name", REPO),
                ("access_token", TOKEN),
            ],
        ),
        &BuildEnv::default(),
    )
    .unwrap();
    assert_eq!(
        bare.describe_key(&coord("dev", "api", "K")),
        "secrets-generic-local/dev/api/K"
    );
}

/// The fake's contract, with raw HTTP: what the store relies on and how Artifactory answers.
#[test]
fn artifactory_fake_contract() {
    let Some(svc) = start() else { return };
    let p = svc.port;
    let file = "/artifactory/secrets-generic-local/a/b/c.json";
    // Ping is open; everything else needs a token.
    assert_eq!(
        raw(p, "GET", "/artifactory/api/system/ping", None, b"").0,
        200
    );
    let (status, _, body) = raw(p, "GET", file, None, b"");
    assert_eq!(status, 401);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["errors"][0]["status"], 401);
    assert_eq!(raw(p, "PUT", file, Some(&bearer("wrong")), b"x").0, 401);
    // Deploy, read back with checksums, overwrite.
    let (status, _, body) = raw(p, "PUT", file, Some(&bearer(TOKEN)), b"{\"k\":1}");
    assert_eq!(status, 201);
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["path"], "/a/b/c.json");
    assert_eq!(info["size"], "7");
    let (status, head, body) = raw(p, "GET", file, Some(&bearer(TOKEN)), b"");
    assert_eq!((status, body.as_slice()), (200, b"{\"k\":1}".as_slice()));
    assert!(head.contains("X-Checksum-Sha256: "), "{head}");
    assert_eq!(raw(p, "PUT", file, Some(&bearer(TOKEN)), b"2").0, 201);
    assert_eq!(raw(p, "GET", file, Some(&bearer(TOKEN)), b"").2, b"2");
    // The other accepted credential forms.
    let basic = format!(
        "Authorization: Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("ci:{TOKEN}")
        )
    );
    assert_eq!(raw(p, "GET", file, Some(&basic), b"").0, 200);
    assert_eq!(
        raw(
            p,
            "GET",
            file,
            Some(&format!("X-JFrog-Art-Api: {TOKEN}")),
            b""
        )
        .0,
        200
    );
    // HEAD: status only.
    let (status, _, body) = raw(p, "HEAD", file, Some(&bearer(TOKEN)), b"");
    assert_eq!((status, body.len()), (200, 0));
    // A read-only token may read but not deploy or delete.
    assert_eq!(raw(p, "GET", file, Some(&bearer(READ_TOKEN)), b"").0, 200);
    assert_eq!(raw(p, "PUT", file, Some(&bearer(READ_TOKEN)), b"x").0, 403);
    assert_eq!(
        raw(p, "DELETE", file, Some(&bearer(READ_TOKEN)), b"").0,
        403
    );
    // Unknown repository, delete, missing.
    assert_eq!(
        raw(
            p,
            "PUT",
            "/artifactory/nope-local/x",
            Some(&bearer(TOKEN)),
            b"x"
        )
        .0,
        404
    );
    assert_eq!(raw(p, "DELETE", file, Some(&bearer(TOKEN)), b"").0, 204);
    assert_eq!(raw(p, "GET", file, Some(&bearer(TOKEN)), b"").0, 404);
    assert_eq!(raw(p, "HEAD", file, Some(&bearer(TOKEN)), b"").0, 404);
    assert_eq!(raw(p, "DELETE", file, Some(&bearer(TOKEN)), b"").0, 404);
    // Repositories are separate.
    raw(
        p,
        "PUT",
        "/artifactory/other-local/a",
        Some(&bearer(TOKEN)),
        b"o",
    );
    assert_eq!(
        raw(
            p,
            "GET",
            "/artifactory/secrets-generic-local/a",
            Some(&bearer(TOKEN)),
            b""
        )
        .0,
        404
    );
}

/// JFrog's official JavaScript client (npm `jfrog-client-js`, installed by `.ci/test` into
/// `.svc/jfrog`) reads what our store wrote, through the fake.
#[test]
fn artifactory_fake_matches_official_jfrog_client() {
    let modules = services::svc_dir().join("jfrog/node_modules");
    if !modules.join("jfrog-client-js").is_dir() {
        services::unavailable("jfrog-client-js", "not installed in .svc/jfrog");
    }
    let Some(node) = services::find_bin("NODE_BIN", "none", "node") else {
        services::unavailable("node", "not on PATH");
    };
    let Some(svc) = start() else { return };
    let s = store(&base(&svc), TOKEN, &[]);
    let value = serde_json::json!({"user": "app", "password": SENTINEL});
    let key = coord("dev", "api", "DB_CONFIG");
    block(s.set(&key, &SecretValue::json(value.clone()))).unwrap();
    let script: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/artifactory_jfrog_client.js");
    let out = Command::new(node)
        .arg(script)
        .env("NODE_PATH", &modules)
        .env("JFROG_URL", base(&svc))
        .env("JFROG_TOKEN", TOKEN)
        .env("JFROG_FILE", s.describe_key(&key))
        .env("JFROG_MISSING", "secrets-generic-local/atmos/dev/api/NOPE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    use sha2::Digest;
    let stored = serde_json::to_string(&value).unwrap();
    let sha256 = hex::encode(sha2::Sha256::digest(stored.as_bytes()));
    assert_eq!(seen["ping"], "OK", "{seen}");
    assert!(seen["version"].as_str().is_some_and(|v| v.starts_with('7')));
    assert_eq!(seen["content"], value);
    assert_eq!(seen["header_sha256"], sha256);
    assert_eq!(seen["missing"], 404);
    assert_eq!(seen["missing_head"], 404);
    assert_eq!(seen["bad_token"], 401);
}

fn check_err(err: &atmos_secrets::store::StoreError, text: &str) {
    use atmos_secrets::error::Diagnose;
    let msg = err.to_string();
    assert!(msg.contains("`artifacts`"), "{msg}");
    assert!(msg.contains(text), "{msg}");
    assert!(err.hint().is_some(), "{msg}");
    assert_eq!(err.exit_code(), 1);
    for leak in [TOKEN, READ_TOKEN, "wrong-token-5", SENTINEL] {
        assert!(!msg.contains(leak), "leaked: {msg}");
        assert!(!format!("{err:?}").contains(leak), "leaked: {err:?}");
    }
}

#[test]
fn artifactory_faults_are_clear_and_bounded() {
    let Some(svc) = start() else { return };
    let key = coord("dev", "api", "DB_PASSWORD");
    let good = store(&base(&svc), TOKEN, &[]);
    block(good.set(&key, &SecretValue::text(SENTINEL))).unwrap();

    let dead = format!("http://127.0.0.1:{}/artifactory", services::free_port());
    let t = Instant::now();
    let err = block(get_one(&store(&dead, TOKEN, &[("timeout", "3")]), &key)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    check_err(&err, "cannot connect to Artifactory");

    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/artifactory", silent.local_addr().unwrap());
    let t = Instant::now();
    let err = block(get_one(&store(&url, TOKEN, &[("timeout", "1")]), &key)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    check_err(&err, "did not answer within 1 s");
    drop(silent);

    let err = block(get_one(&store(&base(&svc), "wrong-token-5", &[]), &key)).unwrap_err();
    check_err(&err, "rejected the access token");
    let err =
        block(store(&base(&svc), "wrong-token-5", &[]).exists_many(std::slice::from_ref(&key)))
            .pop()
            .unwrap()
            .unwrap_err();
    check_err(&err, "rejected the access token");

    let reader = store(&base(&svc), READ_TOKEN, &[]);
    assert_eq!(
        block(get_one(&reader, &key)).unwrap().unwrap().as_str(),
        Some(SENTINEL)
    );
    let err = block(reader.set(&key, &SecretValue::text("x"))).unwrap_err();
    check_err(&err, "permission denied (write, HTTP 403)");
    let err = block(reader.delete(&key)).unwrap_err();
    check_err(&err, "permission denied (delete, HTTP 403)");

    let err = block(
        store(&base(&svc), TOKEN, &[("repo_name", "missing-local")])
            .set(&key, &SecretValue::text("x")),
    )
    .unwrap_err();
    check_err(&err, "doesn't exist");

    assert!(
        block(get_one(&good, &coord("dev", "api", "NOPE")))
            .unwrap()
            .is_none()
    );

    // No token anywhere: a clear error at first use (the env fallbacks are unset in tests).
    if std::env::var_os("ARTIFACTORY_ACCESS_TOKEN").is_none()
        && std::env::var_os("JFROG_ACCESS_TOKEN").is_none()
    {
        let none = ArtifactoryStore::build(
            &config("artifacts", &[("url", &base(&svc)), ("repo_name", REPO)]),
            &BuildEnv::default(),
        )
        .unwrap();
        let err = block(get_one(&none, &key)).unwrap_err();
        check_err(&err, "no Artifactory access token");
    }
}
