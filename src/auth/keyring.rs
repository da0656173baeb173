//! Owns Go atmos's keyring layouts (upstream `pkg/keyring`), shared by the `keychain` store and
//! by `aws/user` identities whose keys `atmos auth user configure` put in the keyring: the
//! system keychain (keyring-core's platform store; items addressed as zalando/go-keyring does,
//! service = the key, account = the namespace) and the encrypted-file format below.
//!
//! The file format is 99designs/keyring's file backend:
//!
//! - One file per item in the keyring directory, named by the item key with `%` and `/`
//!   percent-encoded (`%25`, `%2F`; mtibben/percent with `"/"`).
//! - The file is a JWE in compact serialization (RFC 7516), as jose2go writes it:
//!   `alg` `PBES2-HS256+A128KW` (RFC 7518 §4.8: PBKDF2-HMAC-SHA256 over the password with salt
//!   `alg ‖ 0x00 ‖ p2s`, `p2c` iterations, then AES-128 key wrap of the content key) and `enc`
//!   `A256GCM` (the protected header, base64url, is the additional authenticated data).
//!   New files use `p2c` 8192 and a 12-byte `p2s`, as jose2go does; reads accept up to jose2go's
//!   own limit (1,300,000 iterations).
//! - The payload is the JSON of 99designs's `Item`: `{"Key": …, "Data": <base64 of the value
//!   bytes>, "Label": "", "Description": "", "KeychainNotTrustApplication": false,
//!   "KeychainNotSynchronizable": false}`.
//!
//! The format functions touch no file; errors never contain the password or a value.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::aead::{Aead, Payload};
use base64::Engine as _;
use rand::RngCore;
use zeroize::Zeroizing;

const ALG: &str = "PBES2-HS256+A128KW";
const ENC: &str = "A256GCM";
/// Iterations of new files (jose2go's default).
const NEW_P2C: u32 = 8192;
/// The most iterations a file may ask for (jose2go's limit for this `alg`).
const MAX_P2C: u64 = 1_300_000;
/// RFC 3394's initial value.
const KW_IV: [u8; 8] = [0xA6; 8];

/// The platform's system keychain: Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows; `Err` says why there is none.
pub fn system_store() -> Result<std::sync::Arc<keyring_core::CredentialStore>, String> {
    #[cfg(target_os = "linux")]
    return zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as std::sync::Arc<keyring_core::CredentialStore>)
        .map_err(|e| format!("Secret Service is not available: {e}"));
    #[cfg(target_os = "macos")]
    return apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as std::sync::Arc<keyring_core::CredentialStore>)
        .map_err(|e| format!("the macOS keychain is not available: {e}"));
    #[cfg(target_os = "windows")]
    return windows_native_keyring_store::Store::new()
        .map(|s| s as std::sync::Arc<keyring_core::CredentialStore>)
        .map_err(|e| format!("the Windows credential manager is not available: {e}"));
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    return Err("no system keychain on this platform".to_owned());
}

/// Reads the item `service`/`account` from the system keychain (`Ok(None)` = no such item).
pub fn system_get(service: &str, account: &str) -> Result<Option<Zeroizing<String>>, String> {
    let store = system_store()?;
    let entry = store
        .build(service, account, None)
        .map_err(|e| e.to_string())?;
    match entry.get_password() {
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads the item `key` from a keyring directory of the file format (`Ok(None)` = no file).
pub fn file_get(
    dir: &std::path::Path,
    key: &str,
    password: &str,
) -> Result<Option<Zeroizing<String>>, String> {
    let path = dir.join(file_name(key));
    let token = match std::fs::read_to_string(&path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read keyring file `{}`: {e}",
                path.display()
            ));
        }
    };
    match open(&token, password) {
        Ok((_, bytes)) => String::from_utf8(bytes.to_vec())
            .map(|s| Some(Zeroizing::new(s)))
            .map_err(|_| format!("keyring file `{}` does not hold text", path.display())),
        Err(OpenError::WrongPassword) => Err(format!(
            "cannot open keyring file `{}`: wrong password",
            path.display()
        )),
        Err(OpenError::Malformed(why)) => Err(format!(
            "cannot read keyring file `{}`: {why}",
            path.display()
        )),
    }
}

/// Whether `password` opens the keyring file at `path`: `Some(false)` for a wrong password,
/// `None` when the file cannot be read or is not a keyring item.
pub fn password_opens(path: &std::path::Path, password: &str) -> Option<bool> {
    let token = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    match open(&token, password) {
        Ok(_) => Some(true),
        Err(OpenError::WrongPassword) => Some(false),
        Err(OpenError::Malformed(_)) => None,
    }
}

