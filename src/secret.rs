//! Owns [`SecretString`]: the only type that carries secret material through the program.
//!
//! Its `Debug` and `Display` print `****`; the bytes are reachable only through
//! [`SecretString::expose`], which output (after masking) and child environments call. The buffer
//! is zeroed on drop.

use std::fmt;

use zeroize::Zeroizing;

/// A secret text value. Zeroed on drop, never printed by `Debug`/`Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value; the caller hands over ownership of the only copy.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The plaintext. Call only where the user asked to see or use the value.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(****)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "SecretString(****)");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(s.expose(), "hunter2");
    }
}
