//! Stack loader through the library API: import forms, merge settings, templates switch, and
//! load time on a project with hundreds of manifests.

use std::path::Path;
use std::time::{Duration, Instant};

use atmos_secrets::config::CliConfig;
use atmos_secrets::config::load::from_str;
use atmos_secrets::stack;
use atmos_secrets::yaml::Node;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        write(dir.path(), path, content);
    }
    dir
}

/// Writes `content` to `path` under `root`, making its folders.
fn write(root: &Path, path: &str, content: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write");
}

fn config(root: &Path, text: &str) -> CliConfig {
    from_str(text, &root.join("atmos.yaml"), None).expect("valid atmos.yaml")
}

const CONFIG: &str = "stacks:\n  base_path: stacks\n  included_paths: ['deploy/**/*']\n";

fn var(cfg: &CliConfig, stack: &str, component: &str, key: &str) -> Option<Node> {
    let inst = stack::load_component(cfg, stack, component, None).expect("component");
    inst.section.get("vars").and_then(|v| v.get(key)).cloned()
}

#[test]
fn import_forms() {
    let dir = project(&[
        (
            "stacks/deploy/dev.yaml",
            "import:\n  - path: catalog/obj\n  - catalog/yml\n  - 'catalog/glob/*'\n  - {path: catalog/absent, skip_if_missing: true}\n  - ../catalog/rel\n  - catalog/diamond-a\n  - catalog/diamond-b\ncomponents:\n  terraform:\n    app: {}\n",
        ),
        ("stacks/catalog/obj.yaml", "vars: {obj: 1}\n"),
        ("stacks/catalog/yml.yml", "vars: {yml: 1}\n"),
        ("stacks/catalog/glob/a.yaml", "vars: {glob: a, ga: 1}\n"),
        ("stacks/catalog/glob/b.yaml", "vars: {glob: b, gb: 1}\n"),
        ("stacks/catalog/rel.yaml", "vars: {rel: 1}\n"),
        (
            "stacks/catalog/diamond-a.yaml",
            "import: [catalog/shared]\n",
        ),
        (
            "stacks/catalog/diamond-b.yaml",
            "import: [catalog/shared]\n",
        ),
        ("stacks/catalog/shared.yaml", "vars: {shared: 1}\n"),
    ]);
    let cfg = config(dir.path(), CONFIG);
    for key in ["obj", "yml", "ga", "gb", "rel", "shared"] {
        assert_eq!(
            var(&cfg, "deploy/dev", "app", key),
            Some(Node::Int(1)),
            "{key}"
        );
    }
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "glob"),
        Some(Node::Str("b".into())),
        "glob matches merge in sorted order"
    );
}

#[test]
fn later_imports_and_the_file_itself_win() {
    let dir = project(&[
        (
            "stacks/deploy/dev.yaml",
            "import: [catalog/a, catalog/b]\nvars: {own: file}\ncomponents:\n  terraform:\n    app:\n      vars: {list: [3]}\n",
        ),
        (
            "stacks/catalog/a.yaml",
            "vars: {x: a, own: a, map: {k1: a}}\ncomponents:\n  terraform:\n    app:\n      vars: {list: [1, 2]}\n",
        ),
        ("stacks/catalog/b.yaml", "vars: {x: b, map: {k2: b}}\n"),
    ]);
    let cfg = config(dir.path(), CONFIG);
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "x"),
        Some(Node::Str("b".into()))
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "own"),
        Some(Node::Str("file".into()))
    );
    let map = var(&cfg, "deploy/dev", "app", "map").expect("map");
    assert_eq!(
        (map.get("k1").is_some(), map.get("k2").is_some()),
        (true, true)
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "list"),
        Some(Node::Seq(vec![Node::Int(3)])),
        "lists replace"
    );
    let append = config(
        dir.path(),
        &format!("{CONFIG}settings:\n  list_merge_strategy: append\n"),
    );
    assert_eq!(
        var(&append, "deploy/dev", "app", "list"),
        Some(Node::Seq(vec![Node::Int(1), Node::Int(2), Node::Int(3)]))
    );
}

