//! Crash safety of in-place edits: an injected failure after the temp file is written leaves the
//! original intact and no temp file behind; 16 concurrent `atmos sops set` processes × 10 sets
//! each on one file lose nothing (the directory lock serialises read-modify-write); 200
//! `kill -9`s at random points of every writing verb leave every file readable (by the real sops
//! too); a full disk and a read-only folder fail clearly and keep the original.

use std::io;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use atmos_secrets::fsx;
use atmos_secrets::sops::{self, AgeIdentities, DecryptOptions, Document, Format, KeySource};

use crate::support::{Atmos, TestContext};

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
fn concurrent_sets_from_sixteen_processes_lose_nothing() {
    const PROCS: usize = 16;
    const SETS: usize = 10;
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

/// What the files of the quickstart's `dev`/`worker` hold after a run that may have been killed.
struct Seen {
    queue: Option<String>,
    token: Option<String>,
}

/// Reads and checks every file a writer may have been killed in the middle of: both SOPS files
/// decrypt with the keys file (which must parse), `.sops.yaml` parses, and a `pull` output, if
/// there is one, is complete. `real_sops` also has the real sops decrypt both SOPS files.
fn check_files(p: &TestContext, real_sops: bool, context: &str) -> Seen {
    let keys_file = p.join(".atmos/age/keys.txt");
    let mut ids = AgeIdentities::new();
    ids.add_file(&keys_file)
        .unwrap_or_else(|e| panic!("{context}: the keys file no longer parses: {e}"));
    let sops_yaml = p.join(".sops.yaml");
    sops::config::Config::load(&sops_yaml)
        .unwrap_or_else(|e| panic!("{context}: .sops.yaml no longer parses: {e}"));
    let keys = KeySource {
        age: &ids,
        provider: None,
    };
    let read = |rel: &str, name: &str| -> Option<String> {
        let path = p.join(rel);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => panic!("{context}: {rel}: {e}"),
        };
        let doc = Document::decrypt(&bytes, Format::Yaml, &keys, &DecryptOptions::default())
            .unwrap_or_else(|e| panic!("{context}: {rel} no longer decrypts: {e}"));
        if real_sops {
            let out = std::process::Command::new(crate::support::sops_bin())
                .args(["decrypt", "--input-type", "yaml", "--output-type", "yaml"])
                .arg(&path)
                .env("SOPS_AGE_KEY_FILE", &keys_file)
                .env("SOPS_DISABLE_VERSION_CHECK", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{context}: the real sops cannot decrypt {rel}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        doc.get(name).map(|v| v.expose().to_owned())
    };
    let seen = Seen {
        queue: read("secrets/dev.worker.enc.yaml", "QUEUE_PASSWORD"),
        token: read("secrets/dev.enc.yaml", "SHARED_TOKEN"),
    };
    // A pull writes the whole file or nothing: it ends with a newline, every line is
    // `NAME=value`, and the stack's token (set throughout) is in it.
    if let Ok(text) = std::fs::read_to_string(p.join("pulled.env")) {
        let names: Option<Vec<&str>> = text
            .lines()
            .map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        assert!(
            text.ends_with('\n') && names.as_ref().is_some_and(|n| n.contains(&"SHARED_TOKEN")),
            "{context}: pulled.env is incomplete: {names:?}"
        );
    }
    seen
}

/// Temp files left in the folders the verbs write to.
fn temp_files_in_project(p: &TestContext) -> Vec<String> {
    ["secrets", ".atmos/age", "."]
        .iter()
        .flat_map(|d| temp_files(&p.join(d)))
        .collect()
}

/// `secret pull` of `dev`/`worker` into `pulled.env`.
const PULL: [&str; 8] = [
    "secret",
    "pull",
    "-s",
    "dev",
    "-c",
    "worker",
    "-o",
    "pulled.env",
];

/// 200 `kill -9`s at random points of `secret set/delete/pull/push/keygen` and `sops rotate/
/// updatekeys` on one project: after each, both SOPS files still decrypt (every 20th also with
/// the real sops), each value is the one before or the one being written, the keys file and
/// `.sops.yaml` parse, and a pulled file is either absent or complete. The next write under the
/// lock removes what a killed writer left, so no temp file survives the run. Random delays come
/// from a seed printed on failure; each is at most 1.5× the verb's duration, measured first and
/// updated by every run that ends unkilled (so the kills keep landing inside runs however busy
/// the machine is); at least a quarter of the runs must be killed before they end.
#[test]
fn two_hundred_kill_nines_leave_every_file_readable() {
    use rand::{Rng, SeedableRng};
    const KILLS: usize = 200;
    let mut p = TestContext::quickstart();
    // `atmos sops` reads keys as sops does (not from the provider's `age_key_file`).
    let keys_file = p.join(".atmos/age/keys.txt");
    p.env("SOPS_AGE_KEY_FILE", keys_file.to_str().unwrap());
    p.set("QUEUE_PASSWORD", "q-start", "dev", "worker");
    p.set("SHARED_TOKEN", "t-start", "dev", "worker");
    p.write(
        "push.env",
        "QUEUE_PASSWORD=pushed\nSHARED_TOKEN=pushed-token\n",
    );
    let verbs: [(&str, Vec<String>); 7] = [
        ("set", vec![]),
        (
            "rotate",
            vec![
                "sops".into(),
                "rotate".into(),
                "-i".into(),
                "secrets/dev.worker.enc.yaml".into(),
            ],
        ),
        (
            "updatekeys",
            vec![
                "sops".into(),
                "updatekeys".into(),
                "-y".into(),
                "secrets/dev.worker.enc.yaml".into(),
            ],
        ),
        ("pull", PULL.map(String::from).to_vec()),
        (
            "push",
            [
                "secret", "push", "-s", "dev", "-c", "worker", "--input", "push.env",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "keygen",
            ["secret", "keygen", "local-sops", "--force"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "delete",
            [
                "secret",
                "delete",
                "QUEUE_PASSWORD",
                "-s",
                "dev",
                "-c",
                "worker",
                "--force",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    let args_for = |verb: usize, i: usize| -> Vec<String> {
        if verbs[verb].0 == "set" {
            [
                "secret",
                "set",
                &format!("QUEUE_PASSWORD=q{i}"),
                "-s",
                "dev",
                "-c",
                "worker",
            ]
            .map(String::from)
            .to_vec()
        } else {
            verbs[verb].1.clone()
        }
    };
    // One unkilled round: every verb works here, and how long each takes.
    let mut took = Vec::new();
    for (v, (name, _)) in verbs.iter().enumerate() {
        let t = std::time::Instant::now();
        let args = args_for(v, 0);
        let r = p.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        took.push(t.elapsed());
    }
    let mut seen = check_files(&p, true, "after the unkilled round");
    let seed: u64 = std::env::var("ATMOS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut killed = 0;
    for i in 1..=KILLS {
        let v = i % verbs.len();
        let name = verbs[v].0;
        let args = args_for(v, i);
        // The values the run may leave: the one before, or the one it writes.
        let (mut queue_ok, mut token_ok) = (vec![seen.queue.clone()], vec![seen.token.clone()]);
        match name {
            "set" => queue_ok.push(Some(format!("q{i}"))),
            "delete" => queue_ok.push(None),
            "push" => {
                queue_ok.push(Some("pushed".into()));
                token_ok.push(Some("pushed-token".into()));
            }
            _ => {}
        }
        let mut child = p
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The verb's typical time follows the machine's load: a run that ends unkilled
        // updates it (mean of the old estimate and the new run). The child is polled every
        // half millisecond until the kill point, so an unkilled run's time is its own, not the
        // kill point's (which would inflate the estimate and leave later runs unkilled).
        let budget = took[v].as_micros() as u64 * 3 / 2;
        let kill_at = std::time::Duration::from_micros(rng.gen_range(0..=budget));
        let started = std::time::Instant::now();
        let mut ended = None;
        while started.elapsed() < kill_at {
            if child.try_wait().unwrap().is_some() {
                ended = Some(started.elapsed());
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
        match ended.or_else(|| child.try_wait().unwrap().map(|_| started.elapsed())) {
            Some(run_took) => took[v] = (took[v] + run_took) / 2,
            None => {
                child.kill().unwrap();
                killed += 1;
                child.wait().unwrap();
            }
        }
        let context = format!("kill {i} ({name}, seed {seed})");
        seen = check_files(&p, i % 20 == 0, &context);
        assert!(
            queue_ok.contains(&seen.queue),
            "{context}: QUEUE_PASSWORD is {:?}, expected one of {queue_ok:?}",
            seen.queue.as_ref().map(|_| "(a value)")
        );
        assert!(
            token_ok.contains(&seen.token),
            "{context}: SHARED_TOKEN changed unexpectedly"
        );
    }
    eprintln!("{killed} of {KILLS} runs killed before they ended (seed {seed})");
    assert!(
        killed >= KILLS / 4,
        "only {killed} of {KILLS} runs were killed before they ended (seed {seed})"
    );
    // Writes after the storm work, and the locked writes clean up what killed writers left.
    p.set("QUEUE_PASSWORD", "after", "dev", "worker");
    p.set("SHARED_TOKEN", "after-token", "dev", "worker");
    p.run(&PULL).ok();
    p.run(&["secret", "keygen", "local-sops", "--force"]).ok();
    let end = check_files(&p, true, "after the storm");
    assert_eq!(end.queue.as_deref(), Some("after"));
    assert_eq!(end.token.as_deref(), Some("after-token"));
    let left = temp_files_in_project(&p);
    assert!(left.is_empty(), "temp files left: {left:?}");
}

/// Runs `script` with bash in a private mount namespace (`unshare -m`), with the environment
/// and folder an `atmos secret …` run in `p` gets plus `ATMOS` (the binary), `SOPS` (the real
/// sops) and `OUT` (a folder outside any mount the script makes). Mounts vanish with the
/// namespace. Needs root (tmpfs mounts); the test fails loudly without it under CI.
fn in_mount_namespace(p: &TestContext, script: &str) -> std::process::Output {
    let template = p.command(&["--version"]);
    let ok = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    crate::support::require(
        "a private mount namespace (`unshare -m`, needs root) for the full-disk test",
        ok.then_some(()),
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "bash", "-c", script]);
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.current_dir(p.path())
        .env("ATMOS", template.get_program())
        .env("SOPS", crate::support::sops_bin())
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("OUT", p.join("out"));
    std::fs::create_dir_all(p.join("out")).unwrap();
    cmd.output().unwrap()
}

/// `secret set` into a folder on a full disk (a 1 MiB tmpfs filled up) and into a read-only
/// folder: exit 1, an error naming the file and the cause, the original file byte for byte (the
/// real sops still decrypts it) and no temp file left.
#[test]
fn a_full_disk_and_a_read_only_folder_fail_clearly_and_keep_the_original() {
    let mut p = TestContext::quickstart();
    p.env(
        "SOPS_AGE_KEY_FILE",
        p.join(".atmos/age/keys.txt").to_str().unwrap(),
    );
    p.set("QUEUE_PASSWORD", "before", "dev", "worker");
    let original = std::fs::read(p.join("secrets/dev.worker.enc.yaml")).unwrap();
    for (case, make_it_fail, cause) in [
        (
            "full disk",
            "dd if=/dev/zero of=secrets/filler bs=64k 2>/dev/null || true",
            "No space left on device",
        ),
        (
            "read-only folder",
            "mount -o remount,ro secrets",
            "Read-only file system",
        ),
    ] {
        let script = format!(
            r#"set -eu
stash=$(mktemp -d)
cp -a secrets/. "$stash/"
mount -t tmpfs -o size=1m,mode=0700 tmpfs secrets
cp -a "$stash/." secrets/
rm -rf "$stash"
{make_it_fail}
set +e
head -c 65536 /dev/zero | tr '\0' x | "$ATMOS" secret set QUEUE_PASSWORD --stdin -s dev -c worker 2>"$OUT/stderr"
echo $? >"$OUT/rc"
"$SOPS" decrypt secrets/dev.worker.enc.yaml >/dev/null 2>"$OUT/sops-stderr"
echo $? >"$OUT/sops-rc"
cp secrets/dev.worker.enc.yaml "$OUT/after"
ls -A secrets >"$OUT/ls"
"#
        );
        let out = in_mount_namespace(&p, &script);
        assert!(
            out.status.success(),
            "{case}: the script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |n: &str| std::fs::read_to_string(p.join("out").join(n)).unwrap();
        let stderr = read("stderr");
        assert_eq!(read("rc").trim(), "1", "{case}: {stderr}");
        assert!(
            stderr.contains("dev.worker.enc.yaml") && stderr.contains(cause),
            "{case}: the error names neither the file nor the cause: {stderr}"
        );
        assert!(stderr.contains("hint:"), "{case}: no hint: {stderr}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        assert_eq!(
            read("sops-rc").trim(),
            "0",
            "{case}: the real sops cannot read the original: {}",
            read("sops-stderr")
        );
        assert_eq!(
            std::fs::read(p.join("out/after")).unwrap(),
            original,
            "{case}: the file changed"
        );
        let ls = read("ls");
        assert!(!ls.contains(".tmp"), "{case}: temp file left: {ls}");
    }
    // Outside the namespace nothing happened to the real folder either.
    assert_eq!(
        std::fs::read(p.join("secrets/dev.worker.enc.yaml")).unwrap(),
        original
    );
}
