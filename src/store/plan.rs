//! Owns batched, concurrent reads across backends: group keys by store, chunk them by the
//! store's batch size, run the chunks with bounded concurrency per store and all stores at once.
//! This is how `validate`, `list --verify`, `exec` and `pull` read many secrets in few round
//! trips; a SOPS store receives its whole group in one call and decrypts each file once.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{Store, StoreError};
use crate::secret_value::SecretValue;
use crate::secrets::Coordinate;

/// One read request: which store, which key; `tag` is the caller's index.
pub struct Request {
    /// The store to read from.
    pub store: Arc<dyn Store>,
    /// The key.
    pub key: Coordinate,
}

/// Whether to read values or only check existence.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read (and decrypt) values.
    Values,
    /// Existence only (no decryption where the backend allows it).
    Exists,
}

/// The outcome of one request.
pub enum Outcome {
    /// A value (or `None` when not set).
    Value(Result<Option<SecretValue>, StoreError>),
    /// Existence.
    Exists(Result<bool, StoreError>),
}

/// One store and the keys (with their request index) it must read.
type Group = (Arc<dyn Store>, Vec<(usize, Coordinate)>);

/// Runs every request; results come back in request order.
pub async fn run(requests: Vec<Request>, mode: Mode) -> Vec<Outcome> {
    let n = requests.len();
    // Group by store identity, keeping the request index of every key.
    let mut groups: Vec<Group> = Vec::new();
    for (i, r) in requests.into_iter().enumerate() {
        match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &r.store)) {
            Some((_, keys)) => keys.push((i, r.key)),
            None => groups.push((r.store, vec![(i, r.key)])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut local: Vec<Group> = Vec::new();
    for (store, keys) in groups {
        let caps = store.capabilities();
        // A local status check that fits in one call (a SOPS store's whole group) runs right
        // here, on the calling thread, once every other group's tasks are spawned: no task to
        // spawn and hand back (a whole-tree listing makes one plan per stack).
        if mode == Mode::Exists && caps.local_status && keys.len() <= caps.batch_size.max(1) {
            local.push((store, keys));
            continue;
        }
        let sem = Arc::new(Semaphore::new(caps.concurrency.max(1)));
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let store = store.clone();
            let sem = sem.clone();
            let (idx, coords): (Vec<usize>, Vec<Coordinate>) =
                keys.by_ref().take(caps.batch_size.max(1)).unzip();
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let outcomes: Vec<Outcome> = match mode {
                    Mode::Values => store
                        .get_many(&coords)
                        .await
                        .into_iter()
                        .map(Outcome::Value)
                        .collect(),
                    Mode::Exists => store
                        .exists_many(&coords)
                        .await
                        .into_iter()
                        .map(Outcome::Exists)
                        .collect(),
                };
                idx.into_iter().zip(outcomes).collect::<Vec<_>>()
            });
        }
    }
    for (store, keys) in local {
        let (idx, coords): (Vec<usize>, Vec<Coordinate>) = keys.into_iter().unzip();
        let outcomes = store.exists_many(&coords).await;
        for (i, o) in idx.into_iter().zip(outcomes) {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(Outcome::Exists(o));
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(pairs) = done {
            for (i, o) in pairs {
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(o);
                }
            }
        }
    }
    slots
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Outcome::Value(Err(StoreError::Config {
                    store: String::new(),
                    message: "a backend read task failed".into(),
                    hint: None,
                }))
            })
        })
        .collect()
}
