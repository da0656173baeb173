//! Lexer and parser for Go `text/template` source: turns template text into [`Tree`]s (one per
//! `define`/`block` plus the top-level one), following `text/template/parse` — the same token
//! rules (trim markers need a space, comments must hug the delimiters), the same variable scoping
//! checks at parse time and the same error texts (`template: NAME:LINE: ...`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::value::Value;

/// A parsed template body.
#[derive(Debug)]
pub struct Tree {
    /// The template's name (`define "name"` or the name given to `parse`).
    pub name: String,
    /// The name of the source the text came from (used in error locations).
    pub parse_name: String,
    /// The whole source text (for line/column computation).
    pub text: Arc<str>,
    /// The body.
    pub root: Vec<Node>,
}

/// A node of a template body.
#[derive(Debug)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// `{{pipeline}}`.
    Action(Pipe),
    /// `{{if}}`, `{{range}}`, `{{with}}`.
    Control(Box<Control>),
    /// `{{template "name" pipeline}}` (and the call half of `block`).
    Template {
        /// Byte offset in the source.
        pos: usize,
        /// The name of the template to execute.
        name: String,
        /// The pipeline whose value becomes the template's `.`; `None` passes nil.
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break(usize),
    /// `{{continue}}`.
    Continue(usize),
}

/// Which control action a [`Control`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    /// `if`.
    If,
    /// `range`.
    Range,
    /// `with`.
    With,
}

/// `{{if}}`/`{{range}}`/`{{with}}` with its branches.
#[derive(Debug)]
pub struct Control {
    /// Which action.
    pub kind: ControlKind,
    /// The condition / range / with pipeline.
    pub pipe: Pipe,
    /// The main branch.
    pub list: Vec<Node>,
    /// The `{{else}}` branch.
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline, optionally declaring or assigning variables.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// Byte offset in the source.
    pub pos: usize,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    /// Declared/assigned variables (`$x`).
    pub decl: Vec<String>,
    /// The commands, joined by `|`.
    pub cmds: Vec<Command>,
}

/// One command of a pipeline: an operand followed by arguments.
#[derive(Debug, Clone)]
pub struct Command {
    /// Byte offset in the source.
    pub pos: usize,
    /// The operands.
    pub args: Vec<Arg>,
}

/// An operand.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `.a.b` (the fields).
    Field(usize, Vec<String>),
    /// `$x.a.b` (name first).
    Variable(usize, Vec<String>),
    /// `.`.
    Dot(usize),
    /// `nil`.
    Nil(usize),
    /// A constant (bool, number, string); the source text is kept for error contexts.
    Const(usize, Value, String),
    /// A function name.
    Identifier(usize, String),
    /// `(pipeline)`.
    Pipe(usize, Box<Pipe>),
    /// `(pipeline).a.b` or `ident.a.b`.
    Chain(usize, Box<Arg>, Vec<String>),
}

impl Arg {
    /// Byte offset in the source.
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Const(p, _, _)
            | Arg::Identifier(p, _)
            | Arg::Pipe(p, _)
            | Arg::Chain(p, _, _) => *p,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field(_, idents) => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable(_, idents) => write!(f, "{}", idents.join(".")),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Const(_, _, text) => f.write_str(text),
            Arg::Identifier(_, name) => f.write_str(name),
            Arg::Pipe(_, p) => write!(f, "({p})"),
            Arg::Chain(_, node, fields) => {
                match node.as_ref() {
                    Arg::Pipe(..) => write!(f, "{node}")?,
                    other => write!(f, "{other}")?,
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Identifier(String),
    Field(String),
    Variable(String),
    Dot,
    Str(String, String),
    Number(String),
    Char(String),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Keyword(&'static str),
    Eof,
    Error(String),
}

#[derive(Debug, Clone)]
struct Item {
    tok: Tok,
    pos: usize,
    line: usize,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |f: &mut fmt::Formatter<'_>, s: &str| {
            if s.chars().count() > 10 {
                let short: String = s.chars().take(10).collect();
                write!(f, "{}...", go_quote(&short))
            } else {
                write!(f, "{}", go_quote(s))
            }
        };
        match &self.tok {
            Tok::Eof => f.write_str("EOF"),
            Tok::Error(e) => f.write_str(e),
            Tok::Keyword(k) => write!(f, "<{k}>"),
            Tok::Text(s)
            | Tok::Identifier(s)
            | Tok::Field(s)
            | Tok::Variable(s)
            | Tok::Number(s)
            | Tok::Char(s) => quote(f, s),
            Tok::Str(raw, _) => quote(f, raw),
            Tok::LeftDelim => quote(f, "{{"),
            Tok::RightDelim => quote(f, "}}"),
            Tok::Space => quote(f, " "),
            Tok::Dot => quote(f, "."),
            Tok::Bool(b) => quote(f, if *b { "true" } else { "false" }),
            Tok::Nil => quote(f, "nil"),
            Tok::Pipe => quote(f, "|"),
            Tok::LParen => quote(f, "("),
            Tok::RParen => quote(f, ")"),
            Tok::Declare => quote(f, ":="),
            Tok::Assign => quote(f, "="),
            Tok::Comma => quote(f, ","),
        }
    }
}

/// `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !go_is_print(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` (which `strconv.Quote` uses): controls, spaces
/// other than U+0020, and the common invisible format characters are not printable.
pub fn go_is_print(c: char) -> bool {
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    items: Vec<Item>,
    paren_depth: usize,
    left: &'a str,
    right: &'a str,
}

impl<'a> Lexer<'a> {
    fn lex(src: &'a str, left: &'a str, right: &'a str) -> Vec<Item> {
        let mut l = Lexer {
            src,
            pos: 0,
            line: 1,
            items: Vec::new(),
            paren_depth: 0,
            left,
            right,
        };
        l.run();
        l.items
    }

