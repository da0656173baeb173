//! Owns sops tree paths (`["a"]["b"][0]`) and the `set`/`unset` edits on a tree, plus the
//! conversion of `sops set` JSON values into tree values.

use super::error::{Result, SopsError};
use super::tree::{Entry, Map, Text, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `["key"]`: a mapping key.
    Key(String),
    /// `[0]`: a sequence position.
    Index(usize),
}

fn perr(message: impl Into<String>) -> SopsError {
    SopsError::Path {
        message: message.into(),
    }
}

/// Parses `["key"]['other'][0]`.
pub fn parse_path(s: &str) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(perr("the path is empty"));
    }
    while !rest.is_empty() {
        rest = rest
            .strip_prefix('[')
            .ok_or_else(|| perr(format!("invalid path `{s}`: expected `[`")))?;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let mut key = String::new();
            let mut chars = body.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            key.push(n);
                        }
                    }
                    c if c == q => {
                        end = Some(i);
                        break;
                    }
                    c => key.push(c),
                }
            }
            let end = end.ok_or_else(|| perr(format!("invalid path `{s}`: unclosed quote")))?;
            rest = body[end + 1..]
                .strip_prefix(']')
                .ok_or_else(|| perr(format!("invalid path `{s}`: expected `]`")))?;
            steps.push(Step::Key(key));
        } else {
            let close = rest
                .find(']')
                .ok_or_else(|| perr(format!("invalid path `{s}`: expected `]`")))?;
            let idx = rest[..close].trim().parse::<usize>().map_err(|_| {
                perr(format!(
                    "invalid path `{s}`: `{}` is not an index",
                    &rest[..close]
                ))
            })?;
            steps.push(Step::Index(idx));
            rest = &rest[close + 1..];
        }
    }
    Ok(steps)
}

/// Converts a `sops set` JSON value (numbers become floats, as in sops 3.11).
pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::Str(Text::from(s.as_str())),
        serde_json::Value::Array(a) => Value::Seq(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| Entry::Pair(k.clone(), from_json(v)))
                .collect(),
        ),
    }
}

