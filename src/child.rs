//! Owns running a child process for `secret exec` and `secret shell`: environment layering,
//! spawning, signal forwarding and exit-code pass-through.
//!
//! Exit codes: the child's own code; `128 + N` when it died from signal N; 127 when the command
//! was not found; 126 when it could not be executed.

use std::ffi::OsString;
use std::process::Stdio;

use crate::error::{Error, code};
use crate::secret_value::SecretString;
use crate::yaml::{Map, Node};

/// The environment a child gets: the process environment, then atmos.yaml `env:`, then secrets.
/// A later layer replaces an earlier variable of the same name in place; new names are appended.
pub fn layer_env(
    base: impl IntoIterator<Item = (OsString, OsString)>,
    config_env: &[(String, String)],
    secrets: &[(String, SecretString)],
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = base.into_iter().collect();
    let mut upsert = |k: &str, v: &str| {
        if let Some(slot) = env.iter_mut().find(|(name, _)| name == k) {
            slot.1 = v.into();
        } else {
            env.push((k.into(), v.into()));
        }
    };
    for (k, v) in config_env {
        upsert(k, v);
    }
    for (k, v) in secrets {
        upsert(k, v.expose());
    }
    env
}

/// A component value as an environment string: strings as they are, other scalars as their
/// YAML text, maps and lists as compact JSON (what terraform expects of `TF_VAR_*` for complex
/// types). `None` for null and for a YAML function that is still unresolved.
pub fn env_text(node: &Node) -> Option<String> {
    match node {
        Node::Null | Node::Tagged(_) => None,
        Node::Str(s) => Some(s.clone()),
        Node::Map(_) | Node::Seq(_) => serde_json::to_string(&crate::yaml::to_json(node)).ok(),
        other => other.scalar_text(),
    }
}

/// `TF_VAR_<name>` for every component var, as `atmos terraform` passes them (see
/// [`env_text`]); the names of vars that were skipped (null or unresolved functions) come second.
pub fn tf_vars(vars: &Map) -> (Vec<(String, String)>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (k, v) in vars {
        match env_text(v) {
            Some(text) => out.push((format!("TF_VAR_{k}"), text)),
            None => skipped.push(k.clone()),
        }
    }
    (out, skipped)
}

/// A component's `env:` section as variables (see [`env_text`]); skipped names come second.
pub fn env_section(env: &Map) -> (Vec<(String, String)>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (k, v) in env {
        match env_text(v) {
            Some(text) => out.push((k.clone(), text)),
            None => skipped.push(k.clone()),
        }
    }
    (out, skipped)
}

/// Runs `program args…` with exactly `env`, inheriting stdio, forwarding SIGTERM, SIGHUP,
/// SIGQUIT (and SIGINT when the terminal did not already deliver it), and returns the exit code
/// to pass through.
pub fn run(program: &str, args: &[String], env: Vec<(OsString, OsString)>) -> Result<u8, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the process runtime: {e}")))?;
    runtime.block_on(run_async(program, args, env))
}

async fn run_async(
    program: &str,
    args: &[String],
    env: Vec<(OsString, OsString)>,
) -> Result<u8, Error> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // Listen before the child exists: a SIGTERM that arrives while it is being spawned is then
    // queued and forwarded, instead of killing atmos and orphaning the child.
    let listen = |kind: SignalKind| signal(kind).ok();
    let mut term = listen(SignalKind::terminate());
    let mut hup = listen(SignalKind::hangup());
    let mut quit = listen(SignalKind::quit());
    let mut int = listen(SignalKind::interrupt());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(format!("command not found: `{program}`"))
                .with_hint("check the command name and that it is on `PATH`")
                .with_code(code::COMMAND_NOT_FOUND));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(
                Error::new(format!("command cannot be executed: `{program}`: {e}")).with_code(126),
            );
        }
        Err(e) => return Err(Error::new(format!("failed to start `{program}`: {e}"))),
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(()) = recv(&mut term) => forward(pid, nix::sys::signal::Signal::SIGTERM),
            Some(()) = recv(&mut hup) => forward(pid, nix::sys::signal::Signal::SIGHUP),
            Some(()) = recv(&mut quit) => forward(pid, nix::sys::signal::Signal::SIGQUIT),
            Some(()) = recv(&mut int) => {
                if !terminal_delivers_sigint() {
                    forward(pid, nix::sys::signal::Signal::SIGINT);
                }
            }
        }
    };
    let status = status.map_err(|e| Error::new(format!("failed waiting for `{program}`: {e}")))?;
    Ok(exit_code(status))
}

async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn forward(pid: Option<i32>, sig: nix::sys::signal::Signal) {
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
}

/// When we are the terminal's foreground process group, Ctrl-C already reached the child (same
/// group); forwarding it again would make tools like terraform cancel hard.
fn terminal_delivers_sigint() -> bool {
    nix::unistd::tcgetpgrp(std::io::stdin()).is_ok_and(|fg| fg == nix::unistd::getpgrp())
}

/// Maps a child's status to our exit code.
pub fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    if let Some(c) = status.code() {
        return u8::try_from(c & 0xff).unwrap_or(code::FAILURE);
    }
    if let Some(sig) = status.signal() {
        return u8::try_from(128 + sig).unwrap_or(code::FAILURE);
    }
    code::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_replace_in_place_and_append() {
        let base = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
        let env = layer_env(
            base,
            &[("B".into(), "cfg".into()), ("C".into(), "3".into())],
            &[
                ("A".into(), SecretString::from("s")),
                ("D".into(), SecretString::from("4")),
            ],
        );
        let flat: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        assert_eq!(
            flat,
            vec![
                ("A".into(), "s".into()),
                ("B".into(), "cfg".into()),
                ("C".into(), "3".into()),
                ("D".into(), "4".into()),
            ]
        );
    }

    #[test]
    fn exit_codes_pass_through() {
        let env: Vec<_> = std::env::vars_os().collect();
        assert_eq!(
            run("sh", &["-c".into(), "exit 7".into()], env.clone()).unwrap(),
            7
        );
        assert_eq!(
            run("sh", &["-c".into(), "kill -TERM $$".into()], env.clone()).unwrap(),
            143
        );
        let err = run("definitely-not-a-command-xyz", &[], env).unwrap_err();
        assert_eq!(err.exit_code(), 127);
    }
}
