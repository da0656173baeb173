//! The data model templates evaluate over: a JSON-like [`Value`] with cheap clones (`Arc`), the
//! Go semantics attached to it (truthiness, `%v` printing, type names) and the conversions from
//! `serde_json::Value`.
//!
//! Go's `text/template` sees atmos data as `map[string]any` produced by `yaml.v3`: integers are
//! `int`, floats `float64`, maps `map[string]any`, lists `[]any`. [`Value`] mirrors exactly that,
//! so `%T`, `eq` type rules and printing behave as they do in atmos.

use std::sync::Arc;

use indexmap::IndexMap;

/// An ordered map of template values (insertion order is kept; Go iterates maps in sorted key
/// order, which [`Value::sorted_entries`] provides). Hashed with foldhash: a template looks up a
/// field for every `.a.b`, and SipHash was a visible share of rendering a component.
pub type Map = IndexMap<String, Value, foldhash::fast::RandomState>;

/// A template value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Go's `nil` (also a missing map key once it leaves a field lookup).
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i64),
    /// `float64`.
    Float(f64),
    /// `string`.
    Str(Arc<str>),
    /// `[]any`.
    List(Arc<Vec<Value>>),
    /// `map[string]any`.
    Map(Arc<Map>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(Arc::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Arc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(Arc::new(v))
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(Arc::new(m))
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Float(u as f64)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::from(a.iter().map(Value::from).collect::<Vec<_>>())
            }
            serde_json::Value::Object(o) => Value::from(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect::<Map>(),
            ),
        }
    }
}

impl Value {
    /// Builds a string value.
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }

    /// Converts to `serde_json::Value` (non-finite floats become `null`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Go's `text/template` truth: false, 0, nil, and empty strings/lists/maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// The Go type name (`%T`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Map entries in Go's iteration order for templates (sorted by key).
    pub fn sorted_entries(m: &Map) -> Vec<(&String, &Value)> {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// `fmt.Sprint(v)` / `%v`.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out);
        out
    }

    /// Writes `%v` (or `%+v` which is identical for these types).
    pub fn write_go(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_float_g(*f, None, false)),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in Value::sorted_entries(m).into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out);
                }
                out.push(']');
            }
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)` as `fmt` uses it for `%v`/`%g` (shortest when
/// `prec` is `None`; exponent form when exp < -4 or exp >= precision (6 for shortest... unless
/// the shortest digits are longer)). `upper` selects `E`.
pub fn format_float_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Get the decimal digits and exponent.
    let (neg, digits, dp) = decimal_digits(f, prec);
    let nd = digits.len();
    let shortest = prec.is_none();
    let mut eprec = match prec {
        None => 6,
        Some(0) => 1,
        Some(p) => p,
    };
    if !shortest && eprec > nd && nd >= dp as usize {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = dp - 1;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if exp < -4 || exp >= eprec as i32 {
        // %e with nd-1 digits after the point
        s.push(digits.as_bytes()[0] as char);
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push(if upper { 'E' } else { 'e' });
        s.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            s.push('0');
        }
        s.push_str(&e.to_string());
    } else {
        // %f
        if dp <= 0 {
            s.push('0');
            s.push('.');
            for _ in 0..(-dp) {
                s.push('0');
            }
            s.push_str(&digits);
        } else {
            let dpu = dp as usize;
            if nd <= dpu {
                s.push_str(&digits);
                for _ in nd..dpu {
                    s.push('0');
                }
            } else {
                s.push_str(&digits[..dpu]);
                s.push('.');
                s.push_str(&digits[dpu..]);
            }
        }
    }
    s
}

/// Decimal digits of |f| (no trailing zeros, "0" for zero) and the decimal point position, with
/// `prec` significant digits (shortest round-trip when `None`).
fn decimal_digits(f: f64, prec: Option<usize>) -> (bool, String, i32) {
    let neg = f.is_sign_negative();
    let a = f.abs();
    if a == 0.0 {
        return (neg, "0".into(), 1);
    }
    let e = match prec {
        None => format!("{a:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, a),
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (neg, digits, exp + 1)
}

impl From<&crate::yaml::Node> for Value {
    /// A manifest value as Go's `yaml.v3` hands it to templates. A still-unresolved YAML function
    /// (`!env X`) is seen as its text, `!tag value`.
    fn from(n: &crate::yaml::Node) -> Self {
        use crate::yaml::Node;
        match n {
            Node::Null => Value::Nil,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Int(*i),
            Node::Float(f) => Value::Float(*f),
            Node::Str(s) => Value::str(s),
            Node::Seq(l) => Value::from(l.iter().map(Value::from).collect::<Vec<_>>()),
            Node::Map(m) => Value::from(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect::<Map>(),
            ),
            Node::Tagged(t) => match t.value.scalar_text() {
                Some(text) => Value::str(format!("{} {text}", t.tag)),
                None => Value::from(&t.value),
            },
        }
    }
}

impl Value {
    /// Converts to the manifest tree (`crate::yaml::Node`).
    pub fn to_node(&self) -> crate::yaml::Node {
        use crate::yaml::Node;
        match self {
            Value::Nil => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Int(i) => Node::Int(*i),
            Value::Float(f) => Node::Float(*f),
            Value::Str(s) => Node::Str(s.to_string()),
            Value::List(l) => Node::Seq(l.iter().map(Value::to_node).collect()),
            Value::Map(m) => Node::Map(m.iter().map(|(k, v)| (k.clone(), v.to_node())).collect()),
        }
    }
}
