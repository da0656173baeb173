//! `secret keygen [VAULT] [--force]`: age key material for a SOPS vault.

use crate::cli::KeygenArgs;
use crate::error::{Error, Result};
use crate::printer::Printer;
use crate::session::Project;

/// Generates an age identity for a vault configured in atmos.yaml.
pub(crate) fn keygen(project: &Project, args: KeygenArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = project.config()?;
    let mut vaults: Vec<String> = cfg.providers.keys().cloned().collect();
    vaults.sort();
    let list = if vaults.is_empty() {
        "none".to_owned()
    } else {
        vaults
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match args.vault.as_deref().map(str::to_lowercase) {
        Some(v) if cfg.providers.contains_key(&v) => v,
        Some(v) => {
            return Err(Error::new("no secrets vault is configured")
                .with_cause(format!(
                    "vault `{v}` is not configured under `secrets.providers`"
                ))
                .with_hint(format!("configured vaults: {list}")));
        }
        None if vaults.len() == 1 => vaults[0].clone(),
        None if vaults.is_empty() => {
            return Err(Error::new("no secrets vault is configured").with_hint(
                "add a `secrets.providers.<name>` entry with `kind: sops/age` to atmos.yaml",
            ));
        }
        None => {
            return Err(
                Error::usage("multiple vaults configured; name one").with_hint(format!(
                    "run `atmos secret keygen VAULT` with one of: {list}"
                )),
            );
        }
    };
    let provider = cfg.providers[&name].clone();
    let outcome = project.keygen(&provider, args.force)?;
    match outcome {
        crate::store::sops::Keygen::Unsupported => {
            printer.warn(&format!(
                "Key generation is not implemented for vault `{name}` (kind \"{}\"). No changes made.",
                provider.kind
            ));
        }
        crate::store::sops::Keygen::AlreadyHasKey => {
            printer.info(&format!(
                "Vault `{name}` already has key material. Use --force to generate more."
            ));
        }
        crate::store::sops::Keygen::Generated {
            identity_location,
            recipients_file,
            recipient,
        } => {
            printer.success(&format!(
                "Vault `{name}` ({}): Generated an age key pair.",
                provider.kind
            ));
            printer.status(&format!(
                "  private identity → {identity_location}  (keep out of version control)"
            ));
            printer.status(&format!(
                "  public recipient → {}  (safe to commit)",
                recipients_file.display()
            ));
            printer.stdout_bytes(format!("{recipient}\n").as_bytes());
        }
    }
    Ok(0)
}
