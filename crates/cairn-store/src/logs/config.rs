//! Typed configuration of the log side of the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use cairn_model::TenantId;

use crate::config::StoreConfig;
use crate::error::{Error, Result};

const MINUTE_NS: i64 = 60_000_000_000;
const HOUR_NS: i64 = 60 * MINUTE_NS;

/// Log store configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LogStoreConfig {
    /// Local directory; the log WAL lives in `data_dir/wal-logs`.
    pub data_dir: PathBuf,
    /// Aligned windows that blocks are cut and compacted into, ns (2h).
    pub block_range_ns: i64,
    /// How far behind its stream's newest entry an entry is still accepted, ns (1h: Loki's
    /// `max_chunk_age / 2`).
    pub out_of_order_window_ns: i64,
    /// Raw bytes (lines and structured metadata) of the head, all tenants, at which it is
    /// cut into blocks (512 MiB).
    pub head_max_bytes: u64,
    /// Longest time an entry waits in the head before a cut, by the wall clock (1h).
    pub head_max_age: Duration,
    /// Raw bytes of a stream's uncompressed tail before it is compressed (256 KiB).
    pub head_chunk_bytes: usize,
    /// How long blocks are kept, ns (from the metrics' retention).
    pub retention_ns: i64,
    /// Per-tenant retention, ns.
    pub retention_overrides: HashMap<TenantId, i64>,
    /// Compaction windows, ns ([2h]: blocks of one window merged into one).
    pub compaction_ranges_ns: Vec<i64>,
    /// Pause between compaction and retention runs (1m).
    pub compaction_interval: Duration,
    /// Size at which a WAL segment is closed (128 MiB).
    pub wal_segment_bytes: u64,
    /// zstd level of the Parquet pages of blocks (3).
    pub zstd_level: i32,
    /// Bits per distinct key of the line-filter index, at most (the filter is folded to a
    /// power of two of blocks, so half to all of it is used); 0 writes none (8).
    pub filter_bits_per_key: u32,
}

impl LogStoreConfig {
    /// The defaults, sharing `store`'s data directory, retention, WAL segment size and
    /// compaction pause.
    pub fn from_store(store: &StoreConfig) -> Self {
        LogStoreConfig {
            data_dir: store.data_dir.clone(),
            block_range_ns: 2 * HOUR_NS,
            out_of_order_window_ns: HOUR_NS,
            head_max_bytes: 512 << 20,
            head_max_age: Duration::from_secs(3600),
            head_chunk_bytes: 256 << 10,
            retention_ns: store.retention_ms.saturating_mul(1_000_000),
            retention_overrides: store
                .retention_overrides
                .iter()
                .map(|(t, r)| (t.clone(), r.saturating_mul(1_000_000)))
                .collect(),
            compaction_ranges_ns: vec![2 * HOUR_NS],
            compaction_interval: store.compaction_interval,
            wal_segment_bytes: store.wal_segment_bytes,
            zstd_level: 3,
            filter_bits_per_key: 8,
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
        let bad = |what: &str, v: String| Err(Error::Config(format!("logs: {what}, got {v}")));
        if self.block_range_ns < MINUTE_NS {
            return bad(
                "block_range must be at least 1m",
                self.block_range_ns.to_string(),
            );
        }
        if self.out_of_order_window_ns < 0 {
            return bad(
                "out_of_order_window must not be negative",
                self.out_of_order_window_ns.to_string(),
            );
        }
        if self.head_max_bytes < 1 << 20 {
            return bad(
                "head_max_size must be at least 1MiB",
                self.head_max_bytes.to_string(),
            );
        }
        if self.head_chunk_bytes < 1024 {
            return bad(
                "head_chunk_size must be at least 1KiB",
                self.head_chunk_bytes.to_string(),
            );
        }
        if self.retention_ns <= 0 {
            return bad("retention must be positive", self.retention_ns.to_string());
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
