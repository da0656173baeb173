//! Fuzzes the parser of encrypted SOPS files (every store) and the decryption path with a known
//! test identity, so mutated real files reach the crypto and MAC code. Nothing may panic.
#![no_main]

use atmos_secrets::sops::{self, AgeIdentities, DecryptOptions, Document, Format, KeySource};
use libfuzzer_sys::fuzz_target;

/// The public test-only identity of `tests/vectors/sops/keys.txt`.
const TEST_IDENTITY: &str = include_str!("../../vectors/sops/keys.txt");

fuzz_target!(|data: &[u8]| {
    let mut ids = AgeIdentities::new();
    let _ = ids.add_text(TEST_IDENTITY, "test");
    for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini, Format::Binary] {
        let _ = sops::parse_encrypted(data, format);
        let _ = sops::top_level_keys(data, format);
        let keys = KeySource { age: &ids, provider: None };
        let _ = Document::decrypt(data, format, &keys, &DecryptOptions::default());
    }
});
