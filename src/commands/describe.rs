//! `atmos describe component|stacks`: prints merged component sections as YAML or JSON.
//!
//! `!secret`, `!store` and `!store.get` are shown as `<MASKED>` without contacting any backend
//! unless masking is off (`--mask=false`, `ATMOS_MASK=false`, `settings.terminal.mask.enabled:
//! false`); then they are read through [`BackendResolver`], the same sessions and stores as
//! `atmos secret`, and the resolved trees and the rendered text are wiped once printed.

use crate::cli::{
    DescribeCommand, DescribeComponentArgs, DescribeFormat, DescribeStacksArgs, GlobalArgs,
};
use crate::config::{self, CliConfig};
use crate::error::Result;
use crate::printer::Printer;
use crate::session::BackendResolver;
use crate::stack::functions::{self, FunctionResolver, MaskingResolver, Recording};
use crate::stack::{self, ComponentInstance};
use crate::yaml::{self, Map, Node};
use zeroize::Zeroizing;

/// Runs `atmos describe …`.
pub fn run(cmd: DescribeCommand, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config::load::load(&config::load::LoadOptions {
        config_path: global.config_path.clone(),
        base_path: global.base_path.clone(),
    })?;
    for w in &cfg.warnings {
        printer.warn(w);
    }
    printer.apply_config(&cfg.settings);
    let mut base = resolver_for(printer.masker.enabled(), std::sync::Arc::new(cfg.clone()));
    let mut resolver = Recording::new(base.as_mut());
    let text = match cmd {
        DescribeCommand::Component(args) => component(&cfg, &args, &mut resolver)?,
        DescribeCommand::Stacks(args) => stacks(&cfg, &args, &mut resolver)?,
        // `dispatch` hands these to the Go atmos before any command runs.
        DescribeCommand::External(_) => {
            return Err(crate::error::Error::new(
                "internal error: `describe` pass-through reached the describe command",
            ));
        }
    };
    // Unmasked `!secret` values are announced (CI `::add-mask::`) before the document.
    for value in &resolver.secrets {
        printer.reveal_json(&yaml::to_json(value));
    }
    printer.stdout(&text);
    Ok(0)
}

/// The resolver for `describe`: masking, or (unmasked) the backend resolver.
fn resolver_for(mask: bool, cfg: std::sync::Arc<CliConfig>) -> Box<dyn FunctionResolver> {
    if mask {
        Box::new(MaskingResolver)
    } else {
        Box::new(BackendResolver::new(cfg))
    }
}

/// The text to print; it and the sorted copy it is made from are wiped on drop.
fn render(node: &Node, format: DescribeFormat) -> Zeroizing<String> {
    let mut sorted = yaml::sorted(node);
    let text = match format {
        DescribeFormat::Yaml => Zeroizing::new(yaml::to_yaml(&sorted)),
        DescribeFormat::Json => {
            let mut json = yaml::to_json(&sorted);
            let pretty = Zeroizing::new(serde_json::to_string_pretty(&json).unwrap_or_default());
            crate::secret_value::zeroize_json(&mut json);
            let mut s = Zeroizing::new(String::with_capacity(pretty.len() + 1));
            s.push_str(&pretty);
            s.push('\n');
            s
        }
    };
    yaml::zeroize(&mut sorted);
    text
}

fn resolved(inst: &ComponentInstance, resolver: &mut dyn FunctionResolver) -> Result<Map> {
    functions::resolve_tags(inst, resolver)
}

fn component(
    cfg: &CliConfig,
    args: &DescribeComponentArgs,
    resolver: &mut dyn FunctionResolver,
) -> Result<Zeroizing<String>> {
    let stacks = stack::load(cfg)?;
    let inst = stacks.component(
        cfg,
        &args.stack,
        &args.component,
        args.component_type.as_deref(),
    )?;
    let mut section = Node::Map(resolved(&inst, resolver)?);
    let text = render(&section, args.format);
    yaml::zeroize(&mut section);
    Ok(text)
}

fn stacks(
    cfg: &CliConfig,
    args: &DescribeStacksArgs,
    resolver: &mut dyn FunctionResolver,
) -> Result<Zeroizing<String>> {
    let stacks = stack::load(cfg)?;
    let names: Vec<String> = match &args.stack {
        Some(s) => vec![stacks.stack(s)?.name.clone()],
        None => stacks.names().map(str::to_owned).collect(),
    };
    let mut out = Map::new();
    for name in names {
        let mut types = Map::new();
        for inst in stacks.instances(cfg, &name)? {
            if !args.components.is_empty() && !args.components.contains(&inst.name) {
                continue;
            }
            let section = resolved(&inst, resolver)?;
            let entry = types
                .entry(inst.component_type.clone())
                .or_insert_with(|| Node::Map(Map::new()));
            if let Node::Map(m) = entry {
                m.insert(inst.name.clone(), Node::Map(section));
            }
        }
        if types.is_empty() && !args.components.is_empty() {
            continue;
        }
        let mut stack_map = Map::new();
        stack_map.insert("components".to_owned(), Node::Map(types));
        out.insert(name, Node::Map(stack_map));
    }
    let mut out = Node::Map(out);
    let text = render(&out, args.format);
    yaml::zeroize(&mut out);
    Ok(text)
}