#[test]
fn type_level_sections_and_legacy_component_inheritance() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "vars: {level: stack}\nterraform:\n  vars: {level: type, tf: 1}\n  overrides:\n    vars: {forced: yes-type}\ncomponents:\n  terraform:\n    base:\n      vars: {from_base: 1, level: base}\n    app:\n      component: base\n      vars: {own: 1}\n  helmfile:\n    chart:\n      vars: {}\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "level"),
        Some(Node::Str("base".into()))
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "from_base"),
        Some(Node::Int(1))
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "forced"),
        Some(Node::Str("yes-type".into()))
    );
    // The terraform layer does not reach helmfile components.
    assert_eq!(var(&cfg, "deploy/dev", "chart", "tf"), None);
    assert_eq!(
        var(&cfg, "deploy/dev", "chart", "level"),
        Some(Node::Str("stack".into()))
    );
}

#[test]
fn templates_can_be_disabled() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "components:\n  terraform:\n    app:\n      vars: {t: '{{ .nope }}'}\n",
    )]);
    let cfg = config(
        dir.path(),
        &format!("{CONFIG}templates:\n  settings:\n    enabled: false\n"),
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "t"),
        Some(Node::Str("{{ .nope }}".into()))
    );
}

#[test]
fn declarations_and_providers_from_a_component() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "secrets:\n  providers:\n    local:\n      kind: sops/age\n      spec: {age_key_file: ~/k.txt}\n  vars:\n    S: {store: st}\ncomponents:\n  terraform:\n    app:\n      secrets:\n        vars:\n          B: {sops: local, store: st}\n          A: {store: st, scope: global}\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    let inst = stack::load_component(&cfg, "deploy/dev", "app", None).expect("component");
    let decls = atmos_secrets::secrets::declare::declarations(&inst.section).expect("declarations");
    let summary: Vec<(String, String, String)> = decls
        .iter()
        .map(|d| (d.name.clone(), d.backend.label(), d.scope.to_string()))
        .collect();
    assert_eq!(
        summary,
        [
            ("A".to_owned(), "store:st".to_owned(), "global".to_owned()),
            (
                "B".to_owned(),
                "sops:local".to_owned(),
                "instance".to_owned()
            ),
            ("S".to_owned(), "store:st".to_owned(), "stack".to_owned()),
        ]
    );
    let providers = atmos_secrets::secrets::declare::providers(&inst.section).expect("providers");
    assert_eq!(providers["local"].kind, "sops/age");
}

