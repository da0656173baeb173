//! The behaviours. Each backend calls [`run`] with what it is expected to support.

use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::secrets::{Coordinate, Scope};
use atmos_secrets::store::{Store, get_one};

/// A value that must never appear where secrets must not go.
pub const SENTINEL: &str = "sentinel-Zq8w1x";

/// What a backend supports.
pub struct Expect {
    /// Scopes the backend holds (others must be rejected by `check_scope`).
    pub scopes: Vec<Scope>,
    /// Whether structured (JSON object) values round-trip as structures.
    pub structured: bool,
    /// Whether deleting a missing value succeeds.
    pub delete_missing_ok: bool,
    /// The largest text value (bytes) the backend must round-trip; a larger one must fail with
    /// an error that does not carry the value. 64 KiB for most backends.
    pub large_value: usize,
}

impl Default for Expect {
    fn default() -> Self {
        Self {
            scopes: vec![Scope::Instance, Scope::Stack, Scope::Global],
            structured: true,
            delete_missing_ok: true,
            large_value: 64 * 1024,
        }
    }
}

pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub fn coord(stack: &str, component: &str, key: &str) -> Coordinate {
    let scope = match (stack.is_empty(), component.is_empty()) {
        (_, false) => Scope::Instance,
        (false, true) => Scope::Stack,
        (true, true) => Scope::Global,
    };
    Coordinate {
        stack: stack.into(),
        component: component.into(),
        key: key.into(),
        scope,
    }
}

fn get(store: &dyn Store, c: &Coordinate) -> Option<SecretValue> {
    block(get_one(store, c)).unwrap_or_else(|e| panic!("get {}: {e}", store.describe_key(c)))
}

fn set(store: &dyn Store, c: &Coordinate, v: &SecretValue) {
    block(store.set(c, v)).unwrap_or_else(|e| panic!("set {}: {e}", store.describe_key(c)));
}

/// Runs every behaviour against `store`.
pub fn run(store: &dyn Store, expect: &Expect) {
    missing_is_none(store);
    string_round_trip(store);
    scopes_are_distinct(store, expect);
    if expect.structured {
        json_round_trip(store);
    }
    unicode_and_large(store, expect);
    batch_preserves_order(store);
    overwrite_and_delete(store, expect);
    errors_never_carry_values(store);
}

fn missing_is_none(store: &dyn Store) {
    let c = coord("dev", "api", "NEVER_SET");
    assert!(get(store, &c).is_none());
    let exists = block(store.exists_many(std::slice::from_ref(&c)));
    assert!(!exists[0].as_ref().unwrap());
}

fn string_round_trip(store: &dyn Store) {
    let c = coord("dev", "api", "DB_PASSWORD");
    set(store, &c, &SecretValue::text("p@ss w0rd"));
    assert_eq!(get(store, &c).unwrap().as_str(), Some("p@ss w0rd"));
    let exists = block(store.exists_many(std::slice::from_ref(&c)));
    assert!(exists[0].as_ref().unwrap());
}

fn scopes_are_distinct(store: &dyn Store, expect: &Expect) {
    let all = [
        coord("plat-ue2-dev", "vpc/primary", "SCOPED"),
        coord("plat-ue2-dev", "", "SCOPED"),
        coord("", "", "SCOPED"),
        coord("plat-ue2-prod", "vpc/primary", "SCOPED"),
    ];
    let held: Vec<&Coordinate> = all
        .iter()
        .filter(|c| expect.scopes.contains(&c.scope))
        .collect();
    for (i, c) in held.iter().enumerate() {
        set(store, c, &SecretValue::text(format!("value-{i}")));
    }
    for (i, c) in held.iter().enumerate() {
        assert_eq!(
            get(store, c).unwrap().as_str(),
            Some(format!("value-{i}").as_str()),
            "scope {:?} at {}",
            c.scope,
            store.describe_key(c)
        );
    }
    for c in all.iter().filter(|c| !expect.scopes.contains(&c.scope)) {
        assert!(atmos_secrets::store::check_scope(store, c).is_err());
    }
}

fn json_round_trip(store: &dyn Store) {
    let c = coord("dev", "api", "DB_CONFIG");
    let v = serde_json::json!({"user": "app", "password": SENTINEL, "port": 5432});
    set(store, &c, &SecretValue::json(v.clone()));
    assert_eq!(get(store, &c).unwrap().expose(), &v);
}

fn unicode_and_large(store: &dyn Store, expect: &Expect) {
    let c = coord("dev", "api", "UNICODE");
    let text = "pässwörd ✓ 秘密 🔐 \"quoted\" \\ back\nslash";
    set(store, &c, &SecretValue::text(text));
    assert_eq!(get(store, &c).unwrap().as_str(), Some(text));
    let c = coord("dev", "api", "LARGE");
    let text_of =
        |n: usize| -> String { (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect() };
    let big = text_of(expect.large_value);
    set(store, &c, &SecretValue::text(big.clone()));
    assert_eq!(get(store, &c).unwrap().as_str(), Some(big.as_str()));
    if expect.large_value < 64 * 1024 {
        // Beyond the backend's limit: a clear error, without the value in it.
        let too_big = format!("{SENTINEL}{}", text_of(64 * 1024));
        let err = block(store.set(&c, &SecretValue::text(too_big)))
            .expect_err("a value over the backend's limit must fail");
        assert!(!err.to_string().contains(SENTINEL), "{err}");
    }
}

fn batch_preserves_order(store: &dyn Store) {
    let keys: Vec<Coordinate> = (0..25)
        .map(|i| coord("dev", "batch", &format!("K{i:02}")))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        if i % 3 != 0 {
            set(store, k, &SecretValue::text(format!("v{i}")));
        }
    }
    let got = block(store.get_many(&keys));
    assert_eq!(got.len(), keys.len());
    for (i, r) in got.into_iter().enumerate() {
        let v = r.unwrap();
        if i % 3 == 0 {
            assert!(v.is_none(), "K{i:02} should be missing");
        } else {
            assert_eq!(v.unwrap().as_str(), Some(format!("v{i}").as_str()));
        }
    }
    let exists = block(store.exists_many(&keys));
    for (i, e) in exists.into_iter().enumerate() {
        assert_eq!(e.unwrap(), i % 3 != 0);
    }
}

fn overwrite_and_delete(store: &dyn Store, expect: &Expect) {
    let c = coord("dev", "api", "ROTATED");
    set(store, &c, &SecretValue::text("one"));
    set(store, &c, &SecretValue::text("two"));
    assert_eq!(get(store, &c).unwrap().as_str(), Some("two"));
    block(store.delete(&c)).unwrap();
    assert!(get(store, &c).is_none());
    let again = block(store.delete(&c));
    assert_eq!(again.is_ok(), expect.delete_missing_ok);
}

fn errors_never_carry_values(store: &dyn Store) {
    let c = coord("dev", "api", "LEAK_CHECK");
    set(store, &c, &SecretValue::text(SENTINEL));
    let v = get(store, &c).unwrap();
    assert!(!format!("{v:?}").contains(SENTINEL));
    assert!(!store.describe_key(&c).contains(SENTINEL));
}
