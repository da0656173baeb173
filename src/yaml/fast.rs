//! Owns the fast path of [`super::parse`]: a line-based reader for the plain block YAML that
//! stack manifests are mostly made of, which answers `None` the moment a document steps outside
//! that subset, so the full event parser reads it instead.
//!
//! Why it exists: a command about one stack still names every top-level manifest, and a
//! manifest of a few lines costs the event parser ~60k instructions (tokens and events are
//! large values moved through a state machine). This reader builds the same [`Node`] tree in a
//! fraction of that, and only for input whose meaning is unambiguous:
//!
//! - printable ASCII and `\n` only (no tabs, no `\r`, no byte-order mark, nothing non-ASCII);
//! - block mappings with simple keys (`[A-Za-z0-9_][A-Za-z0-9_./-]*`), block sequences
//!   (including `- key: value` items and sequences at their key's indentation);
//! - single-line values: plain scalars, single- and double-quoted strings without escapes,
//!   one-line flow mappings and sequences of those;
//! - full-line and trailing comments, blank lines, one leading `---`.
//!
//! Anything else (tags, anchors, aliases, merge keys, block scalars, multi-line scalars,
//! escapes, quoted keys, directives, several documents, duplicate keys, every syntax error)
//! returns `None`, so errors and their line numbers always come from the event parser. Plain
//! scalars and keys resolve through the same [`resolve_plain`] the event path uses. The tests
//! hold the two paths equal on every YAML file of the repository and on generated documents.

use super::{Map, Node, resolve_plain};

/// One line with content: its indentation and its text after the indentation, trailing spaces
/// removed. Blank and comment-only lines are dropped up front (no multi-line scalar can hold
/// them here).
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// Reads `text` when it is inside the subset, `None` otherwise.
pub(super) fn parse(text: &str) -> Option<Node> {
    if !text
        .bytes()
        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b))
    {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 16);
    for raw in text.split('\n') {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        lines.push(Line {
            indent: raw.len() - content.len(),
            text: content.trim_end_matches(' '),
        });
    }
    let start = usize::from(lines.first().is_some_and(|first| {
        first.indent == 0 && (first.text == "---" || first.text.starts_with("--- #"))
    }));
    let mut reader = Reader { lines, pos: start };
    let Some(first) = reader.lines.get(start).copied() else {
        return Some(Node::Null);
    };
    let root = reader.block(first.indent)?;
    (reader.pos == reader.lines.len()).then_some(root)
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }

    /// The block collection whose first line is the current one, at indentation `indent`.
    fn block(&mut self, indent: usize) -> Option<Node> {
        let line = self.peek()?;
        if is_item(line.text) {
            self.seq(indent)
        } else {
            self.map(indent)
        }
    }

    fn map(&mut self, indent: usize) -> Option<Node> {
        let mut map = Map::default();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.text) {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.pos += 1;
            let value = self.value_after(indent, rest)?;
            match map.entry(key) {
                indexmap::map::Entry::Occupied(_) => return None,
                indexmap::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
            }
        }
        Some(Node::Map(map))
    }

    /// The value of a key at `indent` whose line continues with `rest` (empty or starting with a
    /// space).
    fn value_after(&mut self, indent: usize, rest: &str) -> Option<Node> {
        let rest = rest.trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            return match self.peek() {
                Some(next) if next.indent > indent => self.block(next.indent),
                Some(next) if next.indent == indent && is_item(next.text) => self.seq(indent),
                _ => Some(Node::Null),
            };
        }
        let value = inline(rest)?;
        self.no_continuation(indent)?;
        Some(value)
    }

    /// `None` when the next line is indented past `indent`: it would continue a one-line value.
    fn no_continuation(&self, indent: usize) -> Option<()> {
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(()),
        }
    }

    fn seq(&mut self, indent: usize) -> Option<Node> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_item(line.text) {
                break;
            }
            let rest = line.text[1..].trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with('#') {
                self.pos += 1;
                items.push(match self.peek() {
                    Some(next) if next.indent > indent => self.block(next.indent)?,
                    _ => Node::Null,
                });
            } else if is_item(rest) || split_key(rest).is_some() {
                // `- - x` or `- key: value`: the nested collection starts at the column of
                // `rest`, with this line as its first line.
                let column = indent + line.text.len() - rest.len();
                self.lines[self.pos] = Line {
                    indent: column,
                    text: rest,
                };
                items.push(self.block(column)?);
            } else {
                self.pos += 1;
                items.push(inline(rest)?);
                self.no_continuation(indent)?;
            }
        }
        Some(Node::Seq(items))
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Whether `b` may appear in a simple key.
fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

