//! Owns the YAML functions of stack manifests once a component is merged: parsing `!secret`,
//! `!store`, `!store.get` into typed values, evaluating `!env`/`!exec`/`!template`, and the
//! resolver seam ([`FunctionResolver`], [`resolve_tags`]) through which commands replace the
//! remaining tags with values.
//!
//! `!include` runs earlier, when a manifest is read (see `manifest`). Tags this crate does not know
//! (`!terraform.output`, `!terraform.state`, …) are left in place untouched.

use crate::config::functions as primitives;
use crate::error::Error;
use crate::printer::MASK;
use crate::yaml::{Map, Node, Tagged};

use super::ComponentInstance;

/// `!secret NAME [| path "<yq>"] [| default "<v>"]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFn {
    /// The declared secret name.
    pub name: String,
    /// yq path applied to the value.
    pub path: Option<String>,
    /// Used when the value cannot be read.
    pub default: Option<String>,
    /// The expression as written (after the tag), for messages.
    pub expr: String,
}

/// `!store <store> [<stack>] <component> <key> [| default <v>] [| query <yq>]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFn {
    /// Store name (lowercased, as in `atmos.yaml`).
    pub store: String,
    /// Stack; `None` = the current stack.
    pub stack: Option<String>,
    /// Component segment.
    pub component: String,
    /// Key.
    pub key: String,
    /// Used when the value cannot be read.
    pub default: Option<String>,
    /// yq query applied to the value.
    pub query: Option<String>,
    /// The expression as written.
    pub expr: String,
}

/// `!store.get <store> <key> [| default <v>] [| query <yq>]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreGetFn {
    /// Store name (lowercased).
    pub store: String,
    /// Key (composed as prefix + key by the store layer).
    pub key: String,
    /// Used when the value is missing.
    pub default: Option<String>,
    /// yq query applied to the value.
    pub query: Option<String>,
    /// The expression as written.
    pub expr: String,
}

/// A YAML function this crate understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlFunction {
    /// `!secret`
    Secret(SecretFn),
    /// `!store`
    Store(StoreFn),
    /// `!store.get`
    StoreGet(StoreGetFn),
    /// `!env NAME [default]` (arguments as written)
    Env(String),
    /// `!exec cmd`
    Exec(String),
    /// `!template text`
    Template(String),
    /// `!cwd [path]`
    Cwd(String),
    /// `!repo-root [default]`
    RepoRoot(String),
}

impl YamlFunction {
    /// Parses a tagged value. `Ok(None)` for tags this crate leaves alone.
    pub fn parse(tagged: &Tagged) -> Result<Option<YamlFunction>, String> {
        let arg = || primitives::tag_text(&tagged.tag, &tagged.value);
        Ok(Some(match tagged.tag.as_str() {
            "!secret" => YamlFunction::Secret(parse_secret(&arg()?)?),
            "!store" => YamlFunction::Store(parse_store(&arg()?)?),
            "!store.get" => YamlFunction::StoreGet(parse_store_get(&arg()?)?),
            "!env" => YamlFunction::Env(arg()?),
            "!exec" => YamlFunction::Exec(arg()?),
            "!template" => YamlFunction::Template(arg()?),
            "!cwd" => YamlFunction::Cwd(arg()?),
            "!repo-root" => YamlFunction::RepoRoot(arg()?),
            _ => return Ok(None),
        }))
    }
}

