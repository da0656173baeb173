//! Owns the file formats: which [`Format`] a path has, the dotenv and INI stores, the binary
//! envelope, and the dispatch that turns bytes into documents + metadata and back for every
//! store (YAML and JSON live in their own modules).

use std::path::Path;

use super::error::{Result, SopsError};
use super::metadata::{Metadata, flatten, unflatten};
use super::tree::{Entry, Map, Text, Value, format_float_plain, format_time};
use super::{json, yaml};

/// A SOPS store format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML, comments kept.
    Yaml,
    /// JSON.
    Json,
    /// `KEY=value` lines.
    Dotenv,
    /// INI sections of `key = value` pairs.
    Ini,
    /// Any other file: the whole content is one value under `data`.
    Binary,
}

impl Format {
    /// From the file name: `.yaml/.yml`, `.json`, `.env`, `.ini`, anything else binary.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("env") => Format::Dotenv,
            Some("ini") => Format::Ini,
            _ => Format::Binary,
        }
    }

    /// From a `--input-type`/`--output-type` name (`yaml`, `json`, `dotenv`, `ini`, `binary`;
    /// anything else is binary, as in sops).
    pub fn from_name(name: &str) -> Self {
        match name {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" | "env" => Format::Dotenv,
            "ini" => Format::Ini,
            _ => Format::Binary,
        }
    }

    /// The explicit override if any, else from the path.
    pub fn resolve(explicit: Option<&str>, path: &Path) -> Self {
        explicit.map_or_else(|| Format::from_path(path), Format::from_name)
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// Output options (`stores:` of `.sops.yaml`).
#[derive(Debug, Clone, Copy)]
pub struct EmitOptions {
    /// Spaces per YAML indentation level.
    pub yaml_indent: usize,
    /// `None` = a tab per level (Go default), else that many spaces.
    pub json_indent: Option<usize>,
}

impl Default for EmitOptions {
    fn default() -> Self {
        Self {
            yaml_indent: 4,
            json_indent: None,
        }
    }
}

fn json_indent(opts: &EmitOptions) -> String {
    opts.json_indent
        .map_or_else(|| "\t".to_owned(), |n| " ".repeat(n))
}

/// Parses a plaintext file into documents. Refuses files that already carry sops metadata.
pub fn load_plain(format: Format, src: &[u8]) -> Result<Vec<Map>> {
    let docs = match format {
        Format::Yaml => yaml::parse_docs(src)?,
        Format::Json => vec![json::parse(src)?],
        Format::Dotenv => {
            let (m, meta) = dotenv_parse(src)?;
            if !meta.is_empty() {
                return Err(SopsError::AlreadyEncrypted {
                    file: Default::default(),
                });
            }
            vec![m]
        }
        Format::Ini => vec![ini_parse(src)?],
        Format::Binary => vec![vec![Entry::Pair(
            "data".into(),
            Value::Str(Text::new(src.to_vec())),
        )]],
    };
    if format != Format::Dotenv
        && docs
            .iter()
            .any(|d| d.iter().any(|e| e.key() == Some("sops")))
    {
        return Err(SopsError::AlreadyEncrypted {
            file: Default::default(),
        });
    }
    if docs.is_empty() {
        return Err(SopsError::Empty {
            file: Default::default(),
        });
    }
    Ok(docs)
}

/// Parses an encrypted file: documents without their `sops` entries, and the metadata mapping
/// (from the first document).
pub fn load_encrypted(format: Format, src: &[u8]) -> Result<(Vec<Map>, Map)> {
    let (mut docs, meta) = match format {
        Format::Yaml => (yaml::parse_docs(src)?, None),
        Format::Json | Format::Binary => (vec![json::parse(src)?], None),
        Format::Dotenv => {
            let (m, meta) = dotenv_parse(src)?;
            (vec![m], (!meta.is_empty()).then(|| unflatten(&meta)))
        }
        Format::Ini => {
            let mut m = ini_parse(src)?;
            let mut meta = None;
            if let Some(i) = m.iter().position(|e| e.key() == Some("sops"))
                && let Entry::Pair(_, Value::Map(section)) = m.remove(i)
            {
                let pairs: Vec<(String, String)> = section
                    .iter()
                    .filter_map(|e| match e {
                        Entry::Pair(k, Value::Str(v)) => {
                            Some((k.clone(), v.to_lossy().replace("\\n", "\n")))
                        }
                        _ => None,
                    })
                    .collect();
                meta = Some(unflatten(&pairs));
            }
            (vec![m], meta)
        }
    };
    let mut found = meta;
    for doc in docs.iter_mut() {
        if let Some(i) = doc.iter().position(|e| e.key() == Some("sops")) {
            let entry = doc.remove(i);
            if found.is_none()
                && let Entry::Pair(_, v) = entry
            {
                found = Some(match v {
                    Value::Map(m) => m,
                    _ => return Err(SopsError::metadata("`sops` is not a mapping")),
                });
            }
        }
    }
    let meta = found.ok_or(SopsError::NotEncrypted {
        file: Default::default(),
    })?;
    Ok((docs, meta))
}

/// Lists the top-level keys of an encrypted or plain file without any key material.
pub fn top_level_keys(format: Format, src: &[u8]) -> Result<Vec<String>> {
    let docs = match format {
        Format::Yaml => yaml::parse_docs(src)?,
        Format::Json | Format::Binary => vec![json::parse(src)?],
        Format::Dotenv => vec![dotenv_parse(src)?.0],
        Format::Ini => vec![ini_parse(src)?],
    };
    Ok(docs
        .iter()
        .flat_map(|d| d.iter().filter_map(Entry::key))
        .filter(|k| *k != "sops")
        .map(str::to_owned)
        .collect())
}

/// Writes decrypted documents.
pub fn emit_plain(format: Format, docs: &[Map], opts: &EmitOptions) -> Vec<u8> {
    match format {
        Format::Yaml => yaml::emit(docs, opts.yaml_indent).into_bytes(),
        Format::Json => {
            first(docs).map_or_else(Vec::new, |d| json::emit(d, &json_indent(opts)).into_bytes())
        }
        Format::Dotenv => first(docs).map_or_else(Vec::new, |d| dotenv_emit(d, &[]).into_bytes()),
        Format::Ini => first(docs).map_or_else(Vec::new, |d| ini_emit(d, None).into_bytes()),
        Format::Binary => match first(docs).and_then(|d| super::tree::map_get(d, "data")) {
            Some(Value::Str(t) | Value::Bytes(t)) => t.as_bytes().to_vec(),
            _ => Vec::new(),
        },
    }
}

fn first(docs: &[Map]) -> Option<&Map> {
    docs.first()
}

/// Writes encrypted documents with their metadata.
pub fn emit_encrypted(
    format: Format,
    docs: &[Map],
    meta: &Metadata,
    opts: &EmitOptions,
) -> Vec<u8> {
    let meta_map = meta.to_map();
    match format {
        Format::Yaml => {
            let with_meta: Vec<Map> = docs
                .iter()
                .map(|d| {
                    let mut d = d.clone();
                    d.push(Entry::Pair("sops".into(), Value::Map(meta_map.clone())));
                    d
                })
                .collect();
            yaml::emit(&with_meta, opts.yaml_indent).into_bytes()
        }
        Format::Json | Format::Binary => {
            let mut d = first(docs).cloned().unwrap_or_default();
            d.push(Entry::Pair("sops".into(), Value::Map(meta_map)));
            json::emit(&d, &json_indent(opts)).into_bytes()
        }
        Format::Dotenv => {
            let mut flat = flatten(&meta_map);
            flat.sort_by(|a, b| a.0.cmp(&b.0));
            let d = first(docs).cloned().unwrap_or_default();
            dotenv_emit(&d, &flat).into_bytes()
        }
        Format::Ini => {
            let d = first(docs).cloned().unwrap_or_default();
            ini_emit(&d, Some(&flatten(&meta_map))).into_bytes()
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Str(t) | Value::Bytes(t) | Value::Comment(t) => t.to_lossy().into_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float_plain(*f),
        Value::Time(t) => format_time(t),
        Value::Null => String::new(),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

// ------------------------------------------------------------------------------------------
// dotenv

/// Parses dotenv text into the data mapping and the flattened `sops_` pairs.
fn dotenv_parse(src: &[u8]) -> Result<(Map, Vec<(String, String)>)> {
    let text = std::str::from_utf8(src)
        .map_err(|_| SopsError::parse("dotenv", "the input is not UTF-8"))?;
    let mut m = Map::default();
    let mut meta = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            m.push(Entry::comment(c));
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| SopsError::parse("dotenv", format!("line {} has no `=`", n + 1)))?;
        let v = v.replace("\\n", "\n");
        if let Some(flat) = k.strip_prefix("sops_") {
            meta.push((flat.to_owned(), v));
        } else {
            m.push(Entry::Pair(k.to_owned(), Value::Str(Text::from(v))));
        }
    }
    Ok((m, meta))
}

fn dotenv_emit(m: &Map, meta: &[(String, String)]) -> String {
    let mut out = String::new();
    for e in m {
        match e {
            Entry::Comment(v) => {
                out.push('#');
                out.push_str(&scalar_text(v));
            }
            Entry::Pair(k, v) => {
                out.push_str(k);
                out.push('=');
                out.push_str(&scalar_text(v).replace('\n', "\\n"));
            }
        }
        out.push('\n');
    }
    for (k, v) in meta {
        out.push_str("sops_");
        out.push_str(k);
        out.push('=');
        out.push_str(&v.replace('\n', "\\n"));
        out.push('\n');
    }
    out
}

// ------------------------------------------------------------------------------------------
// INI, the subset of gopkg.in/ini.v1 that sops exercises.

const DEFAULT_SECTION: &str = "DEFAULT";

fn ini_unquote(v: &str) -> String {
    for q in ["\"\"\"", "`", "\""] {
        if v.len() >= 2 * q.len() && v.starts_with(q) && v.ends_with(q) {
            return v[q.len()..v.len() - q.len()].to_owned();
        }
    }
    // Unquoted values lose an inline comment.
    match v.find(['#', ';']) {
        Some(i) => v[..i].trim_end().to_owned(),
        None => v.to_owned(),
    }
}

fn ini_parse(src: &[u8]) -> Result<Map> {
    let text =
        std::str::from_utf8(src).map_err(|_| SopsError::parse("ini", "the input is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Map = vec![Entry::Pair(
        DEFAULT_SECTION.into(),
        Value::Map(Map::default()),
    )];
    let mut comments: Vec<String> = Vec::new();
    let mut lines = text.lines();
    while let Some(raw) = lines.next() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(';') || line.starts_with('#') {
            comments.push(line.trim_start_matches([';', '#']).trim_start().to_owned());
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name.split_once(']').map(|(n, _)| n.trim()).ok_or_else(|| {
                SopsError::parse("ini", format!("unclosed section header `{line}`"))
            })?;
            let mut sec = Map::default();
            sec.extend(comments.drain(..).map(Entry::comment));
            if name == DEFAULT_SECTION
                && let Some(Entry::Pair(_, Value::Map(d))) = sections.first_mut()
            {
                d.extend(sec);
                continue;
            }
            sections.push(Entry::Pair(name.to_owned(), Value::Map(sec)));
            continue;
        }
        let pos = line
            .find(['=', ':'])
            .ok_or_else(|| SopsError::parse("ini", "a line has no `=`"))?;
        let key = line[..pos].trim().to_owned();
        let mut rest = line[pos + 1..].trim().to_owned();
        if rest.starts_with("\"\"\"") && (rest.len() < 6 || !rest.ends_with("\"\"\"")) {
            // A multi-line value continues until the closing triple quote.
            let mut guard = 0usize;
            for more in lines.by_ref() {
                rest.push('\n');
                rest.push_str(more);
                guard += 1;
                if more.contains("\"\"\"") || guard > 1_000_000 {
                    break;
                }
            }
            rest = rest.trim_end().to_owned();
        }
        let mut inline_comment = None;
        let value = if rest.starts_with('"') || rest.starts_with('`') {
            ini_unquote(&rest)
        } else {
            match rest.find(['#', ';']) {
                Some(i) => {
                    inline_comment = Some(rest[i + 1..].trim().to_owned());
                    rest[..i].trim_end().to_owned()
                }
                None => rest,
            }
        };
        if let Some(Entry::Pair(_, Value::Map(sec))) = sections.last_mut() {
            sec.push(Entry::Pair(key, Value::Str(Text::from(value))));
            sec.extend(comments.drain(..).map(Entry::comment));
            sec.extend(inline_comment.map(Entry::comment));
        }
    }
    Ok(sections)
}

fn ini_quote(v: &str) -> String {
    if v.contains(['\n', '`']) {
        format!("\"\"\"{v}\"\"\"")
    } else if v.contains(['#', ';']) {
        format!("`{v}`")
    } else if v.trim() != v {
        format!("\"{v}\"")
    } else {
        v.to_owned()
    }
}

fn ini_emit(m: &Map, meta: Option<&[(String, String)]>) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for e in m {
        let Entry::Pair(name, Value::Map(items)) = e else {
            continue;
        };
        let mut out = String::new();
        // Leading comments belong to the section header.
        let lead = items
            .iter()
            .take_while(|e| matches!(e, Entry::Comment(_)))
            .count();
        for c in &items[..lead] {
            if let Entry::Comment(v) = c {
                out.push_str(&format!("; {}\n", scalar_text(v)));
            }
        }
        let pairs: Vec<&Entry> = items[lead..].iter().collect();
        if name == DEFAULT_SECTION && !pairs.iter().any(|e| e.key().is_some()) {
            continue;
        }
        if name != DEFAULT_SECTION {
            out.push_str(&format!("[{name}]\n"));
        }
        let width = pairs
            .iter()
            .filter_map(|e| e.key())
            .map(str::len)
            .max()
            .unwrap_or(0);
        let mut i = 0;
        while i < pairs.len() {
            if let Entry::Pair(k, v) = pairs[i] {
                // Comments after a key are the key's comment, written above it.
                let mut j = i + 1;
                while let Some(Entry::Comment(c)) = pairs.get(j) {
                    out.push_str(&format!("; {}\n", scalar_text(c)));
                    j += 1;
                }
                out.push_str(&format!(
                    "{k}{} = {}\n",
                    " ".repeat(width - k.len()),
                    ini_quote(&scalar_text(v))
                ));
                i = j;
            } else {
                if let Entry::Comment(c) = pairs[i] {
                    out.push_str(&format!("; {}\n", scalar_text(c)));
                }
                i += 1;
            }
        }
        blocks.push(out);
    }
    if let Some(meta) = meta {
        let width = meta.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::from("[sops]\n");
        for (k, v) in meta {
            out.push_str(&format!(
                "{k}{} = {}\n",
                " ".repeat(width - k.len()),
                ini_quote(&v.replace('\n', "\\n"))
            ));
        }
        blocks.push(out);
    }
    blocks.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_round_trip() {
        let src = "# c\nA=x=y\nB=l1\\nl2\nC=\n";
        let (m, meta) = dotenv_parse(src.as_bytes()).unwrap();
        assert!(meta.is_empty());
        assert_eq!(m.len(), 4);
        assert_eq!(dotenv_emit(&m, &[]), src);
        assert!(dotenv_parse(b"NOEQUALS").is_err());
    }

    #[test]
    fn ini_round_trip() {
        let src = "; global\na = 1\n\n[s]\n; c\nlong = 2\nk    = `x;y`\n";
        let m = ini_parse(src.as_bytes()).unwrap();
        assert_eq!(ini_emit(&m, None), src);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::from_path(Path::new("a/b.yml")), Format::Yaml);
        assert_eq!(Format::from_path(Path::new("x.env")), Format::Dotenv);
        assert_eq!(Format::from_path(Path::new("x.txt")), Format::Binary);
        assert_eq!(
            Format::resolve(Some("json"), Path::new("x.yaml")),
            Format::Json
        );
    }
}
