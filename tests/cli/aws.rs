//! `aws/ssm` and `aws/asm` end to end on a real moto server: every `atmos secret` verb through the
//! default credential chain, identities from atmos auth's realm-scoped files (including a role in
//! another account), identity faults, and how many AWS calls `validate` makes.

// One copy of the server harness per test binary: `localsrv` includes it.
use crate::localsrv::services;

use std::process::Command;
use std::time::Duration;

use crate::support::{SENTINEL, TestContext};

pub(crate) struct Moto {
    pub(crate) svc: services::Service,
    python: std::path::PathBuf,
    recording: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub(crate) fn moto() -> Option<Moto> {
    let Some(bin) = services::find_bin("MOTO_SERVER", "moto", "moto_server") else {
        services::unavailable("moto_server", "not installed (.svc/moto)");
    };
    let Some(python) = services::find_bin("MOTO_PYTHON", "moto", "python") else {
        services::unavailable("python with boto3", "not installed (.svc/moto)");
    };
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("requests.jsonl");
    let port = services::free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ENABLE_RECORDING", "True")
        .env("MOTO_RECORDER_FILEPATH", &recording);
    let svc = services::start("moto", cmd, port, Duration::from_secs(30), |p| {
        services::http_answers(p, "/moto-api/data.json")
    })?;
    Some(Moto {
        svc,
        python,
        recording,
        _dir: dir,
    })
}

impl Moto {
    pub(crate) fn boto3(&self, script: &str) -> serde_json::Value {
        let out = Command::new(&self.python)
            .args(["-c", script])
            .env("MOTO_URL", &self.svc.url)
            .env("AWS_ENDPOINT_URL", &self.svc.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Clears moto's request recording.
    fn reset_recording(&self) {
        self.boto3(
            "import os, json, requests\nrequests.post(os.environ['MOTO_URL'] + '/moto-api/recorder/reset-recording', timeout=5).raise_for_status()\nprint('{}')",
        );
    }

    /// Recorded AWS operations (`X-Amz-Target`) since the last reset.
    fn recorded_targets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|e| {
                let h = e["headers"].as_object()?;
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                    .and_then(|(_, v)| v.as_str().map(str::to_owned))
            })
            .collect()
    }
}

/// The AWS fixture pointed at `m`, with default-chain credentials in the environment.
fn project(m: &Moto) -> TestContext {
    let mut p = TestContext::fixture("aws");
    p.env("AWS_TEST_ENDPOINT", &m.svc.url);
    p.env("AWS_ACCESS_KEY_ID", "testing");
    p.env("AWS_SECRET_ACCESS_KEY", "testing");
    p.env("AWS_EC2_METADATA_DISABLED", "true");
    p
}

#[test]
fn every_verb_on_ssm_and_asm() {
    let m = crate::support::require("moto (moto_server)", moto());
    let p = project(&m);
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("DB_PASSWORD");
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    p.set("STACK_TOKEN", "stack-tok", "dev", "api");
    p.set("GLOBAL_TOKEN", "global-tok", "dev", "api");
    p.set("DB_CONFIG", r#"{"user":"app","port":5432}"#, "dev", "api");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api").trim_end(), SENTINEL);
    assert_eq!(p.get("GLOBAL_TOKEN", "dev", "api").trim_end(), "global-tok");
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    let list = p
        .run(&["secret", "list", "-s", "dev", "--format", "json"])
        .ok();
    assert!(!list.stdout.contains(SENTINEL));
    let exec = p
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
            "printf %s \"$DB_PASSWORD\"",
        ])
        .ok();
    assert_eq!(exec.stdout, SENTINEL);
    let described = p
        .run(&["describe", "component", "api", "-s", "dev", "--mask=false"])
        .ok();
    assert!(described.stdout.contains(SENTINEL), "{}", described.stdout);
    let masked = p.run(&["describe", "component", "api", "-s", "dev"]).ok();
    assert!(!masked.stdout.contains(SENTINEL));
    // What landed in AWS, read independently with boto3 (docs/backends/aws.md, Names and Values).
    let got = m.boto3(
        r#"
import boto3, json
s = boto3.client("ssm"); a = boto3.client("secretsmanager")
ps = {p["Name"]: p["Type"] for pg in s.get_paginator("describe_parameters").paginate() for p in pg["Parameters"]}
names = [x["Name"] for x in a.list_secrets()["SecretList"]]
print(json.dumps({"ssm": ps, "asm": names, "cfg": a.get_secret_value(SecretId="atmos/dev/api/DB_CONFIG")["SecretString"]}))
"#,
    );
    assert_eq!(
        got["ssm"],
        serde_json::json!({
            "/atmos/secrets/dev/api/DB_PASSWORD": "SecureString",
            "/atmos/secrets/dev/STACK_TOKEN": "SecureString",
            "/atmos/secrets/GLOBAL_TOKEN": "SecureString",
        })
    );
    assert_eq!(got["asm"], serde_json::json!(["atmos/dev/api/DB_CONFIG"]));
    assert_eq!(got["cfg"], r#"{"user":"app","port":5432}"#);
    // Delete, then validate names what is missing; deleting again is a not-found error.
    p.run(&[
        "secret",
        "delete",
        "DB_CONFIG",
        "-s",
        "dev",
        "-c",
        "api",
        "--force",
    ])
    .ok();
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("DB_CONFIG");
    let again = p
        .run(&[
            "secret",
            "delete",
            "DB_CONFIG",
            "-s",
            "dev",
            "-c",
            "api",
            "--force",
        ])
        .code(1);
    assert!(again.stderr.contains("not found"), "{}", again.stderr);
}

/// Writes atmos auth's realm-scoped files and points the project at them.
fn auth_files(p: &mut TestContext, realm: &str, provider: &str, credentials: &str) {
    let cfg = p.join("xdg");
    let dir = cfg.join("atmos").join(realm).join("aws").join(provider);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("credentials"), credentials).unwrap();
    p.env("ATMOS_XDG_CONFIG_HOME", cfg.to_str().unwrap());
    if !realm.is_empty() {
        p.env("ATMOS_AUTH_REALM", realm);
    }
}

