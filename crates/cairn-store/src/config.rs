//! Typed configuration of the storage engine (the server maps its YAML into it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use cairn_model::TenantId;

use crate::error::{Error, Result};
use crate::objstore::ObjectStoreConfig;

const HOUR_MS: i64 = 3_600_000;

/// Storage engine configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// Local directory; the WAL lives in `data_dir/wal`.
    pub data_dir: PathBuf,
    /// Where blocks go.
    pub object_store: ObjectStoreConfig,
    /// Time range of the blocks cut from the head (2h).
    pub block_range_ms: i64,
    /// How far behind a series' newest sample a sample may still be accepted (0).
    pub out_of_order_window_ms: i64,
    /// How long blocks are kept (30d).
    pub retention_ms: i64,
    /// Per-tenant retention.
    pub retention_overrides: HashMap<TenantId, i64>,
    /// Compaction levels (2h, 12h, 24h).
    pub compaction_ranges_ms: Vec<i64>,
    /// Pause between compaction and retention runs (1m).
    pub compaction_interval: Duration,
    /// Size at which a WAL segment is closed (128 MiB).
    pub wal_segment_bytes: u64,
    /// Memory bound of the block cache (256 MiB).
    pub cache_bytes: usize,
    /// Capacity of each tenant's exemplar buffer (100000; 0 keeps no exemplars).
    pub max_exemplars: usize,
}

impl StoreConfig {
    /// The defaults, with data under `data_dir` and blocks in `data_dir/blocks` on the local
    /// file system.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        StoreConfig {
            object_store: ObjectStoreConfig::Local {
                path: data_dir.join("blocks"),
            },
            data_dir,
            block_range_ms: 2 * HOUR_MS,
            out_of_order_window_ms: 0,
            retention_ms: 30 * 24 * HOUR_MS,
            retention_overrides: HashMap::new(),
            compaction_ranges_ms: vec![2 * HOUR_MS, 12 * HOUR_MS, 24 * HOUR_MS],
            compaction_interval: Duration::from_secs(60),
            wal_segment_bytes: 128 << 20,
            cache_bytes: 256 << 20,
            max_exemplars: crate::exemplars::DEFAULT_MAX_EXEMPLARS,
        }
    }

    /// The retention of `tenant`.
    pub fn retention_of(&self, tenant: &TenantId) -> i64 {
        self.retention_overrides
            .get(tenant)
            .copied()
            .unwrap_or(self.retention_ms)
    }

    /// Checks the values that would make the engine misbehave.
    pub fn validate(&self) -> Result<()> {
        if self.block_range_ms <= 0 {
            return Err(Error::Config(format!(
                "block_range_ms must be positive, got {}",
                self.block_range_ms
            )));
        }
        if self.out_of_order_window_ms < 0 {
            return Err(Error::Config(format!(
                "out_of_order_window_ms must not be negative, got {}",
                self.out_of_order_window_ms
            )));
        }
        if self.retention_ms <= 0 {
            return Err(Error::Config(format!(
                "retention_ms must be positive, got {}",
                self.retention_ms
            )));
        }
        if let Some((t, r)) = self.retention_overrides.iter().find(|(_, r)| **r <= 0) {
            return Err(Error::Config(format!(
                "retention of tenant {t} must be positive, got {r}"
            )));
        }
        if self.wal_segment_bytes < 4096 {
            return Err(Error::Config(format!(
                "wal_segment_bytes must be at least 4096, got {}",
                self.wal_segment_bytes
            )));
        }
        Ok(())
    }
}
