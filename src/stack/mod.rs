//! Owns stack manifests: finding top-level stack files, `import:` (with cycle detection), deep
//! merge, component inheritance and overrides, logical stack names, templates and YAML functions.
//!
//! Reading order for a newcomer:
//! 1. [`manifest`]: top-level files from `stacks.included_paths`, each file parsed once per
//!    process (loaders on two threads share one [`manifest::Cache`]), `!include` evaluated,
//!    `import:` resolved recursively (cached per file).
//! 2. [`load`] (here): one [`Stack`] per top-level file, named by [`naming`] from its stack-level
//!    sections only; nothing is merged for components until a stack is used, and a stack's merge
//!    is not kept (whole-tree commands hold one stack at a time). When declarations are first
//!    built, each parsed file gets its declarations view ([`view`]), shared by every stack
//!    importing it, and a catalog's merged components and resolved bases are shared the same way
//!    ([`component::Shared`]).
//! 3. [`component`]: one [`ComponentInstance`] = stack layers + `metadata.inherits` bases + the
//!    component + overrides, with `secrets` scope-stamped per layer (`secrets::declare`), then
//!    templates ([`templates`], over [`crate::template`]) and load-time YAML functions
//!    ([`functions`]), in the sections the command reads ([`Eval`]); commands that enumerate
//!    declarations build from the merged views ([`Eval::Declarations`]), and `secret list`
//!    reads an instance's declarations straight off its stack layer and its cached own section
//!    when nothing could change them ([`component::declared_each`]).
//! 4. [`functions::resolve_tags`]: commands swap `!secret`/`!store` tags for values.
//!
//! [`merge`] is pure; everything that touches the file system lives in [`manifest`].

pub mod component;
pub mod component_path;
pub mod functions;
mod index;
pub mod manifest;
pub mod merge;
pub mod naming;
pub mod provenance;
pub mod schema;
pub mod templates;
pub mod validate;
pub mod view;

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::config::CliConfig;
use crate::error::Diagnose;
use crate::secrets::declare::DeclareError;
use crate::yaml::{Map, YamlError};

pub use crate::template::{TemplateError, render};
pub use templates::Eval;

/// One component instance in one stack, fully merged.
#[derive(Debug, Clone)]
pub struct ComponentInstance {
    /// Logical stack name.
    pub stack: String,
    /// The top-level manifest the stack came from.
    pub manifest: PathBuf,
    /// Every file merged into the stack, imports first, `manifest` last (shared with the stack).
    pub files: manifest::LayerFiles,
    /// Component type (`terraform`, `helmfile`, …).
    pub component_type: String,
    /// The instance name (key under `components.<type>`).
    pub name: String,
    /// The merged section: `vars`, `env`, `settings`, `secrets` (with stamped scopes),
    /// `metadata`, `auth`, `component`, … `!secret`/`!store`/`!store.get` stay tagged.
    pub section: Map,
}

/// Per (component type, declarations view?): the effective `overrides` of each layer.
type OverridesCache = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<(String, bool), std::sync::Arc<Vec<Map>>>>,
>;

/// One logical stack: a top-level manifest with its imports.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Logical name.
    pub name: String,
    /// The top-level manifest (absolute).
    pub manifest: PathBuf,
    /// The manifest path relative to the stacks base path, without extension.
    pub stack_file: String,
    /// Whether the manifest names itself (`name:`); then its path is not a valid stack name.
    pub explicit_name: bool,
    /// The manifest with its imports: the parsed bodies (shared with every other stack
    /// importing the same files), their files and import depths, made flat on first use.
    tree: manifest::Tree,
    /// The effective `overrides` of each layer, per component type and view (`component`
    /// computes them once per stack).
    overrides: OverridesCache,
    /// The declarations views ([`view`]) of `layers`, shared the same way; made on first use
    /// (commands that build no declarations never make them).
    views: std::sync::OnceLock<manifest::Layers>,
    lists: merge::ListStrategy,
    /// The project's template renderer (function set shared by every stack).
    renderer: crate::template::Renderer,
    /// What building a component evaluates.
    eval: Eval,
    /// Work shared by every stack of one [`load`] (see [`component::Shared`]).
    shared: std::sync::Arc<component::Shared>,
}

