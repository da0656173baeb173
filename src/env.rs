//! Owns the names of every environment variable the program reads, and the one place that reads
//! them ([`var`]), so that tests can see the full list.

/// Stack name (`-s`).
pub const ATMOS_STACK: &str = "ATMOS_STACK";
/// Component name (`-c`).
pub const ATMOS_COMPONENT: &str = "ATMOS_COMPONENT";
/// Identity (`-i`).
pub const ATMOS_IDENTITY: &str = "ATMOS_IDENTITY";
/// `--mask`.
pub const ATMOS_MASK: &str = "ATMOS_MASK";
/// Base path of the project.
pub const ATMOS_BASE_PATH: &str = "ATMOS_BASE_PATH";
/// Path of `atmos.yaml` (file or directory).
pub const ATMOS_CLI_CONFIG_PATH: &str = "ATMOS_CLI_CONFIG_PATH";
/// `false` turns off reading `atmos.yaml` from the git root (as atmos).
pub const ATMOS_GIT_ROOT_BASEPATH: &str = "ATMOS_GIT_ROOT_BASEPATH";
/// Auth realm, wins over `auth.realm`.
pub const ATMOS_AUTH_REALM: &str = "ATMOS_AUTH_REALM";
/// Config home for atmos auth files, before `XDG_CONFIG_HOME`.
pub const ATMOS_XDG_CONFIG_HOME: &str = "ATMOS_XDG_CONFIG_HOME";
/// Experimental-feature notice control.
pub const ATMOS_EXPERIMENTAL: &str = "ATMOS_EXPERIMENTAL";
/// Shell for `secret shell`.
pub const ATMOS_SHELL: &str = "ATMOS_SHELL";
/// Nesting level of `secret shell`.
pub const ATMOS_SHLVL: &str = "ATMOS_SHLVL";
/// atmos auth's keyring backend (`system`, `file`, `memory`), before `auth.keyring.type`.
pub const ATMOS_KEYRING_TYPE: &str = "ATMOS_KEYRING_TYPE";
/// atmos auth's file keyring folder, before `auth.keyring.spec.path`.
pub const ATMOS_KEYRING_FILE_PATH: &str = "ATMOS_KEYRING_FILE_PATH";
/// The variable holding atmos auth's file keyring password, before
/// `auth.keyring.spec.password_env`.
pub const ATMOS_KEYRING_PASSWORD_ENV: &str = "ATMOS_KEYRING_PASSWORD_ENV";
/// Password of the `keychain` store's `file` backend.
pub const ATMOS_KEYRING_PASSWORD: &str = "ATMOS_KEYRING_PASSWORD";
/// Set by CI systems; disables prompts.
pub const CI: &str = "CI";
/// SOPS: path of the age identities file.
pub const SOPS_AGE_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
/// SOPS: age identities inline.
pub const SOPS_AGE_KEY: &str = "SOPS_AGE_KEY";
/// SOPS: default age recipients for `sops encrypt` (comma-separated), like `--age`.
pub const SOPS_AGE_RECIPIENTS: &str = "SOPS_AGE_RECIPIENTS";
/// SOPS: a command that prints age identities.
pub const SOPS_AGE_KEY_CMD: &str = "SOPS_AGE_KEY_CMD";
/// SOPS: default PGP fingerprints for `sops encrypt` (comma-separated), like `--pgp`.
pub const SOPS_PGP_FP: &str = "SOPS_PGP_FP";
/// SOPS: default Vault transit key URIs for `sops encrypt` (comma-separated), like
/// `--hc-vault-transit`.
pub const SOPS_VAULT_URIS: &str = "SOPS_VAULT_URIS";
/// SOPS: the GnuPG program for PGP master keys (default `gpg`).
pub const SOPS_GPG_EXEC: &str = "SOPS_GPG_EXEC";
/// GnuPG home directory (keyrings) for SOPS PGP master keys.
pub const GNUPGHOME: &str = "GNUPGHOME";
/// GCP: a bearer token for SOPS GCP KMS keys (as sops), before `GOOGLE_CREDENTIALS` and ADC.
pub const GOOGLE_OAUTH_ACCESS_TOKEN: &str = "GOOGLE_OAUTH_ACCESS_TOKEN";
/// GCP: credentials JSON, or the path of a file holding it, for SOPS GCP KMS keys (as sops).
pub const GOOGLE_CREDENTIALS: &str = "GOOGLE_CREDENTIALS";
/// gcloud's Cloud KMS endpoint override; the default endpoint of SOPS GCP KMS keys.
pub const CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: &str =
    "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS";
