//! `atmos sops` end to end without the sops binary: output options, format conversion, value
//! sources, idempotent edits, refusals and their exit codes.

use std::path::PathBuf;
use std::process::Output;

use atmos_secrets::sops::{AgeIdentities, DecryptOptions, Document, Format, KeySource};

use crate::support::{Atmos, vectors_dir};

const RECIPIENT: &str = "age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7";

struct Env {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = Atmos::new(["sops"])
            .args(args)
            .env("HOME", self.home.path())
            .env("SOPS_AGE_KEY_FILE", vectors_dir().join("keys.txt"))
            .cwd(self.dir.path());
        if let Some(s) = stdin {
            c = c.stdin(s);
        }
        c.output()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn encrypted(&self, name: &str, plain: &str) {
        std::fs::write(self.path(name), plain).unwrap();
        let out = self.run(&["encrypt", "-i", "--age", RECIPIENT, name], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn plain(&self, name: &str) -> String {
        let out = self.run(&["decrypt", name], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn decrypt_output_file_and_format_conversion() {
    let env = Env::new();
    env.encrypted("s.yaml", "a: 1\nb:\n    c: x\n");
    let out = env.run(&["decrypt", "--output", "out.yaml", "s.yaml"], None);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(env.path("out.yaml")).unwrap(),
        "a: 1\nb:\n    c: x\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("out.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "cleartext output is private");
    }
    let out = env.run(&["decrypt", "--output-type", "json", "s.yaml"], None);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\n\t\"a\": 1,\n\t\"b\": {\n\t\t\"c\": \"x\"\n\t}\n}\n"
    );
    let out = env.run(&["decrypt", "--extract", r#"["b"]"#, "s.yaml"], None);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "c: x\n");
    let out = env.run(&["decrypt", "--extract", r#"["nope"]"#, "s.yaml"], None);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn set_reads_values_from_args_stdin_and_files() {
    let env = Env::new();
    env.encrypted("s.yaml", "a: old\n");
    assert!(
        env.run(&["set", "s.yaml", r#"["a"]"#, r#""from-arg""#], None)
            .status
            .success()
    );
    assert_eq!(env.plain("s.yaml"), "a: from-arg\n");
    assert!(
        env.run(
            &["set", "--value-stdin", "s.yaml", r#"["b"]"#],
            Some(r#"{"x": [1, "y"]}"#)
        )
        .status
        .success()
    );
    std::fs::write(env.path("v.json"), "true").unwrap();
    assert!(
        env.run(
            &["set", "--value-file", "v.json", "s.yaml", r#"["c"]"#],
            None
        )
        .status
        .success()
    );
    assert_eq!(
        env.plain("s.yaml"),
        "a: from-arg\nb:\n    x:\n        - 1\n        - \"y\"\nc: true\n"
    );
    // VALUE must be JSON.
    let out = env.run(&["set", "s.yaml", r#"["a"]"#, "not json"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn idempotent_edits_do_not_rewrite() {
    let env = Env::new();
    env.encrypted("s.yaml", "a: same\nb: x\n");
    let before = std::fs::read(env.path("s.yaml")).unwrap();
    let out = env.run(
        &["set", "--idempotent", "s.yaml", r#"["a"]"#, r#""same""#],
        None,
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(env.path("s.yaml")).unwrap(),
        before,
        "unchanged file not rewritten"
    );
    // Without --idempotent the file is rewritten, but unchanged values keep their ciphertext.
    assert!(
        env.run(&["set", "s.yaml", r#"["a"]"#, r#""same""#], None)
            .status
            .success()
    );
    let after = String::from_utf8(std::fs::read(env.path("s.yaml")).unwrap()).unwrap();
    let before = String::from_utf8(before).unwrap();
    let line = |s: &str, k: &str| s.lines().find(|l| l.starts_with(k)).map(str::to_owned);
    assert_eq!(line(&before, "a: "), line(&after, "a: "));
    assert_eq!(line(&before, "b: "), line(&after, "b: "));
    // unset of a missing key: an error, unless --idempotent.
    let out = env.run(&["unset", "s.yaml", r#"["missing"]"#], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("key not found"));
    assert!(
        env.run(&["unset", "--idempotent", "s.yaml", r#"["missing"]"#], None)
            .status
            .success()
    );
    assert!(
        env.run(&["unset", "s.yaml", r#"["b"]"#], None)
            .status
            .success()
    );
    assert_eq!(env.plain("s.yaml"), "a: same\n");
}

#[test]
fn refusals_and_their_exit_codes() {
    let env = Env::new();
    std::fs::write(env.path("empty.yaml"), "").unwrap();
    let out = env.run(&["encrypt", "--age", RECIPIENT, "empty.yaml"], None);
    assert_eq!(out.status.code(), Some(92));
    std::fs::write(env.path("p.yaml"), "a: 1\n").unwrap();
    let out = env.run(&["encrypt", "p.yaml"], None);
    assert_eq!(out.status.code(), Some(1), "no recipients");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
    let out = env.run(
        &[
            "encrypt",
            "--age",
            RECIPIENT,
            "--encrypted-regex",
            "x",
            "--unencrypted-suffix",
            "_u",
            "p.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "two crypt rules");
    let out = env.run(&["decrypt", "p.yaml"], None);
    assert_eq!(out.status.code(), Some(1), "not encrypted");
    let out = env.run(&["encrypt", "--age", "age1bogus", "p.yaml"], None);
    assert_eq!(out.status.code(), Some(1), "bad recipient");
    let out = env.run(&["decrypt", "missing.yaml"], None);
    assert_eq!(out.status.code(), Some(1));
    // A dotenv file with sops_ keys counts as encrypted.
    std::fs::write(env.path("x.env"), "A=1\nsops_version=3.11.0\n").unwrap();
    let out = env.run(&["encrypt", "--age", RECIPIENT, "x.env"], None);
    assert_eq!(out.status.code(), Some(203));
}

#[test]
fn rotate_changes_the_data_key_and_keeps_the_content() {
    let env = Env::new();
    env.encrypted("s.json", "{\"a\": \"x\", \"n\": 2}");
    let ids = {
        let mut ids = AgeIdentities::new();
        ids.add_file(&vectors_dir().join("keys.txt")).unwrap();
        ids
    };
    let key_of = |bytes: &[u8]| {
        let keys = KeySource {
            age: &ids,
            provider: None,
        };
        let d = Document::decrypt(bytes, Format::Json, &keys, &DecryptOptions::default()).unwrap();
        hex::encode(d.data_key().expose())
    };
    let before = std::fs::read(env.path("s.json")).unwrap();
    let out = env.run(&["rotate", "s.json"], None);
    assert!(out.status.success());
    assert_ne!(key_of(&out.stdout), key_of(&before));
    assert_eq!(
        std::fs::read(env.path("s.json")).unwrap(),
        before,
        "without -i the file stays"
    );
    assert!(env.run(&["rotate", "-i", "s.json"], None).status.success());
    assert_ne!(
        key_of(&std::fs::read(env.path("s.json")).unwrap()),
        key_of(&before)
    );
    assert_eq!(env.plain("s.json"), "{\n\t\"a\": \"x\",\n\t\"n\": 2\n}\n");
}

#[test]
fn sops_age_recipients_is_the_default_of_age() {
    let env = Env::new();
    std::fs::write(env.path("p.yaml"), "a: 1\n").unwrap();
    let out = Atmos::new(["sops", "encrypt", "-i", "p.yaml"])
        .env("HOME", env.home.path())
        .env("SOPS_AGE_RECIPIENTS", RECIPIENT)
        .cwd(env.dir.path())
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.plain("p.yaml"), "a: 1\n");
}
