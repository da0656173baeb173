//! Owns [`KeyedBackend`]: the shape of a backend that holds one value per physical key (vault,
//! artifactory, redis, GCP Secret Manager, Azure Key Vault, 1Password, AWS SSM / Secrets
//! Manager). A backend implements the per-key calls once; the [`Store`] impl (batching, bounded
//! fan-out, one failed connection reported for every key, `describe_key`, the per-call time
//! budget `options.timeout`) comes from here.

use std::future::Future;

use futures_util::StreamExt as _;

use super::{BoxFuture, Capabilities, Store, StoreError};
use crate::config::StoreConfig;
use crate::secret_value::SecretValue;
use crate::secrets::{Coordinate, Scope};

/// The results of one batch of per-key calls, in key order.
pub type Batch<T> = Vec<Result<T, StoreError>>;

/// A backend addressed one physical key at a time.
///
/// `Conn` is what a batch shares (a client built once for the batch); backends that cache their
/// client per runtime ([`super::per_runtime::PerRuntime`]) use `()`.
pub trait KeyedBackend: Send + Sync {
    /// What one batch of calls shares.
    type Conn: Send + Sync;

    /// The canonical kind, e.g. `hashicorp/vault`.
    const KIND: &'static str;

    /// The store's `stores:` entry (its name, options, prefix and delimiters).
    fn config(&self) -> &StoreConfig;

    /// How many keys one read call carries (1 = one call per key).
    const BATCH_SIZE: usize = 1;

    /// How many read calls may be in flight at once.
    const CONCURRENCY: usize = 8;

    /// The scopes the backend can hold.
    const SCOPES: &'static [Scope] = &[Scope::Instance, Scope::Stack, Scope::Global];

    /// The time budget of one call (one read wave, one write, one delete): `options.timeout`
    /// seconds, default [`super::net::DEFAULT_TIMEOUT`]. The [`Store`] impl below enforces it
    /// around everything a call does (client set-up, credentials, retries), so a server that
    /// accepts and never answers fails in bounded time, naming the store.
    fn budget(&self) -> std::time::Duration {
        super::net::timeout(self.config()).unwrap_or(super::net::DEFAULT_TIMEOUT)
    }

    /// What the backend supports: the constants above, with delete support.
    fn store_capabilities(&self) -> Capabilities {
        Capabilities {
            scopes: Self::SCOPES,
            batch_size: Self::BATCH_SIZE,
            concurrency: Self::CONCURRENCY,
            ..Capabilities::default()
        }
    }

    /// The physical key of a coordinate: the one place a backend composes its name for a value
    /// (path, secret id, reference, …).
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError>;

    /// Where a coordinate lives, for messages. Default: the physical key, or
    /// ``<invalid key `k`>`` when it cannot be composed.
    fn describe(&self, key: &Coordinate) -> String {
        self.physical_key(key)
            .unwrap_or_else(|_| format!("<invalid key `{}`>", key.key))
    }

    /// Builds what a batch shares; `first` names the key in errors.
    fn connect(
        &self,
        first: &Coordinate,
    ) -> impl Future<Output = Result<Self::Conn, StoreError>> + Send;

    /// Reads one key; `Ok(None)` = not set. Implement this, or override
    /// [`KeyedBackend::get_batch`] (a backend whose reads are batch calls): the default reads a
    /// batch of one, so a backend must provide at least one of the two.
    fn get_key(
        &self,
        conn: &Self::Conn,
        key: &Coordinate,
    ) -> impl Future<Output = Result<Option<SecretValue>, StoreError>> + Send {
        let _ = conn;
        async move {
            self.get_batch(std::slice::from_ref(key))
                .await
                .pop()
                .unwrap_or_else(|| {
                    Err(StoreError::Backend {
                        store: self.config().name.clone(),
                        key: self.describe(key),
                        message: "the backend returned no result".to_owned(),
                        hint: None,
                        exit_code: crate::error::code::FAILURE,
                    })
                })
        }
    }

    /// Whether one key is set. Default: reads it.
    fn exists_key(
        &self,
        conn: &Self::Conn,
        key: &Coordinate,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move { self.get_key(conn, key).await.map(|v| v.is_some()) }
    }

