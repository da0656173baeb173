//! Secret hygiene of the process: no value in a child's argv, core dumps off, loose age key
//! file permissions warned about, and a panic that prints no payload.

use std::os::unix::fs::PermissionsExt;

use crate::support::TestContext;

fn ready() -> TestContext {
    TestContext::quickstart_api(["pw-exec", "tok", "lic"])
}

/// Secret values reach the child through its environment only: neither the child's argv nor
/// the argv of the `atmos` process that started it holds one (argv is world-readable in
/// `/proc/<pid>/cmdline`; the environment is not).
#[test]
fn values_never_appear_in_a_childs_argv() {
    let p = ready();
    let r = p
        .run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--",
            "sh",
            "-c",
            "tr '\\0' ' ' < /proc/$$/cmdline; echo; tr '\\0' ' ' < /proc/$PPID/cmdline; echo; \
             printf '%s' \"$DB_PASSWORD\"",
        ])
        .ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines[0].starts_with("sh -c "), "child argv: {}", lines[0]);
    assert!(lines[1].contains("secret exec"), "atmos argv: {}", lines[1]);
    for argv in &lines[..2] {
        for value in ["pw-exec", "tok", "lic"] {
            assert!(!argv.contains(value), "`{value}` in argv `{argv}`");
        }
    }
    // …while the environment does carry it.
    assert_eq!(lines[2], "pw-exec");
}

/// The process runs with core dumps off: the soft core limit a child inherits is 0.
#[test]
fn core_dumps_are_disabled() {
    let p = ready();
    let r = p
        .run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--",
            "sh",
            "-c",
            "ulimit -c",
        ])
        .ok();
    assert_eq!(r.stdout.trim(), "0");
}

/// A group- or world-readable age key file still works, with a warning naming it and the fix;
/// a private one gives no warning.
#[test]
fn loose_age_key_files_are_warned_about() {
    let p = ready();
    let key = p.join(".atmos/age/keys.txt");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = p
        .run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .ok()
        .stderr_has("the age key file `.atmos/age/keys.txt` can be read by other users (mode 0644)")
        .stderr_has("hint: chmod 600 .atmos/age/keys.txt");
    assert_eq!(r.stdout.trim(), "<MASKED>");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = p
        .run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .ok();
    assert!(!r.stderr.contains("age key file"), "{}", r.stderr);
    // The same check covers `SOPS_AGE_KEY_FILE` for the sops commands.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    p.atmos(&["sops", "decrypt", "secrets/dev.enc.yaml"])
        .env("SOPS_AGE_KEY_FILE", &key)
        .run()
        .ok()
        .stderr_has("(mode 0640)")
        .stderr_has(&format!("hint: chmod 600 {}", key.display()));
}
