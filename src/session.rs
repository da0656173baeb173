//! Owns the session layer between the verbs and the domain layers: everything a command needs
//! to go from "secret `X` of component `C` in stack `S`" to a store and a key.
//!
//! - [`Settings`]: what the secret verbs take from their flags (no clap types past here).
//! - [`Project`]: one command's view of the atmos project: `atmos.yaml` (loaded once, on first
//!   use), the store registries (one per effective default identity, so each store and each
//!   decrypted SOPS file is built once per command), the component instances, and the
//!   `--stack`/`--component` pickers. Stack manifests are read and the stacks named once per
//!   command ([`Project::stacks`]); component instances are built only for the stacks a command
//!   names ([`Project::for_each_stack`]), one stack at a time, so a one-stack command does not
//!   pay for the rest of the tree and a whole-tree command holds one stack's instances at once.
//! - [`DeclSet`]: what commands that only enumerate declarations (`secret list`) keep of an
//!   instance — its shared declaration list, registry and providers, no section
//!   ([`Project::for_each_stack_declared`]).
//! - [`Session`]: one loaded component instance with its declarations and stack-declared
//!   providers. [`Session::resolve`] maps a declaration to its [`Target`] — the store, the
//!   coordinate with a templated `reference` rendered, the scope checked — once; every read,
//!   write, delete, status check and message about that declaration reuses the target.
//! - [`Target`]: one resolved place (store name, kind, coordinate, physical key). Targets do not
//!   borrow their session, so one batched plan can read targets of many sessions ([`read`],
//!   [`exists`]) — `list` across stacks today, `secret diff` across stacks later.
//! - [`BackendResolver`]: `!secret`, `!store` and `!store.get` read through the same sessions.
//!
//! Every call into the store registry goes through this module: the commands never name
//! `store::registry`, and identity selection for a component happens in one place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;

use crate::config::{CliConfig, ProviderConfig};
use crate::error::{Error, Result};
use crate::secret_value::SecretValue;
use crate::secrets::{Coordinate, Declaration, Scope};
use crate::stack::ComponentInstance;
use crate::stack::functions::{FunctionResolver, SecretFn, StoreFn, StoreGetFn};
use crate::store::plan::{self, Mode, Outcome, Request};
use crate::store::registry::{Registries, Registry};
use crate::store::{Store, StoreError};
use crate::yaml::{self, Node};

/// The scope flags of the secret verbs, already parsed.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--stack`; empty counts as not given.
    pub stack: Option<String>,
    /// `--component`; empty counts as not given.
    pub component: Option<String>,
    /// `--type`: restricts the component lookup to one component type.
    pub component_type: Option<String>,
    /// `--identity`: `false` disables auth, a name overrides every component's default.
    pub identity: Option<String>,
    /// Whether prompts may be shown (terminal, not CI, `--interactive` not false).
    pub interactive: bool,
}

type Loader = Box<dyn Fn() -> Result<CliConfig> + Send + Sync>;

/// One command's view of the project: settings, configuration, registries and instances.
pub struct Project {
    settings: Settings,
    load: Loader,
    cfg: OnceLock<Arc<CliConfig>>,
    registries: OnceLock<Registries>,
    stacks: OnceLock<Arc<crate::stack::Stacks>>,
    /// The stacks loaded for a command about one stack ([`Project::stacks_for`]), with its name.
    one_stack: OnceLock<(String, Arc<crate::stack::Stacks>)>,
}

/// The component instances of one stack, each built on its own (see [`Project::for_each_stack`]).
pub type StackInstances = Vec<std::result::Result<ComponentInstance, Unbuilt>>;

impl Project {
    /// Ends a command: the parsed stacks of a large tree are tens of thousands of small
    /// allocations that the process is about to give back at once, so they are left to the exit
    /// instead of being freed one by one (a one-stack command at 800 stacks spent a tenth of its
    /// time there); everything else, the registries with their decrypted values first, is
    /// dropped normally. Only for the end of a process: the stacks are never freed.
    pub fn finish(self) {
        if let Some(stacks) = self.stacks.get() {
            std::mem::forget(Arc::clone(stacks));
        }
        if let Some((_, stacks)) = self.one_stack.get() {
            std::mem::forget(Arc::clone(stacks));
        }
    }

    /// A project whose configuration `load` reads on first use. A failing load is not cached:
    /// the command that needs the configuration reports the error.
    pub fn new(
        settings: Settings,
        load: impl Fn() -> Result<CliConfig> + Send + Sync + 'static,
    ) -> Self {
        Self {
            settings,
            load: Box::new(load),
            cfg: OnceLock::new(),
            registries: OnceLock::new(),
            stacks: OnceLock::new(),
            one_stack: OnceLock::new(),
        }
    }

