//! The stack-name index (`src/stack/index.rs`): a command about one stack loads only that
//! stack's manifests once the index vouches for the tree, and answers exactly as a full load
//! does whenever the files change under it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::TestContext;

const CONFIG: &str = "base_path: \".\"\n\
stacks:\n  base_path: stacks\n  included_paths: [\"orgs/**/*\"]\n  name_pattern: \"{tenant}-{stage}\"\n\
secrets:\n  providers:\n    local-sops:\n      kind: sops/age\n      spec:\n        path: secrets\n        age_key_file: .atmos/age/keys.txt\n";

/// A project of `tenants` × {dev, prod} stacks, each importing its tenant and stage files and a
/// shared catalog with one component declaring one secret.
fn project(tenants: usize) -> TestContext {
    let p = TestContext::empty();
    p.write("atmos.yaml", CONFIG);
    p.write(
        "stacks/catalog/app.yaml",
        "components:\n  terraform:\n    app:\n      secrets:\n        vars:\n          TOKEN: {sops: local-sops}\n",
    );
    for stage in ["dev", "prod"] {
        p.write(
            &format!("stacks/mixins/{stage}.yaml"),
            &format!("vars:\n  stage: {stage}\n"),
        );
    }
    for t in 0..tenants {
        p.write(
            &format!("stacks/tenants/t{t}.yaml"),
            &format!("import:\n  - catalog/app\nvars:\n  tenant: t{t}\n"),
        );
        for stage in ["dev", "prod"] {
            p.write(
                &format!("stacks/orgs/t{t}/{stage}.yaml"),
                &format!("import:\n  - tenants/t{t}\n  - mixins/{stage}\n"),
            );
        }
    }
    backdate(p.path());
    p
}

/// Sets every file's and directory's modification time an hour back, then waits a moment: a
/// tree the index may vouch for at once (it does not vouch for a file modified in the last two
/// seconds or changed in the last 100 ms).
fn backdate(dir: &Path) {
    set_back(dir);
    std::thread::sleep(Duration::from_millis(150));
}

fn set_back(dir: &Path) {
    let then = SystemTime::now() - Duration::from_secs(3600);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            set_back(&path);
        }
        let file = std::fs::File::open(&path).unwrap();
        file.set_modified(then).unwrap();
    }
    std::fs::File::open(dir)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

/// `secret list -s <stack>` with debug lines: (stdout, stderr, exit code).
fn list(p: &TestContext, stack: &str) -> (String, String, i32) {
    let out = p
        .atmos(&["secret", "list", "-s", stack, "--logs-level", "Debug"])
        .output();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The same command with the index off: what a full load answers.
fn list_without_index(p: &TestContext, stack: &str) -> (String, i32) {
    let out = p
        .atmos(&["secret", "list", "-s", stack])
        .env("ATMOS_STACKS_INDEX", "false")
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout + &stderr, out.status.code().unwrap_or(-1))
}

