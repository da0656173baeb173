//! Owns AWS credentials for identity-aware stores and SOPS `aws-kms` keys: turning an
//! `auth.identities` name into one credential set, in memory only.
//!
//! Order for an identity:
//! 1. atmos auth's realm-scoped files `<config>/atmos/[<realm>/]aws/<root-provider>/credentials`
//!    (INI section `[<identity>]`) and `…/config` (`[profile <identity>]`, `[default]` for an
//!    identity named `default`) — what `atmos auth login` leaves behind. An expired entry is an
//!    error, never skipped.
//! 2. Otherwise what needs no browser: `aws/user` static keys from the identity's `credentials`
//!    map, else from the atmos keyring (`atmos auth user configure`, see [`keyring_key`]), `aws/assume-role` via STS from the credentials of the identity it is `via`, and
//!    `aws/ambient` (the SDK's default chain).
//! 3. Anything else (`aws/permission-set` via SSO, SAML, …) needs an interactive login: a clear
//!    error with the `atmos auth login` hint, never a silent fall back to other credentials.
//!
//! Nothing here writes files, and no error message carries a key, secret or token.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::Credentials;

use super::AuthError;
use crate::config::AuthConfig;
use crate::yaml::{Map, Node};

/// Where an identity's credentials come from.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    /// A resolved credential set (static keys, cached session, assumed role).
    Static(Credentials),
    /// The SDK's default chain (`aws/ambient`).
    DefaultChain,
}

/// An identity's credentials plus the settings its profile carries.
#[derive(Clone, Debug)]
pub struct AwsIdentity {
    /// The credentials.
    pub source: CredentialSource,
    /// `region` from the identity's profile or definition.
    pub region: Option<String>,
    /// `endpoint_url` from the identity's definition or profile.
    pub endpoint_url: Option<String>,
}

/// Why an identity's AWS credentials cannot be obtained.
#[derive(Debug, thiserror::Error)]
pub enum AwsAuthError {
    /// Resolution of the identity itself failed (unknown, loops, broken `via`).
    #[error(transparent)]
    Identity(#[from] AuthError),
    /// The credentials file exists but cannot be read as INI.
    #[error("malformed AWS credentials file `{path}` (identity `{identity}`): {problem}")]
    Malformed {
        /// The identity.
        identity: String,
        /// The file.
        path: PathBuf,
        /// What is wrong (line number, missing key; never a value).
        problem: String,
    },
    /// The cached session has expired.
    #[error("credentials of identity `{identity}` expired at {expired} (from `{path}`)")]
    Expired {
        /// The identity.
        identity: String,
        /// The file.
        path: PathBuf,
        /// When (as written in the file).
        expired: String,
    },
    /// The identity needs an interactive login and there are no cached credentials.
    #[error(
        "identity `{identity}` ({kind}) needs a login: no cached credentials in `{path}` (section `[{identity}]`)"
    )]
    NeedsLogin {
        /// The identity.
        identity: String,
        /// Its kind.
        kind: String,
        /// Where the cached credentials were looked for.
        path: PathBuf,
    },
    /// An identity kind that is not an AWS identity.
    #[error("identity `{identity}` has kind `{kind}`, which does not give AWS credentials")]
    NotAws {
        /// The identity.
        identity: String,
        /// Its kind.
        kind: String,
    },
    /// The identity definition lacks something (e.g. `principal.assume_role`).
    #[error("identity `{identity}` is incomplete: {problem}")]
    Incomplete {
        /// The identity.
        identity: String,
        /// What is missing.
        problem: String,
    },
    /// STS AssumeRole failed.
    #[error("assuming role `{role}` for identity `{identity}` failed: {message}")]
    AssumeRole {
        /// The identity.
        identity: String,
        /// The role ARN.
        role: String,
        /// The SDK's message (no credentials in it).
        message: String,
    },
    /// The keys `atmos auth user configure` kept in the atmos keyring cannot be used.
    #[error("identity `{identity}`: the atmos keyring entry `{key}` cannot be used: {problem}")]
    Keyring {
        /// The identity.
        identity: String,
        /// The keyring item (`atmos_[<realm>_]<identity>`).
        key: String,
        /// What is wrong (never a value).
        problem: String,
    },
    /// No config directory could be found (`HOME` unset).
    #[error("cannot locate the atmos config directory (set `ATMOS_XDG_CONFIG_HOME` or `HOME`)")]
    NoConfigDir,
}

