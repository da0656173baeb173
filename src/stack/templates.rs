//! Owns rendering the Go templates of a merged component section, as atmos does: the section is
//! written out as one YAML document, rendered once by the Go engine ([`crate::template`]) with the
//! section itself as the context, and read back — so a `define` in one value is visible in the
//! others, and results are what YAML makes of the rendered text (strings, unless a plain scalar
//! reads as a number or bool, as in atmos). When a scope analysis of the values shows that none
//! can affect another or the text around it, each value is rendered alone over the part of the
//! section it reads, with the same result and without writing or re-reading the document.
//!
//! What is rendered depends on the [`Eval`] mode: `describe` renders everything; the secret
//! commands render only the sections they read (`secrets`, `metadata`, `auth` and the vars that
//! name the stack), so a broken template elsewhere cannot fail them. `secrets.providers` and
//! `secrets.vars.*.reference` are never rendered here: they are templates over a secret's
//! coordinate, rendered when the secret is used.
//!
//! Errors name the manifest, the component and the section path of the failing value.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;

use super::{Stack, StackError};
use crate::config::CliConfig;
use crate::template::go::{self, FuncError, Funcs, Value};
use crate::template::{Context, Renderer, TemplateError};
use crate::yaml::{self, Map, Node};

/// Which parts of a component a command evaluates (templates and load-time YAML functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eval {
    /// Everything (`describe`).
    #[default]
    All,
    /// Only what the secret commands read: [`SECRET_SECTIONS`] and [`NAMING_VARS`].
    Secrets,
    /// As [`Eval::Secrets`], and the instance is built from the declarations view of the
    /// manifests ([`super::view`]): its section holds only what declarations read (commands that
    /// enumerate declarations across stacks).
    Declarations,
}

/// The sections the secret commands read.
pub const SECRET_SECTIONS: &[&str] = &["secrets", "metadata", "auth"];

/// The vars that name a stack (`stacks.name_pattern` tokens).
pub const NAMING_VARS: &[&str] = &["namespace", "tenant", "environment", "stage"];

/// The name Go's messages give the rendered document (atmos' own name for it).
const DOC_NAME: &str = "all-atmos-sections";

/// The renderer for a project's stacks: `templates.settings` plus `atmos.Component`.
pub fn renderer(cfg: &CliConfig) -> Renderer {
    let cfg = cfg.clone();
    Renderer::new(cfg.template_settings.clone(), move |funcs: &mut Funcs| {
        let cache: Mutex<HashMap<(String, String), Value>> = Mutex::new(HashMap::new());
        // The project's stacks, loaded on the first call and shared by the later ones.
        let stacks: std::sync::OnceLock<super::Stacks> = std::sync::OnceLock::new();
        funcs.insert("atmos.Component", move |args: &[Value]| {
            let [component, stack] = args else {
                return Err(FuncError::Args(format!(
                    "wrong number of args for atmos.Component: want 2 got {}",
                    args.len()
                )));
            };
            let (Some(component), Some(stack)) = (component.as_str(), stack.as_str()) else {
                return Err(FuncError::Args(
                    "atmos.Component takes two strings: component and stack".to_owned(),
                ));
            };
            let key = (component.to_owned(), stack.to_owned());
            if let Some(v) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
                return Ok(v);
            }
            let value = other_component(&cfg, &stacks, component, stack)?;
            if let Ok(mut c) = cache.lock() {
                c.insert(key, value.clone());
            }
            Ok(value)
        });
        // atmos' other template functions read terraform state or stores at render time; they
        // parse here (so `validate stacks` accepts the manifests) and fail clearly if run.
        for name in UNSUPPORTED {
            funcs.insert(name, move |_: &[Value]| {
                Err(FuncError::Call(format!(
                    "`{name}` is not supported by this binary (it reads terraform state or a store while rendering); run the Go atmos"
                )))
            });
        }
    })
}

/// atmos template functions this binary knows by name but does not run.
const UNSUPPORTED: [&str; 2] = ["atmos.Store", "atmos.GomplateDatasource"];