#[test]
fn hundreds_of_manifests_load_fast() {
    let mut files: Vec<(String, String)> = Vec::new();
    for c in 0..5 {
        let mut text = String::from("components:\n  terraform:\n");
        for i in 0..20 {
            text.push_str(&format!(
                "    comp-{c}-{i}:\n      metadata: {{inherits: [base]}}\n      vars: {{index: {i}, name: '{{{{ .atmos_component }}}}'}}\n"
            ));
        }
        text.push_str("    base:\n      metadata: {type: abstract}\n      vars: {tier: base}\n      secrets:\n        vars:\n          TOKEN: {store: s}\n");
        files.push((format!("stacks/catalog/set-{c}.yaml"), text));
    }
    files.push((
        "stacks/catalog/globals.yaml".into(),
        "vars: {namespace: acme}\nsettings: {a: 1}\n".into(),
    ));
    for s in 0..300 {
        files.push((
            format!("stacks/deploy/t{}/stack-{s}.yaml", s % 10),
            format!("import: [catalog/globals, 'catalog/set-*']\nvars: {{stage: s{s}}}\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&refs);
    let cfg = config(dir.path(), CONFIG);
    let start = Instant::now();
    let stacks = stack::load(&cfg).expect("load");
    let load_time = start.elapsed();
    assert_eq!(stacks.stacks.len(), 300);
    let start = Instant::now();
    let instances = stacks
        .instances(&cfg, "deploy/t3/stack-13")
        .expect("instances");
    let build_time = start.elapsed();
    assert_eq!(instances.len(), 100);
    // Generous bounds for a debug build on a shared 2-core machine; typical is a few ms.
    assert!(
        load_time < Duration::from_secs(2),
        "loading 306 manifests took {load_time:?}"
    );
    assert!(
        build_time < Duration::from_secs(2),
        "building 100 instances took {build_time:?}"
    );
    eprintln!("loaded 306 manifests in {load_time:?}; built 100 instances in {build_time:?}");
}

#[test]
fn metadata_is_inherited_except_inherits_and_abstract() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "components:\n  terraform:\n    base:\n      metadata: {type: abstract, component: vpc/v2, locked: true, inherits: []}\n    mid:\n      metadata: {inherits: [base], custom: {a: 1}}\n    app:\n      metadata: {inherits: [mid], custom: {b: 2}}\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    let inst = stack::load_component(&cfg, "deploy/dev", "app", None).expect("component");
    let meta = inst.section.get("metadata").expect("metadata");
    assert_eq!(meta.get("component"), Some(&Node::Str("vpc/v2".into())));
    assert_eq!(meta.get("locked"), Some(&Node::Bool(true)));
    assert_eq!(meta.get("type"), None, "abstract is not inherited");
    assert_eq!(
        meta.get("inherits"),
        Some(&Node::Seq(vec![Node::Str("mid".into())])),
        "own inherits only"
    );
    assert_eq!(
        meta.get("custom").and_then(|c| c.get("a")),
        Some(&Node::Int(1))
    );
    assert_eq!(
        meta.get("custom").and_then(|c| c.get("b")),
        Some(&Node::Int(2))
    );
    assert_eq!(
        inst.section.get("component"),
        Some(&Node::Str("vpc/v2".into()))
    );
    let off = config(
        dir.path(),
        &format!("{CONFIG}  inherit:\n    metadata: false\n"),
    );
    let inst = stack::load_component(&off, "deploy/dev", "app", None).expect("component");
    let meta = inst.section.get("metadata").expect("metadata");
    assert_eq!(meta.get("component"), None);
    assert_eq!(
        inst.section.get("component"),
        Some(&Node::Str("app".into()))
    );
}

#[test]
fn component_sections_render_as_one_go_template_document() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "vars: {stage: dev, count: 3}\ncomponents:\n  terraform:\n    vpc:\n      vars: {cidr: 10.0.0.0/16}\n    app:\n      metadata: {component: svc}\n      settings: {tags: {b: 2, a: 1}}\n      vars:\n        helpers: '{{ define \"greet\" }}hi {{ .vars.stage }}{{ end }}'\n        greeting: '{{ template \"greet\" . }}'\n        range: '{{ range $k, $v := .settings.tags }}{{ $k }}={{ $v }};{{ end }}'\n        cond: '{{ if eq .vars.stage \"dev\" }}small{{ else }}large{{ end }}'\n        quoted: '{{ printf \"%s-%d\" .atmos_stack .vars.count }}'\n        count_text: '{{ .vars.count }}'\n        plain_number: 1{{ .vars.count }}\n        ws: '{{ .workspace }}'\n        sprig: '{{ list 1 2 | toJson }}'\n        other: '{{ (atmos.Component \"vpc\" .atmos_stack).vars.cidr }}'\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    let v = |k: &str| var(&cfg, "deploy/dev", "app", k);
    assert_eq!(v("greeting"), Some(Node::Str("hi dev".into())));
    assert_eq!(v("range"), Some(Node::Str("a=1;b=2;".into())));
    assert_eq!(v("cond"), Some(Node::Str("small".into())));
    assert_eq!(v("quoted"), Some(Node::Str("deploy/dev-3".into())));
    // A quoted scalar stays a string; a plain one reads back as YAML would (as in atmos).
    assert_eq!(v("count_text"), Some(Node::Str("3".into())));
    assert_eq!(v("plain_number"), Some(Node::Int(13)));
    assert_eq!(v("ws"), Some(Node::Str("deploy-dev-app".into())));
    assert_eq!(v("sprig"), Some(Node::Str("[1,2]".into())));
    assert_eq!(v("other"), Some(Node::Str("10.0.0.0/16".into())));
}

#[test]
fn template_errors_name_manifest_component_and_path() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "components:\n  terraform:\n    app:\n      vars:\n        ok: '{{ .atmos_stack }}'\n        bad: '{{ .vars.nope }}'\n    other:\n      vars: {fine: '{{ .atmos_component }}'}\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    let err = stack::load_component(&cfg, "deploy/dev", "app", None)
        .expect_err("missing key")
        .to_string();
    assert!(err.contains("dev.yaml"), "{err}");
    assert!(err.contains("component `app`"), "{err}");
    assert!(err.contains("`vars.bad`"), "{err}");
    assert!(err.contains("map has no entry for key \"nope\""), "{err}");
    // The other component is unaffected.
    assert_eq!(
        var(&cfg, "deploy/dev", "other", "fine"),
        Some(Node::Str("other".into()))
    );
    // A component whose broken template is outside what the secret commands read still builds
    // for them, with its `secrets` rendered.
    let stacks = stack::load(&cfg)
        .expect("stacks")
        .evaluating(stack::Eval::Secrets);
    let inst = stacks
        .component(&cfg, "deploy/dev", "app", None)
        .expect("secret view builds");
    assert_eq!(
        inst.section.get("vars").and_then(|v| v.get("bad")),
        Some(&Node::Str("{{ .vars.nope }}".into()))
    );
}

#[test]
fn template_settings_switch_functions_and_delimiters() {
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "vars: {stage: dev}\ncomponents:\n  terraform:\n    app:\n      vars: {a: \"x '{{ .vars.stage }}'\", b: 'y {{ keep }}'}\n",
    )]);
    let cfg = config(
        dir.path(),
        &format!(
            "{CONFIG}templates:\n  settings:\n    delimiters: [\"'{{{{\", \"}}}}'\"]\n    sprig: {{enabled: false}}\n"
        ),
    );
    // Other delimiters (atmos' `'{{`/`}}'`) leave `{{ … }}` text alone.
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "a"),
        Some(Node::Str("x dev".into()))
    );
    assert_eq!(
        var(&cfg, "deploy/dev", "app", "b"),
        Some(Node::Str("y {{ keep }}".into()))
    );
    let bad = from_str(
        &format!("{CONFIG}templates:\n  settings:\n    delimiters: ['{{{{']\n"),
        &dir.path().join("atmos.yaml"),
        None,
    )
    .expect_err("one delimiter");
    assert!(bad.to_string().contains("delimiters"), "{bad}");
}

