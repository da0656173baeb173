//! Owns `.sops.yaml`: finding it (walking up from a start directory), parsing creation rules and
//! `stores:` options, and selecting the first rule whose `path_regex` matches a file (sops
//! semantics: the path relative to the config's directory, unanchored search).

use std::path::{Path, PathBuf};

use regex::Regex;

use super::error::{Result, SopsError};
use super::stores::EmitOptions;
use super::tree::{CryptRule, Entry, Map, RULE_FIELDS, Value, map_get};

/// The config file name sops looks for.
pub const CONFIG_FILE: &str = ".sops.yaml";

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    pub creation_rules: Vec<CreationRule>,
    /// `stores:` output options.
    pub stores: EmitOptions,
}

/// One recipient group of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleGroup {
    /// age recipients.
    pub age: Vec<String>,
    /// AWS KMS keys (`kms`), created through a [`super::MasterKeyProvider`].
    pub kms: Vec<KmsSpec>,
    /// Kinds of other master keys the rule names (not supported for encryption yet).
    pub unsupported: Vec<&'static str>,
}

/// One AWS KMS key of a creation rule: what `sops` writes into the metadata besides `enc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KmsSpec {
    /// The key ARN.
    pub arn: String,
    /// A role to assume before calling KMS.
    pub role: Option<String>,
    /// The encryption context (sorted by key, as sops writes it).
    pub context: Vec<(String, String)>,
    /// The named AWS profile (kept for sops; not used here).
    pub aws_profile: String,
}

impl KmsSpec {
    /// The metadata entry without `enc`/`created_at` (in sops's field order).
    pub fn to_entry(&self) -> Value {
        let mut m: Map = vec![Entry::Pair("arn".into(), Value::str(self.arn.as_str()))];
        if let Some(r) = &self.role {
            m.push(Entry::Pair("role".into(), Value::str(r.as_str())));
        }
        if !self.context.is_empty() {
            m.push(Entry::Pair(
                "context".into(),
                Value::Map(
                    self.context
                        .iter()
                        .map(|(k, v)| Entry::Pair(k.clone(), Value::str(v.as_str())))
                        .collect(),
                ),
            ));
        }
        m.push(Entry::Pair(
            "aws_profile".into(),
            Value::str(self.aws_profile.as_str()),
        ));
        Value::Map(m)
    }
}

