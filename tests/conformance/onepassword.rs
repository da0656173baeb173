//! `onepassword` (Connect): the wire fake proven with 1Password's official Python Connect SDK,
//! the conformance suite against that fake, and the reference addressing, item layout and
//! delete semantics of docs/backends/onepassword.md read back from the fake's state.

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::secrets::Coordinate;
use atmos_secrets::store::BuildEnv;
use atmos_secrets::store::onepassword::OnePasswordStore;
use atmos_secrets::store::{BoxFuture, Capabilities, Store, StoreError, get_one};

use super::fakes::{self, Fake};
use super::suite::{self, block, coord};

fn store(fake: &Fake, token: &str) -> OnePasswordStore {
    let cfg = StoreConfig {
        name: "op".into(),
        kind: StoreKind::OnePassword,
        secret: true,
        identity: None,
        options: fakes::options(&format!(
            "mode: connect\nconnect_host: {}\nconnect_token: {token}\nvault: CI Vault\n",
            fake.url
        )),
    };
    OnePasswordStore::build(&cfg, &BuildEnv::default()).unwrap()
}

fn start() -> Option<Fake> {
    fakes::start(
        "onepassword_connect.py",
        &[
            "--token",
            "good",
            "--deny-token",
            "denied",
            "--vault",
            "CI Vault",
        ],
        false,
    )
}

/// Gives every coordinate a reference, as a declaration's rendered `reference` would:
/// item `<stack>.<component>` (`/` → `.`), field = the name.
struct Referenced(OnePasswordStore);

fn referenced(c: &Coordinate) -> Coordinate {
    let item = format!("{}.{}", c.stack, c.component.replace('/', "."));
    Coordinate {
        key: format!("op://CI Vault/item-{item}/{}", c.key),
        ..c.clone()
    }
}

impl Store for Referenced {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn kind(&self) -> &str {
        self.0.kind()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn get_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<Option<SecretValue>, StoreError>>> {
        Box::pin(async move {
            let keys: Vec<Coordinate> = keys.iter().map(referenced).collect();
            self.0.get_many(&keys).await
        })
    }
    fn set<'a>(
        &'a self,
        key: &'a Coordinate,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.0.set(&referenced(key), value).await })
    }
    fn delete<'a>(&'a self, key: &'a Coordinate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.0.delete(&referenced(key)).await })
    }
    fn exists_many<'a>(
        &'a self,
        keys: &'a [Coordinate],
    ) -> BoxFuture<'a, Vec<Result<bool, StoreError>>> {
        Box::pin(async move {
            let keys: Vec<Coordinate> = keys.iter().map(referenced).collect();
            self.0.exists_many(&keys).await
        })
    }
    fn describe_key(&self, key: &Coordinate) -> String {
        self.0.describe_key(&referenced(key))
    }
}

#[test]
fn official_client_agrees_with_the_fake() {
    let Some(fake) = start() else { return };
    let Some(n) = fake.check_with_official_client(
        "onepasswordconnectsdk",
        "check_onepassword_connect.py",
        &["good", "denied"],
    ) else {
        return;
    };
    assert!(n >= 10, "{n} checks");
}

#[test]
fn conformance() {
    let Some(fake) = start() else { return };
    suite::run(&Referenced(store(&fake, "good")), &suite::Expect::default());
}

#[test]
fn references_items_and_fields_in_the_fake() {
    let Some(fake) = start() else { return };
    let s = store(&fake, "good");
    let template =
        |scope_part: &str| format!("op://CI Vault/app-{{{{ .atmos_stack }}}}{scope_part}");
    // Instance: section = component; stack: no section; global: default vault + item/field.
    let inst = Coordinate {
        key: template("/{{ .atmos_component }}/DB_PASSWORD"),
        ..coord("plat-ue2-dev", "api", "")
    };
    let stack = Coordinate {
        key: template("/DB_PASSWORD"),
        ..coord("plat-ue2-dev", "", "")
    };
    let global = Coordinate {
        key: "shared/LICENSE".into(),
        ..coord("", "", "")
    };
    assert_eq!(
        s.describe_key(&inst),
        "op://CI Vault/app-plat-ue2-dev/api/DB_PASSWORD"
    );
    assert_eq!(s.describe_key(&global), "op://CI Vault/shared/LICENSE");
    block(s.set(&inst, &SecretValue::text("i-value"))).unwrap();
    block(s.set(&stack, &SecretValue::text("s-value"))).unwrap();
    block(s.set(&global, &SecretValue::json(serde_json::json!({"k": 1})))).unwrap();
    let state = fake.state();
    let app = &state["CI Vault"]["app-plat-ue2-dev"];
    assert_eq!(app["category"], "API_CREDENTIAL");
    let fields = app["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2);
    let section_id = fields[0]["section"].as_str().unwrap();
    assert_eq!(app["sections"][section_id], "api");
    assert_eq!(fields[0]["label"], "DB_PASSWORD");
    assert_eq!(fields[0]["type"], "CONCEALED");
    assert_eq!(fields[0]["value"], "i-value"); // strings verbatim
    assert_eq!(fields[1]["section"], serde_json::Value::Null);
    assert_eq!(fields[1]["value"], "s-value");
    assert_eq!(
        state["CI Vault"]["shared"]["fields"][0]["value"],
        r#"{"k":1}"#
    ); // else JSON
    assert_eq!(
        block(get_one(&s, &global)).unwrap().unwrap().expose(),
        &serde_json::json!({"k": 1})
    );
    // Delete removes the field; the item goes when no field holds a value.
    block(s.delete(&inst)).unwrap();
    let app = &fake.state()["CI Vault"]["app-plat-ue2-dev"];
    assert_eq!(app["fields"].as_array().unwrap().len(), 1);
    block(s.delete(&stack)).unwrap();
    assert!(fake.state()["CI Vault"].get("app-plat-ue2-dev").is_none());
    // Missing item or field: a no-op.
    block(s.delete(&stack)).unwrap();
}

#[test]
fn bad_references_are_clear_errors() {
    let Some(fake) = start() else { return };
    let s = store(&fake, "good");
    for (key, want) in [
        ("op://CI Vault/only-two", "3 or 4 segments"),
        ("op://CI Vault/a/b/c/d", "3 or 4 segments"),
        ("   ", "empty"),
    ] {
        let c = Coordinate {
            key: key.into(),
            ..coord("dev", "api", "")
        };
        let e = block(get_one(&s, &c)).unwrap_err().to_string();
        assert!(e.contains("op") && e.contains(want), "{key}: {e}");
    }
}
