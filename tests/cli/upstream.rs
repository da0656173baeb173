//! Upstream atmos's own CLI test cases (`tests/upstream`, copied from cloudposse/atmos; see its
//! README) run against this binary: every enabled `describe component|stacks` case whose
//! fixture is copied. A case matches when the exit status is the expected one, the `vars`,
//! `env`, `settings` and `metadata` sections equal the golden snapshot's (per component for
//! `describe stacks`), the case's own `stdout` patterns hold, and — for a case that must fail —
//! its `stderr` patterns hold. The count is a ratchet ([`MIN_MATCH`]); the figure and every
//! remaining difference go into `docs/compatibility.md` (under `CI=true` a stale document is a
//! failure instead, and nothing is written).

use std::collections::BTreeMap;
use std::path::PathBuf;

use atmos_secrets::yaml::{self, Node};
use regex::Regex;
use serde_json::Value;

use crate::support::{Atmos, repo};

/// The fewest upstream cases that must match; raise it when more do, never lower it.
const MIN_MATCH: usize = 40;

/// The sections compared with the golden snapshot.
const SECTIONS: [&str; 4] = ["vars", "env", "settings", "metadata"];

/// Why a case still differs, where the observed difference alone does not say it.
const REASONS: &[(&str, &str)] = &[
    (
        "!include function test",
        "the fixture reads `!include https://raw.githubusercontent.com/…` over the network; remote \
         includes are refused here (manifests never fetch at load time)",
    ),
    (
        "describe component with path not in component directory",
        "same exit status (2) and the same error; upstream's case greps for its rich error \
         header `Error`, this binary's errors start with `error:`",
    ),
    (
        "remote-state-backend-type-mismatch: unrelated stack's local backend_type blocks an unrelated describe stacks query",
        "atmos checks every stack's `remote_state_backend_type` against its backend before \
         filtering; terraform backends and remote state are not processed by this binary",
    ),
];

const DOC_START: &str =
    "<!-- upstream-cases:start (written by `cargo test --test cli upstream`) -->";
const DOC_END: &str = "<!-- upstream-cases:end -->";

/// One upstream test case that this harness runs.
struct Case {
    file: String,
    name: String,
    workdir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    exit_code: i32,
    stdout: Vec<Pattern>,
    stderr: Vec<Pattern>,
    golden: Option<PathBuf>,
}

/// An `expect.stdout`/`expect.stderr` entry: a regex that must (or, tagged `!not`, must not) match.
struct Pattern {
    regex: String,
    negate: bool,
}

fn root() -> PathBuf {
    repo().join("tests/upstream")
}

/// The golden file name upstream's harness derives from a test name (`sanitizeTestName`).
fn golden_name(name: &str) -> String {
    let mut s: String = format!("TestCLICommands/{name}")
        .replace(' ', "_")
        .chars()
        .map(|c| {
            if matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') || c < ' ' {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.ends_with([' ', '.']) {
        s.pop();
    }
    format!("{s}.stdout.golden")
}

fn scalar(node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn patterns(node: Option<&Node>) -> Vec<Pattern> {
    let Some(Node::Seq(items)) = node else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Node::Tagged(t) if t.tag == "!not" => scalar(&t.value).map(|regex| Pattern {
                regex,
                negate: true,
            }),
            other => scalar(other).map(|regex| Pattern {
                regex,
                negate: false,
            }),
        })
        .collect()
}

