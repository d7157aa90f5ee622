//! The live log blocks of one tenant (the generic block set of `signal_blocks`, over log
//! block readers) and their compaction: the blocks of one window merged into one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cairn_model::TenantId;
use object_store::ObjectStore;
use ulid::Ulid;

use super::block::{
    LogBlockMeta, LogBlockReader, LogBlockWriter, Rows, delete_block, put_block, read_filter_all,
    slice_width,
};
use crate::cache::BlockCache;
use crate::catalog::Signal;
use crate::compact::plan_compaction_spans;
use crate::error::Result;
use crate::signal_blocks::{SignalBlock, SignalBlocks, SignalMeta};

/// What one compaction step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogCompaction {
    /// The blocks merged (empty when nothing was to do).
    pub sources: Vec<Ulid>,
    /// The block written in their place.
    pub output: Option<LogBlockMeta>,
    /// Repeated entries dropped on the way.
    pub duplicates: u64,
}

/// The live log blocks of one tenant.
pub(crate) type LogBlocks = SignalBlocks<LogBlockReader>;

impl SignalMeta for LogBlockMeta {
    fn ulid(&self) -> Ulid {
        self.ulid
    }

    fn min_time(&self) -> i64 {
        self.min_time
    }

    fn max_time(&self) -> i64 {
        self.max_time
    }
}

impl SignalBlock for LogBlockReader {
    type Meta = LogBlockMeta;
    const SIGNAL: Signal = Signal::Logs;

    fn open(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: LogBlockMeta,
    ) -> Self {
        LogBlockReader::new(store, cache, tenant, meta)
    }

    fn meta(&self) -> &LogBlockMeta {
        &self.meta
    }

    async fn delete(store: &Arc<dyn ObjectStore>, tenant: &TenantId, ulid: Ulid) -> Result<()> {
        delete_block(store, tenant, ulid).await
    }
}

impl LogBlocks {
    /// One compaction step: the blocks of the first window (of `ranges_ns`) holding several
    /// are merged into one, replacing them in one catalog change.
    pub(crate) async fn compact_once(
        &self,
        ranges_ns: &[i64],
        zstd_level: i32,
        bits_per_key: u32,
    ) -> Result<LogCompaction> {
        let snap = self.snapshot();
        let spans: Vec<(Ulid, i64, i64)> = snap
            .blocks
            .iter()
            .map(|b| (b.meta.ulid, b.meta.min_time, b.meta.max_time))
            .collect();
        let Some(group) = plan_compaction_spans(&spans, ranges_ns) else {
            self.delete_retired().await?;
            return Ok(LogCompaction::default());
        };
        let sources: Vec<Arc<LogBlockReader>> = snap
            .blocks
            .iter()
            .filter(|b| group.contains(&b.meta.ulid))
            .cloned()
            .collect();
        drop(snap);
        let (encoded, level) = merge(&sources, zstd_level, bits_per_key).await?;
        let duplicates = encoded.duplicates;
        drop(sources);
        let meta = put_block(&self.store, &self.tenant, encoded, level, group.clone()).await?;
        let committed = self.replace(&group, &meta).await?;
        if !committed {
            delete_block(&self.store, &self.tenant, meta.ulid).await?;
            return Ok(LogCompaction::default());
        }
        tracing::info!(tenant = %self.tenant, sources = group.len(), output = %meta.ulid, level, entries = meta.num_entries, duplicates, "log blocks compacted");
        self.delete_retired().await?;
        Ok(LogCompaction {
            sources: group,
            output: Some(meta),
            duplicates,
        })
    }
}

/// Merges `sources` into one encoded block, slice by slice: each output row group gathers the
/// source row groups inside its slice (the output's slices are at least as wide as every
/// source's, and widths divide each other, so each source row group is read once).
async fn merge(
    sources: &[Arc<LogBlockReader>],
    zstd_level: i32,
    bits_per_key: u32,
) -> Result<(super::block::EncodedLogBlock, u32)> {
    let level = sources.iter().map(|b| b.meta.level).max().unwrap_or(0) + 1;
    let min = sources.iter().map(|b| b.meta.min_time).min().unwrap_or(0);
    let max = sources.iter().map(|b| b.meta.max_time).max().unwrap_or(0);
    let raw: u64 = sources.iter().map(|b| b.meta.raw_bytes).sum();
    let widest = sources.iter().map(|b| b.meta.slice_ns).max().unwrap_or(1);
    let range = (max - min).max(1);
    let width = slice_width(raw, range, widest, widest.max(range));
    // The union of the sources' streams, and each source's map into it.
    let mut tables = Vec::with_capacity(sources.len());
    for b in sources {
        tables.push((b.streams().await?, b.runs().await?));
    }
    let mut all: BTreeSet<cairn_model::Labels> = BTreeSet::new();
    for (s, _) in &tables {
        all.extend(s.labels.iter().cloned());
    }
    let all: Vec<cairn_model::Labels> = all.into_iter().collect();
    let maps: Vec<BTreeMap<u32, u32>> = tables
        .iter()
        .map(|(s, _)| {
            s.ids
                .iter()
                .zip(&s.labels)
                .filter_map(|(id, l)| all.binary_search(l).ok().map(|g| (*id, g as u32)))
                .collect()
        })
        .collect();
    // Source row groups by output slice.
    let mut slices: BTreeMap<i64, Vec<(usize, u32)>> = BTreeMap::new();
    for (i, (_, runs)) in tables.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for r in 0..runs.len() {
            if seen.insert(runs.row_group[r]) {
                let start = runs.min[r].div_euclid(width) * width;
                slices
                    .entry(start)
                    .or_default()
                    .push((i, runs.row_group[r]));
            }
        }
    }
    let mut writer = Some(LogBlockWriter::new(all, width, zstd_level, bits_per_key)?);
    let mut rows = Rows::default();
    for (_, parts) in slices {
        rows.clear();
        for (i, rg) in parts {
            let runs = &tables[i].1;
            let ranges: Vec<(u32, u32)> = (0..runs.len())
                .filter(|&r| runs.row_group[r] == rg)
                .map(|r| (runs.first_row[r], runs.num_rows[r]))
                .collect();
            let before = rows.len();
            let (r, _) = sources[i]
                .read_rows(
                    rg as usize,
                    &ranges,
                    read_filter_all(),
                    false,
                    std::mem::take(&mut rows),
                )
                .await?;
            rows = r;
            for s in rows.stream[before..].iter_mut() {
                *s = maps[i].get(s).copied().unwrap_or(u32::MAX);
            }
        }
        let (mut w, r) = (writer.take(), std::mem::take(&mut rows));
        let (w2, r2) = tokio::task::spawn_blocking(move || {
            let res = match w.as_mut() {
                Some(w) => w.write_slice(&r),
                None => Ok(()),
            };
            res.map(|()| (w, r))
        })
        .await
        .map_err(|e| crate::error::Error::Internal(format!("log block encoder panicked: {e}")))??;
        writer = w2;
        rows = r2;
    }
    let w = writer.ok_or_else(|| crate::error::Error::Internal("log block writer lost".into()))?;
    let enc = tokio::task::spawn_blocking(move || w.finish())
        .await
        .map_err(|e| crate::error::Error::Internal(format!("log block encoder panicked: {e}")))??;
    Ok((enc, level))
}
