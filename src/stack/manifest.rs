//! Owns manifest files: choosing top-level stack files, reading each file once (with `!include`
//! evaluated and its shape checked), and resolving `import:` recursively with cycle detection.
//!
//! A file with its imports is a list of *layers* (each file's body, imports first), cached per
//! file as shared pointers: a catalog imported by hundreds of stacks is read once, and nothing is
//! merged until a stack's configuration is asked for ([`merge_layers`]).
//!
//! Templates in imports (atmos' first phase): a `.tmpl` file, or any file imported with
//! `context:`, is rendered as a Go template over that context before it is parsed; the context
//! reaches nested imports (an import's own context wins), `skip_templates_processing` reads the
//! file as written and `ignore_missing_template_values` prints `<no value>` for missing keys.
//! Bodies are cached per file and context.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

use globset::{GlobBuilder, GlobSetBuilder};

use super::StackError;
use super::merge::{self, ListStrategy};
use crate::config::functions as primitives;
use crate::config::load::{normalize, normalized};
use crate::config::{CliConfig, StacksConfig};
use crate::secrets::Scope;
use crate::secrets::declare;
use crate::yaml::{self, Map, Node};

/// A parsed manifest: its imports and the rest of its body.
#[derive(Debug)]
struct Parsed {
    imports: Vec<Import>,
    body: Arc<Map>,
    /// Whether the body may depend on more than the file's bytes: rendered as a template, or
    /// holding `!include` (which reads other files into it).
    volatile: bool,
    /// The file's metadata as it was opened, when the loader was asked for it
    /// ([`Loader::stamping`]).
    read: Option<std::fs::Metadata>,
}

#[derive(Debug)]
struct Import {
    path: String,
    skip_if_missing: bool,
    /// `context:` for Go templates in the imported file (merged over the importer's context).
    context: Map,
    /// `skip_templates_processing: true`: the file is read as written.
    skip_templates: bool,
    /// `ignore_missing_template_values: true`: `missingkey=default` instead of `error`.
    ignore_missing: bool,
}

/// How a file is read: the template context it was imported with (empty for top-level files)
/// and the import's switches. Part of the cache key, since one catalog file imported with two
/// contexts gives two bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct ReadAs {
    /// The context as YAML text (empty = none).
    context: String,
    skip_templates: bool,
    ignore_missing: bool,
}

/// Whether `file` is a template manifest (`.yaml.tmpl`, `.yml.tmpl`, `.tmpl`), always rendered
/// as a Go template before it is parsed, as atmos does.
pub fn is_template_file(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "tmpl")
}

/// Maps hashed with foldhash: the loader's caches (paths of the project, looked up thousands of
/// times in a large tree) and the per-instance memos of [`super::component::Shared`].
pub(super) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The bodies of a file and everything it imports, in merge order (lowest first).
pub type Layers = Arc<Vec<Arc<Map>>>;

/// The file of each of [`Layers`], same order (shared paths: a catalog file appears in the
/// list of every stack importing it).
pub type LayerFiles = Arc<Vec<Arc<Path>>>;

/// Merges layers lowest → highest. `name` is taken from the last layer only (a manifest's `name:`
/// names that manifest's stack, not the stacks importing it). `only` restricts the merge to those
/// top-level keys.
pub fn merge_layers(layers: &[Arc<Map>], only: Option<&[&str]>, lists: ListStrategy) -> Map {
    let mut out = Map::default();
    if let Some(keys) = only {
        merge_keys_into(&mut out, layers, keys, lists);
        return out;
    }
    let last = layers.len().saturating_sub(1);
    for (i, layer) in layers.iter().enumerate() {
        if i == last {
            merge::merge_into(&mut out, layer, lists);
        } else {
            merge::merge_into_except(&mut out, layer, "name", lists);
        }
    }
    out
}

/// Merges `keys` of `layers` (lowest first) over `out`: a left fold, so the fold of a list's
/// prefix can be carried on with the rest.
fn merge_keys_into(out: &mut Map, layers: &[Arc<Map>], keys: &[&str], lists: ListStrategy) {
    for layer in layers {
        for key in keys {
            if let Some(v) = layer.get(*key) {
                match out.get_mut(*key) {
                    Some(existing) => merge::merge_node(existing, v, lists),
                    None => {
                        out.insert((*key).to_owned(), v.clone());
                    }
                }
            }
        }
    }
}

/// The sections a stack is named from ([`Tree::stack_sections`]).
pub const STACK_SECTIONS: &[&str] = &["vars", "settings", "env"];

