//! The size of a span as its OTLP protobuf encoding, which `traces_spanmetrics_size_total`
//! adds up (Tempo adds the encoded size of each span message it receives).
//!
//! Computed from the model without encoding: proto3 leaves out fields at their default value
//! (empty strings and bytes, zero numbers and enums), except a set `AnyValue` variant and
//! sub-messages. Where the model cannot tell an absent sub-message from an empty one (a span's
//! status, an attribute's value), it is counted as present, as SDKs send them.

use cairn_model::{AttrValue, Attribute, Event, Link, Span};

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A length-delimited field with a one-byte tag, present only when `len > 0` unless `always`.
fn delimited(len: usize, always: bool) -> usize {
    if len == 0 && !always {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

fn uint(v: u64) -> usize {
    if v == 0 { 0 } else { 1 + varint_len(v) }
}

fn fixed64(v: u64) -> usize {
    if v == 0 { 0 } else { 9 }
}

fn any_value(v: &AttrValue) -> usize {
    match v {
        AttrValue::Empty => 0,
        AttrValue::String(s) => delimited(s.len(), true),
        AttrValue::Bool(_) => 2,
        // Negative int64 values are ten-byte varints.
        AttrValue::Int(i) => 1 + varint_len(*i as u64),
        AttrValue::Double(_) => 9,
        AttrValue::Bytes(b) => delimited(b.len(), true),
        AttrValue::Array(items) => {
            let inner: usize = items.iter().map(|i| delimited(any_value(i), true)).sum();
            delimited(inner, true)
        }
        AttrValue::KvList(kvs) => {
            let inner: usize = kvs.iter().map(|kv| delimited(key_value(kv), true)).sum();
            delimited(inner, true)
        }
    }
}

fn key_value(kv: &Attribute) -> usize {
    delimited(kv.key.len(), false) + delimited(any_value(&kv.value), true)
}

fn attributes(attrs: &[Attribute]) -> usize {
    attrs.iter().map(|kv| delimited(key_value(kv), true)).sum()
}

fn event(e: &Event) -> usize {
    fixed64(e.time_ns)
        + delimited(e.name.len(), false)
        + attributes(&e.attributes)
        + uint(u64::from(e.dropped_attributes_count))
}

fn link(l: &Link) -> usize {
    delimited(16, false)
        + delimited(8, false)
        + delimited(l.trace_state.len(), false)
        + attributes(&l.attributes)
        + uint(u64::from(l.dropped_attributes_count))
        + if l.flags == 0 { 0 } else { 5 }
}

/// The bytes of `span` encoded as an OTLP `Span` message.
pub(crate) fn span_proto_size(span: &Span) -> usize {
    let status = delimited(span.status.message.len(), false) + uint(span.status.code as u64);
    delimited(16, false)
        + delimited(8, false)
        + delimited(span.trace_state.len(), false)
        + span.parent_span_id.map_or(0, |_| delimited(8, false))
        // Field 16 needs a two-byte tag.
        + if span.flags == 0 { 0 } else { 6 }
        + delimited(span.name.len(), false)
        + uint(span.kind as u64)
        + fixed64(span.start_ns)
        + fixed64(span.end_ns)
        + attributes(&span.attributes)
        + uint(u64::from(span.dropped_attributes_count))
        + span.events.iter().map(|e| delimited(event(e), true)).sum::<usize>()
        + uint(u64::from(span.dropped_events_count))
        + span.links.iter().map(|l| delimited(link(l), true)).sum::<usize>()
        + uint(u64::from(span.dropped_links_count))
        // The model cannot tell an absent status from an empty one; the OpenTelemetry SDKs
        // always send one, so it is always counted.
        + delimited(status, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{SpanId, SpanKind, Status, StatusCode, TraceId};

    #[test]
    fn varints() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn counts_each_field_as_protobuf_does() {
        let span = Span {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            name: "GET".into(),
            kind: SpanKind::Server,
            start_ns: 1,
            end_ns: 2,
            status: Status {
                code: StatusCode::Error,
                message: String::new(),
            },
            attributes: vec![Attribute::new("k", "v")],
            ..Span::default()
        };
        // trace id 2+16, span id 2+8, name 2+3, kind 2, start 9, end 9,
        // attribute: 1+1+ (key 1+1+1, value 1+1+(1+1+1)) = 2+8, status 1+1+(2).
        let want = 18 + 10 + 5 + 2 + 9 + 9 + 10 + 4;
        assert_eq!(span_proto_size(&span), want);
    }
}
