//! Owns the `onepassword` store: secret references
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
//!
//! Layout: this file owns references, the item/field layout and the store; the two ways of
//! reaching 1Password implement `Transport`: `connect` (REST) and `cli` (`op`).

mod cli;
mod connect;

use std::path::PathBuf;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::keyed::KeyedBackend;
use super::per_runtime::PerRuntime;
use super::{BoxFuture, Store, StoreError, keys};
use crate::config::{StoreConfig, option_str};
use crate::error::code;
use crate::secret_value::SecretValue;
use crate::secrets::Coordinate;

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

/// How the store reaches 1Password (decided at first use): items in and out, one at a time.
trait Transport: Send + Sync {
    /// The item `r` names (with field values), or `None`.
    fn item<'a>(&'a self, r: &'a Reference) -> BoxFuture<'a, Result<Option<Value>, Failure>>;

    /// The value of the field `r` names (`reference` is its normalized `op://` form), or
    /// `None`. Default: from [`Transport::item`].
    fn read<'a>(
        &'a self,
        r: &'a Reference,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<Zeroizing<String>>, Failure>> {
        let _ = reference;
        Box::pin(async move { Ok(self.item(r).await?.as_ref().and_then(|i| field_value(i, r))) })
    }

    /// Creates `item` (title, category, fields) in `r`'s vault.
    fn create<'a>(&'a self, r: &'a Reference, item: Value) -> BoxFuture<'a, Result<(), Failure>>;

    /// Replaces an item read by [`Transport::item`].
    fn update<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// Deletes an item read by [`Transport::item`].
    fn delete<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>>;
}

/// The `onepassword` store.
pub struct OnePasswordStore {
    cfg: StoreConfig,
    mode: Mode,
    default_vault: Option<String>,
    transport: PerRuntime<Box<dyn Transport>>,
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
    /// Builds the store; credentials are resolved at first use.
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
            transport: PerRuntime::default(),
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

    async fn transport(&self) -> Result<std::sync::Arc<Box<dyn Transport>>, Failure> {
        self.transport
            .get_or_try_init(|| async { self.choose() })
            .await
    }

    fn choose(&self) -> Result<Box<dyn Transport>, Failure> {
        use crate::env::{self, var};
        let opt = |k: &str| option_str(&self.cfg.options, k).map(str::to_owned);
        let host = opt("connect_host").or_else(|| var(env::OP_CONNECT_HOST));
        let connect_token = opt("connect_token").or_else(|| var(env::OP_CONNECT_TOKEN));
        let sa_token = opt("token").or_else(|| var(env::OP_SERVICE_ACCOUNT_TOKEN));
        let connect = |host: String, token: String| -> Result<Box<dyn Transport>, Failure> {
            Ok(Box::new(connect::Connect::new(&host, token)?))
        };
        let service_account = |token: String| -> Result<Box<dyn Transport>, Failure> {
            let op = var(env::ATMOS_OP_CLI).map(PathBuf::from).or_else(|| {
                var(env::PATH).and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("op"))
                        .find(|p| p.is_file())
                })
            });
            match op {
                Some(op) => Ok(Box::new(cli::ServiceAccount::new(op, token))),
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
        self.transport().await?.item(r).await
    }
}

impl KeyedBackend for OnePasswordStore {
    /// The client is cached per runtime inside the store.
    type Conn = ();

    const KIND: &'static str = "onepassword";

    fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    const CONCURRENCY: usize = 4;

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
        let reference = self.physical_key(key)?;
        let transport = self.transport().await.map_err(|f| self.fail(key, f))?;
        Ok(transport
            .read(&r, &reference)
            .await
            .map_err(|f| self.fail(key, f))?
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
        let transport = self.transport().await.map_err(fail)?;
        match transport.item(&r).await.map_err(fail)? {
            Some(mut item) => {
                put_field(&mut item, &r, &text);
                transport.update(&r, &item).await.map_err(fail)
            }
            None => {
                let mut item = json!({"title": r.item, "category": "API_CREDENTIAL", "fields": []});
                put_field(&mut item, &r, &text);
                transport.create(&r, item).await.map_err(fail)
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
        let transport = self.transport().await.map_err(fail)?;
        if has_values(&item) {
            transport.update(&r, &item).await.map_err(fail)
        } else {
            transport.delete(&r, &item).await.map_err(fail)
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
        assert_eq!(connect::scim_eq("title", r#"a"b"#), r#"title eq "a\"b""#);
    }
}
