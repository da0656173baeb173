//! Owns the YAML store: granit-parser events → tree (comments become items of their collection,
//! scalars typed like sops/yaml.v3, anchors expanded, several documents), and the emitter that
//! writes the tree the way sops 3.11 (yaml.v3, indent 4) does.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone as _};
use granit_parser::{Event, Parser, Placement, ScalarStyle, Tag};

use super::tree::{Entry, Map, Text, Value, format_float_g, format_time, parse_go_float};

const FORMAT: &str = "yaml";

/// Maximum nesting depth accepted (guards the recursive emitter and walker).
const MAX_DEPTH: usize = 256;

// ------------------------------------------------------------------------------------------
// Scalar resolution

/// Resolves a plain scalar like yaml.v3 (sops' YAML library). `Err` for values sops cannot
/// process (integers that only fit u64).
pub fn resolve_plain(s: &str) -> Result<Value, String> {
    match s {
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        ".nan" | ".NaN" | ".NAN" => return Ok(Value::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Ok(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Ok(Value::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        return Ok(match s.parse::<f64>() {
            Ok(f) if f.is_finite() && parse_go_float(s).is_some() => Value::Float(f),
            _ => Value::str(s),
        });
    }
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        if let Some(t) = parse_timestamp(s) {
            return Ok(Value::Time(t));
        }
        let plain: Cow<'_, str> = if s.contains('_') {
            Cow::Owned(s.replace('_', ""))
        } else {
            Cow::Borrowed(s)
        };
        match parse_int_base0(&plain) {
            IntParse::I64(i) => return Ok(Value::Int(i)),
            IntParse::U64 => {
                // The value itself is not repeated: it may be a secret.
                return Err(
                    "an integer does not fit a signed 64-bit integer (sops cannot encrypt it)"
                        .into(),
                );
            }
            IntParse::No => {}
        }
        if is_yaml_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
            && f.is_finite()
        {
            return Ok(Value::Float(f));
        }
    }
    Ok(Value::str(s))
}

enum IntParse {
    I64(i64),
    U64,
    No,
}

/// Go `strconv.ParseInt(s, 0, 64)` (and whether `ParseUint` would accept it).
fn parse_int_base0(s: &str) -> IntParse {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::No;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(u) => {
            if neg {
                if u <= i64::MAX as u64 + 1 {
                    IntParse::I64((u as i128).wrapping_neg() as i64)
                } else {
                    IntParse::No
                }
            } else if u <= i64::MAX as u64 {
                IntParse::I64(u as i64)
            } else {
                IntParse::U64
            }
        }
        Err(_) => IntParse::No,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == frac_start {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

fn take_digits(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let n = s
        .bytes()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// yaml.v3 timestamps: `Y-M-D`, `Y-M-D h:m:s[.f]`, `Y-M-DTh:m:s[.f](Z|±hh:mm)`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let (year, rest) = take_digits(s, 4, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = take_digits(rest, 1, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = take_digits(rest, 1, 2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let utc = FixedOffset::east_opt(0)?;
    if rest.is_empty() {
        return utc
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .single();
    }
    let (sep, rest) = (rest.as_bytes()[0], &rest[1..]);
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let (h, rest) = take_digits(rest, 1, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (mi, rest) = take_digits(rest, 1, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (sec, mut rest) = take_digits(rest, 1, 2)?;
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = r[..n].parse::<u32>().ok()? * 10u32.pow(9 - n as u32);
        rest = &r[n..];
    }
    let time = NaiveTime::from_hms_nano_opt(h, mi, sec, nanos)?;
    let offset = if sep == b' ' {
        if !rest.is_empty() {
            return None;
        }
        utc
    } else if rest == "Z" {
        utc
    } else {
        let sign = match rest.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let r = &rest[1..];
        if r.len() != 5 || r.as_bytes()[2] != b':' {
            return None;
        }
        let oh: i32 = r[..2].parse().ok()?;
        let om: i32 = r[3..].parse().ok()?;
        if oh > 23 || om > 59 {
            return None;
        }
        FixedOffset::east_opt(sign * (oh * 3600 + om * 60))?
    };
    offset.from_local_datetime(&date.and_time(time)).single()
}

// ------------------------------------------------------------------------------------------
// Parsing

struct Frame {
    kind: FrameKind,
    /// Anchor id of the collection (0 = none).
    anchor: usize,
    block: bool,
    /// Column of the items (keys or dashes) of a block collection.
    item_col: Option<usize>,
    /// Line where the current item started.
    cur_line: usize,
    /// Whether the current item is already stored in the collection.
    cur_stored: bool,
}

enum FrameKind {
    Map { items: Map, key: Option<String> },
    Seq { items: Vec<Value> },
}

struct Pending {
    text: String,
    col: usize,
}

/// Parses a YAML stream into documents (each a mapping). Comments become items.
pub fn parse(src: &str) -> Result<Vec<Map>, String> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut root: Option<Value> = None;
    let mut alias_budget: usize = MAX_ALIAS_NODES;
    for ev in Parser::new_from_str(src) {
        let (ev, span) = ev.map_err(|e| e.to_string())?;
        let line = span.start.line();
        let col = span.start.col();
        match ev {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                root = None;
                anchors.clear();
            }
            Event::DocumentEnd => {
                let mut doc = match root.take() {
                    Some(Value::Map(m)) => m,
                    None | Some(Value::Null) => Map::default(),
                    Some(_) => return Err("the document root must be a mapping".into()),
                };
                doc.extend(pending.drain(..).map(|p| Entry::comment(p.text)));
                docs.push(doc);
            }
            Event::Comment(text, placement) => {
                if placement == Placement::Right && place_right_comment(&mut stack, line, &text) {
                    continue;
                }
                pending.push(Pending {
                    text: text.into_owned(),
                    col,
                });
            }
            Event::MappingStart(style, anchor, _) | Event::SequenceStart(style, anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                begin_item(&mut stack, &mut pending, line, col, false)?;
                if stack.len() >= MAX_DEPTH {
                    return Err("the document is nested too deeply".into());
                }
                let kind = if is_map {
                    FrameKind::Map {
                        items: Map::default(),
                        key: None,
                    }
                } else {
                    FrameKind::Seq { items: Vec::new() }
                };
                stack.push(Frame {
                    kind,
                    anchor,
                    block: style == granit_parser::StructureStyle::Block,
                    item_col: None,
                    cur_line: line,
                    cur_stored: true,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(mut frame) = stack.pop() else {
                    return Err("unbalanced collection end".into());
                };
                if let Some(item_col) = frame.item_col.filter(|_| frame.block) {
                    let n = pending.iter().take_while(|p| p.col >= item_col).count();
                    let foot: Vec<Pending> = pending.drain(..n).collect();
                    match &mut frame.kind {
                        FrameKind::Map { items, .. } => {
                            items.extend(foot.into_iter().map(|p| Entry::comment(p.text)));
                        }
                        FrameKind::Seq { items } => {
                            items.extend(foot.into_iter().map(|p| Value::Comment(p.text.into())));
                        }
                    }
                }
                let value = match frame.kind {
                    FrameKind::Map { items, key } => {
                        if key.is_some() {
                            return Err("a mapping key has no value".into());
                        }
                        check_duplicates(&items)?;
                        Value::Map(items)
                    }
                    FrameKind::Seq { items } => Value::Seq(items),
                };
                if frame.anchor != 0 {
                    anchors.insert(frame.anchor, value.clone());
                }
                finish_value(&mut stack, &mut root, value)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_key = begin_item(&mut stack, &mut pending, line, col, true)?;
                if is_key {
                    let key = scalar_key(&text, style, tag.as_deref())?;
                    if anchor != 0 {
                        anchors.insert(anchor, Value::str(key.as_str()));
                    }
                    if let Some(Frame {
                        kind: FrameKind::Map { key: slot, .. },
                        ..
                    }) = stack.last_mut()
                    {
                        *slot = Some(key);
                    }
                    continue;
                }
                let value = scalar_value(text, style, tag.as_deref())
                    .map_err(|e| format!("line {line}: {e}"))?;
                if anchor != 0 {
                    anchors.insert(anchor, value.clone());
                }
                finish_value(&mut stack, &mut root, value)?;
            }
            Event::Alias(id) => {
                let is_key = begin_item(&mut stack, &mut pending, line, col, true)?;
                let target = anchors
                    .get(&id)
                    .ok_or_else(|| "unknown anchor".to_string())?;
                // Aliases are expanded; bound the total so an alias bomb cannot exhaust memory.
                alias_budget = alias_budget
                    .checked_sub(node_count(target))
                    .ok_or("aliases expand to too many nodes")?;
                let value = target.clone();
                if is_key {
                    let Value::Str(t) = value else {
                        return Err(format!("line {line}: a mapping key is not a string"));
                    };
                    if let Some(Frame {
                        kind: FrameKind::Map { key: slot, .. },
                        ..
                    }) = stack.last_mut()
                    {
                        *slot = Some(t.to_lossy().into_owned());
                    }
                    continue;
                }
                finish_value(&mut stack, &mut root, value)?;
            }
            Event::UnresolvedAlias(..) => return Err("unknown anchor".into()),
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of input".into());
    }
    Ok(docs)
}

/// Maximum number of nodes all aliases of a stream may expand to.
const MAX_ALIAS_NODES: usize = 1_000_000;

fn node_count(v: &Value) -> usize {
    match v {
        Value::Map(m) => {
            1 + m
                .iter()
                .map(|e| match e {
                    Entry::Pair(_, v) | Entry::Comment(v) => node_count(v),
                })
                .sum::<usize>()
        }
        Value::Seq(s) => 1 + s.iter().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

/// Called before a node event. Returns whether the node is a mapping key. Flushes pending
/// comments into the collection the new item belongs to.
fn begin_item(
    stack: &mut [Frame],
    pending: &mut Vec<Pending>,
    line: usize,
    col: usize,
    scalar: bool,
) -> Result<bool, String> {
    let Some(top) = stack.last_mut() else {
        return Ok(false);
    };
    let starts_item = match &top.kind {
        FrameKind::Map { key, .. } => key.is_none(),
        FrameKind::Seq { .. } => true,
    };
    if !starts_item {
        return Ok(false);
    }
    if top.item_col.is_none() {
        top.item_col = Some(match top.kind {
            // Dashes sit two columns before the item's content.
            FrameKind::Seq { .. } => col.saturating_sub(2),
            FrameKind::Map { .. } => col,
        });
    }
    match &mut top.kind {
        FrameKind::Map { items, .. } => {
            items.extend(pending.drain(..).map(|p| Entry::comment(p.text)));
            if !scalar {
                return Err(format!("line {line}: a mapping key is not a string"));
            }
        }
        FrameKind::Seq { items } => {
            items.extend(pending.drain(..).map(|p| Value::Comment(p.text.into())));
        }
    }
    top.cur_line = line;
    top.cur_stored = false;
    Ok(matches!(top.kind, FrameKind::Map { .. }))
}

/// A same-line comment goes before the outermost item that starts on its line (like sops).
fn place_right_comment(stack: &mut [Frame], line: usize, text: &str) -> bool {
    for frame in stack.iter_mut() {
        if frame.cur_line != line {
            continue;
        }
        let stored = frame.cur_stored;
        match &mut frame.kind {
            FrameKind::Map { items, key } => {
                let at = if stored && key.is_none() {
                    items.len().saturating_sub(1)
                } else {
                    items.len()
                };
                items.insert(at, Entry::comment(text));
            }
            FrameKind::Seq { items } => {
                let at = if stored {
                    items.len().saturating_sub(1)
                } else {
                    items.len()
                };
                items.insert(at, Value::Comment(text.into()));
            }
        }
        return true;
    }
    false
}

fn finish_value(stack: &mut [Frame], root: &mut Option<Value>, value: Value) -> Result<(), String> {
    let Some(top) = stack.last_mut() else {
        if root.is_some() {
            return Err("more than one root node".into());
        }
        *root = Some(value);
        return Ok(());
    };
    match &mut top.kind {
        FrameKind::Map { items, key } => {
            let k = key.take().ok_or("a mapping value without key")?;
            items.push(Entry::Pair(k, value));
        }
        FrameKind::Seq { items } => items.push(value),
    }
    top.cur_stored = true;
    Ok(())
}

fn check_duplicates(items: &Map) -> Result<(), String> {
    if items.len() < 2 {
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(items.len());
    for e in items {
        if let Entry::Pair(k, _) = e
            && !seen.insert(k.as_str())
        {
            return Err(format!("duplicate key `{k}`"));
        }
    }
    Ok(())
}

fn is_core_tag(tag: Option<&Tag>, suffix: &str) -> bool {
    tag.is_some_and(|t| t.handle() == "tag:yaml.org,2002:" && t.suffix() == suffix)
}

fn scalar_key(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<String, String> {
    if style != ScalarStyle::Plain || is_core_tag(tag, "str") {
        return Ok(text.to_owned());
    }
    match resolve_plain(text)? {
        Value::Str(_) => Ok(text.to_owned()),
        _ => Err(format!("a mapping key is not a string: `{text}`")),
    }
}

fn scalar_value(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
    if is_core_tag(tag, "binary") {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| "invalid `!!binary` value".to_string())?;
        return Ok(Value::Str(Text::new(bytes)));
    }
    if style != ScalarStyle::Plain || is_core_tag(tag, "str") {
        return Ok(Value::Str(Text::from(text.into_owned())));
    }
    resolve_plain(&text)
}

// ------------------------------------------------------------------------------------------
// Emission

/// Writes documents like sops (yaml.v3 with the given indent, normally 4).
pub fn emit(docs: &[Map], indent: usize) -> String {
    let mut e = Emitter {
        out: String::with_capacity(4096),
        bi: indent.clamp(2, 9),
    };
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            e.out.push_str("---\n");
        }
        e.map(doc, 0, false);
        if !has_pairs(doc) {
            e.out.push_str("{}\n");
        }
    }
    e.out
}

/// Writes a top-level sequence (used for `--extract` of a list).
pub fn emit_seq(items: &[Value], indent: usize) -> String {
    let mut e = Emitter {
        out: String::new(),
        bi: indent.clamp(2, 9),
    };
    if items.is_empty() {
        e.out.push_str("[]\n");
    } else {
        e.seq(items, 0);
    }
    e.out
}

struct Emitter {
    out: String,
    bi: usize,
}

impl Emitter {
    fn pad(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// yaml.v3: a nested block collection or block scalar goes to the next multiple of the indent.
    fn deeper(&self, indent: usize) -> usize {
        self.bi * ((indent + self.bi) / self.bi)
    }

    fn comment(&mut self, t: &Text, col: usize, inline: &mut bool) {
        if !std::mem::take(inline) {
            self.pad(col);
        }
        self.out.push('#');
        // A comment cannot contain a line break; keep each line a comment.
        self.out.push_str(&t.to_lossy().replace('\n', "\n#"));
        self.out.push('\n');
    }

    fn map(&mut self, m: &Map, indent: usize, mut inline: bool) {
        for entry in m {
            match entry {
                Entry::Comment(Value::Comment(t)) => self.comment(t, indent, &mut inline),
                Entry::Comment(_) => {}
                Entry::Pair(k, v) => {
                    if !std::mem::take(&mut inline) {
                        self.pad(indent);
                    }
                    self.string(k.as_bytes(), true, indent, false);
                    self.out.push(':');
                    match v {
                        Value::Map(m) if has_pairs(m) => {
                            self.out.push('\n');
                            let d = self.deeper(indent);
                            self.map(m, d, false);
                        }
                        Value::Seq(s) if has_items(s) => {
                            self.out.push('\n');
                            let d = self.deeper(indent);
                            self.seq(s, d);
                        }
                        other => {
                            self.out.push(' ');
                            let d = self.deeper(indent);
                            // yaml.v3's indentation indicator (`|4`) is only right when the
                            // content sits exactly one indent step deeper than the key.
                            self.scalar(other, d, d - indent == self.bi);
                            self.out.push('\n');
                        }
                    }
                }
            }
        }
    }

    fn seq(&mut self, s: &[Value], indent: usize) {
        for item in s {
            match item {
                Value::Comment(t) => self.comment(t, indent, &mut false),
                Value::Map(m) if has_pairs(m) => {
                    self.pad(indent);
                    self.out.push_str("- ");
                    self.map(m, indent + 2, true);
                }
                Value::Seq(inner) if has_items(inner) => {
                    self.pad(indent);
                    self.out.push_str("- ");
                    self.seq_inline(inner, indent + 2);
                }
                other => {
                    self.pad(indent);
                    self.out.push_str("- ");
                    self.scalar(other, indent + 2, false);
                    self.out.push('\n');
                }
            }
        }
    }

    /// A sequence whose first dash continues the current line (`- - x`).
    fn seq_inline(&mut self, s: &[Value], indent: usize) {
        let start = self.out.len();
        self.seq(s, indent);
        // Remove the padding of the first line: it follows the parent's dash.
        let first_pad = self.out[start..].bytes().take_while(|b| *b == b' ').count();
        self.out.drain(start..start + first_pad);
    }

    fn scalar(&mut self, v: &Value, block_indent: usize, indicator_ok: bool) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => {
                if f.is_nan() {
                    self.out.push_str(".nan");
                } else if f.is_infinite() {
                    self.out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" });
                } else {
                    self.out.push_str(&format_float_g(*f));
                }
            }
            Value::Time(t) => self.out.push_str(&format_time(t)),
            Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => {
                self.string(t.as_bytes(), false, block_indent, indicator_ok);
            }
            Value::Map(_) => self.out.push_str("{}"),
            Value::Seq(_) => self.out.push_str("[]"),
        }
    }

    fn string(&mut self, bytes: &[u8], is_key: bool, block_indent: usize, indicator_ok: bool) {
        let Ok(s) = std::str::from_utf8(bytes) else {
            self.out.push_str("!!binary ");
            self.out
                .push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            return;
        };
        let a = analyze(s);
        if s.contains('\n') {
            // A literal whose first line starts with a space or break needs an indentation
            // indicator; where yaml.v3's indicator would be wrong (inside sequences), double
            // quotes say the same thing.
            let indicator = s.starts_with([' ', '\n']);
            if !is_key && a.block_allowed && (!indicator || indicator_ok) {
                self.literal(s, block_indent, indicator);
            } else {
                self.double_quoted(s);
            }
            return;
        }
        if s == "<<" && !is_key {
            // yaml.v3 tags the merge-key lookalike so it reads back as a string.
            self.out.push_str("!!merge <<");
            return;
        }
        let can_plain =
            matches!(resolve_plain(s), Ok(Value::Str(_))) && !is_base60_float(s) && !is_old_bool(s);
        if !can_plain {
            self.double_quoted(s);
        } else if a.block_plain_allowed && !s.is_empty() {
            self.out.push_str(s);
        } else if a.single_quoted_allowed {
            self.out.push('\'');
            self.out.push_str(&s.replace('\'', "''"));
            self.out.push('\'');
        } else {
            self.double_quoted(s);
        }
    }

    fn literal(&mut self, s: &str, indent: usize, indicator: bool) {
        self.out.push('|');
        if indicator {
            self.out.push_str(&self.bi.to_string());
        }
        let body = if !s.ends_with('\n') {
            self.out.push('-');
            s
        } else if s.len() == 1 || s[..s.len() - 1].ends_with('\n') {
            self.out.push('+');
            &s[..s.len() - 1]
        } else {
            &s[..s.len() - 1]
        };
        self.out.push('\n');
        for (i, line) in body.split('\n').enumerate() {
            if i > 0 {
                self.out.push('\n');
            }
            if !line.is_empty() {
                self.pad(indent);
                self.out.push_str(line);
            }
        }
        // The caller adds the final line break.
    }

    fn double_quoted(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\0' => self.out.push_str("\\0"),
                '\x07' => self.out.push_str("\\a"),
                '\x08' => self.out.push_str("\\b"),
                '\t' => self.out.push_str("\\t"),
                '\n' => self.out.push_str("\\n"),
                '\x0b' => self.out.push_str("\\v"),
                '\x0c' => self.out.push_str("\\f"),
                '\r' => self.out.push_str("\\r"),
                '\x1b' => self.out.push_str("\\e"),
                '\u{85}' => self.out.push_str("\\N"),
                '\u{a0}' => self.out.push_str("\\_"),
                '\u{2028}' => self.out.push_str("\\L"),
                '\u{2029}' => self.out.push_str("\\P"),
                c if is_printable(c) && c != '\u{feff}' => self.out.push(c),
                c if (c as u32) <= 0xff => self.out.push_str(&format!("\\x{:02X}", c as u32)),
                c if (c as u32) <= 0xffff => self.out.push_str(&format!("\\u{:04X}", c as u32)),
                c => self.out.push_str(&format!("\\U{:08X}", c as u32)),
            }
        }
        self.out.push('"');
    }
}

/// A collection holding only comments is written empty (`{}` / `[]`): its comments would
/// otherwise turn it into a null.
fn has_pairs(m: &Map) -> bool {
    m.iter().any(|e| matches!(e, Entry::Pair(..)))
}

fn has_items(s: &[Value]) -> bool {
    s.iter().any(|v| !matches!(v, Value::Comment(_)))
}

/// yaml.v3 `is_printable`.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, reduced to what block context needs.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: false,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut special = false;
    let mut line_breaks = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let blankz = |i: usize| i >= n || matches!(chars[i], ' ' | '\t' | '\n' | '\r');
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = blankz(i + 1);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) || c == '\u{feff}' {
            special = true;
        }
        if c == '\n' || c == '\r' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}' {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if c == '\n' {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t' | '\n' | '\r');
    }
    let mut a = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Parses a YAML stream, converting errors to the store's error.
