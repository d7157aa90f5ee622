//! The Fluentd forward protocol (v1) as Fluent Bit's `out_forward` and the fluent-logger
//! libraries send it over TCP: a stream of msgpack arrays, decoded incrementally.
//!
//! ```text
//! Message:                 [tag, time, record, options?]
//! Forward:                 [tag, [[time, record], ...], options?]     (Fluent Bit's default)
//! PackedForward:           [tag, bin|str of concatenated entries, options?]
//! CompressedPackedForward: PackedForward with options.compressed = "gzip" (or "zstd")
//! ```
//!
//! Entries may be `[[time, {metadata}], record]` (Fluent Bit's `retain_metadata_in_forward_mode`);
//! Fluent Bit's group markers are skipped. `options.chunk` asks for an `{"ack": chunk}` once
//! stored ([`encode_ack`]); `options.fluent_signal` other than 0 (metrics, traces...) makes
//! the message [`ForwardMessage::Ignored`], still to be acked. A top-level `nil` is a
//! heartbeat; `["PING", ...]` belongs to the shared-key handshake ([`Handshake`]).

mod handshake;

use super::fluent::{FluentRecord, decode_chunk, describe, read_entry};
use super::limits::LogDecodeLimits;
use super::msgpack::{EventTime, Framer, Head, MpError, Reader, Writer};
use crate::error::{Result, WireError};

pub use handshake::{
    Handshake, HandshakeConfig, Ping, PingVerdict, password_hexdigest, shared_key_hexdigest,
};

/// One message of a forward connection.
#[derive(Clone, Debug, PartialEq)]
pub enum ForwardMessage {
    /// Log records (any of the four modes).
    Events {
        /// The message's tag (also set on every record).
        tag: String,
        /// The records, group markers left out.
        records: Vec<FluentRecord>,
        /// `options.chunk`: answer with [`encode_ack`] once the records are stored.
        chunk: Option<String>,
    },
    /// A message carrying something else than logs; to be acked like logs.
    Ignored {
        /// The message's tag.
        tag: String,
        /// Why it was not decoded, e.g. `fluent_signal 1 (metrics) is not stored`.
        reason: String,
        /// `options.chunk`.
        chunk: Option<String>,
    },
    /// A client's `PING` of the shared-key handshake.
    Ping(Ping),
    /// A `nil`: keeps the connection alive.
    Heartbeat,
}

/// Decodes forward messages from a TCP byte stream fed in pieces of any size.
///
/// Framing errors (bytes that are not msgpack, a message larger than
/// `limits.max_decoded_bytes`, nesting deeper than `limits.max_depth`) break the stream:
/// [`ForwardDecoder::is_broken`] turns true and every later call returns the same error, as
/// the connection cannot be resynchronised. A well-framed message that breaks the protocol
/// (a record that is not a map, an unknown mode) is consumed and returned as an error; the
/// next message decodes normally.
#[derive(Debug)]
pub struct ForwardDecoder {
    limits: LogDecodeLimits,
    buf: Vec<u8>,
    start: usize,
    framer: Framer,
    broken: Option<WireError>,
}

