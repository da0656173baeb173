//! Owns the CI-facing text formats: when CI mode is on, GitHub Actions workflow commands
//! (`::add-mask::`, `::error file=…,line=…::`), the Markdown step summary and the JUnit XML
//! report GitLab reads. Pure formatting plus one file append; the [`crate::printer::Printer`]
//! decides when to write them and commands decide what to report.

use std::io::Write;
use std::path::Path;

use crate::yaml::Node;

/// Forces CI mode (`--ci` is the flag).
pub const ATMOS_CI: &str = "ATMOS_CI";
/// Set to `true` by GitHub Actions.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// The file GitHub Actions renders as the job summary.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// CI mode: `--ci`/`ATMOS_CI` when given (clap reads both into `flag`), else
/// `GITHUB_ACTIONS=true`. Plain `CI=true` does not turn it on (it only disables prompts).
pub fn enabled(flag: Option<bool>) -> bool {
    flag.unwrap_or_else(|| crate::env::var(GITHUB_ACTIONS).is_some_and(|v| v == "true"))
}

/// Escapes workflow-command data (`%`, CR, LF), as the runner unescapes it.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (data escapes plus `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::add-mask::` line (with its newline) for `value`.
pub fn add_mask(value: &str) -> String {
    format!("::add-mask::{}\n", escape_data(value))
}

/// The strings to mask for one revealed value: the value, each non-blank line of a multi-line
/// value (the runner masks line by line), and each scalar leaf of a JSON or YAML map/list value.
pub fn mask_candidates(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim_end_matches('\r');
        if !s.trim().is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    };
    push(value);
    if value.contains('\n') {
        value.lines().for_each(&mut push);
    }
    let mut leaves = Vec::new();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(value) {
        json_leaves(&json, &mut leaves);
    } else if (value.contains(':') || value.contains("- "))
        && let Ok(node) = crate::yaml::parse(value, "value")
    {
        yaml_leaves(&node, &mut leaves);
    }
    leaves.iter().for_each(|l| push(l));
    out
}

fn json_leaves(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_leaves(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| json_leaves(v, out)),
        serde_json::Value::Null => {}
        other => out.push(other.to_string()),
    }
}

fn yaml_leaves(v: &Node, out: &mut Vec<String>) {
    match v {
        Node::Map(m) => m.values().for_each(|v| yaml_leaves(v, out)),
        Node::Seq(s) => s.iter().for_each(|v| yaml_leaves(v, out)),
        Node::Null => {}
        Node::Tagged(t) => yaml_leaves(&t.value, out),
        other => {
            if let Some(s) = other.scalar_text() {
                out.push(s);
            }
        }
    }
}

/// `path` relative to the working directory when it is inside it (CI tools expect
/// workspace-relative paths), else as it is.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| {
        let canonical = cwd.canonicalize().ok();
        std::iter::once(cwd)
            .chain(canonical)
            .find_map(|base| path.strip_prefix(base).ok().map(Path::to_path_buf))
    });
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// `::error file=F,line=N,title=T::message` (file relative to the working directory when it
/// is inside it, as annotations expect workspace-relative paths).
pub fn error_annotation(file: Option<(&Path, usize)>, title: &str, message: &str) -> String {
    let mut props = Vec::new();
    if let Some((path, line)) = file {
        props.push(format!("file={}", escape_property(&display_path(path))));
        if line > 0 {
            props.push(format!("line={line}"));
        }
    }
    props.push(format!("title={}", escape_property(title)));
    format!("::error {}::{}", props.join(","), escape_data(message))
}

/// One row of a validate report.
#[derive(Debug, Clone)]
pub struct CheckRow {
    /// Secret name.
    pub name: String,
    /// Backend label (`sops:local-sops`).
    pub backend: String,
    /// Whether the secret is required.
    pub required: bool,
    /// `ok`, `missing`, `not set` (optional) or `error: …`.
    pub status: String,
    /// Whether this row fails the check.
    pub failed: bool,
    /// Declaring manifest and line, when known.
    pub site: Option<(std::path::PathBuf, usize)>,
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown step summary for one validated instance.
pub fn summary_markdown(title: &str, rows: &[CheckRow]) -> String {
    let failed = rows.iter().filter(|r| r.failed).count();
    let mut md = format!(
        "### {} {}\n\n",
        if failed == 0 { "✅" } else { "❌" },
        md_cell(title)
    );
    md.push_str("| Secret | Backend | Required | Status |\n|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            md_cell(&r.name),
            md_cell(&r.backend),
            if r.required { "yes" } else { "no" },
            md_cell(&r.status)
        ));
    }
    md.push('\n');
    md
}

/// Appends `markdown` to `$GITHUB_STEP_SUMMARY` when it is set; returns whether it wrote.
pub fn append_step_summary(markdown: &str) -> std::io::Result<bool> {
    let Some(path) = crate::env::var(GITHUB_STEP_SUMMARY) else {
        return Ok(false);
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())?;
    Ok(true)
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A JUnit XML report: one test suite named `suite`, one test case per row.
pub fn junit(suite: &str, rows: &[CheckRow]) -> String {
    let failures = rows.iter().filter(|r| r.failed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"atmos secret validate\" tests=\"{}\" failures=\"{failures}\">\n",
        rows.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        xml(suite),
        rows.len()
    ));
    for r in rows {
        let file = r
            .site
            .as_ref()
            .map(|(f, l)| format!(" file=\"{}\" line=\"{l}\"", xml(&display_path(f))))
            .unwrap_or_default();
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"{file}",
            xml(suite),
            xml(&r.name)
        ));
        if r.failed {
            out.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"{}\"/>\n    </testcase>\n",
                xml(&r.status),
                xml(&r.backend)
            ));
        } else {
            out.push_str("/>\n");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_cover_lines_and_structured_leaves() {
        let c = mask_candidates("line-one\nline-two\n");
        assert!(c.contains(&"line-one".to_owned()) && c.contains(&"line-two".to_owned()));
        let c = mask_candidates(r#"{"user":"admin-x","password":"pw-123456","port":5432}"#);
        for want in ["admin-x", "pw-123456", "5432"] {
            assert!(c.contains(&want.to_owned()), "{c:?}");
        }
        let c = mask_candidates("user: u-yaml\npassword: p-yaml\n");
        assert!(c.contains(&"p-yaml".to_owned()), "{c:?}");
    }

    #[test]
    fn workflow_commands_escape_their_data() {
        assert_eq!(add_mask("a%b\nc"), "::add-mask::a%25b%0Ac\n");
        let line = error_annotation(Some((Path::new("/x/a,b.yaml"), 7)), "T: x", "m\n");
        assert_eq!(line, "::error file=/x/a%2Cb.yaml,line=7,title=T%3A x::m%0A");
    }

    #[test]
    fn junit_marks_failures_and_escapes() {
        let rows = vec![
            CheckRow {
                name: "A<B".into(),
                backend: "sops:x".into(),
                required: true,
                status: "missing".into(),
                failed: true,
                site: Some(("f.yaml".into(), 3)),
            },
            CheckRow {
                name: "C".into(),
                backend: "store:y".into(),
                required: false,
                status: "ok".into(),
                failed: false,
                site: None,
            },
        ];
        let x = junit("dev/api", &rows);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(
            x.contains("name=\"A&lt;B\" file=\"f.yaml\" line=\"3\">"),
            "{x}"
        );
        assert!(x.contains("<failure message=\"missing\""), "{x}");
        assert!(x.contains("name=\"C\"/>"), "{x}");
    }
}
