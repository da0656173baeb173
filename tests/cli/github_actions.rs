//! The `github/actions` store through the binary against the stateful GitHub API fake
//! (`tests/fakes/github_actions.py`, proven here with PyGithub): values sealed to the
//! repository's or environment's public key, opened with PyNaCl and the fake's private key;
//! `[PREFIX_]KEY` names; reads only inside a runner; the token chain and its errors.

use std::path::PathBuf;

use crate::localsrv::fakes;
use crate::localsrv::{project, secret_stack, services};
use crate::support::{SENTINEL, TestContext, require};

const TOKEN: &str = "ghp-fake-token-Zx81";

/// `.svc/github`: PyGithub and PyNaCl.
fn github_python() -> PathBuf {
    require(
        "PyGithub + PyNaCl (.svc/github)",
        services::find_bin("ATMOS_TEST_GITHUB_PYTHON", "github", "python"),
    )
}

fn helper(args: &[&str]) -> String {
    let out = std::process::Command::new(github_python())
        .arg(fakes::dir().join("check_github_actions.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_github_actions.py {}: {}{}",
        args[0],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Gh {
    fake: fakes::Fake,
    private: String,
}

impl Gh {
    fn start() -> Self {
        let pair: serde_json::Value = serde_json::from_str(&helper(&["keypair"])).unwrap();
        let public = pair["public"].as_str().unwrap().to_owned();
        let fake = require(
            "the GitHub API wire fake",
            fakes::start(
                "github_actions.py",
                &[
                    "--owner",
                    "acme",
                    "--repo",
                    "infra",
                    "--public-key",
                    &public,
                    "--token",
                    TOKEN,
                    "--environment",
                    "prod",
                ],
                false,
            ),
        );
        Self {
            fake,
            private: pair["private"].as_str().unwrap().to_owned(),
        }
    }

    /// The plaintext of the secret `name` in `scope` (`repo` or `env:<name>`), as sent.
    fn opened(&self, scope: &str, name: &str) -> Option<String> {
        let state = self.fake.state();
        let sealed = state[scope][name]["encrypted_value"].as_str()?.to_owned();
        Some(helper(&["open", &self.private, &sealed]))
    }

    fn project(&self, options: &str) -> TestContext {
        let mut p = project(
            &format!(
                "  gh:\n    kind: github/actions\n    options: {{ owner: acme, repo: infra{options} }}\n"
            ),
            &secret_stack("gh"),
        );
        p.env("GITHUB_API_URL", &self.fake.url);
        p.env("GITHUB_TOKEN", TOKEN);
        p
    }
}

#[test]
fn github_actions_store_end_to_end() {
    let gh = Gh::start();
    // The fake is what PyGithub expects of GitHub.
    let checked = helper(&["check", &gh.fake.url, "acme", "infra", TOKEN, &gh.private]);
    assert!(checked.starts_with("ok:"), "{checked}");

    let p = gh.project(", prefix: atmos");
    p.set("DB_PASSWORD", SENTINEL, "dev", "api");
    p.set("LICENSE_KEY", r#"{"seats":5}"#, "dev", "api");
    // Flat `[PREFIX_]KEY` names, sealed to the repository key; JSON values as compact text.
    assert_eq!(
        gh.opened("repo", "ATMOS_DB_PASSWORD").as_deref(),
        Some(SENTINEL)
    );
    assert_eq!(
        gh.opened("repo", "ATMOS_LICENSE_KEY").as_deref(),
        Some(r#"{"seats":5}"#)
    );
    // Existence through the API: validate passes, a missing one shows.
    p.run(&["secret", "validate", "-s", "dev", "-c", "api"])
        .ok();
    let list = p
        .run(&["secret", "list", "-s", "dev", "--format", "csv", "--verify"])
        .ok();
    assert!(
        list.stdout
            .contains("DB_PASSWORD,instance,store:gh,initialized"),
        "{}",
        list.stdout
    );
    // Values are not readable outside a runner…
    p.run(&[
        "secret",
        "get",
        "DB_PASSWORD",
        "-s",
        "dev",
        "-c",
        "api",
        "--mask=false",
    ])
    .code(1)
    .stderr_has("only readable inside a GitHub Actions runner")
    .stderr_has("secrets.ATMOS_DB_PASSWORD");
    // …and inside one they come from the job's environment.
    let r = p
        .atmos(&[
            "secret",
            "get",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--mask=false",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("ATMOS_DB_PASSWORD", "from-the-runner")
        .run()
        .ok();
    assert_eq!(r.stdout.trim_end(), "from-the-runner");
    // Delete removes it; deleting again is fine.
    for _ in 0..2 {
        p.run(&[
            "secret",
            "delete",
            "DB_PASSWORD",
            "-s",
            "dev",
            "-c",
            "api",
            "--force",
        ])
        .ok();
    }
    assert!(gh.fake.state()["repo"].get("ATMOS_DB_PASSWORD").is_none());

    // Environment secrets use the environment's scope.
    let env = gh.project(", environment: prod");
    env.set("STACK_TOKEN", "env-scoped", "dev", "api");
    assert_eq!(
        gh.opened("env:prod", "STACK_TOKEN").as_deref(),
        Some("env-scoped")
    );

    // Token chain: a wrong token is rejected with a hint; no token at all says where to set one.
    let mut wrong = gh.project("");
    wrong.env("GITHUB_TOKEN", "nope");
    wrong
        .run(&["secret", "set", "STACK_TOKEN=x", "-s", "dev", "-c", "api"])
        .code(1)
        .stderr_has("store `gh`")
        .stderr_has("HTTP 401");
    let mut none = gh.project("");
    none.env("GITHUB_TOKEN", "");
    let r = none
        .atmos(&["secret", "set", "STACK_TOKEN=x", "-s", "dev", "-c", "api"])
        .env("PATH", "/nonexistent")
        .run()
        .code(1)
        .stderr_has("no GitHub token found");
    assert!(!r.stderr.contains(TOKEN));
    // `options.token` wins over the environment.
    let mut opt = gh.project(&format!(", token: {TOKEN}"));
    opt.env("GITHUB_TOKEN", "nope");
    opt.set("STACK_TOKEN", "via-option", "dev", "api");
    assert_eq!(
        gh.opened("repo", "STACK_TOKEN").as_deref(),
        Some("via-option")
    );
}