    fn emit(&mut self, tok: Tok, start: usize) {
        let line = self.line;
        self.items.push(Item {
            tok,
            pos: start,
            line,
        });
        self.line += self.src[start..self.pos].matches('\n').count();
    }

    fn error(&mut self, msg: String) {
        let line = self.line;
        self.items.push(Item {
            tok: Tok::Error(msg),
            pos: self.pos,
            line,
        });
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn at_right_delim(&self) -> Option<bool> {
        let rest = self.rest();
        let r = rest.as_bytes();
        if r.len() >= 2 && is_space(r[0]) && r[1] == b'-' && rest[2..].starts_with(self.right) {
            return Some(true);
        }
        if rest.starts_with(self.right) {
            return Some(false);
        }
        None
    }

    fn run(&mut self) {
        loop {
            // Text up to the next left delimiter.
            let start = self.pos;
            let Some(off) = self.rest().find(self.left) else {
                self.pos = self.src.len();
                if self.pos > start {
                    self.emit(Tok::Text(self.src[start..].to_string()), start);
                }
                let line = self.line;
                self.items.push(Item {
                    tok: Tok::Eof,
                    pos: self.pos,
                    line,
                });
                return;
            };
            let delim = start + off;
            let ll = self.left.len();
            let after = &self.src[delim + ll..];
            let trim =
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1]);
            let mut text_end = delim;
            if trim {
                text_end = start
                    + self.src[start..delim]
                        .trim_end_matches([' ', '\t', '\r', '\n'])
                        .len();
            }
            self.pos = text_end;
            if text_end > start {
                self.emit(Tok::Text(self.src[start..text_end].to_string()), start);
            }
            // Count lines in the trimmed whitespace.
            self.line += self.src[text_end..delim].matches('\n').count();
            self.pos = delim + ll + if trim { 2 } else { 0 };
            if trim {
                self.line += self.src[delim + ll..self.pos].matches('\n').count();
            }
            if self.rest().starts_with("/*") {
                if !self.lex_comment(delim) {
                    return;
                }
                continue;
            }
            let dpos = delim;
            let line = self.line;
            self.items.push(Item {
                tok: Tok::LeftDelim,
                pos: dpos,
                line,
            });
            self.paren_depth = 0;
            if !self.lex_inside() {
                return;
            }
        }
    }

    fn lex_comment(&mut self, _delim: usize) -> bool {
        let body_start = self.pos + 2;
        let Some(end) = self.src[body_start..].find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        let end = body_start + end + 2;
        self.line += self.src[self.pos..end].matches('\n').count();
        self.pos = end;
        match self.at_right_delim() {
            Some(trim) => {
                self.pos += self.right.len() + if trim { 2 } else { 0 };
                if trim {
                    self.trim_leading();
                }
                true
            }
            None => {
                self.error("comment ends before closing delimiter".into());
                false
            }
        }
    }

    fn trim_leading(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let n = rest.len() - trimmed.len();
        self.line += rest[..n].matches('\n').count();
        self.pos += n;
    }