    /// A project over an already loaded configuration.
    pub fn with_config(settings: Settings, cfg: Arc<CliConfig>) -> Self {
        let project = Self::new(settings, || {
            Err(Error::new("internal error: configuration not preloaded"))
        });
        let _ = project.cfg.set(cfg);
        project
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether prompts may be shown.
    pub fn interactive(&self) -> bool {
        self.settings.interactive
    }

    /// `atmos.yaml`, loaded on first use; its warnings are queued for the printer once.
    pub fn config(&self) -> Result<Arc<CliConfig>> {
        if let Some(cfg) = self.cfg.get() {
            return Ok(cfg.clone());
        }
        let cfg = Arc::new((self.load)()?);
        for w in &cfg.warnings {
            crate::printer::queue_warning(w.clone());
        }
        Ok(self.cfg.get_or_init(|| cfg).clone())
    }

    /// The configuration if it has already loaded; never loads.
    pub fn loaded_config(&self) -> Option<Arc<CliConfig>> {
        self.cfg.get().cloned()
    }

    /// The registries shared by every session of this command.
    fn registries(&self) -> Result<&Registries> {
        let cfg = self.config()?;
        Ok(self.registries.get_or_init(|| {
            Registries::new(
                cfg,
                Registries::parse_flag(self.settings.identity.as_deref()),
            )
        }))
    }

    /// Every non-abstract component instance of every stack, by stack then type order; the first
    /// component that cannot be built fails the call (see [`Project::instances_each`]).
    pub fn instances(&self) -> Result<Vec<ComponentInstance>> {
        self.instances_each()?
            .into_iter()
            .map(|r| r.map_err(|f| f.error))
            .collect()
    }

    /// The project's stacks, for the sections the secret commands read: every manifest parsed
    /// once and every stack named on first use, then shared by every call of this command. A
    /// failing load is not cached.
    pub fn stacks(&self) -> Result<Arc<crate::stack::Stacks>> {
        if let Some(s) = self.stacks.get() {
            return Ok(s.clone());
        }
        let cfg = self.config()?;
        let stacks = Arc::new(crate::stack::load(&cfg)?.evaluating(crate::stack::Eval::Secrets));
        Ok(self.stacks.get_or_init(|| stacks).clone())
    }

    /// The stacks a command about the one stack `name` needs ([`crate::stack::load_for`]: the
    /// manifests the stack-name index says may be named so), or every stack when they are
    /// loaded already.
    pub fn stacks_for(&self, name: &str) -> Result<Arc<crate::stack::Stacks>> {
        if let Some(s) = self.stacks.get() {
            return Ok(s.clone());
        }
        if let Some((loaded_for, s)) = self.one_stack.get()
            && loaded_for == name
        {
            return Ok(s.clone());
        }
        let cfg = self.config()?;
        let stacks =
            Arc::new(crate::stack::load_for(&cfg, name)?.evaluating(crate::stack::Eval::Secrets));
        // Every stack loaded (no index to go by): what `stacks` would load, shared with it and
        // with any other stack this command asks for.
        if !stacks.is_partial() {
            return Ok(self.stacks.get_or_init(|| stacks).clone());
        }
        let _ = self.one_stack.set((name.to_owned(), stacks.clone()));
        Ok(stacks)
    }

    /// Every non-abstract component instance of every stack, each built on its own for the
    /// sections the secret commands read: a component that fails is reported, the others are not
    /// affected.
    pub fn instances_each(&self) -> Result<StackInstances> {
        let mut out = Vec::new();
        self.for_each_stack(None, |_, _, built| {
            out.extend(built);
            Ok(())
        })?;
        Ok(out)
    }

    /// Builds the instances of one stack at a time, in stack-name order, and hands them to `each`
    /// with the stack's position and the number of stacks visited: `only` restricts the walk to
    /// the stack with that logical name (none when no stack has it). Instances are built for
    /// the sections the secret commands read; one that fails is an [`Unbuilt`] in its place.
    pub fn for_each_stack(
        &self,
        only: Option<&str>,
        each: impl FnMut(usize, usize, StackInstances) -> Result<()>,
    ) -> Result<()> {
        let cfg = self.config()?;
        let stacks = match only {
            Some(name) => self.stacks_for(name)?,
            None => self.stacks()?,
        };
        let build = |name: &str| -> Result<StackInstances> {
            let manifest = stacks.stack(name)?.manifest.clone();
            let mut out = Vec::new();
            for (component, built) in stacks.declarations_each(&cfg, name)? {
                out.push(built.map_err(|e| Unbuilt {
                    stack: name.to_owned(),
                    component,
                    manifest: manifest.clone(),
                    error: Error::from(e),
                }));
            }
            Ok(out)
        };
        walk_stacks(&stacks, only, build, each)
    }

    /// [`Project::for_each_stack`] for commands that read only declarations (`secret list`): each
    /// instance of a stack comes as a [`DeclSet`] (or the [`Unbuilt`] in its place), built in
    /// full only when its declarations cannot be read off its layers
    /// ([`crate::stack::component::declared_each`]).
    ///
    /// `map` turns each stack's sets into what `each` gets, on the builder threads (so a
    /// command's per-stack work runs there too).
    pub fn for_each_stack_declared<T: Send>(
        &self,
        only: Option<&str>,
        map: impl Fn(StackDeclSets) -> T + Sync,
        each: impl FnMut(usize, usize, T) -> Result<()>,
    ) -> Result<()> {
        use crate::stack::component::Enumerated;
        let cfg = self.config()?;
        let stacks = match only {
            Some(name) => self.stacks_for(name)?,
            None => self.stacks()?,
        };
        let registries = self.registries()?;
        let build = |name: &str| -> Result<T> {
            let manifest = stacks.stack(name)?.manifest.clone();
            let stack: Arc<str> = Arc::from(name);
            let mut out = Vec::new();
            // The plain instances of a stack share one context, so one registry.
            let mut last: Option<(Arc<crate::stack::component::DeclaredContext>, Arc<Registry>)> =
                None;
            for (component, item) in stacks.declared_each(&cfg, name)? {
                match item {
                    Enumerated::Declared(d) => {
                        let registry = match &last {
                            Some((ctx, r)) if Arc::ptr_eq(ctx, &d.context) => r.clone(),
                            _ => {
                                let r = registries.for_instance(d.context.auth.as_ref());
                                last = Some((d.context.clone(), r.clone()));
                                r
                            }
                        };
                        out.push(Ok(DeclSet {
                            stack: stack.clone(),
                            component: d.name,
                            component_type: d.component_type,
                            registry,
                            providers: d.context.providers.clone(),
                            decls: d.decls,
                        }));
                    }
                    Enumerated::Built(Ok(instance)) => {
                        out.push(Ok(self.session_for(instance, name)?.into_decl_set()));
                    }
                    Enumerated::Built(Err(e)) => out.push(Err(Unbuilt {
                        stack: name.to_owned(),
                        component,
                        manifest: manifest.clone(),
                        error: Error::from(e),
                    })),
                }
            }
            Ok(map(out))
        };
        walk_stacks(&stacks, only, build, each)
    }

    /// The `--stack` value, prompting (among stacks that declare secrets) when allowed.
    pub fn stack(&self) -> Result<String> {
        if let Some(s) = self.settings.stack.as_deref().filter(|s| !s.is_empty()) {
            return Ok(s.to_owned());
        }
        if self.interactive() {
            let mut stacks: Vec<String> = Vec::new();
            for i in &self.instances()? {
                if has_declarations(i) && !stacks.contains(&i.stack) {
                    stacks.push(i.stack.clone());
                }
            }
            stacks.sort();
            if !stacks.is_empty() {
                return crate::prompt::select("Choose a stack", &stacks)
                    .map_err(|e| Error::new(format!("stack prompt failed: {e}")));
            }
        }
        Err(
            Error::usage("required flag not provided: --stack is required for secret operations")
                .with_hint("Specify a stack with --stack or -s"),
        )
    }

    /// The `--component` value, prompting (among instances of `stack` that declare secrets) when
    /// allowed.
    pub fn component(&self, stack: &str) -> Result<String> {
        if let Some(c) = self.settings.component.as_deref().filter(|s| !s.is_empty()) {
            return Ok(c.to_owned());
        }
        if self.interactive() {
            let mut names: Vec<String> = Vec::new();
            self.for_each_stack(Some(stack), |_, _, built| {
                for i in built {
                    let i = i.map_err(|f| f.error)?;
                    if has_declarations(&i) {
                        names.push(i.name);
                    }
                }
                Ok(())
            })?;
            names.sort();
            names.dedup();
            if !names.is_empty() {
                return crate::prompt::select("Choose a component", &names)
                    .map_err(|e| Error::new(format!("component prompt failed: {e}")));
            }
        }
        Err(Error::usage(
            "required flag not provided: --component is required for secret operations",
        )
        .with_hint("Specify a component with --component or -c"))
    }

    /// Resolves stack and component (flags or prompts) and loads the instance.
    pub fn session(&self) -> Result<Session> {
        self.config()?;
        let stack = self.stack()?;
        let component = self.component(&stack)?;
        self.load_session(&stack, &component)
    }

    /// Loads one instance (honouring `--type`); `stack` is used as given for coordinates.
    pub fn load_session(&self, stack: &str, component: &str) -> Result<Session> {
        let cfg = self.config()?;
        let context = |e: Error| e.context("failed to load component config");
        let instance = self
            .stacks_for(stack)
            .map_err(context)?
            .component(
                &cfg,
                stack,
                component,
                self.settings.component_type.as_deref(),
            )
            .map_err(|e| context(Error::from(e)))?;
        self.session_for(instance, stack)
    }

    /// A session over an already loaded instance; `stack` is used as given for coordinates.
    pub fn session_for(&self, instance: ComponentInstance, stack: &str) -> Result<Session> {
        let registry = self
            .registries()?
            .for_instance(instance.section.get("auth"));
        let cfg = registry.config_arc();
        let decls = crate::secrets::declare::declarations(&instance.section)?;
        let providers = crate::secrets::declare::providers(&instance.section)?;
        Ok(Session {
            registry,
            cfg,
            stack: stack.to_owned(),
            component: instance.name.clone(),
            instance,
            decls,
            providers,
        })
    }

    /// Generates key material for a SOPS vault configured in `atmos.yaml`.
    pub fn keygen(
        &self,
        provider: &ProviderConfig,
        force: bool,
    ) -> Result<crate::store::sops::Keygen> {
        let registry = Registry::new(self.config()?);
        crate::store::sops::keygen(provider, || registry.sops_store(provider), force)
    }
}

/// Builds one stack at a time with `build`, in stack-name order (`only`: just that stack, none
/// when no stack has the name), and hands each result to `each` with the stack's position and
/// the number of stacks visited. A whole-tree walk builds on this thread and one helper (two
/// builders for two cores, with no third thread waking between them): each takes the next
/// stack not yet taken; this thread hands over every result that is next in order whenever it
/// is between builds, and the helper stays at most [`AHEAD`] stacks in front of the last one
/// handed over, so memory stays flat. The first error in stack order is returned; when `each`
/// fails or a stack's build does, the helper stops after the stack it is building.
fn walk_stacks<T: Send>(
    stacks: &crate::stack::Stacks,
    only: Option<&str>,
    build: impl Fn(&str) -> Result<T> + Sync,
    each: impl FnMut(usize, usize, T) -> Result<()>,
) -> Result<()> {
    let names: Vec<&str> = match only {
        Some(name) => stacks
            .stacks
            .get_key_value(name)
            .map(|(k, _)| k.as_str())
            .into_iter()
            .collect(),
        None => stacks.names().collect(),
    };
    walk(&names, build, each)
}

/// [`walk_stacks`] over the stacks named `names`, in that order.
fn walk<T: Send>(
    names: &[&str],
    build: impl Fn(&str) -> Result<T> + Sync,
    mut each: impl FnMut(usize, usize, T) -> Result<()>,
) -> Result<()> {
    use std::sync::atomic::Ordering::{Relaxed, SeqCst};
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    let total = names.len();
    if total < 2 {
        for (i, name) in names.iter().enumerate() {
            each(i, total, build(name)?)?;
        }
        return Ok(());
    }
    let walk = Walk {
        state: Mutex::new(WalkState {
            built: (0..total).map(|_| None).collect(),
            helper_done: false,
        }),
        changed: std::sync::Condvar::new(),
        handed: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
    };
    // The next stack no builder has taken.
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (walk, next, build) = (&walk, &next, &build);
        scope.spawn(move || {
            // Marks the helper gone however it ends, so this thread never waits for it in vain.
            let _done = Finish(walk, |s: &mut WalkState<T>| s.helper_done = true);
            while !walk.stop.load(SeqCst) {
                let i = next.fetch_add(1, Relaxed);
                if i >= total {
                    break;
                }
                let too_far = || i >= walk.handed.load(SeqCst) + AHEAD && !walk.stop.load(SeqCst);
                if too_far() {
                    drop(walk.wait_while(walk.lock(), |_| too_far()));
                    if walk.stop.load(SeqCst) {
                        break;
                    }
                }
                let built = build(names[i]);
                let failed = built.is_err();
                walk.lock().built[i] = Some(built);
                walk.wake();
                if failed {
                    break;
                }
            }
        });
        // Stops the helper however this thread leaves the walk.
        let _stop = Finish(walk, |_: &mut WalkState<T>| walk.stop.store(true, SeqCst));
        let mut handed = 0;
        while handed < total {
            let mut state = walk.lock();
            let mut ready = state.built[handed].take();
            // Nothing left to take, or this thread is far enough ahead: the stack is the
            // helper's, being built; wait for it (or build it, when the helper stopped first).
            let taken = next.load(Relaxed);
            if ready.is_none() && (taken >= total || taken >= handed + AHEAD) {
                state = walk.wait_while(state, |s| s.built[handed].is_none() && !s.helper_done);
                ready = state.built[handed].take();
                if ready.is_none() {
                    drop(state);
                    ready = Some(build(names[handed]));
                    state = walk.lock();
                }
            }
            drop(state);
            let built = match ready {
                Some(built) => built,
                None => {
                    let i = next.fetch_add(1, Relaxed);
                    if i >= total {
                        continue;
                    }
                    let built = build(names[i]);
                    if i != handed {
                        walk.lock().built[i] = Some(built);
                        continue;
                    }
                    built
                }
            };
            each(handed, total, built?)?;
            handed += 1;
            walk.handed.store(handed, SeqCst);
            walk.wake();
        }
        Ok(())
    })
}

