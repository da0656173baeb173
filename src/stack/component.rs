//! Owns building one [`ComponentInstance`] from a merged stack:
//!
//! 1. stack layer: top-level `vars`/`env`/`settings`/`auth`, and `secrets` stamped `stack`;
//! 2. type layer: `terraform:` (etc.) section of the stack, without `overrides` (no secrets layer);
//! 3. the component's own config over its `metadata.inherits` bases (each resolved the same way,
//!    later bases win), `secrets` stamped `instance`; `metadata` is inherited too (except
//!    `inherits` and `type: abstract`) unless `stacks.inherit.metadata: false`;
//! 4. overrides: top-level, type-level and component `overrides`, `secrets` stamped `instance`.
//!
//! Then the section gets `metadata`, `component`, `component_type`, `stack`, `atmos_*` fields, templates rendered
//! ([`super::templates`]) and load-time YAML functions evaluated, in the sections the stack's
//! [`Eval`] mode reads. `!secret`/`!store`/`!store.get` stay tagged.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use indexmap::IndexMap;
use std::sync::{Arc, Mutex};

use super::functions::{self, YamlFunction};
use super::manifest::FastMap;
use super::merge::{self, ListStrategy};
use super::templates::{self, Eval};
use super::{ComponentInstance, Stack, StackError, close_names};
use crate::config::CliConfig;
use crate::secrets::declare;
use crate::secrets::{Declaration, Scope};
use crate::yaml::{Map, Node};
use std::path::PathBuf;

/// Component types in the order atmos searches them; others follow alphabetically.
pub const TYPE_ORDER: &[&str] = &[
    "terraform",
    "helmfile",
    "packer",
    "ansible",
    "container",
    "emulator",
    "kubernetes",
    "helm",
    "custom",
];

fn components_of<'a>(config: &'a Map, ctype: &str) -> Option<&'a Map> {
    config.get("components")?.get(ctype)?.as_map()
}

/// The component types of a merged stack configuration in search order.
pub fn types(config: &Map) -> Vec<String> {
    let Some(Node::Map(all)) = config.get("components") else {
        return Vec::new();
    };
    let mut out: Vec<String> = TYPE_ORDER
        .iter()
        .filter(|t| all.contains_key(**t))
        .map(|t| (*t).to_owned())
        .collect();
    let mut rest: Vec<String> = all
        .keys()
        .filter(|k| !TYPE_ORDER.contains(&k.as_str()))
        .cloned()
        .collect();
    rest.sort();
    out.extend(rest);
    out
}

fn is_abstract(raw: &Node) -> bool {
    raw.get("metadata")
        .and_then(|m| m.get("type"))
        .and_then(Node::as_str)
        == Some("abstract")
}

