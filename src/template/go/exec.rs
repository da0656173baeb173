//! The executor: walks parsed [`Tree`]s over a [`Value`], with Go's scoping of variables, the
//! `missingkey` option, `break`/`continue`, nested `template` calls, lazy `and`/`or`, and Go's
//! error texts (`template: NAME:LINE:COL: executing "NAME" at <node>: ...`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::funcs::{FuncError, Funcs};
use super::parse::{self, Arg, Command, Control, ControlKind, Node, Pipe, Tree};
use super::value::Value;

/// Go's `missingkey` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: a missing map key prints `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: a missing key yields the map's zero value (`nil` for `map[string]any`).
    Zero,
    /// `missingkey=error`: a missing key stops execution with an error.
    Error,
}

/// A parse or execution error, with Go's message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Whether the template failed to parse (rather than to execute).
    pub is_parse: bool,
    /// The full message, e.g.
    /// `template: t:1:2: executing "t" at <.x>: map has no entry for key "x"`.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Maximum nesting of `{{template}}` calls (Go allows 100000; a Rust stack would not).
pub const MAX_DEPTH: usize = 1000;

/// Maximum steps of one execution (nodes walked plus `range` iterations) and maximum output
/// bytes. Go has neither and runs `{{range 9223372036854775807}}` forever; a template in a stack
/// manifest must end, so past these it is an error (found by the `template` fuzz target).
pub const MAX_STEPS: u64 = 1_000_000;
/// See [`MAX_STEPS`].
pub const MAX_OUTPUT: usize = 1 << 26;

/// A set of associated templates (the top-level one plus every `define`/`block`), sharing one
/// function registry and options — Go's `*template.Template`.
#[derive(Clone)]
pub struct Template {
    name: String,
    /// By name, hashed with foldhash: each execution looks its tree up.
    trees: HashMap<String, Arc<Tree>, foldhash::fast::RandomState>,
    funcs: Arc<Funcs>,
    missing_key: MissingKey,
    delims: (String, String),
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// An empty template set named `name` using `funcs`.
    pub fn new(name: impl Into<String>, funcs: Arc<Funcs>) -> Template {
        Template {
            name: name.into(),
            trees: HashMap::default(),
            funcs,
            missing_key: MissingKey::Default,
            delims: (String::new(), String::new()),
        }
    }

    /// Sets the `missingkey` option.
    pub fn missing_key(mut self, mk: MissingKey) -> Template {
        self.missing_key = mk;
        self
    }

    /// Sets the action delimiters for later [`Template::parse`] calls (empty = `{{`/`}}`).
    pub fn delims(mut self, left: impl Into<String>, right: impl Into<String>) -> Template {
        self.delims = (left.into(), right.into());
        self
    }

    /// The name of the main template.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as the body of this template; `define`s are added to the set (a later
    /// definition replaces an earlier one, as `Parse` does across calls).
    pub fn parse(&mut self, text: &str) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let has = move |name: &str| funcs.contains(name);
        let trees = parse::parse_delims(&self.name, text, &has, &self.delims.0, &self.delims.1)
            .map_err(|e| Error {
                is_parse: true,
                message: e.0,
            })?;
        for tree in trees {
            let replace = match self.trees.get(&tree.name) {
                Some(_) => !parse::is_empty(&tree.root),
                None => true,
            };
            if replace || tree.name == self.name {
                self.trees.insert(tree.name.clone(), Arc::new(tree));
            }
        }
        Ok(())
    }

    /// Every tree of the set (the main template and each `define`/`block`), by name.
    pub(super) fn trees(&self) -> impl Iterator<Item = (&str, &Tree)> {
        self.trees.iter().map(|(n, t)| (n.as_str(), t.as_ref()))
    }

    /// Whether a template of that name is defined.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes the main template over `data`.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        self.execute_template(&self.name, data)
    }

    /// Executes the named template over `data`.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error {
                is_parse: false,
                message: format!(
                    "template: no template {} associated with template {}",
                    parse::go_quote(name),
                    parse::go_quote(&self.name)
                ),
            });
        };
        let mut st = State {
            tmpl: self,
            tree: tree.clone(),
            vars: vec![("$".to_string(), data.clone())],
            depth: 0,
            // Most output is about as long as the text it comes from.
            out: String::with_capacity(tree.text.len()),
            steps: 0,
        };
        st.walk(data, &tree.root)?;
        Ok(st.out)
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'t> {
    tmpl: &'t Template,
    tree: Arc<Tree>,
    vars: Vec<(String, Value)>,
    depth: usize,
    out: String,
    steps: u64,
}

