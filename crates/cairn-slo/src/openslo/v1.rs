//! `openslo/v1`: SLO, SLI, AlertPolicy and AlertCondition documents of one file, resolved
//! together into [`SloSpec`]s.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{MIN_EVENTS_ANNOTATION, Metadata};
use crate::duration::parse_duration;
use crate::error::Error;
use crate::spec::{AlertMeta, Alerting, Extensions, Sli, SliLanguage, SloSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1Doc {
    #[allow(dead_code)]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: serde_yaml_ng::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1SloSpec {
    #[serde(default)]
    description: String,
    service: String,
    #[serde(default)]
    indicator: Option<V1Inline<V1SliSpec>>,
    #[serde(default)]
    indicator_ref: Option<String>,
    time_window: Vec<V1TimeWindow>,
    #[serde(default)]
    budgeting_method: Option<String>,
    objectives: Vec<V1Objective>,
    #[serde(default)]
    alert_policies: Vec<V1PolicyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1Inline<T> {
    metadata: Metadata,
    spec: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1TimeWindow {
    duration: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1Objective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    time_slice_target: Option<f64>,
    #[serde(default)]
    time_slice_window: Option<String>,
    #[serde(default)]
    indicator: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    indicator_ref: Option<String>,
    #[serde(default)]
    composite_weight: Option<f64>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1SliSpec {
    #[serde(default)]
    description: String,
    #[serde(default)]
    threshold_metric: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    ratio_metric: Option<V1Ratio>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1Ratio {
    #[serde(default)]
    counter: bool,
    #[serde(default)]
    good: Option<V1Metric>,
    #[serde(default)]
    bad: Option<V1Metric>,
    #[serde(default)]
    total: Option<V1Metric>,
    #[serde(default)]
    raw_type: Option<String>,
    #[serde(default)]
    raw: Option<V1Metric>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1Metric {
    metric_source: V1MetricSource,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1MetricSource {
    #[serde(default)]
    metric_source_ref: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    spec: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum V1PolicyEntry {
    Ref {
        #[serde(rename = "alertPolicyRef")]
        alert_policy_ref: String,
    },
    Inline {
        #[allow(dead_code)]
        kind: String,
        metadata: Metadata,
        spec: serde_yaml_ng::Value,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1PolicySpec {
    #[serde(default)]
    description: String,
    #[serde(default)]
    alert_when_no_data: Option<bool>,
    #[serde(default)]
    alert_when_resolved: Option<bool>,
    #[serde(default)]
    alert_when_breaching: Option<bool>,
    #[serde(default)]
    conditions: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    notification_targets: Vec<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V1ConditionSpec {
    #[serde(default)]
    description: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    condition: Option<serde_yaml_ng::Value>,
}

/// The `openslo/v1` documents of one file, resolved together (refs point within the file).
#[derive(Default)]
pub(crate) struct V1Set {
    slos: Vec<(Metadata, serde_yaml_ng::Value)>,
    slis: BTreeMap<String, serde_yaml_ng::Value>,
    policies: BTreeMap<String, (Metadata, serde_yaml_ng::Value)>,
    conditions: BTreeMap<String, serde_yaml_ng::Value>,
}

impl V1Set {
    /// Files one `openslo/v1` document.
    pub(crate) fn add(&mut self, file: &str, value: serde_yaml_ng::Value, errors: &mut Vec<Error>) {
        let doc: V1Doc = match serde_yaml_ng::from_value(value) {
            Ok(d) => d,
            Err(e) => {
                errors.push(Error::File {
                    file: file.to_string(),
                    message: format!("openslo/v1: {e}"),
                });
                return;
            }
        };
        match doc.kind.as_str() {
            "SLO" => self.slos.push((doc.metadata, doc.spec)),
            "SLI" => {
                self.slis.insert(doc.metadata.name, doc.spec);
            }
            "AlertPolicy" => {
                self.policies
                    .insert(doc.metadata.name.clone(), (doc.metadata, doc.spec));
            }
            "AlertCondition" => {
                self.conditions.insert(doc.metadata.name, doc.spec);
            }
            // Described by the format, not needed to build rules.
            "Service" | "DataSource" | "AlertNotificationTarget" => {}
            k => errors.push(Error::File {
                file: file.to_string(),
                message: format!("openslo/v1: unsupported kind {k:?} ({})", doc.metadata.name),
            }),
        }
    }

    /// Resolves the SLOs: one Cairn SLO per objective (`<name>` when there is one objective,
    /// `<name>-<objective displayName or index>` otherwise).
    pub(crate) fn resolve(self, file: &str, errors: &mut Vec<Error>) -> Vec<SloSpec> {
        let mut out = Vec::new();
        for (meta, spec) in &self.slos {
            let err = |field: &str, message: String| Error::Slo {
                file: file.to_string(),
                slo: meta.name.clone(),
                field: field.to_string(),
                message,
            };
            let spec: V1SloSpec = match serde_yaml_ng::from_value(spec.clone()) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(err("spec", e.to_string()));
                    continue;
                }
            };
            let n = errors.len();
            let sli_spec = match (&spec.indicator, &spec.indicator_ref) {
                (Some(i), None) => {
                    let _ = &i.metadata;
                    Some(i.spec.clone())
                }
                (None, Some(r)) => match self.slis.get(r) {
                    Some(v) => match serde_yaml_ng::from_value::<V1SliSpec>(v.clone()) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            errors.push(err(&format!("SLI {r:?}"), e.to_string()));
                            None
                        }
                    },
                    None => {
                        errors.push(err(
                            "spec.indicatorRef",
                            format!("no SLI named {r:?} in the file"),
                        ));
                        None
                    }
                },
                _ => {
                    errors.push(err(
                        "spec",
                        "exactly one of indicator and indicatorRef is required".to_string(),
                    ));
                    None
                }
            };
            let sli = sli_spec.and_then(|s| sli_of(&s, &err, errors));
            let language = sli.as_ref().map_or(SliLanguage::PromQL, |(_, l)| *l);
            let sli = sli.map(|(s, _)| s);
            let period = match spec.time_window.as_slice() {
                [w] => {
                    if w.calendar.is_some() || w.is_rolling == Some(false) {
                        errors.push(err(
                            "spec.timeWindow[0]",
                            "calendar windows are not supported; use isRolling: true".to_string(),
                        ));
                    }
                    match parse_duration(&w.duration) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            errors.push(err("spec.timeWindow[0].duration", e));
                            None
                        }
                    }
                }
                _ => {
                    errors.push(err(
                        "spec.timeWindow",
                        "exactly one time window is required".to_string(),
                    ));
                    None
                }
            };
            if let Some(m) = spec
                .budgeting_method
                .as_deref()
                .filter(|m| *m != "Occurrences")
            {
                errors.push(err(
                    "spec.budgetingMethod",
                    format!("{m} is not supported (only Occurrences)"),
                ));
            }
            let alerting = self.alerting_of(&spec.alert_policies, &err, errors);
            let mut ext = Extensions {
                query_language: language,
                ..Extensions::default()
            };
            if let Some(v) = meta.annotations.get(MIN_EVENTS_ANNOTATION) {
                match v.trim().parse::<u64>() {
                    Ok(n) => ext.min_events = Some(n),
                    Err(_) => errors.push(err(
                        &format!("metadata.annotations.{MIN_EVENTS_ANNOTATION}"),
                        format!("{v:?} is not a whole number"),
                    )),
                }
            }
            let labels: BTreeMap<String, String> = meta
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), label_value(v)))
                .collect();
            if spec.objectives.is_empty() {
                errors.push(err(
                    "spec.objectives",
                    "at least one is required".to_string(),
                ));
            }
            let several = spec.objectives.len() > 1;
            for (i, o) in spec.objectives.iter().enumerate() {
                let field = format!("spec.objectives[{i}]");
                let objective = match (o.target, o.target_percent) {
                    (Some(t), None) => t * 100.0,
                    (None, Some(p)) => p,
                    _ => {
                        errors.push(err(
                            &field,
                            "exactly one of target and targetPercent is required".to_string(),
                        ));
                        continue;
                    }
                };
                if o.op.is_some() || o.value.is_some() {
                    errors.push(err(
                        &format!("{field}.op"),
                        "threshold objectives are not supported; use a ratioMetric SLI".to_string(),
                    ));
                }
                if o.time_slice_target.is_some() || o.time_slice_window.is_some() {
                    errors.push(err(
                        &format!("{field}.timeSliceTarget"),
                        "timeslice objectives are not supported".to_string(),
                    ));
                }
                if o.indicator.is_some()
                    || o.indicator_ref.is_some()
                    || o.composite_weight.is_some()
                {
                    errors.push(err(
                        &format!("{field}.indicator"),
                        "composite SLOs are not supported".to_string(),
                    ));
                }
                let (Some(sli), Some(period)) = (sli.clone(), period) else {
                    continue;
                };
                if errors.len() > n {
                    continue;
                }
                let name = if several {
                    match &o.display_name {
                        Some(d) => format!("{}-{}", meta.name, slug(d)),
                        None => format!("{}-{i}", meta.name),
                    }
                } else {
                    meta.name.clone()
                };
                out.push(SloSpec {
                    file: file.to_string(),
                    service: spec.service.clone(),
                    name,
                    description: spec.description.clone(),
                    objective,
                    labels: labels.clone(),
                    sli,
                    alerting: alerting.clone(),
                    period,
                    spec_version: "openslo/v1".to_string(),
                    extensions: ext.clone(),
                });
            }
            let _ = &meta.display_name;
        }
        out
    }

    /// OpenSLO has one burn-rate window per condition; Cairn keeps Sloth's multiwindow pairs
    /// and takes from the first policy its name (CamelCased) as the alert name, its labels and
    /// annotations, and from its conditions the `severity` labels: the first condition's for
    /// the page alert, the second's (or the first's) for the ticket alert.
    fn alerting_of(
        &self,
        entries: &[V1PolicyEntry],
        err: &dyn Fn(&str, String) -> Error,
        errors: &mut Vec<Error>,
    ) -> Alerting {
        let disabled = Alerting {
            page: AlertMeta {
                disable: true,
                ..AlertMeta::default()
            },
            ticket: AlertMeta {
                disable: true,
                ..AlertMeta::default()
            },
            ..Alerting::default()
        };
        let Some(first) = entries.first() else {
            return disabled;
        };
        let (meta, spec) = match first {
            V1PolicyEntry::Ref { alert_policy_ref } => match self.policies.get(alert_policy_ref) {
                Some((m, s)) => (m, s.clone()),
                None => {
                    errors.push(err(
                        "spec.alertPolicies[0].alertPolicyRef",
                        format!("no AlertPolicy named {alert_policy_ref:?} in the file"),
                    ));
                    return disabled;
                }
            },
            V1PolicyEntry::Inline { metadata, spec, .. } => (metadata, spec.clone()),
        };
        let spec: V1PolicySpec = match serde_yaml_ng::from_value(spec) {
            Ok(s) => s,
            Err(e) => {
                errors.push(err("spec.alertPolicies[0].spec", e.to_string()));
                return disabled;
            }
        };
        let _ = (
            &spec.alert_when_no_data,
            &spec.alert_when_resolved,
            &spec.alert_when_breaching,
            &spec.notification_targets,
        );
        let mut severities = Vec::new();
        for (i, c) in spec.conditions.iter().enumerate() {
            let cond_spec = match c.get("conditionRef").and_then(|r| r.as_str()) {
                Some(r) => match self.conditions.get(r) {
                    Some(s) => s.clone(),
                    None => {
                        errors.push(err(
                            &format!("spec.alertPolicies[0].conditions[{i}].conditionRef"),
                            format!("no AlertCondition named {r:?} in the file"),
                        ));
                        continue;
                    }
                },
                None => c.get("spec").cloned().unwrap_or_default(),
            };
            match serde_yaml_ng::from_value::<V1ConditionSpec>(cond_spec) {
                Ok(s) => {
                    let _ = (&s.description, &s.condition);
                    if let Some(sev) = s.severity {
                        severities.push(sev);
                    }
                }
                Err(e) => errors.push(err(
                    &format!("spec.alertPolicies[0].conditions[{i}].spec"),
                    e.to_string(),
                )),
            }
        }
        let mut annotations = meta.annotations.clone();
        if !spec.description.is_empty() {
            annotations
                .entry("description".to_string())
                .or_insert(spec.description);
        }
        let sev = |i: usize, default: &str| {
            let mut l = BTreeMap::new();
            let s = severities
                .get(i)
                .or(severities.first())
                .cloned()
                .unwrap_or_else(|| default.to_string());
            l.insert("severity".to_string(), s);
            l
        };
        Alerting {
            name: Some(camel(&meta.name)),
            labels: meta
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), label_value(v)))
                .collect(),
            annotations,
            page: AlertMeta {
                labels: sev(0, "page"),
                ..AlertMeta::default()
            },
            ticket: AlertMeta {
                labels: sev(1, "ticket"),
                ..AlertMeta::default()
            },
        }
    }
}

