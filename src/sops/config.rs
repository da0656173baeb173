//! Owns `.sops.yaml`: finding it (walking up from a start directory), parsing creation rules and
//! `stores:` options, and selecting the first rule whose `path_regex` matches a file (sops
//! semantics: the path relative to the config's directory, unanchored search); and adding an age
//! recipient to a creation rule with a line-based edit that keeps order and comments
//! ([`upsert_age_recipient`]).

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
    /// `creation_rules:` in file order; the first whose `path_regex` matches applies.
    pub creation_rules: Vec<CreationRule>,
    /// `stores:` output options.
    pub stores: EmitOptions,
}

/// One recipient group of a rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleGroup {
    /// age recipients.
    pub age: Vec<String>,
    /// AWS KMS keys (`kms`), created through a [`super::MasterKeyProvider`].
    pub kms: Vec<KmsSpec>,
    /// The other master keys (`pgp`, `hc_vault`, `gcp_kms`, `azure_kv`) as metadata entries
    /// without `enc`/`created_at` (see [`master_key_spec`]), created through a
    /// [`super::MasterKeyProvider`].
    pub others: Vec<(&'static str, Value)>,
}

/// The metadata entry (without `enc`/`created_at`) of a master key named the way `.sops.yaml`
/// and the sops flags name it: a PGP fingerprint, a Vault transit key URI
/// (`https://vault:8200/v1/<engine>/keys/<name>`), a GCP KMS resource ID, or an Azure Key Vault
/// key URL (`https://<vault>.vault.azure.net/keys/<name>[/<version>]`).
pub fn master_key_spec(kind: &str, text: &str) -> std::result::Result<Value, String> {
    let pair = |k: &str, v: &str| Entry::Pair(k.into(), Value::str(v));
    let text = text.trim();
    Ok(Value::Map(match kind {
        // sops drops the spaces of a fingerprint.
        "pgp" => vec![pair("fp", &text.replace(' ', ""))],
        "hc_vault" => {
            let (address, engine, key) = parse_vault_uri(text)?;
            vec![
                pair("vault_address", &address),
                pair("engine_path", &engine),
                pair("key_name", &key),
            ]
        }
        "gcp_kms" => vec![pair("resource_id", text)],
        "azure_kv" => {
            let (url, name, version) = parse_azure_key_url(text)?;
            vec![
                pair("vault_url", &url),
                pair("name", &name),
                pair("version", &version),
            ]
        }
        other => return Err(format!("`{other}` is not a master key kind")),
    }))
}

