//! `secret list [--verbose] [--verify] [--format table|json|yaml|csv|tsv]`.

use std::collections::HashSet;
use std::sync::Arc;

use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secrets::{Coordinate, Declaration, Scope};
use crate::session::{self, DeclSet, Project};

/// One output row. Rows of a whole-tree listing number ~100,000: the stack and component names
/// and the declarations are shared, not copied per row.
#[derive(Clone)]
struct Row {
    stack: Arc<str>,
    component: Arc<str>,
    what: What,
}

#[derive(Clone)]
enum What {
    /// Declaration `index` of `decls`, with its status.
    Declared {
        decls: Arc<Vec<Declaration>>,
        index: usize,
        status: &'static str,
    },
    /// A component that could not be built: the cause.
    Failed(String),
}

impl Row {
    fn decl(&self) -> Option<&Declaration> {
        match &self.what {
            What::Declared { decls, index, .. } => decls.get(*index),
            What::Failed(_) => None,
        }
    }

    fn secret(&self) -> &str {
        self.decl().map_or("-", |d| d.name.as_str())
    }

    fn scope(&self) -> Option<Scope> {
        self.decl().map(|d| d.scope)
    }

    fn provider(&self) -> String {
        self.decl()
            .map_or_else(|| "-".to_owned(), |d| d.backend.label())
    }

    fn status(&self) -> &str {
        match &self.what {
            What::Declared { status, .. } => status,
            What::Failed(cause) => cause,
        }
    }

