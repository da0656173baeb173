//! Interoperability with the real sops 3.11 binary, both directions: files we write (encrypt,
//! set, the library's new-document function; YAML, JSON, dotenv; one and two recipients; Shamir
//! 2-of-2) decrypt with `sops -d` (MAC verified), and files sops writes or edits are read by us.
//!
//! sops is found as `$SOPS_BIN`, else `<repo>/.svc/sops/bin/sops`, else on `PATH`. Missing sops
//! fails the test (`bash .ci/test` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use age::secrecy::ExposeSecret;
use atmos_secrets::secret_value::SecretString;
use atmos_secrets::sops;

use crate::support::{Atmos, sops_bin, vectors_dir};

struct Key {
    identity: String,
    recipient: String,
}

fn new_key() -> Key {
    let id = age::x25519::Identity::generate();
    Key {
        identity: id.to_string().expose_secret().to_owned(),
        recipient: id.to_public().to_string(),
    }
}

struct Env {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    sops: PathBuf,
}

impl Env {
    fn new(sops: PathBuf) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            sops,
        }
    }

    fn keys_file(&self, name: &str, keys: &[&Key]) -> PathBuf {
        let p = self.dir.path().join(name);
        let text: String = keys.iter().map(|k| format!("{}\n", k.identity)).collect();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn base(&self, program: &Path, keys_file: Option<&Path>) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(self.dir.path());
        if let Some(k) = keys_file {
            c.env("SOPS_AGE_KEY_FILE", k);
        }
        c
    }

    fn sops(&self, keys_file: Option<&Path>, args: &[&str]) -> Output {
        self.base(&self.sops.clone(), keys_file)
            .args(args)
            .output()
            .unwrap()
    }

    /// `atmos sops <args>` in the same environment as [`Env::sops`].
    fn atmos_cmd(&self, keys_file: Option<&Path>, args: &[&str]) -> Atmos {
        let mut a = Atmos::new(["sops"])
            .args(args)
            .env("HOME", self.home.path())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .cwd(self.dir.path());
        if let Some(k) = keys_file {
            a = a.env("SOPS_AGE_KEY_FILE", k);
        }
        a
    }

    fn atmos(&self, keys_file: Option<&Path>, args: &[&str]) -> Output {
        self.atmos_cmd(keys_file, args).output()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn ok(out: &Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

const PLAINTEXTS: [(&str, &str, &str); 4] = [
    ("basic.yaml", "basic.dec.yaml", "x.yaml"),
    ("basic.json", "basic.dec.json", "x.json"),
    ("app.env", "app.dec.env", "x.env"),
    ("config.ini", "config.dec.ini", "x.ini"),
];

#[test]
fn sops_decrypts_what_atmos_encrypts() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let (a, b) = (new_key(), new_key());
    let ka = env.keys_file("a.txt", &[&a]);
    let kb = env.keys_file("b.txt", &[&b]);
    for (plain, dec, name) in PLAINTEXTS {
        let src = std::fs::read(vectors_dir().join(plain)).unwrap();
        let want = std::fs::read(vectors_dir().join(dec)).unwrap();
        env.write(name, &src);
        // One recipient, to stdout.
        let enc = ok(
            &env.atmos(None, &["encrypt", "--age", &a.recipient, name]),
            "atmos encrypt",
        );
        let enc_name = format!("enc-{name}");
        env.write(&enc_name, &enc);
        let got = ok(&env.sops(Some(&ka), &["-d", &enc_name]), "sops -d");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{plain}"
        );
        // Two recipients, in place: each key alone decrypts.
        let two = format!("two-{name}");
        env.write(&two, &src);
        ok(
            &env.atmos(
                None,
                &[
                    "encrypt",
                    "-i",
                    "--age",
                    &format!("{},{}", a.recipient, b.recipient),
                    &two,
                ],
            ),
            "atmos encrypt -i",
        );
        for k in [&ka, &kb] {
            let got = ok(&env.sops(Some(k), &["-d", &two]), "sops -d two recipients");
            assert_eq!(got, want, "{plain} two recipients");
        }
    }
}

