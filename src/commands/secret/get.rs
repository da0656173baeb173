//! `secret get NAME [--format text|json|env] [--path P] [--raw]`.

use super::{Ctx, get_value};
use crate::cli::{GetArgs, GetFormat};
use crate::error::{Error, Result};
use crate::printer::Printer;

/// Prints one secret's value on stdout (masked unless `--mask=false`).
pub(crate) fn get(ctx: &Ctx, args: GetArgs, printer: &mut Printer) -> Result<u8> {
    if args.raw && matches!(args.format, Some(GetFormat::Json | GetFormat::Env)) {
        return Err(Error::usage(
            "--raw is text-only and cannot be combined with --format=json or --format=env",
        ));
    }
    let session = ctx.session()?;
    let decl = session.find(&args.name)?.clone();
    let value = get_value(&session, &decl)?;
    let value = match args.path.as_deref() {
        Some(p) => crate::stack::path::select_json(value.expose(), p)
            .map(crate::secret::SecretValue::json)
            .map_err(|e| {
                Error::new(format!(
                    "cannot apply path `{p}` to secret `{}`: {e}",
                    decl.name
                ))
            })?,
        None => value,
    };
    printer.masker.register_json(value.expose());
    let text = value.to_text();
    let out = if args.raw {
        text.expose().to_owned()
    } else {
        match args.format.unwrap_or_default() {
            GetFormat::Text => format!("{}\n", text.expose()),
            GetFormat::Json => format!("{}\n", value.expose()),
            GetFormat::Env => format!("{}={}\n", decl.name, text.expose()),
        }
    };
    printer.stdout(&out);
    Ok(0)
}
