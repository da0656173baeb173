//! Owns the stand-in for the AWS KMS master-key provider of SOPS files in builds without the
//! `aws` feature: age keys work as always; a file or rule with `kms` keys fails with an error
//! naming the feature.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::config::AuthConfig;
use crate::sops::{MasterKeyProvider, Value};

/// The `kms` master-key provider of a build without AWS support.
pub struct AwsKmsProvider;

impl AwsKmsProvider {
    /// Same signature as the real provider; holds nothing.
    pub fn new(_identity: Option<String>, _auth: Arc<AuthConfig>) -> Self {
        Self
    }
}

const OFF: &str = "AWS KMS keys need the `aws` feature, which this build of atmos does not include (hint: rebuild atmos with `--features aws`, on by default, or use age keys)";

impl MasterKeyProvider for AwsKmsProvider {
    fn decrypt(&self, kind: &str, _entry: &Value) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        if kind == "kms" {
            Err(OFF.to_owned())
        } else {
            Ok(None)
        }
    }

    fn encrypt(&self, kind: &str, _spec: &Value, _payload: &[u8]) -> Result<Option<Value>, String> {
        if kind == "kms" {
            Err(OFF.to_owned())
        } else {
            Ok(None)
        }
    }
}
