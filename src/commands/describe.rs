//! `atmos describe component|stacks`: prints merged component sections as YAML or JSON.
//!
//! `!secret`, `!store` and `!store.get` are shown as `<MASKED>` without contacting any backend
//! unless masking is off (`--mask=false`, `ATMOS_MASK=false`, `settings.terminal.mask.enabled:
//! false`); then they are read through [`BackendResolver`], the same sessions and stores as
//! `atmos secret`, and the resolved trees and the rendered text are wiped once printed.

use crate::cli::{
    DescribeCommand, DescribeComponentArgs, DescribeFormat, DescribeProcessing, DescribeStacksArgs,
    GlobalArgs,
};
use crate::config::{self, CliConfig};
use crate::error::Result;
use crate::printer::Printer;
use crate::session::{BackendResolver, Settings};
use crate::stack::functions::{self, FunctionResolver, MaskingResolver, Recording};
use crate::stack::provenance as stack_provenance;
use crate::stack::{self, ComponentInstance, component_path};
use crate::yaml::{self, Map, Node};
use zeroize::Zeroizing;

/// Runs `atmos describe …`.
pub fn run(cmd: DescribeCommand, global: &GlobalArgs, printer: &mut Printer) -> Result<u8> {
    let cfg = config::load::load(&crate::config::load::LoadOptions {
        config_files: global.config_files.clone(),
        config_dirs: global.config_dirs.clone(),
        base_path: global.base_path.clone(),
        profiles: global.profile.clone(),
    })?;
    for w in &cfg.warnings {
        printer.warn(w);
    }
    printer.apply_config(&cfg.settings);
    let processing = match &cmd {
        DescribeCommand::Component(a) => a.processing.clone(),
        DescribeCommand::Stacks(a) => a.processing.clone(),
        DescribeCommand::Config(a) => {
            let processing = DescribeProcessing {
                query: a.query.clone(),
                process_templates: true,
                process_functions: true,
                skip: Vec::new(),
                identity: None,
                provenance: None,
            };
            let node = Node::Map(cfg.raw.masked(crate::printer::MASK));
            let text = render(&node, a.format, &processing)?;
            printer.stdout(&text);
            return Ok(0);
        }
        DescribeCommand::External(_) => {
            return Err(crate::error::Error::new(
                "internal error: `describe` pass-through reached the describe command",
            ));
        }
    };
    let mut cfg = cfg;
    if !processing.process_templates {
        cfg.templates_disabled = true;
    }
    let mut base = resolver_for(
        printer.masker.enabled(),
        processing.identity.clone(),
        std::sync::Arc::new(cfg.clone()),
    );
    let mut resolver = Recording::new(base.as_mut());
    let text = match cmd {
        DescribeCommand::Component(args) => component(&cfg, &args, &mut resolver)?,
        DescribeCommand::Stacks(args) => match stacks(&cfg, &args, &mut resolver, printer)? {
            Some(text) => text,
            // Printed stack by stack.
            None => return Ok(0),
        },
        DescribeCommand::Config(_) => {
            return Err(crate::error::Error::new(
                "internal error: `describe config` reached the stack describe",
            ));
        }
        // `dispatch` hands these to the Go atmos before any command runs.
        DescribeCommand::External(_) => {
            return Err(crate::error::Error::new(
                "internal error: `describe` pass-through reached the describe command",
            ));
        }
    };
    // Unmasked `!secret` values are announced (CI `::add-mask::`) before the document.
    announce(&resolver.secrets, printer);
    printer.stdout(&text);
    Ok(0)
}

/// The resolver for `describe`: masking, or (unmasked) the backend resolver with `--identity`.
fn resolver_for(
    mask: bool,
    identity: Option<String>,
    cfg: std::sync::Arc<CliConfig>,
) -> Box<dyn FunctionResolver> {
    if mask {
        Box::new(MaskingResolver)
    } else {
        let settings = Settings {
            identity,
            ..Settings::default()
        };
        Box::new(BackendResolver::with_settings(settings, cfg))
    }
}

/// The text to print (after `--query`); it and the sorted copy it is made from are wiped on drop.
fn render(
    node: &Node,
    format: DescribeFormat,
    processing: &DescribeProcessing,
) -> Result<Zeroizing<String>> {
    match &processing.query {
        Some(q) => {
            let queried = yaml::query(node, q).map_err(|e| {
                crate::error::Error::usage(format!("invalid --query: {e}"))
                    .with_hint("a yq-style path such as `.vars` or `.settings.x[0]`")
            })?;
            Ok(render_plain(&queried, format))
        }
        None => Ok(render_plain(node, format)),
    }
}