/// Asserts that the indexed answer equals the full load's and says which path was taken.
fn same_as_full_load(p: &TestContext, stack: &str) -> String {
    let (stdout, stderr, code) = list(p, stack);
    let (full, full_code) = list_without_index(p, stack);
    let visible: String = stderr
        .lines()
        .filter(|l| !l.starts_with("DEBUG "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        (stdout + &visible, code),
        (full, full_code),
        "stack {stack}"
    );
    stderr
}

fn index_files(p: &TestContext) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(p.join("home/.cache/atmos/stack-index"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn one_stack_loads_only_its_manifests_once_indexed() {
    let p = project(3);
    let first = same_as_full_load(&p, "t1-dev");
    assert!(first.contains("cannot vouch"), "{first}");
    assert_eq!(index_files(&p).len(), 1, "the index is written");
    let second = same_as_full_load(&p, "t1-dev");
    assert!(
        second.contains("loading 1 of 6 manifests for stack `t1-dev`"),
        "{second}"
    );
    let (out, _, code) = list(&p, "t1-dev");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "t1-dev\tapp\tTOKEN\tinstance\tsops:local-sops\tmissing\n"
    );
    // By manifest path, as a full load resolves it.
    let by_path = same_as_full_load(&p, "orgs/t2/prod");
    assert!(by_path.contains("loading 1 of 6"), "{by_path}");
    // An unknown stack: the same error and suggestions as a full load, from the index's names.
    let missing = same_as_full_load(&p, "t1-dve");
    assert!(missing.contains("loading 0 of 6"), "{missing}");
}

#[test]
fn edits_renames_and_new_manifests_are_seen_at_once() {
    let p = project(2);
    same_as_full_load(&p, "t0-dev");
    same_as_full_load(&p, "t0-dev");
    // A shared import renames every dev stack; same size, and the time set back as well: the
    // change time still gives it away.
    p.write("stacks/mixins/dev.yaml", "vars:\n  stage: dvv\n");
    let then = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(p.join("stacks/mixins/dev.yaml"))
        .unwrap()
        .set_modified(then)
        .unwrap();
    let renamed = same_as_full_load(&p, "t0-dev");
    assert!(renamed.contains("cannot vouch"), "{renamed}");
    let (out, _, _) = list(&p, "t0-dev");
    assert_eq!(out, "", "t0-dev is gone");
    let (out, _, _) = list(&p, "t0-dvv");
    assert_eq!(
        out,
        "t0-dvv\tapp\tTOKEN\tinstance\tsops:local-sops\tmissing\n"
    );
    same_as_full_load(&p, "t0-dvv");
    // A new manifest, even one written just now, is found.
    p.write(
        "stacks/orgs/t9/dev.yaml",
        "import:\n  - tenants/t0\n  - mixins/prod\nvars:\n  tenant: t9\n",
    );
    let added = same_as_full_load(&p, "t9-prod");
    assert!(added.contains("cannot vouch"), "{added}");
    // Written just now: not vouched for (every command loads everything) until it is older,
    // and then recorded by the next command.
    let again = same_as_full_load(&p, "t9-prod");
    assert!(again.contains("cannot vouch"), "{again}");
    backdate(&p.join("stacks"));
    let recorded = same_as_full_load(&p, "t9-prod");
    assert!(recorded.contains("cannot vouch"), "{recorded}");
    let settled = same_as_full_load(&p, "t9-prod");
    assert!(settled.contains("loading 1 of 5"), "{settled}");
    // A removed manifest.
    std::fs::remove_file(p.join("stacks/orgs/t9/dev.yaml")).unwrap();
    let removed = same_as_full_load(&p, "t9-prod");
    assert!(removed.contains("cannot vouch"), "{removed}");
    // A file added beside an import may change which file the import names.
    backdate(&p.join("stacks"));
    same_as_full_load(&p, "t1-prod");
    assert!(same_as_full_load(&p, "t1-prod").contains("loading 1 of 4"));
    p.write("stacks/tenants/t1.yml", "vars:\n  tenant: other\n");
    backdate(&p.join("stacks"));
    same_as_full_load(&p, "t1-prod");
}

#[test]
fn stacks_sharing_a_name_and_templated_manifests_load_as_without_an_index() {
    let p = project(2);
    // A second manifest named t0-dev (it sets the same vars); it is shadowed by the first.
    p.write(
        "stacks/orgs/t0/dev2.yaml",
        "import:\n  - tenants/t0\n  - mixins/dev\ncomponents:\n  terraform:\n    extra:\n      secrets:\n        vars:\n          EXTRA: {sops: local-sops}\n",
    );
    // A template manifest: always loaded, never vouched for.
    p.write(
        "stacks/orgs/t1/qa.yaml.tmpl",
        "import:\n  - tenants/t1\nvars:\n  stage: {{ \"qa\" }}\n",
    );
    backdate(p.path());
    // Both t0-dev manifests and the template; the template by name; the shadowed manifest by
    // path (its name's manifests and the template); the template by path (everything).
    for (stack, path) in [
        ("t0-dev", "loading 3 of 6"),
        ("t1-qa", "loading 1 of 6"),
        ("orgs/t0/dev2", "loading 3 of 6"),
        ("orgs/t1/qa", "cannot vouch"),
        ("t0-prod", "loading 2 of 6"),
    ] {
        same_as_full_load(&p, stack);
        let second = same_as_full_load(&p, stack);
        assert!(second.contains(path), "{stack}: want {path:?} in {second}");
    }
    let shared = same_as_full_load(&p, "t0-dev");
    assert!(
        shared.contains("loading 3 of 6"),
        "both t0-dev manifests and the template: {shared}"
    );
    // Named by the path of the manifest whose name is not known without loading it.
    let templated = same_as_full_load(&p, "orgs/t1/qa");
    assert!(templated.contains("cannot vouch"), "{templated}");
}

#[test]
fn a_corrupt_or_disabled_index_is_only_slower() {
    let p = project(1);
    // A failing command leaves nothing behind, the index included.
    let failed = p
        .atmos(&["secret", "get", "TOKEN", "-s", "t0-dev", "-c", "app"])
        .output();
    assert!(!failed.status.success());
    assert!(
        index_files(&p).is_empty(),
        "no index from a failing command"
    );
    same_as_full_load(&p, "t0-dev");
    for file in index_files(&p) {
        std::fs::write(&file, b"{not json").unwrap();
    }
    let corrupt = same_as_full_load(&p, "t0-dev");
    assert!(corrupt.contains("cannot vouch"), "{corrupt}");
    let fixed = same_as_full_load(&p, "t0-dev");
    assert!(fixed.contains("loading 1 of 2"), "{fixed}");

    let q = project(1);
    let out = q
        .atmos(&["secret", "list", "-s", "t0-dev", "--logs-level", "Debug"])
        .env("ATMOS_STACKS_INDEX", "false")
        .output();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("stack index"));
    assert!(index_files(&q).is_empty(), "nothing written when off");
    // The index is private to its user.
    let files = index_files(&p);
    assert!(!files.is_empty(), "the index is written");
    #[cfg(unix)]
    for file in files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}
