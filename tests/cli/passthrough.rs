//! Living beside the Go atmos: unknown commands are handed to it with the same argv, stdio,
//! environment and exit status; without one, exit 127 and a message; never to ourselves.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::TestContext;

/// A stand-in Go atmos that prints its argv and one variable, and exits with `code`.
fn stand_in(dir: &Path, code: i32) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("atmos");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nprintf 'go-atmos argv:'\nfor a in \"$@\"; do printf ' [%s]' \"$a\"; done\nprintf '\\nKEEP=%s depth=%s\\n' \"$KEEP\" \"$ATMOS_GO_PASSTHROUGH_DEPTH\"\necho to-stderr >&2\nexit {code}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A directory holding `atmos` as a symlink to this binary (as if installed on PATH).
fn self_on_path(p: &TestContext) -> PathBuf {
    let dir = p.join("self-bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_atmos"), dir.join("atmos")).unwrap();
    dir
}

fn path_of(dirs: &[&Path]) -> String {
    let mut parts: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    parts.push("/usr/bin:/bin".to_owned());
    parts.join(":")
}

#[test]
fn unknown_commands_reach_the_go_atmos_later_on_path_with_argv_env_and_exit_code() {
    let mut p = TestContext::fixture("quickstart");
    let me = self_on_path(&p);
    let go = p.join("go-bin");
    stand_in(&go, 3);
    p.env("PATH", &path_of(&[&me, &go]));
    p.env("KEEP", "kept-value");
    let r = p.run(&["terraform", "plan", "api", "-s", "dev"]).code(3);
    assert_eq!(
        r.stdout,
        "go-atmos argv: [terraform] [plan] [api] [-s] [dev]\nKEEP=kept-value depth=1\n"
    );
    assert_eq!(r.stderr, "to-stderr\n");
    // Global flags before the command and unknown `describe` verbs go through untouched too.
    let r = p
        .run(&[
            "--logs-level",
            "Off",
            "describe",
            "affected",
            "--ref",
            "main",
        ])
        .code(3);
    assert!(
        r.stdout.starts_with(
            "go-atmos argv: [--logs-level] [Off] [describe] [affected] [--ref] [main]\n"
        ),
        "{}",
        r.stdout
    );
    // Upstream global flags we do not define, before the command, do not stop the hand-over.
    let r = p
        .run(&[
            "--pager=false",
            "--profiler-port",
            "6060",
            "--force-tty",
            "-C",
            ".",
            "terraform",
            "plan",
        ])
        .code(3);
    assert!(
        r.stdout.starts_with(
            "go-atmos argv: [--pager=false] [--profiler-port] [6060] [--force-tty] [-C] [.] [terraform] [plan]\n"
        ),
        "{}",
        r.stdout
    );
    // …but an unknown flag before one of our commands is still a usage error.
    p.run(&["--pager", "secret", "list"])
        .code(2)
        .stderr_has("unexpected argument '--pager'");
    // Our own commands stay ours.
    let r = p.run(&["describe", "stacks", "-f", "json"]).ok();
    assert!(r.stdout.contains("\"dev\""), "{}", r.stdout);
}

#[test]
fn go_binary_variable_wins_and_exit_zero_passes_through() {
    let mut p = TestContext::fixture("quickstart");
    let go = stand_in(&p.join("elsewhere"), 0);
    p.env("PATH", "/usr/bin:/bin");
    p.env("ATMOS_GO_BINARY", go.to_str().unwrap());
    let r = p.run(&["workflow", "deploy", "-f", "x"]).ok();
    assert!(
        r.stdout
            .starts_with("go-atmos argv: [workflow] [deploy] [-f] [x]\n"),
        "{}",
        r.stdout
    );
    // `version` shows both.
    let r = p.run(&["version"]).ok();
    assert!(r.stdout.starts_with("atmos 0."), "{}", r.stdout);
    assert!(
        r.stdout.contains("go atmos (") && r.stdout.contains("go-atmos argv: [version]"),
        "{}",
        r.stdout
    );
}

#[test]
fn without_a_go_atmos_exit_127_says_what_this_binary_provides() {
    let mut p = TestContext::fixture("quickstart");
    let me = self_on_path(&p);
    p.env("PATH", &path_of(&[&me]));
    let r = p
        .run(&["terraform", "plan", "api", "-s", "dev"])
        .code(127)
        .stderr_has("`atmos terraform` is not implemented by this binary")
        .stderr_has("`secret`")
        .stderr_has("hint: set `ATMOS_GO_BINARY=");
    assert!(r.stdout.is_empty());
    // A typo of our own command gets a suggestion.
    p.run(&["secrte", "list"])
        .code(127)
        .stderr_has("did you mean `secret`?");
    // `version` shows only ours.
    let r = p.run(&["version"]).ok();
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
}

#[test]
fn a_bare_go_binary_name_means_the_other_atmos_on_path() {
    let mut p = TestContext::fixture("quickstart");
    let me = self_on_path(&p);
    let go = p.join("go-bin");
    stand_in(&go, 4);
    p.env("PATH", &path_of(&[&me, &go]));
    p.env("ATMOS_GO_BINARY", "atmos");
    let r = p.run(&["list", "stacks"]).code(4);
    assert!(
        r.stdout.starts_with("go-atmos argv: [list] [stacks]\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn go_binary_naming_this_binary_is_refused() {
    let mut p = TestContext::fixture("quickstart");
    let me = self_on_path(&p);
    p.env("PATH", "/usr/bin:/bin");
    p.env("ATMOS_GO_BINARY", me.join("atmos").to_str().unwrap());
    p.run(&["terraform", "plan"])
        .code(1)
        .stderr_has("names this binary");
}

#[test]
fn a_wrapper_calling_us_back_is_stopped_as_a_loop() {
    let mut p = TestContext::fixture("quickstart");
    let me = self_on_path(&p);
    // A wrapper named `atmos` that runs `atmos` again: found first, it calls this binary back.
    let wrap = p.join("wrap");
    std::fs::create_dir_all(&wrap).unwrap();
    std::fs::write(
        wrap.join("atmos"),
        format!("#!/bin/sh\nexec {}/atmos \"$@\"\n", me.display()),
    )
    .unwrap();
    std::fs::set_permissions(wrap.join("atmos"), std::fs::Permissions::from_mode(0o755)).unwrap();
    p.env("PATH", &path_of(&[&me, &wrap]));
    p.run(&["terraform", "plan"])
        .code(1)
        .stderr_has("pass-through loop");
}