/// Finds and builds one instance.
pub fn find(
    cfg: &CliConfig,
    stack: &Stack,
    name: &str,
    ctype: Option<&str>,
) -> Result<ComponentInstance, StackError> {
    let config = stack.config();
    let types: Vec<String> = match ctype {
        Some(t) => vec![t.to_owned()],
        None => types(&config),
    };
    for t in &types {
        if let Some(raw) = components_of(&config, t).and_then(|c| c.get(name)) {
            if is_abstract(raw) {
                return Err(StackError::Abstract {
                    component: name.to_owned(),
                    stack: stack.name.clone(),
                });
            }
            return build(cfg, stack, &config, &config, t, name, stack.eval);
        }
    }
    let mut known: Vec<String> = Vec::new();
    for t in &types {
        if let Some(c) = components_of(&config, t) {
            known.extend(
                c.iter()
                    .filter(|(_, v)| !is_abstract(v))
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    Err(StackError::ComponentNotFound {
        component: name.to_owned(),
        stack: stack.name.clone(),
        suggestions: close_names(name, known.iter().map(String::as_str)),
    })
}

/// Every non-abstract instance of a stack, by type order then name.
pub fn all(cfg: &CliConfig, stack: &Stack) -> Result<Vec<ComponentInstance>, StackError> {
    each(cfg, stack).into_iter().map(|(_, r)| r).collect()
}

/// An instance name and the result of building it.
pub type Built = (String, Result<ComponentInstance, StackError>);

/// Every non-abstract instance of a stack, each built on its own: one that fails does not stop
/// the others (`secret list` shows it as an error row).
pub fn each(cfg: &CliConfig, stack: &Stack) -> Vec<Built> {
    each_as(cfg, stack, stack.eval)
}

/// [`each`], evaluating `eval` instead of the stack's mode. The stack layer and each type's
/// layers are built once for all the stack's instances; for [`Eval::Declarations`] the merged
/// `components` and each component's own section over its bases come from [`Shared`], so a
/// catalog's components are resolved once for every stack that imports the catalog alone.
pub fn each_as(cfg: &CliConfig, stack: &Stack, eval: Eval) -> Vec<Built> {
    let (config, components) = match eval {
        Eval::Declarations => stack.declarations_split(),
        _ => {
            let mut config = stack.config();
            let mut components = Map::default();
            if let Some(c) = config.shift_remove("components") {
                components.insert("components".to_owned(), c);
            }
            (config, Arc::new(components))
        }
    };
    let shared = (eval == Eval::Declarations).then_some(&components);
    let parts = stack_parts(cfg, stack, &config, eval);
    let mut out = Vec::new();
    for t in types(&components) {
        let Some(comps) = components_of(&components, &t) else {
            continue;
        };
        let names = instance_names(comps);
        let layers = parts
            .as_ref()
            .ok()
            .map(|_| type_parts(stack, &config, &t, eval));
        for n in names {
            let built = match (&parts, &layers) {
                (Ok(p), Some(l)) => instance(cfg, stack, p, l, comps, shared, &t, n, eval),
                // The stack layer is malformed: every instance reports it.
                _ => build(cfg, stack, &config, &components, &t, n, eval),
            };
            out.push((n.clone(), built));
        }
    }
    out
}

/// An instance's declarations, computed from the `secrets` of its layers without building its
/// section ([`declared_each`]).
#[derive(Debug, Clone)]
pub struct Declared {
    /// The instance name.
    pub name: Arc<str>,
    /// The component type (shared by the stack's instances of the type).
    pub component_type: Arc<str>,
    /// [`declare::declarations`] of the instance's merged `secrets`, shared with every instance
    /// merged from the same layers.
    pub decls: Arc<Vec<Declaration>>,
    /// What the instance shares with the other [`Declared`] instances of its stack.
    pub context: Arc<DeclaredContext>,
}

/// What the [`Declared`] instances of one stack manifest share: the merged `auth` every one of
/// them has (so one default identity) and the stack's `secrets.providers`. Its `Debug` leaves
/// `auth` out (a stack's `auth` may hold credentials).
pub struct DeclaredContext {
    /// The instances' merged `auth` (`atmos.yaml`'s under the stack's), if any.
    pub auth: Option<Node>,
    /// The stack's `secrets.providers` ([`declare::providers`]).
    pub providers: Arc<IndexMap<String, crate::config::ProviderConfig>>,
}

impl std::fmt::Debug for DeclaredContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeclaredContext")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One instance of a whole-stack enumeration ([`declared_each`]).
#[derive(Debug)]
pub enum Enumerated {
    /// Its declarations, without its section.
    Declared(Declared),
    /// Built in full for [`Eval::Declarations`] (or the error building it gave).
    Built(Result<ComponentInstance, StackError>),
}

/// Every non-abstract instance of a stack, as [`each_as`] with [`Eval::Declarations`] gives
/// them, for commands that only read declarations (`secret list`): an instance whose merged
/// `secrets` and `auth` are plainly its stack layer's and its own section's — no template, no
/// YAML function tag in the sections the secret commands evaluate, no `overrides`, no `auth` or
/// `secrets.providers` of its own — is a [`Declared`] whose declarations are computed from those
/// two `secrets` layers alone (merged with the same merge, so they are the declarations the
/// built section holds) and memoised across stacks; any other instance is built in full.
pub fn declared_each(cfg: &CliConfig, stack: &Stack) -> Vec<(String, Enumerated)> {
    let eval = Eval::Declarations;
    let (config, components) = stack.declarations_split();
    let parts = stack_parts(cfg, stack, &config, eval);
    let fast = parts
        .as_ref()
        .ok()
        .and_then(|p| declared_stack(cfg, stack, p));
    let mut out = Vec::new();
    for t in types(&components) {
        let Some(comps) = components_of(&components, &t) else {
            continue;
        };
        let names = instance_names(comps);
        let layers = parts
            .as_ref()
            .ok()
            .map(|_| type_parts(stack, &config, &t, eval));
        // The type layer holds no `secrets` (not a secrets layer), but its `auth`, a template or
        // a tag in it would reach the instances; and no file of the stack may have `overrides`
        // for the type (at the top level or under it).
        let type_plain = fast.is_some()
            && layers.as_ref().is_some_and(|l| {
                !l.templated && !l.type_layer.contains_key("auth") && !tagged(&l.type_layer)
            })
            && effective_overrides(stack, stack.views(), true, &t, list_strategy(cfg)).is_empty();
        // The type's name, shared by its declared instances (made on the first).
        let mut ctype: Option<Arc<str>> = None;
        for n in names {
            let quick = match (&fast, type_plain) {
                (Some(f), true) => {
                    let ctype = ctype.get_or_insert_with(|| Arc::from(t.as_str()));
                    declared(cfg, stack, f, comps, &components, ctype, n)
                }
                _ => None,
            };
            let item = match (quick, &parts, &layers) {
                (Some(d), _, _) => Enumerated::Declared(d),
                (None, Ok(p), Some(l)) => Enumerated::Built(instance(
                    cfg,
                    stack,
                    p,
                    l,
                    comps,
                    Some(&components),
                    &t,
                    n,
                    eval,
                )),
                // The stack layer is malformed: every instance reports it.
                _ => Enumerated::Built(build(cfg, stack, &config, &components, &t, n, eval)),
            };
            out.push((n.clone(), item));
        }
    }
    out
}

/// What [`declared`] needs of the stack layer, or `None` when its instances must be built.
struct DeclaredStack {
    /// The stamped stack-level `secrets`, and the number [`Shared::stack_secrets`] gives its
    /// text (its `Debug` form, which tells every node kind apart; declarations hold no values):
    /// the memo key.
    secrets: Option<(usize, Node)>,
    context: Arc<DeclaredContext>,
}

fn declared_stack(cfg: &CliConfig, stack: &Stack, parts: &StackParts) -> Option<DeclaredStack> {
    if parts.templated && !cfg.templates_disabled || tagged(&parts.global) {
        return None;
    }
    // The `auth` every plain instance ends with: the stack layer's over `atmos.yaml`'s.
    let mut auth = Map::default();
    if let Some(a) = parts.global.get("auth") {
        auth.insert("auth".to_owned(), a.clone());
    }
    merge_global_auth(cfg, &stack.shared, &mut auth, parts.lists);
    let auth = auth.shift_remove("auth");
    if auth
        .as_ref()
        .is_some_and(|a| !cfg.templates_disabled && templates::any_template(a, &stack.renderer))
        || auth.as_ref().is_some_and(has_tag)
    {
        return None;
    }
    let secrets = parts.global.get("secrets").cloned();
    let mut section = Map::default();
    if let Some(s) = &secrets {
        section.insert("secrets".to_owned(), s.clone());
    }
    section.insert(
        "atmos_stack_file".to_owned(),
        Node::Str(stack.stack_file.clone()),
    );
    let providers = declare::providers(&section).ok()?;
    Some(DeclaredStack {
        secrets: secrets.map(|s| {
            let mut ids = stack
                .shared
                .stack_secrets
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let next = ids.len() + 1;
            let id = *ids.entry(format!("{s:?}")).or_insert(next);
            (id, s)
        }),
        context: Arc::new(DeclaredContext {
            auth,
            providers: Arc::new(providers),
        }),
    })
}

/// The [`Declared`] form of instance `name`, or `None` when it must be built (see
/// [`declared_each`]); errors are left to the full build, which reports them.
#[allow(
    clippy::too_many_arguments,
    reason = "the layers an instance is enumerated from, each computed once per stack or type"
)]
fn declared(
    cfg: &CliConfig,
    stack: &Stack,
    fast: &DeclaredStack,
    comps: &Map,
    components: &Arc<Map>,
    ctype: &Arc<str>,
    name: &str,
) -> Option<Declared> {
    let eval = Eval::Declarations;
    let own = shared_own(cfg, stack, comps, components, ctype, name, eval).ok()?;
    let own_secrets = own.section.get("secrets");
    if (own.templated && !cfg.templates_disabled)
        || own.tagged
        || own.section.contains_key("auth")
        || own_secrets.and_then(|s| s.get("providers")).is_some()
    {
        return None;
    }
    // With no type-level overrides in the stack's files (checked by the caller), the component
    // gets overrides only from its own `overrides` in a file defining it; the merged component
    // has that key whenever any of those files has it (a file replacing the component with a
    // non-map leaves no map: built in full).
    if comps
        .get(name)
        .and_then(Node::as_map)
        .is_none_or(|c| c.contains_key("overrides"))
    {
        return None;
    }
    let lists = list_strategy(cfg);
    let key = (
        fast.secrets.as_ref().map_or(0, |(id, _)| *id),
        ByAddr(own.clone()),
    );
    let memo = |shared: &Shared| {
        shared
            .declared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()
    };
    let decls = match memo(&stack.shared) {
        Some(hit) => hit,
        None => {
            // The instance's `secrets`: the same merge of the same two layers as in
            // [`instance`] (the type layer and the overrides add none).
            let mut section = Map::default();
            if let Some((_, s)) = &fast.secrets {
                section.insert("secrets".to_owned(), s.clone());
            }
            if let Some(s) = own_secrets {
                let mut layer = Map::default();
                layer.insert("secrets".to_owned(), s.clone());
                merge::merge_owned(&mut section, layer, lists);
            }
            let decls = Arc::new(declare::declarations(&section).ok()?);
            stack
                .shared
                .declared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, decls.clone());
            decls
        }
    };
    Some(Declared {
        name: Arc::from(name),
        component_type: ctype.clone(),
        decls,
        context: fast.context.clone(),
    })
}

