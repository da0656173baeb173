//! Owns the Azure Key Vault master keys of SOPS files (`azure_kv` entries), as sops handles
//! them: the data key is encrypted with the vault key's `encrypt` operation (RSA-OAEP-256) and
//! the unpadded base64url of the result is the entry's `enc`; decrypting sends it to `decrypt`.
//! Calls use Key Vault's REST API (api-version 7.4) over the program's one `reqwest`/rustls
//! stack, https only, retried as the stores' calls are ([`super::retry::send`]).
//!
//! Credentials: the `azure/keyvault` store's chain (client secret, workload identity, Azure CLI /
//! Developer CLI, managed identity) with the SOPS provider's `identity` as the tenant hint;
//! `spec.options.without_authentication: true` sends a stub token (emulators). `ca_cert` trusts
//! a private CA.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::azure_key_vault::{Chain, StubToken};
use super::net;
use crate::config::AuthConfig;
use crate::sops::Value;
use crate::sops::keys::{complete_entry, entry_field};

const API_VERSION: &str = "7.4";

/// The `azure_kv` master-key provider.
pub struct AzureKvProvider {
    identity: Option<String>,
    auth: Arc<AuthConfig>,
    stub_auth: bool,
    ca_cert: Option<PathBuf>,
    timeout: Duration,
}

/// One vault key, from an entry or a spec.
struct VaultKey {
    vault_url: String,
    name: String,
    version: String,
}

impl VaultKey {
    fn from_entry(entry: &Value) -> Result<Self, String> {
        let vault_url = entry_field(entry, "vault_url")
            .ok_or("the `azure_kv` entry has no `vault_url`")?
            .trim_end_matches('/')
            .to_owned();
        let name = entry_field(entry, "name").ok_or("the `azure_kv` entry has no `name`")?;
        if !vault_url.starts_with("https://") {
            return Err(format!(
                "the Azure Key Vault URL `{vault_url}` is not https (Key Vault takes bearer tokens over TLS only)"
            ));
        }
        Ok(Self {
            vault_url,
            name,
            version: entry_field(entry, "version").unwrap_or_default(),
        })
    }

    fn text(&self) -> String {
        format!("{}/keys/{}/{}", self.vault_url, self.name, self.version)
    }

    /// The token scope of the vault's cloud: `https://vault.azure.net/.default` for public Azure
    /// and loopback test vaults, the vault host's parent domain for sovereign clouds.
    fn scope(&self) -> String {
        let host = self
            .vault_url
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        match host.split_once(".vault.") {
            Some((_, cloud)) => format!("https://vault.{cloud}/.default"),
            None => "https://vault.azure.net/.default".into(),
        }
    }
}