#[test]
fn imports_with_context_and_template_manifests() {
    let dir = project(&[
        (
            "stacks/deploy/dev.yaml",
            "import:\n  - path: catalog/eks\n    context: {flavor: blue, size: 3}\n  - path: catalog/eks\n    context: {flavor: green, size: 1}\n  - path: catalog/raw\n    context: {x: 1}\n    skip_templates_processing: true\n  - path: catalog/loose\n    ignore_missing_template_values: true\nvars: {stage: dev}\n",
        ),
        (
            "stacks/catalog/eks.yaml.tmpl",
            "import:\n  - catalog/nested\ncomponents:\n  terraform:\n    eks-{{ .flavor }}:\n      vars:\n        nodes: {{ .size }}\n{{- range $i := until 2 }}\n        az{{ $i }}: zone-{{ $i }}\n{{- end }}\n        later: '{{`{{ .atmos_component }}`}}'\n",
        ),
        (
            "stacks/catalog/nested.yaml",
            "components:\n  terraform:\n    nested-{{ .flavor }}:\n      vars: {from: parent-context}\n",
        ),
        (
            "stacks/catalog/raw.yaml",
            "components:\n  terraform:\n    raw:\n      vars: {kept: '{{ .atmos_stack }}'}\n",
        ),
        (
            "stacks/catalog/loose.yaml.tmpl",
            "components:\n  terraform:\n    loose:\n      vars: {missing: '{{ .nothing }}'}\n",
        ),
        (
            "stacks/deploy/prod.yaml.tmpl",
            "vars:\n  stage: {{ \"prod\" | upper | lower }}\ncomponents:\n  terraform:\n    app: {vars: {n: {{ add 1 2 }}}}\n",
        ),
    ]);
    let cfg = config(dir.path(), CONFIG);
    let v = |c: &str, k: &str| var(&cfg, "deploy/dev", c, k);
    assert_eq!(v("eks-blue", "nodes"), Some(Node::Int(3)));
    assert_eq!(v("eks-green", "nodes"), Some(Node::Int(1)));
    assert_eq!(v("eks-blue", "az1"), Some(Node::Str("zone-1".into())));
    // The escaped template survives the import phase and renders in the component phase.
    assert_eq!(v("eks-green", "later"), Some(Node::Str("eks-green".into())));
    // The importer's context reaches nested imports (both contexts, two instances).
    assert_eq!(
        v("nested-green", "from"),
        Some(Node::Str("parent-context".into()))
    );
    assert!(stack::load_component(&cfg, "deploy/dev", "nested-blue", None).is_ok());
    // skip_templates_processing leaves the file for the component phase.
    assert_eq!(v("raw", "kept"), Some(Node::Str("deploy/dev".into())));
    assert_eq!(v("loose", "missing"), Some(Node::Str("<no value>".into())));
    // A top-level `.yaml.tmpl` manifest is rendered as a whole and named without `.yaml.tmpl`.
    let stacks = stack::load(&cfg).expect("stacks");
    assert!(
        stacks.names().any(|n| n == "deploy/prod"),
        "{:?}",
        stacks.names().collect::<Vec<_>>()
    );
    assert_eq!(var(&cfg, "deploy/prod", "app", "n"), Some(Node::Int(3)));

    // A missing context value is atmos' error, naming the file.
    write(
        dir.path(),
        "stacks/deploy/dev.yaml",
        "import:\n  - path: catalog/eks\n    context: {flavor: blue}\n",
    );
    let err = stack::load(&cfg).expect_err("missing size").to_string();
    assert!(err.contains("catalog/eks.yaml.tmpl"), "{err}");
    assert!(err.contains("map has no entry for key \"size\""), "{err}");
}

