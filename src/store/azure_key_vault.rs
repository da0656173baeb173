//! Owns the `azure/keyvault` store: Microsoft's
//! `azure_security_keyvault_secrets` client against one vault (`vault_url`, alias `endpoint`;
//! https, or plain http only when the user opts in for an emulator).
//!
//! - Names: `compose` with `-`, then Key Vault's rules (`keys::azure_name`):
//!   `atmos-plat-ue2-dev-vpc-primary-DB-PASSWORD`. Instance scope only, as atmos (stack/global →
//!   a scope error; docs/decisions.md). Two declared names that map to one vault name (e.g. `A_B`
//!   and `A-B`) are an error naming both, never a silent merge: every coordinate the store
//!   touches in a command is registered, and a second, different one claiming the same vault
//!   name fails.
//! - Values: always JSON-encoded (`contentType: application/json`); read JSON-or-raw.
//! - Existence: the versions list of the secret (no value read).
//! - Delete: soft delete, then purge (bounded retries while the deletion completes); a missing
//!   secret is success. When purging is not allowed (purge protection, no permission) the secret
//!   stays soft-deleted and a warning says so.
//! - Auth: challenge-based (the first request goes out unauthenticated; the vault's 401
//!   `WWW-Authenticate` names the tenant and resource; the request is replayed with a bearer).
//!   Credentials, first match: `without_authentication: true` (a stub token, for emulators);
//!   `AZURE_CLIENT_ID`+`AZURE_CLIENT_SECRET` (client secret); `AZURE_FEDERATED_TOKEN_FILE`
//!   (workload identity); the Azure CLI / Developer CLI; managed identity. The identity only
//!   contributes a tenant hint.
//! - TLS: rustls; `ca_cert` (a PEM file) adds a trusted CA, e.g. for a test vault. Verification
//!   is never disabled. Plain `http://` is refused unless `endpoint_insecure: true`,
//!   `insecure_allow_credential_with_http: true` or `without_authentication: true` opts in (as
//!   upstream's emulator fixtures do); a real credential over HTTP gets a warning, once. `disable_challenge_resource_verification: true` accepts a challenge whose
//!   resource is not a parent domain of the vault host (needed for loopback vaults).
//! - Bounded: connect 5 s, request 15 s, 2 retries, 20 s per call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{
    ClientOptions, ExponentialRetryOptions, RetryOptions, StatusCode, Transport,
};
use azure_security_keyvault_secrets::models::SetSecretParameters;
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use futures_util::StreamExt;

use super::keyed::KeyedBackend;
use super::per_runtime::PerRuntime;
use super::{StoreError, check_scope, keys};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::SecretValue;
use crate::secrets::{Coordinate, Scope};

/// The bearer `without_authentication: true` sends (spec: "stub token").
pub const STUB_TOKEN: &str = "atmos-without-authentication";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one credential source may take to answer.
const CREDENTIAL_TIMEOUT: Duration = Duration::from_secs(10);
const PURGE_ATTEMPTS: u32 = 20;
const PURGE_DELAY: Duration = Duration::from_millis(250);
/// Versions looked at when checking existence (one page is normally enough).
const MAX_VERSIONS: usize = 1000;

/// The `azure/keyvault` store.
pub struct AzureKeyVaultStore {
    cfg: StoreConfig,
    vault_url: String,
    ca_cert: Option<std::path::PathBuf>,
    verify_challenge_resource: bool,
    stub_auth: bool,
    /// `http://` vault (opted in): the SDK is handed `https://` and [`PlainHttp`] sends it
    /// over plain HTTP, since the SDK refuses to authorize non-TLS requests.
    plain_http: bool,
    tenant: Option<String>,
    client: PerRuntime<SecretClient>,
    /// vault name → the coordinate that claimed it in this command (collision guard).
    claimed: Mutex<HashMap<String, (String, String, String)>>,
}

fn option_bool(cfg: &StoreConfig, key: &str) -> bool {
    cfg.options
        .get(key)
        .and_then(crate::yaml::Node::as_bool)
        .unwrap_or(false)
}

