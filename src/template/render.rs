//! Owns running the Go engine the way atmos does: which functions are registered (Go's builtins,
//! gomplate's namespaces and sprig's hermetic set, each switchable as atmos'
//! `templates.settings.{gomplate,sprig}.enabled`), the action delimiters and `missingkey=error`
//! (atmos' `ProcessTmpl` default), the parsed templates and [`Fragment`]s it keeps by text, plus
//! the one-shot [`render`] used for coordinate templates (SOPS `spec.file`, secret `reference`,
//! `stacks.name_template`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use super::Context;
use super::go::scope::{Need, hash_value, same_value};
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
    hasher: foldhash::fast::RandomState,
}

/// Parsed templates and fragments, by name then text (two levels, so a lookup allocates
/// nothing). Its `Debug` shows sizes only.
#[derive(Default)]
struct Cache {
    parsed: HashMap<String, HashMap<String, Arc<Template>>>,
    parsed_len: usize,
    fragments: HashMap<String, HashMap<String, Arc<Fragment>>>,
    fragments_len: usize,
    /// [`Values`] by a hash of the document name and the texts (checked on use).
    values: HashMap<u64, Vec<Arc<Values>>>,
    values_len: usize,
    /// The [`Values`] last asked for (the components of a stack, and of a catalog imported by
    /// every stack, ask for the same ones in turn).
    last_values: Option<Arc<Values>>,
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
/// Its `Debug` leaves out the outputs it keeps ([`Values::render`]), which may hold a rendered
/// secret.
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
    /// The top-level keys of [`Values::data`] with what is read under each, in order.
    keys: Vec<(String, Need)>,
    /// For each fragment, the keys of [`Values::keys`] it reads, as bits; `None` when the values
    /// read the whole context or more than 64 keys.
    reads: Option<Vec<u64>>,
    /// What the last renderings saw and gave ([`Values::render`]).
    memo: Mutex<Memo>,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("name", &self.name)
            .field("fragments", &self.fragments)
            .field("independent", &self.independent)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// A top-level context key's part as a rendering saw it: the node cut to what is read, its
/// value and the value's hash (once asked for).
struct Part {
    cut: yaml::Node,
    value: go::Value,
    hash: Option<u64>,
}

/// Per [`Values`]: the context parts and outputs of the last rendering, and each fragment's
/// outputs by the context values it read.
#[derive(Default)]
struct Memo {
    /// Whether `parts`, `ctx` and `last` are those of one successful rendering.
    valid: bool,
    /// Per key of [`Values::data`], in order (`None`: not in the section).
    parts: Vec<Option<Part>>,
    /// Per key of [`Values::data`], the caller's position hint ([`Values::render`]).
    hints: Vec<usize>,
    /// The context: the present `parts` by key, in key order.
    ctx: go::Value,
    /// Per fragment, its last output as read back.
    last: Vec<yaml::Node>,
    /// Per fragment, its earlier outputs.
    seen: Vec<Seen>,
    /// Entries in `seen`, all fragments together.
    seen_len: usize,
}

/// A fragment's earlier outputs, by a hash of the parts it read (those parts' values kept to
/// check), and how often one was found. A fragment whose parts differ every time (`label` reads
/// the stack and the component) stops keeping outputs after [`SEEN_TRIAL`] without a hit.
#[derive(Default)]
struct Seen {
    outputs: HashMap<u64, (Vec<Option<go::Value>>, yaml::Node), foldhash::fast::FixedState>,
    hits: usize,
    off: bool,
}

/// Outputs [`Memo::seen`] keeps per [`Values`] (later ones are executed on each use).
const SEEN_ENTRIES: usize = 4096;

/// Outputs a fragment keeps before it stops when none of them was asked for again.
const SEEN_TRIAL: usize = 256;

/// Entries each cache of a renderer keeps at most (later ones are parsed on each use).
const CACHE_ENTRIES: usize = 8192;

/// A one-line string value of a YAML document that atmos renders as one template, prepared to be
/// rendered on its own: the scalar as the document writes it, parsed once (the renderer keeps it
/// by text), with its [`Scope`]. (A value with a line break is written as a literal block, whose
/// text depends on its indentation: not a fragment.)
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
}

impl std::fmt::Debug for Fragment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragment")
            .field("text", &self.text)
            .field("scalar", &self.scalar)
            .field("parsed", &self.parsed.is_ok())
            .field("scope", &self.scope)
            .finish()
    }
}

