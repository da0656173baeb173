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

/// The API callers build on: their own (namespaced) functions, options, errors they can prefix.
mod api {
    use std::sync::Arc;

    use super::super::{Error, FuncError, Funcs, MissingKey, Template, Value, render};

    fn data() -> Value {
        Value::from(&serde_json::json!({"vars": {"stage": "prod", "n": 2}}))
    }

    #[test]
    fn callers_add_namespaced_functions() {
        let mut funcs = Funcs::standard();
        funcs.insert("atmos.Component", |a| {
            super::super::funcs::arity("atmos.Component", a, 2)?;
            let name = format!("{}-{}", a[0].to_go_string(), a[1].to_go_string());
            Ok(Value::from(&serde_json::json!({"vars": {"name": name}})))
        });
        funcs.insert("boom", |_| {
            Err(FuncError::Call("no terraform outputs here".into()))
        });
        let funcs = Arc::new(funcs);
        let mut t = Template::new("stacks/prod.yaml", funcs.clone());
        t.parse(r#"{{ (atmos.Component "vpc" .vars.stage).vars.name }}"#)
            .expect("parses");
        assert_eq!(t.execute(&data()).expect("renders"), "vpc-prod");

        let mut t = Template::new("stacks/prod.yaml", funcs);
        t.parse("x\n  {{ boom }}").expect("parses");
        let err: Error = t.execute(&data()).expect_err("fails");
        assert!(!err.is_parse);
        assert_eq!(
            err.to_string(),
            r#"template: stacks/prod.yaml:2:5: executing "stacks/prod.yaml" at <boom>: error calling boom: no terraform outputs here"#
        );
    }

    #[test]
    fn parse_errors_are_marked_and_name_the_template() {
        let err = render("catalog/vpc.yaml", "{{ if }}", &data()).expect_err("fails");
        assert!(err.is_parse);
        assert_eq!(
            err.message,
            "template: catalog/vpc.yaml:1: missing value for if"
        );
    }

    #[test]
    fn missingkey_error_as_atmos_executes_stacks() {
        let mut t = Template::new("s", Arc::new(Funcs::standard())).missing_key(MissingKey::Error);
        t.parse("{{ .vars.region }}").expect("parses");
        let err = t.execute(&data()).expect_err("fails");
        assert_eq!(
            err.message,
            r#"template: s:1:3: executing "s" at <.vars.region>: map has no entry for key "region""#
        );
    }

    #[test]
    fn manifest_nodes_convert_both_ways() {
        let node = crate::yaml::parse("a: 1\nb: [x, 2.5, true, null]\nc: !env HOME\n", "t.yaml")
            .expect("yaml");
        let v = Value::from(&node);
        assert_eq!(
            render("t", "{{ .a }} {{ .b }} {{ .c }}", &v).expect("renders"),
            "1 [x 2.5 true <nil>] !env HOME"
        );
        let back = Value::from(&serde_json::json!({"k": [1, "s"]})).to_node();
        assert_eq!(crate::yaml::to_yaml(&back), "k:\n  - 1\n  - s\n");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let err = render("t", &text, &data()).expect_err("fails");
        assert!(err.message.contains("max nesting depth"), "{}", err.message);
        let ifs = format!("{}x{}", "{{if true}}".repeat(5000), "{{end}}".repeat(5000));
        assert!(render("t", &ifs, &data()).is_err());
    }

    #[test]
    fn custom_delimiters() {
        let funcs = Arc::new(Funcs::standard());
        let mut t = Template::new("t", funcs.clone()).delims("'{{", "}}'");
        t.parse("stage: '{{ .vars.stage | upper }}' raw: {{ .vars.stage }} n: '{{- .vars.n -}}' '{{/* c */}}'")
            .expect("parses");
        assert_eq!(
            t.execute(&data()).expect("renders"),
            "stage: PROD raw: {{ .vars.stage }} n:2"
        );
        let mut t = Template::new("t", funcs).delims("[[", "]]");
        t.parse("[[ range $i, $v := list 1 2 ]][[ $i ]]=[[ $v ]];[[ end ]]")
            .expect("parses");
        assert_eq!(t.execute(&data()).expect("renders"), "0=1;1=2;");
    }

    #[test]
    fn templates_and_values_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Template>();
        shareable::<Funcs>();
        shareable::<Value>();
        let mut t = Template::new("t", Arc::new(Funcs::standard()));
        t.parse("{{ .vars.stage }}").expect("parses");
        let t = Arc::new(t);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || t.execute(&data()).expect("renders"))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().expect("thread"), "prod");
        }
    }
}
