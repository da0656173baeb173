//! Owns the store-independent tree (documents of ordered mappings with comment items), the
//! canonical text of every scalar type (what is encrypted and hashed), the crypt rule that decides
//! which leaves are encrypted, and the one tree walker shared by encryption, decryption and the
//! MAC.

use std::fmt;

use chrono::{DateTime, FixedOffset, Timelike};
use regex::Regex;
use zeroize::Zeroizing;

/// Plaintext bytes of a string value or comment. Zeroed on drop; `Debug` never shows them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Text(Zeroizing<Vec<u8>>);

impl Text {
    /// Wraps bytes (takes ownership of the only copy).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text, invalid UTF-8 replaced by U+FFFD.
    pub fn to_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text(****, {} bytes)", self.0.len())
    }
}

/// One node of the tree. `Debug` shows the structure and keys but never a scalar's value.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `null` (an empty YAML value).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A YAML timestamp, with its offset.
    Time(DateTime<FixedOffset>),
    /// A string.
    Str(Text),
    /// Legacy `type:bytes` values (read only).
    Bytes(Text),
    /// A mapping.
    Map(Map),
    /// A sequence.
    Seq(Vec<Value>),
    /// A comment item of a sequence, or the payload of [`Entry::Comment`].
    Comment(Text),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Seq(s) => f.debug_tuple("Seq").field(s).finish(),
            scalar => write!(f, "{}(****)", scalar.type_name()),
        }
    }
}

/// An ordered mapping: key/value pairs and comment items.
pub type Map = Vec<Entry>;

/// One item of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A key and its value.
    Pair(String, Value),
    /// Always holds a [`Value::Comment`] (a `Value` so that the walker can treat it as a leaf).
    Comment(Value),
}

impl Entry {
    /// A comment entry.
    pub fn comment(text: impl Into<Text>) -> Self {
        Entry::Comment(Value::Comment(text.into()))
    }

    /// The key of a pair.
    pub fn key(&self) -> Option<&str> {
        match self {
            Entry::Pair(k, _) => Some(k),
            Entry::Comment(_) => None,
        }
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Text>) -> Self {
        Value::Str(s.into())
    }

    /// The `type:` name of a scalar.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "str",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time",
            Value::Bytes(_) => "bytes",
            Value::Comment(_) => "comment",
            Value::Null | Value::Map(_) | Value::Seq(_) => "",
        }
    }

    /// The canonical bytes (encrypted and hashed) of a scalar; `None` for null and collections.
    pub fn canonical(&self) -> Option<Zeroizing<Vec<u8>>> {
        let s = match self {
            Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => {
                return Some(Zeroizing::new(t.as_bytes().to_vec()));
            }
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_plain(*f),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Time(t) => format_time(t),
            Value::Null | Value::Map(_) | Value::Seq(_) => return None,
        };
        Some(Zeroizing::new(s.into_bytes()))
    }

    /// Feeds the canonical bytes of a scalar to `f` without copying string values.
    pub fn hash_into(&self, f: &mut impl FnMut(&[u8])) {
        match self {
            Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => f(t.as_bytes()),
            other => {
                if let Some(c) = other.canonical() {
                    f(&c);
                }
            }
        }
    }

    /// Parses a decrypted plaintext of type `ty` back into a value.
    pub fn from_plaintext(ty: &str, plain: Vec<u8>) -> Result<Value, String> {
        let plain = Text::new(plain);
        let text = || {
            plain
                .as_str()
                .ok_or_else(|| format!("invalid UTF-8 in a {ty} value"))
        };
        Ok(match ty {
            "str" => Value::Str(plain),
            "comment" => Value::Comment(plain),
            "bytes" => Value::Bytes(plain),
            "int" => Value::Int(parse_go_atoi(text()?).ok_or("invalid int value")?),
            "float" => Value::Float(parse_go_float(text()?).ok_or("invalid float value")?),
            "bool" => Value::Bool(match text()? {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => return Err("invalid bool value".into()),
            }),
            "time" => Value::Time(
                DateTime::parse_from_rfc3339(text()?).map_err(|_| "invalid time value")?,
            ),
            other => return Err(format!("unknown type `{other}`")),
        })
    }
}

