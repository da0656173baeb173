//! Table of malformed `atmos.yaml` files and stack manifests run through the built binary. Each
//! case asserts the exit code, message fragments (file names, lines, hints) and that nothing
//! panicked; the full error output of every case (stderr + exit code) is an `insta` snapshot
//! (`snapshots/`), the temp project folder shown as `[PROJECT]`.

use std::path::Path;

use crate::support::Atmos;

const DEFAULT_CONFIG: &str = "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\n  excluded_paths: [\"catalog/**/*\"]\n";

struct Case {
    name: &'static str,
    /// `(path, content)`; `atmos.yaml` defaults to [`DEFAULT_CONFIG`].
    files: &'static [(&'static str, &'static str)],
    /// Defaults to `describe stacks`.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    code: i32,
    fragments: &'static [&'static str],
}

const STACKS: &[&str] = &[];

const fn case(
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    fragments: &'static [&'static str],
) -> Case {
    Case {
        name,
        files,
        args: STACKS,
        env: &[],
        code: 1,
        fragments,
    }
}

const CASES: &[Case] = &[
    // ---- atmos.yaml ------------------------------------------------------------------------
    case(
        "config: bad yaml",
        &[("atmos.yaml", "stacks:\n  base_path: [a\n")],
        &["invalid YAML in", "atmos.yaml", "at line", "hint:"],
    ),
    case(
        "config: not a map",
        &[("atmos.yaml", "- a\n- b\n")],
        &["atmos.yaml", "expected a map, found a list"],
    ),
    case(
        "config: duplicate key",
        &[("atmos.yaml", "stores: {}\nstores: {}\n")],
        &["atmos.yaml", "line 2", "already defined at line 1"],
    ),
    case(
        "config: unknown store kind",
        &[("atmos.yaml", "stores:\n  x:\n    kind: aws/nope\n")],
        &[
            "store type not found: aws/nope",
            "atmos.yaml",
            "hint: use one of",
        ],
    ),
    case(
        "config: store without kind",
        &[("atmos.yaml", "stores:\n  x:\n    options: {}\n")],
        &["stores.x", "missing `kind`"],
    ),
    case(
        "config: ssm without region",
        &[("atmos.yaml", "stores:\n  ssm:\n    kind: aws/ssm\n")],
        &[
            "region is required in ssm store configuration",
            "store `ssm`",
            "atmos.yaml",
            "hint: set `stores.ssm.options.region`",
        ],
    ),
    case(
        "config: asm without region",
        &[(
            "atmos.yaml",
            "stores:\n  asm:\n    type: aws-secrets-manager\n",
        )],
        &["region is required in asm store configuration"],
    ),
    case(
        "config: azure without vault_url",
        &[("atmos.yaml", "stores:\n  kv:\n    kind: azure/keyvault\n")],
        &["vault_url is required"],
    ),
    case(
        "config: gcp without project_id",
        &[("atmos.yaml", "stores:\n  g:\n    kind: gsm\n")],
        &["project_id is required"],
    ),
    case(
        "config: vault without mount",
        &[(
            "atmos.yaml",
            "stores:\n  v:\n    kind: hashicorp/vault\n    options: {address: 'http://x'}\n",
        )],
        &["mount is required in vault store configuration"],
    ),
    case(
        "config: vault without address",
        &[(
            "atmos.yaml",
            "stores:\n  v:\n    kind: hashicorp/vault\n    options: {mount: kv}\n",
        )],
        &["address is required"],
    ),
    case(
        "config: github without owner",
        &[(
            "atmos.yaml",
            "stores:\n  gh:\n    kind: github/actions\n    options: {repo: r}\n",
        )],
        &["owner and repo are required"],
    ),
    case(
        "config: redis marked secret",
        &[(
            "atmos.yaml",
            "stores:\n  cache:\n    kind: redis\n    secret: true\n    options: {url: 'redis://x'}\n",
        )],
        &[
            "store cannot be marked secret: backend does not encrypt values at rest: store \"cache\" uses backend \"redis\"",
            "hint: remove `secret: true`",
        ],
    ),
    case(
        "config: artifactory marked secret",
        &[(
            "atmos.yaml",
            "stores:\n  art:\n    kind: artifactory\n    secret: true\n    options: {access_token: t, repo_name: r}\n",
        )],
        &["does not encrypt values at rest", "\"artifactory\""],
    ),
    case(
        "config: secret flag not bool",
        &[(
            "atmos.yaml",
            "stores:\n  s:\n    kind: aws/ssm\n    secret: sometimes\n    options: {region: x}\n",
        )],
        &["stores.s.secret", "expected true or false"],
    ),
    case(
        "config: options not a map",
        &[(
            "atmos.yaml",
            "stores:\n  s:\n    kind: aws/ssm\n    options: [region]\n",
        )],
        &["stores.s.options", "expected a map, found a list"],
    ),
    case(
        "config: stores not a map",
        &[("atmos.yaml", "stores: [a]\n")],
        &["invalid `stores`", "expected a map"],
    ),
    case(
        "config: bad 1password mode",
        &[(
            "atmos.yaml",
            "stores:\n  op:\n    kind: 1password\n    options: {mode: magic}\n",
        )],
        &["unknown 1Password mode `magic`"],
    ),
    case(
        "config: realm uppercase",
        &[("atmos.yaml", "auth:\n  realm: Prod\n")],
        &[
            "invalid realm `Prod`",
            "character `P` is not allowed",
            "auth.realm",
            "hint:",
        ],
    ),
    case(
        "config: realm double dash",
        &[("atmos.yaml", "auth:\n  realm: a--b\n")],
        &["invalid realm", "must not contain `--`"],
    ),
    case(
        "config: realm edge underscore",
        &[("atmos.yaml", "auth:\n  realm: _a\n")],
        &["invalid realm", "must not start or end"],
    ),
    Case {
        name: "config: realm from env",
        files: &[],
        args: STACKS,
        env: &[("ATMOS_AUTH_REALM", "a/b")],
        code: 1,
        fragments: &[
            "invalid realm `a/b`",
            "ATMOS_AUTH_REALM",
            "must not contain `/`",
        ],
    },
    case(
        "config: provider spec not a map",
        &[(
            "atmos.yaml",
            "secrets:\n  providers:\n    p:\n      kind: sops/age\n      spec: [x]\n",
        )],
        &["secrets.providers.p", "`spec` must be a map"],
    ),
    case(
        "config: provider age_key wrong type",
        &[(
            "atmos.yaml",
            "secrets:\n  providers:\n    p:\n      spec: {age_key: [1]}\n",
        )],
        &["secrets.providers.p", "age_key"],
    ),
    case(
        "config: !env arity",
        &[("atmos.yaml", "env:\n  A: !env A B C\n")],
        &[
            "YAML function failed",
            "atmos.yaml",
            "invalid `!env` arguments",
        ],
    ),
    case(
        "config: !include missing",
        &[("atmos.yaml", "settings: !include ./nope.yaml\n")],
        &["YAML function failed", "atmos.yaml", "cannot read"],
    ),
    case(
        "config: !exec fails",
        &[("atmos.yaml", "env:\n  A: !exec exit 7\n")],
        &["YAML function failed", "failed with"],
    ),
    case(
        "config: !secret in atmos.yaml",
        &[(
            "atmos.yaml",
            "stores:\n  s:\n    kind: aws/ssm\n    options:\n      region: !secret REGION\n",
        )],
        &[
            "YAML function `!secret` is not supported in atmos.yaml",
            "atmos.yaml",
        ],
    ),
    case(
        "config: bad included glob",
        &[("atmos.yaml", "stacks:\n  included_paths: ['a/[b']\n")],
        &["bad glob"],
    ),
    case(
        "config: env value is a map",
        &[("atmos.yaml", "env:\n  A: {b: c}\n")],
        &["env.A", "expected a string"],
    ),
    Case {
        name: "config: explicit path missing",
        files: &[],
        args: STACKS,
        env: &[("ATMOS_CLI_CONFIG_PATH", "/nonexistent/atmos")],
        code: 1,
        fragments: &[
            "atmos.yaml CLI config file was not found",
            "/nonexistent/atmos",
            "hint:",
        ],
    },
    // ---- manifests -------------------------------------------------------------------------
    case(
        "manifest: bad yaml",
        &[("stacks/dev.yaml", "vars:\n  a: 1\n  b: [1\n")],
        &["invalid YAML in", "stacks/dev.yaml", "at line"],
    ),
    case(
        "manifest: duplicate key",
        &[("stacks/dev.yaml", "vars:\n  a: 1\n  a: 2\n")],
        &[
            "stacks/dev.yaml",
            "line 3",
            "mapping key `a` already defined at line 2",
        ],
    ),
    case(
        "manifest: not a map",
        &[("stacks/dev.yaml", "- 1\n")],
        &["stacks/dev.yaml", "a stack manifest must be a map"],
    ),
    case(
        "manifest: missing import",
        &[("stacks/dev.yaml", "import:\n  - catalog/nope\n")],
        &[
            "invalid import `catalog/nope`",
            "stacks/dev.yaml",
            "does not exist",
            "hint: import paths",
        ],
    ),
    case(
        "manifest: relative import missing",
        &[("stacks/dev.yaml", "import: [./nope]\n")],
        &["invalid import `./nope`", "stacks/dev.yaml"],
    ),
    case(
        "manifest: glob import matches nothing",
        &[("stacks/dev.yaml", "import: ['catalog/*']\n")],
        &["invalid import `catalog/*`", "no manifests match"],
    ),
    case(
        "manifest: import cycle",
        &[
            ("stacks/a.yaml", "import: [catalog/b]\n"),
            ("stacks/catalog/b.yaml", "import: [catalog/c]\n"),
            ("stacks/catalog/c.yaml", "import: [a]\n"),
        ],
        &[
            "import cycle: a.yaml → catalog/b.yaml → catalog/c.yaml → a.yaml",
            "hint:",
        ],
    ),
    case(
        "manifest: self import",
        &[("stacks/a.yaml", "import: [a]\n")],
        &["import cycle: a.yaml → a.yaml"],
    ),
    case(
        "manifest: import not a list",
        &[("stacks/dev.yaml", "import: {a: 1}\n")],
        &["invalid `import`", "stacks/dev.yaml"],
    ),
    case(
        "manifest: import entry is a number",
        &[("stacks/dev.yaml", "import: [1]\n")],
        &["invalid `import`", "entries must be strings"],
    ),
    case(
        "manifest: vars not a map",
        &[("stacks/dev.yaml", "vars: [1]\n")],
        &[
            "invalid `vars`",
            "stacks/dev.yaml",
            "expected a map, found a list",
        ],
    ),
    case(
        "manifest: components type not a map",
        &[("stacks/dev.yaml", "components:\n  terraform: [vpc]\n")],
        &["components.terraform", "stacks/dev.yaml"],
    ),
    case(
        "manifest: component not a map",
        &[("stacks/dev.yaml", "components:\n  terraform:\n    vpc: 3\n")],
        &["components.terraform.vpc", "expected a map, found a int"],
    ),
    case(
        "manifest: inherits not a list",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    vpc:\n      metadata: {inherits: base}\n",
        )],
        &[
            "components.terraform.vpc.metadata.inherits",
            "stacks/dev.yaml",
        ],
    ),
    case(
        "manifest: bad metadata.type",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    vpc:\n      metadata: {type: virtual}\n",
        )],
        &["metadata.type", "`virtual`"],
    ),
    case(
        "manifest: missing base",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    vpc:\n      metadata: {inherits: [nope]}\n",
        )],
        &[
            "component `vpc` in stack `dev` inherits from `nope`",
            "stacks/dev.yaml",
            "hint:",
        ],
    ),
    case(
        "manifest: inheritance cycle",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    a:\n      metadata: {inherits: [b]}\n    b:\n      metadata: {inherits: [a]}\n",
        )],
        &["component inheritance cycle in stack `dev`: a → b → a"],
    ),
    case(
        "manifest: component scope conflict",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      secrets:\n        vars:\n          K: {store: s, scope: stack}\n",
        )],
        &[
            "invalid component secrets section: secret scope conflicts with declaration position: secret \"K\" declares scope \"stack\" but its position implies \"instance\"",
            "stacks/dev.yaml",
            "hint:",
        ],
    ),
    case(
        "manifest: stack scope conflict in an import",
        &[
            ("stacks/dev.yaml", "import: [catalog/shared]\n"),
            (
                "stacks/catalog/shared.yaml",
                "secrets:\n  vars:\n    K: {scope: instance}\n",
            ),
        ],
        &["position implies \"stack\"", "catalog/shared.yaml"],
    ),
    case(
        "manifest: unknown scope in overrides",
        &[(
            "stacks/dev.yaml",
            "overrides:\n  secrets:\n    vars:\n      K: {scope: everywhere}\n",
        )],
        &["declares scope \"everywhere\"", "stacks/dev.yaml"],
    ),
    case(
        "manifest: type-level overrides scope conflict",
        &[(
            "stacks/dev.yaml",
            "terraform:\n  overrides:\n    secrets:\n      vars:\n        K: {scope: stack}\ncomponents:\n  terraform:\n    app: {}\n",
        )],
        &[
            "secret \"K\" declares scope \"stack\" but its position implies \"instance\"",
            "stacks/dev.yaml",
        ],
    ),
    case(
        "manifest: secrets not a map",
        &[("stacks/dev.yaml", "secrets: [a]\n")],
        &["invalid component secrets section", "stacks/dev.yaml"],
    ),
    case(
        "manifest: secrets.vars not a map",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      secrets:\n        vars: [A]\n",
        )],
        &[
            "invalid component secrets section",
            "`secrets.vars` must be a map",
        ],
    ),
    case(
        "manifest: unknown template variable",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: '{{ .vars.nope }}'\n",
        )],
        &[
            "template error in",
            "stacks/dev.yaml",
            "vars.x",
            "map has no entry for key \"nope\"",
            "{{ .vars.nope }}",
            "hint:",
        ],
    ),
    case(
        "manifest: unknown template function",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: '{{ sha256 .atmos_stack }}'\n",
        )],
        &[
            "function \"sha256\" not defined",
            "stacks/dev.yaml",
            "vars.x",
            "hint: supported functions",
        ],
    ),
    case(
        "manifest: unclosed template action",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        a: '{{ .atmos_stack }}'\n        x: '{{ if .vars }}y'\n",
        )],
        &[
            "stacks/dev.yaml",
            "component `api`",
            "vars.x",
            "unexpected EOF",
        ],
    ),
    case(
        "manifest: duplicate logical names",
        &[
            ("stacks/a.yaml", "name: same\n"),
            ("stacks/b.yaml", "name: same\n"),
        ],
        &[
            "stack `same` is defined by two manifests",
            "stacks/a.yaml",
            "stacks/b.yaml",
            "hint:",
        ],
    ),
    case(
        "manifest: empty !secret name",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: !secret ' | default a'\n",
        )],
        &[
            "secret name cannot be empty",
            "component `api`",
            "stacks/dev.yaml",
        ],
    ),
    case(
        "manifest: !secret modifier without value",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: !secret 'K | path'\n",
        )],
        &["invalid !secret arguments: invalid modifier"],
    ),
    case(
        "manifest: !secret unknown modifier",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: !secret 'K | query .a'\n",
        )],
        &["invalid !secret arguments: unknown modifier `query`"],
    ),
    case(
        "manifest: !store against a secret store",
        &[
            (
                "atmos.yaml",
                "stacks:\n  base_path: stacks\nstores:\n  app:\n    kind: aws/ssm\n    secret: true\n    options: {region: r}\n",
            ),
            (
                "stacks/dev.yaml",
                "components:\n  terraform:\n    api:\n      vars:\n        x: !store app vpc id\n",
            ),
        ],
        &[
            "store is a secret store; use !secret instead of !store: store \"app\" (in !store app vpc id)",
        ],
    ),
    case(
        "manifest: !store arity",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: !store only-two args\n",
        )],
        &["invalid number of arguments in `!store only-two args`"],
    ),
    case(
        "manifest: !include missing",
        &[("stacks/dev.yaml", "vars: !include ./missing.yaml\n")],
        &["stacks/dev.yaml", "cannot read", "missing.yaml"],
    ),
    case(
        "manifest: !include bad yq path",
        &[
            ("stacks/dev.yaml", "vars:\n  a: !include ./data.json a.b\n"),
            ("stacks/data.json", "{\"a\": 1}"),
        ],
        &["stacks/dev.yaml", "must start with `.`"],
    ),
    case(
        "manifest: !env arity",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      env:\n        A: !env A B C\n",
        )],
        &["invalid `!env` arguments", "component `api`"],
    ),
    case(
        "manifest: name_template unknown variable",
        &[
            (
                "atmos.yaml",
                "stacks:\n  base_path: stacks\n  name_template: '{{ .vars.missing }}'\n",
            ),
            ("stacks/dev.yaml", "vars: {stage: dev}\n"),
        ],
        &[
            "stacks.name_template",
            "stacks/dev.yaml",
            "map has no entry for key \"missing\"",
        ],
    ),
    case(
        "manifest: name is a map",
        &[("stacks/dev.yaml", "name: {a: 1}\n")],
        &["invalid `name`", "stacks/dev.yaml"],
    ),
    // ---- lookups and usage -----------------------------------------------------------------
    Case {
        name: "lookup: component not found",
        files: &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    vpc: {}\n",
        )],
        args: &["describe", "component", "vcp", "-s", "dev"],
        env: &[],
        code: 1,
        fragments: &[
            "component `vcp` not found in stack `dev`",
            "hint: did you mean `vpc`?",
        ],
    },
    Case {
        name: "lookup: stack not found",
        files: &[("stacks/dev.yaml", "vars: {}\n")],
        args: &["describe", "component", "vpc", "-s", "dve"],
        env: &[],
        code: 1,
        fragments: &["stack `dve` not found", "hint: did you mean `dev`?"],
    },
    Case {
        name: "lookup: abstract component",
        files: &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    base:\n      metadata: {type: abstract}\n",
        )],
        args: &["describe", "component", "base", "-s", "dev"],
        env: &[],
        code: 1,
        fragments: &["component `base` in stack `dev` is abstract"],
    },
    Case {
        name: "lookup: wrong type",
        files: &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    vpc: {}\n",
        )],
        args: &[
            "describe",
            "component",
            "vpc",
            "-s",
            "dev",
            "--type",
            "helmfile",
        ],
        env: &[],
        code: 1,
        fragments: &["component `vpc` not found in stack `dev`"],
    },
    Case {
        name: "resolver: unmasked undeclared secret",
        files: &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      vars:\n        x: !secret K\n",
        )],
        args: &["describe", "component", "api", "-s", "dev", "--mask=false"],
        env: &[],
        code: 1,
        fragments: &[
            "secret is not declared: \"K\" (declare it under the component's secrets.vars)",
            "hint: add `K` under `components.<type>.api.secrets.vars`",
        ],
    },
    Case {
        name: "usage: missing stack flag",
        files: &[],
        args: &["describe", "component", "api"],
        env: &[],
        code: 2,
        fragments: &["--stack"],
    },
    Case {
        name: "usage: unknown format",
        files: &[],
        args: &["describe", "stacks", "--format", "xml"],
        env: &[],
        code: 2,
        fragments: &["xml"],
    },
];

