//! The trace head: per tenant, the traces appended since the last cut, keyed by trace id,
//! each gathering its spans as they arrive ([`Trace::combine`]); and, while a cut writes
//! them, the frozen traces of that cut, still read by queries.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_model::{
    AttrValue, Attribute, Event, Link, ResourceSpans, ScopeSpans, Span, TenantId, Trace, TraceId,
};
use parking_lot::{Mutex, RwLock};

/// Approximately the heap and inline bytes `part` takes once held in the head: the structs,
/// every string and attribute, and the per-span entry of the trace's duplicate set. Counting
/// memory (not the WAL record's bytes, several times smaller) is what makes
/// `traces.head_max_size` bound the head's real footprint.
pub(crate) fn memory_size(part: &[ResourceSpans]) -> u64 {
    use std::mem::size_of;
    fn value(v: &AttrValue) -> usize {
        match v {
            AttrValue::String(s) => s.len(),
            AttrValue::Bytes(b) => b.len(),
            AttrValue::Array(a) => a.iter().map(|x| size_of::<AttrValue>() + value(x)).sum(),
            AttrValue::KvList(kv) => attrs(kv),
            _ => 0,
        }
    }
    fn attrs(a: &[Attribute]) -> usize {
        a.iter()
            .map(|x| size_of::<Attribute>() + x.key.len() + value(&x.value))
            .sum()
    }
    // A hash set entry per span (id and kind) with the table's slack.
    const SEEN_PER_SPAN: usize = 32;
    let mut n = 0;
    for rs in part {
        n += size_of::<ResourceSpans>() + rs.schema_url.len() + attrs(&rs.resource.attributes);
        for ss in &rs.scopes {
            n += size_of::<ScopeSpans>()
                + ss.schema_url.len()
                + ss.scope.name.len()
                + ss.scope.version.len()
                + attrs(&ss.scope.attributes);
            for sp in &ss.spans {
                n += size_of::<Span>()
                    + SEEN_PER_SPAN
                    + sp.name.len()
                    + sp.trace_state.len()
                    + sp.status.message.len()
                    + attrs(&sp.attributes);
                for e in &sp.events {
                    n += size_of::<Event>() + e.name.len() + attrs(&e.attributes);
                }
                for l in &sp.links {
                    n += size_of::<Link>() + l.trace_state.len() + attrs(&l.attributes);
                }
            }
        }
    }
    n as u64
}

/// The head of one tenant.
pub(crate) struct TenantHead {
    pub(crate) tenant: TenantId,
    live: Mutex<HashMap<TraceId, Trace>>,
    /// The traces a cut is writing, sorted by id, until the catalog names their block.
    frozen: Mutex<Option<Arc<Vec<Trace>>>>,
    live_bytes: AtomicU64,
    frozen_bytes: AtomicU64,
}

/// What one append added to the head.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Added {
    /// Spans new to their trace.
    pub(crate) spans: u64,
    /// Spans already held (same trace, span id and kind), dropped.
    pub(crate) duplicates: u64,
    /// Memory the added parts take ([`memory_size`]).
    pub(crate) bytes: u64,
}

impl TenantHead {
    /// Adds parts of traces, counting the memory they take ([`memory_size`]).
    pub(crate) fn add(&self, parts: Vec<(TraceId, Vec<ResourceSpans>)>) -> Added {
        let bytes: u64 = parts.iter().map(|(_, p)| memory_size(p)).sum();
        let mut out = Added {
            bytes,
            ..Added::default()
        };
        let mut live = self.live.lock();
        for (id, part) in parts {
            let n: usize = part
                .iter()
                .flat_map(|r| &r.scopes)
                .map(|s| s.spans.len())
                .sum();
            let added = live
                .entry(id)
                .or_insert_with(|| Trace::new(id))
                .combine(part);
            out.spans += added as u64;
            out.duplicates += (n - added) as u64;
        }
        self.live_bytes.fetch_add(bytes, Ordering::Relaxed);
        out
    }

