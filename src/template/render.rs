//! Owns running the Go engine the way atmos does: which functions are registered (Go's builtins,
//! gomplate's namespaces and sprig's hermetic set, each switchable as atmos'
//! `templates.settings.{gomplate,sprig}.enabled`), the action delimiters and `missingkey=error`
//! (atmos' `ProcessTmpl` default), the parsed templates and [`Fragment`]s it keeps by text, plus
//! the one-shot [`render`] used for coordinate templates (SOPS `spec.file`, secret `reference`,
//! `stacks.name_template`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::Context;
use super::go::scope::{Need, same_value};
use super::go::{self, Funcs, MissingKey, Scope, Template};
use crate::yaml;

/// A template that could not be parsed or executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template error in `{origin}`: {message}{}", shown(template))]
pub struct TemplateError {
    /// Where the template came from (file, component and section path).
    pub origin: String,
    /// The template text (never a secret: manifests hold references, not values).
    pub template: String,
    /// Go's message, e.g. `template: x:1:3: executing "x" at <.vars.a>: map has no entry for key "a"`.
    pub message: String,
}

fn shown(template: &str) -> String {
    if template.is_empty() {
        String::new()
    } else {
        format!(" (template `{template}`)")
    }
}

impl crate::error::Diagnose for TemplateError {
    fn hint(&self) -> Option<String> {
        if self.message.contains("atmos.Component") && self.message.contains("\"outputs\"") {
            Some("`outputs` of `atmos.Component` needs terraform state, which this tool does not read; declare the value as a secret and use `!secret`".to_owned())
        } else if self.message.contains("map has no entry for key") {
            Some("the context has `.vars`, `.settings`, `.env`, `.metadata`, `.providers`, `.atmos_stack`, `.atmos_component`, `.atmos_stack_file`, `.workspace`, …; use `{{ .vars.x | default \"v\" }}` or `index .vars \"x\"` for optional values".to_owned())
        } else if self.message.contains("not defined") {
            Some("supported functions are listed in docs/templates.md (Go builtins, sprig, gomplate namespaces, atmos.Component)".to_owned())
        } else {
            None
        }
    }
}

/// How templates are rendered (atmos' `templates.settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `sprig.enabled` (on unless turned off).
    pub sprig: bool,
    /// `gomplate.enabled` (on unless turned off).
    pub gomplate: bool,
    /// `delimiters`: left and right; `None` = `{{` / `}}`.
    pub delimiters: Option<(String, String)>,
    /// `missingkey`: atmos renders stack manifests with `missingkey=error`.
    pub missing_key: MissingKey,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sprig: true,
            gomplate: true,
            delimiters: None,
            missing_key: MissingKey::Error,
        }
    }
}

/// A function set and options, built once and shared by every template of a run, with the
/// templates it has parsed (keyed by name and text: catalog values repeat across every stack
/// importing them, only the context differs).
#[derive(Clone, Debug)]
pub struct Renderer {
    funcs: Arc<Funcs>,
    settings: Settings,
    cache: Arc<Mutex<Cache>>,
    hasher: std::hash::RandomState,
}

/// Parsed templates and fragments, by name then text (two levels, so a lookup allocates
/// nothing). Its `Debug` shows sizes only: `parts` holds context values (`secrets`, `auth`).
#[derive(Default)]
struct Cache {
    parsed: HashMap<String, HashMap<String, Arc<Template>>>,
    parsed_len: usize,
    fragments: HashMap<String, HashMap<String, Arc<Fragment>>>,
    fragments_len: usize,
    /// [`Values`] by a hash of the document name and the texts (checked on use).
    values: HashMap<u64, Vec<Arc<Values>>>,
    values_len: usize,
    /// The last conversion of each top-level context key ([`Renderer::context_part`]): what was
    /// read, the node cut to it, and the value.
    parts: HashMap<String, (Need, yaml::Node, go::Value)>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("parsed", &self.parsed_len)
            .field("fragments", &self.fragments_len)
            .field("values", &self.values_len)
            .finish_non_exhaustive()
    }
}

/// The templated values of one document that atmos renders as one template, prepared together
/// ([`Renderer::values`]): whether each can be rendered alone, and what of the context they read.
#[derive(Debug)]
pub struct Values {
    /// The document's name.
    pub name: String,
    /// Each value's fragment, in the order given.
    pub fragments: Vec<Arc<Fragment>>,
    /// Whether each value, rendered alone over a context cut to [`Values::data`], gives the text
    /// it gives inside the document: default delimiters; every value is one line, parses alone
    /// (so it declares every variable it uses), calls only templates it defines itself, defines
    /// no name another value defines ([`Scope::independent`]), and has no trim marker at an edge
    /// of its scalar (which would trim the document's text around it).
    pub independent: bool,
    /// What of the context the values read, together.
    pub data: Need,
}

