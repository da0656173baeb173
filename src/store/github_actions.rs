//! Owns the `github/actions` store, as upstream's (`pkg/store/providers/github_actions_store.go`):
//! GitHub Actions secrets of one repository (or one of its environments).
//!
//! - Names: flat and repo-global, `[PREFIX_]KEY` upper-cased with every character outside
//!   `[A-Z0-9_]` turned into `_`; a name starting with a digit or with `GITHUB_` is refused.
//!   Stack and component do not change the name (every scope maps to the same secret).
//! - Set: the scope's public key (`GET …/secrets/public-key`), the value sealed to it
//!   (libsodium `crypto_box_seal`), `PUT …/secrets/<NAME>` with `encrypted_value` and `key_id`.
//!   Values are written as text (strings verbatim, anything else as JSON).
//! - Exists: `GET …/secrets/<NAME>` (metadata; 404 = not set). Delete: `DELETE` (404 is fine).
//! - Get: GitHub never returns secret values; they are read from the environment variable of the
//!   same name, and only inside a runner (`GITHUB_ACTIONS=true`) or with `options.ci.enabled`.
//! - Scope: `…/repos/<owner>/<repo>/actions/secrets`, or with `options.environment`
//!   `…/repos/<owner>/<repo>/environments/<env>/secrets`. API base: `GITHUB_API_URL` (set in
//!   runners, and for GitHub Enterprise), else `https://api.github.com`.
//! - Token, first match: `options.token`, `ATMOS_GITHUB_TOKEN`, `GITHUB_TOKEN`, `gh auth token`.
//!   It is read on first use; errors never contain it.

use std::time::Duration;

use super::keyed::KeyedBackend;
use super::per_runtime::PerRuntime;
use super::{StoreError, net};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

const DEFAULT_API: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";
/// How long `gh auth token` may take.
const GH_TIMEOUT: Duration = Duration::from_secs(10);

/// The `github/actions` store.
pub struct GithubActionsStore {
    cfg: StoreConfig,
    owner: String,
    repo: String,
    environment: Option<String>,
    prefix: Option<String>,
    ci_enabled: bool,
    api: reqwest::Url,
    timeout: Duration,
    client: PerRuntime<Conn>,
}

/// The HTTP client and the token, resolved once per runtime.
pub struct Conn {
    http: reqwest::Client,
    token: SecretString,
}

/// `[PREFIX_]KEY` as a GitHub secret name, validated as upstream does.
pub fn secret_name(prefix: Option<&str>, key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    let raw = match prefix.filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}_{key}"),
        None => key.to_owned(),
    };
    let name: String = raw
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect();
    if name.starts_with("GITHUB_") {
        return Err(format!(
            "`{name}` is not a valid GitHub secret name (names must not start with the GITHUB_ prefix)"
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "`{name}` is not a valid GitHub secret name (must match [A-Z_][A-Z0-9_]*)"
        ));
    }
    Ok(name)
}

