//! Owns the Azure tenant hint of an identity. Azure Key Vault stores authenticate with
//! the default Azure credential chain and only take the tenant from the identity: from its
//! definition (`tenant_id`, also under `principal`/`spec`, or on its root provider), else from the
//! `tenant_id` of atmos auth's `~/.azure/atmos/[<realm>/]<provider>/credentials.json`.

use std::path::PathBuf;

use super::AuthError;
use crate::config::AuthConfig;
use crate::yaml::{Map, Node};

/// `~/.azure/atmos/[<realm>/]<provider>/credentials.json`.
pub fn credentials_file(auth: &AuthConfig, provider: &str) -> Option<PathBuf> {
    let home = crate::env::var(crate::env::HOME)?;
    let mut p = PathBuf::from(home).join(".azure").join("atmos");
    if !auth.realm.is_empty() {
        p = p.join(&auth.realm);
    }
    Some(p.join(provider).join("credentials.json"))
}

fn tenant_in(def: &Map) -> Option<String> {
    let direct = |m: &Map| {
        ["tenant_id", "tenant"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Node::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    direct(def).or_else(|| {
        ["principal", "spec"]
            .iter()
            .find_map(|k| def.get(*k).and_then(Node::as_map).and_then(direct))
    })
}

/// The tenant an identity points at, if any says so.
pub fn tenant_hint(auth: &AuthConfig, identity: &str) -> Result<Option<String>, AuthError> {
    if let Some(t) = tenant_in(super::identity(auth, identity)?) {
        return Ok(Some(t));
    }
    let provider = super::root_provider(auth, identity)?;
    if let Some(t) = auth.providers.get(&provider).and_then(tenant_in) {
        return Ok(Some(t));
    }
    let from_file = credentials_file(auth, &provider)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            ["tenant_id", "tenantId", "tenant"].iter().find_map(|k| {
                v.get(*k)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
        })
        .filter(|t| !t.is_empty());
    Ok(from_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_from_identity_then_provider() {
        let auth = crate::auth::auth_from_yaml(
            "providers:\n  az: {kind: azure/device-code, spec: {tenant_id: from-provider}}\nidentities:\n  own: {kind: azure/subscription, via: {provider: az}, principal: {tenant_id: from-identity}}\n  inherits: {kind: azure/subscription, via: {provider: az}}\n",
        );
        assert_eq!(
            tenant_hint(&auth, "own").unwrap().as_deref(),
            Some("from-identity")
        );
        assert_eq!(
            tenant_hint(&auth, "inherits").unwrap().as_deref(),
            Some("from-provider")
        );
        assert!(tenant_hint(&auth, "nobody").is_err());
    }
}
