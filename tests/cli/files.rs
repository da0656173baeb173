//! pull, push, import and init.

use std::os::unix::fs::PermissionsExt;

use crate::support::TestContext;

#[test]
fn pull_to_stdout_and_file() {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw with space", "dev", "api");
    p.set("SHARED_TOKEN", "tok", "dev", "api");
    let r = p.run(&["secret", "pull", "-s", "dev", "-c", "api"]).ok();
    assert_eq!(r.stdout, "DB_PASSWORD=<MASKED>\nSHARED_TOKEN=<MASKED>\n");
    r.stderr_has("Skipping `API_SIGNING_KEY`")
        .stderr_has("Skipping `LICENSE_KEY`");
    let r = p
        .run(&["secret", "pull", "-s", "dev", "-c", "api", "--mask=false"])
        .ok();
    assert_eq!(r.stdout, "DB_PASSWORD='pw with space'\nSHARED_TOKEN=tok\n");
    let json = p
        .run(&[
            "secret",
            "pull",
            "-s",
            "dev",
            "-c",
            "api",
            "--mask=false",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    assert_eq!(
        json,
        "{\n  \"DB_PASSWORD\": \"pw with space\",\n  \"SHARED_TOKEN\": \"tok\"\n}\n"
    );
    p.run(&["secret", "pull", "-s", "dev", "-c", "api", "-o", "out.env"])
        .ok()
        .stderr_has("Wrote 2 secret(s) to out.env");
    let f = p.join("out.env");
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Files are never masked; the dotenv dialect round-trips through push.
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "DB_PASSWORD='pw with space'\nSHARED_TOKEN=tok\n"
    );
    p.run(&[
        "secret", "pull", "-s", "dev", "-c", "api", "--format", "yaml",
    ])
    .code(2)
    .stderr_has("unsupported format (use env or json): \"yaml\"");
}

#[test]
fn push_round_trips_and_rejects_undeclared_before_writing() {
    let p = TestContext::quickstart();
    std::fs::write(
        p.join(".env"),
        "# local values\nexport DB_PASSWORD=\"multi\nline \\\"q\\\"\"\nSHARED_TOKEN='s#1' # comment\n",
    )
    .unwrap();
    p.run(&["secret", "push", "-s", "dev", "-c", "api"])
        .ok()
        .stderr_has("Pushed 2 secret(s) for component `api` in stack `dev`");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "multi\nline \"q\"");
    assert_eq!(p.get("SHARED_TOKEN", "dev", "api"), "s#1");
    // pull -o then push gives the same values back.
    p.run(&[
        "secret",
        "pull",
        "-s",
        "dev",
        "-c",
        "api",
        "-o",
        "round.env",
    ])
    .ok();
    p.run(&[
        "secret",
        "set",
        "DB_PASSWORD=changed",
        "-s",
        "dev",
        "-c",
        "api",
    ])
    .ok();
    p.run(&[
        "secret",
        "push",
        "-s",
        "dev",
        "-c",
        "api",
        "--input",
        "round.env",
    ])
    .ok();
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "multi\nline \"q\"");

    std::fs::write(p.join("bad.env"), "DB_PASSWORD=new\nUNDECLARED=x\n").unwrap();
    p.run(&[
        "secret", "push", "-s", "dev", "-c", "api", "--input", "bad.env",
    ])
    .code(1)
    .stderr_has("validation failed: key \"UNDECLARED\" is not declared as a secret");
    // Nothing was written.
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "multi\nline \"q\"");

    p.run_with_stdin(
        &[
            "secret", "push", "-s", "dev", "-c", "api", "--input", "-", "--format", "json",
        ],
        Some(r#"{"DB_PASSWORD": "from-json", "SHARED_TOKEN": 42}"#),
    )
    .ok();
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "from-json");
    assert_eq!(p.get("SHARED_TOKEN", "dev", "api"), "42");
    p.run(&[
        "secret",
        "push",
        "-s",
        "dev",
        "-c",
        "api",
        "--input",
        "missing.env",
    ])
    .code(1)
    .stderr_has("failed to open \"missing.env\"");
}