    /// Moves the live traces to the frozen set (joining a set left by a failed cut) and
    /// returns it.
    pub(crate) fn freeze(&self) -> Arc<Vec<Trace>> {
        let live = std::mem::take(&mut *self.live.lock());
        let bytes = self.live_bytes.swap(0, Ordering::Relaxed);
        let mut frozen = self.frozen.lock();
        let mut all: HashMap<TraceId, Trace> = match frozen.take() {
            Some(old) => old.iter().map(|t| (t.id(), t.clone())).collect(),
            None => HashMap::new(),
        };
        for (id, t) in live {
            match all.get_mut(&id) {
                Some(o) => {
                    o.merge(t);
                }
                None => {
                    all.insert(id, t);
                }
            }
        }
        let mut v: Vec<Trace> = all.into_values().collect();
        v.sort_by_key(Trace::id);
        for t in &mut v {
            t.sort();
        }
        let v = Arc::new(v);
        *frozen = Some(Arc::clone(&v));
        self.frozen_bytes.fetch_add(bytes, Ordering::Relaxed);
        v
    }

    /// Drops the frozen set once its block is in the catalog; returns its bytes.
    pub(crate) fn release(&self) -> u64 {
        *self.frozen.lock() = None;
        self.frozen_bytes.swap(0, Ordering::Relaxed)
    }

    /// The head's part of trace `id` (live and frozen, joined), if any.
    pub(crate) fn get(&self, id: &TraceId) -> Option<Trace> {
        let frozen = self.frozen.lock().clone();
        let mut out = frozen.and_then(|f| {
            f.binary_search_by_key(id, Trace::id)
                .ok()
                .map(|i| f[i].clone())
        });
        if let Some(t) = self.live.lock().get(id) {
            match &mut out {
                Some(o) => {
                    o.merge(t.clone());
                }
                None => out = Some(t.clone()),
            }
        }
        out
    }

    /// Copies of the traces with spans in `[start, end]` (ns, inclusive), frozen and live
    /// parts joined, sorted by id.
    pub(crate) fn snapshot(&self, start: u64, end: u64) -> Vec<Trace> {
        let overlaps = |t: &Trace| {
            t.time_range_ns()
                .is_some_and(|(s, e)| s <= end && e >= start)
        };
        let frozen = self.frozen.lock().clone();
        let frozen = frozen.as_deref().map(Vec::as_slice).unwrap_or(&[]);
        let live = self.live.lock();
        let mut ids: Vec<TraceId> = frozen
            .iter()
            .filter(|t| overlaps(t))
            .map(Trace::id)
            .chain(live.values().filter(|t| overlaps(t)).map(Trace::id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let mut t = match frozen.binary_search_by_key(&id, Trace::id) {
                    Ok(i) => frozen[i].clone(),
                    Err(_) => Trace::new(id),
                };
                if let Some(l) = live.get(&id) {
                    t.merge(l.clone());
                }
                t
            })
            .collect()
    }

    /// Traces and spans held (live and frozen).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let live = self.live.lock();
        let mut traces = live.len();
        let mut spans: usize = live.values().map(Trace::span_count).sum();
        if let Some(f) = self.frozen.lock().as_ref() {
            traces += f.len();
            spans += f.iter().map(Trace::span_count).sum::<usize>();
        }
        (traces, spans)
    }

    /// Approximate bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.live_bytes.load(Ordering::Relaxed) + self.frozen_bytes.load(Ordering::Relaxed)
    }
}

/// The trace head of every tenant.
#[derive(Default)]
pub(crate) struct TraceHead {
    tenants: RwLock<HashMap<TenantId, Arc<TenantHead>>>,
}

impl TraceHead {
    /// The head of `tenant`, created on first use.
    pub(crate) fn tenant(&self, tenant: &TenantId) -> Arc<TenantHead> {
        if let Some(t) = self.tenants.read().get(tenant) {
            return Arc::clone(t);
        }
        let mut w = self.tenants.write();
        Arc::clone(w.entry(tenant.clone()).or_insert_with(|| {
            Arc::new(TenantHead {
                tenant: tenant.clone(),
                live: Mutex::new(HashMap::new()),
                frozen: Mutex::new(None),
                live_bytes: AtomicU64::new(0),
                frozen_bytes: AtomicU64::new(0),
            })
        }))
    }

    /// The head of `tenant` if it has one.
    pub(crate) fn get(&self, tenant: &TenantId) -> Option<Arc<TenantHead>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// Every tenant's head.
    pub(crate) fn tenants(&self) -> Vec<Arc<TenantHead>> {
        self.tenants.read().values().cloned().collect()
    }

    /// Approximate bytes held, all tenants.
    pub(crate) fn bytes(&self) -> u64 {
        self.tenants.read().values().map(|t| t.bytes()).sum()
    }
}