    fn description(&self) -> &str {
        self.decl().map_or("", |d| d.description.as_str())
    }
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

/// The listing's columns: the description only with `--verbose`.
fn columns(verbose: bool) -> &'static [&'static str] {
    &COLUMNS[..if verbose { 7 } else { 6 }]
}

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
        let set = project.load_session(s, c)?.into_decl_set();
        rows = rows_for_all(std::slice::from_ref(&set), args.verify, false);
        if rows.is_empty() {
            printer.info(&format!(
                "No secrets declared for component \"{c}\" in stack \"{s}\"."
            ));
            return Ok(0);
        }
    } else {
        // One stack at a time: its instances are built, turned into declaration sets and rows,
        // and dropped before the next stack; only the rows stay. Without `--verify` only local
        // backends are checked, so each stack's rows are made on the builder threads; with it,
        // status checks go out in batches across stacks (flushed every `BATCH` declarations)
        // so remote stores see few requests.
        let verify = args.verify;
        let mut seen_stack: HashSet<(Arc<str>, String)> = HashSet::new();
        let mut seen_global: HashSet<String> = HashSet::new();
        let mut keep = |row: Row, rows: &mut Vec<Row>| {
            let first = match row.scope() {
                Some(Scope::Stack) => {
                    seen_stack.insert((row.stack.clone(), row.secret().to_owned()))
                }
                Some(Scope::Global) => seen_global.insert(row.secret().to_owned()),
                _ => true,
            };
            if first {
                rows.push(row);
            }
        };
        let mut batch: Vec<DeclSet> = Vec::new();
        let mut pending = 0;
        // Whether each stack's rows are rendered on its builder thread (see [`Walked`]): TSV
        // text without `--verify`, when the stacks' names sort after the global rows' `*`.
        let stream = !verify
            && tsv_text(&format, printer.stdout_is_terminal())
            && match &stack {
                Some(s) => streamable(project.stacks_for(s)?.names()),
                None => streamable(project.stacks()?.names()),
            };
        let verbose = args.verbose;
        let prepare = |built: session::StackDeclSets| {
            let mut sets = Vec::new();
            let mut failed = Vec::new();
            for b in built {
                match b {
                    Ok(set) => sets.push(set),
                    Err(f) => {
                        if component.as_deref().is_none_or(|c| f.component == c) {
                            failed.push(f);
                        }
                    }
                }
            }
            sets.retain(|set| {
                !set.decls.is_empty()
                    && component.as_deref().is_none_or(|c| &*set.component == c)
                    && scope
                        .component_type
                        .as_deref()
                        .is_none_or(|t| &*set.component_type == t)
            });
            sets.sort_by(|a, b| a.component.cmp(&b.component));
            if verify {
                return Walked::Sets(sets, failed);
            }
            // Sorted here, on the builder thread: stacks arrive in name order, so the stacks'
            // sorted rows are usually sorted as a whole (checked below).
            let made = rows_for_all(&sets, false, true);
            drop(sets);
            if !stream {
                return Walked::Rows(sorted(made), failed);
            }
            let (globals, mut own): (Vec<Row>, Vec<Row>) = made
                .into_iter()
                .partition(|r| r.scope() == Some(Scope::Global));
            // A failed instance's row sorts among its stack's rows, after the declared ones
            // when tied (as the listing's stable sort of all rows places it).
            own.extend(failed.iter().map(failed_row));
            let order = sorted_order(&own);
            Walked::Text {
                globals,
                text: tsv_rows(order.iter().map(|&i| &own[i]), verbose),
                failed,
            }
        };
        let mut chunks: Vec<String> = Vec::new();
        project.for_each_stack_declared(stack.as_deref(), prepare, |i, total, walked| {
            printer.progress("Loading stacks", i, total);
            match walked {
                Walked::Sets(sets, failed) => {
                    failures.extend(failed);
                    for set in sets {
                        pending += set.decls.len();
                        batch.push(set);
                    }
                    if pending >= BATCH {
                        for row in rows_for_all(&batch, true, true) {
                            keep(row, &mut rows);
                        }
                        batch.clear();
                        pending = 0;
                    }
                }
                Walked::Rows(made, failed) => {
                    failures.extend(failed);
                    for row in made {
                        keep(row, &mut rows);
                    }
                }
                Walked::Text {
                    globals,
                    text,
                    failed,
                } => {
                    failures.extend(failed);
                    for row in globals {
                        keep(row, &mut rows);
                    }
                    chunks.push(text);
                }
            }
            printer.progress("Loading stacks", i + 1, total);
            Ok(())
        })?;
        for row in rows_for_all(&batch, verify, true) {
            keep(row, &mut rows);
        }
        if stream {
            // A stack's text is empty when it has no rows.
            if rows.is_empty() && chunks.iter().all(String::is_empty) {
                printer.info(&nothing_declared(stack.as_deref(), component.as_deref()));
                return Ok(0);
            }
            // The global rows (`*`) first, then every stack's rows in stack order.
            let mut head = String::new();
            if format == "tsv" {
                head.push_str(&columns(verbose).join("\t"));
                head.push('\n');
            }
            head.push_str(&tsv_rows(&sorted(rows), verbose));
            let parts: Vec<&str> = std::iter::once(head.as_str())
                .chain(chunks.iter().map(String::as_str))
                .collect();
            printer.stdout_parts(&parts);
            return report_failures(failures, printer);
        }
        rows.extend(failures.iter().map(failed_row));
        if rows.is_empty() {
            printer.info(&nothing_declared(stack.as_deref(), component.as_deref()));
            return Ok(0);
        }
    }
    let rows = sorted(rows);
    printer.stdout(&render(
        &rows,
        &format,
        args.verbose,
        printer.stdout_is_terminal(),
    ));
    report_failures(failures, printer)
}

/// What a builder thread hands over for one stack of a whole-tree listing.
enum Walked {
    /// `--verify`: the declaration sets, checked later in batches across stacks.
    Sets(Vec<DeclSet>, Vec<session::Unbuilt>),
    /// The stack's rows, sorted.
    Rows(Vec<Row>, Vec<session::Unbuilt>),
    /// TSV text: the stack's rows (failed instances' included) rendered, sorted, on the
    /// builder thread; its global rows are handed over as rows, since they are listed once, in
    /// front of every stack's, from the first stack that declares each.
    Text {
        globals: Vec<Row>,
        text: String,
        failed: Vec<session::Unbuilt>,
    },
}

/// Whether `format` prints TSV text (plain output that is not a terminal prints TSV rows).
fn tsv_text(format: &str, terminal: bool) -> bool {
    format == "tsv" || (matches!(format, "" | "table") && !terminal)
}

/// Whether stacks named `names` (in walk order) list in that order after the global rows:
/// strictly ascending and after `*`, so the listing is the global rows, then each stack's.
fn streamable<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let mut last = "*";
    names.into_iter().all(|n| {
        let after = n > last;
        last = n;
        after
    })
}