/// Entries each cache of a renderer keeps at most (later ones are parsed on each use).
const CACHE_ENTRIES: usize = 8192;

/// A one-line string value of a YAML document that atmos renders as one template, prepared to be
/// rendered on its own: the scalar as the document writes it, parsed once (the renderer keeps it
/// by text), with its [`Scope`]. (A value with a line break is written as a literal block, whose
/// text depends on its indentation: not a fragment.) Its `Debug` leaves out the last output,
/// which may hold a rendered secret.
pub struct Fragment {
    /// The value.
    pub text: String,
    /// The scalar as the document writes it ([`yaml::Quoting::Template`]).
    pub scalar: String,
    /// The scalar parsed as a template, or Go's parse error.
    pub parsed: Result<Template, go::Error>,
    /// What the parsed scalar shares with the rest of the document and reads of the context
    /// (the default when it did not parse).
    pub scope: Scope,
    /// The top-level context values the last successful run read, and its output.
    last: Mutex<Option<(Vec<Option<go::Value>>, String)>>,
}

impl std::fmt::Debug for Fragment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragment")
            .field("text", &self.text)
            .field("scalar", &self.scalar)
            .field("parsed", &self.parsed.is_ok())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Fragment {
    /// Executes the parsed scalar over `ctx`. When the context values it reads (its top-level
    /// keys, compared by value) are those of the last successful run, that run's output is
    /// returned: every function here gives the same result for the same arguments within a run
    /// (the process environment and `atmos.Component`'s answers do not change), so the output is
    /// what executing again would give.
    pub fn execute(&self, ctx: &Context) -> Result<String, go::Error> {
        let t = self.parsed.as_ref().map_err(Clone::clone)?;
        let go::Value::Map(data) = ctx.value() else {
            return t.execute(ctx.value());
        };
        if self.scope.data.whole {
            return t.execute(ctx.value());
        }
        let keys = &self.scope.data.fields;
        if let Ok(last) = self.last.lock()
            && let Some((before, out)) = last.as_ref()
            && before.len() == keys.len()
            && keys
                .keys()
                .zip(before)
                .all(|(k, b)| match (data.get(k), b) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same_value(a, b),
                    _ => false,
                })
        {
            return Ok(out.clone());
        }
        let out = t.execute(ctx.value())?;
        if let Ok(mut last) = self.last.lock() {
            let inputs = keys.keys().map(|k| data.get(k).cloned()).collect();
            *last = Some((inputs, out.clone()));
        }
        Ok(out)
    }
}

