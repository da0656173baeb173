//! Owns the Connect transport of the `onepassword` store: a Connect server's REST API over
//! reqwest (bounded: connect 5 s, request 15 s; reads retry twice on transport errors and 5xx).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Failure, Reference, Transport};
use crate::secret_value::SecretString;
use crate::store::BoxFuture;

pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const READ_RETRIES: u32 = 2;

/// A Connect server.
pub(super) struct Connect {
    host: String,
    token: SecretString,
    http: reqwest::Client,
    /// Vault name → id.
    vault_ids: Mutex<HashMap<String, String>>,
}

impl Connect {
    /// A client for `host` with `token`; no I/O.
    pub(super) fn new(host: &str, token: String) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Failure::new(format!("cannot set up HTTP: {e}"), "report this"))?;
        Ok(Self {
            host: host.trim_end_matches('/').to_owned(),
            token: SecretString::new(token),
            http,
            vault_ids: Mutex::new(HashMap::new()),
        })
    }

    /// The id of `r`'s vault; an error when there is no such vault.
    async fn vault_of(&self, r: &Reference) -> Result<String, Failure> {
        self.vault_id(&r.vault)
            .await?
            .ok_or_else(|| vault_missing(&r.vault))
    }

    /// The id of a vault named (or identified) `vault`; cached.
    async fn vault_id(&self, vault: &str) -> Result<Option<String>, Failure> {
        let (host, token, http) = (&self.host, &self.token, &self.http);
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

impl Transport for Connect {
    fn item<'a>(&'a self, r: &'a Reference) -> BoxFuture<'a, Result<Option<Value>, Failure>> {
        Box::pin(async move {
            let vault = self.vault_of(r).await?;
            connect_item(&self.host, &self.token, &self.http, &vault, &r.item).await
        })
    }

    fn create<'a>(&'a self, r: &'a Reference, item: Value) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let vault = self.vault_of(r).await?;
            // The vault goes in after the category, as Connect clients write it.
            let mut full = serde_json::Map::default();
            for (k, v) in item.as_object().into_iter().flatten() {
                full.insert(k.clone(), v.clone());
                if k == "category" {
                    full.insert("vault".into(), json!({ "id": vault }));
                }
            }
            let item = Value::Object(full);
            let url = format!("{}/v1/vaults/{vault}/items", self.host);
            connect_send(&self.http, &self.token, reqwest::Method::POST, &url, &item)
                .await
                .map(drop)
        })
    }

    fn update<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let url = self.item_url(r, item).await?;
            connect_send(&self.http, &self.token, reqwest::Method::PUT, &url, item)
                .await
                .map(drop)
        })
    }

    fn delete<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let url = self.item_url(r, item).await?;
            connect_delete(&self.http, &self.token, &url).await
        })
    }
}

impl Connect {
    /// The URL of an item read from this server (its own vault id, else `r`'s vault).
    async fn item_url(&self, r: &Reference, item: &Value) -> Result<String, Failure> {
        let vault = match item["vault"]["id"].as_str() {
            Some(v) if !v.is_empty() => v.to_owned(),
            _ => self.vault_of(r).await?,
        };
        let id = item["id"].as_str().unwrap_or_default();
        Ok(format!("{}/v1/vaults/{vault}/items/{id}", self.host))
    }
}

pub(super) fn is_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub(super) fn scim_eq(attr: &str, value: &str) -> String {
    format!(
        "{attr} eq \"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
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

/// GET with bounded retries on transport errors, 429 (honouring `Retry-After`, capped) and
/// 5xx, each logged at `--logs-level debug`; 404 → `None`.
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
            Ok(resp)
                if (resp.status().is_server_error()
                    || resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS)
                    && attempt < READ_RETRIES =>
            {
                let status = resp.status().as_u16();
                let retry_after =
                    super::super::retry::Transient::from_status(status).and_then(|t| {
                        t.with_retry_after(
                            resp.headers()
                                .get(reqwest::header::RETRY_AFTER)
                                .and_then(|v| v.to_str().ok()),
                        )
                        .retry_after
                    });
                crate::printer::debug(|| {
                    format!(
                        "HTTP {status} from 1Password Connect (read of `{url}`): retry {}/{READ_RETRIES}",
                        attempt + 1
                    )
                });
                if let Some(wait) = retry_after {
                    tokio::time::sleep(wait.min(super::super::retry::MAX_DELAY)).await;
                }
                true
            }
            Ok(resp) => {
                let status = resp.status();
                return Err(status_failure(
                    status,
                    &resp.text().await.unwrap_or_default(),
                ));
            }
            Err(e) if (e.is_connect() || e.is_timeout()) && attempt < READ_RETRIES => {
                crate::printer::debug(|| {
                    format!(
                        "no answer from 1Password Connect (read of `{url}`): retry {}/{READ_RETRIES}",
                        attempt + 1
                    )
                });
                true
            }
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
