//! Owns the `redis` store: a plain (non-secret) store; values JSON-encoded
//! under `<prefix>/<stack…>/<component…>/<key>` (read back JSON-or-raw).
//!
//! Configuration: `url` (else `ATMOS_REDIS_URL`; `redis://[user:password@]host:port/db`, or
//! `rediss://` for TLS), `ca_cert` (PEM bundle for `rediss://` servers signed by a private CA),
//! `timeout`. The URL's password never appears in messages.
//!
//! Reads are `MGET` batches; existence is a pipeline of `EXISTS`. A connection is opened per
//! operation (see `vault.rs` for why nothing outlives one runtime).

use std::time::Duration;

use redis::AsyncCommands;
use zeroize::Zeroizing;

use super::StoreError;
use super::keyed::{Batch, KeyedBackend, spread};
use super::net;
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

/// Keys per `MGET`.
const BATCH: usize = 100;

/// The `redis` store.
pub struct RedisStore {
    cfg: StoreConfig,
    client: redis::Client,
    /// The URL as configured (may hold a password): only for redaction.
    url: SecretString,
    timeout: Duration,
}

impl RedisStore {
    /// Builds the store from its config: parses the URL, reads the CA bundle; no network I/O.
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: &str| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint.to_owned()),
        };
        let url = option_str(&cfg.options, "url")
            .map(str::to_owned)
            .or_else(|| crate::env::var(crate::env::ATMOS_REDIS_URL))
            .map(SecretString::new)
            .ok_or_else(|| {
                config_err(
                    "url is required in redis store configuration (or set ATMOS_REDIS_URL)".into(),
                    "set `options.url: redis://host:6379/0` or ATMOS_REDIS_URL",
                )
            })?;
        let bad_url = || {
            config_err(
                format!("`{}` is not a redis URL", net::redact_url(url.expose())),
                "use redis://[user:password@]host:port/db, or rediss://… for TLS",
            )
        };
        let info: redis::ConnectionInfo =
            redis::IntoConnectionInfo::into_connection_info(url.expose()).map_err(|_| bad_url())?;
        let client = match option_str(&cfg.options, "ca_cert") {
            Some(path) => {
                let path = crate::env::expand_path(path);
                let pem = std::fs::read(&path).map_err(|e| {
                    config_err(
                        format!("cannot read the CA bundle `{}`: {e}", path.display()),
                        "point `options.ca_cert` at a readable PEM file",
                    )
                })?;
                redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
                .map_err(|e| {
                    config_err(
                        format!(
                            "cannot use the CA bundle `{}`: {}",
                            path.display(),
                            net::redact(&e.to_string(), &[url.expose()])
                        ),
                        "`options.ca_cert` needs a PEM certificate and a rediss:// URL",
                    )
                })?
            }
            None => redis::Client::open(info).map_err(|_| bad_url())?,
        };
        Ok(Self {
            client,
            timeout: net::timeout(cfg)?,
            url,
            cfg: cfg.clone(),
        })
    }

    fn location(&self) -> String {
        net::redact_url(self.url.expose())
    }

    fn err(&self, what: String, message: String, hint: &str) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: what,
            message,
            hint: Some(hint.to_owned()),
            exit_code: code::FAILURE,
        }
    }

    /// A redis failure as a store error about `what` (a key, or a batch description).
    fn fail(&self, what: String, op: &str, e: &redis::RedisError) -> StoreError {
        let secrets = [self.url.expose(), self.password().unwrap_or("")];
        let detail = net::redact(&e.to_string(), &secrets);
        let at = self.location();
        if e.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
        {
            return self.err(
                what,
                format!("redis at {at} refused the credentials ({op}): {detail}"),
                "put the right password in the URL (redis://:PASSWORD@host:port or redis://USER:PASSWORD@…) or ATMOS_REDIS_URL",
            );
        }
        if e.code() == Some("NOPERM") {
            return self.err(
                what,
                format!("permission denied by redis ({op}): {detail}"),
                "grant the ACL user the commands (GET, MGET, SET, DEL, EXISTS) and keys (~<prefix>/*) this store uses",
            );
        }
        if e.is_timeout() {
            let (msg, hint) = net::describe(net::Transport::Timeout, "redis", &at, self.timeout);
            return self.err(what, format!("{msg} ({op})"), &hint);
        }
        if e.is_connection_refusal() || e.is_io_error() {
            let kind = match net::classify(e) {
                net::Transport::Other => net::Transport::Connect,
                k => k,
            };
            let (msg, hint) = net::describe(kind, "redis", &at, self.timeout);
            return self.err(what, format!("{msg} ({op}): {detail}"), &hint);
        }
        self.err(
            what,
            format!("redis at {at} failed ({op}): {detail}"),
            "check the server's health and the URL's database number",
        )
    }

    fn password(&self) -> Option<&str> {
        self.client
            .get_connection_info()
            .redis_settings()
            .password()
    }

    async fn open(
        &self,
        what: &str,
        op: &str,
    ) -> Result<redis::aio::MultiplexedConnection, StoreError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        match tokio::time::timeout(
            self.timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(self.fail(what.to_owned(), op, &e)),
            Err(_) => {
                let (msg, hint) = net::describe(
                    net::Transport::Timeout,
                    "redis",
                    &self.location(),
                    self.timeout,
                );
                Err(self.err(what.to_owned(), format!("{msg} ({op})"), &hint))
            }
        }
    }

    /// Keys of a batch, or the error for every coordinate.
    fn keys_of(&self, coords: &[Coordinate]) -> Result<Vec<String>, StoreError> {
        coords.iter().map(|c| self.physical_key(c)).collect()
    }

    fn batch_name(&self, keys: &[String]) -> String {
        match keys {
            [one] => one.clone(),
            [first, ..] => format!("{first} (and {} more)", keys.len() - 1),
            [] => String::new(),
        }
    }

    async fn mget(&self, coords: &[Coordinate]) -> Result<Vec<Option<SecretValue>>, StoreError> {
        let keys = self.keys_of(coords)?;
        let what = self.batch_name(&keys);
        let mut conn = self.open(&what, "read").await?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            // `MGET` of one key answers a list too; ask for `Vec` explicitly.
            let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(self.batch_name(chunk), "read", &e))?;
            for (k, v) in chunk.iter().zip(raw) {
                out.push(match v {
                    None => None,
                    Some(bytes) => {
                        let bytes = Zeroizing::new(bytes);
                        let text = std::str::from_utf8(&bytes).map_err(|_| {
                            self.err(
                                k.clone(),
                                "the stored value is not UTF-8 text".into(),
                                "rewrite it with `atmos secret set`",
                            )
                        })?;
                        Some(SecretValue::from_stored(text))
                    }
                });
            }
        }
        Ok(out)
    }

    async fn exists(&self, coords: &[Coordinate]) -> Result<Vec<bool>, StoreError> {
        let keys = self.keys_of(coords)?;
        let what = self.batch_name(&keys);
        let mut conn = self.open(&what, "existence check").await?;
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.exists(k);
        }
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| self.fail(what, "existence check", &e))
    }
}