impl AzureKeyVaultStore {
    /// Builds the store from its `stores:` entry and effective identity. No network I/O.
    pub fn build(cfg: &StoreConfig, env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: String| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint),
        };
        let vault_url = option_str(&cfg.options, "vault_url")
            .or_else(|| option_str(&cfg.options, "endpoint"))
            .ok_or_else(|| {
                config_err(
                    "vault_url is required in key vault store configuration".into(),
                    "set `options.vault_url: https://<vault>.vault.azure.net`".into(),
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        let stub_auth = option_bool(cfg, "without_authentication");
        let insecure = ["endpoint_insecure", "insecure_allow_credential_with_http"]
            .iter()
            .any(|k| option_bool(cfg, k));
        let plain_http = if vault_url.starts_with("https://") {
            false
        } else if vault_url.starts_with("http://") && (insecure || stub_auth) {
            true
        } else if vault_url.starts_with("http://") {
            return Err(config_err(
                format!("`vault_url` must be an https URL, got `{vault_url}`"),
                "Key Vault sends bearer tokens over TLS only; use https (trust a private CA with `options.ca_cert`), or for a local emulator opt in with `endpoint_insecure: true` or `without_authentication: true`".into(),
            ));
        } else {
            return Err(config_err(
                format!("`vault_url` must be an http(s) URL, got `{vault_url}`"),
                "write it as `https://<vault>.vault.azure.net`".into(),
            ));
        };
        if plain_http && !stub_auth {
            crate::printer::queue_warning(format!(
                "store `{}`: `{vault_url}` is plain HTTP, so the Azure credential's bearer token travels unencrypted (`{}` is set)",
                cfg.name,
                if option_bool(cfg, "insecure_allow_credential_with_http") {
                    "insecure_allow_credential_with_http"
                } else {
                    "endpoint_insecure"
                }
            ));
        }
        let tenant = match &env.identity {
            Some(identity) => {
                crate::auth::azure::tenant_hint(&env.cli.auth, identity).map_err(|e| {
                    config_err(
                        format!("identity `{identity}`: {e}"),
                        "fix the store's `identity` or `auth.identities` in atmos.yaml".into(),
                    )
                })?
            }
            None => None,
        };
        Ok(Self {
            vault_url,
            ca_cert: option_str(&cfg.options, "ca_cert").map(crate::env::expand_path),
            verify_challenge_resource: !option_bool(cfg, "disable_challenge_resource_verification"),
            stub_auth,
            plain_http,
            tenant,
            cfg: cfg.clone(),
            client: PerRuntime::default(),
            claimed: Mutex::new(HashMap::new()),
        })
    }

    /// The vault name of a coordinate, after the scope check and the collision guard.
    fn secret_name(&self, key: &Coordinate) -> Result<String, StoreError> {
        check_scope(self, key)?;
        let name = self.physical_key(key)?;
        let me = (key.stack.clone(), key.component.clone(), key.key.clone());
        let mut claimed = match self.claimed.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        match claimed.get(&name) {
            Some(other) if *other != me => Err(StoreError::Backend {
                store: self.cfg.name.clone(),
                key: name.clone(),
                message: format!(
                    "secret `{}` (stack `{}`, component `{}`) and secret `{}` (stack `{}`, component `{}`) both map to the Key Vault name `{name}`",
                    me.2, me.0, me.1, other.2, other.0, other.1
                ),
                hint: Some(
                    "Key Vault names allow only letters, digits and `-`; rename one of the secrets (or set a distinct `reference`)".into(),
                ),
                exit_code: code::FAILURE,
            }),
            Some(_) => Ok(name),
            None => {
                claimed.insert(name.clone(), me);
                Ok(name)
            }
        }
    }

    fn err(&self, key: &Coordinate, message: String, hint: Option<String>) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: self.describe(key),
            message,
            hint,
            exit_code: code::FAILURE,
        }
    }

    fn api_err(&self, key: &Coordinate, op: &str, e: &azure_core::Error) -> StoreError {
        use azure_core::error::ErrorKind;
        let (what, hint) = match e.kind() {
            ErrorKind::HttpResponse { status, error_code, .. } => {
                let codename = error_code.clone().unwrap_or_default();
                match *status {
                    StatusCode::Unauthorized => (
                        format!("the credentials were rejected ({codename})"),
                        "log in again (`az login`, `atmos auth login`) or fix AZURE_CLIENT_ID/AZURE_CLIENT_SECRET; check the tenant".to_owned(),
                    ),
                    StatusCode::Forbidden => (
                        format!("permission denied ({codename})"),
                        "grant the identity the `Key Vault Secrets User` role (read) or `Key Vault Secrets Officer` (write), or an access policy".to_owned(),
                    ),
                    StatusCode::Conflict => (
                        format!("conflict ({codename})"),
                        "the name is held by a soft-deleted secret: purge it (`az keyvault secret purge`) or recover it".to_owned(),
                    ),
                    other => (
                        format!("the vault answered HTTP {} ({codename})", u16::from(other)),
                        "check `options.vault_url`".to_owned(),
                    ),
                }
            }
            ErrorKind::Io | ErrorKind::Connection => (
                format!("cannot reach the vault at {}: {e}", self.vault_url),
                "check `options.vault_url`, the network, and `options.ca_cert` for a private CA".to_owned(),
            ),
            ErrorKind::Credential => (
                format!("could not get a token: {e}"),
                "run `az login`, set AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, or use a managed or workload identity".to_owned(),
            ),
            _ => (e.to_string(), "check the store's options in atmos.yaml".to_owned()),
        };
        self.err(key, format!("{op} failed: {what}"), Some(hint))
    }

    async fn client(&self, key: &Coordinate) -> Result<Arc<SecretClient>, StoreError> {
        self.client
            .get_or_try_init(|| async {
                let mut http = reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT);
                if let Some(path) = &self.ca_cert {
                    let pem = std::fs::read(path).map_err(|e| {
                        self.err(
                            key,
                            format!("cannot read `ca_cert` `{}`: {e}", path.display()),
                            Some("point `options.ca_cert` at a PEM file".into()),
                        )
                    })?;
                    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                        self.err(
                            key,
                            format!(
                                "`ca_cert` `{}` is not a PEM certificate: {e}",
                                path.display()
                            ),
                            Some("point `options.ca_cert` at a PEM file".into()),
                        )
                    })?;
                    http = http.tls_certs_merge(certs);
                }
                let http = http
                    .build()
                    .map_err(|e| self.err(key, format!("cannot set up HTTPS: {e}"), None))?;
                let (transport, vault_url): (Arc<dyn azure_core::http::HttpClient>, String) =
                    if self.plain_http {
                        (
                            Arc::new(PlainHttp(http)),
                            format!("https://{}", &self.vault_url["http://".len()..]),
                        )
                    } else {
                        (Arc::new(http), self.vault_url.clone())
                    };
                let transport: Arc<dyn azure_core::http::HttpClient> = Arc::new(LoggedAttempts {
                    inner: transport,
                    store: self.cfg.name.clone(),
                });
                let credential = self.credential(key)?;
                let options = SecretClientOptions {
                    verify_challenge_resource: Some(self.verify_challenge_resource),
                    client_options: ClientOptions {
                        transport: Some(Transport::new(transport)),
                        retry: RetryOptions::exponential(ExponentialRetryOptions {
                            initial_delay: azure_core::time::Duration::milliseconds(200),
                            max_retries: 2,
                            max_total_elapsed: azure_core::time::Duration::seconds(20),
                            max_delay: azure_core::time::Duration::seconds(2),
                        }),
                        ..ClientOptions::default()
                    },
                    ..SecretClientOptions::default()
                };
                SecretClient::new(&vault_url, credential, Some(options)).map_err(|e| {
                    self.err(
                        key,
                        format!("cannot create the Key Vault client: {e}"),
                        Some("check `options.vault_url`".into()),
                    )
                })
            })
            .await
    }

    fn credential(&self, key: &Coordinate) -> Result<Arc<dyn TokenCredential>, StoreError> {
        if self.stub_auth {
            return Ok(Arc::new(StubToken));
        }
        Ok(Arc::new(Chain::new(self.tenant.clone()).map_err(|e| {
            self.err(
                key,
                format!("no Azure credential is usable: {e}"),
                Some(
                    "run `az login`, or set AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID"
                        .into(),
                ),
            )
        })?))
    }
}