/// [`merge_layers`] of every top-level key but `skip` (merging is key-local: the keys kept merge
/// exactly as in the full merge).
pub fn merge_layers_except(layers: &[Arc<Map>], skip: &[&str], lists: ListStrategy) -> Map {
    let mut out = Map::default();
    let last = layers.len().saturating_sub(1);
    for (i, layer) in layers.iter().enumerate() {
        for (k, v) in layer.iter() {
            if skip.contains(&k.as_str()) || (k == "name" && i != last) {
                continue;
            }
            match out.get_mut(k) {
                Some(existing) => merge::merge_node(existing, v, lists),
                None => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// Reads and merges manifests with imports. Loaders made with [`Loader::sibling`] share one
/// [`Cache`], so that threads loading different stacks of one project parse each file once.
pub struct Loader<'a> {
    cfg: &'a CliConfig,
    lists: ListStrategy,
    cache: Arc<Cache>,
    /// Renderers for templated imports: `missingkey=error`, and `default` for imports with
    /// `ignore_missing_template_values`.
    renderers: [std::sync::OnceLock<crate::template::Renderer>; 2],
    /// The imports being resolved on this loader's thread (cycle detection).
    chain: Vec<PathBuf>,
    /// Whether each file's metadata is taken as it is read ([`Loader::stamping`]).
    stamping: bool,
}

/// Per file, one entry per way it was read ([`ReadAs`]; nearly always one): looked up by
/// `&Path` with no allocation. Keyed by the path's bytes (every key is a normalized path), since
/// hashing a `Path` walks its components.
type ByFile<V> = FastMap<OsString, Vec<(ReadAs, V)>>;

fn by_file<'m, V>(map: &'m ByFile<V>, file: &Path, read_as: &ReadAs) -> Option<&'m V> {
    map.get(file.as_os_str())?
        .iter()
        .find(|(r, _)| r == read_as)
        .map(|(_, v)| v)
}

/// Inserts `value` unless another thread got there first; either way, the one kept. Every
/// stack then holds the same pointers for a shared file (the component caches are keyed by them).
fn keep_first<V: Clone>(map: &mut ByFile<V>, file: &Path, read_as: &ReadAs, value: V) -> V {
    if let Some(hit) = by_file(map, file, read_as) {
        return hit.clone();
    }
    map.entry(file.as_os_str().to_owned())
        .or_default()
        .push((read_as.clone(), value.clone()));
    value
}

/// A top-level manifest resolved for naming ([`Loader::top_level`]).
pub struct TopLevel {
    /// The file with its imports (layers made when first asked for).
    pub tree: Tree,
    /// The file's own `name:`.
    pub own_name: Option<String>,
}

/// A manifest resolved with its imports, shared by every stack and file importing it. Its flat
/// lists (layers, their files and import depths) are made on first use and kept: naming a stack
/// needs none of them, and a command about one stack builds one stack's.
#[derive(Clone)]
pub struct Tree(Arc<Resolved>);

impl Tree {
    /// [`STACK_SECTIONS`] merged over the layers, as `merge_layers(layers, Some(…))` gives
    /// them (carried on from the imports' memos; not kept for this file).
    pub fn stack_sections(&self, lists: ListStrategy) -> Map {
        self.0.merge_stack_sections(lists)
    }

    /// `vars.<key>` of the merged layers when it is a scalar (or null), as a name pattern reads
    /// it, found without merging: the last definition, unless a later `vars` that is not a map
    /// dropped it. `None` when unset or dropped; a map or list is returned as its last
    /// definition, which a pattern rejects as the merged one would be.
    pub fn var(&self, key: &str) -> Option<&Node> {
        match self.0.var(key) {
            Var::Set(value) => Some(value),
            Var::Unset | Var::Reset => None,
        }
    }

    /// The bodies of the file and everything it imports, in merge order (lowest first).
    pub fn layers(&self) -> &Layers {
        &self.0.flat().layers
    }

    /// The file of each of [`Tree::layers`], same order.
    pub fn files(&self) -> &LayerFiles {
        &self.0.flat().files
    }

    /// The import depth of each of [`Tree::layers`], same order: 0 for the file itself, 1 for
    /// what it imports, and so on (with the post-order it gives each layer's importers, for
    /// `overrides` scoping).
    pub fn depths(&self) -> &Arc<Vec<usize>> {
        &self.0.flat().depths
    }
}

impl Tree {
    /// The file this tree was read from.
    pub(crate) fn file(&self) -> &Path {
        &self.0.file
    }

    /// The trees of what the file imports, in import order.
    pub(crate) fn imports(&self) -> impl Iterator<Item = Tree> + '_ {
        self.0.imports.iter().map(|r| Tree(Arc::clone(r)))
    }

    /// Whether the stack-name index may vouch for this tree (see `Resolved::indexable`).
    pub(crate) fn indexable(&self) -> bool {
        self.0.indexable
    }

    /// The file's metadata as it was read, when the loader was [`Loader::stamping`].
    pub(crate) fn read_metadata(&self) -> Option<&std::fs::Metadata> {
        self.0.read.as_ref()
    }

    /// An identity shared by every stack importing this same tree (one parse, one pointer).
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tree").field(&self.0.file).finish()
    }
}

/// A manifest body's own `name:` (checked: a non-empty string).
fn own_name_in(body: &Map, file: &Path) -> Result<Option<String>, StackError> {
    match body.get("name") {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(StackError::Invalid {
            file: file.to_path_buf(),
            field: "name".to_owned(),
            message: match other {
                Node::Str(_) => "expected a non-empty string, found a blank one".to_owned(),
                _ => format!("expected a non-empty string, found a {}", other.type_name()),
            },
        }),
    }
}

/// A file resolved with its imports: the entries of what it imports, in import order, and its
/// own body. The flat lists are concatenated on first use.
struct Resolved {
    imports: Vec<Arc<Resolved>>,
    file: Arc<Path>,
    body: Arc<Map>,
    flat: std::sync::OnceLock<Flat>,
    /// [`STACK_SECTIONS`] of the layers merged, made on first use from the first import's.
    stack_sections: std::sync::OnceLock<Arc<Map>>,
    /// Whether this tree depends only on the bytes of its files and on which files exist in
    /// their directories: no template, no `!include`, no glob import and no import skipped as
    /// missing. Only such trees go into the stack-name index ([`super::index`]).
    indexable: bool,
    /// The file's metadata as it was read ([`Loader::stamping`]).
    read: Option<std::fs::Metadata>,
}

