//! Cutting the trace head into blocks, and compacting blocks.
//!
//! A cut takes everything: with appends held off for a moment, every tenant's live traces
//! are frozen and the WAL moves to a new segment N, so every span logged before N is
//! frozen and every later one is not. Then each tenant's frozen traces are written as one
//! block, the catalog names it, and only then are they dropped from the head. When every
//! tenant is done the segments before N are deleted. A crash before that replays the old
//! segments: spans may then be in a block and in the head at once, which lookups and
//! compaction deduplicate. A failed upload leaves the frozen traces in the head (still
//! read by queries) and the segments on disk; the next cut takes them again.
//!
//! Compaction merges the blocks of one window (the shared planner), each block placed in the
//! window of its latest span end: a block cut from the head usually straddles a window
//! boundary (late spans, long traces), and placing it by its whole range would leave it out
//! of every window. The sources are read row group by row group, in id order, and each
//! trace id found in several of them becomes one trace, written once.

use std::collections::VecDeque;
use std::sync::Arc;

use cairn_model::{TenantId, Trace};
use ulid::Ulid;

use super::block::{TraceBlockMeta, TraceBlockReader, TraceBlockWriter, put_block};
use super::{TraceBlocks, TraceStore};
use crate::compact::plan_compaction_spans;
use crate::error::{Error, Result};

/// What a cut (or flush) of the trace head wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceFlushOutcome {
    /// Blocks written, all tenants.
    pub blocks: Vec<TraceBlockMeta>,
    /// Spans moved from the head into blocks.
    pub spans: u64,
}

/// What one compaction step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceCompaction {
    /// The blocks merged (empty when nothing was to do).
    pub sources: Vec<Ulid>,
    /// The block written in their place.
    pub output: Option<TraceBlockMeta>,
}

impl TraceStore {
    /// Cuts when the head holds more than its size bound or has held spans longer than its
    /// age bound.
    pub(super) async fn maybe_cut(&self) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        let too_big = self.head.bytes() >= self.cfg.head_max_bytes;
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
    pub(super) async fn cut(&self) -> Result<TraceFlushOutcome> {
        let _cut = self.cut_lock.lock().await;
        if self.is_closed() {
            return Err(Error::Shutdown);
        }
        let started = std::time::Instant::now();
        let (frozen, first_kept) = {
            let _gate = self.gate.write().await;
            let mut frozen = Vec::new();
            for th in self.head.tenants() {
                let f = th.freeze();
                if f.is_empty() {
                    th.release();
                } else {
                    frozen.push((th, f));
                }
            }
            *self.oldest_append.lock() = None;
            let seg = self.wal.rotate().await?;
            (frozen, seg)
        };
        let mut outcome = TraceFlushOutcome::default();
        for (th, traces) in frozen {
            let tenant = th.tenant.clone();
            let meta = match self.write_traces(&tenant, traces).await {
                Ok(Some(m)) => m,
                Ok(None) => {
                    th.release();
                    continue;
                }
                Err(e) => {
                    self.metrics.upload_failures.inc();
                    tracing::error!(tenant = %tenant, error = %e, "trace block upload failed");
                    return Err(e);
                }
            };
            let blocks = self.tenant_blocks(&tenant).await?;
            if let Err(e) = blocks.add_blocks(std::slice::from_ref(&meta)).await {
                self.metrics.upload_failures.inc();
                tracing::error!(tenant = %tenant, error = %e, "adding trace blocks to the catalog failed");
                return Err(e);
            }
            self.tenants.lock().insert(tenant.clone());
            th.release();
            outcome.spans += meta.num_spans;
            self.metrics.blocks_cut.inc();
            self.metrics.uploaded_bytes.inc_by(meta.bytes);
            tracing::info!(tenant = %tenant, block = %meta.ulid, min_time = meta.min_time, max_time = meta.max_time, traces = meta.num_traces, spans = meta.num_spans, bytes = meta.bytes, "trace block written from head");
            outcome.blocks.push(meta);
        }
        let removed = self.wal.remove_before(first_kept).await?;
        self.metrics.cuts.inc();
        self.update_gauges();
        tracing::info!(
            blocks = outcome.blocks.len(),
            spans = outcome.spans,
            wal_segments_removed = removed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "trace head cut"
        );
        Ok(outcome)
    }