impl crate::error::Diagnose for AwsAuthError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            AwsAuthError::Identity(e) => return e.hint(),
            AwsAuthError::Malformed { identity, .. } => format!(
                "fix or delete the file and run `atmos auth login --identity {identity}` to rewrite it"
            ),
            AwsAuthError::Expired { identity, .. } => {
                format!("run `atmos auth login --identity {identity}` to refresh the session")
            }
            AwsAuthError::NeedsLogin { identity, .. } => {
                format!("run `atmos auth login --identity {identity}` first")
            }
            AwsAuthError::NotAws { .. } => {
                "give the store an `aws/*` identity, or `--identity=false` for none".into()
            }
            AwsAuthError::Incomplete { .. } => {
                "complete the identity under `auth.identities` in atmos.yaml".into()
            }
            AwsAuthError::AssumeRole { identity, .. } => format!(
                "check that identity `{identity}`'s base credentials may call sts:AssumeRole on that role"
            ),
            AwsAuthError::Keyring { identity, .. } => {
                format!(
                    "run `atmos auth user configure --identity {identity}` to store the keys again"
                )
            }
            AwsAuthError::NoConfigDir => return None,
        })
    }
}

/// The settings the STS client needs when an identity assumes a role.
#[derive(Clone, Debug, Default)]
pub struct StsSettings {
    /// Region for STS (the store's region).
    pub region: String,
    /// Endpoint override (the store's `endpoint`), also used for STS (emulators serve all).
    pub endpoint: Option<String>,
    /// Per-request timeouts and retries.
    pub timeouts: Option<aws_config::timeout::TimeoutConfig>,
}

/// `<realm dir>/aws/<root provider>` of an identity.
pub fn identity_dir(auth: &AuthConfig, identity: &str) -> Result<PathBuf, AwsAuthError> {
    let root = super::root_provider(auth, identity)?;
    let realm = super::realm_dir(auth).ok_or(AwsAuthError::NoConfigDir)?;
    Ok(realm.join("aws").join(root))
}

/// Resolves an identity's AWS credentials (see the module docs for the order).
pub async fn resolve(
    auth: &AuthConfig,
    identity: &str,
    sts: &StsSettings,
) -> Result<AwsIdentity, AwsAuthError> {
    // `via` chains are checked for loops by `root_provider`; depth is bounded by the chain.
    super::root_provider(auth, identity)?;
    resolve_inner(auth, identity, sts, 0).await
}

fn resolve_inner<'a>(
    auth: &'a AuthConfig,
    identity: &'a str,
    sts: &'a StsSettings,
    depth: usize,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<AwsIdentity, AwsAuthError>> + Send + 'a>,
