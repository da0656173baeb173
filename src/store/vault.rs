//! Owns the `hashicorp/vault` store: KV version 2 under `options.mount`,
//! values written as `{value: …}`, read back from `value` (or the whole map for secrets written
//! by other tools), existence from metadata, delete = metadata delete (every version).
//!
//! Configuration is explicit: `address`/`url` (else `VAULT_ADDR`), `token` (else `VAULT_TOKEN`),
//! `namespace` (else `VAULT_NAMESPACE`), `ca_cert` (else `VAULT_CACERT`), `timeout`. Every
//! vaultrs setting is filled in here, so the crate never reads `VAULT_*` on its own (P11).
//!
//! The HTTP client is built per operation: the binary runs each batch of store calls on its own
//! short-lived runtime, and a pooled connection must not outlive the runtime that opened it.
//! Batched reads are bounded concurrent calls (`batch_size` 1, `concurrency` 8).

use std::time::Duration;

use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use super::keyed::KeyedBackend;
use super::net;
use super::{Store, StoreError};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

/// Reads in flight at once within one `get_many`.
const CONCURRENCY: usize = 8;

/// The `hashicorp/vault` store.
pub struct VaultStore {
    cfg: StoreConfig,
    address: String,
    mount: String,
    token: Option<SecretString>,
    namespace: Option<String>,
    ca_cert: Option<String>,
    timeout: Duration,
}

/// The shape atmos writes: `{value: …}`.
#[derive(serde::Serialize)]
struct Written<'a> {
    value: &'a serde_json::Value,
}

