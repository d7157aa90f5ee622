//! OpenSLO: `openslo/v1alpha` SLOs as Sloth reads them, and `openslo/v1` SLO, SLI,
//! AlertPolicy and AlertCondition documents (ratio metrics over Prometheus queries, rolling
//! windows), into [`SloSpec`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::sloth::string_map;
use crate::spec::{AlertMeta, Alerting, Extensions, Sli, SloSpec};

mod v1;

pub(crate) use v1::V1Set;

/// The annotation that sets [`Extensions::min_events`] on an OpenSLO SLO.
pub const MIN_EVENTS_ANNOTATION: &str = "cairn.dev/min-events";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default, deserialize_with = "string_map")]
    annotations: BTreeMap<String, String>,
}

// ---- v1alpha, as Sloth reads it ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaSlo {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: AlphaSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaSpec {
    service: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    budgeting_method: Option<String>,
    objectives: Vec<AlphaObjective>,
    time_windows: Vec<AlphaWindow>,
    #[serde(default)]
    indicator: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaObjective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    ratio_metrics: Option<AlphaRatio>,
    target: f64,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlphaRatio {
    #[serde(default)]
    incremental: Option<bool>,
    good: AlphaQuery,
    total: AlphaQuery,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaQuery {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    query_type: Option<String>,
    query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AlphaWindow {
    count: u64,
    unit: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<serde_yaml_ng::Value>,
}

/// The error ratio of a good/total SLI, shaped as Sloth writes it.
fn good_total_ratio(good: &str, total: &str) -> String {
    format!(
        "\n  1 - (\n    (\n      {}\n    )\n    /\n    (\n      {}\n    )\n  )\n",
        good.trim(),
        total.trim()
    )
}

/// Reads one `openslo/v1alpha` SLO: one Cairn SLO per objective, named `<name>-<index>`.
pub(crate) fn read_v1alpha(
    file: &str,
    value: serde_yaml_ng::Value,
    errors: &mut Vec<Error>,
) -> Vec<SloSpec> {
    let raw: AlphaSlo = match serde_yaml_ng::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            errors.push(Error::File {
                file: file.to_string(),
                message: format!("openslo/v1alpha: {e}"),
            });
            return Vec::new();
        }
    };
    let name = raw.metadata.name.clone();
    let err = |field: &str, message: String| Error::Slo {
        file: file.to_string(),
        slo: name.clone(),
        field: field.to_string(),
        message,
    };
    if raw.kind != "SLO" || raw.api_version != "openslo/v1alpha" {
        errors.push(err("kind", format!("unsupported kind {:?}", raw.kind)));
        return Vec::new();
    }
    if raw.spec.indicator.is_some() {
        errors.push(err(
            "spec.indicator",
            "threshold indicators are not supported; use objectives[].ratioMetrics".to_string(),
        ));
    }
    if let Some(m) = raw
        .spec
        .budgeting_method
        .as_deref()
        .filter(|m| *m != "Occurrences")
    {
        errors.push(err(
            "spec.budgetingMethod",
            format!("{m} is not supported (only Occurrences)"),
        ));
    }
    let period = match raw.spec.time_windows.as_slice() {
        [w] => {
            if w.calendar.is_some() || w.is_rolling == Some(false) {
                errors.push(err(
                    "spec.timeWindows",
                    "calendar windows are not supported; use a rolling window".to_string(),
                ));
            }
            match w.unit.as_str() {
                "Day" | "day" | "d" => Duration::from_secs(w.count * 86400),
                "Week" | "week" | "w" => Duration::from_secs(w.count * 7 * 86400),
                u => {
                    errors.push(err(
                        "spec.timeWindows[0].unit",
                        format!("unit {u:?} is not supported (Day or Week)"),
                    ));
                    return Vec::new();
                }
            }
        }
        _ => {
            errors.push(err(
                "spec.timeWindows",
                "exactly one time window is required".to_string(),
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, o) in raw.spec.objectives.into_iter().enumerate() {
        let field = format!("spec.objectives[{i}]");
        let _ = (&o.display_name, o.op, o.value);
        let Some(ratio) = o.ratio_metrics else {
            errors.push(err(&field, "ratioMetrics is required".to_string()));
            continue;
        };
        let _ = ratio.incremental;
        for (what, q) in [("good", &ratio.good), ("total", &ratio.total)] {
            let _ = &q.query_type;
            if let Some(s) = q
                .source
                .as_deref()
                .filter(|s| !s.eq_ignore_ascii_case("prometheus"))
            {
                errors.push(err(
                    &format!("{field}.ratioMetrics.{what}.source"),
                    format!("source {s:?} is not supported (prometheus)"),
                ));
            }
        }
        out.push(SloSpec {
            file: file.to_string(),
            service: raw.spec.service.clone(),
            name: format!("{}-{i}", raw.metadata.name),
            description: raw.spec.description.clone(),
            objective: o.target * 100.0,
            labels: BTreeMap::new(),
            sli: Sli::Raw {
                error_ratio_query: good_total_ratio(&ratio.good.query, &ratio.total.query),
            },
            alerting: Alerting {
                page: AlertMeta {
                    disable: true,
                    ..AlertMeta::default()
                },
                ticket: AlertMeta {
                    disable: true,
                    ..AlertMeta::default()
                },
                ..Alerting::default()
            },
            period,
            spec_version: "openslo/v1alpha".to_string(),
            extensions: Extensions::default(),
        });
    }
    out
}
