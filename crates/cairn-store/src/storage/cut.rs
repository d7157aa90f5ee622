//! Cutting the head into blocks, and the WAL checkpoint that follows.
//!
//! Order of a cut at boundary B, each step durable before the next:
//! 1. with appends held off: samples before B become out of bounds;
//! 2. per tenant: the head's samples before B are written as blocks (one per aligned
//!    `block_range`), added to the catalog, and only then dropped from the head;
//! 3. with appends held off: empty series are removed, the out-of-order window reopens and
//!    the WAL moves to a new segment N (every append logged before N is applied by then);
//! 4. checkpoint: every series, sample and metadata entry still in the head, and every
//!    exemplar in the exemplar buffers, is logged again (into N or later) and fsynced; only
//!    then are the segments before N deleted.
//!
//! Rotating just before the checkpoint keeps few appends between the two, so a replay
//! mostly meets the checkpoint's older samples before the newer ones.
//!
//! A crash before 4 completes replays the old segments too: samples may then be both in a
//! block and in the head, which queries deduplicate; none is lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cairn_model::{Labels, Sample};

use super::Storage;
use crate::block::{BlockMeta, SeriesSource, write_block_from};
use crate::error::{Error, Result};
use crate::head::{MemSeries, TenantHead};
use crate::label_order::cmp_labels;
use crate::wal::record::{SamplesEncoder, encode_exemplars, encode_metadata};

/// Exemplars per checkpoint exemplars record.
const CHECKPOINT_EXEMPLARS_PER_RECORD: usize = 5_000;
/// Bytes gathered per checkpoint WAL write.
const CHECKPOINT_CHUNK_BYTES: usize = 4 << 20;

/// What a flush (or cut) wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlushOutcome {
    /// The blocks written, all tenants.
    pub blocks: Vec<BlockMeta>,
    /// Samples moved from the head into blocks.
    pub samples: u64,
    /// Series removed from the head because no sample was left.
    pub series_removed: u64,
}

fn floor_to(t: i64, range: i64) -> i64 {
    t.div_euclid(range) * range
}

impl Storage {
    /// Cuts when the head spans half a block range past the newest aligned boundary.
    pub(super) async fn maybe_cut(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let Some((min, max)) = self.head.time_range() else {
            return Ok(());
        };
        let range = self.cfg.block_range_ms;
        let b = floor_to(max, range);
        if max >= b.saturating_add(range / 2) && min < b {
            self.cut(b, true).await?;
        }
        Ok(())
    }

    /// Moves every head sample before `boundary` into blocks, then checkpoints the WAL;
    /// `advance` (regular cuts, not flushes) makes `boundary` the lasting floor of appends.
    pub(super) async fn cut(&self, boundary: i64, advance: bool) -> Result<FlushOutcome> {
        let _cut = self.cut_lock.lock().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let started = std::time::Instant::now();
        {
            let _gate = self.gate.write().await;
            self.head.begin_cut(boundary, advance);
        }
        let mut outcome = FlushOutcome::default();
        for th in self.head.tenants() {
            self.cut_tenant(&th, boundary, &mut outcome).await?;
        }
        let first_kept_segment = {
            let _gate = self.gate.write().await;
            // A flush keeps the emptied series: their newest timestamps keep refusing
            // out-of-order samples below the flushed range (see `Head::begin_cut`).
            if advance {
                for th in self.head.tenants() {
                    outcome.series_removed += th.gc() as u64;
                }
            }
            self.head.end_cut();
            self.wal.rotate().await?
        };
        self.metrics.head_cuts.inc();
        self.update_head_gauges();
        #[cfg(test)]
        if self.fail_before_checkpoint.load(Ordering::Acquire) {
            return Err(Error::Internal(
                "test hook: stopped before checkpoint".into(),
            ));
        }
        self.checkpoint(first_kept_segment).await?;
        tracing::info!(
            boundary,
            blocks = outcome.blocks.len(),
            samples = outcome.samples,
            series_removed = outcome.series_removed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "head cut"
        );
        Ok(outcome)
    }