> {
    Box::pin(async move {
        let def = super::identity(auth, identity)?;
        let kind = def
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned();
        if !kind.starts_with("aws/") {
            return Err(AwsAuthError::NotAws {
                identity: identity.to_owned(),
                kind,
            });
        }
        let dir = identity_dir(auth, identity)?;
        let creds_path = dir.join("credentials");
        let profile = read_profile(&dir.join("config"), identity)?;
        let region = str_at(def, &["principal", "region"])
            .or_else(|| str_at(def, &["credentials", "region"]))
            .or_else(|| profile.as_ref().and_then(|p| p.get("region").cloned()));
        let endpoint_url = endpoint_url(auth, identity).or_else(|| {
            profile
                .as_ref()
                .and_then(|p| p.get("endpoint_url").cloned())
        });
        if let Some(c) = read_cached(&creds_path, identity)? {
            return Ok(AwsIdentity {
                source: CredentialSource::Static(c),
                region,
                endpoint_url,
            });
        }
        let source = match kind.as_str() {
            "aws/ambient" => CredentialSource::DefaultChain,
            "aws/user" => match static_from_definition(def, identity)?
                .map_or_else(|| keyring_credentials(auth, def, identity), |c| Ok(Some(c)))?
            {
                Some(c) => CredentialSource::Static(c),
                None => {
                    return Err(AwsAuthError::NeedsLogin {
                        identity: identity.to_owned(),
                        kind,
                        path: creds_path,
                    });
                }
            },
            "aws/assume-role" => {
                let role = str_at(def, &["principal", "assume_role"]).ok_or_else(|| {
                    AwsAuthError::Incomplete {
                        identity: identity.to_owned(),
                        problem: "`principal.assume_role` (the role ARN) is missing".into(),
                    }
                })?;
                let via = def
                    .get("via")
                    .and_then(|v| v.get("identity").or(Some(v)))
                    .and_then(Node::as_str)
                    .filter(|v| auth.identities.contains_key(*v))
                    .ok_or_else(|| AwsAuthError::NeedsLogin {
                        identity: identity.to_owned(),
                        kind: kind.clone(),
                        path: creds_path.clone(),
                    })?;
                if depth > 16 {
                    return Err(AuthError::Cycle(identity.to_owned(), via.to_owned()).into());
                }
                let base = resolve_inner(auth, via, sts, depth + 1).await?;
                let session = str_at(def, &["principal", "session_name"])
                    .unwrap_or_else(|| format!("atmos-{identity}"));
                let mut settings = sts.clone();
                if let Some(r) = region.clone().or(base.region.clone()) {
                    settings.region = r;
                }
                if settings.endpoint.is_none() {
                    settings.endpoint = endpoint_url.clone().or(base.endpoint_url.clone());
                }
                let creds = assume_role(&base.source, &role, &session, &settings)
                    .await
                    .map_err(|message| AwsAuthError::AssumeRole {
                        identity: identity.to_owned(),
                        role: role.clone(),
                        message,
                    })?;
                CredentialSource::Static(creds)
            }
            _ => {
                return Err(AwsAuthError::NeedsLogin {
                    identity: identity.to_owned(),
                    kind,
                    path: creds_path,
                });
            }
        };
        Ok(AwsIdentity {
            source,
            region,
            endpoint_url,
        })
    })
}

/// Calls STS AssumeRole with `base` credentials; the error text never holds credentials.
pub async fn assume_role(
    base: &CredentialSource,
    role_arn: &str,
    session_name: &str,
    sts: &StsSettings,
) -> Result<Credentials, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(sts.region.clone()));
    if let Some(e) = &sts.endpoint {
        loader = loader.endpoint_url(e.clone());
    }
    if let Some(t) = &sts.timeouts {
        loader = loader.timeout_config(t.clone());
    }
    if let CredentialSource::Static(c) = base {
        loader = loader.credentials_provider(c.clone());
    }
    let conf = load_config(loader).await;
    let client = aws_sdk_sts::Client::new(&conf);
    let out = client
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)))?;
    let c = out
        .credentials()
        .ok_or_else(|| "STS returned no credentials".to_owned())?;
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    let mut creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        expiry,
        "atmos-assume-role",
    );
    if expiry.is_none() {
        *creds.expiry_mut() = Some(SystemTime::now() + Duration::from_secs(900));
    }
    Ok(creds)
}

/// The AWS endpoint an identity's definition names, in upstream's order
/// (`pkg/auth/cloud/aws/resolver.go`): the identity's `spec.endpoint_url`, its legacy
/// `credentials.aws.resolver.url`, then its provider's (`via.provider`) `spec.endpoint_url` and
/// `spec.aws.resolver.url`; after those this project's older spellings, the identity's
/// top-level `endpoint_url` and `principal.endpoint_url`. Empty values count as unset.
pub fn endpoint_url(auth: &AuthConfig, identity: &str) -> Option<String> {
    let def = auth.identities.get(identity)?;
    let provider = def
        .get("via")
        .and_then(|v| v.get("provider"))
        .and_then(Node::as_str)
        .and_then(|p| auth.providers.get(p));
    str_at(def, &["spec", "endpoint_url"])
        .or_else(|| str_at(def, &["credentials", "aws", "resolver", "url"]))
        .or_else(|| provider.and_then(|p| str_at(p, &["spec", "endpoint_url"])))
        .or_else(|| provider.and_then(|p| str_at(p, &["spec", "aws", "resolver", "url"])))
        .or_else(|| str_at(def, &["endpoint_url"]))
        .or_else(|| str_at(def, &["principal", "endpoint_url"]))
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
}

