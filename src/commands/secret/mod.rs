//! `atmos secret …`: the declared-secrets command family (spec §4).
//!
//! [`Session`] is the shared part of every scoped command: resolve `--stack`/`--component` (or
//! prompt), load the configuration and the component instance, extract declarations and
//! stack-declared providers, and map each declaration to its store through the registry. The
//! verbs live in one module each and only orchestrate.

mod dotfiles;
mod exec;
mod get;
mod init;
mod keygen;
mod list;
mod modify;
mod validate;

use std::sync::Arc;

use indexmap::IndexMap;

use crate::cli::{GlobalArgs, ScopeArgs, SecretCommand, SecretSubcommand};
use crate::config::{CliConfig, ProviderConfig};
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::secret::SecretValue;
use crate::secrets::{Declaration, Scope};
use crate::stack::ComponentInstance;
use crate::store::plan::{self, Mode, Outcome, Request};
use crate::store::registry::{Registries, Registry};
use crate::store::{Store, StoreError};

/// Runs `atmos secret <verb>`.
pub fn run(cmd: SecretCommand, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    let ctx = Ctx {
        global: global.clone(),
        scope: cmd.scope,
        interactive: crate::prompt::interactive(global.interactive),
        cfg: std::sync::OnceLock::new(),
        registries: std::sync::OnceLock::new(),
    };
    // Masking settings live in atmos.yaml; a config that does not load is reported by the verb.
    if let Ok(cfg) = ctx.config() {
        crate::commands::describe::configure_masking(printer, global, &cfg);
    }
    experimental_notice(&ctx, printer)?;
    match cmd.command {
        SecretSubcommand::Set(a) => modify::set(&ctx, a, printer),
        SecretSubcommand::Get(a) => get::get(&ctx, a, printer),
        SecretSubcommand::Delete(a) => modify::delete(&ctx, a, printer),
        SecretSubcommand::List(a) => list::list(&ctx, a, printer),
        SecretSubcommand::Validate => validate::validate(&ctx, printer),
        SecretSubcommand::Import(a) => dotfiles::import(&ctx, a, printer),
        SecretSubcommand::Exec(a) => exec::exec(&ctx, a, printer),
        SecretSubcommand::Shell(a) => exec::shell(&ctx, a, printer),
        SecretSubcommand::Keygen(a) => keygen::keygen(&ctx, a, printer),
        SecretSubcommand::Init(a) => init::init(&ctx, a, printer),
        SecretSubcommand::Pull(a) => dotfiles::pull(&ctx, a, printer),
        SecretSubcommand::Push(a) => dotfiles::push(&ctx, a, printer),
    }
}

/// `settings.experimental` / `ATMOS_EXPERIMENTAL`: `warn` (default), `silence`, `disable`, `error`.
fn experimental_notice(ctx: &Ctx, printer: &Printer) -> Result<()> {
    let from_settings = || {
        ctx.cfg.get().and_then(|cfg| {
            cfg.settings
                .get("experimental")
                .and_then(crate::yaml::Node::as_str)
                .map(str::to_owned)
        })
    };
    let mode = crate::env::var(crate::env::ATMOS_EXPERIMENTAL)
        .or_else(from_settings)
        .unwrap_or_else(|| "warn".into());
    let notice = "`atmos secret` is experimental";
    match mode.as_str() {
        "warn" => {
            printer.info(notice);
            Ok(())
        }
        "disable" => Err(
            Error::new("experimental command is disabled: `atmos secret`")
                .with_hint("set `ATMOS_EXPERIMENTAL=warn` or `silence` to allow it"),
        ),
        "error" => {
            printer.info(notice);
            Err(Error::new("experimental command refused: `atmos secret`")
                .with_hint("set `ATMOS_EXPERIMENTAL=warn` or `silence` to allow it"))
        }
        _ => Ok(()),
    }
}

/// Parsed flags shared by the verbs.
pub(crate) struct Ctx {
    pub(crate) global: GlobalArgs,
    pub(crate) scope: ScopeArgs,
    pub(crate) interactive: bool,
    cfg: std::sync::OnceLock<Arc<CliConfig>>,
    registries: std::sync::OnceLock<Registries>,
}

