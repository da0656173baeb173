//! Owns the `artifactory` store: a plain (non-secret) store that keeps each
//! value as one JSON-encoded file in a generic repository, at
//! `<url>/<repo_name>/<prefix>/<stack…>/<component…>/<key>`.
//!
//! Wire use: `PUT` to deploy, `GET` to read, `HEAD` for existence (no content transfer),
//! `DELETE` to remove (a missing file is not an error); `Authorization: Bearer <access token>`.
//! Token: `options.access_token`, else `ARTIFACTORY_ACCESS_TOKEN`, else `JFROG_ACCESS_TOKEN`.
//! Other options: `ca_cert` (PEM bundle for a private CA), `timeout`.
//!
//! A client is built per operation (see `vault.rs` for why nothing outlives one runtime).

use std::time::Duration;

use zeroize::Zeroizing;

use super::keyed::KeyedBackend;
use super::net;
use super::{Store, StoreError};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

/// Requests in flight at once within one `get_many`/`exists_many`.
const CONCURRENCY: usize = 8;

/// The `artifactory` store.
pub struct ArtifactoryStore {
    cfg: StoreConfig,
    /// Base URL, e.g. `https://example.jfrog.io/artifactory` (no trailing `/`).
    base: reqwest::Url,
    token: Option<SecretString>,
    ca_cert: Option<Vec<u8>>,
    timeout: Duration,
}

