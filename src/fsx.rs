//! Owns crash-safe file writes: [`write_atomic`] (temp file in the same directory, fsync, rename,
//! fsync the directory; the temp file is removed on every error path so no secret bytes are left
//! behind) and [`with_locked`] (an advisory lock on the file's directory around a
//! read-modify-write; under the lock it also removes the temp files a killed writer of the same
//! file left behind). Also [`read_text`], the read of the many small files a stack tree is,
//! and [`glob_root`], where a glob's walk starts.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode for new secret files.
pub const SECRET_MODE: u32 = 0o600;

/// [`std::fs::read_to_string`] without its size query: a stack tree is hundreds of files of a
/// few hundred bytes, and the `statx` (and `lseek`) a `File` makes for the buffer size is one
/// of five system calls per file (open, stat, read, read to the end, close). Read through
/// `take`, which reads as any reader does, into a buffer that starts at 8 KiB and grows as
/// needed; the errors are `read_to_string`'s (invalid UTF-8 included).
pub fn read_text(path: &Path) -> io::Result<String> {
    read_utf8(File::open(path)?)
}

/// [`read_text`] with the file's metadata taken from the open file before reading it: a later
/// `stat` that still matches it proves the text read is the file's current content (the
/// stack-name index relies on this).
pub fn read_text_with_metadata(path: &Path) -> io::Result<(String, std::fs::Metadata)> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    Ok((read_utf8(file)?, metadata))
}

/// The rest of `file` as UTF-8 text, read as [`read_text`] describes.
fn read_utf8(file: File) -> io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(8 << 10);
    file.take(u64::MAX).read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Every `.yaml`/`.yml` file under `dir`, recursively, appended to `out`; nothing when `dir`
/// does not exist or cannot be listed.
pub fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The characters that make an import or include spec a glob.
pub const GLOB_CHARS: [char; 4] = ['*', '?', '[', '{'];

/// Where a walk for the glob `path` starts: its longest leading run of components with no
/// glob character.
pub fn glob_root(path: &Path) -> PathBuf {
    path.components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(GLOB_CHARS))
        .collect()
}

/// Writes `bytes` to `path` atomically. Keeps the mode of an existing file, else uses `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, bytes, mode, |_| Ok(()))
}

/// [`write_atomic`] that always gives the file `mode`, even when it already exists with a looser
/// one: the temp file holds the bytes with `mode` from its creation, so cleartext (e.g. `secret
/// pull -o`) is never readable by others, not even for a moment.
pub fn write_atomic_exact(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_inner(path, bytes, mode, false, |_| Ok(()))
}

/// [`write_atomic`] with a hook that runs after the temp file is written and synced, before the
/// rename (tests use it to inject a failure).
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_inner(path, bytes, mode, true, before_rename)
}

fn write_atomic_inner(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    keep_existing_mode: bool,
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mode = if keep_existing_mode {
        existing_mode(path).unwrap_or(mode)
    } else {
        mode
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(permissions(mode));
    let mut tmp = builder.tempfile_in(&dir)?;
    // From here on, dropping `tmp` (on any error) deletes the temp file.
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    set_mode(tmp.as_file(), mode)?;
    before_rename(tmp.path())?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&dir);
    Ok(())
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn permissions(mode: u32) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(mode)
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    f.set_permissions(permissions(mode))
}

#[cfg(not(unix))]
fn set_mode(_f: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

fn sync_dir(dir: &Path) {
    // Best effort: some filesystems refuse to fsync a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A failed write of `path` in words: the operating system's message (without the temp file's
/// path that `tempfile` appends) and, for causes the user can fix (full disk, quota, read-only
/// file system, permissions), a hint naming the folder. Every write path here leaves the
/// original file as it was, and the hint says so.
pub fn write_error(e: &io::Error, path: &Path) -> (String, Option<String>) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir.display();
    let hint = match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(format!(
            "free some space on the disk that holds `{dir}` (or raise the quota), then retry; the file was left as it was"
        )),
        io::ErrorKind::ReadOnlyFilesystem => Some(format!(
            "`{dir}` is on a read-only file system: remount it read-write or work on a writable copy; the file was left as it was"
        )),
        io::ErrorKind::PermissionDenied => Some(format!(
            "check that you may create files in `{dir}` (owner and mode); the file was left as it was"
        )),
        _ => None,
    };
    (os_message(e), hint)
}