/// The row of an instance that could not be built.
fn failed_row(f: &session::Unbuilt) -> Row {
    Row {
        stack: Arc::from(f.stack.as_str()),
        component: Arc::from(f.component.as_str()),
        what: What::Failed(format!(
            "error: {}: component \"{}\": {}",
            f.manifest.display(),
            f.component,
            f.error.message()
        )),
    }
}

/// The message of a listing with no rows.
fn nothing_declared(stack: Option<&str>, component: Option<&str>) -> String {
    match (stack, component) {
        (Some(s), _) => format!("No secrets declared in stack \"{s}\"."),
        (None, Some(c)) => format!("No secrets declared for component \"{c}\" in any stack."),
        (None, None) => "No secrets declared in any stack.".to_owned(),
    }
}

/// Reports the instances that could not be built; the exit code: 1 when any.
fn report_failures(failures: Vec<session::Unbuilt>, printer: &mut Printer) -> Result<u8> {
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

/// `rows` in the listing's order — stack, secret, component — ties in their given order (what
/// a stable sort gives); as they are when already in order.
fn sorted(rows: Vec<Row>) -> Vec<Row> {
    let order = sorted_order(&rows);
    if order.iter().enumerate().all(|(at, &i)| at == i) {
        return rows;
    }
    let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| rows[i].take()).collect()
}

/// The positions of `rows` in the listing's order (see [`sorted`]), sorted by borrowed
/// keys: the rows' own comparison reaches each name through the row's declarations.
fn sorted_order(rows: &[Row]) -> Vec<usize> {
    let keys: Vec<(&str, &str, &str, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&*r.stack, r.secret(), &*r.component, i))
        .collect();
    // Rows of one stack share its name, so equal names are mostly the same string.
    let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
    let order = merge_sorted(keys, |a, b| {
        let by_stack = if same(a.0, b.0) {
            std::cmp::Ordering::Equal
        } else {
            a.0.cmp(b.0)
        };
        by_stack
            .then_with(|| a.1.cmp(b.1))
            .then_with(|| {
                if same(a.2, b.2) {
                    std::cmp::Ordering::Equal
                } else {
                    a.2.cmp(b.2)
                }
            })
            .is_lt()
    });
    order.into_iter().map(|k| k.3).collect()
}

/// `v` sorted stably by `less`, merging its ascending runs pairwise: rows come as runs (one set
/// after another, each in declaration order), often few, where a general sort would compare
/// every row about log2(n) times (the standard library's stable sort treats runs shorter than
/// about half of a short input as unsorted).
fn merge_sorted<T: Copy>(v: Vec<T>, less: impl Fn(&T, &T) -> bool) -> Vec<T> {
    // The start of every run, and the end.
    let mut bounds: Vec<usize> = vec![0];
    bounds.extend((1..v.len()).filter(|&i| less(&v[i], &v[i - 1])));
    bounds.push(v.len());
    let mut v = v;
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    // Runs `k` and `k + 1` (`bounds[k]..bounds[k + 1]..bounds[k + 2]`) merge into one.
    while bounds.len() > 2 {
        out.clear();
        let runs = bounds.len() - 1;
        let mut next = Vec::with_capacity(runs / 2 + 2);
        for k in (0..runs).step_by(2) {
            let start = bounds[k];
            next.push(start);
            if k + 1 == runs {
                out.extend_from_slice(&v[start..bounds[k + 1]]);
                continue;
            }
            let (mid, end) = (bounds[k + 1], bounds[k + 2]);
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                // On a tie the left run's goes first: stable.
                if less(&v[j], &v[i]) {
                    out.push(v[j]);
                    j += 1;
                } else {
                    out.push(v[i]);
                    i += 1;
                }
            }
            out.extend_from_slice(&v[i..mid]);
            out.extend_from_slice(&v[j..end]);
        }
        next.push(v.len());
        std::mem::swap(&mut v, &mut out);
        bounds = next;
    }
    v
}

