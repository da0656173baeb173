//! Owns the `gcp/secretmanager` store: Google's official
//! `google-cloud-secretmanager-v1` client (REST/JSON) under one project.
//!
//! - Names: `compose` with `_` (`atmos_plat_ue2_dev_vpc_primary_DB_PASSWORD`); every scope.
//! - Values: always JSON-encoded; read from `versions/latest` and decoded JSON-or-raw. Every
//!   payload carries its CRC32C, and the CRC32C the service returns is checked on read.
//! - Set: create the secret (automatic replication, or user-managed over `locations`; an existing
//!   secret is fine), then add a version. Delete removes the secret; a missing one is success.
//! - Existence: the secret's metadata (GetSecret), never the payload.
//! - Credentials, first match: `without_authentication: true` (anonymous, for emulators);
//!   `credentials` (a JSON key: service account, authorized user, external account, impersonated);
//!   the identity's access-token file, else its ADC file; Application Default
//!   Credentials. The client is built on first use; nothing here touches the network before.
//! - Bounded: 3 attempts per call, 10 s per attempt, 20 s per call.

use std::time::Duration;

use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicy, RetryPolicyExt};
use google_cloud_gax::retry_result::RetryResult;
use google_cloud_gax::retry_state::RetryState;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model;
use zeroize::Zeroizing;

use super::keyed::KeyedBackend;
use super::per_runtime::PerRuntime;
use super::{StoreError, check_scope, keys};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const ATTEMPTS: u32 = 3;

/// Where the store's credentials come from.
enum Credentials {
    Anonymous,
    Json(SecretString),
    /// The identity's files: access token preferred, else ADC.
    Identity {
        identity: String,
        files: crate::auth::gcp::IdentityFiles,
    },
    Default,
}

/// The `gcp/secretmanager` store.
pub struct GcpSecretManagerStore {
    cfg: StoreConfig,
    project: String,
    locations: Vec<String>,
    endpoint: Option<String>,
    credentials: Credentials,
    client: PerRuntime<SecretManagerService>,
}

/// Google's AIP-194 retry rule (UNAVAILABLE, I/O errors, idempotent calls), plus throttling
/// (RESOURCE_EXHAUSTED / HTTP 429: the request was refused, so retrying is safe for writes too);
/// each retry is one `--logs-level debug` line.
#[derive(Debug)]
struct LoggedRetries {
    store: String,
}

impl RetryPolicy for LoggedRetries {
    fn on_error(&self, state: &RetryState, error: google_cloud_gax::error::Error) -> RetryResult {
        let throttled = error
            .status()
            .is_some_and(|s| s.code == Code::ResourceExhausted)
            || error.http_status_code() == Some(429);
        let result = if throttled {
            RetryResult::Continue(error)
        } else {
            Aip194Strict.on_error(state, error)
        };
        // The attempt limit wrapped around this policy ends the loop after the last attempt.
        if let RetryResult::Continue(e) = &result
            && state.attempt_count < ATTEMPTS
        {
            let why = match (throttled, e.http_status_code()) {
                (true, Some(code)) => format!("throttled (HTTP {code})"),
                (true, None) => "throttled (RESOURCE_EXHAUSTED)".to_owned(),
                (false, Some(code)) => format!("unavailable (HTTP {code})"),
                (false, None) => "no answer (connection failed or timed out)".to_owned(),
            };
            crate::printer::debug(|| {
                format!(
                    "{why} from GCP Secret Manager on store `{}`: retry {}/{}",
                    self.store,
                    state.attempt_count,
                    ATTEMPTS - 1
                )
            });
        }
        result
    }
}

/// The REST base URL of an `endpoint` option, as upstream reads it: a scheme-less
/// `host:port` (gRPC style, as upstream's docs write it) gets `https://`, or `http://` when
/// `endpoint_insecure: true` (upstream's plaintext gRPC; here plain HTTP, whatever scheme was
/// written). The result must parse as a URL with a host.
fn normalize_endpoint(raw: &str, insecure: bool) -> Result<String, String> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"));
    let url = if insecure {
        format!("http://{}", rest.unwrap_or(raw))
    } else if rest.is_some() {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let url = url.trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        _ => Err(format!(
            "`endpoint` `{raw}` is not a host[:port] or http(s) URL"
        )),
    }
}

