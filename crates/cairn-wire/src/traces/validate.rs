//! What makes a span acceptable, shared by the protobuf and JSON decoders: ids, name, times,
//! and the attribute size limit.

use cairn_model::{AttrValue, Attribute, Link, Span, SpanId, TraceId, parse_hex_bytes};

use super::{TraceDecodeLimits, TraceDecodeReport};

/// An id as it came: bytes from protobuf, a hex string from JSON.
#[derive(Clone, Copy)]
pub(super) enum RawId<'a> {
    Bytes(&'a [u8]),
    Hex(&'a str),
}

impl RawId<'_> {
    /// The bytes, or why there are none.
    fn bytes(self, what: &str) -> Result<Vec<u8>, String> {
        match self {
            RawId::Bytes(b) => Ok(b.to_vec()),
            RawId::Hex(s) => parse_hex_bytes(s).ok_or_else(|| {
                let shown: String = s.chars().take(40).collect();
                format!("{what} {shown:?} is not hex")
            }),
        }
    }
}

fn fixed<const N: usize>(raw: RawId<'_>, what: &str) -> Result<[u8; N], String> {
    let b = raw.bytes(what)?;
    <[u8; N]>::try_from(b.as_slice())
        .map_err(|_| format!("{what} must be {N} bytes, got {}", b.len()))
}

/// The state of one decode: limits in force and what was rejected or truncated so far.
pub(super) struct Ctx<'l> {
    pub(super) limits: &'l TraceDecodeLimits,
    pub(super) report: TraceDecodeReport,
    /// Spans seen so far, accepted or not (names rejections).
    index: usize,
}

impl<'l> Ctx<'l> {
    pub(super) fn new(limits: &'l TraceDecodeLimits) -> Self {
        Ctx {
            limits,
            report: TraceDecodeReport::default(),
            index: 0,
        }
    }

    /// Fills in the span's ids and checks it; `None` (and a rejection recorded) if invalid.
    pub(super) fn accept(
        &mut self,
        mut span: Span,
        trace_id: RawId<'_>,
        span_id: RawId<'_>,
        parent: RawId<'_>,
    ) -> Option<Span> {
        let i = self.index;
        self.index += 1;
        match check(&mut span, trace_id, span_id, parent) {
            Ok(()) => {
                self.truncate(&mut span.attributes);
                for e in &mut span.events {
                    self.truncate(&mut e.attributes);
                }
                for l in &mut span.links {
                    self.truncate(&mut l.attributes);
                }
                Some(span)
            }
            Err(reason) => {
                let name: String = span.name.chars().take(100).collect();
                self.report.reject(format!("span {i} {name:?}: {reason}"));
                None
            }
        }
    }

    /// Truncates keys and string values longer than `max_attribute_bytes` (Tempo's
    /// `max_attribute_bytes`: keys and top-level strings; nested strings too here, so that
    /// an array cannot carry what a string may not).
    pub(super) fn truncate(&mut self, attrs: &mut [Attribute]) {
        let max = self.limits.max_attribute_bytes;
        if max == 0 {
            return;
        }
        for a in attrs {
            if cut(&mut a.key, max) {
                self.report.truncated_attributes += 1;
            }
            if truncate_value(&mut a.value, max) {
                self.report.truncated_attributes += 1;
            }
        }
    }
}

fn truncate_value(v: &mut AttrValue, max: usize) -> bool {
    match v {
        AttrValue::String(s) => cut(s, max),
        AttrValue::Array(a) => a
            .iter_mut()
            .fold(false, |acc, x| truncate_value(x, max) | acc),
        AttrValue::KvList(kv) => kv.iter_mut().fold(false, |acc, a| {
            cut(&mut a.key, max) | truncate_value(&mut a.value, max) | acc
        }),
        _ => false,
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

fn check(
    span: &mut Span,
    trace_id: RawId<'_>,
    span_id: RawId<'_>,
    parent: RawId<'_>,
) -> Result<(), String> {
    span.trace_id = TraceId(fixed::<16>(trace_id, "trace id")?);
    if span.trace_id.is_zero() {
        return Err("trace id is all zero".into());
    }
    span.span_id = SpanId(fixed::<8>(span_id, "span id")?);
    if span.span_id.is_zero() {
        return Err("span id is all zero".into());
    }
    let p = parent.bytes("parent span id")?;
    // An empty or all-zero parent means "no parent" (some SDKs send eight zero bytes).
    span.parent_span_id = if p.iter().all(|&b| b == 0) {
        None
    } else {
        Some(SpanId(<[u8; 8]>::try_from(p.as_slice()).map_err(|_| {
            format!("parent span id must be 8 bytes, got {}", p.len())
        })?))
    };
    if span.name.is_empty() {
        return Err("span name is empty".into());
    }
    if span.end_ns < span.start_ns {
        return Err(format!(
            "end time {} is before start time {}",
            span.end_ns, span.start_ns
        ));
    }
    Ok(())
}

/// Fills in a link's ids; a link whose ids cannot be read is left out and counted in the
/// span's `dropped_links_count`, the rest of the span is kept.
pub(super) fn link(mut l: Link, trace_id: RawId<'_>, span_id: RawId<'_>, span: &mut Span) {
    match (
        fixed::<16>(trace_id, "trace id"),
        fixed::<8>(span_id, "span id"),
    ) {
        (Ok(t), Ok(s)) => {
            l.trace_id = TraceId(t);
            l.span_id = SpanId(s);
            span.links.push(l);
        }
        _ => span.dropped_links_count = span.dropped_links_count.saturating_add(1),
    }
}
