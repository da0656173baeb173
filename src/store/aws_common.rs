//! Owns what the `aws/ssm` and `aws/asm` stores share: the store's options (region, endpoint,
//! role ARNs), the lazily built SDK configuration (credentials from the store's identity or the
//! default chain, timeouts, retries), and the mapping from SDK errors to [`StoreError`]s with
//! hints.
//!
//! Nothing here runs at construction: the first call that needs AWS builds the configuration
//! (once per store and role), so a misconfigured store only fails commands that touch it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_sts::config::Credentials;

use super::StoreError;
use super::per_runtime::PerRuntime;
use crate::auth::aws::{self as aws_auth, CredentialSource, StsSettings};
use crate::config::{AuthConfig, StoreConfig, option_str};
use crate::error::{Diagnose, code};

/// Connect timeout of every AWS call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Read timeout of every AWS call (time to the first response byte).
pub const READ_TIMEOUT: Duration = Duration::from_secs(8);
/// One attempt, end to end.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One operation including retries (the default store budget; `options.timeout` lowers or
/// raises it).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts per operation (throttling and 5xx are retried with exponential backoff and jitter).
pub const MAX_ATTEMPTS: u32 = 4;

/// Where the store's credentials come from.
#[derive(Clone)]
pub enum Creds {
    /// The SDK's default chain (no identity).
    DefaultChain,
    /// An `auth.identities` entry, resolved on first use.
    Identity(String),
    /// Given by the embedding program (tests, other tools).
    Static(Credentials),
}

/// The shared part of an AWS store; `C` is its SDK client, built once per runtime and access.
pub struct AwsContext<C> {
    /// Store name (for errors).
    pub store: String,
    /// `aws/ssm` or `aws/asm`.
    pub kind: &'static str,
    region: String,
    endpoint: Option<String>,
    read_role: Option<String>,
    write_role: Option<String>,
    /// `options.timeout`: the bound of one operation, retries included.
    budget: Duration,
    creds: Creds,
    auth: Arc<AuthConfig>,
    read: PerRuntime<C>,
    write: PerRuntime<C>,
}

/// The SDK client of one AWS store kind.
pub trait AwsApi: Send + Sync + Sized {
    /// The store kind, e.g. `aws/ssm`.
    const KIND: &'static str;
    /// The client for an SDK configuration.
    fn new(conf: &aws_config::SdkConfig) -> Self;
}

/// An AWS store (`aws/ssm`, `aws/asm`): its `stores:` entry and the shared context (region,
/// roles, credentials, per-runtime clients of type `C`).
pub struct AwsStore<C> {
    pub(super) cfg: StoreConfig,
    pub(super) ctx: AwsContext<C>,
}

impl<C: AwsApi> AwsStore<C> {
    /// From a `stores:` entry; no network I/O.
    pub fn build(cfg: &StoreConfig, env: &super::BuildEnv) -> Result<Self, StoreError> {
        Ok(Self {
            ctx: AwsContext::build(cfg, C::KIND, env)?,
            cfg: cfg.clone(),
        })
    }

    /// Uses these credentials instead of the identity or the default chain.
    #[must_use]
    pub fn with_credentials(mut self, creds: Credentials) -> Self {
        self.ctx.set_creds(Creds::Static(creds));
        self
    }

    /// The client for `access`, built once per runtime.
    pub(super) async fn client(&self, access: Access) -> Result<Arc<C>, StoreError> {
        self.ctx.client(access, C::new).await
    }

    /// The write client, once `encoded` (the value as it will be sent) fits the service's
    /// `limit`; errors name `name`. Every write of both kinds starts here.
    pub(super) async fn write_client(
        &self,
        name: &str,
        encoded: &str,
        limit: &SizeLimit,
    ) -> Result<Arc<C>, StoreError> {
        if encoded.len() > limit.max {
            let message = format!(
                "{} is {} bytes; {} at most {} bytes",
                limit.subject,
                encoded.len(),
                limit.holder,
                limit.max
            );
            return Err(self.ctx.plain(name, message, Some(limit.hint.to_owned())));
        }
        self.client(Access::Write)
            .await
            .map_err(|e| e.for_key(name.to_owned()))
    }
}

/// The largest value a service accepts, and how a refusal reads:
/// `"<subject> is <n> bytes; <holder> at most <max> bytes"` + `hint`.
pub struct SizeLimit {
    /// What is measured (`the value`).
    pub subject: &'static str,
    /// Who holds it (`SSM parameters hold`).
    pub holder: &'static str,
    /// The limit in bytes.
    pub max: usize,
    /// How to store a larger value.
    pub hint: &'static str,
}

/// Read or write (picks `read_role_arn` / `write_role_arn`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Get, exists.
    Read,
    /// Set, delete.
    Write,
}

