//! Every vector made by the real sops 3.11 (`tests/vectors/sops`, driven by `manifest.json`):
//! our decrypt output equals sops' `.dec` bytes, the data key and MAC match the manifest, and
//! every tampered vector fails with sops' exit code. A few run through the binary end to end.

use std::path::Path;

use atmos_secrets::error::Diagnose;
use atmos_secrets::sops::{
    self, AgeIdentities, DecryptOptions, Document, EmitOptions, Format, KeySource,
};
use serde_json::Value;

use crate::support::{Atmos, vectors_dir};

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(vectors_dir().join("manifest.json")).expect("manifest.json");
    let m: Value = serde_json::from_str(&text).expect("manifest is JSON");
    m["vectors"].as_array().expect("vectors").clone()
}

fn identities(name: &str) -> AgeIdentities {
    let mut ids = AgeIdentities::new();
    ids.add_file(&vectors_dir().join(name))
        .expect("identity file");
    ids
}

fn decrypt_doc(
    file: &Path,
    ids: &AgeIdentities,
    ignore_mac: bool,
) -> Result<Document, sops::SopsError> {
    let bytes = std::fs::read(file).expect("vector file");
    Document::decrypt(
        &bytes,
        Format::from_path(file),
        &KeySource {
            age: ids,
            provider: None,
        },
        &DecryptOptions { ignore_mac },
    )
}

