//! Entries in the head: a stream's tail and its sealed chunks hold them encoded back to back
//! in one buffer ([`EntryBuf`]), never as one allocation per line; a sealed chunk is sorted
//! by (timestamp, line) without repeats and compressed (snappy) off the reactor, as Loki's
//! head chunks are.
//!
//! Encoding of one entry: `zigzag varint (ts - previous ts)` (the first against 0),
//! `uvarint len, line`, `uvarint m`, m times `(uvarint len, name, uvarint len, value)`.

use cairn_model::LogEntry;
use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::wal::record::put_uvarint;

/// Entries encoded back to back (module docs).
#[derive(Clone, Debug)]
pub(crate) struct EntryBuf {
    buf: Vec<u8>,
    n: u32,
    last_ts: i64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    /// Bytes the entries count for ([`LogEntry::size`]).
    pub(crate) raw_bytes: u64,
    /// Each entry strictly after the one before: sorted and free of repeats.
    ordered: bool,
}

impl Default for EntryBuf {
    fn default() -> Self {
        EntryBuf {
            buf: Vec::new(),
            n: 0,
            last_ts: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            raw_bytes: 0,
            ordered: true,
        }
    }
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

impl EntryBuf {
    /// Appends an entry.
    pub(crate) fn push<'a>(
        &mut self,
        ts: i64,
        line: &str,
        meta: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) {
        if self.n > 0 && ts <= self.last_ts {
            self.ordered = false;
        }
        put_varint(&mut self.buf, ts.wrapping_sub(self.last_ts));
        put_str(&mut self.buf, line);
        put_uvarint(&mut self.buf, meta.len() as u64);
        let mut size = line.len();
        for (k, v) in meta {
            put_str(&mut self.buf, k);
            put_str(&mut self.buf, v);
            size += k.len() + v.len();
        }
        self.last_ts = ts;
        self.n += 1;
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
        self.raw_bytes += size as u64;
    }

    /// Appends a model entry.
    pub(crate) fn push_entry(&mut self, e: &LogEntry) {
        self.push(
            e.ts_ns,
            &e.line,
            e.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u32 {
        self.n
    }

    /// True when empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Heap bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Calls `f` with every entry in buffer order until it returns false.
    pub(crate) fn for_each(
        &self,
        mut f: impl FnMut(i64, &str, &[(&str, &str)]) -> bool,
    ) -> Result<()> {
        decode(&self.buf, &mut f)
    }

    /// True when it holds an entry with this timestamp and line.
    pub(crate) fn contains(&self, ts: i64, line: &str) -> Result<bool> {
        if self.n == 0 || ts < self.min_ts || ts > self.max_ts {
            return Ok(false);
        }
        let mut found = false;
        self.for_each(|t, l, _| {
            found = t == ts && l == line;
            !found
        })?;
        Ok(found)
    }

    /// The same entries sorted by (timestamp, line) without repeats, and how many repeats
    /// were dropped.
    pub(crate) fn sorted(self) -> Result<(EntryBuf, usize)> {
        if self.ordered {
            return Ok((self, 0));
        }
        let mut idx: Vec<(i64, usize, usize, usize)> = Vec::with_capacity(self.n as usize);
        // (ts, entry start, line start, line end) from one walk of the buffer.
        let b = &self.buf;
        let mut pos = 0;
        let mut ts = 0i64;
        while pos < b.len() {
            let start = pos;
            ts = ts.wrapping_add(zigzag(uvarint(b, &mut pos)?));
            let n = uvarint(b, &mut pos)? as usize;
            let (ls, le) = (pos, pos + n);
            pos = le;
            let m = uvarint(b, &mut pos)?;
            for _ in 0..2 * m {
                let k = uvarint(b, &mut pos)? as usize;
                pos += k;
            }
            if pos > b.len() {
                return Err(Error::Internal("head entries run past their buffer".into()));
            }
            idx.push((ts, start, ls, le));
        }
        idx.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| b[x.2..x.3].cmp(&b[y.2..y.3])));
        let before = idx.len();
        idx.dedup_by(|y, x| x.0 == y.0 && b[x.2..x.3] == b[y.2..y.3]);
        let mut out = EntryBuf::default();
        out.buf.reserve(self.buf.len());
        let mut meta: Vec<(&str, &str)> = Vec::new();
        for &(t, start, _, _) in &idx {
            let mut p = start;
            uvarint(b, &mut p)?;
            let line = text(b, &mut p)?;
            let m = uvarint(b, &mut p)?;
            meta.clear();
            for _ in 0..m {
                let k = text(b, &mut p)?;
                let v = text(b, &mut p)?;
                meta.push((k, v));
            }
            out.push(t, line, meta.iter().copied());
        }
        Ok((out, before - idx.len()))
    }
}

