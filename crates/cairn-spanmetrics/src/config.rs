//! The generator's configuration, in the shape and with the defaults of Tempo's
//! `metrics_generator` block: a list of `processors` to run and one section per processor.
//!
//! Parsing (serde, unknown keys refused) fills Tempo's defaults for every missing key;
//! [`GeneratorConfig::validate`] then checks what serde cannot (bucket order, ranges, label
//! collisions) and [`crate::Generator::new`] refuses a configuration that does not pass.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::filter::{FilterPolicy, SpanFilter};
use crate::names::{
    DIM_SERVICE, DIM_SPAN_KIND, DIM_SPAN_NAME, DIM_STATUS_CODE, DIM_STATUS_MESSAGE,
    sanitize_label_name, sanitize_with_collisions, valid_label_name,
};

/// Tempo's processor names this crate runs, as `processors` lists them.
pub const PROCESSOR_NAMES: [&str; 8] = [
    "span-metrics",
    "span-metrics-count",
    "span-metrics-latency",
    "span-metrics-size",
    "service-graphs",
    "service-graphs-request",
    "service-graphs-latency",
    "service-graphs-connection-info",
];

/// Everything the generator of one tenant needs (Tempo's `metrics_generator` settings and
/// `processors` override in one block).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// The processors to run (Tempo's names: `span-metrics`, `service-graphs`, or their
    /// sub-names such as `span-metrics-latency`); empty runs nothing.
    pub processors: Vec<String>,
    /// How often the series are collected into the metrics store (default 15s; 1s to 5m).
    #[serde(deserialize_with = "de_duration")]
    pub collection_interval: Duration,
    /// A series not updated for this long is dropped (default 15m).
    #[serde(deserialize_with = "de_duration")]
    pub stale_duration: Duration,
    /// Labels added to every generated series.
    pub external_labels: BTreeMap<String, String>,
    /// The most series alive at once (a histogram counts each bucket, its sum and count);
    /// new series beyond it are not created. 0, the default, for no limit (Tempo's
    /// `max_active_series` override).
    pub max_active_series: usize,
    /// Per-processor settings.
    pub processor: ProcessorConfig,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            processors: Vec::new(),
            collection_interval: Duration::from_secs(15),
            stale_duration: Duration::from_secs(15 * 60),
            external_labels: BTreeMap::new(),
            max_active_series: 0,
            processor: ProcessorConfig::default(),
        }
    }
}

/// The settings of each processor (Tempo's `metrics_generator.processor`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessorConfig {
    /// The span metrics processor.
    pub span_metrics: SpanMetricsConfig,
    /// The service graph processor.
    pub service_graphs: ServiceGraphConfig,
}

/// Which intrinsic labels span metrics carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntrinsicDimensions {
    /// `service` (the resource's `service.name`); on by default.
    pub service: bool,
    /// `span_name`; on by default.
    pub span_name: bool,
    /// `span_kind` (`SPAN_KIND_SERVER`, ...); on by default.
    pub span_kind: bool,
    /// `status_code` (`STATUS_CODE_ERROR`, ...); on by default.
    pub status_code: bool,
    /// `status_message`; off by default.
    pub status_message: bool,
}

impl Default for IntrinsicDimensions {
    fn default() -> Self {
        IntrinsicDimensions {
            service: true,
            span_name: true,
            span_kind: true,
            status_code: true,
            status_message: false,
        }
    }
}

