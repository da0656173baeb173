//! Owns "component given as a path" (`atmos describe component . -s dev`,
//! `./components/terraform/vpc`): the folder is mapped to a component under one of the
//! component base paths, then to the one instance of the stack that uses it, as atmos
//! (`pkg/component/resolver.go`): an instance matches by its name, its `component` or its
//! `metadata.component`; several matches are ambiguous.

use std::path::Path;

use super::Stacks;
use crate::config::CliConfig;
use crate::error::{Error, code};
use crate::yaml::Node;

/// Whether a component argument is meant as a path: it contains a separator or is `.`/`..`
/// (or starts with `./`, `../`). `infra/vpc` counts too; callers try it as a name first.
pub fn looks_like_path(arg: &str) -> bool {
    arg == "." || arg == ".." || arg.contains('/') || arg.contains(std::path::MAIN_SEPARATOR)
}

/// The component types whose base path is looked at, in atmos' order.
const TYPES: [&str; 3] = ["terraform", "helmfile", "packer"];

/// The instance name and type that the folder `arg` (relative to `cwd`) stands for in `stack`.
pub fn resolve(
    cfg: &CliConfig,
    stacks: &Stacks,
    stack: &str,
    arg: &str,
    cwd: &Path,
) -> Result<(String, String), Error> {
    let path = crate::config::load::normalize(&cwd.join(arg));
    let found = TYPES.iter().find_map(|t| {
        let base = cfg.component_base_path(t);
        let rel = path.strip_prefix(&base).ok()?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        (!rel.is_empty()).then(|| ((*t).to_owned(), rel))
    });
    let Some((ctype, component)) = found else {
        let bases: Vec<String> = TYPES
            .iter()
            .map(|t| format!("`{}`", cfg.component_base_path(t).display()))
            .collect();
        return Err(Error::new(format!(
            "path is not within Atmos component directories: `{arg}` (`{}`)",
            path.display()
        ))
        .with_hint(format!(
            "give a component name, or a folder under one of {}",
            bases.join(", ")
        ))
        .with_code(code::USAGE));
    };
    let top = stacks.stack(stack).map_err(|e| Error::new(e.to_string()))?;
    let mut matches: Vec<String> = Vec::new();
    for s in std::iter::once(top).chain(stacks.shadowed.iter().filter(|s| s.name == top.name)) {
        let config = s.config();
        let comps = config.get("components").and_then(|c| c.get(&ctype));
        for (key, value) in comps.and_then(Node::as_map).into_iter().flatten() {
            let text = |n: Option<&Node>| n.and_then(Node::as_str) == Some(component.as_str());
            let hit = *key == component
                || text(value.get("component"))
                || text(value.get("metadata").and_then(|m| m.get("component")));
            if hit && !matches.contains(key) {
                matches.push(key.clone());
            }
        }
    }
    matches.sort();
    match matches.as_slice() {
        [one] => Ok((one.clone(), ctype)),
        [] => Err(Error::new(format!(
            "component not found in stack configuration: no component of stack `{stack}` uses `{component}` (from the path `{arg}`)"
        ))
        .with_hint(format!("run `atmos describe stacks -s {stack}` to see its components"))
        .with_code(code::USAGE)),
        many => Err(Error::new(format!(
            "ambiguous component path: `{arg}` resolves to `{component}`, which several components of stack `{stack}` use. Matching components: {}",
            many.join(", ")
        ))
        .with_hint(format!(
            "use the component name instead of a path, e.g. `atmos describe component {} -s {stack}`",
            many[0]
        ))
        .with_code(code::USAGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_forms() {
        for p in [
            ".",
            "..",
            "./vpc",
            "../x",
            "components/terraform/vpc",
            "infra/vpc",
        ] {
            assert!(looks_like_path(p), "{p}");
        }
        assert!(!looks_like_path("vpc"));
    }
}
