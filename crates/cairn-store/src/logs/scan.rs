//! Log scans: the head and the blocks merged window by window, in the request's direction.
//!
//! A scan takes, in this order, a snapshot of the matching head streams (their sealed
//! chunks and a copy of their tails) and a snapshot of the tenant's blocks: a cut names its
//! blocks in the catalog before it drops their chunks from the head, so an entry being moved
//! is seen at least once, and the merge drops the second copy.
//!
//! Windows are aligned slices of time as wide as the widest row group of the blocks read
//! (row group widths divide each other, so each row group lies in one window and is decoded
//! once) or, for a head alone, sized to its volume. Only windows holding selected data are
//! visited; each becomes one [`LogChunk`], so a backward query for the newest 100 lines reads
//! the newest window and stops.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cairn_model::{
    Direction, LogChunk, LogScan, LogSelectRequest, QueryError, QueryErrorKind, ScanStats,
};
use memchr::memmem::Finder;

use super::block::{LogBlockReader, RowFilter, Rows, RunsTable, slice_width};
use super::chunk::HeadChunk;
use super::filter;
use super::head::TenantLogHead;
use crate::error::{Error, Result};
use crate::head::matches_all;
use crate::storage::to_query_error;

/// One head stream as the scan saw it (its tail copied into a chunk of its own).
struct HeadPart {
    global: u32,
    chunks: Vec<Arc<HeadChunk>>,
}

/// One block with the runs the scan reads, grouped by row group.
struct BlockPart {
    reader: Arc<LogBlockReader>,
    /// Block stream id -> global stream index.
    map: BTreeMap<u32, u32>,
    runs: Arc<RunsTable>,
    /// Selected run indexes.
    selected: Vec<usize>,
}

/// A block, its matching streams (block id and labels), its runs and the selected runs.
type SelectedBlock = (
    Arc<LogBlockReader>,
    Vec<(u32, cairn_model::Labels)>,
    Arc<RunsTable>,
    Vec<usize>,
);

/// A running scan.
pub(crate) struct Scanner {
    streams: Arc<Vec<cairn_model::Labels>>,
    head: Vec<HeadPart>,
    blocks: Vec<BlockPart>,
    /// Window starts still to visit, in visiting order (reversed: popped from the end).
    windows: Vec<i64>,
    width: i64,
    start: i64,
    end: i64,
    needles: Arc<Vec<Finder<'static>>>,
    with_metadata: bool,
    stats: ScanStats,
}

fn internal(e: impl std::fmt::Display) -> QueryError {
    QueryError::new(QueryErrorKind::Internal, e.to_string())
}

/// The matching head streams as a scan sees them: labels and the chunks overlapping
/// `[start, end)`, the tail copied into one more chunk.
pub(crate) type HeadSnapshot = Vec<(cairn_model::Labels, Vec<Arc<HeadChunk>>)>;

/// Takes the head's share of a scan; call it before taking the blocks' snapshot.
pub(crate) async fn snapshot_head(
    req: &LogSelectRequest,
    head: Option<Arc<TenantLogHead>>,
) -> std::result::Result<HeadSnapshot, QueryError> {
    let Some(th) = head else {
        return Ok(Vec::new());
    };
    let (start, last) = (req.start_ns, req.end_ns.saturating_sub(1));
    let matchers = req.matchers.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for s in th.matching(&matchers) {
            let d = s.data.lock();
            let mut chunks: Vec<Arc<HeadChunk>> = d
                .chunks
                .iter()
                .filter(|c| c.max_ts >= start && c.min_ts <= last)
                .cloned()
                .collect();
            let tail = (!d.tail.is_empty() && d.tail.max_ts >= start && d.tail.min_ts <= last)
                .then(|| d.tail.clone());
            drop(d);
            if let Some(t) = tail {
                chunks.push(Arc::new(HeadChunk::raw(t.sorted()?.0)));
            }
            if !chunks.is_empty() {
                out.push((s.labels.clone(), chunks));
            }
        }
        Ok::<_, Error>(out)
    })
    .await
    .map_err(internal)?
    .map_err(to_query_error)
}

