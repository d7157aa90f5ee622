//! The `traces:` section: whether traces are taken at all, how the trace store cuts,
//! compresses and compacts, and the limits of trace ingestion (the decoder's bounds).

use std::time::Duration;

use serde::Deserialize;

use super::V;
use super::raw::RawSize;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraces {
    enabled: Option<bool>,
    head_max_size: Option<RawSize>,
    head_max_age: Option<String>,
    row_group_spans: Option<usize>,
    compaction_ranges: Option<Vec<String>>,
    zstd_level: Option<i32>,
    filter_bits_per_key: Option<u32>,
    max_attribute_bytes: Option<usize>,
    max_spans_per_request: Option<usize>,
    metrics_generator: Option<cairn_spanmetrics::GeneratorConfig>,
}

/// `traces:`.
#[derive(Clone, Debug, PartialEq)]
pub struct TracesConfig {
    /// Whether the trace store opens and the trace endpoints answer (true).
    pub enabled: bool,
    /// Approximate bytes of spans in the trace head at which it is cut into a block
    /// (256MiB).
    pub head_max_size: u64,
    /// Longest a span stays in the head before a cut (15m).
    pub head_max_age: Duration,
    /// Spans per row group of a block, at least; row groups hold whole traces (20000).
    pub row_group_spans: usize,
    /// Windows the compactor merges trace blocks into, ascending ([1h]).
    pub compaction_ranges: Vec<Duration>,
    /// zstd level of trace blocks (6).
    pub zstd_level: i32,
    /// Bits per trace id of a block's id filter (10).
    pub filter_bits_per_key: u32,
    /// Attribute keys and string values longer than this are truncated, as Tempo's
    /// distributor does (2048; 0: no limit).
    pub max_attribute_bytes: usize,
    /// Most spans one request may carry (1000000; 0: no limit).
    pub max_spans_per_request: usize,
    /// RED metrics and the service graph from spans, written into the metrics store
    /// (Tempo's metrics-generator keys, `config/metrics-generator.yaml`; no processor by
    /// default).
    pub metrics_generator: cairn_spanmetrics::GeneratorConfig,
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            enabled: true,
            head_max_size: 256 << 20,
            head_max_age: Duration::from_secs(15 * 60),
            row_group_spans: 20_000,
            compaction_ranges: vec![Duration::from_secs(3600)],
            zstd_level: 6,
            filter_bits_per_key: 10,
            max_attribute_bytes: 2048,
            max_spans_per_request: 1_000_000,
            metrics_generator: cairn_spanmetrics::GeneratorConfig::default(),
        }
    }
}

/// Validates `traces`.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawTraces>) -> Result<TracesConfig> {
    let raw = raw.unwrap_or_default();
    let d = TracesConfig::default();
    let mut compaction_ranges = Vec::new();
    match raw.compaction_ranges {
        None => compaction_ranges = d.compaction_ranges.clone(),
        Some(list) => {
            for (i, r) in list.iter().enumerate() {
                let key = format!("traces.compaction_ranges[{i}]");
                let x = v.duration(&key, Some(r), "")?;
                if compaction_ranges.last().is_some_and(|p| *p >= x) || x < Duration::from_secs(60)
                {
                    return Err(v.err(
                        &key,
                        "compaction ranges must be at least 1m and strictly ascending",
                    ));
                }
                compaction_ranges.push(x);
            }
        }
    }
    let zstd_level = raw.zstd_level.unwrap_or(d.zstd_level);
    if !(1..=22).contains(&zstd_level) {
        return Err(v.err("traces.zstd_level", "must be between 1 and 22"));
    }
    let filter_bits_per_key = raw.filter_bits_per_key.unwrap_or(d.filter_bits_per_key);
    if filter_bits_per_key > 32 {
        return Err(v.err("traces.filter_bits_per_key", "must be at most 32"));
    }
    let head_max_size = v.bytes(
        "traces.head_max_size",
        raw.head_max_size.as_ref(),
        d.head_max_size,
    )?;
    if head_max_size < 1 << 20 {
        return Err(v.err("traces.head_max_size", "must be at least 1MiB"));
    }
    let row_group_spans = raw.row_group_spans.unwrap_or(d.row_group_spans);
    if row_group_spans == 0 {
        return Err(v.err("traces.row_group_spans", "must be positive"));
    }
    let metrics_generator = raw.metrics_generator.unwrap_or_default();
    metrics_generator
        .validate()
        .map_err(|e| v.err("traces.metrics_generator", e.to_string()))?;
    Ok(TracesConfig {
        enabled: raw.enabled.unwrap_or(d.enabled),
        head_max_size,
        head_max_age: v.positive(
            "traces.head_max_age",
            v.duration("traces.head_max_age", raw.head_max_age.as_ref(), "15m")?,
            "head_max_age",
        )?,
        row_group_spans,
        compaction_ranges,
        zstd_level,
        filter_bits_per_key,
        max_attribute_bytes: raw.max_attribute_bytes.unwrap_or(d.max_attribute_bytes),
        max_spans_per_request: raw.max_spans_per_request.unwrap_or(d.max_spans_per_request),
        metrics_generator,
    })
}
