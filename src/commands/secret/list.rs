//! `secret list [--verbose] [--verify] [--format table|json|yaml|csv|tsv]`.

use std::collections::HashSet;

use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secrets::Scope;
use crate::session::{self, Project, Session, Target};

/// One output row.
#[derive(Clone)]
struct Row {
    stack: String,
    component: String,
    secret: String,
    scope: Scope,
    provider: String,
    status: String,
    description: String,
    /// A component that could not be built: its row carries the cause in `status`.
    failed: bool,
}

/// Declarations whose status checks are batched together in a whole-tree listing.
const BATCH: usize = 1000;

const COLUMNS: [&str; 7] = [
    "Stack",
    "Component",
    "Secret",
    "Scope",
    "Provider",
    "Status",
    "Description",
];

/// Lists declared secrets with their status.
pub(crate) fn list(project: &Project, args: ListArgs, printer: &mut Printer) -> Result<u8> {
    let format = args.format.clone().unwrap_or_default().to_lowercase();
    if !matches!(
        format.as_str(),
        "" | "table" | "json" | "yaml" | "csv" | "tsv"
    ) {
        return Err(Error::new(format!(
            "invalid configuration: unsupported format: {format}"
        ))
        .with_hint("use one of: table, json, yaml, csv, tsv"));
    }
    project.config()?;
    let scope = project.settings();
    let stack = scope.stack.clone().filter(|s| !s.is_empty());
    let component = scope.component.clone().filter(|s| !s.is_empty());
    let mut rows = Vec::new();
    let mut failures: Vec<session::Unbuilt> = Vec::new();
    if let (Some(s), Some(c)) = (&stack, &component) {
        let session = project.load_session(s, c)?;
        rows = rows_for_all(std::slice::from_ref(&session), args.verify, false)
            .pop()
            .unwrap_or_default();
        if rows.is_empty() {
            printer.info(&format!(
                "No secrets declared for component \"{c}\" in stack \"{s}\"."
            ));
            return Ok(0);
        }
    } else {
        // One stack at a time: its instances are built, turned into sessions and rows, and
        // dropped before the next stack; only the rows stay. Status checks still go out in
        // batches across stacks (flushed every `BATCH` declarations) so remote stores see few
        // requests.
        let mut seen_stack: HashSet<(String, String)> = HashSet::new();
        let mut seen_global: HashSet<String> = HashSet::new();
        let mut sessions: Vec<Session> = Vec::new();
        let mut pending = 0;
        let mut flush = |sessions: &mut Vec<Session>, rows: &mut Vec<Row>| {
            for row in rows_for_all(sessions, args.verify, true)
                .into_iter()
                .flatten()
            {
                let first = match row.scope {
                    Scope::Stack => seen_stack.insert((row.stack.clone(), row.secret.clone())),
                    Scope::Global => seen_global.insert(row.secret.clone()),
                    Scope::Instance => true,
                };
                if first {
                    rows.push(row);
                }
            }
            sessions.clear();
        };
        project.for_each_stack(stack.as_deref(), |i, total, built| {
            printer.progress("Loading stacks", i, total);
            let mut instances = Vec::new();
            for b in built {
                match b {
                    Ok(i) => instances.push(i),
                    Err(f) => {
                        if component.as_deref().is_none_or(|c| f.component == c) {
                            failures.push(f);
                        }
                    }
                }
            }
            instances.retain(|i| {
                component.as_deref().is_none_or(|c| i.name == c)
                    && scope
                        .component_type
                        .as_deref()
                        .is_none_or(|t| i.component_type == t)
            });
            instances.sort_by(|a, b| a.name.cmp(&b.name));
            for inst in instances {
                let stack_name = inst.stack.clone();
                let session = project.session_for(inst, &stack_name)?;
                if !session.decls.is_empty() {
                    pending += session.decls.len();
                    sessions.push(session);
                }
            }
            if pending >= BATCH {
                flush(&mut sessions, &mut rows);
                pending = 0;
            }
            printer.progress("Loading stacks", i + 1, total);
            Ok(())
        })?;
        flush(&mut sessions, &mut rows);
        for f in &failures {
            rows.push(Row {
                stack: f.stack.clone(),
                component: f.component.clone(),
                secret: "-".to_owned(),
                scope: Scope::Instance,
                provider: "-".to_owned(),
                status: format!(
                    "error: {}: component \"{}\": {}",
                    f.manifest.display(),
                    f.component,
                    f.error.message()
                ),
                description: String::new(),
                failed: true,
            });
        }
        if rows.is_empty() {
            let msg = match (&stack, &component) {
                (Some(s), _) => format!("No secrets declared in stack \"{s}\"."),
                (None, Some(c)) => {
                    format!("No secrets declared for component \"{c}\" in any stack.")
                }
                (None, None) => "No secrets declared in any stack.".to_owned(),
            };
            printer.info(&msg);
            return Ok(0);
        }
    }
    rows.sort_by(|a, b| {
        (&a.stack, &a.secret, &a.component).cmp(&(&b.stack, &b.secret, &b.component))
    });
    printer.stdout(&render(
        &rows,
        &format,
        args.verbose,
        printer.stdout_is_terminal(),
    ));
    if failures.is_empty() {
        return Ok(0);
    }
    for f in failures {
        printer.error(&f.error.context(format!(
            "cannot build component \"{}\" in stack \"{}\" ({})",
            f.component,
            f.stack,
            f.manifest.display()
        )));
    }
    Ok(1)
}