/// Runs one case: `Err` lists what is wrong; either way, the transcript for the snapshot.
fn run(case: &Case) -> (Result<(), String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let has_config = case.files.iter().any(|(p, _)| *p == "atmos.yaml");
    let mut files: Vec<(&str, &str)> = case.files.to_vec();
    if !has_config {
        files.push(("atmos.yaml", DEFAULT_CONFIG));
    }
    std::fs::create_dir_all(root.join("stacks")).unwrap();
    for (path, content) in files {
        let p = root.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
    }
    let args: &[&str] = if case.args.is_empty() {
        &["describe", "stacks"]
    } else {
        case.args
    };
    let mut cmd = Atmos::new(args)
        .home(&root.join("home"), &root.join("xdg"))
        .env("ATMOS_CLI_CONFIG_PATH", root)
        .env("ATMOS_BASE_PATH", root)
        .cwd(root);
    for (k, v) in case.env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let transcript = format!(
        "exit: {}\n{}",
        out.status.code().unwrap_or(-1),
        stderr.replace(&root.display().to_string(), "[PROJECT]")
    );
    let mut problems = Vec::new();
    if out.status.code() != Some(case.code) {
        problems.push(format!(
            "exit code {:?}, want {}",
            out.status.code(),
            case.code
        ));
    }
    for f in case.fragments {
        if !stderr.contains(f) {
            problems.push(format!("missing fragment {f:?}"));
        }
    }
    if stderr.contains("panicked") {
        problems.push("panicked".to_owned());
    }
    let verdict = if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  stderr: {}",
            problems.join("; "),
            stderr.replace('\n', "\n          ")
        ))
    };
    (verdict, transcript)
}

#[test]
fn bad_input_table() {
    assert!(CASES.len() >= 40, "the table must keep at least 40 cases");
    let mut failures = Vec::new();
    let mut transcripts = String::new();
    for c in CASES {
        let (verdict, transcript) = run(c);
        if let Err(e) = verdict {
            failures.push(format!("[{}] {e}", c.name));
        }
        transcripts.push_str(&format!("── {} ──\n{}\n", c.name, transcript.trim_end()));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    insta::with_settings!({
        description => "stderr and exit code of every bad-input case (tests/cli/config_bad_input.rs)",
        filters => vec![(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]")],
    }, {
        insta::assert_snapshot!("bad_input_errors", transcripts);
    });
}

#[test]
fn case_names_are_unique() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
    assert!(Path::new(env!("CARGO_BIN_EXE_atmos")).exists());
}