/// How many stacks the helper of [`walk_stacks`] may build beyond the last one handed over.
const AHEAD: usize = 8;

/// What [`walk_stacks`]'s two threads share. Each locks the state once per stack (to store it,
/// or to take it); the counters are read without the lock.
struct Walk<T> {
    state: Mutex<WalkState<T>>,
    /// Signalled when a stack is built or handed over, or the walk ends, if `waiting`.
    changed: std::sync::Condvar,
    /// How many stacks have been handed over.
    handed: std::sync::atomic::AtomicUsize,
    /// The walk is over: the helper takes no more stacks.
    stop: std::sync::atomic::AtomicBool,
    /// How many threads wait on `changed` (counted before they check what they wait for, so a
    /// change made after that check sees them).
    waiting: std::sync::atomic::AtomicUsize,
}

struct WalkState<T> {
    /// Built stacks not yet handed over, by position.
    built: Vec<Option<Result<T>>>,
    /// The helper has ended.
    helper_done: bool,
}

impl<T> Walk<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, WalkState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits on `changed` while `cond` holds.
    fn wait_while<'a>(
        &self,
        mut state: std::sync::MutexGuard<'a, WalkState<T>>,
        mut cond: impl FnMut(&mut WalkState<T>) -> bool,
    ) -> std::sync::MutexGuard<'a, WalkState<T>> {
        use std::sync::atomic::Ordering::SeqCst;
        self.waiting.fetch_add(1, SeqCst);
        while cond(&mut state) {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        self.waiting.fetch_sub(1, SeqCst);
        state
    }

    /// Signals a change made before the call to a waiting thread, if any. The lock is taken
    /// first: a thread counted in `waiting` is then either waiting or yet to check.
    fn wake(&self) {
        if self.waiting.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            let _state = self.lock();
            self.changed.notify_all();
        }
    }
}

