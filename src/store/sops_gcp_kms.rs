//! Owns the GCP Cloud KMS master keys of SOPS files (`gcp_kms` entries), as sops handles them:
//! the data key goes to the key's `:encrypt` and the base64 of the returned ciphertext is the
//! entry's `enc`; decrypting sends it back to `:decrypt`. Calls use Cloud KMS's REST surface over
//! the program's one `reqwest`/rustls stack, retried as the stores' calls are
//! ([`super::retry::send`]).
//!
//! Credentials, first match: the SOPS provider's `identity` (its realm-scoped access-token file,
//! else its ADC file, as the GCP Secret Manager store uses them); `GOOGLE_OAUTH_ACCESS_TOKEN`;
//! `GOOGLE_CREDENTIALS` (JSON, or a path to it, as sops); Application Default Credentials.
//! Endpoint: the provider's `spec.options.endpoint`, else
//! `CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS`, else `https://cloudkms.googleapis.com`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::gcp_secret_manager::{AccessToken, from_json};
use super::net;
use crate::config::AuthConfig;
use crate::secret_value::SecretString;
use crate::sops::Value;
use crate::sops::keys::{complete_entry, entry_field};

const DEFAULT_ENDPOINT: &str = "https://cloudkms.googleapis.com";

/// The `gcp_kms` master-key provider.
pub struct GcpKmsProvider {
    identity: Option<String>,
    auth: Arc<AuthConfig>,
    endpoint: Option<String>,
    timeout: Duration,
}

