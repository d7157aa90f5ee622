//! Self-metrics of the trace store. Counters are registered without the `_total` suffix the
//! exposition adds; the constants name the series as scraped.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::WalMetrics;

/// Traces in the trace head, all tenants.
pub const TRACES_HEAD_TRACES: &str = "cairn_traces_head_traces";
/// Spans in the trace head, all tenants.
pub const TRACES_HEAD_SPANS: &str = "cairn_traces_head_spans";
/// Approximate bytes the trace head's spans take.
pub const TRACES_HEAD_BYTES: &str = "cairn_traces_head_bytes";
/// Spans made durable.
pub const TRACES_SPANS_APPENDED_TOTAL: &str = "cairn_traces_spans_appended_total";
/// Spans accepted as repeats (same trace, span id and kind) and not stored again.
pub const TRACES_SPANS_DUPLICATE_TOTAL: &str = "cairn_traces_spans_duplicate_total";
/// Appends refused because the head was full while a cut caught up.
pub const TRACES_HEAD_FULL_REFUSALS_TOTAL: &str = "cairn_traces_head_full_refusals_total";
/// Cuts of the trace head into blocks.
pub const TRACES_HEAD_CUTS_TOTAL: &str = "cairn_traces_head_cuts_total";
/// Blocks written from the trace head.
pub const TRACES_BLOCKS_CUT_TOTAL: &str = "cairn_traces_blocks_cut_total";
/// Failed block writes from the trace head.
pub const TRACES_BLOCK_UPLOAD_FAILURES_TOTAL: &str = "cairn_traces_block_upload_failures_total";
/// Bytes of trace blocks uploaded (cuts and compactions).
pub const TRACES_BYTES_UPLOADED_TOTAL: &str = "cairn_traces_bytes_uploaded_total";
/// Trace compactions that merged blocks.
pub const TRACES_COMPACTIONS_TOTAL: &str = "cairn_traces_compactions_total";
/// Failed trace compaction runs.
pub const TRACES_COMPACTION_FAILURES_TOTAL: &str = "cairn_traces_compaction_failures_total";
/// Trace blocks deleted by retention.
pub const TRACES_RETENTION_BLOCKS_DELETED_TOTAL: &str =
    "cairn_traces_retention_blocks_deleted_total";
/// Row groups of trace blocks read by lookups and scans.
pub const TRACES_ROW_GROUPS_READ_TOTAL: &str = "cairn_traces_row_groups_read_total";
/// Latency of one trace WAL group commit.
pub const TRACES_WAL_FSYNC_DURATION_SECONDS: &str = "cairn_traces_wal_fsync_duration_seconds";
/// Bytes written to the trace WAL.
pub const TRACES_WAL_BYTES_WRITTEN_TOTAL: &str = "cairn_traces_wal_bytes_written_total";
/// Trace WAL segments on disk.
pub const TRACES_WAL_SEGMENTS: &str = "cairn_traces_wal_segments";

fn counter_name(full: &str) -> &str {
    full.strip_suffix("_total").unwrap_or(full)
}

/// The trace store's metrics; clones share the values.
#[derive(Clone, Debug)]
pub(crate) struct TraceMetrics {
    pub(crate) head_traces: Gauge,
    pub(crate) head_spans: Gauge,
    pub(crate) head_bytes: Gauge,
    pub(crate) appended: Counter,
    pub(crate) duplicates: Counter,
    pub(crate) head_full: Counter,
    pub(crate) cuts: Counter,
    pub(crate) blocks_cut: Counter,
    pub(crate) upload_failures: Counter,
    pub(crate) uploaded_bytes: Counter,
    pub(crate) compactions: Counter,
    pub(crate) compaction_failures: Counter,
    pub(crate) retention_deleted: Counter,
    pub(crate) row_groups_read: Counter,
    pub(crate) wal: WalMetrics,
}

impl TraceMetrics {
    /// Fresh metrics, registered in `registry`.
    pub(crate) fn new(registry: &mut Registry) -> Self {
        let m = TraceMetrics {
            head_traces: Gauge::default(),
            head_spans: Gauge::default(),
            head_bytes: Gauge::default(),
            appended: Counter::default(),
            duplicates: Counter::default(),
            head_full: Counter::default(),
            cuts: Counter::default(),
            blocks_cut: Counter::default(),
            upload_failures: Counter::default(),
            uploaded_bytes: Counter::default(),
            compactions: Counter::default(),
            compaction_failures: Counter::default(),
            retention_deleted: Counter::default(),
            row_groups_read: Counter::default(),
            wal: WalMetrics::new(),
        };
        let gauges: [(&str, &str, &Gauge); 4] = [
            (
                TRACES_HEAD_TRACES,
                "Traces in the trace head",
                &m.head_traces,
            ),
            (TRACES_HEAD_SPANS, "Spans in the trace head", &m.head_spans),
            (
                TRACES_HEAD_BYTES,
                "Approximate bytes of the spans in the trace head",
                &m.head_bytes,
            ),
            (
                TRACES_WAL_SEGMENTS,
                "Trace WAL segments on disk",
                &m.wal.segments,
            ),
        ];
        for (name, help, g) in gauges {
            registry.register(name, help, g.clone());
        }
        let counters: [(&str, &str, &Counter); 12] = [
            (
                TRACES_SPANS_APPENDED_TOTAL,
                "Spans made durable",
                &m.appended,
            ),
            (
                TRACES_SPANS_DUPLICATE_TOTAL,
                "Spans accepted as repeats and not stored again",
                &m.duplicates,
            ),
            (
                TRACES_HEAD_FULL_REFUSALS_TOTAL,
                "Appends refused while the trace head was over twice its size bound",
                &m.head_full,
            ),
            (TRACES_HEAD_CUTS_TOTAL, "Cuts of the trace head", &m.cuts),
            (
                TRACES_BLOCKS_CUT_TOTAL,
                "Trace blocks written from the head",
                &m.blocks_cut,
            ),
            (
                TRACES_BLOCK_UPLOAD_FAILURES_TOTAL,
                "Failed trace block writes from the head",
                &m.upload_failures,
            ),
            (
                TRACES_BYTES_UPLOADED_TOTAL,
                "Bytes of trace blocks uploaded",
                &m.uploaded_bytes,
            ),
            (
                TRACES_COMPACTIONS_TOTAL,
                "Trace compactions that merged blocks",
                &m.compactions,
            ),
            (
                TRACES_COMPACTION_FAILURES_TOTAL,
                "Failed trace compaction runs",
                &m.compaction_failures,
            ),
            (
                TRACES_RETENTION_BLOCKS_DELETED_TOTAL,
                "Trace blocks deleted by retention",
                &m.retention_deleted,
            ),
            (
                TRACES_ROW_GROUPS_READ_TOTAL,
                "Row groups of trace blocks read by lookups and scans",
                &m.row_groups_read,
            ),
            (
                TRACES_WAL_BYTES_WRITTEN_TOTAL,
                "Bytes written to the trace WAL",
                &m.wal.bytes,
            ),
        ];
        for (name, help, c) in counters {
            registry.register(counter_name(name), help, c.clone());
        }
        registry.register(
            TRACES_WAL_FSYNC_DURATION_SECONDS,
            "Duration of one trace WAL group commit (write and fdatasync)",
            m.wal.fsync.clone(),
        );
        m
    }
}
