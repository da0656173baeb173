//! The fault suite: every HTTP backend behind the [`FaultProxy`](crate::fault_proxy), in front
//! of its real server (moto, OpenBao) or wire fake. For each one: the proxy is transparent; a
//! 503 burst and a 429 storm, a server that hangs, an answer cut off mid-body and a peer that
//! does not speak TLS all end within a bound, with an error that names the store and the key
//! and never the value, and a write that failed leaves the old value in place.
//!
//! Not here: Redis (not HTTP; its own fault test stops and stalls a real redis-server).

use std::time::{Duration, Instant};

use atmos_secrets::config::{StoreConfig, StoreKind};
use atmos_secrets::secret_value::SecretValue;
use atmos_secrets::secrets::Coordinate;
use atmos_secrets::store::{BuildEnv, Store, StoreError, get_one};

use crate::fault_proxy::{Fault, FaultProxy};
use crate::suite::{SENTINEL, block, coord};

/// Every store here is built with `options.timeout` = this many seconds.
const TIMEOUT_S: u64 = 3;

/// The longest any fault may take to surface: a few timeouts plus retries with backoff.
const BOUND: Duration = Duration::from_secs(30);

/// Builds a store for a base URL.
type MakeStore = Box<dyn Fn(&str) -> Box<dyn Store>>;