impl GcpSecretManagerStore {
    /// Builds the store from its `stores:` entry and effective identity. No network I/O.
    pub fn build(cfg: &StoreConfig, env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: &str| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint.to_owned()),
        };
        let project = option_str(&cfg.options, "project_id")
            .ok_or_else(|| {
                config_err(
                    "project_id is required in google secret manager store configuration".into(),
                    "set `options.project_id` to the GCP project that holds the secrets",
                )
            })?
            .to_owned();
        let locations = match cfg.options.get("locations") {
            None => Vec::new(),
            Some(node) => {
                if let Some(s) = node.as_str() {
                    s.split(',')
                        .map(|l| l.trim().to_owned())
                        .filter(|l| !l.is_empty())
                        .collect()
                } else if let Some(seq) = node.as_seq() {
                    seq.iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                } else {
                    return Err(config_err(
                        "`locations` must be a list of GCP locations".into(),
                        "write e.g. `locations: [us-east1, europe-west1]`",
                    ));
                }
            }
        };
        let insecure = cfg
            .options
            .get("endpoint_insecure")
            .and_then(crate::yaml::Node::as_bool)
            .unwrap_or(false);
        let endpoint = option_str(&cfg.options, "endpoint")
            .or_else(|| option_str(&cfg.options, "endpoint_url"))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| normalize_endpoint(e, insecure))
            .transpose()
            .map_err(|m| {
                config_err(
                    m,
                    "write `options.endpoint` as `host:port` or `https://host[:port]` (with `endpoint_insecure: true` for a plain-HTTP emulator)",
                )
            })?;
        let without_auth = cfg
            .options
            .get("without_authentication")
            .and_then(crate::yaml::Node::as_bool)
            .unwrap_or(false);
        let credentials = if without_auth {
            Credentials::Anonymous
        } else if let Some(json) = option_str(&cfg.options, "credentials") {
            Credentials::Json(SecretString::new(json.to_owned()))
        } else if let Some(identity) = &env.identity {
            let files = crate::auth::gcp::identity_files(&env.cli.auth, identity).map_err(|e| {
                config_err(
                    format!("identity `{identity}`: {e}"),
                    "fix the store's `identity` or `auth.identities` in atmos.yaml",
                )
            })?;
            Credentials::Identity {
                identity: identity.clone(),
                files,
            }
        } else {
            Credentials::Default
        };
        Ok(Self {
            cfg: cfg.clone(),
            project,
            locations,
            endpoint,
            credentials,
            client: PerRuntime::default(),
        })
    }

    /// The secret id of a coordinate, after the scope check.
    fn secret_id(&self, key: &Coordinate) -> Result<String, StoreError> {
        check_scope(self, key)?;
        self.physical_key(key)
    }

    fn secret_path(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project)
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

    /// Maps an API error to a store error with a hint; never includes a value.
    fn api_err(
        &self,
        key: &Coordinate,
        op: &str,
        e: &google_cloud_gax::error::Error,
    ) -> StoreError {
        let status = e.status().map(|s| s.code);
        let (what, hint) = match status {
            Some(Code::Unauthenticated) => (
                "the credentials were rejected".to_owned(),
                self.login_hint(),
            ),
            Some(Code::PermissionDenied) => (
                "permission denied".to_owned(),
                format!(
                    "grant the identity Secret Manager access (roles/secretmanager.secretAccessor to read, secretmanager.admin to write) on project `{}`",
                    self.project
                ),
            ),
            Some(Code::NotFound) => (
                "not found".to_owned(),
                format!("check `options.project_id` (`{}`)", self.project),
            ),
            _ if e.is_connect() || e.is_io() || e.is_timeout() || e.is_exhausted() => (
                format!("cannot reach Secret Manager at {}", self.endpoint_text()),
                "check the network and `options.endpoint`".to_owned(),
            ),
            _ if e.is_authentication() => {
                ("could not get credentials".to_owned(), self.login_hint())
            }
            _ => (
                String::new(),
                "check the store's options in atmos.yaml".to_owned(),
            ),
        };
        let detail = e
            .status()
            .map(|s| format!("{:?}: {}", s.code, s.message))
            .unwrap_or_else(|| e.to_string());
        let message = if what.is_empty() {
            format!("{op} failed: {detail}")
        } else {
            format!("{op} failed: {what} ({detail})")
        };
        self.err(key, message, Some(hint))
    }

    /// How to get working credentials, for the source this store uses.
    fn login_hint(&self) -> String {
        match &self.credentials {
            Credentials::Anonymous => {
                "the endpoint wants credentials: drop `without_authentication`".into()
            }
            Credentials::Json(_) => {
                "`options.credentials` was refused: use a current key or ADC file".into()
            }
            Credentials::Identity { identity, .. } => {
                format!("log in again: `atmos auth login --identity {identity}`")
            }
            Credentials::Default => "run `gcloud auth application-default login`, or give the store `options.credentials` or an identity".into(),
        }
    }

    fn endpoint_text(&self) -> &str {
        self.endpoint
            .as_deref()
            .unwrap_or("https://secretmanager.googleapis.com")
    }

    async fn client(
        &self,
        key: &Coordinate,
    ) -> Result<std::sync::Arc<SecretManagerService>, StoreError> {
        self.client
            .get_or_try_init(|| async {
                let creds = self.build_credentials(key)?;
                let backoff = ExponentialBackoffBuilder::new()
                    .with_initial_delay(Duration::from_millis(100))
                    .with_maximum_delay(Duration::from_secs(1))
                    .build()
                    .map_err(|e| self.err(key, format!("retry setup: {e}"), None))?;
                let mut b = SecretManagerService::builder()
                    .with_credentials(creds)
                    .with_retry_policy(
                        LoggedRetries {
                            store: self.cfg.name.clone(),
                        }
                        .with_attempt_limit(ATTEMPTS)
                        .with_time_limit(CALL_TIMEOUT),
                    )
                    .with_backoff_policy(backoff)
                    .with_attempt_timeout(ATTEMPT_TIMEOUT);
                if let Some(e) = &self.endpoint {
                    b = b.with_endpoint(e.clone());
                }
                b.build().await.map_err(|e| {
                    self.err(
                        key,
                        format!("cannot create the Secret Manager client: {e}"),
                        Some("check `options.endpoint` and the credentials".into()),
                    )
                })
            })
            .await
    }

    fn build_credentials(
        &self,
        key: &Coordinate,
    ) -> Result<google_cloud_auth::credentials::Credentials, StoreError> {
        use google_cloud_auth::credentials as gc;
        let cred_err = |what: String, hint: &str| self.err(key, what, Some(hint.to_owned()));
        match &self.credentials {
            Credentials::Anonymous => Ok(gc::anonymous::Builder::new().build()),
            Credentials::Json(json) => from_json(json.expose()).map_err(|e| {
                cred_err(
                    format!("`options.credentials` is not usable: {e}"),
                    "set `options.credentials` to the JSON of a service account key or ADC file",
                )
            }),
            Credentials::Identity { identity, files } => {
                if let Ok(text) = std::fs::read_to_string(&files.access_token) {
                    let text = Zeroizing::new(text);
                    if let Some(token) = crate::auth::gcp::read_access_token(&text) {
                        return Ok(gc::Credentials::from(AccessToken(SecretString::new(token))));
                    }
                }
                let adc = std::fs::read_to_string(&files.adc).map_err(|_| {
                    cred_err(
                        format!(
                            "identity `{identity}` has no GCP credentials (looked for `{}` and `{}`)",
                            files.access_token.display(),
                            files.adc.display()
                        ),
                        &format!("run `atmos auth login --identity {identity}`"),
                    )
                })?;
                let adc = Zeroizing::new(adc);
                from_json(&adc).map_err(|e| {
                    cred_err(
                        format!("the ADC file `{}` is not usable: {e}", files.adc.display()),
                        &format!("run `atmos auth login --identity {identity}` again"),
                    )
                })
            }
            Credentials::Default => gc::Builder::default().build().map_err(|e| {
                cred_err(
                    format!("no Application Default Credentials: {e}"),
                    "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or give the store an identity or `options.credentials`",
                )
            }),
        }
    }

    fn replication(&self) -> model::Replication {
        if self.locations.is_empty() {
            model::Replication::new().set_automatic(model::replication::Automatic::new())
        } else {
            model::Replication::new().set_user_managed(
                model::replication::UserManaged::new().set_replicas(
                    self.locations
                        .iter()
                        .map(|l| model::replication::user_managed::Replica::new().set_location(l)),
                ),
            )
        }
    }
}

