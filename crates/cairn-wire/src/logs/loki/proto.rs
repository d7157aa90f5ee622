//! `logproto.PushRequest` in a raw snappy block.
//!
//! ```text
//! PushRequest   { repeated StreamAdapter streams = 1; string format = 2; }
//! StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//! EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//!                 repeated LabelPairAdapter structuredMetadata = 3; repeated ... parsed = 4; }
//! Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//! ```

use cairn_model::LogEntry;

use super::{Collector, LokiPush, lossy, push_metadata, selector_labels};
use crate::error::Result;
use crate::logs::limits::LogDecodeLimits;
use crate::pb::{Reader, Writer};
use crate::snappy::{decompress_snappy, snappy_compress};

pub(super) fn decode(body: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    let mut buf = Vec::new();
    decompress_snappy(body, limits.decoded_cap(), &mut buf)?;
    decode_request(&buf, limits)
}

fn decode_request(buf: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    let mut c = Collector::new(limits);
    let mut r = Reader::new(buf, "PushRequest");
    while let Some((field, wt)) = r.next_field()? {
        match field {
            1 => {
                let stream = r.len_field(field, wt)?;
                let index = c.next_stream()?;
                decode_stream(stream, index, &mut c)?;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(c.push)
}

fn decode_stream(buf: &[u8], index: usize, c: &mut Collector<'_>) -> Result<()> {
    let mut r = Reader::new(buf, "StreamAdapter");
    let mut labels: &[u8] = b"";
    let mut entries = Vec::new();
    let mut bad_entry: Option<String> = None;
    while let Some((field, wt)) = r.next_field()? {
        match field {
            1 => labels = r.len_field(field, wt)?,
            2 => {
                let e = r.len_field(field, wt)?;
                c.count_entry()?;
                match decode_entry(e)? {
                    Ok(entry) => entries.push(entry),
                    Err(reason) => {
                        bad_entry.get_or_insert(format!("entry {}: {reason}", entries.len()));
                    }
                }
            }
            _ => r.skip(wt)?,
        }
    }
    let shown = lossy(labels);
    let result = match bad_entry {
        Some(reason) => Err(reason),
        None => selector_labels(&shown),
    };
    c.add(index, shown, result, entries);
    Ok(())
}

/// An entry, or why its timestamp cannot be stored (which drops the stream, not the request).
fn decode_entry(buf: &[u8]) -> Result<std::result::Result<LogEntry, String>> {
    let mut r = Reader::new(buf, "EntryAdapter");
    let mut ts: Option<(i64, i64)> = None;
    let mut entry = LogEntry::default();
    while let Some((field, wt)) = r.next_field()? {
        match field {
            1 => ts = Some(decode_timestamp(r.len_field(field, wt)?)?),
            2 => entry.line = lossy(r.len_field(field, wt)?),
            3 => {
                let (n, v) = decode_pair(r.len_field(field, wt)?)?;
                push_metadata(&mut entry.metadata, &lossy(n), &lossy(v));
            }
            _ => r.skip(wt)?,
        }
    }
    let (secs, nanos) = ts.unwrap_or((0, 0));
    if !(0..1_000_000_000).contains(&nanos) {
        return Ok(Err(format!(
            "timestamp nanos {nanos} out of range [0, 999999999]"
        )));
    }
    match secs
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
    {
        Some(ns) => {
            entry.ts_ns = ns;
            Ok(Ok(entry))
        }
        None => Ok(Err(format!(
            "timestamp {secs}s is outside the range of nanosecond timestamps (1677-2262)"
        ))),
    }
}

fn decode_timestamp(buf: &[u8]) -> Result<(i64, i64)> {
    let mut r = Reader::new(buf, "Timestamp");
    let (mut secs, mut nanos) = (0i64, 0i64);
    while let Some((field, wt)) = r.next_field()? {
        match field {
            1 => secs = r.varint_field(field, wt)? as i64,
            // int32 on the wire: negative values are sign-extended to ten bytes.
            2 => nanos = i64::from(r.varint_field(field, wt)? as i32),
            _ => r.skip(wt)?,
        }
    }
    Ok((secs, nanos))
}

fn decode_pair(buf: &[u8]) -> Result<(&[u8], &[u8])> {
    let mut r = Reader::new(buf, "LabelPairAdapter");
    let (mut n, mut v): (&[u8], &[u8]) = (b"", b"");
    while let Some((field, wt)) = r.next_field()? {
        match field {
            1 => n = r.len_field(field, wt)?,
            2 => v = r.len_field(field, wt)?,
            _ => r.skip(wt)?,
        }
    }
    Ok((n, v))
}

/// Encodes a push request as Promtail and Alloy send it: protobuf in a raw snappy block.
/// `streams` pairs a selector string (`{app="x"}`) with its entries. For tests, fuzz seeds
/// and benchmarks.
pub fn encode_loki_push_proto(streams: &[(String, Vec<LogEntry>)]) -> Vec<u8> {
    let mut w = Writer::default();
    for (labels, entries) in streams {
        w.message(1, |s| {
            s.bytes(1, labels.as_bytes());
            for e in entries {
                s.message(2, |m| {
                    m.message(1, |t| {
                        let secs = e.ts_ns.div_euclid(1_000_000_000);
                        let nanos = e.ts_ns.rem_euclid(1_000_000_000);
                        if secs != 0 {
                            t.int(1, secs);
                        }
                        if nanos != 0 {
                            t.int(2, nanos);
                        }
                    });
                    m.bytes(2, e.line.as_bytes());
                    for (n, v) in &e.metadata {
                        m.message(3, |p| {
                            p.bytes(1, n.as_bytes());
                            p.bytes(2, v.as_bytes());
                        });
                    }
                });
            }
        });
    }
    snappy_compress(&w.buf)
}

/// Not-yet-snappied body, for tests that want to corrupt the protobuf itself.
#[cfg(test)]
pub(super) fn decode_raw(buf: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    decode_request(buf, limits)
}
