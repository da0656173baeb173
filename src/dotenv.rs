//! Owns the one dotenv dialect used by `secret push`, `import`, `init --input` and `pull`.
//!
//! Reading: blank lines and `#` comments are skipped, `export ` is stripped, the key ends at the
//! first `=`. Values may be unquoted (an unquoted ` #` starts a comment; surrounding space is
//! trimmed), single-quoted (literal), or double-quoted (escapes `\n \r \t \\ \" \$ \``; may span
//! lines). Lines without `=` are skipped, as atmos does.
//!
//! Writing quotes only when needed, so that [`parse`] gives back exactly what [`render`] got
//! (round-trip tested).

use std::fmt::Write as _;

use zeroize::Zeroizing;

/// A parse error with its 1-based line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct DotenvError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One parsed entry. The value is zeroed on drop.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// Variable name.
    pub key: String,
    /// Value (secret).
    pub value: Zeroizing<String>,
}

/// Parses dotenv text into entries in file order (later duplicates are kept; callers decide).
pub fn parse(text: &str) -> Result<Vec<Entry>, DotenvError> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        let Some((key, rest)) = body.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(DotenvError {
                line: line_no,
                message: "missing variable name before `=`".into(),
            });
        }
        // A name with a space (`export export B=x` leaves `export B`) cannot be written back
        // (`render` would print `export B=x`, read as `B`): found by the `dotenv` fuzz target.
        if key.contains(char::is_whitespace) {
            return Err(DotenvError {
                line: line_no,
                message: format!("invalid variable name `{key}`: it contains a space"),
            });
        }
        // `export #x=1` leaves `#x`, which `render` would write as a comment; a control
        // character cannot go into an environment. Both found by the `dotenv` fuzz target.
        if key.starts_with('#') {
            return Err(DotenvError {
                line: line_no,
                message: format!("invalid variable name `{key}`: it starts with `#`"),
            });
        }
        if key.contains(char::is_control) {
            return Err(DotenvError {
                line: line_no,
                message: format!(
                    "invalid variable name `{}`: it contains a control character",
                    key.escape_debug()
                ),
            });
        }
        let rest = rest.trim_start();
        let value = if let Some(q) = rest.strip_prefix('"') {
            // Double-quoted: may continue on following lines until an unescaped quote.
            let mut buf = Zeroizing::new(String::new());
            let mut current = q.to_owned();
            loop {
                if let Some(end) = parse_double(&current, &mut buf) {
                    let tail = current[end..].trim();
                    if !(tail.is_empty() || tail.starts_with('#')) {
                        return Err(DotenvError {
                            line: line_no,
                            message: format!("unexpected text after the closing quote of `{key}`"),
                        });
                    }
                    break;
                }
                if i >= lines.len() {
                    return Err(DotenvError {
                        line: line_no,
                        message: format!("unterminated double quote in the value of `{key}`"),
                    });
                }
                buf.push('\n');
                current = lines[i].strip_suffix('\r').unwrap_or(lines[i]).to_owned();
                i += 1;
            }
            buf
        } else if let Some(q) = rest.strip_prefix('\'') {
            let Some(end) = q.find('\'') else {
                return Err(DotenvError {
                    line: line_no,
                    message: format!("unterminated single quote in the value of `{key}`"),
                });
            };
            let tail = q[end + 1..].trim();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err(DotenvError {
                    line: line_no,
                    message: format!("unexpected text after the closing quote of `{key}`"),
                });
            }
            Zeroizing::new(q[..end].to_owned())
        } else {
            let cut = rest
                .char_indices()
                .find(|&(idx, c)| c == '#' && idx > 0 && rest[..idx].ends_with([' ', '\t']))
                .map_or(rest.len(), |(idx, _)| idx);
            Zeroizing::new(rest[..cut].trim().to_owned())
        };
        out.push(Entry {
            key: key.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// Appends the unescaped content of a double-quoted segment to `buf`; returns the byte offset
/// just past the closing quote, or `None` when the line ends first.
fn parse_double(s: &str, buf: &mut String) -> Option<usize> {
    let mut chars = s.char_indices();
    while let Some((idx, c)) = chars.next() {
        match c {
            '"' => return Some(idx + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => buf.push('\n'),
                Some((_, 'r')) => buf.push('\r'),
                Some((_, 't')) => buf.push('\t'),
                Some((_, e @ ('"' | '\\' | '$' | '`'))) => buf.push(e),
                Some((_, other)) => {
                    buf.push('\\');
                    buf.push(other);
                }
                None => buf.push('\\'),
            },
            other => buf.push(other),
        }
    }
    None
}

/// Renders `KEY=value` lines; values are quoted only when needed.
pub fn render<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for (key, value) in entries {
        let _ = writeln!(out, "{key}={}", quote(value).as_str());
    }
    out
}

fn quote(value: &str) -> Zeroizing<String> {
    let plain = !value.is_empty()
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '_' | '-' | '.' | '/' | ':' | '@' | ',' | '+' | '=' | '%' | '^'
                )
        });
    if plain || value.is_empty() {
        return Zeroizing::new(value.to_owned());
    }
    if !value.contains(['\'', '\n', '\r']) {
        return Zeroizing::new(format!("'{value}'"));
    }
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '"' | '\\' | '$' | '`' => {
                s.push('\\');
                s.push(c);
            }
            other => s.push(other),
        }
    }
    s.push('"');
    Zeroizing::new(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value.to_string()))
            .collect()
    }

    #[test]
    fn dialect_cases() {
        let text = "# comment\n\nexport A=1\nB = two words # note\nC='single # not comment'\nD=\"x\\ny \\\"q\\\"\"\nE=a#b\nF=https://h/p#frag\nG=\"line1\nline2\"\nnoequals\nH=\nI=k=v\n";
        assert_eq!(
            kv(text),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "single # not comment".into()),
                ("D".into(), "x\ny \"q\"".into()),
                ("E".into(), "a#b".into()),
                ("F".into(), "https://h/p#frag".into()),
                ("G".into(), "line1\nline2".into()),
                ("H".into(), String::new()),
                ("I".into(), "k=v".into()),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("A=\"open\n").unwrap_err().line, 1);
        assert_eq!(parse("X=1\nA='open\n").unwrap_err().line, 2);
        assert_eq!(
            parse("=v\n").unwrap_err().message,
            "missing variable name before `=`"
        );
        assert!(parse("A=\"x\" trailing\n").is_err());
    }

    #[test]
    fn crlf_is_accepted() {
        assert_eq!(
            kv("A=1\r\nB=\"2\"\r\n"),
            vec![("A".into(), "1".into()), ("B".into(), "2".into())]
        );
    }

    proptest! {
        #[test]
        fn render_then_parse_round_trips(values in proptest::collection::vec("\\PC*|[ -~\\n\\t'\"\\\\$#]*", 1..8)) {
            let entries: Vec<(String, String)> = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("K{i}"), v))
                .collect();
            let text = render(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let back = kv(&text);
            // Unquoted values are trimmed by design, so only compare what render promises to keep.
            prop_assert_eq!(back, entries);
        }
    }
}