/// The innermost OS error's message (`No space left on device (os error 28)`), else the error's
/// own text.
fn os_message(e: &io::Error) -> String {
    if e.raw_os_error().is_some() {
        return e.to_string();
    }
    let inner = e
        .get_ref()
        .and_then(|r| std::error::Error::source(r))
        .and_then(|s| s.downcast_ref::<io::Error>());
    match inner {
        Some(inner) => os_message(inner),
        None => e.to_string(),
    }
}

/// Creates the missing parent directories of `path` with `mode` (existing ones are left alone).
/// Returns the outermost directory it created, if any, so that a caller whose write then fails
/// or writes nothing can take them away again ([`remove_created_dirs`]).
pub fn ensure_parent_dir(path: &Path, mode: u32) -> io::Result<Option<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => {
            let top = dir
                .ancestors()
                .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
                .last()
                .map(Path::to_path_buf);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(dir)?;
            Ok(top)
        }
        _ => Ok(None),
    }
}

/// Undoes [`ensure_parent_dir`] when `path` was not written after all: removes the parents of
/// `path` up to and including `top` while they are empty (best effort; a directory someone else
/// filled in the meantime stays).
pub fn remove_created_dirs(path: &Path, top: Option<&Path>) {
    let Some(top) = top else { return };
    if path.exists() {
        return;
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if fs::remove_dir(d).is_err() || d == top {
            break;
        }
        dir = d.parent();
    }
}

/// Runs a read-modify-write under an exclusive advisory lock: `f` receives the current content
/// (`None` if the file does not exist) and returns the new content (`None` = leave the file
/// alone). The new content is written with [`write_atomic`].
///
/// The lock is taken on the file's directory (`flock` on a directory descriptor), not on a
/// sidecar file: the file itself is replaced by rename, so its inode cannot carry the lock, and
/// a `<file>.lock` next to every secrets file would end up in users' commits. Writers of other
/// files in the same directory wait for each other, which costs nothing at this scale.
pub fn with_locked<T, E>(
    path: &Path,
    mode: u32,
    f: impl FnOnce(Option<Vec<u8>>) -> Result<(Option<Vec<u8>>, T), E>,
) -> Result<T, E>
where
    E: From<io::Error>,
{
    let lock = lock_dir_of(path)?;
    let current = match fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let (new, out) = f(current)?;
    if let Some(bytes) = new {
        write_atomic(path, &bytes, mode)?;
    }
    // The lock is released when `lock` is dropped.
    drop(lock);
    Ok(out)
}

/// [`write_atomic_exact`] under the directory lock [`with_locked`] takes (which also removes the
/// temp files a killed writer of `path` left): for files written whole, such as `secret pull -o`.
pub fn write_locked_exact(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let lock = lock_dir_of(path)?;
    write_atomic_exact(path, bytes, mode)?;
    drop(lock);
    Ok(())
}

/// Takes the exclusive lock on `path`'s directory (released when the returned file is dropped)
/// and removes the temp files a killed writer of `path` left behind.
fn lock_dir_of(path: &Path) -> io::Result<File> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let lock = File::open(&dir)?;
    lock.lock()?;
    remove_stale_temp_files(&dir, path);
    Ok(lock)
}

