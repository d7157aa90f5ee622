//! The per-tenant set of live blocks: catalog changes, queries over a consistent snapshot,
//! compaction and retention.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cairn_model::{
    LabelValuesRequest, Labels, Matcher, Sample, SelectRequest, Series, SeriesRequest, TenantId,
};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use parking_lot::{Mutex, RwLock};
use ulid::Ulid;

use crate::block::{BlockMeta, BlockReader, delete_block, write_block};
use crate::cache::BlockCache;
use crate::catalog::{Catalog, Signal, commit_change, load_catalog};
use crate::compact::{CompactionOutcome, plan_compaction};
use crate::error::{Error, Result, StorageErrorKind};
use crate::label_order::cmp_labels;

/// Blocks read concurrently by one query.
const QUERY_FANOUT: usize = 4;

/// An immutable view of the live blocks; queries hold one for their whole run, so they see
/// either the old or the new block set of a concurrent change, never both and never neither.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) version: u64,
    /// Sorted by (min_time, ulid); on duplicate timestamps the earlier block wins.
    pub(crate) blocks: Vec<Arc<BlockReader>>,
}

impl Snapshot {
    fn metas(&self) -> Vec<BlockMeta> {
        self.blocks.iter().map(|b| b.meta.clone()).collect()
    }
}

/// The live blocks of one tenant. `Send + Sync`, meant to be shared behind an `Arc`.
pub struct TenantBlocks {
    store: Arc<dyn ObjectStore>,
    tenant: TenantId,
    cache: Arc<BlockCache>,
    state: RwLock<Arc<Snapshot>>,
    /// Serialises this instance's own catalog changes; other instances are handled by the
    /// create-if-absent versions.
    commit_lock: tokio::sync::Mutex<()>,
    /// Blocks no longer in the catalog, deleted once no snapshot holds them.
    retired: Mutex<Vec<Arc<BlockReader>>>,
}

impl std::fmt::Debug for TenantBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantBlocks")
            .field("tenant", &self.tenant)
            .field("version", &self.state.read().version)
            .finish()
    }
}