    /// Writes sorted traces as one level-0 block.
    async fn write_traces(
        &self,
        tenant: &TenantId,
        traces: Arc<Vec<Trace>>,
    ) -> Result<Option<TraceBlockMeta>> {
        let (level, rg, bits) = (
            self.cfg.zstd_level,
            self.cfg.row_group_spans,
            self.cfg.filter_bits_per_key,
        );
        let encoded = tokio::task::spawn_blocking(move || {
            let mut w = TraceBlockWriter::new(level, rg)?;
            for t in traces.iter() {
                w.push(t)?;
            }
            if w.num_traces() == 0 {
                return Ok(None);
            }
            w.finish(bits).map(Some)
        })
        .await
        .map_err(|e| Error::Internal(format!("trace block encoder panicked: {e}")))??;
        match encoded {
            Some(enc) => put_block(&self.store, tenant, enc, 0, Vec::new())
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// One compaction step: the blocks of the first window (of the compaction ranges)
    /// holding several are merged into one, replacing them in one catalog change.
    pub(super) async fn compact_once(&self, tb: &TraceBlocks) -> Result<TraceCompaction> {
        let snap = tb.snapshot();
        let spans: Vec<(Ulid, i64, i64)> = snap
            .blocks
            .iter()
            .map(|b| (b.meta.ulid, b.meta.max_time, b.meta.max_time))
            .collect();
        let Some(group) = plan_compaction_spans(&spans, &self.cfg.compaction_ranges_ns) else {
            tb.delete_retired().await?;
            return Ok(TraceCompaction::default());
        };
        let sources: Vec<Arc<TraceBlockReader>> = snap
            .blocks
            .iter()
            .filter(|b| group.contains(&b.meta.ulid))
            .cloned()
            .collect();
        drop(snap);
        let level = sources.iter().map(|b| b.meta.level).max().unwrap_or(0) + 1;
        let Some(encoded) = self.merge(&sources).await? else {
            return Ok(TraceCompaction::default());
        };
        drop(sources);
        let meta = put_block(&self.store, &tb.tenant, encoded, level, group.clone()).await?;
        if !tb.replace(&group, &meta).await? {
            super::block::delete_block(&self.store, &tb.tenant, meta.ulid).await?;
            return Ok(TraceCompaction::default());
        }
        self.metrics.compactions.inc();
        self.metrics.uploaded_bytes.inc_by(meta.bytes);
        tracing::info!(tenant = %tb.tenant, sources = group.len(), output = %meta.ulid, level, traces = meta.num_traces, spans = meta.num_spans, "trace blocks compacted");
        tb.delete_retired().await?;
        Ok(TraceCompaction {
            sources: group,
            output: Some(meta),
        })
    }

    /// Merges `sources` into one encoded block, reading one row group of each at a time.
    async fn merge(
        &self,
        sources: &[Arc<TraceBlockReader>],
    ) -> Result<Option<super::block::EncodedTraceBlock>> {
        struct Cursor {
            next_rg: usize,
            buf: VecDeque<Trace>,
        }
        let all: Arc<dyn Fn(&cairn_model::TraceId) -> bool + Send + Sync> = Arc::new(|_| true);
        let mut cursors: Vec<Cursor> = sources
            .iter()
            .map(|_| Cursor {
                next_rg: 0,
                buf: VecDeque::new(),
            })
            .collect();
        let mut writer = TraceBlockWriter::new(self.cfg.zstd_level, self.cfg.row_group_spans)?;
        let mut batch: Vec<Trace> = Vec::new();
        loop {
            // Refill the cursors that ran dry.
            for (i, c) in cursors.iter_mut().enumerate() {
                while c.buf.is_empty() && c.next_rg < sources[i].meta.row_groups.len() {
                    let rg = c.next_rg;
                    c.next_rg += 1;
                    c.buf = sources[i]
                        .read_row_group(rg, Arc::clone(&all), false)
                        .await?
                        .into();
                    self.metrics.row_groups_read.inc();
                }
            }
            let Some(min) = cursors
                .iter()
                .filter_map(|c| c.buf.front())
                .map(Trace::id)
                .min()
            else {
                break;
            };
            let mut t = Trace::new(min);
            for c in &mut cursors {
                if c.buf.front().is_some_and(|f| f.id() == min)
                    && let Some(part) = c.buf.pop_front()
                {
                    t.merge(part);
                }
            }
            t.sort();
            batch.push(t);
            if batch.len() >= 1024 {
                writer = write_batch(writer, std::mem::take(&mut batch)).await?;
            }
        }
        let w = write_batch(writer, batch).await?;
        if w.num_traces() == 0 {
            return Ok(None);
        }
        let bits = self.cfg.filter_bits_per_key;
        let enc = tokio::task::spawn_blocking(move || w.finish(bits))
            .await
            .map_err(|e| Error::Internal(format!("trace block encoder panicked: {e}")))??;
        Ok(Some(enc))
    }
}

/// Adds sorted traces to `w` off the reactor.
async fn write_batch(mut w: TraceBlockWriter, batch: Vec<Trace>) -> Result<TraceBlockWriter> {
    tokio::task::spawn_blocking(move || {
        for t in &batch {
            w.push(t)?;
        }
        Ok::<_, Error>(w)
    })
    .await
    .map_err(|e| Error::Internal(format!("trace block encoder panicked: {e}")))?
}
