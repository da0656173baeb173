//! Owns the stack-name index: the logical name each top-level manifest had when the project was
//! last loaded in full, with the files that name came from, kept between runs in the user's
//! cache directory (`$XDG_CACHE_HOME/atmos/stack-index/`, else `~/.cache/…`).
//!
//! Why: a command about one stack must know which manifests have that name, and without the
//! index it reads and parses every manifest of the repository to find out, so its cost grows
//! with the repository. With it, a stat of each file the names came from answers the question,
//! and only the manifests named so are read.
//!
//! When the index vouches for nothing it does not know for sure:
//! - The index is keyed by the program version, the stacks base path and the whole `stacks:`
//!   configuration; `name_template` projects are not indexed at all.
//! - Each file is stamped with its size, modification and change times (nanoseconds), inode and
//!   device, and so is its directory (a file added beside it can change which file an import
//!   names). A file or directory changed within two seconds before the index was written is not
//!   vouched for (file-system clocks are coarse; the same rule as git's "racily clean" entries).
//! - Trees with templates, `!include`, glob imports or imports skipped as missing are recorded
//!   as "always load": their names depend on more than their files' bytes.
//! - The set of top-level manifests must be the one recorded, and every stamp must match;
//!   anything else and the caller loads everything, as without an index, and writes a new one.
//!
//! The index holds names and paths, nothing secret. It is written atomically (0600), and only
//! when the command succeeds (a failing command leaves nothing behind); a missing, unreadable or
//! corrupt index is only a slower run. `ATMOS_STACKS_INDEX=false` turns it off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::manifest::Tree;
use super::{Stack, Stacks};
use crate::config::CliConfig;

/// Bumped whenever what is stored or how a name is computed changes.
const FORMAT: u32 = 1;

/// How long before the command a file's modification time must lie for the index to vouch
/// for it: a later change within the file system's time granularity (up to two seconds on some)
/// could leave it unchanged (git's "racily clean" entries).
const RACY: Duration = Duration::from_secs(2);

/// How long before the command a file's change time must lie: a file changed while the command
/// read it has a later change time (margin for coarse kernel clocks). A backdated modification
/// time cannot hide such a change.
const CHANGED_DURING: Duration = Duration::from_millis(100);

/// What identifies one version of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// The stamp of `path` now; `None` when it cannot be read (then nothing is vouched for).
    #[cfg(unix)]
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            // A directory's size says nothing the times do not.
            len: if m.is_dir() { 0 } else { m.len() },
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }

    #[cfg(not(unix))]
    fn of(_: &Path) -> Option<Stamp> {
        None
    }

    /// Whether the index may not vouch for this version ([`RACY`], [`CHANGED_DURING`]).
    fn recent(&self, cutoffs: &Cutoffs) -> bool {
        self.mtime >= cutoffs.modified || self.ctime >= cutoffs.changed
    }
}

/// Times (seconds, nanoseconds since the epoch) from which a stamp is too recent to vouch for.
struct Cutoffs {
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Cutoffs {
    fn before(started: SystemTime) -> Option<Cutoffs> {
        let since = started.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        let at = |d: Duration| {
            let d = since.saturating_sub(d);
            (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                i64::from(d.subsec_nanos()),
            )
        };
        Some(Cutoffs {
            modified: at(RACY),
            changed: at(CHANGED_DURING),
        })
    }
}

/// One file of a recorded tree: its stamp, its directory's, and the files it imports.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileNode {
    path: PathBuf,
    stamp: Stamp,
    dir: u32,
    imports: Vec<u32>,
}

/// A directory holding a recorded file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DirNode {
    path: PathBuf,
    stamp: Stamp,
}

/// A top-level manifest: its stack's name when the index may vouch for it, and its tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    manifest: PathBuf,
    /// The manifest's path under the stacks base path, without extension ([`Stack::stack_file`]).
    stack_file: String,
    /// `None`: loaded by every command, when its name depends on more than its files
    /// (`volatile`), or else until its files are old enough to vouch for.
    named: Option<Named>,
    volatile: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Named {
    name: String,
    node: u32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    format: u32,
    key: String,
    files: Vec<FileNode>,
    dirs: Vec<DirNode>,
    /// In manifest path order, as the loader lists them.
    manifests: Vec<Entry>,
}

