//! Cutting the log head into blocks.
//!
//! Unlike the metrics head, a cut takes everything: with appends held off for a moment, every
//! stream's tail is sealed, its chunks are frozen (the cut's share) and the WAL moves to a new
//! segment N, so every entry logged before N is in a frozen chunk and every later one is not.
//! Then, per tenant, the frozen chunks are written as blocks (one per aligned block range
//! they touch), the catalog names the blocks, and only then are the chunks dropped from the
//! head. When every tenant is done the segments before N are deleted: no checkpoint is
//! needed, the head left is exactly what segments N and later hold.
//!
//! A crash anywhere before the deletion replays the old segments: entries may then be in a
//! block and in the head at once, which queries and compaction deduplicate. A failed upload
//! leaves the chunks in the head and the segments on disk; the next cut takes them again.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_model::{Labels, TenantId};

use super::LogStore;
use super::block::{LogBlockMeta, LogBlockWriter, Rows, put_block, slice_width};
use super::head::{FrozenStream, freeze, release};
use crate::error::{Error, Result};

/// What a cut (or flush) of the log head wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogFlushOutcome {
    /// Blocks written, all tenants.
    pub blocks: Vec<LogBlockMeta>,
    /// Entries moved from the head into blocks.
    pub entries: u64,
    /// Streams dropped from the head after a whole cut period without entries.
    pub streams_removed: u64,
}

impl LogStore {
    /// Cuts when the head holds more than its size bound or has held entries longer than its
    /// age bound.
    pub(super) async fn maybe_cut(&self) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        let too_big = self.head.raw_bytes() >= self.cfg.head_max_bytes;
        let too_old = self
            .oldest_append
            .lock()
            .is_some_and(|t| t.elapsed() >= self.cfg.head_max_age);
        if too_big || too_old {
            self.cut().await?;
        } else {
            self.update_gauges();
        }
        Ok(())
    }

    /// Moves everything in the head into blocks (module docs).
    pub(super) async fn cut(&self) -> Result<LogFlushOutcome> {
        let _cut = self.cut_lock.lock().await;
        if self.is_closed() {
            return Err(Error::Shutdown);
        }
        let started = std::time::Instant::now();
        let (frozen, first_kept) = {
            let _gate = self.gate.write().await;
            let mut frozen: Vec<(TenantId, Vec<FrozenStream>)> = Vec::new();
            for th in self.head.tenants() {
                let f = freeze(&th)?;
                if !f.is_empty() {
                    frozen.push((th.tenant.clone(), f));
                }
            }
            *self.oldest_append.lock() = None;
            let seg = self.wal.rotate().await?;
            (frozen, seg)
        };
        let mut outcome = LogFlushOutcome::default();
        for (tenant, streams) in frozen {
            let metas = self.cut_tenant(&tenant, &streams).await?;
            let blocks = self.tenant_blocks(&tenant).await?;
            if let Err(e) = blocks.add_blocks(&metas).await {
                self.metrics.upload_failures.inc();
                tracing::error!(tenant = %tenant, error = %e, "adding log blocks to the catalog failed");
                return Err(e);
            }
            self.tenants.lock().insert(tenant.clone());
            let removed = release(&streams);
            self.head.sub_raw_bytes(removed);
            for m in &metas {
                outcome.entries += m.num_entries;
                self.metrics.blocks_cut.inc();
                self.metrics.uploaded_bytes.inc_by(m.bytes);
                tracing::info!(tenant = %tenant, block = %m.ulid, min_time = m.min_time, max_time = m.max_time, streams = m.num_streams, entries = m.num_entries, bytes = m.bytes, "log block written from head");
            }
            outcome.blocks.extend(metas);
        }
        {
            let _gate = self.gate.write().await;
            for th in self.head.tenants() {
                outcome.streams_removed += th.gc() as u64;
            }
        }
        let removed = self.wal.remove_before(first_kept).await?;
        self.metrics.cuts.inc();
        self.update_gauges();
        tracing::info!(
            blocks = outcome.blocks.len(),
            entries = outcome.entries,
            streams_removed = outcome.streams_removed,
            wal_segments_removed = removed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "log head cut"
        );
        Ok(outcome)
    }

    /// Writes the frozen streams of one tenant as blocks, one per aligned block range.
    async fn cut_tenant(
        &self,
        tenant: &TenantId,
        streams: &[FrozenStream],
    ) -> Result<Vec<LogBlockMeta>> {
        let range = self.cfg.block_range_ns;
        // Per block range: the streams with chunks in it and the bytes it holds.
        let mut windows: BTreeMap<i64, (Vec<usize>, u64, i64, i64)> = BTreeMap::new();
        for (i, f) in streams.iter().enumerate() {
            for c in &f.chunks {
                let first = c.min_ts.div_euclid(range);
                let last = c.max_ts.div_euclid(range);
                let n = (last - first + 1).max(1) as u64;
                for w in first..=last {
                    let e = windows
                        .entry(w * range)
                        .or_insert((Vec::new(), 0, i64::MAX, i64::MIN));
                    if e.0.last() != Some(&i) {
                        e.0.push(i);
                    }
                    e.1 += c.raw_bytes / n;
                    e.2 = e.2.min(c.min_ts.max(w * range));
                    e.3 = e.3.max(c.max_ts.min(w * range + range - 1));
                }
            }
        }
        let mut metas = Vec::new();
        for (start, (members, bytes, lo, hi)) in windows {
            let labels: Vec<Labels> = members
                .iter()
                .map(|&i| streams[i].stream.labels.clone())
                .collect();
            let chunks: Vec<Vec<Arc<super::chunk::HeadChunk>>> =
                members.iter().map(|&i| streams[i].chunks.clone()).collect();
            let width = slice_width(bytes, (hi - lo).max(1), 1, range);
            let (level, bits) = (self.cfg.zstd_level, self.cfg.filter_bits_per_key);
            let end = start.saturating_add(range);
            let encoded = tokio::task::spawn_blocking(move || {
                encode_window(labels, &chunks, start, end, width, level, bits)
            })
            .await
            .map_err(|e| Error::Internal(format!("log block encoder panicked: {e}")))??;
            let Some(encoded) = encoded else { continue };
            match put_block(&self.store, tenant, encoded, 0, Vec::new()).await {
                Ok(m) => metas.push(m),
                Err(e) => {
                    self.metrics.upload_failures.inc();
                    tracing::error!(tenant = %tenant, range_start = start, error = %e, "log block upload failed");
                    return Err(e);
                }
            }
        }
        Ok(metas)
    }
}

