//! Runs the conformance table `testdata/conformance.jsonl`: one JSON array per line,
//! `[name, template, data, expected]` or `[name, template, data, expected, options]`.
//! `data` is JSON (the string `"D"` selects the shared fixture `testdata/data.json`);
//! `expected` is the exact output, or `{"err": "substring"}` for an expected error.
//! `options` may hold `"missingkey": "error"|"zero"` and `"funcs": "builtins"|"env"` (Go's
//! builtins only, e.g. Go's `slice` that sprig replaces; or the standard set plus sprig's `env`).

use std::sync::Arc;

use super::{Funcs, MissingKey, Template, Value};

const TABLE: &str = include_str!("testdata/conformance.jsonl");
const DATA: &str = include_str!("testdata/data.json");

/// One case's outcome: `None` when it matches.
/// The function sets a case can ask for.
struct FuncSets {
    standard: Arc<Funcs>,
    builtins: Arc<Funcs>,
    env: Arc<Funcs>,
}

fn run_case(case: &serde_json::Value, shared: &Value, funcs: &FuncSets) -> Option<String> {
    let name = case[0].as_str().unwrap_or("?");
    let text = case[1].as_str().unwrap_or("");
    let data = if case[2] == serde_json::json!("D") {
        shared.clone()
    } else {
        Value::from(&case[2])
    };
    let mk = match case
        .get(4)
        .and_then(|o| o.get("missingkey"))
        .and_then(|m| m.as_str())
    {
        Some("error") => MissingKey::Error,
        Some("zero") => MissingKey::Zero,
        _ => MissingKey::Default,
    };
    let funcs = match case
        .get(4)
        .and_then(|o| o.get("funcs"))
        .and_then(|m| m.as_str())
    {
        Some("builtins") => &funcs.builtins,
        Some("env") => &funcs.env,
        _ => &funcs.standard,
    };
    let mut t = Template::new("t", funcs.clone()).missing_key(mk);
    let got = t.parse(text).and_then(|_| t.execute(&data));
    match (&case[3], got) {
        (serde_json::Value::String(want), Ok(out)) if *want == out => None,
        (serde_json::Value::Object(o), Err(e)) => {
            let want = o.get("err").and_then(|w| w.as_str()).unwrap_or("");
            if e.message.contains(want) {
                None
            } else {
                Some(format!("{name}: error {:?} lacks {want:?}", e.message))
            }
        }
        (want, got) => Some(format!(
            "{name}: template {text:?}: want {want}, got {got:?}"
        )),
    }
}

#[test]
fn conformance_table_passes_in_full() {
    // Cases reading the environment use variable names nobody sets (setting one would need
    // `unsafe`, which the crate forbids).
    let shared =
        Value::from(&serde_json::from_str::<serde_json::Value>(DATA).expect("fixture is JSON"));
    let mut env = Funcs::standard();
    super::sprig::register_sprig_env(&mut env);
    let funcs = FuncSets {
        standard: Arc::new(Funcs::standard()),
        builtins: Arc::new(Funcs::builtins()),
        env: Arc::new(env),
    };
    let mut total = 0;
    let mut failures = Vec::new();
    for (i, line) in TABLE.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("conformance.jsonl line {}: {e}", i + 1));
        total += 1;
        if let Some(f) = run_case(&case, &shared, &funcs) {
            failures.push(format!("line {}: {f}", i + 1));
        }
    }
    assert!(
        total >= 250,
        "the table must hold at least 250 cases, has {total}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
