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

fn describe_config(root: &Path, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut all = vec!["describe", "config", "-f", "json"];
    all.extend(args);
    run(root, &root.join("home"), env, &all)
}

#[test]
fn profiles_merge_over_the_base_in_atmos_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        &root.join("atmos.yaml"),
        "stacks: {base_path: stacks}\nsettings: {who: base, color: base, level: base}\nauth: {identities: {prod-admin: {kind: aws/user}}}\n",
    );
    write(&root.join("stacks/dev.yaml"), STACK);
    // `profiles/<name>/`: every file, shallower first, each over its own imports.
    write(
        &root.join("profiles/ci/atmos.yaml"),
        "import: [../../common/ci]\nsettings: {who: ci}\n",
    );
    write(
        &root.join("common/ci.yaml"),
        "settings: {color: ci-common, who: common}\n",
    );
    write(
        &root.join("profiles/debug/nested/logs.yaml"),
        "settings: {level: debug}\n",
    );
    // `.atmos/profiles/` wins over `profiles/` for the same name; the XDG location is searched.
    write(
        &root.join("profiles/dev/a.yaml"),
        "settings: {who: plain-dev}\n",
    );
    write(
        &root.join(".atmos/profiles/dev/a.yaml"),
        "settings: {who: hidden-dev}\n",
    );
    write(
        &root.join("home/xdg/atmos/profiles/mine/a.yaml"),
        "settings: {who: xdg}\n",
    );

    let v = stacks(&describe_config(root, &[], &[]));
    assert_eq!(v["settings"]["who"], "base");
    // Left to right: `debug` then `ci`; repeated flags and comma lists are the same.
    for args in [
        &["--profile", "debug,ci"][..],
        &["--profile", "debug", "--profile", "ci"][..],
    ] {
        let v = stacks(&describe_config(root, &[], args));
        assert_eq!(
            v["settings"],
            serde_json::json!({"who": "ci", "color": "ci-common", "level": "debug"}),
            "{args:?}"
        );
    }
    let v = stacks(&describe_config(root, &[], &["--profile", "ci,debug"]));
    assert_eq!(v["settings"]["who"], "ci");
    // ATMOS_PROFILE (comma list); the flag wins over it.
    let out = Atmos::new(["describe", "config", "-f", "json"])
        .home(&root.join("home"), &root.join("home/xdg"))
        .cwd(root)
        .env("ATMOS_PROFILE", "dev")
        .output();
    assert_eq!(stacks(&out)["settings"]["who"], "hidden-dev");
    let out = Atmos::new(["describe", "config", "-f", "json", "--profile", "mine"])
        .home(&root.join("home"), &root.join("home/xdg"))
        .cwd(root)
        .env("ATMOS_PROFILE", "dev")
        .output();
    assert_eq!(stacks(&out)["settings"]["who"], "xdg");
    // Profiles reach every command, not just `describe config`.
    let out = run(
        root,
        &root.join("home"),
        &[],
        &[
            "--profile",
            "ci",
            "describe",
            "component",
            "app",
            "-s",
            "dev",
            "-f",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An unknown profile: exit 2, the searched places and the profiles that exist.
    let out = describe_config(root, &[], &["--profile", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("profile `nope` does not exist")
            && err.contains("profiles/nope")
            && err.contains("hint: available profiles are: ci, debug, dev, mine"),
        "{err}"
    );
    // A profile name that is an auth identity gets the `--identity` hint.
    let out = describe_config(root, &[], &["--profile", "prod-admin"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is an auth identity") && err.contains("--identity prod-admin"),
        "{err}"
    );
}

#[test]
fn profiles_default_and_base_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    // `profiles.base_path` resolves from atmos.yaml's directory and is searched first;
    // `profiles.default` applies when no profile is asked for.
    write(
        &root.join("conf/atmos.yaml"),
        "base_path: ..\nstacks: {base_path: stacks}\nprofiles: {base_path: ../envs, default: staging}\nsettings: {who: base}\n",
    );
    write(
        &root.join("envs/staging/a.yaml"),
        "settings: {who: staging}\n",
    );
    write(&root.join("envs/prod/a.yaml"), "settings: {who: prod}\n");
    write(
        &root.join("conf/profiles/prod/a.yaml"),
        "settings: {who: shadowed}\n",
    );
    let conf = root.join("conf");
    let v = stacks(&describe_config(
        root,
        &[("ATMOS_CLI_CONFIG_PATH", &conf)],
        &[],
    ));
    assert_eq!(v["settings"]["who"], "staging");
    let v = stacks(&describe_config(
        root,
        &[("ATMOS_CLI_CONFIG_PATH", &conf)],
        &["--profile", "prod"],
    ));
    assert_eq!(v["settings"]["who"], "prod");
    // A default that does not exist is the same clear error.
    write(&root.join("conf/atmos.yaml"), "profiles: {default: gone}\n");
    let out = describe_config(root, &[("ATMOS_CLI_CONFIG_PATH", &conf)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("profile `gone` does not exist"), "{err}");
}

#[test]
fn config_files_and_config_paths_merge_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        &root.join("a/base.yaml"),
        "import: [more]\nbase_path: ../project\nstacks: {base_path: stacks}\nsettings: {a: file-a, b: file-a, c: file-a, d: file-a}\n",
    );
    write(&root.join("a/more.yaml"), "settings: {e: import-of-a}\n");
    // A `--config` file does not bring the `atmos.d/` next to it (atmos reads only its imports).
    write(
        &root.join("a/atmos.d/x.yaml"),
        "settings: {f: atmos-d-of-a}\n",
    );
    write(
        &root.join("b/extra.yaml"),
        "settings: {b: file-b, c: file-b}\n",
    );
    // A `--config-path` directory is read as discovery reads one, `atmos.d/` included.
    write(&root.join("c/atmos.yaml"), "settings: {c: dir-c}\n");
    write(
        &root.join("c/atmos.d/y.yaml"),
        "settings: {d: atmos-d-of-c}\n",
    );
    write(&root.join("project/stacks/dev.yaml"), STACK);
    let (a, b, c) = (
        root.join("a/base.yaml"),
        root.join("b/extra.yaml"),
        root.join("c"),
    );
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let expect = serde_json::json!({
        "a": "file-a", "b": "file-b", "c": "dir-c", "d": "atmos-d-of-c", "e": "import-of-a"
    });
    // `--config-path` merges after every `--config`, whatever the flag order.
    let v = stacks(&describe_config(
        root,
        &[],
        &["--config-path", c, "--config", a, "--config", b],
    ));
    assert_eq!(v["settings"], expect);
    // The environment forms are comma lists.
    let out = Atmos::new(["describe", "config", "-f", "json"])
        .home(&root.join("home"), &root.join("home/xdg"))
        .cwd(root)
        .env("ATMOS_CONFIG", format!("{a},{b}"))
        .env("ATMOS_CONFIG_PATH", c)
        .output();
    assert_eq!(stacks(&out)["settings"], expect);
    // base_path resolves from the file that declares it: the stacks are found.
    let out = run(
        root,
        &root.join("home"),
        &[],
        &[
            "describe",
            "stacks",
            "-f",
            "json",
            "--config",
            &format!("{a},{b}"),
        ],
    );
    assert!(stacks(&out).get("dev").is_some());

    // Wrong kinds of path: exit 2 with the path and a hint.
    for (args, text) in [
        (vec!["--config", c], "requires a file but found a directory"),
        (
            vec!["--config", "/no/such.yaml"],
            "`--config` file `/no/such.yaml` does not exist",
        ),
        (
            vec!["--config-path", "/no/such"],
            "`--config-path` directory `/no/such` does not exist",
        ),
        (
            vec!["--config-path", root.join("b").to_str().unwrap()],
            "no atmos.yaml or .atmos.yaml",
        ),
    ] {
        let out = describe_config(root, &[], &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(text) && err.contains("hint:"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn discovered_configs_merge_home_git_root_and_cwd_in_atmos_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    // ~/.atmos/atmos.yaml: lowest priority after the system directory.
    write(
        &home.join(".atmos/atmos.yaml"),
        "settings: {from_home: h, level: home}\nstores:\n  from-home:\n    kind: redis\n    options: {url: 'redis://127.0.0.1:1'}\n",
    );
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join(".git")).expect("git dir");
    write(
        &root.join("atmos.yaml"),
        "base_path: .\nstacks: {base_path: stacks}\nsettings: {from_root: r, level: root}\n",
    );
    write(&root.join("stacks/dev.yaml"), STACK);

    // In the project directory: home, then the project's own (which wins).
    let v = stacks(&describe_config_in(&root, &home, &[]));
    assert_eq!(v["settings"]["from_home"], "h", "{v}");
    assert_eq!(v["settings"]["from_root"], "r", "{v}");
    assert_eq!(v["settings"]["level"], "root", "{v}");
    assert_eq!(v["stores"]["from-home"]["kind"], "redis", "{v}");

    // A subdirectory with its own atmos.yaml: it is the project; neither the parent search nor
    // the git root is read (atmos skips both when the current directory has a config).
    let sub = root.join("team");
    write(
        &sub.join("atmos.yaml"),
        "settings: {from_sub: s, level: sub}\n",
    );
    let v = stacks(&describe_config_in(&sub, &home, &[]));
    assert_eq!(v["settings"]["level"], "sub", "{v}");
    assert_eq!(v["settings"]["from_home"], "h", "{v}");
    assert!(v["settings"].get("from_root").is_none(), "{v}");

    // A subdirectory without one: the nearest parent's (here also the git root's, read once).
    let bare = root.join("stacks/deep");
    std::fs::create_dir_all(&bare).expect("mkdir");
    let v = stacks(&describe_config_in(&bare, &home, &[]));
    assert_eq!(v["settings"]["level"], "root", "{v}");
    let out = run(&bare, &home, &[], &["describe", "stacks", "-f", "json"]);
    assert!(stacks(&out).get("dev").is_some());

    // ATMOS_CLI_CONFIG_PATH merges last, over the current directory's config.
    let elsewhere = dir.path().join("elsewhere");
    write(&elsewhere.join("atmos.yaml"), "settings: {level: env}\n");
    let v = stacks(&describe_config_in(
        &root,
        &home,
        &[("ATMOS_CLI_CONFIG_PATH", elsewhere.as_path())],
    ));
    assert_eq!(v["settings"]["level"], "env", "{v}");
    assert_eq!(v["settings"]["from_root"], "r", "{v}");
    assert_eq!(v["settings"]["from_home"], "h", "{v}");
}

fn describe_config_in(cwd: &Path, home: &Path, env: &[(&str, &Path)]) -> Output {
    run(cwd, home, env, &["describe", "config", "-f", "json"])
}
