//! CI stand-in for the cargo-fuzz targets (`tests/fuzz/fuzz_targets/*.rs`, nightly + libFuzzer):
//! runs the very same target bodies (`tests/fuzz/bodies.rs`) on stable, over a seed corpus taken
//! from the repository (SOPS vectors, fixtures) plus a few hundred deterministic mutations of it
//! and some random bytes. A few seconds per target; the long runs and their figures are in
//! `docs/reliability.md`.

use std::path::{Path, PathBuf};

use crate::bodies;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"ENC[AES256_GCM,data:",
    b",iv:",
    b",tag:",
    b",type:comment]",
    b"\n- ",
    b": ",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"\"",
    b"sops_",
    b"__list_99999999",
    b"[sops]\n",
    b"{",
    b"]",
    b"\t",
    b"#",
    b"\xff\xfe",
];

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.truncate(at),
            2 if at < v.len() => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            4 if !other.is_empty() => {
                let s = rng.below(other.len());
                let e = (s + rng.below(200)).min(other.len());
                v.splice(at..at, other[s..e].iter().copied());
            }
            _ => {
                let b = (rng.next() & 0xff) as u8;
                v.insert(at.min(v.len()), b);
            }
        }
    }
    v
}

/// Seeds, then `rounds` mutated inputs per seed, then 100 random byte strings, through `body`.
/// Returns how many inputs ran.
fn smoke(seeds: &[Vec<u8>], rounds: usize, body: fn(&[u8])) -> usize {
    assert!(!seeds.is_empty());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0;
    for seed in seeds {
        body(seed);
        runs += 1;
    }
    for round in 0..rounds {
        for (i, input) in seeds.iter().enumerate() {
            let other = &seeds[(i + round + 1) % seeds.len()];
            body(&mutate(&mut rng, input, other));
            runs += 1;
        }
    }
    for _ in 0..100 {
        let len = rng.below(300);
        let data: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        body(&data);
        runs += 1;
    }
    runs
}

fn read_all(paths: impl IntoIterator<Item = PathBuf>) -> Vec<Vec<u8>> {
    paths
        .into_iter()
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// Every `.yaml`/`.yml`/`.json` file under `dir`.
fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            manifests(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(p);
        }
    }
}

#[test]
fn sops_parse_never_panics() {
    let dir = crate::support::vectors_dir();
    let seeds = read_all(
        [
            "basic.enc.yaml",
            "basic.enc.json",
            "app.enc.env",
            "config.enc.ini",
            "blob.enc.bin",
            "multidoc.enc.yaml",
            "comments.enc.yaml",
            "rules/shamir/db.enc.yaml",
        ]
        .iter()
        .map(|f| dir.join(f)),
    );
    assert_eq!(smoke(&seeds, 50, bodies::sops_parse), 508);
}

#[test]
fn sops_config_never_panics() {
    let mut seeds = read_all([crate::support::vectors_dir().join("rules/.sops.yaml")]);
    seeds.push(SOPS_CONFIG_SEED.as_bytes().to_vec());
    assert_eq!(smoke(&seeds, 150, bodies::sops_config), 402);
}

/// Every key kind and option a `.sops.yaml` may hold, so mutations reach each branch.
const SOPS_CONFIG_SEED: &str = r#"stores:
  yaml: { indent: 4 }
  json: { indent: 2 }
creation_rules:
  - path_regex: secrets/.*\.enc\.yaml$
    kms: arn:aws:kms:us-east-1:111122223333:key/abc+arn:aws:iam::1:role/r
    aws_profile: dev
    encrypted_suffix: _secret
  - path_regex: \.env$
    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
    hc_vault_transit_uri: http://127.0.0.1:8200/v1/transit/keys/k
    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k
    azure_keyvault: https://v.vault.azure.net/keys/k/1
  - key_groups:
      - kms:
          - arn: arn:aws:kms:us-east-1:1:key/x
            role: arn:aws:iam::1:role/y
            context: { a: b }
        age: [age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7]
    shamir_threshold: 1
    unencrypted_regex: ^public
"#;

#[test]
fn dotenv_never_panics_and_round_trips() {
    let dir = crate::support::vectors_dir();
    let mut seeds = read_all([dir.join("app.env"), dir.join("app.dec.env")]);
    seeds.push(
        b"A=1\nexport B=\"two\\nlines\"\nC='single'\n# c\nD=x # t\nE=\"multi\nline\"\n".to_vec(),
    );
    assert_eq!(smoke(&seeds, 100, bodies::dotenv), 403);
}

#[test]
fn stack_manifests_never_panic() {
    let mut files = Vec::new();
    manifests(&crate::support::repo().join("fixtures"), &mut files);
    files.retain(|f| f.components().any(|c| c.as_os_str() == "stacks"));
    files.sort();
    let seeds = read_all(files);
    assert!(seeds.len() > 10, "found {} fixture manifests", seeds.len());
    let runs = smoke(&seeds, 8, bodies::stack_manifest);
    assert_eq!(runs, seeds.len() * 9 + 100);
}

#[test]
fn templates_never_panic() {
    // The template column of the Go engine's conformance table: every action, pipeline and
    // function the engine knows, as seeds.
    let table = std::fs::read_to_string(
        crate::support::repo().join("src/template/go/testdata/conformance.jsonl"),
    )
    .unwrap();
    let seeds: Vec<Vec<u8>> = table
        .lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| serde_json::from_str::<Vec<serde_json::Value>>(l).ok())
        .filter_map(|row| {
            row.get(1)
                .and_then(|t| t.as_str())
                .map(|t| t.as_bytes().to_vec())
        })
        .collect();
    assert!(seeds.len() > 100, "found {} templates", seeds.len());
    let runs = smoke(&seeds, 1, bodies::template);
    assert_eq!(runs, seeds.len() * 2 + 100);
}