/// Go `strconv.Atoi`: optional sign and decimal digits, i64 range.
fn parse_go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseFloat(s, 64)` for the forms sops and YAML produce (decimal, exponent,
/// inf/infinity/nan in any case). Out-of-range values are an error, as in Go.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        return s.to_ascii_lowercase().parse().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Go `FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, positional notation.
pub fn format_float_plain(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

/// Go `FormatFloat(f, 'g', -1, 64)` (the YAML emitter): exponent form below 1e-4 and from 1e6.
pub fn format_float_g(f: f64) -> String {
    if !f.is_finite() {
        return format_float_plain(f);
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    // `{:e}` gives the shortest digits; its exponent is exact, log10 may be off by one.
    let e = format!("{f:e}");
    let (mant, ex) = e.split_once('e').unwrap_or((&e, "0"));
    let ex: i32 = ex.parse().unwrap_or(exp);
    if !(-4..6).contains(&ex) {
        let sign = if ex < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", ex.abs())
    } else {
        format!("{f}")
    }
}

/// Go `time.MarshalText`: RFC 3339 with up to 9 fractional digits (trailing zeros removed), `Z`
/// for a zero offset.
pub fn format_time(t: &DateTime<FixedOffset>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let off = t.offset().local_minus_utc();
    if off == 0 {
        s.push('Z');
    } else {
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.abs();
        s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, (off % 3600) / 60));
    }
    s
}

/// Which leaves are encrypted.
#[derive(Clone, Debug)]
pub enum CryptRule {
    /// Everything except values under a key ending with this suffix (`unencrypted_suffix`).
    UnencryptedSuffix(String),
    /// Only values under a key ending with this suffix (`encrypted_suffix`).
    EncryptedSuffix(String),
    /// Everything except values under a key matching this regex (`unencrypted_regex`).
    UnencryptedRegex(Regex),
    /// Only values under a key matching this regex (`encrypted_regex`).
    EncryptedRegex(Regex),
    /// Everything except values after a comment matching this regex
    /// (`unencrypted_comment_regex`).
    UnencryptedCommentRegex(Regex),
    /// Only values after a comment matching this regex (`encrypted_comment_regex`).
    EncryptedCommentRegex(Regex),
}

impl Default for CryptRule {
    fn default() -> Self {
        CryptRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.into())
    }
}

/// The rule sops applies when a file names none.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The metadata field names of the rules, in the order sops writes them.
pub const RULE_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

impl CryptRule {
    /// Builds a rule from its metadata field name and value.
    pub fn from_field(field: &str, value: &str) -> Result<Self, String> {
        let re = || Regex::new(value).map_err(|e| format!("invalid `{field}`: {e}"));
        Ok(match field {
            "unencrypted_suffix" => CryptRule::UnencryptedSuffix(value.into()),
            "encrypted_suffix" => CryptRule::EncryptedSuffix(value.into()),
            "unencrypted_regex" => CryptRule::UnencryptedRegex(re()?),
            "encrypted_regex" => CryptRule::EncryptedRegex(re()?),
            "unencrypted_comment_regex" => CryptRule::UnencryptedCommentRegex(re()?),
            "encrypted_comment_regex" => CryptRule::EncryptedCommentRegex(re()?),
            other => return Err(format!("unknown crypt rule `{other}`")),
        })
    }

