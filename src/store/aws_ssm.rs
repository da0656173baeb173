//! Owns the `aws/ssm` store: AWS Systems Manager Parameter Store.
//!
//! - Names: [`keys::compose_for_store`] with a leading `/` added when missing (AWS rejects a
//!   hierarchical name without one, so this only turns a certain failure into a working name;
//!   it also makes `!store.get` names agree with [`keys::get_key`]).
//! - Writes: `PutParameter` with `Overwrite`; `SecureString` for `secret: true` stores, `String`
//!   otherwise; values over 4 KiB use the Advanced tier (AWS's limit is 8 KiB).
//! - Reads: `GetParameters` with decryption, 10 names a call; existence: the same call without
//!   decryption (the values are dropped at once).
//! - Delete: `DeleteParameter`; a missing name is `NotFound`.
//!
//! Encoding: a secret store writes a non-empty string verbatim and everything else as
//! JSON (`""` for the empty string); a plain store writes JSON. Reading tries JSON: a secret store
//! returns decoded objects, arrays and strings and raw text for numbers, booleans and non-JSON; a
//! plain store returns whatever JSON decodes to, else the raw text.

use aws_sdk_ssm::types::{ParameterTier, ParameterType};

use super::aws_common::{Access, AwsApi, AwsStore, SizeLimit, is_code};
use super::keyed::KeyedBackend;
use super::{StoreError, keys};
use crate::config::StoreConfig;
use crate::secret_value::SecretValue;
use crate::secrets::Coordinate;

/// SSM's `GetParameters` limit.
pub const BATCH: usize = 10;
/// Standard-tier value limit (bytes).
const STANDARD_MAX: usize = 4096;
/// Advanced-tier value limit (bytes).
const ADVANCED_MAX: usize = 8192;

/// Larger values are refused before any call.
const LIMIT: SizeLimit = SizeLimit {
    subject: "the value",
    holder: "SSM parameters hold",
    max: ADVANCED_MAX,
    hint: "keep large values in an `aws/asm` store (64 KiB)",
};

/// An `aws/ssm` store: the SDK client of [`AwsStore`].
pub type SsmStore = AwsStore<aws_sdk_ssm::Client>;

impl AwsApi for aws_sdk_ssm::Client {
    const KIND: &'static str = "aws/ssm";

    fn new(conf: &aws_config::SdkConfig) -> Self {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(conf)
                .interceptor(super::aws_retry_log::RetryLog { service: "AWS SSM" })
                .build(),
        )
    }
}

impl SsmStore {
    fn encode(&self, value: &SecretValue) -> String {
        match value.expose() {
            serde_json::Value::String(s) if self.cfg.secret && !s.is_empty() => s.clone(),
            v => serde_json::to_string(v).unwrap_or_default(),
        }
    }

    fn decode(&self, raw: &str) -> SecretValue {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                SecretValue::json(v)
            }
            Ok(serde_json::Value::String(s)) => SecretValue::text(s),
            Ok(v) if !self.cfg.secret => SecretValue::json(v),
            _ => SecretValue::text(raw),
        }
    }

    /// One `GetParameters` call per 10 names; `decrypt` false for existence checks.
    async fn fetch(
        &self,
        keys: &[Coordinate],
        decrypt: bool,
    ) -> Vec<Result<Option<SecretValue>, StoreError>> {
        let mut out: Vec<Result<Option<SecretValue>, StoreError>> = Vec::with_capacity(keys.len());
        let client = match self.client(Access::Read).await {
            Ok(c) => c,
            Err(e) => {
                return keys
                    .iter()
                    .map(|k| {
                        let name = self.physical_key(k)?;
                        Err(e.for_key(name.clone()))
                    })
                    .collect();
            }
        };
        for chunk in keys.chunks(BATCH) {
            let names: Vec<Result<String, StoreError>> =
                chunk.iter().map(|k| self.physical_key(k)).collect();
            let mut valid: Vec<String> = names
                .iter()
                .filter_map(|n| n.as_ref().ok().cloned())
                .collect();
            valid.sort();
            valid.dedup();
            let answer = if valid.is_empty() {
                None
            } else {
                Some(
                    client
                        .get_parameters()
                        .set_names(Some(valid.clone()))
                        .with_decryption(decrypt)
                        .send()
                        .await,
                )
            };
            for n in names {
                let name = match n {
                    Ok(n) => n,
                    Err(e) => {
                        out.push(Err(e));
                        continue;
                    }
                };
                let r = match &answer {
                    Some(Ok(o)) => Ok(o
                        .parameters()
                        .iter()
                        .find(|p| p.name() == Some(name.as_str()))
                        .map(|p| {
                            if decrypt {
                                self.decode(p.value().unwrap_or_default())
                            } else {
                                SecretValue::text("")
                            }
                        })),
                    Some(Err(e)) => Err(self.ctx.error("GetParameters", &name, e, None)),
                    None => Ok(None),
                };
                out.push(r);
            }
        }
        out
    }
}