impl Ctx {
    /// Loads `atmos.yaml`.
    pub(crate) fn config(&self) -> Result<Arc<CliConfig>> {
        if let Some(cfg) = self.cfg.get() {
            return Ok(cfg.clone());
        }
        let cfg = Arc::new(crate::config::load::load(&self.global)?);
        for w in &cfg.warnings {
            crate::printer::queue_warning(w.clone());
        }
        Ok(self.cfg.get_or_init(|| cfg).clone())
    }

    /// The registries shared by every session of this command, so each store (and each
    /// decrypted SOPS file) is built once per command even across many component instances.
    pub(crate) fn registries(&self) -> Result<&Registries> {
        let cfg = self.config()?;
        Ok(self.registries.get_or_init(|| {
            Registries::new(cfg, Registries::parse_flag(self.scope.identity.as_deref()))
        }))
    }

    /// The `--stack` value, prompting when allowed.
    pub(crate) fn stack(&self, cfg: &CliConfig) -> Result<String> {
        if let Some(s) = self.scope.stack.as_deref().filter(|s| !s.is_empty()) {
            return Ok(s.to_owned());
        }
        if self.interactive {
            let instances = all_instances(cfg)?;
            let mut stacks: Vec<String> = Vec::new();
            for i in &instances {
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

    /// The `--component` value, prompting when allowed.
    pub(crate) fn component(&self, cfg: &CliConfig, stack: &str) -> Result<String> {
        if let Some(c) = self.scope.component.as_deref().filter(|s| !s.is_empty()) {
            return Ok(c.to_owned());
        }
        if self.interactive {
            let instances = all_instances(cfg)?;
            let mut names: Vec<String> = instances
                .iter()
                .filter(|i| i.stack == stack && has_declarations(i))
                .map(|i| i.name.clone())
                .collect();
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

    /// Resolves stack and component and loads the instance.
    pub(crate) fn session(&self) -> Result<Session> {
        let cfg = self.config()?;
        let stack = self.stack(&cfg)?;
        let component = self.component(&cfg, &stack)?;
        Session::load(
            self.registries()?,
            &stack,
            &component,
            self.scope.component_type.as_deref(),
        )
    }
}

/// Every non-abstract component instance of every stack, by stack then type order.
pub(crate) fn all_instances(cfg: &CliConfig) -> Result<Vec<ComponentInstance>> {
    let stacks = crate::stack::load(cfg)?;
    let mut out = Vec::new();
    for name in stacks.names() {
        out.extend(stacks.instances(cfg, name)?);
    }
    Ok(out)
}

fn has_declarations(i: &ComponentInstance) -> bool {
    crate::secrets::declare::declarations(&i.section).is_ok_and(|d| !d.is_empty())
}

/// One loaded component instance with its declarations and stores.
pub struct Session {
    pub cfg: Arc<CliConfig>,
    pub registry: Arc<Registry>,
    pub stack: String,
    pub component: String,
    pub instance: ComponentInstance,
    pub decls: Vec<Declaration>,
    pub providers: IndexMap<String, ProviderConfig>,
}

impl Session {
    /// Loads one instance; `stack` is used as given for coordinates.
    pub(crate) fn load(
        registries: &Registries,
        stack: &str,
        component: &str,
        component_type: Option<&str>,
    ) -> Result<Self> {
        let cfg = registries.config();
        let instance = crate::stack::load_component(&cfg, stack, component, component_type)
            .map_err(|e| Error::from(e).context("failed to load component config"))?;
        Self::from_instance(registries, instance, stack)
    }

    /// Builds a session over an already loaded instance.
    pub fn from_instance(
        registries: &Registries,
        instance: ComponentInstance,
        stack: &str,
    ) -> Result<Self> {
        let registry = registries.for_instance(&instance);
        let cfg = registry.config_arc();
        let decls = crate::secrets::declare::declarations(&instance.section)?;
        let providers = crate::secrets::declare::providers(&instance.section)?;
        Ok(Self {
            registry,
            cfg,
            stack: stack.to_owned(),
            component: instance.name.clone(),
            instance,
            decls,
            providers,
        })
    }

    /// The declaration named `name`.
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

    /// The store of a declaration, with the scope checked.
    pub(crate) fn store_for(&self, decl: &Declaration) -> Result<Arc<dyn Store>> {
        let store = self.registry.for_declaration(decl, &self.providers)?;
        let coord = self.try_coordinate(decl)?;
        crate::store::check_scope(store.as_ref(), &coord)?;
        Ok(store)
    }

    /// The coordinate of a declaration in this instance. A templated `reference` that does not
    /// render stays as written here; [`Session::store_for`] reports the error first.
    pub(crate) fn coordinate(&self, decl: &Declaration) -> crate::secrets::Coordinate {
        self.try_coordinate(decl)
            .unwrap_or_else(|_| decl.coordinate(&self.stack, &self.component))
    }

    /// The coordinate, rendering a templated `reference` with `atmos_stack`/`atmos_component`
    /// of the coordinate (empty component for stack scope, both empty for global).
    fn try_coordinate(&self, decl: &Declaration) -> Result<crate::secrets::Coordinate> {
        let mut c = decl.coordinate(&self.stack, &self.component);
        if !decl.reference.is_empty() && crate::stack::template::has_template(&decl.reference) {
            let ctx = serde_json::json!({
                "atmos_stack": c.stack,
                "atmos_component": c.component,
            });
            c.key = crate::stack::template::render(
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
        Ok(c)
    }

    /// Reads the values of `decls` with batched, concurrent backend calls.
    pub(crate) fn read_many(
        &self,
        decls: &[&Declaration],
    ) -> Vec<std::result::Result<Option<SecretValue>, Error>> {
        self.batched(decls, Mode::Values)
            .into_iter()
            .map(|r| {
                r.and_then(|o| match o {
                    Outcome::Value(v) => v.map_err(Error::from),
                    Outcome::Exists(_) => Ok(None),
                })
            })
            .collect()
    }

    /// Checks existence of `decls` without decrypting where the backend allows it.
    pub(crate) fn exists_many(
        &self,
        decls: &[&Declaration],
    ) -> Vec<std::result::Result<bool, Error>> {
        self.batched(decls, Mode::Exists)
            .into_iter()
            .map(|r| {
                r.and_then(|o| match o {
                    Outcome::Exists(v) => v.map_err(Error::from),
                    Outcome::Value(v) => v.map(|v| v.is_some()).map_err(Error::from),
                })
            })
            .collect()
    }

    fn batched(
        &self,
        decls: &[&Declaration],
        mode: Mode,
    ) -> Vec<std::result::Result<Outcome, Error>> {
        let pairs: Vec<(&Session, &Declaration)> = decls.iter().map(|d| (self, *d)).collect();
        batched_across(&pairs, mode)
    }

    /// Writes one value.
    pub(crate) fn write(&self, decl: &Declaration, value: &SecretValue) -> Result<()> {
        let store = self.store_for(decl)?;
        let coord = self.coordinate(decl);
        block_on(store.set(&coord, value))?
            .map_err(|e| Error::from(e).context(format!("failed to set secret `{}`", decl.name)))
    }

    /// Deletes one value.
    pub(crate) fn remove(&self, decl: &Declaration) -> Result<()> {
        let store = self.store_for(decl)?;
        if !store.capabilities().delete {
            return Err(StoreError::DeleteUnsupported {
                store: store.name().to_owned(),
                kind: store.kind().to_owned(),
            }
            .into());
        }
        let coord = self.coordinate(decl);
        block_on(store.delete(&coord))?
            .map_err(|e| Error::from(e).context(format!("failed to delete secret `{}`", decl.name)))
    }

    /// "for component `C` in stack `S`".
    pub(crate) fn where_(&self) -> String {
        format!(
            "for component `{}` in stack `{}`",
            self.component, self.stack
        )
    }
}

/// Checks existence for declarations of many sessions at once: one batched, concurrent plan
/// over every store involved (e.g. `list --verify` across all stacks).
pub(crate) fn exists_across(
    pairs: &[(&Session, &Declaration)],
) -> Vec<std::result::Result<bool, Error>> {
    batched_across(pairs, Mode::Exists)
        .into_iter()
        .map(|r| {
            r.and_then(|o| match o {
                Outcome::Exists(v) => v.map_err(Error::from),
                Outcome::Value(v) => v.map(|v| v.is_some()).map_err(Error::from),
            })
        })
        .collect()
}

fn batched_across(
    pairs: &[(&Session, &Declaration)],
    mode: Mode,
) -> Vec<std::result::Result<Outcome, Error>> {
    let mut out: Vec<Option<std::result::Result<Outcome, Error>>> =
        pairs.iter().map(|_| None).collect();
    let mut requests = Vec::new();
    let mut index = Vec::new();
    for (i, (session, d)) in pairs.iter().enumerate() {
        match session.store_for(d) {
            Ok(store) => {
                requests.push(Request {
                    store,
                    key: session.coordinate(d),
                });
                index.push(i);
            }
            Err(e) => out[i] = Some(Err(e)),
        }
    }
    if !requests.is_empty() {
        match block_on(plan::run(requests, mode)) {
            Ok(results) => {
                for (i, r) in index.into_iter().zip(results) {
                    out[i] = Some(Ok(r));
                }
            }
            Err(e) => {
                for i in index {
                    out[i] = Some(Err(Error::new(e.message().to_owned())));
                }
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::new("internal error: missing read result"))))
        .collect()
}

/// Runs a future on a fresh multi-threaded runtime (backends do blocking file work too).
///
/// One runtime serves the whole command (built on first use), so backend clients, their
/// connection pools and token caches are reused across every read and write of the command.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    static RUNTIME: std::sync::OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    let rt = RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// The success line of `set` for a scope.
pub(crate) fn set_message(decl: &Declaration, stack: &str, component: &str) -> String {
    let n = &decl.name;
    match decl.scope {
        Scope::Global => format!(
            "Set global secret `{n}` (one value shared by every stack and component using its store)"
        ),
        Scope::Stack => format!(
            "Set stack-scoped secret `{n}` for stack `{stack}` (shared by every component in the stack)"
        ),
        Scope::Instance => {
            format!("Set secret `{n}` for component `{component}` in stack `{stack}`")
        }
    }
}

/// The closest name by edit distance, if any is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = crate::stack::edit_distance(&name.to_lowercase(), &c.to_lowercase());
        if d <= 2.max(name.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Reads all of stdin.
pub(crate) fn read_stdin() -> Result<zeroize::Zeroizing<String>> {
    use std::io::Read;
    let mut buf = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| Error::new(format!("failed to read stdin: {e}")))?;
    Ok(buf)
}

/// Reads one declared value; a missing or failing read is *secret is not initialized*.
pub fn get_value(session: &Session, decl: &Declaration) -> Result<SecretValue> {
    let mut results = session.read_many(&[decl]);
    match results.pop() {
        Some(Ok(Some(v))) => Ok(v),
        Some(Ok(None)) => Err(Error::new(format!(
            "secret is not initialized in its backend: \"{}\"{}",
            decl.name,
            // Where it was looked for: the store and its physical key (never a value).
            session
                .store_for(decl)
                .map(|s| format!(
                    " (not found in store `{}` at {})",
                    s.name(),
                    s.describe_key(&session.coordinate(decl))
                ))
                .unwrap_or_default()
        ))
        .with_hint(format!(
            "set it with `atmos secret set {} -s {} -c {}`",
            decl.name, session.stack, session.component
        ))),
        Some(Err(e)) => Err(e.context(format!(
            "secret is not initialized in its backend: \"{}\"",
            decl.name
        ))),
        None => Err(Error::new("internal error: no read result")),
    }
}