impl<C> AwsContext<C> {
    /// From a `stores:` entry; no I/O.
    pub fn build(
        cfg: &StoreConfig,
        kind: &'static str,
        env: &super::BuildEnv,
    ) -> Result<Self, StoreError> {
        let identity = env.identity.clone();
        let auth = Arc::new(env.cli.auth.clone());
        let region = option_str(&cfg.options, "region")
            .filter(|r| !r.is_empty())
            .ok_or_else(|| StoreError::Config {
                store: cfg.name.clone(),
                message: format!(
                    "region is required in {} store configuration",
                    kind.trim_start_matches("aws/")
                ),
                hint: Some(format!("add `stores.{}.options.region`", cfg.name)),
            })?
            .to_owned();
        let endpoint = option_str(&cfg.options, "endpoint")
            .or_else(|| option_str(&cfg.options, "endpoint_url"))
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        if let Some(e) = &endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(StoreError::Config {
                store: cfg.name.clone(),
                message: format!("`endpoint` `{e}` is not an http(s) URL"),
                hint: Some("write it as `https://host[:port]`".into()),
            });
        }
        let role = |k: &str| {
            option_str(&cfg.options, k)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
        };
        Ok(Self {
            store: cfg.name.clone(),
            kind,
            region,
            endpoint,
            read_role: role("read_role_arn"),
            budget: super::net::timeout(cfg)?,
            write_role: role("write_role_arn"),
            creds: identity.map_or(Creds::DefaultChain, Creds::Identity),
            auth,
            read: PerRuntime::default(),
            write: PerRuntime::default(),
        })
    }

    /// Replaces the credential source (before first use).
    pub fn set_creds(&mut self, creds: Creds) {
        self.creds = creds;
    }

    /// The identity the store uses, if any (for messages).
    pub fn identity(&self) -> Option<&str> {
        match &self.creds {
            Creds::Identity(i) => Some(i),
            _ => None,
        }
    }

    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(self.budget))
            .read_timeout(READ_TIMEOUT.min(self.budget))
            .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(self.budget))
            .operation_timeout(self.budget)
            .build()
    }

    /// The SDK client for `access` (its role, credentials, region and endpoint), built by
    /// `make` once per runtime.
    pub async fn client(
        &self,
        access: Access,
        make: impl FnOnce(&aws_config::SdkConfig) -> C,
    ) -> Result<Arc<C>, StoreError> {
        let (cell, role) = match access {
            Access::Read => (&self.read, self.read_role.as_deref()),
            Access::Write => (&self.write, self.write_role.as_deref()),
        };
        cell.get_or_try_init(|| async { Ok(make(&self.sdk_config(role).await?)) })
            .await
    }

    async fn sdk_config(&self, role: Option<&str>) -> Result<aws_config::SdkConfig, StoreError> {
        let sts = StsSettings {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            timeouts: Some(self.timeouts()),
        };
        let (mut source, mut endpoint) = match &self.creds {
            Creds::DefaultChain => (CredentialSource::DefaultChain, self.endpoint.clone()),
            Creds::Static(c) => (CredentialSource::Static(c.clone()), self.endpoint.clone()),
            Creds::Identity(name) => {
                let id = aws_auth::resolve(&self.auth, name, &sts)
                    .await
                    .map_err(|e| self.auth_error(&e))?;
                (id.source, self.endpoint.clone().or(id.endpoint_url))
            }
        };
        if let Some(role) = role {
            let sts = StsSettings {
                endpoint: endpoint.clone(),
                ..sts
            };
            let c = aws_auth::assume_role(&source, role, "atmos-ssm-session", &sts)
                .await
                .map_err(|m| StoreError::Config {
                    store: self.store.clone(),
                    message: format!("assuming role `{role}` failed: {m}"),
                    hint: Some(
                        "check the role ARN and that the store's credentials may assume it".into(),
                    ),
                })?;
            source = CredentialSource::Static(c);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .timeout_config(self.timeouts())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            );
        if let Some(e) = endpoint.take() {
            loader = loader.endpoint_url(e);
        }
        if let CredentialSource::Static(c) = source {
            loader = loader.credentials_provider(c);
        }
        Ok(aws_auth::load_config(loader).await)
    }

    fn auth_error(&self, e: &aws_auth::AwsAuthError) -> StoreError {
        StoreError::Config {
            store: self.store.clone(),
            message: format!("no AWS credentials: {e}"),
            hint: e.hint(),
        }
    }

    /// Maps an SDK error of an operation on `key` to a [`StoreError`] naming store, identity and
    /// key. `scrub` is text that must not appear in the message (the value being written).
    pub fn error<E>(
        &self,
        op: &str,
        key: &str,
        err: &aws_sdk_ssm::error::SdkError<E, HttpResponse>,
        scrub: Option<&str>,
    ) -> StoreError
    where
        E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_ssm::error::SdkError;
        let (message, hint) = match err {
            SdkError::TimeoutError(_) => (
                format!(
                    "{op} timed out (connect {}s, read {}s, {} attempts)",
                    CONNECT_TIMEOUT.as_secs(),
                    READ_TIMEOUT.as_secs(),
                    MAX_ATTEMPTS
                ),
                self.endpoint_hint(),
            ),
            SdkError::DispatchFailure(d) => {
                let text = format!("{}", aws_sdk_ssm::error::DisplayErrorContext(err));
                if text.contains("credentials") || text.contains("identity") {
                    (
                        format!("{op}: no usable AWS credentials: {}", short(&text)),
                        Some(match self.identity() {
                            Some(i) => format!("run `atmos auth login --identity {i}`"),
                            None => "configure AWS credentials (environment, ~/.aws profile) or give the store an `identity`".into(),
                        }),
                    )
                } else if d.is_timeout() {
                    (format!("{op} timed out connecting"), self.endpoint_hint())
                } else {
                    (
                        format!("{op}: cannot reach AWS: {}", short(&text)),
                        self.endpoint_hint(),
                    )
                }
            }
            SdkError::ServiceError(s) => {
                let e = s.err();
                let c = e.code().unwrap_or("Unknown");
                let m = e.message().unwrap_or_default();
                let hint = match c {
                    "AccessDenied"
                    | "AccessDeniedException"
                    | "UnauthorizedOperation"
                    | "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "InvalidSignatureException"
                    | "SignatureDoesNotMatch" => Some(self.credentials_hint(op)),
                    "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                        Some(match self.identity() {
                            Some(i) => format!("run `atmos auth login --identity {i}`"),
                            None => "refresh the AWS session (e.g. `aws sso login`)".into(),
                        })
                    }
                    "ThrottlingException" | "Throttling" | "TooManyRequestsException" => Some(
                        "AWS throttled the requests after retries; run again later or lower parallel use"
                            .into(),
                    ),
                    "ValidationException" => Some(
                        "check the store's `prefix`, `stack_delimiter` and the key name".into(),
                    ),
                    _ => None,
                };
                (format!("{op} failed: {c}: {}", short(m)), hint)
            }
            SdkError::ResponseError(r) => {
                // An error body the SDK cannot parse (a proxy's HTML page, an XML error from an
                // emulator): classify by HTTP status, and quote an XML `<Code>` if there is one.
                let raw = r.raw();
                let status = raw.status().as_u16();
                let body = raw
                    .body()
                    .bytes()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let code = body
                    .split_once("<Code>")
                    .and_then(|(_, rest)| rest.split_once("</Code>"))
                    .map(|(c, _)| c.trim().to_owned())
                    .filter(|c| c.len() < 80 && !c.contains('<'));
                let message = match &code {
                    Some(c) => format!("{op} failed: HTTP {status}: {c}"),
                    None => format!("{op} failed: HTTP {status} with an unreadable body"),
                };
                let hint = match status {
                    401 | 403 => Some(self.credentials_hint(op)),
                    _ => self.endpoint_hint(),
                };
                (message, hint)
            }
            _ => (
                format!(
                    "{op} failed: {}",
                    short(&format!("{}", aws_sdk_ssm::error::DisplayErrorContext(err)))
                ),
                None,
            ),
        };
        let message = match scrub {
            Some(s) if s.len() >= 4 => message.replace(s, "****"),
            _ => message,
        };
        let message = match self.identity() {
            Some(i) => format!("as identity `{i}`: {message}"),
            None => message,
        };
        StoreError::Backend {
            store: self.store.clone(),
            key: key.to_owned(),
            message,
            hint,
            exit_code: code::FAILURE,
        }
    }

    fn credentials_hint(&self, op: &str) -> String {
        match self.identity() {
            Some(i) => format!(
                "check that identity `{i}`'s credentials are valid and may call {op} on this name (IAM policy, KMS key policy)"
            ),
            None => format!(
                "check that the default AWS credentials are valid and may call {op} on this name, or give the store an `identity`"
            ),
        }
    }

    fn endpoint_hint(&self) -> Option<String> {
        Some(match &self.endpoint {
            Some(e) => format!(
                "check that `{e}` (stores.{}.options.endpoint) is reachable",
                self.store
            ),
            None => format!(
                "check the network path to AWS in region `{}` (stores.{}.options.region)",
                self.region, self.store
            ),
        })
    }

    /// A backend error not coming from the SDK.
    pub fn plain(&self, key: &str, message: impl Into<String>, hint: Option<String>) -> StoreError {
        StoreError::Backend {
            store: self.store.clone(),
            key: key.to_owned(),
            message: message.into(),
            hint,
            exit_code: code::FAILURE,
        }
    }
}

/// Bounds foreign text in messages.
fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Whether an SDK error is the service's "no such name" answer.
pub fn is_code<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>, codes: &[&str]) -> bool
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata,
{
    match err {
        aws_sdk_ssm::error::SdkError::ServiceError(s) => {
            s.err().code().is_some_and(|c| codes.contains(&c))
        }
        _ => false,
    }
}