impl ArtifactoryStore {
    /// Builds the store from its config: checks the URL, reads the CA bundle; no network I/O.
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: &str| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint.to_owned()),
        };
        let raw = option_str(&cfg.options, "url").ok_or_else(|| {
            config_err(
                "url is required in artifactory store configuration".into(),
                "set `options.url`, e.g. https://example.jfrog.io/artifactory",
            )
        })?;
        let base = match reqwest::Url::parse(raw.trim_end_matches('/')) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base() => u,
            _ => {
                return Err(config_err(
                    format!("`{}` is not an http(s) URL", net::redact_url(raw)),
                    "set `options.url`, e.g. https://example.jfrog.io/artifactory",
                ));
            }
        };
        if option_str(&cfg.options, "repo_name").is_none() {
            return Err(config_err(
                "repo_name is required in artifactory store configuration".into(),
                "set `options.repo_name` to a generic repository, e.g. `secrets-generic-local`",
            ));
        }
        let ca_cert = match option_str(&cfg.options, "ca_cert") {
            Some(p) => {
                let path = crate::env::expand_path(p);
                Some(std::fs::read(&path).map_err(|e| {
                    config_err(
                        format!("cannot read the CA bundle `{}`: {e}", path.display()),
                        "point `options.ca_cert` at a readable PEM file",
                    )
                })?)
            }
            None => None,
        };
        let token = option_str(&cfg.options, "access_token")
            .map(str::to_owned)
            .or_else(|| crate::env::var(crate::env::ARTIFACTORY_ACCESS_TOKEN))
            .or_else(|| crate::env::var(crate::env::JFROG_ACCESS_TOKEN))
            .map(SecretString::new);
        Ok(Self {
            base,
            token,
            ca_cert,
            timeout: net::timeout(cfg)?,
            cfg: cfg.clone(),
        })
    }

    /// The file URL of a coordinate; each path segment is percent-encoded.
    fn file_url(&self, key: &Coordinate) -> Result<reqwest::Url, StoreError> {
        let path = self.physical_key(key)?;
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(path.split('/').filter(|s| !s.is_empty()));
        }
        Ok(url)
    }

    fn err(&self, key: &Coordinate, message: String, hint: impl Into<String>) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: self.describe_key(key),
            message,
            hint: Some(hint.into()),
            exit_code: code::FAILURE,
        }
    }

    fn client(&self, key: &Coordinate) -> Result<reqwest::Client, StoreError> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none());
        if self.base.scheme() == "http" {
            // No trust store is needed for plain HTTP (and none may exist on a bare machine).
            b = b.tls_certs_only(Vec::new());
        } else if let Some(pem) = &self.ca_cert {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| {
                self.err(
                    key,
                    "the CA bundle in `options.ca_cert` holds no usable PEM certificate".into(),
                    "point `options.ca_cert` at the PEM bundle that signed the server's certificate",
                )
            })?;
            b = b.tls_certs_merge(certs);
        }
        b.build().map_err(|e| {
            self.err(
                key,
                format!("cannot build the HTTP client: {e}"),
                "check the store's options",
            )
        })
    }

    fn token(&self, key: &Coordinate) -> Result<&SecretString, StoreError> {
        self.token.as_ref().ok_or_else(|| {
            self.err(
                key,
                "no Artifactory access token".into(),
                "set `options.access_token`, ARTIFACTORY_ACCESS_TOKEN or JFROG_ACCESS_TOKEN",
            )
        })
    }

    /// Sends one request, retrying throttling (429) and unavailability (502–504) with backoff
    /// ([`super::retry`]); transport failures become store errors. The last answer, whatever its
    /// status, is returned for the caller to read.
    async fn send(
        &self,
        key: &Coordinate,
        op: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StoreError> {
        let token = self.token(key)?;
        let path = self.physical_key(key).unwrap_or_else(|_| key.key.clone());
        let call = super::retry::Call {
            service: "Artifactory",
            store: &self.cfg.name,
            op,
            key: &path,
        };
        let answer = super::retry::with_retries(
            call,
            || {
                let attempt = req.try_clone().map(|r| r.bearer_auth(token.expose()));
                async move {
                    let Some(attempt) = attempt else {
                        // A streaming body cannot be sent twice (never the case here).
                        return Ok(Err(None));
                    };
                    match attempt.send().await {
                        Ok(resp)
                            if super::retry::Transient::from_status(resp.status().as_u16())
                                .is_some() =>
                        {
                            Err(resp)
                        }
                        Ok(resp) => Ok(Ok(resp)),
                        Err(e) => Ok(Err(Some(e))),
                    }
                }
            },
            |resp: &reqwest::Response| {
                super::retry::Transient::from_status(resp.status().as_u16()).map(|t| {
                    t.with_retry_after(
                        resp.headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()),
                    )
                })
            },
        )
        .await;
        match answer {
            // Still throttled or unavailable after the last attempt: the caller reports it.
            Err(resp) | Ok(Ok(resp)) => Ok(resp),
            Ok(Err(None)) => Err(self.err(
                key,
                format!("internal error: the {op} request could not be repeated"),
                "report this as a bug",
            )),
            Ok(Err(Some(e))) => {
                let kind = net::classify(&e);
                let (msg, hint) = net::describe(
                    kind,
                    "Artifactory",
                    &net::redact_url(self.base.as_str()),
                    self.timeout,
                );
                let cause = net::root_cause(&e, &[token.expose()]);
                Err(self.err(key, format!("{msg} ({op}): {cause}"), hint))
            }
        }
    }

    /// A non-success answer as a store error. The body is Artifactory's `{"errors":[…]}`.
    async fn status_err(&self, key: &Coordinate, op: &str, resp: reqwest::Response) -> StoreError {
        let status = resp.status();
        let detail = resp
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| {
                let msgs: Vec<String> = v["errors"]
                    .as_array()?
                    .iter()
                    .filter_map(|e| e["message"].as_str().map(str::to_owned))
                    .collect();
                (!msgs.is_empty()).then(|| msgs.join("; "))
            })
            .map(|m| {
                let secrets: Vec<&str> = self.token.iter().map(SecretString::expose).collect();
                format!(": {}", net::redact(&m, &secrets))
            })
            .unwrap_or_default();
        let repo = option_str(&self.cfg.options, "repo_name").unwrap_or("");
        match status.as_u16() {
            401 => self.err(
                key,
                format!("Artifactory rejected the access token ({op}, HTTP 401){detail}"),
                "set a valid `options.access_token`, ARTIFACTORY_ACCESS_TOKEN or JFROG_ACCESS_TOKEN",
            ),
            403 => self.err(
                key,
                format!("permission denied ({op}, HTTP 403){detail}"),
                format!(
                    "give the token's user {} permission on repository `{repo}`",
                    match op {
                        "write" => "Deploy/Cache (and Delete/Overwrite to replace)",
                        "delete" => "Delete/Overwrite",
                        _ => "Read",
                    }
                ),
            ),
            404 => self.err(
                key,
                format!("Artifactory answered 404 ({op}){detail}"),
                format!("check that repository `{repo}` exists and `options.url` ends with `/artifactory`"),
            ),
            429 => self.err(
                key,
                format!(
                    "Artifactory throttled the request ({op}, HTTP 429, {} attempts){detail}",
                    super::retry::MAX_ATTEMPTS
                ),
                "the server is rate-limiting this token: wait and run the command again, or ask for a higher limit",
            ),
            code @ 502..=504 => self.err(
                key,
                format!(
                    "Artifactory is unavailable ({op}, HTTP {code}, {} attempts){detail}",
                    super::retry::MAX_ATTEMPTS
                ),
                "check the server's health (and any proxy in front of it), then run the command again",
            ),
            code => self.err(
                key,
                format!("Artifactory answered HTTP {code} ({op}){detail}"),
                "check the server's health and the store's `url`",
            ),
        }
    }
}

