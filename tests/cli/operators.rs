//! The operators' terraform path: `secret exec --tf-vars --component-env` gives a child what
//! `atmos terraform plan` would: every var as `TF_VAR_*` (non-strings JSON-encoded), the
//! component's `env:` section, `!secret` values resolved in memory, the declared secrets on top.

use crate::support::TestContext;

fn operators() -> TestContext {
    let p = TestContext::fixture("operators");
    p.run(&["secret", "keygen", "local-sops"]).ok();
    p.set("DB_PASSWORD", "pw-db-Operators1", "dev", "api");
    p.set("SHARED_TOKEN", "tok-shared-Operators2", "dev", "api");
    p.set("LICENSE_KEY", "lic-Operators3", "dev", "api");
    p
}

fn env_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().collect()
}

#[test]
fn tf_vars_and_component_env_reach_the_child() {
    let p = operators();
    let r = p
        .run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--tf-vars",
            "--component-env",
            "--",
            "env",
        ])
        .ok();
    let lines = env_lines(&r.stdout);
    for want in [
        "TF_VAR_instance_count=3",
        r#"TF_VAR_tags={"team":"core"}"#,
        r#"TF_VAR_zones=["a","b"]"#,
        "TF_VAR_enabled=true",
        "TF_VAR_region=eu-west-1",
        "TF_VAR_stage=dev",
        // The secret-bearing var, resolved from `!secret DB_PASSWORD`.
        "TF_VAR_database_password=pw-db-Operators1",
        // An optional secret that is not set falls back to its `| default`.
        "TF_VAR_signing_key=unset",
        // The env section, with its `!secret` resolved, and atmos.yaml `env:` underneath.
        "APP_MODE=blue",
        "APP_TOKEN=tok-shared-Operators2",
        "TF_IN_AUTOMATION=1",
        // The declared secrets themselves.
        "DB_PASSWORD=pw-db-Operators1",
        "LICENSE_KEY=lic-Operators3",
    ] {
        assert!(lines.contains(&want), "missing {want:?} in:\n{}", r.stdout);
    }
    // Nothing revealed in our own output, and nothing written into the project.
    assert!(!r.stderr.contains("Operators"), "{}", r.stderr);
    let leftovers: Vec<_> = walk(p.path())
        .into_iter()
        .filter(|f| {
            std::fs::read(f)
                .map(|b| String::from_utf8_lossy(&b).contains("pw-db-Operators1"))
                .unwrap_or(false)
        })
        .collect();
    assert!(leftovers.is_empty(), "cleartext on disk: {leftovers:?}");
}

#[test]
fn without_the_flags_only_secrets_and_atmos_yaml_env_are_passed() {
    let p = operators();
    let r = p
        .run(&["secret", "exec", "-s", "dev", "-c", "api", "--", "env"])
        .ok();
    assert!(!r.stdout.contains("TF_VAR_"), "{}", r.stdout);
    assert!(!r.stdout.contains("APP_MODE="), "{}", r.stdout);
    assert!(env_lines(&r.stdout).contains(&"DB_PASSWORD=pw-db-Operators1"));
}

#[test]
fn declared_secrets_win_over_the_env_section() {
    let mut p = operators();
    p.env("APP_MODE", "from-parent");
    let r = p
        .run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--component-env",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$APP_MODE\" \"$SHARED_TOKEN\"",
        ])
        .ok();
    // The env section replaces the parent's value; secrets stay themselves.
    assert_eq!(r.stdout, "blue|tok-shared-Operators2");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