#[test]
fn atmos_component_outputs_fail_clearly() {
    use atmos_secrets::error::Diagnose;
    let dir = project(&[(
        "stacks/deploy/dev.yaml",
        "components:\n  terraform:\n    vpc: {vars: {a: 1}}\n    app:\n      vars:\n        id: '{{ (atmos.Component \"vpc\" .atmos_stack).outputs.vpc_id }}'\n",
    )]);
    let cfg = config(dir.path(), CONFIG);
    let err = stack::load_component(&cfg, "deploy/dev", "app", None).expect_err("outputs");
    assert!(
        err.to_string()
            .contains("map has no entry for key \"outputs\""),
        "{err}"
    );
    let hint = err.hint().unwrap_or_default();
    assert!(hint.contains("needs terraform state"), "{hint}");
}

/// `secret list` reads an instance's declarations off its layers when nothing can change them
/// ([`stack::component::declared_each`]); every such instance must carry exactly the
/// declarations, providers and `auth` that building it in full gives, and the instances that
/// templates, YAML functions, overrides or their own `auth`/providers touch must be built.
#[test]
fn declarations_read_off_the_layers_match_the_built_instances() {
    use atmos_secrets::secrets::declare;
    use atmos_secrets::stack::component::Enumerated;
    let catalog = "components:\n  terraform:\n    base:\n      metadata: {type: abstract}\n      secrets:\n        vars:\n          DB: {sops: v, description: from base}\n          SHARED: {sops: v, description: component side}\n    plain:\n      metadata: {inherits: [base]}\n      secrets:\n        vars:\n          OWN: {store: s, required: true}\n    templated:\n      metadata: {inherits: [base]}\n      secrets:\n        vars:\n          T: {sops: v, description: '{{ .atmos_stack }}'}\n    tagged:\n      metadata: {inherits: [base]}\n      secrets:\n        vars:\n          G: {sops: v, description: !env HOME}\n    overridden:\n      metadata: {inherits: [base]}\n      overrides:\n        secrets:\n          vars:\n            O: {sops: v}\n    authed:\n      metadata: {inherits: [base]}\n      auth: {identities: {x: {default: true}}}\n    providing:\n      secrets:\n        providers:\n          own: {kind: sops/age, spec: {path: own}}\n        vars:\n          P: {sops: own}\n    nothing: {vars: {a: 1}}\n    unprovided:\n      secrets:\n        providers: null\n        vars:\n          U: {sops: v}\n";
    let dir = project(&[
        ("stacks/catalog/all.yaml", catalog),
        (
            "stacks/deploy/a.yaml",
            "import: [catalog/all]\nvars: {stage: a}\nauth:\n  identities:\n    stack-id: {kind: aws/user}\nsecrets:\n  providers:\n    v: {kind: sops/age, spec: {path: s}}\n  vars:\n    STACK: {sops: v}\n    SHARED: {sops: v, description: stack side}\n",
        ),
        (
            "stacks/deploy/b.yaml",
            "import: [catalog/all]\nvars: {stage: b}\n",
        ),
        (
            "stacks/deploy/c.yaml",
            "import: [catalog/all]\nvars: {stage: c}\nterraform:\n  overrides:\n    secrets: {vars: {TYPE_O: {sops: v}}}\n",
        ),
    ]);
    // `atmos.yaml`'s `auth` lies under every component's (stack a adds its own).
    let cfg = config(
        dir.path(),
        &format!("{CONFIG}auth:\n  identities:\n    base-id: {{kind: aws/user, default: true}}\n"),
    );
    let stacks = stack::load(&cfg)
        .expect("load")
        .evaluating(stack::Eval::Secrets);
    let mut quick = Vec::new();
    for name in ["deploy/a", "deploy/b", "deploy/c"] {
        let built: std::collections::HashMap<String, _> = stacks
            .declarations_each(&cfg, name)
            .expect("stack")
            .into_iter()
            .collect();
        for (component, item) in stacks.declared_each(&cfg, name).expect("stack") {
            let full = built[&component].as_ref().expect("builds");
            match item {
                Enumerated::Declared(d) => {
                    quick.push(format!("{name}/{component}"));
                    let want = declare::declarations(&full.section).expect("declarations");
                    assert_eq!(*d.decls, want, "{name}/{component}");
                    let providers = declare::providers(&full.section).expect("providers");
                    assert_eq!(*d.context.providers, providers, "{name}/{component}");
                    let auth = d.context.auth.as_ref().expect("atmos.yaml's auth");
                    assert_eq!(Some(auth), full.section.get("auth"), "{name}/{component}");
                    let has = |id: &str| auth.get("identities").and_then(|i| i.get(id)).is_some();
                    assert!(has("base-id") && (name != "deploy/a" || has("stack-id")));
                }
                Enumerated::Built(b) => {
                    assert_eq!(
                        b.expect("builds").section,
                        full.section,
                        "{name}/{component}"
                    );
                }
            }
        }
    }
    // Overrides at the type level reach every instance of stack c; the other listed
    // instances (a `providers: null` of their own included) are built because something of
    // theirs could change their declarations.
    assert_eq!(
        quick,
        [
            "deploy/a/nothing",
            "deploy/a/plain",
            "deploy/b/nothing",
            "deploy/b/plain",
        ]
    );
    // Enumerating the stack again reuses the memoised declaration list.
    let b = stacks.declared_each(&cfg, "deploy/b").expect("b");
    let again = stacks.declared_each(&cfg, "deploy/b").expect("b");
    let plain = |items: &[(String, Enumerated)]| items.iter().position(|(n, _)| n == "plain");
    let (Some(i), Some(j)) = (plain(&b), plain(&again)) else {
        panic!("plain is listed")
    };
    let (Enumerated::Declared(x), Enumerated::Declared(y)) = (&b[i].1, &again[j].1) else {
        panic!("declared")
    };
    assert!(std::sync::Arc::ptr_eq(&x.decls, &y.decls));
}