impl Fragment {
    /// Executes the parsed scalar over `ctx`.
    pub fn execute(&self, ctx: &Context) -> Result<String, go::Error> {
        self.parsed
            .as_ref()
            .map_err(Clone::clone)?
            .execute(ctx.value())
    }
}

impl Values {
    /// Renders every value over the context whose top-level keys `part` gives (the node of a key
    /// of [`Values::data`], or `None` when the section has none; the `usize` is a slot `part` may
    /// keep a position hint in, the same slot for the same key each time), each output read back by
    /// `read` (what YAML makes of the rendered scalar, `None` when that is not one scalar).
    /// `None` when the values are not [`Values::independent`], read the whole context (the
    /// caller builds that context and executes each [`Fragment`]), or one fails or does not read
    /// back: the caller renders the whole document, which also gives Go's exact error.
    ///
    /// What the last rendering saw is kept: a part read as it was then (compared in order) is
    /// neither looked at again nor converted, a value whose parts are all unchanged gets its last
    /// output, and one whose parts were seen together before gets that output (the `name` of a
    /// catalog component recurs in every stack of the same stage). Reusing an output assumes
    /// every function gives the same result for the same arguments within a run, which holds for
    /// the functions registered here (no time, random or network functions; the process
    /// environment and `atmos.Component`'s answers do not change).
    pub fn render<'s>(
        &self,
        part: impl Fn(&str, &mut usize) -> Option<Cow<'s, yaml::Node>>,
        read: impl Fn(&str) -> Option<yaml::Node>,
    ) -> Option<Vec<yaml::Node>> {
        if !self.independent || self.data.whole {
            return None;
        }
        let Some(reads) = &self.reads else {
            return self.render_once(&part, &read);
        };
        // Busy: another thread renders the same values, or a value's `atmos.Component` call
        // builds a component with the same values on this one.
        let Ok(mut memo) = self.memo.try_lock() else {
            return self.render_once(&part, &read);
        };
        let result = self.render_memo(&mut memo, reads, &part, &read);
        if result.is_none() {
            memo.valid = false;
        }
        result
    }

    /// [`Values::render`] without the memo.
    fn render_once<'s>(
        &self,
        part: &impl Fn(&str, &mut usize) -> Option<Cow<'s, yaml::Node>>,
        read: &impl Fn(&str) -> Option<yaml::Node>,
    ) -> Option<Vec<yaml::Node>> {
        let mut map = go::Map::with_capacity_and_hasher(self.keys.len(), Default::default());
        for (k, need) in &self.keys {
            if let Some(node) = part(k, &mut 0) {
                map.insert(k.clone(), need.pick(&node));
            }
        }
        let ctx = Context::from_value(go::Value::from(map));
        self.fragments
            .iter()
            .map(|f| read(&f.execute(&ctx).ok()?))
            .collect()
    }

    fn render_memo<'s>(
        &self,
        memo: &mut Memo,
        reads: &[u64],
        part: &impl Fn(&str, &mut usize) -> Option<Cow<'s, yaml::Node>>,
        read: &impl Fn(&str) -> Option<yaml::Node>,
    ) -> Option<Vec<yaml::Node>> {
        let fresh = !memo.valid;
        if fresh {
            let (keys, n) = (self.keys.len(), self.fragments.len());
            memo.parts.clear();
            memo.parts.resize_with(keys, || None);
            memo.hints.resize(keys, 0);
            memo.last.clear();
            memo.last.resize(n, yaml::Node::Null);
            memo.seen.resize_with(n, Seen::default);
        }
        // The parts that differ from the last rendering's (all of them after none).
        let mut changed = if fresh { u64::MAX } else { 0 };
        let mut rebuild = fresh;
        let keys = self.keys.iter().zip(&mut memo.parts).zip(&mut memo.hints);
        for (i, (((k, need), slot), hint)) in keys.enumerate() {
            let node = part(k, hint);
            let same = match (&*slot, &node) {
                (None, None) => true,
                (Some(p), Some(n)) => need.same_cut(n, &p.cut),
                _ => false,
            };
            if same && !fresh {
                continue;
            }
            changed |= 1 << i;
            rebuild |= slot.is_some() != node.is_some();
            *slot = node.map(|n| Part {
                cut: need.cut(&n),
                value: need.pick(&n),
                hash: None,
            });
        }
        if changed == 0 {
            return Some(memo.last.clone());
        }
        // The context: rebuilt when a key came or went, else the changed values replaced.
        let kept = match &mut memo.ctx {
            go::Value::Map(m) if !rebuild => Arc::get_mut(m),
            _ => None,
        };
        if let Some(map) = kept {
            for (i, ((k, _), p)) in self.keys.iter().zip(&memo.parts).enumerate() {
                if changed & (1 << i) != 0
                    && let (Some(slot), Some(p)) = (map.get_mut(k), p)
                {
                    *slot = p.value.clone();
                }
            }
        } else {
            let map: go::Map = (self.keys.iter().zip(&memo.parts))
                .filter_map(|((k, _), p)| Some((k.clone(), p.as_ref()?.value.clone())))
                .collect();
            memo.ctx = go::Value::from(map);
        }
        let ctx = Context::from_value(std::mem::take(&mut memo.ctx));
        let result = self.outputs(memo, reads, (!fresh).then_some(changed), &ctx, read);
        memo.ctx = ctx.into_value();
        let out = result?;
        memo.valid = true;
        Some(out)
    }

    /// The outputs for the parts in `memo` over `ctx`: the last one for a value none of whose
    /// parts is in `changed` (`None`: no last outputs), one seen before with the same parts,
    /// else executed.
    fn outputs(
        &self,
        memo: &mut Memo,
        reads: &[u64],
        changed: Option<u64>,
        ctx: &Context,
        read: &impl Fn(&str) -> Option<yaml::Node>,
    ) -> Option<Vec<yaml::Node>> {
        let mut out = Vec::with_capacity(self.fragments.len());
        for (j, (f, &bits)) in self.fragments.iter().zip(reads).enumerate() {
            if changed.is_some_and(|c| bits & c == 0) {
                out.push(memo.last[j].clone());
                continue;
            }
            let node = if memo.seen[j].off {
                read(&f.execute(ctx).ok()?)?
            } else {
                self.seen_or_execute(memo, j, bits, f, ctx, read)?
            };
            memo.last[j] = node.clone();
            out.push(node);
        }
        Some(out)
    }

    /// The output of fragment `j` (reading the parts `bits`) from its earlier outputs, else
    /// executed over `ctx` and kept.
    fn seen_or_execute(
        &self,
        memo: &mut Memo,
        j: usize,
        bits: u64,
        f: &Fragment,
        ctx: &Context,
        read: &impl Fn(&str) -> Option<yaml::Node>,
    ) -> Option<yaml::Node> {
        let read_by_j = move |i: &usize| bits & (1 << i) != 0;
        let mut h = foldhash::fast::FixedState::default().build_hasher();
        for i in (0..self.keys.len()).filter(read_by_j) {
            let hash = memo.parts[i].as_mut().map_or(0, |p| {
                *p.hash.get_or_insert_with(|| {
                    let mut h = foldhash::fast::FixedState::default().build_hasher();
                    hash_value(&p.value, &mut h);
                    h.finish()
                })
            });
            h.write_u64(hash);
        }
        let key = h.finish();
        let parts = (0..self.keys.len())
            .filter(read_by_j)
            .map(|i| memo.parts[i].as_ref().map(|p| &p.value));
        let seen = &mut memo.seen[j];
        if let Some((inputs, node)) = seen.outputs.get(&key)
            && inputs.len() == parts.clone().count()
            && inputs.iter().zip(parts.clone()).all(|(a, b)| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => same_value(a, b),
                _ => false,
            })
        {
            seen.hits += 1;
            return Some(node.clone());
        }
        let node = read(&f.execute(ctx).ok()?)?;
        if seen.hits == 0 && seen.outputs.len() >= SEEN_TRIAL {
            memo.seen_len -= seen.outputs.len();
            *seen = Seen {
                off: true,
                ..Seen::default()
            };
        } else if memo.seen_len < SEEN_ENTRIES {
            let inputs = parts.map(|p| p.cloned()).collect();
            if seen.outputs.insert(key, (inputs, node.clone())).is_none() {
                memo.seen_len += 1;
            }
        }
        Some(node)
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
            hasher: foldhash::fast::RandomState::default(),
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

    /// [`Renderer::has_template`] by a byte scan for the left delimiter: the same answer, and
    /// cheaper on short texts (`str::contains` prepares a substring searcher for each text under
    /// 17 bytes, several hundred instructions, where this costs a few per byte). For walks that
    /// test every key and string of a section known to hold templates. (`has_template`, which
    /// also tests every string of sections without templates, is left as it is.)
    pub fn has_template_scan(&self, text: &str) -> bool {
        let left = match &self.settings.delimiters {
            Some((left, _)) => left.as_bytes(),
            None => b"{{",
        };
        let Some((&first, rest)) = left.split_first() else {
            return true;
        };
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(i) = bytes[from..].iter().position(|&b| b == first) {
            let after = from + i + 1;
            if bytes[after..].starts_with(rest) {
                return true;
            }
            from = after;
        }
        false
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
        let same = |v: &Values| {
            v.name == name
                && v.fragments.len() == texts.len()
                && v.fragments.iter().zip(texts).all(|(f, t)| f.text == *t)
        };
        let key = || {
            let mut h = self.hasher.build_hasher();
            h.write(name.as_bytes());
            for t in texts {
                h.write_usize(t.len());
                h.write(t.as_bytes());
            }
            h.finish()
        };
        if let Ok(mut c) = self.cache.lock() {
            if let Some(v) = c.last_values.as_ref().filter(|v| same(v)) {
                return v.clone();
            }
            let cached = (c.values.get(&key()))
                .and_then(|vs| vs.iter().find(|v| same(v)))
                .cloned();
            if let Some(v) = cached {
                c.last_values = Some(v.clone());
                return v;
            }
        }
        let key = key();
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
        let keys: Vec<(String, Need)> = (data.fields.iter())
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect();
        let reads = (!data.whole && keys.len() <= 64).then(|| {
            fragments
                .iter()
                .map(|f| {
                    let read =
                        |k: &String| f.scope.data.whole || f.scope.data.fields.contains_key(k);
                    (keys.iter().enumerate())
                        .filter(|(_, (k, _))| read(k))
                        .fold(0u64, |bits, (i, _)| bits | 1 << i)
                })
                .collect()
        });
        let v = Arc::new(Values {
            name: name.to_owned(),
            fragments,
            independent,
            data,
            keys,
            reads,
            memo: Mutex::default(),
        });
        if let Ok(mut cache) = self.cache.lock()
            && cache.values_len < CACHE_ENTRIES
        {
            cache.values_len += 1;
            cache.values.entry(key).or_default().push(v.clone());
            cache.last_values = Some(v.clone());
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

    /// The parts and outputs a plan keeps (which may come from `secrets` or `auth`) stay out of
    /// `Debug`, and a plan renders what a one-off execution gives.
    #[test]
    fn kept_parts_and_outputs_stay_out_of_debug() {
        let r = Renderer::new(Settings::default(), |_| {});
        let values = r.values("doc", &["{{ .vars.token }}-x", "{{ len .vars.token }}"]);
        assert!(values.independent, "{values:?}");
        let vars = yaml::parse("{token: hunter2-value, other: 1}", "t").expect("yaml");
        let part = |k: &str, _: &mut usize| (k == "vars").then(|| Cow::Borrowed(&vars));
        let read = |s: &str| Some(yaml::Node::Str(s.to_owned()));
        for _ in 0..2 {
            let out = values.render(part, read).expect("renders");
            // (A fragment is the scalar as the document writes it: quoted.)
            assert_eq!(
                out,
                [
                    yaml::Node::Str("'hunter2-value-x'".into()),
                    yaml::Node::Str("'13'".into())
                ]
            );
        }
        for shown in [format!("{r:?}"), format!("{values:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
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
        // The byte scan answers as `str::contains` does.
        let empty = Renderer::new(
            Settings {
                delimiters: Some((String::new(), "]]".into())),
                ..Settings::default()
            },
            |_| {},
        );
        let texts = [
            "",
            "{",
            "{{",
            "a{",
            "a{{",
            "{a{",
            "{ {",
            "x'{",
            "x'{{",
            "'{'{{",
            "''{{",
            "{{{",
            "é{{ .x }}",
            "label",
            "'{{ .vars.stage }}'",
            "long text without any action at all",
        ];
        for r in [Renderer::standard(), &delims, &empty] {
            for t in texts {
                assert_eq!(r.has_template_scan(t), r.has_template(t), "{t:?}");
            }
        }
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