pub(crate) fn parse_docs(src: &[u8]) -> super::error::Result<Vec<Map>> {
    let text = std::str::from_utf8(src)
        .map_err(|_| super::error::SopsError::parse(FORMAT, "the input is not UTF-8"))?;
    parse(text).map_err(|m| super::error::SopsError::parse(FORMAT, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Map {
        let mut d = parse(src).unwrap();
        assert_eq!(d.len(), 1);
        d.remove(0)
    }

    #[test]
    fn scalar_typing_follows_yaml_v3() {
        let cases: &[(&str, Value)] = &[
            ("3", Value::Int(3)),
            ("0o755", Value::Int(493)),
            ("017", Value::Int(15)),
            ("0xFF", Value::Int(255)),
            ("1_000", Value::Int(1000)),
            ("09", Value::Float(9.0)),
            ("1.0", Value::Float(1.0)),
            ("6.02e23", Value::Float(6.02e23)),
            (".5", Value::Float(0.5)),
            ("yes", Value::str("yes")),
            ("10.0.0.1", Value::str("10.0.0.1")),
            ("~", Value::Null),
            ("True", Value::Bool(true)),
        ];
        for (src, want) in cases {
            assert_eq!(&resolve_plain(src).unwrap(), want, "{src}");
        }
        assert!(matches!(resolve_plain("2023-07-15"), Ok(Value::Time(_))));
        assert!(matches!(resolve_plain("2023-02-30"), Ok(Value::Str(_))));
        assert!(resolve_plain("18446744073709551615").is_err());
    }

    #[test]
    fn comments_land_in_their_collection() {
        let m = one("# top\na: 1 # right\nb:\n  # inner\n  - x\n  # foot\nc: 2\n");
        assert_eq!(m[0], Entry::comment(" top"));
        assert_eq!(m[1], Entry::comment(" right"));
        let Entry::Pair(_, Value::Seq(s)) = &m[3] else {
            panic!("b is not a list")
        };
        assert_eq!(s[0], Value::Comment(" inner".into()));
        assert_eq!(s[2], Value::Comment(" foot".into()));
    }

    #[test]
    fn emitter_quotes_what_would_change_type() {
        let m: Map = vec![
            Entry::Pair("a".into(), Value::str("yes")),
            Entry::Pair("b".into(), Value::str("0042")),
            Entry::Pair("c".into(), Value::str("x: y # z")),
            Entry::Pair("d".into(), Value::str("")),
            Entry::Pair("e".into(), Value::str("l1\nl2\n")),
            Entry::Pair("true".into(), Value::str("🚀")),
        ];
        assert_eq!(
            emit(&[m], 4),
            "a: \"yes\"\nb: \"0042\"\nc: 'x: y # z'\nd: \"\"\ne: |\n    l1\n    l2\n\"true\": \"\\U0001F680\"\n"
        );
    }

    #[test]
    fn round_trip_keeps_types() {
        let src = "a:\n    - - 1\n      - x\n    - k: v\n      j: |-\n        t\n        u\n";
        let docs = parse(src).unwrap();
        assert_eq!(emit(&docs, 4), src);
    }

    #[test]
    fn comment_only_collections_stay_collections() {
        let m: Map = vec![
            Entry::Pair("a".into(), Value::Seq(vec![Value::Comment(" c".into())])),
            Entry::Pair("b".into(), Value::Map(vec![Entry::comment(" d")])),
        ];
        let docs = parse(&emit(&[m], 4)).unwrap();
        assert_eq!(
            docs[0],
            vec![
                Entry::Pair("a".into(), Value::Seq(vec![])),
                Entry::Pair("b".into(), Value::Map(vec![])),
            ]
        );
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in ["- a", "a: [", "1: x", "a: 1\na: 2", "a: *x", "? [a]\n: b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(parse(&bomb).unwrap_err().contains("too many nodes"));
        let deep = format!("a: {}", "[".repeat(100_000));
        assert!(parse(&deep).is_err());
    }
}
