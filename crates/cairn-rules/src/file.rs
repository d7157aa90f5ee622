//! Rule files in Prometheus' format: parsing and validation with errors that name the file,
//! the group, the rule and its line.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use cairn_model::parse_duration;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::template;

/// A parsed, validated rule file.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFile {
    /// The file's name (its path when loaded from disk).
    pub name: String,
    /// Its groups, in file order.
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together, in order, on one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup {
    /// The group's name, unique in its file.
    pub name: String,
    /// The file it comes from.
    pub file: String,
    /// Evaluation interval; `None` means the configured default (Prometheus: 1m).
    pub interval: Option<Duration>,
    /// Most series or alerts a rule may produce (0: no limit).
    pub limit: usize,
    /// How far in the past rules query; `None` means the configured default (0).
    pub query_offset: Option<Duration>,
    /// Labels added to every rule's output (a rule's own labels win).
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// Whether a rule records a series or raises alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `record:` a new series.
    Recording,
    /// `alert:` with its `for`, `keep_firing_for` and annotations.
    Alerting {
        /// How long the condition must hold before the alert fires.
        for_: Duration,
        /// How long a firing alert keeps firing after the condition stops.
        keep_firing_for: Duration,
        /// Annotation templates.
        annotations: BTreeMap<String, String>,
    },
}

/// The query language of a rule's expression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QueryLang {
    /// PromQL over the metrics store (Prometheus rule files).
    #[default]
    PromQL,
    /// A LogQL metric query over the log store (Loki's ruler files).
    LogQL,
}

impl QueryLang {
    /// `promql` or `logql`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLang::PromQL => "promql",
            QueryLang::LogQL => "logql",
        }
    }
}

/// One recording or alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The recorded metric name or the alert name.
    pub name: String,
    /// Recording or alerting.
    pub kind: RuleKind,
    /// The expression, in `lang`.
    pub expr: String,
    /// The language of `expr`.
    pub lang: QueryLang,
    /// The rule's labels (templates for alerting rules), group labels merged in.
    pub labels: BTreeMap<String, String>,
    /// The line of the rule in its file, when known.
    pub line: Option<usize>,
}

impl Rule {
    /// True for alerting rules.
    pub fn is_alert(&self) -> bool {
        matches!(self.kind, RuleKind::Alerting { .. })
    }

    /// The expression as Prometheus (or Loki) prints it (in `/api/v1/rules` and
    /// `generatorURL`): parsed and printed back, which normalises spacing.
    pub fn query_string(&self) -> String {
        let printed = match self.lang {
            QueryLang::PromQL => cairn_promql::parse(&self.expr).map(|e| e.to_string()).ok(),
            QueryLang::LogQL => cairn_logql::parse(&self.expr).map(|e| e.to_string()).ok(),
        };
        printed.unwrap_or_else(|| self.expr.trim().to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: String,
    interval: Option<String>,
    #[serde(default)]
    limit: i64,
    query_offset: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    record: Option<String>,
    alert: Option<String>,
    #[serde(default)]
    expr: Option<serde_yaml_ng::Value>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Parses and validates a rule file as Prometheus does (`promtool check rules`).
pub fn parse_rule_file(name: &str, text: &str) -> Result<RuleFile> {
    parse_rule_file_in(name, text, QueryLang::PromQL)
}

/// Parses and validates a rule file in Loki's ruler format: Prometheus' format with LogQL
/// metric queries as expressions. A log query (no range aggregation) can never yield a
/// sample, so it is refused here rather than failing at every evaluation.
pub fn parse_log_rule_file(name: &str, text: &str) -> Result<RuleFile> {
    parse_rule_file_in(name, text, QueryLang::LogQL)
}

/// Parses a rule file whose expressions are all in `lang`.
pub fn parse_rule_file_in(name: &str, text: &str, lang: QueryLang) -> Result<RuleFile> {
    let file_err = |message: String| Error::File {
        file: name.to_string(),
        message,
    };
    let raw: RawFile = if text.trim().is_empty() {
        RawFile { groups: Vec::new() }
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| file_err(yaml_message(&e)))?
    };
    let lines = rule_lines(text);
    let mut next_rule = 0usize;
    let mut seen = HashSet::new();
    let mut groups = Vec::with_capacity(raw.groups.len());
    for g in raw.groups {
        if g.name.is_empty() {
            return Err(file_err("groupname must not be empty".to_string()));
        }
        if !seen.insert(g.name.clone()) {
            return Err(file_err(format!(
                "groupname: \"{}\" is repeated in the same file",
                g.name
            )));
        }
        let gerr = |m: String| file_err(format!("group {:?}: {m}", g.name));
        let interval = g
            .interval
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| gerr(format!("invalid interval: {e}")))?;
        if interval == Some(Duration::ZERO) {
            return Err(gerr("interval must be greater than 0".to_string()));
        }
        let query_offset = g
            .query_offset
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| gerr(format!("invalid query_offset: {e}")))?;
        let limit = usize::try_from(g.limit)
            .map_err(|_| gerr(format!("limit must not be negative, got {}", g.limit)))?;
        for k in g.labels.keys() {
            if !valid_label_name(k) {
                return Err(gerr(format!("invalid label name: {k}")));
            }
        }
        let mut rules = Vec::with_capacity(g.rules.len());
        for (i, r) in g.rules.into_iter().enumerate() {
            let line = lines.get(next_rule).copied();
            next_rule += 1;
            let label = r
                .record
                .clone()
                .or_else(|| r.alert.clone())
                .unwrap_or_default();
            let rule = validate_rule(r, &g.labels, lang).map_err(|m| {
                let at = line.map(|l| format!("{l}: ")).unwrap_or_default();
                file_err(format!(
                    "{at}group {:?}, rule {}, {label:?}: {m}",
                    g.name,
                    i + 1
                ))
            })?;
            rules.push(Rule { line, ..rule });
        }
        groups.push(RuleGroup {
            name: g.name,
            file: name.to_string(),
            interval,
            limit,
            query_offset,
            labels: g.labels,
            rules,
        });
    }
    Ok(RuleFile {
        name: name.to_string(),
        groups,
    })
}

