//! An in-memory [`LogQuerier`], for tests and the conformance runner: every answer is computed
//! by scanning, and scans honour the trait's invariants (chunks in the request's direction,
//! non-overlapping in time, entries sorted by stream then time inside a chunk).

use std::collections::BTreeMap;

use async_trait::async_trait;
use cairn_model::Labels;
use cairn_model::{
    Direction, LogChunk, LogCounts, LogEntry, LogQuerier, LogScan, LogSelectRequest,
    LogSeriesRequest, LogStatsRequest, Matcher, QueryError, QueryErrorKind, ScanStats,
    StreamCounts, TenantId,
};

/// Log streams held in memory per tenant.
#[derive(Clone, Debug)]
pub struct MemoryLogQuerier {
    tenants: BTreeMap<String, BTreeMap<Labels, Vec<LogEntry>>>,
    chunk_entries: usize,
}

impl Default for MemoryLogQuerier {
    fn default() -> Self {
        MemoryLogQuerier {
            tenants: BTreeMap::new(),
            chunk_entries: 1024,
        }
    }
}

impl MemoryLogQuerier {
    /// An empty store.
    pub fn new() -> Self {
        MemoryLogQuerier::default()
    }

    /// Sets how many entries a scan's chunk holds at most (entries with the same timestamp
    /// always share a chunk, so a chunk may hold more); small values exercise callers' chunk
    /// handling.
    pub fn with_chunk_entries(mut self, n: usize) -> Self {
        self.chunk_entries = n.max(1);
        self
    }

    /// Adds entries to the stream `labels` of `tenant` (kept sorted by time; an entry equal in
    /// timestamp and line to a stored one is kept once).
    pub fn add(&mut self, tenant: &TenantId, labels: Labels, entries: &[LogEntry]) {
        let stream = self
            .tenants
            .entry(tenant.as_str().to_owned())
            .or_default()
            .entry(labels)
            .or_default();
        for e in entries {
            let lo = stream.partition_point(|x| x.ts_ns < e.ts_ns);
            let hi = stream.partition_point(|x| x.ts_ns <= e.ts_ns);
            if stream[lo..hi].iter().any(|x| x.line == e.line) {
                continue;
            }
            stream.insert(hi, e.clone());
        }
    }

    /// Removes every stream of every tenant.
    pub fn clear(&mut self) {
        self.tenants.clear();
    }

    fn streams<'a>(
        &'a self,
        tenant: &TenantId,
    ) -> impl Iterator<Item = (&'a Labels, &'a Vec<LogEntry>)> + 'a {
        self.tenants
            .get(tenant.as_str())
            .into_iter()
            .flat_map(|m| m.iter())
    }

    fn selected<'a>(
        &'a self,
        tenant: &TenantId,
        selectors: &'a [Vec<Matcher>],
        start_ns: i64,
        end_ns: i64,
    ) -> impl Iterator<Item = &'a Labels> + 'a {
        self.streams(tenant)
            .filter(move |(l, _)| {
                selectors.is_empty() || selectors.iter().any(|ms| matches_all(l, ms))
            })
            .filter(move |(_, es)| in_range(es, start_ns, end_ns).next().is_some())
            .map(|(l, _)| l)
    }
}

fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

fn in_range(es: &[LogEntry], start_ns: i64, end_ns: i64) -> impl Iterator<Item = &LogEntry> {
    let lo = es.partition_point(|e| e.ts_ns < start_ns);
    let hi = es.partition_point(|e| e.ts_ns < end_ns).max(lo);
    es[lo..hi].iter()
}

/// A scan over precomputed chunks.
struct MemoryScan {
    chunks: std::vec::IntoIter<LogChunk>,
    stats: ScanStats,
}

#[async_trait]
impl LogScan for MemoryScan {
    async fn next_chunk(&mut self) -> Result<Option<LogChunk>, QueryError> {
        let c = self.chunks.next();
        if let Some(c) = &c {
            self.stats.head_lines += c.entries.len() as u64;
            self.stats.head_bytes += c.lines.len() as u64;
            self.stats.chunks_ref += 1;
            self.stats.chunks_downloaded += 1;
        }
        Ok(c)
    }

    fn stats(&self) -> ScanStats {
        self.stats.clone()
    }
}