/// Vault server address (default for `hashicorp/vault` stores).
pub const VAULT_ADDR: &str = "VAULT_ADDR";
/// Vault token (default for `hashicorp/vault` stores).
pub const VAULT_TOKEN: &str = "VAULT_TOKEN";
/// Vault Enterprise namespace (default for `hashicorp/vault` stores).
pub const VAULT_NAMESPACE: &str = "VAULT_NAMESPACE";
/// CA bundle that signs the Vault server's certificate (default for `hashicorp/vault` stores).
pub const VAULT_CACERT: &str = "VAULT_CACERT";
/// Redis URL (default for `redis` stores).
pub const ATMOS_REDIS_URL: &str = "ATMOS_REDIS_URL";
/// Artifactory token (default for `artifactory` stores).
pub const ARTIFACTORY_ACCESS_TOKEN: &str = "ARTIFACTORY_ACCESS_TOKEN";
/// JFrog token (fallback for `artifactory` stores).
pub const JFROG_ACCESS_TOKEN: &str = "JFROG_ACCESS_TOKEN";
/// 1Password Connect server URL (default for `onepassword` stores).
pub const OP_CONNECT_HOST: &str = "OP_CONNECT_HOST";
/// 1Password Connect token (default for `onepassword` stores).
pub const OP_CONNECT_TOKEN: &str = "OP_CONNECT_TOKEN";
/// 1Password service-account token (default for `onepassword` stores; handed to `op`).
pub const OP_SERVICE_ACCOUNT_TOKEN: &str = "OP_SERVICE_ACCOUNT_TOKEN";
/// Path of the 1Password CLI, when it is not `op` on `PATH`.
pub const ATMOS_OP_CLI: &str = "ATMOS_OP_CLI";
/// Azure tenant (client-secret credential, when no identity names one).
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// Azure application (client) id.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// Azure client secret.
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// Azure workload identity token file.
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// GitHub token for `github/actions` stores, before `GITHUB_TOKEN`.
pub const ATMOS_GITHUB_TOKEN: &str = "ATMOS_GITHUB_TOKEN";
/// GitHub token for `github/actions` stores.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// The GitHub REST API base (set in runners; GitHub Enterprise), for `github/actions` stores.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// Search path for executables (`op`).
pub const PATH: &str = "PATH";
/// XDG config home.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// XDG data home (the keychain store's `file` backend).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Data home for atmos, before `XDG_DATA_HOME` (as Go atmos).
pub const ATMOS_XDG_DATA_HOME: &str = "ATMOS_XDG_DATA_HOME";
/// The user's home directory.
pub const HOME: &str = "HOME";
/// Log filter.
pub const RUST_LOG: &str = "RUST_LOG";

/// Reads a variable; empty values count as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether the variable is set to a true-ish value (`1`, `true`, `yes`).
pub fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The user's config directory: `XDG_CONFIG_HOME`, else `~/.config`.
pub fn user_config_dir() -> Option<std::path::PathBuf> {
    if let Some(x) = var(XDG_CONFIG_HOME) {
        return Some(x.into());
    }
    var(HOME).map(|h| std::path::Path::new(&h).join(".config"))
}

/// The user's data directory for atmos's files: `ATMOS_XDG_DATA_HOME`, else `XDG_DATA_HOME`,
/// else `~/.local/share` (`~/Library/Application Support` on macOS), as Go atmos's `pkg/xdg`.
pub fn user_data_dir() -> Option<std::path::PathBuf> {
    if let Some(x) = var(ATMOS_XDG_DATA_HOME).or_else(|| var(XDG_DATA_HOME)) {
        return Some(x.into());
    }
    let home = std::path::PathBuf::from(var(HOME)?);
    Some(if cfg!(target_os = "macos") {
        home.join("Library").join("Application Support")
    } else {
        home.join(".local").join("share")
    })
}

/// Expands a leading `~` and `$VAR`/`${VAR}` references in a path.
pub fn expand_path(raw: &str) -> std::path::PathBuf {
    if !raw.starts_with('~') && !raw.contains('$') {
        return std::path::PathBuf::from(raw);
    }
    let mut s = String::with_capacity(raw.len());
    let mut rest = raw;
    if let Some(tail) = rest.strip_prefix('~')
        && (tail.is_empty() || tail.starts_with('/'))
        && let Some(home) = var(HOME)
    {
        s.push_str(&home);
        rest = tail;
    }
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            s.push(c);
            continue;
        }
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            s.push('$');
            continue;
        }
        s.push_str(&var(name).unwrap_or_default());
        for _ in 0..consumed {
            chars.next();
        }
    }
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_tilde_and_vars() {
        let home = var(HOME).unwrap_or_default();
        assert_eq!(
            expand_path("~/k.txt"),
            std::path::PathBuf::from(format!("{home}/k.txt"))
        );
        assert_eq!(
            expand_path("${HOME}/x"),
            std::path::PathBuf::from(format!("{home}/x"))
        );
        assert_eq!(expand_path("a$/b"), std::path::PathBuf::from("a$/b"));
        assert_eq!(expand_path("~user"), std::path::PathBuf::from("~user"));
    }
}
