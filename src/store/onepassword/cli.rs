//! Owns the service-account transport of the `onepassword` store: the 1Password CLI `op` run
//! as a subprocess with the token in its environment (never in argv); values travel over pipes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use super::{Failure, Reference, Transport};
use crate::secret_value::SecretString;
use crate::store::BoxFuture;

const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `op` CLI with a service-account token.
pub(super) struct ServiceAccount {
    op: PathBuf,
    token: SecretString,
}

impl ServiceAccount {
    /// `op` at `op`, authenticating with `token`.
    pub(super) fn new(op: PathBuf, token: String) -> Self {
        Self {
            op,
            token: SecretString::new(token),
        }
    }

    async fn edit(
        &self,
        r: &Reference,
        args: &[&str],
        input: Option<&Value>,
    ) -> Result<(), Failure> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--vault", &r.vault]);
        if input.is_some() {
            all.extend(["--format", "json"]);
        }
        run_op(&self.op, &self.token, &all, input).await.map(drop)
    }
}

impl Transport for ServiceAccount {
    fn item<'a>(&'a self, r: &'a Reference) -> BoxFuture<'a, Result<Option<Value>, Failure>> {
        Box::pin(cli_item(&self.op, &self.token, r))
    }

    /// `op read` of the normalized reference.
    fn read<'a>(
        &'a self,
        _r: &'a Reference,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<Zeroizing<String>>, Failure>> {
        Box::pin(cli_read(&self.op, &self.token, reference))
    }

    fn create<'a>(&'a self, r: &'a Reference, item: Value) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move { self.edit(r, &["item", "create"], Some(&item)).await })
    }

    fn update<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let id = item["id"].as_str().unwrap_or_default();
            self.edit(r, &["item", "edit", id], Some(item)).await
        })
    }

    fn delete<'a>(
        &'a self,
        r: &'a Reference,
        item: &'a Value,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let id = item["id"].as_str().unwrap_or_default();
            self.edit(r, &["item", "delete", id], None).await
        })
    }
}

/// Runs `op` with the token in its environment and `input` (JSON) on stdin; returns stdout.
async fn run_op(
    op: &std::path::Path,
    token: &SecretString,
    args: &[&str],
    input: Option<&Value>,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(op);
    cmd.args(args)
        .env(crate::env::OP_SERVICE_ACCOUNT_TOKEN, token.expose())
        .stdin(if input.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Failure::new(
            format!("cannot run `{}`: {e}", op.display()),
            "install 1Password CLI 2.x or set ATMOS_OP_CLI to its path",
        )
    })?;
    if let (Some(json), Some(mut stdin)) = (input, child.stdin.take()) {
        let bytes =
            Zeroizing::new(serde_json::to_vec(json).map_err(|e| Failure::new(e.to_string(), ""))?);
        stdin.write_all(&bytes).await.map_err(|e| {
            Failure::new(
                format!("cannot write to `op`: {e}"),
                "check the 1Password CLI",
            )
        })?;
    }
    let out = tokio::time::timeout(OP_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            Failure::new(
                format!(
                    "`op {}` timed out after {OP_TIMEOUT:?}",
                    args[..2].join(" ")
                ),
                "check the network and the 1Password CLI",
            )
        })?
        .map_err(|e| Failure::new(format!("`op` failed: {e}"), "check the 1Password CLI"))?;
    let stdout = Zeroizing::new(out.stdout);
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(Failure {
        message: format!("`op {}` failed: {first}", args[..2].join(" ")),
        hint: Some(if first.contains("authoriz") || first.contains("token") {
            "check OP_SERVICE_ACCOUNT_TOKEN and the service account's vault access".into()
        } else {
            "check the reference and the service account's vault access".into()
        }),
    })
}

fn op_not_found(f: &Failure) -> bool {
    let m = f.message.to_ascii_lowercase();
    m.contains("isn't an item")
        || m.contains("isn't a field")
        || m.contains("not found")
        || m.contains("could not find")
}

async fn cli_item(
    op: &std::path::Path,
    token: &SecretString,
    r: &Reference,
) -> Result<Option<Value>, Failure> {
    match run_op(
        op,
        token,
        &[
            "item", "get", &r.item, "--vault", &r.vault, "--format", "json", "--reveal",
        ],
        None,
    )
    .await
    {
        Ok(out) => serde_json::from_slice(&out).map(Some).map_err(|_| {
            Failure::new(
                "`op item get` printed unreadable JSON",
                "check the 1Password CLI version (2.x)",
            )
        }),
        Err(f) if op_not_found(&f) => Ok(None),
        Err(f) => Err(f),
    }
}

async fn cli_read(
    op: &std::path::Path,
    token: &SecretString,
    reference: &str,
) -> Result<Option<Zeroizing<String>>, Failure> {
    match run_op(op, token, &["read", "--no-newline", reference], None).await {
        Ok(out) => Ok(Some(Zeroizing::new(
            String::from_utf8_lossy(&out).into_owned(),
        ))),
        Err(f) if op_not_found(&f) => Ok(None),
        Err(f) => Err(f),
    }
}