impl ForwardDecoder {
    /// A decoder with these limits.
    pub fn new(limits: LogDecodeLimits) -> Self {
        ForwardDecoder {
            limits,
            buf: Vec::new(),
            start: 0,
            framer: Framer::default(),
            broken: None,
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        // Drop what was consumed once it is at least half of the buffer: amortised O(1) per
        // byte, and the buffer never holds more than one message and a bit.
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, or `None` until more bytes arrive.
    pub fn next_message(&mut self) -> Result<Option<ForwardMessage>> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let avail = &self.buf[self.start..];
        if avail.is_empty() {
            return Ok(None);
        }
        let cap = self.limits.decoded_cap();
        // Most reads end on a message boundary: decode straight away and learn the length
        // from the decoder. Only when that fails (a message cut short, or a bad one) does the
        // resumable framer find the message's end, so a message arriving in many pieces is
        // scanned once, not once per piece.
        if self.framer.is_idle()
            && let Ok((msg, len)) = decode_message(avail, &self.limits)
        {
            if len > cap {
                return Err(self.break_with(format!(
                    "message of {len} bytes exceeds the limit of {cap} bytes"
                )));
            }
            self.start += len;
            return Ok(Some(msg));
        }
        // Record depth is counted from the record; the envelope (message, entries, entry,
        // [time, metadata] header) adds up to four levels above it.
        match self
            .framer
            .advance(avail, self.limits.depth_cap() + ENVELOPE_DEPTH)
        {
            Err(e) => Err(self.break_with(e.describe())),
            Ok(None) if avail.len() > cap => {
                Err(self.break_with(format!("message larger than the limit of {cap} bytes")))
            }
            Ok(None) => Ok(None),
            Ok(Some(len)) if len > cap => Err(self.break_with(format!(
                "message of {len} bytes exceeds the limit of {cap} bytes"
            ))),
            Ok(Some(len)) => {
                let msg = &self.buf[self.start..self.start + len];
                let out = decode_message(msg, &self.limits);
                self.start += len;
                out.map(|(m, _)| Some(m))
            }
        }
    }

    /// True once a framing error made the stream unreadable.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Bytes received and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn break_with(&mut self, why: String) -> WireError {
        let e = WireError::Forward(why);
        self.broken = Some(e.clone());
        e
    }
}

/// Nesting of the forward envelope above a record's metadata map.
const ENVELOPE_DEPTH: usize = 4;

fn fwd<T>(why: impl Into<String>) -> Result<T> {
    Err(WireError::Forward(why.into()))
}

fn mp(e: MpError) -> WireError {
    WireError::Forward(e.describe())
}

/// The message at the start of `buf` and its length in bytes.
fn decode_message(buf: &[u8], limits: &LogDecodeLimits) -> Result<(ForwardMessage, usize)> {
    let mut r = Reader::new(buf, limits.depth_cap());
    let m = decode_one(&mut r, limits)?;
    Ok((m, r.pos()))
}

