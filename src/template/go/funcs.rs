//! The function registry ([`Funcs`]) and Go's predefined template functions (`eq`, `index`,
//! `printf`, …). `and`, `or` and `call` are evaluated by the executor (they are lazy / need the
//! argument node) but are registered here so the parser knows them.

use std::collections::HashMap;
use std::sync::Arc;

use super::fmt::{sprint, sprintf, sprintln};
use super::value::Value;

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncError {
    /// The arguments do not fit the function (count or type); Go reports these without the
    /// `error calling NAME:` prefix.
    Args(String),
    /// The function itself failed; reported as `error calling NAME: ...`.
    Call(String),
}

impl From<String> for FuncError {
    fn from(s: String) -> Self {
        FuncError::Call(s)
    }
}
impl From<&str> for FuncError {
    fn from(s: &str) -> Self {
        FuncError::Call(s.to_string())
    }
}

/// A function callable from templates.
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync>;

/// Result type for template functions.
pub type FuncResult = Result<Value, FuncError>;

/// A function registry. Names may be namespaced (`strings.ToLower`): the parser accepts
/// `ns.Name` when `ns.Name` is registered.
#[derive(Clone, Default)]
pub struct Funcs {
    /// By name, hashed with foldhash: every function call of a template looks its name up.
    map: HashMap<String, Func, foldhash::fast::RandomState>,
}

impl std::fmt::Debug for Funcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Funcs")
            .field("count", &self.map.len())
            .finish()
    }
}

impl Funcs {
    /// Go's predefined functions only.
    pub fn builtins() -> Funcs {
        let mut f = Funcs::default();
        register_builtins(&mut f);
        f
    }

    /// Adds (or replaces) a function.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&[Value]) -> FuncResult + Send + Sync + 'static,
    ) {
        self.map.insert(name.into(), Arc::new(f));
    }

    /// Registers `alias` as another name for the already registered `name` (no-op otherwise).
    pub fn alias(&mut self, alias: &str, name: &str) {
        if let Some(f) = self.map.get(name).cloned() {
            self.map.insert(alias.to_string(), f);
        }
    }

    /// Whether `name` is callable (plain or namespaced).
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The function registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }

    /// Every registered name (sorted), for documentation and tests.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.map.keys().cloned().collect();
        v.sort();
        v
    }
}