/// `node` as sorted YAML or pretty JSON; the sorted copy is wiped.
fn render_plain(node: &Node, format: DescribeFormat) -> Zeroizing<String> {
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

/// The sections atmos always prints, as empty maps when a component has none.
const ALWAYS: [&str; 9] = [
    "vars",
    "env",
    "settings",
    "metadata",
    "auth",
    "backend",
    "providers",
    "overrides",
    "hooks",
];

/// The merged section as `describe` prints it: YAML functions resolved (unless
/// `--process-functions=false` or `--skip`), the sections atmos always prints, and `command`.
fn resolved(
    cfg: &CliConfig,
    inst: &ComponentInstance,
    processing: &DescribeProcessing,
    resolver: &mut dyn FunctionResolver,
) -> Result<Map> {
    let mut inst = std::borrow::Cow::Borrowed(inst);
    if !processing.process_functions || !processing.skip.is_empty() {
        let mut owned = inst.into_owned();
        for v in owned.section.values_mut() {
            leave_as_written(v, processing);
        }
        inst = std::borrow::Cow::Owned(owned);
    }
    let mut section = functions::resolve_tags(&inst, resolver)?;
    for key in ALWAYS {
        section
            .entry(key.to_owned())
            .or_insert_with(|| Node::Map(Map::default()));
    }
    if !section.contains_key("command") {
        section.insert(
            "command".to_owned(),
            Node::Str(cfg.component_command(&inst.component_type)),
        );
    }
    Ok(section)
}

/// Turns the YAML functions `--process-functions=false`/`--skip` name into their text
/// (`!store ssm key`), as atmos prints an unprocessed function.
fn leave_as_written(node: &mut Node, processing: &DescribeProcessing) {
    match node {
        Node::Map(m) => m.values_mut().for_each(|v| leave_as_written(v, processing)),
        Node::Seq(s) => s.iter_mut().for_each(|v| leave_as_written(v, processing)),
        Node::Tagged(t) => {
            let name = t.tag.trim_start_matches('!');
            let skipped = !processing.process_functions
                || processing
                    .skip
                    .iter()
                    .any(|s| s.trim_start_matches('!') == name);
            if skipped {
                let arg = t.value.scalar_text().unwrap_or_default();
                *node = Node::Str(format!("{} {arg}", t.tag).trim_end().to_owned());
            }
        }
        _ => {}
    }
}

fn component(
    cfg: &CliConfig,
    args: &DescribeComponentArgs,
    resolver: &mut dyn FunctionResolver,
) -> Result<Zeroizing<String>> {
    let stacks = stack::load(cfg)?;
    let found = stacks.component(
        cfg,
        &args.stack,
        &args.component,
        args.component_type.as_deref(),
    );
    let inst = match found {
        // A path (`.`, `./components/terraform/vpc`) that is not also a component name.
        Err(stack::StackError::ComponentNotFound { .. })
            if component_path::looks_like_path(&args.component) =>
        {
            let cwd = std::env::current_dir().unwrap_or_default();
            let (name, ctype) =
                component_path::resolve(cfg, &stacks, &args.stack, &args.component, &cwd)?;
            stacks.component(cfg, &args.stack, &name, Some(&ctype))?
        }
        other => other?,
    };
    let mut section = Node::Map(resolved(cfg, &inst, &args.processing, resolver)?);
    // As atmos (its 2026-07 config edition): YAML output is annotated unless turned off by
    // the flag, ATMOS_DESCRIBE_PROVENANCE or `describe.provenance: false`; JSON and --query are
    // annotated only on request.
    let wanted = args.processing.provenance.or(cfg.describe_provenance);
    let by_default = args.format == DescribeFormat::Yaml && args.processing.query.is_none();
    let text = if wanted.unwrap_or(by_default) {
        provenance(cfg, &stacks, &inst, &section, args)
    } else {
        render(&section, args.format, &args.processing)
    };
    yaml::zeroize(&mut section);
    text
}

/// `--provenance`: the YAML with each value's manifest file and line.
fn provenance(
    cfg: &CliConfig,
    stacks: &stack::Stacks,
    inst: &ComponentInstance,
    section: &Node,
    args: &DescribeComponentArgs,
) -> Result<Zeroizing<String>> {
    if args.format != DescribeFormat::Yaml || args.processing.query.is_some() {
        return Err(crate::error::Error::usage(
            "--provenance annotates the YAML output and cannot be combined with --format json or --query",
        )
        .with_hint("drop --provenance, or use --format yaml without --query"));
    }
    let Some(stack) = stack_provenance::stack_of(stacks, inst) else {
        return Err(crate::error::Error::new(format!(
            "internal error: no manifest for stack `{}`",
            inst.stack
        )));
    };
    let origins = stack_provenance::origins(&cfg.stacks.base_path, stack, inst);
    let map = section.as_map().cloned().unwrap_or_default();
    let mut sorted = Node::Map(map);
    let text = Zeroizing::new(stack_provenance::render(
        sorted.as_map().unwrap_or(&Map::default()),
        &origins,
        &stack.stack_file,
    ));
    yaml::zeroize(&mut sorted);
    Ok(text)
}

fn stacks(
    cfg: &CliConfig,
    args: &DescribeStacksArgs,
    resolver: &mut Recording<'_>,
    printer: &mut Printer,
) -> Result<Option<Zeroizing<String>>> {
    if args.processing.provenance == Some(true) {
        return Err(crate::error::Error::usage(
            "--provenance is available for `describe component` only",
        )
        .with_hint("run `atmos describe component NAME -s STACK --provenance`"));
    }
    let stacks = stack::load(cfg)?;
    let names: Vec<String> = match &args.stack {
        Some(s) => vec![stacks.stack(s)?.name.clone()],
        None => stacks.names().map(str::to_owned).collect(),
    };
    // Stack by stack: each stack's instances are built, rendered as its entry of the document,
    // printed and dropped, so memory does not grow with the tree (the text is the same as
    // rendering the whole document at once; on an error, the stacks before it have been
    // printed). A `--query` applies to the whole document, which is then built first.
    let query = args.processing.query.is_some();
    let mut whole = Map::default();
    let mut printed = Printed::default();
    for name in names {
        let mut types = Map::default();
        for inst in stacks.instances(cfg, &name)? {
            if !args.components.is_empty() && !args.components.contains(&inst.name) {
                continue;
            }
            let section = resolved(cfg, &inst, &args.processing, resolver)?;
            let entry = types
                .entry(inst.component_type.clone())
                .or_insert_with(|| Node::Map(Map::default()));
            if let Node::Map(m) = entry {
                m.insert(inst.name.clone(), Node::Map(section));
            }
        }
        if types.is_empty() && !args.components.is_empty() {
            continue;
        }
        let mut stack_map = Map::default();
        stack_map.insert("components".to_owned(), Node::Map(types));
        if query {
            whole.insert(name, Node::Map(stack_map));
            continue;
        }
        let mut one = Map::default();
        one.insert(name, Node::Map(stack_map));
        let mut one = Node::Map(one);
        let entry = render_entry(&one, args.format);
        yaml::zeroize(&mut one);
        printed.entry(&entry, args.format, resolver, printer);
    }
    if query {
        let mut whole = Node::Map(whole);
        let text = render(&whole, args.format, &args.processing);
        yaml::zeroize(&mut whole);
        return text.map(Some);
    }
    printed.finish(args.format, resolver, printer);
    Ok(None)
}

/// The map document of `describe stacks`, printed entry by entry ([`render_entry`],
/// [`before_entry`], [`after_entries`]): the same bytes as rendering the whole map. Unmasked
/// `!secret` values are announced (CI `::add-mask::`) before the entry that holds them.
#[derive(Default)]
struct Printed {
    entries: usize,
    announced: usize,
}

impl Printed {
    fn announce(&mut self, resolver: &Recording<'_>, printer: &mut Printer) {
        announce(&resolver.secrets[self.announced..], printer);
        self.announced = resolver.secrets.len();
    }

    fn entry(
        &mut self,
        entry: &str,
        format: DescribeFormat,
        resolver: &Recording<'_>,
        printer: &mut Printer,
    ) {
        self.announce(resolver, printer);
        printer.stdout_parts(&[before_entry(self.entries, format), entry]);
        self.entries += 1;
    }

    fn finish(&mut self, format: DescribeFormat, resolver: &Recording<'_>, printer: &mut Printer) {
        self.announce(resolver, printer);
        printer.stdout(&after_entries(self.entries, format));
    }
}

/// Announces unmasked `!secret` values (CI `::add-mask::`) ahead of the output holding them.
fn announce(secrets: &[Node], printer: &mut Printer) {
    for value in secrets {
        printer.reveal_json(&yaml::to_json(value));
    }
}

/// One top-level entry of a map document, as [`Printed`] puts them together: YAML as is, JSON
/// without the braces of its one-entry object.
fn render_entry(one: &Node, format: DescribeFormat) -> Zeroizing<String> {
    let text = render_plain(one, format);
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

/// What comes before entry `index` of the map document ([`Printed`]): JSON's opening brace or
/// a comma; nothing in YAML.
fn before_entry(index: usize, format: DescribeFormat) -> &'static str {
    match (format, index) {
        (DescribeFormat::Yaml, _) => "",
        (DescribeFormat::Json, 0) => "{\n",
        (DescribeFormat::Json, _) => ",\n",
    }
}

/// What ends a map document of `count` entries ([`Printed`]): the empty document when there
/// were none.
fn after_entries(count: usize, format: DescribeFormat) -> Zeroizing<String> {
    match (format, count) {
        (_, 0) => render_plain(&Node::Map(Map::default()), format),
        (DescribeFormat::Yaml, _) => Zeroizing::new(String::new()),
        (DescribeFormat::Json, _) => Zeroizing::new("\n}\n".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document as [`Printed`] writes it.
    fn joined(entries: &[Zeroizing<String>], format: DescribeFormat) -> String {
        let mut text = String::new();
        for (i, e) in entries.iter().enumerate() {
            text.push_str(before_entry(i, format));
            text.push_str(e);
        }
        text.push_str(&after_entries(entries.len(), format));
        text
    }

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
                    let mut one = Map::default();
                    one.insert((*k).clone(), whole[*k].clone());
                    render_entry(&Node::Map(one), format)
                })
                .collect();
            assert_eq!(
                joined(&entries, format),
                *render_plain(&Node::Map(whole.clone()), format),
                "{format:?}"
            );
            assert_eq!(
                joined(&[], format),
                *render_plain(&Node::Map(Map::default()), format)
            );
        }
    }
}
