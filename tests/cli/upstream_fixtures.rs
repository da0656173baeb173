//! Upstream atmos's own Floci scenarios (`tests/upstream/tests/fixtures/scenarios/`, upstream's
//! layout, copied unchanged) run through the binary the way upstream's harness runs them: only
//! the `FLOCI_*` environment is pointed at the local servers (moto for AWS, the wire fakes for Azure and GCP), and for AWS every ambient
//! `AWS_*` variable is cleared to the empty string, `AWS_ENDPOINT_URL` included, so the
//! endpoint and the credentials must come from the identity (`spec.endpoint_url`, the legacy
//! `credentials.aws.resolver.url`). Each goes set → get → list → validate → masked describe →
//! delete, and what was written is checked in the server's own state.

use crate::support::{TestContext, copy_dir, repo, require};

/// A temp project holding upstream's scenario fixture `<name>` (kept in upstream's layout under
/// `tests/upstream/`, where `tests/cli/upstream.rs` validates it too), with upstream's harness
/// environment.
fn scenario(name: &str) -> TestContext {
    let mut p = TestContext::empty();
    copy_dir(
        &repo()
            .join("tests/upstream/tests/fixtures/scenarios")
            .join(name),
        p.path(),
    );
    let dir = p.path().to_str().unwrap().to_owned();
    p.env("ATMOS_CLI_CONFIG_PATH", &dir);
    p.env("ATMOS_FLOCI_TEST_ID", "t1");
    p
}

/// What upstream's harness does with `ClearAWSEnv: true`.
fn clear_aws_env(p: &mut TestContext) {
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        p.env(k, "");
    }
    p.env("AWS_EC2_METADATA_DISABLED", "true");
}

fn set(p: &TestContext, stack: &str, component: &str, assignment: &str, extra: &[&str]) {
    let mut args = vec![
        "secret", "set", assignment, "-s", stack, "-c", component, "--force",
    ];
    args.extend_from_slice(extra);
    p.run(&args).ok();
}

/// `secret list` names every key, `secret validate` passes, and `describe component` masks the
/// values: `<MASKED>` shows and none of `values` does.
fn list_validate_describe(p: &TestContext, component: &str, names: &[&str], values: &[&str]) {
    let list = p
        .run(&["secret", "list", "-s", "dev", "-c", component])
        .ok();
    for n in names {
        assert!(list.stdout.contains(n), "list lacks {n}:\n{}", list.stdout);
    }
    p.run(&["secret", "validate", "-s", "dev", "-c", component])
        .ok();
    let described = p
        .run(&[
            "describe",
            "component",
            component,
            "-s",
            "dev",
            "--format",
            "json",
        ])
        .ok();
    assert!(
        described.stdout.contains("<MASKED>"),
        "{}",
        described.stdout
    );
    for v in values {
        assert!(!described.stdout.contains(v), "describe shows {v}");
    }
}

fn delete(p: &TestContext, component: &str, names: &[&str]) {
    for n in names {
        p.run(&[
            "secret", "delete", n, "-s", "dev", "-c", component, "--force",
        ])
        .ok();
    }
}