    /// Lexes one action; returns false after an error.
    fn lex_inside(&mut self) -> bool {
        loop {
            if let Some(trim) = self.at_right_delim() {
                // A lone space before `-}}` is part of the marker.
                if self.paren_depth > 0 {
                    self.error("unclosed left paren".into());
                    return false;
                }
                let start = self.pos;
                if trim {
                    self.pos += 1;
                }
                let _ = start;
                let p = self.pos;
                self.pos += self.right.len() + usize::from(trim);
                let line = self.line;
                self.items.push(Item {
                    tok: Tok::RightDelim,
                    pos: p,
                    line,
                });
                if trim {
                    self.trim_leading();
                }
                return true;
            }
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                self.error("unclosed action".into());
                return false;
            };
            let start = self.pos;
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
                    self.pos += n;
                    // Leave one space for a following ` -}}`.
                    let r = self.rest();
                    if r.starts_with('-') && r[1..].starts_with(self.right) {
                        self.pos -= 1;
                        if n == 1 {
                            continue;
                        }
                    }
                    self.emit(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if !rest.starts_with(":=") {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Tok::LParen, start);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren_depth == 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    self.paren_depth -= 1;
                    self.emit(Tok::RParen, start);
                }
                '"' => {
                    let bytes = rest.as_bytes();
                    let mut i = 1;
                    loop {
                        if i >= bytes.len() || bytes[i] == b'\n' {
                            self.error("unterminated quoted string".into());
                            return false;
                        }
                        if bytes[i] == b'\\' {
                            i += 2;
                            continue;
                        }
                        if bytes[i] == b'"' {
                            break;
                        }
                        i += 1;
                    }
                    let raw = &rest[..=i];
                    self.pos += i + 1;
                    match unquote(raw) {
                        Ok(v) => self.emit(Tok::Str(raw.to_string(), v), start),
                        Err(e) => {
                            self.error(e);
                            return false;
                        }
                    }
                }
                '`' => {
                    let Some(end) = rest[1..].find('`') else {
                        self.error("unterminated raw quoted string".into());
                        return false;
                    };
                    let raw = &rest[..end + 2];
                    self.pos += end + 2;
                    self.emit(
                        Tok::Str(raw.to_string(), raw[1..raw.len() - 1].to_string()),
                        start,
                    );
                }
                '\'' => {
                    let bytes = rest.as_bytes();
                    let mut i = 1;
                    loop {
                        if i >= bytes.len() || bytes[i] == b'\n' {
                            self.error("unterminated character constant".into());
                            return false;
                        }
                        if bytes[i] == b'\\' {
                            i += 2;
                            continue;
                        }
                        if bytes[i] == b'\'' {
                            break;
                        }
                        i += 1;
                    }
                    self.pos += i + 1;
                    self.emit(Tok::Char(rest[..=i].to_string()), start);
                }
                '$' | '.' => {
                    let next = rest[1..].chars().next();
                    if c == '.' && next.is_some_and(|n| n.is_ascii_digit()) {
                        if !self.lex_number() {
                            return false;
                        }
                        continue;
                    }
                    let word_len: usize = rest[1..]
                        .chars()
                        .take_while(|c| is_alnum(*c))
                        .map(char::len_utf8)
                        .sum();
                    self.pos += 1 + word_len;
                    if !self.at_terminator() {
                        let bad = self.rest().chars().next().unwrap_or(' ');
                        self.error(format!("bad character {}", go_char_u(bad)));
                        return false;
                    }
                    let word = rest[..1 + word_len].to_string();
                    let tok = match (c, word_len) {
                        ('.', 0) => Tok::Dot,
                        ('.', _) => Tok::Field(word),
                        _ => Tok::Variable(word),
                    };
                    self.emit(tok, start);
                }
                '+' | '-' | '0'..='9' => {
                    if !self.lex_number() {
                        return false;
                    }
                }
                c if is_alnum(c) => {
                    let word_len: usize = rest
                        .chars()
                        .take_while(|c| is_alnum(*c))
                        .map(char::len_utf8)
                        .sum();
                    let word = &rest[..word_len];
                    self.pos += word_len;
                    if !self.at_terminator() {
                        let bad = self.rest().chars().next().unwrap_or(' ');
                        self.error(format!("bad character {}", go_char_u(bad)));
                        return false;
                    }
                    let tok = match word {
                        "if" => Tok::Keyword("if"),
                        "else" => Tok::Keyword("else"),
                        "end" => Tok::Keyword("end"),
                        "range" => Tok::Keyword("range"),
                        "with" => Tok::Keyword("with"),
                        "define" => Tok::Keyword("define"),
                        "template" => Tok::Keyword("template"),
                        "block" => Tok::Keyword("block"),
                        "break" => Tok::Keyword("break"),
                        "continue" => Tok::Keyword("continue"),
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => Tok::Identifier(w.to_string()),
                    };
                    self.emit(tok, start);
                }
                c => {
                    self.error(format!(
                        "unrecognized character in action: {}",
                        go_char_u(c)
                    ));
                    return false;
                }
            }
        }
    }

    fn at_terminator(&self) -> bool {
        let r = self.rest();
        match r.as_bytes().first() {
            None => true,
            Some(&c) if is_space(c) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            _ => self.right.chars().next().is_some_and(|c| r.starts_with(c)),
        }
    }

    fn lex_number(&mut self) -> bool {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut i = self.pos;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        if i + 1 < b.len() && b[i] == b'0' && matches!(b[i + 1], b'x' | b'X') {
            i += 2;
            digits = b"0123456789abcdefABCDEF_";
        } else if i + 1 < b.len() && b[i] == b'0' && matches!(b[i + 1], b'o' | b'O') {
            i += 2;
            digits = b"01234567_";
        } else if i + 1 < b.len() && b[i] == b'0' && matches!(b[i + 1], b'b' | b'B') {
            i += 2;
            digits = b"01_";
        }
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && digits.contains(&b[i]) {
                i += 1;
            }
        }
        let hex = digits.len() > 12;
        let exp_chars: &[u8] = if hex { b"pP" } else { b"eEpP" };
        if digits.len() > 3 && i < b.len() && exp_chars.contains(&b[i]) {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        self.pos = i;
        let bad = self.rest().chars().next().is_some_and(is_alnum);
        if bad || i == start || (i == start + 1 && !b[start].is_ascii_digit()) {
            let end = i + self
                .rest()
                .chars()
                .take_while(|c| is_alnum(*c))
                .map(char::len_utf8)
                .sum::<usize>();
            self.error(format!(
                "bad number syntax: {:?}",
                &self.src[start..end.max(i)]
            ));
            return false;
        }
        self.emit(Tok::Number(self.src[start..i].to_string()), start);
        true
    }
}

