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

/// One store, the keys it must read and each key's request index.
struct Group {
    store: Arc<dyn Store>,
    idx: Vec<usize>,
    keys: Vec<Coordinate>,
}

/// Runs every request; results come back in request order.
pub async fn run(requests: Vec<Request>, mode: Mode) -> Vec<Outcome> {
    let n = requests.len();
    // Group by store identity, keeping the request index of every key; requests of one store
    // usually come in runs, so the last group is tried first.
    let mut groups: Vec<Group> = Vec::new();
    let mut last = 0;
    for (i, r) in requests.into_iter().enumerate() {
        let g = match groups.get(last) {
            Some(g) if Arc::ptr_eq(&g.store, &r.store) => Some(last),
            _ => groups.iter().position(|g| Arc::ptr_eq(&g.store, &r.store)),
        };
        match g {
            Some(g) => {
                last = g;
                groups[g].idx.push(i);
                groups[g].keys.push(r.key);
            }
            None => {
                // The first store usually gets every request.
                let room = if groups.is_empty() { n - i } else { 1 };
                let mut idx = Vec::with_capacity(room);
                let mut keys = Vec::with_capacity(room);
                idx.push(i);
                keys.push(r.key);
                last = groups.len();
                groups.push(Group {
                    store: r.store,
                    idx,
                    keys,
                });
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut local: Vec<Group> = Vec::new();
    for group in groups {
        let caps = group.store.capabilities();
        let batch = caps.batch_size.max(1);
        // A local status check that fits in one call (a SOPS store's whole group) runs right
        // here, on the calling thread, once every other group's tasks are spawned: no task to
        // spawn and hand back (a whole-tree listing makes one plan per stack).
        if mode == Mode::Exists && caps.local_status && group.keys.len() <= batch {
            local.push(group);
            continue;
        }
        let sem = Arc::new(Semaphore::new(caps.concurrency.max(1)));
        let mut idx = group.idx.into_iter();
        let mut keys = group.keys.into_iter().peekable();
        while keys.peek().is_some() {
            let store = group.store.clone();
            let sem = sem.clone();
            let idx: Vec<usize> = idx.by_ref().take(batch).collect();
            let coords: Vec<Coordinate> = keys.by_ref().take(batch).collect();
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
    for group in local {
        let outcomes = group.store.exists_many(&group.keys).await;
        for (i, o) in group.idx.into_iter().zip(outcomes) {
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