#[test]
fn import_file_and_store_modes() {
    let p = TestContext::quickstart();
    std::fs::write(p.join("in.env"), "DB_PASSWORD=imp\nOTHER=x\n").unwrap();
    p.run(&[
        "secret",
        "import",
        "in.env",
        "-s",
        "dev",
        "-c",
        "api",
        "--dry-run",
    ])
    .ok()
    .stderr_has("Would import `DB_PASSWORD`")
    .stderr_has("Skipping undeclared key `OTHER`")
    .stderr_has("Dry run: 1 would be imported, 1 skipped (undeclared)");
    p.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1);
    p.run(&["secret", "import", "in.env", "-s", "dev", "-c", "api"])
        .ok()
        .stderr_has("Imported 1 secret(s), skipped 1 undeclared");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "imp");

    // Legacy mode: copy a raw store coordinate into the declaration's own coordinate.
    p.set("LICENSE_KEY", "lic-global", "dev", "api");
    p.run(&[
        "secret",
        "import",
        "DB_PASSWORD",
        "-s",
        "prod",
        "-c",
        "api",
        "--from-store",
        "team-keychain",
        "--from-key",
        "LICENSE_KEY",
    ])
    .ok()
    .stderr_has(
        "Imported `DB_PASSWORD` from its source coordinate (the source value was left in place)",
    );
    assert_eq!(p.get("DB_PASSWORD", "prod", "api"), "lic-global");
    assert_eq!(p.get("LICENSE_KEY", "prod", "api"), "lic-global");
    p.run(&[
        "secret", "import", "DB_PASSWORD", "-s", "prod", "-c", "api",
        "--from-store", "team-keychain", "--from-key", "NOPE",
    ])
    .code(1)
    .stderr_has("failed to read import source value: store \"team-keychain\" (stack=\"\" component=\"\" key=\"NOPE\")");
    p.run(&[
        "secret",
        "import",
        "DB_PASSWORD",
        "-s",
        "prod",
        "-c",
        "api",
        "--from-key",
        "X",
        "--format",
        "env",
    ])
    .code(2)
    .stderr_has("mutually exclusive flags provided");
}

#[test]
fn init_from_input() {
    let p = TestContext::quickstart();
    std::fs::write(
        p.join("init.env"),
        "DB_PASSWORD=a\nSHARED_TOKEN=b\nSTRAY=c\n",
    )
    .unwrap();
    p.run(&[
        "secret", "init", "-s", "dev", "-c", "api", "--input", "init.env", "--mode", "strict",
    ])
    .code(1)
    .stderr_has("input key \"STRAY\" is not declared as a secret");
    p.run(&[
        "secret",
        "init",
        "-s",
        "dev",
        "-c",
        "api",
        "--input",
        "init.env",
        "--dry-run",
    ])
    .ok()
    .stderr_has("Skipping undeclared input key `STRAY`")
    .stderr_has("Would initialize `DB_PASSWORD` (sops:local-sops)")
    .stderr_has("Dry run: 2 secret(s) would be initialized, 0 rotated, 2 unaffected");
    p.run(&[
        "secret", "init", "-s", "dev", "-c", "api", "--input", "init.env",
    ])
    .ok()
    .stderr_has("Initialized 2 secret(s), rotated 0, 2 unaffected");
    assert_eq!(p.get("SHARED_TOKEN", "dev", "worker"), "b");
    // Whole stack: stack-scoped names are handled once.
    std::fs::write(
        p.join("all.env"),
        "DB_PASSWORD=z\nSHARED_TOKEN=y\nQUEUE_PASSWORD=q\n",
    )
    .unwrap();
    p.run(&[
        "secret", "init", "-s", "dev", "--input", "all.env", "--force",
    ])
    .ok()
    .stderr_has("Initialized 1 secret(s), rotated 2");
    assert_eq!(p.get("QUEUE_PASSWORD", "dev", "worker"), "q");
    p.run(&["secret", "init", "--all", "-s", "dev"])
        .code(2)
        .stderr_has("--all cannot be combined with --stack");
}

/// A `push` whose second value fails (the keychain's password is wrong) says exactly which
/// values landed and which did not, and the backends agree with what it says.
#[test]
fn a_push_that_fails_halfway_says_which_values_landed() {
    let mut p = TestContext::quickstart_api(["db0", "tok0", "lic0"]);
    p.write(
        "in.env",
        "DB_PASSWORD=db1\nLICENSE_KEY=lic1\nSHARED_TOKEN=tok1\n",
    );
    p.env("ATMOS_KEYRING_PASSWORD", "not-the-password");
    let r = p
        .run(&["secret", "push", "-s", "dev", "-c", "api", "--input", "in.env"])
        .code(1)
        .stderr_has(
            "push stopped at `LICENSE_KEY`: 1 of 3 secret(s) written (written: `DB_PASSWORD`; not written: `LICENSE_KEY`, `SHARED_TOKEN`)",
        )
        .stderr_has("wrong password")
        .stderr_has("hint: fix the cause, then run the same `push` again");
    assert!(!r.stderr.contains("db1") && !r.stderr.contains("lic1"));
    p.env("ATMOS_KEYRING_PASSWORD", "test-keyring-password");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "db1");
    assert_eq!(p.get("LICENSE_KEY", "dev", "api"), "lic0");
    assert_eq!(p.get("SHARED_TOKEN", "dev", "api"), "tok0");
}
