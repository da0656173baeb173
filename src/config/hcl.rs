//! Owns reading HCL files (`.tfvars`, `.tf`, `.hcl`) into YAML nodes for `!include`, as atmos
//! does: attributes become keys, blocks nest by type and labels (`variable "x" { … }` →
//! `variable: {x: {…}}`). Only literal values are understood: strings (with escapes and
//! heredocs; `${…}` is kept as written), numbers, booleans, `null`, lists and objects. An
//! expression (a reference, a function call, arithmetic) is an error naming its line.

use crate::yaml::{Map, Node};

/// Parses the HCL `text` (from `origin`, for messages) into a map.
pub fn parse(text: &str, origin: &str) -> Result<Node, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        origin,
    };
    let body = p.body(None)?;
    Ok(Node::Map(body))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    origin: &'a str,
}

impl Parser<'_> {
    fn line(&self) -> usize {
        self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn err(&self, what: &str) -> String {
        format!(
            "invalid HCL in `{}` at line {}: {what}",
            self.origin,
            self.line()
        )
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips blanks and comments; newlines too when `newlines`.
    fn skip(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' if newlines => self.i += 1,
                b'#' => self.skip_line(),
                b'/' if self.s.get(self.i + 1) == Some(&b'/') => self.skip_line(),
                b'/' if self.s.get(self.i + 1) == Some(&b'*') => {
                    self.i += 2;
                    while self.i < self.s.len() && !self.s[self.i..].starts_with(b"*/") {
                        self.i += 1;
                    }
                    self.i = (self.i + 2).min(self.s.len());
                }
                _ => break,
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.i += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                self.i += 1;
            } else {
                break;
            }
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A body: attributes and blocks until `close` (or the end of the text).
    fn body(&mut self, close: Option<u8>) -> Result<Map, String> {
        let mut out = Map::default();
        loop {
            self.skip(true);
            match self.peek() {
                None if close.is_none() => return Ok(out),
                None => return Err(self.err("unexpected end of file, expected `}`")),
                Some(c) if Some(c) == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => {}
            }
            let name = match self.peek() {
                Some(b'"') => self.string()?,
                _ => self
                    .ident()
                    .ok_or_else(|| self.err("expected an attribute or block name"))?,
            };
            self.skip(false);
            if self.peek() == Some(b'=') {
                self.i += 1;
                self.skip(false);
                let v = self.value()?;
                out.insert(name, v);
                continue;
            }
            // A block: labels, then `{ body }`.
            let mut labels = Vec::new();
            while let Some(c) = self.peek() {
                if c == b'{' {
                    break;
                }
                let label = if c == b'"' {
                    self.string()?
                } else {
                    self.ident()
                        .ok_or_else(|| self.err("expected `=`, a block label or `{`"))?
                };
                labels.push(label);
                self.skip(false);
            }
            if self.peek() != Some(b'{') {
                return Err(self.err("expected `{`"));
            }
            self.i += 1;
            let inner = Node::Map(self.body(Some(b'}'))?);
            let slot = out.entry(name).or_insert_with(|| Node::Map(Map::default()));
            insert_block(slot, &labels, inner);
        }
    }

    fn value(&mut self) -> Result<Node, String> {
        match self.peek() {
            Some(b'"') => self.string().map(Node::Str),
            Some(b'<') if self.s[self.i..].starts_with(b"<<") => self.heredoc().map(Node::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip(true);
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Node::Seq(items));
                    }
                    items.push(self.value()?);
                    self.skip(true);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => return Err(self.err("expected `,` or `]` in a list")),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::default();
                loop {
                    self.skip(true);
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Node::Map(m));
                    }
                    let key = match self.peek() {
                        Some(b'"') => self.string()?,
                        _ => self
                            .ident()
                            .ok_or_else(|| self.err("expected an object key"))?,
                    };
                    self.skip(false);
                    match self.peek() {
                        Some(b'=' | b':') => self.i += 1,
                        _ => return Err(self.err("expected `=` or `:` after an object key")),
                    }
                    self.skip(false);
                    let v = self.value()?;
                    m.insert(key, v);
                    self.skip(false);
                    if self.peek() == Some(b',') {
                        self.i += 1;
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                if let Ok(i) = text.parse::<i64>() {
                    Ok(Node::Int(i))
                } else {
                    text.parse::<f64>()
                        .map(Node::Float)
                        .map_err(|_| self.err(&format!("invalid number `{text}`")))
                }
            }
            _ => {
                let word = self.ident().unwrap_or_default();
                match word.as_str() {
                    "true" => Ok(Node::Bool(true)),
                    "false" => Ok(Node::Bool(false)),
                    "null" => Ok(Node::Null),
                    "" => Err(self.err("expected a value")),
                    other => Err(self.err(&format!(
                        "`{other}…` is an expression; only literal values can be included"
                    ))),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\n' => return Err(self.err("unterminated string")),
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'u' | b'U' => {
                            let n = if e == b'u' { 4 } else { 8 };
                            let hex = self
                                .s
                                .get(self.i..self.i + n)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.err("invalid unicode escape"))?;
                            self.i += n;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(hex.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            return Err(self.err(&format!("invalid escape `\\{}`", other as char)));
                        }
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("a string is not UTF-8"))
    }

    /// `<<EOF` / `<<-EOF` (indented: the common leading whitespace is removed).
    fn heredoc(&mut self) -> Result<String, String> {
        self.i += 2;
        let indented = self.peek() == Some(b'-');
        if indented {
            self.i += 1;
        }
        let marker = self
            .ident()
            .ok_or_else(|| self.err("expected a heredoc marker"))?;
        self.skip_line();
        self.i += 1;
        let mut lines: Vec<String> = Vec::new();
        loop {
            if self.i >= self.s.len() {
                return Err(self.err(&format!("heredoc `{marker}` is not closed")));
            }
            let start = self.i;
            self.skip_line();
            let line = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            self.i = (self.i + 1).min(self.s.len());
            if line.trim() == marker {
                break;
            }
            lines.push(line);
        }
        if indented {
            let indent = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            for l in &mut lines {
                *l = l.get(indent..).unwrap_or("").to_owned();
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        Ok(text)
    }
}

fn insert_block(slot: &mut Node, labels: &[String], body: Node) {
    match labels.split_first() {
        None => {
            if let (Node::Map(m), Node::Map(b)) = (slot, body) {
                m.extend(b);
            }
        }
        Some((first, rest)) => {
            if let Node::Map(m) = slot {
                let next = m
                    .entry(first.clone())
                    .or_insert_with(|| Node::Map(Map::default()));
                insert_block(next, rest, body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn json(text: &str) -> serde_json::Value {
        yaml::to_json(&parse(text, "t.tfvars").expect("parses"))
    }

    #[test]
    fn tfvars_literals() {
        let v = json(
            "# c\nstring_var  = \"a\\\"b\"\nb = true\nn = -1.5\ni = 3\nlist = [\"a\", 1,\n null,]\nmap_var = {\n  a = 1\n  \"b\": 2, c = { d = \"x\" }\n}\n/* x */ h = <<-EOT\n    one\n      two\n  EOT\n",
        );
        assert_eq!(
            v,
            serde_json::json!({
                "string_var": "a\"b", "b": true, "n": -1.5, "i": 3,
                "list": ["a", 1, null], "map_var": {"a": 1, "b": 2, "c": {"d": "x"}},
                "h": "one\n  two\n"
            })
        );
    }

    #[test]
    fn blocks_nest_by_labels() {
        let v = json("variable \"x\" {\n  type = \"string\"\n}\nlocals {\n  a = 1\n}\n");
        assert_eq!(
            v,
            serde_json::json!({"variable": {"x": {"type": "string"}}, "locals": {"a": 1}})
        );
    }

    #[test]
    fn expressions_and_bad_text_are_errors() {
        for bad in [
            "a = var.x\n",
            "a = \"x\n",
            "a = [1, 2\n",
            "a {\n",
            "= 1\n",
            "a = <<EOT\nx\n",
        ] {
            let e = parse(bad, "t.tf").expect_err(bad);
            assert!(e.contains("t.tf") && e.contains("line"), "{e}");
        }
    }
}
