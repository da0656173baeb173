//! keygen, set, get, delete and their non-interactive errors.

use std::os::unix::fs::PermissionsExt;

use crate::support::{SENTINEL, TestContext};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_private_key_and_public_rule() {
    let p = TestContext::fixture("quickstart");
    let r = p.run(&["secret", "keygen", "local-sops"]).ok();
    let recipient = r.stdout.trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    assert!(
        r.stderr.contains("Generated an age key pair"),
        "{}",
        r.stderr
    );
    let key = p.join(".atmos/age/keys.txt");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&p.join(".atmos/age")), 0o700);
    let keys = std::fs::read_to_string(&key).unwrap();
    assert_eq!(keys.matches("AGE-SECRET-KEY-1").count(), 1);
    assert!(!r.stdout.contains("AGE-SECRET-KEY") && !r.stderr.contains("AGE-SECRET-KEY"));
    let rules = std::fs::read_to_string(p.join(".sops.yaml")).unwrap();
    assert!(
        rules.contains(r"path_regex: 'secrets/.*\.enc\.yaml$'"),
        "{rules}"
    );
    assert!(rules.contains(&recipient), "{rules}");

    // Second run: nothing to do.
    p.run(&["secret", "keygen"])
        .ok()
        .stderr_has("already has key material");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), keys);

    // --force adds a second identity and a second recipient to the same rule.
    let r2 = p.run(&["secret", "keygen", "--force"]).ok();
    assert_eq!(
        std::fs::read_to_string(&key)
            .unwrap()
            .matches("AGE-SECRET-KEY-1")
            .count(),
        2
    );
    let rules = std::fs::read_to_string(p.join(".sops.yaml")).unwrap();
    assert!(
        rules.contains(&format!("{recipient},{}", r2.stdout.trim())),
        "{rules}"
    );
    assert_eq!(rules.matches("path_regex").count(), 1);
}

#[test]
fn keygen_errors() {
    let p = TestContext::fixture("quickstart");
    p.run(&["secret", "keygen", "nope"])
        .code(1)
        .stderr_has("no secrets vault is configured")
        .stderr_has("vault `nope` is not configured under `secrets.providers`")
        .stderr_has("`local-sops`");
}

#[test]
fn set_and_get_every_scope_and_format() {
    let p = TestContext::quickstart();
    p.run(&[
        "secret",
        "set",
        "DB_PASSWORD=pw-1",
        "-s",
        "dev",
        "-c",
        "api",
    ])
    .ok()
    .stderr_has("Set secret `DB_PASSWORD` for component `api` in stack `dev`");
    p.run_with_stdin(
        &[
            "secret",
            "add",
            "SHARED_TOKEN",
            "--stdin",
            "-s",
            "dev",
            "-c",
            "api",
        ],
        Some("tok\n\n"),
    )
    .ok()
    .stderr_has("Set stack-scoped secret `SHARED_TOKEN` for stack `dev`");
    p.run(&[
        "secret",
        "set",
        "LICENSE_KEY=lic",
        "-s",
        "prod",
        "-c",
        "api",
    ])
    .ok()
    .stderr_has("Set global secret `LICENSE_KEY`");

    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), "pw-1");
    // stdin: trailing newlines stripped.
    assert_eq!(p.get("SHARED_TOKEN", "dev", "api"), "tok");
    // Stack scope is shared by every component of the stack…
    assert_eq!(p.get("SHARED_TOKEN", "dev", "worker"), "tok");
    // …and global scope by every stack.
    assert_eq!(p.get("LICENSE_KEY", "dev", "api"), "lic");

    let get = |extra: &[&str]| {
        let mut args = vec!["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"];
        args.extend_from_slice(extra);
        p.run(&args).ok().stdout
    };
    assert_eq!(get(&[]), "<MASKED>\n");
    assert_eq!(get(&["--mask=false"]), "pw-1\n");
    assert_eq!(get(&["--mask=false", "--format", "json"]), "\"pw-1\"\n");
    assert_eq!(
        get(&["--mask=false", "--format", "env"]),
        "DB_PASSWORD=pw-1\n"
    );
    assert_eq!(get(&["--mask=false", "-r"]), "pw-1");
    assert_eq!(get(&["--format", "env"]), "DB_PASSWORD=<MASKED>\n");

    // ATMOS_MASK=false works like --mask=false.
    let mut p2 = p;
    p2.env("ATMOS_MASK", "false");
    assert_eq!(
        p2.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
            .ok()
            .stdout,
        "pw-1\n"
    );
}

