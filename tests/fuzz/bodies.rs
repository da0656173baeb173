//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries (`fuzz_targets/*.rs`,
//! nightly + libFuzzer) and the CI smoke test (`tests/lib/fuzz_smoke.rs`, stable, no libFuzzer),
//! so the smoke test runs exactly what the fuzzers run. Each body takes arbitrary bytes and must
//! never panic; the properties it checks beyond "no panic" are asserted with `assert!`.
//!
//! Plain Rust with no dependency but `atmos_secrets`: it is `#[path]`-included by both crates.

#![allow(dead_code)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use atmos_secrets::sops::config::Config as SopsConfig;
use atmos_secrets::sops::{
    self, AgeIdentities, DecryptOptions, Document, EncryptOptions, Format, KeySource,
};
use atmos_secrets::{config, dotenv, secrets, stack, template};

/// The public, test-only identities of `tests/vectors/sops/keys-both.txt` (both recipients the
/// vectors are encrypted to), so mutated real files reach the crypto and MAC code.
const TEST_IDENTITIES: &str = include_str!("../vectors/sops/keys-both.txt");

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

/// Every SOPS store's parser, `top_level_keys`, and decryption (MAC checked, then ignored) with
/// the plain-text emitter behind it.
pub fn sops_parse(data: &[u8]) {
    let mut ids = AgeIdentities::new();
    let _ = ids.add_text(TEST_IDENTITIES, "test");
    for format in FORMATS {
        let _ = sops::parse_encrypted(data, format);
        let _ = sops::top_level_keys(data, format);
        let keys = KeySource {
            age: &ids,
            provider: None,
        };
        let _ = Document::decrypt(data, format, &keys, &DecryptOptions::default());
        if let Ok(doc) =
            Document::decrypt(data, format, &keys, &DecryptOptions { ignore_mac: true })
        {
            let _ = doc.to_plain(format, &Default::default());
        }
    }
}

/// `.sops.yaml`: parsing, rule matching for a few paths, and turning each matched rule into
/// encryption options (recipient parsing, key groups, Shamir threshold).
pub fn sops_config(data: &[u8]) {
    let path = Path::new("/fuzz/project/.sops.yaml");
    let Ok(cfg) = SopsConfig::parse(data, path) else {
        return;
    };
    for file in [
        "/fuzz/project/secrets/dev.enc.yaml",
        "/fuzz/project/a.json",
        "/fuzz/project/deep/x/y/z.env",
        "/elsewhere/file.yaml",
        "relative.yaml",
    ] {
        if let Some(rule) = cfg.rule_for(Path::new(file)) {
            let _ = EncryptOptions::from_rule(rule);
        }
    }
}

/// The dotenv parser; whatever it accepts must survive `render` → `parse` unchanged.
pub fn dotenv(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(entries) = dotenv::parse(&text) else {
        return;
    };
    let rendered = dotenv::render(entries.iter().map(|e| (e.key.as_str(), e.value.as_str())));
    let back = dotenv::parse(&rendered)
        .unwrap_or_else(|e| panic!("rendered dotenv does not parse back: {e}\n{rendered:?}"));
    assert_eq!(
        back, entries,
        "dotenv render/parse round trip\n{rendered:?}"
    );
}

/// The template engines: the Go `text/template` engine (`template::go`, standard functions) and
/// the renderer manifests use (`template::render`), over a small component-like context.
pub fn template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let context = serde_json::json!({
        "vars": {"stage": "dev", "n": 3, "list": [1, "a", {"k": true}], "m": {"a": {"b": "c"}}},
        "settings": {"enabled": true},
        "atmos_stack": "plat-ue2-dev",
        "atmos_component": "vpc",
    });
    let _ = template::go::render("fuzz", &text, &template::go::Value::from(&context));
    let _ = template::render(&text, &template::Context::from_json(context), "fuzz");
}

/// A throw-away project for [`stack_manifest`]: an `atmos.yaml` and the `stacks/` folder the
/// fuzzed manifests are written into. Removed when the thread ends.
struct Project {
    dir: PathBuf,
    cfg: config::CliConfig,
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const ATMOS_YAML: &str = r#"base_path: "."
stores:
  app:
    kind: aws/ssm
    options: { region: us-east-1 }
secrets:
  providers:
    files:
      kind: sops/age
      spec: { file: "secrets/{{ .atmos_stack }}.enc.yaml" }
stacks:
  base_path: stacks
  included_paths: ["**/*"]
  excluded_paths: ["catalog/**/*"]
"#;

fn project() -> Project {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "atmos-fuzz-manifest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("stacks/catalog")).expect("create the fuzz project");
    let file = dir.join("atmos.yaml");
    std::fs::write(&file, ATMOS_YAML).expect("write atmos.yaml");
    let cfg = config::load::from_str(ATMOS_YAML, &file, None).expect("the fixed atmos.yaml loads");
    Project { dir, cfg }
}

thread_local! {
    static PROJECT: RefCell<Option<Project>> = const { RefCell::new(None) };
}

/// The stack manifest loader end to end: the input (split at the first NUL byte) becomes a
/// top-level manifest and a catalog file it may import; then the stacks are loaded, every
/// component instance is built and its secret declarations and providers are read.
///
/// Skipped inputs: those naming `exec` (`!exec` runs a shell command; a fuzzer must not run
/// arbitrary commands — the libFuzzer binary also empties `PATH`), and those that could name a
/// file under `/dev` or `/proc` (`!include /dev/zero` reads without end: an out-of-memory that
/// is the user's own doing, not a parser bug): a `/dev`, `dev/`, `/proc` or `proc/`, or `dev` /
/// `proc` with a backslash (an escape could spell the slash).
pub fn stack_manifest(data: &[u8]) {
    let has = |word: &[u8]| contains(data, word);
    if has(b"exec")
        || [&b"/dev"[..], b"dev/", b"/proc", b"proc/"]
            .iter()
            .any(|w| has(w))
        || (has(b"\\") && (has(b"dev") || has(b"proc")))
    {
        return;
    }
    let (top, catalog) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    PROJECT.with(|p| {
        let mut p = p.borrow_mut();
        let p = p.get_or_insert_with(project);
        let stacks_dir = p.dir.join("stacks");
        if std::fs::write(stacks_dir.join("fuzz.yaml"), top).is_err()
            || std::fs::write(stacks_dir.join("catalog/base.yaml"), catalog).is_err()
        {
            return;
        }
        let Ok(stacks) = stack::load(&p.cfg) else {
            return;
        };
        let names: Vec<String> = stacks.names().map(str::to_owned).collect();
        for name in names {
            let Ok(instances) = stacks.instances(&p.cfg, &name) else {
                continue;
            };
            for instance in instances {
                let _ = secrets::declare::declarations(&instance.section);
                let _ = secrets::declare::providers(&instance.section);
            }
        }
    });
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
