//! Owns the renderer: atmos manifests use Go-template spelling (`{{ .vars.stage | upper }}`);
//! we translate each action to a minijinja expression and render with strict undefined values.
//!
//! Supported Go syntax inside `{{ … }}`: fields (`.a.b`, `.atmos_stack`), string/number/bool
//! literals, function calls (`upper .x`, `replace "a" "b" .x`), pipelines (`.x | default "y" |
//! lower`), parentheses, `{{-`/`-}}` trim markers and `{{/* comments */}}`. Functions: `lower`,
//! `upper`, `replace`, `default`, `trimPrefix`, `trimSuffix`, `trim`, `quote`, `squote`, `title`,
//! `toString`. Anything else is an error naming the template and its origin.

use minijinja::value::{Rest, Value};
use minijinja::{Environment, UndefinedBehavior};

use super::Context;

/// A template that could not be translated or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template error in `{origin}`: {message} (template `{template}`)")]
pub struct TemplateError {
    /// Where the template came from (file and field).
    pub origin: String,
    /// The template text.
    pub template: String,
    /// What went wrong.
    pub message: String,
}

impl crate::error::Diagnose for TemplateError {
    fn hint(&self) -> Option<String> {
        if self.message.contains("undefined") {
            Some("available variables include `.vars`, `.settings`, `.env`, `.atmos_stack`, `.atmos_component`".to_owned())
        } else if self.message.contains("unknown function") {
            Some(format!("supported functions: {}", FUNCTIONS.join(", ")))
        } else {
            None
        }
    }
}

const FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "replace",
    "default",
    "trimPrefix",
    "trimSuffix",
    "trim",
    "quote",
    "squote",
    "title",
    "toString",
];

/// Whether `text` contains a template action.
pub fn has_template(text: &str) -> bool {
    text.contains("{{")
}

/// Renders a Go-spelled template against `context`. `origin` names the file and field in errors.
pub fn render(template: &str, context: &Context, origin: &str) -> Result<String, TemplateError> {
    if !has_template(template) {
        return Ok(template.to_owned());
    }
    let fail = |message: String| TemplateError {
        origin: origin.to_owned(),
        template: template.to_owned(),
        message,
    };
    let source = translate(template).map_err(fail)?;
    ENV.with(|env| {
        env.render_str(
            &source,
            Value::from(minijinja::value::Serde(context.as_json())),
        )
    })
    .map_err(|e| fail(render_message(&e)))
}

fn render_message(e: &minijinja::Error) -> String {
    let mut msg = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_owned);
    if matches!(e.kind(), minijinja::ErrorKind::UndefinedError) {
        msg = format!("undefined value: {msg}");
    }
    msg
}

thread_local! {
    static ENV: Environment<'static> = environment();
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("lower", |s: Value| text(&s).map(|s| s.to_lowercase()));
    env.add_function("upper", |s: Value| text(&s).map(|s| s.to_uppercase()));
    env.add_function("title", |s: Value| {
        text(&s).map(|s| {
            s.split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_uppercase().collect::<String>() + c.as_str()
                    })
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    env.add_function("trim", |s: Value| text(&s).map(|s| s.trim().to_owned()));
    env.add_function("toString", |s: Value| text(&s));
    env.add_function("replace", |old: String, new: String, s: Value| {
        text(&s).map(|s| s.replace(&old, &new))
    });
    env.add_function("trimPrefix", |p: String, s: Value| {
        text(&s).map(|s| s.strip_prefix(p.as_str()).map_or(s.clone(), str::to_owned))
    });
    env.add_function("trimSuffix", |p: String, s: Value| {
        text(&s).map(|s| s.strip_suffix(p.as_str()).map_or(s.clone(), str::to_owned))
    });
    env.add_function("quote", |args: Rest<Value>| {
        let parts: Result<Vec<String>, _> = args
            .iter()
            .map(|v| text(v).map(|s| format!("{s:?}")))
            .collect();
        parts.map(|p| p.join(" "))
    });
    env.add_function("squote", |args: Rest<Value>| {
        let parts: Result<Vec<String>, _> = args
            .iter()
            .map(|v| text(v).map(|s| format!("'{s}'")))
            .collect();
        parts.map(|p| p.join(" "))
    });
    // sprig `default DEFAULT VALUE`: VALUE when it is set and not empty.
    env.add_function("default", |d: Value, v: Option<Value>| {
        let v = v.unwrap_or(Value::UNDEFINED);
        let empty = v.is_undefined() || v.is_none() || !v.is_true();
        if empty { d } else { v }
    });
    env
}

/// A value as text; undefined is an error (strict, like Go's `missingkey=error`).
fn text(v: &Value) -> Result<String, minijinja::Error> {
    if v.is_undefined() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            "a function argument is undefined",
        ));
    }
    if v.is_none() {
        return Ok(String::new());
    }
    Ok(v.as_str().map_or_else(|| v.to_string(), str::to_owned))
}