/// The entries of a sealed chunk.
#[derive(Debug)]
enum Body {
    /// Sorted, not compressed yet (just sealed, or frozen by a cut).
    Raw(EntryBuf),
    /// Snappy (raw block) of the encoding; `len` is the decompressed size. Every entry is
    /// compressed here and once more (zstd) into a block: the head's compression only bounds
    /// its memory, and snappy does that at several times zstd's lowest level's speed (about
    /// 2.5x smaller on log lines where zstd 1 reaches 4.5x).
    Compressed { data: Box<[u8]>, len: usize },
}

/// A sealed run of one stream's entries, sorted by (timestamp, line) without repeats;
/// immutable but for the switch from raw to compressed, which keeps the same entries.
#[derive(Debug)]
pub(crate) struct HeadChunk {
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) entries: u32,
    /// Bytes of the entries ([`LogEntry::size`]).
    pub(crate) raw_bytes: u64,
    body: RwLock<Body>,
}

impl HeadChunk {
    /// A chunk of `entries` (sorted and without repeats: see [`EntryBuf::sorted`]), not
    /// empty.
    pub(crate) fn raw(entries: EntryBuf) -> Self {
        HeadChunk {
            min_ts: entries.min_ts,
            max_ts: entries.max_ts,
            entries: entries.len(),
            raw_bytes: entries.raw_bytes,
            body: RwLock::new(Body::Raw(entries)),
        }
    }

    /// True when its entries are not compressed yet.
    #[cfg(test)]
    pub(crate) fn is_raw(&self) -> bool {
        matches!(&*self.body.read(), Body::Raw(_))
    }

    /// Bytes of memory its body holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        match &*self.body.read() {
            Body::Raw(b) => b.memory_bytes(),
            Body::Compressed { data, .. } => data.len(),
        }
    }

    /// Compresses a raw body (CPU work: call it off the reactor); a no-op when compressed.
    pub(crate) fn compress(&self) {
        let data = match &*self.body.read() {
            Body::Raw(b) => snap::raw::Encoder::new()
                .compress_vec(&b.buf)
                .map(|d| (d, b.buf.len())),
            Body::Compressed { .. } => return,
        };
        // Snappy fails only on inputs over 4 GiB (a chunk is 256 KiB): keep the raw body then.
        if let Ok((data, len)) = data {
            *self.body.write() = Body::Compressed {
                data: data.into_boxed_slice(),
                len,
            };
        }
    }

    /// Calls `f` with every entry in `[lo, hi]` (inclusive), in (timestamp, line) order.
    pub(crate) fn for_each_in(
        &self,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(i64, &str, &[(&str, &str)]),
    ) -> Result<()> {
        if self.max_ts < lo || self.min_ts > hi {
            return Ok(());
        }
        let mut visit = |ts: i64, line: &str, meta: &[(&str, &str)]| {
            if ts >= lo && ts <= hi {
                f(ts, line, meta);
            }
            ts <= hi
        };
        let body = self.body.read();
        match &*body {
            Body::Raw(b) => decode(&b.buf, &mut visit),
            Body::Compressed { data, len } => {
                // Into a buffer of the size recorded at compression: nothing larger is made.
                let mut plain = vec![0u8; *len];
                let n = snap::raw::Decoder::new()
                    .decompress(data, &mut plain)
                    .map_err(|e| Error::Internal(format!("head chunk does not decompress: {e}")))?;
                if n != *len {
                    return Err(Error::Internal(format!(
                        "head chunk decompresses to {n} bytes, not {len}"
                    )));
                }
                drop(body);
                decode(&plain, &mut visit)
            }
        }
    }

    /// Every entry, owned.
    #[cfg(test)]
    pub(crate) fn to_entries(&self) -> Result<Vec<LogEntry>> {
        let mut out = Vec::with_capacity(self.entries as usize);
        self.for_each_in(i64::MIN, i64::MAX, |ts, line, meta| {
            out.push(LogEntry {
                ts_ns: ts,
                line: line.to_string(),
                metadata: meta
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            });
        })?;
        Ok(out)
    }

    /// True when it holds an entry with this timestamp and line.
    pub(crate) fn contains(&self, ts: i64, line: &str) -> Result<bool> {
        let mut found = false;
        self.for_each_in(ts, ts, |_, l, _| found |= l == line)?;
        Ok(found)
    }
}