/// `vars.<key>` of a layer list, from its last definition ([`Resolved::var`]).
enum Var<'a> {
    /// No layer sets it.
    Unset,
    /// A later `vars` that is not a map dropped it.
    Reset,
    /// The last layer to set it set this. Merging gives exactly this unless it is a map or a
    /// list (those merge with earlier definitions), and the pattern reads only scalars.
    Set(&'a Node),
}

/// The flat lists of a [`Resolved`]: each import's, in order, then the file's own.
struct Flat {
    layers: Layers,
    files: LayerFiles,
    depths: Arc<Vec<usize>>,
}

impl Resolved {
    fn flat(&self) -> &Flat {
        self.flat.get_or_init(|| {
            let (mut layers, mut files, mut depths) = (Vec::new(), Vec::new(), Vec::new());
            for import in &self.imports {
                let flat = import.flat();
                layers.extend(flat.layers.iter().cloned());
                files.extend(flat.files.iter().cloned());
                depths.extend(flat.depths.iter().map(|d| d + 1));
            }
            layers.push(Arc::clone(&self.body));
            files.push(Arc::clone(&self.file));
            depths.push(0);
            Flat {
                layers: Arc::new(layers),
                files: Arc::new(files),
                depths: Arc::new(depths),
            }
        })
    }

    /// `merge_layers(layers, Some(STACK_SECTIONS), lists)`, carried on from the first
    /// import's memo (the first import's layers are the first of ours, and the merge is a left
    /// fold): with the same tenant defaults under hundreds of stacks, each stack merges its own
    /// few layers instead of the whole import tree.
    fn stack_sections(&self, lists: ListStrategy) -> Arc<Map> {
        Arc::clone(
            self.stack_sections
                .get_or_init(|| Arc::new(self.merge_stack_sections(lists))),
        )
    }

    /// `vars.<key>` as merging the layers gives it, found from the last layer backwards (own
    /// body, then the imports last to first, each the same way) without merging anything.
    fn var(&self, key: &str) -> Var<'_> {
        match self.body.get("vars") {
            Some(Node::Map(vars)) => {
                if let Some(value) = vars.get(key) {
                    return Var::Set(value);
                }
            }
            // A `vars` that is not a map replaces everything merged before it.
            Some(_) => return Var::Reset,
            None => {}
        }
        for import in self.imports.iter().rev() {
            match import.var(key) {
                Var::Unset => continue,
                found => return found,
            }
        }
        Var::Unset
    }

    /// [`Resolved::stack_sections`] without keeping the result (for a top-level manifest,
    /// which is named once and rarely imported).
    fn merge_stack_sections(&self, lists: ListStrategy) -> Map {
        if let Some(done) = self.stack_sections.get() {
            return (**done).clone();
        }
        let mut out = Map::default();
        let mut imports = self.imports.iter();
        if let Some(first) = imports.next() {
            out = (*first.stack_sections(lists)).clone();
        }
        for import in imports {
            merge_keys_into(&mut out, &import.flat().layers, STACK_SECTIONS, lists);
        }
        merge_keys_into(
            &mut out,
            std::slice::from_ref(&self.body),
            STACK_SECTIONS,
            lists,
        );
        out
    }
}

/// What the loaders of one project share (behind locks held only for a lookup or an insert;
/// reading, parsing and resolving happen outside them). Two threads may parse one file at the
/// same moment; the first result stored is the one both use.
#[derive(Default)]
pub struct Cache {
    parsed: Mutex<ByFile<Arc<Parsed>>>,
    resolved: Mutex<ByFile<Arc<Resolved>>>,
    /// Glob imports already expanded (compiling a glob is the costly part).
    globs: Mutex<FastMap<String, Arc<Vec<PathBuf>>>>,
    /// Plain imports already resolved to a file (or to none): the same tenant defaults and
    /// mixins are imported by hundreds of stacks, and each lookup costs a `stat` per extension.
    /// (An empty list: no such file.)
    found: Mutex<FastMap<OsString, Arc<Vec<PathBuf>>>>,
    /// What each import spec not relative to its importer matched, when it matched something:
    /// looked up by the spec as written, before any path is built.
    by_spec: Mutex<FastMap<String, Arc<Vec<PathBuf>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The top-level stack files: `.yaml`/`.yml` (and `.yaml.tmpl`/`.yml.tmpl`) files under `stacks.base_path` matching an included
/// glob and no excluded glob (globs relative to the base path), sorted.
pub fn top_level_files(stacks: &StacksConfig) -> Result<Vec<PathBuf>, StackError> {
    let build = |globs: &[String]| {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            let glob = GlobBuilder::new(g.trim_start_matches("./"))
                .literal_separator(true)
                .build()
                .map_err(|e| StackError::Invalid {
                    file: PathBuf::from("atmos.yaml"),
                    field: "stacks.included_paths".to_owned(),
                    message: format!("bad glob `{g}`: {e}"),
                })?;
            b.add(glob);
        }
        b.build().map_err(|e| StackError::Invalid {
            file: PathBuf::from("atmos.yaml"),
            field: "stacks.included_paths".to_owned(),
            message: e.to_string(),
        })
    };
    let included = build(&stacks.included_paths)?;
    let excluded = build(&stacks.excluded_paths)?;
    let mut files = Vec::new();
    walk_yaml(&stacks.base_path, &mut files).map_err(|source| StackError::Read {
        path: stacks.base_path.clone(),
        source,
    })?;
    let mut out: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            let rel = globset::Candidate::new(under(&stacks.base_path, f).unwrap_or(f));
            included.is_match_candidate(&rel)
                && (excluded.is_empty() || !excluded.is_match_candidate(&rel))
        })
        .collect();
    out.sort_unstable_by(|a, b| path_order(a, b));
    Ok(out)
}