impl KeyedBackend for RedisStore {
    /// Each batch opens its own multiplexed connection (in `mget`/`exists`).
    type Conn = ();

    const KIND: &'static str = "redis";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    const BATCH_SIZE: usize = BATCH;
    const CONCURRENCY: usize = 4;

    /// The redis key of a coordinate.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        super::keys::compose_coordinate(&self.cfg, key)
    }

    async fn connect(&self, _first: &Coordinate) -> Result<(), StoreError> {
        Ok(())
    }

    async fn get_key(
        &self,
        _conn: &(),
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        Ok(self.mget(std::slice::from_ref(key)).await?.pop().flatten())
    }

    async fn exists_key(&self, _conn: &(), key: &Coordinate) -> Result<bool, StoreError> {
        Ok(self
            .exists(std::slice::from_ref(key))
            .await?
            .pop()
            .unwrap_or(false))
    }

    /// One `MGET` (chunked) for the whole batch.
    async fn get_batch(&self, keys: &[Coordinate]) -> Batch<Option<SecretValue>> {
        if keys.is_empty() {
            return Vec::new();
        }
        spread(self, keys, self.mget(keys).await)
    }

    /// One pipeline of `EXISTS` for the whole batch.
    async fn exists_batch(&self, keys: &[Coordinate]) -> Batch<bool> {
        if keys.is_empty() {
            return Vec::new();
        }
        spread(self, keys, self.exists(keys).await)
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let k = self.physical_key(key)?;
        let encoded = Zeroizing::new(value.expose().to_string());
        let mut conn = self.open(&k, "write").await?;
        conn.set::<_, _, ()>(&k, encoded.as_str())
            .await
            .map_err(|e| self.fail(k.clone(), "write", &e))
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let k = self.physical_key(key)?;
        let mut conn = self.open(&k, "delete").await?;
        // `DEL` of a missing key is not an error.
        conn.del::<_, ()>(&k)
            .await
            .map_err(|e| self.fail(k.clone(), "delete", &e))
    }
}
