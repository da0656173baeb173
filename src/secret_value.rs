//! Owns [`SecretString`]: the only type that carries secret material through the program.
//!
//! Its `Debug` and `Display` print `****`; the bytes are reachable only through
//! [`SecretString::expose`], which output (after masking) and child environments call. The buffer
//! is zeroed on drop. [`SecretValue`] is the structured form (a JSON value) that stores return;
//! its strings are zeroed on drop as well.

use std::fmt;

use zeroize::Zeroize;

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

/// A secret value as stores hold it: usually a string, sometimes a JSON structure.
#[derive(Clone, PartialEq)]
pub struct SecretValue(serde_json::Value);

impl SecretValue {
    /// A string value.
    pub fn text(value: impl Into<String>) -> Self {
        Self(serde_json::Value::String(value.into()))
    }

    /// A structured value.
    pub fn json(value: serde_json::Value) -> Self {
        Self(value)
    }

    /// Parses stored text the way most backends read: JSON when it parses, else the raw text.
    pub fn from_stored(text: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => Self(v),
            Err(_) => Self::text(text),
        }
    }

    /// The value. Call only where the user asked to see or use it.
    pub fn expose(&self) -> &serde_json::Value {
        &self.0
    }

    /// The string, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// The value as text: strings verbatim, `null` as empty, everything else as compact JSON.
    /// This is what `exec` puts in the environment and what `get --format text` prints.
    pub fn to_text(&self) -> SecretString {
        SecretString::new(match &self.0 {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        })
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        zeroize_json(&mut self.0);
    }
}

/// Overwrites every string of a JSON value (values, not keys) with zeros and empties it.
pub fn zeroize_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(zeroize_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(zeroize_json),
        _ => {}
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(****)")
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
        let v = SecretValue::from_stored(r#"{"password":"x"}"#);
        assert_eq!(format!("{v:?}"), "SecretValue(****)");
        assert_eq!(v.to_text().expose(), r#"{"password":"x"}"#);
        assert_eq!(
            SecretValue::from_stored("plain").to_text().expose(),
            "plain"
        );
    }
}
