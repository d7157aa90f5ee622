//! The head's unit of entries: a run of one stream's entries sorted by time, compressed
//! (zstd) once sealed, as Loki's head chunks.
//!
//! Encoding before compression, entries sorted by (timestamp, line) without duplicates:
//! `uvarint (ts - previous ts)` (the first against the chunk's `min_ts`), `uvarint len, line`,
//! `uvarint m`, m times `(uvarint len, name, uvarint len, value)`.

use cairn_model::LogEntry;
use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::wal::record::put_uvarint;

/// zstd level of head chunks: fast, since every entry is compressed once here and once more
/// into a block.
const HEAD_ZSTD_LEVEL: i32 = 1;

/// Sorts entries by (timestamp, line) and removes repeats of an entry (same timestamp and
/// line); returns how many were removed.
pub(crate) fn sort_dedup(entries: &mut Vec<LogEntry>) -> usize {
    if !entries.is_sorted_by(|a, b| (a.ts_ns, &a.line) < (b.ts_ns, &b.line)) {
        entries.sort_by(|a, b| (a.ts_ns, &a.line).cmp(&(b.ts_ns, &b.line)));
    }
    let before = entries.len();
    entries.dedup_by(|b, a| a.ts_ns == b.ts_ns && a.line == b.line);
    before - entries.len()
}

/// The entries of a sealed chunk.
#[derive(Debug)]
enum Body {
    /// Sorted entries, not compressed yet (just sealed, or frozen by a cut).
    Raw(Vec<LogEntry>),
    /// zstd of the encoding in the module docs; `len` is the decompressed size.
    Compressed { data: Box<[u8]>, len: usize },
}

/// A sealed run of one stream's entries; immutable but for the switch from raw to
/// compressed, which keeps the same entries.
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
    /// A chunk of `entries`, which must be sorted and deduplicated ([`sort_dedup`]) and not
    /// empty.
    pub(crate) fn raw(entries: Vec<LogEntry>) -> Self {
        let min_ts = entries.first().map_or(0, |e| e.ts_ns);
        let max_ts = entries.last().map_or(0, |e| e.ts_ns);
        HeadChunk {
            min_ts,
            max_ts,
            entries: entries.len() as u32,
            raw_bytes: entries.iter().map(|e| e.size() as u64).sum(),
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
            Body::Raw(v) => v
                .iter()
                .map(|e| {
                    e.line.capacity()
                        + e.metadata
                            .iter()
                            .map(|(n, v)| n.capacity() + v.capacity() + 48)
                            .sum::<usize>()
                        + std::mem::size_of::<LogEntry>()
                })
                .sum(),
            Body::Compressed { data, .. } => data.len(),
        }
    }

    /// Compresses a raw body (CPU work: call it off the reactor); a no-op when compressed.
    pub(crate) fn compress(&self) {
        let encoded = match &*self.body.read() {
            Body::Raw(entries) => encode(self.min_ts, entries),
            Body::Compressed { .. } => return,
        };
        // zstd cannot fail on an in-memory buffer of this size but for allocation; keep the
        // raw body then.
        if let Ok(data) = zstd::bulk::compress(&encoded, HEAD_ZSTD_LEVEL) {
            *self.body.write() = Body::Compressed {
                data: data.into_boxed_slice(),
                len: encoded.len(),
            };
        }
    }

    /// Calls `f` with every entry in `[lo, hi]` (inclusive), in (timestamp, line) order.
    pub(crate) fn for_each_in(
        &self,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(i64, &str, &[(String, String)]),
    ) -> Result<()> {
        if self.max_ts < lo || self.min_ts > hi {
            return Ok(());
        }
        let body = self.body.read();
        match &*body {
            Body::Raw(entries) => {
                let from = entries.partition_point(|e| e.ts_ns < lo);
                for e in entries[from..].iter().take_while(|e| e.ts_ns <= hi) {
                    f(e.ts_ns, &e.line, &e.metadata);
                }
                Ok(())
            }
            Body::Compressed { data, len } => {
                let plain = zstd::bulk::decompress(data, *len)
                    .map_err(|e| Error::Internal(format!("head chunk does not decompress: {e}")))?;
                drop(body);
                decode(self.min_ts, &plain, |ts, line, meta| {
                    if ts >= lo && ts <= hi {
                        f(ts, line, meta);
                    }
                    ts <= hi
                })
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
                metadata: meta.to_vec(),
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

fn encode(min_ts: i64, entries: &[LogEntry]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(entries.iter().map(|e| e.size() + 8).sum());
    let mut prev = min_ts;
    for e in entries {
        put_uvarint(&mut buf, e.ts_ns.wrapping_sub(prev) as u64);
        prev = e.ts_ns;
        put_uvarint(&mut buf, e.line.len() as u64);
        buf.extend_from_slice(e.line.as_bytes());
        put_uvarint(&mut buf, e.metadata.len() as u64);
        for (n, v) in &e.metadata {
            put_uvarint(&mut buf, n.len() as u64);
            buf.extend_from_slice(n.as_bytes());
            put_uvarint(&mut buf, v.len() as u64);
            buf.extend_from_slice(v.as_bytes());
        }
    }
    buf
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
    Err(Error::Internal("head chunk holds a bad varint".into()))
}

fn text<'a>(b: &'a [u8], pos: &mut usize) -> Result<&'a str> {
    let n = uvarint(b, pos)? as usize;
    let s = b
        .get(*pos..*pos + n)
        .ok_or_else(|| Error::Internal("head chunk field past its end".into()))?;
    *pos += n;
    std::str::from_utf8(s).map_err(|_| Error::Internal("head chunk holds bad utf-8".into()))
}

/// Walks an encoded chunk; `f` returns false to stop.
fn decode(
    min_ts: i64,
    b: &[u8],
    mut f: impl FnMut(i64, &str, &[(String, String)]) -> bool,
) -> Result<()> {
    let mut pos = 0;
    let mut ts = min_ts;
    let mut meta: Vec<(String, String)> = Vec::new();
    while pos < b.len() {
        ts = ts.wrapping_add(uvarint(b, &mut pos)? as i64);
        let line = text(b, &mut pos)?;
        let m = uvarint(b, &mut pos)?;
        meta.clear();
        for _ in 0..m {
            let n = text(b, &mut pos)?;
            let v = text(b, &mut pos)?;
            meta.push((n.to_string(), v.to_string()));
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
        let mut entries: Vec<LogEntry> = (0..500)
            .map(|i| {
                let mut e = LogEntry::new(1_000 + (i % 250) * 7, format!("line {}", i % 250));
                if i % 3 == 0 {
                    e.metadata.push(("trace_id".into(), format!("t{i}")));
                }
                e
            })
            .collect();
        // Every entry twice (same ts and line): half are dropped.
        assert_eq!(sort_dedup(&mut entries), 250);
        let c = HeadChunk::raw(entries.clone());
        assert_eq!(
            (c.min_ts, c.max_ts, c.entries),
            (1_000, 1_000 + 249 * 7, 250)
        );
        assert!(c.is_raw());
        c.compress();
        assert!(!c.is_raw());
        assert!(c.memory_bytes() < 250 * 10);
        assert_eq!(c.to_entries().unwrap(), entries);
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
}