    async fn cut_tenant(
        &self,
        th: &Arc<TenantHead>,
        boundary: i64,
        outcome: &mut FlushOutcome,
    ) -> Result<()> {
        let range = self.cfg.block_range_ms;
        let collect_th = Arc::clone(th);
        let groups = tokio::task::spawn_blocking(move || collect(&collect_th, boundary, range))
            .await
            .map_err(|e| Error::Internal(format!("head collection panicked: {e}")))?;
        if groups.is_empty() {
            return Ok(());
        }
        let blocks = self.tenant_blocks(&th.tenant).await?;
        self.tenants.lock().insert(th.tenant.clone());
        for (start, series) in groups {
            let source = HeadRange {
                series,
                mint: start,
                maxt: start.saturating_add(range).min(boundary).saturating_sub(1),
                raw: Vec::new(),
            };
            let meta = match write_block_from(&self.store, &th.tenant, source, 0, Vec::new()).await
            {
                Ok(m) => m,
                Err(e) => {
                    self.metrics.block_upload_failures.inc();
                    tracing::error!(tenant = %th.tenant, range_start = start, error = %e, "block upload failed");
                    return Err(e);
                }
            };
            let samples = meta.num_samples;
            if let Err(e) = blocks.add_block(meta.clone()).await {
                self.metrics.block_upload_failures.inc();
                tracing::error!(tenant = %th.tenant, block = %meta.ulid, error = %e, "adding block to catalog failed");
                return Err(e);
            }
            self.metrics.block_uploads.inc();
            tracing::info!(tenant = %th.tenant, block = %meta.ulid, min_time = meta.min_time, max_time = meta.max_time, series = meta.num_series, samples, "block written from head");
            outcome.samples += samples;
            outcome.blocks.push(meta);
        }
        let drop_th = Arc::clone(th);
        tokio::task::spawn_blocking(move || {
            for s in drop_th.all_series() {
                s.data.lock().drop_before(boundary);
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("head truncation panicked: {e}")))?;
        Ok(())
    }

    /// Logs the whole head again into the current segment (which is `first_kept` or later)
    /// and deletes the segments before `first_kept`.
    async fn checkpoint(&self, first_kept: u32) -> Result<()> {
        for th in self.head.tenants() {
            let series = th.all_series();
            let mut payload = Vec::new();
            let mut batch: Vec<Arc<MemSeries>> = Vec::new();
            let mut enc = SamplesEncoder::new(10_000);
            let mut raw = Vec::new();
            for s in series {
                raw.clear();
                s.data.lock().collect(i64::MIN, i64::MAX, &mut raw);
                for &(t, v) in &raw {
                    enc.push(&mut payload, &th.tenant, s.sref, t, v);
                }
                batch.push(s);
                if payload.len() >= CHECKPOINT_CHUNK_BYTES {
                    enc.finish(&mut payload);
                    self.wal
                        .append(
                            th.tenant.clone(),
                            std::mem::take(&mut batch),
                            std::mem::take(&mut payload),
                        )
                        .await?;
                }
            }
            enc.finish(&mut payload);
            let metadata = th.metadata(None);
            if !metadata.is_empty() {
                encode_metadata(
                    &mut payload,
                    &th.tenant,
                    metadata.iter().map(|(f, m)| (f.as_str(), m)),
                );
            }
            if !payload.is_empty() || !batch.is_empty() {
                self.wal.append(th.tenant.clone(), batch, payload).await?;
            }
        }
        // Exemplars are not in blocks: the WAL is their only durable copy. Encoded under the
        // buffer's lock (appends with exemplars wait that long), written after it.
        for (tenant, buf) in self.exemplars.tenants() {
            let payloads = {
                let b = buf.lock();
                let all: Vec<_> = b.iter().collect();
                let mut payloads = Vec::new();
                let mut payload = Vec::new();
                for chunk in all.chunks(CHECKPOINT_EXEMPLARS_PER_RECORD) {
                    encode_exemplars(&mut payload, &tenant, chunk.iter().copied());
                    if payload.len() >= CHECKPOINT_CHUNK_BYTES {
                        payloads.push(std::mem::take(&mut payload));
                    }
                }
                if !payload.is_empty() {
                    payloads.push(payload);
                }
                payloads
            };
            for payload in payloads {
                self.wal.append(tenant.clone(), Vec::new(), payload).await?;
            }
        }
        let removed = self.wal.remove_before(first_kept).await?;
        tracing::info!(
            first_kept_segment = first_kept,
            removed_segments = removed,
            "wal checkpointed"
        );
        Ok(())
    }
}

/// The series of `th` with samples before `boundary`, grouped by aligned block range, each
/// group in block order (by labels).
///
/// Only the series are gathered, not their samples: [`HeadRange`] reads those when the block
/// encoder gets to each series. That is consistent because appends below the boundary wait
/// while the cut runs (`Head::begin_cut`), and the samples are dropped from the head only
/// after every block is written.
fn collect(th: &TenantHead, boundary: i64, range: i64) -> BTreeMap<i64, Vec<Arc<MemSeries>>> {
    let mut groups: BTreeMap<i64, Vec<Arc<MemSeries>>> = BTreeMap::new();
    let last = boundary.saturating_sub(1);
    let mut raw = Vec::new();
    for s in th.all_series() {
        let span = {
            let d = s.data.lock();
            d.min_t().map(|lo| (lo, d.max_t()))
        };
        let Some((lo, hi)) = span else { continue };
        if lo > last {
            continue;
        }
        let start = floor_to(lo, range);
        if hi.is_some_and(|hi| hi.min(last) < start.saturating_add(range)) {
            // The common case: everything before the boundary is in one block range.
            groups.entry(start).or_default().push(s);
            continue;
        }
        // Spanning several ranges, maybe with gaps: find the ranges that hold samples.
        raw.clear();
        s.data.lock().collect(i64::MIN, last, &mut raw);
        let mut i = 0;
        while i < raw.len() {
            let start = floor_to(raw[i].0, range);
            let end = start.saturating_add(range);
            i += raw[i..].iter().take_while(|x| x.0 < end).count();
            groups.entry(start).or_default().push(Arc::clone(&s));
        }
    }
    groups
        .into_iter()
        .map(|(start, mut series)| {
            series.sort_unstable_by(|a, b| cmp_labels(&a.labels, &b.labels));
            (start, series)
        })
        .collect()
}

/// The head's samples of one block range, read series by series and slice by slice as the
/// encoder asks.
struct HeadRange {
    series: Vec<Arc<MemSeries>>,
    mint: i64,
    /// Inclusive.
    maxt: i64,
    raw: Vec<(i64, u64)>,
}

impl SeriesSource for HeadRange {
    fn len(&self) -> usize {
        self.series.len()
    }

    fn labels(&self, i: usize) -> &Labels {
        &self.series[i].labels
    }

    fn time_range(&self) -> Option<(i64, i64)> {
        (!self.series.is_empty()).then_some((self.mint, self.maxt))
    }

    fn samples(&mut self, i: usize, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        self.raw.clear();
        self.series[i]
            .data
            .lock()
            .collect(mint.max(self.mint), maxt.min(self.maxt), &mut self.raw);
        out.extend(
            self.raw
                .iter()
                .map(|&(t, v)| Sample::new(t, f64::from_bits(v))),
        );
    }
}