#[test]
fn stack_sections_memo_matches_the_full_merge() {
    // Type conflicts (a map over a scalar over a map), lists, nulls and a diamond: the memo
    // carries on the first import's merge, so it must agree with merging every layer.
    let files = [
        (
            "stacks/deploy/a.yaml",
            "import: [catalog/mid, catalog/other, catalog/glob/*]\nvars: {a: {y: 2}, list: [9]}\n",
        ),
        (
            "stacks/deploy/b.yaml",
            "import: [catalog/other, catalog/mid]\nsettings: {s: {deep: 2}}\n",
        ),
        ("stacks/deploy/c.yaml", "vars: {only: own}\n"),
        (
            "stacks/catalog/base.yaml",
            "vars: {a: {x: 1}, list: [1, 2], gone: x}\nsettings: {s: {deep: 1, keep: 1}}\nenv: {E: 1}\n",
        ),
        (
            "stacks/catalog/mid.yaml",
            "import: [catalog/base]\nvars: {a: scalar, gone: null}\n",
        ),
        (
            "stacks/catalog/other.yaml",
            "import: [catalog/base]\nvars: {list: [3]}\nenv: {F: 2}\n",
        ),
        ("stacks/catalog/glob/g1.yaml", "vars: {a: {z: 3}}\n"),
        ("stacks/catalog/glob/g2.yaml", "import: [catalog/mid]\n"),
    ];
    let dir = project(&files);
    each_strategy(dir.path(), &["a", "b", "c"], |loader, file, what| {
        let layers = loader.layers(file).expect("layers");
        let full = stack::manifest::merge_layers(
            &layers,
            Some(stack::manifest::STACK_SECTIONS),
            loader.lists(),
        );
        let memo = loader
            .top_level(file)
            .expect("top level")
            .tree
            .stack_sections(loader.lists());
        assert_eq!(memo, full, "{what}");
    });
}