/// Loads an SDK configuration the way the Go SDK reads its environment: a set-but-empty
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (or profile `endpoint_url`) counts as
/// unset. (The Rust SDK would otherwise keep the empty URL and panic in the endpoint resolver;
/// upstream's test harness clears the variable exactly that way.)
pub async fn load_config(loader: aws_config::ConfigLoader) -> aws_config::SdkConfig {
    let conf = loader.load().await;
    let mut builder = conf.clone().into_builder();
    if conf.endpoint_url().is_some_and(|u| u.trim().is_empty()) {
        builder.set_endpoint_url(None);
    }
    if conf.service_config().is_some() {
        builder = builder.service_config(NonEmptyServiceConfig(conf));
    }
    builder.build()
}

/// The SDK's per-service environment and profile settings, with empty values dropped.
#[derive(Debug)]
struct NonEmptyServiceConfig(aws_config::SdkConfig);

impl aws_types::service_config::LoadServiceConfig for NonEmptyServiceConfig {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        self.0
            .service_config()?
            .load_config(key)
            .filter(|v| !v.trim().is_empty())
    }
}

fn str_at(def: &Map, path: &[&str]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let mut node = def.get(*first)?;
    for p in rest {
        node = node.get(p)?;
    }
    node.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The item key atmos auth uses for an identity's credentials: `atmos_[<realm>_]<identity>`
/// (upstream `buildKeyringKey`).
pub fn keyring_key(auth: &AuthConfig, identity: &str) -> String {
    if auth.realm.is_empty() {
        format!("atmos_{identity}")
    } else {
        format!("atmos_{}_{identity}", auth.realm)
    }
}

/// An `aws/user` identity's long-lived keys from the atmos keyring, where
/// `atmos auth user configure` keeps them, read as upstream does: the keyring type is
/// `ATMOS_KEYRING_TYPE`, else `auth.keyring.type`, else `system` (item service
/// `atmos_[<realm>_]<identity>`, account `atmos-auth`); `file` reads
/// `ATMOS_KEYRING_FILE_PATH` / `auth.keyring.spec.path` (default `<data dir>/atmos/keyring`)
/// with the password from `ATMOS_KEYRING_PASSWORD_ENV` / `auth.keyring.spec.password_env`
/// (default `ATMOS_KEYRING_PASSWORD`). The value is atmos auth's envelope
/// `{"type":"aws","data":{"access_key_id":…,"secret_access_key":…}}`. A keyring that is not
/// there (no Secret Service, no password) counts as empty, as upstream's no-op fallback.
fn keyring_credentials(
    auth: &AuthConfig,
    def: &Map,
    identity: &str,
) -> Result<Option<Credentials>, AwsAuthError> {
    use crate::env::{self, var};
    let key = keyring_key(auth, identity);
    let bad = |problem: String| AwsAuthError::Keyring {
        identity: identity.to_owned(),
        key: key.clone(),
        problem,
    };
    let setting =
        |env_name: &str, path: &[&str]| var(env_name).or_else(|| str_at(&auth.keyring, path));
    let kind = setting(env::ATMOS_KEYRING_TYPE, &["type"]).unwrap_or_else(|| "system".into());
    let raw = match kind.as_str() {
        "file" => {
            let dir = match setting(env::ATMOS_KEYRING_FILE_PATH, &["spec", "path"]) {
                Some(p) => {
                    let p = env::expand_path(&p);
                    if p.extension().is_some() {
                        p.parent().map(Path::to_path_buf).unwrap_or_default()
                    } else {
                        p
                    }
                }
                None => match env::user_data_dir() {
                    Some(d) => d.join("atmos").join("keyring"),
                    None => return Ok(None),
                },
            };
            let password_env = setting(env::ATMOS_KEYRING_PASSWORD_ENV, &["spec", "password_env"])
                .unwrap_or_else(|| env::ATMOS_KEYRING_PASSWORD.into());
            let Some(password) = var(&password_env).map(zeroize::Zeroizing::new) else {
                return Ok(None);
            };
            super::keyring::file_get(&dir, &key, &password).map_err(bad)?
        }
        "memory" | "noop" => None,
        _ => super::keyring::system_get(&key, "atmos-auth").unwrap_or(None),
    };
    let Some(raw) = raw else { return Ok(None) };
    let envelope: serde_json::Value = serde_json::from_str(&raw)
        .map_err(|_| bad("it is not atmos auth's JSON credential envelope".into()))?;
    if envelope["type"].as_str() != Some("aws") {
        return Err(bad(format!(
            "it holds `{}` credentials, not AWS keys",
            envelope["type"].as_str().unwrap_or("unknown")
        )));
    }
    let field = |k: &str| {
        envelope["data"][k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if field("session_token").is_some() {
        return Err(bad(
            "it holds session credentials, not long-lived keys".into()
        ));
    }
    if field("mfa_arn").is_some() || str_at(def, &["credentials", "mfa_arn"]).is_some() {
        return Err(AwsAuthError::NeedsLogin {
            identity: identity.to_owned(),
            kind: "aws/user with MFA".into(),
            path: PathBuf::from(format!("the atmos keyring ({key})")),
        });
    }
    match (field("access_key_id"), field("secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Some(Credentials::new(
            id,
            secret,
            None,
            None,
            "atmos-keyring",
        ))),
        _ => Err(bad("it lacks `access_key_id` or `secret_access_key`".into())),
    }
}

fn static_from_definition(def: &Map, identity: &str) -> Result<Option<Credentials>, AwsAuthError> {
    let id = str_at(def, &["credentials", "access_key_id"]);
    let secret = str_at(def, &["credentials", "secret_access_key"]);
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Some(Credentials::new(
            id,
            secret,
            str_at(def, &["credentials", "session_token"]),
            None,
            "atmos-aws-user",
        ))),
        (None, None) => Ok(None),
        _ => Err(AwsAuthError::Incomplete {
            identity: identity.to_owned(),
            problem: "`credentials` needs both `access_key_id` and `secret_access_key`".into(),
        }),
    }
}

