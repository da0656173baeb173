//! CI stand-in for the cargo-fuzz target (`tests/fuzz/fuzz_targets/parse_encrypted.rs`, needs
//! nightly): feeds a few hundred deterministic mutations of the real vectors, plus random
//! bytes, through the same entry points and checks that nothing panics.

use atmos_secrets::sops::{self, AgeIdentities, DecryptOptions, Document, Format, KeySource};

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

fn exercise(data: &[u8], ids: &AgeIdentities) {
    for format in [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ] {
        let _ = sops::parse_encrypted(data, format);
        let _ = sops::top_level_keys(data, format);
        let keys = KeySource {
            age: ids,
            provider: None,
        };
        if let Ok(doc) =
            Document::decrypt(data, format, &keys, &DecryptOptions { ignore_mac: true })
        {
            let _ = doc.to_plain(format, &Default::default());
        }
    }
}

#[test]
fn mutated_vectors_never_panic() {
    let dir = crate::support::vectors_dir();
    let mut ids = AgeIdentities::new();
    ids.add_file(&dir.join("keys-both.txt")).unwrap();
    let corpus: Vec<Vec<u8>> = [
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
    .map(|f| std::fs::read(dir.join(f)).unwrap())
    .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0;
    for round in 0..50 {
        for (i, input) in corpus.iter().enumerate() {
            let other = &corpus[(i + round + 1) % corpus.len()];
            let data = mutate(&mut rng, input, other);
            exercise(&data, &ids);
            runs += 1;
        }
    }
    for _ in 0..100 {
        let len = rng.below(300);
        let data: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        exercise(&data, &ids);
        runs += 1;
    }
    assert_eq!(runs, 500);
}