#[test]
fn every_vector_behaves_like_sops() {
    let vectors = manifest();
    assert!(vectors.len() >= 26, "the manifest lists every vector");
    for v in &vectors {
        let file = vectors_dir().join(v["file"].as_str().unwrap());
        let expect = v["expect"].as_str().unwrap();
        for id_name in v["identities"].as_array().unwrap() {
            let ids = identities(id_name.as_str().unwrap());
            let name = format!("{} with {}", v["file"], id_name);
            match expect {
                "ok" | "ok_comment_passthrough" => {
                    let doc =
                        decrypt_doc(&file, &ids, false).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let want = std::fs::read(vectors_dir().join(v["decrypted"].as_str().unwrap()))
                        .unwrap();
                    let got = doc.to_plain(doc.format(), &EmitOptions::default());
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&want),
                        "{name}: decrypted bytes differ from sops' output"
                    );
                    assert_eq!(
                        hex::encode(doc.data_key().expose()),
                        v["data_key_hex"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        doc.computed_mac(),
                        v["mac_plaintext"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(doc.stored_mac(), v["mac_plaintext"].as_str(), "{name}");
                    assert_eq!(
                        expect == "ok_comment_passthrough",
                        !doc.warnings.is_empty(),
                        "{name}: a warning only for the tampered comment"
                    );
                }
                "mac_mismatch" => {
                    let err = decrypt_doc(&file, &ids, false)
                        .err()
                        .unwrap_or_else(|| panic!("{name} must fail"));
                    assert!(
                        matches!(err, sops::SopsError::MacMismatch { .. }),
                        "{name}: {err}"
                    );
                    assert_eq!(err.exit_code(), 51);
                    let doc = decrypt_doc(&file, &ids, true).unwrap();
                    assert_eq!(
                        hex::encode(doc.data_key().expose()),
                        v["data_key_hex"].as_str().unwrap()
                    );
                    assert_eq!(doc.stored_mac(), v["mac_plaintext"].as_str(), "{name}");
                    assert_ne!(doc.computed_mac(), v["mac_plaintext"].as_str().unwrap());
                }
                "mac_decrypt_error" => {
                    let err = decrypt_doc(&file, &ids, false)
                        .err()
                        .unwrap_or_else(|| panic!("{name} must fail"));
                    assert!(
                        matches!(err, sops::SopsError::MacDecrypt { .. }),
                        "{name}: {err}"
                    );
                    assert_eq!(err.exit_code(), 51);
                    assert!(
                        decrypt_doc(&file, &ids, true).is_ok(),
                        "{name}: --ignore-mac reads it"
                    );
                }
                "decrypt_error" => {
                    let err = decrypt_doc(&file, &ids, false)
                        .err()
                        .unwrap_or_else(|| panic!("{name} must fail"));
                    assert!(
                        matches!(err, sops::SopsError::DecryptValue { .. }),
                        "{name}: {err}"
                    );
                    assert_eq!(err.exit_code(), 25);
                }
                other => panic!("unknown expectation {other}"),
            }
        }
    }
}

#[test]
fn a_wrong_identity_cannot_recover_the_data_key() {
    let ids = identities("keys-second.txt");
    let err = decrypt_doc(&vectors_dir().join("basic.enc.yaml"), &ids, false).unwrap_err();
    assert_eq!(err.exit_code(), 128, "{err}");
    // Shamir 2-of-2 with only one of the two keys: not enough shares.
    let ids = identities("keys.txt");
    let err =
        decrypt_doc(&vectors_dir().join("rules/shamir/db.enc.yaml"), &ids, false).unwrap_err();
    assert_eq!(err.exit_code(), 128, "{err}");
}

#[test]
fn top_level_keys_need_no_key() {
    let bytes = std::fs::read(vectors_dir().join("basic.enc.yaml")).unwrap();
    let keys = sops::top_level_keys(&bytes, Format::Yaml).unwrap();
    assert_eq!(keys.first().map(String::as_str), Some("service"));
    assert!(keys.contains(&"port_unencrypted".to_owned()));
    assert!(!keys.contains(&"sops".to_owned()));
    let bytes = std::fs::read(vectors_dir().join("app.enc.env")).unwrap();
    let keys = sops::top_level_keys(&bytes, Format::Dotenv).unwrap();
    assert!(keys.contains(&"API_TOKEN".to_owned()));
    assert!(sops::top_level_keys(b"a: [", Format::Yaml).is_err());
}

/// `atmos` in the vectors folder with an empty HOME (under cargo's per-target temp dir, never
/// written to) and nothing else in the environment but `PATH`.
fn atmos() -> Atmos {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sops-vectors-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    Atmos::new::<&str>([])
        .env("HOME", &home)
        .cwd(&vectors_dir())
}

#[test]
fn binary_decrypts_vectors_with_sops_exit_codes() {
    let dir = vectors_dir();
    // A private copy: the committed file is 0644, which would add the loose-key warning.
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("keys.txt");
    std::fs::copy(dir.join("keys.txt"), &key).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = atmos()
        .args(["sops", "decrypt", "basic.enc.yaml"])
        .env("SOPS_AGE_KEY_FILE", &key)
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        std::fs::read(dir.join("basic.dec.yaml")).unwrap()
    );

    let out = atmos()
        .args(["sops", "decrypt", "blob.enc.bin"])
        .env("SOPS_AGE_KEY_FILE", &key)
        .output();
    assert_eq!(out.stdout, std::fs::read(dir.join("blob.dec.bin")).unwrap());

    for (file, code) in [
        ("tampered-value.enc.yaml", 51),
        ("tampered-lastmodified.enc.yaml", 51),
        ("tampered-swapped.enc.yaml", 25),
    ] {
        let out = atmos()
            .args(["sops", "decrypt", file])
            .env("SOPS_AGE_KEY_FILE", &key)
            .output();
        assert_eq!(out.status.code(), Some(code), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("hint: "), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = atmos()
        .args(["sops", "decrypt", "--ignore-mac", "tampered-value.enc.yaml"])
        .env("SOPS_AGE_KEY_FILE", &key)
        .output();
    assert_eq!(out.status.code(), Some(0));

    // No key at all: 128.
    let out = atmos().args(["sops", "decrypt", "basic.enc.yaml"]).output();
    assert_eq!(out.status.code(), Some(128));

    // The key from SOPS_AGE_KEY and from the default keys file work too.
    let text = std::fs::read_to_string(&key).unwrap();
    let out = atmos()
        .args([
            "sops",
            "decrypt",
            "--extract",
            r#"["service"]["credentials"]["pin"]"#,
            "basic.enc.yaml",
        ])
        .env("SOPS_AGE_KEY", &text)
        .output();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0042");
    let cfg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cfg.path().join("sops/age")).unwrap();
    std::fs::write(cfg.path().join("sops/age/keys.txt"), &text).unwrap();
    let out = atmos()
        .args(["sops", "decrypt", "app.enc.env"])
        .env("XDG_CONFIG_HOME", cfg.path())
        .output();
    assert_eq!(out.stdout, std::fs::read(dir.join("app.dec.env")).unwrap());

    // Encrypting an encrypted file: 203.
    let out = atmos()
        .args([
            "sops",
            "encrypt",
            "--age",
            "age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7",
            "basic.enc.yaml",
        ])
        .output();
    assert_eq!(out.status.code(), Some(203));
}

#[test]
fn unsupported_master_keys_give_a_clear_error() {
    // Replace the age block of a real file with a KMS entry: no age key can help.
    let text = std::fs::read_to_string(vectors_dir().join("basic.enc.yaml")).unwrap();
    let start = text.find("    age:\n").unwrap();
    let end = text.find("    lastmodified:").unwrap();
    let kms = "    kms:\n        - arn: arn:aws:kms:us-east-1:111122223333:key/x\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: AQID\n          aws_profile: \"\"\n";
    let edited = format!("{}{}{}", &text[..start], kms, &text[end..]);
    let ids = identities("keys.txt");
    let err = Document::decrypt(
        edited.as_bytes(),
        Format::Yaml,
        &KeySource {
            age: &ids,
            provider: None,
        },
        &DecryptOptions::default(),
    )
    .unwrap_err()
    .in_file(Path::new("x.enc.yaml"));
    let msg = err.to_string();
    assert!(
        msg.contains("kms master keys are not supported yet"),
        "{msg}"
    );
    assert!(msg.contains("x.enc.yaml"), "{msg}");
    assert_eq!(err.exit_code(), 128);
}

#[test]
fn editing_keeps_other_master_keys_verbatim() {
    // A file with an age key and a KMS key: set re-encrypts and keeps the KMS entry.
    let text = std::fs::read_to_string(vectors_dir().join("setunset.before.enc.yaml")).unwrap();
    let at = text.find("    age:\n").unwrap();
    let kms = "    kms:\n        - arn: arn:aws:kms:us-east-1:111122223333:key/x\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: AQID\n          aws_profile: \"\"\n";
    let edited = format!("{}{}{}", &text[..at], kms, &text[at..]);
    let ids = identities("keys.txt");
    let keys = KeySource {
        age: &ids,
        provider: None,
    };
    let mut doc = Document::decrypt(
        edited.as_bytes(),
        Format::Yaml,
        &keys,
        &DecryptOptions::default(),
    )
    .unwrap();
    doc.set_string("added", &"v".into());
    let out = String::from_utf8(doc.encrypt(&EmitOptions::default()).unwrap()).unwrap();
    assert!(out.contains(kms), "{out}");
    let doc = Document::decrypt(
        out.as_bytes(),
        Format::Yaml,
        &keys,
        &DecryptOptions::default(),
    )
    .unwrap();
    assert_eq!(doc.get("added").unwrap().expose(), "v");
}
