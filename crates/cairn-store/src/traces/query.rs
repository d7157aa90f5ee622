//! Reading traces: lookups by id, scans by time, attribute names and values.
//!
//! A scan yields, from each source in turn (the head, then every block overlapping the
//! range, newest (min_time, ulid) first), the complete traces of that source with a span in the
//! range. A trace split across sources (spans that came after a cut, before compaction
//! joined them) is yielded once per source, each time with the spans that source holds, as
//! Tempo's search does before compaction; callers that need one answer per trace id merge
//! by id.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use cairn_model::{AttrValue, Attribute, TenantId, Trace, TraceId};
use tokio_util::sync::CancellationToken;

use super::TraceStore;
use super::block::{Resolved, TagNames, ns_i64, resolve};
use super::filter::TraceFilter;
use crate::error::Result;

/// Where an attribute sits, for [`TraceStore::tag_names`] and [`TraceStore::tag_values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagScope {
    /// Span attributes.
    Span,
    /// Resource attributes.
    Resource,
    /// Event attributes.
    Event,
    /// Link attributes.
    Link,
    /// Instrumentation scope attributes.
    Scope,
}

/// What a scan read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Traces handed to the callback.
    pub traces: u64,
    /// Blocks whose time range overlapped the scan.
    pub blocks: u64,
    /// Row groups read.
    pub row_groups_read: u64,
    /// Row groups of those blocks skipped by their time range, or by the filter for the
    /// whole block.
    pub row_groups_skipped: u64,
    /// Traces of the blocks that the filter's columns ruled out before they were read.
    pub traces_filtered_out: u64,
    /// Whether the scan stopped because its token was cancelled.
    pub canceled: bool,
}

fn overlaps(t: &Trace, start: u64, end: u64) -> bool {
    t.time_range_ns()
        .is_some_and(|(s, e)| s <= end && e >= start)
}

fn keys_of<'a>(t: &'a Trace, scope: TagScope) -> Box<dyn Iterator<Item = &'a Attribute> + 'a> {
    match scope {
        TagScope::Resource => Box::new(t.resources().iter().flat_map(|r| &r.resource.attributes)),
        TagScope::Scope => Box::new(
            t.resources()
                .iter()
                .flat_map(|r| &r.scopes)
                .flat_map(|s| &s.scope.attributes),
        ),
        TagScope::Span => Box::new(t.spans().flat_map(|(_, _, s)| &s.attributes)),
        TagScope::Event => Box::new(
            t.spans()
                .flat_map(|(_, _, s)| &s.events)
                .flat_map(|e| &e.attributes),
        ),
        TagScope::Link => Box::new(
            t.spans()
                .flat_map(|(_, _, s)| &s.links)
                .flat_map(|l| &l.attributes),
        ),
    }
}

/// A total order over values, for de-duplication (doubles by their bits).
fn value_key(v: &AttrValue) -> String {
    match v {
        AttrValue::Double(d) => format!("double:{:016x}", d.to_bits()),
        other => format!(
            "{}:{}",
            super::block::type_name(other),
            super::block::value_json(other)
        ),
    }
}

