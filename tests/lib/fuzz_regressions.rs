//! Inputs that once crashed a fuzz-target body (a panic, an allocation failure that aborted the
//! process, or a loop without end), kept so they stay fixed. Each goes through the same body as
//! the fuzzer (`tests/fuzz/bodies.rs`), and the Go template engine must answer with an error.

use atmos_secrets::template::go;

use crate::bodies;

/// Found while writing the `template` target: huge counts and widths in sprig/gomplate
/// functions and `printf`, and `range` over a huge integer.
const TEMPLATE_CRASHERS: &[(&str, &str)] = &[
    (
        r#"{{ repeat 9223372036854775807 "ab" }}"#,
        "repeat: the result would be larger",
    ),
    (
        r#"{{ strings.Repeat 9223372036854775807 "ab" }}"#,
        "the result would be larger",
    ),
    (
        r#"{{ indent 9223372036854775807 "ab" }}"#,
        "indent: the result would be larger",
    ),
    (
        r#"{{ nindent 4611686018427387904 "a\nb" }}"#,
        "indent: the result would be larger",
    ),
    (
        r#"{{ strings.Indent 9223372036854775807 "ab" "x" }}"#,
        "the result would be larger",
    ),
    ("{{ until 9223372036854775807 }}", "until: more than"),
    (
        "{{ untilStep 0 9223372036854775807 1 }}",
        "untilStep: more than",
    ),
    ("{{ seq 9223372036854775807 }}", "seq: more than"),
    ("{{ math.Seq 9223372036854775807 }}", "math.Seq: more than"),
    (
        "{{ range 9223372036854775807 }}{{ end }}",
        "execution stopped after",
    ),
    (
        r#"{{ range until 1000 }}{{ repeat 16000000 "x" }}{{ end }}"#,
        "execution stopped after",
    ),
];

#[test]
fn template_crashers_are_errors() {
    let data = go::Value::from(&serde_json::json!({}));
    for (text, want) in TEMPLATE_CRASHERS {
        bodies::template(text.as_bytes());
        let err = go::render("t", text, &data).expect_err(text);
        assert!(err.to_string().contains(want), "{text}: {err}");
    }
}

/// Near the ends of `i64` a step used to overflow (a panic in debug builds, an endless loop in
/// release builds); now the sequence stops at the end.
#[test]
fn sequences_stop_at_the_end_of_i64() {
    let data = go::Value::from(&serde_json::json!({}));
    let out = go::render(
        "t",
        "{{ untilStep 9223372036854775800 9223372036854775807 5 }}",
        &data,
    )
    .unwrap();
    assert_eq!(out, "[9223372036854775800 9223372036854775805]");
    let out = go::render(
        "t",
        "{{ seq 9223372036854775806 9223372036854775807 }}",
        &data,
    )
    .unwrap();
    assert_eq!(out, "9223372036854775806 9223372036854775807");
}

/// Go's `fmt` limit: widths and precisions above 10^6 are refused in-band.
#[test]
fn huge_printf_widths_are_refused_in_band() {
    let data = go::Value::from(&serde_json::json!({}));
    for (text, want) in [
        (r#"{{ printf "%9223372036854775807d" 1 }}"#, "%!(BADWIDTH)1"),
        (
            r#"{{ printf "%*d" 9223372036854775807 1 }}"#,
            "%!(BADWIDTH)1",
        ),
        (
            r#"{{ printf "%.9223372036854775807f" 1.5 }}"#,
            "%!(BADPREC)1.500000",
        ),
    ] {
        bodies::template(text.as_bytes());
        assert_eq!(go::render("t", text, &data).unwrap(), want, "{text}");
    }
}

/// The `dotenv` fuzz target's crasher: `export export B=…` parsed to the name `export B`, which
/// `render` wrote back as `export B=…`, read as `B`. A name with a space is now an error.
#[test]
fn dotenv_names_with_spaces_are_errors() {
    let text = "A=1\nexport export B=\"two\"\n";
    bodies::dotenv(text.as_bytes());
    let err = atmos_secrets::dotenv::parse(text).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("`export B`"), "{err}");
    bodies::dotenv(
        &std::fs::read(crate::support::repo().join("tests/lib/dotenv-crash-export-export.env"))
            .unwrap(),
    );
}

/// The `dotenv` fuzz target's second crasher (2026-12-01, after ≈ 100,000 inputs): `export #comN=…`
/// parsed to the name `#comN`, which `render` wrote back as a comment, and a name held NUL
/// bytes. Names starting with `#` or holding a control character are now errors.
#[test]
fn dotenv_names_starting_with_hash_or_holding_control_characters_are_errors() {
    let crasher =
        std::fs::read(crate::support::repo().join("tests/lib/dotenv-crash-export-hash.env"))
            .unwrap();
    bodies::dotenv(&crasher);
    let err = atmos_secrets::dotenv::parse("A=1\nexport #x=2\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("starts with `#`"), "{err}");
    let err = atmos_secrets::dotenv::parse("A\u{0}B=1\n").unwrap_err();
    assert!(err.message.contains("control character"), "{err}");
    assert!(err.message.contains("A\\0B"), "{err}");
}
