//! exec and shell: environment layering, blocking on missing required secrets, exit codes and
//! signals.

use std::time::{Duration, Instant};

use crate::common::Project;

fn ready() -> Project {
    let p = Project::quickstart();
    p.set("DB_PASSWORD", "pw-exec", "dev", "api");
    p.set("SHARED_TOKEN", "tok", "dev", "api");
    p.set("LICENSE_KEY", "lic", "dev", "api");
    p
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
    let p = Project::quickstart();
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
    // Give atmos time to read secrets and start the child (bounded).
    std::thread::sleep(Duration::from_millis(1500));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "atmos did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143));
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