type Section = std::collections::HashMap<String, String>;

/// Parses INI text into sections; errors name the line, never its content.
fn parse_ini(text: &str) -> Result<Vec<(String, Section)>, String> {
    let mut out: Vec<(String, Section)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: unterminated section header", n + 1))?;
            out.push((name.trim().to_owned(), Section::new()));
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = value`", n + 1))?;
        let Some((_, section)) = out.last_mut() else {
            return Err(format!("line {}: a key outside any section", n + 1));
        };
        section.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    Ok(out)
}

fn read_ini(path: &Path, identity: &str) -> Result<Option<Vec<(String, Section)>>, AwsAuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AwsAuthError::Malformed {
                identity: identity.to_owned(),
                path: path.to_owned(),
                problem: e.kind().to_string(),
            });
        }
    };
    parse_ini(&text)
        .map(Some)
        .map_err(|problem| AwsAuthError::Malformed {
            identity: identity.to_owned(),
            path: path.to_owned(),
            problem,
        })
}

fn read_profile(path: &Path, identity: &str) -> Result<Option<Section>, AwsAuthError> {
    let want = if identity == "default" {
        "default".to_owned()
    } else {
        format!("profile {identity}")
    };
    Ok(read_ini(path, identity)?.and_then(|secs| {
        secs.into_iter()
            .find(|(n, _)| *n == want || n == identity)
            .map(|(_, s)| s)
    }))
}

/// The cached session of `identity` in a credentials file, if there is one.
fn read_cached(path: &Path, identity: &str) -> Result<Option<Credentials>, AwsAuthError> {
    let Some(sections) = read_ini(path, identity)? else {
        return Ok(None);
    };
    let Some((_, s)) = sections.into_iter().find(|(n, _)| n == identity) else {
        return Ok(None);
    };
    let malformed = |problem: &str| AwsAuthError::Malformed {
        identity: identity.to_owned(),
        path: path.to_owned(),
        problem: problem.to_owned(),
    };
    let id = s
        .get("aws_access_key_id")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed("section has no `aws_access_key_id`"))?;
    let secret = s
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed("section has no `aws_secret_access_key`"))?;
    let token = s
        .get("aws_session_token")
        .filter(|v| !v.is_empty())
        .cloned();
    let mut expiry = None;
    for k in [
        "aws_credential_expiration",
        "x_security_token_expires",
        "expiration",
    ] {
        if let Some(raw) = s.get(k).filter(|v| !v.is_empty()) {
            let at = chrono::DateTime::parse_from_rfc3339(raw)
                .map_err(|_| malformed(&format!("`{k}` is not an RFC 3339 time")))?;
            let at: SystemTime = at.with_timezone(&chrono::Utc).into();
            if at <= SystemTime::now() {
                return Err(AwsAuthError::Expired {
                    identity: identity.to_owned(),
                    path: path.to_owned(),
                    expired: raw.clone(),
                });
            }
            expiry = Some(at);
            break;
        }
    }
    Ok(Some(Credentials::new(
        id.clone(),
        secret.clone(),
        token,
        expiry,
        "atmos-auth-file",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_upstreams_order() {
        let auth = crate::auth::auth_from_yaml(
            "providers:\n  p1: {kind: aws/iam-identity-center, spec: {endpoint_url: http://provider-spec}}\n  p2: {kind: aws/iam-identity-center, spec: {aws: {resolver: {url: http://provider-legacy}}}}\nidentities:\n  both: {kind: aws/user, spec: {endpoint_url: http://spec}, credentials: {aws: {resolver: {url: http://legacy}}}, endpoint_url: http://top}\n  legacy: {kind: aws/user, credentials: {aws: {resolver: {url: http://legacy}}}, endpoint_url: http://top}\n  viap1: {kind: aws/permission-set, via: {provider: p1}, endpoint_url: http://top}\n  viap2: {kind: aws/permission-set, via: {provider: p2}}\n  top: {kind: aws/user, endpoint_url: http://top}\n  empty: {kind: aws/user, spec: {endpoint_url: ''}}\n",
        );
        let at = |i: &str| endpoint_url(&auth, i);
        assert_eq!(at("both").as_deref(), Some("http://spec"));
        assert_eq!(at("legacy").as_deref(), Some("http://legacy"));
        assert_eq!(at("viap1").as_deref(), Some("http://provider-spec"));
        assert_eq!(at("viap2").as_deref(), Some("http://provider-legacy"));
        assert_eq!(at("top").as_deref(), Some("http://top"));
        assert_eq!(at("empty"), None);
        assert_eq!(at("nobody"), None);
    }

    #[test]
    fn ini_errors_name_lines_not_values() {
        let e = parse_ini("[a]\naws_access_key_id = AKIA-SECRET-ish\nthis-line-is-garbage\n")
            .unwrap_err();
        assert_eq!(e, "line 3: expected `key = value`");
        let e = parse_ini("aws_secret_access_key = s3cr3t\n").unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
        let ok = parse_ini("# c\n[profile x]\nregion = us-west-2\n[y]\n").unwrap();
        assert_eq!(ok[0].1.get("region").map(String::as_str), Some("us-west-2"));
        assert_eq!(ok[1].0, "y");
    }

    #[test]
    fn expired_sessions_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("credentials");
        std::fs::write(
            &p,
            "[dev]\naws_access_key_id=A\naws_secret_access_key=B\naws_session_token=C\naws_credential_expiration=2001-01-01T00:00:00Z\n",
        )
        .unwrap();
        assert!(matches!(
            read_cached(&p, "dev"),
            Err(AwsAuthError::Expired { .. })
        ));
        std::fs::write(
            &p,
            "[dev]\naws_access_key_id=A\naws_secret_access_key=B\nexpiration=2999-01-01T00:00:00Z\n",
        )
        .unwrap();
        let c = read_cached(&p, "dev").unwrap().unwrap();
        assert_eq!(c.access_key_id(), "A");
        assert!(read_cached(&p, "other").unwrap().is_none());
        std::fs::write(&p, "[dev]\naws_access_key_id=A\n").unwrap();
        assert!(matches!(
            read_cached(&p, "dev"),
            Err(AwsAuthError::Malformed { .. })
        ));
    }
}
