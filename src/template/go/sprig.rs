//! The sprig text function map atmos enables (`templates.settings.sprig`) and the gomplate
//! namespaces atmos documents that need no network (`strings.*`, `conv.*`, `data.*`, `env.*`,
//! `math.*`, `coll.*`). Behaviour follows the Go sources' documented semantics: sprig's loose
//! conversions (`toString` of nil is `<nil>`, `atoi` of garbage is 0), argument order (the
//! subject last, for pipelines), and gomplate's namespaced spellings.

use std::sync::Arc;

use base64::Engine as _;
use regex::Regex;
use sha2::Digest as _;

use super::funcs::{FuncError, FuncResult, Funcs, arity, arity_min, int_arg, str_arg};
use super::parse::go_quote;
use super::value::{Map, Value};

// The standard set lives beside the functions it registers, so `funcs` (the registry) does not
// depend on `sprig` (its biggest user).
impl Funcs {
    /// What atmos registers: Go's builtins, the gomplate namespaces, then sprig's hermetic text
    /// functions (sprig wins a name clash, as in atmos' `lo.Assign(gomplate, sprig, atmos)`).
    /// Hermetic means no `env`/`expandenv` (atmos uses `sprig.HermeticTxtFuncMap`); callers that
    /// want them add [`register_sprig_env`].
    pub fn standard() -> Funcs {
        let mut f = Funcs::builtins();
        register_gomplate(&mut f);
        register_sprig(&mut f);
        f
    }
}

/// sprig's `strval`: strings as is, everything else `fmt.Sprintf("%v")`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_go_string(),
    }
}

/// `cast.ToInt64` as sprig uses it: loose, 0 on failure.
pub fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(s.trim()).unwrap_or(0),
        _ => 0,
    }
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `cast.ToFloat64`: loose, 0 on failure.
pub fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// sprig's `empty`.
pub fn is_empty(v: &Value) -> bool {
    !v.truthy()
}

/// sprig's `strslice`: a list's non-nil elements as strings; a scalar becomes a 1-element list.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn list_arg<'a>(name: &str, v: &'a Value) -> Result<&'a [Value], FuncError> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(FuncError::Call(format!(
            "Cannot find {name} on type {}",
            kind_of(other)
        ))),
    }
}

fn map_arg(v: &Value) -> Result<&Map, FuncError> {
    match v {
        Value::Map(m) => Ok(m),
        Value::Nil => Err(FuncError::Args(
            "invalid value; expected map[string]interface {}".into(),
        )),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected map[string]interface {{}}; got {}",
            other.type_name()
        ))),
    }
}

/// Go's reflect kind name, as sprig's `kindOf` reports it.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
    }
}

fn b(v: bool) -> FuncResult {
    Ok(Value::Bool(v))
}
fn s(v: impl Into<String>) -> FuncResult {
    Ok(Value::from(v.into()))
}
fn list(v: Vec<Value>) -> FuncResult {
    Ok(Value::from(v))
}

/// `strings.Title` (deprecated in Go but what sprig's `title` calls): upper-cases the first
/// letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn words(s: &str) -> Vec<String> {
    // Split into words at non-alphanumerics and lower→upper transitions.
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase()
            && !cur.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase())
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The most bytes (or list items) one function call may produce. Beyond it the call is a
/// template error, not an allocation failure that aborts the process (Go panics or runs out of
/// memory on `repeat 9223372036854775807 "x"`); found by the `template` fuzz target.
const MAX_OUTPUT: usize = 1 << 24;

/// `count` copies of something `unit` bytes long, checked against [`MAX_OUTPUT`]; negative
/// counts are 0.
fn sized(what: &str, count: i64, unit: usize) -> Result<usize, FuncError> {
    let n = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
    if n.saturating_mul(unit.max(1)) > MAX_OUTPUT {
        return Err(format!("{what}: the result would be larger than {MAX_OUTPUT} bytes").into());
    }
    Ok(n)
}

/// The most items `until`, `untilStep`, `seq` and `math.Seq` may produce.
const MAX_ITEMS: usize = 1 << 20;

/// The integers from `start` towards `stop` by `step` while `go_on` holds, at most
/// [`MAX_ITEMS`] of them, without overflowing at the ends of `i64`.
fn stepped(
    what: &str,
    start: i64,
    step: i64,
    go_on: impl Fn(i64) -> bool,
) -> Result<Vec<i64>, FuncError> {
    let mut out = Vec::new();
    let mut i = start;
    while go_on(i) {
        if out.len() >= MAX_ITEMS {
            return Err(format!("{what}: more than {MAX_ITEMS} items").into());
        }
        out.push(i);
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(out)
}

fn indent(n: i64, text: &str) -> Result<String, FuncError> {
    let lines = text.matches('\n').count() + 1;
    let pad = " ".repeat(sized("indent", n, lines)?);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

fn regex(pat: &str) -> Result<Regex, FuncError> {
    Regex::new(pat).map_err(|e| FuncError::Call(format!("error parsing regexp: {e}")))
}

/// Go's `encoding/json` output: map keys sorted, `<`, `>`, `&` escaped unless `raw`.
pub fn to_json(v: &Value, pretty: bool, raw: bool) -> String {
    let mut out = String::new();
    write_json(v, pretty, raw, 0, &mut out);
    out
}

fn json_str(s: &str, raw: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if !raw => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_float(f: f64) -> String {
    if f.is_nan() || f.is_infinite() {
        return "null".into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        // Go: strconv 'e' format, then trims "e-07" to "e-7".
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e = if e.starts_with('-') {
            e.to_string()
        } else {
            format!("+{e}")
        };
        return format!("{m}e{e}");
    }
    let s = format!("{f}");
    s
}

fn write_json(v: &Value, pretty: bool, raw: bool, depth: usize, out: &mut String) {
    let nl = |out: &mut String, d: usize| {
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(d));
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::Str(s) => json_str(s, raw, out),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write_json(x, pretty, raw, depth + 1, out);
            }
            nl(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in Value::sorted_entries(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                json_str(k, raw, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(x, pretty, raw, depth + 1, out);
            }
            nl(out, depth);
            out.push('}');
        }
    }
}

fn from_json(text: &str) -> Result<Value, FuncError> {
    let j: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FuncError::Call(e.to_string()))?;
    Ok(json_to_go(&j))
}

/// JSON decoded as Go's `encoding/json` into `any` decodes it: every number is a `float64`.
fn json_to_go(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::Array(a) => Value::from(a.iter().map(json_to_go).collect::<Vec<_>>()),
        serde_json::Value::Object(o) => Value::from(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_go(v)))
                .collect::<Map>(),
        ),
        other => Value::from(other),
    }
}

