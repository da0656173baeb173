//! Table of malformed input run through the built binary: `atmos.yaml`, stack manifests, SOPS
//! files (through a provider and through `atmos sops`), `.sops.yaml`, dotenv/JSON imports and CLI
//! arguments. Each case asserts the exit code, message fragments (file names, lines, hints), that
//! nothing panicked and that the project folder (temp dir included) is byte-for-byte unchanged.
//! The full error output of every case (stderr + exit code) is an `insta` snapshot
//! (`snapshots/`), the temp project folder shown as `[PROJECT]`.
//!
//! SOPS commands exit with sops's own codes (128 no key, 51 MAC mismatch; `docs/exit-codes.md`);
//! every other case exits 1 (bad input) or 2 (usage).

use std::os::unix::fs::PermissionsExt;
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

/// A project with one SOPS provider (`vault`, age key in `keys.txt`) and one stack-level secret
/// `K` in stack `dev` (file `secrets/dev.enc.yaml`), component `api`.
const SOPS_CONFIG: (&str, &str) = (
    "atmos.yaml",
    "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\n  excluded_paths: [\"catalog/**/*\"]\nsecrets:\n  providers:\n    vault:\n      kind: sops/age\n      spec:\n        path: secrets\n        age_key_file: keys.txt\n",
);
const SOPS_STACK: (&str, &str) = (
    "stacks/dev.yaml",
    "secrets:\n  vars:\n    K:\n      sops: vault\n      required: true\ncomponents:\n  terraform:\n    api: {}\n",
);
/// The public test identity the vectors are encrypted to, and one they are not.
const SOPS_KEYS: (&str, &str) = ("keys.txt", include_str!("../vectors/sops/keys.txt"));
const SOPS_OTHER_KEYS: (&str, &str) = ("keys.txt", include_str!("../vectors/sops/keys-second.txt"));
const BASIC_ENC: &str = include_str!("../vectors/sops/basic.enc.yaml");
/// A SOPS file whose only master key is a Vault transit key at a closed port (9, discard).
const VAULT_ENC: &str = "a: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n    hc_vault:\n        - vault_address: http://127.0.0.1:9\n          engine_path: sops\n          key_name: k\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: vault:v1:AAAA\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: \"\"\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n";
/// A SOPS file whose only master key is a PGP key.
const PGP_ENC: &str = "a: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: \"\"\n    pgp:\n        - created_at: \"2026-01-01T00:00:00Z\"\n          enc: |-\n            -----BEGIN PGP MESSAGE-----\n\n            AAAA\n            -----END PGP MESSAGE-----\n          fp: 0123456789ABCDEF0123456789ABCDEF01234567\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n";
const TAMPERED_ENC: &str = include_str!("../vectors/sops/tampered-value.enc.yaml");
/// A real file with one more value whose ciphertext is not base64.
const TRUNCATED_ENC: &str = concat!(
    "K: ENC[AES256_GCM,data:%%%,iv:x,tag:y,type:str]\n",
    include_str!("../vectors/sops/basic.enc.yaml")
);
const GET_K: &[&str] = &["secret", "get", "K", "-s", "dev", "-c", "api"];
const ENCRYPT_P: &[&str] = &["sops", "encrypt", "-i", "p.yaml"];

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

/// `atmos validate stacks` on a project with one secret store (`vault`), one plain store
/// (`plain`) and one SOPS provider (`sopsy`).
const VALIDATE_CONFIG: (&str, &str) = (
    "atmos.yaml",
    "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\n  excluded_paths: [\"catalog/**/*\"]\nstores:\n  vault:\n    kind: aws/ssm\n    secret: true\n    options: {region: us-east-1}\n  plain:\n    kind: aws/ssm\n    options: {region: us-east-1}\nsecrets:\n  providers:\n    sopsy:\n      kind: sops/age\n      spec: {path: secrets}\n",
);
const VALIDATE: &[&str] = &["validate", "stacks"];
/// A project that names the Atmos manifest JSON Schema (upstream's, [`UPSTREAM_SCHEMA`]).
const SCHEMA_CONFIG: (&str, &str) = (
    "atmos.yaml",
    "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\n  excluded_paths: [\"catalog/**/*\"]\nschemas:\n  atmos:\n    manifest: schemas/atmos-manifest.json\n",
);
/// Upstream atmos's own manifest schema (tests/upstream/README.md says where it comes from).
const UPSTREAM_SCHEMA: (&str, &str) = (
    "schemas/atmos-manifest.json",
    include_str!("../upstream/tests/fixtures/schemas/atmos/atmos-manifest/1.0/atmos-manifest.json"),
);

const fn validate_case(
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    fragments: &'static [&'static str],
) -> Case {
    Case {
        name,
        files,
        args: VALIDATE,
        env: &[],
        code: 1,
        fragments,
    }
}

