//! Owns [`PerRuntime`]: a lazily built SDK client tied to the Tokio runtime that built it.
//!
//! Commands may drive one cached store from several short-lived runtimes (one per `block_on`).
//! Cloud clients keep connection pools and background token-refresh tasks on the runtime that
//! built them, and those die with it; a client used from another runtime could then hang or fail
//! on its second call. So the client is rebuilt when the current runtime differs from the one
//! that built it. Building is single-flight: concurrent first calls wait for one build.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::{Handle, Id};
use tokio::sync::Mutex;

/// A value built on first use per runtime.
pub struct PerRuntime<T> {
    slot: Mutex<Option<(Option<Id>, Arc<T>)>>,
}

impl<T> Default for PerRuntime<T> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }
}

impl<T> PerRuntime<T> {
    /// The value for the current runtime, building it with `init` when there is none yet.
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let runtime = Handle::try_current().ok().map(|h| h.id());
        let mut slot = self.slot.lock().await;
        if let Some((built_on, value)) = slot.as_ref()
            && *built_on == runtime
        {
            return Ok(value.clone());
        }
        let value = Arc::new(init().await?);
        *slot = Some((runtime, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn rebuilt_only_for_another_runtime() {
        let cell = PerRuntime::<u32>::default();
        let builds = std::sync::atomic::AtomicU32::new(0);
        let get = || async {
            cell.get_or_try_init(|| async {
                Ok::<_, ()>(builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
            })
            .await
            .unwrap()
        };
        let rt = runtime();
        assert_eq!(*rt.block_on(get()), 0);
        assert_eq!(*rt.block_on(get()), 0);
        assert_eq!(*runtime().block_on(get()), 1);
        // A failed build is not cached.
        let failing = PerRuntime::<u32>::default();
        let rt = runtime();
        assert!(
            rt.block_on(failing.get_or_try_init(|| async { Err::<u32, _>("no") }))
                .is_err()
        );
        assert_eq!(
            *rt.block_on(failing.get_or_try_init(|| async { Ok::<_, ()>(7) }))
                .unwrap(),
            7
        );
    }
}