/// Whether a YAML function tag lies in the sections the secret commands evaluate
/// ([`templates::SECRET_SECTIONS`] and the naming vars) of a layer.
fn tagged(layer: &Map) -> bool {
    templates::SECRET_SECTIONS
        .iter()
        .filter_map(|k| layer.get(*k))
        .any(has_tag)
        || layer
            .get("vars")
            .and_then(Node::as_map)
            .is_some_and(|vars| {
                templates::NAMING_VARS
                    .iter()
                    .filter_map(|k| vars.get(*k))
                    .any(has_tag)
            })
}

fn has_tag(node: &Node) -> bool {
    match node {
        Node::Tagged(_) => true,
        Node::Map(m) => m.values().any(has_tag),
        Node::Seq(s) => s.iter().any(has_tag),
        _ => false,
    }
}

/// The non-abstract components of a type's merged `components.<type>`, sorted by name.
fn instance_names(comps: &Map) -> Vec<&String> {
    let mut names: Vec<&String> = comps
        .iter()
        .filter(|(_, v)| !is_abstract(v))
        .map(|(k, _)| k)
        .collect();
    names.sort();
    names
}

/// A shared value compared and hashed by address: the key of work shared between stacks (the
/// value is kept alive by the key, so an address is never reused while the key exists).
struct ByAddr<T>(Arc<T>);