/// Every runnable case: enabled, `describe component|stacks`, not `--help`, fixture copied.
fn cases() -> Vec<Case> {
    let dir = root().join("tests/test-cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/upstream/tests/test-cases")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("test-case file");
        let doc = yaml::parse(&text, &path.display().to_string()).expect("test-case YAML");
        let Some(Node::Seq(tests)) = doc.get("tests") else {
            continue;
        };
        for t in tests {
            let args: Vec<String> = match t.get("args") {
                Some(Node::Seq(a)) => a.iter().filter_map(scalar).collect(),
                _ => Vec::new(),
            };
            let describe = args.first().is_some_and(|a| a == "describe")
                && args
                    .get(1)
                    .is_some_and(|a| a == "component" || a == "stacks");
            let enabled = !matches!(t.get("enabled"), Some(Node::Bool(false)));
            let help = args.iter().any(|a| a.starts_with("--help"));
            if t.get("command").and_then(scalar).as_deref() != Some("atmos")
                || !describe
                || !enabled
                || help
            {
                continue;
            }
            let name = t.get("name").and_then(scalar).expect("case name");
            let workdir = t.get("workdir").and_then(scalar).unwrap_or_default();
            let workdir = root().join("tests").join(workdir);
            if !workdir.is_dir() {
                continue;
            }
            let env = match t.get("env") {
                Some(Node::Map(m)) => m
                    .iter()
                    .filter_map(|(k, v)| scalar(v).map(|v| (k.clone(), v)))
                    .collect(),
                _ => Vec::new(),
            };
            let expect = t.get("expect");
            let exit_code = expect
                .and_then(|e| e.get("exit_code"))
                .and_then(|c| match c {
                    Node::Int(i) => i32::try_from(*i).ok(),
                    _ => None,
                })
                .unwrap_or(0);
            let snapshot = matches!(t.get("snapshot"), Some(Node::Bool(true)));
            let golden = root().join("tests/snapshots").join(golden_name(&name));
            out.push(Case {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                name,
                workdir,
                args,
                env,
                exit_code,
                stdout: patterns(expect.and_then(|e| e.get("stdout"))),
                stderr: patterns(expect.and_then(|e| e.get("stderr"))),
                golden: (snapshot && golden.is_file()).then_some(golden),
            });
        }
    }
    out
}

/// The compared sections of a describe output: one entry for `describe component`, one per
/// `stack/type/component` for `describe stacks`.
fn sections(doc: &Value, stacks: bool) -> BTreeMap<String, Value> {
    let pick = |v: &Value| {
        Value::Object(
            SECTIONS
                .iter()
                .map(|k| ((*k).to_owned(), v.get(*k).cloned().unwrap_or(Value::Null)))
                .collect(),
        )
    };
    let mut out = BTreeMap::new();
    if !stacks {
        out.insert(String::new(), pick(doc));
        return out;
    }
    for (stack, sv) in doc.as_object().into_iter().flatten() {
        let comps = sv.get("components").and_then(Value::as_object);
        for (kind, by_name) in comps.into_iter().flatten() {
            for (name, c) in by_name.as_object().into_iter().flatten() {
                out.insert(format!("{stack}/{kind}/{name}"), pick(c));
            }
        }
    }
    out
}

