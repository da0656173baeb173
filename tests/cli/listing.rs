//! list and validate.

use crate::support::TestContext;

fn seeded() -> TestContext {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw", "dev", "api");
    p.set("SHARED_TOKEN", "tok", "dev", "api");
    p.set("LICENSE_KEY", "lic", "dev", "api");
    p
}

#[test]
fn list_one_instance_in_every_format() {
    let p = seeded();
    let base = ["secret", "list", "-s", "dev", "-c", "api"];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        p.run(&a).ok().stdout
    };
    // Piped table = TSV rows without a header.
    assert_eq!(
        run(&[]),
        "dev\tapi\tAPI_SIGNING_KEY\tinstance\tsops:local-sops\tmissing\n\
         dev\tapi\tDB_PASSWORD\tinstance\tsops:local-sops\tinitialized\n\
         dev\tapi\tLICENSE_KEY\tglobal\tstore:team-keychain\tinitialized\n\
         dev\tapi\tSHARED_TOKEN\tstack\tsops:local-sops\tinitialized\n"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[1]["Secret"], "DB_PASSWORD");
    assert_eq!(json[1]["Status"], "initialized");
    assert_eq!(json[1]["Provider"], "sops:local-sops");
    assert!(json[1].get("Description").is_none());
    let verbose: serde_json::Value =
        serde_json::from_str(&run(&["--format", "json", "-v"])).unwrap();
    assert_eq!(verbose[1]["Description"], "Database password for the API");
    let csv = run(&["--format", "csv"]);
    assert!(
        csv.starts_with("Stack,Component,Secret,Scope,Provider,Status\n"),
        "{csv}"
    );
    let tsv = run(&["--format", "tsv"]);
    assert!(
        tsv.starts_with("Stack\tComponent\tSecret\tScope\tProvider\tStatus\n"),
        "{tsv}"
    );
    let yaml = run(&["--format", "yaml"]);
    assert!(
        yaml.contains("- Stack: \"dev\"\n  Component: \"api\"\n  Secret: \"API_SIGNING_KEY\""),
        "{yaml}"
    );
    p.run(&[
        "secret", "list", "-s", "dev", "-c", "api", "--format", "xml",
    ])
    .code(1)
    .stderr_has("invalid configuration: unsupported format: xml");
}

#[test]
fn list_enumerates_stacks_with_shared_rows_once() {
    let p = seeded();
    let out = p.run(&["secret", "list", "--format", "csv"]).ok().stdout;
    let rows: Vec<&str> = out.lines().skip(1).collect();
    // Global once with `*`/`*`; stack-scoped once per stack with component `*`.
    assert_eq!(rows.iter().filter(|r| r.contains("LICENSE_KEY")).count(), 1);
    assert!(
        rows.contains(&"*,*,LICENSE_KEY,global,store:team-keychain,initialized"),
        "{out}"
    );
    assert!(
        rows.contains(&"dev,*,SHARED_TOKEN,stack,sops:local-sops,initialized"),
        "{out}"
    );
    assert!(
        rows.contains(&"prod,*,SHARED_TOKEN,stack,sops:local-sops,missing"),
        "{out}"
    );
    assert!(
        rows.contains(&"prod,worker,QUEUE_PASSWORD,instance,sops:local-sops,missing"),
        "{out}"
    );
    // Sorted by stack, secret, component across the stacks (built on two threads, sorted per
    // stack there; the global row, which sorts first, makes the whole list sort again).
    let keys: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            let c: Vec<&str> = r.split(',').collect();
            (c[0], c[2], c[1])
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{out}");
    assert_eq!(keys[0], ("*", "LICENSE_KEY", "*"), "{out}");
    // Facets filter the enumeration.
    let dev = p
        .run(&["secret", "list", "-s", "dev", "--format", "csv"])
        .ok()
        .stdout;
    assert!(!dev.contains("prod"), "{dev}");
    let worker = p
        .run(&["secret", "list", "-c", "worker", "--format", "csv"])
        .ok()
        .stdout;
    assert!(
        worker.contains("QUEUE_PASSWORD") && !worker.contains("DB_PASSWORD"),
        "{worker}"
    );
    p.run(&["secret", "list", "-s", "nowhere"])
        .ok()
        .stderr_has("No secrets declared in stack \"nowhere\".");
}

#[test]
fn validate_names_every_missing_required_secret() {
    let p = TestContext::quickstart();
    let r = p
        .run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1);
    let r = r
        .stderr_has("✗ Missing required secret `DB_PASSWORD` (sops:local-sops)")
        .stderr_has("✗ Missing required secret `SHARED_TOKEN` (sops:local-sops)")
        .stderr_has("✗ Missing required secret `LICENSE_KEY` (store:team-keychain)")
        .stderr_has("validation failed")
        .stderr_has("3 required secret(s) missing");
    // The optional one is not reported.
    assert!(!r.stderr.contains("API_SIGNING_KEY"));
    p.set("DB_PASSWORD", "pw", "dev", "api");
    p.set("SHARED_TOKEN", "t", "dev", "api");
    p.set("LICENSE_KEY", "l", "dev", "api");
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok()
        .stderr_has("All required secrets are initialized for component `api` in stack `dev`");
}

#[test]
fn validate_without_a_key_still_checks_status() {
    // Status needs no private key: cleartext key names only.
    let p = seeded();
    std::fs::remove_file(p.join(".atmos/age/keys.txt")).unwrap();
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    p.run(&["secret", "get", "DB_PASSWORD", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("secret is not initialized in its backend");
}

#[test]
fn validate_guards_against_colliding_sops_files() {
    let p = TestContext::quickstart();
    // A hand-written spec.file without the component: api and worker share one file.
    let cfg = std::fs::read_to_string(p.join("atmos.yaml")).unwrap();
    let cfg = cfg.replace(
        "        path: secrets ",
        "        file: \"secrets/{{ .atmos_stack }}.shared.enc.yaml\"\n        path: secrets ",
    );
    std::fs::write(p.join("atmos.yaml"), cfg).unwrap();
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("SOPS secret files collide across scopes")
        .stderr_has("resolve to the same SOPS file");
}
