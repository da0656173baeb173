//! Owns the `sops` metadata block: reading it from the tree (any field order, unknown fields
//! ignored, strings or native types), writing it back in sops 3.11 order, and the flattened
//! `sops_<a>__list_0__map_<b>` form used by dotenv and INI.

use super::error::{Result, SopsError};
use super::keys::{GROUP_KINDS, KINDS, KeyGroup, MasterKey};
use super::tree::{CryptRule, Entry, Map, RULE_FIELDS, Text, Value, format_time, map_get};

/// The version this codec writes (a version sops parses and supports).
pub const WRITER_VERSION: &str = "3.11.0";

/// The decoded metadata block.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// One group normally; several with Shamir.
    pub key_groups: Vec<KeyGroup>,
    /// 0 when not set (= number of groups).
    pub shamir_threshold: usize,
    /// The `lastmodified` text as stored.
    pub lastmodified: String,
    /// The encrypted MAC (`ENC[…]`), possibly empty.
    pub mac: String,
    /// The crypt rule.
    pub rule: CryptRule,
    /// Whether the rule is written (sops omits it for the binary store).
    pub write_rule: bool,
    /// Whether the MAC covers only the encrypted values (sops `mac_only_encrypted`) instead of
    /// every value.
    pub mac_only_encrypted: bool,
    /// The sops version recorded in the file (`version:`).
    pub version: String,
}

fn scalar_string(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(t) => t.to_lossy().into_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => super::tree::format_float_plain(*f),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => format_time(t),
        _ => return None,
    })
}

fn string_field(m: &Map, key: &str) -> Option<String> {
    map_get(m, key).and_then(scalar_string)
}

/// The items of a list field (comment items skipped).
fn list<'a>(m: &'a Map, key: &str) -> impl Iterator<Item = &'a Value> {
    let items: &[Value] = match map_get(m, key) {
        Some(Value::Seq(s)) => s,
        _ => &[],
    };
    items.iter().filter(|v| !matches!(v, Value::Comment(_)))
}

fn parse_group(m: &Map) -> Result<KeyGroup> {
    let mut keys = Vec::new();
    for kind in KINDS {
        for item in list(m, kind) {
            if kind == "age" {
                let Value::Map(e) = item else {
                    return Err(SopsError::metadata("an `age` entry is not a mapping"));
                };
                let recipient = string_field(e, "recipient").unwrap_or_default();
                let enc = string_field(e, "enc")
                    .ok_or_else(|| SopsError::metadata("an `age` entry has no `enc`"))?;
                keys.push(MasterKey::Age { recipient, enc });
            } else if !matches!(item, Value::Null) {
                keys.push(MasterKey::Other {
                    kind,
                    entry: item.clone(),
                });
            }
        }
    }
    Ok(KeyGroup { keys })
}

