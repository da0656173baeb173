//! The sentinel value must never reach stderr (or masked stdout), whatever the log level.

use crate::support::{SENTINEL, TestContext};

#[test]
fn sentinel_never_leaks() {
    let mut p = TestContext::quickstart();
    p.env("RUST_LOG", "trace");
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    p.run_with_stdin(
        &[
            "secret",
            "set",
            "SHARED_TOKEN",
            "--stdin",
            "-s",
            "dev",
            "-c",
            "api",
        ],
        Some(SENTINEL),
    )
    .ok();
    p.set("LICENSE_KEY", SENTINEL, "dev", "api");
    std::fs::write(p.join("s.env"), format!("API_SIGNING_KEY={SENTINEL}\n")).unwrap();
    let runs = vec![
        p.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"]),
        p.run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--format",
            "json",
        ]),
        p.run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--format",
            "env",
        ]),
        p.run(&["secret", "get", "NOT_DECLARED", "-s", "dev", "-c", "api"]),
        p.run(&["secret", "list", "--format", "json", "-v"]),
        p.run(&["secret", "list", "-s", "dev", "-c", "api", "--verify"]),
        p.run(&["secret", "validate", "-s", "dev", "-c", "api"]),
        p.run(&["secret", "pull", "-s", "dev", "-c", "api"]),
        p.run(&[
            "secret", "pull", "-s", "dev", "-c", "api", "--format", "json",
        ]),
        p.run(&[
            "secret", "push", "-s", "dev", "-c", "api", "--input", "s.env",
        ]),
        p.run(&[
            "secret",
            "import",
            "s.env",
            "-s",
            "dev",
            "-c",
            "api",
            "--dry-run",
        ]),
        p.run(&[
            "secret",
            "init",
            "-s",
            "dev",
            "-c",
            "api",
            "--input",
            "s.env",
            "--dry-run",
        ]),
        p.run(&[
            "secret", "exec", "-s", "dev", "-c", "api", "--", "sh", "-c", "exit 0",
        ]),
        p.run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--",
            "sh",
            "-c",
            "echo \"$DB_PASSWORD\" >&2; exit 1",
        ]),
        p.run(&["describe", "component", "api", "-s", "dev"]),
        p.run(&[
            "secret",
            "delete",
            "API_SIGNING_KEY",
            "-s",
            "dev",
            "-c",
            "api",
            "-f",
        ]),
    ];
    for (i, r) in runs.iter().enumerate() {
        let child_wrote_it = i == 13;
        if !child_wrote_it {
            assert!(
                !r.stderr.contains(SENTINEL),
                "run {i} leaked on stderr:\n{}",
                r.stderr
            );
        }
        assert!(
            !r.stdout.contains(SENTINEL),
            "run {i} leaked on stdout:\n{}",
            r.stdout
        );
    }
    // Only where the user asked for it.
    let shown = p
        .run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--mask=false",
        ])
        .ok();
    assert_eq!(shown.stdout, format!("{SENTINEL}\n"));
    // Nothing in the project but encrypted files holds it (the keyring file is encrypted too).
    for entry in walk(p.path()) {
        if entry.starts_with(p.join("home")) {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let is_our_input = entry.ends_with("s.env");
        if !is_our_input {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SENTINEL),
                "{} holds the plaintext",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