fn go_char_u(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

/// Go's `strconv.Unquote` for a double-quoted literal.
fn unquote(raw: &str) -> Result<String, String> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("invalid syntax")?;
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => return Err("invalid syntax".into()),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "invalid syntax".to_string())?;
                // `\xNN` is a byte in Go; a Rust string keeps it as the code point U+00NN.
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars
                        .next()
                        .and_then(|c| c.to_digit(8))
                        .ok_or("invalid syntax")?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            _ => return Err("invalid syntax".into()),
        }
    }
    Ok(out)
}

/// Parses a number literal the way `text/template` types untyped constants for `any`
/// parameters: integers become `int`, anything with a `.`/exponent becomes `float64`.
fn parse_number(text: &str, is_char: bool) -> Result<Value, String> {
    let bad = || format!("illegal number syntax: {text:?}");
    if is_char {
        let inner = &text[1..text.len() - 1];
        let c = if inner.starts_with('\\') {
            let quoted = format!("\"{}\"", if inner == "\\'" { "'" } else { inner });
            unquote(&quoted).map_err(|_| format!("malformed character constant: {text}"))?
        } else {
            inner.to_string()
        };
        let mut it = c.chars();
        let (Some(ch), None) = (it.next(), it.next()) else {
            return Err(format!("malformed character constant: {text}"));
        };
        return Ok(Value::Int(ch as i64));
    }
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            return Err(bad());
        }
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.contains(['.', 'e']) {
        None
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Ok(Value::Int(if neg { -i } else { i }));
    }
    if lower.contains(['.', 'e']) && !lower.starts_with("0x") {
        let f: f64 = lower.parse().map_err(|_| bad())?;
        return Ok(Value::Float(if neg { -f } else { f }));
    }
    if lower.chars().all(|c| c.is_ascii_digit()) && !lower.is_empty() {
        return Err(format!("integer overflow: {text}"));
    }
    Err(bad())
}

// ---------------------------------------------------------------------------------------------
// Parser