const CASES: &[Case] = &[
    // ---- validate stacks: one case per problem class -----------------------------------------
    validate_case(
        "validate: YAML syntax",
        &[VALIDATE_CONFIG, ("stacks/dev.yaml", "vars:\n  a: [1\n")],
        &["stacks/dev.yaml:", "stack validation failed: 1 problem"],
    ),
    validate_case(
        "validate: duplicate key",
        &[
            VALIDATE_CONFIG,
            ("stacks/dev.yaml", "vars:\n  a: 1\n  a: 2\n"),
        ],
        &["stacks/dev.yaml:3:", "already defined at line 2"],
    ),
    validate_case(
        "validate: missing import",
        &[
            VALIDATE_CONFIG,
            ("stacks/dev.yaml", "import:\n  - catalog/nope\n"),
        ],
        &["stacks/dev.yaml:2:", "invalid import `catalog/nope`"],
    ),
    validate_case(
        "validate: import cycle",
        &[
            VALIDATE_CONFIG,
            ("stacks/dev.yaml", "import: [catalog/a]\n"),
            ("stacks/catalog/a.yaml", "import: [catalog/b]\n"),
            ("stacks/catalog/b.yaml", "import: [catalog/a]\n"),
        ],
        &["import cycle: catalog/a", "catalog/b", "→"],
    ),
    validate_case(
        "validate: bad stack name",
        &[VALIDATE_CONFIG, ("stacks/dev.yaml", "name: [x]\n")],
        &["stacks/dev.yaml:1:", "invalid `name`"],
    ),
    validate_case(
        "validate: component defined differently under one stack name",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/a.yaml",
                "name: same\ncomponents:\n  terraform:\n    api:\n      vars: {x: 1}\n",
            ),
            (
                "stacks/b.yaml",
                "name: same\ncomponents:\n  terraform:\n    api:\n      vars: {x: 2}\n",
            ),
        ],
        &[
            "duplicate component configuration",
            "component `api` of stack `same`",
        ],
    ),
    validate_case(
        "validate: template does not parse",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "components:\n  terraform:\n    api:\n      vars:\n        x: '{{ if .vars }}y'\n",
            ),
        ],
        &[
            "stacks/dev.yaml:5:",
            "template in `components.terraform.api.vars.x` does not parse",
        ],
    ),
    validate_case(
        "validate: store and sops both set",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      store: vault\n      sops: sopsy\n",
            ),
        ],
        &[
            "stacks/dev.yaml:5:",
            "secret `K`: declares both `store` and `sops`",
        ],
    ),
    validate_case(
        "validate: neither store nor sops",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      required: true\n",
            ),
        ],
        &["stacks/dev.yaml:3:", "declares neither `store` nor `sops`"],
    ),
    validate_case(
        "validate: scope not in the enum",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      store: vault\n      scope: galaxy\n",
            ),
        ],
        &[
            "stacks/dev.yaml:5:",
            "scope `galaxy` is not one of instance, stack, global",
        ],
    ),
    validate_case(
        "validate: scope conflicts with position",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "components:\n  terraform:\n    api:\n      secrets:\n        vars:\n          K: {store: vault, scope: stack}\n",
            ),
        ],
        &[
            "stacks/dev.yaml",
            "secret scope conflicts with declaration position",
        ],
    ),
    validate_case(
        "validate: unknown declaration field",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      store: vault\n      requird: true\n",
            ),
        ],
        &["stacks/dev.yaml:5:", "unknown field `requird`"],
    ),
    validate_case(
        "validate: store not configured",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K: {store: nope}\n",
            ),
        ],
        &[
            "stacks/dev.yaml:3:",
            "referenced store is not configured: \"nope\"",
        ],
    ),
    validate_case(
        "validate: store not secret",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      store: plain\n",
            ),
        ],
        &[
            "stacks/dev.yaml:4:",
            "is not a secret store (set `secret: true`)",
        ],
    ),
    validate_case(
        "validate: sops provider not configured",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  vars:\n    K:\n      sops: nope\ncomponents:\n  terraform:\n    api: {}\n",
            ),
        ],
        &[
            "stacks/dev.yaml:3:",
            "referenced secrets provider is not configured: \"nope\"",
        ],
    ),
    validate_case(
        "validate: stack provider of unknown kind",
        &[
            VALIDATE_CONFIG,
            (
                "stacks/dev.yaml",
                "secrets:\n  providers:\n    p:\n      kind: sops/rot13\ncomponents:\n  terraform:\n    api: {}\n",
            ),
        ],
        &[
            "stacks/dev.yaml:4:",
            "secrets provider `p` has unknown kind `sops/rot13`",
        ],
    ),
    validate_case(
        "validate: a declaration that is not a map",
        &[
            VALIDATE_CONFIG,
            ("stacks/dev.yaml", "secrets:\n  vars:\n    K: vault\n"),
        ],
        &[
            "stacks/dev.yaml:3:",
            "a declaration must be a map, found a string",
        ],
    ),
    validate_case(
        "validate: JSON schema violations",
        &[
            SCHEMA_CONFIG,
            UPSTREAM_SCHEMA,
            (
                "stacks/dev.yaml",
                "components:\n  terraform:\n    vpc:\n      metadata:\n        type: weird\n      vars: 5\n",
            ),
            (
                "stacks/prod.yaml",
                "import: [catalog/base, catalog/templated.yaml.tmpl]\n",
            ),
            // A template manifest is rendered before atmos validates it: not schema-checked
            // (the snapshot shows no line for it).
            (
                "stacks/catalog/templated.yaml.tmpl",
                "components:\n  terraform:\n    web:\n      command: 7\n",
            ),
            (
                "stacks/catalog/base.yaml",
                "components:\n  terraform:\n    vpc:\n      command: 5\n",
            ),
        ],
        &[
            "stacks/dev.yaml:5: Atmos manifest JSON Schema: `components.terraform.vpc.metadata.type`: value must be one of 'abstract', 'real'",
            "stacks/dev.yaml:6: Atmos manifest JSON Schema: `components.terraform.vpc.vars`: want string or object, but got number",
            // An imported file is checked too.
            "stacks/catalog/base.yaml:4: Atmos manifest JSON Schema: `components.terraform.vpc.command`: want string, but got number",
        ],
    ),
    validate_case(
        "validate: JSON schema not found",
        &[
            (
                "atmos.yaml",
                "base_path: \".\"\nstacks:\n  base_path: stacks\nschemas:\n  atmos:\n    manifest: schemas/missing.json\n",
            ),
            ("stacks/dev.yaml", "vars: {a: 1}\n"),
        ],
        &[
            "atmos.yaml:6: schema file `schemas/missing.json` not found",
            "set `schemas.atmos.manifest`",
        ],
    ),
    Case {
        name: "validate: --schemas-atmos-manifest that is not a schema",
        files: &[
            SCHEMA_CONFIG,
            ("schemas/bad.json", "{\"type\": 12}\n"),
            ("stacks/dev.yaml", "vars: {a: 1}\n"),
        ],
        args: &[
            "validate",
            "stacks",
            "--schemas-atmos-manifest",
            "schemas/bad.json",
        ],
        env: &[],
        code: 1,
        fragments: &["the Atmos manifest JSON Schema does not compile"],
    },
    case(
        "stack: `component:` names neither a component nor a folder",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    app:\n      component: nowhere\n      vars: {a: 1}\n",
        )],
        &[
            "component `app` in stack `dev` inherits from the base component `nowhere` (using `component:`)",
            "components/terraform/nowhere` is not a component folder",
            "hint: define `nowhere` in the stack",
        ],
    ),
    case(
        "stack: `component:` that is not a string",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    app:\n      component: [a]\n",
        )],
        &[
            "invalid `components.terraform.app.component` in stack `dev`: expected a string, found a list",
        ],
    ),
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
    // Two manifests may share a stack name (as atmos); a component they define differently is
    // the error.
    Case {
        name: "manifest: one component defined differently under one stack name",
        files: &[
            (
                "stacks/a.yaml",
                "name: same\ncomponents:\n  terraform:\n    api:\n      vars: {x: 1}\n",
            ),
            (
                "stacks/b.yaml",
                "name: same\ncomponents:\n  terraform:\n    api:\n      vars: {x: 2}\n",
            ),
        ],
        args: &["describe", "component", "api", "-s", "same"],
        env: &[],
        code: 1,
        fragments: &[
            "duplicate component configuration",
            "component `api` of stack `same`",
            "stacks/a.yaml",
            "stacks/b.yaml",
            "hint:",
        ],
    },
    Case {
        name: "manifest: a stack asked for by the path of a manifest that names itself",
        files: &[(
            "stacks/legacy.yaml",
            "name: modern\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["describe", "component", "api", "-s", "legacy"],
        env: &[],
        code: 1,
        fragments: &[
            "invalid stack `legacy`",
            "did you mean `modern`?",
            "atmos list stacks",
        ],
    },
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
    // ---- atmos.yaml, more shapes -------------------------------------------------------------
    case(
        "config: store entry is a string",
        &[("atmos.yaml", "stores:\n  x: aws/ssm\n")],
        &["atmos.yaml", "stores.x"],
    ),
    case(
        "config: store kind is a number",
        &[("atmos.yaml", "stores:\n  x:\n    kind: 5\n")],
        &["atmos.yaml", "store `x`", "store type not found: 5"],
    ),
    case(
        "config: secrets not a map",
        &[("atmos.yaml", "secrets: [a]\n")],
        &["atmos.yaml", "secrets"],
    ),
    case(
        "config: providers not a map",
        &[("atmos.yaml", "secrets:\n  providers: [a]\n")],
        &["atmos.yaml", "providers"],
    ),
    Case {
        name: "config: provider age_recipients is a map",
        files: &[(
            "atmos.yaml",
            "secrets:\n  providers:\n    p:\n      spec: {age_recipients: {a: 1}}\n",
        )],
        args: STACKS,
        env: &[],
        code: 1,
        fragments: &[
            "atmos.yaml",
            "`spec.age_recipients` must be a string or a list",
        ],
    },
    Case {
        name: "config: provider age_key is a list",
        files: &[(
            "atmos.yaml",
            "secrets:\n  providers:\n    p:\n      spec: {age_key: [a]}\n",
        )],
        args: STACKS,
        env: &[],
        code: 1,
        fragments: &["atmos.yaml", "`spec.age_key` must be a string or a map"],
    },
    case(
        "config: stacks not a map",
        &[("atmos.yaml", "stacks: nope\n")],
        &["atmos.yaml", "stacks"],
    ),
    case(
        "config: included_paths not a list",
        &[(
            "atmos.yaml",
            "stacks:\n  base_path: stacks\n  included_paths: 5\n",
        )],
        &["atmos.yaml", "included_paths"],
    ),
    Case {
        name: "config: stacks.base_path is a list",
        files: &[("atmos.yaml", "stacks:\n  base_path: [a]\n")],
        args: STACKS,
        env: &[],
        code: 1,
        fragments: &["atmos.yaml", "base_path"],
    },
    case(
        "config: unterminated quote",
        &[("atmos.yaml", "stores: \"abc\n")],
        &["atmos.yaml", "invalid YAML"],
    ),
    case(
        "config: tab indentation",
        &[("atmos.yaml", "stores:\n\tx: 1\n")],
        &["atmos.yaml", "invalid YAML"],
    ),
    case(
        "config: undefined alias",
        &[("atmos.yaml", "stores: *nope\n")],
        &["atmos.yaml", "invalid YAML"],
    ),
    case(
        "config: keychain bad backend",
        &[(
            "atmos.yaml",
            "stores:\n  k:\n    kind: keychain\n    options:\n      backend: floppy\n",
        )],
        &["atmos.yaml", "floppy"],
    ),
    Case {
        name: "config: provider identity is a list",
        files: &[(
            "atmos.yaml",
            "secrets:\n  providers:\n    p:\n      identity: [a]\n",
        )],
        args: STACKS,
        env: &[],
        code: 1,
        fragments: &["atmos.yaml", "`identity` must be a string"],
    },
    case(
        "config: name_pattern not a string",
        &[(
            "atmos.yaml",
            "stacks:\n  base_path: stacks\n  name_pattern: [a]\n",
        )],
        &["atmos.yaml", "name_pattern"],
    ),
    case(
        "config: bad excluded glob",
        &[(
            "atmos.yaml",
            "stacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\n  excluded_paths: [\"a/[b\"]\n",
        )],
        &["atmos.yaml", "a/[b"],
    ),
    // ---- manifests, more shapes --------------------------------------------------------------
    case(
        "manifest: tab indentation",
        &[("stacks/dev.yaml", "vars:\n\ta: 1\n")],
        &["stacks/dev.yaml", "invalid YAML"],
    ),
    case(
        "manifest: undefined alias",
        &[("stacks/dev.yaml", "vars: *nope\n")],
        &["stacks/dev.yaml", "invalid YAML"],
    ),
    case(
        "manifest: invalid JSON import",
        &[
            ("stacks/dev.yaml", "import: [catalog/base.json]\n"),
            ("stacks/catalog/base.json", "{\"vars\": "),
        ],
        &["stacks/catalog/base.json", "invalid JSON"],
    ),
    case(
        "manifest: import map without path",
        &[("stacks/dev.yaml", "import:\n  - skip_if_missing: true\n")],
        &["stacks/dev.yaml", "import", "path"],
    ),
    case(
        "manifest: empty import path",
        &[("stacks/dev.yaml", "import: [\"\"]\n")],
        &["stacks/dev.yaml", "the path is empty"],
    ),
    case(
        "manifest: bad glob import",
        &[("stacks/dev.yaml", "import: [\"catalog/[a\"]\n")],
        &["stacks/dev.yaml", "bad glob"],
    ),
    case(
        "manifest: !include.raw missing",
        &[("stacks/dev.yaml", "vars:\n  a: !include.raw ./nope.txt\n")],
        &["stacks/dev.yaml", "nope.txt"],
    ),
    case(
        "manifest: !include remote",
        &[(
            "stacks/dev.yaml",
            "vars:\n  a: !include https://example.com/x.yaml\n",
        )],
        &["stacks/dev.yaml", "remote includes are not supported"],
    ),
    case(
        "manifest: included file is bad YAML",
        &[
            ("stacks/dev.yaml", "vars:\n  a: !include ./data.yaml\n"),
            ("stacks/data.yaml", "a: [b\n"),
        ],
        &["stacks/data.yaml", "line 1", "unclosed bracket"],
    ),
    case(
        "manifest: components not a map",
        &[("stacks/dev.yaml", "components: [a]\n")],
        &["stacks/dev.yaml", "components"],
    ),
    case(
        "manifest: settings not a map",
        &[("stacks/dev.yaml", "settings: 5\n")],
        &["stacks/dev.yaml", "settings"],
    ),
    case(
        "manifest: overrides not a map",
        &[("stacks/dev.yaml", "overrides: [a]\n")],
        &["stacks/dev.yaml", "overrides"],
    ),
    Case {
        name: "manifest: secret declaration not a map",
        files: &[(
            "stacks/dev.yaml",
            "secrets:\n  vars:\n    K: 5\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["secret", "get", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &[
            "secret is not initialized in its backend: \"K\"",
            "secret declaration has no backend",
        ],
    },
    Case {
        name: "manifest: secret declaration unknown store",
        files: &[(
            "stacks/dev.yaml",
            "secrets:\n  vars:\n    K:\n      store: nope\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["secret", "get", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &[
            "referenced store is not configured: \"nope\"",
            "hint: add `stores.nope`",
        ],
    },
    Case {
        name: "manifest: secret declaration store and sops",
        files: &[(
            "stacks/dev.yaml",
            "secrets:\n  vars:\n    K:\n      store: a\n      sops: b\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["secret", "get", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &[
            "referenced secrets provider is not configured: \"b\"",
            "hint: add `secrets.providers.b`",
        ],
    },
    Case {
        name: "manifest: secret required not a bool",
        files: &[(
            "stacks/dev.yaml",
            "secrets:\n  vars:\n    K:\n      store: a\n      required: maybe\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["secret", "validate", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["secret `K`", "1 secret(s) could not be checked"],
    },
    Case {
        name: "manifest: secret bad name",
        files: &[(
            "stacks/dev.yaml",
            "secrets:\n  vars:\n    \"1 bad\":\n      store: a\ncomponents:\n  terraform:\n    api: {}\n",
        )],
        args: &["secret", "validate", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["secret `1 bad`", "1 secret(s) could not be checked"],
    },
    case(
        "manifest: name is an empty string",
        &[("stacks/dev.yaml", "name: \"  \"\n")],
        &["stacks/dev.yaml", "name"],
    ),
    case(
        "manifest: metadata not a map",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      metadata: [a]\n",
        )],
        &["stacks/dev.yaml", "metadata"],
    ),
    case(
        "manifest: inherits entry not a string",
        &[(
            "stacks/dev.yaml",
            "components:\n  terraform:\n    api:\n      metadata:\n        inherits: [{a: 1}]\n",
        )],
        &["stacks/dev.yaml", "inherits"],
    ),
    // ---- SOPS files read through a provider ----------------------------------------------------
    Case {
        name: "sops file: not YAML",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", "a: [b\n"),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: no sops metadata",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", "K: plain\n"),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: metadata not a map",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", "K: x\nsops: 5\n"),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: a list at the top",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", "- a\n- b\n"),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: encrypted to someone else",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_OTHER_KEYS,
            ("secrets/dev.enc.yaml", BASIC_ENC),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: tampered value",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", TAMPERED_ENC),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: truncated",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", TRUNCATED_ENC),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: is a directory",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml/x", ""),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops key file: missing",
        files: &[SOPS_CONFIG, SOPS_STACK, ("secrets/dev.enc.yaml", BASIC_ENC)],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops key file: garbage",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            ("keys.txt", "not a key\n"),
            ("secrets/dev.enc.yaml", BASIC_ENC),
        ],
        args: GET_K,
        env: &[],
        code: 1,
        fragments: &["keys.txt", "line 1"],
    },
    Case {
        name: "sops key env: garbage SOPS_AGE_KEY",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", BASIC_ENC),
        ],
        args: GET_K,
        env: &[("SOPS_AGE_KEY", "AGE-SECRET-KEY-1NOPE")],
        code: 1,
        fragments: &["SOPS_AGE_KEY"],
    },
    Case {
        name: "sops key env: missing SOPS_AGE_KEY_FILE",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", BASIC_ENC),
        ],
        args: GET_K,
        env: &[("SOPS_AGE_KEY_FILE", "/nonexistent/keys.txt")],
        code: 1,
        fragments: &["/nonexistent/keys.txt"],
    },
    Case {
        name: "sops key env: failing SOPS_AGE_KEY_CMD",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", BASIC_ENC),
        ],
        args: GET_K,
        env: &[("SOPS_AGE_KEY_CMD", "false")],
        code: 1,
        fragments: &["SOPS_AGE_KEY_CMD"],
    },
    Case {
        name: "sops file: set into a broken file",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", "K: [x\n"),
        ],
        args: &["secret", "set", "K=v", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: delete from a tampered file",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("secrets/dev.enc.yaml", TAMPERED_ENC),
        ],
        args: &["secret", "delete", "K", "-s", "dev", "-c", "api", "--force"],
        env: &[],
        code: 1,
        fragments: &["secrets/dev.enc.yaml"],
    },
    Case {
        name: "sops file: first set without recipients",
        files: &[SOPS_CONFIG, SOPS_STACK],
        args: &["secret", "set", "K=v", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        // Also checks that the `secrets/` folder made for the new file is taken away again.
        fragments: &["secrets/dev.enc.yaml", "failed to resolve SOPS recipients"],
    },
    Case {
        name: "SOPS provider: unknown kind",
        files: &[
            (
                "atmos.yaml",
                "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\nsecrets:\n  providers:\n    vault:\n      kind: sops/gpgg\n      spec:\n        path: secrets\n",
            ),
            SOPS_STACK,
        ],
        args: &["secret", "get", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["unknown SOPS provider kind `sops/gpgg`", "sops/pgp"],
    },
    Case {
        name: "SOPS provider: bad spec.options.timeout",
        files: &[
            (
                "atmos.yaml",
                "base_path: \".\"\nstacks:\n  base_path: stacks\n  included_paths: [\"**/*\"]\nsecrets:\n  providers:\n    vault:\n      kind: sops/hc-vault\n      spec:\n        path: secrets\n        options: {timeout: soon}\n",
            ),
            SOPS_STACK,
        ],
        args: &["secret", "get", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["spec.options.timeout", "soon"],
    },
    // ---- SOPS files through `atmos sops` (sops's own exit codes, see docs/exit-codes.md) -----
    Case {
        name: "sops decrypt: missing file",
        files: &[],
        args: &["sops", "decrypt", "nope.enc.yaml"],
        env: &[],
        code: 1,
        fragments: &["nope.enc.yaml"],
    },
    Case {
        name: "sops decrypt: plain file",
        files: &[("plain.yaml", "a: 1\n")],
        args: &["sops", "decrypt", "plain.yaml"],
        env: &[],
        code: 1,
        fragments: &["plain.yaml"],
    },
    Case {
        name: "sops decrypt: bad JSON",
        files: &[("bad.enc.json", "{\"a\": ")],
        args: &["sops", "decrypt", "bad.enc.json"],
        env: &[],
        code: 1,
        fragments: &["bad.enc.json"],
    },
    Case {
        name: "sops decrypt: dotenv without metadata",
        files: &[("app.enc.env", "A=1\nB=2\n")],
        args: &["sops", "decrypt", "app.enc.env"],
        env: &[],
        code: 1,
        fragments: &["app.enc.env"],
    },
    Case {
        name: "sops decrypt: INI without a sops section",
        files: &[("config.enc.ini", "[main]\na = 1\n")],
        args: &["sops", "decrypt", "config.enc.ini"],
        env: &[],
        code: 1,
        fragments: &["config.enc.ini"],
    },
    Case {
        name: "sops decrypt: binary not JSON",
        files: &[("blob.enc.bin", "\u{1}\u{2}garbage")],
        args: &["sops", "decrypt", "blob.enc.bin", "--input-type", "binary"],
        env: &[],
        code: 1,
        fragments: &["blob.enc.bin"],
    },
    Case {
        name: "sops decrypt: no key",
        files: &[("basic.enc.yaml", BASIC_ENC)],
        args: &["sops", "decrypt", "basic.enc.yaml"],
        env: &[],
        code: 128,
        fragments: &["basic.enc.yaml"],
    },
    Case {
        name: "sops decrypt: unreachable Vault",
        files: &[("v.enc.yaml", VAULT_ENC)],
        args: &["sops", "decrypt", "v.enc.yaml"],
        env: &[("VAULT_TOKEN", "t0ken-not-printed")],
        code: 128,
        fragments: &[
            "v.enc.yaml",
            "cannot connect to Vault at http://127.0.0.1:9",
            "http://127.0.0.1:9/v1/sops/keys/k",
            "VAULT_TOKEN",
        ],
    },
    Case {
        name: "sops decrypt: Vault key without a token",
        files: &[("v.enc.yaml", VAULT_ENC)],
        args: &["sops", "decrypt", "v.enc.yaml"],
        env: &[],
        code: 128,
        fragments: &["no Vault token", "VAULT_TOKEN"],
    },
    Case {
        name: "sops decrypt: PGP key, gpg missing",
        files: &[("p.enc.yaml", PGP_ENC)],
        args: &["sops", "decrypt", "p.enc.yaml"],
        env: &[("SOPS_GPG_EXEC", "/nonexistent/gpg")],
        code: 128,
        fragments: &[
            "p.enc.yaml",
            "0123456789ABCDEF0123456789ABCDEF01234567",
            "install GnuPG",
        ],
    },
    Case {
        name: "sops encrypt: bad Vault URI in .sops.yaml",
        files: &[
            (
                ".sops.yaml",
                "creation_rules:\n  - hc_vault_transit_uri: vault.example.com/keys/k\n",
            ),
            ("a.yaml", "a: 1\n"),
        ],
        args: &["sops", "encrypt", "a.yaml"],
        env: &[],
        code: 1,
        fragments: &[".sops.yaml", "not a Vault transit key URI"],
    },
    Case {
        name: "sops encrypt: bad --hc-vault-transit",
        files: &[("a.yaml", "a: 1\n")],
        args: &[
            "sops",
            "encrypt",
            "--hc-vault-transit",
            "https://v:8200/keys",
            "a.yaml",
        ],
        env: &[],
        code: 2,
        fragments: &["not a Vault transit key URI"],
    },
    Case {
        name: "sops decrypt: MAC mismatch",
        files: &[SOPS_KEYS, ("t.enc.yaml", TAMPERED_ENC)],
        args: &["sops", "decrypt", "t.enc.yaml"],
        env: &[("SOPS_AGE_KEY_FILE", "keys.txt")],
        code: 51,
        fragments: &["t.enc.yaml"],
    },
    Case {
        name: "sops decrypt: bad ENC value",
        files: &[SOPS_KEYS, ("t.enc.yaml", TRUNCATED_ENC)],
        args: &["sops", "decrypt", "t.enc.yaml"],
        env: &[("SOPS_AGE_KEY_FILE", "keys.txt")],
        code: 25,
        fragments: &[
            "t.enc.yaml",
            "could not decrypt value at `K`",
            "invalid base64",
        ],
    },
    Case {
        name: "sops set: bad path",
        files: &[SOPS_KEYS, ("b.enc.yaml", BASIC_ENC)],
        args: &["sops", "set", "b.enc.yaml", "not a path", "1"],
        env: &[("SOPS_AGE_KEY_FILE", "keys.txt")],
        code: 1,
        fragments: &["not a path"],
    },
    Case {
        name: "sops set: value not JSON",
        files: &[SOPS_KEYS, ("b.enc.yaml", BASIC_ENC)],
        args: &["sops", "set", "b.enc.yaml", "[\"a\"]", "{nope"],
        env: &[("SOPS_AGE_KEY_FILE", "keys.txt")],
        code: 2,
        fragments: &["the value is not valid JSON", "hint:"],
    },
    // ---- .sops.yaml ----------------------------------------------------------------------------
    Case {
        name: ".sops.yaml: not YAML",
        files: &[(".sops.yaml", "creation_rules: [a\n"), ("p.yaml", "a: 1\n")],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml"],
    },
    Case {
        name: ".sops.yaml: creation_rules not a list",
        files: &[(".sops.yaml", "creation_rules: 5\n"), ("p.yaml", "a: 1\n")],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml", "`creation_rules` must be a list"],
    },
    Case {
        name: ".sops.yaml: rule not a map",
        files: &[
            (".sops.yaml", "creation_rules: [a]\n"),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml", "creation rule 0 is not a mapping"],
    },
    Case {
        name: ".sops.yaml: bad path_regex",
        files: &[
            (
                ".sops.yaml",
                "creation_rules:\n  - path_regex: \"(\"\n    age: age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7\n",
            ),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml", "creation rule 0"],
    },
    Case {
        name: ".sops.yaml: no rule matches",
        files: &[
            (
                ".sops.yaml",
                "creation_rules:\n  - path_regex: ^nothing$\n    age: age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7\n",
            ),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &["p.yaml"],
    },
    Case {
        name: ".sops.yaml: bad age recipient",
        files: &[
            (".sops.yaml", "creation_rules:\n  - age: age1nope\n"),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &["age1nope"],
    },
    Case {
        name: ".sops.yaml: age is a map",
        files: &[
            (".sops.yaml", "creation_rules:\n  - age: {a: 1}\n"),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml", "age"],
    },
    Case {
        name: ".sops.yaml: rule without keys",
        files: &[
            (".sops.yaml", "creation_rules:\n  - path_regex: .*\n"),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &["p.yaml"],
    },
    Case {
        name: ".sops.yaml: both crypt regexes",
        files: &[
            (
                ".sops.yaml",
                "creation_rules:\n  - age: age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7\n    encrypted_regex: a\n    unencrypted_regex: b\n",
            ),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &[".sops.yaml"],
    },
    Case {
        name: ".sops.yaml: key_groups not a list",
        files: &[
            (".sops.yaml", "creation_rules:\n  - key_groups: 5\n"),
            ("p.yaml", "a: 1\n"),
        ],
        args: ENCRYPT_P,
        env: &[],
        code: 1,
        fragments: &["p.yaml", "no recipients"],
    },
    // ---- dotenv / JSON imports -----------------------------------------------------------------
    Case {
        name: "import: file missing",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "import", "nope.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["nope.env"],
    },
    Case {
        name: "import: dotenv name missing",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K=1\n=v\n")],
        args: &["secret", "import", "in.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.env", "line 2", "missing variable name"],
    },
    Case {
        name: "import: dotenv unterminated quote",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K=\"open\n")],
        args: &["secret", "import", "in.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.env", "line 1"],
    },
    Case {
        name: "import: dotenv text after the quote",
        files: &[
            SOPS_CONFIG,
            SOPS_STACK,
            SOPS_KEYS,
            ("in.env", "K=\"a\" b\n"),
        ],
        args: &["secret", "import", "in.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &[
            "in.env",
            "line 1",
            "unexpected text after the closing quote",
        ],
    },
    Case {
        name: "import: JSON invalid",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.json", "{\"K\": ")],
        args: &["secret", "import", "in.json", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.json"],
    },
    Case {
        name: "import: JSON not an object",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.json", "[1, 2]")],
        args: &["secret", "import", "in.json", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.json"],
    },
    Case {
        name: "import: dotenv unterminated single quote",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K='x\n")],
        args: &["secret", "import", "in.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.env", "line 1", "unterminated single quote"],
    },
    Case {
        name: "import: unknown format",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K=v\n")],
        args: &[
            "secret", "import", "in.env", "--format", "xml", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 2,
        fragments: &["xml"],
    },
    Case {
        name: "import: file is a directory",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env/x", "")],
        args: &["secret", "import", "in.env", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["in.env"],
    },
    Case {
        name: "push: input missing",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &[
            "secret", "push", "--input", "nope.env", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 1,
        fragments: &["nope.env"],
    },
    Case {
        name: "push: dotenv unterminated double quote",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K=\"oops\n")],
        args: &[
            "secret", "push", "--input", "in.env", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 1,
        fragments: &["in.env", "line 1", "unterminated double quote"],
    },
    Case {
        name: "push: JSON invalid",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.json", "{")],
        args: &[
            "secret", "push", "--input", "in.json", "--format", "json", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 1,
        fragments: &["in.json"],
    },
    Case {
        name: "init: --input bad dotenv",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS, ("in.env", "K='open\n")],
        args: &[
            "secret", "init", "--input", "in.env", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 1,
        fragments: &["in.env", "line 1"],
    },
    Case {
        name: "init: --input missing",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &[
            "secret", "init", "--input", "nope.env", "-s", "dev", "-c", "api",
        ],
        env: &[],
        code: 1,
        fragments: &["nope.env"],
    },
    // ---- CLI arguments -------------------------------------------------------------------------
    Case {
        name: "usage: unknown secret subcommand",
        files: &[],
        args: &["secret", "frobnicate"],
        env: &[],
        code: 2,
        fragments: &["frobnicate"],
    },
    Case {
        name: "usage: unknown flag",
        files: &[],
        args: &["describe", "stacks", "--frob"],
        env: &[],
        code: 2,
        fragments: &["--frob"],
    },
    Case {
        name: "usage: secret get without a name",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "get", "-s", "dev", "-c", "api"],
        env: &[],
        code: 2,
        fragments: &["NAME"],
    },
    Case {
        name: "usage: secret set without a value",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "set", "K", "-s", "dev", "-c", "api"],
        env: &[],
        code: 2,
        fragments: &["K"],
    },
    Case {
        name: "usage: secret get bad format",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &[
            "secret", "get", "K", "-s", "dev", "-c", "api", "--format", "xml",
        ],
        env: &[],
        code: 2,
        fragments: &["xml"],
    },
    Case {
        name: "usage: secret list bad format",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "list", "--format", "xml"],
        env: &[],
        code: 1,
        fragments: &["unsupported format: xml", "hint: use one of"],
    },
    Case {
        name: "usage: secret exec without a command",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "exec", "-s", "dev", "-c", "api"],
        env: &[],
        code: 2,
        fragments: &["no command specified"],
    },
    Case {
        name: "usage: set with an empty name",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "set", "=v", "-s", "dev", "-c", "api"],
        env: &[],
        code: 2,
        fragments: &["secret NAME is required", "hint:"],
    },
    Case {
        name: "lookup: undeclared secret",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &["secret", "get", "NOPE", "-s", "dev", "-c", "api"],
        env: &[],
        code: 1,
        fragments: &["NOPE"],
    },
    Case {
        name: "lookup: keygen unknown vault",
        files: &[SOPS_CONFIG, SOPS_STACK],
        args: &["secret", "keygen", "nope"],
        env: &[],
        code: 1,
        fragments: &["nope"],
    },
    Case {
        name: "lookup: empty stack name",
        files: &[("stacks/dev.yaml", "vars: {}\n")],
        args: &["describe", "component", "api", "-s", ""],
        env: &[],
        code: 1,
        fragments: &["stack"],
    },
    Case {
        name: "lookup: base path missing",
        files: &[],
        args: &["describe", "stacks", "--base-path", "/nonexistent/project"],
        env: &[],
        code: 1,
        fragments: &["/nonexistent/project"],
    },
    Case {
        name: "usage: get --raw with --format json",
        files: &[SOPS_CONFIG, SOPS_STACK, SOPS_KEYS],
        args: &[
            "secret", "get", "K", "-s", "dev", "-c", "api", "--raw", "--format", "json",
        ],
        env: &[],
        code: 2,
        fragments: &["--raw is text-only"],
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
        if path.ends_with("keys.txt") {
            // Private, as keygen writes it: the loose-permission warning has its own test.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    // Temp files go to the project too, so "nothing left behind" covers them.
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let before = tree(root);
    let args: &[&str] = if case.args.is_empty() {
        &["describe", "stacks"]
    } else {
        case.args
    };
    let mut cmd = Atmos::new(args)
        .home(&root.join("home"), &root.join("xdg"))
        .env("ATMOS_CLI_CONFIG_PATH", root)
        .env("ATMOS_BASE_PATH", root)
        .env("TMPDIR", root.join("tmp"))
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
    if stderr.contains("panicked") || stderr.contains("internal error (panic)") {
        problems.push("panicked".to_owned());
    }
    let after = tree(root);
    if after != before {
        let added: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
        let gone: Vec<_> = before.iter().filter(|e| !after.contains(e)).collect();
        problems.push(format!(
            "the project changed: new or rewritten {added:?}, removed or rewritten {gone:?}"
        ));
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

/// Every file and folder under `root` (relative path, and the content for files), sorted.
fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                out.push((rel, None));
                walk(root, &path, out);
            } else {
                out.push((rel, Some(std::fs::read(&path).unwrap_or_default())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn bad_input_table() {
    assert!(CASES.len() >= 150, "the table must keep at least 150 cases");
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
