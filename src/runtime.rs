//! Owns the bridge from the synchronous commands to the async store backends: one multi-threaded
//! tokio runtime per process, built on first use.
//!
//! One runtime serves the whole command, so backend clients, their connection pools and token
//! caches are reused across every read and write of the command. Backends that must block from
//! inside a runtime (SOPS key stores, KMS) keep their own helpers in `store/`; child processes
//! (`secret exec`) run on their own current-thread runtime in [`crate::child`].

use crate::error::{Error, Result};

/// Runs a future to completion on the process runtime (two worker threads; backends do blocking
/// file work too). Fails only when the runtime cannot be started.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    static RUNTIME: std::sync::OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    let rt = RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_futures_on_one_shared_runtime() {
        let first = super::block_on(async { tokio::runtime::Handle::current().id() }).unwrap();
        let second = super::block_on(async { tokio::runtime::Handle::current().id() }).unwrap();
        assert_eq!(first, second);
        assert_eq!(super::block_on(async { 40 + 2 }).unwrap(), 42);
    }
}