/// `a.cmp(b)` for paths from one directory walk (no `.`/`..`, doubled or trailing separators),
/// without splitting them into components: comparing component by component is comparing the
/// bytes with the separator below every other byte.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    #[cfg(unix)]
    {
        let (a, b) = (
            a.as_os_str().as_encoded_bytes(),
            b.as_os_str().as_encoded_bytes(),
        );
        // Paths of one walk share long prefixes: skip the common part eight bytes at a time.
        let n = a.len().min(b.len());
        let mut i = 0;
        while i + 8 <= n && a[i..i + 8] == b[i..i + 8] {
            i += 8;
        }
        while i < n && a[i] == b[i] {
            i += 1;
        }
        let key = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
        match (a.get(i), b.get(i)) {
            (Some(&x), Some(&y)) => key(x).cmp(&key(y)),
            _ => a.len().cmp(&b.len()),
        }
    }
    #[cfg(not(unix))]
    {
        a.cmp(b)
    }
}

fn is_yaml(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".yaml", ".yml", ".yaml.tmpl", ".yml.tmpl"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn walk_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() || (ft.is_symlink() && path.is_dir()) {
            walk_yaml(&path, out)?;
        } else if is_yaml(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// `file.strip_prefix(base)` for a path built by joining onto `base` (a directory walk's), from
/// the bytes: `Path::strip_prefix` splits both into components, which costs more than the rest
/// of naming a stack. Falls back to it for any other shape.
pub(super) fn under<'p>(base: &Path, file: &'p Path) -> Option<&'p Path> {
    let (b, f) = (
        base.as_os_str().as_encoded_bytes(),
        file.as_os_str().as_encoded_bytes(),
    );
    let plain = |p: &[u8]| !p.is_empty() && !p.ends_with(b"/") && !p.starts_with(b"./");
    if cfg!(unix) && plain(b) && f.len() > b.len() + 1 && f.starts_with(b) && f[b.len()] == b'/' {
        let rest = file.to_str()?.get(b.len() + 1..)?;
        if !rest.starts_with('/')
            && !rest
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Some(Path::new(rest));
        }
    }
    file.strip_prefix(base).ok()
}

/// The manifest path relative to the stacks base path, without extension, `/`-separated.
pub fn stack_file(base: &Path, file: &Path) -> String {
    let rel = under(base, file).unwrap_or(file);
    // The common case, a `.yaml`/`.yml` file with a stem: that extension off, from the bytes.
    if let Some(rel) = rel.to_str()
        && !rel.contains('\\')
        && !rel.starts_with('/')
    {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        for ext in [".yaml", ".yml"] {
            if name.strip_suffix(ext).is_some_and(|stem| !stem.is_empty()) {
                return rel[..rel.len() - ext.len()].to_owned();
            }
        }
    }
    stack_file_by_components(rel)
}

/// [`stack_file`] of a path already relative to the base path, from its components.
fn stack_file_by_components(rel: &Path) -> String {
    let rel = if is_template_file(rel) {
        rel.with_extension("")
    } else {
        rel.to_path_buf()
    };
    let s = rel.with_extension("").to_string_lossy().replace('\\', "/");
    s.trim_start_matches('/').to_owned()
}

fn display(base: &Path, file: &Path) -> String {
    file.strip_prefix(base)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| file.display().to_string())
}

impl<'a> Loader<'a> {
    /// A loader for the project of `cfg`, with a cache of its own.
    pub fn new(cfg: &'a CliConfig) -> Self {
        let lists = cfg
            .settings
            .get("list_merge_strategy")
            .and_then(Node::as_str)
            .and_then(ListStrategy::parse)
            .unwrap_or_default();
        Self {
            cfg,
            lists,
            cache: Arc::default(),
            renderers: Default::default(),
            chain: Vec::new(),
            stamping: false,
        }
    }

    /// Another loader of the same project sharing this one's cache (for another thread).
    pub fn sibling(&self) -> Self {
        Self {
            cfg: self.cfg,
            lists: self.lists,
            cache: Arc::clone(&self.cache),
            renderers: Default::default(),
            chain: Vec::new(),
            stamping: self.stamping,
        }
    }

    /// Takes each file's metadata from the open file before reading it (one `fstat` more per
    /// file), for the stack-name index to compare with a later `stat`.
    pub fn stamping(mut self) -> Self {
        self.stamping = true;
        self
    }

    /// The list merge strategy from `settings.list_merge_strategy`.
    pub fn lists(&self) -> ListStrategy {
        self.lists
    }

    /// The file's own `name:` (not inherited from imports).
    pub fn own_name(&mut self, file: &Path) -> Result<Option<String>, StackError> {
        let parsed = self.parse(&normalize(file), &Map::default(), &ReadAs::default())?;
        own_name_in(&parsed.body, file)
    }

