//! `atmos describe component|stacks`: prints merged component sections as YAML or JSON.
//!
//! `!secret`, `!store` and `!store.get` are shown as `<MASKED>` without contacting any backend
//! unless masking is off (`--mask=false`, `ATMOS_MASK=false`, `settings.terminal.mask.enabled:
//! false`); then they are read through [`BackendResolver`], the same sessions and stores as
//! `atmos secret`.

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

fn render(node: &Node, format: DescribeFormat) -> String {
    let node = yaml::sorted(node);
    match format {
        DescribeFormat::Yaml => yaml::to_yaml(&node),
        DescribeFormat::Json => {
            let mut s = serde_json::to_string_pretty(&yaml::to_json(&node)).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

fn resolved(inst: &ComponentInstance, resolver: &mut dyn FunctionResolver) -> Result<Map> {
    functions::resolve_tags(inst, resolver)
}

fn component(
    cfg: &CliConfig,
    args: &DescribeComponentArgs,
    resolver: &mut dyn FunctionResolver,
) -> Result<String> {
    let stacks = stack::load(cfg)?;
    let inst = stacks.component(
        cfg,
        &args.stack,
        &args.component,
        args.component_type.as_deref(),
    )?;
    let section = resolved(&inst, resolver)?;
    Ok(render(&Node::Map(section), args.format))
}

fn stacks(
    cfg: &CliConfig,
    args: &DescribeStacksArgs,
    resolver: &mut dyn FunctionResolver,
) -> Result<String> {
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
    Ok(render(&Node::Map(out), args.format))
}