/// `key: rest` with a simple key: the key as the event path would store it, and the text after
/// the colon (empty or starting with a space).
fn split_key(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return None;
    }
    let end = bytes.iter().position(|&b| !key_byte(b))?;
    // Implicit keys are limited to 1024 characters.
    if bytes[end] != b':' || end > 1024 {
        return None;
    }
    let rest = &text[end + 1..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key_text(&text[..end]), rest))
}

/// A plain key resolved as a scalar and turned back into the text the event path keys maps by.
fn key_text(key: &str) -> String {
    super::scalar_key(resolve_plain(key)).unwrap_or_default()
}

/// A one-line value in block context: a flow collection, a quoted string or a plain scalar,
/// optionally followed by a comment.
fn inline(text: &str) -> Option<Node> {
    match text.as_bytes()[0] {
        b'{' | b'[' => {
            let mut pos = 0;
            let node = flow_value(text, &mut pos)?;
            tail_ok(&text[pos..]).then_some(node)
        }
        b'"' | b'\'' => {
            let (value, used) = quoted(text)?;
            tail_ok(&text[used..]).then_some(Node::Str(value))
        }
        _ => {
            let scalar = match comment_start(text) {
                Some(i) => text[..i].trim_end_matches(' '),
                None => text,
            };
            plain_ok(scalar).then(|| resolve_plain(scalar))
        }
    }
}

/// What may follow a closed value on its line: nothing, or spaces and a comment.
fn tail_ok(tail: &str) -> bool {
    let trimmed = tail.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.len() < tail.len() && trimmed.starts_with('#'))
}

/// Whether `s` is a plain scalar in block context that means the same to every YAML reader.
fn plain_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let first_ok = match first {
        b'-' => bytes.get(1).is_some_and(|b| b.is_ascii_alphanumeric()),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => false,
        _ => true,
    };
    first_ok && !s.ends_with(':') && !has_pair(bytes, b':', b' ')
}

/// Where ` #` starts a comment in `text`, if it does.
fn comment_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'#' && bytes[i - 1] == b' ')
}

/// Whether `first` is directly followed by `second` somewhere in `bytes` (byte loops: a
/// substring search builds a searcher per call, which costs more than these short scalars).
fn has_pair(bytes: &[u8], first: u8, second: u8) -> bool {
    bytes.windows(2).any(|w| w[0] == first && w[1] == second)
}

/// A single- or double-quoted string that closes on this line, without escapes; its value and
/// the bytes it used.
fn quoted(text: &str) -> Option<(String, usize)> {
    let quote = text.as_bytes()[0];
    let body = &text[1..];
    if quote == b'"' {
        let end = body.find(['"', '\\'])?;
        if body.as_bytes()[end] == b'\\' {
            return None;
        }
        return Some((body[..end].to_owned(), end + 2));
    }
    let mut value = String::new();
    let mut rest = body;
    let mut used = 1;
    loop {
        let end = rest.find('\'')?;
        value.push_str(&rest[..end]);
        if rest.as_bytes().get(end + 1) == Some(&b'\'') {
            value.push('\'');
            rest = &rest[end + 2..];
            used += end + 2;
        } else {
            return Some((value, used + end + 1));
        }
    }
}

fn skip_spaces(text: &str, pos: &mut usize) {
    while text.as_bytes().get(*pos) == Some(&b' ') {
        *pos += 1;
    }
}

/// A value inside a one-line flow collection, starting at `*pos`.
fn flow_value(text: &str, pos: &mut usize) -> Option<Node> {
    skip_spaces(text, pos);
    match *text.as_bytes().get(*pos)? {
        b'{' => flow_map(text, pos),
        b'[' => flow_seq(text, pos),
        b'"' | b'\'' => {
            let (value, used) = quoted(&text[*pos..])?;
            *pos += used;
            Some(Node::Str(value))
        }
        _ => {
            let start = *pos;
            let len = text[start..]
                .bytes()
                .position(|b| matches!(b, b',' | b']' | b'}'))?;
            let scalar = text[start..start + len].trim_end_matches(' ');
            // No colons (flow keys, URLs), comments, nested openers or quotes inside.
            if !plain_ok(scalar) || scalar.bytes().any(|b| b"#:[{\"'".contains(&b)) {
                return None;
            }
            *pos = start + len;
            Some(resolve_plain(scalar))
        }
    }
}