/// The index of one project (see the module docs).
pub(crate) struct Index {
    path: PathBuf,
    key: String,
    stored: Option<Stored>,
}

/// Which manifests a command about one stack must load, by the index.
pub(crate) struct Plan {
    /// Manifests to load, in path order.
    pub load: Vec<PathBuf>,
    /// The names of the other stacks (for "did you mean" suggestions).
    pub others: Vec<String>,
}

impl Index {
    /// The index of `cfg`'s project, read when there is one for this configuration; `None` when
    /// the index is off or cannot be used (no cache directory, `name_template`).
    pub(crate) fn open(cfg: &CliConfig) -> Option<Index> {
        if !cfg!(unix)
            || cfg.stacks.name_template.is_some()
            || std::env::var("ATMOS_STACKS_INDEX")
                .is_ok_and(|v| matches!(v.trim(), "0" | "false" | "off" | "no"))
        {
            return None;
        }
        let cache = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
        };
        let key = format!(
            "format {FORMAT}; atmos {}; base {:?}; stacks {:?}; lists {:?}",
            env!("CARGO_PKG_VERSION"),
            cfg.base_path,
            cfg.stacks,
            cfg.settings.get("list_merge_strategy"),
        );
        use sha2::Digest;
        let digest = hex::encode(&sha2::Sha256::digest(key.as_bytes())[..12]);
        let path = cache
            .join("atmos")
            .join("stack-index")
            .join(format!("{digest}.json"));
        let stored = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|s| s.format == FORMAT && s.key == key);
        Some(Index { path, key, stored })
    }

    /// The manifests to load for stack `name` when the index vouches for every manifest in
    /// `top` (the current top-level manifests, in path order); `None` when it does not, and the
    /// caller must load them all.
    pub(crate) fn plan(&self, top: &[PathBuf], name: &str) -> Option<Plan> {
        let stored = self.stored.as_ref()?;
        if stored.manifests.len() != top.len()
            || stored
                .manifests
                .iter()
                .zip(top)
                .any(|(e, f)| e.manifest != *f)
        {
            return None;
        }
        let mut check = Check {
            stored,
            files: vec![None; stored.files.len()],
            dirs: vec![None; stored.dirs.len()],
        };
        // The names the command may use: `name` itself, and the name of a manifest given by
        // its path (as `Stacks::stack` resolves it).
        let by_path = name.trim_end_matches(".yaml").trim_end_matches(".yml");
        let mut wanted = vec![name.to_owned()];
        for entry in &stored.manifests {
            match &entry.named {
                Some(named) => {
                    if !check.file(named.node) {
                        return None;
                    }
                    if entry.stack_file == by_path && !wanted.contains(&named.name) {
                        wanted.push(named.name.clone());
                    }
                }
                // Recorded too soon after a change: record it again now.
                None if !entry.volatile => return None,
                // Named by its path, a manifest whose name is not known yet could stand for a
                // stack that other manifests share: load everything.
                None if entry.stack_file == by_path => return None,
                None => {}
            }
        }
        let mut plan = Plan {
            load: Vec::new(),
            others: Vec::new(),
        };
        for entry in &stored.manifests {
            match &entry.named {
                Some(n) if !wanted.contains(&n.name) => plan.others.push(n.name.clone()),
                _ => plan.load.push(entry.manifest.clone()),
            }
        }
        plan.others.sort();
        plan.others.dedup();
        Some(plan)
    }

    /// Makes the index anew from a full load of `stacks` (all of `top`), begun at `started`,
    /// to be written by [`save`] when the command succeeds.
    pub(crate) fn record(&self, top: &[PathBuf], stacks: &Stacks, started: SystemTime) {
        let Some(cutoffs) = Cutoffs::before(started) else {
            return;
        };
        let by_manifest: HashMap<&Path, &Stack> = stacks
            .stacks
            .values()
            .chain(&stacks.shadowed)
            .map(|s| (s.manifest.as_path(), s))
            .collect();
        let mut rec = Recorder {
            stored: Stored {
                format: FORMAT,
                key: self.key.clone(),
                ..Stored::default()
            },
            cutoffs,
            trees: HashMap::new(),
            dirs: HashMap::new(),
        };
        for file in top {
            let Some(stack) = by_manifest.get(file.as_path()) else {
                return;
            };
            let named = rec.tree(stack.tree()).map(|node| Named {
                name: stack.name.clone(),
                node,
            });
            rec.stored.manifests.push(Entry {
                manifest: file.clone(),
                stack_file: stack.stack_file.clone(),
                named,
                volatile: !stack.tree().indexable(),
            });
        }
        if let Ok(bytes) = serde_json::to_vec(&rec.stored)
            && let Ok(mut pending) = PENDING.lock()
        {
            *pending = Some((self.path.clone(), bytes));
        }
    }
}

