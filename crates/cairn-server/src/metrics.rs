//! The server's own metrics: names in one place, registered once into the shared registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `cairn_ingest_requests_total{version,code}`: remote write requests by protocol and status.
pub(crate) const INGEST_REQUESTS: &str = "cairn_ingest_requests";
/// `cairn_ingest_rejected_samples_total{reason}`: samples of series refused while decoding,
/// by reason. Samples the storage engine accepts or refuses are counted by the engine itself
/// (`cairn_ingest_samples_total`, `cairn_ingest_samples_rejected_total{reason}`), where every
/// ingest path meets; counting them here too exposed one family twice.
pub(crate) const INGEST_REJECTED: &str = "cairn_ingest_rejected_samples";
/// `cairn_ingest_received_bytes_total{encoding}`: request body bytes, compressed and decoded.
pub(crate) const INGEST_BYTES: &str = "cairn_ingest_received_bytes";
/// `cairn_ingest_shed_requests_total`: write requests answered 429 because all slots were busy.
pub(crate) const INGEST_SHED: &str = "cairn_ingest_shed_requests";
/// `cairn_ingest_inflight_requests`: write requests being handled now.
pub(crate) const INGEST_INFLIGHT: &str = "cairn_ingest_inflight_requests";
/// `cairn_http_request_duration_seconds{handler,code}`: every HTTP request.
pub(crate) const HTTP_DURATION: &str = "cairn_http_request_duration_seconds";

/// `cairn_traces_requests_total{transport,code}`: OTLP trace requests by transport (`http`,
/// `grpc`) and HTTP status code (gRPC answers mapped to theirs).
pub(crate) const TRACES_REQUESTS: &str = "cairn_traces_requests";
/// `cairn_traces_spans_rejected_total`: spans left out as invalid while decoding (answered
/// in `partial_success`).
pub(crate) const TRACES_SPANS_REJECTED: &str = "cairn_traces_spans_rejected";
/// `cairn_traces_attributes_truncated_total`: keys and string values cut to
/// `traces.max_attribute_bytes`.
pub(crate) const TRACES_ATTRIBUTES_TRUNCATED: &str = "cairn_traces_attributes_truncated";

/// Reason label of series refused for carrying native histograms (not stored yet).
pub(crate) const NATIVE_HISTOGRAMS_REASON: &str = "native_histograms_unsupported";

type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Handles on the server's metrics; cheap to clone (every metric is an `Arc` inside).
#[derive(Clone)]
pub(crate) struct ServerMetrics {
    pub(crate) requests: Family<Labels, Counter>,
    pub(crate) rejected: Family<Labels, Counter>,
    pub(crate) bytes: Family<Labels, Counter>,
    pub(crate) shed: Counter,
    pub(crate) inflight: Gauge,
    pub(crate) http_duration: HistogramFamily,
    pub(crate) trace_requests: Family<Labels, Counter>,
    pub(crate) spans_rejected: Counter,
    pub(crate) attributes_truncated: Counter,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 9))
}

impl ServerMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = ServerMetrics {
            requests: Family::default(),
            rejected: Family::default(),
            bytes: Family::default(),
            shed: Counter::default(),
            inflight: Gauge::default(),
            http_duration: Family::new_with_constructor(duration_histogram),
            trace_requests: Family::default(),
            spans_rejected: Counter::default(),
            attributes_truncated: Counter::default(),
        };
        registry.register(
            TRACES_REQUESTS,
            "OTLP trace requests by transport and HTTP status code",
            m.trace_requests.clone(),
        );
        registry.register(
            TRACES_SPANS_REJECTED,
            "Spans left out as invalid while decoding OTLP trace requests",
            m.spans_rejected.clone(),
        );
        registry.register(
            TRACES_ATTRIBUTES_TRUNCATED,
            "Span attribute keys and string values truncated to traces.max_attribute_bytes",
            m.attributes_truncated.clone(),
        );
        registry.register(
            INGEST_REQUESTS,
            "Remote write requests by protocol version and HTTP status code",
            m.requests.clone(),
        );
        registry.register(
            INGEST_REJECTED,
            "Samples of series refused while decoding remote write, by reason",
            m.rejected.clone(),
        );
        registry.register(
            INGEST_BYTES,
            "Remote write body bytes, compressed (encoding=snappy) and decoded (encoding=none)",
            m.bytes.clone(),
        );
        registry.register(
            INGEST_SHED,
            "Write requests answered 429 because every write slot was busy",
            m.shed.clone(),
        );
        registry.register(
            INGEST_INFLIGHT,
            "Write requests being handled now",
            m.inflight.clone(),
        );
        // Known reasons start at 0, so that rate() over them works from the first scrape.
        let reasons = cairn_wire::RejectReason::ALL
            .iter()
            .map(|r| r.as_str())
            .chain([NATIVE_HISTOGRAMS_REASON]);
        for reason in reasons {
            m.rejected
                .get_or_create(&vec![("reason", reason.to_string())])
                .inc_by(0);
        }
        registry.register(
            HTTP_DURATION,
            "HTTP request duration by handler and status code",
            m.http_duration.clone(),
        );
        m
    }

    /// Counts one OTLP trace request.
    pub(crate) fn trace_request(&self, transport: &'static str, code: u16) {
        self.trace_requests
            .get_or_create(&vec![
                ("transport", transport.to_string()),
                ("code", code.to_string()),
            ])
            .inc();
    }

    /// Counts what a trace decode left out or changed.
    pub(crate) fn trace_report(&self, r: &cairn_wire::TraceDecodeReport) {
        self.spans_rejected.inc_by(r.rejected_spans);
        self.attributes_truncated.inc_by(r.truncated_attributes);
    }
}