impl Renderer {
    /// The functions `settings` enables, then `extra` (the caller's, such as `atmos.Component`),
    /// in atmos' order: gomplate, sprig, caller (a later one wins a name clash).
    pub fn new(settings: Settings, extra: impl FnOnce(&mut Funcs)) -> Self {
        let mut funcs = Funcs::builtins();
        if settings.gomplate {
            go::sprig::register_gomplate(&mut funcs);
        }
        if settings.sprig {
            go::sprig::register_sprig(&mut funcs);
            // atmos registers `sprig.FuncMap()`, which has sprig's `env` and `expandenv`.
            go::sprig::register_sprig_env(&mut funcs);
        }
        extra(&mut funcs);
        Self {
            funcs: Arc::new(funcs),
            settings,
            cache: Arc::default(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// The shared renderer with default settings and no caller functions.
    pub fn standard() -> &'static Renderer {
        static STANDARD: OnceLock<Renderer> = OnceLock::new();
        STANDARD.get_or_init(|| Renderer::new(Settings::default(), |_| {}))
    }

    /// Whether the actions use the default `{{`/`}}` delimiters.
    pub fn default_delimiters(&self) -> bool {
        self.settings.delimiters.is_none()
    }

    /// Whether `text` contains the left delimiter (cheap pre-check before parsing).
    pub fn has_template(&self, text: &str) -> bool {
        match &self.settings.delimiters {
            Some((left, _)) => text.contains(left.as_str()),
            None => text.contains("{{"),
        }
    }

    fn template(&self, name: &str) -> Template {
        let t = Template::new(name, self.funcs.clone()).missing_key(self.settings.missing_key);
        match &self.settings.delimiters {
            Some((l, r)) => t.delims(l.clone(), r.clone()),
            None => t,
        }
    }

    /// Parses `text` only (to find which value of a document is malformed).
    pub fn check(&self, name: &str, text: &str) -> Result<(), go::Error> {
        self.template(name).parse(text)
    }

    /// Parses and executes `text` (named `name` in Go's messages) over `ctx`.
    pub fn execute(&self, name: &str, text: &str, ctx: &Context) -> Result<String, go::Error> {
        self.parsed(name, text)?.execute(ctx.value())
    }

    /// `text` parsed as the template `name`, from the cache when it was parsed before. Parse
    /// errors are not cached.
    fn parsed(&self, name: &str, text: &str) -> Result<Arc<Template>, go::Error> {
        let cached = self.cache.lock().ok().and_then(|c| {
            c.parsed
                .get(name)
                .and_then(|by_text| by_text.get(text))
                .cloned()
        });
        if let Some(t) = cached {
            return Ok(t);
        }
        let mut t = self.template(name);
        t.parse(text)?;
        let t = Arc::new(t);
        if let Ok(mut cache) = self.cache.lock()
            && cache.parsed_len < CACHE_ENTRIES
        {
            cache.parsed_len += 1;
            let by_text = cache.parsed.entry(name.to_owned()).or_default();
            by_text.insert(text.to_owned(), t.clone());
        }
        Ok(t)
    }

    /// The templated one-line string values `texts` of a document named `name` (the name Go's
    /// messages give the whole document), prepared together ([`Values`]); from the cache when
    /// the same values were prepared before (a catalog component imported by many stacks).
    pub fn values(&self, name: &str, texts: &[&str]) -> Arc<Values> {
        use std::hash::{BuildHasher, Hasher};
        let mut h = self.hasher.build_hasher();
        h.write(name.as_bytes());
        for t in texts {
            h.write_usize(t.len());
            h.write(t.as_bytes());
        }
        let key = h.finish();
        let same = |v: &Values| {
            v.name == name
                && v.fragments.len() == texts.len()
                && v.fragments.iter().zip(texts).all(|(f, t)| f.text == *t)
        };
        let cached = self.cache.lock().ok().and_then(|c| {
            c.values
                .get(&key)
                .and_then(|vs| vs.iter().find(|v| same(v)).cloned())
        });
        if let Some(v) = cached {
            return v;
        }
        let fragments: Vec<Arc<Fragment>> = texts.iter().map(|t| self.fragment(name, t)).collect();
        let mut independent = self.default_delimiters();
        let mut data = Need::default();
        for (i, f) in fragments.iter().enumerate() {
            let others = fragments
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, o)| &o.scope);
            independent &= !f.text.contains('\n')
                && f.parsed.is_ok()
                && !f.scalar.starts_with("{{-")
                && !f.scalar.ends_with("-}}")
                && f.scope.independent(name, others);
            data.merge(&f.scope.data);
        }
        let v = Arc::new(Values {
            name: name.to_owned(),
            fragments,
            independent,
            data,
        });
        if let Ok(mut cache) = self.cache.lock()
            && cache.values_len < CACHE_ENTRIES
        {
            cache.values_len += 1;
            cache.values.entry(key).or_default().push(v.clone());
        }
        v
    }

    /// `node`, the value of the context's top-level key `key`, cut to `need` ([`Need::pick`]).
    /// The value of the last conversion of that key when the parts read are the same (the
    /// components of one stack share most of their sections), else converted now.
    pub fn context_part(&self, key: &str, need: &Need, node: &yaml::Node) -> go::Value {
        // A scalar converts faster than it is looked up.
        if !matches!(node, yaml::Node::Map(_) | yaml::Node::Seq(_)) {
            return need.pick(node);
        }
        if let Ok(cache) = self.cache.lock()
            && let Some((n, cut, v)) = cache.parts.get(key)
            && n == need
            && need.same_cut(node, cut)
        {
            return v.clone();
        }
        let v = need.pick(node);
        if let Ok(mut cache) = self.cache.lock() {
            let part = (need.clone(), need.cut(node), v.clone());
            match cache.parts.get_mut(key) {
                Some(slot) => *slot = part,
                None => {
                    cache.parts.insert(key.to_owned(), part);
                }
            }
        }
        v
    }