/// The transport of an opted-in `http://` vault: the SDK builds `https://` requests (it
/// refuses to authorize others) and this sends each one over plain HTTP.
#[derive(Debug)]
struct PlainHttp(reqwest::Client);

#[async_trait::async_trait]
impl azure_core::http::HttpClient for PlainHttp {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        let mut plain = request.clone();
        if plain.url().scheme() == "https" && plain.url_mut().set_scheme("http").is_err() {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "cannot switch the request to plain HTTP",
            ));
        }
        azure_core::http::HttpClient::execute_request(&self.0, &plain).await
    }
}

/// Every attempt the Key Vault client sends goes through here: a throttled (429), unavailable
/// (5xx) or unanswered attempt is one `--logs-level debug` line, since the SDK's own retry policy
/// (2 retries) retries them silently.
#[derive(Debug)]
struct LoggedAttempts {
    inner: Arc<dyn azure_core::http::HttpClient>,
    store: String,
}

#[async_trait::async_trait]
impl azure_core::http::HttpClient for LoggedAttempts {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        let result = self.inner.execute_request(request).await;
        let failure = match &result {
            Ok(resp) => {
                let status = u16::from(resp.status());
                super::retry::Transient::from_status(status)
                    .map(|t| t.reason)
                    .or_else(|| (status >= 500).then(|| format!("failed (HTTP {status})")))
            }
            Err(_) => Some("no answer (connection failed or timed out)".to_owned()),
        };
        if let Some(why) = failure {
            let path = request.url().path().to_owned();
            crate::printer::debug(|| {
                format!(
                    "{why} from Azure Key Vault on store `{}` ({} {path}); the client retries up to 2 times",
                    self.store,
                    request.method()
                )
            });
        }
        result
    }
}