/// Applies its change to the walk (under the lock) when dropped, and wakes the other thread:
/// how either thread leaves the walk, however it leaves it.
struct Finish<'a, T, F: Fn(&mut WalkState<T>)>(&'a Walk<T>, F);

impl<T, F: Fn(&mut WalkState<T>)> Drop for Finish<'_, T, F> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        (self.1)(&mut state);
        self.0.changed.notify_all();
    }
}

/// The declaration sets of one stack's instances (see [`Project::for_each_stack_declared`]).
pub type StackDeclSets = Vec<std::result::Result<DeclSet, Unbuilt>>;

/// One instance's declarations with what resolving them needs, and nothing of its section:
/// what commands that only enumerate declarations hold per instance. Cheap to clone.
#[derive(Clone)]
pub struct DeclSet {
    /// The stack as given (used for coordinates).
    pub stack: Arc<str>,
    /// The component instance name.
    pub component: Arc<str>,
    /// The component type.
    pub component_type: Arc<str>,
    registry: Arc<Registry>,
    providers: Arc<IndexMap<String, ProviderConfig>>,
    /// The declarations, sorted by name.
    pub decls: Arc<Vec<Declaration>>,
}

impl DeclSet {
    /// [`Session::resolve`] for one of these declarations without the secret's name, all a
    /// status check needs, taking the store from `stores` when an earlier set with the same
    /// registry and providers already found it (a whole-tree listing resolves ~100,000
    /// declarations against a handful of stores). The
    /// coordinate is written over `coordinate` (reusing its buffers), the store is the memo's
    /// entry at the index returned.
    pub fn locate_memo(
        &self,
        decl: &Declaration,
        stores: &mut StoreMemo,
        coordinate: &mut Coordinate,
    ) -> Result<usize> {
        let key = (
            Arc::as_ptr(&self.registry) as usize,
            Arc::as_ptr(&self.providers) as usize,
        );
        let same = |e: &MemoEntry| e.key == key && e.backend == decl.backend;
        // Declarations of one set mostly name the same backend: the last hit is tried first.
        let at = match stores.entries.get(stores.last) {
            Some(e) if same(e) => stores.last,
            _ => match stores.entries.iter().position(same) {
                Some(i) => i,
                None => {
                    let store = self.registry.for_declaration(decl, &self.providers)?;
                    // The sets' `Arc`s are alive while the memo is used, so an address is not
                    // reused.
                    stores.entries.push(MemoEntry {
                        key,
                        backend: decl.backend.clone(),
                        local_status: store.capabilities().local_status,
                        store,
                    });
                    stores.entries.len() - 1
                }
            },
        };
        stores.last = at;
        decl.coordinate_into(&self.stack, &self.component, coordinate);
        finish_coordinate(stores.entries[at].store.as_ref(), decl, coordinate)?;
        Ok(at)
    }
}

/// The stores [`DeclSet::locate_memo`] found, by registry, providers and backend. Meant for
/// one batch of sets (it is searched linearly, after the last hit).
#[derive(Default)]
pub struct StoreMemo {
    entries: Vec<MemoEntry>,
    last: usize,
}

impl StoreMemo {
    /// The store at `at` (an index [`DeclSet::locate_memo`] returned).
    pub fn store(&self, at: usize) -> &Arc<dyn Store> {
        &self.entries[at].store
    }

    /// Whether the store at `at` checks status locally ([`crate::store::Capabilities`]).
    pub fn local_status(&self, at: usize) -> bool {
        self.entries[at].local_status
    }
}

struct MemoEntry {
    /// The registry's and providers' addresses.
    key: (usize, usize),
    backend: crate::secrets::Backend,
    store: Arc<dyn Store>,
    local_status: bool,
}

/// Where `decl` of component `component` in stack `stack` lives (see [`Session::resolve`]).
fn resolve_in(
    registry: &Registry,
    providers: &IndexMap<String, ProviderConfig>,
    stack: &str,
    component: &str,
    decl: &Declaration,
) -> Result<Target> {
    let store = registry.for_declaration(decl, providers)?;
    let mut coordinate = decl.coordinate(stack, component);
    finish_coordinate(store.as_ref(), decl, &mut coordinate)?;
    Ok(Target {
        secret: decl.name.clone(),
        store,
        coordinate,
    })
}

/// Completes `decl`'s scoped `coordinate` for `store` (see [`Session::resolve`]): a templated
/// `reference` rendered, the scope checked against the store.
fn finish_coordinate(
    store: &dyn Store,
    decl: &Declaration,
    coordinate: &mut Coordinate,
) -> Result<()> {
    if !decl.reference.is_empty() && crate::template::has_template(&decl.reference) {
        let ctx = crate::template::Context::coordinate(&coordinate.stack, &coordinate.component);
        coordinate.key = crate::template::render(
            &decl.reference,
            &ctx,
            &format!("secrets.vars.{}.reference", decl.name),
        )
        .map_err(|e| {
            Error::new(format!(
                "invalid `reference` of secret `{}`: {e}",
                decl.name
            ))
        })?
        .trim()
        .to_owned();
    }
    crate::store::check_scope(store, coordinate)?;
    Ok(())
}