fn parse_doc(text: &str, origin: &str) -> Result<Value, String> {
    yaml::parse(text, origin)
        .map(|n| yaml::to_json(&n))
        .map_err(|e| format!("{origin} is not YAML/JSON: {e}"))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// Runs one case; the differences from upstream (empty when it matches).
fn run(case: &Case) -> Vec<String> {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = Atmos::new(&case.args)
        .home(home.path(), &home.path().join("xdg"))
        .cwd(&case.workdir)
        // As upstream's harness: no git-root base path, OpenTofu as the terraform command.
        .env("ATMOS_GIT_ROOT_BASEPATH", "false")
        .env("ATMOS_COMPONENTS_TERRAFORM_COMMAND", "tofu");
    let chdir = case
        .args
        .iter()
        .any(|a| a == "-C" || a == "--chdir" || a.starts_with("--chdir="));
    if !chdir && case.workdir.join("atmos.yaml").is_file() {
        cmd = cmd.env("ATMOS_CLI_CONFIG_PATH", &case.workdir);
    }
    for (k, v) in &case.env {
        let v = if k == "ATMOS_CLI_CONFIG_PATH" || k == "ATMOS_BASE_PATH" {
            case.workdir.join(v).display().to_string()
        } else {
            v.clone()
        };
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    let mut diffs = Vec::new();
    if code != case.exit_code {
        let first = stderr.lines().next().unwrap_or("").trim();
        diffs.push(format!(
            "exit status {code}, upstream {}: `{first}`",
            case.exit_code
        ));
        return diffs;
    }
    for p in &case.stdout {
        let re = Regex::new(&p.regex).expect("upstream pattern is a regex");
        if re.is_match(&stdout) == p.negate {
            let what = if p.negate { "has" } else { "lacks" };
            diffs.push(format!("stdout {what} `{}`", p.regex));
        }
    }
    if case.exit_code != 0 {
        for p in &case.stderr {
            let re = Regex::new(&p.regex).expect("upstream pattern is a regex");
            if re.is_match(&stderr) == p.negate {
                let what = if p.negate { "has" } else { "lacks" };
                diffs.push(format!("stderr {what} `{}`", p.regex));
            }
        }
    }
    if let (Some(golden), 0) = (&case.golden, code) {
        let want_text = std::fs::read_to_string(golden).expect("golden");
        let stacks = case.args[1] == "stacks";
        let want = match parse_doc(&want_text, "golden") {
            Ok(v) => sections(&v, stacks),
            Err(e) => {
                diffs.push(e);
                return diffs;
            }
        };
        let got = match parse_doc(&stdout, "stdout") {
            Ok(v) => sections(&v, stacks),
            Err(e) => {
                diffs.push(e);
                return diffs;
            }
        };
        for (key, w) in &want {
            let Some(g) = got.get(key) else {
                diffs.push(format!("`{key}` missing"));
                continue;
            };
            for s in SECTIONS {
                if w.get(s) != g.get(s) {
                    let at = if key.is_empty() {
                        s.to_owned()
                    } else {
                        format!("{key} {s}")
                    };
                    diffs.push(format!(
                        "{at}: upstream {} here {}",
                        short(&w[s]),
                        short(&g[s])
                    ));
                }
            }
        }
        for key in got.keys().filter(|k| !want.contains_key(*k)) {
            diffs.push(format!("`{key}` not in upstream's output"));
        }
    }
    diffs
}

fn report(results: &[(&Case, Vec<String>)]) -> String {
    let matched = results.iter().filter(|(_, d)| d.is_empty()).count();
    let mut s = format!(
        "{DOC_START}\n\n**{matched} of {} upstream cases match** (runnable `describe component|stacks` \
         cases of upstream atmos's `tests/test-cases`, compared on exit status, `vars`, `env`, \
         `settings`, `metadata` and the case's own output patterns).\n",
        results.len()
    );
    if matched < results.len() {
        s.push_str("\n| case | difference |\n| --- | --- |\n");
        for (case, diffs) in results.iter().filter(|(_, d)| !d.is_empty()) {
            let reason = REASONS
                .iter()
                .find(|(n, _)| *n == case.name)
                .map(|(_, r)| format!("{r} — "))
                .unwrap_or_default();
            let prefix = format!("{}/", repo().display());
            let detail = diffs
                .iter()
                .take(3)
                .map(|d| d.replace(&prefix, "").replace('|', "\\|"))
                .collect::<Vec<_>>()
                .join("; ");
            let more = if diffs.len() > 3 {
                format!(" (+{} more)", diffs.len() - 3)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "| {} (`{}`) | {reason}{detail}{more} |\n",
                case.name.replace('|', "\\|"),
                case.file
            ));
        }
    }
    s.push('\n');
    s.push_str(DOC_END);
    s
}

fn write_doc(section: &str) {
    let path = repo().join("docs/compatibility.md");
    let old = std::fs::read_to_string(&path).expect("docs/compatibility.md");
    let (Some(a), Some(b)) = (old.find(DOC_START), old.find(DOC_END)) else {
        panic!("docs/compatibility.md lacks the upstream-cases markers");
    };
    let new = format!("{}{section}{}", &old[..a], &old[b + DOC_END.len()..]);
    if new == old {
        return;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "docs/compatibility.md is stale; run `cargo test --test cli upstream` and commit it:\n{section}"
    );
    std::fs::write(&path, new).expect("write docs/compatibility.md");
}

#[test]
fn upstream_describe_cases_match() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "only {} upstream cases found",
        cases.len()
    );
    let results: Vec<(&Case, Vec<String>)> = cases.iter().map(|c| (c, run(c))).collect();
    let matched = results.iter().filter(|(_, d)| d.is_empty()).count();
    write_doc(&report(&results));
    assert!(
        matched >= MIN_MATCH,
        "only {matched} of {} upstream cases match (ratchet {MIN_MATCH}); see docs/compatibility.md",
        results.len()
    );
}

#[test]
fn golden_names_follow_upstream() {
    assert_eq!(
        golden_name("describe component with current directory (.)"),
        "TestCLICommands_describe_component_with_current_directory_(.).stdout.golden"
    );
    assert_eq!(
        golden_name("a/b: c."),
        "TestCLICommands_a_b__c.stdout.golden"
    );
}

