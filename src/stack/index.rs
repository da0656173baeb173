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
//!   device, taken from the open file before it is read; it is vouched for only when a `stat`
//!   after the load still gives that stamp (so a change during the load is never recorded as
//!   the version read). Its directory is stamped too (a file added beside it can change which
//!   file an import names). A file or directory modified within two seconds before the command
//!   is not vouched for (file-system clocks are coarse; git's "racily clean" entries).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// The stamp of `path` now; `None` when it cannot be read (then nothing is vouched for).
    fn of(path: &Path) -> Option<Stamp> {
        Self::from_metadata(&std::fs::metadata(path).ok()?)
    }

    #[cfg(unix)]
    fn from_metadata(m: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
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
    fn from_metadata(_: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Whether the index may not vouch for this version ([`RACY`], [`CHANGED_DURING`]). A change
    /// time without nanoseconds suggests a file system that keeps whole seconds: then the change
    /// time gets the modification time's margin too.
    fn recent(&self, cutoffs: &Cutoffs) -> bool {
        let changed = if self.ctime.1 == 0 {
            cutoffs.modified
        } else {
            cutoffs.changed
        };
        self.mtime >= cutoffs.modified || self.ctime >= changed
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
#[derive(Debug, Clone)]
struct FileNode {
    path: PathBuf,
    stamp: Stamp,
    dir: u32,
    imports: Vec<u32>,
}

/// A directory holding a recorded file.
#[derive(Debug, Clone)]
struct DirNode {
    path: PathBuf,
    stamp: Stamp,
}

/// A top-level manifest: its stack's name when the index may vouch for it, and its tree.
#[derive(Debug, Clone)]
struct Entry {
    manifest: PathBuf,
    /// The manifest's path under the stacks base path, without extension ([`Stack::stack_file`]).
    stack_file: String,
    /// `None`: loaded by every command, when its name depends on more than its files
    /// (`volatile`), or else until its files are old enough to vouch for.
    named: Option<Named>,
    volatile: bool,
}

#[derive(Debug, Clone)]
struct Named {
    name: String,
    node: u32,
}

#[derive(Debug, Default)]
struct Stored {
    files: Vec<FileNode>,
    dirs: Vec<DirNode>,
    /// In manifest path order, as the loader lists them.
    manifests: Vec<Entry>,
}

/// The index of one project (see the module docs).
pub(crate) struct Index {
    path: PathBuf,
    /// SHA-256 of what the names were computed under (see [`Index::open`]), hex.
    key: String,
    /// The stacks base path: stored paths under it are relative.
    base: PathBuf,
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
        // The running executable's own stamp: a rebuild with the same version may name stacks
        // differently.
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| Stamp::of(&p))
            .map(|s| format!("{s:?}"))
            .unwrap_or_default();
        let key = format!(
            "format {FORMAT}; atmos {} {exe}; base {:?}; stacks {:?}; lists {:?}",
            env!("CARGO_PKG_VERSION"),
            cfg.base_path,
            cfg.stacks,
            cfg.settings.get("list_merge_strategy"),
        );
        use sha2::Digest;
        let key = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let path = cache
            .join("atmos")
            .join("stack-index")
            .join(format!("{}.txt", &key[..24]));
        let base = cfg.stacks.base_path.clone();
        let stored = crate::fsx::read_text(&path)
            .ok()
            .and_then(|text| decode(&text, &key, &base));
        Some(Index {
            path,
            key,
            base,
            stored,
        })
    }

    /// The manifests to load for stack `name` when the index vouches for every manifest in
    /// `top` (the current top-level manifests, in path order); `None` when it does not, and the
    /// caller must load them all.
    pub(crate) fn plan(&self, top: &[PathBuf], name: &str) -> Option<Plan> {
        let stored = self.stored.as_ref()?;
        // Paths from one directory walk: equal exactly when their bytes are.
        if stored.manifests.len() != top.len()
            || stored
                .manifests
                .iter()
                .zip(top)
                .any(|(e, f)| e.manifest.as_os_str() != f.as_os_str())
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
        let by_path = super::stack_file_named(name);
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
            stored: Stored::default(),
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
        // A path or name the file format cannot hold: no index for this project.
        let fields_ok = rec.stored.manifests.iter().all(|m| {
            path_ok(&m.manifest)
                && plain(&m.stack_file)
                && m.named.as_ref().is_none_or(|n| plain(&n.name))
        }) && rec.stored.files.iter().all(|f| path_ok(&f.path))
            && rec.stored.dirs.iter().all(|d| path_ok(&d.path));
        if !fields_ok {
            return;
        }
        let text = encode(&rec.stored, &self.key, &self.base);
        if let Ok(mut pending) = PENDING.lock() {
            *pending = Some((self.path.clone(), text.into_bytes()));
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
        let created = crate::fsx::ensure_parent_dir(&path, 0o700).ok().flatten();
        if crate::fsx::write_atomic_exact(&path, &bytes, 0o600).is_err() {
            crate::fsx::remove_created_dirs(&path, created.as_deref());
        }
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
        // The file as it is now must be the file as it was read: a change during the load
        // shows as a different stamp, whatever the clocks say.
        let read = Stamp::from_metadata(tree.read_metadata()?)?;
        let stamp = Stamp::of(&path).filter(|s| *s == read && !s.recent(&self.cutoffs))?;
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

// ---------------------------------------------------------------------------------------------
// The file: one line per record, tab-separated, paths last and relative to the stacks base path
// when under it. A text format read by hand: at 800 stacks serde_json spent more instructions
// on a JSON index than the rest of the command.
//
//   atmos-stack-index <FORMAT> <key>
//   D <mtime s> <mtime ns> <ctime s> <ctime ns> <ino> <dev> <path>
//   F <len> <mtime s> <mtime ns> <ctime s> <ctime ns> <ino> <dev> <dir> <imports|-> <path>
//   M <file|-> <volatile 0|1> <manifest> <stack_file> <name>
//   end
//
// Directories and files are numbered by their order of appearance. A path or name holding a
// tab or a line break is not recorded (its manifest is then always loaded).
// ---------------------------------------------------------------------------------------------

const MAGIC: &str = "atmos-stack-index";

fn encode(stored: &Stored, key: &str, base: &Path) -> String {
    use std::fmt::Write;
    let mut out = format!("{MAGIC}\t{FORMAT}\t{key}\n");
    let stamp = |out: &mut String, s: &Stamp| {
        let _ = write!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1, s.ino, s.dev
        );
    };
    for d in &stored.dirs {
        out.push_str("D\t");
        stamp(&mut out, &d.stamp);
        let _ = writeln!(out, "\t{}", stored_path(base, &d.path));
    }
    for f in &stored.files {
        let _ = write!(out, "F\t{}\t", f.stamp.len);
        stamp(&mut out, &f.stamp);
        let imports = if f.imports.is_empty() {
            "-".to_owned()
        } else {
            f.imports
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = writeln!(
            out,
            "\t{}\t{imports}\t{}",
            f.dir,
            stored_path(base, &f.path)
        );
    }
    for m in &stored.manifests {
        let node = m
            .named
            .as_ref()
            .map_or_else(|| "-".to_owned(), |n| n.node.to_string());
        let name = m.named.as_ref().map_or("", |n| n.name.as_str());
        let _ = writeln!(
            out,
            "M\t{node}\t{}\t{}\t{}\t{name}",
            u8::from(m.volatile),
            stored_path(base, &m.manifest),
            m.stack_file
        );
    }
    out.push_str("end\n");
    out
}

fn decode(text: &str, key: &str, base: &Path) -> Option<Stored> {
    let mut lines = text.lines();
    let mut header = lines.next()?.split('\t');
    if header.next()? != MAGIC
        || header.next()?.parse::<u32>().ok()? != FORMAT
        || header.next()? != key
    {
        return None;
    }
    let mut stored = Stored::default();
    let mut ended = false;
    for line in lines {
        if ended {
            return None;
        }
        let mut f = line.split('\t');
        match f.next()? {
            "end" => ended = true,
            "D" => {
                let stamp = read_stamp(&mut f, 0)?;
                let path = loaded_path(base, f.next()?);
                stored.dirs.push(DirNode { path, stamp });
            }
            "F" => {
                let len = f.next()?.parse::<u64>().ok()?;
                let stamp = read_stamp(&mut f, len)?;
                let dir = f.next()?.parse().ok()?;
                let imports = match f.next()? {
                    "-" => Vec::new(),
                    list => list
                        .split(',')
                        .map(|i| i.parse().ok())
                        .collect::<Option<Vec<u32>>>()?,
                };
                let path = loaded_path(base, f.next()?);
                stored.files.push(FileNode {
                    path,
                    stamp,
                    dir,
                    imports,
                });
            }
            "M" => {
                let node = f.next()?;
                let volatile = f.next()? == "1";
                let manifest = loaded_path(base, f.next()?);
                let stack_file = f.next()?.to_owned();
                let name = f.next()?;
                let named = match node {
                    "-" => None,
                    n => Some(Named {
                        name: name.to_owned(),
                        node: n.parse().ok()?,
                    }),
                };
                stored.manifests.push(Entry {
                    manifest,
                    stack_file,
                    named,
                    volatile,
                });
            }
            _ => return None,
        }
    }
    // A file cut short (it is written atomically, but the disk may fill) is no index.
    ended.then_some(stored)
}

fn read_stamp<'a>(f: &mut impl Iterator<Item = &'a str>, len: u64) -> Option<Stamp> {
    let mut time = || f.next()?.parse::<i64>().ok();
    let (mtime, ctime) = ((time()?, time()?), (time()?, time()?));
    let mut id = || f.next()?.parse::<u64>().ok();
    Some(Stamp {
        len,
        mtime,
        ctime,
        ino: id()?,
        dev: id()?,
    })
}

/// `path` as stored: relative to `base` when under it.
fn stored_path(base: &Path, path: &Path) -> String {
    match super::manifest::under(base, path) {
        Some(rel) => rel.to_string_lossy().into_owned(),
        None => path.to_string_lossy().into_owned(),
    }
}

fn loaded_path(base: &Path, stored: &str) -> PathBuf {
    if stored.starts_with('/') {
        PathBuf::from(stored)
    } else {
        base.join(stored)
    }
}

/// Whether `text` can be written as a record field.
fn plain(text: &str) -> bool {
    !text.contains(['\t', '\n', '\r'])
}

/// Whether `path` can be written as a record field and read back as the same path.
fn path_ok(path: &Path) -> bool {
    path.is_absolute() && path.to_str().is_some_and(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: i64) -> Stamp {
        Stamp {
            len: 7,
            mtime: (n, 5),
            ctime: (n + 1, 999_999_999),
            ino: u64::MAX - 1,
            dev: 65024,
        }
    }

    #[test]
    fn the_file_reads_back_what_was_written() {
        let base = Path::new("/p/stacks");
        let stored = Stored {
            dirs: vec![
                DirNode {
                    path: base.join("orgs"),
                    stamp: Stamp { len: 0, ..stamp(1) },
                },
                DirNode {
                    path: PathBuf::from("/elsewhere/shared"),
                    stamp: Stamp { len: 0, ..stamp(2) },
                },
            ],
            files: vec![
                FileNode {
                    path: PathBuf::from("/elsewhere/shared/x.yaml"),
                    stamp: stamp(3),
                    dir: 1,
                    imports: vec![],
                },
                FileNode {
                    path: base.join("orgs/a b.yaml"),
                    stamp: stamp(4),
                    dir: 0,
                    imports: vec![0, 0],
                },
            ],
            manifests: vec![
                Entry {
                    manifest: base.join("orgs/a b.yaml"),
                    stack_file: "orgs/a b".into(),
                    named: Some(Named {
                        name: "plat-ue2-dev".into(),
                        node: 1,
                    }),
                    volatile: false,
                },
                Entry {
                    manifest: base.join("orgs/t.yaml.tmpl"),
                    stack_file: "orgs/t".into(),
                    named: None,
                    volatile: true,
                },
            ],
        };
        let text = encode(&stored, "k", base);
        let back = decode(&text, "k", base).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{stored:?}"));
        assert!(
            text.contains("\torgs/a b.yaml\n"),
            "relative under the base: {text}"
        );
        // Another key, a truncated file or a damaged line: no index.
        assert!(decode(&text, "other", base).is_none());
        for cut in [
            text.len() / 2,
            text.len() - 5,
            text.len() - 4,
            text.len() - 2,
        ] {
            assert!(decode(&text[..cut], "k", base).is_none(), "cut at {cut}");
        }
        assert!(decode(&text.replace("\nM\t", "\nX\t"), "k", base).is_none());
        assert!(decode(&format!("{text}M\t-\n"), "k", base).is_none());
        assert!(decode("garbage", "k", base).is_none());
    }
}