impl Stack {
    /// The manifest with its imports.
    pub(crate) fn tree(&self) -> &manifest::Tree {
        &self.tree
    }

    /// Every file merged into this stack, imports first, `manifest` last.
    pub fn files(&self) -> &manifest::LayerFiles {
        self.tree.files()
    }

    /// The parsed bodies of [`Stack::files`], in merge order.
    pub(crate) fn layers(&self) -> &manifest::Layers {
        self.tree.layers()
    }

    /// The import depth of each of [`Stack::layers`] (0 = `manifest`), for `overrides` scoping.
    pub(crate) fn depths(&self) -> &std::sync::Arc<Vec<usize>> {
        self.tree.depths()
    }

    /// The merged manifest (imports first, the file on top), without `import`. Merged on each
    /// call and not kept: a whole-tree command holds one stack's merge at a time, and the parsed
    /// files stay shared between stacks.
    pub fn config(&self) -> Map {
        manifest::merge_layers(self.layers(), None, self.lists)
    }

    /// The merged declarations views ([`view`]): what [`Stack::config`] holds in the sections
    /// that secret declarations read, and nothing else.
    pub fn declarations_config(&self) -> Map {
        manifest::merge_layers(self.views(), None, self.lists)
    }

    /// The declarations views of the stack's layers, in merge order.
    pub(crate) fn views(&self) -> &manifest::Layers {
        self.views.get_or_init(|| self.shared.views(self.layers()))
    }

    /// [`Stack::declarations_config`] in two parts: everything but `components`, and a map
    /// holding only the merged `components`. The second is merged once for every stack whose
    /// views define components in the same files (a catalog imported by hundreds of stacks is
    /// merged once, not per stack) and shared between them.
    pub(crate) fn declarations_split(&self) -> (Map, std::sync::Arc<Map>) {
        let views = self.views();
        let rest = manifest::merge_layers_except(views, &["components"], self.lists);
        let components = self.shared.components(views, self.lists);
        (rest, components)
    }
}

/// Every stack of the project, keyed by logical name (sorted).
#[derive(Debug, Clone, Default)]
pub struct Stacks {
    /// Stacks by logical name (the first manifest, in path order, that has the name).
    pub stacks: IndexMap<String, Stack>,
    /// Later manifests whose name an earlier one already has. As in atmos, two manifests may
    /// resolve to one stack name: a component is looked up in each, and is a duplicate only
    /// when two of them define it differently.
    pub shadowed: Vec<Stack>,
    /// The names of the project's other stacks, when only some were loaded ([`load_for`]):
    /// "did you mean" suggestions still come from every stack.
    unloaded: Vec<String>,
}