/// The SLI of an indicator and the language of its queries: `Prometheus` metric sources are
/// PromQL, `Loki` ones LogQL (every metric of one SLI must use the same).
fn sli_of(
    s: &V1SliSpec,
    err: &dyn Fn(&str, String) -> Error,
    errors: &mut Vec<Error>,
) -> Option<(Sli, SliLanguage)> {
    let mut languages = Vec::new();
    let sli = sli_query_of(s, err, errors, &mut languages)?;
    languages.dedup();
    match languages.as_slice() {
        [] => Some((sli, SliLanguage::PromQL)),
        [one] => Some((sli, *one)),
        _ => {
            errors.push(err(
                "indicator.spec.ratioMetric",
                "the metrics of one SLI must all be Prometheus or all be Loki sources".to_string(),
            ));
            None
        }
    }
}

fn sli_query_of(
    s: &V1SliSpec,
    err: &dyn Fn(&str, String) -> Error,
    errors: &mut Vec<Error>,
    languages: &mut Vec<SliLanguage>,
) -> Option<Sli> {
    let _ = &s.description;
    if s.threshold_metric.is_some() {
        errors.push(err(
            "indicator.spec.thresholdMetric",
            "threshold metrics are not supported; use ratioMetric".to_string(),
        ));
        return None;
    }
    let Some(r) = &s.ratio_metric else {
        errors.push(err(
            "indicator.spec.ratioMetric",
            "a ratioMetric is required".to_string(),
        ));
        return None;
    };
    let mut q = |what: &str, m: &Option<V1Metric>, errors: &mut Vec<Error>| -> Option<String> {
        let field = format!("indicator.spec.ratioMetric.{what}");
        let m = m.as_ref()?;
        let language = match m.metric_source.kind.as_deref() {
            None => SliLanguage::PromQL,
            Some(k) if k.eq_ignore_ascii_case("prometheus") => SliLanguage::PromQL,
            Some(k) if k.eq_ignore_ascii_case("loki") => SliLanguage::LogQL,
            Some(k) => {
                errors.push(err(
                    &format!("{field}.metricSource.type"),
                    format!("{k:?} is not supported (Prometheus or Loki)"),
                ));
                return None;
            }
        };
        languages.push(language);
        let _ = &m.metric_source.metric_source_ref;
        let query = m
            .metric_source
            .spec
            .get("query")
            .or_else(|| m.metric_source.spec.get("promql"))
            .or_else(|| m.metric_source.spec.get("logql"))
            .and_then(|v| v.as_str());
        let Some(query) = query else {
            errors.push(err(
                &format!("{field}.metricSource.spec.query"),
                "a query is required".to_string(),
            ));
            return None;
        };
        if query.contains("{{") || !r.counter || language == SliLanguage::LogQL {
            return Some(query.to_string());
        }
        // A bare counter selector with `counter: true`: Cairn applies the window itself.
        match cairn_promql::parse(query) {
            Ok(promql_parser::parser::Expr::VectorSelector(_)) => {
                Some(format!("sum(rate({}[{{{{.window}}}}]))", query.trim()))
            }
            _ => Some(query.to_string()),
        }
    };
    match (&r.good, &r.bad, &r.raw) {
        (Some(_), None, None) => {
            // Bad events as total minus good keeps event counts, which the budget from
            // counts and the minimum-events gate need (Sloth's v1alpha path uses a ratio).
            let good = q("good", &r.good, errors)?;
            let total = q("total", &r.total, errors)?;
            Some(Sli::Events {
                error_query: format!("(\n  {}\n)\n-\n(\n  {}\n)", total.trim(), good.trim()),
                total_query: total,
            })
        }
        (None, Some(_), None) => Some(Sli::Events {
            error_query: q("bad", &r.bad, errors)?,
            total_query: q("total", &r.total, errors)?,
        }),
        (None, None, Some(_)) => {
            let raw = q("raw", &r.raw, errors)?;
            match r.raw_type.as_deref() {
                Some("failure") => Some(Sli::Raw {
                    error_ratio_query: raw,
                }),
                Some("success") => Some(Sli::Raw {
                    error_ratio_query: format!("1 - ({})", raw.trim()),
                }),
                other => {
                    errors.push(err(
                        "indicator.spec.ratioMetric.rawType",
                        format!("{other:?}: expected success or failure"),
                    ));
                    None
                }
            }
        }
        _ => {
            errors.push(err(
                "indicator.spec.ratioMetric",
                "exactly one of good, bad and raw is required".to_string(),
            ));
            None
        }
    }
}

fn label_value(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        serde_yaml_ng::Value::Sequence(s) => {
            s.iter().map(label_value).collect::<Vec<_>>().join(",")
        }
        _ => String::new(),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

/// `high-error-rate` -> `HighErrorRate`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}