/// `aws-secrets-floci` and `sops-kms-floci` on one moto server.
#[test]
fn upstream_aws_scenarios_on_moto() {
    let m = require("moto (moto_server)", crate::aws::moto());
    let url = m.svc.url.clone();

    // aws-secrets-floci: aws/ssm + aws/asm with identity `floci-superuser`, whose endpoint is
    // its `spec.endpoint_url: !env FLOCI_ENDPOINT_URL`.
    let mut p = scenario("aws-secrets-floci");
    clear_aws_env(&mut p);
    p.env("FLOCI_ENDPOINT_URL", &url);
    p.env("FLOCI_SECRETS_SSM_PREFIX", "/atmos-tests/secrets/t1");
    p.env("FLOCI_SECRETS_ASM_PREFIX", "atmos-tests/secrets/t1");
    let c = "secret-consumer";
    set(&p, "dev", c, "SSM_INSTANCE_TOKEN=dev-instance-token", &[]);
    set(&p, "dev", c, "SSM_STACK_TOKEN=dev-stack-token", &[]);
    set(
        &p,
        "dev",
        c,
        r#"ASM_DATABASE_CONFIG={"username":"demo","password":"dev-db-password","host":"db.dev.local"}"#,
        &[],
    );
    set(&p, "dev", c, "GLOBAL_SHARED_TOKEN=shared-token", &[]);
    let stored = m.boto3(
        "import boto3, json\nssm = boto3.client('ssm')\nasm = boto3.client('secretsmanager')\np = '/atmos-tests/secrets/t1'\nout = {n: ssm.get_parameter(Name=p + n, WithDecryption=True)['Parameter']['Value'] for n in ['/dev/secret-consumer/SSM_INSTANCE_TOKEN', '/dev/SSM_STACK_TOKEN', '/GLOBAL_SHARED_TOKEN']}\nout['asm'] = asm.get_secret_value(SecretId='atmos-tests/secrets/t1/dev/secret-consumer/ASM_DATABASE_CONFIG')['SecretString']\nprint(json.dumps(out))",
    );
    assert!(
        stored["/dev/secret-consumer/SSM_INSTANCE_TOKEN"]
            .as_str()
            .unwrap()
            .contains("dev-instance-token")
    );
    assert!(
        stored["/dev/SSM_STACK_TOKEN"]
            .as_str()
            .unwrap()
            .contains("dev-stack-token")
    );
    assert!(
        stored["/GLOBAL_SHARED_TOKEN"]
            .as_str()
            .unwrap()
            .contains("shared-token")
    );
    assert!(stored["asm"].as_str().unwrap().contains("dev-db-password"));
    let password = p
        .run(&[
            "secret",
            "get",
            "ASM_DATABASE_CONFIG",
            "-s",
            "dev",
            "-c",
            c,
            "--path",
            ".password",
            "--mask=false",
        ])
        .ok();
    assert_eq!(password.stdout.trim_end(), "dev-db-password");
    // `--identity=false` on stores that name their identity: refused as upstream refuses it,
    // never a fall back to ambient credentials (here: moto's default account via env keys).
    let mut ambient = scenario("aws-secrets-floci");
    ambient.env("AWS_ACCESS_KEY_ID", "testing");
    ambient.env("AWS_SECRET_ACCESS_KEY", "testing");
    ambient.env("AWS_ENDPOINT_URL", &url);
    ambient.env("FLOCI_ENDPOINT_URL", &url);
    ambient.env("FLOCI_SECRETS_SSM_PREFIX", "/atmos-tests/secrets/t1");
    ambient.env("FLOCI_SECRETS_ASM_PREFIX", "atmos-tests/secrets/t1");
    let r = ambient
        .run(&[
            "secret",
            "get",
            "SSM_INSTANCE_TOKEN",
            "-s",
            "dev",
            "-c",
            c,
            "--mask=false",
            "--identity=false",
        ])
        .code(1)
        .stderr_has("store identity is configured but auth resolver is not set")
        .stderr_has("secrets/ssm")
        .stderr_has("hint: drop `--identity=false`");
    assert!(!r.stdout.contains("dev-instance-token"));
    let names = [
        "SSM_INSTANCE_TOKEN",
        "SSM_STACK_TOKEN",
        "ASM_DATABASE_CONFIG",
        "GLOBAL_SHARED_TOKEN",
    ];
    list_validate_describe(&p, c, &names, &["dev-instance-token", "dev-db-password"]);
    delete(&p, c, &names);
    let left = m.boto3(
        "import boto3, json\nssm = boto3.client('ssm')\nprint(json.dumps([x['Name'] for x in ssm.describe_parameters()['Parameters'] if x['Name'].startswith('/atmos-tests/secrets/t1')]))",
    );
    assert_eq!(left, serde_json::json!([]), "SSM parameters left behind");

    // sops-kms-floci: the SOPS aws-kms provider as identity `floci-superuser`, whose endpoint is
    // the legacy `credentials.aws.resolver.url`; the harness writes `.sops.yaml` with a KMS key.
    let mut p = scenario("sops-kms-floci");
    clear_aws_env(&mut p);
    p.env("FLOCI_ENDPOINT_URL", &url);
    let key = m.boto3(
        "import boto3, json\nprint(json.dumps(boto3.client('kms').create_key()['KeyMetadata']['Arn']))",
    );
    p.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.enc\\.yaml$\n    kms: {}\n",
            key.as_str().unwrap()
        ),
    );
    let id = ["--identity", "floci-superuser"];
    set(&p, "dev", "app", "API_KEY=supersecret-value", &id);
    let file = std::fs::read_to_string(p.join("secrets/dev.enc.yaml")).unwrap();
    assert!(file.contains(key.as_str().unwrap()), "{file}");
    assert!(!file.contains("supersecret-value"));
    let got = p
        .run(&[
            "secret",
            "get",
            "API_KEY",
            "-s",
            "dev",
            "-c",
            "app",
            "--mask=false",
            "--identity",
            "floci-superuser",
        ])
        .ok();
    assert!(got.stdout.contains("supersecret-value"));
    list_validate_describe(&p, "app", &["API_KEY"], &["supersecret-value"]);
    delete(&p, "app", &["API_KEY"]);

    // The same identity without keys in atmos.yaml: its keys come from the atmos keyring, where
    // `atmos auth user configure` puts them (here the file keyring, an item sealed by jwcrypto
    // as Go atmos writes it: `atmos_<identity>`, envelope `{"type":"aws","data":{…}}`).
    let mut p = scenario("aws-secrets-floci");
    clear_aws_env(&mut p);
    p.env("FLOCI_ENDPOINT_URL", &url);
    p.env("FLOCI_SECRETS_SSM_PREFIX", "/atmos-tests/keyring");
    p.env("FLOCI_SECRETS_ASM_PREFIX", "atmos-tests/keyring");
    let yaml = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    let keyless = yaml
        .replace("        access_key_id: test\n", "")
        .replace("        secret_access_key: test\n", "");
    assert_ne!(yaml, keyless);
    p.write("atmos.yaml", &keyless);
    // Without keys anywhere: a login error naming the identity, never ambient credentials.
    p.run(&["secret", "get", "SSM_STACK_TOKEN", "-s", "dev", "-c", c])
        .code(1)
        .stderr_has("floci-superuser");
    let dir = p.join("keyring");
    std::fs::create_dir_all(&dir).unwrap();
    p.env("ATMOS_KEYRING_TYPE", "file");
    p.env("ATMOS_KEYRING_FILE_PATH", dir.to_str().unwrap());
    crate::keychain::jose(&[
        "seal",
        "test-keyring-password",
        "atmos_floci-superuser",
        r#"{"type":"aws","data":{"access_key_id":"keyring-key","secret_access_key":"keyring-secret"}}"#,
        dir.join("atmos_floci-superuser").to_str().unwrap(),
    ]);
    set(&p, "dev", c, "SSM_STACK_TOKEN=from-keyring-keys", &[]);
    let stored = m.boto3(
        "import boto3, json\nprint(json.dumps(boto3.client('ssm').get_parameter(Name='/atmos-tests/keyring/dev/SSM_STACK_TOKEN', WithDecryption=True)['Parameter']['Value']))",
    );
    assert!(stored.as_str().unwrap().contains("from-keyring-keys"));
    delete(&p, c, &["SSM_STACK_TOKEN"]);
}