thread_local! {
    /// Nesting of `atmos.Component` calls on this thread (a component whose templates call back
    /// into the first would otherwise recurse forever).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// `atmos.Component`: another component's sections, as `describe component` shows them (without
/// `outputs`, which needs terraform).
fn other_component(
    cfg: &CliConfig,
    stacks: &std::sync::OnceLock<super::Stacks>,
    component: &str,
    stack: &str,
) -> Result<Value, FuncError> {
    let depth = DEPTH.with(Cell::get);
    if depth >= 8 {
        return Err(FuncError::Call(format!(
            "component \"{component}\" in stack \"{stack}\": atmos.Component calls nest too deeply (a cycle?)"
        )));
    }
    DEPTH.with(|d| d.set(depth + 1));
    let loaded = match stacks.get() {
        Some(s) => Ok(s),
        None => super::load(cfg).map(|s| stacks.get_or_init(|| s)),
    };
    let result = loaded
        .and_then(|s| s.component(cfg, stack, component, None))
        .map(|inst| Context::from_map(&inst.section).value().clone())
        .map_err(|e| {
            FuncError::Call(format!(
                "component \"{component}\" in stack \"{stack}\": {e}"
            ))
        });
    DEPTH.with(|d| d.set(depth));
    result
}

/// Renders the templates of `section` (a built component) in place, for `eval`.
///
/// Two paths with one result. When every templated value can be rendered alone
/// (`render_values`), each is rendered against a context holding only the keys the values
/// read, and put back in place. Otherwise the templated sections are written out as one
/// document, rendered and read back, as atmos does.
pub fn render_section(
    section: &mut Map,
    stack: &Stack,
    name: &str,
    eval: Eval,
) -> Result<(), StackError> {
    let renderer = &stack.renderer;
    let keys: Vec<String> = templated_sections(section, eval, renderer)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    if let Some(rendered) = render_values(section, &keys, eval, renderer) {
        rendered.put_back(section);
        return Ok(());
    }
    let origin = |path: &str| {
        if path.is_empty() {
            format!("{} (component `{name}`)", stack.manifest.display())
        } else {
            format!(
                "{} (component `{name}`, `{path}`)",
                stack.manifest.display()
            )
        }
    };
    let ctx = context(section);
    render_document(section, &keys, renderer, eval, &ctx, &origin)
}

/// The whole-document path of [`render_section`]: the sections `keys` (for `eval`) written as
/// one YAML document, rendered as one template over `ctx` and read back.
fn render_document(
    section: &mut Map,
    keys: &[String],
    renderer: &Renderer,
    eval: Eval,
    ctx: &Context,
    origin: &dyn Fn(&str) -> String,
) -> Result<(), StackError> {
    let mut doc = Map::default();
    for k in keys {
        let Some(v) = section.get(k) else { continue };
        let v = match (eval, v) {
            (Eval::All, v) => v.clone(),
            (_, Node::Map(vars)) if k == "vars" => Node::Map(naming_vars(vars)),
            (_, v) => v.clone(),
        };
        doc.insert(k.to_owned(), v);
    }
    let kept = take_coordinate_templates(&mut doc);
    // Only the top-level sections that hold a template are written out: the others would read
    // back unchanged, and leaving them out keeps the cost to the templated parts.
    doc.retain(|k, v| renderer.has_template(k) || any_template(v, renderer));
    if doc.is_empty() {
        return Ok(());
    }
    let written: Vec<String> = doc.keys().cloned().collect();
    let text = emit(&doc);
    let rendered = renderer
        .execute(DOC_NAME, &text, ctx)
        .map_err(|e| locate(&doc, renderer, ctx, e, origin))?;
    let parsed = yaml::parse(&rendered, &origin("")).map_err(|e| {
        StackError::Template(TemplateError {
            origin: origin(""),
            template: String::new(),
            message: format!("the rendered section is not valid YAML: {e}"),
        })
    })?;
    let Node::Map(mut parsed) = parsed else {
        return Err(StackError::Template(TemplateError {
            origin: origin(""),
            template: String::new(),
            message: "the rendered section is not a map".to_owned(),
        }));
    };
    restore_coordinate_templates(&mut parsed, kept);
    merge_rendered(section, parsed, &written, eval);
    Ok(())
}

/// Puts the rendered top-level sections `parsed` (the sections `written` out) back into
/// `section`.
fn merge_rendered(section: &mut Map, parsed: Map, written: &[String], eval: Eval) {
    match eval {
        Eval::All => {
            for k in written.iter().filter(|k| !parsed.contains_key(*k)) {
                section.shift_remove(k);
            }
            for (k, v) in parsed {
                section.insert(k, v);
            }
        }
        Eval::Secrets | Eval::Declarations => {
            for (k, v) in parsed {
                if k == "vars" {
                    if let (Some(Node::Map(vars)), Node::Map(rendered)) =
                        (section.get_mut("vars"), v)
                    {
                        vars.extend(rendered);
                    }
                } else {
                    section.insert(k, v);
                }
            }
        }
    }
}

/// Renders each templated value of the sections `keys` of `section` on its own (in the order
/// [`find_values`] finds them) when that gives what rendering the whole document gives: no
/// template in a key or under a YAML tag (a tag applies to the re-read text), every value
/// independent of the others ([`crate::template::Values::independent`]: one line, parses alone,
/// no shared `define`, no trim marker at its edge), and every value renders without error to
/// text that reads back as one scalar. Otherwise `None`: the caller renders the whole document,
/// which also gives Go's exact error. The values are parsed and analysed once per process (the
/// [`Renderer`] keeps them by text: a catalog component imported by hundreds of stacks costs one
/// parse), and the context holds only the parts of the section they read
/// ([`crate::template::Values::render`], which also reuses the outputs of earlier sections).
fn render_values(section: &Map, keys: &[String], eval: Eval, r: &Renderer) -> Option<Rendered> {
    let mut found = Found {
        texts: Vec::with_capacity(16),
        steps: Vec::with_capacity(32),
        ends: Vec::with_capacity(16),
    };
    find_values(section, keys, eval, r, &mut found)?;
    let values = r.values(DOC_NAME, &found.texts);
    if !values.independent {
        return None;
    }
    let nodes = if values.data.whole {
        let ctx = context(section);
        (values.fragments.iter())
            .map(|f| read_scalar(&f.execute(&ctx).ok()?))
            .collect::<Option<Vec<_>>>()?
    } else {
        values.render(|k, hint| context_part(section, k, hint), read_scalar)?
    };
    Some(Rendered {
        steps: found.steps,
        ends: found.ends,
        nodes,
    })
}

/// The templated strings [`find_values`] found, and where: `steps[ends[i - 1]..ends[i]]` is the
/// `i`th one's path from the top of the section (the index of each map entry or sequence item
/// on the way).
struct Found<'a> {
    texts: Vec<&'a str>,
    steps: Vec<usize>,
    ends: Vec<usize>,
}

