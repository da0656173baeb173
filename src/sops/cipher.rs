//! Owns the value cipher: the 32-byte data key, the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`
//! syntax, AES-256-GCM with sops' 32-byte IVs (any IV length on decryption) and the MAC hasher.

use std::fmt;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::generic_array::{ArrayLength, GenericArray};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

/// The per-file AES-256 key. Zeroed on drop; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        Self(k)
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }

    /// The key bytes (for wrapping by master keys).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(****)")
    }
}

/// The parts of an `ENC[…]` string (still base64).
#[derive(Debug, Clone, Copy)]
pub struct EncParts<'a> {
    /// The AES-GCM ciphertext (`data:`).
    pub data: &'a str,
    /// The initialization vector (`iv:`).
    pub iv: &'a str,
    /// The GCM authentication tag (`tag:`).
    pub tag: &'a str,
    /// The plaintext's type name (`type:`, e.g. `str`, `int`, `bool`), not base64.
    pub ty: &'a str,
}

/// Splits an `ENC[…]` string the way sops' greedy regexp
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` does.
pub fn parse_enc(s: &str) -> Option<EncParts<'_>> {
    let rest = s.strip_prefix("ENC[AES256_GCM,data:")?;
    let close = rest.rfind(']')?;
    let rest = &rest[..close];
    let t = rest.rfind(",type:")?;
    let ty = &rest[t + 6..];
    let rest = &rest[..t];
    let g = rest.rfind(",tag:")?;
    let tag = &rest[g + 5..];
    let rest = &rest[..g];
    let i = rest.rfind(",iv:")?;
    let iv = &rest[i + 4..];
    let data = &rest[..i];
    if [data, iv, tag, ty]
        .iter()
        .any(|p| p.is_empty() || p.contains('\n'))
    {
        return None;
    }
    Some(EncParts { data, iv, tag, ty })
}

/// Whether a string looks like an encrypted value.
pub fn is_enc(s: &[u8]) -> bool {
    s.starts_with(b"ENC[AES256_GCM,")
}

/// A fresh 32-byte IV.
pub fn random_iv() -> Vec<u8> {
    let mut iv = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    iv
}

/// Encrypts `plain` into an `ENC[…]` string with the given IV (12, 16 or 32 bytes; any other
/// length is replaced by a fresh 32-byte IV).
pub fn encrypt(key: &DataKey, plain: &[u8], aad: &[u8], ty: &str, iv: &[u8]) -> String {
    let mut buf = Zeroizing::new(plain.to_vec());
    let fresh;
    let iv = if matches!(iv.len(), 12 | 16 | 32) {
        iv
    } else {
        fresh = random_iv();
        &fresh
    };
    let tag = match iv.len() {
        12 => seal::<U12>(key, iv, aad, &mut buf),
        16 => seal::<U16>(key, iv, aad, &mut buf),
        _ => seal::<U32>(key, iv, aad, &mut buf),
    };
    let mut out = String::with_capacity(64 + buf.len() * 4 / 3 + 70);
    out.push_str("ENC[AES256_GCM,data:");
    B64.encode_string(&buf[..], &mut out);
    out.push_str(",iv:");
    B64.encode_string(iv, &mut out);
    out.push_str(",tag:");
    B64.encode_string(tag, &mut out);
    out.push_str(",type:");
    out.push_str(ty);
    out.push(']');
    out
}

fn seal<N: ArrayLength<u8>>(key: &DataKey, iv: &[u8], aad: &[u8], buf: &mut [u8]) -> Vec<u8> {
    let cipher = AesGcm::<Aes256, N>::new(GenericArray::from_slice(key.expose()));
    // A 32-byte IV always has the right length here; a failure would only mean a >64 GiB value.
    match cipher.encrypt_in_place_detached(GenericArray::from_slice(iv), aad, buf) {
        Ok(tag) => tag.to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Decrypts the parts of an `ENC[…]` string; returns the plaintext bytes.
pub fn decrypt(key: &DataKey, parts: &EncParts<'_>, aad: &[u8]) -> Result<Vec<u8>, String> {
    let mut data = B64
        .decode(parts.data)
        .map_err(|_| "invalid base64 in `data`".to_string())?;
    let iv = B64
        .decode(parts.iv)
        .map_err(|_| "invalid base64 in `iv`".to_string())?;
    let tag = B64
        .decode(parts.tag)
        .map_err(|_| "invalid base64 in `tag`".to_string())?;
    if tag.len() != 16 {
        return Err("the tag is not 16 bytes".into());
    }
    let ok = match iv.len() {
        12 => open::<U12>(key, &iv, aad, &mut data, &tag),
        16 => open::<U16>(key, &iv, aad, &mut data, &tag),
        32 => open::<U32>(key, &iv, aad, &mut data, &tag),
        n => open_any(n, key, &iv, aad, &mut data, &tag)?,
    };
    if ok {
        Ok(data)
    } else {
        Zeroizing::new(data);
        Err("message authentication failed".into())
    }
}

fn open<N: ArrayLength<u8>>(
    key: &DataKey,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> bool {
    let cipher = AesGcm::<Aes256, N>::new(GenericArray::from_slice(key.expose()));
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(iv),
            aad,
            buf,
            GenericArray::from_slice(tag),
        )
        .is_ok()
}

/// Rare IV lengths (sops only writes 32; other tools may write anything from 1 to 64 bytes).
fn open_any(
    n: usize,
    key: &DataKey,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<bool, String> {
    use aes_gcm::aead::consts::*;
    macro_rules! by_len {
        ($($len:literal => $ty:ty),*) => {
            match n {
                $($len => Ok(open::<$ty>(key, iv, aad, buf, tag)),)*
                _ => Err(format!("unsupported IV length {n}")),
            }
        };
    }
    by_len!(1 => U1, 2 => U2, 3 => U3, 4 => U4, 5 => U5, 6 => U6, 7 => U7, 8 => U8, 9 => U9,
        10 => U10, 11 => U11, 13 => U13, 14 => U14, 15 => U15, 17 => U17, 18 => U18, 19 => U19,
        20 => U20, 24 => U24, 28 => U28, 48 => U48, 64 => U64)
}

/// The MAC hasher.
pub struct Mac(Sha512);

impl Mac {
    /// A new hasher; with `mac_only_encrypted` it starts with SHA-256("sops").
    pub fn new(mac_only_encrypted: bool) -> Self {
        let mut h = Sha512::new();
        if mac_only_encrypted {
            h.update(Sha256::digest(b"sops"));
        }
        Self(h)
    }

    /// Feeds one value's canonical bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Upper-case hex of the digest.
    pub fn finish(self) -> String {
        hex::encode_upper(self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appendix_key() -> DataKey {
        let bytes: Vec<u8> = (0u8..32).collect();
        DataKey::from_slice(&bytes).unwrap()
    }

    #[test]
    fn known_answer_from_the_format_appendix() {
        let key = appendix_key();
        let enc = encrypt(&key, b"hello", b"a:", "str", &[1u8; 32]);
        assert_eq!(
            enc,
            "ENC[AES256_GCM,data:0cHFi7Y=,iv:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=,tag:ymZUyOw8wR96TPf7Sj/n1A==,type:str]"
        );
        let parts = parse_enc(&enc).unwrap();
        assert_eq!(decrypt(&key, &parts, b"a:").unwrap(), b"hello");
        assert!(decrypt(&key, &parts, b"b:").is_err());
        let mut mac = Mac::new(false);
        mac.update(b"hello421.5Truex27");
        assert!(mac.finish().starts_with("930B1882A956E51D"));
    }

    #[test]
    fn twelve_byte_ivs_round_trip() {
        let key = appendix_key();
        let enc = encrypt(&key, b"x", b"k:", "str", &[9u8; 12]);
        let parts = parse_enc(&enc).unwrap();
        assert_eq!(decrypt(&key, &parts, b"k:").unwrap(), b"x");
    }

    #[test]
    fn enc_parsing_rejects_garbage() {
        assert!(parse_enc("ENC[AES256_GCM,data:,iv:a,tag:b,type:str]").is_none());
        assert!(parse_enc("plain").is_none());
        assert!(parse_enc("ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]trailing").is_some());
    }
}