/// Reads one message, every element of it included.
fn decode_one(r: &mut Reader<'_>, limits: &LogDecodeLimits) -> Result<ForwardMessage> {
    let n = match r.head().map_err(mp)? {
        Head::Nil => return Ok(ForwardMessage::Heartbeat),
        Head::Array(n) => n,
        h => return fwd(format!("expected a message array, got {}", describe(h))),
    };
    if n < 2 {
        return fwd(format!(
            "message array of {n} elements, expected at least 2"
        ));
    }
    let Some(tag) = r.bytes().map_err(mp)? else {
        let h = r.peek().map_err(mp)?;
        return fwd(format!("tag is {}, expected a string", describe(h)));
    };
    let tag = super::loki::lossy(tag);
    if tag == "PING" && n == 6 {
        return handshake::read_ping(r).map(ForwardMessage::Ping);
    }
    match r.peek().map_err(mp)? {
        Head::Array(_) => {
            // Forward mode.
            let Head::Array(count) = r.head().map_err(mp)? else {
                return fwd("entries are not an array");
            };
            limits.check_entries(count)?;
            let mut records = Vec::with_capacity(count);
            for i in 0..count {
                if let Some(rec) = read_entry(r, i, Some(&tag)).map_err(to_forward)? {
                    records.push(rec);
                }
            }
            let opts = read_options(r, n > 2)?;
            skip_rest(r, n, 3)?;
            if let Some(reason) = opts.ignored() {
                return Ok(ForwardMessage::Ignored {
                    tag,
                    reason,
                    chunk: opts.chunk,
                });
            }
            Ok(ForwardMessage::Events {
                tag,
                records,
                chunk: opts.chunk,
            })
        }
        Head::Str(_) | Head::Bin(_) => {
            let packed = r.bytes().map_err(mp)?.unwrap_or_default();
            let opts = read_options(r, n > 2)?;
            skip_rest(r, n, 3)?;
            if let Some(reason) = opts.ignored() {
                return Ok(ForwardMessage::Ignored {
                    tag,
                    reason,
                    chunk: opts.chunk,
                });
            }
            let records = match opts.compression(packed)? {
                None => decode_chunk(packed, Some(&tag), limits).map_err(to_forward)?,
                Some(enc) => {
                    let cap = limits.decoded_cap();
                    let plain = match enc {
                        Compression::Gzip => super::encoding::gunzip(packed, cap)?,
                        Compression::Zstd => super::encoding::unzstd(packed, cap)?,
                    };
                    decode_chunk(&plain, Some(&tag), limits).map_err(to_forward)?
                }
            };
            Ok(ForwardMessage::Events {
                tag,
                records,
                chunk: opts.chunk,
            })
        }
        _ => {
            // Message mode.
            if n < 3 {
                return fwd("message mode needs [tag, time, record]");
            }
            let Some(time) = r.time().map_err(mp)? else {
                let h = r.peek().map_err(mp)?;
                return fwd(format!(
                    "second element is {}, expected entries or a time",
                    describe(h)
                ));
            };
            let Some(fields) = r.map().map_err(mp)? else {
                let h = r.peek().map_err(mp)?;
                return fwd(format!("record is {}, expected a map", describe(h)));
            };
            let opts = read_options(r, n > 3)?;
            skip_rest(r, n, 4)?;
            if let Some(reason) = opts.ignored() {
                return Ok(ForwardMessage::Ignored {
                    tag,
                    reason,
                    chunk: opts.chunk,
                });
            }
            let records = match time {
                EventTime::GroupMarker => Vec::new(),
                t => vec![FluentRecord {
                    ts_ns: match t {
                        EventTime::Ns(ns) => Some(ns),
                        _ => None,
                    },
                    tag: Some(tag.clone()),
                    metadata: opts.metadata,
                    fields,
                }],
            };
            limits.check_entries(records.len())?;
            Ok(ForwardMessage::Events {
                tag,
                records,
                chunk: opts.chunk,
            })
        }
    }
}

/// Skips the elements of an `n`-element message past the `read` ones (senders may add some).
fn skip_rest(r: &mut Reader<'_>, n: usize, read: usize) -> Result<()> {
    for _ in read.min(n)..n {
        r.skip().map_err(mp)?;
    }
    Ok(())
}

/// Entry errors of the shared chunk decoder, reported as forward protocol errors.
fn to_forward(e: WireError) -> WireError {
    match e {
        WireError::InvalidLogBody(m) => WireError::Forward(m),
        e => e,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
}

#[derive(Debug, Default)]
struct Options {
    chunk: Option<String>,
    compressed: Option<String>,
    signal: Option<i64>,
    metadata: Vec<(String, super::FieldValue)>,
}

impl Options {
    fn ignored(&self) -> Option<String> {
        let s = self.signal?;
        if s == 0 {
            return None;
        }
        let what = match s {
            1 => "metrics",
            2 => "traces",
            3 => "blobs",
            4 => "profiles",
            _ => "unknown signal",
        };
        Some(format!("fluent_signal {s} ({what}) is not stored"))
    }

    /// The packed entries' compression: the `compressed` option, corrected by the magic
    /// bytes as Fluent Bit's in_forward does (a sender that compresses without saying so,
    /// or names the wrong algorithm, is still read).
    fn compression(&self, data: &[u8]) -> Result<Option<Compression>> {
        let magic = if data.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        };
        let named = match self.compressed.as_deref() {
            None | Some("text") | Some("") => None,
            Some("gzip") => Some(Compression::Gzip),
            Some("zstd") => Some(Compression::Zstd),
            Some(other) => {
                return fwd(format!(
                    "unsupported compressed {other:?}: gzip and zstd are"
                ));
            }
        };
        Ok(magic.or(named))
    }
}