/// Rows for several sessions; each declaration is resolved once and every status check of every
/// session goes out in one batched, concurrent plan. Local backends are always checked, remote
/// ones only with `--verify`.
fn rows_for_all(sessions: &[Session], verify: bool, enumerated: bool) -> Vec<Vec<Row>> {
    let mut status: Vec<Vec<Option<&'static str>>> = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for (si, session) in sessions.iter().enumerate() {
        let mut st = vec![None; session.decls.len()];
        for (di, d) in session.decls.iter().enumerate() {
            match session.resolve(d) {
                Ok(target) if verify || target.store.capabilities().local_status => {
                    targets.push(target);
                    slots.push((si, di));
                }
                Ok(_) => st[di] = Some("unknown"),
                Err(_) => st[di] = Some("error"),
            }
        }
        status.push(st);
    }
    let refs: Vec<&Target> = targets.iter().collect();
    for ((si, di), r) in slots.into_iter().zip(session::exists(&refs)) {
        status[si][di] = Some(match r {
            Ok(true) => "initialized",
            Ok(false) => "missing",
            Err(_) => "error",
        });
    }
    sessions
        .iter()
        .zip(status)
        .map(|(session, st)| rows(session, &st, enumerated))
        .collect()
}

fn rows(session: &Session, status: &[Option<&'static str>], enumerated: bool) -> Vec<Row> {
    session
        .decls
        .iter()
        .zip(status)
        .map(|(d, st)| {
            let (stack, component) = match (enumerated, d.scope) {
                (true, Scope::Global) => ("*".to_owned(), "*".to_owned()),
                (true, Scope::Stack) => (session.stack.clone(), "*".to_owned()),
                _ => (session.stack.clone(), session.component.clone()),
            };
            Row {
                stack,
                component,
                secret: d.name.clone(),
                scope: d.scope,
                provider: d.backend.label(),
                status: st.unwrap_or("unknown").to_owned(),
                description: d.description.clone(),
                failed: false,
            }
        })
        .collect()
}

fn cells(r: &Row, verbose: bool) -> Vec<String> {
    let mut v = vec![
        r.stack.clone(),
        r.component.clone(),
        r.secret.clone(),
        if r.failed {
            "-".to_owned()
        } else {
            r.scope.to_string()
        },
        r.provider.clone(),
        r.status.clone(),
    ];
    if verbose {
        v.push(r.description.clone());
    }
    v
}

fn render(rows: &[Row], format: &str, verbose: bool, terminal: bool) -> String {
    let ncol = if verbose { 7 } else { 6 };
    let header: Vec<&str> = COLUMNS[..ncol].to_vec();
    match format {
        "json" => {
            let arr: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::default();
                    for (h, c) in header.iter().zip(cells(r, verbose)) {
                        m.insert((*h).to_owned(), serde_json::Value::String(c));
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&arr).unwrap_or_default();
            s.push('\n');
            s
        }
        "yaml" => {
            let mut s = String::new();
            for r in rows {
                for (i, (h, c)) in header.iter().zip(cells(r, verbose)).enumerate() {
                    let lead = if i == 0 { "- " } else { "  " };
                    let q = serde_json::to_string(&c).unwrap_or_default();
                    s.push_str(&format!("{lead}{h}: {q}\n"));
                }
            }
            s
        }
        "csv" => {
            let mut s = header.join(",") + "\n";
            for r in rows {
                let line: Vec<String> = cells(r, verbose).iter().map(|c| csv_field(c)).collect();
                s.push_str(&line.join(","));
                s.push('\n');
            }
            s
        }
        "tsv" => {
            let mut s = header.join("\t") + "\n";
            s.push_str(&tsv_rows(rows, verbose));
            s
        }
        _ => {
            if terminal {
                table(&header, rows, verbose)
            } else {
                tsv_rows(rows, verbose)
            }
        }
    }
}

fn tsv_rows(rows: &[Row], verbose: bool) -> String {
    // Written field by field into one buffer: a whole-tree listing has ~100,000 rows.
    let mut s = String::with_capacity(rows.len() * 96);
    for r in rows {
        let mut fields = [
            r.stack.as_str(),
            r.component.as_str(),
            r.secret.as_str(),
            if r.failed { "-" } else { r.scope.as_str() },
            r.provider.as_str(),
            r.status.as_str(),
            r.description.as_str(),
        ]
        .into_iter()
        .take(if verbose { 7 } else { 6 });
        if let Some(first) = fields.next() {
            push_tsv_field(&mut s, first);
        }
        for field in fields {
            s.push('\t');
            push_tsv_field(&mut s, field);
        }
        s.push('\n');
    }
    s
}

/// A TSV field: tabs and newlines become spaces.
fn push_tsv_field(out: &mut String, field: &str) {
    if field.contains(['\t', '\n']) {
        out.push_str(&field.replace(['\t', '\n'], " "));
    } else {
        out.push_str(field);
    }
}

fn csv_field(c: &str) -> String {
    if c.contains([',', '"', '\n']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_owned()
    }
}

fn table(header: &[&str], rows: &[Row], verbose: bool) -> String {
    let all: Vec<Vec<String>> = rows.iter().map(|r| cells(r, verbose)).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            all.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: Vec<String>| -> String {
        let padded: Vec<String> = cols
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut s = line(header.iter().map(|h| h.to_uppercase()).collect());
    for r in all {
        s.push_str(&line(r));
    }
    s
}