impl GithubActionsStore {
    /// Builds the store from its `stores:` entry. No network I/O, no token lookup.
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let config_err = |message: String, hint: &str| StoreError::Config {
            store: cfg.name.clone(),
            message,
            hint: Some(hint.to_owned()),
        };
        let required = |k: &str| {
            option_str(&cfg.options, k)
                .map(str::to_owned)
                .ok_or_else(|| {
                    config_err(
                        "owner and repo are required in github actions store configuration".into(),
                        "set `options.owner` and `options.repo`",
                    )
                })
        };
        let owner = required("owner")?;
        let repo = required("repo")?;
        for (what, v) in [("owner", &owner), ("repo", &repo)] {
            if v.contains('/') || v.contains(char::is_whitespace) {
                return Err(config_err(
                    format!("`{what}` `{v}` is not a GitHub {what} name"),
                    "write the owner and the repository name separately, e.g. `owner: acme`, `repo: infra`",
                ));
            }
        }
        let raw_api =
            crate::env::var(crate::env::GITHUB_API_URL).unwrap_or_else(|| DEFAULT_API.to_owned());
        let api = reqwest::Url::parse(&format!("{}/", raw_api.trim_end_matches('/')))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                config_err(
                    format!("GITHUB_API_URL `{raw_api}` is not an http(s) URL"),
                    "unset GITHUB_API_URL (api.github.com) or set it to your GitHub API, e.g. https://github.example.com/api/v3",
                )
            })?;
        let ci_enabled = cfg
            .options
            .get("ci")
            .and_then(|c| c.get("enabled"))
            .and_then(crate::yaml::Node::as_bool)
            .unwrap_or(false);
        Ok(Self {
            owner,
            repo,
            environment: option_str(&cfg.options, "environment").map(str::to_owned),
            prefix: option_str(&cfg.options, "prefix").map(str::to_owned),
            ci_enabled,
            api,
            timeout: net::timeout(cfg)?,
            cfg: cfg.clone(),
            client: PerRuntime::default(),
        })
    }

    fn scope_path(&self) -> String {
        match &self.environment {
            Some(e) => format!(
                "repos/{}/{}/environments/{e}/secrets",
                self.owner, self.repo
            ),
            None => format!("repos/{}/{}/actions/secrets", self.owner, self.repo),
        }
    }

    fn url(&self, tail: &str) -> Result<reqwest::Url, StoreError> {
        self.api
            .join(&format!("{}/{tail}", self.scope_path()))
            .map_err(|e| StoreError::Config {
                store: self.cfg.name.clone(),
                message: format!("cannot form the API URL: {e}"),
                hint: Some("check `owner`, `repo` and `environment`".into()),
            })
    }

    fn err(&self, name: &str, message: String, hint: Option<String>) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: name.to_owned(),
            message,
            hint,
            exit_code: code::FAILURE,
        }
    }

    fn where_(&self) -> String {
        match &self.environment {
            Some(e) => format!("{}/{} environment `{e}`", self.owner, self.repo),
            None => format!("{}/{}", self.owner, self.repo),
        }
    }

    /// Sends a request; transport failures and non-2xx answers (other than 404 when `missing_ok`)
    /// become errors naming the store and the secret.
    async fn send(
        &self,
        conn: &Conn,
        name: &str,
        op: &str,
        req: reqwest::RequestBuilder,
        missing_ok: bool,
    ) -> Result<Option<reqwest::Response>, StoreError> {
        let resp = req
            .bearer_auth(conn.token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header("User-Agent", "atmos-secrets")
            .send()
            .await
            .map_err(|e| {
                let kind = net::classify(&e);
                let (msg, hint) =
                    net::describe(kind, "the GitHub API", self.api.as_str(), self.timeout);
                self.err(name, format!("{op}: {msg}"), Some(hint))
            })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(Some(resp));
        }
        if status == 404 && missing_ok {
            return Ok(None);
        }
        let body = resp.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let detail = net::redact(&detail, &[conn.token.expose()]);
        let hint = match status {
            401 => "the GitHub token was rejected: set `options.token`, ATMOS_GITHUB_TOKEN or GITHUB_TOKEN, or run `gh auth login`".to_owned(),
            403 => "the token needs permission to manage Actions secrets (fine-grained: `Secrets: read and write`; classic: `repo`)".to_owned(),
            404 => format!("check that `{}` exists and the token can see it", self.where_()),
            422 => "GitHub refused the secret; check its name and the repository's secret limits".to_owned(),
            _ => "check GitHub's status and the token's permissions".to_owned(),
        };
        Err(self.err(
            name,
            format!("{op} in {} failed: HTTP {status} {detail}", self.where_()),
            Some(hint),
        ))
    }
}

