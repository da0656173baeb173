//! Property tests: parsers that see user input never panic, and emitted YAML reads back equal.

use atmos_secrets::stack::functions::{parse_secret, parse_store, parse_store_get};
use atmos_secrets::template;
use atmos_secrets::yaml::{self, Node};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        any::<i64>().prop_map(Node::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Node::Float),
        ".{0,12}".prop_map(Node::Str),
    ]
}

fn tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Node::Seq),
            prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_ .:-]{0,8}", inner), 0..5)
                .prop_map(|kv| Node::Map(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn yaml_parse_never_panics(text in "(?s).{0,200}") {
        let _ = yaml::parse(&text, "fuzz.yaml");
    }

    #[test]
    fn yaml_structured_noise_never_panics(text in "([-:{}\\[\\],&*!|>'\"#? \n]|[a-z0-9]){0,120}") {
        let _ = yaml::parse(&text, "fuzz.yaml");
    }

    #[test]
    fn emitted_yaml_reads_back_equal(node in tree()) {
        let text = yaml::to_yaml(&node);
        let back = yaml::parse(&text, "emitted.yaml").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, node, "{}", text);
    }

    #[test]
    fn templates_never_panic(text in "(?s).{0,80}", action in "[ .a-z|\"()$`0-9-]{0,30}") {
        let ctx = template::Context::from_json(serde_json::json!({"vars": {"a": "x"}, "atmos_stack": "s"}));
        let _ = template::render(&text, &ctx, "fuzz");
        let _ = template::render(&format!("{{{{{action}}}}}"), &ctx, "fuzz");
    }

    #[test]
    fn function_args_never_panic(text in "(?s).{0,60}") {
        let _ = parse_secret(&text);
        let _ = parse_store(&text);
        let _ = parse_store_get(&text);
        let _ = yaml::query(&Node::Null, &text);
    }
}