/// Removes the temp files that a writer of `path` killed before its rename left behind
/// (`.<name>.XXXXXX.tmp`, the names [`write_atomic`] uses). Called with the directory lock held:
/// every writer of `path` that goes through [`with_locked`] holds that lock while its temp file
/// exists (and so does [`write_locked_exact`]), so any such file seen now belongs to a writer
/// that died. Best effort: a failure to
/// remove one is not an error.
fn remove_stale_temp_files(dir: &Path, path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let is_ours = n
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            // tempfile's random part: 6 alphanumerics, so `.a.` never matches `.a.b.XXXXXX.tmp`.
            .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        if is_ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_text` reads what `read_to_string` reads: small and large files, its errors.
    #[test]
    fn read_text_reads_as_read_to_string() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1, 136, 8191, 8192, 8193, 100_000] {
            let p = dir.path().join(format!("f{len}.yaml"));
            let text: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            fs::write(&p, &text).unwrap();
            assert_eq!(
                read_text(&p).unwrap(),
                fs::read_to_string(&p).unwrap(),
                "{len}"
            );
        }
        let bad = dir.path().join("bad.yaml");
        fs::write(&bad, b"a: \xff\n").unwrap();
        assert_eq!(
            read_text(&bad).unwrap_err().kind(),
            fs::read_to_string(&bad).unwrap_err().kind()
        );
        let missing = dir.path().join("missing.yaml");
        assert_eq!(
            read_text(&missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_locked_write_removes_temp_files_left_by_a_killed_writer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        fs::write(&file, b"old").unwrap();
        // What a writer killed between creating its temp file and the rename leaves behind, and
        // files that only look alike (another target, or not tempfile's pattern).
        for n in [".s.yaml.Ab12Cd.tmp", ".s.yaml.Zz99Yy.tmp"] {
            fs::write(dir.path().join(n), b"half").unwrap();
        }
        let keep = [
            ".s.yaml.b.Ab12Cd.tmp",
            ".s.yaml.toolong1.tmp",
            "s.yaml.Ab12Cd.tmp",
        ];
        for n in keep {
            fs::write(dir.path().join(n), b"other").unwrap();
        }
        with_locked(&file, 0o600, |cur| {
            assert_eq!(cur.as_deref(), Some(&b"old"[..]));
            Ok::<_, io::Error>((Some(b"new".to_vec()), ()))
        })
        .unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        let mut left = leftovers(dir.path());
        left.sort();
        let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn created_parents_are_removed_when_nothing_was_written() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        let file = dir.path().join("a/b/c/s.yaml");
        let top = ensure_parent_dir(&file, 0o700).unwrap();
        assert_eq!(top.as_deref(), Some(dir.path().join("a/b").as_path()));
        assert!(file.parent().unwrap().is_dir());
        remove_created_dirs(&file, top.as_deref());
        assert!(!dir.path().join("a/b").exists());
        assert!(dir.path().join("a").is_dir(), "an existing folder stays");
        // Once the file exists, nothing is removed.
        let top = ensure_parent_dir(&file, 0o700).unwrap();
        fs::write(&file, b"x").unwrap();
        remove_created_dirs(&file, top.as_deref());
        assert!(file.exists());
        assert_eq!(ensure_parent_dir(&file, 0o700).unwrap(), None);
    }

    #[test]
    fn failure_before_rename_keeps_the_original_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        fs::write(&p, b"original").unwrap();
        let mut seen_tmp = None;
        let err = write_atomic_with(&p, b"secret new content", 0o600, |tmp| {
            assert_eq!(fs::read(tmp).unwrap(), b"secret new content");
            seen_tmp = Some(tmp.to_path_buf());
            Err(io::Error::other("injected crash"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"original");
        assert!(!seen_tmp.unwrap().exists());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn keeps_existing_mode_and_uses_given_mode_for_new_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.yaml");
        write_atomic(&p, b"x", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"y", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read(&p).unwrap(), b"y");
    }

    #[test]
    fn with_locked_failing_closure_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"keep").unwrap();
        let r: Result<(), io::Error> = with_locked(&p, 0o600, |cur| {
            assert_eq!(cur.as_deref(), Some(&b"keep"[..]));
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"keep");
        with_locked::<_, io::Error>(&p, 0o600, |_| Ok((Some(b"new".to_vec()), ()))).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }
}