/// What can go wrong while loading stacks and building components.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid YAML.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A field has the wrong shape.
    #[error("invalid `{field}` in `{}`: {message}", file.display())]
    Invalid {
        /// The manifest.
        file: PathBuf,
        /// Dotted field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An `import:` entry cannot be resolved.
    #[error("invalid import `{import}` in `{}`: {message}", file.display())]
    Import {
        /// The importing manifest.
        file: PathBuf,
        /// The entry as written.
        import: String,
        /// What is wrong.
        message: String,
    },
    /// Imports form a cycle.
    #[error("import cycle: {}", chain.join(" → "))]
    ImportCycle {
        /// The files, first = last.
        chain: Vec<String>,
    },
    /// Two manifests of one stack name define a component differently.
    #[error("duplicate component configuration: component `{component}` of stack `{name}` is defined differently by two manifests: `{}` and `{}`", first.display(), second.display())]
    DuplicateStack {
        /// The logical name.
        name: String,
        /// The component.
        component: String,
        /// The first manifest.
        first: PathBuf,
        /// The second manifest.
        second: PathBuf,
    },
    /// The stack was asked for by its manifest path, but the manifest names itself.
    #[error(
        "invalid stack `{stack}`: the manifest names its stack `{canonical}` (`name:`), so its path is not a stack name"
    )]
    StackRenamed {
        /// The name asked for.
        stack: String,
        /// The stack's name.
        canonical: String,
    },
    /// No stack has that name.
    #[error("stack `{stack}` not found")]
    StackNotFound {
        /// The name asked for.
        stack: String,
        /// Close names.
        suggestions: Vec<String>,
    },
    /// The stack has no such component.
    #[error("component `{component}` not found in stack `{stack}`")]
    ComponentNotFound {
        /// The component asked for.
        component: String,
        /// The stack.
        stack: String,
        /// Close names.
        suggestions: Vec<String>,
    },
    /// The component is abstract.
    #[error(
        "component `{component}` in stack `{stack}` is abstract (`metadata.type: abstract`) and is not a deployable instance"
    )]
    Abstract {
        /// The component.
        component: String,
        /// The stack.
        stack: String,
    },
    /// `metadata.inherits` names a missing component.
    #[error("component `{component}` in stack `{stack}` inherits from `{base}`, which is not defined in the stack (manifest `{}`)", file.display())]
    BaseNotFound {
        /// The component.
        component: String,
        /// The missing base.
        base: String,
        /// The stack.
        stack: String,
        /// The top-level manifest.
        file: PathBuf,
    },
    /// A component's `component:` names neither a component of the stack nor a component
    /// folder (atmos then fails the same way).
    #[error("component `{component}` in stack `{stack}` inherits from the base component `{base}` (using `component:`), but `{base}` is not defined in any manifest of the stack (manifest `{}`) and `{}` is not a component folder", file.display(), folder.display())]
    ComponentBaseNotFound {
        /// The component.
        component: String,
        /// What `component:` names.
        base: String,
        /// The stack.
        stack: String,
        /// The top-level manifest.
        file: PathBuf,
        /// The component folder looked for.
        folder: PathBuf,
    },
    /// `component:` is not a string.
    #[error(
        "invalid `components.{component_type}.{component}.component` in stack `{stack}`: expected a string, found a {found}"
    )]
    InvalidComponentAttribute {
        /// The component type.
        component_type: String,
        /// The component.
        component: String,
        /// The stack.
        stack: String,
        /// The YAML type found.
        found: String,
    },
    /// `metadata.inherits` forms a cycle.
    #[error("component inheritance cycle in stack `{stack}`: {}", chain.join(" → "))]
    InheritanceCycle {
        /// The stack.
        stack: String,
        /// The components, first = last.
        chain: Vec<String>,
    },
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A YAML function failed.
    #[error("YAML function failed in component `{component}` of stack `{stack}` (manifest `{}`): {message}", file.display())]
    Function {
        /// The component.
        component: String,
        /// The stack.
        stack: String,
        /// The top-level manifest.
        file: PathBuf,
        /// What failed.
        message: String,
    },
    /// A `secrets` section is malformed.
    #[error(transparent)]
    Secrets(#[from] DeclareError),
    /// A stack name could not be computed.
    #[error("cannot name the stack in `{}`: {message}", file.display())]
    Name {
        /// The manifest.
        file: PathBuf,
        /// What failed.
        message: String,
    },
}