impl AzureKvProvider {
    /// A provider with the SOPS provider's identity and options. No I/O.
    pub fn new(
        identity: Option<String>,
        auth: Arc<AuthConfig>,
        stub_auth: bool,
        ca_cert: Option<PathBuf>,
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            identity,
            auth,
            stub_auth,
            ca_cert,
            timeout: timeout.unwrap_or(net::DEFAULT_TIMEOUT),
        }
    }

    fn who(&self) -> String {
        match &self.identity {
            Some(i) => format!("identity `{i}`"),
            None => "the default Azure credentials".into(),
        }
    }

    async fn token(&self, key: &VaultKey) -> Result<String, String> {
        let cred: Arc<dyn TokenCredential> = if self.stub_auth {
            Arc::new(StubToken)
        } else {
            let tenant = match &self.identity {
                Some(i) => crate::auth::azure::tenant_hint(&self.auth, i)
                    .map_err(|e| format!("identity `{i}`: {e}"))?,
                None => None,
            };
            Arc::new(Chain::new(tenant).map_err(|e| format!("no Azure credential is usable: {e}"))?)
        };
        let scope = key.scope();
        let token = cred.get_token(&[scope.as_str()], None).await.map_err(|e| {
            format!(
                "no Azure token for {}: {e} (hint: run `az login`, or set AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID)",
                self.who()
            )
        })?;
        Ok(token.token.secret().to_owned())
    }

    async fn call(&self, key: &VaultKey, op: &str, value: &[u8]) -> Result<Vec<u8>, String> {
        let token = Zeroizing::new(self.token(key).await?);
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true);
        if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the CA bundle `{}`: {e}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
                format!(
                    "the CA bundle `{}` holds no usable PEM certificate",
                    ca.display()
                )
            })?;
            b = b.tls_certs_merge(certs);
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Azure Key Vault: {e}"))?;
        let url = if key.version.is_empty() {
            format!("{}/keys/{}/{op}", key.vault_url, key.name)
        } else {
            format!("{}/keys/{}/{}/{op}", key.vault_url, key.name, key.version)
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let body = serde_json::json!({ "alg": "RSA-OAEP-256", "value": b64.encode(value) });
        let text = key.text();
        let who = super::retry::Call {
            service: "Azure Key Vault",
            store: "",
            op,
            key: &text,
        };
        let resp = super::retry::send(who, || {
            client
                .post(&url)
                .query(&[("api-version", API_VERSION)])
                .bearer_auth(token.as_str())
                .json(&body)
        })
        .await
        .map_err(|e| {
            let (message, hint) = net::describe(
                net::classify(&e),
                "Azure Key Vault",
                &key.vault_url,
                self.timeout,
            );
            format!(
                "{message} (key `{text}`){}: {} (hint: {hint})",
                super::retry::dropped_note(&e),
                net::root_cause(&e, &[token.as_str()])
            )
        })?;
        let status = resp.status;
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        if !status.is_success() {
            let code = json["error"]["code"].as_str().unwrap_or_default();
            let message = net::redact(
                json["error"]["message"].as_str().unwrap_or_default(),
                &[token.as_str()],
            );
            let hint = match status.as_u16() {
                401 => {
                    "the credentials were refused: log in again (`az login`) or check the identity".to_owned()
                }
                403 => {
                    "give the credentials the key's encrypt/decrypt permission (e.g. the `Key Vault Crypto User` role)".to_owned()
                }
                404 => "check the vault URL, key name and version".to_owned(),
                _ => super::retry::exhausted_hint(status, "Azure Key Vault")
                    .unwrap_or_else(|| "check the key and the vault".to_owned()),
            };
            return Err(format!(
                "Azure Key Vault {op} with key `{text}` as {} failed{}: HTTP {status} {code}: {message} (hint: {hint})",
                self.who(),
                super::retry::attempts_note(status)
            ));
        }
        let value = json["value"].as_str().ok_or_else(|| {
            format!(
                "Azure Key Vault {op} with key `{}` returned no value",
                key.text()
            )
        })?;
        b64.decode(value.trim_end_matches('=')).map_err(|_| {
            format!(
                "Azure Key Vault {op} with key `{}` returned a value that is not base64url",
                key.text()
            )
        })
    }

    async fn unwrap_async(&self, entry: &Value) -> Result<Zeroizing<Vec<u8>>, String> {
        let key = VaultKey::from_entry(entry)?;
        let enc = entry_field(entry, "enc").ok_or("the `azure_kv` entry has no `enc`")?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(enc.trim().trim_end_matches('='))
            .map_err(|_| format!("`enc` of Azure key `{}` is not base64url", key.text()))?;
        self.call(&key, "decrypt", &raw).await.map(Zeroizing::new)
    }

    async fn wrap_async(&self, spec: &Value, payload: &[u8]) -> Result<Value, String> {
        let key = VaultKey::from_entry(spec)?;
        let out = self.call(&key, "encrypt", payload).await?;
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out);
        Ok(complete_entry("azure_kv", spec, &enc))
    }
}

super::net::network_key_provider!(AzureKvProvider, "azure_kv");

#[cfg(test)]
mod tests {
    use super::VaultKey;

    #[test]
    fn token_scope_follows_the_vault_cloud() {
        let key = |url: &str| VaultKey {
            vault_url: url.into(),
            name: "k".into(),
            version: String::new(),
        };
        assert_eq!(
            key("https://v.vault.azure.net").scope(),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            key("https://v.vault.azure.cn").scope(),
            "https://vault.azure.cn/.default"
        );
        assert_eq!(
            key("https://127.0.0.1:8443").scope(),
            "https://vault.azure.net/.default"
        );
    }
}
