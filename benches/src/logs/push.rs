//! Loki push request bodies: `logproto.PushRequest` (protobuf, then raw snappy, as Promtail
//! and Alloy send it) or the JSON form of `POST /loki/api/v1/push`.
//!
//! Entries are appended stream by stream into per-stream buffers already in their wire form,
//! so encoding a request is one pass that writes the stream headers and copies the buffers.
//!
//! ```text
//! PushRequest   { repeated StreamAdapter streams = 1; string format = 2; }
//! StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//! EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//!                 repeated LabelPairAdapter structuredMetadata = 3; ... }
//! Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//! ```

use super::plan::StreamPlan;
use super::text::{push_json_escaped, push_json_str, push_u64};

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushFormat {
    /// `logproto.PushRequest`, snappy block-compressed (`application/x-protobuf`).
    Protobuf,
    /// `{"streams":[{"stream":{...},"values":[["<ns>","<line>"]]}]}` (`application/json`).
    Json,
}

impl PushFormat {
    /// The `Content-Type` header of a request body.
    pub fn content_type(self) -> &'static str {
        match self {
            PushFormat::Protobuf => "application/x-protobuf",
            PushFormat::Json => "application/json",
        }
    }
}

/// Entries waiting to be sent, grouped by stream.
#[derive(Debug)]
pub struct PushBatch {
    format: PushFormat,
    /// Encoded entries per slot (a slot is one stream of the sender).
    slots: Vec<Vec<u8>>,
    /// Stream index of each slot.
    stream_of: Vec<u32>,
    /// Slots with entries, in the order they were first used.
    used: Vec<u32>,
    lines: u64,
    line_bytes: u64,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

impl PushBatch {
    /// A batch for the streams `streams` (slot i is stream `streams[i]`).
    pub fn new(format: PushFormat, streams: Vec<u32>) -> PushBatch {
        PushBatch {
            format,
            slots: vec![Vec::new(); streams.len()],
            stream_of: streams,
            used: Vec::new(),
            lines: 0,
            line_bytes: 0,
        }
    }

    /// True when no entry is waiting.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// Entries waiting.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Raw bytes of the waiting lines (what Promtail's `batchsize` counts).
    pub fn line_bytes(&self) -> u64 {
        self.line_bytes
    }

    /// Adds an entry of the stream in `slot`. Entries of one stream must come in time order.
    pub fn push(&mut self, slot: usize, ts_ns: i64, line: &[u8]) {
        let buf = &mut self.slots[slot];
        if buf.is_empty() {
            self.used.push(slot as u32);
        }
        match self.format {
            PushFormat::Protobuf => {
                let secs = ts_ns.div_euclid(1_000_000_000);
                let nanos = ts_ns.rem_euclid(1_000_000_000) as u64;
                let mut ts_len = 0;
                if secs != 0 {
                    ts_len += 1 + varint_len(secs as u64);
                }
                if nanos != 0 {
                    ts_len += 1 + varint_len(nanos);
                }
                // proto3 leaves empty fields out, as Go's and prost's encoders do.
                let line_len = if line.is_empty() {
                    0
                } else {
                    1 + varint_len(line.len() as u64) + line.len()
                };
                let entry_len = 1 + varint_len(ts_len as u64) + ts_len + line_len;
                buf.push(0x12); // StreamAdapter.entries, length-delimited
                varint(buf, entry_len as u64);
                buf.push(0x0a); // EntryAdapter.timestamp
                varint(buf, ts_len as u64);
                if secs != 0 {
                    buf.push(0x08); // Timestamp.seconds
                    varint(buf, secs as u64);
                }
                if nanos != 0 {
                    buf.push(0x10); // Timestamp.nanos
                    varint(buf, nanos);
                }
                if !line.is_empty() {
                    buf.push(0x12); // EntryAdapter.line
                    varint(buf, line.len() as u64);
                    buf.extend_from_slice(line);
                }
            }
            PushFormat::Json => {
                if !buf.is_empty() {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"[\"");
                if ts_ns < 0 {
                    buf.push(b'-');
                }
                push_u64(buf, ts_ns.unsigned_abs());
                buf.extend_from_slice(b"\",\"");
                push_json_escaped(buf, line);
                buf.extend_from_slice(b"\"]");
            }
        }
        self.lines += 1;
        self.line_bytes += line.len() as u64;
    }

    /// Writes the request body (uncompressed) into `out` and empties the batch.
    pub fn encode(&mut self, streams: &[StreamPlan], out: &mut Vec<u8>) {
        out.clear();
        match self.format {
            PushFormat::Protobuf => {
                for &slot in &self.used {
                    let entries = &self.slots[slot as usize];
                    let sel = streams[self.stream_of[slot as usize] as usize]
                        .selector
                        .as_bytes();
                    let len = 1 + varint_len(sel.len() as u64) + sel.len() + entries.len();
                    out.push(0x0a); // PushRequest.streams
                    varint(out, len as u64);
                    out.push(0x0a); // StreamAdapter.labels
                    varint(out, sel.len() as u64);
                    out.extend_from_slice(sel);
                    out.extend_from_slice(entries);
                }
            }
            PushFormat::Json => {
                out.extend_from_slice(b"{\"streams\":[");
                for (i, &slot) in self.used.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"stream\":{");
                    let plan = &streams[self.stream_of[slot as usize] as usize];
                    for (j, (k, v)) in plan.labels.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        push_json_str(out, k.as_bytes());
                        out.push(b':');
                        push_json_str(out, v.as_bytes());
                    }
                    out.extend_from_slice(b"},\"values\":[");
                    out.extend_from_slice(&self.slots[slot as usize]);
                    out.extend_from_slice(b"]}");
                }
                out.extend_from_slice(b"]}");
            }
        }
        for &slot in &self.used {
            self.slots[slot as usize].clear();
        }
        self.used.clear();
        self.lines = 0;
        self.line_bytes = 0;
    }
}

#[cfg(test)]
mod tests;
