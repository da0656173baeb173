//! CI mode (`GITHUB_ACTIONS=true`, `--ci`, `ATMOS_CI`): `::add-mask::` for every revealed value
//! before any value or child output, `::error` annotations at the declaring file and line, the
//! step summary, and the JUnit report.

use crate::support::TestContext;

fn ready() -> TestContext {
    TestContext::quickstart_api([
        "pw-ci-Value1",
        "line-one-Tok\nline-two-Tok",
        r#"{"user":"lic-user-X","key":"lic-key-Y"}"#,
    ])
}

/// The index of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}

#[test]
fn exec_announces_every_value_before_the_childs_first_byte() {
    let mut p = ready();
    p.env("GITHUB_ACTIONS", "true");
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
            "echo CHILD-FIRST-BYTE >&2",
        ])
        .ok();
    let child = line_of(&r.stderr, "CHILD-FIRST-BYTE");
    for want in [
        "::add-mask::pw-ci-Value1",
        // base64 of the value, a form the masker knows
        "::add-mask::cHctY2ktVmFsdWUx",
        // a multi-line value: whole (escaped) and each line
        "::add-mask::line-one-Tok%0Aline-two-Tok",
        "::add-mask::line-one-Tok\n",
        "::add-mask::line-two-Tok\n",
        // each leaf of a JSON value
        "::add-mask::lic-user-X\n",
        "::add-mask::lic-key-Y\n",
    ] {
        assert!(
            line_of(&r.stderr, want.trim_end()) < child,
            "{want:?} after the child output:\n{}",
            r.stderr
        );
    }
    // Outside CI mode there are no workflow commands.
    p.env("GITHUB_ACTIONS", "false");
    let r = p
        .run(&["secret", "exec", "-s", "dev", "-c", "api", "--", "true"])
        .ok();
    assert!(!r.stderr.contains("::add-mask::"), "{}", r.stderr);
}

#[test]
fn get_pull_and_describe_announce_before_printing_when_forced() {
    let p = ready();
    let r = p
        .run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--mask=false",
            "--ci",
        ])
        .ok();
    assert_eq!(r.stdout, "pw-ci-Value1\n");
    assert!(
        r.stderr.contains("::add-mask::pw-ci-Value1\n"),
        "{}",
        r.stderr
    );
    // A masked get reveals nothing, so it announces nothing.
    let r = p
        .run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--ci",
        ])
        .ok();
    assert!(!r.stderr.contains("::add-mask::"), "{}", r.stderr);

    let mut p = p;
    p.env("ATMOS_CI", "true");
    let r = p
        .run(&["secret", "pull", "-s", "dev", "-c", "api", "--mask=false"])
        .ok();
    assert!(r.stdout.contains("pw-ci-Value1"));
    assert!(r.stderr.contains("::add-mask::lic-key-Y\n"), "{}", r.stderr);
    let r = p
        .run(&["describe", "component", "api", "-s", "dev", "--mask=false"])
        .ok();
    assert!(
        r.stdout.contains("database_password: pw-ci-Value1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("::add-mask::pw-ci-Value1\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn validate_annotates_the_declaring_file_and_line_and_writes_the_summary() {
    let mut p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw", "dev", "api");
    let summary = p.join("summary.md");
    p.env("GITHUB_ACTIONS", "true");
    p.env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let r = p
        .run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1);
    // LICENSE_KEY is declared under `api` in catalog/api.yaml line 25; SHARED_TOKEN at the top
    // of catalog/shared.yaml, line 3.
    assert!(
        r.stderr.contains(
            "::error file=stacks/catalog/api.yaml,line=25,title=atmos secret validate%3A LICENSE_KEY::required secret `LICENSE_KEY`"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("::error file=stacks/catalog/shared.yaml,line=3,title=atmos secret validate%3A SHARED_TOKEN::"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("DB_PASSWORD::"), "{}", r.stderr);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| Secret | Backend | Required | Status |"),
        "{md}"
    );
    assert!(
        md.contains("| `LICENSE_KEY` | store:team-keychain | yes | missing |"),
        "{md}"
    );
    assert!(
        md.contains("| `DB_PASSWORD` | sops:local-sops | yes | ok |"),
        "{md}"
    );
    // A second run appends, as GitHub expects of a step summary.
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(md.matches("| Secret |").count(), 2, "{md}");
}

#[test]
fn validate_writes_a_junit_report() {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw", "dev", "api");
    let report = p.join("junit.xml");
    p.run(&[
        "secret",
        "validate",
        "-s",
        "dev",
        "-c",
        "api",
        "--format",
        "junit",
        "-o",
        report.to_str().unwrap(),
    ])
    .code(1);
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("tests=\"4\" failures=\"2\""), "{xml}");
    assert!(
        xml.contains("<testcase classname=\"dev/api\" name=\"DB_PASSWORD\"/>"),
        "{xml}"
    );
    assert!(xml.contains("name=\"LICENSE_KEY\" file=\""), "{xml}");
    assert!(xml.contains("<failure message=\"missing\""), "{xml}");
    // On stdout when no file is given; no annotations outside CI mode.
    let r = p
        .run(&[
            "secret", "validate", "-s", "dev", "-c", "api", "--format", "junit",
        ])
        .code(1);
    assert!(r.stdout.contains("<testsuites"), "{}", r.stdout);
    assert!(!r.stderr.contains("::error"), "{}", r.stderr);
}

#[test]
fn inherited_and_stack_level_declarations_are_found_where_they_are_written() {
    let mut p = TestContext::quickstart();
    p.env("ATMOS_CI", "true");
    let r = p
        .run(&["secret", "validate", "-s", "prod", "-c", "worker"])
        .code(1);
    // worker's own secret is in the prod manifest; the stack-level one in the shared catalog.
    assert!(
        r.stderr
            .contains("::error file=stacks/deploy/prod.yaml,line=13,title=atmos secret validate%3A QUEUE_PASSWORD::"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("::error file=stacks/catalog/shared.yaml,line=3,title=atmos secret validate%3A SHARED_TOKEN::"),
        "{}",
        r.stderr
    );
    // api inherits DB_PASSWORD from the abstract api-defaults (catalog/api.yaml line 12).
    let r = p
        .run(&["secret", "validate", "-s", "prod", "-c", "api"])
        .code(1);
    assert!(
        r.stderr
            .contains("::error file=stacks/catalog/api.yaml,line=12,title=atmos secret validate%3A DB_PASSWORD::"),
        "{}",
        r.stderr
    );
}

#[test]
fn workflow_commands_reach_the_runner_even_with_redirect_stderr() {
    let mut p = ready();
    p.env("GITHUB_ACTIONS", "true");
    let file = p.join("errors.txt");
    let r = p
        .run(&[
            "--redirect-stderr",
            file.to_str().unwrap(),
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--",
            "sh",
            "-c",
            "echo child-err >&2",
        ])
        .ok();
    // The announcements (which carry the values) go to the original stderr, the runner's…
    assert!(r.stderr.contains("::add-mask::pw-ci-Value1\n"), "{r:?}");
    // …and never into the redirect file, which gets the child's stderr.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("pw-ci-Value1"), "{text}");
    assert!(text.contains("child-err"), "{text}");
}