/// Builds credentials from a JSON key or ADC file, by its `type` (also used by the SOPS GCP
/// KMS master keys).
pub fn from_json(text: &str) -> Result<google_cloud_auth::credentials::Credentials, String> {
    use google_cloud_auth::credentials as gc;
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "it is not valid JSON".to_owned())?;
    let kind = json
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let built = match kind.as_str() {
        "service_account" => gc::service_account::Builder::new(json).build(),
        "authorized_user" => gc::user_account::Builder::new(json).build(),
        "external_account" => gc::external_account::Builder::new(json).build(),
        "impersonated_service_account" => gc::impersonated::Builder::new(json).build(),
        other => return Err(format!("unsupported credential type `{other}`")),
    };
    built.map_err(|e| format!("{kind} credentials: {e}"))
}

/// A fixed bearer token (an identity's `access_token` file).
pub struct AccessToken(pub SecretString);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(****)")
    }
}

impl google_cloud_auth::credentials::CredentialsProvider for AccessToken {
    async fn headers(
        &self,
        _extensions: http::Extensions,
    ) -> Result<
        google_cloud_auth::credentials::CacheableResource<http::HeaderMap>,
        google_cloud_auth::errors::CredentialsError,
    > {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.0.expose()))
            .map_err(|_| {
                google_cloud_auth::errors::CredentialsError::from_msg(
                    false,
                    "the access token holds characters that cannot go into a header",
                )
            })?;
        value.set_sensitive(true);
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(google_cloud_auth::credentials::CacheableResource::New {
            entity_tag: google_cloud_auth::credentials::EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

impl KeyedBackend for GcpSecretManagerStore {
    /// The per-runtime client, looked up once per batch.
    type Conn = std::sync::Arc<SecretManagerService>;

    const KIND: &'static str = "gcp/secretmanager";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// The secret id of a coordinate.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        keys::compose_for_store(&self.cfg, &key.stack, &key.component, &key.key).map_err(|e| {
            StoreError::Config {
                store: self.cfg.name.clone(),
                message: format!("cannot name secret `{}`: {e}", key.key),
                hint: None,
            }
        })
    }

    fn describe(&self, key: &Coordinate) -> String {
        match self.physical_key(key) {
            Ok(id) => self.secret_path(&id),
            Err(_) => format!("projects/{}/secrets/?{}", self.project, key.key),
        }
    }

    async fn connect(
        &self,
        first: &Coordinate,
    ) -> Result<std::sync::Arc<SecretManagerService>, StoreError> {
        self.client(first).await
    }

    async fn get_key(
        &self,
        client: &Self::Conn,
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let id = self.secret_id(key)?;
        let resp = client
            .access_secret_version()
            .set_name(format!("{}/versions/latest", self.secret_path(&id)))
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.status().is_some_and(|s| s.code == Code::NotFound) => return Ok(None),
            Err(e) => return Err(self.api_err(key, "reading the latest version", &e)),
        };
        let Some(payload) = resp.payload else {
            return Err(self.err(key, "the service returned no payload".into(), None));
        };
        let data = Zeroizing::new(payload.data.to_vec());
        if let Some(expected) = payload.data_crc32c
            && i64::from(crc32c::crc32c(&data)) != expected
        {
            return Err(self.err(
                key,
                "the payload failed its CRC32C check (corrupted in transit or at rest)".into(),
                Some("retry; if it persists, write the secret again".into()),
            ));
        }
        let text = std::str::from_utf8(&data).map_err(|_| {
            self.err(
                key,
                "the stored value is not UTF-8 text".into(),
                Some("write it again with `atmos secret set`".into()),
            )
        })?;
        Ok(Some(SecretValue::from_stored(text)))
    }

    async fn exists_key(&self, client: &Self::Conn, key: &Coordinate) -> Result<bool, StoreError> {
        let id = self.secret_id(key)?;
        match client
            .get_secret()
            .set_name(self.secret_path(&id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status().is_some_and(|s| s.code == Code::NotFound) => Ok(false),
            Err(e) => Err(self.api_err(key, "reading the secret's metadata", &e)),
        }
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let id = self.secret_id(key)?;
        let client = self.client(key).await?;
        let created = client
            .create_secret()
            .set_parent(format!("projects/{}", self.project))
            .set_secret_id(&id)
            .set_secret(model::Secret::new().set_replication(self.replication()))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.status().is_some_and(|s| s.code == Code::AlreadyExists) => {}
            Err(e) => return Err(self.api_err(key, "creating the secret", &e)),
        }
        let data = Zeroizing::new(
            serde_json::to_vec(value.expose())
                .map_err(|e| self.err(key, format!("cannot encode the value: {e}"), None))?,
        );
        let crc = i64::from(crc32c::crc32c(&data));
        client
            .add_secret_version()
            .set_parent(self.secret_path(&id))
            .set_payload(
                model::SecretPayload::new()
                    .set_data(data.to_vec())
                    .set_data_crc32c(crc),
            )
            .send()
            .await
            .map_err(|e| self.api_err(key, "adding a version", &e))?;
        Ok(())
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let id = self.secret_id(key)?;
        let client = self.client(key).await?;
        match client
            .delete_secret()
            .set_name(self.secret_path(&id))
            .send()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status().is_some_and(|s| s.code == Code::NotFound) => Ok(()),
            Err(e) => Err(self.api_err(key, "deleting the secret", &e)),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::config::StoreKind;
    use crate::store::BuildEnv;

    fn build(options: &str) -> Result<GcpSecretManagerStore, StoreError> {
        let cfg = crate::store::test_config("gsm", StoreKind::GcpSecretManager, options);
        GcpSecretManagerStore::build(&cfg, &BuildEnv::default())
    }

    #[test]
    fn options() {
        let e = build("prefix: x").err().unwrap().to_string();
        assert!(e.contains("project_id is required"), "{e}");
        assert_eq!(
            build("project_id: p\nlocations: [a, b]").unwrap().locations,
            ["a", "b"]
        );
        assert_eq!(
            build("project_id: p\nlocations: 'a, b'").unwrap().locations,
            ["a", "b"]
        );
        assert!(build("project_id: p\nlocations: {a: 1}").is_err());
        let s = build("project_id: p\nendpoint_url: http://h:1/").unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://h:1"));
        let at = |o: &str| build(&format!("project_id: p\n{o}")).unwrap().endpoint;
        assert_eq!(
            at("endpoint: localhost:4568").as_deref(),
            Some("https://localhost:4568")
        );
        assert_eq!(
            at("endpoint: localhost:4568\nendpoint_insecure: true").as_deref(),
            Some("http://localhost:4568")
        );
        assert_eq!(
            at("endpoint: https://h:1\nendpoint_insecure: true").as_deref(),
            Some("http://h:1")
        );
        assert_eq!(at("endpoint: ''"), None);
        for bad in ["endpoint: 'http://'", "endpoint: ':::'", "endpoint: 'a b'"] {
            let e = build(&format!("project_id: p\n{bad}"))
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("not a host[:port]"), "{bad}: {e}");
        }
    }

    #[test]
    fn credential_json_is_checked_without_network() {
        assert!(
            from_json("not json")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            from_json("{}")
                .unwrap_err()
                .contains("unsupported credential type")
        );
        let user =
            r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        // Built credentials start a token cache task, so they need a runtime (as in `client`).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { assert!(from_json(user).is_ok()) });
    }
}
