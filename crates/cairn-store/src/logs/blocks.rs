//! The live log blocks of one tenant: catalog changes (through the catalog shared with the
//! metrics), consistent snapshots for queries, compaction of the blocks of one window, and
//! retention.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cairn_model::TenantId;
use object_store::ObjectStore;
use parking_lot::{Mutex, RwLock};
use ulid::Ulid;

use super::block::{
    LogBlockMeta, LogBlockReader, LogBlockWriter, Rows, delete_block, put_block, read_filter_all,
    slice_width,
};
use crate::cache::BlockCache;
use crate::catalog::{Catalog, Signal, commit_change, load_catalog_of};
use crate::compact::plan_compaction_spans;
use crate::error::Result;

/// An immutable view of a tenant's live log blocks, sorted by (min_time, ulid).
#[derive(Debug, Default)]
pub(crate) struct LogSnapshot {
    pub(crate) version: u64,
    pub(crate) blocks: Vec<Arc<LogBlockReader>>,
}

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
pub(crate) struct LogBlocks {
    store: Arc<dyn ObjectStore>,
    pub(crate) tenant: TenantId,
    cache: Arc<BlockCache>,
    state: RwLock<Arc<LogSnapshot>>,
    commit_lock: tokio::sync::Mutex<()>,
    retired: Mutex<Vec<Arc<LogBlockReader>>>,
}

fn sort_metas(blocks: &mut [LogBlockMeta]) {
    blocks.sort_by_key(|b| (b.min_time, b.ulid));
}

impl LogBlocks {
    /// Loads the tenant's log catalog (absent: empty).
    pub(crate) async fn open(
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        cache: Arc<BlockCache>,
    ) -> Result<Self> {
        let c: Catalog<LogBlockMeta> = load_catalog_of(&store, &tenant, Signal::Logs).await?;
        let b = LogBlocks {
            store,
            tenant,
            cache,
            state: RwLock::new(Arc::new(LogSnapshot::default())),
            commit_lock: tokio::sync::Mutex::new(()),
            retired: Mutex::new(Vec::new()),
        };
        b.install(c);
        Ok(b)
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<LogSnapshot> {
        Arc::clone(&self.state.read())
    }

    /// Metas of the live blocks.
    pub(crate) fn metas(&self) -> Vec<LogBlockMeta> {
        self.snapshot()
            .blocks
            .iter()
            .map(|b| b.meta.clone())
            .collect()
    }

    fn install(&self, c: Catalog<LogBlockMeta>) -> Vec<Arc<LogBlockReader>> {
        let mut state = self.state.write();
        if c.version <= state.version && state.version != 0 {
            return Vec::new();
        }
        let old: BTreeMap<Ulid, &Arc<LogBlockReader>> =
            state.blocks.iter().map(|b| (b.meta.ulid, b)).collect();
        let mut blocks: Vec<Arc<LogBlockReader>> = c
            .blocks
            .into_iter()
            .map(|m| match old.get(&m.ulid) {
                Some(b) => Arc::clone(b),
                None => Arc::new(LogBlockReader::new(
                    Arc::clone(&self.store),
                    Arc::clone(&self.cache),
                    self.tenant.clone(),
                    m,
                )),
            })
            .collect();
        blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
        let kept: BTreeSet<Ulid> = blocks.iter().map(|b| b.meta.ulid).collect();
        let dropped = state
            .blocks
            .iter()
            .filter(|b| !kept.contains(&b.meta.ulid))
            .cloned()
            .collect();
        *state = Arc::new(LogSnapshot {
            version: c.version,
            blocks,
        });
        dropped
    }

    async fn commit(&self, change: impl FnMut(&mut Vec<LogBlockMeta>) -> bool) -> Result<bool> {
        let _guard = self.commit_lock.lock().await;
        let written = commit_change(
            &self.store,
            &self.tenant,
            Signal::Logs,
            |c: &Catalog<LogBlockMeta>| {
                self.install(c.clone());
            },
            change,
            sort_metas,
        )
        .await?;
        match written {
            Some(next) => {
                let dropped = self.install(next);
                self.retired.lock().extend(dropped);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Adds freshly written blocks in one catalog change; returns once the catalog names them.
    pub(crate) async fn add_blocks(&self, metas: &[LogBlockMeta]) -> Result<()> {
        self.commit(|blocks| {
            for m in metas {
                if !blocks.iter().any(|b| b.ulid == m.ulid) {
                    blocks.push(m.clone());
                }
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Deletes the objects of blocks that left the catalog and that no snapshot holds.
    pub(crate) async fn delete_retired(&self) -> Result<usize> {
        let ready: Vec<Arc<LogBlockReader>> = {
            let mut retired = self.retired.lock();
            let (ready, keep): (Vec<_>, Vec<_>) =
                retired.drain(..).partition(|b| Arc::strong_count(b) == 1);
            *retired = keep;
            ready
        };
        let mut n = 0;
        for b in ready {
            if let Err(e) = delete_block(&self.store, &self.tenant, b.meta.ulid).await {
                self.retired.lock().push(b);
                return Err(e);
            }
            n += 1;
        }
        Ok(n)
    }

    /// Drops blocks entirely older than `now_ns - retention_ns`; returns how many.
    pub(crate) async fn apply_retention(&self, now_ns: i64, retention_ns: i64) -> Result<usize> {
        let cutoff = now_ns.saturating_sub(retention_ns);
        let mut dropped = 0;
        self.commit(|blocks| {
            let before = blocks.len();
            blocks.retain(|b| b.max_time >= cutoff);
            dropped = before - blocks.len();
            dropped > 0
        })
        .await?;
        self.delete_retired().await?;
        Ok(dropped)
    }

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
        let committed = self
            .commit(|blocks| {
                if !group.iter().all(|u| blocks.iter().any(|b| b.ulid == *u)) {
                    return false;
                }
                blocks.retain(|b| !group.contains(&b.ulid));
                blocks.push(meta.clone());
                true
            })
            .await?;
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