    /// The metadata field name and value.
    pub fn field(&self) -> (&'static str, &str) {
        match self {
            CryptRule::UnencryptedSuffix(s) => (RULE_FIELDS[0], s),
            CryptRule::EncryptedSuffix(s) => (RULE_FIELDS[1], s),
            CryptRule::UnencryptedRegex(r) => (RULE_FIELDS[2], r.as_str()),
            CryptRule::EncryptedRegex(r) => (RULE_FIELDS[3], r.as_str()),
            CryptRule::UnencryptedCommentRegex(r) => (RULE_FIELDS[4], r.as_str()),
            CryptRule::EncryptedCommentRegex(r) => (RULE_FIELDS[5], r.as_str()),
        }
    }

    /// Whether the leaf described by `ctx` is encrypted.
    pub fn encrypts(&self, ctx: &Leaf<'_>) -> bool {
        match self {
            CryptRule::UnencryptedSuffix(s) => !ctx.path.iter().any(|k| k.ends_with(s.as_str())),
            CryptRule::EncryptedSuffix(s) => ctx.path.iter().any(|k| k.ends_with(s.as_str())),
            CryptRule::UnencryptedRegex(r) => !ctx.path.iter().any(|k| r.is_match(k)),
            CryptRule::EncryptedRegex(r) => ctx.path.iter().any(|k| r.is_match(k)),
            CryptRule::UnencryptedCommentRegex(r) => {
                !ctx.comments.iter().flatten().any(|c| r.is_match(c))
            }
            CryptRule::EncryptedCommentRegex(r) => {
                let last = ctx.comments.len().saturating_sub(1);
                ctx.comments.iter().enumerate().any(|(level, cs)| {
                    let n = if ctx.is_comment && level == last {
                        cs.len().saturating_sub(1)
                    } else {
                        cs.len()
                    };
                    cs[..n].iter().any(|c| r.is_match(c))
                })
            }
        }
    }

    fn needs_comments(&self) -> bool {
        matches!(
            self,
            CryptRule::UnencryptedCommentRegex(_) | CryptRule::EncryptedCommentRegex(_)
        )
    }
}

/// What the walker knows about a leaf.
pub struct Leaf<'a> {
    /// Mapping keys from the document root (sequence positions add nothing).
    pub path: &'a [&'a str],
    /// The AAD: every key followed by `:`; `:` at the root.
    pub aad: &'a str,
    /// Comment texts per nesting level that apply to this leaf (only for comment rules).
    pub comments: &'a [Vec<String>],
    /// Whether the leaf is a comment (in the input tree).
    pub is_comment: bool,
}

/// Walks every document depth-first in document order and calls `f` on each leaf (scalars and
/// comments; nulls and collections are not leaves). `f` may replace the leaf in place.
pub fn walk<E>(
    docs: &mut [Map],
    rule: &CryptRule,
    f: &mut dyn FnMut(&Leaf<'_>, &mut Value) -> Result<(), E>,
) -> Result<(), E> {
    for doc in docs {
        let mut w = Walker {
            path: Vec::new(),
            aad: String::new(),
            comments: Vec::new(),
            track_comments: rule.needs_comments(),
            f: &mut *f,
        };
        w.map(doc)?;
    }
    Ok(())
}

struct Walker<'t, 'f, E> {
    path: Vec<&'t str>,
    aad: String,
    comments: Vec<Vec<String>>,
    track_comments: bool,
    f: &'f mut dyn FnMut(&Leaf<'_>, &mut Value) -> Result<(), E>,
}