/// `azure-secrets-floci`: `endpoint` over plain HTTP under a path, `endpoint_insecure`,
/// `without_authentication`, `disable_challenge_resource_verification`, against the Key Vault
/// fake serving HTTP under `/devstoreaccount1-keyvault`. Then the same vault without the
/// opt-in is refused, and with a real credential over HTTP a warning says so.
#[test]
fn upstream_azure_scenario_on_the_key_vault_fake() {
    use crate::localsrv::fakes;
    let akv = require(
        "the Azure Key Vault wire fake",
        fakes::start(
            "azure_key_vault.py",
            &["--base-path", "/devstoreaccount1-keyvault"],
            false,
        ),
    );
    let mut p = scenario("azure-secrets-floci");
    let endpoint = format!("{}/devstoreaccount1-keyvault", akv.url);
    p.env("FLOCI_AZURE_ENDPOINT", &akv.url);
    p.env("FLOCI_AZURE_KEYVAULT_ENDPOINT", &endpoint);
    p.env("FLOCI_AZURE_SECRETS_PREFIX", "atmos-tests-azure-t1");
    let c = "secret-consumer";
    set(
        &p,
        "dev",
        c,
        "AZURE_INSTANCE_TOKEN=azure-instance-token",
        &[],
    );
    let state = akv.state();
    assert_eq!(
        state["live"]["atmos-tests-azure-t1-dev-secret-consumer-AZURE-INSTANCE-TOKEN"][0],
        "\"azure-instance-token\"",
        "{state}"
    );
    assert_eq!(
        p.get("AZURE_INSTANCE_TOKEN", "dev", c),
        "azure-instance-token"
    );
    list_validate_describe(&p, c, &["AZURE_INSTANCE_TOKEN"], &["azure-instance-token"]);
    delete(&p, c, &["AZURE_INSTANCE_TOKEN"]);
    assert_eq!(akv.state()["live"], serde_json::json!({}));

    // Plain HTTP without an opt-in is refused, naming the store.
    let atmos_yaml = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    let strict = atmos_yaml
        .replace("      endpoint_insecure: true\n", "")
        .replace("      without_authentication: true\n", "");
    p.write("atmos.yaml", &strict);
    p.run(&[
        "secret",
        "get",
        "AZURE_INSTANCE_TOKEN",
        "-s",
        "dev",
        "-c",
        c,
    ])
    .code(1)
    .stderr_has("secrets/azure")
    .stderr_has("must be an https URL")
    .stderr_has("endpoint_insecure: true");
    // A real credential over HTTP (opted in): one warning, before any request.
    p.write(
        "atmos.yaml",
        &atmos_yaml.replace("      without_authentication: true\n", ""),
    );
    let r = p.run(&["secret", "list", "-s", "dev", "-c", c]).ok();
    assert_eq!(
        r.stderr.matches("travels unencrypted").count(),
        1,
        "{}",
        r.stderr
    );
}