/// Rows for several declaration sets, set by set, each set's in declaration order; each
/// declaration is resolved once and every status check of every set goes out in one batched,
/// concurrent plan. Local backends are always checked, remote ones only with `--verify`.
///
/// `enumerated` (a listing of many instances): a stack-scoped declaration is one row per stack
/// and a global one a row per listing (the component, and for global the stack, shown as `*`),
/// kept from the first set that declares it; later sets' copies of it are neither resolved nor
/// checked (the caller keeps the first row of each across calls too).
fn rows_for_all(sets: &[DeclSet], verify: bool, enumerated: bool) -> Vec<Row> {
    thread_local! {
        /// The coordinates of the last call on this thread, written over by the next: a
        /// coordinate is three strings, and a whole-tree listing checks ~80,000.
        static COORDINATES: std::cell::RefCell<Vec<Coordinate>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut coordinates = COORDINATES.take();
    let total: usize = sets.iter().map(|s| s.decls.len()).sum();
    // The rows to make: set, declaration and status (`None`: the check at `slots`).
    let mut made: Vec<(usize, usize, Option<&'static str>)> = Vec::with_capacity(total);
    // The store (memo index) of each coordinate checked, and its row.
    let mut at: Vec<usize> = Vec::with_capacity(total);
    let mut slots: Vec<usize> = Vec::with_capacity(total);
    let mut stores = session::StoreMemo::default();
    let mut seen_stack: HashSet<(&str, &str), foldhash::fast::RandomState> = HashSet::default();
    let mut seen_global: HashSet<&str, foldhash::fast::RandomState> = HashSet::default();
    for (si, set) in sets.iter().enumerate() {
        for (di, d) in set.decls.iter().enumerate() {
            let first = !enumerated
                || match d.scope {
                    Scope::Instance => true,
                    Scope::Stack => seen_stack.insert((&set.stack, &d.name)),
                    Scope::Global => seen_global.insert(&d.name),
                };
            if !first {
                continue;
            }
            if coordinates.len() == at.len() {
                coordinates.push(d.coordinate("", ""));
            }
            let status = match set.locate_memo(d, &mut stores, &mut coordinates[at.len()]) {
                Ok(i) if verify || stores.local_status(i) => {
                    slots.push(made.len());
                    at.push(i);
                    None
                }
                Ok(_) => Some("unknown"),
                Err(_) => Some("error"),
            };
            made.push((si, di, status));
        }
    }
    let checked: Vec<&Arc<dyn crate::store::Store>> = at.iter().map(|&i| stores.store(i)).collect();
    for (slot, r) in slots
        .into_iter()
        .zip(session::exists_at(&checked, &coordinates[..at.len()]))
    {
        made[slot].2 = Some(match r {
            Ok(true) => "initialized",
            Ok(false) => "missing",
            Err(_) => "error",
        });
    }
    COORDINATES.set(coordinates);
    let star: Arc<str> = Arc::from("*");
    made.into_iter()
        .map(|(si, index, status)| {
            let set = &sets[si];
            let (stack, component) = match (enumerated, set.decls[index].scope) {
                (true, Scope::Global) => (star.clone(), star.clone()),
                (true, Scope::Stack) => (set.stack.clone(), star.clone()),
                _ => (set.stack.clone(), set.component.clone()),
            };
            Row {
                stack,
                component,
                what: What::Declared {
                    decls: set.decls.clone(),
                    index,
                    status: status.unwrap_or("unknown"),
                },
            }
        })
        .collect()
}

fn cells(r: &Row, verbose: bool) -> Vec<String> {
    let mut v = vec![
        r.stack.to_string(),
        r.component.to_string(),
        r.secret().to_owned(),
        r.scope().map_or_else(|| "-".to_owned(), |s| s.to_string()),
        r.provider(),
        r.status().to_owned(),
    ];
    if verbose {
        v.push(r.description().to_owned());
    }
    v
}

fn render(rows: &[Row], format: &str, verbose: bool, terminal: bool) -> String {
    let header = columns(verbose);
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
                table(header, rows, verbose)
            } else {
                tsv_rows(rows, verbose)
            }
        }
    }
}