/// Runs `check` on each `stacks/deploy/<top>.yaml` of `root` with a fresh loader per list merge
/// strategy; `check` gets the loader, the file and a label for messages.
fn each_strategy(
    root: &Path,
    tops: &[&str],
    check: impl Fn(&mut stack::manifest::Loader<'_>, &Path, &str),
) {
    for strategy in ["replace", "append", "merge"] {
        let cfg = config(
            root,
            &format!("{CONFIG}settings:\n  list_merge_strategy: {strategy}\n"),
        );
        let mut loader = stack::manifest::Loader::new(&cfg);
        for top in tops {
            let file = root.join(format!("stacks/deploy/{top}.yaml"));
            check(&mut loader, &file, &format!("{top} with {strategy}"));
        }
    }
}

#[test]
fn loading_on_two_threads_keeps_file_order() {
    // Enough manifests for the second loading thread; names collide across both threads
    // and the first manifest (in path order) keeps the name, as in a one-thread load.
    let mut files: Vec<(String, String)> = vec![(
        "stacks/catalog/common.yaml".into(),
        "vars: {namespace: acme}\ncomponents:\n  terraform:\n    app: {vars: {x: 1}}\n".into(),
    )];
    for s in 0..100 {
        files.push((
            format!("stacks/deploy/s{s:03}.yaml"),
            format!("import: [catalog/common]\nvars: {{stage: st{}}}\n", s % 40),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&refs);
    let cfg = config(
        dir.path(),
        &format!("{CONFIG}  name_pattern: '{{namespace}}-{{stage}}'\n"),
    );
    let stacks = stack::load(&cfg).expect("load");
    assert_eq!(stacks.stacks.len(), 40);
    assert_eq!(stacks.shadowed.len(), 60);
    for (name, stack) in &stacks.stacks {
        let n: usize = name.trim_start_matches("acme-st").parse().expect("number");
        // st07 is named by s007, s047 and s087: the first in path order keeps it.
        assert!(
            stack.manifest.ends_with(format!("deploy/s{n:03}.yaml")),
            "{name}: {}",
            stack.manifest.display()
        );
    }
    let shadowed: Vec<String> = stacks
        .shadowed
        .iter()
        .map(|s| s.stack_file.clone())
        .collect();
    let mut sorted = shadowed.clone();
    sorted.sort();
    assert_eq!(shadowed, sorted, "shadowed stacks stay in path order");

    // Errors early and late in path order (either thread may meet either): the first in path
    // order is the one reported.
    write(
        dir.path(),
        "stacks/deploy/s010.yaml",
        "import: [catalog/missing-early]\n",
    );
    write(
        dir.path(),
        "stacks/deploy/s090.yaml",
        "import: [catalog/missing-late]\n",
    );
    for _ in 0..5 {
        let err = stack::load(&cfg).expect_err("broken import").to_string();
        assert!(err.contains("missing-early"), "{err}");
    }
    // Only a later manifest broken: its error is reported.
    write(
        dir.path(),
        "stacks/deploy/s010.yaml",
        "import: [catalog/common]\nvars: {stage: st10}\n",
    );
    let err = stack::load(&cfg).expect_err("broken import").to_string();
    assert!(err.contains("missing-late"), "{err}");
}

#[test]
fn pattern_vars_found_without_merging_match_the_merge() {
    // Each token's last definition decides, unless a later `vars: null` drops everything
    // before it (the shape check refuses any other non-map `vars`); maps and lists are not
    // names. Compared with the merged view for
    // every list strategy.
    let files = [
        (
            "stacks/deploy/a.yaml",
            "import: [catalog/mid, catalog/other]\nvars: {stage: own}\n",
        ),
        (
            "stacks/deploy/b.yaml",
            "import: [catalog/other, catalog/mid]\n",
        ),
        (
            "stacks/deploy/c.yaml",
            "import: [catalog/base, catalog/reset]\nvars: {tenant: after-reset}\n",
        ),
        (
            "stacks/deploy/d.yaml",
            "import: [catalog/base, catalog/reset]\n",
        ),
        (
            "stacks/deploy/e.yaml",
            "import: [catalog/reset, catalog/base]\nvars: {stage: 3}\n",
        ),
        (
            "stacks/deploy/f.yaml",
            "import: [catalog/base]\nvars: {tenant: null}\n",
        ),
        (
            "stacks/deploy/g.yaml",
            "import: [catalog/base]\nvars: {tenant: [x], environment: {a: 1}, stage: true}\n",
        ),
        (
            "stacks/catalog/base.yaml",
            "vars: {tenant: t1, environment: e1, stage: s1, namespace: n1}\n",
        ),
        (
            "stacks/catalog/mid.yaml",
            "import: [catalog/base]\nvars: {tenant: t2, environment: {map: 1}}\n",
        ),
        (
            "stacks/catalog/other.yaml",
            "vars: {environment: e3, stage: [l1]}\n",
        ),
        ("stacks/catalog/reset.yaml", "vars: null\n"),
    ];
    let dir = project(&files);
    let tops = ["a", "b", "c", "d", "e", "f", "g"];
    each_strategy(dir.path(), &tops, |loader, file, what| {
        let tree = loader.top_level(file).expect("top level").tree;
        let merged = tree.stack_sections(loader.lists());
        for token in ["namespace", "tenant", "environment", "stage"] {
            let from_merge = merged
                .get("vars")
                .and_then(|v| v.get(token))
                .and_then(Node::scalar_text);
            let found = tree.var(token).and_then(Node::scalar_text);
            assert_eq!(found, from_merge, "{what}: {token}");
        }
    });
}
