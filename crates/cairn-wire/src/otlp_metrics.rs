//! OTLP metrics (`/v1/metrics`: protobuf or OTLP/JSON, and the gRPC `MetricsService/Export`
//! message) mapped to Prometheus series as Prometheus' own OTLP receiver maps them
//! (`storage/remote/otlptranslator/prometheusremotewrite` and the `otlptranslator` package):
//!
//! - metric names from the OTLP name, unit and kind by the `translation_strategy`
//!   ([`naming`]): `_total` for monotonic sums, `_ratio` for unit-`1` gauges, unit words;
//!   attribute names escaped the same way;
//! - `job` is `service.namespace/service.name` (or `service.name`), `instance` is
//!   `service.instance.id`; promoted resource attributes become labels; every other resource
//!   attribute goes to `target_info` (with `job`/`instance`), written at the earliest and
//!   latest point time of the resource and every half lookback (2m30s) in between;
//! - gauges and cumulative sums are one series per point; explicit-bucket histograms are
//!   `_bucket{le}` (cumulative, with `+Inf`), `_sum` and `_count`; summaries are
//!   `{quantile}`, `_sum` and `_count`; `FLAG_NO_RECORDED_VALUE` points are stale markers;
//! - exemplars of sums and histograms (trace and span ids as `trace_id`/`span_id` in hex,
//!   filtered attributes when the whole fits in 128 runes) ride on their series, a histogram's
//!   on the first bucket whose bound holds them;
//! - metric metadata (type, unit, description) per family.
//!
//! Refused as Prometheus refuses them without its delta and native-histogram features, the
//! rest of the request kept: sums and histograms whose temporality is not cumulative
//! (Prometheus' words: "invalid temporality and type combination"), exponential histograms
//! (native histograms are not stored yet) and metrics whose name normalises to nothing. Each
//! refused metric counts its data points in [`OtlpMetricsReport::rejected_data_points`].

mod mapper;
mod naming;

use cairn_model::{LabelRef, MetadataRef, MetricType, Sample, WriteBatch};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message as _;

use crate::error::{Result, WireError};
use crate::report::{DecodeLimits, DecodeReport};
use crate::series::{self, Decoded, Marks, Scratch};
use crate::traces::OtlpFormat;

pub use mapper::map_otlp_metrics;
pub use naming::{LabelNamer, MetricNamer, NamingType, TranslationStrategy, unit_name};

/// Error messages kept in a report; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 10;
/// Exemplar label text past which filtered attributes are left out (Prometheus).
const MAX_EXEMPLAR_RUNES: usize = 128;
/// Prometheus' default lookback; `target_info` is repeated every half of it.
const TARGET_INFO_INTERVAL_MS: i64 = 150_000;
/// The resource attributes that make `job` and `instance`.
const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// OTLP's `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// How OTLP metrics become series: Prometheus' `otlp:` configuration section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpMetricsMapping {
    /// `translation_strategy`.
    pub translation_strategy: TranslationStrategy,
    /// `promote_resource_attributes`: resource attributes copied onto every series.
    pub promote_resource_attributes: Vec<String>,
    /// `promote_all_resource_attributes`: every resource attribute but the ignored ones.
    pub promote_all_resource_attributes: bool,
    /// `ignore_resource_attributes` (only with `promote_all_resource_attributes`).
    pub ignore_resource_attributes: Vec<String>,
    /// `keep_identifying_resource_attributes`: `service.*` attributes also on `target_info`.
    pub keep_identifying_resource_attributes: bool,
    /// `promote_scope_metadata`: `otel_scope_name`, `_version`, `_schema_url` and
    /// `otel_scope_<attribute>` labels.
    pub promote_scope_metadata: bool,
    /// `label_name_underscore_sanitization`: `_x` becomes `key_x` (true, as Prometheus).
    pub label_name_underscore_sanitization: bool,
    /// `label_name_preserve_multiple_underscores` (true, as Prometheus).
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpMetricsMapping {
    /// Prometheus' defaults.
    fn default() -> Self {
        OtlpMetricsMapping {
            translation_strategy: TranslationStrategy::default(),
            promote_resource_attributes: Vec::new(),
            promote_all_resource_attributes: false,
            ignore_resource_attributes: Vec::new(),
            keep_identifying_resource_attributes: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

impl OtlpMetricsMapping {
    fn label_namer(&self) -> LabelNamer {
        LabelNamer {
            utf8_allowed: !self.translation_strategy.escapes(),
            underscore_sanitization: self.label_name_underscore_sanitization,
            preserve_multiple_underscores: self.label_name_preserve_multiple_underscores,
        }
    }

    fn promotes(&self, attribute: &str) -> bool {
        if self.promote_all_resource_attributes {
            !self
                .ignore_resource_attributes
                .iter()
                .any(|a| a == attribute)
        } else {
            self.promote_resource_attributes
                .iter()
                .any(|a| a == attribute)
        }
    }
}

/// One mapped series: sorted labels with `__name__`, its samples in request order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MappedSeries {
    /// Labels, sorted by name, unique, none empty.
    pub labels: Vec<(String, String)>,
    /// Samples (stale markers keep their bits).
    pub samples: Vec<Sample>,
    /// Exemplars.
    pub exemplars: Vec<MappedExemplar>,
}

/// An exemplar of a mapped series.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedExemplar {
    /// `trace_id`, `span_id` and the filtered attributes, sorted.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
    /// Milliseconds since the epoch (the point's time when the exemplar has none).
    pub timestamp_ms: i64,
}

/// Metadata of a metric family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedMetadata {
    /// The family name (without `_bucket`/`_sum`/`_count`).
    pub family: String,
    /// Type.
    pub metric_type: MetricType,
    /// Description.
    pub help: String,
    /// Unit in Prometheus words.
    pub unit: String,
}