/// mergo-style deep merge of `src` into `dst`: keys missing from `dst` (or, when `overwrite`,
/// all keys) take `src`'s value; nested maps merge recursively.
fn deep_merge(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in src {
        match (dst.get_mut(k), sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) => {
                let mut merged = (**dm).clone();
                deep_merge(&mut merged, sm, overwrite);
                *dm = Arc::new(merged);
            }
            (Some(dv), sv) => {
                let replace = if overwrite {
                    !(matches!(sv, Value::Nil) || is_empty(sv) && !is_empty(dv))
                } else {
                    false
                };
                if replace || is_empty(dv) && !matches!(dv, Value::Bool(_)) {
                    *dv = sv.clone();
                }
            }
            (None, sv) => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}

fn env_get(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn expand_env(s: &str) -> String {
    // os.ExpandEnv: $VAR and ${VAR}; unknown variables expand to "".
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            if b[i + 1] == b'{'
                && let Some(end) = s[i + 2..].find('}')
            {
                out.push_str(&env_get(&s[i + 2..i + 2 + end]));
                i += end + 3;
                continue;
            }
            let n = s[i + 1..]
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            if n > 0 {
                out.push_str(&env_get(&s[i + 1..i + 1 + n]));
                i += n + 1;
                continue;
            }
        }
        let c = s[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn round_half_away(x: f64, places: i64) -> f64 {
    let p = 10f64.powi(places as i32);
    let v = x * p;
    let r = if v < 0.0 {
        (v - 0.5).ceil()
    } else {
        (v + 0.5).floor()
    };
    r / p
}

fn num_all_int(a: &[Value]) -> bool {
    a.iter().all(|v| {
        matches!(v, Value::Int(_)) || matches!(v, Value::Str(s) if !s.contains(['.', 'e', 'E']))
    })
}

fn gnum(f: f64) -> Value {
    Value::Float(f)
}

/// Adds sprig's text functions to `f`.
pub fn register_sprig(f: &mut Funcs) {
    // --- strings
    f.insert("trim", |a| {
        arity("trim", a, 1)?;
        s(str_arg(&a[0])?.trim())
    });
    f.insert("trimAll", |a| {
        arity("trimAll", a, 2)?;
        let cut: Vec<char> = str_arg(&a[0])?.chars().collect();
        s(str_arg(&a[1])?.trim_matches(cut.as_slice()))
    });
    f.insert("trimPrefix", |a| {
        arity("trimPrefix", a, 2)?;
        let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
        s(x.strip_prefix(p).unwrap_or(x))
    });
    f.insert("trimSuffix", |a| {
        arity("trimSuffix", a, 2)?;
        let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
        s(x.strip_suffix(p).unwrap_or(x))
    });
    f.insert("upper", |a| {
        arity("upper", a, 1)?;
        s(str_arg(&a[0])?.to_uppercase())
    });
    f.insert("lower", |a| {
        arity("lower", a, 1)?;
        s(str_arg(&a[0])?.to_lowercase())
    });
    f.insert("title", |a| {
        arity("title", a, 1)?;
        s(title(str_arg(&a[0])?))
    });
    f.insert("untitle", |a| {
        arity("untitle", a, 1)?;
        let x = str_arg(&a[0])?;
        s(x.split(' ')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_lowercase().chain(c).collect(),
                    None => String::new(),
                }
            })
            .collect::<Vec<String>>()
            .join(" "))
    });
    f.insert("replace", |a| {
        arity("replace", a, 3)?;
        s(str_arg(&a[2])?.replace(str_arg(&a[0])?, str_arg(&a[1])?))
    });
    f.insert("contains", |a| {
        arity("contains", a, 2)?;
        b(str_arg(&a[1])?.contains(str_arg(&a[0])?))
    });
    f.insert("hasPrefix", |a| {
        arity("hasPrefix", a, 2)?;
        b(str_arg(&a[1])?.starts_with(str_arg(&a[0])?))
    });
    f.insert("hasSuffix", |a| {
        arity("hasSuffix", a, 2)?;
        b(str_arg(&a[1])?.ends_with(str_arg(&a[0])?))
    });
    f.insert("quote", |a| {
        s(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| go_quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    f.insert("squote", |a| {
        s(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    f.insert("cat", |a| {
        s(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(Value::to_go_string)
            .collect::<Vec<_>>()
            .join(" "))
    });
    f.insert("indent", |a| {
        arity("indent", a, 2)?;
        s(indent(int_arg(&a[0])?, str_arg(&a[1])?)?)
    });
    f.insert("nindent", |a| {
        arity("nindent", a, 2)?;
        s(format!("\n{}", indent(int_arg(&a[0])?, str_arg(&a[1])?)?))
    });
    f.insert("repeat", |a| {
        arity("repeat", a, 2)?;
        let text = str_arg(&a[1])?;
        s(text.repeat(sized("repeat", int_arg(&a[0])?, text.len())?))
    });
    f.insert("substr", |a| {
        arity("substr", a, 3)?;
        let (start, end, x) = (int_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        let n = x.len() as i64;
        let bytes = x.as_bytes();
        let r = if start < 0 {
            &bytes[..end.clamp(0, n) as usize]
        } else if end < 0 || end > n {
            &bytes[start.min(n) as usize..]
        } else {
            &bytes[start.min(end) as usize..end as usize]
        };
        s(String::from_utf8_lossy(r).into_owned())
    });
    f.insert("trunc", |a| {
        arity("trunc", a, 2)?;
        let (c, x) = (int_arg(&a[0])?, str_arg(&a[1])?);
        let n = x.len() as i64;
        let r = if c < 0 && n + c > 0 {
            &x.as_bytes()[(n + c) as usize..]
        } else if c >= 0 && n > c {
            &x.as_bytes()[..c as usize]
        } else {
            x.as_bytes()
        };
        s(String::from_utf8_lossy(r).into_owned())
    });
    f.insert("split", |a| {
        arity("split", a, 2)?;
        let (sep, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
        let mut m = Map::default();
        for (i, p) in go_split(x, sep).into_iter().enumerate() {
            m.insert(format!("_{i}"), Value::str(p));
        }
        Ok(Value::from(m))
    });
    f.insert("splitn", |a| {
        arity("splitn", a, 3)?;
        let (sep, n, x) = (str_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        let mut m = Map::default();
        let parts: Vec<&str> = if n < 0 {
            go_split(x, sep)
        } else {
            x.splitn(n as usize, sep).collect()
        };
        for (i, p) in parts.into_iter().enumerate() {
            m.insert(format!("_{i}"), Value::str(p));
        }
        Ok(Value::from(m))
    });
    f.insert("splitList", |a| {
        arity("splitList", a, 2)?;
        let (sep, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
        list(go_split(x, sep).into_iter().map(Value::str).collect())
    });
    f.insert("join", |a| {
        arity("join", a, 2)?;
        s(strslice(&a[1]).join(str_arg(&a[0])?))
    });
    f.insert("toString", |a| {
        arity("toString", a, 1)?;
        s(strval(&a[0]))
    });
    f.insert("toStrings", |a| {
        arity("toStrings", a, 1)?;
        list(strslice(&a[0]).into_iter().map(Value::from).collect())
    });
    f.insert("nospace", |a| {
        arity("nospace", a, 1)?;
        s(str_arg(&a[0])?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    f.insert("snakecase", |a| {
        arity("snakecase", a, 1)?;
        s(words(str_arg(&a[0])?)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("_"))
    });
    f.insert("kebabcase", |a| {
        arity("kebabcase", a, 1)?;
        s(words(str_arg(&a[0])?)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("-"))
    });
    f.insert("camelcase", |a| {
        arity("camelcase", a, 1)?;
        s(str_arg(&a[0])?.split('_').map(title).collect::<String>())
    });
    f.insert("abbrev", |a| {
        arity("abbrev", a, 2)?;
        let (w, x) = (int_arg(&a[0])?, str_arg(&a[1])?);
        if w < 4 || x.chars().count() as i64 <= w {
            return s(x);
        }
        s(format!(
            "{}...",
            x.chars().take((w - 3) as usize).collect::<String>()
        ))
    });
    f.insert("initials", |a| {
        arity("initials", a, 1)?;
        s(str_arg(&a[0])?
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect::<String>())
    });
    f.insert("wrapWith", |a| {
        arity("wrapWith", a, 3)?;
        let (w, sep, x) = (
            int_arg(&a[0])?.max(1) as usize,
            str_arg(&a[1])?,
            str_arg(&a[2])?,
        );
        s(wrap(x, w, sep))
    });
    f.insert("wrap", |a| {
        arity("wrap", a, 2)?;
        s(wrap(str_arg(&a[1])?, int_arg(&a[0])?.max(1) as usize, "\n"))
    });
    f.insert("plural", |a| {
        arity("plural", a, 3)?;
        let (one, many, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_arg(&a[2])?);
        s(if n == 1 { one } else { many })
    });
    f.insert("sha256sum", |a| {
        arity("sha256sum", a, 1)?;
        s(hex::encode(sha2::Sha256::digest(
            str_arg(&a[0])?.as_bytes(),
        )))
    });
    f.insert("sha512sum", |a| {
        arity("sha512sum", a, 1)?;
        s(hex::encode(sha2::Sha512::digest(
            str_arg(&a[0])?.as_bytes(),
        )))
    });
    f.insert("b64enc", |a| {
        arity("b64enc", a, 1)?;
        s(base64::engine::general_purpose::STANDARD.encode(str_arg(&a[0])?))
    });
    f.insert("b64dec", |a| {
        arity("b64dec", a, 1)?;
        match base64::engine::general_purpose::STANDARD.decode(str_arg(&a[0])?) {
            Ok(bytes) => s(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => s(e.to_string()),
        }
    });
    // --- defaults
    f.insert("default", |a| {
        arity_min("default", a, 1)?;
        if a.len() > 2 {
            return Err(FuncError::Args(format!(
                "wrong number of args for default: want 2 got {}",
                a.len()
            )));
        }
        match a.get(1) {
            Some(v) if !is_empty(v) => Ok(v.clone()),
            _ => Ok(a[0].clone()),
        }
    });
    f.insert("empty", |a| {
        arity("empty", a, 1)?;
        b(is_empty(&a[0]))
    });
    f.insert("coalesce", |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    f.insert("all", |a| b(a.iter().all(|v| !is_empty(v))));
    f.insert("any", |a| b(a.iter().any(|v| !is_empty(v))));
    f.insert("ternary", |a| {
        arity("ternary", a, 3)?;
        let cond = match &a[2] {
            Value::Bool(c) => *c,
            other => {
                return Err(FuncError::Args(format!(
                    "wrong type for value; expected bool; got {}",
                    other.type_name()
                )));
            }
        };
        Ok(if cond { a[0].clone() } else { a[1].clone() })
    });
    f.insert("required", |a| {
        arity("required", a, 2)?;
        let msg = str_arg(&a[0])?;
        match &a[1] {
            Value::Nil => Err(msg.into()),
            Value::Str(x) if x.is_empty() => Err(msg.into()),
            v => Ok(v.clone()),
        }
    });
    f.insert("fail", |a| {
        arity("fail", a, 1)?;
        Err(str_arg(&a[0])?.into())
    });
    f.insert("fromJson", |a| {
        arity("fromJson", a, 1)?;
        Ok(from_json(str_arg(&a[0])?).unwrap_or(Value::Nil))
    });
    f.insert("mustFromJson", |a| {
        arity("mustFromJson", a, 1)?;
        from_json(str_arg(&a[0])?)
    });
    f.insert("toJson", |a| {
        arity("toJson", a, 1)?;
        s(to_json(&a[0], false, false))
    });
    f.insert("mustToJson", |a| {
        arity("mustToJson", a, 1)?;
        s(to_json(&a[0], false, false))
    });
    f.insert("toPrettyJson", |a| {
        arity("toPrettyJson", a, 1)?;
        s(to_json(&a[0], true, false))
    });
    f.insert("toRawJson", |a| {
        arity("toRawJson", a, 1)?;
        s(to_json(&a[0], false, true))
    });
    f.insert("deepCopy", |a| {
        arity("deepCopy", a, 1)?;
        Ok(a[0].clone())
    });
    f.insert("typeOf", |a| {
        arity("typeOf", a, 1)?;
        s(a[0].type_name())
    });
    f.insert("kindOf", |a| {
        arity("kindOf", a, 1)?;
        s(kind_of(&a[0]))
    });
    f.insert("kindIs", |a| {
        arity("kindIs", a, 2)?;
        b(str_arg(&a[0])? == kind_of(&a[1]))
    });
    f.insert("typeIs", |a| {
        arity("typeIs", a, 2)?;
        b(str_arg(&a[0])? == a[1].type_name())
    });
    // --- lists
    f.insert("list", |a| list(a.to_vec()));
    f.insert("tuple", |a| list(a.to_vec()));
    f.insert("first", |a| {
        arity("first", a, 1)?;
        if matches!(a[0], Value::Nil) {
            return Ok(Value::Nil);
        }
        Ok(list_arg("first", &a[0])?
            .first()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    f.insert("last", |a| {
        arity("last", a, 1)?;
        if matches!(a[0], Value::Nil) {
            return Ok(Value::Nil);
        }
        Ok(list_arg("last", &a[0])?
            .last()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    f.insert("rest", |a| {
        arity("rest", a, 1)?;
        let l = list_arg("rest", &a[0])?;
        if l.is_empty() {
            return Ok(Value::Nil);
        }
        list(l[1..].to_vec())
    });
    f.insert("initial", |a| {
        arity("initial", a, 1)?;
        let l = list_arg("initial", &a[0])?;
        if l.is_empty() {
            return Ok(Value::Nil);
        }
        list(l[..l.len() - 1].to_vec())
    });
    for name in ["append", "push"] {
        f.insert(name, move |a| {
            arity(name, a, 2)?;
            let mut l = list_arg("append", &a[0])?.to_vec();
            l.push(a[1].clone());
            list(l)
        });
    }
    f.insert("prepend", |a| {
        arity("prepend", a, 2)?;
        let mut l = vec![a[1].clone()];
        l.extend(list_arg("prepend", &a[0])?.iter().cloned());
        list(l)
    });
    f.insert("concat", |a| {
        let mut l = Vec::new();
        for x in a {
            l.extend(list_arg("concat", x)?.iter().cloned());
        }
        list(l)
    });
    f.insert("uniq", |a| {
        arity("uniq", a, 1)?;
        let mut out: Vec<Value> = Vec::new();
        for x in list_arg("uniq", &a[0])? {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        list(out)
    });
    f.insert("has", |a| {
        arity("has", a, 2)?;
        match &a[1] {
            Value::Nil => b(false),
            hay => b(list_arg("has", hay)?.contains(&a[0])),
        }
    });
    f.insert("without", |a| {
        arity_min("without", a, 1)?;
        let l = list_arg("without", &a[0])?;
        list(l.iter().filter(|x| !a[1..].contains(x)).cloned().collect())
    });
    f.insert("compact", |a| {
        arity("compact", a, 1)?;
        list(
            list_arg("compact", &a[0])?
                .iter()
                .filter(|x| !is_empty(x))
                .cloned()
                .collect(),
        )
    });
    f.insert("reverse", |a| {
        arity("reverse", a, 1)?;
        let mut l = list_arg("reverse", &a[0])?.to_vec();
        l.reverse();
        list(l)
    });
    f.insert("sortAlpha", |a| {
        arity("sortAlpha", a, 1)?;
        let mut l = strslice(&a[0]);
        l.sort();
        list(l.into_iter().map(Value::from).collect())
    });
    f.insert("until", |a| {
        arity("until", a, 1)?;
        let n = int_arg(&a[0])?;
        let r = if n >= 0 {
            stepped("until", 0, 1, |i| i < n)?
        } else {
            stepped("until", 0, -1, |i| i > n)?
        };
        list(r.into_iter().map(Value::Int).collect())
    });
    f.insert("untilStep", |a| {
        arity("untilStep", a, 3)?;
        let (start, stop, step) = (int_arg(&a[0])?, int_arg(&a[1])?, int_arg(&a[2])?);
        let v = match step.cmp(&0) {
            std::cmp::Ordering::Greater => stepped("untilStep", start, step, |i| i < stop)?,
            std::cmp::Ordering::Less => stepped("untilStep", start, step, |i| i > stop)?,
            std::cmp::Ordering::Equal => Vec::new(),
        };
        list(v.into_iter().map(Value::Int).collect())
    });
    f.insert("seq", |a| {
        let n: Vec<i64> = a.iter().map(to_i64).collect();
        let (start, step, end) = match n.as_slice() {
            [] => return s(""),
            [e] => (1, 1, *e),
            [s0, e] => (*s0, if s0 <= e { 1 } else { -1 }, *e),
            [s0, st, e] => (*s0, *st, *e),
            _ => return Err("seq: too many arguments".into()),
        };
        if step == 0 {
            return s("");
        }
        let out = stepped("seq", start, step, |i| {
            (step > 0 && i <= end) || (step < 0 && i >= end)
        })?;
        let out: Vec<String> = out.iter().map(i64::to_string).collect();
        s(out.join(" "))
    });
    // --- dicts
    f.insert("dict", |a| {
        let mut m = Map::default();
        let mut it = a.chunks(2);
        for pair in &mut it {
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::from(m))
    });
    f.insert("get", |a| {
        arity("get", a, 2)?;
        let m = map_arg(&a[0])?;
        Ok(m.get(str_arg(&a[1])?)
            .cloned()
            .unwrap_or_else(|| Value::str("")))
    });
    f.insert("set", |a| {
        arity("set", a, 3)?;
        let mut m = map_arg(&a[0])?.clone();
        m.insert(str_arg(&a[1])?.to_string(), a[2].clone());
        Ok(Value::from(m))
    });
    f.insert("unset", |a| {
        arity("unset", a, 2)?;
        let mut m = map_arg(&a[0])?.clone();
        m.shift_remove(str_arg(&a[1])?);
        Ok(Value::from(m))
    });
    f.insert("hasKey", |a| {
        arity("hasKey", a, 2)?;
        b(map_arg(&a[0])?.contains_key(str_arg(&a[1])?))
    });
    f.insert("keys", |a| {
        let mut out = Vec::new();
        for m in a {
            out.extend(
                Value::sorted_entries(map_arg(m)?)
                    .into_iter()
                    .map(|(k, _)| Value::str(k)),
            );
        }
        list(out)
    });
    f.insert("values", |a| {
        arity("values", a, 1)?;
        list(
            Value::sorted_entries(map_arg(&a[0])?)
                .into_iter()
                .map(|(_, v)| v.clone())
                .collect(),
        )
    });
    f.insert("pick", |a| {
        arity_min("pick", a, 1)?;
        let m = map_arg(&a[0])?;
        let keys: Vec<String> = a[1..].iter().map(strval).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    });
    f.insert("omit", |a| {
        arity_min("omit", a, 1)?;
        let m = map_arg(&a[0])?;
        let keys: Vec<String> = a[1..].iter().map(strval).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    });
    f.insert("dig", |a| {
        arity_min("dig", a, 3)?;
        let n = a.len();
        let mut cur = map_arg(&a[n - 1])?.clone();
        let keys = &a[..n - 2];
        for (i, k) in keys.iter().enumerate() {
            match cur.get(str_arg(k)?) {
                Some(Value::Map(m)) if i + 1 < keys.len() => cur = (**m).clone(),
                Some(v) if i + 1 == keys.len() => return Ok(v.clone()),
                _ => return Ok(a[n - 2].clone()),
            }
        }
        Ok(a[n - 2].clone())
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mergeOverwrite", true),
        ("mustMerge", false),
        ("mustMergeOverwrite", true),
    ] {
        f.insert(name, move |a| {
            arity_min(name, a, 1)?;
            let mut dst = map_arg(&a[0])?.clone();
            for src in &a[1..] {
                deep_merge(&mut dst, map_arg(src)?, overwrite);
            }
            Ok(Value::from(dst))
        });
    }
    // --- math (sprig: int64 via cast, loose)
    f.insert("add1", |a| {
        arity("add1", a, 1)?;
        Ok(Value::Int(to_i64(&a[0]) + 1))
    });
    f.insert("add", |a| {
        Ok(Value::Int(
            a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
        ))
    });
    f.insert("mul", |a| {
        Ok(Value::Int(
            a.iter().map(to_i64).fold(1i64, i64::wrapping_mul),
        ))
    });
    f.insert("sub", |a| {
        arity("sub", a, 2)?;
        Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    f.insert("div", |a| {
        arity("div", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_i64(&a[0]).wrapping_div(d)))
    });
    f.insert("mod", |a| {
        arity("mod", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_i64(&a[0]).wrapping_rem(d)))
    });
    f.insert("max", |a| {
        arity_min("max", a, 1)?;
        Ok(Value::Int(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    f.insert("min", |a| {
        arity_min("min", a, 1)?;
        Ok(Value::Int(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    f.insert("addf", |a| Ok(gnum(a.iter().map(to_f64).sum())));
    f.insert("mulf", |a| Ok(gnum(a.iter().map(to_f64).product())));
    f.insert("subf", |a| {
        arity_min("subf", a, 1)?;
        Ok(gnum(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x - y),
        ))
    });
    f.insert("divf", |a| {
        arity_min("divf", a, 1)?;
        Ok(gnum(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x / y),
        ))
    });
    f.insert("maxf", |a| {
        Ok(gnum(a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max)))
    });
    f.insert("minf", |a| {
        Ok(gnum(a.iter().map(to_f64).fold(f64::INFINITY, f64::min)))
    });
    f.insert("floor", |a| {
        arity("floor", a, 1)?;
        Ok(gnum(to_f64(&a[0]).floor()))
    });
    f.insert("ceil", |a| {
        arity("ceil", a, 1)?;
        Ok(gnum(to_f64(&a[0]).ceil()))
    });
    f.insert("round", |a| {
        arity_min("round", a, 2)?;
        Ok(gnum(round_half_away(to_f64(&a[0]), int_arg(&a[1])?)))
    });
    // --- conversions
    f.insert("atoi", |a| {
        arity("atoi", a, 1)?;
        Ok(Value::Int(str_arg(&a[0])?.parse().unwrap_or(0)))
    });
    for name in ["int", "int64"] {
        f.insert(name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::Int(to_i64(&a[0])))
        });
    }
    f.insert("float64", |a| {
        arity("float64", a, 1)?;
        Ok(gnum(to_f64(&a[0])))
    });
    f.insert("toDecimal", |a| {
        arity("toDecimal", a, 1)?;
        Ok(Value::Int(
            i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0),
        ))
    });
    // --- regex
    f.insert("regexMatch", |a| {
        arity("regexMatch", a, 2)?;
        b(regex(str_arg(&a[0])?)?.is_match(str_arg(&a[1])?))
    });
    f.insert("regexFind", |a| {
        arity("regexFind", a, 2)?;
        let re = regex(str_arg(&a[0])?)?;
        s(re.find(str_arg(&a[1])?)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default())
    });
    f.insert("regexFindAll", |a| {
        arity("regexFindAll", a, 3)?;
        let re = regex(str_arg(&a[0])?)?;
        let n = int_arg(&a[2])?;
        let it = re
            .find_iter(str_arg(&a[1])?)
            .map(|m| Value::str(m.as_str()));
        list(if n < 0 {
            it.collect()
        } else {
            it.take(n as usize).collect()
        })
    });
    f.insert("regexReplaceAll", |a| {
        arity("regexReplaceAll", a, 3)?;
        let re = regex(str_arg(&a[0])?)?;
        s(re.replace_all(str_arg(&a[1])?, str_arg(&a[2])?)
            .into_owned())
    });
    f.insert("regexReplaceAllLiteral", |a| {
        arity("regexReplaceAllLiteral", a, 3)?;
        let re = regex(str_arg(&a[0])?)?;
        s(
            re.replace_all(str_arg(&a[1])?, regex::NoExpand(str_arg(&a[2])?))
                .into_owned(),
        )
    });
    f.insert("regexSplit", |a| {
        arity("regexSplit", a, 3)?;
        let re = regex(str_arg(&a[0])?)?;
        let n = int_arg(&a[2])?;
        let x = str_arg(&a[1])?;
        let parts: Vec<Value> = if n < 0 {
            re.split(x).map(Value::str).collect()
        } else if n == 0 {
            Vec::new()
        } else {
            re.splitn(x, n as usize).map(Value::str).collect()
        };
        list(parts)
    });
    f.insert("regexQuoteMeta", |a| {
        arity("regexQuoteMeta", a, 1)?;
        s(regex::escape(str_arg(&a[0])?))
    });
    f.insert("slice", sprig_slice);
    f.insert("chunk", |a| {
        arity("chunk", a, 2)?;
        let size = to_i64(&a[0]);
        let l = list_arg("chunk", &a[1])?;
        if size <= 0 {
            return list(Vec::new());
        }
        list(
            l.chunks(size as usize)
                .map(|c| Value::from(c.to_vec()))
                .collect(),
        )
    });
    // The `must*` forms fail where the plain ones would panic; ours already fail.
    for name in [
        "first",
        "last",
        "rest",
        "initial",
        "append",
        "push",
        "prepend",
        "uniq",
        "without",
        "has",
        "compact",
        "reverse",
        "slice",
        "chunk",
        "regexMatch",
        "regexFind",
        "regexFindAll",
        "regexReplaceAll",
        "regexReplaceAllLiteral",
        "regexSplit",
        "toPrettyJson",
        "toRawJson",
        "deepCopy",
    ] {
        let mut must = String::from("must");
        let mut chars = name.chars();
        if let Some(c) = chars.next() {
            must.extend(c.to_uppercase());
            must.push_str(chars.as_str());
        }
        f.alias(&must, name);
    }
    f.alias("biggest", "max");
    f.alias("trimall", "trimAll");
}

/// sprig's `slice` (it replaces Go's builtin): lists only, indices converted loosely.
fn sprig_slice(a: &[Value]) -> FuncResult {
    arity_min("slice", a, 1)?;
    let l = match &a[0] {
        Value::List(l) => l,
        Value::Nil => {
            return Err("runtime error: invalid memory address or nil pointer dereference".into());
        }
        other => {
            return Err(format!(
                "list should be type of slice or array but {}",
                kind_of(other)
            )
            .into());
        }
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_i64).unwrap_or(0);
    let end = if a.len() < 3 {
        l.len() as i64
    } else {
        to_i64(&a[2])
    };
    if start < 0 || end < start || end > l.len() as i64 {
        return Err("reflect: slice index out of range".into());
    }
    list(l[start as usize..end as usize].to_vec())
}

/// sprig's non-hermetic `env` and `expandenv`, which atmos leaves out (it uses
/// `HermeticTxtFuncMap` so stack templates cannot read the process environment).
pub fn register_sprig_env(f: &mut Funcs) {
    f.insert("env", |a| {
        arity("env", a, 1)?;
        s(env_get(str_arg(&a[0])?))
    });
    f.insert("expandenv", |a| {
        arity("expandenv", a, 1)?;
        s(expand_env(str_arg(&a[0])?))
    });
}

fn wrap(x: &str, width: usize, sep: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for para in x.split('\n') {
        let mut line = String::new();
        for w in para.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.len() + 1 + w.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        lines.push(line);
    }
    lines.join(sep)
}

/// Go's `strings.Split`: an empty separator splits into UTF-8 characters.
fn go_split<'a>(x: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return x
            .char_indices()
            .map(|(i, c)| &x[i..i + c.len_utf8()])
            .collect();
    }
    x.split(sep).collect()
}

fn to_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Int(i) => *i == 1,
        Value::Float(f) => *f == 1.0,
        Value::Str(s) => {
            let l = s.to_lowercase();
            matches!(l.as_str(), "1" | "t" | "true" | "yes" | "on")
        }
        _ => false,
    }
}

fn gomplate_num(a: &[Value], op: fn(f64, f64) -> f64, iop: fn(i64, i64) -> i64) -> Value {
    if num_all_int(a) {
        Value::Int(a.iter().map(to_i64).reduce(iop).unwrap_or(0))
    } else {
        gnum(a.iter().map(to_f64).reduce(op).unwrap_or(0.0))
    }
}

/// Adds the gomplate namespaces that need no network.
pub fn register_gomplate(f: &mut Funcs) {
    macro_rules! str1 {
        ($name:literal, $body:expr) => {
            f.insert($name, |a| {
                arity($name, a, 1)?;
                let x = strval(&a[0]);
                #[allow(clippy::redundant_closure_call)]
                s(($body)(x.as_str()))
            });
        };
    }
    str1!("strings.ToLower", |x: &str| x.to_lowercase());
    str1!("strings.ToUpper", |x: &str| x.to_uppercase());
    str1!("strings.Title", title);
    str1!("strings.TrimSpace", |x: &str| x.trim().to_string());
    str1!("strings.Quote", |x: &str| go_quote(x));
    str1!("strings.Squote", |x: &str| format!(
        "'{}'",
        x.replace('\'', "''")
    ));
    str1!("strings.SnakeCase", |x: &str| words(x)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_"));
    str1!("strings.KebabCase", |x: &str| words(x)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("-"));
    str1!("strings.CamelCase", |x: &str| {
        let w = words(x);
        w.iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.clone()
                } else {
                    title(&w.to_lowercase())
                }
            })
            .collect::<String>()
    });
    str1!("strings.Slug", |x: &str| words(x)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("-"));
    f.insert("strings.Trim", |a| {
        arity("strings.Trim", a, 2)?;
        let cut: Vec<char> = strval(&a[0]).chars().collect();
        s(strval(&a[1]).trim_matches(cut.as_slice()))
    });
    f.insert("strings.TrimLeft", |a| {
        arity("strings.TrimLeft", a, 2)?;
        let cut: Vec<char> = strval(&a[0]).chars().collect();
        s(strval(&a[1]).trim_start_matches(cut.as_slice()))
    });
    f.insert("strings.TrimRight", |a| {
        arity("strings.TrimRight", a, 2)?;
        let cut: Vec<char> = strval(&a[0]).chars().collect();
        s(strval(&a[1]).trim_end_matches(cut.as_slice()))
    });
    f.insert("strings.TrimPrefix", |a| {
        arity("strings.TrimPrefix", a, 2)?;
        let (p, x) = (strval(&a[0]), strval(&a[1]));
        s(x.strip_prefix(p.as_str()).unwrap_or(&x))
    });
    f.insert("strings.TrimSuffix", |a| {
        arity("strings.TrimSuffix", a, 2)?;
        let (p, x) = (strval(&a[0]), strval(&a[1]));
        s(x.strip_suffix(p.as_str()).unwrap_or(&x))
    });
    f.insert("strings.Contains", |a| {
        arity("strings.Contains", a, 2)?;
        b(strval(&a[1]).contains(strval(&a[0]).as_str()))
    });
    f.insert("strings.HasPrefix", |a| {
        arity("strings.HasPrefix", a, 2)?;
        b(strval(&a[1]).starts_with(strval(&a[0]).as_str()))
    });
    f.insert("strings.HasSuffix", |a| {
        arity("strings.HasSuffix", a, 2)?;
        b(strval(&a[1]).ends_with(strval(&a[0]).as_str()))
    });
    f.insert("strings.ReplaceAll", |a| {
        arity("strings.ReplaceAll", a, 3)?;
        s(strval(&a[2]).replace(strval(&a[0]).as_str(), strval(&a[1]).as_str()))
    });
    f.insert("strings.Replace", |a| {
        arity("strings.Replace", a, 3)?;
        s(strval(&a[2]).replace(strval(&a[0]).as_str(), strval(&a[1]).as_str()))
    });
    f.insert("strings.Split", |a| {
        arity("strings.Split", a, 2)?;
        let (sep, x) = (strval(&a[0]), strval(&a[1]));
        list(go_split(&x, &sep).into_iter().map(Value::str).collect())
    });
    f.insert("strings.SplitN", |a| {
        arity("strings.SplitN", a, 3)?;
        let (sep, n, x) = (strval(&a[0]), to_i64(&a[1]), strval(&a[2]));
        let parts: Vec<Value> = if n < 0 {
            go_split(&x, &sep).into_iter().map(Value::str).collect()
        } else {
            x.splitn(n as usize, sep.as_str()).map(Value::str).collect()
        };
        list(parts)
    });
    f.insert("strings.Repeat", |a| {
        arity("strings.Repeat", a, 2)?;
        let n = to_i64(&a[0]);
        if n < 0 {
            return Err("negative count".into());
        }
        let text = strval(&a[1]);
        s(text.repeat(sized("strings.Repeat", n, text.len())?))
    });
    f.insert("strings.Indent", |a| {
        arity_min("strings.Indent", a, 1)?;
        let (width, pad, x) = match a {
            [x] => (1, " ".to_string(), strval(x)),
            [w, x] => (to_i64(w), " ".to_string(), strval(x)),
            [w, p, x, ..] => (to_i64(w), strval(p), strval(x)),
            [] => return s(""),
        };
        let lines = x.matches('\n').count() + 1;
        let prefix = pad.repeat(sized("strings.Indent", width, pad.len() * lines)?);
        s(x.split('\n')
            .map(|l| {
                if l.is_empty() {
                    l.to_string()
                } else {
                    format!("{prefix}{l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"))
    });
    f.insert("strings.Trunc", |a| {
        arity("strings.Trunc", a, 2)?;
        let (n, x) = (to_i64(&a[0]).max(0) as usize, strval(&a[1]));
        s(x.chars().take(n).collect::<String>())
    });
    f.insert("strings.Abbrev", |a| {
        arity_min("strings.Abbrev", a, 2)?;
        let (w, x) = (to_i64(&a[a.len() - 2]), strval(&a[a.len() - 1]));
        if w < 4 || x.chars().count() as i64 <= w {
            return s(x);
        }
        s(format!(
            "{}...",
            x.chars().take((w - 3) as usize).collect::<String>()
        ))
    });
    f.insert("strings.Sort", |a| {
        arity("strings.Sort", a, 1)?;
        let mut l = strslice(&a[0]);
        l.sort();
        list(l.into_iter().map(Value::from).collect())
    });
    f.insert("strings.RuneCount", |a| {
        Ok(Value::Int(
            a.iter().map(|v| strval(v).chars().count() as i64).sum(),
        ))
    });
    // conv
    f.insert("conv.ToString", |a| {
        arity("conv.ToString", a, 1)?;
        s(match &a[0] {
            Value::Nil => "nil".to_string(),
            v => strval(v),
        })
    });
    f.insert("conv.ToStrings", |a| {
        list(a.iter().map(|v| Value::from(strval(v))).collect())
    });
    for name in ["conv.ToInt", "conv.ToInt64"] {
        f.insert(name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::Int(match &a[0] {
                Value::Str(x) => parse_go_int(x.trim())
                    .unwrap_or_else(|| x.trim().parse::<f64>().map(|f| f as i64).unwrap_or(0)),
                v => to_i64(v),
            }))
        });
    }
    f.insert("conv.ToFloat64", |a| {
        arity("conv.ToFloat64", a, 1)?;
        Ok(gnum(to_f64(&a[0])))
    });
    for name in ["conv.ToBool", "conv.Bool"] {
        f.insert(name, move |a| {
            arity(name, a, 1)?;
            b(to_bool(&a[0]))
        });
    }
    f.insert("conv.Default", |a| {
        arity("conv.Default", a, 2)?;
        Ok(if a[1].truthy() {
            a[1].clone()
        } else {
            a[0].clone()
        })
    });
    f.insert("conv.Join", |a| {
        arity("conv.Join", a, 2)?;
        s(strslice(&a[0]).join(&strval(&a[1])))
    });
    f.insert("conv.Has", |a| {
        arity("conv.Has", a, 2)?;
        b(coll_has(&a[0], &a[1]))
    });
    // coll
    f.insert("coll.Dict", |a| {
        let mut m = Map::default();
        for pair in a.chunks(2) {
            m.insert(
                strval(&pair[0]),
                pair.get(1).cloned().unwrap_or_else(|| Value::str("")),
            );
        }
        Ok(Value::from(m))
    });
    for name in ["coll.Slice", "conv.Slice"] {
        f.insert(name, |a| list(a.to_vec()));
    }
    f.insert("coll.Has", |a| {
        arity("coll.Has", a, 2)?;
        b(coll_has(&a[0], &a[1]))
    });
    f.insert("coll.Keys", |a| {
        let mut out = Vec::new();
        for m in a {
            out.extend(
                Value::sorted_entries(map_arg(m)?)
                    .into_iter()
                    .map(|(k, _)| Value::str(k)),
            );
        }
        list(out)
    });
    f.insert("coll.Values", |a| {
        let mut out = Vec::new();
        for m in a {
            out.extend(
                Value::sorted_entries(map_arg(m)?)
                    .into_iter()
                    .map(|(_, v)| v.clone()),
            );
        }
        list(out)
    });
    f.insert("coll.Append", |a| {
        arity("coll.Append", a, 2)?;
        let mut l = list_arg("append", &a[1])?.to_vec();
        l.push(a[0].clone());
        list(l)
    });
    f.insert("coll.Prepend", |a| {
        arity("coll.Prepend", a, 2)?;
        let mut l = vec![a[0].clone()];
        l.extend(list_arg("prepend", &a[1])?.iter().cloned());
        list(l)
    });
    f.insert("coll.Uniq", |a| {
        arity("coll.Uniq", a, 1)?;
        let mut out: Vec<Value> = Vec::new();
        for x in list_arg("uniq", &a[0])? {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        list(out)
    });
    f.insert("coll.Reverse", |a| {
        arity("coll.Reverse", a, 1)?;
        let mut l = list_arg("reverse", &a[0])?.to_vec();
        l.reverse();
        list(l)
    });
    f.insert("coll.Sort", |a| {
        arity_min("coll.Sort", a, 1)?;
        let mut l = list_arg("sort", &a[a.len() - 1])?.to_vec();
        if l.iter()
            .all(|v| matches!(v, Value::Int(_) | Value::Float(_)))
        {
            l.sort_by(|x, y| to_f64(x).total_cmp(&to_f64(y)));
        } else {
            l.sort_by_key(strval);
        }
        list(l)
    });
    f.insert("coll.Merge", |a| {
        arity_min("coll.Merge", a, 1)?;
        let mut dst = map_arg(&a[0])?.clone();
        for src in &a[1..] {
            deep_merge(&mut dst, map_arg(src)?, false);
        }
        Ok(Value::from(dst))
    });
    f.insert("coll.Pick", |a| {
        arity_min("coll.Pick", a, 1)?;
        let m = map_arg(&a[a.len() - 1])?;
        let keys: Vec<String> = a[..a.len() - 1].iter().map(strval).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    });
    f.insert("coll.Omit", |a| {
        arity_min("coll.Omit", a, 1)?;
        let m = map_arg(&a[a.len() - 1])?;
        let keys: Vec<String> = a[..a.len() - 1].iter().map(strval).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    });
    // data
    f.insert("data.JSON", |a| {
        arity("data.JSON", a, 1)?;
        from_json(&strval(&a[0]))
    });
    f.insert("data.JSONArray", |a| {
        arity("data.JSONArray", a, 1)?;
        let v = from_json(&strval(&a[0]))?;
        if !matches!(v, Value::List(_)) {
            return Err("expected a JSON array".into());
        }
        Ok(v)
    });
    f.insert("data.ToJSON", |a| {
        arity("data.ToJSON", a, 1)?;
        s(to_json(&a[0], false, false))
    });
    f.insert("data.ToJSONPretty", |a| {
        arity("data.ToJSONPretty", a, 2)?;
        let ind = strval(&a[0]);
        s(to_json(&a[1], true, false)
            .replace("\n  ", &format!("\n{ind}"))
            .lines()
            .map(|l| {
                // Re-indent nested levels: to_json uses two spaces per level.
                let depth = l.len() - l.trim_start_matches(' ').len();
                if ind == "  " {
                    l.to_string()
                } else {
                    format!("{}{}", ind.repeat(depth / 2), l.trim_start_matches(' '))
                }
            })
            .collect::<Vec<_>>()
            .join("\n"))
    });
    f.insert("data.YAML", |a| {
        arity("data.YAML", a, 1)?;
        let node = crate::yaml::parse(&strval(&a[0]), "data.YAML")
            .map_err(|e| FuncError::Call(e.message.clone()))?;
        Ok(Value::from(&node))
    });
    f.insert("data.ToYAML", |a| {
        arity("data.ToYAML", a, 1)?;
        // yaml.v3 marshals Go maps with sorted keys.
        s(crate::yaml::to_yaml(&crate::yaml::sorted(&a[0].to_node())))
    });
    // env
    f.insert("env.Getenv", |a| {
        arity_min("env.Getenv", a, 1)?;
        let v = env_get(&strval(&a[0]));
        if v.is_empty()
            && let Some(d) = a.get(1)
        {
            return s(strval(d));
        }
        s(v)
    });
    f.insert("getenv", |a| {
        arity_min("getenv", a, 1)?;
        let v = env_get(&strval(&a[0]));
        if v.is_empty()
            && let Some(d) = a.get(1)
        {
            return s(strval(d));
        }
        s(v)
    });
    f.insert("env.ExpandEnv", |a| {
        arity("env.ExpandEnv", a, 1)?;
        s(expand_env(&strval(&a[0])))
    });
    // math
    f.insert("math.Add", |a| {
        Ok(gomplate_num(a, |x, y| x + y, i64::wrapping_add))
    });
    f.insert("math.Mul", |a| {
        Ok(gomplate_num(a, |x, y| x * y, i64::wrapping_mul))
    });
    f.insert("math.Sub", |a| {
        arity("math.Sub", a, 2)?;
        Ok(gomplate_num(a, |x, y| x - y, i64::wrapping_sub))
    });
    f.insert("math.Div", |a| {
        arity("math.Div", a, 2)?;
        let d = to_f64(&a[1]);
        if d == 0.0 {
            return Err("divide by zero".into());
        }
        Ok(gnum(to_f64(&a[0]) / d))
    });
    f.insert("math.Rem", |a| {
        arity("math.Rem", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("divide by zero".into());
        }
        Ok(Value::Int(to_i64(&a[0]) % d))
    });
    f.insert("math.Pow", |a| {
        arity("math.Pow", a, 2)?;
        let r = to_f64(&a[0]).powf(to_f64(&a[1]));
        Ok(if num_all_int(a) && r.fract() == 0.0 && r.abs() < 9e15 {
            Value::Int(r as i64)
        } else {
            gnum(r)
        })
    });
    f.insert("math.Max", |a| {
        arity_min("math.Max", a, 1)?;
        Ok(gomplate_num(a, f64::max, i64::max))
    });
    f.insert("math.Min", |a| {
        arity_min("math.Min", a, 1)?;
        Ok(gomplate_num(a, f64::min, i64::min))
    });
    f.insert("math.Abs", |a| {
        arity("math.Abs", a, 1)?;
        Ok(match &a[0] {
            Value::Int(i) => Value::Int(i.abs()),
            v => gnum(to_f64(v).abs()),
        })
    });
    f.insert("math.Floor", |a| {
        arity("math.Floor", a, 1)?;
        Ok(gnum(to_f64(&a[0]).floor()))
    });
    f.insert("math.Ceil", |a| {
        arity("math.Ceil", a, 1)?;
        Ok(gnum(to_f64(&a[0]).ceil()))
    });
    f.insert("math.Round", |a| {
        arity("math.Round", a, 1)?;
        Ok(gnum(round_half_away(to_f64(&a[0]), 0)))
    });
    f.insert("math.IsInt", |a| {
        arity("math.IsInt", a, 1)?;
        b(matches!(&a[0], Value::Int(_))
            || matches!(&a[0], Value::Str(x) if parse_go_int(x).is_some()))
    });
    f.insert("math.IsFloat", |a| {
        arity("math.IsFloat", a, 1)?;
        b(matches!(&a[0], Value::Float(_))
            || matches!(&a[0], Value::Str(x) if x.contains('.') && x.parse::<f64>().is_ok()))
    });
    f.insert("math.IsNum", |a| {
        arity("math.IsNum", a, 1)?;
        b(matches!(&a[0], Value::Int(_) | Value::Float(_))
            || matches!(&a[0], Value::Str(x) if x.parse::<f64>().is_ok()))
    });
    f.insert("math.Seq", |a| {
        arity_min("math.Seq", a, 1)?;
        let n: Vec<i64> = a.iter().map(to_i64).collect();
        let (start, end, step) = match n.as_slice() {
            [e] => (1, *e, 1),
            [s0, e] => (*s0, *e, 1),
            [s0, e, st, ..] => (*s0, *e, *st),
            [] => return list(Vec::new()),
        };
        let step = if start > end {
            step.saturating_abs().saturating_neg()
        } else {
            step.saturating_abs()
        };
        if step == 0 {
            return list(Vec::new());
        }
        let out = stepped("math.Seq", start, step, |i| {
            (step > 0 && i <= end) || (step < 0 && i >= end)
        })?;
        list(out.into_iter().map(Value::Int).collect())
    });
}

fn coll_has(container: &Value, key: &Value) -> bool {
    match container {
        Value::Map(m) => m.contains_key(&strval(key)),
        Value::List(l) => l.contains(key),
        _ => false,
    }
}