/// The `FLOCI_*` variables the `*-floci` fixtures read with `!env` (upstream's harness points
/// them at its emulator); validation needs values, not a server.
const FLOCI_ENV: &[(&str, &str)] = &[
    ("FLOCI_ALIAS_LOCK_DIR", "/nonexistent"),
    ("FLOCI_AZURE_KEYVAULT_ENDPOINT", "http://127.0.0.1:9"),
    ("FLOCI_AZURE_SECRETS_PREFIX", "validate"),
    ("FLOCI_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("FLOCI_GCP_ENDPOINT", "127.0.0.1:9"),
    ("FLOCI_GCP_PROJECT_ID", "validate"),
    ("FLOCI_GCP_SECRETS_PREFIX", "validate"),
    ("FLOCI_SECRETS_ASM_PREFIX", "validate"),
    ("FLOCI_SECRETS_SSM_PREFIX", "validate"),
    ("FLOCI_STORE_HOOKS_ASM_PREFIX", "validate"),
    ("FLOCI_STORE_HOOKS_SSM_PREFIX", "validate"),
    ("FLOCI_TEST_ID", "validate"),
];

#[test]
fn upstream_secret_projects_validate() {
    let mut dirs = vec![
        root().join("examples/sops-secrets"),
        root().join("examples/secrets-masking"),
        root().join("examples/onepassword-secrets"),
    ];
    let scenarios = root().join("tests/fixtures/scenarios");
    let mut floci: Vec<PathBuf> = std::fs::read_dir(&scenarios)
        .expect("scenarios")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-floci"))
        })
        .collect();
    floci.sort();
    assert!(floci.len() >= 9, "the *-floci fixtures are copied");
    dirs.extend(floci);
    for dir in dirs {
        let home = tempfile::tempdir().expect("temp home");
        let mut cmd = Atmos::new(["validate", "stacks"])
            .home(home.path(), &home.path().join("xdg"))
            .cwd(&dir)
            .env("ATMOS_CLI_CONFIG_PATH", &dir);
        for (k, v) in FLOCI_ENV {
            cmd = cmd.env(k, v);
        }
        let out = cmd.output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr == "✓ All stacks validated successfully\n",
            "validate stacks in {}: {stderr}",
            dir.display(),
        );
    }
}

#[test]
fn upstream_validate_cases_pass() {
    // Upstream's own `validate stacks` cases whose fixtures are copied: exit status and, for
    // the snapshot case, the golden stdout.
    let dir = root().join("tests/test-cases");
    let mut ran = 0;
    for name in [
        "metadata.yaml",
        "secrets-masking.yaml",
        "deprecated-config-compatibility.yaml",
        "manifest-schema-coverage.yaml",
        "native-ci-e2e.yaml",
        "emulator-aws.yaml",
        "packer-docker.yaml",
        "terraform-tests.yaml",
    ] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).expect("test-case file");
        let doc = yaml::parse(&text, name).expect("test-case YAML");
        let Some(Node::Seq(tests)) = doc.get("tests") else {
            continue;
        };
        for t in tests {
            let args: Vec<String> = match t.get("args") {
                Some(Node::Seq(a)) => a.iter().filter_map(scalar).collect(),
                _ => Vec::new(),
            };
            if args != ["validate", "stacks"] {
                continue;
            }
            let workdir = root()
                .join("tests")
                .join(t.get("workdir").and_then(scalar).expect("workdir"));
            let home = tempfile::tempdir().expect("temp home");
            let out = Atmos::new(&args)
                .home(home.path(), &home.path().join("xdg"))
                .cwd(&workdir)
                .env("ATMOS_CLI_CONFIG_PATH", &workdir)
                .output();
            let case = t.get("name").and_then(scalar).unwrap_or_default();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{case}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let golden = root().join("tests/snapshots").join(golden_name(&case));
            if golden.is_file() {
                let want = std::fs::read_to_string(&golden).expect("golden");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim(),
                    want.trim(),
                    "{case}"
                );
                let name = golden_name(&case).replace(".stdout.", ".stderr.");
                let want =
                    std::fs::read_to_string(golden.with_file_name(name)).expect("stderr golden");
                assert_eq!(
                    String::from_utf8_lossy(&out.stderr).trim(),
                    want.trim(),
                    "{case}"
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 8, "only {ran} upstream validate cases ran");
}