/// Encodes the entries in `[start, end)` of `chunks` (per stream, streams sorted by
/// `labels`) as one block with row groups of `width`; `None` when no entry falls inside.
fn encode_window(
    labels: Vec<Labels>,
    chunks: &[Vec<Arc<super::chunk::HeadChunk>>],
    start: i64,
    end: i64,
    width: i64,
    zstd_level: i32,
    bits: u32,
) -> Result<Option<super::block::EncodedLogBlock>> {
    let mut w = LogBlockWriter::new(labels, width, zstd_level, bits)?;
    // Each chunk is decoded once; entries past the current slice wait in `pending`.
    let mut pending: Vec<Rows> = (0..chunks.len()).map(|_| Rows::default()).collect();
    let mut next_chunk: Vec<usize> = vec![0; chunks.len()];
    let mut sorted: Vec<Vec<Arc<super::chunk::HeadChunk>>> = chunks
        .iter()
        .map(|cs| {
            let mut v: Vec<_> = cs
                .iter()
                .filter(|c| c.max_ts >= start && c.min_ts < end)
                .cloned()
                .collect();
            v.sort_by_key(|c| c.min_ts);
            v
        })
        .collect();
    let mut rows = Rows::default();
    let mut slice = start.div_euclid(width) * width;
    while slice < end {
        let slice_end = slice.saturating_add(width).min(end);
        rows.clear();
        let mut more = false;
        for (i, cs) in sorted.iter_mut().enumerate() {
            // Decode the chunks starting before the slice's end.
            while next_chunk[i] < cs.len() && cs[next_chunk[i]].min_ts < slice_end {
                let c = &cs[next_chunk[i]];
                let p = &mut pending[i];
                c.for_each_in(start, end - 1, |ts, line, meta| {
                    p.push(i as u32, ts, line, meta);
                })?;
                next_chunk[i] += 1;
            }
            let p = std::mem::take(&mut pending[i]);
            let mut keep = Rows::default();
            let mut meta: Vec<(&str, &str)> = Vec::new();
            for k in 0..p.len() {
                meta.clear();
                meta.extend(p.meta(k));
                let to = if p.ts[k] < slice_end {
                    &mut rows
                } else {
                    &mut keep
                };
                to.push(p.stream[k], p.ts[k], p.line(k), &meta);
            }
            pending[i] = keep;
            more |= !pending[i].is_empty() || next_chunk[i] < cs.len();
        }
        w.write_slice(&rows)?;
        if !more {
            break;
        }
        slice = slice_end;
    }
    if w.num_entries() == 0 {
        return Ok(None);
    }
    w.finish().map(Some)
}