impl<T> Clone for ByAddr<T> {
    fn clone(&self) -> Self {
        ByAddr(self.0.clone())
    }
}

impl<T> PartialEq for ByAddr<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for ByAddr<T> {}

impl<T> Hash for ByAddr<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}

/// A shared list of declarations.
type DeclList = Arc<Vec<Declaration>>;

/// A component's own section over its bases, with its effective `metadata` and its bases in
/// merge order ([`Resolver::own`]).
struct Own {
    section: Map,
    metadata: Map,
    inheritance: Vec<String>,
    /// Whether `section` or `metadata` holds a template (see [`templated`]).
    templated: bool,
    /// Whether the sections the secret commands evaluate hold a YAML function tag ([`tagged`]).
    tagged: bool,
}

/// Resolved own sections of one merged `components` map, by component type and name.
type OwnByType = FastMap<String, FastMap<String, Arc<Own>>>;

/// Work shared by every stack of one load, for [`Eval::Declarations`] builds: the declarations
/// views of the parsed files, the merged `components` of those views, keyed by the parsed files
/// that define components (stacks importing the same catalog and defining no components of
/// their own share one), and each component's resolved own section in it. The maps looked up
/// per instance hash with foldhash (keys are addresses and names). Only successes are kept: an
/// error names its stack, so a failing component is resolved again (and reported) in each
/// stack.
#[derive(Default)]
pub struct Shared {
    /// One declarations view per parsed body (a catalog shared by every stack is viewed once).
    views: Mutex<HashMap<ByAddr<Map>, Arc<Map>>>,
    components: Mutex<HashMap<Vec<ByAddr<Map>>, Arc<Map>>>,
    /// By merged `components`, component type and name (nested so that lookups borrow their
    /// keys).
    own: Mutex<FastMap<ByAddr<Map>, OwnByType>>,
    /// [`Declared::decls`] by the stack layer's stamped `secrets` (as text) and the
    /// component's resolved own section: a catalog component declares the same secrets in
    /// every stack whose own declarations are the same.
    declared: Mutex<FastMap<(usize, ByAddr<Own>), DeclList>>,
    /// The distinct stack-level `secrets` texts of [`Shared::declared`]'s keys, numbered.
    stack_secrets: Mutex<FastMap<String, usize>>,
    /// `atmos.yaml`'s `auth:` as components show it ([`merge_global_auth`]), built once.
    global_auth: std::sync::OnceLock<Option<Map>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// The declarations views ([`super::view`]) of `layers`, each made once per parsed body.
    pub(crate) fn views(&self, layers: &[Arc<Map>]) -> super::manifest::Layers {
        let mut cache = self.views.lock().unwrap_or_else(|p| p.into_inner());
        Arc::new(
            layers
                .iter()
                .map(|l| {
                    cache
                        .entry(ByAddr(l.clone()))
                        .or_insert_with(|| Arc::new(super::view::of_file(l)))
                        .clone()
                })
                .collect(),
        )
    }

    /// A map holding only the merged `components` of `views` (empty if none defines any).
    pub(crate) fn components(&self, views: &[Arc<Map>], lists: ListStrategy) -> Arc<Map> {
        let defining: Vec<ByAddr<Map>> = views
            .iter()
            .filter(|v| v.contains_key("components"))
            .map(|v| ByAddr(v.clone()))
            .collect();
        let mut cache = self.components.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&defining) {
            return hit.clone();
        }
        let layers: Vec<Arc<Map>> = defining.iter().map(|d| d.0.clone()).collect();
        let merged = Arc::new(super::manifest::merge_layers(
            &layers,
            Some(&["components"]),
            lists,
        ));
        cache.insert(defining, merged.clone());
        merged
    }

    fn own(&self, components: &ByAddr<Map>, ctype: &str, name: &str) -> Option<Arc<Own>> {
        self.own
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(components)?
            .get(ctype)?
            .get(name)
            .cloned()
    }

    fn keep_own(&self, components: ByAddr<Map>, ctype: &str, name: &str, own: Arc<Own>) {
        self.own
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(components)
            .or_default()
            .entry(ctype.to_owned())
            .or_default()
            .insert(name.to_owned(), own);
    }
}

fn map_of(node: Option<&Node>) -> Map {
    node.and_then(Node::as_map).cloned().unwrap_or_default()
}

/// A copy of `map` without the keys `skip`.
fn without(map: &Map, skip: &[&str]) -> Map {
    map.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn list_strategy(cfg: &CliConfig) -> ListStrategy {
    cfg.settings
        .get("list_merge_strategy")
        .and_then(Node::as_str)
        .and_then(ListStrategy::parse)
        .unwrap_or_default()
}

/// Stamps `layer.secrets` (if any) for `position`.
fn stamp_layer(mut layer: Map, position: Scope, stack: &Stack) -> Result<Map, StackError> {
    if let Some(s) = layer.get("secrets") {
        let stamped = declare::stamp(s, position, &stack.manifest)?;
        layer.insert("secrets".to_owned(), stamped);
    }
    Ok(layer)
}

struct Resolver<'a> {
    stack: &'a Stack,
    comps: &'a Map,
    lists: ListStrategy,
    chain: Vec<String>,
    /// Bases in merge order, for the `inheritance` field.
    inheritance: Vec<String>,
    /// `stacks.inherit.metadata` (default on).
    inherit_metadata: bool,
    /// The component type.
    ctype: &'a str,
    /// The folder holding the components of the type (`components.<type>.base_path`).
    folders: PathBuf,
}

