//! Owns the [`Store`] trait and backend dispatch. SDK types never leave a backend module.

pub mod keys;
