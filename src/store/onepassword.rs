//! Owns the `onepassword` store (spec §1.1, §3.2, §3.4): secret references
//! `op://vault/item[/section]/field`, rendered per coordinate from the key template
//! (`{{ .atmos_stack }}`, `{{ .atmos_component }}`; empty for stack/global scope) with
//! `options.vault` as the default vault.
//!
//! Two ways to reach 1Password (`options.mode`, checked at first use):
//! - `connect`: a Connect server's REST API (`connect_host`/`connect_token`, else
//!   `OP_CONNECT_HOST`/`OP_CONNECT_TOKEN`) over reqwest.
//! - `service-account`: the 1Password CLI `op` (on `PATH`, or `ATMOS_OP_CLI`) run as a
//!   subprocess with the token (`token`, else `OP_SERVICE_ACCOUNT_TOKEN`) in its environment,
//!   never in argv; values travel over pipes only. Without `op` the error says how to install
//!   it. See docs/backends/onepassword.md for why there is no in-process service-account client.
//! - `auto` (default): Connect when host and token are set, else a service account.
//!
//! Values: strings verbatim, anything else JSON; read JSON-or-raw. Set creates the item
//! (category API Credential) and a concealed field (in its section) as needed; delete removes the
//! field and the item once no field holds a value; a missing item or field is a no-op.
//! Bounded: connect 5 s, request 15 s; reads retry twice on transport errors and 5xx.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::keyed::KeyedBackend;
use super::per_runtime::PerRuntime;
use super::{Capabilities, Store, StoreError, keys};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::{SecretString, SecretValue};
use crate::secrets::Coordinate;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const READ_RETRIES: u32 = 2;
const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed secret reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Vault name or id.
    pub vault: String,
    /// Item title or id.
    pub item: String,
    /// Section label or id, if given.
    pub section: Option<String>,
    /// Field label or id.
    pub field: String,
}