impl Metadata {
    /// Reads the metadata mapping (the value of the top-level `sops` key).
    pub fn from_map(m: &Map) -> Result<Self> {
        let top = parse_group(m)?;
        let key_groups = if !top.keys.is_empty() {
            vec![top]
        } else {
            let mut groups = Vec::new();
            for g in list(m, "key_groups") {
                let Value::Map(gm) = g else {
                    return Err(SopsError::metadata("a key group is not a mapping"));
                };
                groups.push(parse_group(gm)?);
            }
            groups
        };
        if key_groups.iter().all(|g| g.keys.is_empty()) {
            return Err(SopsError::metadata("no keys found in file"));
        }
        let shamir_threshold = match string_field(m, "shamir_threshold") {
            None => 0,
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 256.0)
                .map(|f| f as usize)
                .ok_or_else(|| SopsError::metadata("`shamir_threshold` is not a number"))?,
        };
        let lastmodified = string_field(m, "lastmodified")
            .ok_or_else(|| SopsError::metadata("`lastmodified` is missing"))?;
        let mac = string_field(m, "mac").unwrap_or_default();
        let version = string_field(m, "version")
            .ok_or_else(|| SopsError::metadata("`version` is missing"))?;
        let mut rule = None;
        for field in RULE_FIELDS {
            if let Some(v) = string_field(m, field).filter(|v| !v.is_empty()) {
                if rule.is_some() {
                    return Err(SopsError::metadata(
                        "cannot use more than one of the crypt rule fields",
                    ));
                }
                rule = Some(CryptRule::from_field(field, &v).map_err(SopsError::metadata)?);
            }
        }
        let mac_only_encrypted = match map_get(m, "mac_only_encrypted") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Str(t)) => t.as_bytes() == b"true",
            _ => false,
        };
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            write_rule: rule.is_some(),
            rule: rule.unwrap_or_default(),
            mac_only_encrypted,
            version,
        })
    }

    /// The metadata mapping in sops 3.11 field order.
    pub fn to_map(&self) -> Map {
        let s = |v: &str| Value::Str(Text::from(v));
        let mut m = Map::default();
        let push = |m: &mut Map, k: &str, v: Value| m.push(Entry::Pair(k.to_owned(), v));
        if self.key_groups.len() > 1 {
            let threshold = if self.shamir_threshold == 0 {
                self.key_groups.len()
            } else {
                self.shamir_threshold
            };
            push(&mut m, "shamir_threshold", Value::Int(threshold as i64));
            let groups = self
                .key_groups
                .iter()
                .map(|g| Value::Map(group_map(g, true)))
                .collect();
            push(&mut m, "key_groups", Value::Seq(groups));
        }
        let single = if self.key_groups.len() == 1 {
            group_map(&self.key_groups[0], false)
        } else {
            Map::default()
        };
        let mut rest = single.into_iter().peekable();
        // kms, gcp_kms, azure_kv, hc_vault, age, then lastmodified and mac, then pgp.
        while let Some(e) = rest.next_if(|e| e.key() != Some("pgp")) {
            m.push(e);
        }
        push(&mut m, "lastmodified", s(&self.lastmodified));
        push(&mut m, "mac", s(&self.mac));
        m.extend(rest);
        if self.write_rule {
            let (field, value) = self.rule.field();
            push(&mut m, field, s(value));
        }
        if self.mac_only_encrypted {
            push(&mut m, "mac_only_encrypted", Value::Bool(true));
        }
        push(&mut m, "version", s(&self.version));
        m
    }
}

fn group_map(g: &KeyGroup, in_groups: bool) -> Map {
    let mut m = Map::default();
    let order = if in_groups { GROUP_KINDS } else { KINDS };
    for kind in order {
        let items: Vec<Value> = g
            .keys
            .iter()
            .filter(|k| k.kind() == kind)
            .map(|k| match k {
                MasterKey::Age { recipient, enc } => Value::Map(vec![
                    Entry::Pair("recipient".into(), Value::str(recipient.as_str())),
                    Entry::Pair("enc".into(), Value::str(enc.as_str())),
                ]),
                MasterKey::Other { entry, .. } => entry.clone(),
            })
            .collect();
        // 3.11 always writes `hc_vault` and `age` inside key_groups, even when empty.
        if !items.is_empty() || (in_groups && matches!(kind, "hc_vault" | "age")) {
            m.push(Entry::Pair(kind.to_owned(), Value::Seq(items)));
        }
    }
    m
}

/// Flattens a metadata mapping into `(flat key, value)` pairs (`age__list_0__map_enc`).
pub fn flatten(m: &Map) -> Vec<(String, String)> {
    fn go(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Map(m) => {
                for e in m {
                    if let Entry::Pair(k, v) = e {
                        go(&format!("{prefix}__map_{k}"), v, out);
                    }
                }
            }
            Value::Seq(s) => {
                for (i, v) in s.iter().enumerate() {
                    go(&format!("{prefix}__list_{i}"), v, out);
                }
            }
            Value::Null => {}
            other => {
                if let Some(s) = scalar_string(other) {
                    out.push((prefix.to_owned(), s));
                }
            }
        }
    }
    let mut out = Vec::new();
    for e in m {
        if let Entry::Pair(k, v) = e {
            match v {
                Value::Map(_) | Value::Seq(_) => {
                    let mut inner = Vec::new();
                    go("", v, &mut inner);
                    out.extend(inner.into_iter().map(|(p, s)| (format!("{k}{p}"), s)));
                }
                other => go(k, other, &mut out),
            }
        }
    }
    out
}