    /// Everything [`super::load`] needs to name the stack of a top-level `file`, from one lookup.
    pub fn top_level(&mut self, file: &Path) -> Result<TopLevel, StackError> {
        let resolved = self.resolved_as(file, &Map::default(), ReadAs::default())?;
        let own_name = own_name_in(&resolved.body, file)?;
        Ok(TopLevel {
            tree: Tree(resolved),
            own_name,
        })
    }

    /// The layers of `file`: each imported file's layers in import order, then its own body.
    pub fn layers(&mut self, file: &Path) -> Result<Layers, StackError> {
        let resolved = self.resolved_as(file, &Map::default(), ReadAs::default())?;
        Ok(Arc::clone(&resolved.flat().layers))
    }

    /// `file` resolved with its imports, read with `context` (templates in imports).
    fn resolved_as(
        &mut self,
        file: &Path,
        context: &Map,
        read_as: ReadAs,
    ) -> Result<Arc<Resolved>, StackError> {
        let file = normalized(file);
        let file: &Path = &file;
        // Normal paths are equal exactly when their bytes are (`Path`'s `==` walks components).
        if let Some(pos) = self
            .chain
            .iter()
            .position(|f| f.as_os_str() == file.as_os_str())
        {
            let base = &self.cfg.stacks.base_path;
            let mut chain: Vec<String> =
                self.chain[pos..].iter().map(|f| display(base, f)).collect();
            chain.push(display(base, file));
            return Err(StackError::ImportCycle { chain });
        }
        if let Some(done) = by_file(&lock(&self.cache.resolved), file, &read_as) {
            return Ok(Arc::clone(done));
        }
        let parsed = self.parse(file, context, &read_as)?;
        self.chain.push(file.to_path_buf());
        let imports = self.collect_imports(file, &parsed, context);
        self.chain.pop();
        let (imports, plain_imports) = imports?;
        let indexable = !parsed.volatile
            && plain_imports
            && read_as == ReadAs::default()
            && imports.iter().all(|i| i.indexable);
        let resolved = Arc::new(Resolved {
            indexable,
            read: parsed.read.clone(),
            imports,
            file: Arc::from(file),
            body: Arc::clone(&parsed.body),
            flat: std::sync::OnceLock::new(),
            stack_sections: std::sync::OnceLock::new(),
        });
        Ok(keep_first(
            &mut lock(&self.cache.resolved),
            file,
            &read_as,
            resolved,
        ))
    }

    /// The resolved entry of `file` read plainly, if [`Loader::layers`] made it.
    fn resolved(&self, file: &Path) -> Option<Arc<Resolved>> {
        by_file(
            &lock(&self.cache.resolved),
            &normalize(file),
            &ReadAs::default(),
        )
        .cloned()
    }

    /// The file each of `file`'s layers came from, in merge order (after [`Loader::layers`]).
    pub fn layer_files(&self, file: &Path) -> LayerFiles {
        self.resolved(file)
            .map(|r| Arc::clone(&r.flat().files))
            .unwrap_or_default()
    }

    /// The resolved entries of what `file` imports, in import order, and whether every import
    /// named one file by its path (no glob, none skipped as missing).
    fn collect_imports(
        &mut self,
        file: &Path,
        parsed: &Parsed,
        context: &Map,
    ) -> Result<(Vec<Arc<Resolved>>, bool), StackError> {
        let mut out = Vec::new();
        let mut plain = true;
        for import in &parsed.imports {
            // The importer's context reaches nested imports; an import's own context wins.
            let child = if import.context.is_empty() {
                context.clone()
            } else {
                merge::merge_all([context, &import.context], self.lists)
            };
            let read_as = ReadAs {
                context: if child.is_empty() {
                    String::new()
                } else {
                    yaml::to_yaml(&Node::Map(child.clone()))
                },
                skip_templates: import.skip_templates,
                ignore_missing: import.ignore_missing,
            };
            let targets = self.expand(file, import)?;
            plain &= targets.len() == 1 && !import.path.contains(crate::fsx::GLOB_CHARS);
            for target in targets.iter() {
                out.push(self.resolved_as(target, &child, read_as.clone())?);
            }
        }
        Ok((out, plain))
    }

    /// The files an import entry names.
    fn expand(&mut self, file: &Path, import: &Import) -> Result<Arc<Vec<PathBuf>>, StackError> {
        let spec = import.path.trim();
        // Under the base path, a spec names the same files from every importer.
        let shared = !(spec.starts_with("./") || spec.starts_with("../"));
        if shared && let Some(hit) = lock(&self.cache.by_spec).get(spec) {
            return Ok(Arc::clone(hit));
        }
        let found = self.expand_uncached(file, import)?;
        if shared && !found.is_empty() {
            lock(&self.cache.by_spec).insert(spec.to_owned(), Arc::clone(&found));
        }
        Ok(found)
    }

