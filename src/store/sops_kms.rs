//! Owns the AWS KMS master-key provider of SOPS files (`kms` entries, sops-compatible): unwraps
//! and wraps the data key with KMS `Decrypt` / `Encrypt`, passing the entry's encryption
//! `context`, assuming its `role` first when it has one.
//!
//! Credentials: the SOPS provider's `identity` (the same resolution as the AWS stores),
//! else the SDK's default chain. The KMS region comes from the key ARN; the endpoint is the
//! identity's (`spec.endpoint_url`, `credentials.aws.resolver.url`, … as for the AWS stores),
//! else the SDK's usual settings (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`; empty = unset), as
//! sops does.
//!
//! The codec's provider trait is synchronous; each call runs on a short-lived thread with its own
//! runtime, so it works from inside or outside a tokio runtime.

use std::sync::{Arc, OnceLock};

use aws_config::BehaviorVersion;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::auth::aws::{self as aws_auth, CredentialSource, StsSettings};
use crate::config::AuthConfig;
use crate::sops::{Entry, Value};
use crate::store::aws_common;

/// The `kms` master-key provider.
pub struct AwsKmsProvider {
    identity: Option<String>,
    auth: Arc<AuthConfig>,
    /// The identity's credentials and the endpoint it names (resolved once).
    creds: OnceLock<Result<(CredentialSource, Option<String>), String>>,
}

impl AwsKmsProvider {
    /// A provider authenticating as `identity` (`None` = default chain). No I/O.
    pub fn new(identity: Option<String>, auth: Arc<AuthConfig>) -> Self {
        Self {
            identity,
            auth,
            creds: OnceLock::new(),
        }
    }

    fn field(entry: &Value, key: &str) -> Option<String> {
        let Value::Map(m) = entry else { return None };
        m.iter()
            .find_map(|e| match e {
                Entry::Pair(k, Value::Str(t)) if k == key => Some(t.to_lossy().into_owned()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    }

    fn context(entry: &Value) -> Vec<(String, String)> {
        let Value::Map(m) = entry else {
            return Vec::new();
        };
        m.iter()
            .find_map(|e| match e {
                Entry::Pair(k, Value::Map(c)) if k == "context" => Some(
                    c.iter()
                        .filter_map(|e| match e {
                            Entry::Pair(k, Value::Str(v)) => {
                                Some((k.clone(), v.to_lossy().into_owned()))
                            }
                            _ => None,
                        })
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The region of a KMS key ARN (`arn:aws:kms:<region>:…`).
    fn region(arn: &str) -> Result<String, String> {
        arn.split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("`{arn}` is not a KMS key ARN (arn:aws:kms:<region>:…)"))
    }

    fn who(&self) -> String {
        match &self.identity {
            Some(i) => format!("identity `{i}`"),
            None => "the default AWS credentials".into(),
        }
    }

    async fn client(&self, arn: &str, role: Option<&str>) -> Result<aws_sdk_kms::Client, String> {
        let region = Self::region(arn)?;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(aws_common::CONNECT_TIMEOUT)
            .read_timeout(aws_common::READ_TIMEOUT)
            .operation_timeout(aws_common::OPERATION_TIMEOUT)
            .build();
        let mut sts = StsSettings {
            region: region.clone(),
            endpoint: None,
            timeouts: Some(timeouts.clone()),
        };
        let (base, endpoint) = match self.creds.get() {
            Some(c) => c.clone()?,
            None => {
                let c = match &self.identity {
                    None => Ok((CredentialSource::DefaultChain, None)),
                    Some(i) => aws_auth::resolve(&self.auth, i, &sts)
                        .await
                        .map(|id| (id.source, id.endpoint_url))
                        .map_err(|e| {
                            let hint = crate::error::Diagnose::hint(&e)
                                .map(|h| format!(" (hint: {h})"))
                                .unwrap_or_default();
                            format!("no AWS credentials: {e}{hint}")
                        }),
                };
                let _ = self.creds.set(c.clone());
                c?
            }
        };
        sts.endpoint.clone_from(&endpoint);
        let source = match role {
            Some(r) => CredentialSource::Static(
                aws_auth::assume_role(&base, r, "sops@atmos", &sts)
                    .await
                    .map_err(|m| format!("assuming role `{r}` failed: {m}"))?,
            ),
            None => base,
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .timeout_config(timeouts)
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(aws_common::MAX_ATTEMPTS),
            );
        if let CredentialSource::Static(c) = source {
            loader = loader.credentials_provider(c);
        }
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
        }
        Ok(aws_sdk_kms::Client::new(
            &aws_auth::load_config(loader).await,
        ))
    }

    /// A failed KMS call, for messages.
    fn failed(&self, op: &str, arn: &str, e: &dyn std::error::Error) -> String {
        format!(
            "KMS {op} with key `{arn}` as {} failed: {}",
            self.who(),
            aws_sdk_kms::error::DisplayErrorContext(e)
        )
    }

    async fn unwrap_async(&self, entry: &Value) -> Result<Zeroizing<Vec<u8>>, String> {
        let arn = Self::field(entry, "arn").ok_or("the `kms` entry has no `arn`")?;
        let enc = Self::field(entry, "enc").ok_or("the `kms` entry has no `enc`")?;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(enc.trim())
            .map_err(|_| format!("`enc` of key `{arn}` is not base64"))?;
        let client = self
            .client(&arn, Self::field(entry, "role").as_deref())
            .await?;
        let mut req = client
            .decrypt()
            .key_id(&arn)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob));
        for (k, v) in Self::context(entry) {
            req = req.encryption_context(k, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| self.failed("Decrypt", &arn, &e))?;
        let plain = out
            .plaintext()
            .ok_or_else(|| format!("KMS Decrypt with key `{arn}` returned no plaintext"))?;
        Ok(Zeroizing::new(plain.as_ref().to_vec()))
    }

    async fn wrap_async(&self, spec: &Value, payload: &[u8]) -> Result<Value, String> {
        let arn = Self::field(spec, "arn").ok_or("the `kms` key has no `arn`")?;
        let client = self
            .client(&arn, Self::field(spec, "role").as_deref())
            .await?;
        let mut req = client
            .encrypt()
            .key_id(&arn)
            .plaintext(aws_sdk_kms::primitives::Blob::new(payload.to_vec()));
        for (k, v) in Self::context(spec) {
            req = req.encryption_context(k, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| self.failed("Encrypt", &arn, &e))?;
        let blob = out
            .ciphertext_blob()
            .ok_or_else(|| format!("KMS Encrypt with key `{arn}` returned no ciphertext"))?;
        let enc = base64::engine::general_purpose::STANDARD.encode(blob.as_ref());
        // sops's field order: arn, role, context, created_at, enc, aws_profile.
        let Value::Map(m) = spec else {
            return Err("the `kms` key is not a mapping".into());
        };
        let mut entry = Vec::with_capacity(m.len() + 2);
        for e in m {
            if e.key() == Some("aws_profile") {
                entry.push(Entry::Pair(
                    "created_at".into(),
                    Value::str(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                ));
                entry.push(Entry::Pair("enc".into(), Value::str(enc.as_str())));
            }
            entry.push(e.clone());
        }
        Ok(Value::Map(entry))
    }
}

super::net::network_key_provider!(AwsKmsProvider, "kms");
