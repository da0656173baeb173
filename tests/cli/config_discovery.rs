//! Where `atmos.yaml` is found and how base paths resolve, through the binary.

use std::path::Path;
use std::process::Output;

use crate::support::Atmos;

const STACK: &str = "components:\n  terraform:\n    app:\n      vars: {where: here}\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn run(cwd: &Path, home: &Path, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = Atmos::new(args).home(home, &home.join("xdg")).cwd(cwd);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.output()
}

fn stacks(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn found_in_cwd_and_parent_directories() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("project");
    write(
        &root.join("atmos.yaml"),
        "base_path: .\nstacks: {base_path: stacks}\n",
    );
    write(&root.join("stacks/dev.yaml"), STACK);
    std::fs::create_dir_all(root.join("stacks/deep/er")).expect("mkdir");
    let home = dir.path().join("home");
    let v = stacks(&run(
        &root,
        &home,
        &[],
        &["describe", "stacks", "-f", "json"],
    ));
    assert!(v.get("dev").is_some(), "{v}");
    // From a subdirectory, the walk finds the project's atmos.yaml and base_path stays its dir.
    let v = stacks(&run(
        &root.join("stacks/deep/er"),
        &home,
        &[],
        &["describe", "stacks", "-f", "json"],
    ));
    assert!(v.get("dev").is_some(), "{v}");
}

#[test]
fn found_in_user_config_dir() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let project = dir.path().join("project");
    write(
        &home.join("xdg/atmos/atmos.yaml"),
        &format!("base_path: {}\n", project.display()),
    );
    write(&project.join("stacks/prod.yaml"), STACK);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let v = stacks(&run(
        &elsewhere,
        &home,
        &[],
        &["describe", "stacks", "-f", "json"],
    ));
    assert!(v.get("prod").is_some(), "{v}");
}

#[test]
fn config_flag_file_and_base_path_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let cfg = dir.path().join("conf/custom-atmos.yaml");
    write(&cfg, "base_path: ../ignored\nstacks: {base_path: stacks}\n");
    let project = dir.path().join("real");
    write(&project.join("stacks/qa.yaml"), STACK);
    let cfg_s = cfg.to_string_lossy().to_string();
    let project_s = project.to_string_lossy().to_string();
    let out = run(
        dir.path(),
        &home,
        &[],
        &[
            "describe",
            "stacks",
            "-f",
            "json",
            "--config",
            &cfg_s,
            "--base-path",
            &project_s,
        ],
    );
    let v = stacks(&out);
    assert!(v.get("qa").is_some(), "{v}");
    // ATMOS_CLI_CONFIG_PATH as a file works the same way.
    let out = run(
        dir.path(),
        &home,
        &[
            ("ATMOS_CLI_CONFIG_PATH", &cfg),
            ("ATMOS_BASE_PATH", &project),
        ],
        &["describe", "stacks", "-f", "json"],
    );
    assert!(stacks(&out).get("qa").is_some());
}

#[test]
fn nothing_found_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        dir.path(),
        &dir.path().join("home"),
        &[],
        &["describe", "stacks"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("atmos.yaml CLI config file was not found"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn ignored_identity_warns_on_stderr() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        &root.join("atmos.yaml"),
        "stores:\n  kc:\n    kind: keychain\n    identity: prod-admin\nstacks: {base_path: stacks}\n",
    );
    write(&root.join("stacks/dev.yaml"), STACK);
    let out = run(root, &root.join("home"), &[], &["describe", "stacks"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("identity will be ignored"), "{stderr}");
}

#[test]
fn stores_from_atmos_d_and_imports_are_configured() {
    // Stores defined only in `atmos.d/` or in an imported file reach the secret commands.
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("project");
    write(
        &root.join("atmos.yaml"),
        "import: [config/stores]\nbase_path: .\nstacks: {base_path: stacks, included_paths: ['*.yaml']}\n",
    );
    write(
        &root.join("atmos.d/secrets.yaml"),
        "stores:\n  from-atmos-d:\n    kind: aws/ssm\n    secret: true\n    options: {region: us-east-1}\n",
    );
    write(
        &root.join("config/stores.yaml"),
        "stores:\n  from-import:\n    kind: aws/ssm\n    secret: true\n    options: {region: us-east-1}\n",
    );
    write(
        &root.join("stacks/dev.yaml"),
        "secrets:\n  vars:\n    A: {store: from-atmos-d}\n    B: {store: from-import}\ncomponents:\n  terraform:\n    app: {}\n",
    );
    let home = dir.path().join("home");
    let out = run(&root, &home, &[], &["validate", "stacks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A remote import is refused, naming the file.
    write(
        &root.join("atmos.yaml"),
        "import: ['https://example.com/atmos.yaml']\nstacks: {base_path: stacks}\n",
    );
    let out = run(&root, &home, &[], &["validate", "stacks"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("remote import `https://example.com/atmos.yaml` is not supported")
            && err.contains("atmos.yaml"),
        "{err}"
    );
}

#[test]
fn describe_config_prints_the_composed_file_masked() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("project");
    write(
        &root.join("atmos.yaml"),
        "import: [extra]\nstacks: {base_path: stacks}\nstores:\n  vault:\n    kind: hashicorp/vault\n    options: {address: 'http://127.0.0.1:1', mount: kv, token: s.zebra-Sentinel-9f3k}\n",
    );
    write(
        &root.join("extra.yaml"),
        "settings: {from_import: yes-it-is}\n",
    );
    write(&root.join("stacks/dev.yaml"), STACK);
    let home = dir.path().join("home");
    let out = run(&root, &home, &[], &["describe", "config"]);
    let v = stacks(&out);
    assert_eq!(v["settings"]["from_import"], "yes-it-is");
    assert_eq!(v["stores"]["vault"]["options"]["token"], "<MASKED>");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("zebra-Sentinel"));
    let out = run(
        &root,
        &home,
        &[],
        &[
            "describe",
            "config",
            "-f",
            "yaml",
            "-q",
            ".stores.vault.kind",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hashicorp/vault"
    );
}