#[test]
fn sops_decrypts_atmos_set_and_the_new_document_function() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let a = new_key();
    let ka = env.keys_file("a.txt", &[&a]);
    for (name, src) in [
        (
            "s.yaml",
            &b"db:\n    user: admin\n    password: old\nreplicas: 3\n"[..],
        ),
        (
            "s.json",
            &b"{\"db\": {\"user\": \"admin\", \"password\": \"old\"}}"[..],
        ),
        ("s.env", &b"USER=admin\nPASSWORD=old\n"[..]),
    ] {
        env.write(name, src);
        ok(
            &env.atmos(None, &["encrypt", "-i", "--age", &a.recipient, name]),
            "encrypt",
        );
        let path = if name.ends_with(".env") {
            r#"["PASSWORD"]"#
        } else {
            r#"["db"]["password"]"#
        };
        ok(
            &env.atmos(Some(&ka), &["set", name, path, r#""new secret""#]),
            "atmos set",
        );
        ok(
            &env.atmos(Some(&ka), &["set", name, r#"["added"]"#, "5"]),
            "atmos set number",
        );
        let got = String::from_utf8(ok(&env.sops(Some(&ka), &["-d", name]), "sops -d after set"))
            .unwrap();
        assert!(got.contains("new secret"), "{name}: {got}");
        assert!(!got.contains("old"), "{name}: {got}");
        assert!(got.contains('5'), "{name}: {got}");
        let extracted = ok(
            &env.sops(Some(&ka), &["-d", "--extract", path, name]),
            "sops --extract",
        );
        assert_eq!(extracted, b"new secret");
        ok(
            &env.atmos(Some(&ka), &["unset", name, r#"["added"]"#]),
            "atmos unset",
        );
        let got = String::from_utf8(ok(
            &env.sops(Some(&ka), &["-d", name]),
            "sops -d after unset",
        ))
        .unwrap();
        assert!(!got.contains("added"), "{name}: {got}");
    }
    // The provider's new-document function.
    let bytes = sops::new_yaml_document(
        &[
            ("API_KEY".to_owned(), SecretString::from("k-123")),
            ("note_unencrypted".to_owned(), SecretString::from("visible")),
        ],
        std::slice::from_ref(&a.recipient),
    )
    .unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("note_unencrypted: visible"), "{text}");
    assert!(text.contains("unencrypted_suffix: _unencrypted"), "{text}");
    env.write("new.yaml", &bytes);
    let got = ok(
        &env.sops(Some(&ka), &["-d", "new.yaml"]),
        "sops -d new document",
    );
    assert_eq!(got, b"API_KEY: k-123\nnote_unencrypted: visible\n");
}

#[test]
fn shamir_two_of_two_from_sops_yaml_key_groups() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let (a, b) = (new_key(), new_key());
    let ka = env.keys_file("a.txt", &[&a]);
    let both = env.keys_file("both.txt", &[&a, &b]);
    env.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^secrets/\n    shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n",
            a.recipient, b.recipient
        )
        .as_bytes(),
    );
    env.write("secrets/db.yaml", b"password: hunter2\nport: 5432\n");
    ok(
        &env.atmos(None, &["encrypt", "-i", "secrets/db.yaml"]),
        "atmos encrypt with rule",
    );
    let text = std::fs::read_to_string(env.dir.path().join("secrets/db.yaml")).unwrap();
    assert!(text.contains("shamir_threshold: 2"), "{text}");
    let got = ok(
        &env.sops(Some(&both), &["-d", "secrets/db.yaml"]),
        "sops -d shamir",
    );
    assert_eq!(got, b"password: hunter2\nport: 5432\n");
    let one = env.sops(Some(&ka), &["-d", "secrets/db.yaml"]);
    assert_eq!(one.status.code(), Some(128), "one share is not enough");
    let ours = env.atmos(Some(&ka), &["decrypt", "secrets/db.yaml"]);
    assert_eq!(ours.status.code(), Some(128));
    // sops writes a Shamir file; we read it and edit it, sops reads our edit.
    env.write("secrets/sops.yaml", b"token: abc\n");
    ok(
        &env.sops(None, &["-e", "-i", "secrets/sops.yaml"]),
        "sops -e shamir",
    );
    let got = ok(
        &env.atmos(Some(&both), &["decrypt", "secrets/sops.yaml"]),
        "atmos decrypt shamir",
    );
    assert_eq!(got, b"token: abc\n");
    ok(
        &env.atmos(
            Some(&both),
            &["set", "secrets/sops.yaml", r#"["token"]"#, r#""xyz""#],
        ),
        "atmos set shamir",
    );
    let got = ok(
        &env.sops(Some(&both), &["-d", "secrets/sops.yaml"]),
        "sops -d after our set",
    );
    assert_eq!(got, b"token: xyz\n");
}

#[test]
fn atmos_reads_what_sops_writes_and_edits() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let (a, b) = (new_key(), new_key());
    let ka = env.keys_file("a.txt", &[&a]);
    let kb = env.keys_file("b.txt", &[&b]);
    let recipients = format!("{},{}", a.recipient, b.recipient);
    for (plain, dec, name) in PLAINTEXTS {
        env.write(name, &std::fs::read(vectors_dir().join(plain)).unwrap());
        ok(
            &env.sops(None, &["-e", "-i", "--age", &recipients, name]),
            "sops -e",
        );
        let want = std::fs::read(vectors_dir().join(dec)).unwrap();
        for k in [&ka, &kb] {
            let got = ok(&env.atmos(Some(k), &["decrypt", name]), "atmos decrypt");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{plain}"
            );
        }
    }
    // sops set, then we read the edit.
    ok(
        &env.sops(
            Some(&ka),
            &["set", "x.yaml", r#"["service"]["name"]"#, r#""renamed""#],
        ),
        "sops set",
    );
    let got = ok(
        &env.atmos(
            Some(&kb),
            &["decrypt", "--extract", r#"["service"]["name"]"#, "x.yaml"],
        ),
        "atmos decrypt --extract",
    );
    assert_eq!(got, b"renamed");
    // Our rotate and updatekeys produce files sops still reads.
    ok(
        &env.atmos(Some(&ka), &["rotate", "-i", "x.json"]),
        "atmos rotate",
    );
    let got = ok(
        &env.sops(Some(&kb), &["-d", "x.json"]),
        "sops -d after rotate",
    );
    assert_eq!(
        got,
        std::fs::read(vectors_dir().join("basic.dec.json")).unwrap()
    );
    env.write(
        ".sops.yaml",
        format!("creation_rules:\n  - age: {}\n", b.recipient).as_bytes(),
    );
    ok(
        &env.atmos(Some(&ka), &["updatekeys", "-y", "x.env"]),
        "atmos updatekeys",
    );
    assert_eq!(
        env.sops(Some(&ka), &["-d", "x.env"]).status.code(),
        Some(128),
        "a was removed"
    );
    let got = ok(
        &env.sops(Some(&kb), &["-d", "x.env"]),
        "sops -d after updatekeys",
    );
    assert_eq!(
        got,
        std::fs::read(vectors_dir().join("app.dec.env")).unwrap()
    );
}

#[test]
fn crypt_rule_flags_and_creation_rules_match_sops() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let v = vectors_dir();
    let keys = v.join("keys.txt");
    let both = v.join("keys-both.txt");
    let r = "age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7";
    // The commands that made the vectors, with atmos instead of sops; sops must print the same
    // cleartext it printed for its own files.
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "suffix.yaml",
            "suffix.dec.yaml",
            &["--unencrypted-suffix", "_public"],
        ),
        (
            "encsuffix.yaml",
            "encsuffix.dec.yaml",
            &["--encrypted-suffix", "_secret"],
        ),
        (
            "regex.yaml",
            "regex.dec.yaml",
            &["--encrypted-regex", "^(data|stringData)$"],
        ),
        (
            "unregex.json",
            "unregex.dec.json",
            &["--unencrypted-regex", "^(description|public_.*)$"],
        ),
        (
            "maconly.yaml",
            "maconly.dec.yaml",
            &["--mac-only-encrypted"],
        ),
        (
            "comments.yaml",
            "comments.dec.yaml",
            &["--encrypted-comment-regex", "sops:enc"],
        ),
        (
            "comments.yaml",
            "comments.dec.yaml",
            &["--unencrypted-comment-regex", "sops:enc"],
        ),
        ("multidoc.yaml", "multidoc.dec.yaml", &[]),
        ("blob.bin", "blob.dec.bin", &[]),
    ];
    for (plain, dec, flags) in cases {
        env.write(plain, &std::fs::read(v.join(plain)).unwrap());
        let mut args = vec!["encrypt", "--age", r];
        args.extend_from_slice(flags);
        args.push(plain);
        let enc = ok(&env.atmos(None, &args), "atmos encrypt");
        let name = format!("enc-{plain}");
        env.write(&name, &enc);
        let got = ok(&env.sops(Some(&keys), &["-d", &name]), "sops -d");
        assert_eq!(
            got,
            std::fs::read(v.join(dec)).unwrap(),
            "{plain} {flags:?}"
        );
    }
    // rules/.sops.yaml, run from the rules directory like the vectors were.
    for (file, dec, ids) in [
        ("k8s/secret.yaml", "rules/k8s/secret.dec.yaml", &keys),
        ("shamir/db.yaml", "rules/shamir/db.dec.yaml", &both),
        ("settings.json", "rules/settings.dec.json", &keys),
        ("misc.yaml", "rules/misc.dec.yaml", &keys),
    ] {
        let target = format!("rules/{file}");
        env.write(&target, &std::fs::read(v.join("rules").join(file)).unwrap());
        env.write(
            "rules/.sops.yaml",
            &std::fs::read(v.join("rules/.sops.yaml")).unwrap(),
        );
        let out = env
            .atmos_cmd(None, &["encrypt", file])
            .cwd(&env.dir.path().join("rules"))
            .output();
        let enc = ok(&out, "atmos encrypt with rules");
        let name = format!("enc-{}", file.replace('/', "-"));
        env.write(&name, &enc);
        let got = ok(&env.sops(Some(ids), &["-d", &name]), "sops -d rules");
        assert_eq!(got, std::fs::read(v.join(dec)).unwrap(), "{file}");
    }
}