fn zigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn uvarint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let Some(&byte) = b.get(*pos + i) else { break };
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *pos += i + 1;
            return Ok(v);
        }
    }
    Err(Error::Internal("head entries hold a bad varint".into()))
}

fn text<'a>(b: &'a [u8], pos: &mut usize) -> Result<&'a str> {
    let n = uvarint(b, pos)? as usize;
    let s = b
        .get(*pos..*pos + n)
        .ok_or_else(|| Error::Internal("head entry field past its end".into()))?;
    *pos += n;
    std::str::from_utf8(s).map_err(|_| Error::Internal("head entry holds bad utf-8".into()))
}

/// Walks encoded entries; `f` returns false to stop.
fn decode(b: &[u8], f: &mut impl FnMut(i64, &str, &[(&str, &str)]) -> bool) -> Result<()> {
    let mut pos = 0;
    let mut ts = 0i64;
    let mut meta: Vec<(&str, &str)> = Vec::new();
    while pos < b.len() {
        ts = ts.wrapping_add(zigzag(uvarint(b, &mut pos)?));
        let line = text(b, &mut pos)?;
        let m = uvarint(b, &mut pos)?;
        meta.clear();
        for _ in 0..m {
            let k = text(b, &mut pos)?;
            let v = text(b, &mut pos)?;
            meta.push((k, v));
        }
        if !f(ts, line, &meta) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_chunks_give_back_their_entries() {
        let mut buf = EntryBuf::default();
        let mut want: Vec<LogEntry> = Vec::new();
        for i in 0..500i64 {
            let mut e = LogEntry::new(1_000 + (i % 250) * 7, format!("line {}", i % 250));
            if i % 3 == 0 {
                e.metadata.push(("trace_id".into(), format!("t{i}")));
            }
            buf.push_entry(&e);
            if i < 250 {
                want.push(e);
            }
        }
        assert!(buf.contains(1_007, "line 1").unwrap());
        assert!(!buf.contains(1_007, "line 2").unwrap());
        // Every entry twice (same ts and line): half are dropped, the first copy kept.
        let (sorted, dropped) = buf.sorted().unwrap();
        assert_eq!(dropped, 250);
        let c = HeadChunk::raw(sorted);
        assert_eq!(
            (c.min_ts, c.max_ts, c.entries),
            (1_000, 1_000 + 249 * 7, 250)
        );
        assert!(c.is_raw());
        assert_eq!(c.to_entries().unwrap(), want);
        c.compress();
        assert!(!c.is_raw());
        assert!(c.memory_bytes() < 250 * 10);
        assert_eq!(c.to_entries().unwrap(), want);
        assert!(c.contains(1_007, "line 1").unwrap());
        assert!(!c.contains(1_007, "line 2").unwrap());
        let mut got = Vec::new();
        c.for_each_in(1_014, 1_028, |ts, l, _| got.push((ts, l.to_string())))
            .unwrap();
        assert_eq!(
            got,
            vec![
                (1_014, "line 2".to_string()),
                (1_021, "line 3".to_string()),
                (1_028, "line 4".to_string())
            ]
        );
    }

    #[test]
    fn ordered_buffers_are_sealed_as_they_are() {
        let mut buf = EntryBuf::default();
        for i in 0..10 {
            buf.push(i * 2, "x", std::iter::empty());
        }
        let before = buf.buf.clone();
        let (sorted, dropped) = buf.sorted().unwrap();
        assert_eq!((dropped, sorted.buf), (0, before));
    }
}