impl GcpKmsProvider {
    /// A provider authenticating as `identity` (`None` = the environment, then ADC). No I/O.
    pub fn new(
        identity: Option<String>,
        auth: Arc<AuthConfig>,
        endpoint: Option<String>,
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            identity,
            auth,
            endpoint,
            timeout: timeout.unwrap_or(net::DEFAULT_TIMEOUT),
        }
    }

    fn endpoint(&self) -> String {
        self.endpoint
            .clone()
            .or_else(|| crate::env::var(crate::env::CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .to_owned()
    }

    fn who(&self) -> String {
        match &self.identity {
            Some(i) => format!("identity `{i}`"),
            None => "the default GCP credentials".into(),
        }
    }

    fn credentials(&self) -> Result<google_cloud_auth::credentials::Credentials, String> {
        use google_cloud_auth::credentials as gc;
        if let Some(identity) = &self.identity {
            let files = crate::auth::gcp::identity_files(&self.auth, identity)
                .map_err(|e| format!("identity `{identity}`: {e}"))?;
            if let Ok(text) = std::fs::read_to_string(&files.access_token) {
                let text = Zeroizing::new(text);
                if let Some(token) = crate::auth::gcp::read_access_token(&text) {
                    return Ok(gc::Credentials::from(AccessToken(SecretString::new(token))));
                }
            }
            let adc = std::fs::read_to_string(&files.adc).map_err(|_| {
                format!(
                    "identity `{identity}` has no GCP credentials (looked for `{}` and `{}`; hint: run `atmos auth login --identity {identity}`)",
                    files.access_token.display(),
                    files.adc.display()
                )
            })?;
            let adc = Zeroizing::new(adc);
            return from_json(&adc)
                .map_err(|e| format!("the ADC file `{}` is not usable: {e}", files.adc.display()));
        }
        if let Some(token) = crate::env::var(crate::env::GOOGLE_OAUTH_ACCESS_TOKEN) {
            return Ok(gc::Credentials::from(AccessToken(SecretString::new(token))));
        }
        if let Some(raw) = crate::env::var(crate::env::GOOGLE_CREDENTIALS) {
            let raw = Zeroizing::new(raw);
            let text = match std::fs::read_to_string(raw.as_str()) {
                Ok(t) => Zeroizing::new(t),
                Err(_) => raw.clone(),
            };
            return from_json(&text).map_err(|e| format!("GOOGLE_CREDENTIALS is not usable: {e}"));
        }
        gc::Builder::default().build().map_err(|e| {
            format!(
                "no Application Default Credentials: {e} (hint: run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or give the SOPS provider an identity)"
            )
        })
    }

    async fn call(
        &self,
        resource: &str,
        op: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        if !valid_resource(resource) {
            return Err(format!(
                "`{resource}` is not a GCP KMS key resource ID (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>)"
            ));
        }
        let creds = self.credentials()?;
        let headers = match creds.headers(http::Extensions::new()).await {
            Ok(google_cloud_auth::credentials::CacheableResource::New { data, .. }) => data,
            Ok(google_cloud_auth::credentials::CacheableResource::NotModified) => {
                http::HeaderMap::new()
            }
            Err(e) => return Err(format!("GCP credentials of {} failed: {e}", self.who())),
        };
        let endpoint = self.endpoint();
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if endpoint.starts_with("http://") {
            b = b.tls_certs_only(Vec::new());
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client for GCP KMS: {e}"))?;
        let url = format!("{endpoint}/v1/{resource}:{op}");
        let who = super::retry::Call {
            service: "GCP KMS",
            store: "",
            op,
            key: resource,
        };
        let resp = super::retry::send(who, || {
            client.post(&url).headers(headers.clone()).json(&body)
        })
        .await
        .map_err(|e| {
            let (message, hint) =
                net::describe(net::classify(&e), "GCP KMS", &endpoint, self.timeout);
            format!(
                "{message} (key `{resource}`){}: {} (hint: {hint})",
                super::retry::dropped_note(&e),
                net::root_cause(&e, &[])
            )
        })?;
        let status = resp.status;
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        if status.is_success() {
            return Ok(json);
        }
        let message = json["error"]["message"].as_str().unwrap_or_default();
        let code = json["error"]["status"].as_str().unwrap_or_default();
        let hint = match status.as_u16() {
            401 => {
                "the credentials were refused: log in again (`atmos auth login` / `gcloud auth application-default login`)".to_owned()
            }
            403 => "grant the credentials `roles/cloudkms.cryptoKeyEncrypterDecrypter` on the key"
                .to_owned(),
            404 => "check the key's resource ID".to_owned(),
            _ => super::retry::exhausted_hint(status, "GCP KMS")
                .unwrap_or_else(|| "check the key and the GCP KMS service".to_owned()),
        };
        Err(format!(
            "GCP KMS {op} with key `{resource}` as {} failed{}: HTTP {status} {code}: {message} (hint: {hint})",
            self.who(),
            super::retry::attempts_note(status)
        ))
    }

    async fn unwrap_async(&self, entry: &Value) -> Result<Zeroizing<Vec<u8>>, String> {
        let id =
            entry_field(entry, "resource_id").ok_or("the `gcp_kms` entry has no `resource_id`")?;
        let enc = entry_field(entry, "enc").ok_or("the `gcp_kms` entry has no `enc`")?;
        let json = self
            .call(
                &id,
                "decrypt",
                serde_json::json!({ "ciphertext": enc.trim() }),
            )
            .await?;
        let plain = json["plaintext"]
            .as_str()
            .ok_or_else(|| format!("GCP KMS decrypt with key `{id}` returned no plaintext"))?;
        base64::engine::general_purpose::STANDARD
            .decode(plain)
            .map(Zeroizing::new)
            .map_err(|_| {
                format!("GCP KMS decrypt with key `{id}` returned a plaintext that is not base64")
            })
    }

    async fn wrap_async(&self, spec: &Value, payload: &[u8]) -> Result<Value, String> {
        let id =
            entry_field(spec, "resource_id").ok_or("the `gcp_kms` key has no `resource_id`")?;
        let plain = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(payload));
        let json = self
            .call(
                &id,
                "encrypt",
                serde_json::json!({ "plaintext": plain.as_str() }),
            )
            .await?;
        let ct = json["ciphertext"]
            .as_str()
            .ok_or_else(|| format!("GCP KMS encrypt with key `{id}` returned no ciphertext"))?;
        Ok(complete_entry("gcp_kms", spec, ct))
    }
}

/// `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`, as sops checks it.
fn valid_resource(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 8
        && parts[0] == "projects"
        && parts[2] == "locations"
        && parts[4] == "keyRings"
        && parts[6] == "cryptoKeys"
        && parts.iter().all(|p| !p.is_empty())
}

super::net::network_key_provider!(GcpKmsProvider, "gcp_kms");

#[cfg(test)]
mod tests {
    #[test]
    fn resource_ids_are_checked_like_sops() {
        assert!(super::valid_resource(
            "projects/p/locations/global/keyRings/r/cryptoKeys/k"
        ));
        assert!(!super::valid_resource(
            "projects/p/locations/global/keyRings/r"
        ));
        assert!(!super::valid_resource(
            "projects//locations/global/keyRings/r/cryptoKeys/k"
        ));
    }
}
