//! OTLP logs (`/v1/logs`: protobuf or OTLP/JSON, and the gRPC `LogsService/Export` message)
//! mapped as Loki's native OTLP ingestion maps them:
//!
//! - resource attributes in Loki's default list (`service.name`, `k8s.namespace.name`, ...)
//!   become stream labels, names sanitised (`.` -> `_`); without `service.name`, a label of
//!   the service name discovery list or `unknown_service` gives `service_name`;
//! - every other resource, scope and log attribute becomes structured metadata (maps
//!   flattened as `parent_child`), as do `scope_name`, `scope_version`, `severity_text`,
//!   `severity_number`, `trace_id`, `span_id` (hex), `flags`, `event_name`,
//!   `observed_timestamp` and the dropped-attributes counts;
//! - the body is the line (non-string bodies as JSON); the time is `time_unix_nano`, else
//!   `observed_time_unix_nano`, else now;
//! - Loki's `otlp_config` rules (index_label / structured_metadata / drop, by name list or
//!   regex, first match wins, `ignore_defaults`) change that.
//!
//! An entry's structured metadata holds its own attributes first, then the resource's, then
//! the scope's; when names repeat the first is kept.

pub(crate) mod value;

use std::collections::HashMap;

use cairn_model::{Labels, LogBatch, LogEntry, LogStream};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use prost::Message as _;
use regex::Regex;

use super::limits::LogDecodeLimits;
use super::loki::push_metadata;
use crate::error::{Result, WireError};

/// What to do with an attribute (Loki's `otlp_config` actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtlpAttributeAction {
    /// A stream label (resource and log attributes only).
    IndexLabel,
    /// Structured metadata of every entry.
    StructuredMetadata,
    /// Dropped.
    Drop,
}

impl OtlpAttributeAction {
    /// The action named as in Loki's configuration.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "index_label" => OtlpAttributeAction::IndexLabel,
            "structured_metadata" => OtlpAttributeAction::StructuredMetadata,
            "drop" => OtlpAttributeAction::Drop,
            _ => return None,
        })
    }
}

/// One `attributes_config` entry: an action for the attributes named, or matching a regex
/// (anchored at both ends, as Prometheus' relabel regexes are).
#[derive(Clone, Debug)]
pub struct OtlpAttributeRule {
    /// The action.
    pub action: OtlpAttributeAction,
    /// Attribute names it applies to.
    pub attributes: Vec<String>,
    /// Or a regex they match.
    pub regex: Option<Regex>,
}

impl OtlpAttributeRule {
    /// A rule for a list of attribute names.
    pub fn names<S: Into<String>>(
        action: OtlpAttributeAction,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        OtlpAttributeRule {
            action,
            attributes: names.into_iter().map(Into::into).collect(),
            regex: None,
        }
    }

    /// A rule for the attributes matching `pattern` entirely.
    pub fn regex(action: OtlpAttributeAction, pattern: &str) -> Result<Self> {
        let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
            WireError::InvalidMapping(format!("invalid attribute regex {pattern:?}: {e}"))
        })?;
        Ok(OtlpAttributeRule {
            action,
            attributes: Vec::new(),
            regex: Some(re),
        })
    }

    fn matches(&self, name: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(name))
            || self.attributes.iter().any(|a| a == name)
    }
}