/// `without_authentication: true`: a fixed token, for emulators (also used by the SOPS Azure
/// Key Vault master keys).
#[derive(Debug)]
pub struct StubToken;

#[async_trait::async_trait]
impl TokenCredential for StubToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            STUB_TOKEN,
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

/// The default credential chain: environment client secret, workload identity, Azure CLI /
/// Developer CLI, managed identity. The first source that yields a token is kept (also used by
/// the SOPS Azure Key Vault master keys).
#[derive(Debug)]
pub struct Chain {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    winner: Mutex<Option<usize>>,
}

impl Chain {
    /// The chain, with `tenant` (an identity's hint) before `AZURE_TENANT_ID`.
    pub fn new(tenant: Option<String>) -> azure_core::Result<Self> {
        use crate::env::var;
        let tenant = tenant.or_else(|| var(crate::env::AZURE_TENANT_ID));
        let mut sources: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
        if let (Some(id), Some(secret), Some(t)) = (
            var(crate::env::AZURE_CLIENT_ID),
            var(crate::env::AZURE_CLIENT_SECRET),
            tenant.as_deref(),
        ) {
            sources.push((
                "client secret (AZURE_CLIENT_ID/AZURE_CLIENT_SECRET)",
                azure_identity::ClientSecretCredential::new(t, id, secret.into(), None)?,
            ));
        }
        if var(crate::env::AZURE_FEDERATED_TOKEN_FILE).is_some() {
            let options = azure_identity::WorkloadIdentityCredentialOptions {
                tenant_id: tenant.clone(),
                ..Default::default()
            };
            sources.push((
                "workload identity",
                azure_identity::WorkloadIdentityCredential::new(Some(options))?,
            ));
        }
        sources.push((
            "Azure CLI / Developer CLI",
            azure_identity::DeveloperToolsCredential::new(None)?,
        ));
        sources.push((
            "managed identity",
            azure_identity::ManagedIdentityCredential::new(None)?,
        ));
        Ok(Self {
            sources,
            winner: Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let winner = self.winner.lock().ok().and_then(|w| *w);
        if let Some(i) = winner {
            return self.sources[i].1.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (i, (what, source)) in self.sources.iter().enumerate() {
            // Each source is bounded: a managed-identity probe off Azure must not hang.
            let attempt = tokio::time::timeout(
                CREDENTIAL_TIMEOUT,
                source.get_token(scopes, options.clone()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    format!("no answer within {CREDENTIAL_TIMEOUT:?}"),
                ))
            });
            match attempt {
                Ok(t) => {
                    if let Ok(mut w) = self.winner.lock() {
                        *w = Some(i);
                    }
                    return Ok(t);
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("no credential source worked ({})", failures.join("; ")),
        ))
    }
}

impl KeyedBackend for AzureKeyVaultStore {
    /// The per-runtime client, looked up once per batch.
    type Conn = Arc<SecretClient>;

    const KIND: &'static str = "azure/keyvault";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    const SCOPES: &'static [Scope] = &[Scope::Instance];

    /// The Key Vault name of a coordinate, before the collision guard.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        keys::compose_for_store(&self.cfg, &key.stack, &key.component, &key.key).map_err(|e| {
            StoreError::Config {
                store: self.cfg.name.clone(),
                message: format!("cannot name secret `{}`: {e}", key.key),
                hint: crate::error::Diagnose::hint(&e),
            }
        })
    }

    fn describe(&self, key: &Coordinate) -> String {
        match self.physical_key(key) {
            Ok(name) => format!("{}/secrets/{name}", self.vault_url),
            Err(_) => format!("{}/secrets/?{}", self.vault_url, key.key),
        }
    }

    async fn connect(&self, first: &Coordinate) -> Result<Arc<SecretClient>, StoreError> {
        self.client(first).await
    }

    async fn get_key(
        &self,
        client: &Self::Conn,
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let name = self.secret_name(key)?;
        let resp = match client.get_secret(&name, None).await {
            Ok(r) => r,
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(None),
            Err(e) => return Err(self.api_err(key, "reading the secret", &e)),
        };
        let secret = resp
            .into_model()
            .map_err(|e| self.err(key, format!("unreadable answer: {e}"), None))?;
        let text = zeroize::Zeroizing::new(secret.value.unwrap_or_default());
        Ok(Some(SecretValue::from_stored(&text)))
    }

    async fn exists_key(&self, client: &Self::Conn, key: &Coordinate) -> Result<bool, StoreError> {
        let name = self.secret_name(key)?;
        let mut pager = client
            .list_secret_properties_versions(&name, None)
            .map_err(|e| self.api_err(key, "listing versions", &e))?;
        let mut seen = 0;
        while let Some(item) = pager.next().await {
            match item {
                Ok(props) => {
                    let enabled = props
                        .attributes
                        .as_ref()
                        .and_then(|a| a.enabled)
                        .unwrap_or(true);
                    if enabled {
                        return Ok(true);
                    }
                }
                Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(false),
                Err(e) => return Err(self.api_err(key, "listing versions", &e)),
            }
            seen += 1;
            if seen >= MAX_VERSIONS {
                break;
            }
        }
        Ok(false)
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let name = self.secret_name(key)?;
        let client = self.client(key).await?;
        let encoded = serde_json::to_string(value.expose())
            .map_err(|e| self.err(key, format!("cannot encode the value: {e}"), None))?;
        let params = SetSecretParameters {
            value: Some(encoded),
            content_type: Some("application/json".into()),
            ..SetSecretParameters::default()
        };
        let body = params.try_into().map_err(|e: azure_core::Error| {
            self.err(key, format!("cannot encode the request: {e}"), None)
        })?;
        client
            .set_secret(&name, body, None)
            .await
            .map_err(|e| self.api_err(key, "writing the secret", &e))?;
        Ok(())
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let name = self.secret_name(key)?;
        let client = self.client(key).await?;
        match client.delete_secret(&name, None).await {
            Ok(_) => {}
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(()),
            Err(e) => return Err(self.api_err(key, "deleting the secret", &e)),
        }
        // Purge, retrying while the deletion completes (the deleted secret shows up, then
        // purging stops answering 409).
        let mut last = None;
        for _ in 0..PURGE_ATTEMPTS {
            match client.purge_deleted_secret(&name, None).await {
                Ok(_) => return Ok(()),
                Err(e)
                    if matches!(
                        e.http_status(),
                        Some(StatusCode::NotFound | StatusCode::Conflict)
                    ) =>
                {
                    last = Some(e);
                    tokio::time::sleep(PURGE_DELAY).await;
                }
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let why = last.map(|e| e.to_string()).unwrap_or_default();
        crate::printer::queue_warning(format!(
            "store `{}`: `{name}` is deleted but could not be purged ({why}); it stays recoverable until the vault's retention ends, and setting it again needs a purge or recovery first",
            self.cfg.name
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreKind;

    fn build(options: &str) -> Result<AzureKeyVaultStore, StoreError> {
        let cfg = crate::store::test_config("akv", StoreKind::AzureKeyVault, options);
        AzureKeyVaultStore::build(&cfg, &crate::store::BuildEnv::default())
    }

    #[test]
    fn https_unless_the_user_opts_in_to_http() {
        let e = build("prefix: x").err().unwrap().to_string();
        assert!(e.contains("vault_url is required"), "{e}");
        let e = build("vault_url: http://v.vault.azure.net")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("must be an https URL"), "{e}");
        let e = build("vault_url: ftp://v").err().unwrap().to_string();
        assert!(e.contains("http(s) URL"), "{e}");
        // With an opt-in, plain HTTP is allowed (an emulator); https stays as it is.
        for opt in [
            "insecure_allow_credential_with_http",
            "endpoint_insecure",
            "without_authentication",
        ] {
            let s = build(&format!("vault_url: http://127.0.0.1:1/kv\n{opt}: true")).unwrap();
            assert!(s.plain_http, "{opt}");
            let s = build(&format!("vault_url: https://v\n{opt}: true")).unwrap();
            assert!(!s.plain_http, "{opt}");
        }
        let s = build("endpoint: https://v.vault.azure.net/").unwrap();
        assert_eq!(s.vault_url, "https://v.vault.azure.net");
        assert!(s.verify_challenge_resource && !s.stub_auth);
    }
}