/// Splits `a | k v | k2 v2` into the head and `(key, value)` modifiers (quotes trimmed).
fn modifiers(expr: &str, what: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut parts = expr.split('|');
    let head = parts.next().unwrap_or("").trim().to_owned();
    let mut mods = Vec::new();
    for part in parts {
        let part = part.trim();
        let Some((k, v)) = part.split_once(char::is_whitespace) else {
            return Err(format!(
                "invalid {what} arguments: invalid modifier `{part}` in `{expr}`"
            ));
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
            .unwrap_or(v);
        mods.push((k.to_owned(), v.to_owned()));
    }
    Ok((head, mods))
}

/// Parses the text after `!secret`.
pub fn parse_secret(expr: &str) -> Result<SecretFn, String> {
    let (name, mods) = modifiers(expr, "!secret")?;
    if name.is_empty() {
        return Err("secret name cannot be empty".to_owned());
    }
    let mut f = SecretFn {
        name,
        path: None,
        default: None,
        expr: expr.to_owned(),
    };
    for (k, v) in mods {
        match k.as_str() {
            "path" => f.path = Some(v),
            "default" => f.default = Some(v),
            _ => {
                return Err(format!(
                    "invalid !secret arguments: unknown modifier `{k}` in `{expr}`"
                ));
            }
        }
    }
    Ok(f)
}

fn store_mods(
    expr: &str,
    what: &str,
    mods: Vec<(String, String)>,
) -> Result<(Option<String>, Option<String>), String> {
    let (mut default, mut query) = (None, None);
    for (k, v) in mods {
        match k.as_str() {
            "default" => default = Some(v),
            "query" => query = Some(v),
            _ => {
                return Err(format!(
                    "invalid {what} arguments: unknown modifier `{k}` in `{expr}`"
                ));
            }
        }
    }
    Ok((default, query))
}

/// Parses the text after `!store`.
pub fn parse_store(expr: &str) -> Result<StoreFn, String> {
    let (head, mods) = modifiers(expr, "!store")?;
    let words = primitives::split_args(&head)?;
    let (store, stack, component, key) = match words.as_slice() {
        [s, c, k] => (s, None, c, k),
        [s, st, c, k] => (s, Some(st.clone()), c, k),
        _ => {
            return Err(format!(
                "invalid number of arguments in `!store {expr}`: expected `store [stack] component key`"
            ));
        }
    };
    let (default, query) = store_mods(expr, "!store", mods)?;
    Ok(StoreFn {
        store: store.to_lowercase(),
        stack,
        component: component.clone(),
        key: key.clone(),
        default,
        query,
        expr: expr.to_owned(),
    })
}

/// Parses the text after `!store.get`.
pub fn parse_store_get(expr: &str) -> Result<StoreGetFn, String> {
    let (head, mods) = modifiers(expr, "!store.get")?;
    let words = primitives::split_args(&head)?;
    let [store, key] = words.as_slice() else {
        return Err(format!(
            "invalid number of arguments in `!store.get {expr}`: expected `store key`"
        ));
    };
    let (default, query) = store_mods(expr, "!store.get", mods)?;
    Ok(StoreGetFn {
        store: store.to_lowercase(),
        key: key.clone(),
        default,
        query,
        expr: expr.to_owned(),
    })
}

/// Evaluates `!env`, `!exec` and `!template` in `node` and checks that `!secret`/`!store`/
/// `!store.get` parse (they stay tagged). `env` is the component's `env` section. `check_store`
/// is called for each `!store`/`!store.get` (e.g. to refuse secret stores).
pub fn evaluate_load_time(
    node: &mut Node,
    env: &Map,
    check_store: &dyn Fn(&YamlFunction) -> Result<(), String>,
) -> Result<(), String> {
    match node {
        Node::Map(m) => m
            .values_mut()
            .try_for_each(|v| evaluate_load_time(v, env, check_store)),
        Node::Seq(s) => s
            .iter_mut()
            .try_for_each(|v| evaluate_load_time(v, env, check_store)),
        Node::Tagged(t) => {
            let Some(f) = YamlFunction::parse(t).map_err(|e| format!("`{}`: {e}", t.tag))? else {
                return Ok(());
            };
            let value = match &f {
                YamlFunction::Env(args) => primitives::eval_env(args, |name| {
                    env.get(name)
                        .and_then(Node::scalar_text)
                        .or_else(|| crate::env::var(name))
                })?,
                YamlFunction::Exec(cmd) => primitives::eval_exec(cmd)?,
                YamlFunction::Template(text) => primitives::json_or_string(text),
                YamlFunction::Cwd(path) => primitives::eval_cwd(path)?,
                YamlFunction::RepoRoot(default) => primitives::eval_repo_root(default)?,
                YamlFunction::Store(_) | YamlFunction::StoreGet(_) => {
                    check_store(&f)?;
                    return Ok(());
                }
                YamlFunction::Secret(_) => return Ok(()),
            };
            *node = value;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Supplies values for the tags that need a backend. The secret commands implement this with the
/// real stores; `describe` uses [`MaskingResolver`] unless `--mask=false`.
pub trait FunctionResolver {
    /// The value of `!secret` in `instance`.
    fn resolve_secret(&mut self, f: &SecretFn, instance: &ComponentInstance)
    -> Result<Node, Error>;
    /// The value of `!store` in `instance`.
    fn resolve_store(&mut self, f: &StoreFn, instance: &ComponentInstance) -> Result<Node, Error>;
    /// The value of `!store.get` in `instance`.
    fn resolve_store_get(
        &mut self,
        f: &StoreGetFn,
        instance: &ComponentInstance,
    ) -> Result<Node, Error>;
}

/// Shows every backend-bound value as `<MASKED>` without contacting anything.
#[derive(Debug, Default, Clone, Copy)]
pub struct MaskingResolver;

impl FunctionResolver for MaskingResolver {
    fn resolve_secret(&mut self, _: &SecretFn, _: &ComponentInstance) -> Result<Node, Error> {
        Ok(Node::Str(MASK.to_owned()))
    }
    fn resolve_store(&mut self, _: &StoreFn, _: &ComponentInstance) -> Result<Node, Error> {
        Ok(Node::Str(MASK.to_owned()))
    }
    fn resolve_store_get(&mut self, _: &StoreGetFn, _: &ComponentInstance) -> Result<Node, Error> {
        Ok(Node::Str(MASK.to_owned()))
    }
}

/// Wraps a resolver and keeps every `!secret` value it returns, so that a command can announce
/// them (CI `::add-mask::`) and mask them before printing anything. `!store` values are not
/// secrets (secret stores are refused there) and are not kept.
pub struct Recording<'a> {
    inner: &'a mut dyn FunctionResolver,
    /// The `!secret` values resolved so far.
    pub secrets: Vec<Node>,
}

impl<'a> Recording<'a> {
    /// Records what `inner` resolves.
    pub fn new(inner: &'a mut dyn FunctionResolver) -> Self {
        Self {
            inner,
            secrets: Vec::new(),
        }
    }
}

impl FunctionResolver for Recording<'_> {
    fn resolve_secret(
        &mut self,
        f: &SecretFn,
        instance: &ComponentInstance,
    ) -> Result<Node, Error> {
        let v = self.inner.resolve_secret(f, instance)?;
        // A `| default "…"` fallback is written in the manifest, not a secret.
        let is_default = f.default.is_some() && v.as_str() == f.default.as_deref();
        if !is_default {
            self.secrets.push(v.clone());
        }
        Ok(v)
    }
    fn resolve_store(&mut self, f: &StoreFn, instance: &ComponentInstance) -> Result<Node, Error> {
        self.inner.resolve_store(f, instance)
    }
    fn resolve_store_get(
        &mut self,
        f: &StoreGetFn,
        instance: &ComponentInstance,
    ) -> Result<Node, Error> {
        self.inner.resolve_store_get(f, instance)
    }
}

/// Returns `instance.section` with every `!secret`, `!store` and `!store.get` replaced by the
/// resolver's value. Other tags are kept.
pub fn resolve_tags(
    instance: &ComponentInstance,
    resolver: &mut dyn FunctionResolver,
) -> Result<Map, Error> {
    let mut section = instance.section.clone();
    for v in section.values_mut() {
        walk(v, instance, resolver)?;
    }
    Ok(section)
}

fn walk(
    node: &mut Node,
    instance: &ComponentInstance,
    resolver: &mut dyn FunctionResolver,
) -> Result<(), Error> {
    match node {
        Node::Map(m) => m.values_mut().try_for_each(|v| walk(v, instance, resolver)),
        Node::Seq(s) => s.iter_mut().try_for_each(|v| walk(v, instance, resolver)),
        Node::Tagged(t) => {
            let f = YamlFunction::parse(t).map_err(|e| {
                Error::new(format!(
                    "invalid `{}` in component `{}` of stack `{}`: {e}",
                    t.tag, instance.name, instance.stack
                ))
            })?;
            let value = match f {
                Some(YamlFunction::Secret(f)) => resolver.resolve_secret(&f, instance)?,
                Some(YamlFunction::Store(f)) => resolver.resolve_store(&f, instance)?,
                Some(YamlFunction::StoreGet(f)) => resolver.resolve_store_get(&f, instance)?,
                _ => return Ok(()),
            };
            *node = value;
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that refuses everything: errors from it must propagate out of the walk.
    struct UnavailableResolver;

    fn unavailable(tag: &str, expr: &str) -> Error {
        Error::new(format!("refused `{tag} {expr}`"))
    }

    impl FunctionResolver for UnavailableResolver {
        fn resolve_secret(&mut self, f: &SecretFn, _: &ComponentInstance) -> Result<Node, Error> {
            Err(unavailable("!secret", &f.expr))
        }
        fn resolve_store(&mut self, f: &StoreFn, _: &ComponentInstance) -> Result<Node, Error> {
            Err(unavailable("!store", &f.expr))
        }
        fn resolve_store_get(
            &mut self,
            f: &StoreGetFn,
            _: &ComponentInstance,
        ) -> Result<Node, Error> {
            Err(unavailable("!store.get", &f.expr))
        }
    }

    #[test]
    fn secret_modifiers() {
        let f = parse_secret("DB | path \".password\" | default 'x y'").expect("ok");
        assert_eq!(
            (f.name.as_str(), f.path.as_deref(), f.default.as_deref()),
            ("DB", Some(".password"), Some("x y"))
        );
        assert_eq!(
            parse_secret("  | path x").map_err(|e| e.contains("cannot be empty")),
            Err(true)
        );
        assert!(parse_secret("DB | path").is_err_and(|e| e.contains("invalid modifier")));
        assert!(parse_secret("DB | query .x").is_err_and(|e| e.contains("unknown modifier")));
    }

    #[test]
    fn store_forms() {
        let f = parse_store("App-Secrets vpc cidr | default 10.0.0.0/16").expect("ok");
        assert_eq!(
            (
                f.store.as_str(),
                f.stack.clone(),
                f.component.as_str(),
                f.key.as_str()
            ),
            ("app-secrets", None, "vpc", "cidr")
        );
        assert_eq!(f.default.as_deref(), Some("10.0.0.0/16"));
        let f = parse_store("s prod vpc cidr | query .a").expect("ok");
        assert_eq!(
            (f.stack.as_deref(), f.query.as_deref()),
            (Some("prod"), Some(".a"))
        );
        assert!(parse_store("s k").is_err());
        assert!(parse_store("s a b c d").is_err());
        let g = parse_store_get("s /path/x | default 1").expect("ok");
        assert_eq!(
            (g.key.as_str(), g.default.as_deref()),
            ("/path/x", Some("1"))
        );
        assert!(parse_store_get("s").is_err());
        assert!(parse_store_get("s k | nope x").is_err());
    }

    #[test]
    fn load_time_functions() {
        let mut n = crate::yaml::parse(
            "a: !env MY_VAR fallback\nb: !template '{\"x\": 1}'\nc: !secret K\nd: !terraform.output vpc id\ne: !exec echo 5\n",
            "t",
        )
        .expect("yaml");
        let mut env = Map::default();
        env.insert("MY_VAR".into(), Node::Str("from-component".into()));
        evaluate_load_time(&mut n, &env, &|_| Ok(())).expect("ok");
        assert_eq!(n.get("a"), Some(&Node::Str("from-component".into())));
        assert_eq!(n.get("b").and_then(|b| b.get("x")), Some(&Node::Int(1)));
        assert_eq!(
            n.get("c").and_then(Node::as_tagged).map(|t| t.tag.as_str()),
            Some("!secret")
        );
        assert_eq!(
            n.get("d").and_then(Node::as_tagged).map(|t| t.tag.as_str()),
            Some("!terraform.output")
        );
        assert_eq!(n.get("e"), Some(&Node::Int(5)));
        let mut bad = crate::yaml::parse("a: !store s k\n", "t").expect("yaml");
        assert!(evaluate_load_time(&mut bad, &env, &|_| Ok(())).is_err());
        let mut refused = crate::yaml::parse("a: !store s c k\n", "t").expect("yaml");
        assert!(evaluate_load_time(&mut refused, &env, &|_| Err("no".into())).is_err());
    }

    #[test]
    fn resolver_replaces_tags() {
        let section = crate::yaml::parse(
            "vars:\n  a: !secret K\n  b: [!store s c k]\n  c: !terraform.state x\n",
            "t",
        )
        .expect("yaml")
        .as_map()
        .cloned()
        .unwrap_or_default();
        let inst = ComponentInstance {
            stack: "dev".into(),
            manifest: "dev.yaml".into(),
            files: Default::default(),
            component_type: "terraform".into(),
            name: "api".into(),
            section,
        };
        let out = resolve_tags(&inst, &mut MaskingResolver).expect("ok");
        let vars = out.get("vars").expect("vars");
        assert_eq!(vars.get("a"), Some(&Node::Str(MASK.into())));
        assert_eq!(
            vars.get("b").and_then(Node::as_seq).map(|s| s[0].clone()),
            Some(Node::Str(MASK.into()))
        );
        assert!(vars.get("c").and_then(Node::as_tagged).is_some());
        assert!(resolve_tags(&inst, &mut UnavailableResolver).is_err());
    }
}
