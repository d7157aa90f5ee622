//! RED metrics and the service graph from spans, as Tempo's metrics-generator makes them,
//! built into Cairn so that span data becomes Prometheus series in Cairn's own metrics store.
//!
//! A [`Generator`] per tenant is fed every accepted [`cairn_model::TraceBatch`]
//! ([`Generator::observe`]) and collected periodically ([`Generator::collect`]) into
//! `(Labels, Sample)` pairs that the caller appends to the metrics store, where PromQL's
//! `rate()` and `histogram_quantile()` read them like scraped series:
//!
//! - span metrics: `traces_spanmetrics_calls_total`, `traces_spanmetrics_latency_{bucket,sum,
//!   count}` and `traces_spanmetrics_size_total` by `service`, `span_name`, `span_kind`
//!   (`SPAN_KIND_SERVER`, ...), `status_code` (`STATUS_CODE_ERROR`, ...) and configured
//!   dimensions; `traces_target_info` per resource when enabled;
//! - the service graph: `traces_service_graph_request_total`, `..._request_failed_total`,
//!   `..._request_{server,client}_seconds`, optionally `..._request_messaging_system_seconds`
//!   and `..._connection_info`, by `client`, `server` and `connection_type`, plus
//!   `traces_service_graph_unpaired_spans_total` and `..._dropped_spans_total`.
//!
//! Names, labels, defaults and edge cases follow Tempo ([`GeneratorConfig`] takes Tempo's
//! keys). Invariants: counters never decrease while a series lives; bucket counts are
//! cumulative in `le` and the `+Inf` bucket equals `_count`; a series idle for
//! `stale_duration` is dropped and starts again from 0. No I/O and no clock: time is passed
//! in. [`Generator::collect_with_exemplars`] also gives each bucket's last trace as an exemplar.
//! Spans are chosen with Tempo's filter policies; `max_active_series` bounds a tenant's series
//! and the service graph's `max_items` its waiting edges. Not supported: native histograms,
//! label length limits, span name sanitization.
//!
//! ```
//! use cairn_model::{Attribute, Resource, ResourceSpans, ScopeSpans, Span, SpanId, SpanKind};
//! use cairn_model::{TraceBatch, TraceId};
//! use cairn_spanmetrics::{Generator, GeneratorConfig};
//!
//! let config: GeneratorConfig =
//!     serde_yaml_ng::from_str("processors: [span-metrics, service-graphs]").unwrap();
//! let mut generator = Generator::new(config).unwrap();
//! let span = Span {
//!     trace_id: TraceId([1; 16]),
//!     span_id: SpanId([2; 8]),
//!     name: "GET /".into(),
//!     kind: SpanKind::Server,
//!     start_ns: 0,
//!     end_ns: 250_000_000,
//!     ..Span::default()
//! };
//! let batch = TraceBatch {
//!     resources: vec![ResourceSpans {
//!         resource: Resource {
//!             attributes: vec![Attribute::new("service.name", "api")],
//!             ..Resource::default()
//!         },
//!         scopes: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
//!         ..ResourceSpans::default()
//!     }],
//! };
//! generator.observe(&batch, 1_000);
//! // Every collection_interval: append these to the tenant's metrics store.
//! let samples = generator.collect(15_000);
//! let calls = samples
//!     .iter()
//!     .find(|(l, s)| l.metric_name() == Some("traces_spanmetrics_calls_total") && s.t == 15_000)
//!     .map(|(_, s)| s.v);
//! assert_eq!(calls, Some(1.0));
//! ```

mod config;
mod error;
mod filter;
mod generator;
mod names;
mod registry;
mod servicegraph;
mod size;
mod spanmetrics;

pub use config::{
    DimensionMapping, Enabled, GeneratorConfig, IntrinsicDimensions, PROCESSOR_NAMES,
    ProcessorConfig, ServiceGraphConfig, SpanMetricsConfig, exponential_buckets,
};
pub use error::{Error, Result};
pub use filter::{FilterPolicy, FilterValue, MatchType, PolicyAttribute, PolicyMatch};
pub use generator::{Generator, GeneratorStats};
pub use names::{
    DIM_INSTANCE, DIM_JOB, DIM_SERVICE, DIM_SPAN_KIND, DIM_SPAN_NAME, DIM_STATUS_CODE,
    DIM_STATUS_MESSAGE, DIM_VIRTUAL_NODE, EXEMPLAR_TRACE_ID_LABEL, GRAPH_CLIENT_SECONDS,
    GRAPH_CONNECTION_INFO, GRAPH_DROPPED_SPANS_TOTAL, GRAPH_MESSAGING_SECONDS,
    GRAPH_REQUEST_FAILED_TOTAL, GRAPH_REQUEST_TOTAL, GRAPH_SERVER_SECONDS,
    GRAPH_UNPAIRED_SPANS_TOTAL, SPANMETRICS_CALLS_TOTAL, SPANMETRICS_LATENCY,
    SPANMETRICS_SIZE_TOTAL, TARGET_INFO,
};
pub use registry::{Collection, Exemplar};
pub use servicegraph::GraphStats;
