//! Typed configuration of the trace side of the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use cairn_model::TenantId;

use crate::config::StoreConfig;
use crate::error::{Error, Result};

const MINUTE_NS: i64 = 60_000_000_000;
const HOUR_NS: i64 = 60 * MINUTE_NS;

/// Trace store configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStoreConfig {
    /// Local directory; the trace WAL lives in `data_dir/wal-traces`.
    pub data_dir: PathBuf,
    /// Approximate bytes of spans in the head, all tenants, at which it is cut into blocks
    /// (256 MiB).
    pub head_max_bytes: u64,
    /// Longest time a span waits in the head before a cut, by the wall clock (15m: Tempo's
    /// `max_block_duration` is 30m, and a trace whose spans keep coming is joined again by
    /// compaction).
    pub head_max_age: Duration,
    /// Spans per row group of a block, at least; a row group always holds whole traces
    /// (20000).
    pub row_group_spans: usize,
    /// How long blocks are kept, ns (from the metrics' retention).
    pub retention_ns: i64,
    /// Per-tenant retention, ns.
    pub retention_overrides: HashMap<TenantId, i64>,
    /// Compaction windows, ns ([1h]: blocks whose spans all fall in one window are merged
    /// into one, joining traces split across them).
    pub compaction_ranges_ns: Vec<i64>,
    /// Pause between compaction and retention runs (1m).
    pub compaction_interval: Duration,
    /// Size at which a WAL segment is closed (128 MiB).
    pub wal_segment_bytes: u64,
    /// zstd level of the Parquet pages of blocks (6: 2.7 bytes per span less than 3 on the
    /// benchmark corpus, for a cost within the noise of a cut).
    pub zstd_level: i32,
    /// Bits per trace id of a block's id filter (10, about 1% false positives).
    pub filter_bits_per_key: u32,
}

impl TraceStoreConfig {
    /// The defaults, sharing `store`'s data directory, retention, WAL segment size and
    /// compaction pause.
    pub fn from_store(store: &StoreConfig) -> Self {
        TraceStoreConfig {
            data_dir: store.data_dir.clone(),
            head_max_bytes: 256 << 20,
            head_max_age: Duration::from_secs(15 * 60),
            row_group_spans: 20_000,
            retention_ns: store.retention_ms.saturating_mul(1_000_000),
            retention_overrides: store
                .retention_overrides
                .iter()
                .map(|(t, r)| (t.clone(), r.saturating_mul(1_000_000)))
                .collect(),
            compaction_ranges_ns: vec![HOUR_NS],
            compaction_interval: store.compaction_interval,
            wal_segment_bytes: store.wal_segment_bytes,
            zstd_level: 6,
            filter_bits_per_key: 10,
        }
    }

    /// The retention of `tenant`, ns.
    pub fn retention_of(&self, tenant: &TenantId) -> i64 {
        self.retention_overrides
            .get(tenant)
            .copied()
            .unwrap_or(self.retention_ns)
    }

    /// Checks the values that would make the store misbehave.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: String| Err(Error::Config(format!("traces: {what}, got {v}")));
        if self.head_max_bytes < 1 << 20 {
            return bad(
                "head_max_size must be at least 1MiB",
                self.head_max_bytes.to_string(),
            );
        }
        if self.row_group_spans == 0 {
            return bad("row_group_spans must be positive", "0".into());
        }
        if self.retention_ns <= 0 {
            return bad("retention must be positive", self.retention_ns.to_string());
        }
        if self.compaction_ranges_ns.iter().any(|&r| r < MINUTE_NS) {
            return bad(
                "compaction ranges must be at least 1m",
                format!("{:?}", self.compaction_ranges_ns),
            );
        }
        if !(1..=22).contains(&self.zstd_level) {
            return bad(
                "zstd_level must be between 1 and 22",
                self.zstd_level.to_string(),
            );
        }
        if self.filter_bits_per_key > 32 {
            return bad(
                "filter_bits_per_key must be at most 32",
                self.filter_bits_per_key.to_string(),
            );
        }
        if self.wal_segment_bytes < 4096 {
            return bad(
                "wal_segment_bytes must be at least 4096",
                self.wal_segment_bytes.to_string(),
            );
        }
        Ok(())
    }
}
