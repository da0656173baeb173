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
    // Stack by stack: each stack's instances are built, rendered as its entry of the document
    // and dropped, so only the text of the stacks done so far is held, never the whole tree.
    let mut entries: Vec<Zeroizing<String>> = Vec::new();
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
        let mut one = Map::new();
        one.insert(name, Node::Map(stack_map));
        let mut one = Node::Map(one);
        entries.push(render_entry(&one, args.format));
        yaml::zeroize(&mut one);
    }
    Ok(join_entries(&entries, args.format))
}

/// One top-level entry of a map document, as [`join_entries`] puts them together: YAML as is,
/// JSON without the braces of its one-entry object.
fn render_entry(one: &Node, format: DescribeFormat) -> Zeroizing<String> {
    let text = render(one, format);
    match format {
        DescribeFormat::Yaml => text,
        DescribeFormat::Json => {
            let inner = text
                .strip_prefix("{\n")
                .and_then(|t| t.strip_suffix("\n}\n"))
                .unwrap_or(&text);
            Zeroizing::new(inner.to_owned())
        }
    }
}

/// The map document whose entries (sorted by key) are `entries`: the same text as rendering the
/// whole map at once.
fn join_entries(entries: &[Zeroizing<String>], format: DescribeFormat) -> Zeroizing<String> {
    if entries.is_empty() {
        return render(&Node::Map(Map::new()), format);
    }
    let mut text = Zeroizing::new(String::with_capacity(
        entries.iter().map(|e| e.len() + 2).sum::<usize>() + 4,
    ));
    match format {
        DescribeFormat::Yaml => entries.iter().for_each(|e| text.push_str(e)),
        DescribeFormat::Json => {
            text.push_str("{\n");
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    text.push_str(",\n");
                }
                text.push_str(e);
            }
            text.push_str("\n}\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_joined_read_as_the_whole_document() {
        let Node::Map(whole) = yaml::parse(
            "b-stack: {components: {terraform: {api: {vars: {x: 1, l: [a, {k: v}]}, e: {}}}}}\n\
             a-stack: {components: {terraform: {}}}\nc: {components: {helmfile: {w: {s: 'it''s'}}}}\n",
            "t",
        )
        .expect("yaml") else {
            panic!("map")
        };
        for format in [DescribeFormat::Yaml, DescribeFormat::Json] {
            let mut keys: Vec<&String> = whole.keys().collect();
            keys.sort();
            let entries: Vec<Zeroizing<String>> = keys
                .iter()
                .map(|k| {
                    let mut one = Map::new();
                    one.insert((*k).clone(), whole[*k].clone());
                    render_entry(&Node::Map(one), format)
                })
                .collect();
            assert_eq!(
                *join_entries(&entries, format),
                *render(&Node::Map(whole.clone()), format),
                "{format:?}"
            );
            assert_eq!(
                *join_entries(&[], format),
                *render(&Node::Map(Map::new()), format)
            );
        }
    }
}
