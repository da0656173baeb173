//! Owns rendering the Go templates of a merged component section, as atmos does: the section is
//! written out as one YAML document, rendered once by the Go engine ([`crate::template`]) with the
//! section itself as the context, and read back — so a `define` in one value is visible in the
//! others, and results are what YAML makes of the rendered text (strings, unless a plain scalar
//! reads as a number or bool, as in atmos).
//!
//! What is rendered depends on the [`Eval`] mode: `describe` renders everything; the secret
//! commands render only the sections they read (`secrets`, `metadata`, `auth` and the vars that
//! name the stack), so a broken template elsewhere cannot fail them. `secrets.providers` and
//! `secrets.vars.*.reference` are never rendered here: they are templates over a secret's
//! coordinate, rendered when the secret is used.
//!
//! Errors name the manifest, the component and the section path of the failing value.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;

use super::{Stack, StackError};
use crate::config::CliConfig;
use crate::template::go::{FuncError, Funcs, Value};
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
pub fn render_section(
    section: &mut Map,
    stack: &Stack,
    name: &str,
    eval: Eval,
) -> Result<(), StackError> {
    let renderer = &stack.renderer;
    // Only the sections that hold a template are copied into the document.
    let keys = templated_sections(section, eval, renderer);
    if keys.is_empty() {
        return Ok(());
    }
    let mut doc = Map::new();
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
    let ctx = context(section);
    if let Some(rendered) = render_values(&doc, renderer, &ctx) {
        let mut parsed = doc;
        let mut rendered = rendered.into_iter();
        replace_templates(&mut parsed, renderer, &mut rendered);
        restore_coordinate_templates(&mut parsed, kept);
        merge_rendered(section, parsed, &written, eval);
        return Ok(());
    }
    let text = emit(&doc);
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
    let rendered = renderer
        .execute(DOC_NAME, &text, &ctx)
        .map_err(|e| locate(&doc, renderer, &ctx, e, &origin))?;
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

/// Renders each templated string of `doc` on its own, in document order, when that gives what
/// rendering the whole document gives: default delimiters, no templated keys, no value that
/// defines or calls a named template, assigns a variable another value could read, trims
/// whitespace outside its scalar or spans lines, and every value renders without error to text
/// that reads back as one scalar. Otherwise `None` (the caller renders the whole document, which
/// also gives Go's exact error). Each value is parsed once per process ([`Renderer`] caches by
/// text), so a catalog value shared by hundreds of stacks costs one parse.
fn render_values(doc: &Map, renderer: &Renderer, ctx: &Context) -> Option<Vec<Node>> {
    if !renderer.default_delimiters() {
        return None;
    }
    let mut texts = Vec::new();
    for (k, v) in doc {
        if renderer.has_template(k) {
            return None;
        }
        templated_strings(v, renderer, &mut texts)?;
    }
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        if text.contains('\n')
            || ["define", "template", "block", ":=", "{{-", "-}}"]
                .iter()
                .any(|w| text.contains(w))
        {
            return None;
        }
        let fragment = scalar(text);
        let rendered = renderer.execute(DOC_NAME, &fragment, ctx).ok()?;
        if rendered.contains('\n') {
            return None;
        }
        match yaml::parse(&format!("v: {rendered}\n"), DOC_NAME).ok()? {
            Node::Map(mut m) if m.len() == 1 => match m.shift_remove("v")? {
                Node::Map(_) | Node::Seq(_) => return None,
                scalar => out.push(scalar),
            },
            _ => return None,
        }
    }
    Some(out)
}

/// The templated strings under `n`, in document order; `None` when a key is templated.
fn templated_strings<'a>(n: &'a Node, r: &Renderer, out: &mut Vec<&'a str>) -> Option<()> {
    match n {
        Node::Str(s) if r.has_template(s) => out.push(s),
        Node::Map(m) => {
            for (k, v) in m {
                if r.has_template(k) {
                    return None;
                }
                templated_strings(v, r, out)?;
            }
        }
        Node::Seq(s) => {
            for v in s {
                templated_strings(v, r, out)?;
            }
        }
        // A tag applies to the re-read text: left to the whole document.
        Node::Tagged(t) if any_template(&t.value, r) => return None,
        _ => {}
    }
    Some(())
}