/// The index [`Index::record`] made, until [`save`].
static PENDING: std::sync::Mutex<Option<(PathBuf, Vec<u8>)>> = std::sync::Mutex::new(None);

/// Writes the index made during this command, if any. Failing to write only costs the next
/// command its speed.
pub(crate) fn save() {
    let pending = PENDING.lock().ok().and_then(|mut p| p.take());
    if let Some((path, bytes)) = pending {
        let _ = crate::fsx::ensure_parent_dir(&path, 0o700);
        let _ = crate::fsx::write_atomic(&path, &bytes, 0o600);
    }
}

/// Stamps checked once each while planning.
struct Check<'a> {
    stored: &'a Stored,
    files: Vec<Option<bool>>,
    dirs: Vec<Option<bool>>,
}

impl Check<'_> {
    fn file(&mut self, id: u32) -> bool {
        let Some(node) = self.stored.files.get(id as usize) else {
            return false;
        };
        if let Some(done) = self.files[id as usize] {
            return done;
        }
        // Provisionally invalid: a corrupt index with a cycle ends here.
        self.files[id as usize] = Some(false);
        let ok = Stamp::of(&node.path) == Some(node.stamp)
            && self.dir(node.dir)
            && node.imports.iter().all(|&i| self.file(i));
        self.files[id as usize] = Some(ok);
        ok
    }

    fn dir(&mut self, id: u32) -> bool {
        let Some(node) = self.stored.dirs.get(id as usize) else {
            return false;
        };
        *self.dirs[id as usize].get_or_insert_with(|| Stamp::of(&node.path) == Some(node.stamp))
    }
}

/// Builds a [`Stored`] from loaded trees.
struct Recorder {
    stored: Stored,
    cutoffs: Cutoffs,
    /// Per tree identity, its node (`None`: not vouched for).
    trees: HashMap<usize, Option<u32>>,
    dirs: HashMap<PathBuf, Option<u32>>,
}

impl Recorder {
    /// The node of `tree`, recorded with its imports; `None` when the index may not vouch
    /// for it.
    fn tree(&mut self, tree: &Tree) -> Option<u32> {
        if let Some(&done) = self.trees.get(&tree.identity()) {
            return done;
        }
        let node = self.record(tree);
        self.trees.insert(tree.identity(), node);
        node
    }

    fn record(&mut self, tree: &Tree) -> Option<u32> {
        if !tree.indexable() {
            return None;
        }
        let path = tree.file().to_path_buf();
        let stamp = Stamp::of(&path).filter(|s| !s.recent(&self.cutoffs))?;
        let dir = self.dir(path.parent()?)?;
        let imports = tree
            .imports()
            .map(|i| self.tree(&i))
            .collect::<Option<Vec<u32>>>()?;
        let id = u32::try_from(self.stored.files.len()).ok()?;
        self.stored.files.push(FileNode {
            path,
            stamp,
            dir,
            imports,
        });
        Some(id)
    }

    fn dir(&mut self, path: &Path) -> Option<u32> {
        if let Some(&done) = self.dirs.get(path) {
            return done;
        }
        let id = Stamp::of(path)
            .filter(|s| !s.recent(&self.cutoffs))
            .and_then(|stamp| {
                let id = u32::try_from(self.stored.dirs.len()).ok()?;
                self.stored.dirs.push(DirNode {
                    path: path.to_path_buf(),
                    stamp,
                });
                Some(id)
            });
        self.dirs.insert(path.to_path_buf(), id);
        id
    }
}