/// Strings that need quoting, block styles, escapes and odd keys: sops' own decrypted output
/// (yaml.v3's emitter) and ours must be the same bytes. (`"\tx\n"` is left out: yaml.v3 emits it
/// as `null`, a sops data-loss bug we do not copy.)
const TRICKY_YAML: &str = r##"v0: ":"
v1: "- a"
v2: "a: b"
v3: "#x"
v4: "x #y"
v5: " lead"
v6: "trail "
v7: "tab\tx"
v8: "null"
v9: "~"
v10: "0x1F"
v11: "1e3"
v12: "1_000"
v13: "2024-01-01"
v14: "y"
v15: "on"
v16: "="
v17: "<<"
v18: "@x"
v19: "`x"
v20: "!x"
v21: "&x"
v22: "*x"
v23: "%x"
v24: "|"
v25: ">"
v26: "'q'"
v27: "\"dq\""
v28: "multi\nline"
v29: "multi\nline\n"
v30: "multi\n\nline\n\n"
v31: "trailing space \nline"
v32: "ünï"
v33: "🚀"
v34: " nbsp"
v35: "é"
v36: "\u007F"
v37: "a,b"
v38: "[x]"
v39: "{x}"
v40: "?"
v41: "? x"
v42: "-"
v43: "--"
v44: "---"
v45: "..."
v46: "a\r\nb"
v47: "1:20"
v48: "+1"
v49: ".5"
v50: "0o17"
v51: "0b101"
v52: "True"
v53: "NULL"
v54: "x\ty"
v55: " "
v56: ""
v57: "a'b"
v58: "it's: x"
v59: "\\"
v60: "\u2028"
v61: "\uFEFF"
v62: "a\u0085b"
v63: "-1.5e-3"
v64: "1."
v65: ".inf"
v66: "+.inf"
v67: "NaN"
v68: ".nan"
v69: "12:30:45"
v70: "2001-12-14t21:59:43.10-05:00"
v71: "1_0.5"
v72: "0777"
v73: "09"
v74: " x\n y"
v76: "x\n "
v77: "long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long "
"a b": k0
"x:y": k1
"-k": k2
"#k": k3
"k#": k4
"yes": k5
"1.5": k6
"on": k7
"": k8
" lead": k9
nested:
  list:
    - ":"
    - "- a"
    - "a: b"
    - "#x"
    - "x #y"
    - " lead"
    - "trail "
    - "tab\tx"
    - "null"
    - "~"
    - "0x1F"
    - "1e3"
    - "1_000"
    - "2024-01-01"
    - "y"
    - "on"
    - "="
    - "<<"
    - "@x"
    - "`x"
    - "!x"
    - "&x"
    - "*x"
    - "%x"
    - "|"
    - ">"
    - "'q'"
    - "\"dq\""
    - "multi\nline"
    - "multi\nline\n"
    - "multi\n\nline\n\n"
    - "trailing space \nline"
    - "ünï"
    - "🚀"
    - " nbsp"
    - "é"
    - "\u007F"
    - "a,b"
    - "[x]"
    - "{x}"
  deep:
    - - "multi\nline\n"
      - k: "multi\nline"
        j: [1, {a: b}]
