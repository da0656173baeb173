//! Owns where a GCP identity's credentials live: atmos auth writes them under
//! `<atmos config dir>/[<realm>/]gcp/<root provider>/adc/<identity>/` as `access_token` (a bearer
//! token) and `application_default_credentials.json` (an ADC file). A store prefers the access
//! token, else the ADC file. Nothing is read until a store first needs credentials.

use std::path::PathBuf;

use super::AuthError;
use crate::config::AuthConfig;

/// The credential files of one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFiles {
    /// `…/adc/<identity>/access_token`.
    pub access_token: PathBuf,
    /// `…/adc/<identity>/application_default_credentials.json`.
    pub adc: PathBuf,
}

/// Where `identity`'s GCP credentials are, for the configured realm.
pub fn identity_files(auth: &AuthConfig, identity: &str) -> Result<IdentityFiles, AuthError> {
    let provider = super::root_provider(auth, identity)?;
    let base = super::realm_dir(auth)
        .unwrap_or_default()
        .join("gcp")
        .join(provider)
        .join("adc")
        .join(identity);
    Ok(IdentityFiles {
        access_token: base.join("access_token"),
        adc: base.join("application_default_credentials.json"),
    })
}

/// Reads an access-token file: the raw token, or a JSON object with `access_token`/`token`.
/// `None` when the file holds no token.
pub fn read_access_token(text: &str) -> Option<String> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        return v
            .get("access_token")
            .or_else(|| v.get("token"))
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    }
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_forms() {
        assert_eq!(read_access_token("ya29.abc\n").as_deref(), Some("ya29.abc"));
        assert_eq!(
            read_access_token(r#"{"access_token":"ya29.x","expiry":"…"}"#).as_deref(),
            Some("ya29.x")
        );
        assert_eq!(read_access_token("  \n"), None);
        assert_eq!(read_access_token("{}"), None);
    }
}