/// A parse error with Go's text.
#[derive(Debug, Clone)]
pub struct ParseError(pub String);

struct Parser<'f> {
    items: Vec<Item>,
    idx: usize,
    name: String,
    text: Arc<str>,
    vars: Vec<String>,
    range_depth: usize,
    has_func: &'f dyn Fn(&str) -> bool,
    defs: Vec<(String, Vec<Node>)>,
    /// Line of the `{{` of the action being parsed (for "unclosed action started at").
    action_line: usize,
    /// Nesting of parentheses and control structures, bounded by [`MAX_NESTING`].
    depth: usize,
}

/// How deeply parentheses and `if`/`range`/`with` may nest. Go allows 10000 on goroutine stacks
/// that grow; a fixed thread stack needs a lower bound, and real templates stay far below it.
pub const MAX_NESTING: usize = 200;

type PResult<T> = Result<T, ParseError>;

/// Parses `text` named `name` with the default `{{`/`}}` delimiters; returns the top-level tree
/// and every `define`/`block` tree.
pub fn parse(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    parse_delims(name, text, has_func, "{{", "}}")
}

/// [`parse`] with other action delimiters (atmos' `templates.settings.delimiters`); an empty
/// delimiter means the default, as in Go's `Delims`.
pub fn parse_delims(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
    left: &str,
    right: &str,
) -> Result<Vec<Tree>, ParseError> {
    let left = if left.is_empty() { "{{" } else { left };
    let right = if right.is_empty() { "}}" } else { right };
    let items = Lexer::lex(text, left, right);
    let text: Arc<str> = Arc::from(text);
    let mut p = Parser {
        items,
        idx: 0,
        name: name.to_string(),
        text: text.clone(),
        vars: vec!["$".into()],
        range_depth: 0,
        has_func,
        defs: Vec::new(),
        action_line: 0,
        depth: 0,
    };
    let root = p.parse_top()?;
    let mut trees = vec![Tree {
        name: name.to_string(),
        parse_name: name.to_string(),
        text: text.clone(),
        root,
    }];
    let mut seen: HashMap<String, usize> = HashMap::new();
    seen.insert(name.to_string(), 0);
    for (dname, body) in p.defs {
        let tree = Tree {
            name: dname.clone(),
            parse_name: name.to_string(),
            text: text.clone(),
            root: body,
        };
        match seen.get(&dname) {
            Some(&i) => {
                if is_empty(&trees[i].root) {
                    trees[i] = tree;
                } else if !is_empty(&tree.root) {
                    return Err(ParseError(format!(
                        "template: {name}: multiple definition of template {}",
                        go_quote(&dname)
                    )));
                }
            }
            None => {
                seen.insert(dname, trees.len());
                trees.push(tree);
            }
        }
    }
    Ok(trees)
}

/// Whether a body is only whitespace text (Go's `IsEmptyTree`).
pub fn is_empty(list: &[Node]) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