/// `{key: value, ...}` on one line, `*pos` at the `{`.
fn flow_map(text: &str, pos: &mut usize) -> Option<Node> {
    let mut map = Map::default();
    if opened_empty(text, pos, b'}') {
        return Some(Node::Map(map));
    }
    loop {
        // The same simple keys as in block context, always followed by `: ` here.
        let (key, rest) = split_key(&text[*pos..])?;
        if rest.is_empty() {
            return None;
        }
        *pos = text.len() - rest.len();
        let value = flow_value(text, pos)?;
        match map.entry(key) {
            indexmap::map::Entry::Occupied(_) => return None,
            indexmap::map::Entry::Vacant(slot) => {
                slot.insert(value);
            }
        }
        if closed(text, pos, b'}')? {
            return Some(Node::Map(map));
        }
    }
}

/// Steps past the opening bracket at `*pos`; whether `close` follows at once (an empty
/// collection, consumed).
fn opened_empty(text: &str, pos: &mut usize, close: u8) -> bool {
    *pos += 1;
    skip_spaces(text, pos);
    let empty = text.as_bytes().get(*pos) == Some(&close);
    if empty {
        *pos += 1;
    }
    empty
}

/// After a flow entry: `Some(true)` at the closing `close` (consumed), `Some(false)` after a
/// comma with another entry to come, `None` for anything else (a trailing comma, an empty
/// entry, a stray character).
fn closed(text: &str, pos: &mut usize, close: u8) -> Option<bool> {
    let bytes = text.as_bytes();
    skip_spaces(text, pos);
    let at = *bytes.get(*pos)?;
    *pos += 1;
    if at == close {
        return Some(true);
    }
    if at != b',' {
        return None;
    }
    skip_spaces(text, pos);
    let next = *bytes.get(*pos)?;
    (next != close && next != b',').then_some(false)
}

