//! `--help` of every command and subcommand, as the built binary prints it, held as `insta`
//! snapshots (`snapshots/`). The command list is walked from the clap tree itself, so a new
//! subcommand gets a snapshot (and a failing test until it is reviewed and committed).

use clap::CommandFactory;

use crate::support::TestContext;

/// Every command path below the root (`[]`, `["secret"]`, `["secret", "get"]`, …), hidden ones
/// left out.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            path.push(sub.get_name().to_owned());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(
        &atmos_secrets::cli::Cli::command(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

#[test]
fn help_of_every_command_matches_its_snapshot() {
    let paths = command_paths();
    assert!(
        paths.len() >= 20,
        "the clap tree walk found only {} commands",
        paths.len()
    );
    let p = TestContext::empty();
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let r = p.run(&args).ok();
        assert!(r.stderr.is_empty(), "atmos {args:?}: {}", r.stderr);
        let name = std::iter::once("atmos")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("_");
        insta::with_settings!({
            description => format!("atmos {}", args.join(" ")),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, r.stdout);
        });
    }
}