/// The token chain: `options.token`, `ATMOS_GITHUB_TOKEN`, `GITHUB_TOKEN`, `gh auth token`.
async fn resolve_token(cfg: &StoreConfig) -> Option<SecretString> {
    use crate::env::{self, var};
    if let Some(t) = option_str(&cfg.options, "token")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some(SecretString::new(t.to_owned()));
    }
    for name in [env::ATMOS_GITHUB_TOKEN, env::GITHUB_TOKEN] {
        if let Some(t) = var(name)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
        {
            return Some(SecretString::new(t));
        }
    }
    let child = tokio::process::Command::new("gh")
        .args(["auth", "token"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(GH_TIMEOUT, child).await {
        Ok(Ok(out)) if out.status.success() => {
            let t = String::from_utf8(out.stdout).ok()?.trim().to_owned();
            (!t.is_empty()).then(|| SecretString::new(t))
        }
        _ => None,
    }
}

impl KeyedBackend for GithubActionsStore {
    type Conn = std::sync::Arc<Conn>;

    const KIND: &'static str = "github/actions";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        secret_name(self.prefix.as_deref(), &key.key).map_err(|m| StoreError::Config {
            store: self.cfg.name.clone(),
            message: format!("cannot name secret `{}`: {m}", key.key),
            hint: Some(
                "GitHub secret names are letters, digits and `_`, not starting with a digit or GITHUB_; rename the key or change `options.prefix`".into(),
            ),
        })
    }

    async fn connect(&self, first: &Coordinate) -> Result<Self::Conn, StoreError> {
        self.client
            .get_or_try_init(|| async {
                let token = resolve_token(&self.cfg).await.ok_or_else(|| {
                    self.err(
                        &self.describe(first),
                        "no GitHub token found".into(),
                        Some("set `options.token`, ATMOS_GITHUB_TOKEN or GITHUB_TOKEN, or log in with `gh auth login`".into()),
                    )
                })?;
                let http = reqwest::Client::builder()
                    .connect_timeout(self.timeout)
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| self.err(&self.describe(first), format!("cannot set up HTTPS: {e}"), None))?;
                Ok(Conn { http, token })
            })
            .await
    }

    async fn get_key(
        &self,
        _conn: &Self::Conn,
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let name = self.physical_key(key)?;
        let env_hint = match &self.environment {
            Some(e) => format!(
                "declare `environment: {e}` on the job and map `secrets.{name}` into its `env:`"
            ),
            None => format!("map `secrets.{name}` into the job's `env:`"),
        };
        let in_runner = crate::env::var(crate::ci::GITHUB_ACTIONS).as_deref() == Some("true");
        if !(self.ci_enabled || in_runner) {
            return Err(self.err(
                &name,
                format!("`{name}` is only readable inside a GitHub Actions runner"),
                Some(format!("{env_hint}, or set `options.ci.enabled: true` to read it from the environment here")),
            ));
        }
        match crate::env::var(&name) {
            Some(raw) => Ok(Some(SecretValue::from_stored(&raw))),
            None => Err(self.err(
                &name,
                format!("`{name}` is not in this job's environment"),
                Some(env_hint),
            )),
        }
    }

    async fn exists_key(&self, conn: &Self::Conn, key: &Coordinate) -> Result<bool, StoreError> {
        let name = self.physical_key(key)?;
        let url = self.url(&name)?;
        Ok(self
            .send(
                conn,
                &name,
                "reading the secret's metadata",
                conn.http.get(url),
                true,
            )
            .await?
            .is_some())
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let conn = self.connect(key).await?;
        let pk = self
            .send(
                &conn,
                &name,
                "reading the public key",
                conn.http.get(self.url("public-key")?),
                false,
            )
            .await?
            .ok_or_else(|| self.err(&name, "no public key".into(), None))?;
        let pk: serde_json::Value = pk.json().await.map_err(|e| {
            self.err(
                &name,
                format!("the public key answer is not JSON: {e}"),
                None,
            )
        })?;
        let key_id = pk["key_id"].as_str().unwrap_or_default().to_owned();
        let public = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            pk["key"].as_str().unwrap_or_default(),
        )
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .filter(|_| !key_id.is_empty())
        .ok_or_else(|| {
            self.err(
                &name,
                "GitHub's public key is not a 32-byte base64 key with a key id".into(),
                Some("check GITHUB_API_URL".into()),
            )
        })?;
        let text = value.to_text();
        let sealed = crypto_box::PublicKey::from(public)
            .seal(&mut rand::rngs::OsRng, text.expose().as_bytes())
            .map_err(|_| self.err(&name, "sealing the value failed".into(), None))?;
        let body = serde_json::json!({
            "encrypted_value": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sealed),
            "key_id": key_id,
        });
        self.send(
            &conn,
            &name,
            "writing the secret",
            conn.http.put(self.url(&name)?).json(&body),
            false,
        )
        .await
        .map(|_| ())
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let name = self.physical_key(key)?;
        let conn = self.connect(key).await?;
        self.send(
            &conn,
            &name,
            "deleting the secret",
            conn.http.delete(self.url(&name)?),
            true,
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_upstream() {
        assert_eq!(secret_name(None, "db_password").unwrap(), "DB_PASSWORD");
        assert_eq!(
            secret_name(Some("atmos"), "db-pass.word").unwrap(),
            "ATMOS_DB_PASS_WORD"
        );
        assert!(
            secret_name(None, "github_token")
                .unwrap_err()
                .contains("GITHUB_")
        );
        assert!(
            secret_name(Some("gitHub"), "X")
                .unwrap_err()
                .contains("GITHUB_")
        );
        assert!(secret_name(None, "1X").unwrap_err().contains("[A-Z_]"));
        assert!(secret_name(None, "").is_err());
    }
}
