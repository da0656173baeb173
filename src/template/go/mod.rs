//! A faithful Go `text/template` engine: lexer and parser ([`parse`]), executor ([`exec`]),
//! Go's `fmt` verbs ([`fmt`]), the predefined functions and the function registry ([`funcs`]),
//! the sprig/gomplate functions atmos enables ([`sprig`]), over a JSON-like [`Value`], and the
//! scope analysis of a parsed template ([`scope`]: what it shares with a document around it).
//!
//! The engine is a pure primitive: it knows nothing about stacks or components. Callers build a
//! [`Funcs`] (usually [`Funcs::standard`] plus their own functions such as `atmos.Component`),
//! parse a [`Template`] and execute it over a [`Value`]; errors carry Go's texts
//! (`template: NAME:LINE:COL: executing "NAME" at <.x.y>: ...`) so callers can prefix the
//! manifest, component and section.
//!
//! Conformance: `testdata/conformance.jsonl` holds cases derived from Go's `text/template`
//! `exec_test.go`/`parse_test.go` tables and sprig's documentation, run by
//! `cargo test --lib template::go`. Write vs adopt: the maintained crate `gtmpl` (0.7.1), run on
//! the same table, matched about 248 of 459 core-language cases (no sprig/gomplate, Rust debug
//! printing of maps and lists, no `=`/`break`/`continue`/`else with`/integer `range`,
//! hash-order map ranges, eager `and`/`or`, a stack overflow on unbounded recursion), so the
//! engine is written here; details in `docs/templates.md`.
//!
//! Supported and unsupported features are listed in `docs/templates.md`.

pub mod exec;
pub mod fmt;
pub mod funcs;
pub mod parse;
pub mod scope;
pub mod sprig;
pub mod value;

#[cfg(test)]
mod conformance_tests;

pub use exec::{Error, MissingKey, Template};
pub use funcs::{Func, FuncError, FuncResult, Funcs};
pub use scope::Scope;
pub use value::{Map, Value};

use std::sync::Arc;

/// Parses and executes `text` once over `data` with the standard functions.
pub fn render(name: &str, text: &str, data: &Value) -> Result<String, Error> {
    let mut t = Template::new(name, Arc::new(Funcs::standard()));
    t.parse(text)?;
    t.execute(data)
}
