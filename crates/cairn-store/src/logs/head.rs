//! The log head: per tenant, the streams written since the last cut, each with its sealed
//! chunks (compressed) and an uncompressed tail of recent entries.
//!
//! A stream also keeps the newest timestamp it ever accepted, across cuts, which is what the
//! out-of-order window is measured from (Loki: `max_chunk_age / 2` behind the stream's
//! newest entry).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use cairn_model::{Labels, LogEntry, Matcher, TenantId};
use parking_lot::{Mutex, RwLock};
use xxhash_rust::xxh3::xxh3_64;

use super::chunk::{EntryBuf, HeadChunk};
use crate::error::Result;
use crate::head::matches_all;
use crate::wal::WalSeries;

const SHARDS: usize = 16;

/// Streams by the hash of their labels (a list: hashes may collide).
type Shard = RwLock<HashMap<u64, Vec<Arc<LogStream>>>>;

/// One stream of the head.
#[derive(Debug)]
pub(crate) struct LogStream {
    /// Reference used in WAL records; unique across tenants within one WAL's life.
    pub(crate) sref: u64,
    pub(crate) labels: Labels,
    logged_segment: AtomicU32,
    /// Set by appends, cleared by cuts: a stream idle for a whole cut period is dropped.
    active: AtomicBool,
    pub(crate) data: Mutex<StreamData>,
}

impl WalSeries for LogStream {
    fn wal_ref(&self) -> u64 {
        self.sref
    }

    fn wal_labels(&self) -> &[u8] {
        self.labels.encoded()
    }

    fn logged_segment(&self) -> &AtomicU32 {
        &self.logged_segment
    }
}

/// The entries of a stream in the head.
#[derive(Debug)]
pub(crate) struct StreamData {
    /// Newest timestamp accepted, ever (`i64::MIN`: none).
    pub(crate) max_ts: i64,
    /// Sealed chunks, in the order they were sealed (times may overlap after out-of-order
    /// writes).
    pub(crate) chunks: Vec<Arc<HeadChunk>>,
    /// Entries not sealed yet, in arrival order.
    pub(crate) tail: EntryBuf,
}

impl StreamData {
    fn new() -> Self {
        StreamData {
            max_ts: i64::MIN,
            chunks: Vec::new(),
            tail: EntryBuf::default(),
        }
    }

    /// True when it holds no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }

    /// True when an entry with this timestamp and line is held.
    pub(crate) fn contains(&self, ts: i64, line: &str) -> Result<bool> {
        if self.tail.contains(ts, line)? {
            return Ok(true);
        }
        for c in self.chunks.iter().rev() {
            if c.min_ts <= ts && ts <= c.max_ts && c.contains(ts, line)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Adds accepted entries; returns the chunk sealed when the tail grew past
    /// `chunk_bytes` (raw: the caller compresses it off the reactor).
    pub(crate) fn push<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a LogEntry>,
        chunk_bytes: usize,
    ) -> Result<Option<Arc<HeadChunk>>> {
        for e in entries {
            self.tail.push_entry(e);
        }
        if self.tail.raw_bytes >= chunk_bytes as u64 {
            self.seal()
        } else {
            Ok(None)
        }
    }

    /// Turns the tail into a (raw) chunk.
    pub(crate) fn seal(&mut self) -> Result<Option<Arc<HeadChunk>>> {
        if self.tail.is_empty() {
            return Ok(None);
        }
        let (entries, _) = std::mem::take(&mut self.tail).sorted()?;
        let c = Arc::new(HeadChunk::raw(entries));
        self.chunks.push(Arc::clone(&c));
        Ok(Some(c))
    }
}

/// The head of one tenant.
pub(crate) struct TenantLogHead {
    pub(crate) tenant: TenantId,
    shards: Box<[Shard]>,
    num_streams: AtomicUsize,
}

impl TenantLogHead {
    fn new(tenant: TenantId) -> Self {
        TenantLogHead {
            tenant,
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            num_streams: AtomicUsize::new(0),
        }
    }

    fn shard(&self, hash: u64) -> &Shard {
        &self.shards[(hash % SHARDS as u64) as usize]
    }

    /// The stream with these labels, if present.
    pub(crate) fn get(&self, labels: &Labels) -> Option<Arc<LogStream>> {
        let h = xxh3_64(labels.encoded());
        self.shard(h)
            .read()
            .get(&h)?
            .iter()
            .find(|s| &s.labels == labels)
            .cloned()
    }

    /// The stream with these labels, created with reference `make_ref()` when absent and
    /// `may_create` allows; the flag says whether it was created.
    pub(crate) fn get_or_create(
        &self,
        labels: &Labels,
        make_ref: impl FnOnce() -> u64,
        may_create: impl FnOnce(usize) -> bool,
    ) -> Option<(Arc<LogStream>, bool)> {
        if let Some(s) = self.get(labels) {
            return Some((s, false));
        }
        let h = xxh3_64(labels.encoded());
        let mut w = self.shard(h).write();
        let list = w.entry(h).or_default();
        if let Some(s) = list.iter().find(|s| &s.labels == labels) {
            return Some((Arc::clone(s), false));
        }
        if !may_create(self.num_streams.load(Ordering::Relaxed)) {
            if list.is_empty() {
                w.remove(&h);
            }
            return None;
        }
        let s = Arc::new(LogStream {
            sref: make_ref(),
            labels: labels.clone(),
            logged_segment: AtomicU32::new(0),
            active: AtomicBool::new(true),
            data: Mutex::new(StreamData::new()),
        });
        list.push(Arc::clone(&s));
        self.num_streams.fetch_add(1, Ordering::Relaxed);
        Some((s, true))
    }