    /// [`Loader::expand`] without the per-spec cache.
    fn expand_uncached(
        &mut self,
        file: &Path,
        import: &Import,
    ) -> Result<Arc<Vec<PathBuf>>, StackError> {
        let fail = |message: String| StackError::Import {
            file: file.to_path_buf(),
            import: import.path.clone(),
            message,
        };
        let spec = import.path.trim();
        if spec.is_empty() {
            return Err(fail("the path is empty".to_owned()));
        }
        let root = if spec.starts_with("./") || spec.starts_with("../") {
            file.parent().unwrap_or(Path::new("/")).to_path_buf()
        } else {
            self.cfg.stacks.base_path.clone()
        };
        let joined = normalize(&root.join(spec));
        if spec.contains(crate::fsx::GLOB_CHARS) {
            let mut pattern = joined.to_string_lossy().replace('\\', "/");
            if pattern.ends_with("**") {
                pattern.push_str("/*.{yaml,yml,yaml.tmpl,yml.tmpl}");
            } else if !has_extension(&pattern) {
                // As atmos (`filepath.Ext`): a glob whose last element carries an extension of
                // its own (`top-level-service-?.*`, `*.yaml`) is used as written.
                pattern.push_str(".{yaml,yml,yaml.tmpl,yml.tmpl}");
            }
            let hit = lock(&self.cache.globs).get(&pattern).cloned();
            let matched = match hit {
                Some(hit) => hit,
                None => {
                    let glob = GlobBuilder::new(&pattern)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| fail(format!("bad glob: {e}")))?
                        .compile_matcher();
                    let literal = crate::fsx::glob_root(&joined);
                    let mut files = Vec::new();
                    if literal.is_dir() {
                        walk_yaml(&literal, &mut files).map_err(|e| {
                            fail(format!("cannot list `{}`: {e}", literal.display()))
                        })?;
                    }
                    let mut matched: Vec<PathBuf> =
                        files.into_iter().filter(|f| glob.is_match(f)).collect();
                    matched.sort();
                    let matched = Arc::new(matched);
                    lock(&self.cache.globs).insert(pattern.clone(), Arc::clone(&matched));
                    matched
                }
            };
            if matched.is_empty() && !import.skip_if_missing {
                return Err(fail(format!("no manifests match `{pattern}`")));
            }
            return Ok(matched);
        }
        let hit = lock(&self.cache.found).get(joined.as_os_str()).cloned();
        let found = match hit {
            Some(hit) => hit,
            None => {
                let hit = Arc::new(Self::find_file(&joined).into_iter().collect::<Vec<_>>());
                lock(&self.cache.found).insert(joined.as_os_str().to_owned(), Arc::clone(&hit));
                hit
            }
        };
        if found.is_empty() && !import.skip_if_missing {
            return Err(fail(format!(
                "the file `{}` does not exist",
                Self::candidates(&joined)[0].display()
            )));
        }
        Ok(found)
    }

    /// The files a plain import path may name, in lookup order.
    fn candidates(joined: &Path) -> Vec<PathBuf> {
        if is_yaml(joined)
            || is_template_file(joined)
            || joined.extension().is_some_and(|e| e == "json")
        {
            vec![joined.to_path_buf()]
        } else {
            let name = joined.file_name().unwrap_or_default().to_string_lossy();
            ["yaml", "yml", "yaml.tmpl", "yml.tmpl"]
                .iter()
                .map(|ext| joined.with_file_name(format!("{name}.{ext}")))
                .collect()
        }
    }

    /// The first existing file among [`Loader::candidates`].
    fn find_file(joined: &Path) -> Option<PathBuf> {
        Self::candidates(joined).into_iter().find(|c| c.is_file())
    }

    /// Reads a manifest once: YAML, `!include`, shape checks, `import:` split off.
    fn parse(
        &mut self,
        file: &Path,
        context: &Map,
        read_as: &ReadAs,
    ) -> Result<Arc<Parsed>, StackError> {
        if let Some(p) = by_file(&lock(&self.cache.parsed), file, read_as) {
            return Ok(Arc::clone(p));
        }
        let (mut node, volatile, read) = self.read_node(file, context, read_as)?;
        includes(&mut node, file, &self.cfg.base_path, 0)?;
        let mut body = match node {
            Node::Null => Map::default(),
            Node::Map(m) => m,
            other => {
                return Err(invalid(
                    file,
                    "(document)",
                    format!(
                        "a stack manifest must be a map, found a {}",
                        other.type_name()
                    ),
                ));
            }
        };
        let imports = match body.shift_remove("import") {
            None | Some(Node::Null) => Vec::new(),
            Some(Node::Seq(items)) => items
                .iter()
                .map(|i| import_entry(i, file))
                .collect::<Result<_, _>>()?,
            Some(single @ Node::Str(_)) => vec![import_entry(&single, file)?],
            Some(other) => {
                return Err(invalid(
                    file,
                    "import",
                    format!("expected a list, found a {}", other.type_name()),
                ));
            }
        };
        check_shape(&body, file)?;
        let parsed = Arc::new(Parsed {
            imports,
            body: Arc::new(body),
            volatile,
            read,
        });
        Ok(keep_first(
            &mut lock(&self.cache.parsed),
            file,
            read_as,
            parsed,
        ))
    }

    /// Reads and parses a manifest (rendered first when it is a template or has a context),
    /// whether the result may depend on more than the file's bytes ([`Parsed::volatile`]), and
    /// the file's metadata as it was read when [`Loader::stamping`].
    fn read_node(
        &self,
        file: &Path,
        context: &Map,
        read_as: &ReadAs,
    ) -> Result<(Node, bool, Option<std::fs::Metadata>), StackError> {
        let read = if self.stamping {
            crate::fsx::read_text_with_metadata(file).map(|(text, meta)| (text, Some(meta)))
        } else {
            crate::fsx::read_text(file).map(|text| (text, None))
        };
        let (text, read) = read.map_err(|source| StackError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let rendered = !read_as.skip_templates && (is_template_file(file) || !context.is_empty());
        let volatile = rendered || text.contains("!include");
        let text = if rendered {
            self.render_file(file, &text, context, read_as.ignore_missing)?
        } else {
            text
        };
        // Only an error message uses the origin: borrowed when the path is UTF-8.
        let origin = file.to_string_lossy();
        let node = if file.extension().is_some_and(|e| e == "json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .map(|v| yaml::from_json(&v))
                .map_err(|e| invalid(file, "(document)", format!("invalid JSON: {e}")))?
        } else {
            yaml::parse(&text, &origin)?
        };
        Ok((node, volatile, read))
    }

    /// Renders a whole manifest as a Go template over its import `context` (atmos' first phase:
    /// before YAML parsing, named by its path under the stacks base path in Go's messages).
    fn render_file(
        &self,
        file: &Path,
        text: &str,
        context: &Map,
        ignore_missing: bool,
    ) -> Result<String, StackError> {
        use crate::template::{Context, Renderer, Settings, go::MissingKey};
        let renderer = self.renderers[usize::from(ignore_missing)].get_or_init(|| {
            Renderer::new(
                Settings {
                    missing_key: if ignore_missing {
                        MissingKey::Default
                    } else {
                        MissingKey::Error
                    },
                    ..Settings::default()
                },
                |_| {},
            )
        });
        let name = display(&self.cfg.stacks.base_path, file);
        renderer
            .execute(&name, text, &Context::from_map(context))
            .map_err(|e| {
                StackError::Template(crate::template::TemplateError {
                    origin: format!("{} (import context)", file.display()),
                    template: String::new(),
                    message: e.message,
                })
            })
    }
}

