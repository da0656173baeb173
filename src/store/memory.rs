//! Owns the [`Kv`] trait (a flat key/value backend) and [`MemoryKv`]: a process-local map, the `memory` backend of the keychain store
//! and the reference backend of the conformance suite.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

/// A flat key/value backend under one service.
pub trait Kv: Send + Sync {
    /// Reads `account`.
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, String>;
    /// Writes `account`.
    fn set(&self, account: &str, value: &str) -> Result<(), String>;
    /// Removes `account`; missing is not an error.
    fn delete(&self, account: &str) -> Result<(), String>;
    /// Where the data lives, for messages.
    fn location(&self) -> String;
}

/// An in-memory key/value map; values are zeroed when replaced or dropped.
#[derive(Default)]
pub struct MemoryKv {
    map: Mutex<HashMap<String, Zeroizing<String>>>,
}

impl Kv for MemoryKv {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, String> {
        let map = self
            .map
            .lock()
            .map_err(|_| "memory store lock poisoned".to_owned())?;
        Ok(map.get(account).cloned())
    }

    fn set(&self, account: &str, value: &str) -> Result<(), String> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| "memory store lock poisoned".to_owned())?;
        map.insert(account.to_owned(), Zeroizing::new(value.to_owned()));
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), String> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| "memory store lock poisoned".to_owned())?;
        map.remove(account);
        Ok(())
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}