impl IntrinsicDimensions {
    /// The label names turned on, in Tempo's order.
    pub fn enabled(&self) -> Vec<&'static str> {
        [
            (self.service, DIM_SERVICE),
            (self.span_name, DIM_SPAN_NAME),
            (self.span_kind, DIM_SPAN_KIND),
            (self.status_code, DIM_STATUS_CODE),
            (self.status_message, DIM_STATUS_MESSAGE),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// A label built from one or more attributes (Tempo's `dimension_mappings` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DimensionMapping {
    /// The label name (sanitized: `env.name` becomes `env_name`).
    pub name: String,
    /// The attributes read, in order; those present are joined.
    pub source_labels: Vec<String>,
    /// The separator between the values found.
    pub join: String,
}

/// The span metrics processor (Tempo's `processor.span_metrics`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpanMetricsConfig {
    /// Upper bounds of the latency histogram in seconds (default 0.002 doubling to 16.384,
    /// 14 buckets); `+Inf` is always added.
    pub histogram_buckets: Vec<f64>,
    /// Which intrinsic labels to add.
    pub intrinsic_dimensions: IntrinsicDimensions,
    /// Attributes (resource first, then span) added as labels, their names sanitized; a name
    /// equal to an intrinsic label gets a `__` prefix.
    pub dimensions: Vec<String>,
    /// Labels built from renamed or joined attributes.
    pub dimension_mappings: Vec<DimensionMapping>,
    /// Emit `traces_target_info` from resource attributes and add `job` and `instance` labels.
    pub enable_target_info: bool,
    /// Resource attributes left out of `traces_target_info`.
    pub target_info_excluded_dimensions: Vec<String>,
    /// Add `instance` (from `service.instance.id`) when target info is on; default true.
    pub enable_instance_label: bool,
    /// A span or resource attribute holding the sampling ratio; each span counts `1/ratio`.
    pub span_multiplier_key: String,
    /// Take the multiplier from the W3C tracestate's OpenTelemetry threshold (`ot=th:...`)
    /// first.
    pub enable_tracestate_span_multiplier: bool,
    /// Which spans are counted (all when empty).
    pub filter_policies: Vec<FilterPolicy>,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            histogram_buckets: exponential_buckets(0.002, 2.0, 14),
            intrinsic_dimensions: IntrinsicDimensions::default(),
            dimensions: Vec::new(),
            dimension_mappings: Vec::new(),
            enable_target_info: false,
            target_info_excluded_dimensions: Vec::new(),
            enable_instance_label: true,
            span_multiplier_key: String::new(),
            enable_tracestate_span_multiplier: false,
            filter_policies: Vec::new(),
        }
    }
}

/// The service graph processor (Tempo's `processor.service_graphs`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceGraphConfig {
    /// How long a span waits for its other side before it expires (default 10s).
    #[serde(deserialize_with = "de_duration")]
    pub wait: Duration,
    /// How many half-paired edges are kept at most; spans beyond are dropped (default 10000).
    pub max_items: usize,
    /// Upper bounds of the latency histograms in seconds (default 0.1 doubling to 12.8, 8
    /// buckets); `+Inf` is always added.
    pub histogram_buckets: Vec<f64>,
    /// Attributes (resource first, then span) added as labels.
    pub dimensions: Vec<String>,
    /// Add each dimension twice, as `client_<name>` and `server_<name>`, from each side.
    pub enable_client_server_prefix: bool,
    /// Also emit `traces_service_graph_request_messaging_system_seconds`.
    pub enable_messaging_system_latency_histogram: bool,
    /// Span attributes naming an uninstrumented peer, searched in order (default
    /// `peer.service`, `db.name`, `db.system`, `db.system.name`).
    pub peer_attributes: Vec<String>,
    /// A span or resource attribute holding the sampling ratio; each edge counts `1/ratio`.
    pub span_multiplier_key: String,
    /// Take the multiplier from the W3C tracestate's OpenTelemetry threshold first.
    pub enable_tracestate_span_multiplier: bool,
    /// Add the `virtual_node` label (`client` or `server`) on virtual node edges.
    pub enable_virtual_node_label: bool,
    /// Attributes that mark a client span as a database call, searched in order; the first
    /// found names the database (default `db.namespace`, `db.name`, `db.system`,
    /// `db.system.name`).
    pub database_name_attributes: Vec<String>,
    /// Which client, server, producer and consumer spans make edges (all when empty); when
    /// one side of an edge is filtered out, the other side is dropped too.
    pub filter_policies: Vec<FilterPolicy>,
}

