//! The in-memory head: per tenant, the series written since the last cut, their samples in
//! compressed chunks (exact decimals or XOR), and the latest metadata per metric family.
//!
//! Series live in 64 shards, each a `RwLock<HashMap>` keyed by the hash of the canonical
//! label bytes; the full bytes are compared on every hit, and a series whose hash collides
//! with another one's lives in the shard's small collision list. No lock covers all series.
//! A second sharded map lists the series of each metric name, so that selectors naming the
//! metric (nearly all of them) do not scan the whole head.

mod bits;
mod chunk;
mod decimal;
mod series;
mod xor;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use cairn_model::{
    Labels, METRIC_NAME, MatchOp, Matcher, MetricMetadata, Series, SeriesId, TenantId,
};
use parking_lot::{Mutex, RwLock};

use crate::label_order::{cmp_labels, label_value};

pub(crate) use series::MemSeries;

const SHARDS: usize = 64;

/// Why a sample was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Another value exists at the same timestamp.
    Duplicate,
    /// Older than the series' newest sample minus the out-of-order window.
    OutOfOrder,
    /// Older than the head's minimum valid time (already cut into blocks).
    OutOfBounds,
    /// The series' labels are invalid (empty or duplicate names, no labels).
    InvalidLabels,
}

impl RejectReason {
    /// Every reason, in a stable order.
    pub const ALL: [RejectReason; 4] = [
        RejectReason::Duplicate,
        RejectReason::OutOfOrder,
        RejectReason::OutOfBounds,
        RejectReason::InvalidLabels,
    ];