#[async_trait]
impl LogQuerier for MemoryLogQuerier {
    async fn select_logs(
        &self,
        tenant: &TenantId,
        req: &LogSelectRequest,
    ) -> Result<Box<dyn LogScan>, QueryError> {
        let mut streams: Vec<(&Labels, Vec<&LogEntry>)> = Vec::new();
        for (labels, es) in self.streams(tenant) {
            if !matches_all(labels, &req.matchers) {
                continue;
            }
            let kept: Vec<&LogEntry> = in_range(es, req.start_ns, req.end_ns)
                .filter(|e| {
                    req.line_contains
                        .iter()
                        .all(|n| e.line.contains(n.as_str()))
                })
                .collect();
            if kept.is_empty() {
                continue;
            }
            streams.push((labels, kept));
            if req.max_streams > 0 && streams.len() > req.max_streams {
                return Err(QueryError::new(
                    QueryErrorKind::LimitExceeded,
                    format!(
                        "the query hit the max number of streams limit (limit: {} streams)",
                        req.max_streams
                    ),
                ));
            }
        }
        // Chunk boundaries: runs of timestamps holding about `chunk_entries` entries, never
        // splitting one timestamp.
        let mut times: Vec<i64> = streams
            .iter()
            .flat_map(|(_, es)| es.iter().map(|e| e.ts_ns))
            .collect();
        times.sort_unstable();
        let mut bounds: Vec<(i64, i64)> = Vec::new();
        let mut i = 0;
        while i < times.len() {
            let lo = times[i];
            let mut j = (i + self.chunk_entries).min(times.len()) - 1;
            while j + 1 < times.len() && times[j + 1] == times[j] {
                j += 1;
            }
            bounds.push((lo, times[j]));
            i = j + 1;
        }
        let mut chunks = Vec::with_capacity(bounds.len());
        for (lo, hi) in bounds {
            let mut c = LogChunk {
                min_ns: lo,
                max_ns: hi,
                ..LogChunk::default()
            };
            for (labels, es) in &streams {
                let a = es.partition_point(|e| e.ts_ns < lo);
                let b = es.partition_point(|e| e.ts_ns <= hi);
                if a == b {
                    continue;
                }
                let idx = c.streams.len() as u32;
                c.streams.push((*labels).clone());
                for e in &es[a..b] {
                    let md: &[(String, String)] = if req.with_metadata { &e.metadata } else { &[] };
                    c.push(idx, e.ts_ns, &e.line, md);
                }
            }
            chunks.push(c);
        }
        if req.direction == Direction::Backward {
            chunks.reverse();
        }
        Ok(Box::new(MemoryScan {
            chunks: chunks.into_iter(),
            stats: ScanStats::default(),
        }))
    }

    async fn log_series(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        Ok(self
            .selected(tenant, &req.selectors, req.start_ns, req.end_ns)
            .cloned()
            .collect())
    }

    async fn log_label_names(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut names: Vec<String> = self
            .selected(tenant, &req.selectors, req.start_ns, req.end_ns)
            .flat_map(|l| l.iter().map(|x| x.name.to_owned()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn log_label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut values: Vec<String> = self
            .selected(tenant, &req.selectors, req.start_ns, req.end_ns)
            .filter_map(|l| l.get(name).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }

    async fn log_stream_counts(
        &self,
        tenant: &TenantId,
        req: &LogStatsRequest,
    ) -> Result<Vec<StreamCounts>, QueryError> {
        let mut out = Vec::new();
        for (labels, es) in self.streams(tenant) {
            if !matches_all(labels, &req.matchers) {
                continue;
            }
            let mut buckets: BTreeMap<i64, LogCounts> = BTreeMap::new();
            for e in in_range(es, req.start_ns, req.end_ns) {
                let b = match req.step_ns {
                    Some(step) if step > 0 => req.start_ns + (e.ts_ns - req.start_ns) / step * step,
                    _ => req.start_ns,
                };
                let c = buckets.entry(b).or_default();
                c.entries += 1;
                c.bytes += e.size() as u64;
                c.chunks = 1;
            }
            if !buckets.is_empty() {
                out.push(StreamCounts {
                    labels: labels.clone(),
                    buckets: buckets.into_iter().collect(),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    async fn scan_all(q: &MemoryLogQuerier, req: &LogSelectRequest) -> Vec<LogChunk> {
        let t = TenantId::default_tenant();
        let mut s = q.select_logs(&t, req).await.unwrap();
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk().await.unwrap() {
            out.push(c);
        }
        out
    }

    fn req(dir: Direction) -> LogSelectRequest {
        LogSelectRequest {
            matchers: vec![Matcher::equal("app", "a")],
            start_ns: 0,
            end_ns: 100,
            direction: dir,
            line_contains: vec![],
            with_metadata: true,
            max_streams: 0,
        }
    }

    #[tokio::test]
    async fn chunks_keep_the_invariants() {
        let t = TenantId::default_tenant();
        let mut q = MemoryLogQuerier::new().with_chunk_entries(3);
        let e = |ts: i64, s: &str| LogEntry::new(ts, s);
        q.add(
            &t,
            l(&[("app", "a"), ("x", "2")]),
            &[e(1, "a"), e(5, "b"), e(5, "b"), e(9, "c")],
        );
        q.add(
            &t,
            l(&[("app", "a"), ("x", "1")]),
            &[e(5, "d"), e(7, "e"), e(100, "out")],
        );
        q.add(&t, l(&[("app", "b")]), &[e(2, "z")]);
        let fw = scan_all(&q, &req(Direction::Forward)).await;
        let total: usize = fw.iter().map(|c| c.entries.len()).sum();
        assert_eq!(total, 5, "duplicates kept once, range end exclusive");
        for w in fw.windows(2) {
            assert!(w[0].max_ns < w[1].min_ns);
        }
        for c in &fw {
            let keys: Vec<_> = c
                .entries
                .iter()
                .map(|e| (&c.streams[e.stream as usize], e.ts_ns))
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted);
            assert!(c.streams.windows(2).all(|w| w[0] < w[1]));
        }
        let bw = scan_all(&q, &req(Direction::Backward)).await;
        assert_eq!(bw.len(), fw.len());
        assert!(bw.windows(2).all(|w| w[0].min_ns > w[1].max_ns));
        let mut r = req(Direction::Forward);
        r.line_contains = vec!["b".into()];
        let only_b = scan_all(&q, &r).await;
        assert_eq!(only_b.iter().map(|c| c.entries.len()).sum::<usize>(), 1);
    }
}