/// `wrong number of args for NAME: want N got M`.
pub fn arity(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() != want {
        return Err(FuncError::Args(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// `wrong number of args for NAME: want at least N got M`.
pub fn arity_min(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() < want {
        return Err(FuncError::Args(format!(
            "wrong number of args for {name}: want at least {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// A `string` parameter, with Go's type error.
pub fn str_arg(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Nil => Err(FuncError::Args("invalid value; expected string".into())),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

/// An `int` parameter, with Go's type error.
pub fn int_arg(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(FuncError::Args("invalid value; expected int".into())),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        ))),
    }
}

fn eval_args_string(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    sprint(args)
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

const BAD_CMP: &str = "incompatible types for comparison";
const BAD_CMP_TYPE: &str = "invalid type for comparison";

fn eq2(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 != k2 {
        if k1 != Kind::Invalid && k2 != Kind::Invalid {
            return Err(BAD_CMP.into());
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (a, b) => {
            return Err(FuncError::Call(format!(
                "non-comparable types {}: {}, {}: {}",
                a.to_go_string(),
                a.type_name(),
                b.type_name(),
                b.to_go_string()
            )));
        }
    })
}

fn lt2(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (kind(a), kind(b));
    for k in [k1, k2] {
        if matches!(k, Kind::Invalid | Kind::Other) {
            return Err(BAD_CMP_TYPE.into());
        }
    }
    if k1 != k2 {
        return Err(BAD_CMP.into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err(BAD_CMP_TYPE.into()),
    })
}

fn index_one(item: &Value, idx: &Value) -> Result<Value, FuncError> {
    match item {
        Value::List(l) => {
            let i = match idx {
                Value::Int(i) => *i,
                Value::Nil => return Err("cannot index slice/array with nil".into()),
                other => {
                    return Err(format!(
                        "cannot index slice/array with type {}",
                        other.type_name()
                    )
                    .into());
                }
            };
            if i < 0 || i as usize >= l.len() {
                return Err(format!("index out of range: {i}").into());
            }
            Ok(l[i as usize].clone())
        }
        Value::Str(s) => {
            let i = match idx {
                Value::Int(i) => *i,
                other => {
                    return Err(format!(
                        "cannot index slice/array with type {}",
                        other.type_name()
                    )
                    .into());
                }
            };
            if i < 0 || i as usize >= s.len() {
                return Err(format!("index out of range: {i}").into());
            }
            Ok(Value::Int(i64::from(s.as_bytes()[i as usize])))
        }
        Value::Map(m) => match idx {
            Value::Str(k) => Ok(m.get(k.as_ref()).cloned().unwrap_or(Value::Nil)),
            Value::Nil => Err("value is nil; should be of type string".into()),
            other => Err(format!("value has type {}; should be string", other.type_name()).into()),
        },
        Value::Nil => Err("index of nil pointer".into()),
        other => Err(format!("can't index item of type {}", other.type_name()).into()),
    }
}

fn slice_idx(v: &Value) -> Result<usize, FuncError> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Int(i) => Err(format!("index out of range: {i}").into()),
        other => Err(format!("cannot index slice/array with type {}", other.type_name()).into()),
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if (c as u32) >= 0x80 && !super::parse::go_is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn register_builtins(f: &mut Funcs) {
    // Evaluated by the executor; registered so that the parser accepts them.
    for lazy in ["and", "or", "call"] {
        f.insert(lazy, |_| {
            Err(FuncError::Call("evaluated by the executor".into()))
        });
    }
    f.insert("not", |a| {
        arity("not", a, 1)?;
        Ok(Value::Bool(!a[0].truthy()))
    });
    f.insert("eq", |a| {
        arity_min("eq", a, 1)?;
        if a.len() == 1 {
            return Err("missing argument for comparison".into());
        }
        for b in &a[1..] {
            if eq2(&a[0], b)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    f.insert("ne", |a| {
        arity("ne", a, 2)?;
        Ok(Value::Bool(!eq2(&a[0], &a[1])?))
    });
    f.insert("lt", |a| {
        arity("lt", a, 2)?;
        Ok(Value::Bool(lt2(&a[0], &a[1])?))
    });
    f.insert("le", |a| {
        arity("le", a, 2)?;
        Ok(Value::Bool(lt2(&a[0], &a[1])? || eq2(&a[0], &a[1])?))
    });
    f.insert("gt", |a| {
        arity("gt", a, 2)?;
        Ok(Value::Bool(!(lt2(&a[0], &a[1])? || eq2(&a[0], &a[1])?)))
    });
    f.insert("ge", |a| {
        arity("ge", a, 2)?;
        Ok(Value::Bool(!lt2(&a[0], &a[1])?))
    });
    f.insert("len", |a| {
        arity("len", a, 1)?;
        match &a[0] {
            Value::Str(s) => Ok(Value::Int(s.len() as i64)),
            Value::List(l) => Ok(Value::Int(l.len() as i64)),
            Value::Map(m) => Ok(Value::Int(m.len() as i64)),
            Value::Nil => Err("len of nil pointer".into()),
            other => Err(format!("len of type {}", other.type_name()).into()),
        }
    });
    f.insert("index", |a| {
        arity_min("index", a, 1)?;
        if matches!(a[0], Value::Nil) && a.len() > 1 {
            return Err("index of untyped nil".into());
        }
        let mut item = a[0].clone();
        for idx in &a[1..] {
            item = index_one(&item, idx)?;
        }
        Ok(item)
    });
    f.insert("slice", |a| {
        arity_min("slice", a, 1)?;
        let item = &a[0];
        if matches!(item, Value::Nil) {
            return Err("slice of untyped nil".into());
        }
        if a.len() > 4 {
            return Err(format!("too many slice indexes: {}", a.len() - 1).into());
        }
        let len = match item {
            Value::Str(s) => {
                if a.len() == 4 {
                    return Err("cannot 3-index slice a string".into());
                }
                s.len()
            }
            Value::List(l) => l.len(),
            other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
        };
        let mut idx = [0usize, len, len];
        for (i, v) in a[1..].iter().enumerate() {
            let x = slice_idx(v)?;
            if x > len {
                return Err(format!("index out of range: {x}").into());
            }
            idx[i] = x;
        }
        if a.len() < 3 {
            idx[1] = len;
        }
        if idx[0] > idx[1] {
            return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]).into());
        }
        if a.len() == 4 && idx[1] > idx[2] {
            return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]).into());
        }
        match item {
            Value::Str(s) => {
                let b = &s.as_bytes()[idx[0]..idx[1]];
                Ok(Value::str(String::from_utf8_lossy(b)))
            }
            Value::List(l) => Ok(Value::from(l[idx[0]..idx[1]].to_vec())),
            _ => Err("can't slice".into()),
        }
    });
    f.insert("print", |a| Ok(Value::from(sprint(a))));
    f.insert("println", |a| Ok(Value::from(sprintln(a))));
    f.insert("printf", |a| {
        arity_min("printf", a, 1)?;
        let fmt = str_arg(&a[0])?;
        Ok(Value::from(sprintf(fmt, &a[1..])))
    });
    f.insert("html", |a| {
        Ok(Value::from(html_escape(&eval_args_string(a))))
    });
    f.insert("js", |a| Ok(Value::from(js_escape(&eval_args_string(a)))));
    f.insert("urlquery", |a| {
        Ok(Value::from(query_escape(&eval_args_string(a))))
    });
}
