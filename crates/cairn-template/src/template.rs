//! A parsed set of templates and its entry points.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::{Exec, Limits};
use crate::funcs::Funcs;
use crate::parse::{Tree, is_empty, parse};
use crate::value::Value;

/// A parsed set of templates (the main one plus every `{{ define "x" }}`).
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    funcs: Funcs,
    trees: BTreeMap<String, Arc<Tree>>,
    limits: Limits,
}

impl Template {
    /// Parses `text` as the template `name`; an unknown function is a parse error, as in Go.
    pub fn parse(name: &str, text: &str, funcs: &Funcs) -> Result<Template> {
        let mut t = Template {
            name: name.to_owned(),
            funcs: funcs.clone(),
            trees: BTreeMap::new(),
            limits: Limits::default(),
        };
        let parsed = parse(name, text, funcs)?;
        t.trees.insert(name.to_owned(), Arc::new(parsed.main));
        t.define_all(parsed.defs);
        Ok(t)
    }

    /// Adds more definitions (a template file of `{{ define }}`s); text outside definitions
    /// is ignored, and a definition replaces an earlier one of the same name unless it is
    /// empty, as in Go.
    pub fn add(&mut self, text: &str) -> Result<()> {
        let name = self.name.clone();
        let parsed = parse(&name, text, &self.funcs)?;
        self.define_all(parsed.defs);
        Ok(())
    }

    /// Adds a template file named `name`: its definitions, and its top-level text as the
    /// template `name` (Go's `ParseFiles`), so errors name the file.
    pub fn add_named(&mut self, name: &str, text: &str) -> Result<()> {
        let parsed = parse(name, text, &self.funcs)?;
        if !is_empty(&parsed.main.root) || !self.trees.contains_key(name) {
            self.trees.insert(name.to_owned(), Arc::new(parsed.main));
        }
        self.define_all(parsed.defs);
        Ok(())
    }

    fn define_all(&mut self, defs: Vec<Tree>) {
        for tree in defs {
            let keep_old = is_empty(&tree.root)
                && self
                    .trees
                    .get(&tree.name)
                    .is_some_and(|old| !is_empty(&old.root));
            if !keep_old {
                self.trees.insert(tree.name.clone(), Arc::new(tree));
            }
        }
    }

    /// Replaces the execution limits (steps, output size, call depth).
    pub fn with_limits(mut self, limits: Limits) -> Template {
        self.limits = limits;
        self
    }

    /// The name of the main template.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a template of this name is defined.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of all templates, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.trees.keys().map(String::as_str)
    }

    /// Executes the main template with `data` as `.` and `$`.
    pub fn execute(&self, data: &Value) -> Result<String> {
        self.execute_named(&self.name, data)
    }

    /// Executes the template `name` (the main one or a `define`d one).
    pub fn execute_named(&self, name: &str, data: &Value) -> Result<String> {
        self.execute_named_with(name, data, &self.funcs)
    }

    /// Executes the main template with another function table, so one parsed template can
    /// serve evaluations whose `query` or `now` differ; a function the template names but
    /// `funcs` lacks is an execution error.
    pub fn execute_with(&self, data: &Value, funcs: &Funcs) -> Result<String> {
        self.execute_named_with(&self.name, data, funcs)
    }

    /// [`Template::execute_named`] with another function table (see [`Template::execute_with`]).
    pub fn execute_named_with(&self, name: &str, data: &Value, funcs: &Funcs) -> Result<String> {
        if !self.trees.contains_key(name) {
            return Err(Error::Exec {
                name: name.to_owned(),
                message: format!(
                    "no template {name:?} associated with template {:?}",
                    self.name
                ),
            });
        }
        Exec::run(&self.trees, funcs, &[], &self.limits, name, data)
    }

    /// Executes the main template with argument-less functions bound to values for this
    /// execution only (Loki's `__line__` and `__timestamp__`); each must be in the function
    /// table the template was parsed with.
    pub fn execute_scoped(&self, data: &Value, scope: &[(&str, Value)]) -> Result<String> {
        Exec::run(
            &self.trees,
            &self.funcs,
            scope,
            &self.limits,
            &self.name,
            data,
        )
    }

    /// The field names the main template reads (`.a.b` gives `a` and `b`), in order, without
    /// repeats: Loki's `RequiredLabelNames` of a format stage.
    pub fn field_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = self.trees.get(&self.name) {
            crate::parse::field_names(&t.root, &mut out);
        }
        out
    }

    /// `Some(name)` when the whole template is `{{.name}}`, which callers can answer without
    /// executing it.
    pub fn simple_field(&self) -> Option<&str> {
        crate::parse::simple_field(&self.trees.get(&self.name)?.root)
    }
}