fn invalid(file: &Path, field: &str, message: impl Into<String>) -> StackError {
    StackError::Invalid {
        file: file.to_path_buf(),
        field: field.to_owned(),
        message: message.into(),
    }
}

fn import_entry(node: &Node, file: &Path) -> Result<Import, StackError> {
    match node {
        Node::Str(s) => Ok(Import {
            path: s.clone(),
            skip_if_missing: false,
            context: Map::default(),
            skip_templates: false,
            ignore_missing: false,
        }),
        Node::Map(m) => {
            let path = m
                .get("path")
                .and_then(Node::as_str)
                .ok_or_else(|| invalid(file, "import", "an import object needs a string `path`"))?;
            let flag = |k: &str| m.get(k).and_then(Node::as_bool).unwrap_or(false);
            let context = match m.get("context") {
                None | Some(Node::Null) => Map::default(),
                Some(Node::Map(c)) => c.clone(),
                Some(other) => {
                    return Err(invalid(
                        file,
                        "import.context",
                        format!("expected a map, found a {}", other.type_name()),
                    ));
                }
            };
            Ok(Import {
                path: path.to_owned(),
                skip_if_missing: flag("skip_if_missing"),
                context,
                skip_templates: flag("skip_templates_processing"),
                ignore_missing: flag("ignore_missing_template_values"),
            })
        }
        other => Err(invalid(
            file,
            "import",
            format!(
                "entries must be strings or `{{path: …}}` maps, found a {}",
                other.type_name()
            ),
        )),
    }
}

/// Evaluates `!include`/`!include.raw` in place (paths relative to the manifest or the project
/// base path); a document without them is walked, not rebuilt.
fn includes(node: &mut Node, file: &Path, base: &Path, depth: usize) -> Result<(), StackError> {
    if depth > 32 {
        return Err(invalid(
            file,
            "!include",
            "`!include` nesting is deeper than 32 levels",
        ));
    }
    match node {
        Node::Map(m) => {
            for v in m.values_mut() {
                includes(v, file, base, depth)?;
            }
        }
        Node::Seq(s) => {
            for v in s.iter_mut() {
                includes(v, file, base, depth)?;
            }
        }
        Node::Tagged(t) if t.tag == "!include" || t.tag == "!include.raw" => {
            let args =
                primitives::tag_text(&t.tag, &t.value).map_err(|m| invalid(file, &t.tag, m))?;
            let mut included = primitives::eval_include(&args, t.tag == "!include.raw", file, base)
                .map_err(|m| invalid(file, &t.tag, m))?;
            includes(&mut included, file, base, depth + 1)?;
            *node = included;
        }
        _ => {}
    }
    Ok(())
}

const MAP_SECTIONS: &[&str] = &[
    "vars",
    "env",
    "settings",
    "auth",
    "overrides",
    "components",
    "metadata",
];

fn check_map(map: &Map, key: &str, file: &Path, field: &str) -> Result<(), StackError> {
    match map.get(key) {
        None | Some(Node::Null | Node::Map(_)) => Ok(()),
        Some(other) => Err(invalid(
            file,
            field,
            format!("expected a map, found a {}", other.type_name()),
        )),
    }
}

