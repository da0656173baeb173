//! Shell integration and the global flags upstream scripts pass: completion scripts with
//! project-aware candidates, the man page, -C, --logs-level, --logs-file, --redirect-stderr,
//! --config-path, --profile and NO_COLOR.

use crate::support::TestContext;

fn bash(p: &TestContext, script: &str) -> crate::support::Run {
    let bin = env!("CARGO_BIN_EXE_atmos");
    let full = format!("source <('{bin}' completion bash) || exit 9\n{script}");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(full)
        .current_dir(p.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", p.join("home"));
    let out = cmd.output().unwrap();
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Completes the last word of `words` as bash would, printing one candidate per line.
fn complete(p: &TestContext, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = words[cword - 1];
    let cur = words[cword];
    let r = bash(
        p,
        &format!(
            "COMP_WORDS=({}); COMP_CWORD={cword}; _clap_complete_atmos atmos '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            quoted.join(" ")
        ),
    );
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_registers_and_completes_project_names() {
    let p = TestContext::fixture("quickstart");
    let r = bash(&p, "complete -p atmos");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("-F _clap_complete_atmos atmos"), "{r:?}");
    assert_eq!(
        complete(&p, &["atmos", "secret", "list", "-s", ""]),
        ["dev", "prod"]
    );
    assert_eq!(
        complete(&p, &["atmos", "secret", "list", "-s", "pr"]),
        ["prod"]
    );
    assert_eq!(
        complete(&p, &["atmos", "secret", "list", "-c", ""]),
        ["api", "worker"]
    );
    let names = complete(&p, &["atmos", "secret", "get", "-s", "dev", "D"]);
    assert_eq!(names, ["DB_PASSWORD"]);
    // An empty positional also offers the flags; the only value is the vault.
    let vaults: Vec<String> = complete(&p, &["atmos", "secret", "keygen", ""])
        .into_iter()
        .filter(|c| !c.starts_with('-'))
        .collect();
    assert_eq!(vaults, ["local-sops"]);
    assert_eq!(
        complete(&p, &["atmos", "describe", "component", "api", "-s", "d"]),
        ["dev"]
    );
    // Subcommands complete as well.
    assert!(complete(&p, &["atmos", "sec"]).contains(&"secret".to_owned()));
}

#[test]
fn other_shells_and_the_man_page() {
    let p = TestContext::fixture("quickstart");
    for (shell, marker) in [
        ("zsh", "#compdef atmos"),
        ("fish", "complete --keep-order --exclusive --command atmos"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        p.run(&["completion", shell]).ok().stdout_has(marker);
    }
    p.run(&["completion", "tcsh"]).code(2);
    let r = p.run(&["man"]).ok();
    assert!(
        r.stdout.contains(".TH atmos 1"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    assert!(r.stdout.contains("secret"));
    // The committed page is the generated one.
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/man/atmos.1")).unwrap();
    assert_eq!(
        committed, r.stdout,
        "regenerate with `atmos man > docs/man/atmos.1`"
    );
}

#[test]
fn chdir_config_path_and_profile() {
    let p = TestContext::fixture("quickstart");
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = p.path().to_str().unwrap();
    let run_in = |args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.current_dir(elsewhere.path());
        let out = cmd.output().unwrap();
        crate::support::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    run_in(&["-C", dir, "describe", "stacks", "-f", "json"])
        .ok()
        .stdout_has("\"prod\"");
    run_in(&["--chdir", "/does/not/exist", "describe", "stacks"])
        .code(1)
        .stderr_has("cannot change to `/does/not/exist`");
    // --config-path names the directory of atmos.yaml (base_path "." is relative to the cwd).
    let r = run_in(&[
        "--config-path",
        dir,
        "--base-path",
        dir,
        "describe",
        "stacks",
        "-f",
        "json",
    ])
    .ok();
    assert!(r.stdout.contains("\"dev\""), "{r:?}");
    // Profiles are applied (config_discovery.rs covers them); an unknown one is an error.
    p.run(&["--profile", "ci,dev", "describe", "stacks"])
        .code(2)
        .stderr_has("profile `ci` does not exist");
}

#[test]
fn logs_level_logs_file_redirect_stderr_and_no_color() {
    let mut p = TestContext::quickstart();
    p.env("ATMOS_EXPERIMENTAL", "warn");
    let list = ["secret", "list", "-s", "dev", "-c", "api"];
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(list);
        p.run(&args)
    };
    with(&[]).ok().stderr_has("`atmos secret` is experimental");
    let r = with(&["--logs-level", "Warning"]).ok();
    assert!(!r.stderr.contains("experimental"), "{r:?}");
    let r = with(&["--logs-level", "off"]).ok();
    assert!(r.stderr.is_empty(), "{r:?}");
    with(&["--logs-level", "Loud"]).code(2);

    let log = p.join("atmos.log");
    let r = with(&["--logs-file", log.to_str().unwrap()]).ok();
    assert!(r.stderr.is_empty(), "{r:?}");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("experimental")
    );

    let err = p.join("stderr.txt");
    let r = p.run(&[
        "--redirect-stderr",
        err.to_str().unwrap(),
        "secret",
        "exec",
        "-s",
        "dev",
        "-c",
        "worker",
        "--",
        "sh",
        "-c",
        "echo child-stderr >&2",
    ]);
    // The required secrets are missing: our error and nothing else lands in the file.
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
    let text = std::fs::read_to_string(&err).unwrap();
    assert!(text.contains("required secret(s) missing"), "{text}");

    p.set("QUEUE_PASSWORD", "q", "dev", "worker");
    p.set("SHARED_TOKEN", "t", "dev", "worker");
    let r = p
        .run(&[
            "--redirect-stderr",
            err.to_str().unwrap(),
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "worker",
            "--",
            "sh",
            "-c",
            "echo child-stderr >&2",
        ])
        .ok();
    assert!(r.stderr.is_empty(), "{r:?}");
    assert!(
        std::fs::read_to_string(&err)
            .unwrap()
            .contains("child-stderr")
    );

    with(&["--no-color"]).ok();
    p.env("NO_COLOR", "1");
    p.run(&list).ok();
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let p = TestContext::quickstart();
    // Piped stderr: no bar, no escape codes.
    let r = p.run(&["secret", "list", "--verify"]).ok();
    assert!(!r.stderr.contains('\x1b'), "{r:?}");
    // A pseudo-terminal (util-linux `script`): the bar is drawn on stderr, then cleared.
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_atmos");
    let out = std::process::Command::new(script)
        .args([
            "-qec",
            &format!("'{bin}' secret list --verify 2>&1 >/dev/null"),
            "/dev/null",
        ])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", p.join("home"))
        .env("ATMOS_EXPERIMENTAL", "silence")
        .env("ATMOS_KEYRING_PASSWORD", "test-keyring-password")
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    // Counted per stack: instances are built one stack at a time (quickstart: dev, prod).
    assert!(tty.contains("Loading stacks ["), "{tty:?}");
    assert!(tty.contains("] 1/2"), "{tty:?}");
    // --no-color turns it off on a terminal too.
    let out = std::process::Command::new(script)
        .args([
            "-qec",
            &format!("'{bin}' --no-color secret list --verify 2>&1 >/dev/null"),
            "/dev/null",
        ])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", p.join("home"))
        .env("ATMOS_EXPERIMENTAL", "silence")
        .env("ATMOS_KEYRING_PASSWORD", "test-keyring-password")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Loading"));
}

#[test]
fn chdir_applies_to_every_command() {
    let p = TestContext::quickstart_api(["pw-chdir-1", "tok-chdir-2", "lic-chdir-3"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = p.path().to_str().unwrap().to_owned();
    let run_in = |cwd: &std::path::Path, args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = p.command(args);
        cmd.current_dir(cwd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        crate::support::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let away = elsewhere.path();
    let with_c = |args: &[&str]| {
        let mut all = vec!["-C", dir.as_str()];
        all.extend(args);
        run_in(away, &all, &[])
    };
    // Without -C nothing is found from there.
    run_in(away, &["describe", "stacks"], &[]).code(1);
    with_c(&["describe", "stacks", "-f", "json"])
        .ok()
        .stdout_has("\"dev\"");
    with_c(&["describe", "component", "api", "-s", "dev", "-f", "json"])
        .ok()
        .stdout_has("\"atmos_component\": \"api\"");
    with_c(&["describe", "config", "-f", "json"])
        .ok()
        .stdout_has("local-sops");
    with_c(&["validate", "stacks"])
        .ok()
        .stderr_has("All stacks validated successfully");
    with_c(&["secret", "list", "-s", "dev", "-c", "api"])
        .ok()
        .stdout_has("DB_PASSWORD");
    // The age key file is relative to the (changed) current directory, as in atmos.
    with_c(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
    ])
    .ok()
    .stdout_has("pw-chdir-1");
    // Children start in the new directory.
    let r = with_c(&[
        "secret", "exec", "-s", "dev", "-c", "api", "--", "sh", "-c", "pwd",
    ])
    .ok();
    assert_eq!(
        std::fs::canonicalize(r.stdout.trim()).unwrap(),
        std::fs::canonicalize(p.path()).unwrap(),
        "{r:?}"
    );
    // Relative paths of `atmos sops` (the file, the key file) resolve from the new directory.
    let enc = std::fs::read_dir(p.join("secrets"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".enc.yaml"))
        .expect("an encrypted file");
    let decrypt = [
        "-C",
        dir.as_str(),
        "sops",
        "decrypt",
        &format!("secrets/{enc}"),
    ];
    run_in(
        away,
        &decrypt,
        &[("SOPS_AGE_KEY_FILE", ".atmos/age/keys.txt")],
    )
    .ok()
    .stdout_has("pw-chdir-1");
    // Every spelling: after the subcommand, `--chdir=`, `ATMOS_CHDIR`, and a relative path.
    run_in(away, &["describe", "stacks", "-C", &dir], &[])
        .ok()
        .stdout_has("dev");
    run_in(
        away,
        &[&format!("--chdir={dir}"), "validate", "stacks"],
        &[],
    )
    .ok();
    run_in(away, &["validate", "stacks"], &[("ATMOS_CHDIR", &dir)]).ok();
    let parent = p.path().parent().unwrap();
    let name = p.path().file_name().unwrap().to_str().unwrap();
    run_in(
        parent,
        &["-C", name, "describe", "config", "-f", "json"],
        &[],
    )
    .ok()
    .stdout_has("local-sops");
}
