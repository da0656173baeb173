//! Owns the `aws/asm` store: AWS Secrets Manager.
//!
//! - Names: [`keys::compose_for_store`] exactly (an empty prefix gives a leading `/`).
//! - Writes: `PutSecretValue`; on `ResourceNotFoundException`, `CreateSecret`.
//! - Reads: `BatchGetSecretValue`, 20 ids a call; ids the service reports as not found are
//!   "not set".
//! - Existence, without decrypting: one `ListSecrets` call (metadata only, paginated, bounded)
//!   filtered by the longest common name prefix of the batch, then exact name matches. When the
//!   listing would take too many pages, `DescribeSecret` per name instead.
//! - Delete: `DeleteSecret` with `ForceDeleteWithoutRecovery` (no recovery window); a missing
//!   name is `NotFound`.
//!
//! Encoding: a string that trims to valid JSON starting with `{` or `[` is written
//! verbatim, everything else as JSON; reading is JSON-or-raw.

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};

use super::aws_common::{Access, AwsApi, AwsStore, SizeLimit, is_code};
use super::keyed::KeyedBackend;
use super::{StoreError, keys};
use crate::config::StoreConfig;
use crate::secret_value::SecretValue;
use crate::secrets::Coordinate;

/// `BatchGetSecretValue`'s limit on `SecretIdList`.
pub const BATCH: usize = 20;
/// Secrets Manager's limit on `SecretString` (bytes).
const MAX_VALUE: usize = 65536;

/// Larger values are refused before any call.
const LIMIT: SizeLimit = SizeLimit {
    subject: "the encoded value",
    holder: "Secrets Manager holds",
    max: MAX_VALUE,
    hint: "store large data elsewhere (e.g. S3) and keep a reference in the secret",
};
/// Pages of `ListSecrets` (100 entries each) an existence check may read before it falls back to
/// one `DescribeSecret` per name.
const MAX_LIST_PAGES: usize = 3;

/// An `aws/asm` store: the SDK client of [`AwsStore`].
pub type SecretsManagerStore = AwsStore<aws_sdk_secretsmanager::Client>;

impl AwsApi for aws_sdk_secretsmanager::Client {
    const KIND: &'static str = "aws/asm";

    fn new(conf: &aws_config::SdkConfig) -> Self {
        aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(conf)
                .interceptor(super::aws_retry_log::RetryLog {
                    service: "AWS Secrets Manager",
                })
                .build(),
        )
    }
}

impl SecretsManagerStore {
    fn encode(value: &SecretValue) -> String {
        match value.expose() {
            serde_json::Value::String(s) => {
                let t = s.trim();
                if t.starts_with(['{', '['])
                    && serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()
                {
                    s.clone()
                } else {
                    serde_json::to_string(s).unwrap_or_default()
                }
            }
            v => serde_json::to_string(v).unwrap_or_default(),
        }
    }

    async fn read_chunk(
        &self,
        keys: &[Coordinate],
    ) -> Vec<Result<Option<SecretValue>, StoreError>> {
        let names: Vec<Result<String, StoreError>> =
            keys.iter().map(|k| self.physical_key(k)).collect();
        let mut ids: Vec<String> = names
            .iter()
            .filter_map(|n| n.as_ref().ok().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        let client = match self.client(Access::Read).await {
            Ok(c) => c,
            Err(e) => return self.fan_out(&e, &names),
        };
        let answer = if ids.is_empty() {
            None
        } else {
            Some(
                client
                    .batch_get_secret_value()
                    .set_secret_id_list(Some(ids))
                    .send()
                    .await,
            )
        };
        names
            .into_iter()
            .map(|n| {
                let name = n?;
                match &answer {
                    None => Ok(None),
                    Some(Err(e)) => Err(self.ctx.error("BatchGetSecretValue", &name, e, None)),
                    Some(Ok(o)) => {
                        if let Some(v) = o.secret_values().iter().find(|v| v.name() == Some(&name))
                        {
                            let text = match (v.secret_string(), v.secret_binary()) {
                                (Some(s), _) => s.to_owned(),
                                (None, Some(b)) => String::from_utf8_lossy(b.as_ref()).into_owned(),
                                (None, None) => String::new(),
                            };
                            return Ok(Some(SecretValue::from_stored(&text)));
                        }
                        match o.errors().iter().find(|e| e.secret_id() == Some(&name)) {
                            Some(e) if e.error_code() == Some("ResourceNotFoundException") => {
                                Ok(None)
                            }
                            Some(e) => Err(self.ctx.plain(
                                &name,
                                format!(
                                    "BatchGetSecretValue failed: {}: {}",
                                    e.error_code().unwrap_or("Unknown"),
                                    e.message().unwrap_or_default()
                                ),
                                None,
                            )),
                            None => Ok(None),
                        }
                    }
                }
            })
            .collect()
    }

    async fn exists_chunk(&self, keys: &[Coordinate]) -> Vec<Result<bool, StoreError>> {
        let names: Vec<Result<String, StoreError>> =
            keys.iter().map(|k| self.physical_key(k)).collect();
        let valid: Vec<&str> = names.iter().filter_map(|n| n.as_deref().ok()).collect();
        let client = match self.client(Access::Read).await {
            Ok(c) => c,
            Err(e) => return self.fan_out(&e, &names),
        };
        let listed = match common_prefix(&valid) {
            // A leading `!` would negate the filter.
            Some(prefix) if valid.len() > 1 && !prefix.starts_with('!') => {
                self.list(&client, &prefix).await
            }
            _ => Ok(None),
        };
        let listed = match listed {
            Ok(l) => l,
            Err(e) => return self.fan_out(&e, &names),
        };
        let mut out = Vec::with_capacity(keys.len());
        for n in names {
            let name = match n {
                Ok(n) => n,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            out.push(match &listed {
                Some(all) => Ok(all.binary_search(&name).is_ok()),
                None => match client.describe_secret().secret_id(&name).send().await {
                    Ok(d) => Ok(d.deleted_date().is_none()),
                    Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(false),
                    Err(e) => Err(self.ctx.error("DescribeSecret", &name, &e, None)),
                },
            });
        }
        out
    }

    /// Copies a batch-wide failure (no client, listing failed) onto every key of the batch.
    fn fan_out<T>(
        &self,
        e: &StoreError,
        names: &[Result<String, StoreError>],
    ) -> Vec<Result<T, StoreError>> {
        names
            .iter()
            .map(|n| match n {
                Ok(n) => Err(e.for_key(n.clone())),
                Err(e) => Err(e.clone()),
            })
            .collect()
    }

    /// Every secret name starting with `prefix`, sorted; `None` when it takes too many pages.
    async fn list(
        &self,
        client: &aws_sdk_secretsmanager::Client,
        prefix: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(prefix)
            .build();
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let out = client
                .list_secrets()
                .filters(filter.clone())
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.ctx.error("ListSecrets", prefix, &e, None))?;
            names.extend(
                out.secret_list()
                    .iter()
                    .filter(|s| s.deleted_date().is_none())
                    .filter_map(|s| s.name().map(str::to_owned)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => {
                    names.sort();
                    return Ok(Some(names));
                }
            }
        }
        Ok(None)
    }
}

/// The longest common prefix of `names` (whole characters).
fn common_prefix(names: &[&str]) -> Option<String> {
    let first = names.first()?;
    let mut end = first.len();
    for n in &names[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(n.chars())
                .find(|((_, a), b)| a != b)
                .map_or(first.len().min(n.len()), |((i, _), _)| i),
        );
    }
    let p = &first[..end];
    (!p.is_empty()).then(|| p.to_owned())
}