/// Per-file shape checks, so errors name the file that is wrong (merging loses that).
fn check_shape(body: &Map, file: &Path) -> Result<(), StackError> {
    for key in MAP_SECTIONS {
        check_map(body, key, file, key)?;
    }
    if let Some(s) = body.get("secrets") {
        declare::check(s, Scope::Stack, file)?;
    }
    if let Some(Node::Map(o)) = body.get("overrides")
        && let Some(s) = o.get("secrets")
    {
        declare::check(s, Scope::Instance, file)?;
    }
    let Some(Node::Map(types)) = body.get("components") else {
        return Ok(());
    };
    for (ctype, comps) in types {
        if let Some(Node::Map(type_section)) = body.get(ctype.as_str()) {
            check_map(
                type_section,
                "overrides",
                file,
                &format!("{ctype}.overrides"),
            )?;
            if let Some(Node::Map(o)) = type_section.get("overrides")
                && let Some(s) = o.get("secrets")
            {
                declare::check(s, Scope::Instance, file)?;
            }
        }
        let comps = match comps {
            Node::Null => continue,
            Node::Map(c) => c,
            other => {
                return Err(invalid(
                    file,
                    &format!("components.{ctype}"),
                    format!("expected a map, found a {}", other.type_name()),
                ));
            }
        };
        for (name, comp) in comps {
            let field = format!("components.{ctype}.{name}");
            let comp = match comp {
                Node::Null => continue,
                Node::Map(c) => c,
                other => {
                    return Err(invalid(
                        file,
                        &field,
                        format!("expected a map, found a {}", other.type_name()),
                    ));
                }
            };
            for key in MAP_SECTIONS {
                check_map(comp, key, file, &format!("{field}.{key}"))?;
            }
            if let Some(s) = comp.get("secrets") {
                declare::check(s, Scope::Instance, file)?;
            }
            if let Some(Node::Map(o)) = comp.get("overrides")
                && let Some(s) = o.get("secrets")
            {
                declare::check(s, Scope::Instance, file)?;
            }
            if let Some(Node::Map(meta)) = comp.get("metadata") {
                match meta.get("inherits") {
                    None | Some(Node::Null) => {}
                    Some(Node::Seq(items)) if items.iter().all(|i| i.as_str().is_some()) => {}
                    Some(other) => {
                        return Err(invalid(
                            file,
                            &format!("{field}.metadata.inherits"),
                            format!(
                                "expected a list of component names, found {}",
                                describe_node(other)
                            ),
                        ));
                    }
                }
                if let Some(t) = meta.get("type")
                    && !matches!(t.as_str(), Some("abstract" | "real"))
                {
                    return Err(invalid(
                        file,
                        &format!("{field}.metadata.type"),
                        format!("expected `abstract` or `real`, found {}", describe_node(t)),
                    ));
                }
                if let Some(c) = meta.get("component")
                    && c.as_str().is_none()
                {
                    return Err(invalid(
                        file,
                        &format!("{field}.metadata.component"),
                        "expected a string",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn describe_node(n: &Node) -> String {
    match n.scalar_text() {
        Some(s) => format!("`{s}`"),
        None => format!("a {}", n.type_name()),
    }
}

/// Whether the last element of a path has an extension, as Go's `filepath.Ext` sees it: a `.`
/// after the last `/` (a leading dot counts too, as in Go).
fn has_extension(pattern: &str) -> bool {
    let last = pattern.rsplit('/').next().unwrap_or(pattern);
    last.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `under` and `stack_file`'s byte paths give what the component-wise code gives.
    #[test]
    fn stack_file_from_bytes_matches_the_component_walk() {
        fn reference(base: &Path, file: &Path) -> String {
            stack_file_by_components(file.strip_prefix(base).unwrap_or(file))
        }
        let bases = [
            "/p/stacks",
            "stacks",
            ".",
            "/p/stacks/",
            "./stacks",
            "/p/a/../stacks",
        ];
        let rels = [
            "orgs/t1/dev.yaml",
            "a.yml",
            "a.b.yaml",
            "a.yaml.yaml",
            ".yaml",
            "d/.yaml",
            "x.yaml.tmpl",
            "x.json",
            "x",
            "a//b.yaml",
            "a/./b.yaml",
            "a/../b.yaml",
        ];
        for base in bases {
            for rel in rels {
                let base = Path::new(base);
                let file = base.join(rel);
                assert_eq!(
                    stack_file(base, &file),
                    reference(base, &file),
                    "{} under {}",
                    file.display(),
                    base.display()
                );
                assert_eq!(
                    under(base, &file),
                    file.strip_prefix(base).ok(),
                    "{}",
                    file.display()
                );
            }
            let outside = Path::new("/elsewhere/x.yaml");
            assert_eq!(
                stack_file(Path::new(base), outside),
                reference(Path::new(base), outside)
            );
        }
    }

    #[test]
    fn path_order_is_component_order() {
        let mut paths: Vec<PathBuf> = [
            "/s/a/b.yaml",
            "/s/a-b.yaml",
            "/s/a.yaml",
            "/s/a",
            "/s/a/b/c.yaml",
            "/s/a.b/c.yaml",
            "/s/A.yaml",
            "/s/ab.yaml",
            "/s/a b.yaml",
            "/s/é.yaml",
            "/s/z/a.yaml",
            "/s/a/a-.yaml",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let mut by_components = paths.clone();
        by_components.sort();
        paths.sort_by(|a, b| path_order(a, b));
        assert_eq!(paths, by_components);
    }

    #[test]
    fn glob_extension_as_go_sees_it() {
        assert!(has_extension("stacks/catalog/top-level-service-?.*"));
        assert!(has_extension("stacks/catalog/*.yaml"));
        assert!(!has_extension("stacks/catalog/*"));
        assert!(!has_extension("stacks/v1.2/*"));
    }
}