fn b64url() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// The file name of an item key (`%` → `%25`, `/` → `%2F`).
pub fn file_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    for c in key.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            c => out.push(c),
        }
    }
    out
}

/// The item key of a file name (the inverse of [`file_name`]; any `%XX` is decoded, as
/// mtibben/percent does).
pub fn key_of_file(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The key-encryption key: PBKDF2-HMAC-SHA256(password, `alg ‖ 0 ‖ p2s`, `p2c`), 16 bytes.
fn kek(password: &str, p2s: &[u8], p2c: u32) -> Zeroizing<[u8; 16]> {
    let mut salt = Vec::with_capacity(ALG.len() + 1 + p2s.len());
    salt.extend_from_slice(ALG.as_bytes());
    salt.push(0);
    salt.extend_from_slice(p2s);
    let mut out = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, p2c, out.as_mut());
    out
}

/// RFC 3394 AES key wrap of `key` (a multiple of 8 bytes) under a 128-bit `kek`.
fn key_wrap(kek: &[u8; 16], key: &[u8]) -> Vec<u8> {
    let cipher = aes::Aes128::new(GenericArray::from_slice(kek));
    let n = key.len() / 8;
    let mut a = KW_IV;
    let mut r: Vec<[u8; 8]> = key
        .chunks(8)
        .map(|c| c.try_into().unwrap_or([0; 8]))
        .collect();
    for j in 0..6u64 {
        for (i, ri) in r.iter_mut().enumerate() {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(&a);
            block[8..].copy_from_slice(ri);
            let mut ga = GenericArray::from(block);
            cipher.encrypt_block(&mut ga);
            let t = (n as u64) * j + (i as u64 + 1);
            a.copy_from_slice(&ga[..8]);
            for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                *x ^= y;
            }
            ri.copy_from_slice(&ga[8..]);
        }
    }
    let mut out = a.to_vec();
    for ri in &r {
        out.extend_from_slice(ri);
    }
    out
}

/// RFC 3394 AES key unwrap; `None` when the integrity check fails (wrong password).
fn key_unwrap(kek: &[u8; 16], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return None;
    }
    let cipher = aes::Aes128::new(GenericArray::from_slice(kek));
    let n = wrapped.len() / 8 - 1;
    let mut a: [u8; 8] = wrapped[..8].try_into().ok()?;
    let mut r: Vec<[u8; 8]> = wrapped[8..]
        .chunks(8)
        .map(|c| c.try_into().unwrap_or([0; 8]))
        .collect();
    for j in (0..6u64).rev() {
        for i in (0..n).rev() {
            let t = (n as u64) * j + (i as u64 + 1);
            let mut block = [0u8; 16];
            for (k, y) in t.to_be_bytes().iter().enumerate() {
                block[k] = a[k] ^ y;
            }
            block[8..].copy_from_slice(&r[i]);
            let mut ga = GenericArray::from(block);
            cipher.decrypt_block(&mut ga);
            a.copy_from_slice(&ga[..8]);
            r[i].copy_from_slice(&ga[8..]);
        }
    }
    if a != KW_IV {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(n * 8));
    for ri in &r {
        out.extend_from_slice(ri);
    }
    Some(out)
}

/// The JSON payload of 99designs's `Item`.
#[derive(serde::Serialize, serde::Deserialize)]
#[allow(non_snake_case, reason = "the Go struct's field names")]
struct Item {
    Key: String,
    Data: String,
    #[serde(default)]
    Label: String,
    #[serde(default)]
    Description: String,
    #[serde(default)]
    KeychainNotTrustApplication: bool,
    #[serde(default)]
    KeychainNotSynchronizable: bool,
}

impl Drop for Item {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.Data.zeroize();
    }
}

/// Encrypts the item (`key`, `value`) with `password` into a compact JWE, as Go atmos does.
pub fn seal(key: &str, value: &[u8], password: &str) -> Result<String, String> {
    let item = Item {
        Key: key.to_owned(),
        Data: base64::engine::general_purpose::STANDARD.encode(value),
        Label: String::new(),
        Description: String::new(),
        KeychainNotTrustApplication: false,
        KeychainNotSynchronizable: false,
    };
    let payload = Zeroizing::new(serde_json::to_vec(&item).map_err(|e| e.to_string())?);
    let mut p2s = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut p2s);
    let header = serde_json::json!({
        "alg": ALG,
        "created": chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC").to_string(),
        "enc": ENC,
        "p2c": NEW_P2C,
        "p2s": b64url().encode(p2s),
    });
    let header_b64 = b64url().encode(header.to_string());
    let mut cek = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(cek.as_mut());
    let wrapped = key_wrap(&kek(password, &p2s, NEW_P2C), cek.as_ref());
    let mut iv = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let gcm = aes_gcm::Aes256Gcm::new(GenericArray::from_slice(cek.as_ref()));
    let sealed = gcm
        .encrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: &payload,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| "AES-GCM encryption failed".to_owned())?;
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    Ok(format!(
        "{header_b64}.{}.{}.{}.{}",
        b64url().encode(wrapped),
        b64url().encode(iv),
        b64url().encode(ct),
        b64url().encode(tag)
    ))
}