const MAX_FLAT_DEPTH: usize = 32;

/// Rebuilds a metadata mapping from flattened pairs (values are strings).
pub fn unflatten(pairs: &[(String, String)]) -> Map {
    let mut root = Map::default();
    for (flat, value) in pairs {
        let mut parts = flat.split("__");
        let Some(top) = parts.next() else { continue };
        let rest: Vec<&str> = parts.collect();
        // Real metadata nests a few levels; refuse absurd depths instead of recursing on them.
        if rest.len() > MAX_FLAT_DEPTH {
            continue;
        }
        insert_path(&mut root, top, &rest, value, pairs.len());
    }
    root
}

/// `max` bounds list indices: a real list never has more items than there are flat pairs.
fn insert_path(m: &mut Map, key: &str, rest: &[&str], value: &str, max: usize) {
    let pos = m.iter().position(|e| e.key() == Some(key));
    let slot = match pos {
        Some(i) => i,
        None => {
            let init = match rest.first() {
                None => Value::str(value),
                Some(p) if p.starts_with("list_") => Value::Seq(Vec::new()),
                Some(_) => Value::Map(Map::default()),
            };
            m.push(Entry::Pair(key.to_owned(), init));
            m.len() - 1
        }
    };
    if let Entry::Pair(_, v) = &mut m[slot] {
        insert_value(v, rest, value, max);
    }
}

fn insert_value(v: &mut Value, rest: &[&str], value: &str, max: usize) {
    let Some((first, tail)) = rest.split_first() else {
        *v = Value::str(value);
        return;
    };
    if let Some(idx) = first
        .strip_prefix("list_")
        .and_then(|i| i.parse::<usize>().ok())
    {
        if !matches!(v, Value::Seq(_)) {
            *v = Value::Seq(Vec::new());
        }
        if let Value::Seq(s) = v {
            if idx >= max {
                return;
            }
            while s.len() <= idx {
                s.push(Value::Null);
            }
            if tail.is_empty() {
                s[idx] = Value::str(value);
            } else {
                if !matches!(s[idx], Value::Map(_) | Value::Seq(_)) {
                    s[idx] = if tail[0].starts_with("list_") {
                        Value::Seq(Vec::new())
                    } else {
                        Value::Map(Map::default())
                    };
                }
                insert_value(&mut s[idx], tail, value, max);
            }
        }
    } else if let Some(k) = first.strip_prefix("map_") {
        if !matches!(v, Value::Map(_)) {
            *v = Value::Map(Map::default());
        }
        if let Value::Map(m) = v {
            insert_path(m, k, tail, value, max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_round_trips() {
        let m: Map = vec![
            Entry::Pair(
                "age".into(),
                Value::Seq(vec![Value::Map(vec![
                    Entry::Pair("recipient".into(), Value::str("age1x")),
                    Entry::Pair("enc".into(), Value::str("a\nb")),
                ])]),
            ),
            Entry::Pair("lastmodified".into(), Value::str("2024-01-01T00:00:00Z")),
        ];
        let flat = flatten(&m);
        assert_eq!(flat[0].0, "age__list_0__map_recipient");
        assert_eq!(flat[2].0, "lastmodified");
        assert_eq!(unflatten(&flat), m);
        let deep = format!("a{}", "__map_x".repeat(100_000));
        assert!(unflatten(&[(deep, "v".into())]).is_empty());
    }
}