impl Resolver<'_> {
    /// The component's config over its bases, without `metadata`/`overrides`.
    /// Also returns the effective `metadata`: the bases' metadata (without `inherits` and without
    /// `type: abstract`) under the component's own, when `stacks.inherit.metadata` is on.
    fn own(&mut self, name: &str) -> Result<(Map, Map), StackError> {
        if let Some(pos) = self.chain.iter().position(|c| c == name) {
            let mut chain = self.chain[pos..].to_vec();
            chain.push(name.to_owned());
            return Err(StackError::InheritanceCycle {
                stack: self.stack.name.clone(),
                chain,
            });
        }
        let empty = Map::default();
        let raw = self
            .comps
            .get(name)
            .and_then(Node::as_map)
            .unwrap_or(&empty);
        let meta = raw.get("metadata").and_then(Node::as_map).unwrap_or(&empty);
        let mut bases: Vec<String> = Vec::new();
        // Top-level `component: <other>` inheritance, as atmos: it names another component of the
        // stack, or else a component folder (then it is no base); anything else is an error. A
        // base that is abstract is not followed through its own `component:`.
        let abstract_base =
            !self.chain.is_empty() && meta.get("type").and_then(Node::as_str) == Some("abstract");
        match raw.get("component") {
            None | Some(Node::Null) => {}
            Some(_) if abstract_base => {}
            Some(Node::Str(c)) if c == name || c.is_empty() => {}
            Some(Node::Str(c)) if self.comps.contains_key(c.as_str()) => bases.push(c.clone()),
            Some(Node::Str(c)) => {
                let folder = self.folders.join(c);
                if !folder.is_dir() {
                    return Err(StackError::ComponentBaseNotFound {
                        component: name.to_owned(),
                        base: c.clone(),
                        stack: self.stack.name.clone(),
                        file: self.stack.manifest.clone(),
                        folder,
                    });
                }
            }
            Some(other) => {
                return Err(StackError::InvalidComponentAttribute {
                    component_type: self.ctype.to_owned(),
                    component: name.to_owned(),
                    stack: self.stack.name.clone(),
                    found: other.type_name().to_owned(),
                });
            }
        }
        if let Some(Node::Seq(items)) = meta.get("inherits") {
            bases.extend(items.iter().filter_map(Node::as_str).map(str::to_owned));
        }
        self.chain.push(name.to_owned());
        let mut out = Map::default();
        let mut metadata = Map::default();
        for base in &bases {
            if !self.comps.contains_key(base) {
                return Err(StackError::BaseNotFound {
                    component: self.chain.first().cloned().unwrap_or_default(),
                    base: base.clone(),
                    stack: self.stack.name.clone(),
                    file: self.stack.manifest.clone(),
                });
            }
            let (resolved, mut base_meta) = self.own(base)?;
            merge::merge_owned(&mut out, resolved, self.lists);
            if self.inherit_metadata {
                base_meta.shift_remove("inherits");
                if base_meta.get("type").and_then(Node::as_str) == Some("abstract") {
                    base_meta.shift_remove("type");
                }
                merge::merge_owned(&mut metadata, base_meta, self.lists);
            }
            if !self.inheritance.contains(base) {
                self.inheritance.push(base.clone());
            }
        }
        self.chain.pop();
        let layer = without(raw, &["metadata", "overrides"]);
        let layer = stamp_layer(layer, Scope::Instance, self.stack)?;
        merge::merge_owned(&mut out, layer, self.lists);
        merge::merge_into(&mut metadata, meta, self.lists);
        Ok((out, metadata))
    }
}

/// As atmos: `integrations.github` of `atmos.yaml` under the component's
/// `settings.integrations.github` (the stack's values win).
fn merge_github_integration(cfg: &CliConfig, section: &mut Map, lists: ListStrategy) {
    let Some(Node::Map(github)) = cfg.integrations.get("github") else {
        return;
    };
    let own = section
        .get("settings")
        .and_then(|s| s.get("integrations"))
        .and_then(|i| i.get("github"));
    let merged = merge::merge_all([github, &map_of(own)], lists);
    if merged.is_empty() {
        return;
    }
    let settings = section
        .entry("settings".to_owned())
        .or_insert_with(|| Node::Map(Map::default()));
    let Node::Map(settings) = settings else {
        return;
    };
    let integrations = settings
        .entry("integrations".to_owned())
        .or_insert_with(|| Node::Map(Map::default()));
    if let Node::Map(integrations) = integrations {
        integrations.insert("github".to_owned(), Node::Map(merged));
    }
}

