//! Owns stdin and interactive prompts: hidden value entry, yes/no confirmation, picking from a
//! list, and reading piped input whole. Prompts show their questions through
//! [`crate::printer::show_prompt`] (stderr, never a value) and read stdin; callers ask
//! [`interactive`] first, so prompts only appear when stdin and stderr are terminals, `CI` is
//! unset and `--interactive` is not false.

use std::io::{BufRead, IsTerminal};

use zeroize::Zeroizing;

use crate::printer::show_prompt as show;

/// Whether prompting is allowed.
pub fn interactive(flag: Option<bool>) -> bool {
    flag.unwrap_or(true)
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && crate::env::var(crate::env::CI).is_none()
}

fn read_line() -> std::io::Result<String> {
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line)?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "input closed",
        ));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Asks a yes/no question; default no.
pub fn confirm(question: &str) -> std::io::Result<bool> {
    show(&format!("{question} [y/N] "))?;
    let answer = read_line()?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Lets the user pick one of `items` by number or exact name.
pub fn select(title: &str, items: &[String]) -> std::io::Result<String> {
    let mut menu = format!("{title}\n");
    for (i, item) in items.iter().enumerate() {
        menu.push_str(&format!("  {:>2}) {item}\n", i + 1));
    }
    show(&menu)?;
    for _ in 0..5 {
        show("> ")?;
        let answer = read_line()?;
        let answer = answer.trim();
        if let Ok(n) = answer.parse::<usize>()
            && (1..=items.len()).contains(&n)
        {
            return Ok(items[n - 1].clone());
        }
        if let Some(hit) = items.iter().find(|i| i.as_str() == answer) {
            return Ok(hit.clone());
        }
        show(&format!("choose a number from 1 to {}\n", items.len()))?;
    }
    Err(std::io::Error::other("no valid choice after 5 attempts"))
}

/// Reads a value without echoing it.
pub fn hidden(question: &str) -> std::io::Result<Zeroizing<String>> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    show(&format!("{question}: "))?;
    let saved = tcgetattr(&stdin).map_err(std::io::Error::other)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(std::io::Error::other)?;
    let line = read_line();
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    line.map(Zeroizing::new)
}

/// Reads all of stdin (`--stdin`, `-` as a file name, piped `init` input).
pub fn read_stdin() -> crate::error::Result<Zeroizing<String>> {
    use std::io::Read;
    let mut buf = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| crate::error::Error::new(format!("failed to read stdin: {e}")))?;
    Ok(buf)
}