/// What mapping refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtlpMetricsReport {
    /// Data points taken.
    pub data_points: u64,
    /// Data points refused (their metric refused as a whole, or its labels invalid).
    pub rejected_data_points: u64,
    /// The first [`MAX_REPORTED_ERRORS`] errors.
    pub errors: Vec<String>,
    /// All errors, listed or not.
    pub error_count: usize,
}

impl OtlpMetricsReport {
    fn refuse(&mut self, points: usize, message: String) {
        self.rejected_data_points += points as u64;
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(message);
        }
    }

    /// Adds samples the store refused (out of order, duplicates, too old), one error each,
    /// with the first messages.
    pub fn refuse_samples(&mut self, samples: usize, messages: Vec<String>) {
        self.rejected_data_points += samples as u64;
        self.error_count += samples.max(messages.len());
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(messages.into_iter().take(room));
    }

    /// Adds the series the batch validation refused (limits, duplicate names).
    pub fn add_rejections(&mut self, report: &DecodeReport) {
        for r in &report.rejected {
            self.refuse(r.samples, r.message.clone());
        }
    }

    /// The `partial_success.error_message` text: the errors, `; `-joined, and how many more.
    pub fn error_message(&self) -> String {
        let mut s = self.errors.join("; ");
        if self.error_count > self.errors.len() {
            s.push_str(&format!(
                "; and {} more errors",
                self.error_count - self.errors.len()
            ));
        }
        s
    }
}

/// A mapped request: the series, the metadata and what was refused.
#[derive(Clone, Debug, Default)]
pub struct MappedMetrics {
    /// Series, in order of first appearance; points of one label set are merged.
    pub series: Vec<MappedSeries>,
    /// One entry per accepted metric family.
    pub metadata: Vec<MappedMetadata>,
    /// Refusals.
    pub report: OtlpMetricsReport,
}

impl MappedMetrics {
    /// Total samples.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Lays the series into `batch` (which borrows from `self`) through the same label checks
    /// and limits as remote write; refused series are in the returned report.
    pub fn fill_batch<'a>(
        &'a self,
        limits: &DecodeLimits,
        batch: &mut WriteBatch<'a>,
    ) -> DecodeReport {
        let mut report = DecodeReport::default();
        let mut scratch = Scratch::default();
        for (index, s) in self.series.iter().enumerate() {
            let marks = Marks::of(batch);
            batch
                .labels
                .extend(s.labels.iter().map(|(n, v)| LabelRef::new(n, v)));
            let labels_end = batch.labels.len();
            batch.samples.extend_from_slice(&s.samples);
            for e in &s.exemplars {
                let l0 = batch.labels.len();
                batch
                    .labels
                    .extend(e.labels.iter().map(|(n, v)| LabelRef::new(n, v)));
                batch.exemplars.push(cairn_model::ExemplarRef {
                    labels: l0..batch.labels.len(),
                    value: e.value,
                    timestamp_ms: e.timestamp_ms,
                });
            }
            let d = Decoded {
                index,
                marks,
                labels_end,
                problem: None,
            };
            series::finish(batch, d, limits, &mut scratch, &mut report);
        }
        batch
            .metadata
            .extend(self.metadata.iter().map(|m| MetadataRef {
                metric_family_name: &m.family,
                metric_type: m.metric_type,
                help: &m.help,
                unit: &m.unit,
            }));
        report
    }
}

/// Decodes an OTLP/HTTP metrics body by its Content-Type (protobuf or JSON; others are
/// [`WireError::UnsupportedMediaType`]) and maps it.
pub fn decode_otlp_metrics(
    content_type: Option<&str>,
    body: &[u8],
    mapping: &OtlpMetricsMapping,
) -> Result<MappedMetrics> {
    let req = match OtlpFormat::from_content_type(content_type)? {
        OtlpFormat::Protobuf => ExportMetricsServiceRequest::decode(body)
            .map_err(|e| WireError::protobuf("ExportMetricsServiceRequest", e.to_string()))?,
        // An empty body is an empty request, as for protobuf.
        OtlpFormat::Json if body.iter().all(u8::is_ascii_whitespace) => {
            ExportMetricsServiceRequest::default()
        }
        OtlpFormat::Json => serde_json::from_slice(body).map_err(|e| {
            WireError::InvalidMetricsBody(format!("invalid OTLP metrics JSON: {e}"))
        })?,
    };
    Ok(map_otlp_metrics(&req, mapping))
}

/// The `ExportMetricsServiceResponse` of a report, in the request's format: `{}` when nothing
/// was refused, else `partial_success` with the count and the messages.
pub fn encode_metrics_response(report: &OtlpMetricsReport, format: OtlpFormat) -> Vec<u8> {
    let partial = partial_success(report);
    match format {
        OtlpFormat::Protobuf => ExportMetricsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        OtlpFormat::Json => {
            let v = match partial {
                None => serde_json::json!({}),
                // proto3 JSON writes int64 as a decimal string.
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedDataPoints": p.rejected_data_points.to_string(),
                    "errorMessage": p.error_message,
                }}),
            };
            v.to_string().into_bytes()
        }
    }
}

/// `partial_success` for a report, `None` when nothing was refused.
pub fn partial_success(report: &OtlpMetricsReport) -> Option<ExportMetricsPartialSuccess> {
    (report.error_count > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(report.rejected_data_points).unwrap_or(i64::MAX),
        error_message: report.error_message(),
    })
}

#[cfg(test)]
mod name_cases;
#[cfg(test)]
mod tests;