/// Reads the value at `path`.
pub fn get<'a>(doc: &'a Map, path: &[Step]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut cur = super::tree::map_get(doc, k)?;
    for step in rest {
        cur = match (step, cur) {
            (Step::Key(k), Value::Map(m)) => super::tree::map_get(m, k)?,
            (Step::Index(i), Value::Seq(s)) => s
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .nth(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Sets the value at `path`, creating missing mappings; an index past the end appends.
/// Returns whether anything changed.
pub fn set(doc: &mut Map, path: &[Step], value: Value) -> Result<bool> {
    let (first, rest) = path
        .split_first()
        .ok_or_else(|| perr("the path is empty"))?;
    let Step::Key(k) = first else {
        return Err(perr(
            "the document root is a mapping: the path must start with a key",
        ));
    };
    set_in_map(doc, k, rest, value)
}

fn set_in_map(m: &mut Map, key: &str, rest: &[Step], value: Value) -> Result<bool> {
    let slot = match m.iter().position(|e| e.key() == Some(key)) {
        Some(i) => i,
        None => {
            m.push(Entry::Pair(key.to_owned(), empty_for(rest)));
            m.len() - 1
        }
    };
    let Entry::Pair(_, v) = &mut m[slot] else {
        return Err(perr("internal: a comment has a key"));
    };
    set_in_value(v, rest, value)
}

fn empty_for(rest: &[Step]) -> Value {
    match rest.first() {
        None => Value::Null,
        Some(Step::Key(_)) => Value::Map(Map::default()),
        Some(Step::Index(_)) => Value::Seq(Vec::new()),
    }
}

fn set_in_value(v: &mut Value, rest: &[Step], value: Value) -> Result<bool> {
    let Some((step, tail)) = rest.split_first() else {
        if *v == value {
            return Ok(false);
        }
        *v = value;
        return Ok(true);
    };
    match step {
        Step::Key(k) => {
            if !matches!(v, Value::Map(_)) {
                *v = Value::Map(Map::default());
            }
            match v {
                Value::Map(m) => set_in_map(m, k, tail, value),
                _ => Ok(false),
            }
        }
        Step::Index(i) => {
            if !matches!(v, Value::Seq(_)) {
                *v = Value::Seq(Vec::new());
            }
            let Value::Seq(s) = v else {
                return Ok(false);
            };
            let positions: Vec<usize> = s
                .iter()
                .enumerate()
                .filter(|(_, v)| !matches!(v, Value::Comment(_)))
                .map(|(i, _)| i)
                .collect();
            match positions.get(*i) {
                Some(&at) => set_in_value(&mut s[at], tail, value),
                None => {
                    let mut item = empty_for(tail);
                    set_in_value(&mut item, tail, value)?;
                    s.push(item);
                    Ok(true)
                }
            }
        }
    }
}

/// Removes the value at `path`; returns whether it existed.
pub fn unset(doc: &mut Map, path: &[Step]) -> Result<bool> {
    let (last, parents) = path.split_last().ok_or_else(|| perr("the path is empty"))?;
    if parents.is_empty() {
        let Step::Key(k) = last else {
            return Err(perr("the path must start with a key"));
        };
        return Ok(remove_key(doc, k));
    }
    let (first, mid) = parents
        .split_first()
        .ok_or_else(|| perr("the path is empty"))?;
    let Step::Key(k) = first else {
        return Err(perr("the path must start with a key"));
    };
    let Some(mut cur) = doc.iter_mut().find_map(|e| match e {
        Entry::Pair(key, v) if key == k => Some(v),
        _ => None,
    }) else {
        return Ok(false);
    };
    for step in mid {
        let next = match (step, cur) {
            (Step::Key(k), Value::Map(m)) => m.iter_mut().find_map(|e| match e {
                Entry::Pair(key, v) if key == k => Some(v),
                _ => None,
            }),
            (Step::Index(i), Value::Seq(s)) => s
                .iter_mut()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .nth(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(false),
        }
    }
    Ok(match (last, cur) {
        (Step::Key(k), Value::Map(m)) => remove_key(m, k),
        (Step::Index(i), Value::Seq(s)) => {
            let at = s
                .iter()
                .enumerate()
                .filter(|(_, v)| !matches!(v, Value::Comment(_)))
                .map(|(i, _)| i)
                .nth(*i);
            match at {
                Some(at) => {
                    s.remove(at);
                    true
                }
                None => false,
            }
        }
        _ => false,
    })
}

fn remove_key(m: &mut Map, k: &str) -> bool {
    match m.iter().position(|e| e.key() == Some(k)) {
        Some(i) => {
            m.remove(i);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path(r#"["a"]['b'][2]"#).unwrap(),
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(2)]
        );
        assert!(parse_path("a").is_err());
        assert!(parse_path(r#"["a"#).is_err());
        assert!(parse_path("[x]").is_err());
    }

    #[test]
    fn set_and_unset() {
        let mut m = Map::default();
        let p = parse_path(r#"["db"]["hosts"][5]"#).unwrap();
        assert!(set(&mut m, &p, Value::str("h")).unwrap());
        assert_eq!(
            get(&m, &parse_path(r#"["db"]["hosts"][0]"#).unwrap()),
            Some(&Value::str("h"))
        );
        assert!(
            !set(
                &mut m,
                &parse_path(r#"["db"]["hosts"][0]"#).unwrap(),
                Value::str("h")
            )
            .unwrap()
        );
        assert!(unset(&mut m, &parse_path(r#"["db"]["hosts"][0]"#).unwrap()).unwrap());
        assert!(!unset(&mut m, &parse_path(r#"["db"]["nope"]"#).unwrap()).unwrap());
        assert!(unset(&mut m, &parse_path(r#"["db"]"#).unwrap()).unwrap());
        assert!(m.is_empty());
    }
}