impl<'a> Found<'a> {
    fn push(&mut self, text: &'a str, at: &[usize]) {
        self.texts.push(text);
        self.steps.extend_from_slice(at);
        self.ends.push(self.steps.len());
    }
}

/// The rendered values and where they go (see [`Found`]).
struct Rendered {
    steps: Vec<usize>,
    ends: Vec<usize>,
    nodes: Vec<Node>,
}

impl Rendered {
    /// Puts each rendered value in place of its template in `section` (the section the
    /// templates were found in).
    fn put_back(self, section: &mut Map) {
        let mut start = 0;
        for (&end, node) in self.ends.iter().zip(self.nodes) {
            if let Some(slot) = slot(section, &self.steps[start..end]) {
                *slot = node;
            }
            start = end;
        }
    }
}

/// The node at `path` (see [`Found`]) in `section`.
fn slot<'a>(section: &'a mut Map, path: &[usize]) -> Option<&'a mut Node> {
    let (first, rest) = path.split_first()?;
    let mut n = section.get_index_mut(*first)?.1;
    for &i in rest {
        n = match n {
            Node::Map(m) => m.get_index_mut(i)?.1,
            Node::Seq(s) => s.get_mut(i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// What YAML reads `rendered` (a rendered [`emit`]ted scalar) as, when that is one scalar.
/// Single-quoted one-line text (the common case) is read here; anything else by the YAML parser.
fn read_scalar(rendered: &str) -> Option<Node> {
    if let Some(inner) = rendered
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        && !inner.chars().any(char::is_control)
    {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\'' && chars.next() != Some('\'') {
                // A lone quote ends the scalar early: not one scalar.
                return None;
            }
            out.push(c);
        }
        return Some(Node::Str(out));
    }
    if rendered.contains('\n') {
        return None;
    }
    match yaml::parse(&format!("v: {rendered}\n"), DOC_NAME).ok()? {
        Node::Map(mut m) if m.len() == 1 => match m.shift_remove("v")? {
            Node::Map(_) | Node::Seq(_) => None,
            scalar => Some(scalar),
        },
        _ => None,
    }
}

/// Which strings of a top-level section [`render_section`] renders.
fn part(key: &str, eval: Eval) -> Part {
    match key {
        "secrets" => Part::Secrets,
        "vars" if eval != Eval::All => Part::NamingVars,
        _ => Part::Whole,
    }
}

/// See [`part`].
#[derive(Clone, Copy)]
enum Part {
    /// Every string.
    Whole,
    /// Only the naming vars ([`NAMING_VARS`]).
    NamingVars,
    /// All but the coordinate templates (`providers`, `vars.*.reference`).
    Secrets,
}

/// The templated strings of the sections `keys` of `section` that [`render_section`] renders
/// for `eval`, in document order, with where they are; `None` when a key holds a template or a
/// tag a templated value (both left to the whole document).
fn find_values<'a>(
    section: &'a Map,
    keys: &[String],
    eval: Eval,
    r: &Renderer,
    found: &mut Found<'a>,
) -> Option<()> {
    let mut at = Vec::with_capacity(8);
    for k in keys {
        if r.has_template_scan(k) {
            return None;
        }
        let Some((top, _, v)) = section.get_full(k.as_str()) else {
            continue;
        };
        at.clear();
        at.push(top);
        match (part(k, eval), v) {
            (Part::NamingVars, Node::Map(vars)) => {
                for (i, (name, v)) in vars.iter().enumerate() {
                    if NAMING_VARS.contains(&name.as_str()) {
                        at.push(i);
                        templated_strings(v, r, &mut at, found)?;
                        at.pop();
                    }
                }
            }
            (Part::Secrets, Node::Map(secrets)) => {
                for (i, (k, v)) in secrets.iter().enumerate() {
                    if r.has_template_scan(k) {
                        return None;
                    }
                    at.push(i);
                    match (k.as_str(), v) {
                        ("providers", _) => {}
                        ("vars", Node::Map(vars)) => {
                            for (j, (name, decl)) in vars.iter().enumerate() {
                                if r.has_template_scan(name) {
                                    return None;
                                }
                                at.push(j);
                                match decl {
                                    Node::Map(d) => {
                                        for (l, (f, v)) in d.iter().enumerate() {
                                            if r.has_template_scan(f) {
                                                return None;
                                            }
                                            if f != "reference" {
                                                at.push(l);
                                                templated_strings(v, r, &mut at, found)?;
                                                at.pop();
                                            }
                                        }
                                    }
                                    other => templated_strings(other, r, &mut at, found)?,
                                }
                                at.pop();
                            }
                        }
                        (_, v) => templated_strings(v, r, &mut at, found)?,
                    }
                    at.pop();
                }
            }
            (_, v) => templated_strings(v, r, &mut at, found)?,
        }
    }
    Some(())
}

/// The templated strings under `n` (at `at` in the section), in document order; `None` when a
/// key is templated.
fn templated_strings<'a>(
    n: &'a Node,
    r: &Renderer,
    at: &mut Vec<usize>,
    found: &mut Found<'a>,
) -> Option<()> {
    match n {
        Node::Str(s) if r.has_template_scan(s) => found.push(s, at),
        Node::Map(m) => {
            for (i, (k, v)) in m.iter().enumerate() {
                if r.has_template_scan(k) {
                    return None;
                }
                at.push(i);
                templated_strings(v, r, at, found)?;
                at.pop();
            }
        }
        Node::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                at.push(i);
                templated_strings(v, r, at, found)?;
                at.pop();
            }
        }
        // A tag applies to the re-read text: left to the whole document.
        Node::Tagged(t) if any_template(&t.value, r) => return None,
        _ => {}
    }
    Some(())
}