fn has_declarations(i: &ComponentInstance) -> bool {
    crate::secrets::declare::declarations(&i.section).is_ok_and(|d| !d.is_empty())
}

/// One loaded component instance with its declarations and stores.
pub struct Session {
    /// The configuration.
    pub cfg: Arc<CliConfig>,
    registry: Arc<Registry>,
    /// The stack as given (used for coordinates).
    pub stack: String,
    /// The component instance name.
    pub component: String,
    /// The merged instance.
    pub instance: ComponentInstance,
    /// The declarations, sorted by name.
    pub decls: Vec<Declaration>,
    /// `secrets.providers` declared in the stack manifests.
    pub providers: IndexMap<String, ProviderConfig>,
}

#[cfg(test)]
thread_local! {
    /// How many times [`Session::resolve`] ran on this thread (tests prove "once per use").
    static RESOLVED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Session {
    /// The declaration named `name`, with a "did you mean" hint for a likely typo.
    pub fn find(&self, name: &str) -> Result<&Declaration> {
        self.decls.iter().find(|d| d.name == name).ok_or_else(|| {
            let mut err = Error::new(format!("secret is not declared: \"{name}\""))
                .with_hint("declare it under the component's `secrets.vars`");
            if let Some(close) = closest(name, self.decls.iter().map(|d| d.name.as_str())) {
                err = err.with_hint(format!("did you mean `{close}`?"));
            }
            err
        })
    }

    /// Where a declaration lives: its store (from `atmos.yaml` or the stack's providers), its
    /// coordinate (a templated `reference` rendered over the coordinate's
    /// [`crate::template::Context`]: empty component for stack scope, both empty for global), with the scope
    /// checked against what the store can hold.
    pub fn resolve(&self, decl: &Declaration) -> Result<Target> {
        #[cfg(test)]
        RESOLVED.with(|n| n.set(n.get() + 1));
        resolve_in(
            &self.registry,
            &self.providers,
            &self.stack,
            &self.component,
            decl,
        )
    }

    /// The session as a [`DeclSet`] (what enumerating commands keep of it).
    pub fn into_decl_set(self) -> DeclSet {
        DeclSet {
            stack: Arc::from(self.stack),
            component: Arc::from(self.component),
            component_type: Arc::from(self.instance.component_type),
            registry: self.registry,
            providers: Arc::new(self.providers),
            decls: Arc::new(self.decls),
        }
    }

    /// A target in a named `stores:` entry at an explicit coordinate (`!store`, `import
    /// --from-store`); no secret-store or scope check. `label` names it in messages.
    pub fn store_target(&self, store: &str, coordinate: Coordinate, label: &str) -> Result<Target> {
        Ok(Target {
            secret: label.to_owned(),
            store: self.registry.store(store)?,
            coordinate,
        })
    }

    /// The SOPS store of a vault: the stack's providers first, then `atmos.yaml`.
    pub fn provider(&self, vault: &str) -> Result<Arc<dyn Store>> {
        Ok(self.registry.provider(vault, &self.providers)?)
    }

    /// Generates key material for a SOPS vault this instance uses.
    pub fn keygen(
        &self,
        provider: &ProviderConfig,
        force: bool,
    ) -> Result<crate::store::sops::Keygen> {
        crate::store::sops::keygen(provider, || self.registry.sops_store(provider), force)
    }

    /// Resolves each of `decls` once, in order.
    pub fn resolve_each(&self, decls: &[&Declaration]) -> Vec<Result<Target>> {
        decls.iter().map(|d| self.resolve(d)).collect()
    }

    /// Reads the values of `decls` (each resolved once) with batched, concurrent backend calls.
    pub fn read_many(&self, decls: &[&Declaration]) -> Vec<Result<Option<SecretValue>>> {
        over_resolved(self.resolve_each(decls), read)
    }

    /// Checks existence of `decls` (each resolved once) without decrypting where the backend
    /// allows it.
    pub fn exists_many(&self, decls: &[&Declaration]) -> Vec<Result<bool>> {
        exists_each(self.resolve_each(decls))
    }

    /// Reads one declared value; a missing or failing read is *secret is not initialized*, and
    /// a missing one names the store and physical key it was looked for at (never a value).
    pub fn get_value(&self, decl: &Declaration) -> Result<SecretValue> {
        let headline = format!(
            "secret is not initialized in its backend: \"{}\"",
            decl.name
        );
        let target = self
            .resolve(decl)
            .map_err(|e| e.context(headline.clone()))?;
        match read(&[&target]).pop() {
            Some(Ok(Some(v))) => Ok(v),
            Some(Ok(None)) => Err(Error::new(format!(
                "{headline} (not found in store `{}` at {})",
                target.store_name(),
                target.physical_key()
            ))
            .with_hint(format!(
                "set it with `atmos secret set {} -s {} -c {}`",
                decl.name, self.stack, self.component
            ))),
            Some(Err(e)) => Err(e.context(headline)),
            None => Err(Error::new("internal error: no read result")),
        }
    }

    /// The manifest and 1-based line that declare `name` for this instance, for CI annotations.
    /// The stack's files are searched from the most specific (the stack manifest) back through
    /// its imports for a `secrets.vars.<name>` key; the best place wins: under this instance's
    /// own entry, then under a component it inherits from (`metadata.inherits`,
    /// `metadata.component`), then at the stack's top level, then anywhere. `None` when nothing
    /// matches.
    pub fn declaration_site(&self, name: &str) -> Option<(std::path::PathBuf, usize)> {
        let meta = self.instance.section.get("metadata").and_then(Node::as_map);
        let mut bases: Vec<&str> = meta
            .and_then(|m| m.get("inherits"))
            .and_then(|i| match i {
                Node::Seq(items) => Some(items.iter().filter_map(Node::as_str).collect()),
                _ => None,
            })
            .unwrap_or_default();
        bases.extend(meta.and_then(|m| m.get("component")).and_then(Node::as_str));
        let rank = |path: &[String]| {
            if path.contains(&self.instance.name) {
                0
            } else if bases.iter().any(|b| path.iter().any(|p| p == b)) {
                1
            } else if path.len() == 3 {
                2
            } else {
                3
            }
        };
        let mut best: Option<(u8, std::path::PathBuf, usize)> = None;
        for file in self.instance.files.iter().rev() {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for (path, line) in crate::yaml::key_lines(&text) {
                let n = path.len();
                if n < 3 || path[n - 1] != name || path[n - 2] != "vars" || path[n - 3] != "secrets"
                {
                    continue;
                }
                let r = rank(&path);
                if best.as_ref().is_none_or(|(b, ..)| r < *b) {
                    best = Some((r, file.to_path_buf(), line));
                }
            }
        }
        best.map(|(_, file, line)| (file, line))
    }

    /// "for component `C` in stack `S`".
    pub fn where_(&self) -> String {
        format!(
            "for component `{}` in stack `{}`",
            self.component, self.stack
        )
    }
}

/// Where one secret lives: the store that holds it and its coordinate, resolved once by
/// [`Session::resolve`] (or [`Session::store_target`]).
#[derive(Clone)]
pub struct Target {
    /// The declared name (or the label of an explicit coordinate), for messages.
    pub secret: String,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The logical coordinate; the store composes its physical key from it.
    pub coordinate: Coordinate,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("secret", &self.secret)
            .field("store", &self.store.name())
            .field("kind", &self.store.kind())
            .field("coordinate", &self.coordinate)
            .finish()
    }
}