/// One backend behind the proxy.
struct Case {
    /// The store's name (errors must name it).
    store_name: &'static str,
    proxy: FaultProxy,
    /// Builds the store for a base URL (the proxy's, or an `https://` one for the TLS check).
    make: MakeStore,
    /// The body a throttled answer of this service carries.
    throttled: (u16, &'static str),
    /// The value's coordinate (1Password needs an `op://` reference).
    key: Coordinate,
    /// Keeps the real server alive.
    _server: Box<dyn std::any::Any>,
}

/// The coordinate of the value every case writes and reads.
fn fault_key() -> Coordinate {
    coord("dev", "faults", "FAULT_KEY")
}

fn options(text: &str) -> atmos_secrets::yaml::Map {
    crate::fakes::options(text)
}

fn config(name: &str, kind: StoreKind, secret: bool, opts: &str) -> StoreConfig {
    StoreConfig {
        name: name.into(),
        kind,
        secret,
        identity: None,
        options: options(&format!("{opts}timeout: {TIMEOUT_S}\n")),
    }
}

/// What the fault check found, for the report line.
struct Outcome {
    fault: &'static str,
    took: Duration,
    requests: usize,
    result: String,
}

fn check_error(case: &Case, fault: &str, key: &Coordinate, err: &StoreError, took: Duration) {
    let text = err.to_string();
    assert!(
        took < BOUND,
        "{}: {fault} took {took:?}: {text}",
        case.store_name
    );
    assert!(
        text.contains(case.store_name),
        "{}: {fault}: the error does not name the store: {text}",
        case.store_name
    );
    // Azure names turn `_` into `-`.
    assert!(
        text.contains("FAULT_KEY") || text.contains("FAULT-KEY"),
        "{}: {fault}: the error does not name the key `{}`: {text}",
        case.store_name,
        key.key
    );
    assert!(
        !text.contains(SENTINEL),
        "{}: {fault}: {text}",
        case.store_name
    );
    assert!(
        !text.contains("panicked"),
        "{}: {fault}: {text}",
        case.store_name
    );
}

/// Runs every fault against one backend and returns what happened, one line per fault.
fn run(case: Case) -> Vec<String> {
    let key = case.key.clone();
    let store = (case.make)(&case.proxy.url);
    // Transparent: the proxy passes a write and a read through. A server's first request may
    // take longer than the store's budget on a loaded machine (moto imports a service's models
    // on first use), so the first write gets a few tries; the faults below start warm.
    let mut tries = 0;
    while let Err(e) = block(store.set(&key, &SecretValue::text(SENTINEL))) {
        tries += 1;
        assert!(
            tries < 5,
            "{}: a write through the idle proxy failed {tries} times: {e}",
            case.store_name
        );
    }
    let v = block(get_one(store.as_ref(), &key)).unwrap().unwrap();
    assert_eq!(v.as_str(), Some(SENTINEL));
    case.proxy.take_requests();
    let mut out = Vec::new();
    let mut record = |o: Outcome| {
        out.push(format!(
            "{}: {} → {} in {:.1} s after {} request(s)",
            case.store_name,
            o.fault,
            o.result,
            o.took.as_secs_f64(),
            o.requests
        ));
    };

    // One 503: every backend retries it and reads the value.
    case.proxy
        .answer(503, r#"{"message":"injected: service unavailable"}"#, 1);
    let t = Instant::now();
    let v = block(get_one(store.as_ref(), &key))
        .unwrap_or_else(|e| panic!("{}: one 503 was not retried: {e}", case.store_name));
    let took = t.elapsed();
    let requests = case.proxy.take_requests();
    assert_eq!(v.unwrap().as_str(), Some(SENTINEL));
    assert!(requests >= 2, "{}: read without a retry", case.store_name);
    let result = "retried, value read".to_owned();
    record(Outcome {
        fault: "one 503",
        took,
        requests,
        result,
    });
    case.proxy.set(Fault::None);

    // Throttled on every attempt: a bounded number of attempts, then a clear error.
    let (status, body) = case.throttled;
    case.proxy.answer(status, body, usize::MAX);
    let t = Instant::now();
    let err = block(get_one(store.as_ref(), &key)).unwrap_err();
    let took = t.elapsed();
    check_error(&case, "throttled", &key, &err, took);
    let requests = case.proxy.take_requests();
    assert!(requests < 20, "{}: {requests} attempts", case.store_name);
    record(Outcome {
        fault: "throttled throughout",
        took,
        requests,
        result: "error".into(),
    });

    // A write refused by a storm of 503s leaves the old value.
    case.proxy
        .answer(503, r#"{"message":"injected"}"#, usize::MAX);
    let t = Instant::now();
    let err = block(store.set(&key, &SecretValue::text("new-value"))).unwrap_err();
    check_error(&case, "503 on write", &key, &err, t.elapsed());
    case.proxy.set(Fault::None);
    case.proxy.take_requests();
    let v = block(get_one(store.as_ref(), &key)).unwrap().unwrap();
    assert_eq!(
        v.as_str(),
        Some(SENTINEL),
        "{}: the failed write changed the value",
        case.store_name
    );

    // Accepts and never answers: bounded by the store's timeout.
    case.proxy.set(Fault::Hang);
    let t = Instant::now();
    let err = block(get_one(store.as_ref(), &key)).unwrap_err();
    let took = t.elapsed();
    check_error(&case, "hang", &key, &err, took);
    record(Outcome {
        fault: "server hangs",
        took,
        requests: case.proxy.take_requests(),
        result: "error".into(),
    });

    // The answer stops halfway through its body.
    case.proxy.set(Fault::CutMidBody);
    let t = Instant::now();
    let err = block(get_one(store.as_ref(), &key)).unwrap_err();
    let took = t.elapsed();
    check_error(&case, "cut mid-body", &key, &err, took);
    record(Outcome {
        fault: "answer cut mid-body",
        took,
        requests: case.proxy.take_requests(),
        result: "error".into(),
    });

    // An https URL whose peer does not speak TLS.
    case.proxy.set(Fault::NotTls);
    let tls = (case.make)(&case.proxy.url.replace("http://", "https://"));
    let t = Instant::now();
    let err = block(get_one(tls.as_ref(), &key)).unwrap_err();
    let took = t.elapsed();
    check_error(&case, "not TLS", &key, &err, took);
    record(Outcome {
        fault: "peer is not TLS",
        took,
        requests: 0,
        result: "error".into(),
    });
    case.proxy.set(Fault::None);
    out
}

fn report(lines: Vec<String>) {
    for l in lines {
        eprintln!("fault suite: {l}");
    }
}

#[test]
#[cfg(feature = "aws")]
fn aws_ssm_and_asm_under_faults() {
    let Some(m) = crate::aws::moto(&[]) else {
        return;
    };
    let creds = || aws_sdk_ssm::config::Credentials::new("testing", "testing", None, None, "test");
    let server = std::rc::Rc::new(m);
    for (kind, name) in [
        (StoreKind::AwsSsm, "faults-ssm"),
        (StoreKind::AwsAsm, "faults-asm"),
    ] {
        let proxy = FaultProxy::in_front_of(&server.svc.url);
        let make = move |url: &str| -> Box<dyn Store> {
            let cfg = config(
                name,
                kind,
                true,
                &format!("region: us-east-1\nprefix: /faults\nendpoint: {url}\n"),
            );
            match kind {
                StoreKind::AwsSsm => Box::new(
                    atmos_secrets::store::aws_ssm::SsmStore::build(&cfg, &BuildEnv::default())
                        .unwrap()
                        .with_credentials(creds()),
                ),
                _ => Box::new(
                    atmos_secrets::store::aws_secrets_manager::SecretsManagerStore::build(
                        &cfg,
                        &BuildEnv::default(),
                    )
                    .unwrap()
                    .with_credentials(creds()),
                ),
            }
        };
        report(run(Case {
            store_name: name,
            proxy,
            make: Box::new(make),
            throttled: (
                400,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            ),
            key: fault_key(),
            _server: Box::new(server.clone()),
        }));
    }
}

#[test]
#[cfg(feature = "vault")]
fn vault_under_faults() {
    let Some(bao) = crate::localsrv::start_bao() else {
        return;
    };
    let proxy = FaultProxy::in_front_of(&bao.svc.url);
    let make = |url: &str| -> Box<dyn Store> {
        let cfg = config(
            "faults-vault",
            StoreKind::HashicorpVault,
            true,
            &format!(
                "address: {url}\ntoken: {}\nmount: secret\nprefix: atmos\n",
                crate::localsrv::BAO_ROOT
            ),
        );
        Box::new(
            atmos_secrets::store::vault::VaultStore::build(&cfg, &BuildEnv::default()).unwrap(),
        )
    };
    report(run(Case {
        store_name: "faults-vault",
        proxy,
        make: Box::new(make),
        throttled: (429, r#"{"errors":["rate limit quota exceeded"]}"#),
        key: fault_key(),
        _server: Box::new(bao),
    }));
}

#[test]
#[cfg(feature = "gcp")]
fn gcp_secret_manager_under_faults() {
    let Some(fake) = crate::fakes::start("gcp_secret_manager.py", &[], false) else {
        return;
    };
    let proxy = FaultProxy::in_front_of(&fake.url);
    let make = |url: &str| -> Box<dyn Store> {
        let cfg = config(
            "faults-gsm",
            StoreKind::GcpSecretManager,
            true,
            &format!(
                "project_id: atmos-test\nprefix: atmos\nendpoint: {url}\nwithout_authentication: true\n"
            ),
        );
        Box::new(
            atmos_secrets::store::gcp_secret_manager::GcpSecretManagerStore::build(
                &cfg,
                &BuildEnv::default(),
            )
            .unwrap(),
        )
    };
    report(run(Case {
        store_name: "faults-gsm",
        proxy,
        make: Box::new(make),
        throttled: (
            429,
            r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#,
        ),
        key: fault_key(),
        _server: Box::new(fake),
    }));
}

#[test]
#[cfg(feature = "onepassword")]
fn onepassword_connect_under_faults() {
    let Some(fake) = crate::fakes::start(
        "onepassword_connect.py",
        &["--token", "good", "--vault", "CI Vault"],
        false,
    ) else {
        return;
    };
    let proxy = FaultProxy::in_front_of(&fake.url);
    let make = |url: &str| -> Box<dyn Store> {
        let cfg = config(
            "faults-op",
            StoreKind::OnePassword,
            true,
            &format!("mode: connect\nconnect_host: {url}\nconnect_token: good\nvault: CI Vault\n"),
        );
        Box::new(
            atmos_secrets::store::onepassword::OnePasswordStore::build(&cfg, &BuildEnv::default())
                .unwrap(),
        )
    };
    report(run(Case {
        store_name: "faults-op",
        proxy,
        make: Box::new(make),
        throttled: (429, r#"{"status":429,"message":"Too many requests"}"#),
        key: Coordinate {
            key: "op://CI Vault/item-dev.faults/FAULT_KEY".into(),
            ..fault_key()
        },
        _server: Box::new(fake),
    }));
}

#[test]
#[cfg(feature = "artifactory")]
fn artifactory_under_faults() {
    let Some(svc) = crate::localsrv::start_artifactory() else {
        return;
    };
    let proxy = FaultProxy::in_front_of(&svc.url);
    let make = |url: &str| -> Box<dyn Store> {
        let cfg = config(
            "faults-art",
            StoreKind::Artifactory,
            false,
            &format!(
                "url: {url}/artifactory\nrepo_name: {}\nprefix: atmos\naccess_token: {}\n",
                crate::localsrv::ART_REPO,
                crate::localsrv::ART_TOKEN
            ),
        );
        Box::new(
            atmos_secrets::store::artifactory::ArtifactoryStore::build(&cfg, &BuildEnv::default())
                .unwrap(),
        )
    };
    report(run(Case {
        store_name: "faults-art",
        proxy,
        make: Box::new(make),
        throttled: (
            429,
            r#"{"errors":[{"status":429,"message":"Too Many Requests"}]}"#,
        ),
        key: fault_key(),
        _server: Box::new(svc),
    }));
}

#[test]
#[cfg(feature = "azure")]
fn azure_key_vault_under_faults() {
    // The fake in its plain-HTTP emulator mode, with upstream's emulator options.
    let Some(fake) = crate::fakes::start("azure_key_vault.py", &[], false) else {
        return;
    };
    let proxy = FaultProxy::in_front_of(&fake.url);
    let make = |url: &str| -> Box<dyn Store> {
        let insecure = if url.starts_with("http://") {
            "endpoint_insecure: true\n"
        } else {
            ""
        };
        let cfg = config(
            "faults-akv",
            StoreKind::AzureKeyVault,
            true,
            &format!(
                "vault_url: {url}\nprefix: atmos\nwithout_authentication: true\ndisable_challenge_resource_verification: true\n{insecure}"
            ),
        );
        Box::new(
            atmos_secrets::store::azure_key_vault::AzureKeyVaultStore::build(
                &cfg,
                &BuildEnv::default(),
            )
            .unwrap(),
        )
    };
    report(run(Case {
        store_name: "faults-akv",
        proxy,
        make: Box::new(make),
        throttled: (
            429,
            r#"{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received."}}"#,
        ),
        key: fault_key(),
        _server: Box::new(fake),
    }));
}
