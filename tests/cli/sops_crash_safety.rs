//! Crash safety of in-place edits: an injected failure after the temp file is written leaves the
//! original intact and no temp file behind, and 8 concurrent `atmos sops set` processes × 20
//! sets each on one file lose nothing (the sidecar lock serialises read-modify-write).

use std::io;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use atmos_secrets::fsx;
use atmos_secrets::sops::{self, AgeIdentities, DecryptOptions, Document, Format, KeySource};

use crate::support::Atmos;

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

struct Setup {
    dir: tempfile::TempDir,
    keys: PathBuf,
    file: PathBuf,
    ids: AgeIdentities,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, format!("{}\n", id.to_string().expose_secret())).unwrap();
    let mut ids = AgeIdentities::new();
    ids.add_file(&keys).unwrap();
    let file = dir.path().join("secrets.yaml");
    let bytes = sops::new_yaml_document(
        &[("seed".to_owned(), "s".into())],
        &[id.to_public().to_string()],
    )
    .unwrap();
    std::fs::write(&file, bytes).unwrap();
    Setup {
        dir,
        keys,
        file,
        ids,
    }
}

#[test]
fn a_failure_after_the_temp_file_is_written_keeps_the_original() {
    let s = setup();
    let original = std::fs::read(&s.file).unwrap();
    let keys = KeySource {
        age: &s.ids,
        provider: None,
    };
    let mut doc =
        Document::decrypt(&original, Format::Yaml, &keys, &DecryptOptions::default()).unwrap();
    doc.set_string("new", &"value".into());
    let updated = doc.encrypt(&Default::default()).unwrap();
    let mut temp_seen = None;
    let err = fsx::write_atomic_with(&s.file, &updated, fsx::SECRET_MODE, |tmp| {
        temp_seen = Some(tmp.to_path_buf());
        assert_eq!(
            std::fs::read(tmp).unwrap(),
            updated,
            "the temp file holds the new bytes"
        );
        Err(io::Error::other("simulated crash before rename"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "simulated crash before rename");
    assert_eq!(std::fs::read(&s.file).unwrap(), original, "original intact");
    assert!(!temp_seen.unwrap().exists());
    assert!(temp_files(s.dir.path()).is_empty(), "no temp file left");

    // The same through the locked read-modify-write: a failing closure writes nothing.
    let r: Result<(), io::Error> = fsx::with_locked(&s.file, fsx::SECRET_MODE, |cur| {
        assert_eq!(cur.as_deref(), Some(&original[..]));
        Err(io::Error::other("closure failed"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read(&s.file).unwrap(), original);
    assert!(temp_files(s.dir.path()).is_empty());
}

#[test]
fn concurrent_sets_from_eight_processes_lose_nothing() {
    const PROCS: usize = 8;
    const SETS: usize = 20;
    let s = setup();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&s.file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let home = tempfile::tempdir().unwrap();
    let handles: Vec<_> = (0..PROCS)
        .map(|p| {
            let file = s.file.clone();
            let keys = s.keys.clone();
            let home = home.path().to_path_buf();
            std::thread::spawn(move || {
                for i in 0..SETS {
                    let out = Atmos::new(["sops", "set"])
                        .env("HOME", &home)
                        .env("SOPS_AGE_KEY_FILE", &keys)
                        .arg(&file)
                        .arg(format!(r#"["k{p}_{i}"]"#))
                        .arg(format!(r#""v{p}_{i}""#))
                        .output();
                    assert!(
                        out.status.success(),
                        "set k{p}_{i}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let bytes = std::fs::read(&s.file).unwrap();
    let keys = KeySource {
        age: &s.ids,
        provider: None,
    };
    let doc = Document::decrypt(&bytes, Format::Yaml, &keys, &DecryptOptions::default()).unwrap();
    for p in 0..PROCS {
        for i in 0..SETS {
            let v = doc.get(&format!("k{p}_{i}"));
            assert_eq!(
                v.as_ref().map(|v| v.expose()),
                Some(format!("v{p}_{i}").as_str())
            );
        }
    }
    assert_eq!(doc.get("seed").unwrap().expose(), "s");
    assert!(temp_files(s.dir.path()).is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&s.file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the original file's mode is kept");
    }
}