fn yaml_message(e: &serde_yaml_ng::Error) -> String {
    let msg = e.to_string();
    match e.location() {
        Some(loc) if !msg.contains("line ") => {
            format!("{}:{}: {msg}", loc.line(), loc.column())
        }
        _ => msg,
    }
}

/// The line of every rule, in file order: the lines that open a list item with a `record` or
/// `alert` key, or hold that key as the first of a mapping. Used only to point at a rule in
/// an error, so a miss costs nothing but a missing line number.
fn rule_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_item = false;
    let mut item_line = 0;
    let mut found = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("- ") || t == "-" {
            in_item = true;
            item_line = i + 1;
            found = false;
        }
        let key = t.trim_start_matches("- ").trim_start();
        if (key.starts_with("record:") || key.starts_with("alert:")) && !found && in_item {
            out.push(item_line);
            found = true;
        }
    }
    out
}

fn validate_rule(
    r: RawRule,
    group_labels: &BTreeMap<String, String>,
    lang: QueryLang,
) -> std::result::Result<Rule, String> {
    let expr = match &r.expr {
        None | Some(serde_yaml_ng::Value::Null) => String::new(),
        Some(serde_yaml_ng::Value::String(s)) => s.clone(),
        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
        Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
        Some(_) => return Err("field 'expr' must be a string".to_string()),
    };
    let (name, is_alert) = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => {
            return Err("only one of 'record' and 'alert' must be set".to_string());
        }
        (None, None) => return Err("one of 'record' or 'alert' must be set".to_string()),
        (Some(rec), None) => (rec.clone(), false),
        (None, Some(a)) => (a.clone(), true),
    };
    if name.is_empty() {
        return Err(if is_alert {
            "field 'alert' must be set".to_string()
        } else {
            "field 'record' must be set".to_string()
        });
    }
    if expr.trim().is_empty() {
        return Err("field 'expr' must be set in rule".to_string());
    }
    match lang {
        QueryLang::PromQL => {
            cairn_promql::parse(&expr).map_err(|e| format!("could not parse expression: {e}"))?;
        }
        QueryLang::LogQL => match cairn_logql::parse(&expr) {
            Err(e) => return Err(format!("could not parse expression: {e}")),
            Ok(cairn_logql::Expr::Log(_)) => {
                return Err(
                    "expression is a log query: a rule needs a metric query (for example count_over_time({...}[5m]))"
                        .to_string(),
                );
            }
            Ok(cairn_logql::Expr::Sample(_)) => {}
        },
    }
    for k in r.labels.keys() {
        if k == "__name__" || !valid_label_name(k) {
            return Err(format!("invalid label name: {k}"));
        }
    }
    let mut labels = group_labels.clone();
    labels.extend(r.labels);
    let kind = if is_alert {
        for k in r.annotations.keys() {
            if !valid_label_name(k) {
                return Err(format!("invalid annotation name: {k}"));
            }
        }
        let dur = |v: &Option<String>, what: &str| {
            v.as_deref()
                .map(parse_duration)
                .transpose()
                .map(Option::unwrap_or_default)
                .map_err(|e| format!("invalid {what}: {e}"))
        };
        let for_ = dur(&r.for_, "for")?;
        let keep_firing_for = dur(&r.keep_firing_for, "keep_firing_for")?;
        for (k, v) in labels.iter().chain(r.annotations.iter()) {
            template::check(&format!("__alert_{name}"), v)
                .map_err(|e| format!("template for {k:?}: {e}"))?;
        }
        RuleKind::Alerting {
            for_,
            keep_firing_for,
            annotations: r.annotations,
        }
    } else {
        if !r.annotations.is_empty() {
            return Err("invalid field 'annotations' in recording rule".to_string());
        }
        if r.for_.is_some() {
            return Err("invalid field 'for' in recording rule".to_string());
        }
        if r.keep_firing_for.is_some() {
            return Err("invalid field 'keep_firing_for' in recording rule".to_string());
        }
        if !valid_metric_name(&name) {
            return Err(format!("invalid recording rule name: {name}"));
        }
        RuleKind::Recording
    };
    Ok(Rule {
        name,
        kind,
        expr,
        lang,
        labels,
        line: None,
    })
}

/// Prometheus' classic metric name rule: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Prometheus' classic label name rule: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