/// Loki's `distributor.otlp.default_resource_attributes_as_index_labels`.
pub const DEFAULT_OTLP_INDEX_LABELS: [&str; 18] = [
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// How OTLP logs become streams (Loki's `otlp_config` plus the settings around it).
#[derive(Clone, Debug)]
pub struct OtlpLogMapping {
    /// Resource attributes indexed unless `ignore_defaults` (Loki's global default list).
    pub default_index_labels: Vec<String>,
    /// `resource_attributes.ignore_defaults`.
    pub ignore_defaults: bool,
    /// `resource_attributes.attributes_config`.
    pub resource_attributes: Vec<OtlpAttributeRule>,
    /// `scope_attributes` (no `index_label`).
    pub scope_attributes: Vec<OtlpAttributeRule>,
    /// `log_attributes`.
    pub log_attributes: Vec<OtlpAttributeRule>,
    /// `severity_text_as_label`.
    pub severity_text_as_label: bool,
    /// `discover_service_name`: labels that give `service_name` when `service.name` is
    /// absent; empty turns the `service_name` default off.
    pub discover_service_name: Vec<String>,
}

impl Default for OtlpLogMapping {
    /// Loki's defaults.
    fn default() -> Self {
        OtlpLogMapping {
            default_index_labels: DEFAULT_OTLP_INDEX_LABELS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ignore_defaults: false,
            resource_attributes: Vec::new(),
            scope_attributes: Vec::new(),
            log_attributes: Vec::new(),
            severity_text_as_label: false,
            discover_service_name: super::DEFAULT_DISCOVER_SERVICE_NAME
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

impl OtlpLogMapping {
    /// Refuses what Loki refuses: `index_label` for scope attributes.
    pub fn validate(&self) -> Result<()> {
        if self
            .scope_attributes
            .iter()
            .any(|r| r.action == OtlpAttributeAction::IndexLabel)
        {
            return Err(WireError::InvalidMapping(
                "index_label action is only supported for resource_attributes".into(),
            ));
        }
        Ok(())
    }

    fn resource_action(&self, name: &str) -> OtlpAttributeAction {
        if !self.ignore_defaults && self.default_index_labels.iter().any(|d| d == name) {
            return OtlpAttributeAction::IndexLabel;
        }
        first_match(&self.resource_attributes, name)
    }
}

fn first_match(rules: &[OtlpAttributeRule], name: &str) -> OtlpAttributeAction {
    rules
        .iter()
        .find(|r| r.matches(name))
        .map_or(OtlpAttributeAction::StructuredMetadata, |r| r.action)
}

/// Decodes an OTLP/HTTP logs body (Content-Encoding already undone): `application/x-protobuf`
/// or `application/json` (OTLP/JSON: hex ids, 64-bit integers as strings or numbers, enums
/// as integers, unknown fields ignored). Other types are 415.
pub fn decode_otlp_logs(
    content_type: Option<&str>,
    body: &[u8],
    mapping: &OtlpLogMapping,
    now_ns: i64,
    limits: &LogDecodeLimits,
) -> Result<LogBatch> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if body.len() > limits.decoded_cap() {
        return Err(WireError::TooLarge {
            decoded: body.len(),
            limit: limits.decoded_cap(),
        });
    }
    let req = if media.eq_ignore_ascii_case("application/x-protobuf") {
        ExportLogsServiceRequest::decode(body)
            .map_err(|e| WireError::log_body(format!("invalid OTLP logs protobuf: {e}")))?
    } else if media.eq_ignore_ascii_case("application/json") {
        serde_json::from_slice(body)
            .map_err(|e| WireError::log_body(format!("invalid OTLP logs JSON: {e}")))?
    } else {
        return Err(WireError::UnsupportedMediaType(
            content_type.unwrap_or("").to_string(),
        ));
    };
    let n: usize = req
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    limits.check_entries(n)?;
    Ok(map_otlp_logs(req, mapping, now_ns))
}

/// Maps a decoded export request (from the gRPC listener, or [`decode_otlp_logs`]).
///
/// Attributes whose names are empty or sanitise to underscores only are left out. Streams
/// come in order of first appearance; with service name discovery off and no indexed
/// attribute, a stream has no labels (which Loki's validation refuses, as should the caller).
pub fn map_otlp_logs(
    req: ExportLogsServiceRequest,
    mapping: &OtlpLogMapping,
    now_ns: i64,
) -> LogBatch {
    let mut batch = LogBatch::default();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for rl in req.resource_logs {
        let resource_attrs = rl
            .resource
            .map(|r| (r.attributes, r.dropped_attributes_count));
        let (attrs, _) = resource_attrs.unwrap_or_default();
        let mut stream_labels: Vec<(String, String)> = Vec::new();
        let mut resource_md: Vec<(String, String)> = Vec::new();
        let has_service_name = attrs
            .iter()
            .any(|kv| kv.key == "service.name" && !value::as_string(kv.value.as_ref()).is_empty());
        for kv in &attrs {
            let action = mapping.resource_action(&kv.key);
            if action == OtlpAttributeAction::Drop {
                continue;
            }
            let flat = flatten(kv);
            match action {
                OtlpAttributeAction::IndexLabel => {
                    for (n, v) in flat {
                        set_label(&mut stream_labels, n, v);
                    }
                }
                _ => resource_md.extend(flat),
            }
        }
        if !has_service_name && !mapping.discover_service_name.is_empty() {
            let found = mapping.discover_service_name.iter().find_map(|d| {
                stream_labels
                    .iter()
                    .find(|(n, v)| n == d && !v.is_empty())
                    .map(|(_, v)| v.clone())
            });
            set_label(
                &mut stream_labels,
                "service_name".into(),
                found.unwrap_or_else(|| "unknown_service".into()),
            );
        }
        for sl in rl.scope_logs {
            let mut scope_md: Vec<(String, String)> = Vec::new();
            if let Some(scope) = &sl.scope {
                for kv in &scope.attributes {
                    if first_match(&mapping.scope_attributes, &kv.key)
                        == OtlpAttributeAction::StructuredMetadata
                    {
                        scope_md.extend(flatten(kv));
                    }
                }
                if !scope.name.is_empty() {
                    scope_md.push(("scope_name".into(), scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scope_md.push(("scope_version".into(), scope.version.clone()));
                }
                if scope.dropped_attributes_count != 0 {
                    scope_md.push((
                        "scope_dropped_attributes_count".into(),
                        scope.dropped_attributes_count.to_string(),
                    ));
                }
            }
            for lr in sl.log_records {
                let mut entry_labels: Vec<(String, String)> = Vec::new();
                let mut md: Vec<(String, String)> = Vec::new();
                let mut own: Vec<(String, String)> = Vec::new();
                for kv in &lr.attributes {
                    let action = first_match(&mapping.log_attributes, &kv.key);
                    // The record's own event_name wins over an attribute of that name.
                    if action == OtlpAttributeAction::Drop
                        || (kv.key == "event_name" && !lr.event_name.is_empty())
                    {
                        continue;
                    }
                    let flat = flatten(kv);
                    match action {
                        OtlpAttributeAction::IndexLabel => {
                            for (n, v) in flat {
                                set_label(&mut entry_labels, n, v);
                            }
                        }
                        _ => own.extend(flat),
                    }
                }
                if lr.time_unix_nano != 0 && lr.observed_time_unix_nano != 0 {
                    own.push((
                        "observed_timestamp".into(),
                        lr.observed_time_unix_nano.to_string(),
                    ));
                }
                if lr.severity_number != 0 {
                    own.push(("severity_number".into(), lr.severity_number.to_string()));
                }
                if !lr.severity_text.is_empty() {
                    if mapping.severity_text_as_label {
                        set_label(
                            &mut entry_labels,
                            "severity_text".into(),
                            lr.severity_text.clone(),
                        );
                    }
                    own.push(("severity_text".into(), lr.severity_text.clone()));
                }
                if lr.dropped_attributes_count != 0 {
                    own.push((
                        "dropped_attributes_count".into(),
                        lr.dropped_attributes_count.to_string(),
                    ));
                }
                if lr.flags != 0 {
                    own.push(("flags".into(), lr.flags.to_string()));
                }
                if lr.trace_id.iter().any(|&b| b != 0) {
                    own.push(("trace_id".into(), value::hex(&lr.trace_id)));
                }
                if lr.span_id.iter().any(|&b| b != 0) {
                    own.push(("span_id".into(), value::hex(&lr.span_id)));
                }
                if !lr.event_name.is_empty() {
                    own.push(("event_name".into(), lr.event_name.clone()));
                }
                for (n, v) in own.iter().chain(&resource_md).chain(&scope_md) {
                    push_metadata(&mut md, n, v);
                }
                let ts = [lr.time_unix_nano, lr.observed_time_unix_nano]
                    .into_iter()
                    .find(|&t| t != 0)
                    .map_or(now_ns, |t| i64::try_from(t).unwrap_or(i64::MAX));
                let entry = LogEntry {
                    ts_ns: ts,
                    line: value::as_string(lr.body.as_ref()),
                    metadata: md,
                };
                let mut all = stream_labels.clone();
                for (n, v) in entry_labels {
                    set_label(&mut all, n, v);
                }
                // Names are sanitised and unique; a set left empty (no indexed attribute, or
                // only empty values) is the empty label set.
                let labels = Labels::from_pairs(all.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                    .unwrap_or_default();
                match index.get(&labels) {
                    Some(&i) => batch.streams[i].entries.push(entry),
                    None => {
                        index.insert(labels.clone(), batch.streams.len());
                        batch.streams.push(LogStream {
                            labels,
                            entries: vec![entry],
                        });
                    }
                }
            }
        }
    }
    batch
}

fn set_label(labels: &mut Vec<(String, String)>, name: String, value: String) {
    match labels.iter_mut().find(|(n, _)| *n == name) {
        Some(l) => l.1 = value,
        None => labels.push((name, value)),
    }
}

/// Loki's `AttributeToLabels`: a name sanitised, maps flattened into `parent_child` names.
fn flatten(kv: &KeyValue) -> Vec<(String, String)> {
    let mut out = Vec::new();
    flatten_into(&kv.key, kv.value.as_ref(), "", &mut out, 0);
    out
}

fn flatten_into(
    key: &str,
    v: Option<&AnyValue>,
    prefix: &str,
    out: &mut Vec<(String, String)>,
    depth: usize,
) {
    let full = if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}_{key}")
    };
    let Some(name) = label_name(&full) else {
        return;
    };
    match v.and_then(|a| a.value.as_ref()) {
        // prost bounds message nesting at 100, so this recursion is bounded too.
        Some(Value::KvlistValue(kv)) if depth < 128 => {
            for e in &kv.values {
                flatten_into(&e.key, e.value.as_ref(), &name, out, depth + 1);
            }
        }
        _ => out.push((name, value::as_string(v))),
    }
}

/// The OTLP-to-Prometheus label namer (`otlptranslator.LabelNamer`, UTF-8 off): runs of
/// characters other than ASCII letters and digits become one `_`, `__reserved__` names keep
/// their underscores, a leading digit gets `key_`; empty or underscore-only results are
/// refused.
pub(crate) fn label_name(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let (reserved, inner) = if s.len() >= 4 && s.starts_with("__") && s.ends_with("__") {
        (true, &s[2..s.len() - 2])
    } else {
        (false, s)
    };
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev_us = false;
    for c in inner.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_us = false;
        } else if !prev_us {
            out.push('_');
            prev_us = true;
        }
    }
    if reserved {
        out = format!("__{out}__");
    }
    if out.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.insert_str(0, "key_");
    }
    if out.bytes().all(|b| b == b'_') {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
