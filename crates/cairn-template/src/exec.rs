//! The executor: walks a parsed tree over a [`Value`], with Go's semantics for pipelines,
//! variables, control structures and `template` calls, and with hard limits on steps,
//! output size and call depth.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::Error;
use crate::fmt::{sprint_value, sprint_value_kv, type_name};
use crate::funcs::{Arity, Entry, Funcs};
use crate::lex::line_col;
use crate::methods::field;
use crate::parse::{Arg, ArgKind, Command, Control, Node, Pipe, Tree};
use crate::value::Value;

/// Bounds on one execution; templates come from configuration and must not hang or exhaust
/// the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nodes, commands and range iterations executed before giving up.
    pub max_steps: u64,
    /// Bytes of output (and of any single string value) allowed.
    pub max_output_bytes: usize,
    /// Nesting of `template` calls (recursion) allowed.
    pub max_call_depth: usize,
    /// Nesting of control structures and pipelines across all template calls, which bounds
    /// the stack an execution uses (recursion through nested `if`s would otherwise overflow
    /// a thread's stack long before `max_call_depth`).
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_steps: 1_000_000,
            max_output_bytes: 1 << 20,
            max_call_depth: 100,
            max_nesting: 150,
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, Error>;

pub(crate) struct Exec<'a> {
    pub(crate) trees: &'a BTreeMap<String, Arc<Tree>>,
    pub(crate) funcs: &'a Funcs,
    /// Values of argument-less functions bound for this execution only.
    pub(crate) scope: &'a [(&'a str, Value)],
    pub(crate) limits: &'a Limits,
    pub(crate) tree: &'a Tree,
    pub(crate) name: &'a str,
    pub(crate) vars: Vec<(String, Value)>,
    pub(crate) out: String,
    /// Bytes held in outer buffers while `tmpl` captures into a fresh one.
    pub(crate) captured: usize,
    pub(crate) steps: u64,
    pub(crate) depth: usize,
    pub(crate) nest: usize,
    pub(crate) pos: usize,
}