const AUTH: &str = r#"
auth:
  providers:
    sso: { kind: aws/iam-identity-center, region: us-east-1, start_url: "https://example.awsapps.com/start" }
  identities:
    base: { kind: aws/user }
    other-account:
      kind: aws/assume-role
      via: { identity: base }
      principal: { assume_role: "arn:aws:iam::111111111111:role/secrets-writer" }
    sso-admin:
      kind: aws/permission-set
      via: { provider: sso }
      principal: { name: Admin, account: { id: "222222222222" } }
"#;

fn with_stores(p: &TestContext, stores: &str) {
    let base = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    let head = base.split("\nstores:\n").next().unwrap();
    std::fs::write(p.join("atmos.yaml"), format!("{head}\n{stores}{AUTH}")).unwrap();
}

const STORES: &str = r#"stores:
  ssm:
    kind: aws/ssm
    secret: true
    identity: other-account
    options: { region: us-east-1, prefix: /atmos/secrets, endpoint: !env AWS_TEST_ENDPOINT }
  asm:
    kind: aws/asm
    secret: true
    options: { region: us-east-1, prefix: atmos, endpoint: !env AWS_TEST_ENDPOINT }
"#;

#[test]
fn identity_store_writes_into_the_assumed_roles_account() {
    let m = crate::support::require("moto (moto_server)", moto());
    let mut p = project(&m);
    with_stores(&p, STORES);
    auth_files(
        &mut p,
        "team",
        "aws-user",
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = base-secret\n",
    );
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    p.set("DB_CONFIG", "default-chain-value", "dev", "api");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api").trim_end(), SENTINEL);
    let got = m.boto3(
        r#"
import boto3, json
def names(ssm):
    return sorted(p["Name"] for pg in ssm.get_paginator("describe_parameters").paginate() for p in pg["Parameters"])
c = boto3.client("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/secrets-writer", RoleSessionName="check")["Credentials"]
other = boto3.client("ssm", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
other_sm = boto3.client("secretsmanager", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
print(json.dumps({
  "default_ssm": names(boto3.client("ssm")),
  "other_ssm": names(other),
  "default_asm": [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]],
  "other_asm": [s["Name"] for s in other_sm.list_secrets()["SecretList"]],
  "other_account": boto3.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"]).get_caller_identity()["Account"],
}))
"#,
    );
    assert_eq!(got["other_account"], "111111111111");
    // The identity store's secret is in account 111111111111 only …
    assert_eq!(
        got["other_ssm"],
        serde_json::json!(["/atmos/secrets/dev/api/DB_PASSWORD"])
    );
    assert_eq!(got["default_ssm"], serde_json::json!([]));
    // … and the default-chain store's secret is in the default account only.
    assert_eq!(
        got["default_asm"],
        serde_json::json!(["atmos/dev/api/DB_CONFIG"])
    );
    assert_eq!(got["other_asm"], serde_json::json!([]));
}

fn identity_failure(credentials: &str, identity: &str, expect: &[&str]) {
    let m = crate::support::require("moto (moto_server)", moto());
    let mut p = project(&m);
    with_stores(&p, &STORES.replace("other-account", identity));
    auth_files(&mut p, "", "aws-user", credentials);
    let start = std::time::Instant::now();
    let r = p
        .run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("`ssm`")
        .stderr_has(identity)
        .stderr_has("hint:");
    assert!(start.elapsed() < Duration::from_secs(20));
    eprintln!("{}", r.stderr);
    for e in expect {
        assert!(r.stderr.contains(e), "{e:?} in {}", r.stderr);
    }
    assert!(!r.stderr.contains("base-secret"), "{}", r.stderr);
    // Nothing fell back to the default chain: the default account holds nothing.
    let got = m.boto3(
        "import boto3, json\nprint(json.dumps(boto3.client('ssm').describe_parameters()['Parameters']))",
    );
    assert_eq!(got, serde_json::json!([]));
}

#[test]
fn unknown_identity_is_a_clear_error() {
    identity_failure("", "nobody", &["unknown identity `nobody`"]);
}

#[test]
fn permission_set_without_cached_credentials_asks_for_login() {
    identity_failure(
        "",
        "sso-admin",
        &["needs a login", "atmos auth login --identity sso-admin"],
    );
}

#[test]
fn malformed_credentials_file_names_file_and_line() {
    identity_failure(
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\nbase-secret\n",
        "base",
        &["malformed AWS credentials file", "line 3"],
    );
}

#[test]
fn expired_session_token_asks_for_login() {
    identity_failure(
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = base-secret\naws_session_token = tok\naws_credential_expiration = 2020-01-01T00:00:00Z\n",
        "base",
        &["expired", "atmos auth login --identity base"],
    );
}

/// `n` secrets declared on one component of `store`.
fn many_secrets(p: &TestContext, store: &str, n: usize) {
    let mut y = String::from(
        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n",
    );
    for i in 0..n {
        y.push_str(&format!(
            "          S{i:03}: {{ store: {store}, required: true }}\n"
        ));
    }
    std::fs::write(p.join("stacks/deploy/dev.yaml"), y).unwrap();
}

#[test]
fn validate_batches_ssm_reads() {
    let m = crate::support::require("moto (moto_server)", moto());
    let p = project(&m);
    many_secrets(&p, "ssm", 100);
    m.boto3(
        "import boto3\ns = boto3.client('ssm')\nfor i in range(100):\n    s.put_parameter(Name=f'/atmos/secrets/dev/api/S{i:03}', Value=f'v{i}', Type='SecureString')\nprint('{}')",
    );
    m.reset_recording();
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    let calls = m.recorded_targets();
    let ssm: Vec<&String> = calls
        .iter()
        .filter(|t| t.starts_with("AmazonSSM."))
        .collect();
    assert!(ssm.len() <= 11, "{} SSM calls: {ssm:?}", ssm.len());
    assert!(
        ssm.iter().all(|t| *t == "AmazonSSM.GetParameters"),
        "{ssm:?}"
    );
    // exec reads the values the same way.
    m.reset_recording();
    p.run(&["secret", "exec", "-s", "dev", "-c", "api", "--", "true"])
        .ok();
    let n = m
        .recorded_targets()
        .iter()
        .filter(|t| t.starts_with("AmazonSSM."))
        .count();
    assert!(n <= 11, "{n} SSM calls for exec");
}

#[test]
fn validate_batches_asm_reads() {
    let m = crate::support::require("moto (moto_server)", moto());
    let p = project(&m);
    many_secrets(&p, "asm", 100);
    m.boto3(
        "import boto3\ns = boto3.client('secretsmanager')\nfor i in range(100):\n    s.create_secret(Name=f'atmos/dev/api/S{i:03}', SecretString=f'v{i}')\nprint('{}')",
    );
    m.reset_recording();
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    let calls = m.recorded_targets();
    let asm: Vec<&String> = calls
        .iter()
        .filter(|t| t.starts_with("secretsmanager."))
        .collect();
    assert!(asm.len() <= 6, "{} ASM calls: {asm:?}", asm.len());
    // Existence checks list metadata; they never fetch values.
    assert!(
        asm.iter().all(|t| *t == "secretsmanager.ListSecrets"),
        "{asm:?}"
    );
    m.reset_recording();
    p.run(&["secret", "exec", "-s", "dev", "-c", "api", "--", "true"])
        .ok();
    let reads: Vec<String> = m
        .recorded_targets()
        .into_iter()
        .filter(|t| t.starts_with("secretsmanager."))
        .collect();
    assert!(reads.len() <= 6, "{reads:?}");
    assert!(
        reads
            .iter()
            .all(|t| t == "secretsmanager.BatchGetSecretValue"),
        "{reads:?}"
    );
    // One missing secret is named by validate.
    m.boto3("import boto3\nboto3.client('secretsmanager').delete_secret(SecretId='atmos/dev/api/S042', ForceDeleteWithoutRecovery=True)\nprint('{}')");
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("S042");
}

#[test]
fn store_functions_read_plain_ssm_and_asm_stores() {
    let m = crate::support::require("moto (moto_server)", moto());
    let p = project(&m);
    with_stores(
        &p,
        r#"stores:
  params:
    kind: aws/ssm
    options: { region: us-east-1, prefix: /shared, endpoint: !env AWS_TEST_ENDPOINT }
  blobs:
    kind: aws/asm
    options: { region: us-east-1, prefix: shared, endpoint: !env AWS_TEST_ENDPOINT }
"#,
    );
    std::fs::write(
        p.join("stacks/deploy/dev.yaml"),
        r#"vars:
  stage: dev
components:
  terraform:
    api:
      vars:
        vpc_id: !store params dev vpc VPC_ID
        cidr: !store.get params network/cidr
        db_port: !store.get blobs app-config | query .port
        fallback: !store.get params nothing-here | default "none"
"#,
    )
    .unwrap();
    m.boto3(
        r#"
import boto3
s = boto3.client("ssm"); a = boto3.client("secretsmanager")
s.put_parameter(Name="/shared/dev/vpc/VPC_ID", Value='"vpc-0abc"', Type="String")
s.put_parameter(Name="/shared/network/cidr", Value="10.0.0.0/16", Type="String")
a.create_secret(Name="shared/app-config", SecretString='{"port": 5432}')
print("{}")
"#,
    );
    let out = p
        .run(&["describe", "component", "api", "-s", "dev", "--mask=false"])
        .ok();
    for want in ["vpc-0abc", "10.0.0.0/16", "5432", "none"] {
        assert!(out.stdout.contains(want), "{want} in:\n{}", out.stdout);
    }
    // A missing value without a default names the store and the full parameter name.
    std::fs::write(
        p.join("stacks/deploy/dev.yaml"),
        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      vars:\n        x: !store.get params absent\n",
    )
    .unwrap();
    p.run(&["describe", "component", "api", "-s", "dev", "--mask=false"])
        .code(1)
        .stderr_has("/shared/absent");
}

#[test]
fn sops_files_with_aws_kms_keys_interoperate_with_sops() {
    let sops = crate::support::sops_bin();
    let m = crate::support::require("moto (moto_server)", moto());
    let mut p = project(&m);
    // The SDK (ours and sops's Go SDK) reaches moto's KMS through AWS_ENDPOINT_URL.
    p.env("AWS_ENDPOINT_URL", &m.svc.url);
    let arn = m.boto3(
        "import boto3, json\nprint(json.dumps(boto3.client('kms').create_key()['KeyMetadata']['Arn']))",
    );
    let arn = arn.as_str().unwrap().to_owned();
    let cfg = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    std::fs::write(
        p.join("atmos.yaml"),
        format!("{cfg}\nsecrets:\n  providers:\n    kms-sops:\n      kind: sops/aws-kms\n      spec: {{ path: secrets }}\n"),
    )
    .unwrap();
    std::fs::write(
        p.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.enc\\.yaml$\n    key_groups:\n      - kms:\n          - arn: {arn}\n            context: {{ app: atmos, env: dev }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("stacks/deploy/dev.yaml"),
        "vars:\n  stage: dev\nsecrets:\n  vars:\n    STACK_TOKEN: { sops: kms-sops }\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n          DB_PASSWORD: { sops: kms-sops, required: true }\n",
    )
    .unwrap();
    // atmos creates a new file whose data key KMS wraps, with the rule's encryption context …
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    let file = p.join("secrets/dev.api.enc.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("arn: {arn}")), "{text}");
    assert!(
        text.contains("app: atmos") && text.contains("env: dev"),
        "{text}"
    );
    assert!(!text.contains(SENTINEL));
    assert_eq!(p.get("DB_PASSWORD", "dev", "api").trim_end(), SENTINEL);
    // … that the real sops decrypts,
    let sops_cmd = |args: &[&str]| {
        Command::new(&sops)
            .args(args)
            .current_dir(p.path())
            .env_clear()
            .env("HOME", p.join("home"))
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("AWS_ENDPOINT_URL", &m.svc.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    let out = sops_cmd(&["decrypt", "secrets/dev.api.enc.yaml"]);
    assert!(
        out.status.success(),
        "sops -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(SENTINEL));
    // … and a file sops encrypts (same rule, KMS + context) is readable by atmos.
    std::fs::write(p.join("secrets/dev.enc.yaml"), "STACK_TOKEN: from-sops\n").unwrap();
    let out = sops_cmd(&["encrypt", "-i", "secrets/dev.enc.yaml"]);
    assert!(
        out.status.success(),
        "sops -e: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(p.get("STACK_TOKEN", "dev", "api").trim_end(), "from-sops");
    // Updating a KMS file keeps its key: sops still reads it.
    p.set("DB_PASSWORD", "rotated", "dev", "api");
    let out = sops_cmd(&["decrypt", "secrets/dev.api.enc.yaml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rotated"));
    // A wrong encryption context cannot unwrap the data key: a clear error, not a value.
    let tampered = std::fs::read_to_string(&file)
        .unwrap()
        .replace("env: dev", "env: prod");
    std::fs::write(&file, tampered).unwrap();
    let r = p.run(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("KMS Decrypt"), "{}", r.stderr);
    assert!(!r.stdout.contains("rotated"));
}

#[test]
fn sops_kms_keys_use_the_providers_identity() {
    let m = crate::support::require("moto (moto_server)", moto());
    let mut p = project(&m);
    p.env("AWS_ENDPOINT_URL", &m.svc.url);
    // A KMS key that exists only in account 111111111111 (reached by assuming the role).
    let arn = m.boto3(
        r#"
import boto3, json
c = boto3.client("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/secrets-writer", RoleSessionName="setup")["Credentials"]
kms = boto3.client("kms", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
print(json.dumps(kms.create_key()["KeyMetadata"]["Arn"]))
"#,
    );
    let arn = arn.as_str().unwrap().to_owned();
    assert!(arn.contains(":111111111111:"), "{arn}");
    let providers = |identity: &str| {
        format!(
            "\nsecrets:\n  providers:\n    kms-sops:\n      kind: sops/aws-kms\n      {identity}\n      spec: {{ path: secrets }}\n"
        )
    };
    with_stores(&p, STORES);
    let base = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    auth_files(
        &mut p,
        "",
        "aws-user",
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = base-secret\n",
    );
    std::fs::write(
        p.join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: secrets/\n    kms: {arn}\n"),
    )
    .unwrap();
    std::fs::write(
        p.join("stacks/deploy/dev.yaml"),
        "vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n          TOKEN: { sops: kms-sops }\n",
    )
    .unwrap();
    // Default chain (account 123456789012): the key is not there — a clear KMS error.
    std::fs::write(p.join("atmos.yaml"), format!("{base}{}", providers(""))).unwrap();
    p.run(&["secret", "set", "TOKEN=t1", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("KMS Encrypt")
        .stderr_has("default AWS credentials");
    // With the provider's identity the same key works, both ways.
    std::fs::write(
        p.join("atmos.yaml"),
        format!("{base}{}", providers("identity: other-account")),
    )
    .unwrap();
    p.set("TOKEN", SENTINEL, "dev", "api");
    assert_eq!(p.get("TOKEN", "dev", "api").trim_end(), SENTINEL);
    // `--identity=false` turns identities off: back to the default chain, which cannot decrypt.
    let r = p.run(&[
        "secret",
        "get",
        "TOKEN",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
        "--identity=false",
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("KMS Decrypt"), "{}", r.stderr);
    assert!(!r.stdout.contains(SENTINEL));
}

#[test]
fn atmos_sops_commands_use_aws_kms_keys() {
    let sops = crate::support::sops_bin();
    let m = crate::support::require("moto (moto_server)", moto());
    let mut p = project(&m);
    p.env("AWS_ENDPOINT_URL", &m.svc.url);
    let arn = m.boto3(
        "import boto3, json\nprint(json.dumps(boto3.client('kms').create_key()['KeyMetadata']['Arn']))",
    );
    let arn = arn.as_str().unwrap().to_owned();
    std::fs::write(
        p.join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    kms: {arn}\n"),
    )
    .unwrap();
    // `atmos sops encrypt` wraps the data key with KMS from the creation rule…
    std::fs::write(p.join("ours.yaml"), format!("token: {SENTINEL}\n")).unwrap();
    p.run(&["sops", "encrypt", "-i", "ours.yaml"]).ok();
    let text = std::fs::read_to_string(p.join("ours.yaml")).unwrap();
    assert!(
        text.contains(&format!("arn: {arn}")) && !text.contains(SENTINEL),
        "{text}"
    );
    // …the real sops decrypts it…
    let out = Command::new(&sops)
        .args(["decrypt", "ours.yaml"])
        .current_dir(p.path())
        .env_clear()
        .env("HOME", p.join("home"))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("AWS_ENDPOINT_URL", &m.svc.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("token: {SENTINEL}\n")
    );
    // …and `atmos sops decrypt` / `set` work on it.
    p.run(&["sops", "set", "ours.yaml", r#"["token"]"#, r#""changed""#])
        .ok();
    let r = p.run(&["sops", "decrypt", "ours.yaml"]).ok();
    assert_eq!(r.stdout, "token: changed\n");
}

/// The migration walk-through (issue 9): a legacy `!store` on what is now a secret store stays in
/// the manifest while the value is imported under a declaration; secret commands do not evaluate
/// the legacy line, `describe` refuses it until it is removed, then masks the new `!secret`.
#[test]
fn migration_from_a_legacy_store_line_with_the_line_still_present() {
    let m = crate::support::require("moto (moto_server)", moto());
    let p = project(&m);
    with_stores(
        &p,
        r#"stores:
  app-secrets:
    kind: aws/ssm
    secret: true
    options: { region: us-east-1, prefix: /app, endpoint: !env AWS_TEST_ENDPOINT }
"#,
    );
    std::fs::remove_file(p.join("stacks/deploy/dev.yaml")).unwrap();
    let legacy = "        client_secret: !store app-secrets atmos shared client_secret\n";
    let manifest = format!(
        "vars:\n  stage: prod\ncomponents:\n  terraform:\n    api:\n      vars:\n        region: us-east-1\n{legacy}      env:\n        CLIENT_SECRET: !secret SHARED_CLIENT_SECRET\n      secrets:\n        vars:\n          SHARED_CLIENT_SECRET: {{ store: app-secrets, scope: global, required: true }}\n"
    );
    std::fs::write(p.join("stacks/deploy/prod.yaml"), &manifest).unwrap();
    m.boto3(&format!(
        r#"
import boto3
boto3.client("ssm").put_parameter(Name="/app/atmos/shared/client_secret", Value="{SENTINEL}", Type="SecureString")
print("{{}}")
"#
    ));
    p.run(&[
        "secret",
        "import",
        "SHARED_CLIENT_SECRET",
        "--from-stack=atmos",
        "--from-component=shared",
        "--from-key=client_secret",
        "--stack=prod",
        "--component=api",
    ])
    .ok()
    .stderr_has("the source value was left in place");
    let got = m.boto3(
        r#"
import boto3, json
s = boto3.client("ssm")
v = lambda n: s.get_parameter(Name=n, WithDecryption=True)["Parameter"]["Value"]
print(json.dumps({"source": v("/app/atmos/shared/client_secret"), "dest": v("/app/SHARED_CLIENT_SECRET")}))
"#,
    );
    assert_eq!(got["source"], SENTINEL, "source untouched");
    assert_eq!(got["dest"], SENTINEL, "copied to the declaration");
    let list = p
        .run(&["secret", "list", "--verify", "--format", "json"])
        .ok();
    assert!(
        list.stdout.contains("SHARED_CLIENT_SECRET"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("initialized"), "{}", list.stdout);
    assert!(!list.stdout.contains(SENTINEL));
    p.run(&["secret", "validate", "-s", "prod", "-c", "api"])
        .ok();
    // describe resolves everything, so the legacy line is refused there.
    p.run(&["describe", "component", "api", "-s", "prod"])
        .code(1)
        .stderr_has("use !secret");
    // With the line removed, describe masks the secret and `--mask=false` reveals it.
    std::fs::write(
        p.join("stacks/deploy/prod.yaml"),
        manifest.replace(legacy, ""),
    )
    .unwrap();
    let masked = p.run(&["describe", "component", "api", "-s", "prod"]).ok();
    assert!(
        masked.stdout.contains("CLIENT_SECRET: <MASKED>"),
        "{}",
        masked.stdout
    );
    assert!(!masked.stdout.contains(SENTINEL));
    p.run(&["describe", "component", "api", "-s", "prod", "--mask=false"])
        .ok()
        .stdout_has(&format!("CLIENT_SECRET: {SENTINEL}"));
}

/// SSM behind a fault proxy answers `ThrottlingException` twice, then the value: `secret get`
/// prints it, and `--logs-level debug` shows both of the SDK's retries with the error code and
/// the operation.
#[test]
fn throttled_ssm_reads_are_retried_and_shown_at_debug() {
    use crate::localsrv::fault_proxy::FaultProxy;
    let m = crate::support::require("moto (moto_server)", moto());
    let proxy = FaultProxy::in_front_of(&m.svc.url);
    let mut p = project(&m);
    p.env("AWS_TEST_ENDPOINT", &proxy.url);
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    proxy.answer(
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        2,
    );
    let r = p
        .atmos(&crate::support::get_args("DB_PASSWORD", "dev", "api"))
        .args(["--logs-level", "debug"])
        .run()
        .ok()
        .stderr_has("DEBUG throttled (HTTP 400 ThrottlingException) from AWS SSM (GetParameter")
        .stderr_has("retry 1/3")
        .stderr_has("retry 2/3");
    assert_eq!(r.stdout.trim(), SENTINEL);
}