/// Why a keyring file cannot be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The password does not open it.
    WrongPassword,
    /// Not a JWE of the expected shape (the text says what is wrong; never a value).
    Malformed(String),
}

/// Decrypts a keyring file: the item's key and its value bytes.
pub fn open(token: &str, password: &str) -> Result<(String, Zeroizing<Vec<u8>>), OpenError> {
    let bad = |m: &str| OpenError::Malformed(m.to_owned());
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header_b64, wrapped, iv, ct, tag] = parts[..] else {
        return Err(bad("not a compact JWE (five dot-separated parts)"));
    };
    let decode = |s: &str, what: &str| {
        b64url()
            .decode(s)
            .map_err(|_| OpenError::Malformed(format!("the {what} is not base64url")))
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(header_b64, "header")?)
        .map_err(|_| bad("the header is not JSON"))?;
    let alg = header["alg"].as_str().unwrap_or_default();
    let enc = header["enc"].as_str().unwrap_or_default();
    if alg != ALG || enc != ENC {
        return Err(OpenError::Malformed(format!(
            "unsupported JWE algorithms `{alg}` / `{enc}` (expected {ALG} / {ENC})"
        )));
    }
    if header.get("zip").is_some() {
        return Err(bad("compressed JWE payloads are not supported"));
    }
    let p2c = header["p2c"]
        .as_u64()
        .filter(|c| (1..=MAX_P2C).contains(c))
        .ok_or_else(|| bad("`p2c` is missing or out of range"))?;
    let p2s = decode(header["p2s"].as_str().unwrap_or_default(), "`p2s`")?;
    let kek = kek(password, &p2s, u32::try_from(p2c).unwrap_or(NEW_P2C));
    let cek =
        key_unwrap(&kek, &decode(wrapped, "encrypted key")?).ok_or(OpenError::WrongPassword)?;
    if cek.len() != 32 {
        return Err(bad("the content key is not 256 bits"));
    }
    let iv = decode(iv, "IV")?;
    if iv.len() != 12 {
        return Err(bad("the IV is not 96 bits"));
    }
    let mut sealed = decode(ct, "ciphertext")?;
    sealed.extend_from_slice(&decode(tag, "tag")?);
    let gcm = aes_gcm::Aes256Gcm::new(GenericArray::from_slice(&cek));
    let plain = Zeroizing::new(
        gcm.decrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| bad("the content does not authenticate"))?,
    );
    let item: Item =
        serde_json::from_slice(&plain).map_err(|_| bad("the payload is not an item"))?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(&item.Data)
        .map_err(|_| bad("the item's `Data` is not base64"))?;
    Ok((item.Key.clone(), Zeroizing::new(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_vector() {
        // RFC 3394 §4.1: 128-bit key data with a 128-bit KEK.
        let kek: [u8; 16] = hex::decode("000102030405060708090A0B0C0D0E0F")
            .unwrap()
            .try_into()
            .unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        let wrapped = key_wrap(&kek, &data);
        assert_eq!(
            hex::encode_upper(&wrapped),
            "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
        );
        assert_eq!(&key_unwrap(&kek, &wrapped).unwrap()[..], &data[..]);
        let mut tampered = wrapped.clone();
        tampered[3] ^= 1;
        assert!(key_unwrap(&kek, &tampered).is_none());
    }

    #[test]
    fn round_trip_and_wrong_password() {
        let token = seal("atmos/dev/api/X", b"\"v\"", "pw-12345678").unwrap();
        assert_eq!(token.split('.').count(), 5);
        let (key, value) = open(&token, "pw-12345678").unwrap();
        assert_eq!(key, "atmos/dev/api/X");
        assert_eq!(&value[..], b"\"v\"");
        assert_eq!(open(&token, "other").unwrap_err(), OpenError::WrongPassword);
        assert!(matches!(open("a.b", "x"), Err(OpenError::Malformed(_))));
    }

    #[test]
    fn file_names_escape_slash_and_percent() {
        assert_eq!(file_name("atmos/dev/a%b"), "atmos%2Fdev%2Fa%25b");
        assert_eq!(key_of_file("atmos%2Fdev%2Fa%25b"), "atmos/dev/a%b");
        assert_eq!(key_of_file("100%"), "100%");
    }
}