impl Default for ServiceGraphConfig {
    fn default() -> Self {
        ServiceGraphConfig {
            wait: Duration::from_secs(10),
            max_items: 10_000,
            histogram_buckets: exponential_buckets(0.1, 2.0, 8),
            dimensions: Vec::new(),
            enable_client_server_prefix: false,
            enable_messaging_system_latency_histogram: false,
            peer_attributes: strings(&["peer.service", "db.name", "db.system", "db.system.name"]),
            span_multiplier_key: String::new(),
            enable_tracestate_span_multiplier: false,
            enable_virtual_node_label: false,
            database_name_attributes: strings(&[
                "db.namespace",
                "db.name",
                "db.system",
                "db.system.name",
            ]),
            filter_policies: Vec::new(),
        }
    }
}

/// Which metrics of each processor run, from the `processors` list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    /// `traces_spanmetrics_calls_total`.
    pub span_count: bool,
    /// `traces_spanmetrics_latency`.
    pub span_latency: bool,
    /// `traces_spanmetrics_size_total`.
    pub span_size: bool,
    /// `traces_service_graph_request_total` and `..._failed_total`.
    pub graph_request: bool,
    /// `traces_service_graph_request_{server,client}_seconds`.
    pub graph_latency: bool,
    /// `traces_service_graph_connection_info`.
    pub graph_connection_info: bool,
}

impl Enabled {
    /// Whether any span metric runs.
    pub fn span_metrics(&self) -> bool {
        self.span_count || self.span_latency || self.span_size
    }

    /// Whether the service graph runs.
    pub fn service_graphs(&self) -> bool {
        self.graph_request || self.graph_latency || self.graph_connection_info
    }
}

impl GeneratorConfig {
    /// Checks what parsing cannot: known processors, bucket order, ranges, label names and
    /// collisions.
    pub fn validate(&self) -> Result<()> {
        self.enabled()?;
        let ci = self.collection_interval;
        if ci < Duration::from_secs(1) || ci > Duration::from_secs(300) {
            return Err(Error::OutOfRange {
                key: "collection_interval",
                message: format!("{ci:?} is outside the acceptable range of 1s to 5m"),
            });
        }
        if self.stale_duration.is_zero() {
            return Err(Error::OutOfRange {
                key: "stale_duration",
                message: "must be greater than 0".into(),
            });
        }
        for name in self.external_labels.keys() {
            if !valid_label_name(name) || name.starts_with("__") {
                return Err(Error::ExternalLabel { name: name.clone() });
            }
        }
        self.processor.span_metrics.validate()?;
        self.processor.service_graphs.validate()
    }

    /// The metrics that `processors` turns on, as Tempo reads the list: a bare processor name
    /// turns on its default set (`span-metrics`: count, latency and size; `service-graphs`:
    /// request and latency), a sub-name turns on one part.
    pub fn enabled(&self) -> Result<Enabled> {
        let mut e = Enabled::default();
        for name in &self.processors {
            match name.as_str() {
                "span-metrics" => {
                    e.span_count = true;
                    e.span_latency = true;
                    e.span_size = true;
                }
                "span-metrics-count" => e.span_count = true,
                "span-metrics-latency" => e.span_latency = true,
                "span-metrics-size" => e.span_size = true,
                "service-graphs" => {
                    e.graph_request = true;
                    e.graph_latency = true;
                }
                "service-graphs-request" => e.graph_request = true,
                "service-graphs-latency" => e.graph_latency = true,
                "service-graphs-connection-info" => e.graph_connection_info = true,
                _ => {
                    return Err(Error::UnknownProcessor {
                        name: name.clone(),
                        valid: PROCESSOR_NAMES.join(", "),
                    });
                }
            }
        }
        Ok(e)
    }
}