/// Translates Go-template text to minijinja source.
pub fn translate(template: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        push_literal(&mut out, &rest[..start]);
        let after = &rest[start + 2..];
        let end = action_end(after).ok_or_else(|| "unclosed action: missing `}}`".to_owned())?;
        let mut action = &after[..end];
        rest = &after[end + 2..];
        let trim_left = action.starts_with('-') && action[1..].starts_with(char::is_whitespace);
        if trim_left {
            action = &action[1..];
        }
        let trim_right =
            action.ends_with('-') && action[..action.len() - 1].ends_with(char::is_whitespace);
        if trim_right {
            action = &action[..action.len() - 1];
        }
        let action = action.trim();
        if action.starts_with("/*") && action.ends_with("*/") {
            out.push_str(if trim_left { "{#-" } else { "{#" });
            out.push_str(if trim_right { " -#}" } else { " #}" });
            continue;
        }
        let expr = translate_action(action)?;
        out.push_str(if trim_left { "{{- " } else { "{{ " });
        out.push_str(&expr);
        out.push_str(if trim_right { " -}}" } else { " }}" });
    }
    push_literal(&mut out, rest);
    Ok(out)
}

/// The byte index of the `}}` closing an action, skipping `}}` inside `"…"` and `` `…` `` strings
/// (atmos users escape Helm templates as ``{{`{{ .Values.x }}`}}``).
fn action_end(after: &str) -> Option<usize> {
    let bytes = after.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(b'"') if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'`' => quote = Some(b),
            None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

fn push_literal(out: &mut String, lit: &str) {
    if lit.contains("{%") || lit.contains("{#") || lit.contains("%}") || lit.contains("#}") {
        out.push_str("{% raw %}");
        out.push_str(lit);
        out.push_str("{% endraw %}");
    } else {
        out.push_str(lit);
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Ident(String),
    Str(String),
    Num(String),
    Pipe,
    Open,
    Close,
}

fn tokenize(action: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = action.chars().collect();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err("unterminated string".to_owned());
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().ok_or("unterminated string")?;
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                        other => s.push(other),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '`' => {
                let rest: String = chars[i + 1..].iter().collect();
                let end = rest.find('`').ok_or("unterminated raw string")?;
                toks.push(Tok::Str(rest[..end].to_owned()));
                i += 1 + rest[..end].chars().count() + 1;
            }
            '.' => {
                let mut path = Vec::new();
                while chars.get(i) == Some(&'.') {
                    i += 1;
                    let start = i;
                    while chars
                        .get(i)
                        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    {
                        i += 1;
                    }
                    if start == i {
                        if path.is_empty() {
                            return Err("`.` (the whole context) is not supported; name a field such as `.vars`".to_owned());
                        }
                        return Err("empty field name".to_owned());
                    }
                    path.push(chars[start..i].iter().collect());
                }
                toks.push(Tok::Field(path));
            }
            '$' => return Err("template variables (`$x`) are not supported".to_owned()),
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.')
                {
                    i += 1;
                }
                toks.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    Ok(toks)
}

fn translate_action(action: &str) -> Result<String, String> {
    if action.is_empty() {
        return Err("empty action `{{ }}`".to_owned());
    }
    let first_word = action.split_whitespace().next().unwrap_or("");
    if matches!(
        first_word,
        "if" | "else"
            | "end"
            | "range"
            | "with"
            | "define"
            | "template"
            | "block"
            | "break"
            | "continue"
    ) {
        return Err(format!(
            "the `{first_word}` action is not supported; only expressions and pipelines are"
        ));
    }
    let toks = tokenize(action)?;
    let mut pos = 0;
    let expr = pipeline(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err("unexpected `)`".to_owned());
    }
    Ok(expr)
}

fn pipeline(toks: &[Tok], pos: &mut usize) -> Result<String, String> {
    let mut value: Option<String> = None;
    loop {
        let mut args = Vec::new();
        while let Some(t) = toks.get(*pos) {
            match t {
                Tok::Pipe | Tok::Close => break,
                Tok::Open => {
                    *pos += 1;
                    let inner = pipeline(toks, pos)?;
                    if toks.get(*pos) != Some(&Tok::Close) {
                        return Err("missing `)`".to_owned());
                    }
                    *pos += 1;
                    args.push((false, format!("({inner})")));
                }
                Tok::Ident(name) => {
                    *pos += 1;
                    match name.as_str() {
                        "true" | "false" => args.push((false, name.clone())),
                        "nil" => args.push((false, "none".to_owned())),
                        _ => args.push((true, name.clone())),
                    }
                }
                other => {
                    *pos += 1;
                    args.push((false, operand(other)?));
                }
            }
        }
        let cmd = command(args, value.take())?;
        value = Some(cmd);
        match toks.get(*pos) {
            Some(Tok::Pipe) => *pos += 1,
            _ => break,
        }
    }
    value.ok_or_else(|| "empty pipeline".to_owned())
}

fn operand(t: &Tok) -> Result<String, String> {
    match t {
        Tok::Field(path) => {
            let mut out = String::new();
            for (i, seg) in path.iter().enumerate() {
                if i == 0 && is_identifier(seg) {
                    out.push_str(seg);
                } else if i == 0 {
                    return Err(format!("field `.{seg}` cannot be used at the top level"));
                } else {
                    out.push_str(&format!("[{}]", serde_json::Value::String(seg.clone())));
                }
            }
            Ok(out)
        }
        Tok::Str(s) => Ok(serde_json::Value::String(s.clone()).to_string()),
        Tok::Num(n) => Ok(n.clone()),
        _ => Err("unexpected token".to_owned()),
    }
}

fn is_identifier(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "none", "and", "or", "not", "in", "is", "if", "else", "loop", "self",
    ];
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !RESERVED.contains(&s)
}

/// One pipeline command: `fn args… [piped]` or a lone operand.
fn command(args: Vec<(bool, String)>, piped: Option<String>) -> Result<String, String> {
    let Some((is_fn, head)) = args.first().cloned() else {
        return Err("empty command in pipeline".to_owned());
    };
    if is_fn {
        if !FUNCTIONS.contains(&head.as_str()) {
            return Err(format!("unknown function `{head}`"));
        }
        let mut call_args: Vec<String> = args[1..]
            .iter()
            .map(|(f, a)| {
                if *f {
                    Err(format!(
                        "function `{a}` must be called in parentheses when used as an argument"
                    ))
                } else {
                    Ok(a.clone())
                }
            })
            .collect::<Result<_, _>>()?;
        call_args.extend(piped);
        return Ok(format!("{head}({})", call_args.join(", ")));
    }
    if args.len() > 1 || piped.is_some() {
        return Err(format!(
            "`{head}` is not a function and cannot take arguments"
        ));
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        Context::from_json(
            json!({"vars": {"stage": "Dev", "tenant": "plat", "empty": ""}, "atmos_stack": "plat-dev", "atmos_component": "vpc/primary", "settings": {"a-b": {"c": 1}}}),
        )
    }

    fn r(t: &str) -> Result<String, TemplateError> {
        render(t, &ctx(), "test.yaml")
    }

    #[test]
    fn translates_go_spelling() {
        assert_eq!(
            translate("x-{{ .vars.stage }}").as_deref(),
            Ok("x-{{ vars[\"stage\"] }}")
        );
        assert_eq!(
            translate("{{ .vars.stage | replace \"a\" \"b\" | upper }}").as_deref(),
            Ok("{{ upper(replace(\"a\", \"b\", vars[\"stage\"])) }}")
        );
        assert_eq!(
            translate("{{- .atmos_stack -}}").as_deref(),
            Ok("{{- atmos_stack -}}")
        );
        assert_eq!(
            translate("{% x %}").as_deref(),
            Ok("{% raw %}{% x %}{% endraw %}")
        );
        assert_eq!(translate("{{/* note */}}a").as_deref(), Ok("{# #}a"));
    }

    #[test]
    fn renders_functions() {
        assert_eq!(r("{{ .vars.stage }}").as_deref(), Ok("Dev"));
        assert_eq!(r("{{ .vars.stage | lower }}").as_deref(), Ok("dev"));
        assert_eq!(r("{{ upper .vars.tenant }}").as_deref(), Ok("PLAT"));
        assert_eq!(
            r("{{ .atmos_stack | replace \"-\" \"_\" }}").as_deref(),
            Ok("plat_dev")
        );
        assert_eq!(r("{{ .vars.empty | default \"x\" }}").as_deref(), Ok("x"));
        assert_eq!(r("{{ default \"x\" .vars.stage }}").as_deref(), Ok("Dev"));
        assert_eq!(
            r("{{ .atmos_stack | trimPrefix \"plat-\" }}").as_deref(),
            Ok("dev")
        );
        assert_eq!(
            r("{{ .atmos_component | trimSuffix \"/primary\" }}").as_deref(),
            Ok("vpc")
        );
        assert_eq!(r("{{ .vars.stage | quote }}").as_deref(), Ok("\"Dev\""));
        assert_eq!(
            r("{{ upper (default \"z\" .vars.empty) }}").as_deref(),
            Ok("Z")
        );
        assert_eq!(r("{{ .settings.a-b.c }}").as_deref(), Ok("1"));
        assert_eq!(r("no template").as_deref(), Ok("no template"));
        assert_eq!(r("a {# b").as_deref(), Ok("a {# b"));
        assert_eq!(r("{{`{{ .Values.x }}`}}").as_deref(), Ok("{{ .Values.x }}"));
        assert_eq!(r("{{ \"}}\" }}").as_deref(), Ok("}}"));
        assert_eq!(r("{{\"{{\"}} x").as_deref(), Ok("{{ x"));
    }

    #[test]
    fn renders_with_a_yaml_context() {
        let mut m = crate::yaml::Map::new();
        m.insert("atmos_stack".into(), crate::yaml::Node::Str("dev".into()));
        m.insert(
            "atmos_component".into(),
            crate::yaml::Node::Str(String::new()),
        );
        assert_eq!(
            render(
                "secrets/{{ .atmos_stack }}{{ .atmos_component }}.enc.yaml",
                &Context::from_map(&m),
                "spec.file"
            )
            .as_deref(),
            Ok("secrets/dev.enc.yaml")
        );
    }

    #[test]
    fn errors_are_clear() {
        let e = r("{{ .vars.nope }}").expect_err("undefined");
        assert!(e.message.contains("undefined"), "{e}");
        assert!(e.to_string().contains("test.yaml"), "{e}");
        let e = r("{{ .vars.nope | lower }}").expect_err("undefined arg");
        assert!(e.message.contains("undefined"), "{e}");
        let e = r("{{ sha256 .vars.stage }}").expect_err("unknown fn");
        assert!(e.message.contains("unknown function `sha256`"), "{e}");
        assert!(r("{{ if .x }}y{{ end }}").is_err());
        assert!(r("{{ .vars.stage").is_err());
        assert!(r("{{ $x }}").is_err());
        assert!(r("{{ . }}").is_err());
        assert!(r("{{ .vars.stage \"x\" }}").is_err());
    }
}
