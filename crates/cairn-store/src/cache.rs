//! A bounded, byte-sized LRU of what block reads keep asking the object store for: Parquet
//! footers with their page indexes, decoded series tables and label indexes (and the
//! streams and runs tables of log blocks), and byte ranges of column chunks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use crate::block::{LabelIndex, SeriesTable};

/// A cached value.
#[derive(Clone)]
pub(crate) enum CacheValue {
    /// Parquet footer and page index of a file.
    Footer(ArrowReaderMetadata),
    /// A block's decoded series table.
    Series(Arc<SeriesTable>),
    /// A block's decoded label index.
    Index(Arc<LabelIndex>),
    /// A byte range of a file.
    Bytes(Bytes),
    /// A decoded table of a log block.
    Log(Arc<dyn std::any::Any + Send + Sync>),
}

struct Entry {
    value: CacheValue,
    size: usize,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<String, Entry>,
    by_tick: BTreeMap<u64, String>,
    bytes: usize,
    tick: u64,
}

/// Bounded (in bytes) LRU cache shared by all tenants' block readers; keys are object paths,
/// which never get new content because blocks are immutable and ULIDs never reused.
pub struct BlockCache {
    max_bytes: usize,
    lru: Mutex<Lru>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl BlockCache {
    /// A cache holding at most `max_bytes` (0 disables caching).
    pub fn new(max_bytes: usize) -> Self {
        BlockCache {
            max_bytes,
            lru: Mutex::new(Lru::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Lookups that found their entry.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that did not.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Bytes currently held.
    pub fn used_bytes(&self) -> usize {
        self.lru.lock().bytes
    }

    /// Number of entries currently held.
    pub fn len(&self) -> usize {
        self.lru.lock().entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn get(&self, key: &str) -> Option<CacheValue> {
        let mut lru = self.lru.lock();
        let lru = &mut *lru;
        lru.tick += 1;
        let tick = lru.tick;
        match lru.entries.get_mut(key) {
            Some(e) => {
                lru.by_tick.remove(&e.tick);
                e.tick = tick;
                lru.by_tick.insert(tick, key.to_string());
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(e.value.clone())
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub(crate) fn insert(&self, key: String, value: CacheValue, size: usize) {
        // An entry bigger than a quarter of the cache would flush everything else for one file.
        if size > self.max_bytes / 4 {
            return;
        }
        let mut lru = self.lru.lock();
        let lru = &mut *lru;
        lru.tick += 1;
        let tick = lru.tick;
        if let Some(old) = lru.entries.remove(&key) {
            lru.by_tick.remove(&old.tick);
            lru.bytes -= old.size;
        }
        while lru.bytes + size > self.max_bytes {
            let Some((_, victim)) = lru.by_tick.pop_first() else {
                break;
            };
            if let Some(e) = lru.entries.remove(&victim) {
                lru.bytes -= e.size;
            }
        }
        lru.by_tick.insert(tick, key.clone());
        lru.entries.insert(key, Entry { value, size, tick });
        lru.bytes += size;
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("max_bytes", &self.max_bytes)
            .field("used_bytes", &self.used_bytes())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_bound() {
        let c = BlockCache::new(400);
        c.insert("a".into(), CacheValue::Bytes(Bytes::from_static(b"a")), 100);
        c.insert("b".into(), CacheValue::Bytes(Bytes::from_static(b"b")), 100);
        c.insert("c".into(), CacheValue::Bytes(Bytes::from_static(b"c")), 100);
        assert!(c.get("a").is_some()); // a is now the most recent
        c.insert("d".into(), CacheValue::Bytes(Bytes::from_static(b"d")), 100);
        c.insert("e".into(), CacheValue::Bytes(Bytes::from_static(b"e")), 100);
        assert!(c.used_bytes() <= 400);
        assert!(c.get("b").is_none(), "b was least recently used");
        assert!(c.get("a").is_some());
        assert!(c.get("e").is_some());
        assert_eq!(c.hits(), 3);
        assert_eq!(c.misses(), 1);
        // Too big for the cache: not stored.
        c.insert("big".into(), CacheValue::Bytes(Bytes::new()), 1000);
        assert!(c.get("big").is_none());
    }
}