impl SpanMetricsConfig {
    /// Checks buckets, names and label collisions (Tempo's `ValidateDimensions`).
    pub fn validate(&self) -> Result<()> {
        validate_buckets("span_metrics.histogram_buckets", &self.histogram_buckets)?;
        no_empty("span_metrics.dimensions", &self.dimensions)?;
        compile_filter("span_metrics.filter_policies", &self.filter_policies)?;
        no_empty(
            "span_metrics.target_info_excluded_dimensions",
            &self.target_info_excluded_dimensions,
        )?;
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for d in self.intrinsic_dimensions.enabled() {
            seen.insert(d.to_string(), format!("intrinsic dimension {d:?}"));
        }
        // Two dimensions may sanitize to one label (`a.b` and `a_b` from different SDKs):
        // Tempo allows it and the last one configured wins.
        for d in &self.dimensions {
            seen.insert(sanitize_with_collisions(d), format!("dimension {d:?}"));
        }
        for (i, m) in self.dimension_mappings.iter().enumerate() {
            if m.name.is_empty() {
                return Err(Error::EmptyName {
                    key: "span_metrics.dimension_mappings",
                    index: i,
                });
            }
            if m.source_labels.is_empty() {
                return Err(Error::NoSourceLabels {
                    name: m.name.clone(),
                });
            }
            let label = sanitize_with_collisions(&m.name);
            if let Some(other) = seen.get(&label) {
                return Err(Error::LabelCollision {
                    name: m.name.clone(),
                    label,
                    other: other.clone(),
                });
            }
            seen.insert(label, format!("dimension_mapping {:?}", m.name));
        }
        Ok(())
    }
}

impl ServiceGraphConfig {
    /// Checks `wait`, `max_items`, buckets and attribute names.
    pub fn validate(&self) -> Result<()> {
        if self.wait.is_zero() {
            return Err(Error::OutOfRange {
                key: "service_graphs.wait",
                message: "must be greater than 0".into(),
            });
        }
        if self.max_items == 0 {
            return Err(Error::OutOfRange {
                key: "service_graphs.max_items",
                message: "must be greater than 0".into(),
            });
        }
        validate_buckets("service_graphs.histogram_buckets", &self.histogram_buckets)?;
        no_empty("service_graphs.dimensions", &self.dimensions)?;
        compile_filter("service_graphs.filter_policies", &self.filter_policies)?;
        no_empty("service_graphs.peer_attributes", &self.peer_attributes)?;
        no_empty(
            "service_graphs.database_name_attributes",
            &self.database_name_attributes,
        )?;
        Ok(())
    }

    /// The label a dimension writes (sanitized; used by tests and docs).
    pub fn dimension_label(name: &str) -> String {
        sanitize_label_name(name)
    }
}

/// `count` buckets starting at `start`, each `factor` times the one before (Prometheus'
/// `ExponentialBuckets`, computed the same way so the `le` strings match).
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    out
}

fn validate_buckets(key: &'static str, buckets: &[f64]) -> Result<()> {
    for (i, &b) in buckets.iter().enumerate() {
        let bad_prev = i > 0 && b <= buckets[i - 1];
        if !b.is_finite() || bad_prev {
            let prev_index = i.saturating_sub(1);
            return Err(Error::Buckets {
                key,
                index: i,
                value: b,
                prev_index,
                prev: buckets.get(prev_index).copied().unwrap_or(b),
            });
        }
    }
    Ok(())
}

/// The compiled policies, or which one is wrong and why.
pub(crate) fn compile_filter(key: &'static str, policies: &[FilterPolicy]) -> Result<SpanFilter> {
    SpanFilter::new(policies).map_err(|(index, message)| Error::FilterPolicy {
        key,
        index,
        message,
    })
}

fn no_empty(key: &'static str, names: &[String]) -> Result<()> {
    match names.iter().position(String::is_empty) {
        Some(index) => Err(Error::EmptyName { key, index }),
        None => Ok(()),
    }
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    cairn_model::parse_duration(s.trim()).map_err(serde::de::Error::custom)
}