/// The `overrides` component `name` of type `ctype` gets, as atmos' stack processor
/// (`internal/exec/stack_processor_utils.go`) computes them: the effective overrides
/// ([`effective_overrides`]) of every file defining the component, in merge order, each under
/// the component's own `overrides` in that file (atmos replaces the component's own with the
/// file's when the file has any; decisions.md).
fn scoped_overrides(
    stack: &Stack,
    layers: &[std::sync::Arc<Map>],
    declarations: bool,
    ctype: &str,
    name: &str,
    lists: ListStrategy,
) -> Map {
    let effective = effective_overrides(stack, layers, declarations, ctype, lists);
    let mut out = Map::default();
    for (i, layer) in layers.iter().enumerate() {
        let Some(comp) = layer
            .get("components")
            .and_then(|c| c.get(ctype))
            .and_then(|t| t.get(name))
        else {
            continue;
        };
        if let Some(e) = effective.get(i) {
            merge::merge_into(&mut out, e, lists);
        }
        merge::merge_into(&mut out, &map_of(comp.get("overrides")), lists);
    }
    out
}

/// The effective overrides of each of `layers` (the stack's files in merge order: post-order of
/// the import tree, each file after its imports; `stack.depths` gives their import depth),
/// computed once per stack, component type and view.
///
/// A file's *inline* overrides are its `overrides` under its `<type>.overrides`, under those of
/// each file importing it, up to the top-level manifest (an importer wins over what it imports).
/// A file's *effective* overrides are the inline overrides of every file before it in merge
/// order and its own, merged in that order: they reach the components defined in that file, so
/// an override applies to the components of the file that declares it, of the files it imports,
/// and of files imported after it, never to components of files merged before it.
fn effective_overrides(
    stack: &Stack,
    layers: &[std::sync::Arc<Map>],
    declarations: bool,
    ctype: &str,
    lists: ListStrategy,
) -> std::sync::Arc<Vec<Map>> {
    let key = (ctype.to_owned(), declarations);
    if let Some(hit) = stack
        .overrides
        .lock()
        .ok()
        .and_then(|cache| cache.get(&key).cloned())
    {
        return hit;
    }
    let own: Vec<Map> = layers
        .iter()
        .map(|l| {
            let mut own = map_of(l.get("overrides"));
            let typed = map_of(l.get(ctype).and_then(|t| t.get("overrides")));
            merge::merge_owned(&mut own, typed, lists);
            own
        })
        .collect();
    let effective = if own.iter().all(Map::is_empty) {
        Vec::new()
    } else {
        let depths = stack.depths();
        let depth = |i: usize| depths.get(i).copied().unwrap_or(0);
        // Inline overrides from the manifest down: an importer comes after what it imports.
        let mut inline: Vec<Map> = vec![Map::default(); own.len()];
        for i in (0..own.len()).rev() {
            let parent = (i + 1..own.len()).find(|&j| depth(j) < depth(i));
            let mut mine = own[i].clone();
            if let Some(p) = parent {
                merge::merge_into(&mut mine, &inline[p], lists);
            }
            inline[i] = mine;
        }
        let mut acc = Map::default();
        inline
            .into_iter()
            .map(|layer| {
                merge::merge_owned(&mut acc, layer, lists);
                acc.clone()
            })
            .collect()
    };
    let effective = std::sync::Arc::new(effective);
    if let Ok(mut cache) = stack.overrides.lock() {
        cache.insert(key, std::sync::Arc::clone(&effective));
    }
    effective
}

/// As atmos (`processAuthConfig`): when `atmos.yaml` defines `auth.providers` or
/// `auth.identities`, the whole `auth:` of `atmos.yaml`, as atmos serializes it (`realm` as
/// reported, `logs` and `keyring` always present), lies under the component's `auth` (the
/// stack's values win). Its secret-looking values (identity `credentials`, tokens…) are masked
/// as `describe config` masks them: `describe` prints this section, and nothing reads
/// credentials from it (identities are resolved from the configuration itself).
fn merge_global_auth(cfg: &CliConfig, shared: &Shared, section: &mut Map, lists: ListStrategy) {
    let global = shared.global_auth.get_or_init(|| global_auth(cfg, lists));
    let Some(global) = global else {
        return;
    };
    let mut global = global.clone();
    let own = map_of(section.get("auth"));
    merge::merge_into(&mut global, &own, lists);
    section.insert("auth".to_owned(), Node::Map(global));
}

/// `atmos.yaml`'s `auth:` as [`merge_global_auth`] adds it to every component, masked; `None`
/// when it defines no providers and no identities.
fn global_auth(cfg: &CliConfig, lists: ListStrategy) -> Option<Map> {
    let masked = cfg.raw.masked(crate::printer::MASK);
    let Some(Node::Map(raw)) = masked.get("auth") else {
        return None;
    };
    let providers = raw.get("providers").filter(|p| !p.is_null());
    let identities = raw.get("identities").filter(|i| !i.is_null());
    if providers.is_none() && identities.is_none() {
        return None;
    }
    let mut global = Map::default();
    global.insert("realm".to_owned(), Node::Str(cfg.reported_realm()));
    let mut logs = Map::default();
    logs.insert("file".to_owned(), Node::Str(String::new()));
    logs.insert("level".to_owned(), Node::Str(String::new()));
    merge::merge_into(&mut logs, &map_of(raw.get("logs")), lists);
    global.insert("logs".to_owned(), Node::Map(logs));
    global.insert("keyring".to_owned(), Node::Map(map_of(raw.get("keyring"))));
    for key in ["console", "integrations"] {
        if let Some(v) = raw.get(key).filter(|v| !v.is_null()) {
            global.insert(key.to_owned(), v.clone());
        }
    }
    global.insert(
        "providers".to_owned(),
        providers.cloned().unwrap_or(Node::Null),
    );
    global.insert(
        "identities".to_owned(),
        identities.cloned().unwrap_or(Node::Null),
    );
    Some(global)
}