/// Splits a Vault transit key URI into address, engine path and key name, as sops does:
/// `https://vault.example.com:8200/v1/transit/keys/keyName`.
pub fn parse_vault_uri(uri: &str) -> std::result::Result<(String, String, String), String> {
    let bad = |why: &str| {
        format!(
            "`{uri}` is not a Vault transit key URI ({why}; it looks like https://vault.example.com:8200/v1/transit/keys/keyName)"
        )
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("no scheme"))?;
    if scheme.is_empty() {
        return Err(bad("no scheme"));
    }
    let (host, path) = rest.split_once('/').ok_or_else(|| bad("no path"))?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dirs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let versioned = dirs
        .first()
        .and_then(|d| d.strip_prefix('v'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !versioned || dirs.len() < 4 || dirs.iter().any(|d| d.is_empty()) {
        return Err(bad("the path is not /v1/<engine>/keys/<name>"));
    }
    let key = dirs[dirs.len() - 1].to_owned();
    let engine = dirs[1..dirs.len() - 2].join("/");
    Ok((format!("{scheme}://{host}"), engine, key))
}

/// Splits an Azure Key Vault key URL into vault URL, key name and version (empty = latest).
pub fn parse_azure_key_url(url: &str) -> std::result::Result<(String, String, String), String> {
    let bad = || {
        format!(
            "`{url}` is not an Azure Key Vault key URL (https://<vault>.vault.azure.net/keys/<name>/<version>)"
        )
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let (host, path) = rest.split_once('/').ok_or_else(bad)?;
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["keys", name] if !name.is_empty() => Ok((
            format!("{scheme}://{host}"),
            (*name).to_owned(),
            String::new(),
        )),
        ["keys", name, version] if !name.is_empty() => Ok((
            format!("{scheme}://{host}"),
            (*name).to_owned(),
            (*version).to_owned(),
        )),
        _ => Err(bad()),
    }
}

/// Reads the `pgp`, `hc_vault`, `gcp_kms` and `azure_keyvault` keys of a rule or key group:
/// comma lists or lists of strings, and in key groups the mapping forms of sops
/// (`gcp_kms: [{resource_id}]`, `azure_keyvault: [{vaultUrl, key, version}]`).
fn other_specs(
    m: &Map,
    fields: &[(&str, &'static str)],
) -> std::result::Result<Vec<(&'static str, Value)>, String> {
    let mut out = Vec::new();
    for (field, kind) in fields {
        if matches!(*kind, "kms") {
            continue;
        }
        let items: Vec<&Value> = match map_get(m, field) {
            Some(Value::Seq(items)) => items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_) | Value::Null))
                .collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(v) => vec![v],
        };
        for item in items {
            match item {
                Value::Map(e) => {
                    let get = |k: &str| map_get(e, k).and_then(text).unwrap_or_default();
                    let spec = match *kind {
                        "gcp_kms" => master_key_spec(kind, &get("resource_id"))?,
                        "azure_kv" => {
                            let url = get("vaultUrl");
                            let url = if url.is_empty() {
                                get("vault_url")
                            } else {
                                url
                            };
                            let name = if get("key").is_empty() {
                                get("name")
                            } else {
                                get("key")
                            };
                            Value::Map(vec![
                                Entry::Pair(
                                    "vault_url".into(),
                                    Value::str(url.trim_end_matches('/')),
                                ),
                                Entry::Pair("name".into(), Value::str(name.as_str())),
                                Entry::Pair("version".into(), Value::str(get("version").as_str())),
                            ])
                        }
                        "pgp" => master_key_spec(kind, &get("fp"))?,
                        _ => {
                            return Err(format!("`{field}` entries must be strings"));
                        }
                    };
                    out.push((*kind, spec));
                }
                other => {
                    let Some(t) = text(other) else {
                        return Err(format!("`{field}` must be a string or a list of strings"));
                    };
                    for one in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        out.push((*kind, master_key_spec(kind, one)?));
                    }
                }
            }
        }
    }
    Ok(out)
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
    /// Matched against the file path relative to the config's directory; `None` matches every
    /// file.
    pub path_regex: Option<Regex>,
    /// One group normally; several with `key_groups` (Shamir).
    pub groups: Vec<RuleGroup>,
    /// 0 = number of groups.
    pub shamir_threshold: usize,
    /// The crypt rule, if the rule sets one.
    pub crypt_rule: Option<CryptRule>,
    /// Whether the MAC covers only the encrypted values (sops `mac_only_encrypted`) instead of
    /// every value.
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

fn group_from(m: &Map, fields: &[(&str, &'static str)]) -> std::result::Result<RuleGroup, String> {
    let mut g = RuleGroup {
        age: key_list(map_get(m, "age")),
        kms: kms_specs(m),
        others: other_specs(m, fields)?,
    };
    if let Some(Value::Seq(merged)) = map_get(m, "merge") {
        for sub in merged.iter().filter(|s| !matches!(s, Value::Comment(_))) {
            if let Value::Map(sm) = sub {
                let s = group_from(sm, fields)?;
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
                for k in s.others {
                    if !g.others.contains(&k) {
                        g.others.push(k);
                    }
                }
            }
        }
    }
    g.age.dedup();
    Ok(g)
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
        let empty = Map::default();
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

    /// The first rule matching `file`, as sops picks it: rules are tried in order, and a rule
    /// matches when it has no `path_regex` or its regex matches the file's path relative to the
    /// directory of the `.sops.yaml`.
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
                Value::Map(m) => group_from(m, &OTHER_GROUP),
                _ => Err("a key group is not a mapping".to_string()),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => vec![group_from(r, &OTHER_FLAT)?],
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
        assert!(r.groups[1].others.is_empty());
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

// --- Line-based editing of `.sops.yaml` that keeps order, comments and unrelated keys. ---

/// Adds `recipient` to the `age` list of the creation rule whose `path_regex` is `regex`,
/// or appends a new `{path_regex, age}` rule. Returns the new text.
pub fn upsert_age_recipient(text: &str, regex: &str, recipient: &str) -> Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let Some(start) = lines
        .iter()
        .position(|l| l.starts_with("creation_rules:") && l[15..].trim().is_empty())
    else {
        if lines.iter().any(|l| l.starts_with("creation_rules:")) {
            return Err("`creation_rules` must be a block list".into());
        }
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "creation_rules:\n  - path_regex: {}\n    age: {recipient}\n",
            quote(regex)
        ));
        return Ok(out);
    };
    // The list runs until the next line at column 0 that is not a comment or blank.
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            !l.is_empty() && !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('-')
        })
        .map_or(lines.len(), |p| start + 1 + p);
    // Item starts: lines whose first non-space character is `-` at the list's indent.
    let items: Vec<usize> = (start + 1..end)
        .filter(|&i| lines[i].trim_start().starts_with("- ") || lines[i].trim() == "-")
        .collect();
    let item_indent = items
        .first()
        .map_or(2, |&i| lines[i].len() - lines[i].trim_start().len());
    let items: Vec<usize> = items
        .into_iter()
        .filter(|&i| lines[i].len() - lines[i].trim_start().len() == item_indent)
        .collect();
    for (n, &item) in items.iter().enumerate() {
        let item_end = items.get(n + 1).copied().unwrap_or(end);
        let field = |name: &str| -> Option<(usize, String)> {
            (item..item_end).find_map(|i| {
                let body = lines[i].trim_start().trim_start_matches("- ").trim_start();
                body.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(|v| (i, v.trim().to_owned()))
            })
        };
        let Some((re_line, raw)) = field("path_regex") else {
            continue;
        };
        if unquote(strip_comment(&raw)) != regex {
            continue;
        }
        let key_indent = {
            let l = &lines[re_line];
            let lead = l.len() - l.trim_start().len();
            if l.trim_start().starts_with("- ") {
                lead + 2
            } else {
                lead
            }
        };
        return match field("age") {
            Some((age_line, raw_age)) => {
                let value = strip_comment(&raw_age);
                if value.is_empty() || value.starts_with(['|', '>', '[']) {
                    return Err(
                        "the matching rule's `age` must be a plain comma-separated string".into(),
                    );
                }
                let current = unquote(value);
                let mut keys: Vec<String> = current
                    .split(',')
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect();
                if keys.iter().any(|k| k == recipient) {
                    return Ok(text.to_owned());
                }
                keys.push(recipient.to_owned());
                let l = &lines[age_line];
                let prefix = &l[..l.find("age:").unwrap_or(0)];
                lines[age_line] = format!("{prefix}age: {}", keys.join(","));
                Ok(join(&lines, text))
            }
            None => {
                lines.insert(
                    re_line + 1,
                    format!("{}age: {recipient}", " ".repeat(key_indent)),
                );
                Ok(join(&lines, text))
            }
        };
    }
    // No rule for this path: append one at the end of the list.
    let pad = " ".repeat(item_indent);
    let mut insert_at = end;
    while insert_at > start + 1 && lines[insert_at - 1].trim().is_empty() {
        insert_at -= 1;
    }
    lines.insert(insert_at, format!("{pad}- path_regex: {}", quote(regex)));
    lines.insert(insert_at + 1, format!("{pad}  age: {recipient}"));
    Ok(join(&lines, text))
}