"##;

#[test]
fn yaml_emitter_matches_sops_on_tricky_strings() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let keys = vectors_dir().join("keys.txt");
    let r = "age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7";
    env.write("t.yaml", TRICKY_YAML.as_bytes());
    ok(
        &env.sops(None, &["-e", "-i", "--age", r, "t.yaml"]),
        "sops -e",
    );
    let want = ok(&env.sops(Some(&keys), &["-d", "t.yaml"]), "sops -d");
    let got = ok(
        &env.atmos(Some(&keys), &["decrypt", "t.yaml"]),
        "atmos decrypt",
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    // And the other direction: our encryption of the same text decrypts to the same bytes.
    env.write("u.yaml", TRICKY_YAML.as_bytes());
    let enc = ok(
        &env.atmos(None, &["encrypt", "--age", r, "u.yaml"]),
        "atmos encrypt",
    );
    env.write("u.enc.yaml", &enc);
    let got = ok(
        &env.sops(Some(&keys), &["-d", "u.enc.yaml"]),
        "sops -d of ours",
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
}

const COMMENTED_YAML: &str = "# head of doc
a: 1 # inline a
# before b
b: # inline on b key
  # first in b
  c: 2
  d:
    - x # inline x
    # between x and y
    - y
    # foot of d list
  # foot of b map
# before e
e:
  - k: v # inline k
    # inside map item
    j: w
  # between items
  - k: v2
f: [1, 2] # after flow
g: |
  block
# trailing top
---
# doc2 head
z: 1
# doc2 foot
";

#[test]
fn comments_in_every_position_survive_both_directions() {
    let sops = sops_bin();
    let env = Env::new(sops);
    let keys = vectors_dir().join("keys.txt");
    let r = "age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7";
    let comments: Vec<&str> = COMMENTED_YAML
        .lines()
        .filter_map(|l| l.split_once('#').map(|(_, c)| c.trim()))
        .collect();
    assert_eq!(comments.len(), 17);
    env.write("c.yaml", COMMENTED_YAML.as_bytes());
    env.write("d.yaml", COMMENTED_YAML.as_bytes());
    ok(
        &env.sops(None, &["-e", "-i", "--age", r, "c.yaml"]),
        "sops -e",
    );
    ok(
        &env.atmos(None, &["encrypt", "-i", "--age", r, "d.yaml"]),
        "atmos encrypt",
    );
    // Every comment decrypts in both directions (sops itself cannot read back the comment it
    // writes for `# foot of b map`, so its own round trip is not the reference here).
    let ours = String::from_utf8(ok(
        &env.atmos(Some(&keys), &["decrypt", "c.yaml"]),
        "atmos -d",
    ))
    .unwrap();
    let theirs =
        String::from_utf8(ok(&env.sops(Some(&keys), &["-d", "d.yaml"]), "sops -d")).unwrap();
    for text in [&ours, &theirs] {
        assert!(!text.contains("ENC["), "{text}");
        for c in &comments {
            assert!(
                text.contains(&format!("# {c}\n")),
                "missing `{c}` in\n{text}"
            );
        }
        assert!(
            text.contains("\n---\n# doc2 head\nz: 1\n# doc2 foot\n"),
            "{text}"
        );
    }
}
