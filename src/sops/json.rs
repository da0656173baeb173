//! Owns the JSON store: parsing (every number becomes a float, as sops 3.11 does) and the
//! emitter that reproduces Go's `json.Indent` output with a tab per level and Go's escaping.

use super::error::{Result, SopsError};
use super::tree::{Entry, Map, Text, Value, format_time};

const FORMAT: &str = "json";

/// Parses a JSON document whose top level is an object.
pub fn parse(src: &[u8]) -> Result<Map> {
    let v: serde_json::Value =
        serde_json::from_slice(src).map_err(|e| SopsError::parse(FORMAT, e.to_string()))?;
    match convert(v, 0)? {
        Value::Map(m) => Ok(m),
        _ => Err(SopsError::parse(FORMAT, "the top level is not an object")),
    }
}

fn convert(v: serde_json::Value, depth: usize) -> Result<Value> {
    if depth > 256 {
        return Err(SopsError::parse(
            FORMAT,
            "the document is nested too deeply",
        ));
    }
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(
            n.as_f64()
                .ok_or_else(|| SopsError::parse(FORMAT, "a number is out of range"))?,
        ),
        serde_json::Value::String(s) => Value::Str(Text::from(s)),
        serde_json::Value::Array(a) => Value::Seq(
            a.into_iter()
                .map(|v| convert(v, depth + 1))
                .collect::<Result<_>>()?,
        ),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| Ok(Entry::Pair(k, convert(v, depth + 1)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// Emits a mapping as Go does (`json.Indent` with `indent`, final newline). Comments are
/// dropped: JSON has none.
pub fn emit(m: &Map, indent: &str) -> String {
    let mut out = String::with_capacity(4096);
    map(&mut out, m, indent, 0);
    out.push('\n');
    out
}

fn newline(out: &mut String, indent: &str, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str(indent);
    }
}

fn map(out: &mut String, m: &Map, indent: &str, level: usize) {
    let pairs: Vec<(&String, &Value)> = m
        .iter()
        .filter_map(|e| match e {
            Entry::Pair(k, v) => Some((k, v)),
            Entry::Comment(_) => None,
        })
        .collect();
    if pairs.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, indent, level + 1);
        string(out, k.as_bytes());
        out.push_str(": ");
        value(out, v, indent, level + 1);
    }
    newline(out, indent, level);
    out.push('}');
}

fn value(out: &mut String, v: &Value, indent: &str, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)),
        Value::Time(t) => string(out, format_time(t).as_bytes()),
        Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => string(out, t.as_bytes()),
        Value::Map(m) => map(out, m, indent, level),
        Value::Seq(s) => {
            let items: Vec<&Value> = s
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                value(out, item, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
    }
}

/// Go `encoding/json` float formatting. Non-finite values (not representable in JSON) are
/// written as strings.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return format!("\"{}\"", super::tree::format_float_plain(f));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        match e.split_once('e') {
            Some((m, ex)) if !ex.starts_with('-') => format!("{m}e+{ex}"),
            _ => e,
        }
    } else {
        format!("{f}")
    }
}

/// Go's JSON string encoding (HTML-safe, U+2028/2029 escaped, invalid UTF-8 → U+FFFD).
pub fn string(out: &mut String, bytes: &[u8]) {
    let s = String::from_utf8_lossy(bytes);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1.5e-7), "1.5e-7");
        assert_eq!(go_json_float(-0.0), "-0");
        assert_eq!(
            go_json_float(12345678901234567890.0),
            "12345678901234567000"
        );
        assert_eq!(go_json_float(42.0), "42");
    }

    #[test]
    fn round_trip() {
        let src = "{\n\t\"a\": [\n\t\t1,\n\t\t{}\n\t],\n\t\"h\": \"\\u003c\\u0026\"\n}\n";
        assert_eq!(emit(&parse(src.as_bytes()).unwrap(), "\t"), src);
    }
}
