//! Owns the HashiCorp Vault transit master keys of SOPS files (`hc_vault` entries), as sops
//! handles them: the data key is sent base64-encoded to `POST <vault_address>/v1/<engine_path>/
//! encrypt/<key_name>` and the returned `vault:v1:…` ciphertext is the entry's `enc`; decrypting
//! posts it to `…/decrypt/<key_name>`. The server is the entry's `vault_address` (as sops; not
//! `VAULT_ADDR`); the token is `VAULT_TOKEN`, else `~/.vault-token`; `VAULT_NAMESPACE` is sent
//! when set. Provider options: `timeout` (seconds per request, default 20) and `ca_cert` (a PEM
//! bundle, else `VAULT_CACERT`) for an https server.
//!
//! The HTTP client is the program's one `reqwest`/rustls stack; throttling, unavailability and
//! dropped connections are retried as the stores do ([`super::retry::send`]). The token never
//! reaches a message.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::net::{self, Transport};
use crate::secret_value::SecretString;
use crate::sops::Value;
use crate::sops::keys::{complete_entry, entry_field};

/// The `hc_vault` master-key provider.
#[derive(Debug, Clone)]
pub struct VaultTransitProvider {
    timeout: Duration,
    ca_cert: Option<PathBuf>,
}

impl Default for VaultTransitProvider {
    fn default() -> Self {
        Self {
            timeout: net::DEFAULT_TIMEOUT,
            ca_cert: None,
        }
    }
}

/// One transit key, from an entry or a spec.
struct TransitKey {
    address: String,
    engine: String,
    name: String,
}

impl TransitKey {
    fn from_entry(entry: &Value) -> Result<Self, String> {
        let f = |k: &str| {
            entry_field(entry, k).ok_or_else(|| format!("the `hc_vault` entry has no `{k}`"))
        };
        Ok(Self {
            address: f("vault_address")?.trim_end_matches('/').to_owned(),
            engine: f("engine_path")?.trim_matches('/').to_owned(),
            name: f("key_name")?,
        })
    }

    fn uri(&self) -> String {
        format!("{}/v1/{}/keys/{}", self.address, self.engine, self.name)
    }

    fn url(&self, op: &str) -> String {
        format!("{}/v1/{}/{op}/{}", self.address, self.engine, self.name)
    }
}

impl VaultTransitProvider {
    /// A provider with a request bound and an optional CA bundle (PEM file). No I/O.
    pub fn new(timeout: Option<Duration>, ca_cert: Option<PathBuf>) -> Self {
        Self {
            timeout: timeout.unwrap_or(net::DEFAULT_TIMEOUT),
            ca_cert: ca_cert
                .or_else(|| crate::env::var(crate::env::VAULT_CACERT).map(PathBuf::from)),
        }
    }

    /// `VAULT_TOKEN`, else the first line of `~/.vault-token` (the Vault CLI's token helper).
    fn token() -> Option<SecretString> {
        if let Some(t) = crate::env::var(crate::env::VAULT_TOKEN) {
            return Some(SecretString::new(t));
        }
        let home = crate::env::var(crate::env::HOME)?;
        let text =
            Zeroizing::new(std::fs::read_to_string(PathBuf::from(home).join(".vault-token")).ok()?);
        let t = text.trim();
        (!t.is_empty()).then(|| SecretString::new(t.to_owned()))
    }