fn join(lines: &[String], original: &str) -> String {
    let mut s = lines.join("\n");
    if original.ends_with('\n') || original.is_empty() || !s.is_empty() {
        s.push('\n');
    }
    s
}

fn strip_comment(v: &str) -> &str {
    if v.starts_with(['\'', '"']) {
        return v;
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    }
}

fn quote(regex: &str) -> String {
    format!("'{}'", regex.replace('\'', "''"))
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if let Some(inner) = v
        .strip_prefix('\'')
        .and_then(|s| s.rfind('\'').map(|e| &s[..e]))
    {
        return inner.replace("''", "'");
    }
    if let Some(inner) = v
        .strip_prefix('"')
        .and_then(|s| s.rfind('"').map(|e| &s[..e]))
    {
        return inner
            .replace("\\\\", "\u{0}")
            .replace("\\\"", "\"")
            .replace('\u{0}', "\\");
    }
    v.to_owned()
}

#[cfg(test)]
mod edit_tests {
    use super::upsert_age_recipient as up;

    const RE: &str = r"secrets/.*\.enc\.yaml$";

    #[test]
    fn creates_a_file() {
        assert_eq!(
            up("", RE, "age1a").unwrap(),
            "creation_rules:\n  - path_regex: 'secrets/.*\\.enc\\.yaml$'\n    age: age1a\n"
        );
    }

    #[test]
    fn adds_to_matching_rule_keeping_comments() {
        let text = "# top\ncreation_rules:\n  # first\n  - path_regex: 'secrets/.*\\.enc\\.yaml$'\n    age: age1a  # team\n  - path_regex: other$\n    age: age1z\nstores: x\n";
        let out = up(text, RE, "age1b").unwrap();
        assert_eq!(
            out,
            "# top\ncreation_rules:\n  # first\n  - path_regex: 'secrets/.*\\.enc\\.yaml$'\n    age: age1a,age1b\n  - path_regex: other$\n    age: age1z\nstores: x\n"
        );
        // Idempotent.
        assert_eq!(up(&out, RE, "age1b").unwrap(), out);
    }

    #[test]
    fn appends_a_rule_when_none_matches() {
        let text = "creation_rules:\n- path_regex: other$\n  age: age1z\n";
        assert_eq!(
            up(text, RE, "age1b").unwrap(),
            "creation_rules:\n- path_regex: other$\n  age: age1z\n- path_regex: 'secrets/.*\\.enc\\.yaml$'\n  age: age1b\n"
        );
    }

    #[test]
    fn inserts_age_into_rule_without_one() {
        let text = "creation_rules:\n  - path_regex: \"secrets/.*\\\\.enc\\\\.yaml$\"\n    encrypted_regex: x\n";
        assert_eq!(
            up(text, RE, "age1b").unwrap(),
            "creation_rules:\n  - path_regex: \"secrets/.*\\\\.enc\\\\.yaml$\"\n    age: age1b\n    encrypted_regex: x\n"
        );
    }

    #[test]
    fn rejects_flow_lists() {
        assert!(up("creation_rules: []\n", RE, "age1b").is_err());
    }
}