impl<'t, E> Walker<'t, '_, E> {
    fn map(&mut self, m: &'t mut Map) -> Result<(), E> {
        self.comments.push(Vec::new());
        for entry in m.iter_mut() {
            match entry {
                Entry::Comment(v) => {
                    self.note_comment(v);
                    self.leaf(v, true)?;
                }
                Entry::Pair(k, v) => {
                    let k: &'t String = k;
                    self.path.push(k.as_str());
                    let len = self.aad.len();
                    self.aad.push_str(k);
                    self.aad.push(':');
                    self.value(v)?;
                    self.aad.truncate(len);
                    self.path.pop();
                    if let Some(top) = self.comments.last_mut() {
                        top.clear();
                    }
                }
            }
        }
        self.comments.pop();
        Ok(())
    }

    fn seq(&mut self, s: &'t mut [Value]) -> Result<(), E> {
        self.comments.push(Vec::new());
        for item in s.iter_mut() {
            let is_comment = matches!(item, Value::Comment(_));
            if is_comment {
                self.note_comment(item);
            }
            self.value(item)?;
            if !is_comment && let Some(top) = self.comments.last_mut() {
                top.clear();
            }
        }
        self.comments.pop();
        Ok(())
    }

    fn note_comment(&mut self, v: &Value) {
        if self.track_comments
            && let (Value::Comment(t), Some(top)) = (v, self.comments.last_mut())
        {
            top.push(t.to_lossy().into_owned());
        }
    }

    fn value(&mut self, v: &'t mut Value) -> Result<(), E> {
        match v {
            Value::Map(m) => self.map(m),
            Value::Seq(s) => self.seq(s),
            Value::Null => Ok(()),
            other => {
                let is_comment = matches!(other, Value::Comment(_));
                self.leaf(other, is_comment)
            }
        }
    }

    fn leaf(&mut self, v: &mut Value, is_comment: bool) -> Result<(), E> {
        let aad = if self.aad.is_empty() {
            ":"
        } else {
            self.aad.as_str()
        };
        let ctx = Leaf {
            path: &self.path,
            aad,
            comments: &self.comments,
            is_comment,
        };
        (self.f)(&ctx, v)
    }
}

/// Looks up a key in a mapping (first match).
pub fn map_get<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.iter().find_map(|e| match e {
        Entry::Pair(k, v) if k == key => Some(v),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_formats_match_go() {
        assert_eq!(format_float_plain(1.0), "1");
        assert_eq!(format_float_plain(-0.0), "-0");
        assert_eq!(format_float_plain(1e21), "1000000000000000000000");
        assert_eq!(format_float_plain(1.5e-7), "0.00000015");
        assert_eq!(format_float_plain(f64::INFINITY), "+Inf");
        assert_eq!(format_float_g(6.02e23), "6.02e+23");
        assert_eq!(format_float_g(1e-9), "1e-09");
        assert_eq!(format_float_g(0.75), "0.75");
        assert_eq!(format_float_g(1.0), "1");
        assert_eq!(format_float_g(1e20), "1e+20");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(0.0001), "0.0001");
    }

    #[test]
    fn time_format_trims_fraction() {
        let t = DateTime::parse_from_rfc3339("2024-01-01T00:00:00.500+00:00").unwrap();
        assert_eq!(format_time(&t), "2024-01-01T00:00:00.5Z");
        let t = DateTime::parse_from_rfc3339("2020-01-01T00:00:00+02:00").unwrap();
        assert_eq!(format_time(&t), "2020-01-01T00:00:00+02:00");
    }

    #[test]
    fn debug_never_shows_values() {
        let v = Value::Map(vec![
            Entry::Pair("k".into(), Value::Int(4242)),
            Entry::Pair("s".into(), Value::str("hunter2")),
        ]);
        let d = format!("{v:?}");
        assert!(
            d.contains("\"k\"") && !d.contains("4242") && !d.contains("hunter2"),
            "{d}"
        );
    }

    #[test]
    fn bool_plaintexts_follow_go() {
        assert_eq!(
            Value::from_plaintext("bool", b"t".to_vec()).unwrap(),
            Value::Bool(true)
        );
        assert!(Value::from_plaintext("bool", b"yes".to_vec()).is_err());
        assert!(Value::from_plaintext("int", b"0x10".to_vec()).is_err());
        assert!(Value::from_plaintext("float", b"1e400".to_vec()).is_err());
        assert!(Value::from_plaintext("weird", b"x".to_vec()).is_err());
    }
}
