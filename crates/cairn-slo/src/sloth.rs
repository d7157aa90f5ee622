//! Sloth's `prometheus/v1` SLO files, read as written (Sloth's field names), into [`SloSpec`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::duration::parse_duration;
use crate::error::Error;
use crate::spec::{AlertMeta, Alerting, Extensions, Sli, SliLanguage, SloSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: String,
    service: String,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    slo_plugins: Option<serde_yaml_ng::Value>,
    slos: Vec<RawSlo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: String,
    #[serde(default)]
    description: String,
    objective: f64,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    sli: RawSli,
    #[serde(default)]
    alerting: Option<RawAlerting>,
    #[serde(default)]
    plugins: Option<serde_yaml_ng::Value>,
    /// Cairn's extension key; Sloth itself refuses files that use it.
    #[serde(default)]
    cairn: Option<RawExtensions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    #[serde(default)]
    events: Option<RawEvents>,
    #[serde(default)]
    raw: Option<RawRaw>,
    #[serde(default)]
    plugin: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    error_query: String,
    total_query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRaw {
    error_ratio_query: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlerting {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    page_alert: RawAlert,
    #[serde(default)]
    ticket_alert: RawAlert,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    #[serde(default)]
    disable: bool,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtensions {
    #[serde(default)]
    query_language: Option<String>,
    #[serde(default)]
    min_events: Option<u64>,
    #[serde(default)]
    data_missing_alert: Option<bool>,
    #[serde(default)]
    data_missing_for: Option<String>,
}

/// Label and annotation maps whose values may be written as numbers or booleans (`tier: 2`).
pub(crate) fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    let raw: Option<BTreeMap<String, serde_yaml_ng::Value>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (k, v) in raw.unwrap_or_default() {
        let s = match v {
            serde_yaml_ng::Value::String(s) => s,
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            serde_yaml_ng::Value::Bool(b) => b.to_string(),
            serde_yaml_ng::Value::Null => String::new(),
            _ => return Err(D::Error::custom(format!("value of {k:?} must be a string"))),
        };
        out.insert(k, s);
    }
    Ok(out)
}

/// Reads one `prometheus/v1` document; errors are collected, not stopped at.
pub(crate) fn read(
    file: &str,
    value: serde_yaml_ng::Value,
    default_period: Duration,
    errors: &mut Vec<Error>,
) -> Vec<SloSpec> {
    let raw: RawFile = match serde_yaml_ng::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            errors.push(Error::File {
                file: file.to_string(),
                message: format!("prometheus/v1: {e}"),
            });
            return Vec::new();
        }
    };
    let file_err = |message: String| Error::File {
        file: file.to_string(),
        message,
    };
    if raw.version != "prometheus/v1" {
        errors.push(file_err(format!(
            "unsupported version {:?} (expected prometheus/v1)",
            raw.version
        )));
        return Vec::new();
    }
    if raw.slo_plugins.as_ref().is_some_and(not_empty) {
        errors.push(file_err(
            "slo_plugins: sloth plugins are not supported".to_string(),
        ));
    }
    if raw.slos.is_empty() {
        errors.push(file_err(format!(
            "service {:?}: slos: at least one slo is required",
            raw.service
        )));
    }
    let mut out = Vec::new();
    for slo in raw.slos {
        let err = |field: &str, message: String| Error::Slo {
            file: file.to_string(),
            slo: slo.name.clone(),
            field: field.to_string(),
            message,
        };
        if slo.plugins.as_ref().is_some_and(not_empty) {
            errors.push(err(
                "plugins",
                "sloth plugins are not supported".to_string(),
            ));
        }
        let sli = match (slo.sli.events, slo.sli.raw, slo.sli.plugin) {
            (Some(e), None, None) => Sli::Events {
                error_query: e.error_query,
                total_query: e.total_query,
            },
            (None, Some(r), None) => Sli::Raw {
                error_ratio_query: r.error_ratio_query,
            },
            (None, None, Some(_)) => {
                errors.push(err(
                    "sli.plugin",
                    "sli plugins are not supported: write the sli as events or raw queries"
                        .to_string(),
                ));
                continue;
            }
            (None, None, None) => {
                errors.push(err(
                    "sli",
                    "one of events, raw or plugin is required".to_string(),
                ));
                continue;
            }
            _ => {
                errors.push(err(
                    "sli",
                    "only one of events, raw or plugin may be set".to_string(),
                ));
                continue;
            }
        };
        let a = slo.alerting.unwrap_or_default();
        let mut ext = Extensions::default();
        if let Some(c) = slo.cairn {
            match c.query_language.as_deref() {
                None | Some("promql") => {}
                Some("logql") => ext.query_language = SliLanguage::LogQL,
                Some(other) => errors.push(err(
                    "cairn.query_language",
                    format!("{other:?}: expected promql or logql"),
                )),
            }
            ext.min_events = c.min_events;
            if let Some(b) = c.data_missing_alert {
                ext.data_missing_alert = b;
            }
            if let Some(d) = c.data_missing_for {
                match parse_duration(&d) {
                    Ok(d) => ext.data_missing_for = d,
                    Err(e) => errors.push(err("cairn.data_missing_for", e)),
                }
            }
        }
        let mut labels = raw.labels.clone();
        labels.extend(slo.labels);
        out.push(SloSpec {
            file: file.to_string(),
            service: raw.service.clone(),
            name: slo.name,
            description: slo.description,
            objective: slo.objective,
            labels,
            sli,
            alerting: Alerting {
                name: a.name.filter(|n| !n.is_empty()),
                labels: a.labels,
                annotations: a.annotations,
                page: AlertMeta {
                    disable: a.page_alert.disable,
                    labels: a.page_alert.labels,
                    annotations: a.page_alert.annotations,
                },
                ticket: AlertMeta {
                    disable: a.ticket_alert.disable,
                    labels: a.ticket_alert.labels,
                    annotations: a.ticket_alert.annotations,
                },
            },
            period: default_period,
            spec_version: "prometheus/v1".to_string(),
            extensions: ext,
        });
    }
    out
}

fn not_empty(v: &serde_yaml_ng::Value) -> bool {
    match v {
        serde_yaml_ng::Value::Null => false,
        serde_yaml_ng::Value::Sequence(s) => !s.is_empty(),
        serde_yaml_ng::Value::Mapping(m) => m.get("chain").is_some_and(not_empty),
        _ => true,
    }
}