type R<T> = Result<T, Error>;

impl State<'_> {
    fn err(&self, pos: usize, context: &dyn fmt::Display, msg: impl fmt::Display) -> Error {
        let text = &self.tree.text;
        let pos = pos.min(text.len());
        let before = &text[..pos];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        Error {
            is_parse: false,
            message: format!(
                "template: {}:{}:{}: executing {} at <{}>: {}",
                self.tree.parse_name,
                line,
                col,
                parse::go_quote(&self.tree.name),
                context,
                msg
            ),
        }
    }

    /// Counts one step against [`MAX_STEPS`] and checks the output against [`MAX_OUTPUT`].
    fn budget(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS || self.out.len() > MAX_OUTPUT {
            return Err(Error {
                is_parse: false,
                message: format!(
                    "template: {}: execution stopped after {MAX_STEPS} steps or {MAX_OUTPUT} \
                     bytes of output",
                    self.tree.parse_name
                ),
            });
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> R<Flow> {
        for node in nodes {
            self.budget()?;
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match v {
                            Value::Nil => self.out.push_str("<no value>"),
                            v => v.write_go(&mut self.out),
                        }
                    }
                }
                Node::Control(c) => {
                    let flow = match c.kind {
                        ControlKind::If | ControlKind::With => self.walk_if_with(dot, c)?,
                        ControlKind::Range => self.walk_range(dot, c)?,
                    };
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Template { pos, name, pipe } => {
                    self.walk_template(dot, *pos, name, pipe.as_ref())?
                }
                Node::Break(_) => return Ok(Flow::Break),
                Node::Continue(_) => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, dot: &Value, c: &Control) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &c.pipe)?;
        let flow = if val.truthy() {
            if c.kind == ControlKind::With {
                self.walk(&val, &c.list)?
            } else {
                self.walk(dot, &c.list)?
            }
        } else if let Some(e) = &c.else_list {
            self.walk(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value, c: &Control) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &c.pipe)?;
        let ndecl = c.pipe.decl.len();
        let mut ran = false;
        let mut iter = |st: &mut Self, key: Value, elem: Value| -> R<bool> {
            st.budget()?;
            ran = true;
            let m = st.vars.len();
            if ndecl > 0 {
                let n = st.vars.len();
                st.vars[n - 1].1 = elem.clone();
            }
            if ndecl > 1 {
                let n = st.vars.len();
                st.vars[n - 2].1 = key;
            }
            let flow = st.walk(&elem, &c.list)?;
            st.vars.truncate(m);
            Ok(matches!(flow, Flow::Break))
        };
        match &val {
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    if iter(self, Value::Int(i as i64), e.clone())? {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                for (k, v) in Value::sorted_entries(m) {
                    if iter(self, Value::str(k), v.clone())? {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if ndecl > 1 {
                    return Err(self.err(
                        c.pipe.pos,
                        &c.pipe,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    if iter(self, Value::Int(i), Value::Int(i))? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return Err(self.err(
                    c.pipe.pos,
                    &c.pipe,
                    format!("range can't iterate over {}", other.to_go_string()),
                ));
            }
        }
        let flow = if !ran && let Some(e) = &c.else_list {
            self.walk(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_template(&mut self, dot: &Value, pos: usize, name: &str, pipe: Option<&Pipe>) -> R<()> {
        let ctx = TemplateCtx(name, pipe);
        let Some(tree) = self.tmpl.trees.get(name).cloned() else {
            return Err(self.err(
                pos,
                &ctx,
                format!("template {} not defined", parse::go_quote(name)),
            ));
        };
        if self.depth >= MAX_DEPTH {
            return Err(self.err(
                pos,
                &ctx,
                format!("exceeded maximum template depth ({MAX_DEPTH})"),
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let saved_vars =
            std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
        let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
        self.depth += 1;
        let r = self.walk(&new_dot, &tree.root);
        self.depth -= 1;
        self.tree = saved_tree;
        self.vars = saved_vars;
        r.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => {
                        return Err(self.err(
                            pipe.pos,
                            pipe,
                            format!("undefined variable: {name}"),
                        ));
                    }
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.err(
                cmd.pos,
                cmd,
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, final_: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(pos, idents) => self.eval_field_chain(
                dot,
                Some(dot.clone()),
                *pos,
                first,
                idents,
                &cmd.args,
                final_,
            ),
            Arg::Chain(pos, node, fields) => {
                self.eval_chain(dot, *pos, first, node, fields, &cmd.args, final_)
            }
            Arg::Identifier(_, name) => self.eval_function(dot, name, cmd, &cmd.args, final_),
            Arg::Pipe(_, p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(pos, idents) => {
                self.eval_variable(dot, *pos, first, idents, &cmd.args, final_)
            }
            Arg::Const(_, v, _) => {
                self.not_a_function(cmd, &final_)?;
                Ok(v.clone())
            }
            Arg::Dot(_) => {
                self.not_a_function(cmd, &final_)?;
                Ok(dot.clone())
            }
            Arg::Nil(pos) => Err(self.err(*pos, cmd, "nil is not a command")),
        }
    }

    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> R<Value> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Field(pos, idents) => self.eval_field_chain(
                dot,
                Some(dot.clone()),
                *pos,
                arg,
                idents,
                std::slice::from_ref(arg),
                None,
            ),
            Arg::Variable(pos, idents) => {
                self.eval_variable(dot, *pos, arg, idents, std::slice::from_ref(arg), None)
            }
            Arg::Pipe(_, p) => self.eval_pipeline(dot, p),
            Arg::Identifier(pos, name) => {
                let cmd = Command {
                    pos: *pos,
                    args: vec![arg.clone()],
                };
                self.eval_function(dot, name, &cmd, &cmd.args, None)
            }
            Arg::Chain(pos, node, fields) => self.eval_chain(
                dot,
                *pos,
                arg,
                node,
                fields,
                std::slice::from_ref(arg),
                None,
            ),
            Arg::Const(_, v, _) => Ok(v.clone()),
        }
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        pos: usize,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let Some((_, value)) = self.vars.iter().rev().find(|(n, _)| *n == idents[0]) else {
            return Err(self.err(pos, node, format!("undefined variable: {}", idents[0])));
        };
        let value = value.clone();
        if idents.len() == 1 {
            if args.len() > 1 || final_.is_some() {
                return Err(self.err(
                    pos,
                    node,
                    format!("can't give argument to non-function {node}"),
                ));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, Some(value), pos, node, &idents[1..], args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_chain(
        &mut self,
        dot: &Value,
        pos: usize,
        node: &Arg,
        inner: &Arg,
        fields: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        if let Arg::Identifier(_, ns) = inner {
            let name = format!("{ns}.{}", fields[0]);
            if fields.len() == 1 && self.tmpl.funcs.contains(&name) {
                let cmd = Command {
                    pos,
                    args: args.to_vec(),
                };
                return self.eval_function(dot, &name, &cmd, args, final_);
            }
        }
        if let Arg::Nil(_) = inner {
            return Err(self.err(
                pos,
                node,
                format!("indirection through explicit nil in {node}"),
            ));
        }
        let recv = self.eval_arg(dot, inner)?;
        self.eval_field_chain(dot, Some(recv), pos, node, fields, args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        _dot: &Value,
        receiver: Option<Value>,
        pos: usize,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        // A nil receiver at the start of a chain is Go's invalid value (nil data, a nil result).
        let mut recv = receiver.filter(|v| !matches!(v, Value::Nil));
        let mut from_map = false;
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            let has_args = i == n - 1 && (args.len() > 1 || final_.is_some());
            recv = self.eval_field(pos, node, recv, from_map, name, has_args)?;
            from_map = true;
        }
        Ok(recv.unwrap_or_default())
    }

    fn eval_field(
        &self,
        pos: usize,
        node: &Arg,
        recv: Option<Value>,
        from_map: bool,
        name: &str,
        has_args: bool,
    ) -> R<Option<Value>> {
        let Some(recv) = recv else {
            if self.tmpl.missing_key == MissingKey::Error {
                return Err(self.err(
                    pos,
                    node,
                    format!("nil data; no entry for key {}", parse::go_quote(name)),
                ));
            }
            return Ok(None);
        };
        match recv {
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(v) => Ok(Some(v.clone())),
                    None => match self.tmpl.missing_key {
                        MissingKey::Default => Ok(None),
                        MissingKey::Zero => Ok(Some(Value::Nil)),
                        MissingKey::Error => Err(self.err(
                            pos,
                            node,
                            format!("map has no entry for key {}", parse::go_quote(name)),
                        )),
                    },
                }
            }
            Value::Nil => Err(self.err(
                pos,
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            other => {
                let ty = if from_map {
                    "interface {}"
                } else {
                    other.type_name()
                };
                Err(self.err(
                    pos,
                    node,
                    format!("can't evaluate field {name} in type {ty}"),
                ))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let call_args = &args[1..];
        match name {
            "and" | "or" => {
                let is_and = name == "and";
                let total = call_args.len() + usize::from(final_.is_some());
                if total == 0 {
                    return Err(self.err(
                        cmd.pos,
                        cmd,
                        format!("wrong number of args for {name}: want at least 1 got 0"),
                    ));
                }
                let mut v = Value::Nil;
                for a in call_args {
                    v = self.eval_arg(dot, a)?;
                    if v.truthy() != is_and {
                        return Ok(v);
                    }
                }
                if let Some(f) = final_ {
                    v = f;
                }
                return Ok(v);
            }
            "call" => {
                let Some(first) = call_args.first() else {
                    return Err(self.err(
                        cmd.pos,
                        cmd,
                        "wrong number of args for call: want at least 1 got 0",
                    ));
                };
                let f = self.eval_arg(dot, first)?;
                let msg = match f {
                    Value::Nil => "call of nil".to_string(),
                    other => format!("non-function {first} of type {}", other.type_name()),
                };
                return Err(self.err(cmd.pos, cmd, format!("error calling call: {msg}")));
            }
            _ => {}
        }
        let Some(func) = self.tmpl.funcs.get(name) else {
            return Err(self.err(
                cmd.pos,
                cmd,
                format!("{} is not a defined function", parse::go_quote(name)),
            ));
        };
        let mut vals = Vec::with_capacity(call_args.len() + 1);
        for a in call_args {
            vals.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            vals.push(f);
        }
        match func(&vals) {
            Ok(v) => {
                // Go maps are references: sprig's `set`/`unset`/`merge*` mutate their first
                // argument. Values here are immutable, so write the result back to a variable
                // argument (`{{ $_ := set $d "k" 1 }}` then `{{ $d.k }}`).
                if matches!(
                    name,
                    "set" | "unset" | "merge" | "mergeOverwrite" | "coll.Merge"
                ) && let Some(Arg::Variable(_, idents)) = call_args.first()
                    && idents.len() == 1
                    && let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == idents[0])
                    && matches!(v, Value::Map(_))
                {
                    slot.1 = v.clone();
                }
                Ok(v)
            }
            Err(FuncError::Args(m)) => Err(self.err(cmd.pos, cmd, m)),
            Err(FuncError::Call(m)) => {
                Err(self.err(cmd.pos, cmd, format!("error calling {name}: {m}")))
            }
        }
    }
}

struct TemplateCtx<'a>(&'a str, Option<&'a Pipe>);

impl fmt::Display for TemplateCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(p) => write!(f, "{{{{template {} {p}}}}}", parse::go_quote(self.0)),
            None => write!(f, "{{{{template {}}}}}", parse::go_quote(self.0)),
        }
    }
}