/// Replaces the templated strings under `doc` with `rendered`, in the order
/// [`templated_strings`] found them.
fn replace_templates(doc: &mut Map, r: &Renderer, rendered: &mut impl Iterator<Item = Node>) {
    fn walk(n: &mut Node, r: &Renderer, rendered: &mut dyn Iterator<Item = Node>) {
        match n {
            Node::Str(s) if r.has_template(s) => {
                if let Some(v) = rendered.next() {
                    *n = v;
                }
            }
            Node::Map(m) => m.values_mut().for_each(|v| walk(v, r, rendered)),
            Node::Seq(s) => s.iter_mut().for_each(|v| walk(v, r, rendered)),
            _ => {}
        }
    }
    for v in doc.values_mut() {
        walk(v, r, rendered);
    }
}

/// The template context: the section itself, plus `workspace` for terraform components (atmos'
/// default: `metadata.terraform_workspace`, else the stack name, suffixed with the instance name
/// when `metadata.component` points elsewhere; `/` becomes `-`).
pub fn context(section: &Map) -> Context {
    if section.contains_key("workspace")
        || section.get("component_type").and_then(Node::as_str) != Some("terraform")
    {
        return Context::from_map(section);
    }
    let text = |n: Option<&Node>| n.and_then(Node::as_str).map(str::to_owned);
    let metadata = section.get("metadata");
    let stack = text(section.get("atmos_stack")).unwrap_or_default();
    let instance = text(section.get("atmos_component")).unwrap_or_default();
    let workspace =
        text(metadata.and_then(|m| m.get("terraform_workspace"))).unwrap_or_else(|| {
            match text(metadata.and_then(|m| m.get("component"))) {
                Some(c) if c != instance => format!("{stack}-{instance}"),
                _ => stack.clone(),
            }
        });
    let mut with = section.clone();
    with.insert(
        "workspace".to_owned(),
        Node::Str(workspace.replace('/', "-")),
    );
    for (key, value) in integration_names(section, &stack, &instance) {
        with.insert(key.to_owned(), Node::Str(value));
    }
    Context::from_map(&with)
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
    let mut view = Map::new();
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

/// A string as the scalar [`emit`] writes for it.
fn scalar(s: &str) -> String {
    yaml::quote_str(s, yaml::Quoting::Template)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rendering value by value gives what rendering the whole document gives, and is refused
    /// where it could not.
    #[test]
    fn values_render_as_the_whole_document_does() {
        let renderer = Renderer::new(crate::template::Settings::default(), |_| {});
        let Node::Map(ctx) = yaml::parse(
            "vars: {stage: prod, n: 3, on: true, q: \"it's\"}\natmos_component: api\n",
            "ctx",
        )
        .expect("ctx") else {
            panic!("map")
        };
        let ctx = Context::from_map(&ctx);
        let text = "a: '{{ .vars.stage }}-{{ .atmos_component }}'\nb: '{{ .vars.n }}'\n\
                    c: x{{ .vars.on }}\nd: ['{{ .vars.n }}', plain, '{{ .vars.on }}']\n\
                    e: {f: '{{ printf \"%s/%d\" .vars.stage 7 | upper }}', g: 5}\n\
                    h: '{{ if eq .vars.stage \"prod\" }}large{{ else }}small{{ end }}'\n";
        let Node::Map(doc) = yaml::parse(text, "doc").expect("doc") else {
            panic!("map")
        };
        let whole = yaml::parse(
            &renderer
                .execute(DOC_NAME, &emit(&doc), &ctx)
                .expect("whole"),
            "whole",
        )
        .expect("reparse");
        let values = render_values(&doc, &renderer, &ctx).expect("per value");
        let mut per_value = doc.clone();
        replace_templates(&mut per_value, &renderer, &mut values.into_iter());
        assert_eq!(Node::Map(per_value), whole);

        for refused in [
            "a: '{{ define \"x\" }}y{{ end }}'\nb: '{{ template \"x\" }}'\n",
            "a: '{{ $x := 1 }}'\nb: '{{ $x }}'\n",
            "a: 'x {{- .vars.stage }}'\n",
            "'{{ .vars.stage }}': 1\n",
            "a: '{{ .vars.q }}'\n",
            "a: '{{ .vars.missing.deeper }}'\n",
            "a: !secret '{{ .vars.stage }}'\n",
        ] {
            let Node::Map(doc) = yaml::parse(refused, "doc").expect("doc") else {
                panic!("map")
            };
            assert!(render_values(&doc, &renderer, &ctx).is_none(), "{refused}");
        }
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