/// `gcp-secrets-floci`: `endpoint` + `endpoint_insecure` + `without_authentication` against the
/// Secret Manager fake; then the same endpoint written scheme-less (`127.0.0.1:PORT`, as
/// upstream's docs write it) works too.
#[test]
fn upstream_gcp_scenario_on_the_secret_manager_fake() {
    use crate::localsrv::fakes;
    let gsm = require(
        "the GCP Secret Manager wire fake",
        fakes::start("gcp_secret_manager.py", &[], false),
    );
    for endpoint in [gsm.url.clone(), gsm.url.replace("http://", "")] {
        let mut p = scenario("gcp-secrets-floci");
        p.env("FLOCI_GCP_ENDPOINT", &endpoint);
        p.env("FLOCI_GCP_PROJECT_ID", "floci-local");
        p.env("FLOCI_GCP_SECRETS_PREFIX", "atmos-tests-gcp-t1");
        let c = "secret-consumer";
        set(&p, "dev", c, "GCP_INSTANCE_TOKEN=gcp-instance-token", &[]);
        let state = gsm.state();
        let name = "projects/floci-local/secrets/atmos-tests-gcp-t1_dev_secret-consumer_GCP_INSTANCE_TOKEN";
        assert!(state.get(name).is_some(), "{state}");
        assert_eq!(p.get("GCP_INSTANCE_TOKEN", "dev", c), "gcp-instance-token");
        list_validate_describe(&p, c, &["GCP_INSTANCE_TOKEN"], &["gcp-instance-token"]);
        delete(&p, c, &["GCP_INSTANCE_TOKEN"]);
        assert_eq!(gsm.state(), serde_json::json!({}));
    }
}

/// The Azure scenario with the Key Vault fake behind the fault proxy: one 503, then the answer.
/// `secret get` prints the value (the SDK retried) and `--logs-level debug` shows the failed
/// attempt, naming the store.
#[test]
fn azure_retries_are_visible_at_debug() {
    use crate::localsrv::fakes;
    use crate::localsrv::fault_proxy::FaultProxy;
    let akv = require(
        "the Azure Key Vault wire fake",
        fakes::start(
            "azure_key_vault.py",
            &["--base-path", "/devstoreaccount1-keyvault"],
            false,
        ),
    );
    let proxy = FaultProxy::in_front_of(&akv.url);
    let mut p = scenario("azure-secrets-floci");
    p.env("FLOCI_AZURE_ENDPOINT", &proxy.url);
    p.env(
        "FLOCI_AZURE_KEYVAULT_ENDPOINT",
        &format!("{}/devstoreaccount1-keyvault", proxy.url),
    );
    p.env("FLOCI_AZURE_SECRETS_PREFIX", "atmos-tests-azure-t2");
    let c = "secret-consumer";
    set(&p, "dev", c, "AZURE_INSTANCE_TOKEN=retried-value", &[]);
    proxy.answer(
        503,
        r#"{"error":{"code":"ServiceUnavailable","message":"injected"}}"#,
        1,
    );
    let r = p
        .atmos(&crate::support::get_args("AZURE_INSTANCE_TOKEN", "dev", c))
        .args(["--logs-level", "debug"])
        .run()
        .ok()
        .stderr_has("DEBUG unavailable (HTTP 503) from Azure Key Vault on store `secrets/azure`");
    assert_eq!(r.stdout.trim(), "retried-value");
}