impl Target {
    /// The configured store name.
    pub fn store_name(&self) -> &str {
        self.store.name()
    }

    /// The store kind (`aws/ssm`, `keychain`, `sops/age`, …).
    pub fn kind(&self) -> &str {
        self.store.kind()
    }

    /// The physical key as the backend names it (`/prefix/dev/api/KEY`, a SOPS file and path).
    pub fn physical_key(&self) -> String {
        self.store.describe_key(&self.coordinate)
    }

    /// The local file that holds the value, for file-backed stores (SOPS).
    pub fn file(&self) -> Result<Option<std::path::PathBuf>> {
        Ok(self.store.file_of(&self.coordinate)?)
    }

    /// Reads this target alone. The outer error is the runtime's; the inner one is the
    /// backend's answer, for callers that treat a failed read like a missing value.
    pub fn read(&self) -> Result<std::result::Result<Option<SecretValue>, StoreError>> {
        crate::runtime::block_on(crate::store::get_one(self.store.as_ref(), &self.coordinate))
    }

    /// Writes one value.
    pub fn write(&self, value: &SecretValue) -> Result<()> {
        crate::runtime::block_on(self.store.set(&self.coordinate, value))?
            .map_err(|e| Error::from(e).context(format!("failed to set secret `{}`", self.secret)))
    }

    /// Deletes the value; stores without delete say so before any call.
    pub fn delete(&self) -> Result<()> {
        if !self.store.capabilities().delete {
            return Err(StoreError::DeleteUnsupported {
                store: self.store.name().to_owned(),
                kind: self.store.kind().to_owned(),
            }
            .into());
        }
        crate::runtime::block_on(self.store.delete(&self.coordinate))?.map_err(|e| {
            Error::from(e).context(format!("failed to delete secret `{}`", self.secret))
        })
    }
}

/// Reads many targets (of any sessions) in one batched, concurrent plan; results in order.
pub fn read(targets: &[&Target]) -> Vec<Result<Option<SecretValue>>> {
    run_plan(targets, Mode::Values)
        .into_iter()
        .map(|r| {
            r.and_then(|o| match o {
                Outcome::Value(v) => v.map_err(Error::from),
                Outcome::Exists(_) => Ok(None),
            })
        })
        .collect()
}

/// Checks existence of many targets (of any sessions) in one batched, concurrent plan.
pub fn exists(targets: &[&Target]) -> Vec<Result<bool>> {
    outcomes_exist(run_plan(targets, Mode::Exists))
}

/// [`exists`] for coordinates the caller keeps, each with its store: a batch whose keys all go
/// to one store that checks status locally is checked in place, on this thread; any other is
/// planned as [`exists`] plans it.
pub fn exists_at(stores: &[&Arc<dyn Store>], keys: &[Coordinate]) -> Vec<Result<bool>> {
    let n = keys.len();
    let Some(first) = stores.first() else {
        return Vec::new();
    };
    let caps = first.capabilities();
    if caps.local_status
        && n <= caps.batch_size.max(1)
        && stores.iter().all(|s| Arc::ptr_eq(s, first))
    {
        return per_key(crate::runtime::block_on(first.exists_many(keys)), n)
            .into_iter()
            .map(|r| r.and_then(|found| found.map_err(Error::from)))
            .collect();
    }
    let requests = stores
        .iter()
        .zip(keys)
        .map(|(store, key)| Request {
            store: Arc::clone(store),
            key: key.clone(),
        })
        .collect();
    outcomes_exist(run_requests(requests, n, Mode::Exists))
}

fn outcomes_exist(outcomes: Vec<Result<Outcome>>) -> Vec<Result<bool>> {
    outcomes
        .into_iter()
        .map(|r| {
            r.and_then(|o| match o {
                Outcome::Exists(v) => v.map_err(Error::from),
                Outcome::Value(v) => v.map(|v| v.is_some()).map_err(Error::from),
            })
        })
        .collect()
}

/// [`exists`] over the results of [`Session::resolve_each`]: one batched plan for the resolved
/// targets; a declaration that did not resolve keeps its own error.
pub fn exists_each(resolved: Vec<Result<Target>>) -> Vec<Result<bool>> {
    over_resolved(resolved, exists)
}

/// Runs `batch` over the resolved targets; an unresolved one keeps its own error.
fn over_resolved<T>(
    resolved: Vec<Result<Target>>,
    batch: impl FnOnce(&[&Target]) -> Vec<Result<T>>,
) -> Vec<Result<T>> {
    let mut out: Vec<Option<Result<T>>> = Vec::with_capacity(resolved.len());
    let mut targets = Vec::new();
    let mut slots = Vec::new();
    for (i, r) in resolved.into_iter().enumerate() {
        match r {
            Ok(t) => {
                targets.push(t);
                slots.push(i);
                out.push(None);
            }
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let refs: Vec<&Target> = targets.iter().collect();
    for (i, r) in slots.into_iter().zip(batch(&refs)) {
        out[i] = Some(r);
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::new("internal error: missing read result"))))
        .collect()
}

fn run_plan(targets: &[&Target], mode: Mode) -> Vec<Result<Outcome>> {
    if targets.is_empty() {
        return Vec::new();
    }
    let requests = targets
        .iter()
        .map(|t| Request {
            store: t.store.clone(),
            key: t.coordinate.clone(),
        })
        .collect();
    run_requests(requests, targets.len(), mode)
}

