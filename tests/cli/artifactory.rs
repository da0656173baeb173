//! The `artifactory` store end to end against the wire fake: `!store` / `!store.get` read files
//! deployed over raw HTTP (JSON as atmos writes them) through `describe component --mask=false`,
//! the token from `ARTIFACTORY_ACCESS_TOKEN` or `JFROG_ACCESS_TOKEN`; failures exit 1 naming the
//! store, without the token.

use std::time::{Duration, Instant};

use crate::localsrv::servers::{ART_TOKEN, art_base, raw, start_artifactory};
use crate::localsrv::{project, services, store_fn_stack};
use crate::support::TestContext;

fn art_project(url: &str) -> TestContext {
    project(
        &format!(
            "  artifacts:\n    kind: artifactory\n    options:\n      url: {url}\n      repo_name: secrets-generic-local\n      prefix: atmos\n      timeout: 3\n"
        ),
        &store_fn_stack("artifacts"),
    )
}

fn describe(p: &TestContext) -> crate::support::Run {
    p.run(&[
        "describe",
        "component",
        "api",
        "-s",
        "dev",
        "--mask=false",
        "--format",
        "json",
    ])
}

fn deploy(port: u16, path: &str, body: &str) {
    let auth = format!("Authorization: Bearer {ART_TOKEN}");
    let (status, _, _) = raw(
        port,
        "PUT",
        &format!("/artifactory/secrets-generic-local/{path}"),
        Some(&auth),
        body.as_bytes(),
    );
    assert_eq!(status, 201);
}

#[test]
fn artifactory_values_resolve_through_store_functions() {
    let svc = crate::support::require("the Artifactory wire fake", start_artifactory());
    deploy(
        svc.port,
        "atmos/dev/api/ENDPOINT",
        "\"https://api.internal\"",
    );
    deploy(svc.port, "atmos/dev/api/CONFIG", r#"{"port":5432}"#);
    deploy(svc.port, "atmos/SHARED", "\"one-for-all\"");
    for var in ["ARTIFACTORY_ACCESS_TOKEN", "JFROG_ACCESS_TOKEN"] {
        let mut p = art_project(&art_base(&svc));
        p.env(var, ART_TOKEN);
        let out = describe(&p).ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["vars"]["endpoint"], "https://api.internal", "{var}");
        assert_eq!(v["vars"]["port"], 5432);
        assert_eq!(v["vars"]["shared"], "one-for-all");
    }
}

#[test]
fn artifactory_faults_exit_1_naming_the_store() {
    let svc = crate::support::require("the Artifactory wire fake", start_artifactory());
    deploy(svc.port, "atmos/dev/api/ENDPOINT", "\"x\"");
    let mut p = art_project(&art_base(&svc));
    p.env("ARTIFACTORY_ACCESS_TOKEN", "wrong-art-token");
    let out = describe(&p)
        .code(1)
        .stderr_has("`artifacts`")
        .stderr_has("rejected the access token")
        .stderr_has("hint:");
    assert!(!out.stderr.contains("wrong-art-token"));

    let mut p = art_project(&format!(
        "http://127.0.0.1:{}/artifactory",
        services::free_port()
    ));
    p.env("ARTIFACTORY_ACCESS_TOKEN", ART_TOKEN);
    let t = Instant::now();
    let out = describe(&p)
        .code(1)
        .stderr_has("`artifacts`")
        .stderr_has("cannot connect to Artifactory")
        .stderr_has("hint:");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(!out.stderr.contains(ART_TOKEN));

    // No token at all: refused when the configuration loads.
    art_project(&art_base(&svc))
        .run(&["secret", "list", "-s", "dev"])
        .code(1)
        .stderr_has("access_token is required");

    // Not found: `!store` without a default fails and names the file.
    let mut p = art_project(&art_base(&svc));
    p.env("JFROG_ACCESS_TOKEN", ART_TOKEN);
    describe(&p)
        .code(1)
        .stderr_has("secrets-generic-local/atmos/dev/api/CONFIG");
}
