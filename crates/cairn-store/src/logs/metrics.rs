//! Self-metrics of the log store. Counters are registered without the `_total` suffix the
//! exposition adds; the constants name the series as scraped.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::WalMetrics;

/// Streams in the log head, all tenants.
pub const LOGS_HEAD_STREAMS: &str = "cairn_logs_head_streams";
/// Raw bytes (lines and structured metadata) in the log head.
pub const LOGS_HEAD_BYTES: &str = "cairn_logs_head_bytes";
/// Memory the log head's entries take (compressed chunks and raw tails).
pub const LOGS_HEAD_MEMORY_BYTES: &str = "cairn_logs_head_memory_bytes";
/// Entries made durable.
pub const LOGS_ENTRIES_APPENDED_TOTAL: &str = "cairn_logs_entries_appended_total";
/// Raw bytes of those entries.
pub const LOGS_BYTES_APPENDED_TOTAL: &str = "cairn_logs_bytes_appended_total";
/// Entries refused by the store, by `reason` (`too_far_behind`, `stream_limit`).
pub const LOGS_ENTRIES_REFUSED_TOTAL: &str = "cairn_logs_entries_refused_total";
/// Entries accepted as repeats of stored ones and not stored again.
pub const LOGS_ENTRIES_DUPLICATE_TOTAL: &str = "cairn_logs_entries_duplicate_total";
/// Cuts of the log head into blocks.
pub const LOGS_HEAD_CUTS_TOTAL: &str = "cairn_logs_head_cuts_total";
/// Blocks written from the log head.
pub const LOGS_BLOCKS_CUT_TOTAL: &str = "cairn_logs_blocks_cut_total";
/// Failed block writes from the log head.
pub const LOGS_BLOCK_UPLOAD_FAILURES_TOTAL: &str = "cairn_logs_block_upload_failures_total";
/// Bytes of log blocks uploaded (cuts and compactions).
pub const LOGS_BYTES_UPLOADED_TOTAL: &str = "cairn_logs_bytes_uploaded_total";
/// Log compactions that merged blocks.
pub const LOGS_COMPACTIONS_TOTAL: &str = "cairn_logs_compactions_total";
/// Failed log compaction runs.
pub const LOGS_COMPACTION_FAILURES_TOTAL: &str = "cairn_logs_compaction_failures_total";
/// Log blocks deleted by retention.
pub const LOGS_RETENTION_BLOCKS_DELETED_TOTAL: &str = "cairn_logs_retention_blocks_deleted_total";
/// Latency of one log WAL group commit.
pub const LOGS_WAL_FSYNC_DURATION_SECONDS: &str = "cairn_logs_wal_fsync_duration_seconds";
/// Bytes written to the log WAL.
pub const LOGS_WAL_BYTES_WRITTEN_TOTAL: &str = "cairn_logs_wal_bytes_written_total";
/// Log WAL segments on disk.
pub const LOGS_WAL_SEGMENTS: &str = "cairn_logs_wal_segments";

fn counter_name(full: &str) -> &str {
    full.strip_suffix("_total").unwrap_or(full)
}

/// The log store's metrics; clones share the values.
#[derive(Clone, Debug)]
pub(crate) struct LogMetrics {
    pub(crate) head_streams: Gauge,
    pub(crate) head_bytes: Gauge,
    pub(crate) head_memory: Gauge,
    pub(crate) appended: Counter,
    pub(crate) appended_bytes: Counter,
    pub(crate) refused: Family<[(&'static str, &'static str); 1], Counter>,
    pub(crate) duplicates: Counter,
    pub(crate) cuts: Counter,
    pub(crate) blocks_cut: Counter,
    pub(crate) upload_failures: Counter,
    pub(crate) uploaded_bytes: Counter,
    pub(crate) compactions: Counter,
    pub(crate) compaction_failures: Counter,
    pub(crate) retention_deleted: Counter,
    pub(crate) wal: WalMetrics,
}

impl LogMetrics {
    /// Fresh metrics, registered in `registry`.
    pub(crate) fn new(registry: &mut Registry) -> Self {
        let m = LogMetrics {
            head_streams: Gauge::default(),
            head_bytes: Gauge::default(),
            head_memory: Gauge::default(),
            appended: Counter::default(),
            appended_bytes: Counter::default(),
            refused: Family::default(),
            duplicates: Counter::default(),
            cuts: Counter::default(),
            blocks_cut: Counter::default(),
            upload_failures: Counter::default(),
            uploaded_bytes: Counter::default(),
            compactions: Counter::default(),
            compaction_failures: Counter::default(),
            retention_deleted: Counter::default(),
            wal: WalMetrics::new(),
        };
        let gauges: [(&str, &str, &Gauge); 4] = [
            (
                LOGS_HEAD_STREAMS,
                "Streams in the log head",
                &m.head_streams,
            ),
            (LOGS_HEAD_BYTES, "Raw bytes in the log head", &m.head_bytes),
            (
                LOGS_HEAD_MEMORY_BYTES,
                "Memory the log head's entries take",
                &m.head_memory,
            ),
            (
                LOGS_WAL_SEGMENTS,
                "Log WAL segments on disk",
                &m.wal.segments,
            ),
        ];
        for (name, help, g) in gauges {
            registry.register(name, help, g.clone());
        }
        let counters: [(&str, &str, &Counter); 11] = [
            (
                LOGS_ENTRIES_APPENDED_TOTAL,
                "Log entries made durable",
                &m.appended,
            ),
            (
                LOGS_BYTES_APPENDED_TOTAL,
                "Raw bytes of log entries made durable",
                &m.appended_bytes,
            ),
            (
                LOGS_ENTRIES_DUPLICATE_TOTAL,
                "Log entries accepted as repeats and not stored again",
                &m.duplicates,
            ),
            (LOGS_HEAD_CUTS_TOTAL, "Cuts of the log head", &m.cuts),
            (
                LOGS_BLOCKS_CUT_TOTAL,
                "Log blocks written from the head",
                &m.blocks_cut,
            ),
            (
                LOGS_BLOCK_UPLOAD_FAILURES_TOTAL,
                "Failed log block writes from the head",
                &m.upload_failures,
            ),
            (
                LOGS_BYTES_UPLOADED_TOTAL,
                "Bytes of log blocks uploaded",
                &m.uploaded_bytes,
            ),
            (
                LOGS_COMPACTIONS_TOTAL,
                "Log compactions that merged blocks",
                &m.compactions,
            ),
            (
                LOGS_COMPACTION_FAILURES_TOTAL,
                "Failed log compaction runs",
                &m.compaction_failures,
            ),
            (
                LOGS_RETENTION_BLOCKS_DELETED_TOTAL,
                "Log blocks deleted by retention",
                &m.retention_deleted,
            ),
            (
                LOGS_WAL_BYTES_WRITTEN_TOTAL,
                "Bytes written to the log WAL",
                &m.wal.bytes,
            ),
        ];
        for (name, help, c) in counters {
            registry.register(counter_name(name), help, c.clone());
        }
        registry.register(
            counter_name(LOGS_ENTRIES_REFUSED_TOTAL),
            "Log entries refused by the store, by reason",
            m.refused.clone(),
        );
        registry.register(
            LOGS_WAL_FSYNC_DURATION_SECONDS,
            "Duration of one log WAL group commit (write and fdatasync)",
            m.wal.fsync.clone(),
        );
        m
    }
}