impl KeyedBackend for ArtifactoryStore {
    type Conn = reqwest::Client;

    const KIND: &'static str = "artifactory";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    const CONCURRENCY: usize = CONCURRENCY;

    /// The repository path of a coordinate: `<repo_name>/<prefix>/…/<key>`.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        super::keys::compose_coordinate(&self.cfg, key)
            .map(|p| p.trim_start_matches('/').to_owned())
    }

    async fn connect(&self, first: &Coordinate) -> Result<reqwest::Client, StoreError> {
        self.client(first)
    }

    async fn get_key(
        &self,
        client: &reqwest::Client,
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let url = self.file_url(key)?;
        let resp = self.send(key, "read", client.get(url)).await?;
        match resp.status().as_u16() {
            200 => {
                let bytes = resp.bytes().await.map_err(|e| {
                    let (msg, hint) = net::describe(
                        net::classify(&e),
                        "Artifactory",
                        &net::redact_url(self.base.as_str()),
                        self.timeout,
                    );
                    self.err(key, format!("{msg} (read)"), hint)
                })?;
                let bytes = Zeroizing::new(bytes.to_vec());
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    self.err(
                        key,
                        "the stored file is not UTF-8 text".into(),
                        "rewrite it with the store (JSON text)",
                    )
                })?;
                Ok(Some(SecretValue::from_stored(text)))
            }
            404 => Ok(None),
            _ => Err(self.status_err(key, "read", resp).await),
        }
    }

    async fn exists_key(
        &self,
        client: &reqwest::Client,
        key: &Coordinate,
    ) -> Result<bool, StoreError> {
        let url = self.file_url(key)?;
        let resp = self.send(key, "existence check", client.head(url)).await?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_err(key, "existence check", resp).await),
        }
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let url = self.file_url(key)?;
        let client = self.client(key)?;
        let body = Zeroizing::new(value.expose().to_string().into_bytes());
        let req = client
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        let resp = self.send(key, "write", req).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.status_err(key, "write", resp).await)
        }
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let url = self.file_url(key)?;
        let client = self.client(key)?;
        let resp = self.send(key, "delete", client.delete(url)).await?;
        match resp.status().as_u16() {
            // Deleting a file that is not there leaves the store as asked.
            200..=299 | 404 => Ok(()),
            _ => Err(self.status_err(key, "delete", resp).await),
        }
    }
}