/// The template context: the section itself, plus `workspace` for terraform components (atmos'
/// default: `metadata.terraform_workspace`, else the stack name, suffixed with the instance name
/// when `metadata.component` points elsewhere; `/` becomes `-`), and the Spacelift stack and
/// Atlantis project names (`integration_names`).
pub fn context(section: &Map) -> Context {
    let mut map: go::Map = section
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v)))
        .collect();
    for key in COMPUTED {
        if let Some(v) = computed(section, key) {
            map.insert(key.to_owned(), Value::from(v));
        }
    }
    Context::from_value(Value::from(map))
}

/// The context keys atmos computes rather than reads from the section.
const COMPUTED: [&str; 3] = ["workspace", "spacelift_stack", "atlantis_project"];

/// The top-level key `key` of [`context`], as a node; looked for first at the index `hint`
/// (where it was in the last section: consecutive sections have their keys in the same order),
/// which is updated.
fn context_part<'a>(section: &'a Map, key: &str, hint: &mut usize) -> Option<Cow<'a, Node>> {
    if let Some(v) = computed(section, key) {
        return Some(Cow::Owned(Node::Str(v)));
    }
    if let Some((k, v)) = section.get_index(*hint)
        && k == key
    {
        return Some(Cow::Borrowed(v));
    }
    let (i, _, v) = section.get_full(key)?;
    *hint = i;
    Some(Cow::Borrowed(v))
}

/// The value [`context`] gives the computed key `key` ([`COMPUTED`]), if it computes one: only
/// for terraform components without a `workspace` of their own.
fn computed(section: &Map, key: &str) -> Option<String> {
    if !COMPUTED.contains(&key)
        || section.contains_key("workspace")
        || section.get("component_type").and_then(Node::as_str) != Some("terraform")
    {
        return None;
    }
    let text = |n: Option<&Node>| n.and_then(Node::as_str).map(str::to_owned);
    let metadata = section.get("metadata");
    let stack = text(section.get("atmos_stack")).unwrap_or_default();
    let instance = text(section.get("atmos_component")).unwrap_or_default();
    if key == "workspace" {
        let workspace = text(metadata.and_then(|m| m.get("terraform_workspace"))).unwrap_or_else(
            || match text(metadata.and_then(|m| m.get("component"))) {
                Some(c) if c != instance => format!("{stack}-{instance}"),
                _ => stack.clone(),
            },
        );
        return Some(workspace.replace('/', "-"));
    }
    integration_names(section, &stack, &instance)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The top-level keys of `section` that [`render_section`] writes out for `eval`: the sections
/// it reads that hold a template outside the coordinate templates (`secrets.providers`,
/// `secrets.vars.*.reference`). Found without copying anything.
pub fn templated_sections<'a>(section: &'a Map, eval: Eval, r: &Renderer) -> Vec<&'a str> {
    section
        .iter()
        .filter(|(k, v)| match (eval, k.as_str()) {
            _ if r.has_template(k) => eval == Eval::All,
            (_, "secrets") => secrets_templated(v, r),
            (Eval::All, _) => any_template(v, r),
            (_, "vars") => v.as_map().is_some_and(|vars| {
                NAMING_VARS
                    .iter()
                    .any(|n| vars.get(*n).is_some_and(|v| any_template(v, r)))
            }),
            (_, k) => SECRET_SECTIONS.contains(&k) && any_template(v, r),
        })
        .map(|(k, _)| k.as_str())
        .collect()
}

/// Whether a `secrets` section holds a template outside its coordinate templates.
fn secrets_templated(secrets: &Node, r: &Renderer) -> bool {
    let Node::Map(m) = secrets else {
        return any_template(secrets, r);
    };
    m.iter().any(|(k, v)| match (k.as_str(), v) {
        _ if r.has_template(k) => true,
        ("providers", _) => false,
        ("vars", Node::Map(vars)) => vars.iter().any(|(name, decl)| {
            r.has_template(name)
                || match decl {
                    Node::Map(d) => d.iter().any(|(f, v)| {
                        r.has_template(f) || (f != "reference" && any_template(v, r))
                    }),
                    other => any_template(other, r),
                }
        }),
        (_, v) => any_template(v, r),
    })
}