impl Parser<'_> {
    fn errorf(&self, msg: impl fmt::Display) -> ParseError {
        let line = self
            .items
            .get(self.idx.saturating_sub(1))
            .map(|i| i.line)
            .unwrap_or(1);
        ParseError(format!("template: {}:{}: {}", self.name, line, msg))
    }

    fn next(&mut self) -> Item {
        let it = self.items.get(self.idx).cloned().unwrap_or(Item {
            tok: Tok::Eof,
            pos: self.text.len(),
            line: 0,
        });
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        it
    }
    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }
    fn peek(&self) -> Tok {
        self.items
            .get(self.idx)
            .map(|i| i.tok.clone())
            .unwrap_or(Tok::Eof)
    }
    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.tok != Tok::Space {
                return it;
            }
        }
    }
    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }
    /// A lexer error, naming where a multi-line action began (Go's `unexpected`).
    fn lex_error(&self, it: &Item, e: &str) -> ParseError {
        let mut msg = e.to_string();
        if self.action_line != 0 && self.action_line != it.line {
            let at = format!("started at {}:{}", self.name, self.action_line);
            if e.ends_with(" action") {
                msg = format!("{e} {at}");
            } else {
                msg = format!("{e} in action {at}");
            }
        }
        ParseError(format!("template: {}:{}: {}", self.name, it.line, msg))
    }
    fn check_error(&self, it: &Item) -> PResult<()> {
        if let Tok::Error(e) = &it.tok {
            return Err(self.lex_error(it, e));
        }
        Ok(())
    }
    fn unexpected(&self, it: &Item, context: &str) -> ParseError {
        if let Tok::Error(e) = &it.tok {
            return self.lex_error(it, e);
        }
        self.errorf(format!("unexpected {it} in {context}"))
    }
    fn expect_right(&mut self, context: &str) -> PResult<()> {
        let it = self.next_non_space();
        if it.tok != Tok::RightDelim {
            return Err(self.unexpected(&it, context));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        loop {
            match self.peek() {
                Tok::Eof => return Ok(root),
                Tok::LeftDelim => {
                    let save = self.idx;
                    self.action_line = self.next().line;
                    if self.next_non_space().tok == Tok::Keyword("define") {
                        self.parse_definition()?;
                        continue;
                    }
                    self.idx = save;
                }
                _ => {}
            }
            match self.text_or_action()? {
                Elem::Node(n) => root.push(n),
                Elem::End => return Err(self.errorf("unexpected {{end}}")),
                Elem::Else(..) => return Err(self.errorf("unexpected {{else}}")),
            }
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next_non_space();
        let name = match &it.tok {
            Tok::Str(_, v) => v.clone(),
            _ => return Err(self.unexpected(&it, context)),
        };
        self.expect_right(context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Elem::End) {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.defs.push((name, list));
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Elem)> {
        let mut list = Vec::new();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Elem::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Elem> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Text(t) => Ok(Elem::Node(Node::Text(t))),
            Tok::LeftDelim => {
                self.action_line = it.line;
                self.action()
            }
            Tok::Error(ref e) => Err(self.lex_error(&it, e)),
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Elem> {
        let it = self.next_non_space();
        self.check_error(&it)?;
        match it.tok {
            Tok::Keyword("block") => self.block_control(it.pos),
            Tok::Keyword("break") => self.break_continue(it.pos, true),
            Tok::Keyword("continue") => self.break_continue(it.pos, false),
            Tok::Keyword("else") => {
                let peek = self.peek_non_space();
                if matches!(peek.tok, Tok::Keyword("if") | Tok::Keyword("with")) {
                    return Ok(Elem::Else(true));
                }
                self.expect_right("else")?;
                Ok(Elem::Else(false))
            }
            Tok::Keyword("end") => {
                self.expect_right("end")?;
                Ok(Elem::End)
            }
            Tok::Keyword("if") => self.control(ControlKind::If).map(Elem::Node),
            Tok::Keyword("range") => self.control(ControlKind::Range).map(Elem::Node),
            Tok::Keyword("with") => self.control(ControlKind::With).map(Elem::Node),
            Tok::Keyword("template") => self.template_control(),
            _ => {
                self.backup();
                let pipe = self.pipeline("command", Tok::RightDelim)?;
                Ok(Elem::Node(Node::Action(pipe)))
            }
        }
    }

    fn break_continue(&mut self, pos: usize, is_break: bool) -> PResult<Elem> {
        let word = if is_break { "break" } else { "continue" };
        let it = self.next_non_space();
        if it.tok != Tok::RightDelim {
            return Err(self.unexpected(&it, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(Elem::Node(if is_break {
            Node::Break(pos)
        } else {
            Node::Continue(pos)
        }))
    }

    fn control(&mut self, kind: ControlKind) -> PResult<Node> {
        self.enter()?;
        let r = self.control_inner(kind);
        self.depth -= 1;
        r
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.depth -= 1;
            return Err(self.errorf(format!("max nesting depth {MAX_NESTING} exceeded")));
        }
        Ok(())
    }

    fn control_inner(&mut self, kind: ControlKind) -> PResult<Node> {
        let nvars = self.vars.len();
        let context = match kind {
            ControlKind::If => "if",
            ControlKind::Range => "range",
            ControlKind::With => "with",
        };
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        if kind == ControlKind::Range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if kind == ControlKind::Range {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        match next {
            Elem::End => {}
            Elem::Else(chained) => {
                if chained && kind != ControlKind::Range {
                    let it = self.next_non_space();
                    let inner_kind = match it.tok {
                        Tok::Keyword("if") if kind == ControlKind::If => ControlKind::If,
                        Tok::Keyword("with") if kind == ControlKind::With => ControlKind::With,
                        _ => return Err(self.unexpected(&it, "else")),
                    };
                    // {{if a}}_{{else if b}}_{{end}} == {{if a}}_{{else}}{{if b}}_{{end}}{{end}}
                    let inner = self.control(inner_kind)?;
                    else_list = Some(vec![inner]);
                } else {
                    if chained {
                        let it = self.next_non_space();
                        return Err(self.unexpected(&it, "else"));
                    }
                    let (l, n) = self.item_list()?;
                    if !matches!(n, Elem::End) {
                        return Err(self.errorf("expected end; found {{else}}"));
                    }
                    else_list = Some(l);
                }
            }
            Elem::Node(_) => return Err(self.errorf("internal error: list ended without {{end}}")),
        }
        self.vars.truncate(nvars);
        Ok(Node::Control(Box::new(Control {
            kind,
            pipe,
            list,
            else_list,
        })))
    }

    fn template_name(&mut self, context: &str) -> PResult<String> {
        let it = self.next_non_space();
        match &it.tok {
            Tok::Str(_, v) => Ok(v.clone()),
            _ => Err(self.unexpected(&it, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Elem> {
        let context = "template clause";
        let pos = self.items[self.idx.saturating_sub(1)].pos;
        let name = self.template_name(context)?;
        let pipe = if self.next_non_space().tok != Tok::RightDelim {
            self.backup();
            Some(self.pipeline(context, Tok::RightDelim)?)
        } else {
            None
        };
        Ok(Elem::Node(Node::Template {
            pos: pos.saturating_sub(2),
            name,
            pipe,
        }))
    }

    fn block_control(&mut self, pos: usize) -> PResult<Elem> {
        let context = "block clause";
        let name = self.template_name(context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Elem::End) {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.defs.push((name.clone(), list));
        Ok(Elem::Node(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations.
        loop {
            let v = self.peek_non_space();
            let Tok::Variable(name) = &v.tok else { break };
            let save = self.idx;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    break;
                }
                Tok::Comma => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) | Tok::RightDelim | Tok::RParen => continue,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after;
                    self.idx = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.tok == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match it.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Identifier(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(..)
                | Tok::Variable(_)
                | Tok::LParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(Arg::Const(..) | Arg::Dot(_) | Arg::Nil(_))
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek() {
            let pos = self.items[self.idx].pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = self.peek() {
                self.next();
                fields.push(f[1..].to_string());
            }
            return Ok(Some(match node {
                Arg::Field(p, mut idents) => {
                    idents.extend(fields);
                    Arg::Field(p, idents)
                }
                Arg::Variable(p, mut idents) => {
                    idents.extend(fields);
                    Arg::Variable(p, idents)
                }
                Arg::Const(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        go_quote(&node.to_string())
                    )));
                }
                other => Arg::Chain(pos, Box::new(other), fields),
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        Ok(Some(match it.tok {
            Tok::Identifier(name) => {
                if !(self.has_func)(&name) {
                    // gomplate-style namespaces: `strings.ToLower` is known as one name.
                    let namespaced = match self.peek() {
                        Tok::Field(f) => (self.has_func)(&format!("{name}{f}")),
                        _ => false,
                    };
                    if !namespaced {
                        return Err(
                            self.errorf(format!("function {} not defined", go_quote(&name)))
                        );
                    }
                }
                Arg::Identifier(it.pos, name)
            }
            Tok::Dot => Arg::Dot(it.pos),
            Tok::Nil => Arg::Nil(it.pos),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.errorf(format!("undefined variable {}", go_quote(&name))));
                }
                Arg::Variable(it.pos, vec![name])
            }
            Tok::Field(f) => Arg::Field(it.pos, vec![f[1..].to_string()]),
            Tok::Bool(b) => Arg::Const(it.pos, Value::Bool(b), b.to_string()),
            Tok::Number(t) => Arg::Const(
                it.pos,
                parse_number(&t, false).map_err(|e| self.errorf(e))?,
                t,
            ),
            Tok::Char(t) => Arg::Const(
                it.pos,
                parse_number(&t, true).map_err(|e| self.errorf(e))?,
                t,
            ),
            Tok::LParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", Tok::RParen);
                self.depth -= 1;
                Arg::Pipe(it.pos, Box::new(p?))
            }
            Tok::Str(raw, v) => Arg::Const(it.pos, Value::from(v), raw),
            Tok::Error(ref e) => return Err(self.lex_error(&it, e)),
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Elem {
    Node(Node),
    End,
    /// `{{else}}`; `true` when followed by `if`/`with` (left unconsumed).
    Else(bool),
}