impl Diagnose for StackError {
    fn hint(&self) -> Option<String> {
        match self {
            StackError::Yaml(e) => e.hint(),
            StackError::Template(e) => e.hint(),
            StackError::Secrets(e) => e.hint(),
            StackError::Import { .. } => Some(
                "import paths are relative to `stacks.base_path` (or to the manifest with `./`/`../`); `.yaml` may be omitted"
                    .to_owned(),
            ),
            StackError::ImportCycle { .. } => Some("remove one of the imports in the cycle".to_owned()),
            StackError::DuplicateStack { .. } => Some(
                "give each manifest a distinct `name:` or distinct vars for `stacks.name_pattern`, or exclude one via `stacks.excluded_paths`"
                    .to_owned(),
            ),
            StackError::StackRenamed { canonical, .. } => Some(format!(
                "did you mean `{canonical}`? Run `atmos list stacks` to see all available stacks"
            )),
            StackError::StackNotFound { suggestions, .. } => Some(suggest("stack", suggestions)),
            StackError::ComponentNotFound { suggestions, .. } => Some(suggest("component", suggestions)),
            StackError::Abstract { .. } => {
                Some("describe a component that inherits from it (`metadata.inherits`)".to_owned())
            }
            StackError::BaseNotFound { base, .. } => {
                Some(format!("define `{base}` in the stack (or an import) or fix `metadata.inherits`"))
            }
            StackError::ComponentBaseNotFound { base, .. } => Some(format!(
                "define `{base}` in the stack (or an import), create its component folder, or use `metadata.component` to name a folder"
            )),
            _ => None,
        }
    }
}