impl VaultStore {
    /// Builds the store from its config. No network I/O; a missing token fails at first use.
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: &str| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint.to_owned()),
        };
        let address = option_str(&cfg.options, "address")
            .or_else(|| option_str(&cfg.options, "url"))
            .map(str::to_owned)
            .or_else(|| crate::env::var(crate::env::VAULT_ADDR))
            .ok_or_else(|| {
                config_err(
                    "no Vault address".into(),
                    "set `options.address` (e.g. https://vault.example.com:8200) or VAULT_ADDR",
                )
            })?;
        match reqwest::Url::parse(&address) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(config_err(
                    format!(
                        "the Vault address `{}` is not an http(s) URL",
                        net::redact_url(&address)
                    ),
                    "set `options.address` to a URL such as https://vault.example.com:8200",
                ));
            }
        }
        let mount = option_str(&cfg.options, "mount")
            .or_else(|| option_str(&cfg.options, "path"))
            .map(|m| m.trim_matches('/').to_owned())
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                config_err(
                    "mount is required in vault store configuration".into(),
                    "set `options.mount` to the KV v2 mount, e.g. `secret`",
                )
            })?;
        let ca_cert = option_str(&cfg.options, "ca_cert")
            .map(|p| crate::env::expand_path(p).display().to_string())
            .or_else(|| crate::env::var(crate::env::VAULT_CACERT));
        Ok(Self {
            address,
            mount,
            token: option_str(&cfg.options, "token")
                .map(str::to_owned)
                .or_else(|| crate::env::var(crate::env::VAULT_TOKEN))
                .map(SecretString::new),
            namespace: option_str(&cfg.options, "namespace")
                .map(str::to_owned)
                .or_else(|| crate::env::var(crate::env::VAULT_NAMESPACE)),
            ca_cert,
            timeout: net::timeout(cfg)?,
            cfg: cfg.clone(),
        })
    }

    fn err(&self, key: &Coordinate, message: String, hint: String) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: self.describe_key(key),
            message,
            hint: Some(hint),
            exit_code: code::FAILURE,
        }
    }

    fn client(&self, key: &Coordinate) -> Result<VaultClient, StoreError> {
        let token = self.token.as_ref().ok_or_else(|| {
            self.err(
                key,
                "no Vault token".into(),
                "set VAULT_TOKEN (or `options.token`) to a token that can use this mount".into(),
            )
        })?;
        let mut b = VaultClientSettingsBuilder::default();
        b.address(&self.address)
            .token(token.expose())
            .namespace(self.namespace.clone())
            .ca_certs(self.ca_cert.iter().cloned().collect())
            .identity(None)
            .verify(true)
            .timeout(Some(self.timeout));
        let settings = b.build().map_err(|e| {
            self.err(
                key,
                format!("invalid Vault client settings: {e}"),
                "check `options.address`".into(),
            )
        })?;
        VaultClient::new(settings).map_err(|e| match e {
            ClientError::FileReadError { path, .. }
            | ClientError::ParseCertificateError { path, .. }
            | ClientError::FileNotFoundError { path } => self.err(
                key,
                format!("cannot use the CA bundle `{path}`"),
                "point `options.ca_cert` (or VAULT_CACERT) at a readable PEM file".into(),
            ),
            other => self.err(
                key,
                format!("cannot build the Vault client: {other}"),
                "check the store's options".into(),
            ),
        })
    }

    /// Turns a vaultrs failure into a store error; on 403 asks Vault whether the token itself
    /// is valid, to tell a bad token from a missing policy.
    async fn fail(
        &self,
        client: &VaultClient,
        key: &Coordinate,
        op: &str,
        e: ClientError,
    ) -> StoreError {
        let path = self.physical_key(key).unwrap_or_default();
        match &e {
            ClientError::APIError { code: 403, .. } => {
                if vaultrs::token::lookup_self(client).await.is_err() {
                    self.err(
                        key,
                        format!("Vault rejected the token ({op})"),
                        "the token is invalid, expired or revoked: set a valid VAULT_TOKEN (or `options.token`)".into(),
                    )
                } else {
                    self.err(
                        key,
                        format!("permission denied ({op})"),
                        format!(
                            "the token's policies must allow {} on `{m}/data/{path}` (and `delete` on `{m}/metadata/{path}` to delete)",
                            if op == "read" { "`read`" } else { "`create` and `update`" },
                            m = self.mount
                        ),
                    )
                }
            }
            ClientError::APIError { code: 404, errors } if !errors.is_empty() => self.err(
                key,
                format!("Vault has no KV mount `{}` ({op})", self.mount),
                format!(
                    "enable it (`vault secrets enable -path={} kv-v2`) or fix `options.mount`",
                    self.mount
                ),
            ),
            ClientError::APIError { code: 503, .. } => self.err(
                key,
                format!(
                    "Vault is sealed or unavailable ({op}, HTTP 503, {} attempts)",
                    super::retry::MAX_ATTEMPTS
                ),
                "unseal the server or wait until it is active".into(),
            ),
            ClientError::APIError { code: 429, .. } => self.err(
                key,
                format!(
                    "Vault throttled the request ({op}, HTTP 429, {} attempts)",
                    super::retry::MAX_ATTEMPTS
                ),
                "a rate-limit quota applies to this path or token: wait and run the command again, or raise the quota".into(),
            ),
            ClientError::APIError { code, errors } => self.err(
                key,
                format!(
                    "Vault answered HTTP {code} ({op}){}",
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", net::redact(&errors.join("; "), &self.secrets()))
                    }
                ),
                "check the mount is KV version 2 and the token's policies".into(),
            ),
            ClientError::RestClientError {
                source: rustify::errors::ClientError::ServerResponseError { code, .. },
            } => self.err(
                key,
                format!("Vault answered HTTP {code} ({op})"),
                "check that `options.address` points at Vault and the mount is KV version 2".into(),
            ),
            ClientError::RestClientError { .. } => {
                let kind = net::classify(&e);
                let (msg, hint) =
                    net::describe(kind, "Vault", &net::redact_url(&self.address), self.timeout);
                let cause = net::root_cause(&e, &self.secrets());
                self.err(key, format!("{msg} ({op}): {cause}"), hint)
            }
            other => self.err(
                key,
                format!("unexpected answer from Vault ({op}): {other}"),
                "check that the mount is KV version 2".into(),
            ),
        }
    }

    /// Runs one vaultrs call with retries on throttling and unavailability (429, 502–504), as
    /// Vault's own client retries 5xx.
    async fn retried<T, Fut>(
        &self,
        key: &Coordinate,
        op: &str,
        call: impl FnMut() -> Fut,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let path = self.describe(key);
        let who = super::retry::Call {
            service: "Vault",
            store: &self.cfg.name,
            op,
            key: &path,
        };
        super::retry::with_retries(who, call, |e: &ClientError| {
            let code = match e {
                ClientError::APIError { code, .. }
                | ClientError::RestClientError {
                    source: rustify::errors::ClientError::ServerResponseError { code, .. },
                } => *code,
                _ => return None,
            };
            super::retry::Transient::from_status(code)
        })
        .await
    }

    fn secrets(&self) -> Vec<&str> {
        self.token.iter().map(SecretString::expose).collect()
    }

    fn not_found(e: &ClientError) -> bool {
        match e {
            ClientError::APIError { code: 404, errors } => errors.is_empty(),
            // A soft-deleted latest version answers 404 with metadata instead of `errors`.
            ClientError::RestClientError {
                source: rustify::errors::ClientError::ServerResponseError { code: 404, .. },
            } => true,
            _ => false,
        }
    }
}

