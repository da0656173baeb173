//! `describe component|stacks` against the committed fixture projects: snapshot of the merged
//! section, logical stack names under every naming mode, and masking without any backend.

use std::path::{Path, PathBuf};

use crate::support::Atmos;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Runs the binary on a fixture with an isolated environment.
fn atmos(project: &Path, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("temp home");
    Atmos::new(args)
        .home(home.path(), &home.path().join("xdg"))
        .env("ATMOS_CLI_CONFIG_PATH", project)
        .env("ATMOS_BASE_PATH", project)
        .cwd(home.path())
        .output()
}

fn stdout_ok(project: &Path, args: &[&str]) -> String {
    let out = atmos(project, args);
    assert!(
        out.status.success(),
        "atmos {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

fn stack_names(project: &Path) -> Vec<String> {
    let v = json(&stdout_ok(
        project,
        &["describe", "stacks", "--format", "json"],
    ));
    v.as_object().expect("object").keys().cloned().collect()
}

#[test]
fn describe_component_matches_snapshot() {
    let project = fixture("stacks-basic");
    for (component, file) in [
        ("api", "api-plat-ue2-dev.json"),
        ("vpc", "vpc-plat-ue2-dev.json"),
    ] {
        let got = json(&stdout_ok(
            &project,
            &[
                "describe",
                "component",
                component,
                "-s",
                "plat-ue2-dev",
                "--format",
                "json",
            ],
        ));
        let want_text =
            std::fs::read_to_string(project.join("expected").join(file)).expect("expected file");
        assert_eq!(
            got,
            json(&want_text),
            "describe component {component} differs from expected/{file}"
        );
    }
}

#[test]
fn snapshot_shows_merge_and_scope_rules() {
    // Independent of the snapshot file: the facts the snapshot is supposed to show.
    let v = json(&stdout_ok(
        &fixture("stacks-basic"),
        &[
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-dev",
            "-f",
            "json",
        ],
    ));
    let secrets = &v["secrets"]["vars"];
    assert_eq!(
        secrets["LICENSE_KEY"]["scope"], "global",
        "global survives from a 3rd-level import"
    );
    assert_eq!(
        secrets["SHARED_TOKEN"]["scope"], "instance",
        "component re-declaration pulls a stack secret down"
    );
    assert_eq!(
        secrets["SHARED_TOKEN"]["required"], true,
        "fields of the stack declaration survive the merge"
    );
    assert_eq!(
        secrets["VPC_FLOW_KEY"]["scope"], "instance",
        "inherited base secrets are instance-scoped"
    );
    assert_eq!(secrets["OVERRIDE_ONLY"]["scope"], "instance");
    assert_eq!(
        secrets["DB_CONFIG"]["reference"], "db/{{ .atmos_stack }}/config",
        "references render at use"
    );
    let vars = &v["vars"];
    assert_eq!(
        vars["tags"],
        serde_json::json!(["tagged"]),
        "later base wins, lists replace"
    );
    assert_eq!(vars["nat_gateway"], false);
    assert_eq!(vars["name"], "api-DEV");
    assert_eq!(vars["stack_label"], "plat_ue2_dev");
    assert_eq!(vars["owner"], "platform");
    assert_eq!(vars["db_password"], "<MASKED>");
    assert_eq!(vars["vpc_id"], "<MASKED>");
    assert_eq!(vars["service"]["port"], 8080);
    assert_eq!(vars["build"]["sha"], "abc123");
    assert_eq!(vars["env_marker"], "dev", "stack-level overrides apply");
    assert_eq!(v["env"]["LOG_LEVEL"], "info");
    assert_eq!(v["component"], "app/api");
    assert_eq!(
        v["inheritance"],
        serde_json::json!(["vpc/defaults", "tagging"])
    );
    let prod = json(&stdout_ok(
        &fixture("stacks-basic"),
        &[
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-prod",
            "-f",
            "json",
        ],
    ));
    assert_eq!(prod["vars"]["replicas"], 5);
    assert!(
        prod["vars"].get("env_marker").is_none(),
        "dev's overrides do not leak into prod"
    );
    assert_eq!(prod["secrets"]["vars"].get("OVERRIDE_ONLY"), None);
}

#[test]
fn yaml_output_is_the_same_data() {
    let project = fixture("stacks-basic");
    // Plain YAML (the default YAML view is annotated with provenance, as atmos).
    let yaml_text = stdout_ok(
        &project,
        &[
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-dev",
            "--provenance=false",
        ],
    );
    let parsed =
        atmos_secrets::yaml::parse(&yaml_text, "stdout").expect("describe prints valid YAML");
    let from_yaml = atmos_secrets::yaml::to_json(&parsed);
    let from_json = json(&stdout_ok(
        &project,
        &[
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-dev",
            "-f",
            "json",
        ],
    ));
    assert_eq!(from_yaml, from_json);
}

#[test]
fn stack_names_per_naming_mode() {
    assert_eq!(
        stack_names(&fixture("stacks-basic")),
        ["plat-ue2-dev", "plat-ue2-prod"],
        "name_pattern"
    );
    assert_eq!(
        stack_names(&fixture("naming-path")),
        ["custom-prod", "deploy/dev"],
        "manifest name: and file path"
    );
    assert_eq!(
        stack_names(&fixture("naming-template")),
        ["core-DEV", "core-STAGING"],
        "name_template beats name_pattern"
    );
}

#[test]
fn describe_stacks_filters() {
    let project = fixture("stacks-basic");
    let v = json(&stdout_ok(
        &project,
        &[
            "describe",
            "stacks",
            "-s",
            "plat-ue2-prod",
            "--components",
            "api",
            "-f",
            "json",
        ],
    ));
    let stacks: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(stacks, ["plat-ue2-prod"]);
    let comps: Vec<&String> = v["plat-ue2-prod"]["components"]["terraform"]
        .as_object()
        .expect("map")
        .keys()
        .collect();
    assert_eq!(comps, ["api"]);
    let all = json(&stdout_ok(&project, &["describe", "stacks", "-f", "json"]));
    let dev: Vec<&String> = all["plat-ue2-dev"]["components"]["terraform"]
        .as_object()
        .expect("map")
        .keys()
        .collect();
    assert_eq!(dev, ["api", "vpc"], "abstract components are not instances");
}

#[test]
fn describe_masks_secret_without_any_backend() {
    let out = stdout_ok(
        &fixture("no-backend"),
        &["describe", "component", "app", "-s", "dev", "-f", "json"],
    );
    let v = json(&out);
    assert_eq!(v["vars"]["password"], "<MASKED>");
    assert_eq!(v["vars"]["nested"][0]["token"], "<MASKED>");
}

#[test]
fn unmasked_describe_goes_through_the_resolver() {
    let out = atmos(
        &fixture("no-backend"),
        &["describe", "component", "app", "-s", "dev", "--mask=false"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("secret is not initialized in its backend: \"APP_PASSWORD\"")
            && stderr.contains("secret declaration has no backend"),
        "{stderr}"
    );
}

#[test]
fn stack_can_be_named_by_its_manifest_path() {
    let v = json(&stdout_ok(
        &fixture("stacks-basic"),
        &[
            "describe",
            "component",
            "vpc",
            "-s",
            "orgs/acme/plat/ue2/dev",
            "-f",
            "json",
        ],
    ));
    assert_eq!(v["atmos_stack"], "plat-ue2-dev");
}

#[test]
fn processing_flags_leave_functions_and_templates_as_written() {
    let project = fixture("stacks-basic");
    let vars = |extra: &[&str]| {
        let mut args = vec![
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-dev",
            "-f",
            "json",
            "-q",
            ".vars",
        ];
        args.extend_from_slice(extra);
        json(&stdout_ok(&project, &args))
    };
    let all = vars(&[]);
    assert_eq!(all["db_password"], "<MASKED>");
    assert_eq!(all["name"], "api-DEV");

    let raw = vars(&["--process-functions=false"]);
    assert_eq!(raw["db_password"], "!secret DB_PASSWORD");
    assert_eq!(raw["vpc_id"], "!store plain-params vpc vpc_id");

    let skipped = vars(&["--skip", "store,store.get"]);
    assert_eq!(skipped["db_password"], "<MASKED>");
    assert_eq!(
        skipped["shared_param"],
        "!store.get plain-params /shared/param"
    );

    let untemplated = vars(&["--process-templates=false"]);
    assert_eq!(
        untemplated["name"],
        "{{ .atmos_component }}-{{ .vars.stage | upper }}"
    );
}

#[test]
fn provenance_names_file_and_line() {
    let text = stdout_ok(
        &fixture("stacks-basic"),
        &[
            "describe",
            "component",
            "api",
            "-s",
            "plat-ue2-dev",
            "--provenance",
        ],
    );
    assert!(text.starts_with("# Provenance Legend:"), "{text}");
    // On by default for YAML, as atmos.
    let project = fixture("stacks-basic");
    let default = stdout_ok(
        &project,
        &["describe", "component", "api", "-s", "plat-ue2-dev"],
    );
    assert_eq!(default, text);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("db_password:"))
        .expect("db_password line");
    assert!(
        line.contains("<MASKED>") && line.contains("catalog/api.yaml:14"),
        "{line}"
    );
    // Still YAML: the notes are comments.
    let parsed = atmos_secrets::yaml::parse(&text, "stdout").expect("YAML");
    assert_eq!(
        parsed.get("vars").and_then(|v| v.get("db_password")),
        Some(&atmos_secrets::yaml::Node::Str("<MASKED>".to_owned()))
    );
}

/// An upstream fixture (tests/upstream, copied from cloudposse/atmos).
fn upstream_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/upstream/tests/fixtures/scenarios")
        .join(name)
}

#[test]
fn overrides_reach_the_declaring_file_and_its_imports_as_atmos() {
    // Expectations from upstream's own `describe_component_test.go` on this fixture.
    let project = upstream_fixture("atmos-overrides-section");
    for (stack, a, b, c) in [
        ("dev", "a-dev", "b-team2", "c-team1"),
        ("staging", "a-staging", "b-team2", "c-team1"),
        ("prod", "a-prod", "b-prod", "c-prod"),
        ("sandbox", "a-team2", "b-team2", "c-team1"),
        ("test", "a-test-2", "b-test", "c-team1"),
        // `catalog/overrides` imported after `catalog/c1`: its overrides do not reach c1.
        ("test2", "a", "b", "c"),
        // Imported before: they do.
        ("test3", "a-overridden", "b-overridden", "c"),
    ] {
        let got = json(&stdout_ok(
            &project,
            &["describe", "component", "c1", "-s", stack, "-f", "json"],
        ));
        assert_eq!(
            got["vars"]["test"],
            serde_json::json!({"a": a, "b": b, "c": c, "d": "d"}),
            "stack {stack}"
        );
    }
}

#[test]
fn atmos_yaml_auth_lies_under_each_component_auth() {
    // Upstream's `atmos auth merging` case, compared in full with its golden stdout.
    let project = upstream_fixture("atmos-auth");
    let out = stdout_ok(
        &project,
        &[
            "describe",
            "component",
            "mycomponent",
            "-s",
            "component-auth",
            "--identity",
            "off",
            "-q",
            ".auth",
        ],
    );
    let golden =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/upstream/tests/snapshots/TestCLICommands_atmos_auth_merging.stdout.golden",
        ))
        .expect("golden");
    let realm = out
        .lines()
        .find_map(|l| l.strip_prefix("realm: "))
        .expect("a realm line");
    assert!(
        realm.len() == 16 && realm.chars().all(|c| c.is_ascii_hexdigit()),
        "realm is atmos' path hash: {realm}"
    );
    // One deliberate difference (docs/decisions.md): the `credentials` of atmos.yaml's
    // identities are masked, as `describe config` masks them; atmos prints them as written.
    assert!(!out.contains("EXAMPLESECRETACCESSKEY"), "{out}");
    let golden = golden
        .replace(
            "access_key_id: EXAMPLEACCESSKEYID",
            "access_key_id: <MASKED>",
        )
        .replace(
            "credentials:\n      access_key_id: <MASKED>\n      region: us-east-1",
            "credentials:\n      access_key_id: <MASKED>\n      region: <MASKED>",
        )
        .replace(
            "secret_access_key: EXAMPLESECRETACCESSKEY",
            "secret_access_key: <MASKED>",
        );
    assert_eq!(
        out.replace(&format!("realm: {realm}"), "realm: <hash>")
            .trim_end(),
        golden.trim_end()
    );
}

#[test]
fn top_level_component_inherits_from_defined_components_or_names_a_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("atmos.yaml", "base_path: .\nstacks: {base_path: stacks}\n");
    std::fs::create_dir_all(root.join("components/terraform/vpc-folder")).expect("mkdir");
    write(
        "stacks/dev.yaml",
        "components:\n  terraform:\n    base: {vars: {from_base: yes}}\n    app: {component: base, vars: {own: 1}}\n    plain: {component: vpc-folder, vars: {own: 2}}\n",
    );
    let app = json(&stdout_ok(
        root,
        &["describe", "component", "app", "-s", "dev", "-f", "json"],
    ));
    assert_eq!(app["vars"]["from_base"], "yes", "{app}");
    assert_eq!(app["inheritance"], serde_json::json!(["base"]));
    // A `component:` that names a component folder is no base: nothing is inherited.
    let plain = json(&stdout_ok(
        root,
        &["describe", "component", "plain", "-s", "dev", "-f", "json"],
    ));
    assert_eq!(plain["vars"], serde_json::json!({"own": 2}));
    assert_eq!(plain["component"], "vpc-folder");
}