/// Runs `n` requests in one plan; results in order.
fn run_requests(requests: Vec<Request>, n: usize, mode: Mode) -> Vec<Result<Outcome>> {
    per_key(crate::runtime::block_on(plan::run(requests, mode)), n)
}

/// The results of one batch of `n` keys run on the runtime, one per key: a missing result, or
/// the runtime failing to start, is an error in its place.
fn per_key<T>(ran: Result<Vec<T>>, n: usize) -> Vec<Result<T>> {
    match ran {
        Ok(results) => {
            let mut out: Vec<Result<T>> = results.into_iter().map(Ok).collect();
            out.resize_with(n, || Err(Error::new("internal error: missing read result")));
            out
        }
        Err(e) => (0..n)
            .map(|_| Err(Error::new(e.message().to_owned())))
            .collect(),
    }
}

/// The closest name by edit distance, if any is close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = crate::stack::edit_distance(&name.to_lowercase(), &c.to_lowercase());
        if d <= 2.max(name.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Resolves YAML function tags by reading backends (`describe … --mask=false`): the same
/// sessions, registries and stores as `atmos secret`.
pub struct BackendResolver {
    project: Project,
    sessions: HashMap<(String, String), Session>,
}

impl BackendResolver {
    /// A resolver over the loaded configuration (no `--identity`: each component's default).
    pub fn new(cfg: Arc<CliConfig>) -> Self {
        Self {
            project: Project::with_config(Settings::default(), cfg),
            sessions: HashMap::new(),
        }
    }

    /// A resolver for a secret verb: its `--identity` (and other settings) apply to the reads.
    pub fn with_settings(settings: Settings, cfg: Arc<CliConfig>) -> Self {
        Self {
            project: Project::with_config(settings, cfg),
            sessions: HashMap::new(),
        }
    }

    fn session(&mut self, inst: &ComponentInstance) -> Result<&Session> {
        let key = (inst.stack.clone(), inst.name.clone());
        if !self.sessions.contains_key(&key) {
            let s = self.project.session_for(inst.clone(), &inst.stack)?;
            self.sessions.insert(key.clone(), s);
        }
        self.sessions
            .get(&key)
            .ok_or_else(|| Error::new("internal error: session cache"))
    }
}

fn apply_path(value: Node, path: Option<&str>, what: &str) -> Result<Node> {
    match path {
        None => Ok(value),
        Some(p) => yaml::query(&value, p)
            .map_err(|e| Error::new(format!("cannot apply path `{p}` to {what}: {e}"))),
    }
}

/// A component instance that could not be built (bad template, YAML function, `secrets` section…).
#[derive(Debug)]
pub struct Unbuilt {
    /// The logical stack.
    pub stack: String,
    /// The instance name.
    pub component: String,
    /// The stack's top-level manifest.
    pub manifest: std::path::PathBuf,
    /// Why it failed.
    pub error: Error,
}

/// A stored value as a YAML node: JSON text becomes structure, as atmos decodes store values.
fn to_node(v: &SecretValue) -> Node {
    match v.as_str() {
        Some(s) if s.trim_start().starts_with(['{', '[']) => serde_json::from_str(s)
            .map(|j: serde_json::Value| yaml::from_json(&j))
            .unwrap_or_else(|_| Node::Str(s.to_owned())),
        _ => yaml::from_json(v.expose()),
    }
}

impl FunctionResolver for BackendResolver {
    fn resolve_secret(&mut self, f: &SecretFn, inst: &ComponentInstance) -> Result<Node> {
        let session = self.session(inst)?;
        let decl = session.find(&f.name).map_err(|_| {
            Error::new(format!(
                "secret is not declared: \"{}\" (declare it under the component's secrets.vars)",
                f.name
            ))
            .with_hint(format!(
                "add `{}` under `components.<type>.{}.secrets.vars` with a `store:` or `sops:` backend",
                f.name, inst.name
            ))
        })?;
        let value = match session.get_value(decl) {
            Ok(v) => to_node(&v),
            Err(e) => match &f.default {
                Some(d) => return Ok(Node::Str(d.clone())),
                None => return Err(e),
            },
        };
        apply_path(value, f.path.as_deref(), &format!("secret `{}`", f.name))
    }

    fn resolve_store(&mut self, f: &StoreFn, inst: &ComponentInstance) -> Result<Node> {
        let session = self.session(inst)?;
        if session.cfg.stores.get(&f.store).is_some_and(|s| s.secret) {
            return Err(Error::new(format!(
                "store is a secret store; use !secret instead of !store: store \"{}\" (in `!store {}`)",
                f.store, f.expr
            )));
        }
        let stack = f.stack.clone().unwrap_or_else(|| inst.stack.clone());
        let coordinate = Coordinate {
            scope: if f.component.is_empty() {
                Scope::Stack
            } else {
                Scope::Instance
            },
            stack,
            component: f.component.clone(),
            key: f.key.clone(),
        };
        let target = session.store_target(&f.store, coordinate, &f.key)?;
        let value = match (target.read()?, &f.default) {
            (Ok(Some(v)), _) => to_node(&v),
            (Ok(None) | Err(_), Some(d)) => return Ok(Node::Str(d.clone())),
            (Ok(None), None) => {
                return Err(Error::new(format!(
                    "value not found: `!store {}` ({})",
                    f.expr,
                    target.physical_key()
                )));
            }
            (Err(e), None) => {
                return Err(Error::from(e).context(format!("`!store {}` failed", f.expr)));
            }
        };
        apply_path(value, f.query.as_deref(), &format!("`!store {}`", f.expr))
    }

    fn resolve_store_get(&mut self, f: &StoreGetFn, inst: &ComponentInstance) -> Result<Node> {
        let session = self.session(inst)?;
        // The key is used as given (prefix + key), without stack or component segments.
        let coordinate = Coordinate {
            scope: Scope::Global,
            stack: String::new(),
            component: String::new(),
            key: f.key.clone(),
        };
        let target = session.store_target(&f.store, coordinate, &f.key)?;
        let value = match (target.read()?, &f.default) {
            (Ok(Some(v)), _) => to_node(&v),
            (Ok(None), Some(d)) => return Ok(Node::Str(d.clone())),
            (Ok(None), None) => {
                return Err(Error::new(format!(
                    "value not found: `!store.get {}` ({})",
                    f.expr,
                    target.physical_key()
                )));
            }
            (Err(e), _) => {
                return Err(Error::from(e).context(format!("`!store.get {}` failed", f.expr)));
            }
        };
        apply_path(
            value,
            f.query.as_deref(),
            &format!("`!store.get {}`", f.expr),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATMOS_YAML: &str = "
stores:
  kc:
    kind: keychain
    options:
      backend: memory
";

    const SECTION: &str = r#"
secrets:
  vars:
    API_KEY:
      store: kc
      reference: "db-{{ .atmos_stack }}"
    TOKEN:
      store: kc
      scope: stack
    UNSET:
      store: kc
"#;

    fn session() -> Session {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = crate::config::load::from_str(ATMOS_YAML, &dir.path().join("atmos.yaml"), None)
            .expect("config");
        let project = Project::with_config(Settings::default(), Arc::new(cfg));
        let Node::Map(section) = yaml::parse(SECTION, "section.yaml").expect("yaml") else {
            panic!("section is a map");
        };
        let instance = ComponentInstance {
            stack: "dev".into(),
            manifest: dir.path().join("stacks/dev.yaml"),
            files: Default::default(),
            component_type: "terraform".into(),
            name: "api".into(),
            section,
        };
        project.session_for(instance, "dev").expect("session")
    }

    /// Runs `f` and returns how many times [`Session::resolve`] ran meanwhile.
    fn resolves(f: impl FnOnce()) -> usize {
        let before = RESOLVED.with(std::cell::Cell::get);
        f();
        RESOLVED.with(std::cell::Cell::get) - before
    }

    #[test]
    fn every_use_resolves_each_declaration_once() {
        let s = session();
        let api = s.find("API_KEY").unwrap().clone();
        let unset = s.find("UNSET").unwrap().clone();
        assert_eq!(
            resolves(|| s
                .resolve(&api)
                .unwrap()
                .write(&SecretValue::text("v1"))
                .unwrap()),
            1
        );
        assert_eq!(
            resolves(|| assert_eq!(s.get_value(&api).unwrap().as_str(), Some("v1"))),
            1
        );
        // The "not initialized" message reuses the target for its store and physical key.
        assert_eq!(
            resolves(|| {
                let err = s.get_value(&unset).unwrap_err();
                assert!(err.message().contains("not found in store `kc`"), "{err:?}");
            }),
            1
        );
        let decls: Vec<&Declaration> = s.decls.iter().collect();
        assert_eq!(resolves(|| drop(s.exists_many(&decls))), decls.len());
        assert_eq!(resolves(|| drop(s.read_many(&decls))), decls.len());
    }

    #[test]
    fn reads_status_and_messages_agree_on_the_rendered_coordinate() {
        let s = session();
        let api = s.find("API_KEY").unwrap().clone();
        let target = s.resolve(&api).unwrap();
        assert_eq!(target.coordinate.key, "db-dev");
        assert_eq!((target.store_name(), target.kind()), ("kc", "keychain"));
        assert!(target.physical_key().contains("db-dev"), "{target:?}");
        target.write(&SecretValue::text("v1")).unwrap();
        // What `get` reads, what `list`/`validate` check and a raw read of the target agree.
        let decls: Vec<&Declaration> = s.decls.iter().collect();
        let status: Vec<bool> = s
            .exists_many(&decls)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(status, [true, false, false]);
        let values = s.read_many(&decls);
        assert_eq!(
            values[0].as_ref().unwrap().as_ref().unwrap().as_str(),
            Some("v1")
        );
        assert_eq!(
            target.read().unwrap().unwrap().unwrap().as_str(),
            Some("v1")
        );
        // Targets of different sessions batch together.
        let other = session();
        let token = other.resolve(other.find("TOKEN").unwrap()).unwrap();
        let both = exists(&[&target, &token]);
        assert_eq!(
            both.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn unknown_names_suggest_the_closest_declaration() {
        let s = session();
        let err = s.find("API_KEX").unwrap_err();
        assert!(
            err.hints().iter().any(|h| h == "did you mean `API_KEY`?"),
            "{err:?}"
        );
        assert_eq!(closest("zzzzzz", ["API_KEY"].into_iter()), None);
    }

    /// Spins for a stack-dependent while (uneven build times shuffle which thread builds what).
    fn busy(name: &str) -> usize {
        let n: usize = name[1..].parse().expect("number");
        let mut x = n;
        for i in 0..(n * 7919 % 13) * 2000 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        n
    }

    /// The two-builder walk hands every stack over once, in order, whatever thread built it;
    /// the first failing stack in order is the error (later ones are not handed over) and a
    /// failing `each` ends the walk where it failed — many times over, since which thread
    /// builds what varies from run to run.
    #[test]
    fn the_walk_hands_stacks_over_in_order_and_stops_at_the_first_error() {
        let names: Vec<String> = (0..97).map(|i| format!("s{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for round in 0..40 {
            let mut seen = Vec::new();
            walk(
                &names,
                |n| Ok(busy(n)),
                |i, total, v| {
                    assert_eq!((i, total), (v, 97));
                    seen.push(v);
                    Ok(())
                },
            )
            .expect("walk");
            assert_eq!(seen, (0..97).collect::<Vec<_>>(), "round {round}");

            // Stacks 30 + round and 60 fail: the first is reported, nothing after it handed.
            let bad = 30 + round;
            let mut seen = Vec::new();
            let err = walk(
                &names,
                |n| {
                    let v = busy(n);
                    if v == bad || v == 60 {
                        Err(Error::new(format!("broken {v}")))
                    } else {
                        Ok(v)
                    }
                },
                |_, _, v| {
                    seen.push(v);
                    Ok(())
                },
            )
            .expect_err("a stack fails");
            assert_eq!(err.message(), format!("broken {}", bad.min(60)));
            assert_eq!(seen, (0..bad.min(60)).collect::<Vec<_>>(), "round {round}");

            // `each` fails on stack 5 + round: its error, nothing handed over after it.
            let mut seen = Vec::new();
            let err = walk(
                &names,
                |n| Ok(busy(n)),
                |_, _, v| {
                    if v == 5 + round {
                        return Err(Error::new("each failed"));
                    }
                    seen.push(v);
                    Ok(())
                },
            )
            .expect_err("each fails");
            assert_eq!(err.message(), "each failed");
            assert_eq!(seen, (0..5 + round).collect::<Vec<_>>());
        }
        // One stack, and none.
        let mut seen = Vec::new();
        walk(
            &names[..1],
            |n| Ok(busy(n)),
            |_, _, v| {
                seen.push(v);
                Ok(())
            },
        )
        .expect("one");
        walk(
            &[],
            |n| Ok(busy(n)),
            |_, _, v| {
                seen.push(v);
                Ok(())
            },
        )
        .expect("none");
        assert_eq!(seen, vec![0]);
    }
}