/// Reads `kms` of a rule: a comma list of ARNs (`arn[+role]`, flat form) or a list of
/// `{arn, role, context, aws_profile}` mappings (key-group form).
fn kms_specs(m: &Map) -> Vec<KmsSpec> {
    let profile = map_get(m, "aws_profile").and_then(text).unwrap_or_default();
    let from_text = |s: &str| -> KmsSpec {
        let (arn, role) = match s.split_once('+') {
            Some((a, r)) => (a.trim().to_owned(), Some(r.trim().to_owned())),
            None => (s.trim().to_owned(), None),
        };
        KmsSpec {
            arn,
            role,
            context: Vec::new(),
            aws_profile: profile.clone(),
        }
    };
    let mut out = Vec::new();
    let items: Vec<&Value> = match map_get(m, "kms") {
        Some(Value::Seq(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    for item in items {
        match item {
            Value::Map(e) => {
                let mut context: Vec<(String, String)> = match map_get(e, "context") {
                    Some(Value::Map(c)) => c
                        .iter()
                        .filter_map(|en| match en {
                            Entry::Pair(k, v) => text(v).map(|v| (k.clone(), v)),
                            Entry::Comment(_) => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                context.sort();
                if let Some(arn) = map_get(e, "arn").and_then(text) {
                    out.push(KmsSpec {
                        arn,
                        role: map_get(e, "role").and_then(text).filter(|r| !r.is_empty()),
                        context,
                        aws_profile: map_get(e, "aws_profile").and_then(text).unwrap_or_default(),
                    });
                }
            }
            other => {
                if let Some(t) = text(other) {
                    out.extend(
                        t.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(from_text),
                    );
                }
            }
        }
    }
    out
}

/// One creation rule, as encryption options.
#[derive(Debug, Clone)]
pub struct CreationRule {
    pub path_regex: Option<Regex>,
    /// One group normally; several with `key_groups` (Shamir).
    pub groups: Vec<RuleGroup>,
    /// 0 = number of groups.
    pub shamir_threshold: usize,
    /// The crypt rule, if the rule sets one.
    pub crypt_rule: Option<CryptRule>,
    pub mac_only_encrypted: bool,
}

/// Finds `.sops.yaml` in `start` or its parents (up to 100 levels).
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    let mut dir = Some(start.as_path());
    for _ in 0..100 {
        let d = dir?;
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

fn cerr(path: &Path, message: impl Into<String>) -> SopsError {
    SopsError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(t) => Some(t.to_lossy().into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A comma-separated string, or a list of (comma-separated) strings.
fn key_list(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |s: &str| {
        out.extend(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    };
    match v {
        Some(Value::Seq(items)) => items.iter().filter_map(text).for_each(|s| add(&s)),
        Some(other) => {
            if let Some(s) = text(other) {
                add(&s);
            }
        }
        None => {}
    }
    out
}

const OTHER_FLAT: [(&str, &str); 5] = [
    ("pgp", "pgp"),
    ("kms", "kms"),
    ("gcp_kms", "gcp_kms"),
    ("azure_keyvault", "azure_kv"),
    ("hc_vault_transit_uri", "hc_vault"),
];

const OTHER_GROUP: [(&str, &str); 5] = [
    ("pgp", "pgp"),
    ("kms", "kms"),
    ("gcp_kms", "gcp_kms"),
    ("azure_keyvault", "azure_kv"),
    ("hc_vault", "hc_vault"),
];

fn group_from(m: &Map, fields: &[(&str, &'static str)]) -> RuleGroup {
    let mut g = RuleGroup {
        age: key_list(map_get(m, "age")),
        kms: kms_specs(m),
        unsupported: Vec::new(),
    };
    for (field, kind) in fields {
        if *kind == "kms" {
            continue;
        }
        let present = match map_get(m, field) {
            Some(Value::Seq(s)) => s.iter().any(|v| !matches!(v, Value::Comment(_))),
            Some(Value::Null) | None => false,
            Some(v) => text(v).is_some_and(|s| !s.trim().is_empty()) || matches!(v, Value::Map(_)),
        };
        if present {
            g.unsupported.push(kind);
        }
    }
    if let Some(Value::Seq(merged)) = map_get(m, "merge") {
        for sub in merged.iter().filter(|s| !matches!(s, Value::Comment(_))) {
            if let Value::Map(sm) = sub {
                let s = group_from(sm, fields);
                for r in s.age {
                    if !g.age.contains(&r) {
                        g.age.push(r);
                    }
                }
                for k in s.kms {
                    if !g.kms.contains(&k) {
                        g.kms.push(k);
                    }
                }
                for k in s.unsupported {
                    if !g.unsupported.contains(&k) {
                        g.unsupported.push(k);
                    }
                }
            }
        }
    }
    g.age.dedup();
    g
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| SopsError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, path)
    }

    /// Parses config text; `path` is where it lives (rules match relative to its directory).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let docs = super::yaml::parse_docs(bytes).map_err(|e| cerr(path, e.to_string()))?;
        let empty = Map::new();
        let root = docs.first().unwrap_or(&empty);
        let mut creation_rules = Vec::new();
        match map_get(root, "creation_rules") {
            Some(Value::Seq(rules)) => {
                let rules = rules.iter().filter(|r| !matches!(r, Value::Comment(_)));
                for (i, r) in rules.enumerate() {
                    let Value::Map(r) = r else {
                        return Err(cerr(path, format!("creation rule {i} is not a mapping")));
                    };
                    creation_rules.push(
                        parse_rule(r).map_err(|m| cerr(path, format!("creation rule {i}: {m}")))?,
                    );
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(cerr(path, "`creation_rules` must be a list")),
        }
        let mut stores = EmitOptions::default();
        if let Some(Value::Map(s)) = map_get(root, "stores") {
            if let Some(Value::Map(y)) = map_get(s, "yaml")
                && let Some(Value::Int(n)) = map_get(y, "indent")
            {
                stores.yaml_indent = (*n).clamp(2, 9) as usize;
            }
            if let Some(Value::Map(j)) = map_get(s, "json")
                && let Some(Value::Int(n)) = map_get(j, "indent")
            {
                stores.json_indent = Some((*n).clamp(0, 16) as usize);
            }
        }
        Ok(Config {
            path: path.to_path_buf(),
            creation_rules,
            stores,
        })
    }

    /// The first rule matching `file` (sops semantics, §12.3 of the format).
    pub fn rule_for(&self, file: &Path) -> Option<&CreationRule> {
        let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let dir = self
            .path
            .parent()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()))
            .unwrap_or_default();
        let rel = file
            .strip_prefix(&dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| file.clone());
        let rel = rel.to_string_lossy();
        self.creation_rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&rel)))
    }
}

fn parse_rule(r: &Map) -> std::result::Result<CreationRule, String> {
    let path_regex = match map_get(r, "path_regex").and_then(text) {
        Some(s) if !s.is_empty() => {
            Some(Regex::new(&s).map_err(|e| format!("invalid `path_regex`: {e}"))?)
        }
        _ => None,
    };
    let groups = match map_get(r, "key_groups") {
        Some(Value::Seq(gs)) if gs.iter().any(|g| !matches!(g, Value::Comment(_))) => gs
            .iter()
            .filter(|g| !matches!(g, Value::Comment(_)))
            .map(|g| match g {
                Value::Map(m) => Ok(group_from(m, &OTHER_GROUP)),
                _ => Err("a key group is not a mapping".to_string()),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => vec![group_from(r, &OTHER_FLAT)],
    };
    let shamir_threshold = match map_get(r, "shamir_threshold") {
        Some(Value::Int(n)) if *n >= 0 => *n as usize,
        None | Some(Value::Null) => 0,
        _ => return Err("`shamir_threshold` must be a number".into()),
    };
    let mut crypt_rule = None;
    for field in RULE_FIELDS {
        if let Some(v) = map_get(r, field).and_then(text).filter(|v| !v.is_empty()) {
            if crypt_rule.is_some() {
                return Err("cannot use more than one of the crypt rule fields".into());
            }
            crypt_rule = Some(CryptRule::from_field(field, &v)?);
        }
    }
    let mac_only_encrypted = matches!(map_get(r, "mac_only_encrypted"), Some(Value::Bool(true)));
    Ok(CreationRule {
        path_regex,
        groups,
        shamir_threshold,
        crypt_rule,
        mac_only_encrypted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_wins_relative_to_the_config_dir() {
        let cfg = Config::parse(
            b"creation_rules:\n  # comment items are skipped\n  - path_regex: ^k8s/.*\\.yaml$\n    encrypted_regex: ^data$\n    age: a1,a2\n  - path_regex: \\.json$\n    age: [b1, 'b2,b3']\n  - key_groups:\n      - age: [c1]\n      - age: [c2]\n        kms: [{arn: x}]\n    shamir_threshold: 2\n",
            Path::new("/repo/.sops.yaml"),
        )
        .unwrap();
        let r = cfg.rule_for(Path::new("/repo/k8s/s.yaml")).unwrap();
        assert_eq!(r.groups[0].age, ["a1", "a2"]);
        assert!(matches!(r.crypt_rule, Some(CryptRule::EncryptedRegex(_))));
        let r = cfg.rule_for(Path::new("/elsewhere/x.json")).unwrap();
        assert_eq!(r.groups[0].age, ["b1", "b2", "b3"]);
        let r = cfg.rule_for(Path::new("/repo/other.yaml")).unwrap();
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[1].kms[0].arn, "x");
        assert!(r.groups[1].unsupported.is_empty());
        assert_eq!(r.shamir_threshold, 2);
    }

    #[test]
    fn two_crypt_rules_are_rejected() {
        let e = Config::parse(
            b"creation_rules:\n  - unencrypted_suffix: _u\n    encrypted_regex: x\n",
            Path::new("/r/.sops.yaml"),
        );
        assert!(e.is_err());
    }
}