impl<'a> Exec<'a> {
    /// Runs the template `name` with `data` as dot and `$`.
    pub(crate) fn run(
        trees: &'a BTreeMap<String, Arc<Tree>>,
        funcs: &'a Funcs,
        scope: &'a [(&'a str, Value)],
        limits: &'a Limits,
        name: &'a str,
        data: &Value,
    ) -> R<String> {
        let Some(tree) = trees.get(name) else {
            return Err(Error::Exec {
                name: name.to_owned(),
                message: format!("no template {name:?} defined"),
            });
        };
        let mut e = Exec {
            trees,
            funcs,
            scope,
            limits,
            tree,
            name,
            vars: vec![("$".to_owned(), data.clone())],
            out: String::new(),
            captured: 0,
            steps: 0,
            depth: 0,
            nest: 0,
            pos: 0,
        };
        e.walk(data, &tree.root)?;
        Ok(e.out)
    }

    fn location(&self, pos: usize) -> String {
        let (line, col) = line_col(&self.tree.src, pos);
        format!("{}:{line}:{col}", self.tree.parse_name)
    }

    /// An error at a node, in Go's `name:line:col: executing "name" at <node>: msg` form.
    fn err(&self, pos: usize, end: usize, msg: impl std::fmt::Display) -> Error {
        let mut ctx: String = self.tree.src.get(pos..end).unwrap_or("").to_owned();
        if ctx.chars().count() > 20 {
            ctx = format!("{}...", ctx.chars().take(20).collect::<String>());
        }
        Error::Exec {
            name: self.name.to_owned(),
            message: format!(
                "{}: executing {:?} at <{ctx}>: {msg}",
                self.location(pos),
                self.name
            ),
        }
    }

    /// An error about the execution as a whole (a limit), placed at the current action.
    fn err_here(&self, msg: impl std::fmt::Display) -> Error {
        Error::Exec {
            name: self.name.to_owned(),
            message: format!(
                "{}: executing {:?}: {msg}",
                self.location(self.pos),
                self.name
            ),
        }
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(self.err_here(format!(
                "execution stopped after {} steps",
                self.limits.max_steps
            )));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.captured + self.out.len() + s.len() > self.limits.max_output_bytes {
            return Err(self.err_here(format!(
                "output larger than {} bytes",
                self.limits.max_output_bytes
            )));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> R<Flow> {
        self.enter()?;
        let r = self.walk_inner(dot, nodes);
        self.nest -= 1;
        r
    }

    fn enter(&mut self) -> R<()> {
        if self.nest >= self.limits.max_nesting {
            return Err(self.err_here(format!(
                "nesting deeper than {} levels",
                self.limits.max_nesting
            )));
        }
        self.nest += 1;
        Ok(())
    }

    fn walk_inner(&mut self, dot: &Value, nodes: &[Node]) -> R<Flow> {
        for node in nodes {
            self.step()?;
            let flow = match node {
                Node::Text(s) => {
                    self.write(s)?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        let s = match v {
                            Value::Nil => "<no value>".to_owned(),
                            Value::String(s) => s,
                            other => sprint_value_kv(&other, self.funcs.kv_maps),
                        };
                        self.write(&s)?;
                    }
                    Flow::Normal
                }
                Node::If(c) => self.if_with(dot, c, false)?,
                Node::With(c) => self.if_with(dot, c, true)?,
                Node::Range(c) => self.range(dot, c)?,
                Node::Template { pos, name, pipe } => {
                    let data = match pipe {
                        Some(p) => self.pipeline(dot, p)?,
                        None => Value::Nil,
                    };
                    self.call_template(*pos, name, &data, false)?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Executes the template `name` with `data` as dot and a fresh `$`, writing to the
    /// output, or with `capture` into a string returned (for `tmpl`).
    fn call_template(&mut self, pos: usize, name: &str, data: &Value, capture: bool) -> R<String> {
        let Some(tree) = self.trees.get(name) else {
            return Err(self.err(
                pos,
                pos + name.len() + 2,
                format!("template {name:?} not defined"),
            ));
        };
        if self.depth >= self.limits.max_call_depth {
            return Err(self.err(
                pos,
                pos + name.len() + 2,
                format!(
                    "exceeded maximum template depth ({})",
                    self.limits.max_call_depth
                ),
            ));
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".to_owned(), data.clone())]);
        let saved_out = if capture {
            let outer = std::mem::take(&mut self.out);
            self.captured += outer.len();
            Some(outer)
        } else {
            None
        };
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let saved_name = std::mem::replace(&mut self.name, tree.name.as_str());
        let saved_pos = self.pos;
        self.depth += 1;
        let result = self.walk(data, &tree.root);
        self.depth -= 1;
        self.tree = saved_tree;
        self.name = saved_name;
        self.pos = saved_pos;
        self.vars = saved_vars;
        let produced = match saved_out {
            Some(outer) => {
                self.captured -= outer.len();
                std::mem::replace(&mut self.out, outer)
            }
            None => String::new(),
        };
        result?;
        Ok(produced)
    }

    fn if_with(&mut self, dot: &Value, c: &Control, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let result = (|| {
            let v = self.pipeline(dot, &c.pipe)?;
            if v.is_true() {
                if with {
                    self.walk(&v, &c.list)
                } else {
                    self.walk(dot, &c.list)
                }
            } else if let Some(e) = &c.else_list {
                self.walk(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        result
    }

    fn range(&mut self, dot: &Value, c: &Control) -> R<Flow> {
        let mark = self.vars.len();
        let result = self.range_inner(dot, c);
        self.vars.truncate(mark);
        result
    }

    fn range_inner(&mut self, dot: &Value, c: &Control) -> R<Flow> {
        let v = self.pipeline_value(dot, &c.pipe)?;
        let pos = c.pipe.cmds.first().map_or(self.pos, |cmd| cmd.pos);
        let items: Vec<(Value, Value)> = match v {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v))
                .collect(),
            Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Int(n) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self.err(
                        pos,
                        pos,
                        "can't use an integer range with two variables",
                    ));
                }
                let n = n.max(0);
                if n as u64 > self.limits.max_steps {
                    return Err(self.err_here(format!(
                        "execution stopped after {} steps",
                        self.limits.max_steps
                    )));
                }
                (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Nil => Vec::new(),
            other => {
                return Err(self.err(
                    pos,
                    pos,
                    format!("range can't iterate over {}", sprint_value(&other)),
                ));
            }
        };
        let mark = self.vars.len();
        if !c.pipe.is_assign {
            for name in &c.pipe.decl {
                self.vars.push((name.clone(), Value::Nil));
            }
        }
        if items.is_empty() {
            return match &c.else_list {
                Some(e) => self.walk(dot, e),
                None => Ok(Flow::Normal),
            };
        }
        for (key, elem) in items {
            self.step()?;
            match c.pipe.decl.as_slice() {
                [] => {}
                [one] => self.assign(one, elem.clone(), !c.pipe.is_assign, mark),
                [k, v, ..] => {
                    self.assign(k, key, !c.pipe.is_assign, mark);
                    self.assign(v, elem.clone(), !c.pipe.is_assign, mark);
                }
            }
            let iter_mark = self.vars.len();
            let flow = self.walk(&elem, &c.list);
            self.vars.truncate(iter_mark);
            match flow? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        Ok(Flow::Normal)
    }

    /// Sets a variable: a declared range variable (in the scope starting at `mark`) or,
    /// for `=`, the innermost variable of that name.
    fn assign(&mut self, name: &str, v: Value, declared: bool, mark: usize) {
        let start = if declared { mark } else { 0 };
        if let Some(slot) = self.vars[start..].iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    /// Evaluates a pipeline's commands without its declarations (range handles its own).
    fn pipeline_value(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            self.step()?;
            last = Some(self.command(dot, cmd, last)?);
        }
        Ok(last.unwrap_or_default())
    }

    fn pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        if let Some(cmd) = pipe.cmds.first() {
            self.pos = cmd.pos;
        }
        self.enter()?;
        let v = self.pipeline_value(dot, pipe);
        self.nest -= 1;
        let v = v?;
        for name in &pipe.decl {
            if pipe.is_assign {
                self.assign(name, v.clone(), false, 0);
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn var(&self, name: &str, pos: usize, end: usize) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.err(pos, end, format!("undefined variable: {name}"))),
        }
    }

    fn not_a_function(&self, cmd: &Command, final_v: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || final_v.is_some() {
            let a = &cmd.args[0];
            let text = self.tree.src.get(a.pos..a.end).unwrap_or("");
            return Err(self.err(
                a.pos,
                a.end,
                format!("can't give argument to non-function {text}"),
            ));
        }
        Ok(())
    }

    fn command(&mut self, dot: &Value, cmd: &Command, final_v: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(names) => self.field_chain(dot, dot.clone(), names, cmd, final_v, first),
            ArgKind::Chain(inner, names) => {
                let recv = self.arg(dot, inner)?;
                self.field_chain(dot, recv, names, cmd, final_v, first)
            }
            ArgKind::Var(name, names) => {
                let v = self.var(name, first.pos, first.end)?;
                if names.is_empty() {
                    self.not_a_function(cmd, &final_v)?;
                    return Ok(v);
                }
                self.field_chain(dot, v, names, cmd, final_v, first)
            }
            ArgKind::Ident(name) => self.call(dot, name, cmd, final_v),
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_v)?;
                self.pipeline(dot, p)
            }
            ArgKind::Dot => {
                self.not_a_function(cmd, &final_v)?;
                Ok(dot.clone())
            }
            ArgKind::Nil => Err(self.err(first.pos, first.end, "nil is not a command")),
            ArgKind::Literal(v) => {
                self.not_a_function(cmd, &final_v)?;
                Ok(v.clone())
            }
        }
    }

    /// Evaluates `.a.b.c` on `recv`; the last field receives the command's arguments.
    fn field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        names: &[String],
        cmd: &Command,
        final_v: Option<Value>,
        node: &Arg,
    ) -> R<Value> {
        let Some((last, init)) = names.split_last() else {
            return Ok(recv);
        };
        for name in init {
            recv = field(&recv, name, &[], false).map_err(|m| self.err(node.pos, node.end, m))?;
        }
        let mut args = Vec::new();
        for a in &cmd.args[1..] {
            args.push(self.arg(dot, a)?);
        }
        args.extend(final_v);
        let has_args = !args.is_empty();
        field(&recv, last, &args, has_args).map_err(|m| self.err(node.pos, node.end, m))
    }

    /// Evaluates an argument (an operand that is not in command position).
    fn arg(&mut self, dot: &Value, a: &Arg) -> R<Value> {
        match &a.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Ok(Value::Nil),
            ArgKind::Literal(v) => Ok(v.clone()),
            ArgKind::Field(names) => {
                let mut v = dot.clone();
                for n in names {
                    v = field(&v, n, &[], false).map_err(|m| self.err(a.pos, a.end, m))?;
                }
                Ok(v)
            }
            ArgKind::Var(name, names) => {
                let mut v = self.var(name, a.pos, a.end)?;
                for n in names {
                    v = field(&v, n, &[], false).map_err(|m| self.err(a.pos, a.end, m))?;
                }
                Ok(v)
            }
            ArgKind::Chain(inner, names) => {
                let mut v = self.arg(dot, inner)?;
                for n in names {
                    v = field(&v, n, &[], false).map_err(|m| self.err(a.pos, a.end, m))?;
                }
                Ok(v)
            }
            ArgKind::Pipe(p) => self.pipeline(dot, p),
            ArgKind::Ident(name) => {
                let cmd = Command {
                    pos: a.pos,
                    end: a.end,
                    args: vec![Arg {
                        pos: a.pos,
                        end: a.end,
                        kind: ArgKind::Ident(name.clone()),
                    }],
                };
                self.call(dot, name, &cmd, None)
            }
        }
    }

    fn call(&mut self, dot: &Value, name: &str, cmd: &Command, final_v: Option<Value>) -> R<Value> {
        self.step()?;
        let rest = &cmd.args[1..];
        // Go checks the count against the signature before it evaluates any argument, and
        // places that error (like an unknown name) at the function's name alone.
        let ident = &cmd.args[0];
        let check = |arity: Arity| arity.check(name, rest.len(), final_v.is_some());
        // Names bound for this execution act as functions without parameters.
        if let Some((_, v)) = self.scope.iter().find(|(n, _)| *n == name) {
            check(Arity::Exactly(0)).map_err(|m| self.err(ident.pos, ident.end, m))?;
            return Ok(v.clone());
        }
        // A copy of the reference, so that the entry it lends does not borrow `self`.
        let funcs = self.funcs;
        let Some(Entry { arity, f }) = funcs.get(name) else {
            return Err(self.err(
                ident.pos,
                ident.end,
                format!("{name:?} is not a defined function"),
            ));
        };
        check(*arity).map_err(|m| self.err(ident.pos, ident.end, m))?;
        if name == "and" || name == "or" {
            // Go evaluates and/or lazily: arguments after the deciding one are not evaluated.
            let mut last = Value::Nil;
            for a in rest {
                last = self.arg(dot, a)?;
                if last.is_true() != (name == "and") {
                    return Ok(last);
                }
            }
            return Ok(final_v.unwrap_or(last));
        }
        let mut args = Vec::with_capacity(rest.len() + 1);
        for a in rest {
            args.push(self.arg(dot, a)?);
        }
        args.extend(final_v);
        if name == "tmpl" {
            let [Value::String(tname), data] = args.as_slice() else {
                let got = args.iter().map(type_name).collect::<Vec<_>>().join(", ");
                return Err(self.err(
                    cmd.pos,
                    cmd.end,
                    format!("error calling tmpl: want (string, data), got ({got})"),
                ));
            };
            return self
                .call_template(cmd.pos, tname, data, true)
                .map(Value::String);
        }
        let v = f(&args)
            .map_err(|m| self.err(cmd.pos, cmd.end, format!("error calling {name}: {m}")))?;
        if let Value::String(s) = &v
            && s.len() > self.limits.max_output_bytes
        {
            return Err(self.err(
                cmd.pos,
                cmd.end,
                format!(
                    "error calling {name}: result larger than {} bytes",
                    self.limits.max_output_bytes
                ),
            ));
        }
        Ok(v)
    }
}