/// What every instance of one stack starts from: the stack layer (`secrets` stamped `stack`).
struct StackParts {
    lists: ListStrategy,
    global: Map,
    /// Whether `global` holds a template in the sections `eval` renders.
    templated: bool,
}

/// Whether `part`, one of the layers an instance is merged from, holds a template in the
/// sections `eval` renders. Merging only moves keys and values, so when no part does, the
/// merged section does not either and is not searched again (not for [`Eval::All`], which also
/// renders the fields added after the merge).
fn templated(part: &Map, eval: Eval, stack: &Stack) -> bool {
    eval == Eval::All || !templates::templated_sections(part, eval, &stack.renderer).is_empty()
}

fn stack_parts(
    cfg: &CliConfig,
    stack: &Stack,
    config: &Map,
    eval: Eval,
) -> Result<StackParts, StackError> {
    let mut global = Map::default();
    for key in ["vars", "env", "settings", "auth", "secrets"] {
        if let Some(v) = config.get(key) {
            global.insert(key.to_owned(), v.clone());
        }
    }
    let global = stamp_layer(global, Scope::Stack, stack)?;
    Ok(StackParts {
        lists: list_strategy(cfg),
        templated: templated(&global, eval, stack),
        global,
    })
}

/// What every instance of one component type shares: the type layer.
struct TypeParts {
    type_layer: Map,
    /// Whether `type_layer` holds a template (see [`templated`]).
    templated: bool,
}

fn type_parts(stack: &Stack, config: &Map, ctype: &str, eval: Eval) -> TypeParts {
    let empty = Map::default();
    let type_section = config.get(ctype).and_then(Node::as_map).unwrap_or(&empty);
    let type_layer = without(type_section, &["overrides", "secrets"]);
    TypeParts {
        templated: templated(&type_layer, eval, stack),
        type_layer,
    }
}

/// Builds the instance `name` of type `ctype` (which must exist) from the stack's merged
/// `config` ([`Stack::config`], or [`Stack::declarations_config`] for [`Eval::Declarations`]);
/// `components` is a map holding the merged `components` (`config` itself will do).
pub fn build(
    cfg: &CliConfig,
    stack: &Stack,
    config: &Map,
    components: &Map,
    ctype: &str,
    name: &str,
    eval: Eval,
) -> Result<ComponentInstance, StackError> {
    let parts = stack_parts(cfg, stack, config, eval)?;
    let layers = type_parts(stack, config, ctype, eval);
    let empty = Map::default();
    let comps = components_of(components, ctype).unwrap_or(&empty);
    instance(cfg, stack, &parts, &layers, comps, None, ctype, name, eval)
}

/// The component's own section over its bases ([`Resolver::own`]), with what the builders
/// check of it.
fn resolve_own(
    cfg: &CliConfig,
    stack: &Stack,
    comps: &Map,
    ctype: &str,
    name: &str,
    eval: Eval,
) -> Result<Own, StackError> {
    let mut resolver = Resolver {
        stack,
        comps,
        lists: list_strategy(cfg),
        chain: Vec::new(),
        inheritance: Vec::new(),
        inherit_metadata: cfg.stacks.inherit_metadata.unwrap_or(true),
        ctype,
        folders: cfg.component_base_path(ctype),
    };
    let (section, metadata) = resolver.own(name)?;
    let r = &stack.renderer;
    Ok(Own {
        templated: templated(&section, eval, stack)
            || metadata
                .iter()
                .any(|(k, v)| r.has_template(k) || templates::any_template(v, r)),
        tagged: tagged(&section) || metadata.values().any(has_tag),
        section,
        metadata,
        inheritance: resolver.inheritance,
    })
}

/// [`resolve_own`] once for every stack sharing the merged `components` (see [`Shared`]).
fn shared_own(
    cfg: &CliConfig,
    stack: &Stack,
    comps: &Map,
    components: &Arc<Map>,
    ctype: &str,
    name: &str,
    eval: Eval,
) -> Result<Arc<Own>, StackError> {
    let key = ByAddr(components.clone());
    if let Some(hit) = stack.shared.own(&key, ctype, name) {
        return Ok(hit);
    }
    let own = Arc::new(resolve_own(cfg, stack, comps, ctype, name, eval)?);
    stack.shared.keep_own(key, ctype, name, own.clone());
    Ok(own)
}