fn read_options(r: &mut Reader<'_>, present: bool) -> Result<Options> {
    let mut o = Options::default();
    if !present {
        return Ok(o);
    }
    // Old Docker versions send nil options.
    if r.peek().map_err(mp)? == Head::Nil {
        r.head().map_err(mp)?;
        return Ok(o);
    }
    let Some(map) = r.map().map_err(mp)? else {
        let h = r.peek().map_err(mp)?;
        return fwd(format!("options are {}, expected a map", describe(h)));
    };
    use super::FieldValue as V;
    for (k, v) in map {
        match (k.as_str(), v) {
            ("chunk", V::Str(s)) => o.chunk = Some(s),
            ("chunk", V::Bin(b)) => o.chunk = Some(super::loki::lossy(&b)),
            ("chunk", v) => return fwd(format!("options.chunk is {v:?}, expected a string")),
            ("compressed", V::Str(s)) => o.compressed = Some(s),
            ("fluent_signal", V::Int(i)) => o.signal = Some(i),
            ("fluent_signal", v) => {
                return fwd(format!(
                    "options.fluent_signal is {v:?}, expected an integer"
                ));
            }
            ("metadata", V::Map(m)) => o.metadata = m,
            _ => {}
        }
    }
    Ok(o)
}

/// The ack for `options.chunk`: msgpack `{"ack": chunk}`.
pub fn encode_ack(chunk: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.map(1);
    w.str("ack");
    w.str(chunk);
    w.buf
}

/// The four ways to send events, for [`encode_forward`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForwardMode {
    /// `[tag, time, record, options]`, one message per record.
    Message,
    /// `[tag, [entries], options]`.
    Forward,
    /// `[tag, bin(entries), options]`.
    PackedForward,
    /// `[tag, bin(gzip(entries)), {compressed: "gzip", ...}]`.
    CompressedPackedForward,
}

/// Encodes records as a client sends them (entries as `[[EventTime, {metadata}], record]`,
/// Fluent Bit's form; records without a time get `0`), with `size` and, when given, `chunk`
/// options. For tests, fuzz seeds and benchmarks.
pub fn encode_forward(
    tag: &str,
    records: &[FluentRecord],
    mode: ForwardMode,
    chunk: Option<&str>,
) -> Vec<u8> {
    let options = |w: &mut Writer, compressed: bool| {
        let n = 1 + usize::from(chunk.is_some()) + usize::from(compressed);
        w.map(n);
        if let Some(c) = chunk {
            w.str("chunk");
            w.str(c);
        }
        w.str("size");
        w.uint(records.len() as u64);
        if compressed {
            w.str("compressed");
            w.str("gzip");
        }
    };
    let time = |w: &mut Writer, r: &FluentRecord| match r.ts_ns {
        Some(ns) => w.event_time(ns),
        None => w.uint(0),
    };
    let entries = || {
        let mut w = Writer::default();
        for r in records {
            w.array(2);
            w.array(2);
            time(&mut w, r);
            w.fields(&r.metadata);
            w.fields(&r.fields);
        }
        w.buf
    };
    let mut w = Writer::default();
    match mode {
        ForwardMode::Message => {
            for r in records {
                w.array(4);
                w.str(tag);
                time(&mut w, r);
                w.fields(&r.fields);
                options(&mut w, false);
            }
        }
        ForwardMode::Forward => {
            w.array(3);
            w.str(tag);
            w.array(records.len());
            w.buf.extend(entries());
            options(&mut w, false);
        }
        ForwardMode::PackedForward => {
            w.array(3);
            w.str(tag);
            w.bin(&entries());
            options(&mut w, false);
        }
        ForwardMode::CompressedPackedForward => {
            use std::io::Write as _;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&entries())
                .expect("writing to a vector cannot fail");
            let z = gz.finish().expect("writing to a vector cannot fail");
            w.array(3);
            w.str(tag);
            w.bin(&z);
            options(&mut w, true);
        }
    }
    w.buf
}

#[cfg(test)]
mod tests;