fn naming_vars(vars: &Map) -> Map {
    vars.iter()
        .filter(|(k, _)| NAMING_VARS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `spacelift_stack` and `atlantis_project`, as atmos computes them before rendering templates:
/// the Spacelift stack only when `settings.spacelift.workspace_enabled` (from
/// `stack_name_pattern`, else `stack_name`, else `<stack>-<component>`), the Atlantis project
/// from `settings.atlantis.project_template.name`; `/` in the component becomes `-`.
fn integration_names(section: &Map, stack: &str, instance: &str) -> Vec<(&'static str, String)> {
    let settings = section.get("settings");
    let component = instance.replace('/', "-");
    let vars = section.get("vars");
    let tokens = |pattern: &str| {
        let mut out = pattern.replace("{component}", &component);
        if let Some(base) = section
            .get("metadata")
            .and_then(|m| m.get("component"))
            .and_then(Node::as_str)
        {
            out = out.replace("{base-component}", &base.replace('/', "-"));
        }
        for token in ["namespace", "tenant", "environment", "region", "stage"] {
            let value = vars
                .and_then(|v| v.get(token))
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            out = out.replace(&format!("{{{token}}}"), &value);
        }
        out
    };
    let mut out = Vec::new();
    let spacelift = settings.and_then(|s| s.get("spacelift"));
    if spacelift.and_then(|s| s.get("workspace_enabled")) == Some(&Node::Bool(true)) {
        let text = |k: &str| spacelift.and_then(|s| s.get(k)).and_then(Node::as_str);
        let name = match (text("stack_name_pattern"), text("stack_name")) {
            (Some(p), _) => tokens(p),
            (None, Some(n)) => n.to_owned(),
            (None, None) => format!("{stack}-{instance}").replace('/', "-"),
        };
        out.push(("spacelift_stack", name));
    }
    if let Some(name) = settings
        .and_then(|s| s.get("atlantis"))
        .and_then(|a| a.get("project_template"))
        .and_then(|t| t.get("name"))
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty())
    {
        out.push(("atlantis_project", tokens(name)));
    }
    out
}

/// The sections a secret command reads, with `vars` cut down to the naming vars.
pub fn secret_view(section: &Map) -> Map {
    let mut view = Map::default();
    for key in SECRET_SECTIONS {
        if let Some(v) = section.get(*key) {
            view.insert((*key).to_owned(), v.clone());
        }
    }
    if let Some(Node::Map(vars)) = section.get("vars") {
        let naming: Map = vars
            .iter()
            .filter(|(k, _)| NAMING_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !naming.is_empty() {
            view.insert("vars".to_owned(), Node::Map(naming));
        }
    }
    view
}

/// Coordinate templates removed from a document before rendering.
struct Kept {
    providers: Option<Node>,
    references: Vec<(String, Node)>,
}

fn take_coordinate_templates(doc: &mut Map) -> Kept {
    let mut kept = Kept {
        providers: None,
        references: Vec::new(),
    };
    if let Some(Node::Map(secrets)) = doc.get_mut("secrets") {
        kept.providers = secrets.shift_remove("providers");
        if let Some(Node::Map(vars)) = secrets.get_mut("vars") {
            for (name, decl) in vars.iter_mut() {
                if let Node::Map(d) = decl
                    && let Some(r) = d.get_mut("reference")
                {
                    kept.references
                        .push((name.clone(), std::mem::replace(r, Node::Null)));
                }
            }
        }
    }
    kept
}

fn restore_coordinate_templates(doc: &mut Map, kept: Kept) {
    let Some(Node::Map(secrets)) = doc.get_mut("secrets") else {
        return;
    };
    if let Some(p) = kept.providers {
        secrets.insert("providers".to_owned(), p);
    }
    if let Some(Node::Map(vars)) = secrets.get_mut("vars") {
        for (name, r) in kept.references {
            if let Some(Node::Map(d)) = vars.get_mut(&name) {
                d.insert("reference".to_owned(), r);
            }
        }
    }
}

/// Whether any key or string of `n` holds a template for `r`.
pub fn any_template(n: &Node, r: &Renderer) -> bool {
    match n {
        Node::Str(s) => r.has_template(s),
        Node::Map(m) => m
            .iter()
            .any(|(k, v)| r.has_template(k) || any_template(v, r)),
        Node::Seq(s) => s.iter().any(|v| any_template(v, r)),
        Node::Tagged(t) => any_template(&t.value, r),
        _ => false,
    }
}

/// Finds the value whose template fails on its own (in document order) so the error can name its
/// section path; falls back to the document's error.
fn locate(
    doc: &Map,
    renderer: &Renderer,
    ctx: &Context,
    err: crate::template::go::Error,
    origin: &dyn Fn(&str) -> String,
) -> StackError {
    let mut templates = Vec::new();
    for (k, v) in doc {
        collect(v, k, renderer, &mut templates);
    }
    for (path, text) in &templates {
        let own = if err.is_parse {
            renderer.check(path, text).err()
        } else {
            renderer
                .check(path, text)
                .ok()
                .and_then(|()| renderer.execute(path, text, ctx).err())
                .filter(|e| !e.is_parse && !e.message.contains("no such template"))
        };
        if let Some(e) = own {
            return StackError::Template(TemplateError {
                origin: origin(path),
                template: text.clone(),
                message: e.message,
            });
        }
    }
    StackError::Template(TemplateError {
        origin: origin(""),
        template: String::new(),
        message: err.message,
    })
}

fn collect(n: &Node, path: &str, r: &Renderer, out: &mut Vec<(String, String)>) {
    match n {
        Node::Str(s) if r.has_template(s) => out.push((path.to_owned(), s.clone())),
        Node::Map(m) => {
            for (k, v) in m {
                if r.has_template(k) {
                    out.push((path.to_owned(), k.clone()));
                }
                collect(v, &format!("{path}.{k}"), r, out);
            }
        }
        Node::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                collect(v, &format!("{path}[{i}]"), r, out);
            }
        }
        Node::Tagged(t) => collect(&t.value, path, r, out),
        _ => {}
    }
}