/// Builds one instance over its stack's and type's layers; `shared` (the merged components of
/// the declarations views, see [`Shared`]) lets the component's own section be resolved once
/// for every stack sharing them.
#[allow(
    clippy::too_many_arguments,
    reason = "the layers an instance is built from, each computed once per stack or type"
)]
fn instance(
    cfg: &CliConfig,
    stack: &Stack,
    parts: &StackParts,
    layers: &TypeParts,
    comps: &Map,
    shared: Option<&Arc<Map>>,
    ctype: &str,
    name: &str,
    eval: Eval,
) -> Result<ComponentInstance, StackError> {
    let lists = parts.lists;

    // 1. stack layer, 2. type layer: `parts`, `layers`.
    // 3. bases + component
    let (own, metadata, inheritance, own_templated) = match shared {
        Some(components) => {
            let own = shared_own(cfg, stack, comps, components, ctype, name, eval)?;
            (
                own.section.clone(),
                own.metadata.clone(),
                own.inheritance.clone(),
                own.templated,
            )
        }
        None => {
            let own = resolve_own(cfg, stack, comps, ctype, name, eval)?;
            (own.section, own.metadata, own.inheritance, own.templated)
        }
    };
    // 4. overrides, scoped as atmos scopes them (see `scoped_overrides`). The files are the ones
    // `config` was merged from (the declarations views when only declarations are built).
    let files: &[Arc<Map>] = if eval == Eval::Declarations {
        stack.views()
    } else {
        stack.layers()
    };
    let overrides = scoped_overrides(stack, files, eval == Eval::Declarations, ctype, name, lists);
    let overrides = stamp_layer(overrides, Scope::Instance, stack)?;
    let may_be_templated =
        parts.templated || layers.templated || own_templated || templated(&overrides, eval, stack);

    // Each layer is freshly built: move it in rather than clone it again.
    let mut section = parts.global.clone();
    merge::merge_owned(&mut section, layers.type_layer.clone(), lists);
    merge::merge_owned(&mut section, own, lists);
    merge::merge_owned(&mut section, overrides, lists);
    merge_github_integration(cfg, &mut section, lists);
    merge_global_auth(cfg, &stack.shared, &mut section, lists);
    // `atmos.yaml`'s `auth` may have joined the section's (the parts did not hold it).
    let may_be_templated = may_be_templated
        || section
            .get("auth")
            .is_some_and(|a| templates::any_template(a, &stack.renderer));
    let component = metadata
        .get("component")
        .and_then(Node::as_str)
        .map(str::to_owned)
        .or_else(|| {
            section
                .get("component")
                .and_then(Node::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| name.to_owned());
    section.insert("metadata".to_owned(), Node::Map(metadata));
    section.insert("component".to_owned(), Node::Str(component));
    section.insert("atmos_component".to_owned(), Node::Str(name.to_owned()));
    section.insert("atmos_stack".to_owned(), Node::Str(stack.name.clone()));
    section.insert(
        "atmos_stack_file".to_owned(),
        Node::Str(stack.stack_file.clone()),
    );
    section.insert(
        "atmos_manifest".to_owned(),
        Node::Str(stack.stack_file.clone()),
    );
    section.insert("stack".to_owned(), Node::Str(stack.name.clone()));
    section.insert("component_type".to_owned(), Node::Str(ctype.to_owned()));
    if !inheritance.is_empty() {
        section.insert(
            "inheritance".to_owned(),
            Node::Seq(inheritance.into_iter().map(Node::Str).collect()),
        );
    }

    if !cfg.templates_disabled && may_be_templated {
        if eval == Eval::Declarations
            && !templates::templated_sections(&section, eval, &stack.renderer).is_empty()
        {
            // A template may read any section: build this one in full.
            let full = stack.config();
            return build(cfg, stack, &full, &full, ctype, name, Eval::Secrets);
        }
        templates::render_section(&mut section, stack, name, eval)?;
    }
    let env = map_of(section.get("env"));
    let check_store = |f: &YamlFunction| match f {
        YamlFunction::Store(s) if cfg.stores.get(&s.store).is_some_and(|st| st.secret) => {
            Err(format!(
                "store is a secret store; use !secret instead of !store: store \"{}\" (in !store {})",
                s.store, s.expr
            ))
        }
        _ => Ok(()),
    };
    let failed = |message: String| StackError::Function {
        component: name.to_owned(),
        stack: stack.name.clone(),
        file: stack.manifest.clone(),
        message,
    };
    match eval {
        Eval::All => {
            for v in section.values_mut() {
                functions::evaluate_load_time(v, &env, &check_store).map_err(failed)?;
            }
        }
        // Secret commands never evaluate `!store`/`!exec`/… outside what they read, and the
        // secret-store refusal belongs where a `!store` is resolved (describe, runtime).
        Eval::Secrets | Eval::Declarations => {
            for key in templates::SECRET_SECTIONS {
                if let Some(v) = section.get_mut(*key) {
                    functions::evaluate_load_time(v, &env, &|_| Ok(())).map_err(failed)?;
                }
            }
            if let Some(Node::Map(vars)) = section.get_mut("vars") {
                for key in templates::NAMING_VARS {
                    if let Some(v) = vars.get_mut(*key) {
                        functions::evaluate_load_time(v, &env, &|_| Ok(())).map_err(failed)?;
                    }
                }
            }
        }
    }
    Ok(ComponentInstance {
        stack: stack.name.clone(),
        manifest: stack.manifest.clone(),
        files: stack.files().clone(),
        component_type: ctype.to_owned(),
        name: name.to_owned(),
        section,
    })
}