fn suggest(what: &str, names: &[String]) -> String {
    match names {
        [] => format!("no {what}s are defined"),
        [one] => format!("did you mean `{one}`?"),
        many if many.len() <= 3 => format!(
            "did you mean one of: {}?",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        many => format!(
            "available {what}s: {}",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Close matches for "did you mean" hints: up to three names within a small edit distance (or
/// containing the input); when none are close, every candidate (at most 20).
pub fn close_names<'a>(target: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let all: Vec<&str> = candidates.into_iter().collect();
    let limit = (target.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = all
        .iter()
        .map(|c| (edit_distance(target, c), *c))
        .filter(|(d, c)| *d <= limit || c.contains(target) || target.contains(*c))
        .collect();
    scored.sort();
    if scored.is_empty() {
        all.iter().take(20).map(|s| (*s).to_owned()).collect()
    } else {
        scored
            .into_iter()
            .take(3)
            .map(|(_, c)| c.to_owned())
            .collect()
    }
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Loads every top-level stack manifest of the project and names the stacks.
///
/// In a large tree a second thread loads and names the second half of the manifests (with a
/// loader sharing this one's cache, so shared imports are still parsed once); the stacks are
/// then taken in file order, so names, shadowing and the first error reported are those of a
/// load in one thread.
pub fn load(cfg: &CliConfig) -> Result<Stacks, StackError> {
    load_files(cfg, &manifest::top_level_files(&cfg.stacks)?, false)
}

/// The stacks a command about the one stack `name` needs: those the stack-name index
/// (`stack::index`) says may be named `name` (by name, or by manifest path as [`Stacks::stack`]
/// resolves it), with every other stack's name kept for suggestions. Without an index that
/// vouches for every manifest, every stack is loaded, as [`load`] does, and the index is made
/// for the next command (written by [`save_index`] once this one succeeds).
pub fn load_for(cfg: &CliConfig, name: &str) -> Result<Stacks, StackError> {
    let Some(index) = index::Index::open(cfg) else {
        return load(cfg);
    };
    let started = std::time::SystemTime::now();
    let top = manifest::top_level_files(&cfg.stacks)?;
    if let Some(plan) = index.plan(&top, name) {
        crate::printer::debug(|| {
            format!(
                "stack index: loading {} of {} manifests for stack `{name}`",
                plan.load.len(),
                top.len()
            )
        });
        let mut stacks = load_files(cfg, &plan.load, false)?;
        stacks.unloaded = plan.others;
        return Ok(stacks);
    }
    crate::printer::debug(|| {
        format!(
            "stack index: cannot vouch for the {} manifests; loading all",
            top.len()
        )
    });
    let stacks = load_files(cfg, &top, true)?;
    index.record(&top, &stacks, started);
    Ok(stacks)
}

/// Writes the stack-name index a [`load_for`] of this command made; called once the command has
/// succeeded.
pub fn save_index() {
    index::save();
}

/// Loads and names the stacks of the top-level manifests `top` (in path order), taking each
/// file's metadata as it is read when `stamping` (for the index).
fn load_files(cfg: &CliConfig, top: &[PathBuf], stamping: bool) -> Result<Stacks, StackError> {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let mut loader = manifest::Loader::new(cfg);
    if stamping {
        loader = loader.stamping();
    }
    let renderer = templates::renderer(cfg);
    let shared = std::sync::Arc::new(component::Shared::default());
    let mut loaded = Vec::with_capacity(top.len());
    if top.len() < PARALLEL_FROM {
        for file in top {
            loaded.push(load_one(cfg, &mut loader, file, &renderer, &shared)?);
        }
    } else {
        // The first manifest is loaded before the second thread starts: what it imports
        // (typically the catalog every stack shares) is then parsed once, not by both threads
        // at the same time.
        loaded.push(load_one(cfg, &mut loader, &top[0], &renderer, &shared)?);
        // Both threads take the next few manifests in file order until none are left, so
        // neither waits for the other at the end (fixed halves left one thread idle for a
        // third of the walk). A few at a time: neighbours share their tenant's files, which
        // one thread then parses instead of both. `failed_at` is the lowest index that failed:
        // nothing after it is started, and everything before it was taken (the counter only
        // grows), so the error kept below is the first in file order, as a sequential load
        // would report.
        const CHUNK: usize = 8;
        let next = AtomicUsize::new(1);
        let failed_at = AtomicUsize::new(usize::MAX);
        let work = |loader: &mut manifest::Loader<'_>| {
            let mut out = Vec::with_capacity(top.len() / 2 + CHUNK);
            loop {
                let start = next.fetch_add(CHUNK, Relaxed);
                let end = (start + CHUNK).min(top.len());
                for (i, file) in top.iter().enumerate().take(end).skip(start) {
                    if i > failed_at.load(Relaxed) {
                        return out;
                    }
                    let stack = load_one(cfg, loader, file, &renderer, &shared);
                    if stack.is_err() {
                        failed_at.fetch_min(i, Relaxed);
                    }
                    out.push((i, stack));
                }
                if start + CHUNK >= top.len() {
                    return out;
                }
            }
        };
        let mut sibling = loader.sibling();
        let (mine, theirs) = std::thread::scope(|scope| {
            // The main thread's stack size: resolving, merging and rendering recurse as deep
            // as the manifests nest.
            let helper = std::thread::Builder::new()
                .name("stack-loader".to_owned())
                .stack_size(8 << 20)
                .spawn_scoped(scope, || work(&mut sibling))
                .ok();
            // Without a thread to be had, this one takes every manifest.
            let mine = work(&mut loader);
            let theirs = helper.map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (mine, theirs.unwrap_or_default())
        });
        let mut slots: Vec<Option<Result<Stack, StackError>>> =
            std::iter::repeat_with(|| None).take(top.len()).collect();
        for (i, stack) in mine.into_iter().chain(theirs) {
            slots[i] = Some(stack);
        }
        for slot in slots.into_iter().skip(1) {
            match slot {
                Some(stack) => loaded.push(stack?),
                // Past the first failure, which was returned above.
                None => break,
            }
        }
    }
    let mut stacks: IndexMap<String, Stack> = IndexMap::with_capacity(top.len());
    let mut shadowed = Vec::new();
    for stack in loaded {
        if stacks.contains_key(&stack.name) {
            shadowed.push(stack);
        } else {
            stacks.insert(stack.name.clone(), stack);
        }
    }
    stacks.sort_keys();
    Ok(Stacks {
        stacks,
        shadowed,
        unloaded: Vec::new(),
    })
}

/// The manifest path (a [`Stack::stack_file`]) a stack argument names when it is not a stack
/// name: `-s orgs/acme/dev.yaml` is `orgs/acme/dev`.
fn stack_file_named(name: &str) -> &str {
    name.trim_end_matches(".yaml").trim_end_matches(".yml")
}

/// From how many top-level manifests [`load`] uses a second thread.
const PARALLEL_FROM: usize = 64;

/// Loads and names the stack of one top-level manifest (see [`load`]).
fn load_one(
    cfg: &CliConfig,
    loader: &mut manifest::Loader<'_>,
    file: &std::path::Path,
    renderer: &crate::template::Renderer,
    shared: &std::sync::Arc<component::Shared>,
) -> Result<Stack, StackError> {
    let file = file.to_path_buf();
    let top = loader.top_level(&file)?;
    let stack_file = manifest::stack_file(&cfg.stacks.base_path, &file);
    // Naming needs at most the stack-level sections; components are merged when a stack is used.
    let name = naming::logical_name(
        cfg,
        top.own_name.as_deref(),
        &top.tree,
        loader.lists(),
        &stack_file,
        &file,
    )?;
    Ok(Stack {
        name,
        manifest: file,
        stack_file,
        explicit_name: top.own_name.is_some(),
        tree: top.tree,
        overrides: OverridesCache::default(),
        views: std::sync::OnceLock::new(),
        lists: loader.lists(),
        renderer: renderer.clone(),
        eval: Eval::All,
        shared: shared.clone(),
    })
}

impl Stacks {
    /// The same stacks, building components for `eval` (the secret commands pass
    /// [`Eval::Secrets`] so that only the sections they read are evaluated).
    pub fn evaluating(mut self, eval: Eval) -> Self {
        for s in self.stacks.values_mut().chain(self.shadowed.iter_mut()) {
            s.eval = eval;
        }
        self
    }

    /// Whether only some of the project's stacks were loaded ([`load_for`]).
    pub fn is_partial(&self) -> bool {
        !self.unloaded.is_empty()
    }

    /// The logical stack names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.stacks.keys().map(String::as_str)
    }

    /// A stack by logical name, or by its manifest path relative to the stacks base path unless
    /// the manifest names itself (`name:`), as atmos.
    pub fn stack(&self, name: &str) -> Result<&Stack, StackError> {
        if let Some(s) = self.stacks.get(name) {
            return Ok(s);
        }
        let trimmed = stack_file_named(name);
        let by_path = self
            .stacks
            .values()
            .chain(&self.shadowed)
            .find(|s| s.stack_file == trimmed);
        match by_path {
            Some(s) if s.explicit_name => Err(StackError::StackRenamed {
                stack: name.to_owned(),
                canonical: s.name.clone(),
            }),
            Some(s) => Ok(self.stacks.get(&s.name).unwrap_or(s)),
            None => Err(StackError::StackNotFound {
                stack: name.to_owned(),
                suggestions: {
                    let mut all: Vec<&str> = self
                        .names()
                        .chain(self.unloaded.iter().map(String::as_str))
                        .collect();
                    all.sort_unstable();
                    all.dedup();
                    close_names(name, all)
                },
            }),
        }
    }

    /// The stack and every later manifest with the same name, in manifest path order.
    fn same_name<'a>(&'a self, first: &'a Stack) -> impl Iterator<Item = &'a Stack> {
        std::iter::once(first).chain(self.shadowed.iter().filter(|s| s.name == first.name))
    }

    /// One component instance. `component_type` restricts the search; otherwise the first type
    /// defining the component wins (terraform, helmfile, packer, … then alphabetical).
    pub fn component(
        &self,
        cfg: &CliConfig,
        stack: &str,
        name: &str,
        component_type: Option<&str>,
    ) -> Result<ComponentInstance, StackError> {
        let stack = self.stack(stack)?;
        let mut found: Option<(ComponentInstance, &Stack)> = None;
        let mut first_err = None;
        for s in self.same_name(stack) {
            match component::find(cfg, s, name, component_type) {
                Ok(inst) => match &found {
                    None => found = Some((inst, s)),
                    // Equal definitions are one component (atmos keeps the first).
                    Some((kept, _)) if kept.section == inst.section => {}
                    Some((_, kept_in)) => {
                        return Err(StackError::DuplicateStack {
                            name: stack.name.clone(),
                            component: name.to_owned(),
                            first: kept_in.manifest.clone(),
                            second: s.manifest.clone(),
                        });
                    }
                },
                // A real failure says more than "not in this manifest".
                Err(e) => match first_err {
                    Some(StackError::ComponentNotFound { .. }) | None => first_err = Some(e),
                    Some(_) => {}
                },
            }
        }
        match (found, first_err) {
            (Some((inst, _)), _) => Ok(inst),
            (None, Some(e)) => Err(e),
            (None, None) => unreachable!("a stack has at least one manifest"),
        }
    }

    /// Every non-abstract component instance of a stack, by type order then name.
    pub fn instances(
        &self,
        cfg: &CliConfig,
        stack: &str,
    ) -> Result<Vec<ComponentInstance>, StackError> {
        let stack = self.stack(stack)?;
        let mut out = component::all(cfg, stack)?;
        for s in self.same_name(stack).skip(1) {
            for inst in component::all(cfg, s)? {
                if !out
                    .iter()
                    .any(|o| o.name == inst.name && o.component_type == inst.component_type)
                {
                    out.push(inst);
                }
            }
        }
        Ok(out)
    }

    /// Every non-abstract component instance of a stack, built for their declarations only
    /// ([`Eval::Declarations`]), each on its own (see [`component::each`]).
    pub fn declarations_each(
        &self,
        cfg: &CliConfig,
        stack: &str,
    ) -> Result<Vec<component::Built>, StackError> {
        self.over_manifests(stack, |s| component::each_as(cfg, s, Eval::Declarations))
    }

    /// Every non-abstract component instance of a stack for commands that read only their
    /// declarations: [`component::declared_each`] over the stack's manifests.
    pub fn declared_each(
        &self,
        cfg: &CliConfig,
        stack: &str,
    ) -> Result<Vec<(String, component::Enumerated)>, StackError> {
        self.over_manifests(stack, |s| component::declared_each(cfg, s))
    }

    /// Every non-abstract component instance of a stack, each built on its own (see
    /// [`component::each`]).
    pub fn instances_each(
        &self,
        cfg: &CliConfig,
        stack: &str,
    ) -> Result<Vec<component::Built>, StackError> {
        self.over_manifests(stack, |s| component::each(cfg, s))
    }

    /// `each` over every manifest of the stack named `stack`, in path order: a later manifest
    /// of the same name adds only the instances whose names the earlier ones lack.
    fn over_manifests<T>(
        &self,
        stack: &str,
        each: impl Fn(&Stack) -> Vec<(String, T)>,
    ) -> Result<Vec<(String, T)>, StackError> {
        let stack = self.stack(stack)?;
        let mut out = each(stack);
        let mut rest = self.same_name(stack).skip(1).peekable();
        if rest.peek().is_none() {
            // The usual case: one manifest has the name, nothing to merge.
            return Ok(out);
        }
        let mut seen: std::collections::HashSet<String> =
            out.iter().map(|(n, _)| n.clone()).collect();
        for s in rest {
            for b in each(s) {
                if seen.insert(b.0.clone()) {
                    out.push(b);
                }
            }
        }
        Ok(out)
    }
}

/// Convenience: loads the stacks and builds one component instance.
pub fn load_component(
    cfg: &CliConfig,
    stack: &str,
    component: &str,
    component_type: Option<&str>,
) -> Result<ComponentInstance, StackError> {
    load(cfg)?.component(cfg, stack, component, component_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(close_names("vcp", ["vpc", "eks", "api"]), vec!["vpc"]);
        assert_eq!(close_names("zzzzzz", ["vpc", "eks"]), vec!["vpc", "eks"]);
        assert_eq!(
            close_names("plat-ue2", ["plat-ue2-dev", "x"]),
            vec!["plat-ue2-dev"]
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