    /// The string `value` of a document named `name` as a [`Fragment`], from the cache when it
    /// was prepared before.
    fn fragment(&self, name: &str, value: &str) -> Arc<Fragment> {
        let cached = self.cache.lock().ok().and_then(|c| {
            c.fragments
                .get(name)
                .and_then(|by_text| by_text.get(value))
                .cloned()
        });
        if let Some(f) = cached {
            return f;
        }
        let scalar = yaml::quote_str(value, yaml::Quoting::Template);
        let mut t = self.template(name);
        let parsed = t.parse(&scalar).map(|()| t);
        let scope = parsed.as_ref().map(Template::scope).unwrap_or_default();
        let f = Arc::new(Fragment {
            text: value.to_owned(),
            scalar,
            parsed,
            scope,
            last: Mutex::default(),
        });
        if let Ok(mut cache) = self.cache.lock()
            && cache.fragments_len < CACHE_ENTRIES
        {
            cache.fragments_len += 1;
            let by_text = cache.fragments.entry(name.to_owned()).or_default();
            by_text.insert(value.to_owned(), f.clone());
        }
        f
    }
}

/// Whether `text` contains a template action (default delimiters).
pub fn has_template(text: &str) -> bool {
    text.contains("{{")
}

/// Renders `template` against `context` with the standard renderer. `origin` names the file and
/// field in errors.
pub fn render(template: &str, context: &Context, origin: &str) -> Result<String, TemplateError> {
    if !has_template(template) {
        return Ok(template.to_owned());
    }
    // Go's messages name the template: the origin up to its parenthesised detail.
    let name = origin.split(" (").next().unwrap_or(origin);
    Renderer::standard()
        .execute(name, template, context)
        .map_err(|e| TemplateError {
            origin: origin.to_owned(),
            template: template.to_owned(),
            message: e.message,
        })
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
    fn renders_go_templates() {
        assert_eq!(r("{{ .vars.stage }}").as_deref(), Ok("Dev"));
        assert_eq!(r("{{ .vars.stage | lower }}").as_deref(), Ok("dev"));
        assert_eq!(
            r("{{ .atmos_stack | replace \"-\" \"_\" }}").as_deref(),
            Ok("plat_dev")
        );
        assert_eq!(r("{{ .vars.empty | default \"x\" }}").as_deref(), Ok("x"));
        assert_eq!(
            r("{{ if eq .vars.tenant \"plat\" }}p{{ else }}o{{ end }}").as_deref(),
            Ok("p")
        );
        assert_eq!(
            r("{{ range $k, $v := .vars }}{{ $k }},{{ end }}").as_deref(),
            Ok("empty,stage,tenant,")
        );
        assert_eq!(r("{{ index .settings \"a-b\" \"c\" }}").as_deref(), Ok("1"));
        assert_eq!(r("{{ strings.ToUpper .vars.stage }}").as_deref(), Ok("DEV"));
        assert_eq!(r("{{`{{ .Values.x }}`}}").as_deref(), Ok("{{ .Values.x }}"));
        assert_eq!(r("no template").as_deref(), Ok("no template"));
    }

    #[test]
    fn errors_are_go_texts_with_the_origin() {
        let e = r("{{ .vars.nope }}").expect_err("missing key");
        assert!(
            e.message.contains("map has no entry for key \"nope\""),
            "{e}"
        );
        assert!(e.to_string().contains("test.yaml"), "{e}");
        let e = r("{{ sha1sum .vars.stage }}").expect_err("unknown fn");
        assert!(
            e.message.contains("function \"sha1sum\" not defined"),
            "{e}"
        );
        assert!(r("{{ .vars.stage").is_err());
        assert!(r("{{ $x }}").is_err());
    }

    #[test]
    fn settings_switch_function_sets_and_delimiters() {
        let plain = Renderer::new(
            Settings {
                sprig: false,
                gomplate: false,
                ..Settings::default()
            },
            |_| {},
        );
        let e = plain
            .execute("t", "{{ upper .vars.stage }}", &ctx())
            .expect_err("sprig off");
        assert!(e.message.contains("function \"upper\" not defined"), "{e}");
        let delims = Renderer::new(
            Settings {
                delimiters: Some(("'{{".into(), "}}'".into())),
                ..Settings::default()
            },
            |_| {},
        );
        assert_eq!(
            delims
                .execute("t", "'{{ .vars.stage }}' {{ x }}", &ctx())
                .as_deref(),
            Ok("Dev {{ x }}")
        );
        assert!(delims.has_template("a '{{ b"));
        assert!(!delims.has_template("a {{ b"));
        let lenient = Renderer::new(
            Settings {
                missing_key: MissingKey::Default,
                ..Settings::default()
            },
            |_| {},
        );
        assert_eq!(
            lenient.execute("t", "{{ .vars.nope }}", &ctx()).as_deref(),
            Ok("<no value>")
        );
    }
}