impl KeyedBackend for SecretsManagerStore {
    /// The SDK clients are cached per runtime inside the store.
    type Conn = ();
    const KIND: &'static str = <aws_sdk_secretsmanager::Client as AwsApi>::KIND;

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// The secret name of a coordinate.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        keys::compose_for_store(&self.cfg, &key.stack, &key.component, &key.key)
            .map_err(|e| self.ctx.plain(&key.key, e.to_string(), None))
    }

    const BATCH_SIZE: usize = BATCH;
    const CONCURRENCY: usize = 4;

    async fn get_batch(&self, keys: &[Coordinate]) -> Vec<Result<Option<SecretValue>, StoreError>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            out.extend(self.read_chunk(chunk).await);
        }
        out
    }

    async fn exists_batch(&self, keys: &[Coordinate]) -> Vec<Result<bool, StoreError>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            out.extend(self.exists_chunk(chunk).await);
        }
        out
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let encoded = zeroize::Zeroizing::new(Self::encode(value));
        let client = self.write_client(&name, &encoded, &LIMIT).await?;
        let put = client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(encoded.as_str())
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => client
                .create_secret()
                .name(&name)
                .secret_string(encoded.as_str())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.ctx.error("CreateSecret", &name, &e, Some(&encoded))),
            Err(e) => Err(self.ctx.error("PutSecretValue", &name, &e, Some(&encoded))),
        }
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let client = self
            .client(Access::Write)
            .await
            .map_err(|e| e.for_key(name.clone()))?;
        // A forced delete of a missing name succeeds on AWS; `secret delete` of a missing value
        // must be not-found (`docs/decisions.md`), so
        // look first (deletes are single calls; the extra one is cheap).
        match client.describe_secret().secret_id(&name).send().await {
            Ok(d) if d.deleted_date().is_none() => {}
            Ok(_) => {
                return Err(StoreError::NotFound {
                    store: self.cfg.name.clone(),
                    key: name,
                });
            }
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => {
                return Err(StoreError::NotFound {
                    store: self.cfg.name.clone(),
                    key: name,
                });
            }
            Err(e) => return Err(self.ctx.error("DescribeSecret", &name, &e, None)),
        }
        client
            .delete_secret()
            .secret_id(&name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.ctx.error("DeleteSecret", &name, &e, None))
    }

    fn describe(&self, key: &Coordinate) -> String {
        self.physical_key(key).unwrap_or_else(|_| key.key.clone())
    }

    async fn connect(&self, _first: &Coordinate) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        assert_eq!(
            common_prefix(&["/p/dev/api/A1", "/p/dev/api/A2", "/p/dev/api/B"]).as_deref(),
            Some("/p/dev/api/")
        );
        assert_eq!(common_prefix(&["/é1", "/é2"]).as_deref(), Some("/é"));
        assert_eq!(common_prefix(&["a", "b"]), None);
        assert_eq!(common_prefix(&["/x"]).as_deref(), Some("/x"));
    }

    #[test]
    fn encoding_follows_spec() {
        let enc = |v: SecretValue| SecretsManagerStore::encode(&v);
        assert_eq!(enc(SecretValue::text("abc")), "\"abc\"");
        assert_eq!(enc(SecretValue::text(" {\"a\":1} ")), " {\"a\":1} ");
        assert_eq!(enc(SecretValue::text("{not json")), "\"{not json\"");
        assert_eq!(
            enc(SecretValue::json(serde_json::json!({"a": 1}))),
            "{\"a\":1}"
        );
    }
}