    fn client(&self, key: &TransitKey) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if key.address.starts_with("http://") {
            b = b.tls_certs_only(Vec::new());
        } else if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the Vault CA bundle `{}`: {e}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
                format!(
                    "the Vault CA bundle `{}` holds no usable PEM certificate",
                    ca.display()
                )
            })?;
            b = b.tls_certs_merge(certs);
        }
        b.build()
            .map_err(|e| format!("cannot build the HTTP client for Vault: {e}"))
    }

    /// One transit call; the `data` object of the answer.
    async fn call(
        &self,
        key: &TransitKey,
        op: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let token = Self::token().ok_or_else(|| {
            format!(
                "no Vault token for transit key `{}` (hint: set VAULT_TOKEN or log in with `vault login`, which writes ~/.vault-token)",
                key.uri()
            )
        })?;
        let client = self.client(key)?;
        let url = key.url(op);
        let uri = key.uri();
        let namespace = crate::env::var(crate::env::VAULT_NAMESPACE);
        let who = super::retry::Call {
            service: "Vault transit",
            store: "",
            op,
            key: &uri,
        };
        let resp = super::retry::send(who, || {
            let req = client
                .post(&url)
                .header("X-Vault-Token", token.expose())
                .header("X-Vault-Request", "true")
                .json(&body);
            match &namespace {
                Some(ns) => req.header("X-Vault-Namespace", ns),
                None => req,
            }
        })
        .await
        .map_err(|e| {
            let (message, hint) = net::describe(
                net::classify(&e),
                "Vault",
                &net::redact_url(&key.address),
                self.timeout,
            );
            let cause = net::root_cause(&e, &[token.expose()]);
            let note = super::retry::dropped_note(&e);
            match net::classify(&e) {
                Transport::Timeout => format!("{message} (hint: {hint})"),
                Transport::Connect => format!(
                    "{message}: {cause} (hint: check the key's `vault_address` and that Vault is running and reachable from here)"
                ),
                _ => format!(
                    "{message} (transit key `{uri}`){note}: {cause} (hint: {hint})"
                ),
            }
        })?;
        let status = resp.status;
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        if !status.is_success() {
            let errors: Vec<String> = json["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str())
                        .map(|e| net::redact(e, &[token.expose()]))
                        .collect()
                })
                .unwrap_or_default();
            let detail = if errors.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {}", errors.join("; "))
            };
            let hint = match status.as_u16() {
                401 | 403 => {
                    "check VAULT_TOKEN (or ~/.vault-token): the token must be valid and allowed to use the transit key".to_owned()
                }
                404 => {
                    "check the engine path and key name, and that the transit engine is enabled there".to_owned()
                }
                _ => super::retry::exhausted_hint(status, "Vault")
                    .unwrap_or_else(|| "check the Vault server's health and the transit key".to_owned()),
            };
            return Err(format!(
                "Vault transit {op} with key `{uri}` failed{}: {detail} (hint: {hint})",
                super::retry::attempts_note(status)
            ));
        }
        match json.get("data") {
            Some(serde_json::Value::Object(m)) => Ok(m.clone()),
            _ => Err(format!(
                "Vault transit {op} with key `{}` returned no data",
                key.uri()
            )),
        }
    }

    async fn unwrap_async(&self, entry: &Value) -> Result<Zeroizing<Vec<u8>>, String> {
        let key = TransitKey::from_entry(entry)?;
        let enc = entry_field(entry, "enc").ok_or("the `hc_vault` entry has no `enc`")?;
        let data = self
            .call(&key, "decrypt", serde_json::json!({ "ciphertext": enc }))
            .await?;
        let plain = data
            .get("plaintext")
            .and_then(|p| p.as_str())
            .ok_or_else(|| {
                format!(
                    "Vault transit decrypt with key `{}` returned no plaintext",
                    key.uri()
                )
            })?;
        base64::engine::general_purpose::STANDARD
            .decode(plain)
            .map(Zeroizing::new)
            .map_err(|_| {
                format!(
                    "Vault transit decrypt with key `{}` returned a plaintext that is not base64",
                    key.uri()
                )
            })
    }

    async fn wrap_async(&self, spec: &Value, payload: &[u8]) -> Result<Value, String> {
        let key = TransitKey::from_entry(spec)?;
        let plain = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(payload));
        let data = self
            .call(
                &key,
                "encrypt",
                serde_json::json!({ "plaintext": plain.as_str() }),
            )
            .await?;
        let ct = data
            .get("ciphertext")
            .and_then(|c| c.as_str())
            .ok_or_else(|| {
                format!(
                    "Vault transit encrypt with key `{}` returned no ciphertext",
                    key.uri()
                )
            })?;
        Ok(complete_entry("hc_vault", spec, ct))
    }
}

super::net::network_key_provider!(VaultTransitProvider, "hc_vault");