/// Starts a scan over a head snapshot and the blocks (a snapshot taken after the head's).
pub(crate) async fn start(
    req: &LogSelectRequest,
    head_parts: HeadSnapshot,
    blocks: Vec<Arc<LogBlockReader>>,
) -> std::result::Result<Scanner, QueryError> {
    let (start, end) = (req.start_ns, req.end_ns);
    let last = end.saturating_sub(1);
    let mut stats = ScanStats::default();
    let needles: Vec<Finder<'static>> = req
        .line_contains
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| Finder::new(n.as_bytes()).into_owned())
        .collect();
    let mut keys: Vec<u64> = req
        .line_contains
        .iter()
        .flat_map(|n| filter::needle_keys(n))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut labels: BTreeSet<cairn_model::Labels> =
        head_parts.iter().map(|(l, _)| l.clone()).collect();
    let mut block_parts: Vec<SelectedBlock> = Vec::new();
    for b in blocks {
        if !b.meta.overlaps(start, last) {
            continue;
        }
        let streams = b.streams().await.map_err(to_query_error)?;
        let matched: BTreeMap<u32, cairn_model::Labels> = streams
            .ids
            .iter()
            .zip(&streams.labels)
            .filter(|(_, l)| matches_all(l, &req.matchers))
            .map(|(id, l)| (*id, l.clone()))
            .collect();
        if matched.is_empty() {
            continue;
        }
        let runs = b.runs().await.map_err(to_query_error)?;
        let mut selected = Vec::new();
        let mut used = BTreeSet::new();
        for r in 0..runs.len() {
            if !matched.contains_key(&runs.stream[r]) || runs.max[r] < start || runs.min[r] > last {
                continue;
            }
            stats.chunks_ref += 1;
            used.insert(runs.stream[r]);
            if !filter::may_contain_all(&runs.filter[r], &keys) {
                stats.chunks_skipped_by_index += 1;
                continue;
            }
            selected.push(r);
        }
        let ids: Vec<(u32, cairn_model::Labels)> = matched
            .into_iter()
            .filter(|(id, _)| used.contains(id))
            .collect();
        labels.extend(ids.iter().map(|(_, l)| l.clone()));
        block_parts.push((b, ids, runs, selected));
    }
    if req.max_streams > 0 && labels.len() > req.max_streams {
        return Err(QueryError::new(
            QueryErrorKind::LimitExceeded,
            format!(
                "the query would read too many streams ({} streams, the limit is {})",
                labels.len(),
                req.max_streams
            ),
        ));
    }
    let streams: Vec<cairn_model::Labels> = labels.into_iter().collect();
    let global = |l: &cairn_model::Labels| streams.binary_search(l).map_or(u32::MAX, |i| i as u32);
    let head: Vec<HeadPart> = head_parts
        .into_iter()
        .map(|(l, chunks)| HeadPart {
            global: global(&l),
            chunks,
        })
        .collect();
    let blocks: Vec<BlockPart> = block_parts
        .into_iter()
        .filter(|(_, _, _, sel)| !sel.is_empty())
        .map(|(reader, ids, runs, selected)| BlockPart {
            map: ids.iter().map(|(id, l)| (*id, global(l))).collect(),
            reader,
            runs,
            selected,
        })
        .collect();
    // Window width: the widest row group read, or what suits the head's volume.
    let head_bytes: u64 = head
        .iter()
        .map(|h| h.chunks.iter().map(|c| c.raw_bytes).sum::<u64>())
        .sum();
    // Over the time the head's data covers, not the query's range: a day-long query over an
    // hour of head data must not put the hour in one window.
    let (hlo, hhi) = head
        .iter()
        .flat_map(|h| h.chunks.iter().map(|c| (c.min_ts, c.max_ts)))
        .fold((i64::MAX, i64::MIN), |(a, b), (x, y)| (a.min(x), b.max(y)));
    let span = (hhi.min(last).saturating_sub(hlo.max(start))).max(1);
    let mut width = slice_width(head_bytes, span, 1, 2 * 3_600_000_000_000);
    for b in &blocks {
        width = width.max(b.reader.meta.slice_ns);
    }
    let mut starts: BTreeSet<i64> = BTreeSet::new();
    let mut add = |lo: i64, hi: i64| {
        let (lo, hi) = (lo.max(start), hi.min(last));
        if lo > hi {
            return;
        }
        let mut w = lo.div_euclid(width) * width;
        while w <= hi {
            starts.insert(w);
            w = w.saturating_add(width);
        }
    };
    for h in &head {
        for c in &h.chunks {
            add(c.min_ts, c.max_ts);
        }
    }
    for b in &blocks {
        for &r in &b.selected {
            add(b.runs.min[r], b.runs.max[r]);
        }
    }
    let mut windows: Vec<i64> = starts.into_iter().collect();
    // Popped from the end: forward visits the oldest first.
    if req.direction == Direction::Forward {
        windows.reverse();
    }
    Ok(Scanner {
        streams: Arc::new(streams),
        head,
        blocks,
        windows,
        width,
        start,
        end,
        needles: Arc::new(needles),
        with_metadata: req.with_metadata,
        stats,
    })
}

