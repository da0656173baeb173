//! Go templates in stack manifests through the built binary: a component with a broken template
//! does not stop the secret commands on other components, and `secret list` reports it as an
//! error row.

use crate::support::{SENTINEL, TestContext};

/// The quickstart dev stack plus `broken` (a bad template in its `secrets`, which secret commands
/// read) and `noisy` (a bad template in `vars`, which they do not).
fn project() -> TestContext {
    let p = TestContext::quickstart();
    let dev = std::fs::read_to_string(p.join("stacks/deploy/dev.yaml")).unwrap();
    std::fs::write(
        p.join("stacks/deploy/dev.yaml"),
        format!(
            "{dev}    broken:\n      secrets:\n        vars:\n          BROKEN_TOKEN:\n            sops: local-sops\n            description: '{{{{ .vars.nope }}}}'\n    noisy:\n      vars:\n        region: '{{{{ if .vars.stage }}}}'\n        name: '{{{{ .settings.absent }}}}'\n      secrets:\n        vars:\n          NOISY_TOKEN: {{ sops: local-sops, description: '{{{{ .atmos_component | upper }}}}' }}\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_broken_template_leaves_other_components_working() {
    let p = project();
    p.set("QUEUE_PASSWORD", SENTINEL, "dev", "worker");
    p.set("SHARED_TOKEN", "shared-tok", "dev", "worker");
    assert_eq!(
        p.get("QUEUE_PASSWORD", "dev", "worker").trim_end(),
        SENTINEL
    );
    p.run(&["secret", "validate", "-s", "dev", "-c", "worker"])
        .ok()
        .stderr_has("All required secrets are initialized");
    // `noisy`'s broken templates are in vars, which secret commands do not evaluate; its
    // `secrets` section renders.
    p.set("NOISY_TOKEN", "noisy-tok", "dev", "noisy");
    assert_eq!(p.get("NOISY_TOKEN", "dev", "noisy").trim_end(), "noisy-tok");
    let list = p
        .run(&[
            "secret",
            "list",
            "-s",
            "dev",
            "--verbose",
            "--format",
            "json",
        ])
        .code(1);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    let row = |c: &str, s: &str| {
        rows.iter()
            .find(|r| r["Component"] == c && r["Secret"] == s)
            .unwrap_or_else(|| panic!("{c}/{s} in {rows:?}"))
            .clone()
    };
    assert_eq!(row("worker", "QUEUE_PASSWORD")["Status"], "initialized");
    assert_eq!(row("noisy", "NOISY_TOKEN")["Description"], "NOISY");
    let broken = row("broken", "-")["Status"].as_str().unwrap().to_owned();
    for want in [
        "error:",
        "dev.yaml",
        "broken",
        "map has no entry for key \"nope\"",
    ] {
        assert!(broken.contains(want), "{want} in {broken}");
    }
    assert!(
        list.stderr.contains("cannot build component \"broken\""),
        "{}",
        list.stderr
    );
    assert!(!list.stdout.contains(SENTINEL) && !list.stderr.contains(SENTINEL));
    // Whole-tree TSV and plain listings (rendered stack by stack on the builder threads, global
    // rows first) hold the JSON listing's rows (rendered from all rows at the end) in its order,
    // the broken component's row among its stack's, and report the same failure.
    for verbose in [false, true] {
        let args = |format: &str| {
            let mut a = vec!["secret", "list", "--format", format];
            if verbose {
                a.push("--verbose");
            }
            p.run(&a).code(1)
        };
        let json = args("json");
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
        // The listing's columns, the description only with `--verbose`.
        let all = "Stack Component Secret Scope Provider Status Description";
        let columns: Vec<&str> = all.split(' ').take(if verbose { 7 } else { 6 }).collect();
        let lines: String = rows
            .iter()
            .map(|r| {
                let cells: Vec<String> = columns
                    .iter()
                    .map(|c| r[*c].as_str().unwrap().replace(['\t', '\n'], " "))
                    .collect();
                cells.join("\t") + "\n"
            })
            .collect();
        assert!(lines.starts_with("*\t*\tLICENSE_KEY\t"), "{lines}");
        assert!(lines.contains("dev\tbroken\t-\t-\t-\terror: "), "{lines}");
        let tsv = args("tsv");
        assert_eq!(tsv.stdout, columns.join("\t") + "\n" + &lines);
        assert_eq!(tsv.stderr, json.stderr);
        assert_eq!(args("").stdout, lines);
    }
    // The broken component itself fails clearly; describe evaluates everything.
    p.run(&["secret", "get", "BROKEN_TOKEN", "-s", "dev", "-c", "broken"])
        .code(1)
        .stderr_has("secrets.vars.BROKEN_TOKEN.description");
    p.run(&["describe", "component", "noisy", "-s", "dev"])
        .code(1)
        .stderr_has("vars.region");
}
