//! The `storage.logs:` section: how the log store cuts, compresses, indexes and compacts.

use std::time::Duration;

use serde::Deserialize;

use super::V;
use super::raw::RawSize;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogStorage {
    block_range: Option<String>,
    out_of_order_window: Option<String>,
    head_max_size: Option<RawSize>,
    head_max_age: Option<String>,
    head_chunk_size: Option<RawSize>,
    compaction_ranges: Option<Vec<String>>,
    zstd_level: Option<i32>,
    filter_bits_per_key: Option<u32>,
}

/// `storage.logs`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogStorageConfig {
    /// Aligned time windows log blocks are cut and compacted into (2h).
    pub block_range: Duration,
    /// How far behind its stream's newest entry an entry is still accepted (1h, Loki's
    /// `max_chunk_age / 2`); older ones get Loki's "entry too far behind".
    pub out_of_order_window: Duration,
    /// Raw bytes of the log head at which it is cut into blocks (512MiB).
    pub head_max_size: u64,
    /// Longest an entry stays in the head before a cut (1h).
    pub head_max_age: Duration,
    /// Raw bytes of a stream's tail before it is compressed in memory (256KiB).
    pub head_chunk_size: u64,
    /// Windows the compactor merges log blocks into, ascending ([2h]).
    pub compaction_ranges: Vec<Duration>,
    /// zstd level of log blocks (3).
    pub zstd_level: i32,
    /// Bits per token of the line-filter index, at most; 0 writes none (8).
    pub filter_bits_per_key: u32,
}

impl Default for LogStorageConfig {
    fn default() -> Self {
        LogStorageConfig {
            block_range: Duration::from_secs(2 * 3600),
            out_of_order_window: Duration::from_secs(3600),
            head_max_size: 512 << 20,
            head_max_age: Duration::from_secs(3600),
            head_chunk_size: 256 << 10,
            compaction_ranges: vec![Duration::from_secs(2 * 3600)],
            zstd_level: 3,
            filter_bits_per_key: 8,
        }
    }
}

/// Validates `storage.logs`.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawLogStorage>) -> Result<LogStorageConfig> {
    let raw = raw.unwrap_or_default();
    let d = LogStorageConfig::default();
    let block_range = v.positive(
        "storage.logs.block_range",
        v.duration("storage.logs.block_range", raw.block_range.as_ref(), "2h")?,
        "block_range",
    )?;
    if block_range < Duration::from_secs(60) {
        return Err(v.err("storage.logs.block_range", "must be at least 1m"));
    }
    let mut compaction_ranges = Vec::new();
    match raw.compaction_ranges {
        None => compaction_ranges.push(block_range),
        Some(list) => {
            for (i, r) in list.iter().enumerate() {
                let key = format!("storage.logs.compaction_ranges[{i}]");
                let x = v.duration(&key, Some(r), "")?;
                if compaction_ranges.last().is_some_and(|p| *p >= x) || x.is_zero() {
                    return Err(v.err(
                        &key,
                        "compaction ranges must be non-zero and strictly ascending",
                    ));
                }
                compaction_ranges.push(x);
            }
        }
    }
    let zstd_level = raw.zstd_level.unwrap_or(d.zstd_level);
    if !(1..=22).contains(&zstd_level) {
        return Err(v.err("storage.logs.zstd_level", "must be between 1 and 22"));
    }
    let filter_bits_per_key = raw.filter_bits_per_key.unwrap_or(d.filter_bits_per_key);
    if filter_bits_per_key > 32 {
        return Err(v.err("storage.logs.filter_bits_per_key", "must be at most 32"));
    }
    let head_max_size = v.bytes(
        "storage.logs.head_max_size",
        raw.head_max_size.as_ref(),
        d.head_max_size,
    )?;
    if head_max_size < 1 << 20 {
        return Err(v.err("storage.logs.head_max_size", "must be at least 1MiB"));
    }
    let head_chunk_size = v.bytes(
        "storage.logs.head_chunk_size",
        raw.head_chunk_size.as_ref(),
        d.head_chunk_size,
    )?;
    if !(1024..=64 << 20).contains(&head_chunk_size) {
        return Err(v.err(
            "storage.logs.head_chunk_size",
            "must be between 1KiB and 64MiB",
        ));
    }
    Ok(LogStorageConfig {
        block_range,
        out_of_order_window: v.duration(
            "storage.logs.out_of_order_window",
            raw.out_of_order_window.as_ref(),
            "1h",
        )?,
        head_max_size,
        head_max_age: v.positive(
            "storage.logs.head_max_age",
            v.duration("storage.logs.head_max_age", raw.head_max_age.as_ref(), "1h")?,
            "head_max_age",
        )?,
        head_chunk_size,
        compaction_ranges,
        zstd_level,
        filter_bits_per_key,
    })
}