fn tsv_rows<'r>(
    rows: impl IntoIterator<Item = &'r Row, IntoIter: ExactSizeIterator>,
    verbose: bool,
) -> String {
    // Written field by field into one buffer: a whole-tree listing has ~100,000 rows.
    let rows = rows.into_iter();
    let mut s = String::with_capacity(rows.len() * 96);
    // The provider label of the row (its buffer reused).
    let mut label = String::new();
    for r in rows {
        push_tsv_field(&mut s, &r.stack);
        s.push('\t');
        push_tsv_field(&mut s, &r.component);
        s.push('\t');
        match r.decl() {
            Some(d) => {
                push_tsv_field(&mut s, &d.name);
                s.push('\t');
                s.push_str(d.scope.as_str());
                s.push('\t');
                label.clear();
                d.backend.write_label(&mut label);
                push_tsv_field(&mut s, &label);
            }
            None => s.push_str("-\t-\t-"),
        }
        s.push('\t');
        match &r.what {
            // One of the fixed status words.
            What::Declared { status, .. } => s.push_str(status),
            What::Failed(cause) => push_tsv_field(&mut s, cause),
        }
        if verbose {
            s.push('\t');
            push_tsv_field(&mut s, r.description());
        }
        s.push('\n');
    }
    s
}

/// A TSV field: tabs and newlines become spaces.
fn push_tsv_field(out: &mut String, field: &str) {
    if has_tab_or_newline(field.as_bytes()) {
        out.push_str(&field.replace(['\t', '\n'], " "));
    } else {
        out.push_str(field);
    }
}

/// Whether `bytes` holds a tab or a newline. This runs for every field of every row, fields of a
/// few to a few dozen bytes (too short for a vectorised search to pay off): eight bytes at a
/// time, a word whose bytes are all 11 or more (neither is: they are 9 and 10) is passed with
/// one test.
fn has_tab_or_newline(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let exact = |b: &[u8]| b.iter().any(|&b| b == b'\t' || b == b'\n');
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        // Non-zero when some byte is below 11 (a byte's high bit set by the borrow); exact for
        // "some byte", not for which one: the word is then checked byte by byte.
        if x.wrapping_sub(11 * ONES) & !x & HIGH != 0 && exact(chunk) {
            return true;
        }
    }
    exact(words.remainder())
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

#[cfg(test)]
mod tests {
    use super::{has_tab_or_newline, merge_sorted, streamable};

    /// The word-at-a-time scan finds a tab or newline wherever it stands, and nothing else
    /// (other bytes below 11 included), in fields of every length.
    #[test]
    fn tab_and_newline_scan_matches_a_byte_scan() {
        let alphabet: &[u8] = b"\t\n\x00\x08\x0b\x0caZ~\x7f\x80\xff";
        for len in 0..=20 {
            for seed in 0..200_usize {
                let field: Vec<u8> = (0..len)
                    .map(|i| {
                        let k = (seed * 31 + i * 17 + seed / 7 * i) % (alphabet.len() * 3);
                        // Mostly ordinary letters: a tab or newline in a few positions only.
                        alphabet.get(k).copied().unwrap_or(b'a' + (k % 26) as u8)
                    })
                    .collect();
                let want = field.iter().any(|&b| b == b'\t' || b == b'\n');
                assert_eq!(has_tab_or_newline(&field), want, "{field:?}");
            }
        }
    }

    /// Stacks stream in walk order when their names ascend strictly after the global rows' `*`.
    #[test]
    fn stacks_stream_only_in_order_after_the_global_rows() {
        assert!(streamable(["dev", "prod", "t00-ue1-dev"].into_iter()));
        assert!(streamable(std::iter::empty()));
        assert!(!streamable(["prod", "dev"].into_iter()));
        assert!(!streamable(["dev", "dev"].into_iter()));
        assert!(!streamable(["!early", "dev"].into_iter()));
        assert!(!streamable(["*"].into_iter()));
    }

    /// The run merge gives what the standard stable sort gives, ties included, for inputs made
    /// of runs (few, many, of one element) and for unordered ones.
    #[test]
    fn run_merge_is_a_stable_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for len in [0, 1, 2, 3, 7, 64, 101, 500] {
            for keys in [2, 10, 1000] {
                // (key, position): the position tells whether ties kept their order.
                let mut v: Vec<(u64, usize)> = (0..len).map(|i| (next(keys), i)).collect();
                let runs = next(4);
                if runs > 0 {
                    // Sorted chunks: runs as the listing makes them.
                    for chunk in v.chunks_mut(len / (runs as usize * 3) + 1) {
                        chunk.sort_by_key(|k| k.0);
                    }
                }
                let mut want = v.clone();
                want.sort_by_key(|k| k.0);
                let got = merge_sorted(v, |a, b| a.0 < b.0);
                assert_eq!(got, want, "len {len}, keys {keys}, runs {runs}");
            }
        }
    }
}