    /// Writes one key.
    fn put_key(
        &self,
        key: &Coordinate,
        value: &SecretValue,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes one key.
    fn delete_key(&self, key: &Coordinate) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Batch hook for reads. Default: one connection, then the per-key reads with at most
    /// `store_capabilities().concurrency` in flight.
    fn get_batch(
        &self,
        keys: &[Coordinate],
    ) -> impl Future<Output = Batch<Option<SecretValue>>> + Send {
        async move {
            let conn = match connect_batch(self, keys).await {
                Ok(conn) => conn,
                Err(errors) => return errors,
            };
            let calls = keys.iter().map(|k| self.get_key(&conn, k)).collect();
            bounded(calls, self.store_capabilities().concurrency).await
        }
    }

    /// Batch hook for existence checks. Default: like [`KeyedBackend::get_batch`].
    fn exists_batch(&self, keys: &[Coordinate]) -> impl Future<Output = Batch<bool>> + Send {
        async move {
            let conn = match connect_batch(self, keys).await {
                Ok(conn) => conn,
                Err(errors) => return errors,
            };
            let calls = keys.iter().map(|k| self.exists_key(&conn, k)).collect();
            bounded(calls, self.store_capabilities().concurrency).await
        }
    }
}

/// The connection of a batch; an empty batch, or a failed connection reported for every key,
/// is the batch's (final) result.
async fn connect_batch<B, T>(backend: &B, keys: &[Coordinate]) -> Result<B::Conn, Batch<T>>
where
    B: KeyedBackend + ?Sized,
{
    let Some(first) = keys.first() else {
        return Err(Vec::new());
    };
    backend.connect(first).await.map_err(|e| {
        keys.iter()
            .map(|k| Err(e.for_key(backend.describe(k))))
            .collect()
    })
}

/// Spreads the result of one batch call over its keys: each value in key order, or the batch's
/// error restated for every key ([`StoreError::for_key`]).
pub fn spread<B, T>(
    backend: &B,
    keys: &[Coordinate],
    result: Result<Vec<T>, StoreError>,
) -> Batch<T>
where
    B: KeyedBackend + ?Sized,
{
    match result {
        Ok(values) => values.into_iter().map(Ok).collect(),
        Err(e) => keys
            .iter()
            .map(|k| Err(e.for_key(backend.describe(k))))
            .collect(),
    }
}

/// Runs `calls` with at most `limit` in flight; results in call order. The one bounded fan-out
/// of the store layer.
pub async fn bounded<T, F>(calls: Vec<F>, limit: usize) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    futures_util::stream::iter(calls)
        .buffered(limit.max(1))
        .collect()
        .await
}

/// The error of a call that ran out of its time budget.
fn out_of_time<B: KeyedBackend + ?Sized>(
    backend: &B,
    key: &Coordinate,
    budget: std::time::Duration,
) -> StoreError {
    StoreError::Backend {
        store: backend.config().name.clone(),
        key: backend.describe(key),
        message: format!(
            "timed out: no answer within {} s (the store's time budget)",
            budget.as_secs_f64()
        ),
        hint: Some(format!(
            "check that the {} backend is reachable and healthy; `stores.{}.options.timeout` sets the budget in seconds (default {} s)",
            B::KIND,
            backend.config().name,
            super::net::DEFAULT_TIMEOUT.as_secs()
        )),
        exit_code: crate::error::code::FAILURE,
    }
}

/// Runs a batch within `budget` per wave of in-flight calls (a batch of `n` keys runs in
/// `ceil(n / (batch size × concurrency))` waves); on time-out every key gets the error.
async fn within_budget<B, T>(
    backend: &B,
    keys: &[Coordinate],
    batch: impl Future<Output = Batch<T>>,
) -> Batch<T>
where
    B: KeyedBackend + ?Sized,
{
    let caps = backend.store_capabilities();
    let per_wave = (caps.batch_size.max(1) * caps.concurrency.max(1)).max(1);
    let waves = u32::try_from(keys.len().div_ceil(per_wave).max(1)).unwrap_or(u32::MAX);
    let budget = backend.budget();
    match tokio::time::timeout(budget.saturating_mul(waves), batch).await {
        Ok(results) => results,
        Err(_) => keys
            .iter()
            .map(|k| Err(out_of_time(backend, k, budget)))
            .collect(),
    }
}

/// Runs one write or delete within the budget.
async fn once_within_budget<B: KeyedBackend + ?Sized>(
    backend: &B,
    key: &Coordinate,
    call: impl Future<Output = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let budget = backend.budget();
    tokio::time::timeout(budget, call)
        .await
        .unwrap_or_else(|_| Err(out_of_time(backend, key, budget)))
}

impl<B: KeyedBackend> Store for B {
    fn name(&self) -> &str {
        &self.config().name
    }

    fn kind(&self) -> &str {
        Self::KIND
    }

    fn capabilities(&self) -> Capabilities {
        self.store_capabilities()
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<Option<SecretValue>, StoreError>>> {
        Box::pin(within_budget(self, keys, self.get_batch(keys)))
    }

    fn exists_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<bool, StoreError>>> {
        Box::pin(within_budget(self, keys, self.exists_batch(keys)))
    }

    fn set<'a>(
        &'a self,
        key: &'a Coordinate,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(once_within_budget(self, key, self.put_key(key, value)))
    }

    fn delete<'a>(&'a self, key: &'a Coordinate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(once_within_budget(self, key, self.delete_key(key)))
    }

    fn describe_key(&self, key: &Coordinate) -> String {
        self.describe(key)
    }
}