impl Scanner {
    async fn window(&mut self, ws: i64) -> Result<LogChunk> {
        let t0 = Instant::now();
        let lo = ws.max(self.start);
        let hi = ws
            .saturating_add(self.width)
            .min(self.end)
            .saturating_sub(1);
        let filter = RowFilter {
            lo,
            hi,
            needles: Arc::clone(&self.needles),
            with_metadata: self.with_metadata,
        };
        let mut rows = Rows::default();
        // Head: decompression is CPU work.
        let parts: Vec<(u32, Vec<Arc<HeadChunk>>)> = self
            .head
            .iter()
            .map(|h| {
                let chunks: Vec<Arc<HeadChunk>> = h
                    .chunks
                    .iter()
                    .filter(|c| c.max_ts >= lo && c.min_ts <= hi)
                    .cloned()
                    .collect();
                (h.global, chunks)
            })
            .filter(|(_, c)| !c.is_empty())
            .collect();
        if !parts.is_empty() {
            let f = filter.clone();
            let (r, lines, bytes) = tokio::task::spawn_blocking(move || {
                let mut rows = Rows::default();
                let (mut lines, mut bytes) = (0u64, 0u64);
                for (g, chunks) in parts {
                    let mut visit = |ts: i64, line: &str, meta: &[(&str, &str)]| {
                        lines += 1;
                        bytes += line.len() as u64;
                        if f.keeps(ts, line) {
                            let meta = if f.with_metadata { meta } else { &[] };
                            rows.push(g, ts, line, meta);
                        }
                    };
                    for c in &chunks {
                        c.for_each_in(lo, hi, &mut visit)?;
                    }
                }
                Ok::<_, Error>((rows, lines, bytes))
            })
            .await
            .map_err(|e| Error::Internal(format!("head scan panicked: {e}")))??;
            rows = r;
            self.stats.head_lines += lines;
            self.stats.head_bytes += bytes;
        }
        for b in &self.blocks {
            let mut by_rg: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
            for &r in &b.selected {
                if b.runs.max[r] >= lo && b.runs.min[r] <= hi {
                    by_rg
                        .entry(b.runs.row_group[r])
                        .or_default()
                        .push((b.runs.first_row[r], b.runs.num_rows[r]));
                    self.stats.chunks_downloaded += 1;
                }
            }
            for (rg, mut ranges) in by_rg {
                ranges.sort_unstable();
                let before = rows.len();
                let (r, o) = b
                    .reader
                    .read_rows(
                        rg as usize,
                        &ranges,
                        filter.clone(),
                        true,
                        std::mem::take(&mut rows),
                    )
                    .await?;
                rows = r;
                for s in rows.stream[before..].iter_mut() {
                    *s = b.map.get(s).copied().unwrap_or(u32::MAX);
                }
                self.stats.decompressed_lines += o.lines;
                self.stats.decompressed_bytes += o.bytes;
                self.stats.compressed_bytes += o.compressed;
            }
        }
        // Sorting and copying a window's entries is CPU work too.
        let streams = Arc::clone(&self.streams);
        let (chunk, dups) = tokio::task::spawn_blocking(move || assemble(&rows, &streams, lo, hi))
            .await
            .map_err(|e| Error::Internal(format!("log chunk assembly panicked: {e}")))??;
        self.stats.duplicates += dups;
        self.stats.fetch_ns += t0.elapsed().as_nanos() as u64;
        Ok(chunk)
    }
}

/// The chunk of `[lo, hi]` from gathered rows (streams are indexes into `streams`): sorted
/// by stream and time, repeats dropped; also how many were dropped.
fn assemble(
    rows: &Rows,
    streams: &[cairn_model::Labels],
    lo: i64,
    hi: i64,
) -> Result<(LogChunk, u64)> {
    let (order, dups) = rows.order();
    let mut chunk = LogChunk {
        min_ns: lo,
        max_ns: hi,
        ..LogChunk::default()
    };
    let mut local: BTreeMap<u32, u32> = BTreeMap::new();
    for &i in &order {
        let g = rows.stream[i as usize];
        let Some(labels) = streams.get(g as usize) else {
            return Err(Error::Internal("log row of an unknown stream".into()));
        };
        if let std::collections::btree_map::Entry::Vacant(v) = local.entry(g) {
            v.insert(chunk.streams.len() as u32);
            chunk.streams.push(labels.clone());
        }
    }
    chunk.entries.reserve(order.len());
    let mut meta: Vec<(String, String)> = Vec::new();
    for &i in &order {
        let i = i as usize;
        let s = local[&rows.stream[i]];
        meta.clear();
        meta.extend(rows.meta(i).map(|(k, v)| (k.to_string(), v.to_string())));
        chunk.push(s, rows.ts[i], rows.line(i), &meta);
    }
    Ok((chunk, dups as u64))
}

#[async_trait]
impl LogScan for Scanner {
    async fn next_chunk(&mut self) -> std::result::Result<Option<LogChunk>, QueryError> {
        while let Some(ws) = self.windows.pop() {
            let chunk = self.window(ws).await.map_err(to_query_error)?;
            if !chunk.entries.is_empty() {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }

    fn stats(&self) -> ScanStats {
        self.stats.clone()
    }
}