/// Writes `map` as the block YAML document atmos renders ([`yaml::Quoting::Template`]).
pub fn emit(map: &Map) -> String {
    yaml::map_to_yaml_as(map, yaml::Quoting::Template)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component section for the tests: the context is the section itself, as in a stack.
    const BASE: &str = "component_type: terraform\natmos_stack: plat-prod\natmos_component: api\n\
        metadata: {component: api-base}\nsettings: {tags: {team: platform, cost: shared}}\n\
        vars: {stage: prod, tenant: plat, n: 3, on: true, q: \"it's\", list: [a, b], \
        block: \"a\\n  b: 1\", empty: ''}\n";

    fn section(text: &str) -> Map {
        let text = format!("{BASE}{text}");
        match yaml::parse(&text, "t").expect("yaml") {
            Node::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    /// Renders `text` (top-level keys added to [`BASE`]) both ways for `eval`: value by value
    /// (`None` when that path refuses) and as the whole document.
    fn both(text: &str, eval: Eval) -> (Option<Map>, Result<Map, StackError>) {
        let r = Renderer::new(crate::template::Settings::default(), |_| {});
        let section = section(text);
        let keys: Vec<String> = templated_sections(&section, eval, &r)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let per_value = render_values(&section, &keys, eval, &r).map(|rendered| {
            let mut out = section.clone();
            assert_eq!(
                rendered.nodes.len(),
                rendered.ends.len(),
                "a node per value"
            );
            rendered.put_back(&mut out);
            out
        });
        let mut whole = section.clone();
        let origin = |p: &str| format!("t.yaml `{p}`");
        let doc = render_document(&mut whole, &keys, &r, eval, &context(&section), &origin)
            .map(|()| whole);
        (per_value, doc)
    }

    /// Both paths agree, the per-value one was taken; returns `key` of the result.
    fn same(text: &str, key: &str) -> Node {
        let (per_value, whole) = both(text, Eval::All);
        let whole = whole.unwrap_or_else(|e| panic!("{text}: {e}"));
        let per_value = per_value.unwrap_or_else(|| panic!("per value refused: {text}"));
        assert_eq!(emit(&per_value), emit(&whole), "{text}");
        whole.get(key).cloned().expect("key")
    }

    /// The per-value path refuses; returns the whole document's result.
    fn refused(text: &str) -> Result<Map, StackError> {
        let (per_value, whole) = both(text, Eval::All);
        assert!(per_value.is_none(), "per value taken: {text}");
        whole
    }

    fn yaml_node(text: &str) -> Node {
        yaml::parse(text, "want").expect("want")
    }

    #[test]
    fn independent_values_render_alone_as_in_the_document() {
        // The benchmark's values: fields, printf, sprig pipes, a range with variables, an if.
        let out = same(
            "x:\n  name: '{{ .atmos_component }}-{{ .vars.stage }}'\n  \
             label: '{{ printf \"%s/%s\" .atmos_stack .atmos_component | upper }}'\n  \
             region: '{{ .vars.empty | default \"us-east-1\" }}'\n  \
             tags: '{{ range $k, $v := .settings.tags }}{{ $k }}={{ $v }},{{ end }}'\n  \
             size: '{{ if eq .vars.stage \"prod\" }}large{{ else }}small{{ end }}'\n  \
             ws: '{{ .workspace }}'\n",
            "x",
        );
        assert_eq!(
            out,
            yaml_node(
                "{name: api-prod, label: PLAT-PROD/API, region: us-east-1, \
                 tags: 'cost=shared,team=platform,', size: large, ws: plat-prod-api}"
            )
        );
        // Variables declared and used inside one value, the same name in two values.
        let out = same(
            "x:\n  a: '{{ $s := .vars.stage }}{{ $s | upper }}'\n  \
             b: '{{ $s := \"other\" }}{{ $s }}{{ range $i, $e := .vars.list }}{{ $s = $e }}{{ end }}{{ $s }}'\n",
            "x",
        );
        assert_eq!(out, yaml_node("{a: PROD, b: otherb}"));
        // `$` at the top and inside range/with.
        let out = same(
            "x: ['{{ $.vars.stage }}', '{{ range .vars.list }}{{ $.atmos_component }}.{{ . }} {{ end }}', \
             '{{ with .vars }}{{ .tenant }}{{ $.atmos_stack }}{{ end }}']\n",
            "x",
        );
        assert_eq!(out, yaml_node("[prod, 'api.a api.b ', platplat-prod]"));
        // A define used in its own value; a block.
        let out = same(
            "x:\n  a: '{{ define \"n\" }}<{{ . }}>{{ end }}{{ template \"n\" .vars.stage }}'\n  \
             b: '{{ block \"m\" .vars }}[{{ .tenant }}]{{ end }}'\n  c: '{{ .vars.n }}'\n",
            "x",
        );
        assert_eq!(out, yaml_node("{a: <prod>, b: '[plat]', c: '3'}"));
        // Trim markers inside a scalar.
        let out = same(
            "x:\n  a: 'x {{- .vars.stage -}} y'\n  b: x {{- .vars.stage -}} y\n  c: '  {{- .vars.tenant }}'\n",
            "x",
        );
        assert_eq!(out, yaml_node("{a: xprody, b: xprody, c: plat}"));
        // Plain scalars read as YAML reads them: numbers and bools, comments.
        let out = same(
            "x:\n  a: 1{{ .vars.n }}\n  b: t{{ \"rue\" }}\n  c: x{{ .vars.on }}\n  d: a{{ \" \" }}#c\n",
            "x",
        );
        assert_eq!(out, yaml_node("{a: 13, b: true, c: xtrue, d: a}"));
        // Quotes: a `'` in an action's string is doubled in the scalar, read back as one.
        let out = same("x: '{{ \"a''b\" }}{{ .vars.q | len }}'\n", "x");
        assert_eq!(out, Node::Str("a'b4".to_owned()));
        // A map read whole beside one of its keys; a key read through a string.
        let out = same(
            "x: ['{{ len .vars }}', '{{ .vars.stage }}', '{{ .settings.tags }}', '{{ .metadata }}']\n",
            "x",
        );
        let vars = section("").get("vars").and_then(Node::as_map).map(Map::len);
        assert_eq!(
            out,
            Node::Seq(vec![
                Node::Str(vars.expect("vars").to_string()),
                Node::Str("prod".into()),
                Node::Str("map[cost:shared team:platform]".into()),
                Node::Str("map[component:api-base]".into()),
            ])
        );
        // Reading the whole context gives the whole context, not the keys others read.
        let whole = same(
            "x: '{{ len . }}'\ny: '{{ range $k, $v := $ }}{{ $k }},{{ end }}'\n",
            "x",
        );
        let keys = section("x: 1\ny: 1\n").len() + 1; // + workspace
        assert_eq!(whole, Node::Str(keys.to_string()));
    }

    /// One renderer over sections that differ only in what the values read: the converted
    /// context parts and the outputs kept from the previous section are not reused wrongly.
    #[test]
    fn kept_context_parts_and_outputs_follow_the_section() {
        let r = Renderer::new(crate::template::Settings::default(), |_| {});
        let text = "x:\n  a: '{{ .vars.stage }}'\n  b: '{{ range $k, $v := .settings.tags }}{{ $k }}={{ $v }},{{ end }}'\n  \
                    c: '{{ .atmos_component }}-{{ .vars.stage }}'\n  d: '{{ \"const\" }}'\n  \
                    e: '{{ .workspace }}'\n  f: '{{ .extra.k }}'\n";
        let base_tags = "{team: platform, cost: shared}";
        let variants = [
            ("stage: prod", base_tags, "api", "extra: {k: 1}\n"),
            ("stage: dev", base_tags, "api", "extra: {k: 1}\n"),
            (
                "stage: dev",
                "{cost: shared, team: platform}",
                "web",
                "extra: {k: 2, o: x}\n",
            ),
            // `.extra` missing: both fail, and the kept parts and outputs are dropped.
            ("stage: dev", "{team: data, cost: shared}", "web", ""),
            ("stage: prod", base_tags, "api", "extra: {k: 1}\n"),
            // `web-dev` again (an output seen before with the same parts).
            ("stage: dev", base_tags, "web", "extra: {k: 1}\n"),
            // A `workspace` of its own, then the computed one again.
            (
                "stage: prod",
                base_tags,
                "api",
                "extra: {k: 1}\nworkspace: own\n",
            ),
            ("stage: prod", base_tags, "api", "extra: {k: 1}\n"),
        ];
        for (vars, tags, name, extra) in variants {
            let base = BASE
                .replace("stage: prod", vars)
                .replace(base_tags, tags)
                .replace("atmos_component: api", &format!("atmos_component: {name}"));
            let (section, keys) = parsed(&format!("{base}{extra}{text}"), &r);
            let mut whole = section.clone();
            let doc = render_document(&mut whole, &keys, &r, Eval::All, &context(&section), &|p| {
                p.to_owned()
            });
            let case = format!("{vars} {tags} {name} {extra}");
            match (render_values(&section, &keys, Eval::All, &r), doc) {
                (Some(rendered), Ok(())) => {
                    let mut per_value = section.clone();
                    rendered.put_back(&mut per_value);
                    assert_eq!(emit(&per_value), emit(&whole), "{case}");
                }
                (None, Err(e)) => assert!(extra.is_empty(), "{case}: {e}"),
                (per_value, doc) => panic!("{case}: {:?} {doc:?}", per_value.is_some()),
            }
        }
    }

    /// A section parsed from `text`, with the keys of its templated sections.
    fn parsed(text: &str, r: &Renderer) -> (Map, Vec<String>) {
        let Node::Map(section) = yaml::parse(text, "t").expect("yaml") else {
            panic!("map")
        };
        let keys = templated_sections(&section, Eval::All, r)
            .into_iter()
            .map(str::to_owned)
            .collect();
        (section, keys)
    }

    /// Values whose parts differ in every section (the first stops keeping its outputs after a
    /// while) and values whose outputs recur, over many sections with one renderer.
    #[test]
    fn outputs_follow_the_section_over_many_sections() {
        let r = Renderer::new(crate::template::Settings::default(), |_| {});
        let text = "x:\n  a: '{{ .atmos_component }}'\n  b: '{{ .vars.stage }}-{{ len .atmos_component }}'\n";
        for i in (0..600).chain([3, 599, 42]) {
            let stage = if i % 3 == 0 { "dev" } else { "prod" };
            let base = BASE
                .replace("stage: prod", &format!("stage: {stage}"))
                .replace("atmos_component: api", &format!("atmos_component: c{i}"));
            let (section, keys) = parsed(&format!("{base}{text}"), &r);
            let mut out = section.clone();
            render_values(&section, &keys, Eval::All, &r)
                .expect("per value")
                .put_back(&mut out);
            let want = format!("{{a: c{i}, b: {stage}-{}}}", format!("c{i}").len());
            assert_eq!(out["x"], yaml_node(&want), "{i}");
        }
    }

    #[test]
    fn dependent_values_take_the_whole_document() {
        // A define in one value used in another.
        let out = refused("x:\n  a: '{{ define \"d\" }}D{{ .vars.stage }}{{ end }}'\n  b: '{{ template \"d\" . }}'\n")
            .expect("renders");
        assert_eq!(out["x"], yaml_node("{a: '', b: Dprod}"));
        // A top-level variable of one value used by a later one.
        let out =
            refused("x:\n  a: '{{ $v := .vars.tenant }}'\n  b: '{{ $v }}!'\n").expect("renders");
        assert_eq!(out["x"], yaml_node("{a: '', b: plat!}"));
        // The same name defined in two values is Go's parse error.
        let e = refused(
            "x:\n  a: '{{ define \"d\" }}1{{ end }}'\n  b: '{{ define \"d\" }}2{{ end }}'\n",
        )
        .expect_err("multiple definition");
        assert!(
            e.to_string().contains("multiple definition of template"),
            "{e}"
        );
        // A value that renders to several lines: YAML folds the single-quoted scalar.
        let out = refused("x: '{{ .vars.block }}'\n").expect("renders");
        assert_eq!(out["x"], Node::Str("a b: 1".to_owned()));
        // A multi-line value is a literal block.
        let out = refused("x: \"line {{ .vars.stage }}\\ntwo\\n\"\n").expect("renders");
        assert_eq!(out["x"], Node::Str("line prod\ntwo\n".to_owned()));
        // A trim marker at the edge of a plain scalar eats the document's line break.
        let _ = refused("x:\n  a: x {{ .vars.stage -}}\n  b: y\n");
        // A lone quote in the output ends the quoted scalar: both fail.
        assert!(refused("x: '{{ .vars.q }}'\n").is_err());
        // A `'` char constant is doubled in the scalar, which Go does not parse.
        assert!(refused("x: '{{ printf \"%c\" ''a'' }}'\n").is_err());
        // Templated keys, tagged values, errors.
        assert!(refused("x: {'{{ .vars.stage }}': 1}\n").is_ok());
        assert!(refused("x: !secret '{{ .vars.stage }}'\n").is_ok());
        let e = refused("x: {a: ok, b: '{{ .vars.missing.deeper }}'}\n").expect_err("missing");
        assert!(e.to_string().contains("t.yaml `x.b`"), "{e}");
    }

    #[test]
    fn secret_commands_render_the_same_parts_both_ways() {
        let text = "secrets:\n  providers: {p: {spec: {file: 'secrets/{{ .stack }}.yaml'}}}\n  \
                    vars:\n    TOKEN: {store: '{{ .vars.tenant }}-store', reference: '/{{ .stack }}/token'}\n\
                    other: '{{ .vars.nope }}'\n";
        let (per_value, whole) = both(text, Eval::Secrets);
        let whole = whole.expect("whole");
        let per_value = per_value.expect("per value");
        // (The whole document takes the coordinate templates out and puts them back last.)
        assert_eq!(per_value, whole);
        let secrets = &per_value["secrets"];
        assert_eq!(
            secrets
                .get("vars")
                .and_then(|v| v.get("TOKEN"))
                .cloned()
                .expect("TOKEN"),
            yaml_node("{store: plat-store, reference: '/{{ .stack }}/token'}")
        );
        assert_eq!(
            secrets.get("providers").cloned().expect("providers"),
            yaml_node("{p: {spec: {file: 'secrets/{{ .stack }}.yaml'}}}")
        );
        // `other` is not read by secret commands: left as written.
        assert_eq!(per_value["other"], Node::Str("{{ .vars.nope }}".to_owned()));
    }

    #[test]
    fn spacelift_and_atlantis_names_as_atmos() {
        let section = |settings: &str| {
            let text = format!(
                "{{component_type: terraform, atmos_stack: t1-ue2-dev, atmos_component: infra/vpc, vars: {{tenant: t1, stage: dev}}, settings: {settings}}}"
            );
            crate::yaml::parse(&text, "t")
                .expect("yaml")
                .as_map()
                .cloned()
                .expect("map")
        };
        let names = |s: &Map| integration_names(s, "t1-ue2-dev", "infra/vpc");
        assert_eq!(
            names(&section("{spacelift: {workspace_enabled: true}}")),
            vec![("spacelift_stack", "t1-ue2-dev-infra-vpc".to_owned())]
        );
        assert!(names(&section("{spacelift: {workspace_enabled: false}}")).is_empty());
        assert_eq!(
            names(&section(
                "{spacelift: {workspace_enabled: true, stack_name_pattern: '{tenant}-{stage}-{component}'}, atlantis: {project_template: {name: '{tenant}-{component}'}}}"
            )),
            vec![
                ("spacelift_stack", "t1-dev-infra-vpc".to_owned()),
                ("atlantis_project", "t1-infra-vpc".to_owned())
            ]
        );
    }

    #[test]
    fn emitted_documents_read_back_unchanged() {
        let text = "a: '{{ printf \"%s\" .x }}'\nb: \"it's\"\nc: |\n  line {{ .y }}\n  two\nd: [1, {k: v}]\ne: !secret NAME\nf: {}\ng: '- x'\nh: \"tab\\there\"\n";
        let Node::Map(m) = yaml::parse(text, "t").expect("yaml") else {
            panic!("map")
        };
        let out = emit(&m);
        assert!(out.contains("a: '{{ printf \"%s\" .x }}'"), "{out}");
        let back = yaml::parse(&out, "t").expect("reparse");
        assert_eq!(back, Node::Map(m), "{out}");
    }
}