impl TraceStore {
    /// The trace `id` of `tenant`: its spans in the head and in every block that may hold
    /// it (only blocks overlapping `range`, ns inclusive, when given), merged and sorted as
    /// Tempo sorts. `None` when no span is found.
    pub async fn find_trace(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Trace>> {
        let mut out = Trace::new(*id);
        if let Some(th) = self.head.get(tenant)
            && let Some(t) = th.get(id)
        {
            out.merge(t);
        }
        if let Some(tb) = self.known_tenant_blocks(tenant).await? {
            let snap = tb.snapshot();
            for b in &snap.blocks {
                if let Some((s, e)) = range
                    && !b.meta.overlaps(ns_i64(s), ns_i64(e))
                {
                    continue;
                }
                let Some(rg) = b.may_hold(id).await? else {
                    continue;
                };
                self.metrics.row_groups_read.inc();
                if let Some(t) = b.read_trace(rg, id).await? {
                    out.merge(t);
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        out.sort();
        Ok(Some(out))
    }

    /// Calls `f` with every trace of `tenant` having a span in `[start_ns, end_ns]`, source
    /// by source (module docs: a trace split across sources comes once per source), until
    /// `f` breaks or `cancel` fires. Row groups outside the range are not read.
    pub async fn scan(
        &self,
        tenant: &TenantId,
        start_ns: u64,
        end_ns: u64,
        cancel: &CancellationToken,
        f: impl FnMut(Trace) -> ControlFlow<()> + Send,
    ) -> Result<ScanStats> {
        self.scan_filtered(tenant, start_ns, end_ns, &TraceFilter::All, cancel, f)
            .await
    }

    /// [`TraceStore::scan`] that leaves out the blocks' traces `filter` rules out, checked on
    /// their columns before the traces are read whole (`block` module docs); the head's
    /// traces all come. `filter` must be necessary for what `f` looks for.
    pub async fn scan_filtered(
        &self,
        tenant: &TenantId,
        start_ns: u64,
        end_ns: u64,
        filter: &TraceFilter,
        cancel: &CancellationToken,
        mut f: impl FnMut(Trace) -> ControlFlow<()> + Send,
    ) -> Result<ScanStats> {
        let mut stats = ScanStats::default();
        if let Some(th) = self.head.get(tenant) {
            for t in th.snapshot(start_ns, end_ns) {
                stats.traces += 1;
                if f(t).is_break() {
                    return Ok(stats);
                }
            }
        }
        let Some(tb) = self.known_tenant_blocks(tenant).await? else {
            return Ok(stats);
        };
        let snap = tb.snapshot();
        let (lo, hi) = (ns_i64(start_ns), ns_i64(end_ns));
        let all: Arc<dyn Fn(&TraceId) -> bool + Send + Sync> = Arc::new(|_| true);
        // Newest blocks first: a search that stops at its limit keeps the most recent traces.
        for b in snap.blocks.iter().rev().filter(|b| b.meta.overlaps(lo, hi)) {
            stats.blocks += 1;
            let resolved = resolve(filter, &b.meta);
            for (rg, g) in b.meta.row_groups.iter().enumerate() {
                if g.min_time > hi || g.max_time < lo || matches!(resolved, Resolved::Nothing) {
                    stats.row_groups_skipped += 1;
                    continue;
                }
                if cancel.is_cancelled() {
                    stats.canceled = true;
                    return Ok(stats);
                }
                stats.row_groups_read += 1;
                self.metrics.row_groups_read.inc();
                let traces = match &resolved {
                    Resolved::Filter(bf) => {
                        let r = b
                            .read_row_group_filtered(rg, bf, (start_ns, end_ns), true)
                            .await?;
                        stats.traces_filtered_out += r.seen.saturating_sub(r.traces.len() as u64);
                        r.traces
                    }
                    Resolved::All | Resolved::Nothing => {
                        b.read_row_group(rg, Arc::clone(&all), true).await?
                    }
                };
                for t in traces {
                    if !overlaps(&t, start_ns, end_ns) {
                        continue;
                    }
                    stats.traces += 1;
                    if f(t).is_break() {
                        return Ok(stats);
                    }
                }
            }
        }
        Ok(stats)
    }

    /// Attribute keys of `tenant`'s spans, by scope. The head's traces with a span in
    /// `range` are read; blocks overlapping `range` answer from their meta, so a block
    /// only partly inside the range gives all its names (as Tempo's block-level answer).
    pub async fn tag_names(&self, tenant: &TenantId, range: (u64, u64)) -> Result<TagNames> {
        let mut sets: [BTreeSet<String>; 5] = Default::default();
        const SCOPES: [TagScope; 5] = [
            TagScope::Span,
            TagScope::Resource,
            TagScope::Event,
            TagScope::Link,
            TagScope::Scope,
        ];
        if let Some(th) = self.head.get(tenant) {
            for t in th.snapshot(range.0, range.1) {
                for (i, sc) in SCOPES.iter().enumerate() {
                    for a in keys_of(&t, *sc) {
                        if !sets[i].contains(&a.key) {
                            sets[i].insert(a.key.clone());
                        }
                    }
                }
            }
        }
        if let Some(tb) = self.known_tenant_blocks(tenant).await? {
            let (lo, hi) = (ns_i64(range.0), ns_i64(range.1));
            for b in tb
                .snapshot()
                .blocks
                .iter()
                .filter(|b| b.meta.overlaps(lo, hi))
            {
                let t = &b.meta.tags;
                for (i, names) in [&t.span, &t.resource, &t.event, &t.link, &t.scope]
                    .into_iter()
                    .enumerate()
                {
                    sets[i].extend(names.iter().cloned());
                }
            }
        }
        let [span, resource, event, link, scope] = sets;
        Ok(TagNames {
            span: span.into_iter().collect(),
            resource: resource.into_iter().collect(),
            event: event.into_iter().collect(),
            link: link.into_iter().collect(),
            scope: scope.into_iter().collect(),
        })
    }

    /// Distinct values (typed) of attribute `name` in `scope` among `tenant`'s traces with a
    /// span in `range`, at most `limit` of them (0: no limit), in a stable order (by type,
    /// then value). Exact: the traces are scanned.
    pub async fn tag_values(
        &self,
        tenant: &TenantId,
        scope: TagScope,
        name: &str,
        range: (u64, u64),
        limit: usize,
        cancel: &CancellationToken,
    ) -> Result<Vec<AttrValue>> {
        let mut found: BTreeMap<String, AttrValue> = BTreeMap::new();
        self.scan(tenant, range.0, range.1, cancel, |t| {
            for a in keys_of(&t, scope).filter(|a| a.key == name) {
                let k = value_key(&a.value);
                found.entry(k).or_insert_with(|| a.value.clone());
                if limit != 0 && found.len() >= limit {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
        .await?;
        Ok(found.into_values().collect())
    }
}