impl Reference {
    /// Parses a normalized `op://…` reference (see `keys::onepassword_reference`).
    pub fn parse(full: &str) -> Option<Self> {
        let parts: Vec<&str> = full.strip_prefix("op://")?.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        match parts.as_slice() {
            [v, i, f] => Some(Self {
                vault: (*v).into(),
                item: (*i).into(),
                section: None,
                field: (*f).into(),
            }),
            [v, i, s, f] => Some(Self {
                vault: (*v).into(),
                item: (*i).into(),
                section: Some((*s).into()),
                field: (*f).into(),
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Auto,
    Connect,
    ServiceAccount,
}

/// How this store talks to 1Password, decided at first use.
enum Backend {
    Connect {
        host: String,
        token: SecretString,
        http: reqwest::Client,
    },
    Cli {
        op: PathBuf,
        token: SecretString,
    },
}

/// The `onepassword` store.
pub struct OnePasswordStore {
    cfg: StoreConfig,
    mode: Mode,
    default_vault: Option<String>,
    backend: PerRuntime<Backend>,
    /// Vault name → id (Connect).
    vault_ids: Mutex<HashMap<String, String>>,
}

/// A 1Password failure, before it gets the store and key attached.
struct Failure {
    message: String,
    hint: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

fn is_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn scim_eq(attr: &str, value: &str) -> String {
    format!(
        "{attr} eq \"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Encodes a value the way 1Password holds it: strings verbatim, else JSON.
fn encode(value: &SecretValue) -> Result<Zeroizing<String>, serde_json::Error> {
    Ok(Zeroizing::new(match value.expose() {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other)?,
    }))
}

/// The index of the field a reference names in an item's JSON (Connect and `op` share the shape:
/// `sections[] {id,label}`, `fields[] {id,label,section{id},value}`). Without a section in the
/// reference, a field outside any section wins; like `op read`, reads then fall back to a field
/// of that name in any section, while writes (`any_section: false`) do not, so a stack-scoped
/// `op://v/item/F` never overwrites an instance-scoped `op://v/item/component/F`.
fn find_field(item: &Value, r: &Reference, any_section: bool) -> Option<usize> {
    let fields = item.get("fields")?.as_array()?;
    let named = |f: &Value| {
        f.get("label").and_then(Value::as_str) == Some(r.field.as_str())
            || f.get("id").and_then(Value::as_str) == Some(r.field.as_str())
    };
    let section_of = |f: &Value| {
        f.get("section")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(section) = &r.section else {
        return fields
            .iter()
            .position(|f| named(f) && section_of(f).is_none())
            .or_else(|| any_section.then(|| fields.iter().position(named)).flatten());
    };
    let section_id = item
        .get("sections")
        .and_then(Value::as_array)
        .and_then(|secs| {
            secs.iter().find(|sec| {
                sec.get("label").and_then(Value::as_str) == Some(section)
                    || sec.get("id").and_then(Value::as_str) == Some(section)
            })
        })
        .and_then(|sec| sec.get("id").and_then(Value::as_str))?
        .to_owned();
    fields
        .iter()
        .position(|f| named(f) && section_of(f).as_deref() == Some(section_id.as_str()))
}

fn field_value(item: &Value, r: &Reference) -> Option<Zeroizing<String>> {
    let i = find_field(item, r, true)?;
    let v = item["fields"][i].get("value")?.as_str()?;
    (!v.is_empty()).then(|| Zeroizing::new(v.to_owned()))
}

/// Puts `value` into the field `r` names, adding the section and a concealed field as needed.
fn put_field(item: &mut Value, r: &Reference, value: &str) {
    if let Some(i) = find_field(item, r, false) {
        item["fields"][i]["value"] = Value::String(value.to_owned());
        return;
    }
    let mut field = json!({"label": r.field, "type": "CONCEALED", "value": value});
    if let Some(section) = &r.section {
        let sections = item
            .as_object_mut()
            .map(|o| o.entry("sections").or_insert_with(|| json!([])));
        if let Some(Value::Array(secs)) = sections {
            let existing = secs.iter().find_map(|s| {
                (s.get("label").and_then(Value::as_str) == Some(section)
                    || s.get("id").and_then(Value::as_str) == Some(section))
                .then(|| s.get("id").and_then(Value::as_str).map(str::to_owned))
                .flatten()
            });
            let id = existing.unwrap_or_else(|| {
                let id = section_id(section);
                secs.push(json!({"id": id, "label": section}));
                id
            });
            field["section"] = json!({"id": id});
        }
    }
    if let Some(obj) = item.as_object_mut() {
        match obj.entry("fields").or_insert_with(|| json!([])) {
            Value::Array(fields) => fields.push(field),
            other => *other = json!([field]),
        }
    }
}

/// A section id derived from its label (stable, `[a-z0-9_]`).
fn section_id(label: &str) -> String {
    let id: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() { "section".into() } else { id }
}

/// Whether any field of the item still holds a value.
fn has_values(item: &Value) -> bool {
    item.get("fields")
        .and_then(Value::as_array)
        .is_some_and(|fs| {
            fs.iter().any(|f| {
                f.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
            })
        })
}

impl OnePasswordStore {
    /// Builds the store; credentials are resolved at first use (spec §1.1).
    pub fn build(cfg: &StoreConfig, _env: &super::BuildEnv) -> Result<Self, StoreError> {
        let mode = match option_str(&cfg.options, "mode") {
            None | Some("auto") => Mode::Auto,
            Some("connect") => Mode::Connect,
            Some("service-account") => Mode::ServiceAccount,
            Some(other) => {
                return Err(StoreError::Config {
                    store: cfg.name.clone(),
                    message: format!(
                        "unknown 1Password mode `{other}` (expected auto, connect, or service-account)"
                    ),
                    hint: Some("set `options.mode` to auto, connect or service-account".into()),
                });
            }
        };
        Ok(Self {
            cfg: cfg.clone(),
            mode,
            default_vault: option_str(&cfg.options, "vault").map(str::to_owned),
            backend: PerRuntime::default(),
            vault_ids: Mutex::new(HashMap::new()),
        })
    }

    /// The normalized reference of a coordinate: the key rendered as a template, then
    /// `keys::onepassword_reference`.
    fn reference(&self, key: &Coordinate) -> Result<String, StoreError> {
        let ctx = crate::template::Context::coordinate(&key.stack, &key.component);
        let rendered = if key.key.contains("{{") {
            crate::template::render(&key.key, &ctx, &format!("stores.{}", self.cfg.name)).map_err(
                |e| StoreError::Config {
                    store: self.cfg.name.clone(),
                    message: format!("invalid 1Password secret reference `{}`: {e}", key.key),
                    hint: Some(
                        "use `{{ .atmos_stack }}` and `{{ .atmos_component }}` in the reference"
                            .into(),
                    ),
                },
            )?
        } else {
            key.key.clone()
        };
        keys::onepassword_reference(&rendered, self.default_vault.as_deref()).map_err(|e| {
            StoreError::Config {
                store: self.cfg.name.clone(),
                message: e.to_string(),
                hint: Some(
                    "write `reference: op://<vault>/<item>[/<section>]/<field>` or set `options.vault`"
                        .into(),
                ),
            }
        })
    }

    fn parsed(&self, key: &Coordinate) -> Result<Reference, StoreError> {
        let full = self.physical_key(key)?;
        Reference::parse(&full).ok_or_else(|| StoreError::Config {
            store: self.cfg.name.clone(),
            message: format!("invalid 1Password secret reference `{full}`: empty segment"),
            hint: Some("write `op://<vault>/<item>[/<section>]/<field>`".into()),
        })
    }

    fn fail(&self, key: &Coordinate, f: Failure) -> StoreError {
        StoreError::Backend {
            store: self.cfg.name.clone(),
            key: self.describe_key(key),
            message: f.message,
            hint: f.hint,
            exit_code: code::FAILURE,
        }
    }

    async fn backend(&self) -> Result<std::sync::Arc<Backend>, Failure> {
        self.backend
            .get_or_try_init(|| async { self.choose() })
            .await
    }

    fn choose(&self) -> Result<Backend, Failure> {
        use crate::env::{self, var};
        let opt = |k: &str| option_str(&self.cfg.options, k).map(str::to_owned);
        let host = opt("connect_host").or_else(|| var(env::OP_CONNECT_HOST));
        let connect_token = opt("connect_token").or_else(|| var(env::OP_CONNECT_TOKEN));
        let sa_token = opt("token").or_else(|| var(env::OP_SERVICE_ACCOUNT_TOKEN));
        let connect = |host: String, token: String| -> Result<Backend, Failure> {
            let http = reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .map_err(|e| Failure::new(format!("cannot set up HTTP: {e}"), "report this"))?;
            Ok(Backend::Connect {
                host: host.trim_end_matches('/').to_owned(),
                token: SecretString::new(token),
                http,
            })
        };
        let service_account = |token: String| -> Result<Backend, Failure> {
            let op = var(env::ATMOS_OP_CLI).map(PathBuf::from).or_else(|| {
                var(env::PATH).and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("op"))
                        .find(|p| p.is_file())
                })
            });
            match op {
                Some(op) => Ok(Backend::Cli {
                    op,
                    token: SecretString::new(token),
                }),
                None => Err(Failure::new(
                    "service-account mode needs the 1Password CLI `op`, which is not installed (not on PATH, ATMOS_OP_CLI unset)",
                    "install 1Password CLI 2.x (https://developer.1password.com/docs/cli/get-started/) or use a Connect server (`connect_host`/`connect_token`, mode: connect)",
                )),
            }
        };
        match (self.mode, host, connect_token, sa_token) {
            (Mode::Connect | Mode::Auto, Some(h), Some(t), _) => connect(h, t),
            (Mode::Connect, ..) => Err(Failure::new(
                "Connect mode needs a host and a token",
                "set `options.connect_host`/`connect_token` or OP_CONNECT_HOST/OP_CONNECT_TOKEN",
            )),
            (Mode::ServiceAccount | Mode::Auto, _, _, Some(t)) => service_account(t),
            (Mode::ServiceAccount, ..) => Err(Failure::new(
                "service-account mode needs a token",
                "set OP_SERVICE_ACCOUNT_TOKEN (or `options.token`)",
            )),
            (Mode::Auto, ..) => Err(Failure::new(
                "no 1Password credentials found: neither a Connect host and token nor a service-account token is set",
                "set OP_CONNECT_HOST and OP_CONNECT_TOKEN (Connect) or OP_SERVICE_ACCOUNT_TOKEN (service account)",
            )),
        }
    }

    async fn read_item(&self, r: &Reference) -> Result<Option<Value>, Failure> {
        let backend = self.backend().await?;
        match &*backend {
            Backend::Connect { host, token, http } => {
                let Some(vault) = self.vault_id(host, token, http, &r.vault).await? else {
                    return Err(vault_missing(&r.vault));
                };
                connect_item(host, token, http, &vault, &r.item).await
            }
            Backend::Cli { op, token } => cli_item(op, token, r).await,
        }
    }

    async fn vault_id(
        &self,
        host: &str,
        token: &SecretString,
        http: &reqwest::Client,
        vault: &str,
    ) -> Result<Option<String>, Failure> {
        if let Some(id) = self
            .vault_ids
            .lock()
            .ok()
            .and_then(|m| m.get(vault).cloned())
        {
            return Ok(Some(id));
        }
        let mut found = None;
        if is_id(vault)
            && let Some(v) =
                connect_get(http, token, &format!("{host}/v1/vaults/{vault}"), &[]).await?
        {
            found = v.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        if found.is_none() {
            let list = connect_get(
                http,
                token,
                &format!("{host}/v1/vaults"),
                &[("filter", scim_eq("name", vault))],
            )
            .await?
            .unwrap_or(Value::Null);
            let ids: Vec<String> = list
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            match ids.as_slice() {
                [] => {}
                [one] => found = Some(one.clone()),
                _ => {
                    return Err(Failure::new(
                        format!("{} vaults are named `{vault}`", ids.len()),
                        "use the vault's id in the reference",
                    ));
                }
            }
        }
        if let (Some(id), Ok(mut m)) = (&found, self.vault_ids.lock()) {
            m.insert(vault.to_owned(), id.clone());
        }
        Ok(found)
    }
}

fn vault_missing(vault: &str) -> Failure {
    Failure::new(
        format!("vault `{vault}` does not exist or is not shared with this token"),
        "check the vault in the reference (or `options.vault`) and the token's vault access",
    )
}

fn status_failure(status: reqwest::StatusCode, body: &str) -> Failure {
    let msg = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    match status.as_u16() {
        401 => Failure::new(
            format!("the Connect token was rejected (401 {msg})"),
            "set a valid OP_CONNECT_TOKEN (or `options.connect_token`)",
        ),
        403 => Failure::new(
            format!("permission denied (403 {msg})"),
            "give the Connect token access to the vault",
        ),
        s => Failure::new(
            format!("the Connect server answered HTTP {s} ({msg})"),
            "check `connect_host` and the Connect server's logs",
        ),
    }
}

fn transport_failure(e: &reqwest::Error) -> Failure {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let url = e
        .url()
        .map(|u| format!("{}://{}", u.scheme(), u.authority()))
        .unwrap_or_default();
    Failure::new(
        format!("1Password Connect at {url}: {what}"),
        "check `connect_host` / OP_CONNECT_HOST and that the Connect server is running",
    )
}

/// GET with bounded retries on transport errors and 5xx; 404 → `None`.
async fn connect_get(
    http: &reqwest::Client,
    token: &SecretString,
    url: &str,
    query: &[(&str, String)],
) -> Result<Option<Value>, Failure> {
    let mut attempt = 0;
    loop {
        let sent = http
            .get(url)
            .query(query)
            .bearer_auth(token.expose())
            .send()
            .await;
        let retry = match sent {
            Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
            Ok(resp) if resp.status().is_success() => {
                let bytes = Zeroizing::new(
                    resp.bytes()
                        .await
                        .map_err(|e| transport_failure(&e))?
                        .to_vec(),
                );
                return serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                    Failure::new(
                        "the Connect server sent an unreadable answer",
                        "check `connect_host`",
                    )
                });
            }
            Ok(resp) if resp.status().is_server_error() && attempt < READ_RETRIES => true,
            Ok(resp) => {
                let status = resp.status();
                return Err(status_failure(
                    status,
                    &resp.text().await.unwrap_or_default(),
                ));
            }
            Err(e) if (e.is_connect() || e.is_timeout()) && attempt < READ_RETRIES => true,
            Err(e) => return Err(transport_failure(&e)),
        };
        debug_assert!(retry);
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
}

async fn connect_send(
    http: &reqwest::Client,
    token: &SecretString,
    method: reqwest::Method,
    url: &str,
    item: &Value,
) -> Result<Value, Failure> {
    let body =
        Zeroizing::new(serde_json::to_vec(item).map_err(|e| Failure::new(e.to_string(), ""))?);
    let resp = http
        .request(method, url)
        .bearer_auth(token.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| transport_failure(&e))?;
    let status = resp.status();
    let bytes = Zeroizing::new(
        resp.bytes()
            .await
            .map_err(|e| transport_failure(&e))?
            .to_vec(),
    );
    if !status.is_success() {
        return Err(status_failure(status, &String::from_utf8_lossy(&bytes)));
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn connect_delete(
    http: &reqwest::Client,
    token: &SecretString,
    url: &str,
) -> Result<(), Failure> {
    let resp = http
        .delete(url)
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| transport_failure(&e))?;
    let status = resp.status();
    if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(status_failure(
            status,
            &resp.text().await.unwrap_or_default(),
        ))
    }
}

/// The full item (with field values) by id or title; `None` when there is none.
async fn connect_item(
    host: &str,
    token: &SecretString,
    http: &reqwest::Client,
    vault: &str,
    item: &str,
) -> Result<Option<Value>, Failure> {
    if is_id(item)
        && let Some(v) = connect_get(
            http,
            token,
            &format!("{host}/v1/vaults/{vault}/items/{item}"),
            &[],
        )
        .await?
    {
        return Ok(Some(v));
    }
    let list = connect_get(
        http,
        token,
        &format!("{host}/v1/vaults/{vault}/items"),
        &[("filter", scim_eq("title", item))],
    )
    .await?
    .unwrap_or(Value::Null);
    let ids: Vec<&str> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    match ids.as_slice() {
        [] => Ok(None),
        [id] => {
            connect_get(
                http,
                token,
                &format!("{host}/v1/vaults/{vault}/items/{id}"),
                &[],
            )
            .await
        }
        _ => Err(Failure::new(
            format!("{} items are titled `{item}`", ids.len()),
            "use the item's id in the reference, or rename the duplicates",
        )),
    }
}

/// Runs `op` with the token in its environment and `input` (JSON) on stdin; returns stdout.
async fn run_op(
    op: &std::path::Path,
    token: &SecretString,
    args: &[&str],
    input: Option<&Value>,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(op);
    cmd.args(args)
        .env(crate::env::OP_SERVICE_ACCOUNT_TOKEN, token.expose())
        .stdin(if input.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Failure::new(
            format!("cannot run `{}`: {e}", op.display()),
            "install 1Password CLI 2.x or set ATMOS_OP_CLI to its path",
        )
    })?;
    if let (Some(json), Some(mut stdin)) = (input, child.stdin.take()) {
        let bytes =
            Zeroizing::new(serde_json::to_vec(json).map_err(|e| Failure::new(e.to_string(), ""))?);
        stdin.write_all(&bytes).await.map_err(|e| {
            Failure::new(
                format!("cannot write to `op`: {e}"),
                "check the 1Password CLI",
            )
        })?;
    }
    let out = tokio::time::timeout(OP_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            Failure::new(
                format!(
                    "`op {}` timed out after {OP_TIMEOUT:?}",
                    args[..2].join(" ")
                ),
                "check the network and the 1Password CLI",
            )
        })?
        .map_err(|e| Failure::new(format!("`op` failed: {e}"), "check the 1Password CLI"))?;
    let stdout = Zeroizing::new(out.stdout);
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(Failure {
        message: format!("`op {}` failed: {first}", args[..2].join(" ")),
        hint: Some(if first.contains("authoriz") || first.contains("token") {
            "check OP_SERVICE_ACCOUNT_TOKEN and the service account's vault access".into()
        } else {
            "check the reference and the service account's vault access".into()
        }),
    })
}

fn op_not_found(f: &Failure) -> bool {
    let m = f.message.to_ascii_lowercase();
    m.contains("isn't an item")
        || m.contains("isn't a field")
        || m.contains("not found")
        || m.contains("could not find")
}

async fn cli_item(
    op: &std::path::Path,
    token: &SecretString,
    r: &Reference,
) -> Result<Option<Value>, Failure> {
    match run_op(
        op,
        token,
        &[
            "item", "get", &r.item, "--vault", &r.vault, "--format", "json", "--reveal",
        ],
        None,
    )
    .await
    {
        Ok(out) => serde_json::from_slice(&out).map(Some).map_err(|_| {
            Failure::new(
                "`op item get` printed unreadable JSON",
                "check the 1Password CLI version (2.x)",
            )
        }),
        Err(f) if op_not_found(&f) => Ok(None),
        Err(f) => Err(f),
    }
}

async fn cli_read(
    op: &std::path::Path,
    token: &SecretString,
    reference: &str,
) -> Result<Option<Zeroizing<String>>, Failure> {
    match run_op(op, token, &["read", "--no-newline", reference], None).await {
        Ok(out) => Ok(Some(Zeroizing::new(
            String::from_utf8_lossy(&out).into_owned(),
        ))),
        Err(f) if op_not_found(&f) => Ok(None),
        Err(f) => Err(f),
    }
}

impl KeyedBackend for OnePasswordStore {
    /// The client is cached per runtime inside the store.
    type Conn = ();

    const KIND: &'static str = "onepassword";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    fn store_capabilities(&self) -> Capabilities {
        Capabilities {
            concurrency: 4,
            ..Capabilities::default()
        }
    }

    /// The normalized `op://` reference of a coordinate.
    fn physical_key(&self, key: &Coordinate) -> Result<String, StoreError> {
        self.reference(key)
    }

    fn describe(&self, key: &Coordinate) -> String {
        self.physical_key(key).unwrap_or_else(|_| key.key.clone())
    }

    async fn connect(&self, _first: &Coordinate) -> Result<(), StoreError> {
        Ok(())
    }

    async fn get_key(
        &self,
        _conn: &(),
        key: &Coordinate,
    ) -> Result<Option<SecretValue>, StoreError> {
        let r = self.parsed(key)?;
        let backend = self.backend().await.map_err(|f| self.fail(key, f))?;
        if let Backend::Cli { op, token } = &*backend {
            return cli_read(op, token, &self.physical_key(key)?)
                .await
                .map(|v| v.map(|t| SecretValue::from_stored(&t)))
                .map_err(|f| self.fail(key, f));
        }
        let item = self.read_item(&r).await.map_err(|f| self.fail(key, f))?;
        Ok(item
            .as_ref()
            .and_then(|i| field_value(i, &r))
            .map(|t| SecretValue::from_stored(&t)))
    }

    async fn exists_key(&self, _conn: &(), key: &Coordinate) -> Result<bool, StoreError> {
        let r = self.parsed(key)?;
        let item = self.read_item(&r).await.map_err(|f| self.fail(key, f))?;
        Ok(item.as_ref().and_then(|i| field_value(i, &r)).is_some())
    }

    async fn put_key(&self, key: &Coordinate, value: &SecretValue) -> Result<(), StoreError> {
        let r = self.parsed(key)?;
        let text = encode(value).map_err(|e| {
            self.fail(
                key,
                Failure::new(format!("cannot encode the value: {e}"), ""),
            )
        })?;
        let fail = |f| self.fail(key, f);
        let backend = self.backend().await.map_err(fail)?;
        match &*backend {
            Backend::Connect { host, token, http } => {
                let vault = self
                    .vault_id(host, token, http, &r.vault)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| fail(vault_missing(&r.vault)))?;
                match connect_item(host, token, http, &vault, &r.item)
                    .await
                    .map_err(fail)?
                {
                    Some(mut item) => {
                        put_field(&mut item, &r, &text);
                        let id = item["id"].as_str().unwrap_or_default().to_owned();
                        connect_send(
                            http,
                            token,
                            reqwest::Method::PUT,
                            &format!("{host}/v1/vaults/{vault}/items/{id}"),
                            &item,
                        )
                        .await
                        .map_err(fail)?;
                    }
                    None => {
                        let mut item = json!({
                            "title": r.item,
                            "category": "API_CREDENTIAL",
                            "vault": {"id": vault},
                            "fields": [],
                        });
                        put_field(&mut item, &r, &text);
                        connect_send(
                            http,
                            token,
                            reqwest::Method::POST,
                            &format!("{host}/v1/vaults/{vault}/items"),
                            &item,
                        )
                        .await
                        .map_err(fail)?;
                    }
                }
                Ok(())
            }
            Backend::Cli { op, token } => {
                match cli_item(op, token, &r).await.map_err(fail)? {
                    Some(mut item) => {
                        put_field(&mut item, &r, &text);
                        let id = item["id"].as_str().unwrap_or_default().to_owned();
                        run_op(
                            op,
                            token,
                            &["item", "edit", &id, "--vault", &r.vault, "--format", "json"],
                            Some(&item),
                        )
                        .await
                        .map_err(fail)?;
                    }
                    None => {
                        let mut item =
                            json!({"title": r.item, "category": "API_CREDENTIAL", "fields": []});
                        put_field(&mut item, &r, &text);
                        run_op(
                            op,
                            token,
                            &["item", "create", "--vault", &r.vault, "--format", "json"],
                            Some(&item),
                        )
                        .await
                        .map_err(fail)?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn delete_key(&self, key: &Coordinate) -> Result<(), StoreError> {
        let r = self.parsed(key)?;
        let fail = |f| self.fail(key, f);
        let Some(mut item) = self.read_item(&r).await.map_err(fail)? else {
            return Ok(());
        };
        let Some(i) = find_field(&item, &r, false) else {
            return Ok(());
        };
        if let Some(fields) = item.get_mut("fields").and_then(Value::as_array_mut) {
            fields.remove(i);
        }
        let id = item["id"].as_str().unwrap_or_default().to_owned();
        let empty = !has_values(&item);
        let backend = self.backend().await.map_err(fail)?;
        match &*backend {
            Backend::Connect { host, token, http } => {
                let vault = item["vault"]["id"].as_str().unwrap_or_default().to_owned();
                let url = format!("{host}/v1/vaults/{vault}/items/{id}");
                if empty {
                    connect_delete(http, token, &url).await.map_err(fail)
                } else {
                    connect_send(http, token, reqwest::Method::PUT, &url, &item)
                        .await
                        .map_err(fail)
                        .map(drop)
                }
            }
            Backend::Cli { op, token } => {
                if empty {
                    run_op(
                        op,
                        token,
                        &["item", "delete", &id, "--vault", &r.vault],
                        None,
                    )
                    .await
                    .map_err(fail)
                    .map(drop)
                } else {
                    run_op(
                        op,
                        token,
                        &["item", "edit", &id, "--vault", &r.vault, "--format", "json"],
                        Some(&item),
                    )
                    .await
                    .map_err(fail)
                    .map(drop)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let r = Reference::parse("op://Vault/db/dev/password").unwrap();
        assert_eq!(r.section.as_deref(), Some("dev"));
        assert_eq!(Reference::parse("op://V/i/f").unwrap().field, "f");
        assert!(Reference::parse("op://V//f").is_none());
        assert!(Reference::parse("V/i/f").is_none());
    }

    #[test]
    fn fields_are_added_in_their_section_and_found_again() {
        let r = Reference::parse("op://V/item/dev/password").unwrap();
        let mut item = json!({"title": "item", "fields": []});
        put_field(&mut item, &r, "s3cr3t");
        assert_eq!(item["sections"][0]["label"], "dev");
        assert_eq!(item["fields"][0]["type"], "CONCEALED");
        assert_eq!(field_value(&item, &r).unwrap().as_str(), "s3cr3t");
        // Same label, other section: a different field.
        let other = Reference::parse("op://V/item/prod/password").unwrap();
        assert!(field_value(&item, &other).is_none());
        put_field(&mut item, &other, "p");
        assert_eq!(item["fields"].as_array().unwrap().len(), 2);
        put_field(&mut item, &r, "rotated");
        assert_eq!(field_value(&item, &r).unwrap().as_str(), "rotated");
        assert!(has_values(&item));
    }

    #[test]
    fn scim_filters_escape_quotes() {
        assert_eq!(scim_eq("title", r#"a"b"#), r#"title eq "a\"b""#);
    }
}