    /// Every stream.
    pub(crate) fn all_streams(&self) -> Vec<Arc<LogStream>> {
        let mut out = Vec::with_capacity(self.num_streams());
        for s in self.shards.iter() {
            out.extend(s.read().values().flatten().cloned());
        }
        out
    }

    /// Streams matching every matcher.
    pub(crate) fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<LogStream>> {
        let mut v: Vec<_> = self
            .all_streams()
            .into_iter()
            .filter(|s| matches_all(&s.labels, matchers))
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Number of streams.
    pub(crate) fn num_streams(&self) -> usize {
        self.num_streams.load(Ordering::Relaxed)
    }

    /// Drops the streams without entries that got no append since the last call, and marks
    /// the others idle; returns how many were dropped.
    pub(crate) fn gc(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut w = shard.write();
            w.retain(|_, list| {
                list.retain(|s| {
                    let was_active = s.active.swap(false, Ordering::Relaxed);
                    let keep = was_active || !s.data.lock().is_empty();
                    removed += usize::from(!keep);
                    keep
                });
                !list.is_empty()
            });
        }
        self.num_streams.fetch_sub(removed, Ordering::Relaxed);
        removed
    }
}

/// The log heads of all tenants.
pub(crate) struct LogHead {
    tenants: RwLock<HashMap<TenantId, Arc<TenantLogHead>>>,
    next_ref: AtomicU64,
    /// Raw bytes held, all tenants.
    raw_bytes: AtomicU64,
}

impl LogHead {
    /// An empty head.
    pub(crate) fn new() -> Self {
        LogHead {
            tenants: RwLock::new(HashMap::new()),
            next_ref: AtomicU64::new(1),
            raw_bytes: AtomicU64::new(0),
        }
    }

    /// The head of `tenant`, if any.
    pub(crate) fn get(&self, tenant: &TenantId) -> Option<Arc<TenantLogHead>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// The head of `tenant`, created when absent.
    pub(crate) fn tenant(&self, tenant: &TenantId) -> Arc<TenantLogHead> {
        if let Some(t) = self.get(tenant) {
            return t;
        }
        Arc::clone(
            self.tenants
                .write()
                .entry(tenant.clone())
                .or_insert_with(|| Arc::new(TenantLogHead::new(tenant.clone()))),
        )
    }

    /// Every tenant head, sorted by tenant.
    pub(crate) fn tenants(&self) -> Vec<Arc<TenantLogHead>> {
        let mut v: Vec<_> = self.tenants.read().values().cloned().collect();
        v.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        v
    }

    /// A fresh stream reference.
    pub(crate) fn next_ref(&self) -> u64 {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes later references larger than `r` (after a replay that used it).
    pub(crate) fn bump_ref(&self, r: u64) {
        self.next_ref
            .fetch_max(r.saturating_add(1), Ordering::Relaxed);
    }

    /// Raw bytes held.
    pub(crate) fn raw_bytes(&self) -> u64 {
        self.raw_bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn add_raw_bytes(&self, n: u64) {
        self.raw_bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub_raw_bytes(&self, n: u64) {
        let _ = self
            .raw_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// Number of streams, all tenants.
    pub(crate) fn num_streams(&self) -> usize {
        self.tenants().iter().map(|t| t.num_streams()).sum()
    }

    /// Bytes of memory the entries take (compressed chunks, raw chunks and tails).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.tenants()
            .iter()
            .flat_map(|t| t.all_streams())
            .map(|s| {
                let d = s.data.lock();
                d.chunks.iter().map(|c| c.memory_bytes()).sum::<usize>() + d.tail.memory_bytes()
            })
            .sum()
    }
}

/// Marks a stream as written to since the last cut.
pub(crate) fn touch(s: &LogStream) {
    s.active.store(true, Ordering::Relaxed);
}

/// What a cut took out of one stream: the chunks that go into blocks.
pub(crate) struct FrozenStream {
    pub(crate) stream: Arc<LogStream>,
    pub(crate) chunks: Vec<Arc<HeadChunk>>,
}

/// Seals every tail of `th` and returns every stream's chunks (the caller holds appends off).
pub(crate) fn freeze(th: &TenantLogHead) -> Result<Vec<FrozenStream>> {
    let mut out = Vec::new();
    for s in th.all_streams() {
        let chunks = {
            let mut d = s.data.lock();
            d.seal()?;
            d.chunks.clone()
        };
        if !chunks.is_empty() {
            out.push(FrozenStream { stream: s, chunks });
        }
    }
    out.sort_by(|a, b| a.stream.labels.cmp(&b.stream.labels));
    Ok(out)
}

/// Removes the frozen chunks from their streams (they are in blocks now); returns the raw
/// bytes removed.
pub(crate) fn release(frozen: &[FrozenStream]) -> u64 {
    let mut bytes = 0;
    for f in frozen {
        let mut d = f.stream.data.lock();
        d.chunks.retain(|c| {
            let gone = f.chunks.iter().any(|x| Arc::ptr_eq(x, c));
            if gone {
                bytes += c.raw_bytes;
            }
            !gone
        });
    }
    bytes
}
