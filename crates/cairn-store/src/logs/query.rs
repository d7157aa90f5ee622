//! [`LogQuerier`] over the head and the blocks: scans, streams, label names and values, and
//! per-stream counts.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use cairn_model::{
    Labels, LogCounts, LogQuerier, LogScan, LogSelectRequest, LogSeriesRequest, LogStatsRequest,
    Matcher, QueryError, QueryErrorKind, StreamCounts, TenantId,
};

use super::LogStore;
use super::scan;
use crate::head::matches_all;
use crate::storage::to_query_error;

fn bad_range(start: i64, end: i64) -> Option<QueryError> {
    (end < start).then(|| {
        QueryError::new(
            QueryErrorKind::BadData,
            format!("end {end} is before start {start}"),
        )
    })
}

fn selected(l: &Labels, selectors: &[Vec<Matcher>]) -> bool {
    selectors.is_empty() || selectors.iter().any(|m| matches_all(l, m))
}

/// A unit of stored entries (head chunk, head tail, block run) spread over buckets.
struct Unit {
    min: i64,
    max: i64,
    entries: u64,
    bytes: u64,
}

/// Adds `u` to the buckets of `[start, end)` (`step` wide, from `start`), each bucket taking
/// the share of the unit's span inside it.
fn spread(u: &Unit, start: i64, end: i64, step: i64, out: &mut BTreeMap<i64, LogCounts>) {
    let lo = u.min.max(start);
    let hi = u.max.min(end - 1);
    if lo > hi {
        return;
    }
    let span = (u.max as i128 - u.min as i128 + 1) as f64;
    let mut b = start + (lo - start) / step * step;
    while b <= hi {
        let (blo, bhi) = (b.max(lo), (b + step - 1).min(hi));
        let share = (bhi as i128 - blo as i128 + 1) as f64 / span;
        let c = out.entry(b).or_default();
        c.entries += (u.entries as f64 * share).round() as u64;
        c.bytes += (u.bytes as f64 * share).round() as u64;
        c.chunks += 1;
        b = b.saturating_add(step);
    }
}

impl LogStore {
    /// Streams with entries in `[start, end)`, with their units, from head and blocks.
    async fn units(
        &self,
        tenant: &TenantId,
        selectors: &[Vec<Matcher>],
        start: i64,
        end: i64,
    ) -> Result<BTreeMap<Labels, Vec<Unit>>, QueryError> {
        let last = end.saturating_sub(1);
        let mut out: BTreeMap<Labels, Vec<Unit>> = BTreeMap::new();
        if let Some(th) = self.head.get(tenant) {
            for s in th.all_streams() {
                if !selected(&s.labels, selectors) {
                    continue;
                }
                let d = s.data.lock();
                let mut units: Vec<Unit> = d
                    .chunks
                    .iter()
                    .filter(|c| c.max_ts >= start && c.min_ts <= last)
                    .map(|c| Unit {
                        min: c.min_ts,
                        max: c.max_ts,
                        entries: u64::from(c.entries),
                        bytes: c.raw_bytes,
                    })
                    .collect();
                let t = &d.tail;
                if !t.is_empty() && t.max_ts >= start && t.min_ts <= last {
                    units.push(Unit {
                        min: t.min_ts,
                        max: t.max_ts,
                        entries: u64::from(t.len()),
                        bytes: t.raw_bytes,
                    });
                }
                drop(d);
                if !units.is_empty() {
                    out.entry(s.labels.clone()).or_default().extend(units);
                }
            }
        }
        if let Some(tb) = self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            let snap = tb.snapshot();
            for b in snap.blocks.iter().filter(|b| b.meta.overlaps(start, last)) {
                let streams = b.streams().await.map_err(to_query_error)?;
                let runs = b.runs().await.map_err(to_query_error)?;
                let wanted: BTreeMap<u32, &Labels> = streams
                    .ids
                    .iter()
                    .zip(&streams.labels)
                    .filter(|(_, l)| selected(l, selectors))
                    .map(|(id, l)| (*id, l))
                    .collect();
                for r in 0..runs.len() {
                    let Some(l) = wanted.get(&runs.stream[r]) else {
                        continue;
                    };
                    if runs.max[r] < start || runs.min[r] > last {
                        continue;
                    }
                    out.entry((*l).clone()).or_default().push(Unit {
                        min: runs.min[r],
                        max: runs.max[r],
                        entries: u64::from(runs.num_rows[r]),
                        bytes: runs.bytes[r],
                    });
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl LogQuerier for LogStore {
    async fn select_logs(
        &self,
        tenant: &TenantId,
        req: &LogSelectRequest,
    ) -> Result<Box<dyn LogScan>, QueryError> {
        if let Some(e) = bad_range(req.start_ns, req.end_ns) {
            return Err(e);
        }
        // Head before blocks: see `scan`.
        let head = scan::snapshot_head(req, self.head.get(tenant)).await?;
        let blocks = match self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            Some(tb) => tb.snapshot().blocks.clone(),
            None => Vec::new(),
        };
        let s = scan::start(req, head, blocks).await?;
        Ok(Box::new(s))
    }

    async fn log_series(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        if let Some(e) = bad_range(req.start_ns, req.end_ns) {
            return Err(e);
        }
        Ok(self
            .units(tenant, &req.selectors, req.start_ns, req.end_ns)
            .await?
            .into_keys()
            .collect())
    }

    async fn log_label_names(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut names = BTreeSet::new();
        for l in self.log_series(tenant, req).await? {
            for x in l.iter() {
                if !names.contains(x.name) {
                    names.insert(x.name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    async fn log_label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut values = BTreeSet::new();
        for l in self.log_series(tenant, req).await? {
            if let Some(v) = l.get(name)
                && !values.contains(v)
            {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }

    async fn log_stream_counts(
        &self,
        tenant: &TenantId,
        req: &LogStatsRequest,
    ) -> Result<Vec<StreamCounts>, QueryError> {
        if let Some(e) = bad_range(req.start_ns, req.end_ns) {
            return Err(e);
        }
        let step = match req.step_ns {
            Some(s) if s > 0 => s,
            Some(s) => {
                return Err(QueryError::new(
                    QueryErrorKind::BadData,
                    format!("step {s} must be positive"),
                ));
            }
            None => (req.end_ns - req.start_ns).max(1),
        };
        let units = self
            .units(
                tenant,
                std::slice::from_ref(&req.matchers),
                req.start_ns,
                req.end_ns,
            )
            .await?;
        let mut out = Vec::with_capacity(units.len());
        for (labels, us) in units {
            let mut buckets = BTreeMap::new();
            for u in &us {
                spread(u, req.start_ns, req.end_ns, step, &mut buckets);
            }
            buckets.retain(|_, c: &mut LogCounts| c.entries > 0);
            if !buckets.is_empty() {
                out.push(StreamCounts {
                    labels,
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

    #[test]
    fn units_spread_in_proportion() {
        let mut out = BTreeMap::new();
        let u = Unit {
            min: 0,
            max: 99,
            entries: 10,
            bytes: 1000,
        };
        spread(&u, 50, 200, 25, &mut out);
        let got: Vec<(i64, u64, u64)> = out.iter().map(|(k, c)| (*k, c.entries, c.bytes)).collect();
        assert_eq!(got, vec![(50, 3, 250), (75, 3, 250)]);
    }
}
