//! Self-metrics of the storage engine. Names are registered without the `_total` suffix that
//! the exposition adds to counters; the constants name the series as scraped.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Samples accepted by the append path.
pub const INGEST_SAMPLES_TOTAL: &str = "cairn_ingest_samples_total";
/// Samples refused, by `reason`.
pub const INGEST_SAMPLES_REJECTED_TOTAL: &str = "cairn_ingest_samples_rejected_total";
/// Latency of one WAL write + fdatasync (one group commit).
pub const WAL_FSYNC_DURATION_SECONDS: &str = "cairn_wal_fsync_duration_seconds";
/// Bytes written to the WAL.
pub const WAL_BYTES_WRITTEN_TOTAL: &str = "cairn_wal_bytes_written_total";
/// WAL segments on disk.
pub const WAL_SEGMENTS: &str = "cairn_wal_segments";
/// Series in the head, all tenants.
pub const HEAD_SERIES: &str = "cairn_head_series";
/// Samples in the head, all tenants.
pub const HEAD_SAMPLES: &str = "cairn_head_samples";
/// Head cuts into blocks.
pub const HEAD_CUTS_TOTAL: &str = "cairn_head_cuts_total";
/// Blocks written from the head.
pub const BLOCK_UPLOADS_TOTAL: &str = "cairn_block_uploads_total";
/// Failed block writes from the head.
pub const BLOCK_UPLOAD_FAILURES_TOTAL: &str = "cairn_block_upload_failures_total";
/// Compaction runs that merged blocks.
pub const COMPACTIONS_TOTAL: &str = "cairn_compactions_total";
/// Failed compaction runs.
pub const COMPACTION_FAILURES_TOTAL: &str = "cairn_compaction_failures_total";
/// Blocks deleted by retention.
pub const RETENTION_BLOCKS_DELETED_TOTAL: &str = "cairn_retention_blocks_deleted_total";

fn counter_name(full: &str) -> &str {
    full.strip_suffix("_total").unwrap_or(full)
}

/// The metrics of one WAL instance; clones share the values.
#[derive(Clone, Debug)]
pub(crate) struct WalMetrics {
    /// Latency of one group commit.
    pub(crate) fsync: Histogram,
    /// Bytes written.
    pub(crate) bytes: Counter,
    /// Segments on disk.
    pub(crate) segments: Gauge,
}

impl WalMetrics {
    /// Fresh, unregistered metrics.
    pub(crate) fn new() -> Self {
        WalMetrics {
            fsync: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            bytes: Counter::default(),
            segments: Gauge::default(),
        }
    }
}

/// The storage engine's metrics; clones share the values.
#[derive(Clone, Debug)]
pub(crate) struct StoreMetrics {
    pub(crate) samples: Counter,
    pub(crate) rejected: Family<[(&'static str, &'static str); 1], Counter>,
    pub(crate) wal_fsync: Histogram,
    pub(crate) wal_bytes: Counter,
    pub(crate) wal_segments: Gauge,
    pub(crate) head_series: Gauge,
    pub(crate) head_samples: Gauge,
    pub(crate) head_cuts: Counter,
    pub(crate) block_uploads: Counter,
    pub(crate) block_upload_failures: Counter,
    pub(crate) compactions: Counter,
    pub(crate) compaction_failures: Counter,
    pub(crate) retention_deleted: Counter,
}

impl StoreMetrics {
    /// Fresh metrics, registered in `registry`.
    pub(crate) fn new(registry: &mut Registry) -> Self {
        let m = StoreMetrics {
            samples: Counter::default(),
            rejected: Family::default(),
            wal_fsync: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            wal_bytes: Counter::default(),
            wal_segments: Gauge::default(),
            head_series: Gauge::default(),
            head_samples: Gauge::default(),
            head_cuts: Counter::default(),
            block_uploads: Counter::default(),
            block_upload_failures: Counter::default(),
            compactions: Counter::default(),
            compaction_failures: Counter::default(),
            retention_deleted: Counter::default(),
        };
        let counters: [(&str, &str, &Counter); 8] = [
            (INGEST_SAMPLES_TOTAL, "Samples accepted", &m.samples),
            (
                WAL_BYTES_WRITTEN_TOTAL,
                "Bytes written to the WAL",
                &m.wal_bytes,
            ),
            (HEAD_CUTS_TOTAL, "Head cuts into blocks", &m.head_cuts),
            (
                BLOCK_UPLOADS_TOTAL,
                "Blocks written from the head",
                &m.block_uploads,
            ),
            (
                BLOCK_UPLOAD_FAILURES_TOTAL,
                "Failed block writes from the head",
                &m.block_upload_failures,
            ),
            (
                COMPACTIONS_TOTAL,
                "Compactions that merged blocks",
                &m.compactions,
            ),
            (
                COMPACTION_FAILURES_TOTAL,
                "Failed compaction runs",
                &m.compaction_failures,
            ),
            (
                RETENTION_BLOCKS_DELETED_TOTAL,
                "Blocks deleted by retention",
                &m.retention_deleted,
            ),
        ];
        for (name, help, c) in counters {
            registry.register(counter_name(name), help, c.clone());
        }
        registry.register(
            counter_name(INGEST_SAMPLES_REJECTED_TOTAL),
            "Samples refused, by reason",
            m.rejected.clone(),
        );
        registry.register(
            WAL_FSYNC_DURATION_SECONDS,
            "Duration of one WAL group commit (write and fdatasync)",
            m.wal_fsync.clone(),
        );
        registry.register(WAL_SEGMENTS, "WAL segments on disk", m.wal_segments.clone());
        registry.register(HEAD_SERIES, "Series in the head", m.head_series.clone());
        registry.register(HEAD_SAMPLES, "Samples in the head", m.head_samples.clone());
        m
    }

    /// The WAL's share of these metrics.
    pub(crate) fn wal(&self) -> WalMetrics {
        WalMetrics {
            fsync: self.wal_fsync.clone(),
            bytes: self.wal_bytes.clone(),
            segments: self.wal_segments.clone(),
        }
    }

    /// Metrics registered nowhere (tests of internals).
    #[cfg(test)]
    pub(crate) fn unregistered() -> Self {
        StoreMetrics::new(&mut Registry::default())
    }
}