    /// A stable name, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Duplicate => "duplicate_timestamp",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::OutOfBounds => "too_old",
            RejectReason::InvalidLabels => "invalid_labels",
        }
    }

    /// The phrase Prometheus uses for it.
    pub fn message(self) -> &'static str {
        match self {
            RejectReason::Duplicate => "duplicate sample for timestamp",
            RejectReason::OutOfOrder => "out of order sample",
            RejectReason::OutOfBounds => "out of bounds",
            RejectReason::InvalidLabels => "invalid labels",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How series hashes are computed; tests swap it to force collisions.
pub(crate) type HashFn = fn(&[u8]) -> u64;

fn series_hash(encoded: &[u8]) -> u64 {
    SeriesId::of_encoded(encoded).0
}

#[derive(Default)]
struct Shard {
    map: HashMap<u64, Arc<MemSeries>>,
    /// Series whose hash is already taken in `map` by other labels.
    collisions: HashMap<u64, Vec<Arc<MemSeries>>>,
}

impl Shard {
    fn find(&self, hash: u64, encoded: &[u8]) -> Option<&Arc<MemSeries>> {
        let first = self.map.get(&hash)?;
        if first.labels.encoded() == encoded {
            return Some(first);
        }
        self.collisions
            .get(&hash)?
            .iter()
            .find(|s| s.labels.encoded() == encoded)
    }
}

/// Series by metric name.
type NameShard = RwLock<HashMap<Box<str>, Vec<Arc<MemSeries>>>>;

/// The head of one tenant.
pub(crate) struct TenantHead {
    pub(crate) tenant: TenantId,
    shards: Box<[RwLock<Shard>]>,
    /// Series by metric name, sharded by the name's hash.
    names: Box<[NameShard]>,
    hash_fn: HashFn,
    /// Samples before this are out of bounds (last cut boundary minus the OOO window).
    pub(crate) min_valid_t: AtomicI64,
    /// Set once `min_valid_t` has been raised past the tenant's blocks.
    pub(crate) bounds_loaded: tokio::sync::OnceCell<()>,
    num_series: AtomicUsize,
    metadata: Mutex<BTreeMap<String, MetricMetadata>>,
}

impl TenantHead {
    fn new(tenant: TenantId, hash_fn: HashFn) -> Self {
        TenantHead {
            tenant,
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            names: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hash_fn,
            min_valid_t: AtomicI64::new(i64::MIN),
            bounds_loaded: tokio::sync::OnceCell::new(),
            num_series: AtomicUsize::new(0),
            metadata: Mutex::new(BTreeMap::new()),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[(hash % SHARDS as u64) as usize]
    }

    fn name_shard(&self, name: &str) -> &NameShard {
        let h = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        &self.names[(h % SHARDS as u64) as usize]
    }

    /// The series named `name`.
    fn by_name(&self, name: &str) -> Vec<Arc<MemSeries>> {
        self.name_shard(name)
            .read()
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// The series that may match `matchers`: those of the metric names they allow when they
    /// pin `__name__` to literals, else all.
    fn candidates(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        for m in matchers.iter().filter(|m| m.name == METRIC_NAME) {
            match m.op {
                MatchOp::Equal => return self.by_name(&m.value),
                MatchOp::Regex => {
                    if let Some(names) = m.set_matches() {
                        let mut names = names;
                        names.sort();
                        names.dedup();
                        return names.iter().flat_map(|n| self.by_name(n)).collect();
                    }
                }
                MatchOp::NotEqual | MatchOp::NotRegex => {}
            }
        }
        self.all_series()
    }

    /// The series with these canonical label bytes, if present.
    pub(crate) fn get(&self, encoded: &[u8]) -> Option<Arc<MemSeries>> {
        let hash = (self.hash_fn)(encoded);
        self.shard(hash).read().find(hash, encoded).cloned()
    }

    /// The series with these label bytes, created with the reference `make_ref` gives when
    /// absent; the flag says whether it was created.
    pub(crate) fn get_or_create(
        &self,
        encoded: &[u8],
        make_ref: impl FnOnce() -> u64,
    ) -> (Arc<MemSeries>, bool) {
        let hash = (self.hash_fn)(encoded);
        let shard = self.shard(hash);
        if let Some(s) = shard.read().find(hash, encoded) {
            return (Arc::clone(s), false);
        }
        let mut w = shard.write();
        if let Some(s) = w.find(hash, encoded) {
            return (Arc::clone(s), false);
        }
        let s = Arc::new(MemSeries::new(
            make_ref(),
            Labels::from_encoded_unchecked(encoded),
        ));
        match w.map.entry(hash) {
            Entry::Occupied(_) => {
                tracing::debug!(tenant = %self.tenant, labels = %s.labels, hash, "series hash collision");
                w.collisions.entry(hash).or_default().push(Arc::clone(&s));
            }
            Entry::Vacant(v) => {
                v.insert(Arc::clone(&s));
            }
        }
        if let Some(name) = s.labels.metric_name() {
            self.name_shard(name)
                .write()
                .entry(name.into())
                .or_default()
                .push(Arc::clone(&s));
        }
        self.num_series.fetch_add(1, Ordering::Relaxed);
        (s, true)
    }

    /// Every series, in no particular order.
    pub(crate) fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::with_capacity(self.num_series());
        for shard in self.shards.iter() {
            let r = shard.read();
            out.extend(r.map.values().cloned());
            out.extend(r.collisions.values().flatten().cloned());
        }
        out
    }

    /// Removes the series that hold no sample; the caller keeps appends out meanwhile.
    pub(crate) fn gc(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut w = shard.write();
            let Shard { map, collisions } = &mut *w;
            collisions.retain(|_, v| {
                v.retain(|s| !s.data.lock().is_empty());
                !v.is_empty()
            });
            let before = map.len();
            map.retain(|_, s| !s.data.lock().is_empty());
            removed += before - map.len();
            // A colliding series takes over a freed primary slot.
            let freed: Vec<u64> = collisions
                .keys()
                .copied()
                .filter(|h| !map.contains_key(h))
                .collect();
            for h in freed {
                if let Some(mut v) = collisions.remove(&h) {
                    let first = v.remove(0);
                    map.insert(h, first);
                    if !v.is_empty() {
                        collisions.insert(h, v);
                    }
                }
            }
        }
        for shard in self.names.iter() {
            shard.write().retain(|_, v| {
                v.retain(|s| !s.data.lock().is_empty());
                !v.is_empty()
            });
        }
        let total: usize = self
            .shards
            .iter()
            .map(|s| {
                let r = s.read();
                r.map.len() + r.collisions.values().map(Vec::len).sum::<usize>()
            })
            .sum();
        self.num_series.store(total, Ordering::Relaxed);
        removed
    }

    /// Number of series.
    pub(crate) fn num_series(&self) -> usize {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Smallest and largest sample timestamps held.
    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let mut range: Option<(i64, i64)> = None;
        for s in self.all_series() {
            let d = s.data.lock();
            if let (Some(lo), Some(hi)) = (d.min_t(), d.max_t()) {
                range = Some(match range {
                    Some((a, b)) => (a.min(lo), b.max(hi)),
                    None => (lo, hi),
                });
            }
        }
        range
    }

    /// Series matching every matcher with samples in `[mint, maxt]`, sorted by labels.
    pub(crate) fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Series> {
        let mut out: Vec<Series> = Vec::new();
        for s in self.candidates(matchers) {
            if !matches_all(&s.labels, matchers) {
                continue;
            }
            let mut samples = Vec::new();
            s.data.lock().samples(mint, maxt, &mut samples);
            if !samples.is_empty() {
                out.push(Series {
                    labels: s.labels.clone(),
                    samples,
                });
            }
        }
        out.sort_unstable_by(|a, b| cmp_labels(&a.labels, &b.labels));
        out
    }

    /// Label sets of the series selected by any selector (all when none) whose samples span
    /// overlaps `[mint, maxt]` (Prometheus' granularity for the series API), sorted.
    pub(crate) fn series_labels(
        &self,
        selectors: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<Labels> {
        let candidates = if selectors.is_empty() {
            self.all_series()
        } else {
            let mut c: Vec<Arc<MemSeries>> =
                selectors.iter().flat_map(|m| self.candidates(m)).collect();
            c.sort_by_key(|s| s.sref);
            c.dedup_by_key(|s| s.sref);
            c
        };
        let mut out = Vec::new();
        for s in candidates {
            if !selectors.is_empty() && !selectors.iter().any(|m| matches_all(&s.labels, m)) {
                continue;
            }
            if s.data.lock().overlaps(mint, maxt) {
                out.push(s.labels.clone());
            }
        }
        out.sort();
        out
    }

    /// Records the latest metadata of a metric family.
    pub(crate) fn set_metadata(&self, family: &str, meta: MetricMetadata) {
        let mut m = self.metadata.lock();
        match m.get_mut(family) {
            Some(old) => *old = meta,
            None => {
                m.insert(family.to_string(), meta);
            }
        }
    }

    /// Metadata per metric family, optionally for one family.
    pub(crate) fn metadata(&self, family: Option<&str>) -> Vec<(String, MetricMetadata)> {
        let m = self.metadata.lock();
        match family {
            Some(f) => m
                .get(f)
                .map(|md| vec![(f.to_string(), md.clone())])
                .unwrap_or_default(),
            None => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    /// Heap bytes held by the series and their samples (an estimate of the RSS they cost).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        let per_entry = std::mem::size_of::<(u64, Arc<MemSeries>)>() + 8;
        self.all_series()
            .iter()
            .map(|s| {
                std::mem::size_of::<MemSeries>()
                    + 16
                    + s.labels.heap_bytes()
                    + s.data.lock().heap_bytes()
                    + per_entry
            })
            .sum()
    }
}

/// True when `labels` pass every matcher (an absent label matches as "").
pub(crate) fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(label_value(labels, &m.name).unwrap_or("")))
}

/// The heads of all tenants.
pub(crate) struct Head {
    tenants: RwLock<HashMap<TenantId, Arc<TenantHead>>>,
    next_ref: AtomicU64,
    hash_fn: HashFn,
    /// Out-of-order window.
    pub(crate) ooo_window_ms: i64,
    /// The highest cut boundary so far.
    last_boundary: AtomicI64,
    /// Samples before this are out of bounds in every tenant: the last boundary minus the
    /// out-of-order window. Changed only while appends are held off.
    floor: AtomicI64,
    /// While a cut runs, its boundary: samples before it (and above `floor`) must wait for
    /// the cut to end, or they would land in the range being moved out. `i64::MIN` otherwise.
    cut_floor: AtomicI64,
}

impl Head {
    /// An empty head.
    pub(crate) fn new(ooo_window_ms: i64) -> Self {
        Head {
            tenants: RwLock::new(HashMap::new()),
            next_ref: AtomicU64::new(1),
            hash_fn: series_hash,
            ooo_window_ms,
            last_boundary: AtomicI64::new(i64::MIN),
            floor: AtomicI64::new(i64::MIN),
            cut_floor: AtomicI64::new(i64::MIN),
        }
    }

    /// An empty head whose series hashes come from `hash_fn` (tests force collisions).
    #[cfg(test)]
    pub(crate) fn with_hash_fn(ooo_window_ms: i64, hash_fn: HashFn) -> Self {
        Head {
            hash_fn,
            ..Head::new(ooo_window_ms)
        }
    }

    /// A cut at `boundary` starts: samples before it wait until [`Head::end_cut`].
    ///
    /// A regular cut (`advance`) also moves the lasting floor to `boundary`; a flush does
    /// not, so that senders lagging behind the newest sample are not refused after an
    /// operator's flush: what they send below the flushed range lands in the head again and
    /// is cut into a block that compaction merges with the flushed one.
    pub(crate) fn begin_cut(&self, boundary: i64, advance: bool) {
        if advance {
            self.last_boundary.fetch_max(boundary, Ordering::AcqRel);
        }
        self.cut_floor.store(boundary, Ordering::Release);
    }

    /// The cut is done: samples down to the lasting floor are accepted again.
    pub(crate) fn end_cut(&self) {
        let b = self.last_boundary.load(Ordering::Acquire);
        self.floor
            .fetch_max(b.saturating_sub(self.ooo_window_ms), Ordering::AcqRel);
        self.cut_floor.store(i64::MIN, Ordering::Release);
    }

    /// `(hard, soft)`: samples of `th` before `hard` are out of bounds; samples in
    /// `[hard, soft)` fall in the range of a running cut and must wait for its end.
    pub(crate) fn min_valid(&self, th: &TenantHead) -> (i64, i64) {
        let hard = th
            .min_valid_t
            .load(Ordering::Acquire)
            .max(self.floor.load(Ordering::Acquire));
        (hard, hard.max(self.cut_floor.load(Ordering::Acquire)))
    }

    /// The head of `tenant`, if it has one.
    pub(crate) fn get(&self, tenant: &TenantId) -> Option<Arc<TenantHead>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// The head of `tenant`, created when absent.
    pub(crate) fn tenant(&self, tenant: &TenantId) -> Arc<TenantHead> {
        if let Some(t) = self.get(tenant) {
            return t;
        }
        let mut w = self.tenants.write();
        Arc::clone(
            w.entry(tenant.clone())
                .or_insert_with(|| Arc::new(TenantHead::new(tenant.clone(), self.hash_fn))),
        )
    }

    /// Every tenant head.
    pub(crate) fn tenants(&self) -> Vec<Arc<TenantHead>> {
        let mut v: Vec<_> = self.tenants.read().values().cloned().collect();
        v.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        v
    }

    /// A fresh series reference.
    pub(crate) fn next_ref(&self) -> u64 {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes later references larger than `r` (after replaying a WAL that used it).
    pub(crate) fn bump_ref(&self, r: u64) {
        self.next_ref
            .fetch_max(r.saturating_add(1), Ordering::Relaxed);
    }

    /// Total series over all tenants.
    pub(crate) fn num_series(&self) -> usize {
        self.tenants().iter().map(|t| t.num_series()).sum()
    }

    /// Smallest and largest sample timestamps over all tenants.
    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        self.tenants()
            .iter()
            .filter_map(|t| t.time_range())
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }
}

#[cfg(test)]
mod tests;