/// `[value, ...]` on one line, `*pos` at the `[`.
fn flow_seq(text: &str, pos: &mut usize) -> Option<Node> {
    let mut items = Vec::new();
    if opened_empty(text, pos, b']') {
        return Some(Node::Seq(items));
    }
    loop {
        items.push(flow_value(text, pos)?);
        if closed(text, pos, b']')? {
            return Some(Node::Seq(items));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths on `text`: when the fast path answers, the event parser must give the same
    /// tree. Returns whether the fast path answered.
    fn agree(text: &str) -> bool {
        let Some(fast) = parse(text) else {
            return false;
        };
        match super::super::parse_events(text, "t") {
            Ok(full) => assert_eq!(
                format!("{fast:?}"),
                format!("{full:?}"),
                "the paths differ on:\n{text}"
            ),
            Err(e) => panic!("the fast path accepted what the event parser rejects ({e}):\n{text}"),
        }
        true
    }

    #[test]
    fn reads_the_manifest_shapes_it_is_for() {
        let cases = [
            "import:\n  - catalog/all\nvars:\n  tenant: t07\n  owner: team-7\n",
            "---\n# c\nvars: # c\n  stage: dev   # c\n\nsettings:\n  tier: dev\n",
            "secrets:\n  vars:\n    TOKEN: {sops: local-sops, required: true, description: a b}\n",
            "list:\n- a\n- b: 1\n  c: [x, 'it''s', \"q\", {}, []]\n- - n\n  - m\nnext: ~\n",
            "a:\n  -\n    b: 1\n  - # c\n  -\nz: 0x1F\ny: 1_000\nx: -1\nw: .5\nv: 1e3\nu: yes\n",
            "  indented: root\n  second: 2\n",
            "1: one\ntrue: t\nnull: n\n0x10: h\n",
            "",
            "# only a comment\n",
            "url: http://example.com/a:b\ncsv: a,b]\nhash: a#b\n",
        ];
        for text in cases {
            assert!(agree(text), "the fast path should read:\n{text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_event_parser() {
        let cases = [
            "a: !env X\n",
            "a: &x 1\nb: *x\n",
            "<<: {a: 1}\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: multi\n  line\n",
            "a: \"esc\\n\"\n",
            "a: \"open\n  close\"\n",
            "\"quoted key\": 1\n",
            "a: 1\na: 2\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: caf\u{e9}\n",
            "a: 1\n---\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: b: c\n",
            "a: b:\n",
            "a:b\n",
            "a : b\n",
            "a: {b: 1,}\n",
            "a: [1, ]\n",
            "a: {b:1}\n",
            "a: [a: b]\n",
            "a: {b: c\n  }\n",
            "a: - b\n",
            "- a\nb: 1\n",
            "a:\n  b: 1\n c: 2\n",
            "- a: 1\n b: 2\n",
            "plain scalar\n",
            "a: 'x' y\n",
            "a: \"x\"#y\n",
            "? a\n: b\n",
        ];
        for text in cases {
            assert!(
                parse(text).is_none(),
                "the fast path should decline:\n{text}"
            );
        }
    }

    /// Every YAML file in the repository (fixtures copied from upstream atmos, test projects,
    /// SOPS vectors): where the fast path answers, it answers what the event parser does.
    #[test]
    fn agrees_with_the_event_parser_on_every_repository_yaml_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        crate::fsx::yaml_files(&root.join("fixtures"), &mut files);
        crate::fsx::yaml_files(&root.join("tests"), &mut files);
        let (mut read, mut total) = (0, 0);
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            total += 1;
            if agree(&text) {
                read += 1;
            }
        }
        assert!(
            total > 100,
            "expected the repository's YAML corpus, found {total} files"
        );
        // The subset is the common case, or the fast path is not worth having.
        assert!(
            read * 2 > total,
            "the fast path read only {read} of {total} files"
        );
    }

    /// Generated documents mixing the subset with the constructs it must decline, in random
    /// layouts (a fixed seed, a bounded count).
    #[test]
    fn agrees_with_the_event_parser_on_generated_documents() {
        const KEYS: &[&str] = &[
            "a", "b", "c", "1", "01", "true", "null", "~", "0x10", "1.0", "a.b", "a/b", "a-b",
            "_x", "-x", "\"q\"", "a b", "<<", "? a", "yes",
        ];
        const SCALARS: &[&str] = &[
            "a",
            "true",
            "yes",
            "1",
            "0x1F",
            "1_000",
            "-1",
            "+2",
            ".5",
            "1e3",
            "~",
            "null",
            "a:b",
            "a: b",
            "a #c",
            "a#c",
            "\"q\"",
            "'it''s'",
            "\"a\\b\"",
            "{a: 1}",
            "[a, b]",
            "{}",
            "[]",
            "{a: 1,}",
            "[a,]",
            "{a: [b, {c: d}]}",
            "[\"x\", 'y', z w]",
            "- x",
            "-x",
            "---",
            "...",
            "&a x",
            "*a",
            "!t x",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            "?x",
            "? x",
            ":x",
            "http://x",
            "a,b",
            "a]",
            "x:",
            "<<",
            ",x",
            "'open",
            "\"open",
            "{a: b",
            "0o17",
            "0b1",
            "-.inf",
            "1_0.5",
            "0777",
            "9223372036854775808",
            "a  b",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut accepted = 0;
        for _ in 0..4000 {
            let mut doc = String::new();
            // (indent, kind): the open collections; kind 0 = map, 1 = seq.
            let mut open: Vec<(usize, u8)> = vec![(0, next(4).min(1) as u8)];
            for _ in 0..1 + next(12) {
                let (indent, kind) = *open.last().unwrap();
                let pad = " ".repeat(indent);
                match next(10) {
                    0 => doc.push_str(&format!("{pad}# note\n")),
                    1 => doc.push('\n'),
                    _ => {}
                }
                let head = if kind == 0 {
                    format!("{pad}{}:", KEYS[next(KEYS.len())])
                } else if next(3) == 0 {
                    format!("{pad}- {}:", KEYS[next(KEYS.len())])
                } else {
                    format!("{pad}-")
                };
                match next(6) {
                    // Open a nested collection, sometimes at an odd indentation.
                    0 | 1 => {
                        doc.push_str(&head);
                        doc.push('\n');
                        let step = [0, 1, 2, 2, 2, 4][next(6)];
                        let item_offset =
                            if head.trim_start().starts_with("- ") && head.ends_with(':') {
                                2
                            } else {
                                0
                            };
                        open.push((indent + item_offset + step, next(2) as u8));
                    }
                    // Close one level.
                    2 if open.len() > 1 => {
                        open.pop();
                    }
                    _ => {
                        let tail = if next(8) == 0 { " # c" } else { "" };
                        doc.push_str(&format!("{head} {}{tail}\n", SCALARS[next(SCALARS.len())]));
                    }
                }
            }
            if agree(&doc) {
                accepted += 1;
            }
        }
        assert!(
            accepted > 400,
            "only {accepted} generated documents took the fast path"
        );
    }
}