impl TenantBlocks {
    /// Loads the tenant's catalog (an absent catalog is an empty one).
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        cache: Arc<BlockCache>,
    ) -> Result<Self> {
        let catalog = load_catalog(&store, &tenant).await?;
        let tb = TenantBlocks {
            store,
            tenant,
            cache,
            state: RwLock::new(Arc::new(Snapshot::default())),
            commit_lock: tokio::sync::Mutex::new(()),
            retired: Mutex::new(Vec::new()),
        };
        tb.install(catalog);
        Ok(tb)
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The current snapshot of live blocks.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.state.read())
    }

    /// The catalog version this instance last saw.
    pub fn catalog_version(&self) -> u64 {
        self.state.read().version
    }

    /// Metas of the live blocks, sorted by (min_time, ulid).
    pub fn blocks(&self) -> Vec<BlockMeta> {
        self.snapshot().metas()
    }

    /// Max time covered by any live block, `None` when there is none.
    pub fn max_time(&self) -> Option<i64> {
        self.snapshot().blocks.iter().map(|b| b.meta.max_time).max()
    }

    /// Installs `catalog` if it is newer than what we have; returns the blocks it dropped.
    fn install(&self, catalog: Catalog) -> Vec<Arc<BlockReader>> {
        let mut state = self.state.write();
        if catalog.version <= state.version && state.version != 0 {
            return Vec::new();
        }
        let old: BTreeMap<Ulid, &Arc<BlockReader>> =
            state.blocks.iter().map(|b| (b.meta.ulid, b)).collect();
        let mut blocks: Vec<Arc<BlockReader>> = catalog
            .blocks
            .into_iter()
            .map(|m| match old.get(&m.ulid) {
                Some(b) => Arc::clone(b),
                None => Arc::new(BlockReader::new(
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
        *state = Arc::new(Snapshot {
            version: catalog.version,
            blocks,
        });
        dropped
    }

    /// Reloads the catalog, picking up changes made by other instances.
    pub async fn refresh(&self) -> Result<()> {
        let c = load_catalog(&self.store, &self.tenant).await?;
        self.install(c);
        Ok(())
    }

    /// Applies `change` to the newest catalog and writes it as the next version, retrying on
    /// conflicts. `change` returns false to abandon. Returns whether a version was written.
    async fn commit(&self, change: impl FnMut(&mut Vec<BlockMeta>) -> bool) -> Result<bool> {
        let _guard = self.commit_lock.lock().await;
        let written = commit_change(
            &self.store,
            &self.tenant,
            Signal::Metrics,
            |c: &Catalog| {
                self.install(c.clone());
            },
            change,
            |blocks| blocks.sort_by_key(|b| (b.min_time, b.ulid)),
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

    /// Adds a freshly written block to the catalog; returns once the catalog names it.
    pub async fn add_block(&self, meta: BlockMeta) -> Result<()> {
        self.commit(|blocks| {
            if !blocks.iter().any(|b| b.ulid == meta.ulid) {
                blocks.push(meta.clone());
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Deletes the objects of blocks that left the catalog and that no snapshot holds any
    /// more; returns how many were deleted. Failed deletions are retried on the next call.
    pub async fn delete_retired(&self) -> Result<usize> {
        let ready: Vec<Arc<BlockReader>> = {
            let mut retired = self.retired.lock();
            let (ready, keep): (Vec<_>, Vec<_>) =
                retired.drain(..).partition(|b| Arc::strong_count(b) == 1);
            *retired = keep;
            ready
        };
        let mut n = 0;
        let mut first_err = None;
        for b in ready {
            match delete_block(&self.store, &self.tenant, b.meta.ulid).await {
                Ok(()) => n += 1,
                Err(e) => {
                    self.retired.lock().push(b);
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    /// Deletes blocks that are in the store but not in the catalog and whose ULID is older
    /// than `min_age_ms` at `now_ms`: leftovers of a crash between upload and catalog update,
    /// or of a compaction that lost its race. The age guard spares blocks being uploaded right
    /// now and blocks that queries of other instances may still read. Returns how many.
    pub async fn delete_orphans(&self, now_ms: i64, min_age_ms: i64) -> Result<usize> {
        self.refresh().await?;
        let live: BTreeSet<Ulid> = {
            let snap = self.snapshot();
            let retired = self.retired.lock();
            snap.blocks
                .iter()
                .chain(retired.iter())
                .map(|b| b.meta.ulid)
                .collect()
        };
        let dir = Path::from_iter([self.tenant.as_str(), "metrics", "blocks"]);
        let objects: Vec<ObjectMeta> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(crate::objstore::os_err("list", &dir))?;
        let cutoff = now_ms.saturating_sub(min_age_ms);
        let orphans: BTreeSet<Ulid> = objects
            .iter()
            .filter_map(|o| o.location.prefix_match(&dir)?.next())
            .filter_map(|part| Ulid::from_string(part.as_ref()).ok())
            .filter(|u| !live.contains(u))
            .filter(|u| i64::try_from(u.timestamp_ms()).is_ok_and(|t| t < cutoff))
            .collect();
        for u in &orphans {
            delete_block(&self.store, &self.tenant, *u).await?;
        }
        Ok(orphans.len())
    }

    /// Samples of matching series in `[start, end]` from every live block, merged per series
    /// and sorted by labels; on duplicate timestamps across blocks the earlier block wins.
    pub async fn select(&self, req: &SelectRequest) -> Result<Vec<Series>> {
        match self.select_in(self.snapshot(), req).await {
            // Another instance compacted or expired a block and deleted it after our last
            // look at the catalog: look again, once.
            Err(e) if e.storage_kind() == Some(StorageErrorKind::NotFound) => {
                self.refresh().await?;
                self.select_in(self.snapshot(), req).await
            }
            r => r,
        }
    }

    async fn select_in(&self, snap: Arc<Snapshot>, req: &SelectRequest) -> Result<Vec<Series>> {
        // Collected first: a lazy iterator of closures here makes the future fail rustc's
        // `Send` inference (rust-lang/rust#102211) for callers that spawn it.
        let reads: Vec<_> = snap
            .blocks
            .iter()
            .filter(|b| b.meta.overlaps(req.start_ms, req.end_ms))
            .map(|b| b.select(&req.matchers, req.start_ms, req.end_ms))
            .collect();
        let per_block: Vec<Vec<Series>> = futures::stream::iter(reads)
            .buffered(QUERY_FANOUT)
            .try_collect()
            .await?;
        let merged = merge_series(per_block);
        if req.max_series > 0 && merged.len() > req.max_series {
            return Err(Error::LimitExceeded(format!(
                "query selects {} series, the limit is {}",
                merged.len(),
                req.max_series
            )));
        }
        let samples: usize = merged.iter().map(|s| s.samples.len()).sum();
        if req.max_samples > 0 && samples > req.max_samples {
            return Err(Error::LimitExceeded(format!(
                "query selects {samples} samples, the limit is {}",
                req.max_samples
            )));
        }
        Ok(merged)
    }

    /// Label sets of the series matching any selector in blocks overlapping `[start, end]`
    /// (block granularity: a series of such a block counts even if its samples miss the range).
    async fn series_set(&self, req: &SeriesRequest) -> Result<BTreeSet<Labels>> {
        let snap = self.snapshot();
        let all = [Vec::<Matcher>::new()];
        let selectors: &[Vec<Matcher>] = if req.selectors.is_empty() {
            &all
        } else {
            &req.selectors
        };
        let mut out = BTreeSet::new();
        for b in snap
            .blocks
            .iter()
            .filter(|b| b.meta.overlaps(req.start_ms, req.end_ms))
        {
            let table = b.series_table().await?;
            for sel in selectors {
                for id in b.matching_ids(sel).await? {
                    if let Some(l) = table.labels_of(id) {
                        out.insert(l.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Label sets of the selected series (sorted, unique, truncated to `req.limit`).
    pub async fn series(&self, req: &SeriesRequest) -> Result<Vec<Labels>> {
        let set = self.series_set(req).await?;
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit
        };
        Ok(set.into_iter().take(limit).collect())
    }

    /// Label names used by the selected series (sorted, unique, truncated to `req.limit`).
    pub async fn label_names(&self, req: &SeriesRequest) -> Result<Vec<String>> {
        let mut names = BTreeSet::new();
        if req.selectors.is_empty() {
            let snap = self.snapshot();
            for b in snap
                .blocks
                .iter()
                .filter(|b| b.meta.overlaps(req.start_ms, req.end_ms))
            {
                names.extend(b.label_index().await?.names.keys().cloned());
            }
        } else {
            for l in self.series_set(req).await? {
                names.extend(l.iter().map(|l| l.name.to_string()));
            }
        }
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit
        };
        Ok(names.into_iter().take(limit).collect())
    }

    /// Values of one label over the selected series (sorted, unique, truncated to the limit).
    pub async fn label_values(&self, req: &LabelValuesRequest) -> Result<Vec<String>> {
        let s = &req.series;
        let mut values = BTreeSet::new();
        if s.selectors.is_empty() {
            let snap = self.snapshot();
            for b in snap
                .blocks
                .iter()
                .filter(|b| b.meta.overlaps(s.start_ms, s.end_ms))
            {
                if let Some(vs) = b.label_index().await?.names.get(&req.name) {
                    values.extend(vs.iter().map(|(v, _)| v.clone()));
                }
            }
        } else {
            for l in self.series_set(s).await? {
                if let Some(v) = l.get(&req.name) {
                    values.insert(v.to_string());
                }
            }
        }
        let limit = if s.limit == 0 { usize::MAX } else { s.limit };
        Ok(values.into_iter().take(limit).collect())
    }

    /// One compaction step: merges the first group of blocks that fits one window of the
    /// given ranges (ms, ascending) into one block, replacing them in one catalog change, then
    /// deletes the sources once no query holds them.
    pub async fn compact_once(&self, ranges_ms: &[i64]) -> Result<CompactionOutcome> {
        let snap = self.snapshot();
        let metas = snap.metas();
        let Some(group) = plan_compaction(&metas, ranges_ms) else {
            self.delete_retired().await?;
            return Ok(CompactionOutcome::default());
        };
        let sources: Vec<&Arc<BlockReader>> = snap
            .blocks
            .iter()
            .filter(|b| group.contains(&b.meta.ulid))
            .collect();
        // Collected first, see `select`.
        let reads: Vec<_> = sources.iter().map(|b| b.read_all()).collect();
        let per_block: Vec<Vec<Series>> = futures::stream::iter(reads)
            .buffered(QUERY_FANOUT)
            .try_collect()
            .await?;
        let merged = merge_series(per_block);
        let level = sources.iter().map(|b| b.meta.level).max().unwrap_or(0) + 1;
        let input_samples: u64 = sources.iter().map(|b| b.meta.num_samples).sum();
        drop(sources);
        drop(snap);
        let meta = write_block(&self.store, &self.tenant, merged, level, group.clone()).await?;
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
            // Someone else changed the sources meanwhile: our output is an orphan.
            delete_block(&self.store, &self.tenant, meta.ulid).await?;
            return Ok(CompactionOutcome::default());
        }
        tracing::info!(
            tenant = %self.tenant,
            sources = group.len(),
            output = %meta.ulid,
            level,
            input_samples,
            output_samples = meta.num_samples,
            "compacted blocks"
        );
        self.delete_retired().await?;
        Ok(CompactionOutcome {
            sources: group,
            output: Some(meta),
        })
    }

    /// Drops blocks entirely older than `now_ms - retention_ms` (catalog first, then objects);
    /// returns how many left the catalog.
    pub async fn apply_retention(&self, now_ms: i64, retention_ms: i64) -> Result<usize> {
        let cutoff = now_ms.saturating_sub(retention_ms);
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
}

/// Merges per-block series (blocks in snapshot order) into one list sorted by labels; on equal
/// timestamps the sample of the earlier block is kept.
///
/// Blocks list their series in label order (ids are label-order ordinals), so this is a
/// linear k-way merge that copies each sample once; blocks written with hash-ordered ids are
/// sorted first.
pub(crate) fn merge_series(per_block: Vec<Vec<Series>>) -> Vec<Series> {
    let mut lists: Vec<std::vec::IntoIter<Series>> = Vec::new();
    for mut series in per_block {
        if series.is_empty() {
            continue;
        }
        if !series.is_sorted_by(|a, b| cmp_labels(&a.labels, &b.labels).is_lt()) {
            series.sort_by(|a, b| cmp_labels(&a.labels, &b.labels));
        }
        lists.push(series.into_iter());
    }
    if lists.len() <= 1 {
        return lists.pop().map(Iterator::collect).unwrap_or_default();
    }
    let mut out = Vec::new();
    let mut parts: Vec<Series> = Vec::with_capacity(lists.len());
    loop {
        // The first list (earliest block) holding the smallest label set.
        let mut min: Option<(usize, &Labels)> = None;
        for (i, l) in lists.iter().enumerate() {
            let Some(s) = l.as_slice().first() else {
                continue;
            };
            if min.is_none_or(|(_, m)| cmp_labels(&s.labels, m).is_lt()) {
                min = Some((i, &s.labels));
            }
        }
        let Some((m, _)) = min else { break };
        parts.clear();
        parts.extend(lists[m].next());
        for l in &mut lists[m + 1..] {
            if l.as_slice()
                .first()
                .is_some_and(|s| s.labels == parts[0].labels)
            {
                parts.extend(l.next());
            }
        }
        out.push(concat_parts(&mut parts));
    }
    out
}

/// One series from its parts in block order: appended when the parts follow each other in
/// time (blocks rarely overlap), merged otherwise.
fn concat_parts(parts: &mut Vec<Series>) -> Series {
    let in_order = parts
        .windows(2)
        .all(|w| match (w[0].samples.last(), w[1].samples.first()) {
            (Some(a), Some(b)) => a.t < b.t,
            _ => true,
        });
    let mut it = parts.drain(..);
    let Some(mut first) = it.next() else {
        return Series {
            labels: Labels::empty(),
            samples: Vec::new(),
        };
    };
    let rest: Vec<Series> = it.collect();
    if in_order {
        let total = first.samples.len() + rest.iter().map(|s| s.samples.len()).sum::<usize>();
        let mut samples = Vec::with_capacity(total);
        samples.extend_from_slice(&first.samples);
        for s in &rest {
            samples.extend_from_slice(&s.samples);
        }
        first.samples = samples;
    } else {
        for s in rest {
            first.samples = merge_samples(first.samples, s.samples);
        }
    }
    first
}

/// Merges two time-sorted sample lists, keeping `a`'s sample on equal timestamps. Blocks
/// rarely overlap in time and the head follows the blocks, so one list usually lies wholly
/// after the other and is appended without a merge.
pub(crate) fn merge_samples(mut a: Vec<Sample>, mut b: Vec<Sample>) -> Vec<Sample> {
    match (a.first(), a.last(), b.first(), b.last()) {
        (_, _, None, _) => return a,
        (None, ..) => return b,
        (_, Some(a_last), Some(b_first), _) if a_last.t < b_first.t => {
            a.extend_from_slice(&b);
            return a;
        }
        (Some(a_first), _, _, Some(b_last)) if b_last.t < a_first.t => {
            b.extend_from_slice(&a);
            return b;
        }
        _ => {}
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].t.cmp(&b[j].t) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests;