impl KeyedBackend for SsmStore {
    /// The SDK clients are cached per runtime inside the store.
    type Conn = ();
    const KIND: &'static str = <aws_sdk_ssm::Client as AwsApi>::KIND;

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// The parameter name of a coordinate.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        let n = keys::compose_for_store(&self.cfg, &key.stack, &key.component, &key.key)
            .map_err(|e| self.ctx.plain(&key.key, e.to_string(), None))?;
        Ok(if n.starts_with('/') {
            n
        } else {
            format!("/{n}")
        })
    }

    const BATCH_SIZE: usize = BATCH;
    const CONCURRENCY: usize = 4;

    async fn get_batch(&self, keys: &[Coordinate]) -> Vec<Result<Option<SecretValue>, StoreError>> {
        self.fetch(keys, true).await
    }

    async fn exists_batch(&self, keys: &[Coordinate]) -> Vec<Result<bool, StoreError>> {
        self.fetch(keys, false)
            .await
            .into_iter()
            .map(|r| r.map(|v| v.is_some()))
            .collect()
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let encoded = zeroize::Zeroizing::new(self.encode(value));
        let client = self.write_client(&name, &encoded, &LIMIT).await?;
        let mut req = client
            .put_parameter()
            .name(&name)
            .value(encoded.as_str())
            .overwrite(true)
            .r#type(if self.cfg.secret {
                ParameterType::SecureString
            } else {
                ParameterType::String
            });
        if encoded.len() > STANDARD_MAX {
            req = req.tier(ParameterTier::Advanced);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| self.ctx.error("PutParameter", &name, &e, Some(&encoded)))
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let client = self
            .client(Access::Write)
            .await
            .map_err(|e| e.for_key(name.clone()))?;
        match client.delete_parameter().name(&name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ParameterNotFound"]) => Err(StoreError::NotFound {
                store: self.cfg.name.clone(),
                key: name,
            }),
            Err(e) => Err(self.ctx.error("DeleteParameter", &name, &e, None)),
        }
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
    use crate::config::StoreKind;
    use crate::yaml::{Map, Node};
    use serde_json::json;

    fn store(secret: bool, prefix: &str) -> SsmStore {
        let mut options = Map::default();
        options.insert("region".into(), Node::Str("us-east-1".into()));
        options.insert("prefix".into(), Node::Str(prefix.into()));
        let cfg = StoreConfig {
            name: "s".into(),
            kind: StoreKind::AwsSsm,
            secret,
            identity: None,
            options,
        };
        SsmStore::build(&cfg, &crate::store::BuildEnv::default()).unwrap()
    }

    #[test]
    fn encoding_follows_spec() {
        let (sec, plain) = (store(true, "/p"), store(false, "/p"));
        let enc = |s: &SsmStore, v: serde_json::Value| s.encode(&SecretValue::json(v));
        assert_eq!(enc(&sec, json!("abc")), "abc");
        assert_eq!(enc(&sec, json!("")), "\"\"");
        assert_eq!(enc(&sec, json!({"a": 1})), "{\"a\":1}");
        assert_eq!(enc(&sec, json!(5)), "5");
        assert_eq!(enc(&plain, json!("abc")), "\"abc\"");
        let dec = |s: &SsmStore, raw: &str| s.decode(raw).expose().clone();
        assert_eq!(dec(&sec, "{\"a\":1}"), json!({"a": 1}));
        assert_eq!(dec(&sec, "\"q\""), json!("q"));
        assert_eq!(dec(&sec, "42"), json!("42"));
        assert_eq!(dec(&sec, "true"), json!("true"));
        assert_eq!(dec(&sec, "not json"), json!("not json"));
        assert_eq!(dec(&plain, "42"), json!(42));
        assert_eq!(dec(&plain, "plain"), json!("plain"));
    }

    #[test]
    fn names_always_start_with_a_slash() {
        let c = |st: &str, co: &str, k: &str| Coordinate {
            stack: st.into(),
            component: co.into(),
            key: k.into(),
            scope: crate::secrets::Scope::Instance,
        };
        assert_eq!(
            store(true, "/atmos/secrets")
                .physical_key(&c("plat-ue2-dev", "vpc/primary", "DB_PASSWORD"))
                .unwrap(),
            "/atmos/secrets/plat/ue2/dev/vpc/primary/DB_PASSWORD"
        );
        assert_eq!(store(true, "").physical_key(&c("", "", "K")).unwrap(), "/K");
        assert_eq!(
            store(true, "atmos")
                .physical_key(&c("dev", "", "K"))
                .unwrap(),
            "/atmos/dev/K"
        );
    }
}