impl KeyedBackend for VaultStore {
    type Conn = VaultClient;

    const KIND: &'static str = "hashicorp/vault";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    const CONCURRENCY: usize = CONCURRENCY;

    /// The path of a coordinate inside the mount (`docs/backends/vault.md`; stack and global
    /// scope get real paths, `docs/decisions.md`).
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        super::keys::compose_coordinate(&self.cfg, key)
    }

    fn describe(&self, key: &Coordinate) -> String {
        match self.physical_key(key) {
            Ok(p) => format!("{}/{p}", self.mount),
            Err(_) => format!("{}/<invalid key `{}`>", self.mount, key.key),
        }
    }

    async fn connect(&self, first: &Coordinate) -> Result<VaultClient, StoreError> {
        self.client(first)
    }

    async fn get_key(
        &self,
        client: &VaultClient,
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let path = self.physical_key(key)?;
        let read = self
            .retried(key, "read", || {
                vaultrs::kv2::read::<serde_json::Value>(client, &self.mount, &path)
            })
            .await;
        match read {
            Ok(serde_json::Value::Object(mut map)) => Ok(Some(match map.remove("value") {
                Some(v) => SecretValue::json(v),
                // Written by another tool: the whole map is the value.
                None => SecretValue::json(serde_json::Value::Object(map)),
            })),
            Ok(serde_json::Value::Null) => Ok(None),
            Ok(other) => Ok(Some(SecretValue::json(other))),
            Err(e) if Self::not_found(&e) => Ok(None),
            Err(e) => Err(self.fail(client, key, "read", e).await),
        }
    }

    async fn exists_key(&self, client: &VaultClient, key: &Coordinate) -> Result<bool, StoreError> {
        let path = self.physical_key(key)?;
        let read = self
            .retried(key, "metadata read", || {
                vaultrs::kv2::read_metadata(client, &self.mount, &path)
            })
            .await;
        match read {
            Ok(meta) => Ok(meta
                .versions
                .get(&meta.current_version.to_string())
                .is_some_and(|v| v.deletion_time.is_empty() && !v.destroyed)),
            Err(e) if Self::not_found(&e) => Ok(false),
            Err(e) => Err(self.fail(client, key, "metadata read", e).await),
        }
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let path = self.physical_key(key)?;
        let client = self.client(key)?;
        let data = Written {
            value: value.expose(),
        };
        let written = self
            .retried(key, "write", || {
                vaultrs::kv2::set(&client, &self.mount, &path, &data)
            })
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(&client, key, "write", e).await),
        }
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let path = self.physical_key(key)?;
        let client = self.client(key)?;
        // Metadata delete removes every version; Vault answers 204 for a missing path too.
        let deleted = self
            .retried(key, "delete", || {
                vaultrs::kv2::delete_metadata(&client, &self.mount, &path)
            })
            .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) if Self::not_found(&e) => Ok(()),
            Err(e) => Err(self.fail(&client, key, "delete", e).await),
        }
    }
}