#[test]
fn get_path_into_structured_values() {
    let p = TestContext::quickstart();
    p.set(
        "DB_PASSWORD",
        r#"{"user":"app","password":"pw"}"#,
        "dev",
        "api",
    );
    let r = p
        .run(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--path",
            ".password",
            "--mask=false",
        ])
        .ok();
    assert_eq!(r.stdout, "pw\n");
}

#[test]
fn get_and_set_errors() {
    let p = TestContext::quickstart();
    p.run(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--raw",
        "--format",
        "json",
    ])
    .code(2)
    .stderr_has("--raw is text-only");
    p.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("secret is not initialized in its backend: \"DB_PASSWORD\"")
        .stderr_has("hint:");
    p.run(&["secret", "get", "DB_PASWORD", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("secret is not declared: \"DB_PASWORD\"")
        .stderr_has("did you mean `DB_PASSWORD`?");
    p.run(&["secret", "set", "X=1"])
        .code(2)
        .stderr_has("--stack is required for secret operations")
        .stderr_has("hint: Specify a stack with --stack or -s");
    p.run(&["secret", "set", "X=1", "-s", "dev"])
        .code(2)
        .stderr_has("--component is required for secret operations");
    p.run(&["secret", "set", "-s", "dev", "-c", "api"])
        .code(2)
        .stderr_has("secret NAME is required");
    p.run(&["secret", "set", "=v", "-s", "dev", "-c", "api"])
        .code(2)
        .stderr_has("secret NAME is required");
    p.run(&["secret", "set", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(2)
        .stderr_has("no value given for secret `DB_PASSWORD`");
    p.run(&["secret", "set", "NOPE=1", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("secret is not declared: \"NOPE\"");
    p.run(&["secret", "set", "X=1", "-s", "nostack", "-c", "api"])
        .code(1)
        .stderr_has("nostack");
    p.run(&["secret", "set", "X=1", "-s", "dev", "-c", "nocomp"])
        .code(1)
        .stderr_has("nocomp");
    p.run(&["secret", "get"]).code(2);
    p.run(&["secret", "bogus"]).code(2);
    p.run(&["secret", "get", "X", "--bogus-flag"]).code(2);
}

#[test]
fn set_without_a_key_fails_clearly() {
    let p = TestContext::fixture("quickstart");
    // No keygen: new files need recipients.
    p.run(&["secret", "set", "DB_PASSWORD=x", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("failed to resolve SOPS recipients")
        .stderr_has("keygen");
}

#[test]
fn delete_and_aliases() {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw", "dev", "api");
    p.set("API_SIGNING_KEY", "k", "dev", "api");
    p.run(&["secret", "delete", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("--force");
    p.run(&[
        "secret",
        "rm",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--force",
    ])
    .ok()
    .stderr_has("Deleted secret `DB_PASSWORD` for component `api` in stack `dev`");
    p.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1);
    assert_eq!(p.get("API_SIGNING_KEY", "dev", "api"), "k");
    // Deleting an absent value from SOPS is a no-op.
    p.run(&[
        "secret",
        "unset",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "-f",
    ])
    .ok();
    p.run(&["secret", "delete", "-s", "dev", "-c", "api"])
        .code(2)
        .stderr_has("a secret NAME is required (or use --all");
    p.set("DB_PASSWORD", "pw", "dev", "api");
    p.run(&["secret", "delete", "--all", "-f", "-s", "dev", "-c", "api"])
        .ok()
        .stderr_has("Deleted 4 declared secret(s) for component `api` in stack `dev`");
    p.run(&["secret", "get", "API_SIGNING_KEY", "-s", "dev", "-c", "api"])
        .code(1);
}

#[test]
fn secrets_files_are_private_and_sops_compatible() {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    let f = p.join("secrets/dev.api.enc.yaml");
    assert_eq!(mode(&f), 0o600);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(!text.contains(SENTINEL));
    assert!(text.contains("DB_PASSWORD: ENC[AES256_GCM,"));
    assert!(text.contains("unencrypted_suffix: _unencrypted"));

    let sops = crate::support::sops_bin();
    // The real sops decrypts what we wrote (MAC verified)…
    let out = std::process::Command::new(&sops)
        .args(["--decrypt", f.to_str().unwrap()])
        .env("SOPS_AGE_KEY_FILE", p.join(".atmos/age/keys.txt"))
        .env("HOME", p.join("home"))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("DB_PASSWORD: {SENTINEL}\n")
    );
    // …and we read what the real sops edits.
    let out = std::process::Command::new(&sops)
        .args([
            "set",
            f.to_str().unwrap(),
            r#"["API_SIGNING_KEY"]"#,
            r#""from-sops""#,
        ])
        .env("SOPS_AGE_KEY_FILE", p.join(".atmos/age/keys.txt"))
        .env("HOME", p.join("home"))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(p.get("API_SIGNING_KEY", "dev", "api"), "from-sops");
    assert_eq!(p.get("DB_PASSWORD", "dev", "api"), SENTINEL);
}

#[test]
fn describe_masks_or_resolves_secret_functions() {
    let p = TestContext::quickstart();
    p.set(
        "DB_PASSWORD",
        r#"{"user":"u","pw":"p-describe"}"#,
        "dev",
        "api",
    );
    let masked = p
        .run(&[
            "describe",
            "component",
            "api",
            "-s",
            "dev",
            "--format",
            "json",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&masked.stdout).unwrap();
    assert_eq!(v["vars"]["database_password"], "<MASKED>");
    assert!(!masked.stdout.contains("p-describe"));
    let shown = p
        .run(&[
            "describe",
            "component",
            "api",
            "-s",
            "dev",
            "--format",
            "json",
            "--mask=false",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["vars"]["database_password"]["pw"], "p-describe");
    // Not set, with a default.
    assert_eq!(v["vars"]["signing_key"], "unset");
    // Without the key, unmasked resolution fails clearly; masked describe still works.
    std::fs::remove_file(p.join(".atmos/age/keys.txt")).unwrap();
    p.run(&["describe", "component", "api", "-s", "dev", "--mask=false"])
        .code(1)
        .stderr_has("secret is not initialized in its backend: \"DB_PASSWORD\"");
    p.run(&["describe", "component", "api", "-s", "dev"]).ok();
}

#[test]
fn reference_templates_name_the_stack_in_both_spellings() {
    // `reference` is rendered over the secret's coordinate with the same context as SOPS
    // `spec.file`: `{{ .stack }}` / `{{ .component }}` work as well as the `atmos_*` names.
    let p = TestContext::quickstart();
    let api = p.join("stacks/catalog/api.yaml");
    let text = std::fs::read_to_string(&api).unwrap();
    let text = text.replacen(
        "          API_SIGNING_KEY:\n",
        "          SHORT_REF:\n            sops: local-sops\n            reference: \"{{ .stack }}-{{ .component }}-short\"\n          LONG_REF:\n            sops: local-sops\n            reference: \"{{ .atmos_stack }}-{{ .atmos_component }}-long\"\n          API_SIGNING_KEY:\n",
        1,
    );
    std::fs::write(&api, text).unwrap();
    p.set("SHORT_REF", "short-value", "dev", "api");
    p.set("LONG_REF", "long-value", "dev", "api");
    let file = std::fs::read_to_string(p.join("secrets/dev.api.enc.yaml")).unwrap();
    assert!(file.contains("dev-api-short:"), "{file}");
    assert!(file.contains("dev-api-long:"), "{file}");
    assert_eq!(p.get("SHORT_REF", "dev", "api"), "short-value");
    assert_eq!(p.get("LONG_REF", "dev", "api"), "long-value");
}
