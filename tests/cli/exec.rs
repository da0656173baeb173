//! exec and shell: environment layering, blocking on missing required secrets, exit codes and
//! signals.

use std::time::Duration;

use crate::support::{TestContext, wait_until};

fn ready() -> TestContext {
    TestContext::quickstart_api(["pw-exec", "tok", "lic"])
}

#[test]
fn environment_layers_and_values_are_not_masked() {
    let mut p = ready();
    // A process variable with a secret's name is replaced; others pass through.
    p.env("DB_PASSWORD", "from-parent");
    p.env("KEEP_ME", "kept");
    let r = p
        .run(&[
            "secret", "exec", "-s", "dev", "-c", "api", "--",
            "sh", "-c", "printf '%s|%s|%s|%s' \"$DB_PASSWORD\" \"$KEEP_ME\" \"$TF_IN_AUTOMATION\" \"$LICENSE_KEY\"",
        ])
        .ok();
    // The child's output is its own: never masked.
    assert_eq!(r.stdout, "pw-exec|kept|1|lic");
    r.stderr_has("Skipping `API_SIGNING_KEY`");
}

#[test]
fn missing_required_secret_blocks_the_child() {
    let p = TestContext::quickstart();
    p.set("DB_PASSWORD", "pw", "dev", "api");
    let marker = p.join("child-ran");
    let r = p
        .run(&[
            "secret",
            "exec",
            "-s",
            "dev",
            "-c",
            "api",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .code(1)
        .stderr_has("required secret(s) missing")
        .stderr_has("`SHARED_TOKEN`")
        .stderr_has("`LICENSE_KEY`");
    assert!(!marker.exists(), "the child must not start: {}", r.stderr);
}

#[test]
fn exit_codes_pass_through() {
    let p = ready();
    let exec = |cmd: &[&str]| {
        let mut a = vec!["secret", "exec", "-s", "dev", "-c", "api", "--"];
        a.extend_from_slice(cmd);
        p.run(&a)
    };
    exec(&["sh", "-c", "exit 7"]).code(7);
    exec(&["sh", "-c", "kill -TERM $$"]).code(143);
    exec(&["no-such-command-xyz"])
        .code(127)
        .stderr_has("command not found: `no-such-command-xyz`");
    p.run(&["secret", "exec", "-s", "dev", "-c", "api"])
        .code(2)
        .stderr_has("no command specified");
}

#[test]
fn sigterm_is_forwarded_to_the_child() {
    let p = ready();
    let mut child = p
        .command(&[
            "secret", "exec", "-s", "dev", "-c", "api", "--", "sleep", "30",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Signal only once atmos has read the secrets and started its child.
    let atmos_pid = child.id();
    wait_until("atmos to start `sleep 30`", Duration::from_secs(30), || {
        has_child(atmos_pid)
    });
    let pid = nix::unistd::Pid::from_raw(i32::try_from(atmos_pid).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut status = None;
    wait_until(
        "atmos to exit after SIGTERM",
        Duration::from_secs(10),
        || {
            status = child.try_wait().unwrap();
            status.is_some()
        },
    );
    assert_eq!(status.unwrap().code(), Some(143));
}

#[test]
fn shell_runs_with_shlvl_and_messages() {
    let p = ready();
    let r = p
        .run(&[
            "secret",
            "shell",
            "-s",
            "dev",
            "-c",
            "api",
            "--shell",
            "sh",
            "--",
            "-c",
            "printf '%s %s' \"$ATMOS_SHLVL\" \"$DB_PASSWORD\"; exit 3",
        ])
        .code(3);
    assert_eq!(r.stdout, "1 pw-exec");
    r.stderr_has("Entering shell with 4 secret(s) for component \"api\" in stack \"dev\"")
        .stderr_has("Exited shell for component \"api\" in stack \"dev\".");
    p.run(&["secret", "shell", "-s", "dev", "-c", "api", "zsh"])
        .code(2)
        .stderr_has("use `--shell` to choose a shell binary");
}

/// Whether process `pid` has a child yet (Linux `/proc`: the 4th field of `stat` is the ppid).
fn has_child(pid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| {
            // `pid (comm) state ppid …`; comm may hold spaces, so split after the last `)`.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .is_some_and(|ppid| ppid == pid.to_string())
        })
    })
}
